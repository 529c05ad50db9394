# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Managed hosts: icr_login on the oldest and the newest Python it supports, as ansible_python_interpreter.

icr_login supports Python 3.8 to 3.13 on managed hosts (README, Requirements), within what the ansible-core that runs
it supports there: 3.8-3.13 for 2.19, 3.9-3.14 for 2.20 and 2.21. Each test runs real ansible-playbook runs of
icr_login - write, rerun, check-mode removal, removal, with --diff - with the module on the oldest or the newest
version of both ranges, found as scripts/find-python.sh finds interpreters (PATH, then pyenv). `make functional`
(ansible-core 2.21) covers 3.9 and 3.13, `make functional-floor` (2.19) 3.8 and 3.13. A version this machine lacks
skips its test, except under CI (CI=true), where it fails.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import stat
import subprocess

import pytest

from playrunner import REPO, run_play

# The managed-host Pythons icr_login supports (the README says the same); oldest first.
ICR_LOGIN_PYTHONS = ('3.8', '3.9', '3.10', '3.11', '3.12', '3.13')
HOST = 'reg.example.com'
KEY = 'HostPythonKey0123456789abcdef'


def core_host_pythons():
    """The Python versions the running ansible-core supports on managed hosts (ansible-test's own list)."""
    from ansible_test._util.target.common.constants import CONTROLLER_PYTHON_VERSIONS, REMOTE_ONLY_PYTHON_VERSIONS
    return set(CONTROLLER_PYTHON_VERSIONS) | set(REMOTE_ONLY_PYTHON_VERSIONS)


SUPPORTED = [v for v in ICR_LOGIN_PYTHONS if v in core_host_pythons()]
ENDS = {'oldest': SUPPORTED[0], 'newest': SUPPORTED[-1]}


def find_python(version):
    proc = subprocess.run([str(REPO / 'scripts' / 'find-python.sh'), version], capture_output=True, text=True,
                          check=False)
    if proc.returncode == 0:
        return proc.stdout.strip()
    message = 'no Python %s on this machine to run icr_login with: %s' % (version, proc.stderr.strip())
    if os.environ.get('CI') == 'true':
        pytest.fail(message)
    pytest.skip(message)


def login(state='present', **extra):
    args = {'registries': [HOST], 'username_type': 'iamapikey', 'password': '{{ key }}',
            'config_path': '{{ config_path }}', 'state': state}
    args.update(extra)
    return args


@pytest.mark.parametrize('end, version', sorted(ENDS.items()), ids=['%s-%s' % item for item in sorted(ENDS.items())])
def test_icr_login_on_the_managed_host_python(tmp_path, end, version):
    python = find_python(version)
    config = tmp_path / 'docker' / 'config.json'
    tasks = [
        {'name': 'host python', 'ansible.builtin.setup': {'gather_subset': ['!all'], 'filter': ['ansible_python']}},
        {'name': 'write', 'icr.auth.icr_login': login()},
        {'name': 'rerun', 'icr.auth.icr_login': login()},
        {'name': 'remove in check mode', 'icr.auth.icr_login': login('absent'), 'check_mode': True},
        {'name': 'read after check mode', 'ansible.builtin.slurp': {'src': '{{ config_path }}'}},
        {'name': 'remove', 'icr.auth.icr_login': login('absent')},
        {'name': 'remove again', 'icr.auth.icr_login': login('absent')},
    ]
    run = run_play(tmp_path / 'play', tasks, play_vars={'config_path': str(config)}, secret_vars={'key': KEY},
                   env={'ANSIBLE_PYTHON_INTERPRETER': python}, args=['--diff'])
    assert run.rc == 0, run.text[-4000:]
    assert 'MODULE FAILURE' not in run.text
    assert KEY not in run.stdout + run.stderr

    def result(task):
        return run.result(task)['result']

    facts = result('host python')['ansible_facts']['ansible_python']
    assert '%d.%d' % (facts['version']['major'], facts['version']['minor']) == version, facts
    assert facts['executable'] == python or os.path.realpath(facts['executable']) == os.path.realpath(python)

    write = result('write')
    assert write['changed'] is True, write
    assert write['registries'][HOST] == 'added', write
    assert result('rerun')['changed'] is False
    assert result('remove in check mode')['changed'] is True
    kept = json.loads(base64.b64decode(result('read after check mode')['content']))
    assert kept['auths'][HOST]['auth'] == base64.b64encode(('iamapikey:' + KEY).encode()).decode()
    assert result('remove')['changed'] is True
    assert result('remove again')['changed'] is False

    assert HOST not in json.loads(config.read_text()).get('auths', {})
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700


def test_the_supported_range_is_what_the_readme_says():
    readme = (pathlib.Path(REPO) / 'README.md').read_text(encoding='utf-8')
    assert 'Python %s to %s' % (ICR_LOGIN_PYTHONS[0], ICR_LOGIN_PYTHONS[-1]) in readme
