# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_iam_identity: expiry checks, the times IAM answers, service IDs and API keys against a fake IAM."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _iam_identity as ident
from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError
from ansible_collections.icr.auth.plugins.module_utils._iam_admin import AdminSession

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.iam_fakes import ACCOUNT, ADMIN_KEY, FakeIam


def test_parse_expiry():
    value = ident.parse_expiry('2027-06-01T00:00+0000')
    assert value == datetime.datetime(2027, 6, 1, tzinfo=datetime.timezone.utc)
    assert ident.expiry_text(ident.parse_expiry('2027-06-01T02:00+0200')) == '2027-06-01T00:00+0000'
    assert ident.parse_expiry(None) is None


@pytest.mark.parametrize('value', ['2027-06-01', '2027-06-01T00:00Z', '2027-02-30T00:00+0000', '2027-06-01T00:00:00+0000'])
def test_parse_expiry_refuses(value):
    with pytest.raises(InputError, match='expires_at'):
        ident.parse_expiry(value)


@pytest.mark.parametrize('current, same', [
    ('2027-06-01T00:00+0000', True), ('2027-06-01T00:00:00Z', True), ('2027-06-01T00:00:00.000+00:00', True),
    ('2027-06-01T02:00+0200', True), ('2027-06-01T00:01+0000', False), (None, False), ('garbage', False),
])
def test_same_expiry(current, same):
    assert ident.same_expiry(current, ident.parse_expiry('2027-06-01T00:00+0000')) is same


UTC = datetime.timezone.utc


@pytest.mark.parametrize('value, when', [
    ('2027-06-01T00:00+0000', datetime.datetime(2027, 6, 1, tzinfo=UTC)),
    ('2027-06-01T00:00Z', datetime.datetime(2027, 6, 1, tzinfo=UTC)),
    ('2027-06-01T00:00+00:00', datetime.datetime(2027, 6, 1, tzinfo=UTC)),
    ('2027-06-01T00:00', datetime.datetime(2027, 6, 1, tzinfo=UTC)),
    ('2027-06-01T00:00:00', datetime.datetime(2027, 6, 1, tzinfo=UTC)),
    ('2027-06-01 00:00Z', datetime.datetime(2027, 6, 1, tzinfo=UTC)),
    (' 2027-06-01T00:00+0000\n', datetime.datetime(2027, 6, 1, tzinfo=UTC)),
    ('2027-06-01T02:00+0200', datetime.datetime(2027, 6, 1, tzinfo=UTC)),
    ('2027-05-31T18:30-05:30', datetime.datetime(2027, 6, 1, tzinfo=UTC)),
    ('2027-05-31T23:59:59Z', datetime.datetime(2027, 5, 31, 23, 59, 59, tzinfo=UTC)),
    ('2027-06-01T00:00:59.5Z', datetime.datetime(2027, 6, 1, 0, 0, 59, 500000, tzinfo=UTC)),
    ('2027-06-01T00:00:00.000+00:00', datetime.datetime(2027, 6, 1, tzinfo=UTC)),
    ('2027-06-01T00:00:00.123456789Z', datetime.datetime(2027, 6, 1, 0, 0, 0, 123456, tzinfo=UTC)),
    ('2028-02-29T12:00+0000', datetime.datetime(2028, 2, 29, 12, tzinfo=UTC)),
    ('2027-06-01T00:00+2359', datetime.datetime(2027, 5, 31, 0, 1, tzinfo=UTC)),
])
def test_parse_iam_time_reads_the_forms_iam_answers_no_offset_being_utc(value, when):
    parsed = ident.parse_iam_time(value)
    assert parsed == when and parsed.utcoffset() is not None


def test_parse_iam_time_keeps_the_offset_it_was_given():
    assert ident.parse_iam_time('2027-05-31T18:30-05:30').utcoffset() == -datetime.timedelta(hours=5, minutes=30)
    assert ident.parse_iam_time('2027-06-01T02:00+0200').utcoffset() == datetime.timedelta(hours=2)
    assert ident.parse_iam_time('2027-06-01T00:00').tzinfo is UTC


