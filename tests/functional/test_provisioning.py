# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A host that configures itself at first boot: ansible-pull from a git repository, the role applied to localhost.

What the guide (docs/docsite/rst/guide.rst, "Hosts that configure themselves at first boot") tells users to do, run
for real: the built artifact is installed into a clean collections path (as cloud-init or a Packer image would), a
temporary git repository holds the guide's own local.yml, and `ansible-pull --url file://... local.yml` checks it out
and applies icr.auth.docker_auth with connection local. The API key comes from the environment (IBMCLOUD_API_KEY),
IAM is the emulator (IBMCLOUD_IAM_ENDPOINT), and the registry is the emulator's token-auth front, given with -e the way
an operator overrides the guide's region. A second ansible-pull changes nothing and makes no IAM call.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from emu_fixture import module_emu as emulator  # noqa: F401  pylint: disable=unused-import

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
BIN = pathlib.Path(sys.executable).parent
GUIDE = REPO / 'docs' / 'docsite' / 'rst' / 'guide.rst'
RECAP_LINE = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)
FOREIGN_ENV = ('IBMCLOUD_API_KEY', 'IC_API_KEY', 'IBMCLOUD_IAM_ENDPOINT', 'DOCKER_CONFIG', 'REGISTRY_AUTH_FILE',
               'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy')

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which('git') is None, reason='ansible-pull needs git'),
]


def guide_local_yml():
    """The local.yml of the guide: its yaml+jinja block that names local.yml (read with scripts/docs-examples.py)."""
    spec = importlib.util.spec_from_file_location('docs_examples', str(REPO / 'scripts' / 'docs-examples.py'))
    docs_examples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs_examples)
    blocks = [text for _label, text in docs_examples.rst_examples(str(REPO)) if '# local.yml' in text]
    assert len(blocks) == 1, 'the guide should show exactly one local.yml'
    return blocks[0]


def run(cmd, env, cwd, timeout=300):
    return subprocess.run([str(c) for c in cmd], env=env, cwd=str(cwd), capture_output=True, text=True,
                          timeout=timeout, check=False)


def detail(proc):
    return 'rc=%s\n--- stdout\n%s\n--- stderr\n%s' % (proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:])


@pytest.fixture(scope='module')
def collections(tmp_path_factory):
    """The release artifact, built from this tree and installed into a clean collections path."""
    base = tmp_path_factory.mktemp('pull-collections')
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_HOME=str(base / 'ansible-home'))
    built = run([BIN / 'ansible-galaxy', 'collection', 'build', '--force', '--output-path', base / 'dist', REPO], env, REPO)
    assert built.returncode == 0, detail(built)
    tarball = next((base / 'dist').glob('icr-auth-*.tar.gz'))
    path = base / 'collections'
    installed = run([BIN / 'ansible-galaxy', 'collection', 'install', '--offline', '-p', path, tarball], env, base)
    assert installed.returncode == 0, detail(installed)
    return path


@pytest.fixture()
def repo(tmp_path):
    """A git repository (branch main) holding the guide's local.yml, as a first-boot repository would."""
    path = tmp_path / 'first-boot.git'
    path.mkdir()
    (path / 'local.yml').write_text(guide_local_yml())
    git_env = dict(os.environ, GIT_AUTHOR_NAME='icr.auth test', GIT_AUTHOR_EMAIL='test@example.invalid',
                   GIT_COMMITTER_NAME='icr.auth test', GIT_COMMITTER_EMAIL='test@example.invalid',
                   GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM='1')
    for cmd in (['git', 'init', '--quiet', '--initial-branch', 'main', '.'], ['git', 'add', 'local.yml'],
                ['git', 'commit', '--quiet', '-m', 'first-boot playbook']):
        proc = run(cmd, git_env, path)
        assert proc.returncode == 0, detail(proc)
    return path


def test_local_yml_of_the_guide_applies_the_role_to_localhost():
    play = yaml.safe_load(guide_local_yml())
    assert play[0]['hosts'] == 'localhost' and play[0]['connection'] == 'local'
    assert play[0]['roles'][0]['role'] == 'icr.auth.docker_auth'
    assert 'docker_auth_api_key' not in json.dumps(play), 'the key must come from IBMCLOUD_API_KEY, not the repository'


def test_ansible_pull_configures_the_host_then_changes_nothing(emulator, collections, repo, tmp_path):
    home = tmp_path / 'home'
    docker_config = home / '.docker'
    api_key = emulator.apikey('svc-reader')
    registry = emulator.url.split('://', 1)[1]
    cfg = tmp_path / 'ansible.cfg'
    cfg.write_text('[defaults]\n# icr.auth provisioning test: ansible defaults only\n')

    env = dict((k, v) for k, v in os.environ.items() if k not in FOREIGN_ENV and not k.startswith('ANSIBLE_'))
    env.update({
        'PATH': '%s%s%s' % (BIN, os.pathsep, env.get('PATH', '')),
        # What cloud-init's runcmd exports: the key, and (here) the IAM endpoint - the emulator.
        'IBMCLOUD_API_KEY': api_key,
        'IBMCLOUD_IAM_ENDPOINT': emulator.url,
        # The connection user's Docker config (honoured when docker_auth_users is empty) and caches, in tmp.
        'DOCKER_CONFIG': str(docker_config),
        'XDG_CACHE_HOME': str(tmp_path / 'cache'),
        'ANSIBLE_CONFIG': str(cfg),
        'ANSIBLE_HOME': str(tmp_path / 'ansible-home'),
        'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'ansible-local'),
        'ANSIBLE_REMOTE_TEMP': str(tmp_path / 'ansible-remote'),
        'ANSIBLE_COLLECTIONS_PATH': str(collections),
        'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'false',
        'ANSIBLE_RETRY_FILES_ENABLED': 'false',
        'ANSIBLE_LOCALHOST_WARNING': 'false',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'GIT_CONFIG_GLOBAL': os.devnull,
        'GIT_CONFIG_NOSYSTEM': '1',
    })
    # The operator's override of the guide's region: the emulator's registry host, from the host's own vars.
    extra = json.dumps({'docker_auth_regions': [], 'docker_auth_registries': [registry]})
    cmd = [BIN / 'ansible-pull', '--url', 'file://%s' % repo, '--checkout', 'main',
           '--directory', tmp_path / 'checkout', '--extra-vars', extra, 'local.yml']

    before = emulator.counters()['iam_token']
    first = run(cmd, env, tmp_path)
    assert first.returncode == 0, detail(first)
    assert emulator.counters()['iam_token'] - before == 1, 'one IAM call: the key is proven before it is written'
    recap = dict((m.group(1), int(m.group(3))) for m in RECAP_LINE.finditer(first.stdout))
    assert recap == {'localhost': 1}, detail(first)

    config = docker_config / 'config.json'
    assert oct(config.stat().st_mode & 0o777) == '0o600'
    assert oct(docker_config.stat().st_mode & 0o777) == '0o700'
    entry = json.loads(config.read_text())['auths'][registry]
    assert base64.b64decode(entry['auth']).decode('utf-8') == 'iamapikey:' + api_key

    before = emulator.counters()['iam_token']
    second = run(cmd, env, tmp_path)
    assert second.returncode == 0, detail(second)
    assert emulator.counters()['iam_token'] == before, 'the rerun makes no IAM call'
    recap = dict((m.group(1), int(m.group(3))) for m in RECAP_LINE.finditer(second.stdout))
    assert recap == {'localhost': 0}, detail(second)

    for proc in (first, second):
        assert api_key not in proc.stdout + proc.stderr
