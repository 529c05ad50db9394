# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_api_key_info against a fake IAM account: one details call per distinct key, the identity named, unknown,
disabled and expired keys reported, IAM faults as clear failures, and never a key's value in the output."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.icr.auth.plugins.module_utils._credential import fingerprint
from ansible_collections.icr.auth.plugins.modules import icr_api_key_info
from ansible_collections.icr.auth.tests.unit.plugins.modules.module_runner import run_module
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.iam_fakes import ACCOUNT, ADMIN_KEY, FakeIam
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import iam_token

try:
    from ansible_collections.icr.auth.tests.functional.secret_scan import assert_no_secret
except ImportError:  # the functional tests are not part of the collection that ansible-test copies
    def assert_no_secret(secrets, *blobs):
        for blob in blobs:
            text = blob if isinstance(blob, str) else json.dumps(blob)
            for secret in secrets:
                assert secret not in text

UNKNOWN = 'UnknownKeyUnknownKeyUnknownKeyUnknownKey00'


@pytest.fixture
def iam(monkeypatch):
    monkeypatch.delenv('IBMCLOUD_API_KEY', raising=False)
    monkeypatch.delenv('IC_API_KEY', raising=False)
    with FakeIam() as fake:
        fake.sid = fake.add_service_id('web-fleet-pull')
        fake.new = fake.add_api_key(fake.sid['iam_id'], 'web-2026-12')
        fake.off = fake.add_api_key(fake.sid['iam_id'], 'web-2026-06', disabled=True)
        fake.old = fake.add_api_key(fake.sid['iam_id'], 'web-2025-12', expires_at='2026-01-01T00:00+0000')
        yield fake


def details_calls(iam):
    return [r for r in iam.requests if r['path'] == '/v1/apikeys/details']


def args(iam, known, **extra):
    base = dict(api_key=ADMIN_KEY, iam_endpoint=iam.url, retries=0, known_keys=known)
    base.update(extra)
    return base


def test_each_distinct_key_is_looked_up_once_and_named_never_shown(iam, tmp_path):
    key_file = tmp_path / 'web.json'
    key_file.write_text(json.dumps({'name': 'web-2026-12', 'id': 'x', 'apikey': iam.new}))
    plain_file = tmp_path / 'old.txt'
    plain_file.write_text(iam.old + '\n')
    known = [{'name': 'new', 'key': iam.new}, {'name': 'new-again', 'key_file': str(key_file)},
             {'name': 'off', 'key': iam.off}, {'name': 'old', 'key_file': str(plain_file)},
             {'name': 'gone', 'key': UNKNOWN}]
    failed, result, raw = run_module(icr_api_key_info, args(iam, known, _ansible_check_mode=True))
    assert not failed, result
    assert not result['changed']
    assert len(details_calls(iam)) == 4
    assert len([r for r in iam.requests if r['path'].startswith('/v1/serviceids/')]) == 1
    new, again, off, old, gone = result['known_keys']
    assert new['fingerprint'] == again['fingerprint'] == fingerprint(iam.new)
    assert new == dict(again, name='new')
    assert new['found'] and new['looked_up'] and new['problem'] is None
    assert (new['iam_id'], new['account_id'], new['service_id'], new['service_id_name'], new['key_name']) == (
        iam.sid['iam_id'], ACCOUNT, iam.sid['id'], 'web-fleet-pull', 'web-2026-12')
    assert off['disabled'] and 'disabled' in off['problem']
    assert old['expired'] and 'expired' in old['problem'] and not old['disabled']
    assert gone['found'] is False and 'does not know' in gone['problem'] and gone['iam_id'] is None
    assert_no_secret([iam.new, iam.off, iam.old, UNKNOWN, ADMIN_KEY], raw)


def test_without_lookup_only_fingerprints_and_no_administrator(iam):
    failed, result, raw = run_module(icr_api_key_info, dict(known_keys=[{'name': 'new', 'key': iam.new}], lookup=False))
    assert not failed, result
    assert result['known_keys'][0]['fingerprint'] == fingerprint(iam.new)
    assert result['known_keys'][0]['looked_up'] is False and result['known_keys'][0]['iam_id'] is None
    assert iam.requests == []
    assert_no_secret([iam.new], raw)


@pytest.mark.parametrize('status, words', [
    (429, 'rate-limiting'),
    (503, 'IAM may be having trouble'),
    (403, 'lacks the access'),
])
def test_iam_refusals_fail_with_a_clear_message(iam, status, words):
    iam.faults.append(('GET', '/v1/apikeys/details', status, {}, {'errors': [{'code': 'x', 'message': 'no'}]}))
    failed, result, raw = run_module(icr_api_key_info, args(iam, [{'name': 'new', 'key': iam.new}]))
    assert failed and words in result['msg'] and 'look up the identity of API key new' in result['msg'], result
    assert_no_secret([iam.new, ADMIN_KEY], raw)


def test_iam_down_and_bad_files_fail_clearly(iam, tmp_path):
    failed, result, raw = run_module(icr_api_key_info, args(iam, [{'name': 'new', 'key': iam.new}],
                                                            iam_endpoint='http://127.0.0.1:9'))
    assert failed and 'IAM' in result['msg'], result
    assert_no_secret([iam.new, ADMIN_KEY], raw)
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'name': 'x', 'value': iam.new}))
    failed, result, raw = run_module(icr_api_key_info, args(iam, [{'name': 'new', 'key_file': str(bad)}]))
    assert failed and 'known_keys[0] (new)' in result['msg'] and 'holds no API key' in result['msg'], result
    assert_no_secret([iam.new], raw)
    failed, result, raw = run_module(icr_api_key_info, args(iam, [{'name': 'new', 'key_file': str(tmp_path / 'no')}]))
    assert failed and 'cannot read' in result['msg'], result
    failed, result, raw = run_module(icr_api_key_info, dict(known_keys=[{'name': 'new', 'key': iam.new}]))
    assert failed and 'api_key' in result['msg'] and 'IBMCLOUD_API_KEY' in result['msg'], result
    assert_no_secret([iam.new], raw)


def test_a_key_file_is_checked_as_the_credential_helper_checks_its_key_file(iam, tmp_path):
    token = iam_token()
    cases = [(token, 'holds an IAM access token, not an API key'), (iam.new + '\n' + iam.off + '\n', 'contains white space'),
             ('\n', 'is empty')]
    for content, says in cases:
        path = tmp_path / 'key'
        path.write_text(content)
        failed, result, raw = run_module(icr_api_key_info, args(iam, [{'name': 'new', 'key_file': str(path)}]))
        assert failed and result['msg'].startswith('known_keys[0] (new): ') and says in result['msg'], result
        assert str(path) in result['msg']
        assert_no_secret([token, iam.new, iam.off], raw)
    assert details_calls(iam) == []


NOW = datetime.datetime(2027, 6, 1, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize('value, expired', [
    ('2027-06-01T12:00+0000', True), ('2027-06-01T12:00Z', True), ('2027-06-01T12:00:00.000+00:00', True),
    ('2027-06-01T11:59:59Z', True), ('2027-06-01T14:00+0200', True), ('2027-06-01T12:00', True),
    ('2027-06-01T12:01+0000', False), ('2027-06-01T12:00:00.5Z', False), ('2027-06-01T12:00-0100', False),
    ('2027-06-01T12:01', False), (None, False), ('', False), ('never', False), ('2027-02-30T00:00Z', False),
])
def test_is_expired_at_or_before_now_in_any_form_iam_answers_and_never_for_what_is_not_a_time(value, expired):
    assert icr_api_key_info.is_expired(value, NOW) is expired
