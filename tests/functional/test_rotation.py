# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""playbooks/rotate_api_key.yml: a key rotation on a fleet of two inventory hosts and two local users, against the
emulator's Identity and Policy APIs and a real distribution registry, while real skopeo pulls run in a loop as both
users.

From an empty service ID: the first run creates it (icr_service_id), the playbook creates the first key and rolls it
out; then rotations, one of them killed (SIGKILL of ansible-playbook) as each step starts in turn. After every kill,
both users still pull; a rerun finishes the rotation; at the end the old keys are gone from IAM, every file holds the
newest key, no pull of the loop failed, and a rerun changes nothing.
"""

from __future__ import annotations

import json
import os
import pathlib
import pwd
import signal
import subprocess
import sys
import time

import pytest

from playrunner import BIN, HERE, collections_path, run_play
from real_fixtures import emu, images, realm, registry  # noqa: F401  pylint: disable=unused-import
from rel_support import PullLoop, temporary_users
from secret_scan import assert_no_secret

# pylint: disable=wrong-import-order
from ansible_collections.icr.auth.plugins.module_utils._credential import fingerprint  # noqa: E402

pytestmark = [pytest.mark.needs_root, pytest.mark.slow]

SERVICE_ID = 'rotation-fleet-pull'
# The playbook's steps, by the task each one starts with.
STEPS = (
    'Create the new key; its value goes only to the file',
    'Prove the new key - IAM exchanges it and the registries accept it',
    'Write the new key on every host with the role',
    'Read what every user holds',
    'Delete or disable the old keys',
)


@pytest.fixture
def fleet_users():
    """Two local users icrrot<pid>a and icrrot<pid>b."""
    with temporary_users('icrrot') as made:
        yield made


def pull_as(user, ref):
    """skopeo inspect of an image as the user (by name), with their own ~/.docker/config.json."""
    entry = pwd.getpwnam(user)
    env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': entry.pw_dir, 'USER': user}
    return subprocess.run(['runuser', '-u', user, '--', 'skopeo', 'inspect', '--tls-verify=false',
                           '--raw', 'docker://' + ref], env=env, capture_output=True, text=True, timeout=60,
                          check=False, cwd='/')


def rotation_env(tmp):
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR='1',
                ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCAL_TEMP=str(tmp / 'ansible-local'),
                ANSIBLE_CALLBACK_PLUGINS=str(HERE / 'callback_plugins'), ANSIBLE_CALLBACKS_ENABLED='result_file',
                ICR_TEST_RESULT_FILE=str(tmp / 'results.jsonl'), ANSIBLE_LOCALHOST_WARNING='false',
                ANSIBLE_HOST_KEY_CHECKING='false', XDG_CACHE_HOME=str(tmp / 'cache'))


def rotate(tmp, inventory, extra, admin_key, kill_at=None, args=()):
    """Run icr.auth.rotate_api_key; with kill_at, SIGKILL the whole run as the task of that name starts.

    Returns (returncode, output, killed)."""
    tmp.mkdir(parents=True, exist_ok=True)
    plain = tmp / 'vars.json'
    plain.write_text(json.dumps(extra))
    secret = tmp / 'secret.json'
    secret.write_text(json.dumps({'icr_rotation_admin_api_key': admin_key}))
    os.chmod(str(secret), 0o600)
    cmd = [str(BIN / 'ansible-playbook'), 'icr.auth.rotate_api_key', '-i', str(inventory),
           '-e', '@' + str(secret), '-e', '@' + str(plain)] + list(args)
    proc = subprocess.Popen(cmd, env=rotation_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=str(tmp), start_new_session=True)
    lines = []
    killed = False
    for line in proc.stdout:
        lines.append(line)
        if kill_at and not killed and line.startswith('TASK [') and kill_at in line:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
    proc.wait(timeout=600)
    return proc.returncode, ''.join(lines), killed


def recap_changed(output):
    """{host: changed count} of the PLAY RECAP."""
    counts = {}
    for line in output.split('PLAY RECAP', 1)[-1].splitlines():
        if 'changed=' in line:
            host = line.split(':', 1)[0].strip()
            counts[host] = int(line.split('changed=', 1)[1].split()[0])
    return counts


def held_key(user, host):
    """The secret of a user's Docker config entry for host (read as root)."""
    import base64
    data = json.loads((pathlib.Path(user.pw_dir) / '.docker' / 'config.json').read_text())
    return base64.b64decode(data['auths'][host]['auth']).decode().split(':', 1)[1]


