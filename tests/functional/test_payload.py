# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a host is sent for icr_login: no network code unless the run talks to the network there.

The action plugin of icr.auth.icr_login (plugins/action/icr_login.py) sends a host the module icr_login, whose
AnsiballZ payload carries no network code, unless the run makes a network call on the host - an IAM exchange (api_key
with username_type iambearer or iamrefresh) or a registry check (validate), outside check mode - and then sends
icr_login_network, the same module with the network code. Real ansible-playbook runs keep the payload
(ANSIBLE_KEEP_REMOTE_FILES) and the tests read the zip inside it; module_defaults, async and check mode are run through
the plugin too. The routing itself and the lean module's refusal of a network step run in-process.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import zipfile

import pytest

from emu_fixture import emu, emu_host, iam_calls, module_emu  # noqa: F401  pylint: disable=unused-import
from playrunner import BIN, collections_path, run_play

# pylint: disable=wrong-import-order
from ansible_collections.icr.auth.plugins.modules import icr_login  # noqa: E402
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY  # noqa: E402
from ansible_collections.icr.auth.tests.unit.plugins.modules.module_runner import run_module  # noqa: E402

# What only a host that talks to the network needs.
NETWORK_CODE = ('_http.py', '_iam.py', '_registry.py', '_challenge.py', '_network.py')
UTILS = 'ansible_collections/icr/auth/plugins/module_utils/'


def payloads(remote_tmp):
    """{module name: (size of its AnsiballZ file, names of the collection's files in its zip)} of the kept payloads."""
    found = {}
    for path in sorted(remote_tmp.glob('ansible-tmp-*/AnsiballZ_*.py')):
        text = path.read_text(encoding='utf-8', errors='replace')
        encoded = max(re.findall(r'[A-Za-z0-9+/]{1000,}={0,2}', text), key=len)
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(encoded))) as archive:
            names = set(n for n in archive.namelist() if n.startswith('ansible_collections/icr/'))
        module = path.name[len('AnsiballZ_'):-len('.py')]
        assert module not in found, 'one payload per module expected: %s' % path
        found[module] = (path.stat().st_size, names)
    return found


def kept(tmp_path, name):
    remote = tmp_path / name / 'remote-tmp'
    return remote, {'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_REMOTE_TMP': str(remote), 'ANSIBLE_PIPELINING': 'false'}


def network_args(emu, path, **extra):
    args = {'registries': [emu_host(emu)], 'api_key': '{{ key }}', 'username_type': 'iambearer',
            'iam_endpoint': emu.url, 'validate': True, 'retries': 1, 'timeout': 5, 'config_path': str(path)}
    args.update(extra)
    return args


def test_a_host_that_only_writes_is_sent_no_network_code_and_a_smaller_payload(emu, tmp_path):
    lean_tmp, lean_env = kept(tmp_path, 'lean')
    task = {'name': 'write', 'icr.auth.icr_login': {'registries': [emu_host(emu)], 'password': '{{ key }}',
                                                    'config_path': str(tmp_path / 'lean.json')}}
    run = run_play(tmp_path / 'lean', [task], secret_vars={'key': emu.apikey('svc-reader')}, env=lean_env)
    assert run.rc == 0 and run.result('write')['result']['changed'], run.text[-3000:]
    lean = payloads(lean_tmp)
    assert list(lean) == ['icr_login'], lean.keys()
    size, names = lean['icr_login']
    assert UTILS + '_login.py' in names and UTILS + '_options.py' in names
    assert not [n for n in names if n.rsplit('/', 1)[-1] in NETWORK_CODE], sorted(names)

    network_tmp, network_env = kept(tmp_path, 'network')
    task = {'name': 'exchange', 'icr.auth.icr_login': network_args(emu, tmp_path / 'network.json')}
    run = run_play(tmp_path / 'network', [task], secret_vars={'key': emu.apikey('svc-reader')}, env=network_env)
    assert run.rc == 0 and run.result('exchange')['result']['verification'][emu_host(emu)]['ok'], run.text[-3000:]
    assert iam_calls(emu) == 1
    network = payloads(network_tmp)
    assert list(network) == ['icr_login_network'], network.keys()
    network_size, network_names = network['icr_login_network']
    assert set(UTILS + n for n in NETWORK_CODE) <= network_names
    assert size < network_size, (size, network_size)


