# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Installing and configuring docker-credential-icr on a host, through real ansible-playbook runs as root.

icr.auth.icr_credential_helper writes into a temp prefix (its path and config_path options), never into this
machine's /usr/local/bin or /etc; icr.auth.icr_login (method helper / file) writes the files of two local users made
for this module (icrhcfga, icrhcfgb, homes in a temp dir). What is checked is what a user of the host would meet:
files, owners, modes, what a rerun, check mode, diff and state absent do, and that no key is ever shown.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import stat
import subprocess

import pytest

from playrunner import run_play
from real_fixtures import ArgvSampler
from rel_support import create_user, remove_user, shared_tmpdir
from secret_scan import assert_no_secret

# pylint: disable=wrong-import-order
from ansible_collections.icr.auth.plugins.module_utils._helper_config import validate  # noqa: E402

pytestmark = [pytest.mark.needs_root]

USERS = ('icrhcfga', 'icrhcfgb')
KEY = 'HelperInstallKey0123456789abcdefghijklmnopq'
PROFILE_ID = 'Profile-0d4f58e5-2b1c-4a2e-9f5d-3c8e7a1b6f20'
INSTALL = 'install'


@pytest.fixture(scope='module')
def homes():
    """Two local users whose homes are in a temp dir; removed afterwards."""
    base = shared_tmpdir('icr-helper-cfg-')
    entries = {}
    try:
        for name in USERS:
            entries[name] = create_user(name, base / name)
        yield entries
    finally:
        for name in USERS:
            remove_user(name)
        shutil.rmtree(str(base), ignore_errors=True)


@pytest.fixture
def prefix():
    """Where the helper is installed: a temp dir that every user can traverse, as /usr/local is."""
    base = shared_tmpdir('icr-helper-prefix-')
    yield base
    shutil.rmtree(str(base), ignore_errors=True)


def helper_args(prefix, **kw):
    args = {'path': str(prefix / 'bin' / 'docker-credential-icr'),
            'config_path': str(prefix / 'etc' / 'icr-auth' / 'credential-helper.json'),
            'identity': 'vpc_trusted_profile', 'trusted_profile': PROFILE_ID, 'regions': ['us-south', 'global']}
    args.update(kw)
    return args


def install_task(prefix, check_mode=False, **kw):
    return {'name': INSTALL, 'icr.auth.icr_credential_helper': helper_args(prefix, **kw), 'check_mode': check_mode}


def snapshot(path):
    st = os.lstat(str(path))
    return path.read_bytes(), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_ino


def test_install_check_mode_diff_rerun_and_absent(tmp_path, prefix):
    exe = prefix / 'bin' / 'docker-credential-icr'
    cfg = prefix / 'etc' / 'icr-auth' / 'credential-helper.json'
    dry = run_play(tmp_path / 'dry', [install_task(prefix, check_mode=True)], args=['--diff'])
    assert dry.rc == 0, dry.text[-3000:]
    result = dry.result(INSTALL)['result']
    assert result['changed'] and not exe.exists() and not cfg.exists()
    assert PROFILE_ID in result['diff'][0]['after'] and 'sha256' in result['diff'][1]['after']

    first = run_play(tmp_path / 'first', [install_task(prefix)])
    assert first.rc == 0 and first.result(INSTALL)['result']['executable'] == 'installed', first.text[-3000:]
    assert snapshot(exe)[1:4] == (0o755, 0, 0) and snapshot(cfg)[1:4] == (0o644, 0, 0)
    assert stat.S_IMODE(os.stat(str(cfg.parent)).st_mode) == 0o755
    assert json.loads(cfg.read_text()) == validate({'version': 1, 'identity': 'vpc_trusted_profile',
                                                    'trusted_profile_id': PROFILE_ID,
                                                    'registries': ['us.icr.io', 'icr.io']})
    before = (snapshot(exe), snapshot(cfg))

    again = run_play(tmp_path / 'again', [install_task(prefix)], args=['--diff'])
    assert again.rc == 0 and not again.result(INSTALL)['result']['changed'], again.text[-3000:]
    assert (snapshot(exe), snapshot(cfg)) == before  # same inodes: nothing rewritten

    # A change of configuration rewrites only the configuration, and the diff says what changed.
    changed = run_play(tmp_path / 'changed', [install_task(prefix, trusted_profile=None)], args=['--diff'])
    result = changed.result(INSTALL)['result']
    assert changed.rc == 0 and result['changed'] and result['executable'] == 'unchanged', changed.text[-3000:]
    assert PROFILE_ID in result['diff'][0]['before'] and PROFILE_ID not in result['diff'][0]['after']
    assert snapshot(exe) == before[0] and json.loads(cfg.read_text())['trusted_profile_id'] is None

    gone_dry = run_play(tmp_path / 'gone-dry', [{'name': INSTALL, 'check_mode': True, 'icr.auth.icr_credential_helper': {
        'state': 'absent', 'path': str(exe), 'config_path': str(cfg), 'cache_dir': str(tmp_path / 'no-cache')}}])
    assert gone_dry.rc == 0 and gone_dry.result(INSTALL)['result']['changed'] and exe.exists()
    gone = run_play(tmp_path / 'gone', [{'name': INSTALL, 'icr.auth.icr_credential_helper': {
        'state': 'absent', 'path': str(exe), 'config_path': str(cfg), 'cache_dir': str(tmp_path / 'no-cache')}}])
    assert gone.rc == 0 and gone.result(INSTALL)['result']['executable'] == 'removed', gone.text[-3000:]
    assert not exe.exists() and not cfg.exists()


