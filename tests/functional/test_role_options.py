# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Each variable of icr.auth.docker_auth reaches its module: a test here fails when the role drops it.

Real ansible-playbook runs of the role (include_role) on local connections, no SSH and no root: one play on three
inventory hosts, all `ansible_connection=local`, each with its own config file. The network is the emulator on
loopback (HTTP, or HTTPS with a trustme CA) and a counting loopback proxy. tests/mutants/curated.yml lists the
mutation of roles/docker_auth/tasks/main.yml that each test was seen to kill.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import sys

import pytest

from emu_fixture import emu, emu_host, iam_calls, module_emu, module_tls_emu, tls_ca, tls_emu  # noqa: F401  pylint: disable=unused-import
from loopback_proxy import CountingProxy
from playrunner import run_play
from secret_scan import assert_no_secret

HOSTS = ('h1', 'h2', 'h3')
LOGIN = 'Write the registry credential for each user'
NO_ENV = {'REQUESTS_CA_BUNDLE': '', 'CURL_CA_BUNDLE': '', 'HTTP_PROXY': '', 'HTTPS_PROXY': '', 'http_proxy': '',
          'https_proxy': '', 'NO_PROXY': '', 'no_proxy': '', 'IBMCLOUD_API_KEY': '', 'IC_API_KEY': ''}


def role_task(**role_vars):
    return {'name': 'role', 'ansible.builtin.include_role': {'name': 'icr.auth.docker_auth'}, 'vars': role_vars}


def inventory(tmp_path, hosts=HOSTS, **per_host):
    """Local-connection hosts, each with its own config file (and whatever per_host sets, formatted with the host)."""
    lines = []
    for host in hosts:
        extra = {'docker_auth_config_path': str(tmp_path / host / 'config.json')}
        extra.update(dict((k, v.format(host=host)) for k, v in per_host.items()))
        lines.append('%s ansible_connection=local ansible_python_interpreter=%s %s'
                     % (host, sys.executable, ' '.join('%s=%s' % kv for kv in sorted(extra.items()))))
    path = tmp_path / 'inventory.ini'
    tmp_path.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def play(tmp_path, key, role_vars, hosts=HOSTS, env=None, args=(), task_keywords=None, **per_host):
    run_env = dict(NO_ENV)
    # Where a file would land if docker_auth_config_path were dropped: never the real home of the tests' user.
    run_env.update(DOCKER_CONFIG=str(tmp_path / 'default-docker'),
                   REGISTRY_AUTH_FILE=str(tmp_path / 'default-containers' / 'auth.json'))
    run_env.update(env or {})
    task = role_task(**role_vars)
    if task_keywords:  # applied to the role's tasks (include_role takes no task keyword of its own)
        task['ansible.builtin.include_role'] = dict(task['ansible.builtin.include_role'], apply=task_keywords)
    return run_play(tmp_path, [task], secret_vars={'docker_auth_api_key': key}, env=run_env,
                    inventory=inventory(tmp_path, hosts, **per_host), hosts='all', args=args)


def login_results(run):
    found = dict((r['host'], r) for r in run.records if r['task'].endswith(LOGIN))
    return found


def config(tmp_path, host):
    return json.loads((tmp_path / host / 'config.json').read_text())


def file_state(tmp_path, hosts=HOSTS):
    return dict((h, (os.stat(str(tmp_path / h / 'config.json')).st_ino, os.stat(str(tmp_path / h / 'config.json')).st_mtime_ns))
                for h in hosts)


# -------------------------------------------------------------------------------------- one play, three hosts


@pytest.mark.parametrize('forks', ['1', '3'])
def test_one_iam_call_per_play_even_with_forks_1(emu, tmp_path, forks):
    """Each host has its own controller cache directory, so a cache cannot hide a second exchange: only run_once can."""
    key = emu.apikey('svc-reader')
    run = play(tmp_path, key, {'docker_auth_registries': [emu_host(emu)], 'docker_auth_username_type': 'iambearer',
                               'docker_auth_iam_endpoint': emu.url},
               args=['-f', forks], docker_auth_cache_dir=str(tmp_path / 'cache-{host}'))
    assert run.rc == 0, run.text[-3000:]
    assert iam_calls(emu) == 1, emu.counters()
    assert sorted(login_results(run)) == list(HOSTS)
    tokens = set(config(tmp_path, h)['auths'][emu_host(emu)]['auth'] for h in HOSTS)
    assert len(tokens) == 1  # one credential for the whole play
    assert_no_secret([key], run.text)