@pytest.mark.parametrize('value', [
    None, '', '   ', 'garbage', 12345, '2027-06-01', '2027-06-01T00', '20270601T0000Z', '2027-06-01T00:00z',
    '2027-06-01T00:00Zx', 'x2027-06-01T00:00Z', '2027-06-01T00:00Z\nx', '2027-06-01T00:00UTC', '2027-06-01T00:00+02',
    '2027-02-30T00:00Z', '2027-02-29T00:00Z', '2027-13-01T00:00Z', '2027-06-01T24:00Z', '2027-06-01T00:60Z',
    '2027-06-01T00:00:60Z', '2027-06-01T00:00.5Z', '2027-06-01T00:00:00.Z', '2027-06-01T00:00+2400', '2027-06-01T00:00+0060',
    '2027-06-01T00:00+00:0', '-2027-06-01T00:00Z',
])
def test_parse_iam_time_is_none_for_what_is_not_such_a_time(value):
    assert ident.parse_iam_time(value) is None


def test_same_expiry_reads_a_time_without_offset_as_utc():
    wanted = ident.parse_expiry('2027-06-01T00:00+0000')
    assert ident.same_expiry('2027-06-01T00:00', wanted) is True
    assert ident.same_expiry('2027-06-01T02:00', wanted) is False
    assert ident.same_expiry('2027-06-01T00:00:60Z', wanted) is False


def test_looks_like_id():
    assert ident.looks_like_id('ServiceId-2d9bd1b2-4f51-4fcb-9a51-6f6f0f4b3c55')
    assert not ident.looks_like_id('web-fleet-pull') and not ident.looks_like_id('')


def identity(iam):
    s = AdminSession({'iam_endpoint': iam.url, 'api_key': ADMIN_KEY, 'retries': 0, 'timeout': 5.0}, {})
    return ident.Identity(s, ACCOUNT)


def test_service_id_life():
    with FakeIam() as iam:
        idn = identity(iam)
        assert idn.find_service_id('a') is None
        made = idn.create_service_id('a', 'first', locked=False)
        assert idn.find_service_id('a')['id'] == made['id'] and idn.resolve_service_id(made['id'])['name'] == 'a'
        idn.update_service_id(made['id'], 'a', 'second')
        assert iam.service_ids[made['id']]['description'] == 'second'
        idn.set_service_id_lock(made['id'], True)
        assert iam.service_ids[made['id']]['locked']
        idn.set_service_id_lock(made['id'], False)
        idn.delete_service_id(made['id'])
        assert iam.service_ids == {} and idn.get_service_id(made['id']) is None


def test_names_are_not_unique_so_duplicates_are_listed():
    with FakeIam(page=1) as iam:
        ids = sorted(iam.add_service_id('dup')['id'] for dummy in range(3))
        with pytest.raises(IamError) as err:
            identity(iam).find_service_id('dup')
        assert '3 service IDs are named' in err.value.msg and ', '.join(ids) in err.value.msg


def test_api_key_life_and_value_only_in_the_create_answer():
    with FakeIam() as iam:
        sid = iam.add_service_id('s')
        idn = identity(iam)
        made = idn.create_api_key(sid['iam_id'], 'k', 'd', '2099-01-01T00:00+0000', locked=False, disabled=True)
        assert made['apikey'] == iam.key_values[0] and iam.apikeys[made['id']]['disabled']
        found = idn.find_api_key(sid['iam_id'], 'k')
        assert found['id'] == made['id'] and 'apikey' not in found
        idn.update_api_key(made['id'], {'name': 'k', 'description': 'e'})
        put = [r for r in iam.requests if r['method'] == 'PUT'][0]
        assert put['headers']['If-Match'].startswith('1-')
        for flag in ('lock', 'disable'):
            idn.set_api_key_flag(made['id'], flag, False)
        assert not iam.apikeys[made['id']]['disabled']
        idn.delete_api_key(made['id'])
        assert iam.apikeys == {}
        idn.delete_api_key(made['id'])  # already gone: fine


