# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_service_id against a stateful fake IAM account: idempotency, purge, 409 adoption, check mode, locks."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _iam_policy
from ansible_collections.icr.auth.plugins.modules import icr_service_id
from ansible_collections.icr.auth.tests.unit.plugins.modules.module_runner import run_module
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.iam_fakes import ACCOUNT, ADMIN_KEY, FakeIam

ACCESS = [{'role': 'Reader', 'region': 'us-south', 'namespaces': ['web', 'base']},
          {'role': 'Reader', 'region': 'global', 'namespaces': ['base']}]


@pytest.fixture
def iam(monkeypatch):
    monkeypatch.setattr(_iam_policy, 'SETTLE_DELAYS', (0.01, 0.01, 0.01))
    monkeypatch.delenv('IBMCLOUD_API_KEY', raising=False)
    monkeypatch.delenv('IC_API_KEY', raising=False)
    with FakeIam() as fake:
        yield fake


def args(iam, **extra):
    base = dict(api_key=ADMIN_KEY, iam_endpoint=iam.url, name='web-fleet-pull', retries=0, _ansible_diff=True)
    base.update(extra)
    return base


def test_from_nothing_to_policies_then_rerun_unchanged(iam):
    failed, result, raw = run_module(icr_service_id, args(iam, description='pull', access=ACCESS))
    assert not failed, result
    assert result['changed'] and result['policy_changes']['created'] == 3
    sid = result['service_id']
    assert sid['name'] == 'web-fleet-pull' and sid['iam_id'].startswith('iam-ServiceId-') and sid['account_id'] == ACCOUNT
    assert len(iam.policies_of(sid['iam_id'])) == 3
    views = sorted((p['region'], p['namespace'], tuple(p['roles'])) for p in result['policies'])
    assert views == [('global', 'base', ('Reader',)), ('us-south', 'base', ('Reader',)), ('us-south', 'web', ('Reader',))]
    geo = [p for p in iam.policies_of(sid['iam_id']) if any(a['name'] == 'geography' for a in p['resources'][0]['attributes'])]
    assert len(geo) == 1 and {'name': 'geography', 'value': 'global', 'operator': 'stringEquals'} in geo[0]['resources'][0]['attributes']
    assert result['diff']['before'] == {} and len(result['diff']['after']['access']) == 3
    assert ADMIN_KEY not in raw
    writes = len(iam.writes())
    failed, again, dummy = run_module(icr_service_id, args(iam, description='pull', access=ACCESS))
    nothing = {'created': 0, 'adopted': 0, 'updated': 0, 'deleted': 0}
    assert not failed and not again['changed'] and again['policy_changes'] == nothing
    assert len(iam.writes()) == writes and len(iam.policies_of(sid['iam_id'])) == 3
    assert again['diff']['before'] == again['diff']['after']


def test_pagination_finds_policies_on_later_pages(iam):
    iam.page = 1
    sid = iam.add_service_id('web-fleet-pull')
    for ns in ('aaaa', 'bbbb', 'cccc'):
        iam.add_policy(sid['iam_id'], ['Reader'], [('accountId', ACCOUNT), ('serviceName', 'container-registry'),
                                                   ('region', 'us-south'), ('resourceType', 'namespace'), ('resource', ns)])
    access = [{'role': 'Reader', 'region': 'us-south', 'namespaces': ['cccc']}]
    failed, result, dummy = run_module(icr_service_id, args(iam, access=access))
    assert not failed and not result['changed'] and len(result['policies']) == 3
    starts = [r['query'].get('start') for r in iam.requests if r['path'] == '/v1/policies']
    assert starts == [None, '1', '2']


def test_check_mode_makes_no_write(iam):
    failed, result, dummy = run_module(icr_service_id, args(iam, access=ACCESS, _ansible_check_mode=True))
    assert not failed and result['changed'] and result['policy_changes']['created'] == 3
    assert iam.writes() == [] and iam.service_ids == {}
    sid = iam.add_service_id('web-fleet-pull')
    iam.add_policy(sid['iam_id'], ['Manager'], [('accountId', ACCOUNT), ('serviceName', 'container-registry'),
                                                ('region', 'eu-de')])
    failed, result, dummy = run_module(icr_service_id, args(iam, access=ACCESS, purge_access=True, _ansible_check_mode=True))
    expected = {'created': 3, 'adopted': 0, 'updated': 0, 'deleted': 1}
    assert not failed and result['changed'] and result['policy_changes'] == expected
    assert iam.writes() == [] and len(iam.policies) == 1