def test_a_rerun_rewrites_no_file(emu, tmp_path):
    """Play level, no root: the second run changes nothing, and no config file is written again (inode and mtime)."""
    key = emu.apikey('svc-reader')
    role_vars = {'docker_auth_registries': [emu_host(emu)], 'docker_auth_username_type': 'iambearer',
                 'docker_auth_iam_endpoint': emu.url, 'docker_auth_format': 'docker'}
    first = play(tmp_path, key, role_vars)
    assert first.rc == 0, first.text[-3000:]
    assert all(r['result']['changed'] for r in login_results(first).values())
    before = file_state(tmp_path)
    second = play(tmp_path, key, role_vars)
    assert second.rc == 0, second.text[-3000:]
    assert [h for h, r in sorted(login_results(second).items()) if r['result']['changed']] == []
    assert file_state(tmp_path) == before
    assert iam_calls(emu) == 1  # the rerun used the controller's cache


# ---------------------------------------------------------------------------------------- role variables


def test_private_endpoint_reaches_icr_login(tmp_path):
    run = play(tmp_path, 'RoleOptionKey0123456789abcdefghijklmnopqr',
               {'docker_auth_regions': ['us-south', 'eu-de'], 'docker_auth_private_endpoint': True,
                'docker_auth_validate': False}, hosts=('h1',))
    assert run.rc == 0, run.text[-3000:]
    assert sorted(config(tmp_path, 'h1')['auths']) == ['private.de.icr.io', 'private.us.icr.io']


def test_private_endpoint_reaches_icr_credential(emu, tmp_path):
    """The proof on the controller goes to the private host: a loopback proxy records the CONNECT, and ends it."""
    with CountingProxy(connect='close') as proxy:
        run = play(tmp_path, emu.apikey('svc-reader'),
                   {'docker_auth_regions': ['us-south'], 'docker_auth_private_endpoint': True,
                    'docker_auth_iam_endpoint': emu.url}, hosts=('h1',), env={'HTTPS_PROXY': proxy.url, 'https_proxy': proxy.url})
        assert run.rc != 0  # nothing answers for ICR here
        assert proxy.targets() and set(proxy.targets()) == {'private.us.icr.io:443'}, (proxy.seen, run.text[-3000:])


def test_credential_store_reaches_icr_login(tmp_path):
    """A file naming a credsStore whose helper is not installed: credential_store file writes the file anyway."""
    path = tmp_path / 'h1' / 'config.json'
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({'credsStore': 'icr-auth-test-no-such-helper'}))
    os.chmod(str(path), 0o600)
    key = 'RoleOptionKey0123456789abcdefghijklmnopqr'
    run = play(tmp_path, key, {'docker_auth_regions': ['us-south'], 'docker_auth_validate': False,
                               'docker_auth_credential_store': 'file'}, hosts=('h1',))
    assert run.rc == 0, run.text[-3000:]
    assert login_results(run)['h1']['result']['results'][0]['files'][0]['stored_in'] == {'us.icr.io': 'file'}
    assert 'auth' in config(tmp_path, 'h1')['auths']['us.icr.io']


@pytest.mark.parametrize('setting', ['ca_path', 'validate_certs-false', 'neither'])
def test_ca_path_and_validate_certs_reach_icr_credential(tls_emu, tmp_path, setting):
    tls_emu.reset()
    role_vars = {'docker_auth_registries': [emu_host(tls_emu)], 'docker_auth_iam_endpoint': tls_emu.url,
                 'docker_auth_username_type': 'iambearer'}
    if setting == 'ca_path':
        role_vars['docker_auth_ca_path'] = tls_emu.ca_pem
    elif setting == 'validate_certs-false':
        role_vars['docker_auth_validate_certs'] = False
    run = play(tmp_path, tls_emu.apikey('svc-reader'), role_vars, hosts=('h1',))
    if setting == 'neither':
        assert run.rc != 0 and 'TLS verification of IBM Cloud IAM' in run.text, run.text[-3000:]
    else:
        assert run.rc == 0, run.text[-3000:]
        assert tls_emu.counters()['iam_token'] == 1
        assert config(tmp_path, 'h1')['auths'][emu_host(tls_emu)]['auth']