def test_parse_expiry_empty_and_its_messages_word_for_word():
    assert ident.parse_expiry('') is None
    with pytest.raises(InputError) as err:
        ident.parse_expiry('tomorrow')
    assert err.value.msg == ("expires_at: 'tomorrow' is not of the form yyyy-MM-ddTHH:mm+0000 (for example "
                             "2027-06-01T00:00+0000), the form IAM takes.")


def test_expiry_text_is_in_utc_whatever_the_local_zone(monkeypatch):
    import time
    monkeypatch.setenv('TZ', 'Asia/Kolkata')
    time.tzset()
    try:
        assert ident.expiry_text(ident.parse_expiry('2027-06-01T02:00+0200')) == '2027-06-01T00:00+0000'
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize('current', ['2027-06-01T00:00:00Z', '2027-06-01T00:00+00:00', '2027-06-01T00:00:59.5Z'])
def test_same_expiry_reads_the_forms_iam_answers_to_the_minute(current):
    wanted = datetime.datetime(2027, 6, 1, 0, 0, 30, 500, tzinfo=datetime.timezone.utc)
    assert ident.same_expiry(current, wanted) is True
    assert ident.same_expiry(current, None) is True and ident.same_expiry(None, None) is True


def test_a_new_service_id_is_sent_with_its_description_and_lock():
    with FakeIam() as iam:
        idn = identity(iam)
        for locked, description in ((True, 'pulls for the web fleet'), (False, None)):
            del iam.requests[:]
            made = idn.create_service_id('web', description, locked=locked)
            post = [r for r in iam.requests if r['method'] == 'POST' and 'serviceids' in r['path']][0]
            assert {k.lower(): v for k, v in post['headers'].items()}['entity-lock'] == ('true' if locked else 'false')
            sent = __import__('json').loads(post['body'])
            assert sent.get('description', 'absent') == (description or 'absent')
            assert made['id'] in iam.service_ids and made['name'] == 'web'


class Answer(object):
    def __init__(self, status=200, body=None, etag=None):
        self.status, self.body, self.etag = status, body, etag


class RecordingAdmin(object):
    """An AdminSession stand-in that records each call word for word and answers from a script."""

    def __init__(self, *answers, items=()):
        self.answers, self.items, self.calls = list(answers), list(items), []

    def call(self, method, path, doing, **kwargs):
        self.calls.append((method, path, doing, kwargs))
        return self.answers.pop(0) if self.answers else Answer()

    def pages(self, path, params, items, doing, **kwargs):
        self.calls.append(('pages', path, doing, dict(params, items=items, **kwargs)))
        return iter(self.items)


SID = 'ServiceId-2d9bd1b2-4f51-4fcb-9a51-6f6f0f4b3c55'
S, K = ident.SERVICE_IDS, ident.APIKEYS


