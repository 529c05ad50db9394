# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _helper_install as install
from ansible_collections.icr.auth.plugins.module_utils._helper_config import validate
from ansible_collections.icr.auth.plugins.modules import icr_credential_helper as module
from ansible_collections.icr.auth.tests.unit.plugins.modules.module_runner import run_module

PROFILE_ID = 'Profile-0d4f58e5-2b1c-4a2e-9f5d-3c8e7a1b6f20'
PROFILE_CRN = 'crn:v1:bluemix:public:iam-identity::a/0123456789abcdef0123456789abcdef::profile:' + PROFILE_ID
TOKEN = 'eyJhbGciOiJub25lIn0.unit-helper-token.c2ln'


def args(tmp_path, **kw):
    base = dict(path=str(tmp_path / 'bin' / 'docker-credential-icr'),
                config_path=str(tmp_path / 'etc' / 'icr-auth' / 'credential-helper.json'),
                identity='vpc_trusted_profile', regions=['us-south', 'global'])
    base.update(kw)
    return base


def fake_bundle(body):
    """A stand-in for the zipapp: a shell script, so that a test decides what `get` answers."""
    def bundle(python):
        return ('#!/bin/sh\n# python: %s\n%s\n' % (python, body)).encode()
    return bundle


ANSWERS = ('read host\n[ "$1" = get ] || exit 1\n'
           'echo "{\\"ServerURL\\":\\"$host\\",\\"Username\\":\\"iambearer\\",\\"Secret\\":\\"%s\\"}"' % TOKEN)
REFUSES = ('read host\necho "credentials not found in native keychain"\n'
           'echo "docker-credential-icr: $host: vpc_trusted_profile: IAM refused the profile: it has no Reader role" >&2\n'
           'exit 1')


@pytest.fixture
def answering(monkeypatch):
    monkeypatch.setattr(module, 'bundle', fake_bundle(ANSWERS))


def test_install_writes_root_owned_files_and_a_rerun_changes_nothing(tmp_path):
    failed, result, _raw = run_module(module, args(tmp_path, trusted_profile=PROFILE_ID))
    assert not failed and result['changed'] and result['executable'] == 'installed', result
    exe = tmp_path / 'bin' / 'docker-credential-icr'
    cfg = tmp_path / 'etc' / 'icr-auth' / 'credential-helper.json'
    assert stat.S_IMODE(exe.stat().st_mode) == 0o755 and stat.S_IMODE(cfg.stat().st_mode) == 0o644
    if os.geteuid() == 0:
        assert (exe.stat().st_uid, cfg.stat().st_uid, exe.stat().st_gid) == (0, 0, 0)
    assert stat.S_IMODE((tmp_path / 'etc' / 'icr-auth').stat().st_mode) == 0o755  # users must read the configuration
    config = json.loads(cfg.read_text())
    assert config['identity'] == 'vpc_trusted_profile' and config['trusted_profile_id'] == PROFILE_ID
    assert config['registries'] == ['us.icr.io', 'icr.io'] and config['version'] == 1
    assert exe.read_bytes().startswith(b'#!')
    before = exe.stat().st_ino
    failed, result, _raw = run_module(module, args(tmp_path, trusted_profile=PROFILE_ID))
    assert not failed and not result['changed'] and result['executable'] == 'unchanged'
    assert exe.stat().st_ino == before  # not rewritten


def test_changed_bytes_or_mode_are_put_back(tmp_path, answering):
    run_module(module, args(tmp_path))
    exe = tmp_path / 'bin' / 'docker-credential-icr'
    exe.write_bytes(b'#!/bin/sh\necho tampered\n')
    failed, result, _raw = run_module(module, args(tmp_path))
    assert not failed and result['changed'] and result['executable'] == 'updated'
    assert b'tampered' not in exe.read_bytes()
    os.chmod(exe, 0o777)
    failed, result, _raw = run_module(module, args(tmp_path))
    assert result['changed'] and stat.S_IMODE(exe.stat().st_mode) == 0o755


