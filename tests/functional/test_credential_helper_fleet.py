# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role icr.auth.docker_auth in helper mode on a fleet over real SSH, with become.

Three local users of this module's own (icrhcfleet001...) are three inventory hosts behind a test-owned sshd with
passwordless sudo (icr_infra.SshFleet); the emulator is IAM, the ICR token realm and the VPC metadata service; the
registry is a real CNCF distribution registry. Each host gets the helper in its own directory of a shared prefix (they
are one machine), and its user pulls with nothing but its own files, the helper on PATH and its configuration.
"""

from __future__ import annotations

import json
import os
import pathlib
import pwd
import shutil
import subprocess

import pytest

from emu_fixture import module_emu as emulator  # noqa: F401  pylint: disable=unused-import
from fleet_support import changed_counts, fleet_fixtures, run_role
from rel_support import shared_tmpdir

pytestmark = [pytest.mark.needs_root, pytest.mark.slow]

PREFIX = 'icrhcfleet'
CONTENT = b'pulled through docker-credential-icr on the fleet\n'
IMAGE = 'team-a/hello:v1'


registry, image, fleet = fleet_fixtures(3, PREFIX, IMAGE, CONTENT)


@pytest.fixture(scope='module')
def prefix():
    base = shared_tmpdir('icr-helper-fleet-')
    yield base
    shutil.rmtree(str(base), ignore_errors=True)


def helper_vars(emulator, registry, prefix):
    return {'docker_auth_method': 'helper', 'docker_auth_registries': [registry.host],
            'docker_auth_metadata_endpoint': emulator.metadata_url, 'docker_auth_iam_endpoint': emulator.url,
            'docker_auth_users': ['{{ ansible_user }}'], 'docker_auth_format': 'both',
            'docker_auth_helper_path': str(prefix) + '/{{ ansible_user }}/bin/docker-credential-icr',
            'docker_auth_helper_config_path': str(prefix) + '/{{ ansible_user }}/etc/credential-helper.json',
            'docker_auth_helper_check': True, 'docker_auth_verify_access': ['team-a/hello:pull']}


def user_files(user):
    home = pathlib.Path(pwd.getpwnam(user).pw_dir)
    return [home / '.docker' / 'config.json', home / '.config' / 'containers' / 'auth.json']


def pull_as(user, prefix, ref):
    """skopeo inspect AS the user, with a bare environment: the user's own files, the helper on PATH, its config."""
    home = pwd.getpwnam(user).pw_dir
    argv = ['runuser', '-u', user, '--', 'env', '-i', 'HOME=' + home, 'USER=' + user, 'LOGNAME=' + user,
            'PATH=%s/%s/bin:/usr/sbin:/usr/bin:/sbin:/bin' % (prefix, user),
            'DOCKER_CREDENTIAL_ICR_CONFIG=%s/%s/etc/credential-helper.json' % (prefix, user),
            'skopeo', 'inspect', '--raw', '--retry-times=0', '--tls-verify=false', 'docker://' + ref]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd='/')


def test_helper_mode_on_the_fleet_rerun_and_switching(fleet, emulator, registry, image, prefix, tmp_path):
    emulator.reset()
    emulator.set_instance('vsi-1')
    for user in fleet.users:
        for path in user_files(user):
            shutil.rmtree(str(path.parent), ignore_errors=True)
    role_vars = helper_vars(emulator, registry, prefix)

    first = run_role(fleet, tmp_path, role_vars)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    assert all(changed_counts(first)[u] > 0 for u in fleet.users), first.stdout[-3000:]
    for user in fleet.users:
        for path in user_files(user):
            assert json.loads(path.read_text()) == {'credHelpers': {registry.host: 'icr'}}
            assert os.stat(str(path)).st_uid == pwd.getpwnam(user).pw_uid
        exe = prefix / user / 'bin' / 'docker-credential-icr'
        assert os.stat(str(exe)).st_uid == 0 and os.stat(str(exe)).st_mode & 0o777 == 0o755
        pulled = pull_as(user, prefix, image)
        assert pulled.returncode == 0, pulled.stderr
    assert emulator.counters()['iam_token'] == 0  # nothing exchanged an API key: the metadata service gave the tokens

    again = run_role(fleet, tmp_path, role_vars)
    assert again.returncode == 0 and changed_counts(again) == dict((u, 0) for u in fleet.users), again.stdout[-3000:]

    # Back to the file method with an API key: no credHelpers entry stays; then to the helper again.
    key = emulator.apikey('svc-reader')
    back = run_role(fleet, tmp_path, {'docker_auth_registries': [registry.host], 'docker_auth_iam_endpoint': emulator.url,
                                      'docker_auth_users': ['{{ ansible_user }}'], 'docker_auth_format': 'both',
                                      'docker_auth_validate': False}, api_key=key)
    assert back.returncode == 0, back.stdout[-4000:]
    for user in fleet.users:
        for path in user_files(user):
            data = json.loads(path.read_text())
            assert 'credHelpers' not in data and list(data['auths']) == [registry.host]
    helper_again = run_role(fleet, tmp_path, role_vars)
    assert helper_again.returncode == 0, helper_again.stdout[-4000:]
    for user in fleet.users:
        for path in user_files(user):
            data = json.loads(path.read_text())
            assert data == {'auths': {}, 'credHelpers': {registry.host: 'icr'}} and key not in path.read_text()

    gone = run_role(fleet, tmp_path, dict(role_vars, docker_auth_state='absent'))
    assert gone.returncode == 0, gone.stdout[-4000:]
    for user in fleet.users:
        assert not (prefix / user / 'bin' / 'docker-credential-icr').exists()
        assert not (pathlib.Path(pwd.getpwnam(user).pw_dir) / '.cache' / 'docker-credential-icr').exists()
        for path in user_files(user):
            assert 'credHelpers' not in json.loads(path.read_text())
