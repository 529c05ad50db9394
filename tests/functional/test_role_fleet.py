# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role icr.auth.docker_auth on a fleet over real SSH.

Five local users are five inventory hosts behind a test-owned sshd on loopback (icr_infra.SshFleet); IAM and the ICR
token realm are the emulator (in this process, on loopback); the registry is a real CNCF distribution registry that
trusts the emulator's tokens. The playbook is playbooks/demo.yml, run by the ansible-playbook of this Python's venv.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pathlib
import pwd
import re
import shutil
import stat
import subprocess
import sys

import pytest
import yaml

from emu_fixture import iam_calls, module_emu as emulator  # noqa: F401  pylint: disable=unused-import
from icr_infra import Registry, SshFleet, skopeo_push, write_auth_file, write_oci_layout

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
PLAYBOOK = REPO / 'playbooks' / 'demo.yml'
LOGOUT_PLAYBOOK = REPO / 'playbooks' / 'icr_logout.yml'
BIN = pathlib.Path(sys.executable).parent
N_USERS = 5
IMAGE = 'team-a/hello:v1'
ROLE_DIR = REPO / 'roles' / 'docker_auth'
LOGIN_TASK = 'TASK [icr.auth.docker_auth : Write the registry credential for each user]'
RECAP_LINE = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)'
                        r'\s+rescued=(\d+)\s+ignored=(\d+)\s*$', re.M)
RECAP_FIELDS = ('ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored')
# Variables of the developer's shell that would change what the runs do.
FOREIGN_ENV = ('IBMCLOUD_API_KEY', 'IC_API_KEY', 'IBMCLOUD_IAM_ENDPOINT', 'DOCKER_CONFIG', 'REGISTRY_AUTH_FILE',
               'XDG_CACHE_HOME', 'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy')


# ----------------------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope='module')
def registry(emulator):
    info = emulator.info()
    with Registry(info['realm'], info['registry_issuer'], info['registry_cert'], service=info['registry_service']) as reg:
        yield reg


@pytest.fixture(scope='module')
def image(emulator, registry, tmp_path_factory):
    """A one-layer image pushed as the writer service ID; returns (reference, manifest digest)."""
    base = tmp_path_factory.mktemp('image')
    layout = str(base / 'layout')
    digest = write_oci_layout(layout, 'v1', content=b'pushed for the docker_auth fleet test\n')
    writer = write_auth_file(str(base / 'writer.json'), {registry.host: ('iamapikey', emulator.apikey('svc-writer'))})
    ref = '%s/%s' % (registry.host, IMAGE)
    pushed = skopeo_push(layout, 'v1', ref, authfile=writer)
    assert pushed.rc == 0, pushed.output
    return ref, digest


@pytest.fixture(scope='module')
def fleet():
    started = SshFleet(N_USERS, prefix='icrrole', unreachable=True)
    with started:
        created = list(started.created_users)
        yield started
    # Leave the machine's users as they were: delete only the users this run created.
    for user in created:
        subprocess.run(['userdel', '--remove', '--force', user], capture_output=True, check=False)


class Run(object):
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.recap = dict((m.group(1), dict(zip(RECAP_FIELDS, (int(v) for v in m.groups()[1:]))))
                          for m in RECAP_LINE.finditer(self.stdout))

    @property
    def text(self):
        return self.stdout + self.stderr

    def changed(self):
        return dict((host, counts['changed']) for host, counts in self.recap.items())

    def tail(self):
        return 'rc=%s\n--- stdout\n%s\n--- stderr\n%s' % (self.rc, self.stdout[-6000:], self.stderr[-3000:])


class RoleRunner(object):
    """ansible-playbook with the role against the fleet; secrets only ever in the environment."""

    def __init__(self, fleet, emulator, registry, collections_dir, tmp_path):
        self.fleet = fleet
        self.emulator = emulator
        self.tmp = tmp_path
        self.collections_dir = collections_dir
        self.api_key = emulator.apikey('svc-reader')
        self.vars = {
            'docker_auth_iam_endpoint': emulator.url,
            'docker_auth_registries': [registry.host],
            # A controller cache of this test only: no test sees another's cached token.
            'docker_auth_cache_dir': str(tmp_path / 'controller-cache'),
        }
        self.count = 0

    def run(self, *args, playbook=PLAYBOOK, limit='fleet', inventory=None, api_key='default', **role_vars):
        self.count += 1
        variables = dict(self.vars)
        variables.update(role_vars)
        vars_file = self.tmp / ('vars-%d.json' % self.count)
        vars_file.write_text(json.dumps(variables))
        env = dict((k, v) for k, v in os.environ.items() if k not in FOREIGN_ENV and not k.startswith('ANSIBLE_'))
        env.update(self.fleet.env)
        env.update({
            'ANSIBLE_COLLECTIONS_PATH': self.collections_dir,
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'XDG_CACHE_HOME': str(self.tmp / 'xdg-cache'),
        })
        key = self.api_key if api_key == 'default' else api_key
        if key is not None:
            env['IBMCLOUD_API_KEY'] = key
        cmd = [str(BIN / 'ansible-playbook'), '-i', inventory or self.fleet.inventory_path, str(playbook),
               '-e', '@' + str(vars_file)]
        if limit:
            cmd += ['--limit', limit]
        cmd += list(args)
        proc = subprocess.run(cmd, env=env, cwd=self.fleet.dir, capture_output=True, text=True, timeout=900, check=False)
        return Run(proc)