@pytest.mark.parametrize('method, args, answers, calls', [
    ('get_service_id', (SID,), [Answer(200, {'id': SID}, 'W/"1"')],
     [('GET', S + SID, f'read service ID {SID}', {'allow': (404,)})]),
    ('create_service_id', ('web', None, True), [Answer(201, 'not json')],
     [('POST', S, "create service ID 'web'", {'body': {'account_id': ACCOUNT, 'name': 'web'},
                                              'headers': {'Entity-Lock': 'true'}})]),
    ('update_service_id', (SID, 'web', None), [Answer(200, {'id': SID}), Answer(200, None)],
     [('GET', S + SID, f'read service ID {SID}', {'allow': (404,)}),
      ('PUT', S + SID, f'update service ID {SID}', {'body': {'name': 'web', 'description': ''},
                                                    'headers': {'If-Match': '*'}})]),
    ('set_service_id_lock', (SID, True), [], [('POST', f'{S}{SID}/lock', f'lock service ID {SID}', {})]),
    ('set_service_id_lock', (SID, False), [], [('DELETE', f'{S}{SID}/lock', f'unlock service ID {SID}', {})]),
    ('delete_service_id', (SID,), [], [('DELETE', S + SID, f'delete service ID {SID}', {'allow': (404,)})]),
    ('get_api_key', ('ApiKey-1',), [Answer(404, {'errors': []})],
     [('GET', f'{K}/ApiKey-1', 'read API key ApiKey-1', {'allow': (404,)})]),
    ('find_api_key', ('iam-' + SID, 'pull'), [],
     [('pages', K, f'list the API keys of iam-{SID}', {'account_id': ACCOUNT, 'iam_id': 'iam-' + SID,
                                                       'scope': 'entity', 'type': 'serviceid',
                                                       'pagesize': ident.PAGE_SIZE, 'items': 'apikeys'})]),
    ('create_api_key', ('iam-x', 'pull', None, None, False, True), [Answer(201, {'id': 'ApiKey-1'})],
     [('POST', K, "create API key 'pull' for iam-x", {
         'body': {'name': 'pull', 'iam_id': 'iam-x', 'account_id': ACCOUNT, 'store_value': False},
         'headers': {'Entity-Lock': 'false', 'Entity-Disable': 'true'}})]),
    ('create_api_key', ('iam-x', 'pull', 'for CI', '2027-06-01T00:00+0000', True, False),
     [Answer(201, {'id': 'ApiKey-1'})],
     [('POST', K, "create API key 'pull' for iam-x", {
         'body': {'name': 'pull', 'iam_id': 'iam-x', 'account_id': ACCOUNT, 'store_value': False,
                  'description': 'for CI', 'expires_at': '2027-06-01T00:00+0000'},
         'headers': {'Entity-Lock': 'true', 'Entity-Disable': 'false'}})]),
    ('find_service_id', ('web',), [],
     [('pages', S, "list the service IDs named 'web'", {'account_id': ACCOUNT, 'name': 'web',
                                                        'pagesize': ident.PAGE_SIZE, 'items': 'serviceids'})]),
    ('update_api_key', ('ApiKey-1', {'description': 'd'}), [Answer(200, {'id': 'ApiKey-1'}, 'W/"4"'), Answer()],
     [('GET', f'{K}/ApiKey-1', 'read API key ApiKey-1', {'allow': (404,)}),
      ('PUT', f'{K}/ApiKey-1', 'update API key ApiKey-1', {'body': {'description': 'd'},
                                                           'headers': {'If-Match': 'W/"4"'}})]),
    ('update_api_key', ('ApiKey-1', {'name': 'n'}), [Answer(200, {'id': 'ApiKey-1'}), Answer()],
     [('GET', f'{K}/ApiKey-1', 'read API key ApiKey-1', {'allow': (404,)}),
      ('PUT', f'{K}/ApiKey-1', 'update API key ApiKey-1', {'body': {'name': 'n'}, 'headers': {'If-Match': '*'}})]),
    ('set_api_key_flag', ('ApiKey-1', 'lock', True), [], [('POST', f'{K}/ApiKey-1/lock', 'lock API key ApiKey-1', {})]),
    ('set_api_key_flag', ('ApiKey-1', 'lock', False), [],
     [('DELETE', f'{K}/ApiKey-1/lock', 'unlock API key ApiKey-1', {})]),
    ('set_api_key_flag', ('ApiKey-1', 'disable', True), [],
     [('POST', f'{K}/ApiKey-1/disable', 'disable API key ApiKey-1', {})]),
    ('set_api_key_flag', ('ApiKey-1', 'disable', False), [],
     [('DELETE', f'{K}/ApiKey-1/disable', 'enable API key ApiKey-1', {})]),
    ('delete_api_key', ('ApiKey-1',), [], [('DELETE', f'{K}/ApiKey-1', 'delete API key ApiKey-1', {'allow': (404,)})]),
])
def test_each_call_to_iam_word_for_word(method, args, answers, calls):
    admin = RecordingAdmin(*answers)
    getattr(ident.Identity(admin, ACCOUNT), method)(*args)
    assert admin.calls == calls