def test_the_installed_executable_is_the_hosts_python_and_no_user_can_change_it(tmp_path, prefix, homes):
    run = run_play(tmp_path, [install_task(prefix)])
    assert run.rc == 0, run.text[-3000:]
    exe = prefix / 'bin' / 'docker-credential-icr'
    first_line = exe.read_bytes().split(b'\n', 1)[0]
    assert first_line.startswith(b'#!/') and first_line.endswith(b' -I'), first_line
    user = homes[USERS[0]]
    probe = subprocess.run(['setpriv', '--reuid', str(user.pw_uid), '--regid', str(user.pw_gid), '--clear-groups',
                            'sh', '-c', 'test -x "$0" && ! test -w "$0" && ! test -w "$(dirname "$0")"', str(exe)],
                           capture_output=True, text=True, check=False)
    assert probe.returncode == 0, probe.stderr


def test_key_files_are_written_as_each_user_and_never_shown(tmp_path, prefix, homes):
    task = install_task(prefix, identity='api_key_file', trusted_profile=None, users=list(USERS), api_key='{{ key }}')
    with ArgvSampler() as sampler:
        run = run_play(tmp_path / 'first', [task], secret_vars={'key': KEY}, args=['-vvv', '--diff'])
    assert run.rc == 0, run.text[-3000:]
    assert sampler.rounds > 3 and not [argv for argv in sampler.seen if KEY in argv]
    for name, entry in homes.items():
        key_file = pathlib.Path(entry.pw_dir) / '.config' / 'docker-credential-icr' / 'apikey'
        st = os.stat(str(key_file))
        assert key_file.read_text() == KEY and (st.st_uid, stat.S_IMODE(st.st_mode)) == (entry.pw_uid, 0o600)
        dir_st = os.stat(str(key_file.parent))
        assert (dir_st.st_uid, stat.S_IMODE(dir_st.st_mode)) == (entry.pw_uid, 0o700)
    assert_no_secret([KEY], run.text, (prefix / 'etc' / 'icr-auth' / 'credential-helper.json').read_text())
    again = run_play(tmp_path / 'again', [task], secret_vars={'key': KEY}, args=['-vvv'])
    assert again.rc == 0 and not again.result(INSTALL)['result']['changed'], again.text[-3000:]
    assert_no_secret([KEY], again.text)


def test_a_users_link_cannot_lead_roots_key_write_elsewhere(tmp_path, prefix, homes):
    """The user points their key directory at a root-owned one: root writes as the user, so nothing lands there."""
    entry = homes[USERS[1]]
    victim = tmp_path / 'root-only'
    victim.mkdir(mode=0o755)
    config_dir = pathlib.Path(entry.pw_dir) / '.config'
    shutil.rmtree(str(config_dir), ignore_errors=True)
    config_dir.mkdir()
    os.chown(str(config_dir), entry.pw_uid, entry.pw_gid)
    os.symlink(str(victim), str(config_dir / 'docker-credential-icr'))
    os.lchown(str(config_dir / 'docker-credential-icr'), entry.pw_uid, entry.pw_gid)
    task = install_task(prefix, identity='api_key_file', trusted_profile=None, users=[USERS[1]], api_key='{{ key }}')
    run = run_play(tmp_path / 'play', [task], secret_vars={'key': KEY})
    assert run.rc != 0, run.text[-3000:]
    assert 'api_key: ' in run.result(INSTALL)['result']['msg'] and USERS[1] in run.result(INSTALL)['result']['msg']
    assert os.listdir(str(victim)) == [] and stat.S_IMODE(os.stat(str(victim)).st_mode) == 0o755
    assert_no_secret([KEY], run.text)
    shutil.rmtree(str(config_dir), ignore_errors=True)


