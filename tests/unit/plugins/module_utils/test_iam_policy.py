# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_iam_policy: the access option, policy content keys, plans, 409 bodies, and Policies against a fake IAM."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _iam_policy as pol
from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError
from ansible_collections.icr.auth.plugins.module_utils._iam_admin import AdminSession

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.iam_fakes import ACCOUNT, ADMIN_KEY, FakeIam

READER = 'Reader'
WRITER = 'Writer'
MANAGER = 'Manager'


def policy(roles, attrs, pid='p1', iam_id='iam-ServiceId-1'):
    return {'id': pid, 'subjects': [{'attributes': [{'name': 'iam_id', 'value': iam_id}]}],
            'roles': [{'role_id': pol.ROLE_PREFIX + r} for r in roles],
            'resources': [{'attributes': [{'name': n, 'value': v, 'operator': 'stringEquals'} for n, v in attrs]}]}


def ns_policy(roles, ns, region='us-south', pid='p1'):
    return policy(roles, [('accountId', ACCOUNT), ('serviceName', 'container-registry'), ('region', region),
                          ('resourceType', 'namespace'), ('resource', ns)], pid)


def test_desired_access_merges_roles_and_maps_global_and_aliases():
    wanted = pol.desired_access([{'role': 'Reader', 'region': 'us-south', 'namespaces': ['web']},
                                 {'role': 'writer', 'region': 'us-south', 'namespaces': ['web']},
                                 {'role': 'Reader', 'region': 'global', 'namespaces': ['base']},
                                 {'role': 'Reader', 'region': 'ap-north'},
                                 {'role': 'Reader', 'region': 'de.icr.io', 'namespaces': 'one'}])
    assert wanted == {('region', 'us-south', 'web', ()): {READER, WRITER},
                      ('geography', 'global', 'base', ()): {READER},
                      ('region', 'jp-tok', None, ()): {READER},
                      ('region', 'eu-de', 'one', ()): {READER}}


@pytest.mark.parametrize('entry, message', [
    ({'role': 'Admin', 'region': 'us-south'}, "access[0].role: 'Admin' is not a Container Registry role"),
    ({'role': 'Reader', 'region': 'mars'}, "access[0].region: unknown ICR region 'mars'"),
    ({'role': 'Reader'}, 'access[0].region: give an ICR region'),
    ({'role': 'Reader', 'region': 'us-south', 'namespaces': []}, 'access[0].namespaces: give a list'),
    ({'role': 'Reader', 'region': 'us-south', 'namespaces': ['-bad']}, "'-bad' is not a valid ICR namespace"),
    ({'role': 'Reader', 'region': 'us-south', 'namespace': ['web']}, 'unknown key(s) namespace'),
    ('Reader', 'access[0]: give a dictionary'),
])
def test_desired_access_refuses_bad_entries_by_name(entry, message):
    with pytest.raises(InputError) as err:
        pol.desired_access([entry])
    assert message in err.value.msg


def test_policy_key_reads_registry_policies_only():
    assert pol.policy_key(ns_policy([READER], 'web')) == ('region', 'us-south', 'web', ())
    assert pol.policy_key(policy([READER], [('serviceName', 'container-registry'), ('geography', 'global')])) == \
        ('geography', 'global', None, ())
    assert pol.policy_key(policy([READER], [('serviceName', 'cloud-object-storage')])) is None
    wild = policy([READER], [('serviceName', 'container-registry'), ('region', 'us-south'), ('resourceType', 'namespace')])
    wild['resources'][0]['attributes'].append({'name': 'resource', 'value': 'web*', 'operator': 'stringMatch'})
    assert pol.policy_key(wild)[3] == (('resource', 'web*', 'stringMatch'),)


def test_policy_body_round_trips_to_its_key():
    for key in [('region', 'us-south', 'web', ()), ('geography', 'global', None, ())]:
        body = pol.policy_body(ACCOUNT, 'iam-x', key, {READER})
        assert pol.policy_key(body) == key and pol.roles_of(body) == {READER} and pol.subject_of(body) == 'iam-x'


