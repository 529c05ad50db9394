# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""playbooks/rotate_api_key.yml on a fleet over real SSH, while real pulls loop as every fleet user.

Two local users icrrotfleet001... behind a test-owned sshd (become through sudo), a real distribution registry whose
token realm is the emulator. The service ID is made from nothing; a first rotation rolls out its first key. Then,
while skopeo pulls run in a loop as each fleet user (each with only its own files), the playbook rotates to a new key:
no pull fails and pulls did happen during the rotation; the old key is gone from the emulated IAM and the registry's
token realm refuses it; the fleet audit (playbooks/fleet_audit.yml, the new key's identity looked up on the
controller) shows every host on the new key's identity; a rerun changes nothing; no secret in any output.
"""

from __future__ import annotations

import base64
import json
import pathlib
import pwd
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest

from emu_fixture import module_emu as emulator  # noqa: F401  pylint: disable=unused-import
from fleet_support import BIN, changed_counts, fleet_env, fleet_fixtures
from playrunner import run_play
from rel_support import PullLoop
from secret_scan import assert_no_secret

pytestmark = [pytest.mark.needs_root, pytest.mark.slow]

PREFIX = 'icrrotfleet'
CONTENT = b'pulled while the key was rotated\n'
IMAGE = 'team-a/rotation:v1'
SERVICE_ID = 'rotation-ssh-fleet-pull'


registry, image, fleet = fleet_fixtures(2, PREFIX, IMAGE, CONTENT)


def skopeo_as(user, ref):
    """skopeo inspect as the user, with a bare environment: only the user's own files."""
    home = pwd.getpwnam(user).pw_dir
    argv = ['runuser', '-u', user, '--', 'env', '-i', 'HOME=' + home, 'USER=' + user, 'LOGNAME=' + user,
            'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'skopeo', 'inspect', '--raw', '--retry-times=0',
            '--tls-verify=false', 'docker://' + ref]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd='/')