def test_cache_dir_reaches_icr_credential(emu, tmp_path):
    cache_dir = tmp_path / 'chosen-cache'
    run = play(tmp_path, emu.apikey('svc-reader'), {'docker_auth_registries': [emu_host(emu)],
                                                    'docker_auth_iam_endpoint': emu.url,
                                                    'docker_auth_cache_dir': str(cache_dir)}, hosts=('h1',))
    assert run.rc == 0, run.text[-3000:]
    assert len(list(cache_dir.iterdir())) == 1
    assert not (tmp_path / 'cache' / 'icr.auth').exists()  # not the default (XDG_CACHE_HOME of the run)


def test_min_validity_reaches_icr_login(emu, tmp_path):
    """Tokens live 3600 s. With min_validity 3700 the stored token is never good enough: each run replaces it.

    (icr_credential gets a fresh token each run, its cache never being good enough either; icr_login then keeps the
    stored token only if it ignores min_validity, its own default being 600.)
    """
    key = emu.apikey('svc-reader')
    role_vars = {'docker_auth_registries': [emu_host(emu)], 'docker_auth_iam_endpoint': emu.url,
                 'docker_auth_username_type': 'iambearer', 'docker_auth_min_validity': 3700}
    first = play(tmp_path, key, role_vars, hosts=('h1',))
    assert first.rc == 0, first.text[-3000:]
    stored = config(tmp_path, 'h1')['auths'][emu_host(emu)]['auth']
    second = play(tmp_path, key, role_vars, hosts=('h1',))
    assert second.rc == 0, second.text[-3000:]
    assert iam_calls(emu) == 2
    assert login_results(second)['h1']['result']['changed'] is True
    assert config(tmp_path, 'h1')['auths'][emu_host(emu)]['auth'] != stored
    # Control: with the default min_validity (900) the same rerun keeps the file.
    role_vars.pop('docker_auth_min_validity')
    third = play(tmp_path / 'default', key, role_vars, hosts=('h1',))
    fourth = play(tmp_path / 'default', key, role_vars, hosts=('h1',))
    assert third.rc == 0 and fourth.rc == 0 and login_results(fourth)['h1']['result']['changed'] is False


def test_role_results_hold_no_key(emu, tmp_path):
    key = emu.apikey('svc-reader')
    run = play(tmp_path, key, {'docker_auth_registries': [emu_host(emu)], 'docker_auth_iam_endpoint': emu.url},
               hosts=('h1',), args=['-vvv', '--diff'])
    assert run.rc == 0, run.text[-3000:]
    assert_no_secret([key], run.text)
    assert pathlib.Path(tmp_path / 'h1' / 'config.json').exists()


def credential_payloads_sent(run):
    return [line for line in run.stdout.splitlines() if 'PUT ' in line and 'AnsiballZ_icr_credential' in line]


@pytest.mark.parametrize('environment', [None, {'ICR_AUTH_TEST': '1'}], ids=['in-process', 'module'])
def test_the_controller_task_gets_the_key_in_process_or_as_a_no_log_module(emu, tmp_path, environment):
    """The role's controller task runs icr_credential's code in its worker; where it cannot (here the environment
    keyword), it runs the module, as a no_log task (else icr_credential would hold back the key): the play ends alike,
    one exchange and the key on every host, and shows no key even at -vvv (the environment comes from include_role's
    apply, as a play's or a block's would)."""
    key = emu.apikey('svc-reader')
    run = play(tmp_path, key, {'docker_auth_registries': [emu_host(emu)], 'docker_auth_iam_endpoint': emu.url},
               hosts=('h1', 'h2'), args=['-vvv'], task_keywords={'environment': environment} if environment else None)
    assert run.rc == 0, run.text[-3000:]
    assert len(credential_payloads_sent(run)) == (1 if environment else 0), run.text[-3000:]
    assert iam_calls(emu) == 1, emu.counters()
    for host in ('h1', 'h2'):
        auth = config(tmp_path, host)['auths'][emu_host(emu)]['auth']
        assert base64.b64decode(auth).decode() == 'iamapikey:' + key
    assert_no_secret([key], run.text)