def test_plan_keeps_equal_creates_missing_and_purges():
    web = ns_policy([READER], 'web', pid='a')
    old = ns_policy([READER], 'old', pid='b')
    dup = ns_policy([READER], 'web', pid='c')
    wanted = {('region', 'us-south', 'web', ()): {READER}, ('region', 'us-south', 'new', ()): {READER}}
    keep = pol.plan([web, old, dup], wanted, purge=False)
    assert keep.keep == [web, dup, old] and keep.create == [(('region', 'us-south', 'new', ()), {READER})]
    assert not keep.update and not keep.delete
    purge = pol.plan([web, old, dup], wanted, purge=True)
    assert purge.keep == [web] and sorted(p['id'] for p in purge.delete) == ['b', 'c'] and len(purge.create) == 1


def test_plan_roles_added_without_purge_set_with_purge():
    mgr = ns_policy([MANAGER], 'web')
    wanted = {('region', 'us-south', 'web', ()): {READER}}
    add = pol.plan([mgr], wanted, purge=False)
    assert add.update == [(mgr, {MANAGER, READER})]
    exact = pol.plan([mgr], wanted, purge=True)
    assert exact.update == [(mgr, {READER})] and not exact.delete
    assert not pol.plan([ns_policy([MANAGER, READER], 'web')], wanted, purge=False).changes


def test_roles_compare_by_name_whichever_crn_form_iam_wrote():
    iam_form = ns_policy([], 'web')
    iam_form['roles'] = [{'role_id': 'crn:v1:bluemix:public:iam::::serviceRole:Reader'}]
    assert pol.roles_of(iam_form) == {READER}
    assert not pol.plan([iam_form], {('region', 'us-south', 'web', ()): {READER}}, purge=True).changes
    assert pol.role_name('crn:v1:bluemix:public:iam::::role:Viewer') == 'crn:v1:bluemix:public:iam::::role:Viewer'
    body = pol.policy_body(ACCOUNT, 'iam-x', ('region', 'us-south', 'web', ()), {READER})
    assert body['roles'] == [{'role_id': 'crn:v1:bluemix:public:container-registry::::serviceRole:Reader'}]


def test_conflicting_policy_reads_ibm_409_body():
    body = {'errors': [{'code': 'policy_conflict_error', 'message': 'Failed to create the policy.',
                        'details': {'conflicts_with': {'etag': '1-x', 'policy': {'id': 'pid-1', 'href': 'h'}}}}]}
    assert pol.conflicting_policy(body) == 'pid-1'
    body['errors'][0]['details']['conflicts_with']['policy'] = {'href': 'https://iam/v1/policies/pid-2'}
    assert pol.conflicting_policy(body) == 'pid-2'
    assert pol.conflicting_policy({'errors': [{'code': 'other'}]}) is None
    assert pol.conflicting_policy(None) is None


def make(iam):
    s = AdminSession({'iam_endpoint': iam.url, 'api_key': ADMIN_KEY, 'retries': 0, 'timeout': 5.0}, {})
    return pol.Policies(s, ACCOUNT, 'iam-ServiceId-1', sleep=lambda seconds: None)


def test_create_then_409_adopts():
    with FakeIam() as iam:
        policies = make(iam)
        key = ('region', 'us-south', 'web', ())
        made, how = policies.create(key, {READER})
        assert how == 'created' and made['id'] in iam.policies
        again, how = policies.create(key, {READER})
        assert how == 'adopted' and again['id'] == made['id'] and len(iam.policies) == 1


def test_conflict_without_a_policy_id_is_an_error():
    with FakeIam() as iam:
        iam.faults.append(('POST', '/v1/policies', 409, {}, {'errors': [{'code': 'policy_conflict_error',
                                                                         'message': 'conflict'}], 'trace': 'tr'}))
        with pytest.raises(Exception) as err:
            make(iam).create(('region', 'us-south', 'web', ()), {READER})
        assert 'HTTP 409' in str(err.value) and 'tr' in str(err.value)


def test_read_after_create_gives_up_quietly_and_reports_the_id():
    with FakeIam() as iam:
        iam.unreadable_reads = 100
        made, how = make(iam).create(('region', 'us-south', 'web', ()), {READER})
        assert how == 'created' and made['id'] in iam.policies
        assert len([r for r in iam.requests if r['method'] == 'POST']) == 2  # the token, and one create