@pytest.fixture()
def role(fleet, emulator, registry, collections_dir, tmp_path):
    """A fresh fleet (no user has a registry file), fresh emulator counters and keys, a private controller cache."""
    for user in fleet.users:
        home = pathlib.Path(fleet.home_of(user))
        for sub in ('.docker', '.config/containers'):
            shutil.rmtree(str(home / sub), ignore_errors=True)
    emulator.reset()
    emulator.set_lifetimes(access_token_lifetime=3600, refresh_token_lifetime=259200, registry_token_lifetime=300)
    return RoleRunner(fleet, emulator, registry, collections_dir, tmp_path)


# ------------------------------------------------------------------------------------------------------------ helpers

def docker_config(user):
    return pathlib.Path(pwd.getpwnam(user).pw_dir) / '.docker' / 'config.json'


def stored_secret(user, host):
    entry = json.loads(docker_config(user).read_text())['auths'][host]
    username, _sep, secret = base64.b64decode(entry['auth']).decode('utf-8').partition(':')
    return username, secret, entry['auth']


def assert_private_file(user, path=None):
    entry = pwd.getpwnam(user)
    path = path or docker_config(user)
    info = os.stat(str(path))
    parent = os.stat(str(path.parent))
    assert (info.st_uid, info.st_gid) == (entry.pw_uid, entry.pw_gid), path
    assert stat.S_IMODE(info.st_mode) == 0o600, oct(info.st_mode)
    assert parent.st_uid == entry.pw_uid and stat.S_IMODE(parent.st_mode) == 0o700, oct(parent.st_mode)