def test_absent_removes_the_named_users_caches_only(tmp_path, prefix, homes):
    caches = {}
    for name, entry in homes.items():
        cache = pathlib.Path(entry.pw_dir) / '.cache' / 'docker-credential-icr'
        cache.mkdir(parents=True, exist_ok=True)
        (cache / 'identity.json').write_text('{"access_token": "x"}')
        for path in (cache.parent, cache, cache / 'identity.json'):
            os.chown(str(path), entry.pw_uid, entry.pw_gid)
        caches[name] = cache
    assert run_play(tmp_path / 'install', [install_task(prefix)]).rc == 0
    task = {'name': INSTALL, 'icr.auth.icr_credential_helper': {
        'state': 'absent', 'path': helper_args(prefix)['path'], 'config_path': helper_args(prefix)['config_path'],
        'users': [USERS[0]]}}
    run = run_play(tmp_path / 'absent', [task])
    assert run.rc == 0, run.text[-3000:]
    assert run.result(INSTALL)['result']['caches_removed'] == [str(caches[USERS[0]])]
    assert not caches[USERS[0]].exists() and (caches[USERS[1]] / 'identity.json').exists()


def login_task(user, method, state='present', **kw):
    args = {'regions': ['us-south', 'global'], 'user': user, 'format': 'both', 'method': method, 'state': state}
    if method == 'file' and state == 'present':
        args.update(password='{{ key }}', credential_store='file')  # the file, not the credsStore of the test
    args.update(kw)
    return {'name': 'login', 'icr.auth.icr_login': args}


def user_files(entry):
    home = pathlib.Path(entry.pw_dir)
    return [home / '.docker' / 'config.json', home / '.config' / 'containers' / 'auth.json']


def test_switching_file_helper_file_leaves_no_stale_entry(tmp_path, homes):
    user = USERS[0]
    entry = homes[user]
    for path in user_files(entry):
        shutil.rmtree(str(path.parent), ignore_errors=True)
    # A credential store for every other registry, which must never be touched.
    docker_config = user_files(entry)[0]
    docker_config.parent.mkdir(mode=0o700)
    docker_config.write_text(json.dumps({'credsStore': 'desktop', 'auths': {'quay.io': {'auth': 'eDp5'}}}))
    for path in (docker_config.parent, docker_config):
        os.chown(str(path), entry.pw_uid, entry.pw_gid)
    os.chmod(str(docker_config), 0o600)

    steps = [('file', 'present'), ('helper', 'present'), ('helper', 'present'), ('file', 'present')]
    seen = []
    for number, (method, state) in enumerate(steps):
        run = run_play(tmp_path / str(number), [login_task(user, method, state)], secret_vars={'key': KEY},
                       args=['--diff'])
        assert run.rc == 0, run.text[-3000:]
        result = run.result('login')['result']
        assert_no_secret([KEY], run.text)
        seen.append((result['changed'], [json.loads(p.read_text()) for p in user_files(entry)]))
        for path in user_files(entry):
            st = os.stat(str(path))
            assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (entry.pw_uid, 0o600)
    (_c, (docker, containers)) = seen[1]
    for data in (docker, containers):
        assert data['credHelpers'] == {'us.icr.io': 'icr', 'icr.io': 'icr'}
        assert 'us.icr.io' not in data.get('auths', {}) and 'icr.io' not in data.get('auths', {})
        assert KEY not in json.dumps(data)
    assert docker['credsStore'] == 'desktop' and docker['auths'] == {'quay.io': {'auth': 'eDp5'}}
    assert seen[2][0] is False and seen[2][1] == seen[1][1]  # rerun: changed=0
    (_c, (docker, containers)) = seen[3]
    for data in (docker, containers):
        assert 'credHelpers' not in data and sorted(k for k in data['auths'] if 'icr.io' in k) == ['icr.io', 'us.icr.io']
    assert docker['credsStore'] == 'desktop' and docker['auths']['quay.io'] == {'auth': 'eDp5'}
    # And state absent in helper mode, from the helper state, removes the entries it wrote.
    run = run_play(tmp_path / 'h', [login_task(user, 'helper')])
    gone = run_play(tmp_path / 'absent', [login_task(user, 'helper', 'absent')])
    assert run.rc == 0 and gone.rc == 0, gone.text[-3000:]
    for data in (json.loads(p.read_text()) for p in user_files(entry)):
        assert 'credHelpers' not in data and not [k for k in data.get('auths', {}) if 'icr.io' in k]