def test_update_reads_again_after_a_stale_etag():
    with FakeIam() as iam:
        p = iam.add_policy('iam-ServiceId-1', ['Manager'], [('serviceName', 'container-registry'), ('region', 'eu-de')])
        iam.faults.append(('PUT', '/v1/policies/', 412, {}, {'errors': [{'code': 'precondition_failed'}]}))
        out = make(iam).update(p, {READER})
        assert pol.roles_of(out) == {READER}
        puts = [r for r in iam.requests if r['method'] == 'PUT']
        assert len(puts) == 2 and all(r['headers']['If-Match'].startswith('W/') for r in puts)


def test_list_keeps_registry_policies_of_the_subject():
    with FakeIam(page=1) as iam:
        iam.add_policy('iam-ServiceId-1', ['Reader'], [('serviceName', 'container-registry'), ('region', 'eu-de')])
        iam.add_policy('iam-ServiceId-1', ['Reader'], [('serviceName', 'kms')])
        iam.add_policy('iam-ServiceId-2', ['Reader'], [('serviceName', 'container-registry'), ('region', 'eu-de')])
        assert [pol.policy_key(p) for p in make(iam).list()] == [('region', 'eu-de', None, ())]


def test_desired_access_messages_word_for_word():
    cases = [
        ({'role': 'Admin', 'region': 'us-south'}, "access[0].role: 'Admin' is not a Container Registry role; give "
         "Reader (pull), Writer (pull and push) or Manager."),
        ({'role': 'Reader', 'region': 'us-south', 'namespaces': ['-bad']}, "access[0].namespaces: '-bad' is not a "
         "valid ICR namespace (at most 30 lowercase letters, digits, - and _, starting and ending with a letter or "
         "digit)."),
        ({'role': 'Reader', 'region': 'us-south', 'namespace': 'a', 'zone': 'b'}, "access[0]: unknown key(s) "
         "namespace, zone; the keys are role, region and namespaces."),
    ]
    for entry, message in cases:
        with pytest.raises(InputError) as err:
            pol.desired_access([entry])
        assert err.value.msg == message
    with pytest.raises(InputError) as err:
        pol.desired_access([{'role': 'Reader', 'region': 'mars'}])
    valid = ', '.join(sorted(pol.REGION_HOSTS))
    assert err.value.msg == "access[0].region: unknown ICR region 'mars'. Valid: %s." % valid


def test_roles_of_skips_entries_without_a_role_id():
    odd = ns_policy([READER], 'web')
    odd['roles'] = [{}, 'Reader', {'role_id': ''}] + odd['roles']
    assert pol.roles_of(odd) == {READER}


def test_plan_goes_on_after_a_policy_to_create():
    web = ns_policy([READER], 'web')
    wanted = {('region', 'us-south', 'new', ()): {READER}, ('region', 'us-south', 'web', ()): {READER}}
    for purge in (True, False):
        result = pol.plan([web], wanted, purge=purge)
        assert result.keep == [web] and not result.delete and not result.update and len(result.create) == 1


def test_plan_with_purge_keeps_the_exact_duplicate_wherever_it_is():
    mgr = ns_policy([MANAGER], 'web', pid='a')
    reader = ns_policy([READER], 'web', pid='b')
    result = pol.plan([mgr, reader], {('region', 'us-south', 'web', ()): {READER}}, purge=True)
    assert result.keep == [reader] and result.delete == [mgr] and not result.update


def test_plan_without_purge_updates_the_first_and_keeps_every_other():
    mgr = ns_policy([MANAGER], 'web', pid='a')
    writer = ns_policy([WRITER], 'web', pid='b')
    other = ns_policy([MANAGER], 'web', pid='c')
    result = pol.plan([mgr, writer, other], {('region', 'us-south', 'web', ()): {READER}}, purge=False)
    assert result.update == [(mgr, {MANAGER, READER})] and result.keep == [writer, other] and not result.delete