def test_validate_false_proves_nothing(emu, tmp_path):
    """iambearer needs the exchange, but docker_auth_validate false must not prove the credential: nothing listens on
    the registry given (loopback port 9), and the play still succeeds."""
    run = play(tmp_path, emu.apikey('svc-reader'), {'docker_auth_registries': ['127.0.0.1:9'], 'docker_auth_validate': False,
                                                    'docker_auth_username_type': 'iambearer',
                                                    'docker_auth_iam_endpoint': emu.url}, hosts=('h1',))
    assert run.rc == 0, run.text[-3000:]
    assert iam_calls(emu) == 1 and emu.counters()['registry_v2'] == 0
    assert config(tmp_path, 'h1')['auths']['127.0.0.1:9']['auth']


def test_verify_access_reaches_icr_credential(emu, tmp_path):
    """svc-reader may pull team-a, not team-b: asking for team-b must stop the play before any host is touched."""
    role_vars = {'docker_auth_registries': [emu_host(emu)], 'docker_auth_iam_endpoint': emu.url}
    run = play(tmp_path, emu.apikey('svc-reader'), dict(role_vars, docker_auth_verify_access=['team-b/app:pull']),
               hosts=('h1',))
    assert run.rc != 0 and 'do not grant pull on team-b/app' in run.text, run.text[-3000:]
    assert not (tmp_path / 'h1' / 'config.json').exists()
    ok = play(tmp_path / 'ok', emu.apikey('svc-reader'), dict(role_vars, docker_auth_verify_access=['team-a/app:pull']),
              hosts=('h1',))
    assert ok.rc == 0, ok.text[-3000:]


def test_format_and_state_reach_icr_login(tmp_path):
    key = 'RoleOptionKey0123456789abcdefghijklmnopqr'
    role_vars = {'docker_auth_regions': ['us-south'], 'docker_auth_validate': False, 'docker_auth_format': 'containers'}
    run = play(tmp_path, key, role_vars, hosts=('h1',))
    assert run.rc == 0, run.text[-3000:]
    assert login_results(run)['h1']['result']['results'][0]['files'][0]['format'] == 'containers'
    assert 'us.icr.io' in config(tmp_path, 'h1')['auths']
    gone = play(tmp_path, key, dict(role_vars, docker_auth_state='absent'), hosts=('h1',))
    assert gone.rc == 0, gone.text[-3000:]
    assert login_results(gone)['h1']['result']['results'][0]['registries'] == {'us.icr.io': 'removed'}
    assert 'us.icr.io' not in config(tmp_path, 'h1').get('auths', {})


# ------------------------------------------------------------------------------- the helper method (issue 13)

INSTALL = 'Install and configure docker-credential-icr'
UNINSTALL = "Remove docker-credential-icr, its configuration and the users' token caches"
PROFILE_ID = 'Profile-0d4f58e5-2b1c-4a2e-9f5d-3c8e7a1b6f20'
HELPER_HOST_VARS = {'docker_auth_helper_path': '%s/{host}/bin/docker-credential-icr',
                    'docker_auth_helper_config_path': '%s/{host}/etc/icr-auth/credential-helper.json'}


def helper_play(tmp_path, role_vars, key='', hosts=('h1',), **per_host):
    """The role in helper mode; the executable and its configuration in the test's directory (per host).

    A play that runs the helper (docker_auth_helper_check) or removes it (docker_auth_state absent) acts on the users'
    token caches, root's when no users are named: such a test sets docker_auth_helper_cache_dir under its tmp_path.
    """
    host_vars = dict((k, v % tmp_path) for k, v in HELPER_HOST_VARS.items())
    host_vars.update(per_host)
    return play(tmp_path, key, dict({'docker_auth_method': 'helper'}, **role_vars), hosts=hosts, **host_vars)


def helper_config(tmp_path, host):
    return json.loads((tmp_path / host / 'etc' / 'icr-auth' / 'credential-helper.json').read_text())


def expected_config(**keys):
    """The configuration the helper reads for these keys: the helper's defaults for every other key."""
    from ansible_collections.icr.auth.plugins.module_utils._helper_config import validate
    return validate(dict({'version': 1}, **keys))


def task_results(run, task):
    return dict((r['host'], r['result']) for r in run.records if r['task'].endswith(task))