def playbook(fleet, tmp, name, plain_vars, secret_vars, args=()):
    """ansible-playbook icr.auth.<name> against the fleet; the secrets in a 0600 vars file, never in argv."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / 'vars.json').write_text(json.dumps(plain_vars))
    secret = tmp / 'secret.json'
    secret.touch(mode=0o600)
    secret.write_text(json.dumps(secret_vars))
    cmd = [str(BIN / 'ansible-playbook'), 'icr.auth.' + name, '-i', fleet.inventory_path,
           '-e', '@' + str(secret), '-e', '@' + str(tmp / 'vars.json'), *args]
    return subprocess.run(cmd, env=fleet_env(fleet, tmp), cwd=str(tmp), capture_output=True, text=True, timeout=900,
                          check=False)


def realm_status(emulator, key):
    """The status of the registry token realm's answer to iamapikey:<key> for a pull of the image's repository."""
    repository = IMAGE.split(':', 1)[0]
    url = '%s?service=%s&scope=repository:%s:pull' % (emulator.info()['realm'], emulator.info()['registry_service'],
                                                      repository)
    auth = base64.b64encode(('iamapikey:' + key).encode()).decode()
    request = urllib.request.Request(url, headers={'Authorization': 'Basic ' + auth})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # nosec - loopback emulator
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_rotation_over_ssh_while_every_user_pulls(fleet, emulator, registry, image, tmp_path):
    emulator.reset()
    for user in fleet.users:
        for sub in ('.docker', '.config'):
            shutil.rmtree(str(pathlib.Path(pwd.getpwnam(user).pw_dir) / sub), ignore_errors=True)
    admin = emulator.apikey('user-admin')
    made = run_play(tmp_path / 'sid', [{'name': 'sid', 'icr.auth.icr_service_id': {
        'api_key': '{{ admin }}', 'iam_endpoint': emulator.url, 'registry_api_endpoint': emulator.url,
        'name': SERVICE_ID, 'access': [{'role': 'Reader', 'region': 'us-south', 'namespaces': ['team-a']}]},
        'register': 'sid'}], secret_vars={'admin': admin})
    assert made.rc == 0, made.text[-3000:]
    iam_id = made.result('sid')['result']['service_id']['iam_id']
    keys = tmp_path / 'keys'
    pull = ['skopeo', 'inspect', '--raw', '--retry-times=0', '--tls-verify=false', 'docker://' + image]

    def rotation(new, old):
        return {'icr_rotation_hosts': 'fleet', 'icr_rotation_service_id': SERVICE_ID, 'icr_rotation_new_key': new,
                'icr_rotation_store_to': str(keys / (new + '.json')), 'icr_rotation_old_keys': old,
                'icr_rotation_iam_endpoint': emulator.url, 'icr_rotation_verify_registries': [registry.host],
                'icr_rotation_pull_command': pull,
                # The role's variables for every host: the connecting user's files; us.icr.io (what the audit
                # reads) and the test registry (what the pulls use).
                'docker_auth_users': ['{{ ansible_user }}'], 'docker_auth_regions': ['us-south'],
                'docker_auth_registries': [registry.host],
                'docker_auth_iam_endpoint': emulator.url, 'docker_auth_validate': False}

    def key_names():
        return sorted(k['name'] for k in emulator.apikeys() if k['iam_id'] == iam_id)

    def value(name):
        return json.loads((keys / (name + '.json')).read_text())['apikey']

    first = playbook(fleet, tmp_path / 'first', 'rotate_api_key', rotation('ssh-key-0', []),
                     {'icr_rotation_admin_api_key': admin})
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-2000:]
    assert key_names() == ['ssh-key-0']
    old = value('ssh-key-0')
    for user in fleet.users:
        assert skopeo_as(user, image).returncode == 0, user

    loop = PullLoop(fleet.users, image, skopeo_as)
    with loop:
        rotated = playbook(fleet, tmp_path / 'rotate', 'rotate_api_key', rotation('ssh-key-1', ['ssh-key-0']),
                           {'icr_rotation_admin_api_key': admin})
        during = dict(loop.ok)
    assert rotated.returncode == 0, rotated.stdout[-5000:] + rotated.stderr[-2000:]
    assert loop.failures == [], loop.failures[:5]
    assert min(during.values()) > 0, during
    new = value('ssh-key-1')

    # The old key is gone from IAM and the registry's token realm refuses it; the new one it takes.
    assert key_names() == ['ssh-key-1']
    assert realm_status(emulator, old) in (400, 401, 403)
    assert realm_status(emulator, new) == 200

    # The fleet audit, the new key's identity looked up once on the controller: every host on it.
    # The new key is given twice (its file, and its value as from a vault), the old one once: two distinct keys, two
    # lookups.
    report_dir = tmp_path / 'audit'
    report_dir.mkdir()
    known = [{'name': 'ssh-key-1', 'key_file': str(keys / 'ssh-key-1.json')}, {'name': 'ssh-key-1', 'key': new},
             {'name': 'ssh-key-0', 'key': old}]
    details = emulator.counters()['apikey_details']
    audit = playbook(fleet, report_dir, 'fleet_audit',
                     {'fleet_audit_hosts': 'fleet', 'fleet_audit_report_dir': str(report_dir),
                      'fleet_audit_lookup_keys': True, 'fleet_audit_iam_endpoint': emulator.url},
                     {'fleet_audit_admin_api_key': admin, 'fleet_audit_known_keys': known}, args=['-vvv'])
    assert audit.returncode == 0, audit.stdout[-5000:] + audit.stderr[-2000:]
    assert emulator.counters()['apikey_details'] - details == 2
    report = json.loads((report_dir / 'icr-fleet-audit.json').read_text())
    summary = report['summary']
    assert summary['audited'] == len(fleet.users), summary
    assert [i['identity'] for i in summary['identities']] == [
        'API key ssh-key-1 of service ID %s (%s)' % (SERVICE_ID, iam_id)], summary['identities']
    assert summary['identities'][0]['hosts'] == sorted(fleet.users), summary['identities']
    assert summary['known_keys_unused'] == ['ssh-key-0'] and summary['hosts_with_problems'] == [], summary
    rows = [row for view in report['hosts'] for row in view['entries'] if row['host'] == 'us.icr.io']
    assert len(rows) == len(fleet.users) and all(row['iam_id'] == iam_id and row['account_id'] for row in rows), rows
    assert 'ssh-key-1 of service ID %s' % SERVICE_ID in (report_dir / 'icr-fleet-audit.md').read_text()

    # Everything again: the rotation is finished, nothing changes anywhere.
    again = playbook(fleet, tmp_path / 'again', 'rotate_api_key', rotation('ssh-key-1', ['ssh-key-0']),
                     {'icr_rotation_admin_api_key': admin})
    assert again.returncode == 0, again.stdout[-5000:]
    assert set(changed_counts(again).values()) == {0}, again.stdout[-3000:]
    assert key_names() == ['ssh-key-1']
    outputs = [run.stdout + run.stderr for run in (first, rotated, audit, again)]
    assert_no_secret([old, new, admin], made.text, *outputs, report, (report_dir / 'icr-fleet-audit.md').read_text())
