# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A fleet over real SSH for a test module: the emulator's registry, an image in it, an icr_infra.SshFleet of local
users with sudo; running the role on it (become) and reading its recap."""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

from icr_infra import Registry, SshFleet, skopeo_push, write_auth_file, write_oci_layout

BIN = pathlib.Path(sys.executable).parent
RECAP = 'PLAY RECAP'


@contextlib.contextmanager
def emulator_registry(emulator):
    """A real distribution registry whose token realm is the emulator."""
    info = emulator.info()
    with Registry(info['realm'], info['registry_issuer'], info['registry_cert'], service=info['registry_service']) as reg:
        yield reg


def push_image(emulator, registry, base, image, content):
    """image (team-a/name:v1) pushed by svc-writer; returns its reference on the registry."""
    layout = str(base / 'layout')
    write_oci_layout(layout, 'v1', content=content)
    writer = write_auth_file(str(base / 'writer.json'), {registry.host: ('iamapikey', emulator.apikey('svc-writer'))})
    ref = '%s/%s' % (registry.host, image)
    pushed = skopeo_push(layout, 'v1', ref, authfile=writer)
    assert pushed.rc == 0, pushed.output
    return ref


@contextlib.contextmanager
def sudo_fleet(size, prefix):
    """size local users named prefix001... behind a test-owned sshd with passwordless sudo; removed afterwards."""
    started = SshFleet(size, prefix=prefix, sudo=True)
    created = []
    try:
        with started:
            created = list(started.created_users)
            yield started
    finally:
        for user in created:
            subprocess.run(['userdel', '--remove', '--force', user], capture_output=True, check=False)


def fleet_fixtures(size, prefix, image_ref, content):
    """The module-scoped fixtures of a fleet test: a registry trusting the emulator, one image pushed to it, and an SSH
    fleet of `size` users named `prefix`N with sudo. A test module binds them: registry, image, fleet = fleet_fixtures(...)
    (and imports the emulator fixture as `emulator`)."""

    @pytest.fixture(scope='module')
    def registry(emulator):
        with emulator_registry(emulator) as reg:
            yield reg

    @pytest.fixture(scope='module')
    def image(emulator, registry, tmp_path_factory):
        return push_image(emulator, registry, tmp_path_factory.mktemp('image'), image_ref, content)

    @pytest.fixture(scope='module')
    def fleet():
        with sudo_fleet(size, prefix) as started:
            yield started

    return registry, image, fleet


def fleet_env(fleet, tmp_path):
    """The environment of an ansible-playbook run against the fleet: its ansible.cfg and inventory, this collection,
    and nothing of the caller's ANSIBLE_* or API key variables."""
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith('ANSIBLE_') and k not in ('IBMCLOUD_API_KEY', 'IC_API_KEY', 'DOCKER_CONFIG'))
    env.update(fleet.env)
    collections = tmp_path / 'collections' / 'ansible_collections' / 'icr'
    collections.mkdir(parents=True, exist_ok=True)
    if not (collections / 'auth').exists():
        (collections / 'auth').symlink_to(pathlib.Path(__file__).resolve().parent.parent.parent)
    env.update({'ANSIBLE_COLLECTIONS_PATH': str(tmp_path / 'collections'), 'ANSIBLE_NOCOLOR': '1',
                'XDG_CACHE_HOME': str(tmp_path / 'xdg-cache')})
    return env


def run_role(fleet, tmp_path, role_vars, api_key=None, args=()):
    playbook = tmp_path / ('play-%d.yml' % len(list(tmp_path.glob('play-*.yml'))))
    playbook.write_text(yaml.safe_dump([{'name': 'the role on the fleet', 'hosts': 'fleet', 'gather_facts': False,
                                         'become': True, 'roles': [{'role': 'icr.auth.docker_auth',
                                                                    'vars': role_vars}]}]))
    env = fleet_env(fleet, tmp_path)
    if api_key:
        env['IBMCLOUD_API_KEY'] = api_key
    proc = subprocess.run([str(BIN / 'ansible-playbook'), '-i', fleet.inventory_path, str(playbook), *args], env=env,
                          cwd=fleet.dir, capture_output=True, text=True, timeout=900, check=False)
    return proc


def changed_counts(proc):
    counts = {}
    for line in proc.stdout.split(RECAP, 1)[-1].splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[1] == ':':
            counts[parts[0]] = int([p for p in parts if p.startswith('changed=')][0].split('=')[1])
    return counts