def test_check_mode_writes_nothing_and_the_diff_shows_the_configuration(tmp_path):
    failed, result, _raw = run_module(module, args(tmp_path, _ansible_check_mode=True, _ansible_diff=True))
    assert not failed and result['changed'] and not (tmp_path / 'bin').exists() and not (tmp_path / 'etc').exists()
    config_diff, exe_diff = result['diff']
    assert config_diff['before'] == '' and json.loads(config_diff['after'])['identity'] == 'vpc_trusted_profile'
    assert exe_diff['before'] == '(none)\n' and 'sha256' in exe_diff['after']
    run_module(module, args(tmp_path))
    failed, result, _raw = run_module(module, args(tmp_path, identity='api_key_file', _ansible_check_mode=True,
                                                   _ansible_diff=True))
    assert result['changed'] and '"api_key_file"' in result['diff'][0]['after']
    assert '"vpc_trusted_profile"' in result['diff'][0]['before'] and result['executable'] == 'unchanged'
    assert json.loads((tmp_path / 'etc' / 'icr-auth' / 'credential-helper.json').read_text())['identity'] == \
        'vpc_trusted_profile'


@pytest.mark.parametrize('value, key', [(PROFILE_ID, 'trusted_profile_id'), (PROFILE_CRN, 'trusted_profile_crn')])
def test_a_trusted_profile_is_told_apart_by_its_shape(tmp_path, value, key):
    failed, result, _raw = run_module(module, args(tmp_path, trusted_profile=value))
    assert not failed and result['config'] == validate({'version': 1, 'identity': 'vpc_trusted_profile', key: value,
                                                        'registries': ['us.icr.io', 'icr.io']})


@pytest.mark.parametrize('extra, words', [
    (dict(trusted_profile='my-profile'), 'trusted_profile: '),
    (dict(identity='compute_resource'), 'profile_id/profile_name: '),
    (dict(identity='compute_resource', profile_name='p', trusted_profile=PROFILE_ID), 'trusted_profile: only used'),
    (dict(cr_token_file='/var/run/secrets/tokens/vault-token'), 'cr_token_file: only used with identity: compute'),
    (dict(identity='api_key_file', metadata_endpoint='http://169.254.169.254'), 'metadata_endpoint: only used'),
    (dict(refresh_share=1.5), 'refresh_share: '),
    (dict(timeout=-1.0), 'timeout: '),
    (dict(regions=['mars-north']), 'mars-north'),
    (dict(identity=None), 'identity'),
    (dict(check=True, regions=[]), 'check: '),
])
def test_bad_input_is_refused_naming_the_option_and_nothing_is_written(tmp_path, extra, words):
    failed, result, _raw = run_module(module, args(tmp_path, **extra))
    assert failed and words in result['msg'], result['msg']
    assert not (tmp_path / 'bin').exists() and not (tmp_path / 'etc').exists()


def test_a_link_at_the_path_is_refused_and_left(tmp_path):
    (tmp_path / 'bin').mkdir()
    (tmp_path / 'elsewhere').write_text('keep')
    os.symlink(str(tmp_path / 'elsewhere'), str(tmp_path / 'bin' / 'docker-credential-icr'))
    failed, result, _raw = run_module(module, args(tmp_path))
    assert failed and 'not a regular file' in result['msg'] and result['msg'].startswith('path: ')
    assert (tmp_path / 'elsewhere').read_text() == 'keep' and os.path.islink(tmp_path / 'bin' / 'docker-credential-icr')


