# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_api_key against a stateful fake IAM account: the value only in store_to, never in output; flags; check mode."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _iam_key_file
from ansible_collections.icr.auth.plugins.modules import icr_api_key
from ansible_collections.icr.auth.tests.unit.plugins.modules.module_runner import run_module
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.iam_fakes import ADMIN_KEY, FakeIam

try:
    from ansible_collections.icr.auth.tests.functional.secret_scan import assert_no_secret
except ImportError:  # the functional tests are not part of the collection that ansible-test copies
    def assert_no_secret(secrets, *blobs):
        for blob in blobs:
            text = blob if isinstance(blob, str) else json.dumps(blob)
            for secret in secrets:
                assert secret not in text


@pytest.fixture
def iam(monkeypatch):
    monkeypatch.delenv('IBMCLOUD_API_KEY', raising=False)
    monkeypatch.delenv('IC_API_KEY', raising=False)
    with FakeIam() as fake:
        fake.sid = fake.add_service_id('web-fleet-pull')
        yield fake


def args(iam, tmp_path, **extra):
    base = dict(api_key=ADMIN_KEY, iam_endpoint=iam.url, service_id='web-fleet-pull', name='web-2026-12', retries=0,
                store_to=str(tmp_path / 'vault' / 'web.json'), expires_at='2099-06-01T00:00+0000', _ansible_diff=True)
    base.update(extra)
    return base


def test_create_writes_value_only_to_a_private_file_then_rerun_unchanged(iam, tmp_path):
    failed, result, raw = run_module(icr_api_key, args(iam, tmp_path, description='web fleet'))
    assert not failed, result
    assert result['changed'] and result['stored']
    value = iam.key_values[0]
    path = tmp_path / 'vault' / 'web.json'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    record = json.loads(path.read_text())
    assert sorted(record) == ['apikey', 'created_at', 'iam_id', 'id', 'name'] and record['apikey'] == value
    key = result['key']
    assert key['id'] == record['id'] and key['iam_id'] == iam.sid['iam_id'] and key['expires_at'] == '2099-06-01T00:00+0000'
    assert sorted(key) == ['created', 'description', 'disabled', 'expires_at', 'iam_id', 'id', 'locked', 'name']
    assert_no_secret([value, ADMIN_KEY], raw)
    assert os.listdir(path.parent) == ['web.json']  # no temp file left
    failed, again, raw = run_module(icr_api_key, args(iam, tmp_path, description='web fleet'))
    assert not failed and not again['changed'] and not again['stored'] and len(iam.apikeys) == 1
    assert json.loads(path.read_text()) == record
    assert_no_secret([value, ADMIN_KEY], raw)


def test_check_mode_creates_and_writes_nothing(iam, tmp_path):
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, _ansible_check_mode=True))
    assert not failed and result['changed'] and not result['stored'] and result['key']['id'] is None
    assert iam.writes() == [] and not (tmp_path / 'vault').exists()


def test_existing_key_without_its_file_says_it_cannot_be_retrieved(iam, tmp_path):
    run_module(icr_api_key, args(iam, tmp_path))
    os.unlink(tmp_path / 'vault' / 'web.json')
    failed, result, raw = run_module(icr_api_key, args(iam, tmp_path))
    assert failed and 'cannot be written again' in result['msg'] and 'rotate' in result['msg']
    assert_no_secret(iam.key_values, raw)
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, store_to=None))
    assert not failed and not result['changed']


def test_an_existing_file_is_never_overwritten(iam, tmp_path):
    (tmp_path / 'vault').mkdir(mode=0o700)
    (tmp_path / 'vault' / 'web.json').write_text('not ours')
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path))
    assert failed and 'already exists' in result['msg'] and iam.apikeys == {}
    assert (tmp_path / 'vault' / 'web.json').read_text() == 'not ours'


def test_an_open_directory_is_refused_before_the_key_is_made(iam, tmp_path):
    (tmp_path / 'vault').mkdir(mode=0o755)
    os.chmod(tmp_path / 'vault', 0o755)
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path))
    assert failed and 'mode 0755' in result['msg'] and 'chmod 700' in result['msg'] and iam.apikeys == {}


def test_store_to_is_required_to_create(iam, tmp_path):
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, store_to=None))
    assert failed and result['msg'].startswith('store_to:') and iam.writes() == []


def test_a_failed_write_deletes_the_new_key_and_never_leaks_it(iam, tmp_path, monkeypatch):
    def broken_link(src, dst):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(_iam_key_file.os, 'link', broken_link)
    failed, result, raw = run_module(icr_api_key, args(iam, tmp_path))
    assert failed and 'No space left on device' in result['msg'] and 'deleted again' in result['msg']
    assert iam.apikeys == {} and len(iam.key_values) == 1
    assert os.listdir(tmp_path / 'vault') == []
    assert_no_secret([iam.key_values[0], ADMIN_KEY], raw)


