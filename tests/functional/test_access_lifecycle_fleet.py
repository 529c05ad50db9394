# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Registry access as code, from an empty service ID to pulls on a fleet over real SSH.

On the controller, icr_service_id makes a service ID with Reader on team-a and icr_api_key its key (the value only in a
0600 file); the role icr.auth.docker_auth writes that key on three hosts (three local users icrlcfleet001... behind a
test-owned sshd, with become); real skopeo (as each user) and podman (with each user's auth.json) pull from a real
distribution registry whose token realm is the emulator. Everything again: changed=0 everywhere, no new policy, no new
key, and no secret in any output.
"""

from __future__ import annotations

import json
import os
import pathlib
import pwd
import shutil
import subprocess
import stat

import pytest

from emu_fixture import module_emu as emulator  # noqa: F401  pylint: disable=unused-import
from fleet_support import changed_counts, fleet_fixtures, run_role
from icr_infra import Podman
from playrunner import run_play
from real_fixtures import isolated_env
from secret_scan import assert_no_secret

pytestmark = [pytest.mark.needs_root, pytest.mark.slow]

PREFIX = 'icrlcfleet'
CONTENT = b'pulled by a fleet whose access was made as code\n'
IMAGE = 'team-a/lifecycle:v1'
SERVICE_ID = 'lifecycle-fleet-pull'


registry, image, fleet = fleet_fixtures(3, PREFIX, IMAGE, CONTENT)


@pytest.fixture(scope='module')
def podman():
    with Podman() as started:
        yield started


def access_play(tmp_path, emulator, store_to):
    tasks = [
        {'name': 'sid', 'icr.auth.icr_service_id': {
            'api_key': '{{ admin }}', 'iam_endpoint': emulator.url, 'registry_api_endpoint': emulator.url,
            'name': SERVICE_ID, 'description': 'Pulls team-a on the lifecycle fleet',
            'access': [{'role': 'Reader', 'region': 'us-south', 'namespaces': ['team-a']}], 'purge_access': True},
         'register': 'sid'},
        {'name': 'key', 'icr.auth.icr_api_key': {
            'api_key': '{{ admin }}', 'iam_endpoint': emulator.url, 'service_id': SERVICE_ID,
            'name': SERVICE_ID + '-2026-12', 'store_to': str(store_to)}},
    ]
    return run_play(tmp_path, tasks, secret_vars={'admin': emulator.apikey('user-admin')}, args=['-vvvv', '--diff'])


def pull_as(user, ref):
    """skopeo inspect as the user, with a bare environment: only the user's own files."""
    home = pwd.getpwnam(user).pw_dir
    argv = ['runuser', '-u', user, '--', 'env', '-i', 'HOME=' + home, 'USER=' + user, 'LOGNAME=' + user,
            'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'skopeo', 'inspect', '--raw', '--retry-times=0',
            '--tls-verify=false', 'docker://' + ref]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd='/')


def test_from_an_empty_service_id_to_pulls_on_the_fleet_and_a_rerun_that_changes_nothing(
        fleet, emulator, registry, image, podman, tmp_path):
    emulator.reset()
    for user in fleet.users:
        shutil.rmtree(str(pathlib.Path(pwd.getpwnam(user).pw_dir) / '.docker'), ignore_errors=True)
        shutil.rmtree(str(pathlib.Path(pwd.getpwnam(user).pw_dir) / '.config'), ignore_errors=True)
    store_to = tmp_path / 'vault' / 'key.json'
    made = access_play(tmp_path / 'access', emulator, store_to)
    assert made.rc == 0, made.text[-4000:]
    sid = made.result('sid')['result']['service_id']
    policies = [p for p in emulator.policies() if json.dumps(p).count(sid['iam_id'])]
    assert len(policies) == 1, policies
    assert stat.S_IMODE(os.stat(str(store_to)).st_mode) == 0o600
    key = json.loads(store_to.read_text())['apikey']

    role_vars = {'docker_auth_registries': [registry.host], 'docker_auth_iam_endpoint': emulator.url,
                 'docker_auth_users': ['{{ ansible_user }}'], 'docker_auth_format': 'both',
                 'docker_auth_verify_access': ['team-a/lifecycle:pull']}
    (tmp_path / 'role').mkdir()
    first = run_role(fleet, tmp_path / 'role', role_vars, api_key=key)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    assert all(changed_counts(first)[u] > 0 for u in fleet.users), first.stdout[-3000:]
    for user in fleet.users:
        pulled = pull_as(user, image)
        assert pulled.returncode == 0, (user, pulled.stderr)
        authfile = pathlib.Path(pwd.getpwnam(user).pw_dir) / '.config' / 'containers' / 'auth.json'
        by_podman = podman.pull(image, authfile=str(authfile), env=isolated_env(tmp_path / ('podman-' + user)))
        assert by_podman.rc == 0, (user, by_podman.stderr)

    # Everything again: the service ID, its one policy and its key are found, the hosts' files stay as they are.
    again = access_play(tmp_path / 'access-again', emulator, store_to)
    assert again.rc == 0, again.text[-4000:]
    assert not [r for r in again.records if r['result'].get('changed')], again.text[-3000:]
    assert [p for p in emulator.policies() if json.dumps(p).count(sid['iam_id'])] == policies
    assert len([k for k in emulator.apikeys() if k['iam_id'] == sid['iam_id']]) == 1
    rerun = run_role(fleet, tmp_path / 'role', role_vars, api_key=key)
    assert rerun.returncode == 0 and changed_counts(rerun) == dict((u, 0) for u in fleet.users), rerun.stdout[-3000:]
    admin = emulator.apikey('user-admin')
    assert_no_secret([key, admin], made.stdout, made.stderr, made.records, again.stdout, again.stderr,
                     first.stdout, first.stderr, rerun.stdout, rerun.stderr)