def test_absent_removes_the_executable_the_configuration_and_the_users_caches(tmp_path, answering):
    run_module(module, args(tmp_path, cache_dir=str(tmp_path / 'cache')))
    cache = tmp_path / 'cache'
    cache.mkdir(mode=0o700)
    (cache / 'abc.json').write_text('{"token": "x"}')
    (cache / 'abc.lock').write_text('')
    absent = dict(state='absent', path=args(tmp_path)['path'], config_path=args(tmp_path)['config_path'],
                  users=[str(os.geteuid())])
    failed, result, _raw = run_module(module, dict(absent, _ansible_check_mode=True))
    assert not failed and result['changed'] and result['caches_removed'] == [str(cache)]
    assert cache.exists() and (tmp_path / 'bin' / 'docker-credential-icr').exists()
    failed, result, _raw = run_module(module, absent)  # cache_dir read from the configuration it removes
    assert not failed and result['changed'] and result['executable'] == 'removed'
    assert not cache.exists() and not (tmp_path / 'bin' / 'docker-credential-icr').exists()
    assert not (tmp_path / 'etc' / 'icr-auth' / 'credential-helper.json').exists()
    failed, result, _raw = run_module(module, dict(absent, cache_dir=str(cache)))
    assert not failed and not result['changed'], result


def test_a_cache_directory_that_is_a_link_is_not_followed(tmp_path):
    target = tmp_path / 'precious'
    target.mkdir()
    (target / 'keep').write_text('keep')
    os.symlink(str(target), str(tmp_path / 'cache'))
    failed, result, _raw = run_module(module, dict(state='absent', path=args(tmp_path)['path'],
                                                   config_path=args(tmp_path)['config_path'],
                                                   cache_dir=str(tmp_path / 'cache'), users=[str(os.geteuid())]))
    assert not failed and not result['changed'] and (target / 'keep').exists()


def test_check_runs_the_helper_and_never_returns_the_token(tmp_path, answering):
    failed, result, raw = run_module(module, args(tmp_path, check=True))
    assert not failed, result
    assert [(c['registry'], c['ok']) for c in result['checks']] == [('us.icr.io', True), ('icr.io', True)]
    assert TOKEN not in raw


def test_check_fails_with_the_helpers_own_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(module, 'bundle', fake_bundle(REFUSES))
    failed, result, raw = run_module(module, args(tmp_path, check=True, regions=['us-south']))
    assert failed and 'us.icr.io: docker-credential-icr: us.icr.io: vpc_trusted_profile: IAM refused the profile' in \
        result['msg']
    assert result['checks'][0]['ok'] is False and (tmp_path / 'bin' / 'docker-credential-icr').exists()


def test_check_is_skipped_in_check_mode(tmp_path, answering):
    failed, result, _raw = run_module(module, args(tmp_path, check=True, _ansible_check_mode=True))
    assert not failed and 'checks' not in result


def test_the_configuration_holds_no_secret_and_only_known_keys(tmp_path):
    failed, result, _raw = run_module(module, args(tmp_path, identity='api_key_file', api_key_file='~/.icr/key',
                                                   iam_endpoint='private', timeout=3.0, retries=2, refresh_share=0.5,
                                                   validate_certs=False, cache_dir='~/.cache/icr'))
    assert not failed
    config = json.loads((tmp_path / 'etc' / 'icr-auth' / 'credential-helper.json').read_text())
    assert config == validate({'version': 1, 'identity': 'api_key_file', 'registries': ['us.icr.io', 'icr.io'],
                               'api_key_file': '~/.icr/key', 'iam_endpoint': 'private', 'timeout': 3.0, 'retries': 2,
                               'refresh_share': 0.5, 'validate_certs': False, 'cache_dir': '~/.cache/icr'})
    assert config['timeout'] == 3.0 and config['api_key_file'] == '~/.icr/key'  # the options, not the defaults


def test_cache_dir_of_a_user():
    class Account(object):
        pw_dir = '/home/deploy'
    assert install.cache_dir_of(Account, None) == '/home/deploy/.cache/docker-credential-icr'
    assert install.cache_dir_of(Account, '~/.c/x') == '/home/deploy/.c/x'
    assert install.cache_dir_of(Account, '/var/cache/x') == '/var/cache/x'