def test_helper_method_variables_reach_the_helper_and_icr_login(tmp_path):
    role_vars = {'docker_auth_regions': ['us-south', 'global'], 'docker_auth_registries': ['registry.example.com:5000'],
                 'docker_auth_trusted_profile': PROFILE_ID, 'docker_auth_metadata_endpoint': 'http://127.0.0.1:9',
                 'docker_auth_metadata_version': '2022-03-01', 'docker_auth_iam_endpoint': 'private',
                 'docker_auth_helper_ca_path': '/etc/ssl/certs/ca-certificates.crt', 'docker_auth_validate_certs': False,
                 'docker_auth_format': 'both'}
    run = helper_play(tmp_path, role_vars, hosts=HOSTS,
                      docker_auth_config_path='', docker_auth_users='[]')
    assert run.rc == 0, run.text[-3000:]
    for host in HOSTS:
        exe = tmp_path / host / 'bin' / 'docker-credential-icr'
        assert exe.read_bytes().startswith(b'#!') and os.stat(str(exe)).st_mode & 0o777 == 0o755
        assert helper_config(tmp_path, host) == expected_config(
            identity='vpc_trusted_profile', trusted_profile_id=PROFILE_ID,
            registries=['us.icr.io', 'icr.io', 'registry.example.com:5000'], metadata_endpoint='http://127.0.0.1:9',
            metadata_version='2022-03-01', iam_endpoint='private',
            ca_path='/etc/ssl/certs/ca-certificates.crt', validate_certs=False)
    docker = json.loads((tmp_path / 'default-docker' / 'config.json').read_text())
    containers = json.loads((tmp_path / 'default-containers' / 'auth.json').read_text())
    for data in (docker, containers):
        assert data['credHelpers'] == {'us.icr.io': 'icr', 'icr.io': 'icr', 'registry.example.com:5000': 'icr'}
        assert not data.get('auths') and 'credsStore' not in data
    # No API key was given at all, and no IAM endpoint could be reached ('private'): the controller exchanged nothing.
    again = helper_play(tmp_path, role_vars, hosts=HOSTS, docker_auth_config_path='', docker_auth_users='[]')
    assert again.rc == 0, again.text[-3000:]
    assert [(r['host'], r['task']) for r in again.records if r['result'].get('changed')] == []


@pytest.mark.parametrize('identity, role_vars, expected', [
    ('compute_resource', {'docker_auth_profile_name': 'registry-reader', 'docker_auth_cr_token_file': '/run/cr-token'},
     {'profile_name': 'registry-reader', 'cr_token_file': '/run/cr-token'}),
    ('compute_resource', {'docker_auth_profile_id': PROFILE_ID}, {'profile_id': PROFILE_ID}),
    ('vpc_trusted_profile',
     {'docker_auth_trusted_profile': 'crn:v1:bluemix:public:iam-identity::a/0123456789abcdef::profile:' + PROFILE_ID},
     {'trusted_profile_crn': 'crn:v1:bluemix:public:iam-identity::a/0123456789abcdef::profile:' + PROFILE_ID}),
    ('vpc_trusted_profile', {}, {}),
], ids=['cr-name', 'cr-id', 'vpc-crn', 'vpc-default'])
def test_helper_identity_variables_reach_the_configuration(tmp_path, identity, role_vars, expected):
    run = helper_play(tmp_path, dict({'docker_auth_regions': ['us-south'], 'docker_auth_identity': identity}, **role_vars))
    assert run.rc == 0, run.text[-3000:]
    assert helper_config(tmp_path, 'h1') == expected_config(identity=identity, registries=['us.icr.io'], **expected)


def test_helper_api_key_file_identity_places_the_key_and_never_shows_it(tmp_path):
    key = 'RoleHelperKeyFile0123456789abcdefghijklmnop'
    key_file = tmp_path / 'h1' / 'keys' / 'apikey'
    role_vars = {'docker_auth_regions': ['us-south'], 'docker_auth_identity': 'api_key_file',
                 'docker_auth_api_key_file': str(key_file), 'docker_auth_users': ['root']}
    run = helper_play(tmp_path, role_vars, key=key)
    assert run.rc == 0, run.text[-3000:]
    assert key_file.read_text() == key and os.stat(str(key_file)).st_mode & 0o777 == 0o600
    assert os.stat(str(key_file.parent)).st_mode & 0o777 == 0o700
    assert helper_config(tmp_path, 'h1')['api_key_file'] == str(key_file)
    assert key not in (tmp_path / 'h1' / 'config.json').read_text()
    assert_no_secret([key], run.text)
    again = helper_play(tmp_path, role_vars, key=key, args=['--diff', '-vvv'])
    assert again.rc == 0 and not task_results(again, INSTALL)['h1']['changed'], again.text[-3000:]
    assert_no_secret([key], again.text)