def keys_of(emu, iam_id):
    return sorted(k['name'] for k in emu.apikeys() if k['iam_id'] == iam_id)


class Fleet(object):
    """The service ID (made from nothing by icr_service_id: Reader on team-a in the emulator's region), and an inventory of
    two local-connection hosts, one user each, whose role variables write us.icr.io and the real registry."""

    def __init__(self, emu, registry, images, tmp_path, fleet_users):
        self.emu = emu
        self.users = fleet_users
        self.admin = emu.apikey('user-admin')
        self.ref = '%s/%s' % (registry.host, images['team-a'].ref.split('/', 1)[1])
        self.registry = registry
        made = run_play(tmp_path / 'sid', [{'name': 'sid', 'icr.auth.icr_service_id': {
            'api_key': '{{ admin }}', 'iam_endpoint': emu.url, 'registry_api_endpoint': emu.url, 'name': SERVICE_ID,
            'access': [{'role': 'Reader', 'region': 'us-south', 'namespaces': ['team-a']}]}, 'register': 'sid'}],
            secret_vars={'admin': self.admin})
        assert made.rc == 0, made.text[-3000:]
        self.iam_id = made.result('sid')['result']['service_id']['iam_id']
        self.inventory = tmp_path / 'hosts.json'
        alice, bob = fleet_users
        self.inventory.write_text(json.dumps({'fleet': {
            'hosts': {'rot-a': {'docker_auth_users': [alice.pw_name]}, 'rot-b': {'docker_auth_users': [bob.pw_name]}},
            # The system's Python, which every user can run (the pull command runs as each user).
            'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': '/usr/bin/python3',
                     'docker_auth_regions': ['us-south'],
                     'docker_auth_registries': [registry.host], 'docker_auth_validate': False}}}))
        self.keys = tmp_path / 'keys'

    def extra(self, new, old, **more):
        values = {'icr_rotation_hosts': 'fleet', 'icr_rotation_service_id': SERVICE_ID, 'icr_rotation_new_key': new,
                  'icr_rotation_store_to': str(self.keys / (new + '.json')), 'icr_rotation_old_keys': old,
                  'icr_rotation_iam_endpoint': self.emu.url, 'icr_rotation_verify_registries': [self.registry.host]}
        values.update(more)
        return values

    def value(self, name):
        return json.loads((self.keys / (name + '.json')).read_text())['apikey']

    def keys_in_iam(self):
        return keys_of(self.emu, self.iam_id)


@pytest.fixture
def fleet(emu, registry, images, tmp_path, fleet_users):
    return Fleet(emu, registry, images, tmp_path, fleet_users)