def test_what_reads_and_writes_return():
    idn = ident.Identity(RecordingAdmin(Answer(200, {'id': SID}, 'W/"1"')), ACCOUNT)
    assert idn.get_service_id(SID) == {'id': SID, 'entity_tag': 'W/"1"'}
    idn = ident.Identity(RecordingAdmin(Answer(200, {'id': SID, 'entity_tag': 'W/"0"'}, 'W/"1"')), ACCOUNT)
    assert idn.get_service_id(SID) == {'id': SID, 'entity_tag': 'W/"0"'}
    idn = ident.Identity(RecordingAdmin(Answer(200, {'id': 'ApiKey-1'}, 'W/"2"')), ACCOUNT)
    assert idn.get_api_key('ApiKey-1') == {'id': 'ApiKey-1', 'entity_tag': 'W/"2"'}
    assert ident.Identity(RecordingAdmin(Answer(404, {'errors': []})), ACCOUNT).get_api_key('ApiKey-1') is None
    assert ident.Identity(RecordingAdmin(Answer(200, None)), ACCOUNT).get_api_key('ApiKey-1') is None
    assert ident.Identity(RecordingAdmin(Answer(201, 'x')), ACCOUNT).create_service_id('web', 'd', False) == {}
    current = {'id': SID, 'entity_tag': 'W/"3"'}
    admin = RecordingAdmin(Answer(200, dict(current)), Answer(200, None))
    assert ident.Identity(admin, ACCOUNT).update_service_id(SID, 'web', 'new') == current
    assert admin.calls[1][3] == {'body': {'name': 'web', 'description': 'new'}, 'headers': {'If-Match': 'W/"3"'}}
    admin = RecordingAdmin(Answer(200, dict(current)), Answer(200, {'id': SID, 'description': 'new'}))
    assert ident.Identity(admin, ACCOUNT).update_service_id(SID, 'web', 'new') == {'id': SID, 'description': 'new'}
    with pytest.raises(IamError) as err:
        ident.Identity(RecordingAdmin(Answer(404, None)), ACCOUNT).update_service_id(SID, 'web', None)
    assert err.value.msg == (f'Could not update service ID {SID}: IAM no longer knows it (deleted meanwhile?). '
                             'Run again.')


def test_resolve_service_id_by_id_or_by_name():
    admin = RecordingAdmin(items=[{'name': 'web', 'id': SID}])
    idn = ident.Identity(admin, ACCOUNT)
    assert idn.resolve_service_id('web') == {'name': 'web', 'id': SID}
    assert admin.calls[0][0] == 'pages' and admin.calls[0][3]['name'] == 'web'
    admin = RecordingAdmin(Answer(200, {'id': SID}))
    ident.Identity(admin, ACCOUNT).resolve_service_id(SID)
    assert admin.calls[0][:2] == ('GET', S + SID)
    assert not ident.looks_like_id(None)


def test_find_api_key_matches_name_and_identity_and_names_duplicates():
    keys = [{'id': 'k1', 'name': 'pull', 'iam_id': 'iam-a'}, {'id': 'k2', 'name': 'pull', 'iam_id': 'iam-b'},
            {'id': 'k3', 'name': 'push', 'iam_id': 'iam-a'}, {'id': 'k4', 'name': 'pull'}]
    assert ident.Identity(RecordingAdmin(items=keys[:3]), ACCOUNT).find_api_key('iam-a', 'pull')['id'] == 'k1'
    with pytest.raises(IamError) as err:
        ident.Identity(RecordingAdmin(items=keys), ACCOUNT).find_api_key('iam-a', 'pull')
    assert err.value.msg.startswith("2 API keys are named 'pull' on iam-a (k1, k4); ")