def test_purge_on_deletes_and_sets_roles_off_adds_only(iam):
    sid = iam.add_service_id('web-fleet-pull')
    base = [('accountId', ACCOUNT), ('serviceName', 'container-registry'), ('region', 'us-south'),
            ('resourceType', 'namespace')]
    iam.add_policy(sid['iam_id'], ['Manager'], base + [('resource', 'web')])
    other = iam.add_policy(sid['iam_id'], ['Reader'], base + [('resource', 'old')])
    iam.add_policy(sid['iam_id'], ['Reader'], [('accountId', ACCOUNT), ('serviceName', 'cloud-object-storage')])
    access = [{'role': 'Reader', 'region': 'us-south', 'namespaces': ['web']}]
    failed, result, dummy = run_module(icr_service_id, args(iam, access=access))
    # Without purge the role is added to the policy on that namespace, and nothing is removed.
    assert not failed and result['changed'] and result['policy_changes']['updated'] == 1
    assert result['policy_changes']['deleted'] == 0 and other['id'] in iam.policies and len(iam.policies) == 3
    assert ('us-south', 'web', ['Manager', 'Reader']) in [(p['region'], p['namespace'], p['roles']) for p in result['policies']]
    failed, result, dummy = run_module(icr_service_id, args(iam, access=access))
    assert not failed and not result['changed']
    failed, result, dummy = run_module(icr_service_id, args(iam, access=access, purge_access=True))
    assert not failed and result['changed'] and result['policy_changes']['updated'] == 1
    assert result['policy_changes']['deleted'] == 1 and other['id'] not in iam.policies
    assert len(iam.policies) == 2  # the other service's policy stays
    puts = [r for r in iam.requests if r['method'] == 'PUT']
    assert len(puts) == 2 and all(p['headers']['If-Match'].startswith('W/"1-') for p in puts)
    assert puts[1]['headers']['If-Match'].endswith('x"')  # the ETag of the policy as the first update left it
    assert [(p['region'], p['namespace'], p['roles']) for p in result['policies']] == [('us-south', 'web', ['Reader'])]
    failed, again, dummy = run_module(icr_service_id, args(iam, access=access, purge_access=True))
    assert not failed and not again['changed']


def test_purge_removes_duplicates_keeping_one(iam):
    sid = iam.add_service_id('web-fleet-pull')
    attrs = [('accountId', ACCOUNT), ('serviceName', 'container-registry'), ('region', 'us-south'),
             ('resourceType', 'namespace'), ('resource', 'web')]
    iam.add_policy(sid['iam_id'], ['Reader'], attrs)
    iam.add_policy(sid['iam_id'], ['Reader'], attrs)
    access = [{'role': 'Reader', 'region': 'us-south', 'namespaces': ['web']}]
    failed, result, dummy = run_module(icr_service_id, args(iam, access=access, purge_access=True))
    assert not failed and result['policy_changes']['deleted'] == 1 and len(iam.policies) == 1


def test_conflict_409_adopts_the_existing_policy(iam):
    sid = iam.add_service_id('web-fleet-pull')
    existing = iam.add_policy(sid['iam_id'], ['Reader'], [
        ('accountId', ACCOUNT), ('serviceName', 'container-registry'), ('region', 'us-south'),
        ('resourceType', 'namespace'), ('resource', 'web')])
    iam.list_lag = 1  # the list does not show it yet, so the module tries to create it
    access = [{'role': 'Reader', 'region': 'us-south', 'namespaces': ['web']}]
    failed, result, dummy = run_module(icr_service_id, args(iam, access=access))
    assert not failed, result
    assert result['policy_changes']['adopted'] == 1 and result['policy_changes']['created'] == 0
    assert [p['id'] for p in result['policies']] == [existing['id']] and len(iam.policies) == 1


def test_policy_not_readable_after_create_is_read_again_not_duplicated(iam):
    iam.unreadable_reads = 2
    access = [{'role': 'Writer', 'region': 'eu-de', 'namespaces': ['apps']}]
    failed, result, dummy = run_module(icr_service_id, args(iam, access=access))
    assert not failed and result['policy_changes']['created'] == 1
    posts = [r for r in iam.requests if r['method'] == 'POST' and r['path'] == '/v1/policies']
    reads = [r for r in iam.requests if r['method'] == 'GET' and r['path'].startswith('/v1/policies/')]
    assert len(posts) == 1 and len(reads) == 3 and len(iam.policies) == 1
    assert result['policies'][0]['id'] in iam.policies


def test_duplicate_service_id_names_are_a_clear_error(iam):
    one = iam.add_service_id('web-fleet-pull')
    two = iam.add_service_id('web-fleet-pull')
    failed, result, raw = run_module(icr_service_id, args(iam, access=ACCESS))
    assert failed and '2 service IDs are named' in result['msg']
    assert one['id'] in result['msg'] and two['id'] in result['msg'] and iam.writes() == []
    assert ADMIN_KEY not in raw


def test_pagination_of_service_ids_finds_duplicates_on_later_pages(iam):
    iam.page = 1
    iam.add_service_id('web-fleet-pull')
    iam.add_service_id('web-fleet-pull')
    failed, result, dummy = run_module(icr_service_id, args(iam))
    assert failed and '2 service IDs' in result['msg']


