# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The release artifact, as a user gets it: built with ansible-galaxy, installed into a clean path, and used.

The collection is built from this tree (`ansible-galaxy collection build`, as `make dist` and `make demo` do), checked
by scripts/check-dist.py (metadata present, no test harness, emulator or outputs), installed with
`ansible-galaxy collection install` into a temporary collections path, verified against its own checksums, and then
playbooks/demo.yml - run as `icr.auth.demo`, from the installed copy only - logs two local hosts in to the emulator
(IAM + ICR token realm), as `make demo` does with three: one IAM call, then a rerun that changes nothing.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile

import pytest
import yaml

from emu_fixture import iam_calls, module_emu as emulator  # noqa: F401  pylint: disable=unused-import

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
BIN = pathlib.Path(sys.executable).parent
DEMO_HELPER = REPO / 'scripts' / 'demo_inventory.py'
CHECK_DIST = REPO / 'scripts' / 'check-dist.py'
RECAP_LINE = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)
# Variables of the developer's shell that would change what the runs do.
FOREIGN_ENV = ('IBMCLOUD_API_KEY', 'IC_API_KEY', 'IBMCLOUD_IAM_ENDPOINT', 'DOCKER_CONFIG', 'REGISTRY_AUTH_FILE',
               'XDG_CACHE_HOME', 'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy')

pytestmark = pytest.mark.slow


def clean_env(work, collections):
    """An environment in which Ansible sees only the installed collection and writes only under work."""
    env = dict((k, v) for k, v in os.environ.items() if k not in FOREIGN_ENV and not k.startswith('ANSIBLE_'))
    cfg = work / 'ansible.cfg'
    if not cfg.exists():
        cfg.write_text('[defaults]\n# icr.auth packaging test: ansible defaults only\n')
    env.update({
        'PATH': '%s%s%s' % (BIN, os.pathsep, env.get('PATH', '')),
        'ANSIBLE_CONFIG': str(cfg),
        'ANSIBLE_HOME': str(work / 'ansible-home'),
        'ANSIBLE_LOCAL_TEMP': str(work / 'ansible-local'),
        'ANSIBLE_REMOTE_TEMP': str(work / 'ansible-remote'),
        'ANSIBLE_COLLECTIONS_PATH': str(collections),
        # Never the collections of the venv's site-packages (or this tree through a playbook-adjacent path).
        'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'false',
        'ANSIBLE_RETRY_FILES_ENABLED': 'false',
        'ANSIBLE_LOCALHOST_WARNING': 'false',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
    })
    return env


def run(cmd, env, cwd, timeout=300):
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=str(cwd), capture_output=True, text=True,
                          timeout=timeout, check=False)
    return proc


def detail(proc):
    return 'rc=%s\n--- stdout\n%s\n--- stderr\n%s' % (proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:])


@pytest.fixture(scope='module')
def artifact(tmp_path_factory):
    """The built tarball (from this tree, with galaxy.yml's build_ignore)."""
    dist = tmp_path_factory.mktemp('dist')
    proc = run([BIN / 'ansible-galaxy', 'collection', 'build', '--force', '--output-path', dist, REPO],
               dict(os.environ, ANSIBLE_NOCOLOR='1'), REPO)
    assert proc.returncode == 0, detail(proc)
    tarballs = sorted(dist.glob('icr-auth-*.tar.gz'))
    assert len(tarballs) == 1, tarballs
    return tarballs[0]


@pytest.fixture(scope='module')
def installed(artifact, tmp_path_factory):
    """(work dir, collections path) with the artifact installed the way users install it."""
    work = tmp_path_factory.mktemp('installed')
    collections = work / 'collections'
    env = clean_env(work, collections)
    proc = run([BIN / 'ansible-galaxy', 'collection', 'install', '--offline', '-p', collections, artifact], env, work)
    assert proc.returncode == 0, detail(proc)
    return work, collections


def recap(text):
    return dict((m.group(1), {'changed': int(m.group(3)), 'unreachable': int(m.group(4)), 'failed': int(m.group(5))})
                for m in RECAP_LINE.finditer(text))


# ------------------------------------------------------------------------------------------------------------ tests