def test_rotation_keeps_every_pull_working_survives_a_kill_at_each_step_and_retires_the_old_key(fleet, tmp_path):
    alice, bob = fleet.users
    emu, admin, host = fleet.emu, fleet.admin, fleet.registry.host
    # The first key, rolled out by the playbook itself (nothing to retire).
    rc, out, _killed = rotate(tmp_path / 'first', fleet.inventory, fleet.extra('rot-key-0', []), admin)
    assert rc == 0, out[-4000:]
    assert fleet.keys_in_iam() == ['rot-key-0']
    key0 = fleet.value('rot-key-0')
    assert held_key(alice, 'us.icr.io') == held_key(bob, host) == key0
    assert_no_secret([key0, admin], out)

    loop = PullLoop([alice.pw_name, bob.pw_name], fleet.ref, pull_as, pause=0.2)
    with loop:
        previous = 'rot-key-0'
        for number, step in enumerate(STEPS, start=1):
            new = 'rot-key-%d' % number
            rc, out, killed = rotate(tmp_path / ('kill-%d' % number), fleet.inventory, fleet.extra(new, [previous]),
                                     admin, kill_at=step)
            assert killed, 'the run never reached %r:\n%s' % (step, out[-4000:])
            assert rc == -signal.SIGKILL
            # Killed there, the fleet still pulls, with the old key or the new one.
            for user in (alice, bob):
                pulled = loop.pull_once(user.pw_name)
                assert pulled.returncode == 0, (step, user.pw_name, pulled.stderr[-2000:])
            assert previous in fleet.keys_in_iam() or step == STEPS[-1]
            # The rerun finishes the job.
            rc, out, _killed = rotate(tmp_path / ('rerun-%d' % number), fleet.inventory, fleet.extra(new, [previous]), admin)
            assert rc == 0, (step, out[-4000:])
            assert fleet.keys_in_iam() == [new], step
            value = fleet.value(new)
            for user in (alice, bob):
                for registry_host in ('us.icr.io', host):
                    assert held_key(user, registry_host) == value, (step, user.pw_name, registry_host)
            assert_no_secret([value, admin], out)
            previous = new
        time.sleep(1)
    assert loop.failures == [], loop.failures[:5]
    assert min(loop.ok.values()) > 0, loop.ok

    # Everything again: nothing changes anywhere, and IAM still has one key.
    rc, out, _killed = rotate(tmp_path / 'again', fleet.inventory, fleet.extra(previous, ['rot-key-%d' % (len(STEPS) - 1)]), admin)
    assert rc == 0, out[-4000:]
    assert set(recap_changed(out).values()) == {0}, out[-3000:]
    assert fleet.keys_in_iam() == [previous]
    assert fingerprint(held_key(alice, 'us.icr.io')) == fingerprint(fleet.value(previous))


def test_check_mode_changes_nothing_and_disable_keeps_the_old_key_disabled(fleet, tmp_path):
    alice, bob = fleet.users
    emu, admin = fleet.emu, fleet.admin
    rc, out, _killed = rotate(tmp_path / 'first', fleet.inventory, fleet.extra('rot-key-a', []), admin)
    assert rc == 0, out[-4000:]
    before = (pathlib.Path(alice.pw_dir) / '.docker' / 'config.json').read_bytes()
    policies = emu.policies()
    # Check mode: the new key would be created; nothing in IAM, no key file, no host file changes.
    rc, out, _killed = rotate(tmp_path / 'check', fleet.inventory, fleet.extra('rot-key-b', ['rot-key-a']), admin,
                              args=['--check'])
    assert rc == 0, out[-4000:]
    assert 'check mode stops here' in out
    assert fleet.keys_in_iam() == ['rot-key-a']
    assert not (fleet.keys / 'rot-key-b.json').exists()
    assert (pathlib.Path(alice.pw_dir) / '.docker' / 'config.json').read_bytes() == before
    assert emu.policies() == policies
    # A pull that fails after the rollout (an image the service ID may not read) keeps the old key as it is.
    failing = fleet.extra('rot-key-b', ['rot-key-a'], icr_rotation_retire='disable',
                          icr_rotation_pull_command=['skopeo', 'inspect', '--tls-verify=false', '--raw',
                                                     'docker://%s/team-b/app:base' % fleet.registry.host])
    rc, out, _killed = rotate(tmp_path / 'refused', fleet.inventory, failing, admin)
    assert rc != 0
    assert 'Pull with the new key, as every user' in out and 'team-b/app' in out, out[-4000:]
    assert 'Permission denied' not in out, out[-4000:]
    assert sorted(fleet.keys_in_iam()) == ['rot-key-a', 'rot-key-b']
    assert not [k for k in emu.apikeys() if k['name'] == 'rot-key-a' and k.get('disabled')]
    # With a pull that works, the old key is disabled (not deleted), and the hosts hold the new one.
    working = dict(failing, icr_rotation_pull_command=['skopeo', 'inspect', '--tls-verify=false', '--raw',
                                                       'docker://' + fleet.ref])
    rc, out, _killed = rotate(tmp_path / 'disable', fleet.inventory, working, admin)
    assert rc == 0, out[-4000:]
    old = [k for k in emu.apikeys() if k['name'] == 'rot-key-a']
    assert len(old) == 1 and old[0]['disabled'] is True, old
    assert held_key(bob, 'us.icr.io') == fleet.value('rot-key-b')
    rc, out, _killed = rotate(tmp_path / 'disable-again', fleet.inventory, working, admin)
    assert rc == 0, out[-4000:]
    assert set(recap_changed(out).values()) == {0}, out[-3000:]