def test_description_update_uses_if_match(iam):
    sid = iam.add_service_id('web-fleet-pull', description='old')
    tag = iam.etags[sid['id']]
    failed, result, dummy = run_module(icr_service_id, args(iam, description='new'))
    assert not failed and result['changed'] and iam.service_ids[sid['id']]['description'] == 'new'
    put = [r for r in iam.requests if r['method'] == 'PUT'][0]
    assert put['headers']['If-Match'] == tag
    assert result['diff'] == {'before': {'name': 'web-fleet-pull', 'description': 'old', 'locked': False},
                              'after': {'name': 'web-fleet-pull', 'description': 'new', 'locked': False}}


def test_locked_service_id_refuses_changes_unless_unlocked(iam):
    sid = iam.add_service_id('web-fleet-pull', locked=True)
    failed, result, dummy = run_module(icr_service_id, args(iam, access=ACCESS))
    assert failed and 'is locked' in result['msg'] and 'locked: false' in result['msg'] and iam.writes() == []
    failed, result, dummy = run_module(icr_service_id, args(iam, access=ACCESS, locked=False))
    assert not failed and len(iam.policies) == 3 and not iam.service_ids[sid['id']]['locked']


def test_new_locked_service_id_is_locked_after_its_policies(iam):
    failed, result, dummy = run_module(icr_service_id, args(iam, access=ACCESS, locked=True))
    assert not failed and result['service_id']['locked'] and len(iam.policies) == 3
    assert iam.writes()[-1][0] == 'POST' and iam.writes()[-1][1].endswith('/lock')
    failed, again, dummy = run_module(icr_service_id, args(iam, access=ACCESS, locked=True))
    assert not failed and not again['changed']


def test_absent_deletes_and_is_then_unchanged(iam):
    run_module(icr_service_id, args(iam, access=ACCESS))
    failed, result, dummy = run_module(icr_service_id, args(iam, state='absent', _ansible_check_mode=True))
    assert not failed and result['changed'] and len(iam.service_ids) == 1
    failed, result, dummy = run_module(icr_service_id, args(iam, state='absent'))
    assert not failed and result['changed'] and iam.service_ids == {} and result['diff']['after'] == {}
    failed, result, dummy = run_module(icr_service_id, args(iam, state='absent'))
    assert not failed and not result['changed']


def test_bad_input_is_refused_before_any_call(iam):
    failed, result, dummy = run_module(icr_service_id, args(iam, access=[{'role': 'Reader', 'region': 'mars'}]))
    assert failed and "access[0].region: unknown ICR region 'mars'" in result['msg']
    failed, result, dummy = run_module(icr_service_id, args(iam, access=[{'role': 'Reader', 'region': 'us-south',
                                                                          'namespaces': ['UPPER']}]))
    assert failed and "'UPPER' is not a valid ICR namespace" in result['msg']
    assert iam.requests == []


def test_wrong_admin_key_never_shown(iam):
    bad = 'WrongKeyWrongKeyWrongKeyWrongKeyWrongKey_-zz'
    failed, result, raw = run_module(icr_service_id, args(iam, api_key=bad))
    assert failed and 'BXNIM0415E' in result['msg'] and bad not in raw


def test_admin_key_from_environment(iam, monkeypatch):
    monkeypatch.setenv('IC_API_KEY', ADMIN_KEY)
    a = args(iam, access=ACCESS)
    del a['api_key']
    failed, result, raw = run_module(icr_service_id, a)
    assert not failed and result['changed'] and ADMIN_KEY not in raw
    monkeypatch.delenv('IC_API_KEY')
    failed, result, dummy = run_module(icr_service_id, a)
    assert failed and 'IBMCLOUD_API_KEY' in result['msg']


def test_server_error_names_operation_status_code_and_request_id(iam):
    iam.faults.append(('GET', '/v1/serviceids/', 403, {'Transaction-Id': 'txn-42'},
                       {'errors': [{'code': 'forbidden', 'message_code': 'BXNIM0513E', 'message': 'You are not authorized'}]}))
    failed, result, raw = run_module(icr_service_id, args(iam))
    assert failed
    msg = result['msg']
    assert "list the service IDs named 'web-fleet-pull'" in msg and 'HTTP 403' in msg and 'forbidden/BXNIM0513E' in msg
    assert 'txn-42' in msg and ADMIN_KEY not in raw


def test_account_id_chooses_the_account(iam):
    iam.add_service_id('web-fleet-pull')  # in the admin's own account
    other = 'other0123456789abcdef0123456789ab'
    failed, result, dummy = run_module(icr_service_id, args(iam, account_id=other, access=ACCESS))
    assert not failed and result['changed'] and result['service_id']['account_id'] == other
    made = [s for s in iam.service_ids.values() if s['account_id'] == other]
    assert len(made) == 1 and len(iam.policies_of(made[0]['iam_id'])) == 3
    body = [r for r in iam.requests if r['method'] == 'POST' and r['path'] == '/v1/policies'][0]['body']
    assert other.encode() in body and ACCOUNT.encode() not in body