@pytest.mark.parametrize('extra, check_mode, module, calls', [
    ({}, False, 'icr_login_network', 1),  # api_key + iambearer, and validate
    ({'validate': False}, False, 'icr_login_network', 1),  # the IAM exchange on the host
    ({'username_type': 'iamapikey'}, False, 'icr_login_network', 0),  # the registry check on the host
    ({'username_type': 'iamapikey', 'validate': False}, False, 'icr_login', 0),
    ({}, True, 'icr_login', 0),  # check mode: no network call
], ids=['exchange-and-validate', 'exchange', 'validate', 'no-network', 'check-mode'])
def test_the_host_gets_the_network_module_only_when_it_talks_to_the_network(emu, tmp_path, extra, check_mode, module,
                                                                            calls):
    remote, env = kept(tmp_path, 'play')
    path = tmp_path / 'config.json'
    task = {'name': 'login', 'icr.auth.icr_login': network_args(emu, path, **extra), 'check_mode': check_mode}
    run = run_play(tmp_path / 'play', [task], secret_vars={'key': emu.apikey('svc-reader')}, env=env)
    assert run.rc == 0 and run.result('login')['result']['changed'], run.text[-3000:]
    assert list(payloads(remote)) == [module]
    assert path.exists() is not check_mode and iam_calls(emu) == calls


def test_module_defaults_of_the_action_group_decide_and_reach_the_host(emu, tmp_path):
    remote, env = kept(tmp_path, 'play')
    path = tmp_path / 'config.json'
    block = {'name': 'defaults', 'module_defaults': {
        'group/icr.auth.icr': {'iam_endpoint': emu.url, 'validate': True, 'retries': 1, 'timeout': 5},
        'icr.auth.icr_login': {'config_path': str(path), 'username_type': 'iambearer'}},
        'block': [{'name': 'login', 'icr.auth.icr_login': {'registries': [emu_host(emu)], 'api_key': '{{ key }}'}}]}
    run = run_play(tmp_path / 'play', [block], secret_vars={'key': emu.apikey('svc-reader')}, env=env)
    assert run.rc == 0, run.text[-3000:]
    result = run.result('login')['result']
    assert result['changed'] and result['username'] == 'iambearer' and result['verification'][emu_host(emu)]['ok']
    assert iam_calls(emu) == 1 and list(payloads(remote)) == ['icr_login_network']
    assert json.loads(path.read_text())['auths'][emu_host(emu)]['auth']


def pipelined(tmp_path, name, pipelining=True):
    """(remote tmp, env) of a run whose connection pipelines (or not), with no payload kept."""
    remote = tmp_path / name / 'remote-tmp'
    return remote, {'ANSIBLE_REMOTE_TMP': str(remote), 'ANSIBLE_PIPELINING': str(pipelining).lower()}


def login_tasks(path):
    args = {'registries': ['us.icr.io', 'de.icr.io'], 'password': '{{ key }}', 'config_path': str(path)}
    return [{'name': 'write', 'icr.auth.icr_login': args, 'diff': True},
            {'name': 'again', 'icr.auth.icr_login': args},
            {'name': 'predict removal', 'icr.auth.icr_login': dict(args, state='absent'), 'check_mode': True, 'diff': True},
            {'name': 'remove one', 'icr.auth.icr_login': {'registries': ['de.icr.io'], 'state': 'absent',
                                                          'config_path': str(path)}}]


def test_with_pipelining_a_host_that_only_writes_runs_one_python_with_the_module_s_result(tmp_path):
    """The pipelined run (no AnsiballZ: one Python fed on its standard input) returns what the module returns, task by
    task, writes the same file, leaves nothing in the remote tmp, and shows no secret at -vvvv."""
    key = 'PipelinedKey0123456789abcdefghijklmnopqrstu'
    runs, files = {}, {}
    for name, pipelining in (('module', False), ('pipelined', True)):
        remote, env = pipelined(tmp_path, name, pipelining)
        path = tmp_path / name / 'config.json'
        run = run_play(tmp_path / name, login_tasks(path), secret_vars={'key': key}, env=env, args=('-vvvv',))
        assert run.rc == 0, run.text[-3000:]
        assert key not in run.text
        used = re.findall(r'Using module file \S+/(icr_login\w*)\.py', run.stdout)
        assert used == ([] if pipelining else ['icr_login'] * 4), used
        assert not remote.exists() or list(remote.rglob('*')) == [], list(remote.rglob('*'))
        runs[name] = [json.loads(json.dumps(run.result(t['name'])['result']).replace(str(path), 'PATH'))
                      for t in login_tasks(path)]
        files[name] = json.loads(path.read_text())
    assert runs['pipelined'] == runs['module']
    assert [r['changed'] for r in runs['pipelined']] == [True, False, True, True]
    assert files['pipelined'] == files['module'] and list(files['pipelined']['auths']) == ['us.icr.io']


