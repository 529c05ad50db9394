# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_login_info: main(), its options, check mode; it changes nothing and returns no secret."""

from __future__ import annotations

import json
import os
import pwd

import pytest

from ansible_collections.icr.auth.plugins.module_utils._credential import encode_auth, fingerprint
from ansible_collections.icr.auth.plugins.modules import icr_login_info
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token
from ansible_collections.icr.auth.tests.unit.plugins.modules.module_runner import run_module


@pytest.fixture
def files(tmp_path, monkeypatch):
    """The connection user's two files, at the paths its environment names."""
    os.chmod(str(tmp_path), 0o700)
    docker = tmp_path / 'docker' / 'config.json'
    containers = tmp_path / 'containers' / 'auth.json'
    for path in (docker, containers):
        path.parent.mkdir(mode=0o700)
    monkeypatch.setenv('DOCKER_CONFIG', str(docker.parent))
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(containers))
    return docker, containers


def snapshot(*paths):
    return [(p.read_bytes(), os.stat(str(p)).st_mtime_ns, os.stat(str(p)).st_mode) for p in paths if p.exists()]


@pytest.mark.parametrize('check_mode', [False, True])
def test_both_files_of_the_connection_user_are_reported_and_left_as_they_are(files, check_mode):
    docker, containers = files
    token = iam_token(iam_id='iam-ServiceId-xyz')
    docker.write_text(json.dumps({'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', API_KEY)},
                                            'docker.io': {'auth': encode_auth('me', 'pw')}}}))
    containers.write_text(json.dumps({'auths': {'us.icr.io/web': {'auth': encode_auth('iambearer', token)}}}))
    for path in files:
        os.chmod(str(path), 0o600)
    before = snapshot(docker, containers)
    failed, result, raw = run_module(icr_login_info, {'_ansible_check_mode': check_mode, 'forbid_api_keys': True})
    assert not failed and result['changed'] is False
    assert result['users'] == [pwd.getpwuid(os.geteuid()).pw_name]
    assert [(f['format'], f['path']) for f in result['files']] == [('docker', str(docker)), ('containers', str(containers))]
    key_entry = result['files'][0]['registries'][0]
    assert (key_entry['registry'], key_entry['username_type'], key_entry['fingerprint']) == (
        'us.icr.io', 'iamapikey', fingerprint(API_KEY))
    assert result['files'][0]['other_registries'] == 1
    token_entry = result['files'][1]['registries'][0]
    assert (token_entry['namespace'], token_entry['iam_id'], token_entry['expired']) == ('web', 'iam-ServiceId-xyz', False)
    assert [(p['code'], p['path']) for p in result['problems']] == [('plaintext_api_key', str(docker))]
    assert API_KEY not in raw and token not in raw and encode_auth('iamapikey', API_KEY) not in raw
    assert snapshot(docker, containers) == before


def test_format_chooses_the_files_and_missing_files_are_no_problem(files):
    failed, result, dummy = run_module(icr_login_info, {'format': 'containers'})
    assert not failed and [f['format'] for f in result['files']] == ['containers']
    assert result['files'][0]['exists'] is False and result['problems'] == []
    assert not files[1].exists()


def test_an_unparsable_file_is_a_problem_not_a_failure(files):
    docker = files[0]
    docker.write_bytes(b'{"auths": [')
    failed, result, dummy = run_module(icr_login_info, {'format': 'docker'})
    assert not failed and [p['code'] for p in result['problems']] == ['unparsable']
    assert docker.read_bytes() == b'{"auths": ['


def test_named_users_are_looked_up_once_and_an_unknown_one_is_named(files):
    me = pwd.getpwuid(os.geteuid())
    failed, result, dummy = run_module(icr_login_info, {'users': [me.pw_name, str(me.pw_uid)], 'format': 'docker'})
    assert not failed and result['users'] == [me.pw_name]
    # A named user's files are in their home: the environment of the connection user does not count.
    assert result['files'][0]['path'] == os.path.join(me.pw_dir, '.docker', 'config.json')
    failed, result, dummy = run_module(icr_login_info, {'users': ['no-such-user-icraud']})
    assert failed and result['msg'] == ("users: no user 'no-such-user-icraud' in the password database of this host; "
                                        'name existing users.')


def test_an_unknown_option_is_refused():
    failed, result, dummy = run_module(icr_login_info, {'user': 'root'})
    assert failed and 'user' in result['msg']