# ------------------------------------------------------------- every option reaches what it is for (issue 18)

CR_TOKEN_FILE = '/run/secrets/cr-token'


def test_every_option_reaches_the_configuration_or_the_executable(tmp_path, prefix):
    """Each option of icr_credential_helper that the helper reads lands, under its own key, in the configuration; python
    is the executable's interpreter. Three identities, each in its own configuration file, in one play."""
    python = '/usr/bin/python3.11'  # not the interpreter the module runs with (the default)
    common = {'iam_endpoint': 'https://private.iam.cloud.ibm.com', 'ca_path': '/etc/ssl/certs/ca-certificates.crt',
              'validate_certs': False, 'timeout': 9, 'retries': 3, 'refresh_share': 0.4,
              'cache_dir': '/var/cache/icr-tokens', 'private_endpoint': True, 'regions': ['us-south'],
              'registries': ['registry.example.com:5000']}
    vpc = {'identity': 'vpc_trusted_profile', 'trusted_profile': PROFILE_ID,
           'metadata_endpoint': 'https://api.metadata.cloud.ibm.com', 'metadata_version': '2022-03-01'}
    cr_name = {'identity': 'compute_resource', 'trusted_profile': None, 'profile_name': 'registry-reader',
               'cr_token_file': CR_TOKEN_FILE}
    cr_id = {'identity': 'compute_resource', 'trusted_profile': None, 'profile_id': PROFILE_ID}
    key_file = {'identity': 'api_key_file', 'trusted_profile': None, 'api_key_file': '~/.icr/apikey'}
    cases = {'vpc': vpc, 'cr-name': cr_name, 'cr-id': cr_id, 'key-file': key_file}
    tasks = []
    for name, options in cases.items():
        task = install_task(prefix, **dict(common, **options))
        task['name'] = name
        task['icr.auth.icr_credential_helper'].update(
            config_path=str(prefix / 'etc' / ('%s.json' % name)),
            path=str(prefix / 'bin' / name / 'docker-credential-icr'), python=python)
        tasks.append(task)
    run = run_play(tmp_path, tasks)
    assert run.rc == 0, run.text[-3000:]
    expected_common = {'version': 1, 'iam_endpoint': 'https://private.iam.cloud.ibm.com',
                       'ca_path': '/etc/ssl/certs/ca-certificates.crt', 'validate_certs': False, 'timeout': 9,
                       'retries': 3, 'refresh_share': 0.4, 'cache_dir': '/var/cache/icr-tokens',
                       'registries': ['private.us.icr.io', 'registry.example.com:5000']}
    expected = {
        'vpc': {'identity': 'vpc_trusted_profile', 'trusted_profile_id': PROFILE_ID,
                'metadata_endpoint': 'https://api.metadata.cloud.ibm.com', 'metadata_version': '2022-03-01'},
        'cr-name': {'identity': 'compute_resource', 'profile_name': 'registry-reader', 'cr_token_file': CR_TOKEN_FILE},
        'cr-id': {'identity': 'compute_resource', 'profile_id': PROFILE_ID},
        'key-file': {'identity': 'api_key_file', 'api_key_file': '~/.icr/apikey'},
    }
    for name, keys in expected.items():
        written = json.loads((prefix / 'etc' / ('%s.json' % name)).read_text())
        assert written == validate(dict(expected_common, **keys)), name
        first_line = (prefix / 'bin' / name / 'docker-credential-icr').read_bytes().split(b'\n', 1)[0]
        assert first_line == b'#!' + python.encode() + b' -I', first_line