def test_switching_a_host_between_the_methods_leaves_no_stale_entry(tmp_path):
    key = 'RoleSwitchKey0123456789abcdefghijklmnopqr'
    file_vars = {'docker_auth_regions': ['us-south', 'global'], 'docker_auth_validate': False}
    first = play(tmp_path, key, file_vars, hosts=('h1',))
    assert first.rc == 0, first.text[-3000:]
    assert sorted(config(tmp_path, 'h1')['auths']) == ['icr.io', 'us.icr.io']
    helper = helper_play(tmp_path, {'docker_auth_regions': ['us-south', 'global']})
    assert helper.rc == 0, helper.text[-3000:]
    data = config(tmp_path, 'h1')
    assert data == {'auths': {}, 'credHelpers': {'us.icr.io': 'icr', 'icr.io': 'icr'}}
    assert key not in json.dumps(data)
    back = play(tmp_path, key, file_vars, hosts=('h1',))
    assert back.rc == 0, back.text[-3000:]
    data = config(tmp_path, 'h1')
    assert 'credHelpers' not in data and sorted(data['auths']) == ['icr.io', 'us.icr.io']


def test_helper_absent_removes_the_entries_the_executable_and_the_configuration(tmp_path):
    # state absent removes the users' token caches (no users named: root's): the test's own, never root's real one.
    cache = tmp_path / 'helper-cache'
    role_vars = {'docker_auth_regions': ['us-south'], 'docker_auth_helper_cache_dir': str(cache)}
    run = helper_play(tmp_path, role_vars)
    assert run.rc == 0, run.text[-3000:]
    cache.mkdir()
    (cache / 'vpc_trusted_profile-entry.json').write_text('{}')  # as a token the helper kept
    gone = helper_play(tmp_path, dict(role_vars, docker_auth_state='absent'))
    assert gone.rc == 0, gone.text[-3000:]
    assert task_results(gone, UNINSTALL)['h1']['changed']
    assert task_results(gone, UNINSTALL)['h1']['caches_removed'] == [str(cache)] and not cache.exists()
    assert not (tmp_path / 'h1' / 'bin' / 'docker-credential-icr').exists()
    assert not (tmp_path / 'h1' / 'etc' / 'icr-auth' / 'credential-helper.json').exists()
    assert 'credHelpers' not in config(tmp_path, 'h1')
    again = helper_play(tmp_path, dict(role_vars, docker_auth_state='absent'))
    assert again.rc == 0 and [r['task'] for r in again.records if r['result'].get('changed')] == [], again.text[-3000:]


# -------------------------------------------------------------------------------------- the trusted-profile login

PROFILE_READER = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'   # the emulator's profile-reader; trusts svc-nopolicy


def test_trusted_profile_reaches_icr_credential_and_icr_login(emu, tmp_path):
    """username_type trusted_profile: the hosts store the profile id and the service ID's key, proven at the realm as
    the profile (svc-nopolicy has no access of its own; profile-reader pulls team-a). One IAM call for two hosts (the
    key's identity, looked up once with the proof)."""
    key = emu.apikey('svc-nopolicy')
    emu_host = emu.url.split('://', 1)[1]
    role_vars = {'docker_auth_registries': [emu_host], 'docker_auth_username_type': 'trusted_profile',
                 'docker_auth_trusted_profile': PROFILE_READER, 'docker_auth_iam_endpoint': emu.url,
                 'docker_auth_verify_access': ['team-a/app:pull']}
    run = play(tmp_path, key, role_vars, hosts=('h1', 'h2'))
    assert run.rc == 0, run.text[-3000:]
    for host in ('h1', 'h2'):
        auth = config(tmp_path, host)['auths'][emu_host]['auth']
        assert base64.b64decode(auth).decode() == '%s:%s' % (PROFILE_READER, key)
    assert emu.counters()['iam_token'] == 1 and emu.counters()['registry_token_profile'] >= 1
    assert_no_secret([key], run.stdout, run.stderr)
    # A profile that does not trust the key stops the play on the controller; no host file changes.
    before = file_state(tmp_path, ('h1', 'h2'))
    refused = play(tmp_path, emu.apikey('svc-reader'), role_vars, hosts=('h1', 'h2'))
    assert refused.rc != 0 and 'trusted profile %s' % PROFILE_READER in refused.text, refused.text[-3000:]
    assert file_state(tmp_path, ('h1', 'h2')) == before