def test_with_pipelining_arguments_the_module_refuses_get_the_module_s_own_message(tmp_path):
    messages = {}
    for name, pipelining in (('module', False), ('pipelined', True)):
        _remote, env = pipelined(tmp_path, name, pipelining)
        task = {'name': 'bad', 'icr.auth.icr_login': {'regions': ['us-south'], 'password': '{{ key }}', 'bogus': 1,
                                                      'config_path': str(tmp_path / name / 'config.json')}}
        run = run_play(tmp_path / name, [task], secret_vars={'key': 'RefusedKey0123456789abcdefghijklmnopqrst'},
                       env=env, args=('-vvv',))
        assert run.rc != 0 and not (tmp_path / name / 'config.json').exists()
        assert 'RefusedKey0123456789abcdefghijklmnopqrst' not in run.text
        messages[name] = run.result('bad')['result']['msg']
    assert messages['pipelined'] == messages['module'] and 'bogus' in messages['module'], messages


def test_with_pipelining_a_host_without_a_configured_python_is_discovered_once_then_pipelined(tmp_path):
    """Interpreter discovery (the default) runs for the pipelined run as for the module: once per host, its result
    returned as the fact; every run on that host, the first included, is pipelined."""
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text('h1 ansible_connection=local\n')
    _remote, env = pipelined(tmp_path, 'play')
    env['ANSIBLE_PYTHON_INTERPRETER'] = 'auto_silent'
    env['PATH'] = '/usr/bin:/bin'  # the host's own Pythons, as discovery would see them on a managed host
    path = tmp_path / 'config.json'
    run = run_play(tmp_path / 'play', login_tasks(path)[:2], secret_vars={'key': 'DiscoveredKey0123456789abcdefghijklmno'},
                   env=env, args=('-vvv',), inventory=str(inventory), hosts='h1')
    assert run.rc == 0, run.text[-3000:]
    assert re.findall(r'Using module file \S+/(icr_login\w*)\.py', run.stdout) == []
    assert run.stdout.count('Attempting python interpreter discovery') == 1, run.stdout[-3000:]
    first, again = run.result('write', 'h1')['result'], run.result('again', 'h1')['result']
    assert first['changed'] is True and again['changed'] is False
    assert os.path.isabs(first['ansible_facts']['discovered_interpreter_python'])
    assert 'ansible_facts' not in again
    assert list(json.loads(path.read_text())['auths']) == ['us.icr.io', 'de.icr.io']


def test_with_pipelining_a_run_that_needs_the_network_still_gets_the_network_module(emu, tmp_path):
    _remote, env = pipelined(tmp_path, 'play')
    task = {'name': 'login', 'icr.auth.icr_login': network_args(emu, tmp_path / 'config.json')}
    run = run_play(tmp_path / 'play', [task], secret_vars={'key': emu.apikey('svc-reader')}, env=env, args=('-vvv',))
    assert run.rc == 0 and run.result('login')['result']['verification'][emu_host(emu)]['ok'], run.text[-3000:]
    assert re.findall(r'Using module file \S+/(icr_login\w*)\.py', run.stdout) == ['icr_login_network']