def test_artifact_ships_the_collection_and_nothing_of_the_harness(artifact):
    proc = subprocess.run([sys.executable, str(CHECK_DIST), str(artifact)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    with tarfile.open(str(artifact)) as tar:
        names = set(m.name[2:] if m.name.startswith('./') else m.name for m in tar.getmembers())
        manifest = json.load(tar.extractfile('MANIFEST.json'))
    galaxy = yaml.safe_load((REPO / 'galaxy.yml').read_text())
    info = manifest['collection_info']
    assert (info['namespace'], info['name'], info['version']) == (galaxy['namespace'], galaxy['name'], galaxy['version'])
    for wanted in ('plugins/modules/icr_login.py', 'plugins/modules/icr_credential.py', 'plugins/module_utils/_iam.py',
                   'roles/docker_auth/meta/argument_specs.yml', 'roles/docker_auth/tasks/main.yml',
                   'playbooks/demo.yml', 'meta/runtime.yml', 'meta/execution-environment.yml',
                   'meta/ee-requirements.txt', 'meta/ee-bindep.txt', 'docs/docsite/rst/guide.rst',
                   'docs/docsite/extra-docs.yml', 'docs/docsite/links.yml', 'CHANGELOG.md', 'changelogs/changelog.yaml'):
        assert wanted in names, 'missing from the artifact: %s' % wanted
    for name in names:
        parts = name.split('/')
        assert not name.startswith(('tests/', 'build/', 'scripts/', '.venv', '.ci/', '.git/')), name
        assert '__pycache__' not in parts and not name.endswith('.pyc'), name
        assert not re.match(r'requirements-.*\.txt$', name), name


PROTOMATTER = "ansible_collections/ansible/_protomatter' does not have a MANIFEST.json"


def test_installed_copy_is_complete_and_documented(installed):
    work, collections = installed
    env = clean_env(work, collections)
    listed = run([BIN / 'ansible-galaxy', 'collection', 'list', '--format', 'json'], env, work)
    assert listed.returncode == 0, detail(listed)
    found = dict((path, colls['icr.auth']) for path, colls in json.loads(listed.stdout).items() if 'icr.auth' in colls)
    version = yaml.safe_load((REPO / 'galaxy.yml').read_text())['version']
    assert found == {str(collections / 'ansible_collections'): {'version': version}}, found

    # Every installed file matches the checksums of the artifact's FILES.json.
    verified = run([BIN / 'ansible-galaxy', 'collection', 'verify', '--offline', 'icr.auth'], env, work)
    assert verified.returncode == 0, detail(verified)

    for args in (['icr.auth.icr_login'], ['icr.auth.icr_credential'], ['-t', 'role', 'icr.auth.docker_auth']):
        doc = run([BIN / 'ansible-doc'] + args, env, work)
        # ansible-core 2.21 warns about its own internal collection when it documents a role (ansible/ansible#85689).
        warnings = [line for line in doc.stderr.splitlines() if 'WARNING' in line and PROTOMATTER not in line]
        assert doc.returncode == 0 and not warnings, detail(doc)
        assert str(collections) in doc.stdout, 'ansible-doc did not read the installed copy:\n' + doc.stdout[:2000]


def test_demo_playbook_from_the_installed_copy(installed, emulator, tmp_path):
    work, collections = installed
    env = clean_env(work, collections)
    inventory = subprocess.run([sys.executable, str(DEMO_HELPER), 'inventory', '--emulator-url', emulator.url,
                                '--workdir', str(tmp_path), '--hosts', '2'],
                               capture_output=True, text=True, check=True).stdout.strip()
    api_key = emulator.apikey('svc-reader')
    env['IBMCLOUD_API_KEY'] = api_key
    registry = emulator.url.split('://', 1)[1]

    before = iam_calls(emulator)
    first = run([BIN / 'ansible-playbook', '-i', inventory, 'icr.auth.demo', '--diff'], env, tmp_path)
    assert first.returncode == 0, detail(first)
    assert iam_calls(emulator) - before == 1, 'one IAM exchange for the whole play'
    assert recap(first.stdout) == {
        'demo-host-1': {'changed': 1, 'unreachable': 0, 'failed': 0},
        'demo-host-2': {'changed': 1, 'unreachable': 0, 'failed': 0},
    }, detail(first)
    # The role that ran is the installed one.
    assert 'TASK [icr.auth.docker_auth : Write the registry credential for each user]' in first.stdout

    for host in ('demo-host-1', 'demo-host-2'):
        config = tmp_path / 'hosts' / host / '.docker' / 'config.json'
        assert oct(config.stat().st_mode & 0o777) == '0o600'
        entry = json.loads(config.read_text())['auths'][registry]
        username, _sep, token = base64.b64decode(entry['auth']).decode('utf-8').partition(':')
        assert username == 'iambearer' and token.count('.') == 2, 'an IAM access token (JWT) is stored'
        assert token not in first.stdout + first.stderr

    before = iam_calls(emulator)
    second = run([BIN / 'ansible-playbook', '-i', inventory, 'icr.auth.demo'], env, tmp_path)
    assert second.returncode == 0, detail(second)
    assert iam_calls(emulator) == before, 'the rerun uses the controller cache: no IAM call'
    assert all(r['changed'] == 0 for r in recap(second.stdout).values()) and len(recap(second.stdout)) == 2, detail(second)
    assert api_key not in first.stdout + first.stderr + second.stdout + second.stderr