def test_trusted_profile_login_needs_the_profile_id(tmp_path):
    run = play(tmp_path, 'RoleOptionKey0123456789abcdefghijklmnopqr',
               {'docker_auth_regions': ['us-south'], 'docker_auth_username_type': 'trusted_profile',
                'docker_auth_validate': False}, hosts=('h1',))
    assert run.rc != 0 and 'docker_auth_trusted_profile: docker_auth_username_type trusted_profile' in run.text
    assert not (tmp_path / 'h1' / 'config.json').exists()


# ------------------------------------------------- the helper method: the variables no test above reaches (issue 18)


def test_helper_cache_dir_reaches_the_configuration(tmp_path):
    """docker_auth_helper_cache_dir is where the helper keeps each user's tokens: it is written into its configuration."""
    cache_dir = str(tmp_path / 'h1' / 'token-caches')
    run = helper_play(tmp_path, {'docker_auth_regions': ['us-south'], 'docker_auth_helper_cache_dir': cache_dir})
    assert run.rc == 0, run.text[-3000:]
    assert helper_config(tmp_path, 'h1') == expected_config(identity='vpc_trusted_profile', registries=['us.icr.io'],
                                                            cache_dir=cache_dir)


def test_helper_check_runs_the_helper_before_a_users_file_names_it(tmp_path):
    """docker_auth_helper_check: the helper is run for each registry; with no metadata service to answer it (a closed
    loopback port), the check reports the failure. Without the check the same play succeeds and checks nothing."""
    # The check runs the helper as root: its token cache in the test's directory, never in root's own home.
    cache = tmp_path / 'helper-cache'
    role_vars = {'docker_auth_regions': ['us-south'], 'docker_auth_metadata_endpoint': 'http://127.0.0.1:9',
                 'docker_auth_helper_cache_dir': str(cache)}
    unchecked = helper_play(tmp_path / 'unchecked', role_vars)
    assert unchecked.rc == 0, unchecked.text[-3000:]
    assert 'checks' not in task_results(unchecked, INSTALL)['h1']
    checked = helper_play(tmp_path / 'checked', dict(role_vars, docker_auth_helper_check=True))
    result = task_results(checked, INSTALL)['h1']
    assert [(c['registry'], c['ok']) for c in result.get('checks', [])] == [('us.icr.io', False)], checked.text[-3000:]
    assert checked.rc != 0
    # The check's helper ran with that cache_dir: its lock (no token: the metadata service never answered) is there.
    assert [p.suffix for p in cache.glob('vpc_trusted_profile-*')] == ['.lock'], sorted(os.listdir(str(cache)))
    assert not (tmp_path / 'checked' / 'h1' / 'config.json').exists() or \
        'credHelpers' not in config(tmp_path / 'checked', 'h1')


def test_namespaces_reach_icr_login(tmp_path):
    """docker_auth_namespaces: the hosts' credential is written for those namespaces only, not for the whole host."""
    key = 'RoleNamespaceKey0123456789abcdefghijklmno'
    run = play(tmp_path, key, {'docker_auth_regions': ['us-south'], 'docker_auth_namespaces': ['web'],
                               'docker_auth_format': 'containers', 'docker_auth_validate': False}, hosts=('h1',))
    assert run.rc == 0, run.text[-3000:]
    auths = config(tmp_path, 'h1')['auths']
    assert sorted(auths) == ['us.icr.io/web']
    assert base64.b64decode(auths['us.icr.io/web']['auth']).decode() == 'iamapikey:' + key
    assert_no_secret([key], run.stdout, run.stderr)