def test_list_asks_iam_for_the_access_policies_of_the_subject_in_the_account():
    with FakeIam() as iam:
        make(iam).list()
        gets = [r for r in iam.requests if r['method'] == 'GET' and r['path'] == '/v1/policies']
        assert gets[0]['query'] == {'account_id': ACCOUNT, 'iam_id': 'iam-ServiceId-1', 'type': 'access',
                                    'limit': str(pol.PAGE_SIZE)}


def test_update_sends_the_whole_policy_of_this_subject_in_this_account():
    import json
    with FakeIam() as iam:
        p = iam.add_policy('iam-ServiceId-1', ['Manager'], [('serviceName', 'container-registry'), ('region', 'eu-de')])
        make(iam).update(p, {READER})
        put = [r for r in iam.requests if r['method'] == 'PUT'][0]
        assert (put['path'], json.loads(put['body'])) == (
            '/v1/policies/' + p['id'], pol.policy_body(ACCOUNT, 'iam-ServiceId-1', pol.policy_key(p), {READER}))


def test_update_of_a_policy_iam_no_longer_knows_says_so():
    with FakeIam() as iam:
        gone = ns_policy([READER], 'web', pid='gone')
        with pytest.raises(IamError) as err:
            make(iam).update(gone, {MANAGER})
        assert err.value.msg == ("Could not update access policy gone to {'roles': ['Manager'], 'region': 'us-south', "
                                 "'namespace': 'web'}: IAM no longer knows the policy (deleted meanwhile?). Run again.")


def test_update_gives_up_after_a_second_stale_etag():
    with FakeIam() as iam:
        p = iam.add_policy('iam-ServiceId-1', ['Manager'], [('serviceName', 'container-registry'), ('region', 'eu-de')])
        for dummy in range(3):
            iam.faults.append(('PUT', '/v1/policies/', 412, {}, {'errors': [{'code': 'precondition_failed'}]}))
        with pytest.raises(IamError) as err:
            make(iam).update(p, {READER})
        assert 'HTTP 412' in err.value.msg and len([r for r in iam.requests if r['method'] == 'PUT']) == 2


def test_update_waits_for_a_policy_iam_does_not_show_yet():
    with FakeIam() as iam:
        p = iam.add_policy('iam-ServiceId-1', ['Manager'], [('serviceName', 'container-registry'), ('region', 'eu-de')])
        iam.unreadable_reads = 1
        assert pol.roles_of(make(iam).update(p, {READER})) == {READER}


def test_a_failed_update_and_a_failed_list_name_what_was_being_done():
    with FakeIam() as iam:
        p = iam.add_policy('iam-ServiceId-1', ['Manager'], [('serviceName', 'container-registry'), ('region', 'eu-de')])
        iam.faults.append(('PUT', '/v1/policies/', 400, {}, {'errors': [{'code': 'bad', 'message': 'no'}]}))
        with pytest.raises(IamError) as err:
            make(iam).update(p, {READER})
        assert ('update access policy %s to ' % p['id']) in err.value.msg
        iam.faults.append(('GET', '/v1/policies', 400, {}, {'errors': [{'code': 'bad', 'message': 'no'}]}))
        with pytest.raises(IamError) as err:
            make(iam).list()
        assert 'list the access policies of iam-ServiceId-1' in err.value.msg


class Answer(object):
    def __init__(self, status=200, body=None, etag=None):
        self.status, self.body, self.etag = status, body, etag