@pytest.mark.parametrize('network', [False, True], ids=['lean', 'network'])
def test_async_runs_either_module(emu, tmp_path, network):
    path = tmp_path / 'config.json'
    args = network_args(emu, path) if network else {'registries': [emu_host(emu)], 'password': '{{ key }}',
                                                    'config_path': str(path)}
    task = {'name': 'login', 'icr.auth.icr_login': args, 'async': 60, 'poll': 1}
    run = run_play(tmp_path / 'play', [task], secret_vars={'key': emu.apikey('svc-reader')},
                   env={'ANSIBLE_ASYNC_DIR': str(tmp_path / 'async')})
    assert run.rc == 0, run.text[-3000:]
    result = run.result('login')['result']
    assert result['changed'] and result['finished'] and result['registries'] == {emu_host(emu): 'added'}
    assert iam_calls(emu) == (1 if network else 0) and path.exists()


ROUTES = [
    ({'password': 'x'}, False, False),
    ({'api_key': 'k'}, False, False),
    ({'api_key': 'k', 'username_type': 'iamapikey'}, False, False),
    ({'api_key': 'k', 'username_type': 'iambearer'}, False, True),
    ({'api_key': 'k', 'username_type': 'iamrefresh'}, False, True),
    ({'api_key': '', 'username_type': 'iambearer'}, False, True),  # refused by the IAM client, as before
    ({'api_key': 'k', 'username_type': 'iambearer'}, True, False),
    ({'api_key': 'k', 'username_type': 'iambearer', 'state': 'absent'}, False, False),
    ({'api_key': 'k', 'username_type': 'iambearer', 'state': 'present'}, False, True),
    ({'password': 'x', 'username_type': 'iambearer'}, False, False),
    ({'password': 'x', 'validate': True}, False, True),
    ({'password': 'x', 'validate': 'yes'}, False, True),
    ({'password': 'x', 'validate': 'true'}, False, True),
    ({'password': 'x', 'validate': 1}, False, True),
    ({'password': 'x', 'validate': False}, False, False),
    ({'password': 'x', 'validate': 'no'}, False, False),
    ({'password': 'x', 'validate': True}, True, False),
    ({'password': 'x', 'validate': True, 'state': 'absent'}, False, False),
    ({'method': 'helper'}, False, False),  # docker-credential-icr gets the tokens: nothing to exchange on the host
    ({'method': 'helper', 'api_key': 'k', 'username_type': 'iambearer', 'validate': True}, False, False),  # refused
    ({'method': 'file', 'api_key': 'k', 'username_type': 'iambearer'}, False, True),
]


@pytest.fixture(scope='module')
def routed():
    """needs_network of each of ROUTES, asked in a child process: importing the action plugin loads the controller's
    side of ansible-core, which would change how modules run in this process report their warnings."""
    code = ('import json, sys\n'
            'from ansible_collections.icr.auth.plugins.module_utils._login_route import needs_network\n'
            'print(json.dumps([needs_network(args, check_mode) for args, check_mode in json.load(sys.stdin)]))\n')
    proc = subprocess.run([sys.executable, '-c', code], input=json.dumps([[args, check] for args, check, _e in ROUTES]),
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize('index', range(len(ROUTES)), ids=[json.dumps(r[0], sort_keys=True) + ('-check' if r[1] else '')
                                                           for r in ROUTES])
def test_routing(routed, index):
    args, check_mode, expected = ROUTES[index]
    assert routed[index] is expected, (args, check_mode)


@pytest.mark.parametrize('option, extra', [('api_key', {'api_key': API_KEY, 'username_type': 'iambearer'}),
                                           ('validate', {'password': API_KEY, 'validate': True})])
def test_the_lean_module_asked_for_the_network_names_the_option(tmp_path, option, extra):
    """icr_login carries no network code: run without its action plugin, it names the option that needs it."""
    args = dict(registries=['us.icr.io'], config_path=str(tmp_path / 'config.json'), **extra)
    failed, result, raw = run_module(icr_login, args)
    assert failed and result['msg'].startswith(option + ': ') and 'icr_login_network' in result['msg'], result
    assert API_KEY not in raw and not (tmp_path / 'config.json').exists()


def test_the_network_module_documents_the_same_options_and_says_it_is_internal():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([str(BIN / 'ansible-doc'), '--json', 'icr.auth.icr_login', 'icr.auth.icr_login_network'],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    login, network = docs['icr.auth.icr_login']['doc'], docs['icr.auth.icr_login_network']['doc']
    assert login['options'] == network['options'] and len(login['options']) == len(icr_login.argument_spec())
    assert 'Internal to icr.auth.icr_login' in network['short_description']