def skopeo_as(user, ref, *extra):
    """skopeo inspect run AS the user, with a bare environment: only the user's own files can authenticate it."""
    home = pwd.getpwnam(user).pw_dir
    argv = ['runuser', '-u', user, '--', 'env', '-i', 'HOME=' + home, 'USER=' + user, 'LOGNAME=' + user,
            'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'skopeo', 'inspect', '--raw', '--retry-times=0', '--tls-verify=false']
    argv += list(extra) + ['docker://' + ref]
    return subprocess.run(argv, capture_output=True, timeout=120, check=False, cwd='/')


def file_state(users):
    return dict((u, (os.stat(str(docker_config(u))).st_ino, os.stat(str(docker_config(u))).st_mtime_ns)) for u in users)


# -------------------------------------------------------------------------------------------------------------- tests

@pytest.mark.needs_root
@pytest.mark.slow
def test_fleet_login_one_iam_call_then_rerun_changes_nothing(role, fleet, emulator, registry, image):
    ref, digest = image
    before = iam_calls(emulator)
    first = role.run(docker_auth_username_type='iambearer', docker_auth_verify_access=['team-a/hello:pull'])
    assert first.rc == 0, first.tail()
    assert first.changed() == dict((u, 1) for u in fleet.users), first.tail()
    assert iam_calls(emulator) - before == 1, emulator.counters()

    for user in fleet.users:
        assert_private_file(user)
        username, secret, _auth = stored_secret(user, registry.host)
        assert username == 'iambearer' and secret.count('.') == 2
        pulled = skopeo_as(user, ref)
        assert pulled.returncode == 0, pulled.stderr.decode()
        assert 'sha256:' + hashlib.sha256(pulled.stdout).hexdigest() == digest
        # Control: the registry refuses the same request without the user's file.
        refused = skopeo_as(user, ref, '--no-creds')
        assert refused.returncode != 0 and b'unauthorized' in refused.stderr.lower(), refused.stderr.decode()

    files = file_state(fleet.users)
    before = iam_calls(emulator)
    second = role.run(docker_auth_username_type='iambearer', docker_auth_verify_access=['team-a/hello:pull'])
    assert second.rc == 0, second.tail()
    assert second.changed() == dict((u, 0) for u in fleet.users), second.tail()
    assert iam_calls(emulator) - before == 0, emulator.counters()
    assert file_state(fleet.users) == files  # not rewritten either


@pytest.mark.needs_root
@pytest.mark.slow
def test_unreachable_host_fails_alone(role, fleet, registry, image):
    ref, _digest = image
    result = role.run(limit=None)
    assert result.rc == 4, result.tail()
    assert result.recap['icr-unreachable']['unreachable'] == 1, result.tail()
    for user in fleet.users:
        assert result.recap[user]['changed'] == 1 and result.recap[user]['failed'] == 0, result.tail()
        assert result.recap[user]['unreachable'] == 0
        assert_private_file(user)
        assert stored_secret(user, registry.host)[0] == 'iamapikey'
        assert skopeo_as(user, ref).returncode == 0


@pytest.mark.needs_root
@pytest.mark.slow
def test_check_mode_changes_no_file_then_four_ways(role, fleet):
    check = role.run('--check', '--diff', docker_auth_username_type='iambearer')
    assert check.rc == 0, check.tail()
    assert check.changed() == dict((u, 1) for u in fleet.users), check.tail()
    assert check.stdout.count('+++ after: ') == N_USERS
    for user in fleet.users:
        home = pathlib.Path(pwd.getpwnam(user).pw_dir)
        assert not (home / '.docker').exists() and not (home / '.config' / 'containers').exists()

    real = role.run(docker_auth_username_type='iambearer')
    assert real.changed() == dict((u, 1) for u in fleet.users), real.tail()
    again = role.run(docker_auth_username_type='iambearer')
    assert again.changed() == dict((u, 0) for u in fleet.users), again.tail()
    again_check = role.run('--check', '--diff', docker_auth_username_type='iambearer')
    assert again_check.rc == 0 and again_check.changed() == dict((u, 0) for u in fleet.users), again_check.tail()


@pytest.mark.needs_root
@pytest.mark.slow
@pytest.mark.parametrize('kind', ['iamapikey', 'iambearer'])
def test_vvvv_and_diff_show_no_secret(role, fleet, registry, kind):
    runs = [role.run('-vvvv', '--diff', docker_auth_username_type=kind)]
    assert runs[0].rc == 0, runs[0].tail()
    runs.append(role.run('-vvvv', '--diff', docker_auth_username_type=kind))
    assert runs[1].rc == 0 and runs[1].changed() == dict((u, 0) for u in fleet.users), runs[1].tail()
    assert '+++ after: ' in runs[0].stdout  # the diff is there, with its fingerprints
    secrets = {role.api_key}
    for user in fleet.users:
        _username, secret, auth = stored_secret(user, registry.host)
        secrets.update((secret, auth))
        if kind == 'iambearer':
            secrets.update(secret.split('.')[1:])  # the claims and the signature, each on its own
    for run in runs:
        for secret in secrets:
            assert secret not in run.stdout and secret not in run.stderr, 'a secret in the -vvvv output'


REFUSALS = {
    'no-api-key': (dict(api_key=None), 'docker_auth_api_key is empty'),
    'unknown-region': (dict(docker_auth_regions=['us-west-9']), "regions: unknown region 'us-west-9'"),
    'key-iam-refuses': (dict(api_key='svc-deleted'), 'BXNIM0415E'),
    'key-without-policy': (dict(api_key='svc-nopolicy', docker_auth_verify_access=['team-a/hello:pull']),
                           'do not grant pull on team-a/hello'),
    'key-registry-refuses': (dict(fault='registry_token'), 'refused the iamapikey credential'),
}


@pytest.mark.needs_root
@pytest.mark.slow
@pytest.mark.parametrize('case', sorted(REFUSALS))
def test_refused_before_any_host_is_touched(role, fleet, emulator, case):
    options, expected = REFUSALS[case]
    options = dict(options)
    if options.get('api_key'):
        options['api_key'] = emulator.apikey(options['api_key'])
    if options.pop('fault', None):
        emulator.inject_fault('registry_token', status=401, count=1)
    result = role.run(**options)
    assert result.rc == 2, result.tail()
    assert expected in ' '.join(result.stdout.split()), result.tail()
    assert LOGIN_TASK not in result.stdout, result.tail()
    assert all(c == 0 for c in result.changed().values()), result.tail()
    for user in fleet.users:
        assert not docker_config(user).exists()


@pytest.mark.needs_root
@pytest.mark.slow
def test_iamapikey_without_validation_calls_nothing_from_the_controller(role, fleet, emulator, registry, image):
    ref, _digest = image
    result = role.run(docker_auth_validate=False)
    assert result.rc == 0 and result.changed() == dict((u, 1) for u in fleet.users), result.tail()
    calls = emulator.counters()
    assert calls['iam_token'] == 0 and calls['registry_token'] == 0, calls
    assert "Check the role's variables and get the registry credential" in result.stdout  # the task ran, no exchange
    for user in fleet.users:
        assert stored_secret(user, registry.host)[:2] == ('iamapikey', role.api_key)
        assert skopeo_as(user, ref).returncode == 0


@pytest.mark.needs_root
@pytest.mark.slow
def test_short_lived_token_warns(role, fleet, emulator):
    emulator.set_lifetimes(access_token_lifetime=600, outside_ibm_limits=True)
    result = role.run(limit=fleet.users[0], docker_auth_username_type='iambearer', docker_auth_min_validity=900)
    assert result.rc == 0, result.tail()
    assert 'less than min_validity (900)' in ' '.join(result.text.split()), result.tail()


@pytest.mark.needs_root
@pytest.mark.slow
def test_users_listed_are_written_by_root_on_one_host(role, fleet, registry, image, tmp_path):
    ref, _digest = image
    inventory = tmp_path / 'local.ini'
    # /usr/bin/python3 without requests: icr_login needs only the standard library on a host.
    inventory.write_text('[local]\nthis-host ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n')
    first = role.run(inventory=str(inventory), limit=None, docker_auth_users=fleet.users, docker_auth_format='both')
    assert first.rc == 0, first.tail()
    assert first.changed() == {'this-host': 1}
    for user in fleet.users:
        assert_private_file(user)
        containers = pathlib.Path(pwd.getpwnam(user).pw_dir) / '.config' / 'containers' / 'auth.json'
        assert_private_file(user, containers)
        assert skopeo_as(user, ref).returncode == 0
    second = role.run(inventory=str(inventory), limit=None, docker_auth_users=fleet.users, docker_auth_format='both')
    assert second.rc == 0 and second.changed() == {'this-host': 0}, second.tail()


@pytest.mark.needs_root
@pytest.mark.slow
def test_logout_removes_the_entries_then_changes_nothing(role, fleet, registry):
    login = role.run()
    assert login.rc == 0, login.tail()
    logout = role.run(playbook=LOGOUT_PLAYBOOK, api_key=None)
    assert logout.rc == 0 and logout.changed() == dict((u, 1) for u in fleet.users), logout.tail()
    for user in fleet.users:
        assert registry.host not in json.loads(docker_config(user).read_text()).get('auths', {})
    again = role.run(playbook=LOGOUT_PLAYBOOK, api_key=None)
    assert again.rc == 0 and again.changed() == dict((u, 0) for u in fleet.users), again.tail()


def test_argument_specs_and_defaults_agree():
    """Every variable is documented in meta/argument_specs.yml, with the default that defaults/main.yml gives it."""
    defaults = yaml.safe_load((ROLE_DIR / 'defaults' / 'main.yml').read_text())
    options = yaml.safe_load((ROLE_DIR / 'meta' / 'argument_specs.yml').read_text())['argument_specs']['main']['options']
    assert sorted(defaults) == sorted(options)
    for name, spec in options.items():
        assert name.startswith('docker_auth_'), name
        assert spec.get('description') and spec.get('type'), name
        assert 'default' in spec and spec['default'] == defaults[name], name
        if 'choices' in spec:
            assert spec['default'] in spec['choices'], name
        if spec['type'] == 'list':
            assert spec.get('elements'), name
    internal = yaml.safe_load((ROLE_DIR / 'vars' / 'main.yml').read_text())
    assert all(name.startswith('__docker_auth_') for name in internal), sorted(internal)
    # The list the role tells unknown variables by is the spec's, so no valid variable is ever called unknown.
    assert sorted(internal['__docker_auth_variables']) == sorted(options)
    # ansible-core prints the spec's defaults when validation fails: none may be a template (a lookup of the key).
    assert not [name for name, spec in options.items() if '{{' in str(spec.get('default'))]
    tasks = yaml.safe_load((ROLE_DIR / 'tasks' / 'main.yml').read_text())
    for task in tasks:
        assert task.get('name'), task
        module = [k for k in task if '.' in k]
        assert len(module) == 1 and module[0].startswith(('ansible.builtin.', 'icr.auth.')), task