def test_api_key_writes_return_iams_answer_or_what_was_read():
    current = {'id': 'ApiKey-1', 'name': 'pull', 'entity_tag': 'W/"4"'}
    admin = RecordingAdmin(Answer(200, dict(current)), Answer(200, None))
    assert ident.Identity(admin, ACCOUNT).update_api_key('ApiKey-1', {'name': 'pull'}) == current
    admin = RecordingAdmin(Answer(200, dict(current)), Answer(200, {'id': 'ApiKey-1', 'name': 'new'}))
    updated = ident.Identity(admin, ACCOUNT).update_api_key('ApiKey-1', {'name': 'new'})
    assert updated == {'id': 'ApiKey-1', 'name': 'new'}
    with pytest.raises(IamError) as err:
        ident.Identity(RecordingAdmin(Answer(404, None)), ACCOUNT).update_api_key('ApiKey-1', {'name': 'n'})
    assert err.value.msg == ('Could not update API key ApiKey-1: IAM no longer knows it (deleted meanwhile?). '
                             'Run again.')
    for answer in (Answer(201, {'name': 'pull'}), Answer(201, 'x'), Answer(201, {'id': ''})):
        with pytest.raises(IamError) as err:
            ident.Identity(RecordingAdmin(answer), ACCOUNT).create_api_key('iam-x', 'pull', None, None, False, False)
        assert err.value.msg == "Could not create API key 'pull': IAM answered HTTP 201 without the key."
    made = {'id': 'ApiKey-1', 'apikey': 'value'}
    assert ident.Identity(RecordingAdmin(Answer(201, dict(made))), ACCOUNT).create_api_key(
        'iam-x', 'pull', None, None, False, False) == made


def test_find_service_id_matches_the_name_exactly_and_names_duplicates_word_for_word():
    items = [{'name': 'web', 'id': 'ServiceId-b'}, {'name': 'web-2', 'id': 'ServiceId-c'}, {'id': 'ServiceId-d'}]
    assert ident.Identity(RecordingAdmin(items=items), ACCOUNT).find_service_id('web') == items[0]
    assert ident.Identity(RecordingAdmin(items=items[1:]), ACCOUNT).find_service_id('web') is None
    items.append({'name': 'web', 'id': 'ServiceId-a'})
    with pytest.raises(IamError) as err:
        ident.Identity(RecordingAdmin(items=items), ACCOUNT).find_service_id('web')
    assert err.value.msg == (f"2 service IDs are named 'web' in account {ACCOUNT} (ServiceId-a, ServiceId-b); IAM "
                             'does not keep names unique, so it is unclear which one is meant. Delete or rename the '
                             'extra ones, or give the id.')


def test_api_key_details_sends_the_value_only_in_its_header_and_never_returns_it():
    record = {'id': 'ApiKey-1', 'iam_id': 'iam-ServiceId-1', 'account_id': ACCOUNT, 'apikey': 'the-value'}
    admin = RecordingAdmin(Answer(200, dict(record)))
    assert ident.Identity(admin, ACCOUNT).api_key_details('the-value', 'ci_key') == {
        'id': 'ApiKey-1', 'iam_id': 'iam-ServiceId-1', 'account_id': ACCOUNT}
    assert admin.calls == [('GET', '/v1/apikeys/details', 'look up the identity of API key ci_key',
                            {'headers': {'IAM-ApiKey': 'the-value'}, 'allow': (404,)})]
    for answer in (Answer(404, {'id': 'ApiKey-1'}), Answer(200, 'x'), Answer(200, None)):
        assert ident.Identity(RecordingAdmin(answer), ACCOUNT).api_key_details('v', 'k') is None