class ScriptedAdmin(object):
    """An AdminSession stand-in: answers calls from a script and records them."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), []

    def call(self, method, path, doing, **kwargs):
        self.calls.append((method, path, doing, kwargs))
        return self.answers.pop(0)


def test_update_without_an_etag_matches_any_and_returns_what_iam_answers():
    p = ns_policy([MANAGER], 'web', pid='p9')
    answer = {'id': 'p9', 'created_at': '2026-12-01T00:00:00Z'}
    admin = ScriptedAdmin(Answer(200, dict(p)), Answer(200, answer))
    assert pol.Policies(admin, ACCOUNT, 'iam-ServiceId-1').update(p, {READER}) == answer
    assert admin.calls[1][3]['headers'] == {'If-Match': '*'}


def test_update_answered_without_a_body_returns_the_policy_it_sent():
    p = ns_policy([MANAGER], 'web', pid='p9')
    admin = ScriptedAdmin(Answer(200, dict(p), 'W/"1"'), Answer(200, None))
    out = pol.Policies(admin, ACCOUNT, 'iam-ServiceId-1').update(p, {READER})
    assert out == dict(pol.policy_body(ACCOUNT, 'iam-ServiceId-1', pol.policy_key(p), {READER}), id='p9')


def test_policy_view_shows_roles_place_and_id():
    assert pol.policy_view(ns_policy([READER, WRITER], 'web', pid='p7')) == dict(
        pol.access_view(('region', 'us-south', 'web', ()), {READER, WRITER}), id='p7')
    other = policy([READER], [('serviceName', 'kms')], pid='p8')
    assert pol.policy_view(other) == dict(pol.access_view(('region', None, None, ()), {READER}), id='p8')


def test_delete_asks_iam_to_delete_the_policy_and_accepts_one_already_gone():
    admin = ScriptedAdmin(Answer(404, None))
    pol.Policies(admin, ACCOUNT, 'iam-ServiceId-1').delete({'id': 'p7'})
    assert admin.calls == [('DELETE', pol.POLICIES + '/p7', 'delete access policy p7', {'allow': (404,)})]


def test_policy_key_keeps_a_resource_type_other_than_namespace_and_other_attributes_apart():
    p = policy([READER], [('serviceName', 'container-registry'), ('region', 'us-south'), ('resourceType', 'repository'),
                          ('resource', 'web/app')])
    p['resources'][0]['attributes'].append({'name': 'zone', 'value': 'a'})  # no operator: stringEquals
    assert pol.policy_key(p) == ('region', 'us-south', None, (('zone', 'a', 'stringEquals'),
                                                              ('resourceType', 'repository', 'stringEquals')))
    assert pol.policy_key({'id': 'p'}) is None and pol.policy_key({'resources': ['not a dict']}) is None


def test_conflicting_policy_skips_other_errors_and_reads_any_href():
    def body(*policies):
        other = {'code': 'other_error', 'details': {'conflicts_with': {'policy': {'id': 'wrong'}}}}
        return {'errors': ['not a dict', other] + [
            {'code': 'policy_conflict_error', 'details': {'conflicts_with': {'policy': p}}} for p in policies]}
    assert pol.conflicting_policy(body({'id': 'pid-1'})) == 'pid-1'
    assert pol.conflicting_policy(body({}, {'id': 'pid-2'})) == 'pid-2'
    assert pol.conflicting_policy(body({'href': 'https://iam.example.test/v1/policies/pid-X/'})) == 'pid-X'
    assert pol.conflicting_policy(body({'href': 'pid-3'})) == 'pid-3'


class Response(object):
    status_code, headers = 409, {}


def test_create_asks_iam_word_for_word_and_names_a_conflict_without_a_policy():
    key = ('region', 'us-south', 'web', ())
    doing = "create the access policy {'roles': ['Reader'], 'region': 'us-south', 'namespace': 'web'} for iam-S"
    admin = ScriptedAdmin(Answer(201, {'id': 'p1'}), Answer(200, {'id': 'p1', 'roles': []}, 'W/"1"'))
    assert pol.Policies(admin, ACCOUNT, 'iam-S').create(key, {READER}) == ({'id': 'p1', 'roles': []}, 'created')
    assert admin.calls[0] == ('POST', pol.POLICIES, doing, {'body': pol.policy_body(ACCOUNT, 'iam-S', key, {READER}),
                                                            'allow': (409,)})
    assert admin.calls[0][3]['body']['subjects'] == [{'attributes': [{'name': 'iam_id', 'value': 'iam-S'}]}]
    assert admin.calls[0][3]['body']['resources'][0]['attributes'][0] == {
        'name': 'accountId', 'value': ACCOUNT, 'operator': 'stringEquals'}
    conflict = Answer(409, {'errors': [{'code': 'policy_conflict_error', 'message': 'conflict'}]})
    conflict.response = Response()
    admin = ScriptedAdmin(conflict)
    admin.opts = None
    with pytest.raises(IamError) as err:
        pol.Policies(admin, ACCOUNT, 'iam-S').create(key, {READER})
    assert err.value.msg == f'Could not {doing}: IAM answered HTTP 409 (policy_conflict_error: conflict).'
    assert err.value.details == {'status': 409}


def test_access_view_and_policy_body_word_for_word():
    extra = (('zone', 'a', 'stringEquals'),)
    assert pol.access_view(('geography', 'global', None, extra), {WRITER, READER}) == {
        'roles': [READER, WRITER], 'region': 'global', 'namespace': None,
        'other_attributes': [['zone', 'a', 'stringEquals']]}
    assert pol.access_view(('region', 'eu-de', 'web', ()), {READER}) == {'roles': [READER], 'region': 'eu-de',
                                                                         'namespace': 'web'}
    # A policy on a whole geography (IAM may hold one on another value than global) shows as global.
    assert pol.access_view(('geography', 'ap', None, ()), {READER})['region'] == 'global'
    ops = {'operator': 'stringEquals'}
    assert pol.policy_body(ACCOUNT, 'iam-S', ('region', 'us-south', None, ()), {READER, 'crn:other:Viewer'}) == {
        'type': 'access', 'subjects': [{'attributes': [{'name': 'iam_id', 'value': 'iam-S'}]}],
        'roles': [{'role_id': pol.ROLE_PREFIX + READER}, {'role_id': 'crn:other:Viewer'}],
        'resources': [{'attributes': [dict(name='accountId', value=ACCOUNT, **ops),
                                      dict(name='serviceName', value='container-registry', **ops),
                                      dict(name='region', value='us-south', **ops)]}]}


def test_read_asks_once_or_waits_for_a_policy_iam_does_not_show_yet():
    slept = []
    admin = ScriptedAdmin(Answer(404, None))
    assert pol.Policies(admin, ACCOUNT, 'iam-S', sleep=slept.append).read('p1') == (None, None)
    assert admin.calls == [('GET', pol.POLICIES + '/p1', 'read access policy p1', {'allow': (404,)})] and slept == []
    admin = ScriptedAdmin(*[Answer(404, None)] * 7)
    assert pol.Policies(admin, ACCOUNT, 'iam-S', sleep=slept.append).read('p1', settle=True) == (None, None)
    assert len(admin.calls) == 7 and slept == list(pol.SETTLE_DELAYS)
    admin = ScriptedAdmin(Answer(200, {'id': 'p1', 'etag': 'E1'}))
    assert pol.Policies(admin, ACCOUNT, 'iam-S').read('p1') == ({'id': 'p1', 'etag': 'E1'}, 'E1')


def test_create_reads_the_new_policy_until_iam_shows_it_or_reports_what_it_sent():
    key = ('region', 'us-south', 'web', ())
    slept = []
    admin = ScriptedAdmin(Answer(201, {'id': 'p1'}), Answer(404, None), Answer(200, {'id': 'p1', 'v': 2}, 'E'))
    assert pol.Policies(admin, ACCOUNT, 'iam-S', sleep=slept.append).create(key, {READER}) == (
        {'id': 'p1', 'v': 2}, 'created')
    assert [c[1] for c in admin.calls[1:]] == [pol.POLICIES + '/p1'] * 2 and slept == [0.25]
    admin = ScriptedAdmin(Answer(201, {'id': 'p1'}), *[Answer(404, None)] * 7)
    assert pol.Policies(admin, ACCOUNT, 'iam-S', sleep=slept.append).create(key, {READER}) == (
        dict(pol.policy_body(ACCOUNT, 'iam-S', key, {READER}), id='p1'), 'created')
    for body in ('x', {'name': 'p'}):
        with pytest.raises(IamError) as err:
            pol.Policies(ScriptedAdmin(Answer(201, body)), ACCOUNT, 'iam-S').create(key, {READER})
        assert err.value.msg == ("Could not create the access policy {'roles': ['Reader'], 'region': 'us-south', "
                                 "'namespace': 'web'} for iam-S: IAM answered HTTP 201 without the policy id.")