def test_iam_refusing_the_create_leaves_no_temp_file(iam, tmp_path):
    refusal = {'errors': [{'code': 'bad_request', 'message': 'expires_at is invalid'}], 'trace': 'tr-9'}
    iam.faults.append(('POST', '/v1/apikeys', 400, {}, refusal))
    failed, result, raw = run_module(icr_api_key, args(iam, tmp_path))
    assert failed and "create API key 'web-2026-12'" in result['msg'] and 'tr-9' in result['msg']
    assert os.listdir(tmp_path / 'vault') == []


def test_duplicate_key_names_are_a_clear_error(iam, tmp_path):
    for dummy in range(2):
        iam.apikeys['ApiKey-%d' % dummy] = {'id': 'ApiKey-%d' % dummy, 'iam_id': iam.sid['iam_id'], 'name': 'web-2026-12'}
    iam.page = 1
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path))
    assert failed and '2 API keys are named' in result['msg'] and 'ApiKey-0, ApiKey-1' in result['msg']


def test_service_id_by_id_and_missing(iam, tmp_path):
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, service_id=iam.sid['id']))
    assert not failed and result['key']['iam_id'] == iam.sid['iam_id']
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, service_id='nobody'))
    assert failed and 'icr.auth.icr_service_id' in result['msg']
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, service_id='nobody', state='absent'))
    assert not failed and not result['changed']


def test_update_expiry_with_if_match_and_flags(iam, tmp_path):
    run_module(icr_api_key, args(iam, tmp_path))
    key_id = next(iter(iam.apikeys))
    tag = iam.etags[key_id]
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, expires_at='2099-07-01T00:00+0000',
                                                         disabled=True))
    assert not failed and result['changed'] and iam.apikeys[key_id]['expires_at'] == '2099-07-01T00:00+0000'
    assert iam.apikeys[key_id]['disabled'] and result['key']['disabled']
    put = [r for r in iam.requests if r['method'] == 'PUT'][0]
    assert put['headers']['If-Match'] == tag
    assert result['diff']['before']['disabled'] is False and result['diff']['after']['disabled'] is True
    failed, again, dummy = run_module(icr_api_key, args(iam, tmp_path, expires_at='2099-07-01T00:00+0000', disabled=True,
                                                        locked=True))
    assert not failed and again['changed'] and iam.apikeys[key_id]['locked']
    failed, again, dummy = run_module(icr_api_key, args(iam, tmp_path, expires_at='2099-07-01T00:00+0000', disabled=True,
                                                        locked=True))
    assert not failed and not again['changed']


def test_locked_key_is_deleted_only_when_unlock_is_asked(iam, tmp_path):
    run_module(icr_api_key, args(iam, tmp_path, locked=True))
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, state='absent'))
    assert failed and 'is locked' in result['msg'] and len(iam.apikeys) == 1
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, state='absent', locked=False,
                                                         _ansible_check_mode=True))
    assert not failed and result['changed'] and len(iam.apikeys) == 1
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, state='absent', locked=False))
    assert not failed and result['changed'] and iam.apikeys == {} and result['key'] is None


@pytest.mark.parametrize('value', ['2027-06-01', '2027-06-01T00:00:00Z', '2027-13-01T00:00+0000', 'soon'])
def test_bad_expiry_is_refused_before_any_call(iam, tmp_path, value):
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, expires_at=value))
    assert failed and result['msg'].startswith('expires_at:') and iam.requests == []


def test_expiry_in_the_past_is_refused_for_a_new_key(iam, tmp_path):
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, expires_at='2020-01-01T00:00+0000'))
    assert failed and 'in the past' in result['msg'] and iam.apikeys == {}


def test_file_of_another_key_is_refused(iam, tmp_path):
    run_module(icr_api_key, args(iam, tmp_path))
    other = tmp_path / 'other.json'
    run_module(icr_api_key, args(iam, tmp_path, name='second', store_to=str(tmp_path / 'v2' / 'o.json')))
    other.write_text((tmp_path / 'v2' / 'o.json').read_text())
    failed, result, raw = run_module(icr_api_key, args(iam, tmp_path, store_to=str(other)))
    assert failed and 'holds API key' in result['msg']
    assert_no_secret(iam.key_values, raw)


def test_check_mode_predicts_changes_to_an_existing_key_without_writing(iam, tmp_path):
    run_module(icr_api_key, args(iam, tmp_path))
    writes = len(iam.writes())
    key_id = next(iter(iam.apikeys))
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, description='new', disabled=True, locked=True,
                                                         _ansible_check_mode=True))
    assert not failed and result['changed'] and result['key']['disabled'] and result['key']['locked']
    assert result['diff']['after']['description'] == 'new' and len(iam.writes()) == writes
    assert not iam.apikeys[key_id]['disabled'] and iam.apikeys[key_id]['description'] == ''


def test_disabled_false_enables_again(iam, tmp_path):
    run_module(icr_api_key, args(iam, tmp_path, disabled=True))
    key_id = next(iter(iam.apikeys))
    assert iam.apikeys[key_id]['disabled']
    failed, result, dummy = run_module(icr_api_key, args(iam, tmp_path, disabled=False))
    assert not failed and result['changed'] and not iam.apikeys[key_id]['disabled']
    assert ('DELETE', '/v1/apikeys/%s/disable' % key_id) in iam.writes()
