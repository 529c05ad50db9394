# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_login's pipelined run: what the host is sent, that a real Python runs it as the module would, and when the
module runs instead."""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import types
import zipfile

import pytest

from ansible.executor import module_common
from ansible.executor.interpreter_discovery import InterpreterDiscoveryRequiredError
from ansible.plugins.loader import shell_loader

from ansible_collections.icr.auth.plugins.module_utils import _login
from ansible_collections.icr.auth.plugins.plugin_utils import _login_pipelined as lp

KEY = 'PipeKey0123456789abcdefghijklmnopqrstuvwxyz_1'
PACKAGE = 'ansible_collections.icr.auth.plugins.module_utils.'


def imports_of(name: str) -> set:
    """The module_utils a module_utils file imports (anywhere in it, as ansible-core's finder sees them)."""
    with open(os.path.join(lp.MODULE_UTILS, name + '.py')) as source:
        tree = ast.parse(source.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PACKAGE.rstrip('.'):
                found.update(alias.name for alias in node.names)
            elif node.module.startswith(PACKAGE):
                found.add(node.module[len(PACKAGE):])
        elif isinstance(node, ast.Import):
            found.update(a.name[len(PACKAGE):] for a in node.names if a.name.startswith(PACKAGE))
    return found


def closure(name: str) -> set:
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(imports_of(current))
    return seen


def test_host_files_are_exactly_what_login_imports():
    assert sorted(lp.HOST_FILES) == sorted(closure('_login'))
    assert not {'_http', '_iam', '_registry', '_network'} & set(lp.HOST_FILES)


def test_the_bundle_holds_the_package_and_each_host_file_as_it_is():
    archive = zipfile.ZipFile(io.BytesIO(lp.bundle()))
    names = set(archive.namelist())
    assert {'ansible_collections/__init__.py', 'ansible_collections/icr/auth/plugins/module_utils/__init__.py'} <= names
    assert len(names) == len(lp.HOST_FILES) + 5
    with open(os.path.join(lp.MODULE_UTILS, '_login.py'), 'rb') as source:
        assert archive.read(lp.PACKAGE + '_login.py') == source.read()


def params(tmp_path, **extra):
    checked = lp.checked_params(dict(dict(regions=['us-south'], password=KEY,
                                          config_path=str(tmp_path / 'cfg' / 'config.json')), **extra))
    assert checked is not None
    return checked[0]


def run_script(tmp_path, script: bytes, python=sys.executable) -> tuple[dict, subprocess.CompletedProcess]:
    """Run script as the host's Python does: on its standard input, with its own HOME, TMPDIR and working directory."""
    home = tmp_path / 'home'
    home.mkdir(exist_ok=True)
    env = {'PATH': os.environ['PATH'], 'HOME': str(home), 'TMPDIR': str(home), 'PYTHONDONTWRITEBYTECODE': '1'}
    proc = subprocess.run([python], input=script, capture_output=True, cwd=str(home), env=env, check=False)
    return lp.parse({'rc': proc.returncode, 'stdout': proc.stdout.decode(), 'stderr': proc.stderr.decode()},
                    '#!' + python), proc


def test_a_real_python_runs_the_script_as_the_module_would_and_leaves_no_file(tmp_path):
    result, proc = run_script(tmp_path, lp.script(params(tmp_path), False, True))
    assert proc.returncode == 0 and proc.stderr == b'', proc.stderr
    assert result['changed'] is True and result['registries'] == {'us.icr.io': 'added'}
    assert result['diff']['before'] == '{}\n' and KEY not in json.dumps(result)
    stored = json.loads((tmp_path / 'cfg' / 'config.json').read_text())
    assert list(stored['auths']) == ['us.icr.io']
    assert os.listdir(str(tmp_path / 'home')) == []  # nothing unpacked, cached or compiled on the host
    again, _proc = run_script(tmp_path, lp.script(params(tmp_path), False, False))
    expected = _login.run_login(params(tmp_path), False, False)
    assert again == expected and again['changed'] is False and 'diff' not in again


def test_modules_planted_in_the_working_directory_are_never_imported(tmp_path):
    """The host's Python reads the program from standard input, which puts the working directory (here the home a
    hostile user could write to) first on sys.path: nothing planted there may run."""
    home = tmp_path / 'home'
    home.mkdir()
    marker = tmp_path / 'planted-code-ran'
    for name in ('json', 'zipfile', 'base64', 'io', 'traceback', 'importlib', 'ansible_collections', 'tempfile', 'stat',
                 'pwd', 'fcntl', 'hashlib', 'errno', 'shutil'):
        (home / (name + '.py')).write_text('open(%r, "a").write(%r)\n' % (str(marker), name + '\n'))
    result, proc = run_script(tmp_path, lp.script(params(tmp_path), False, False))
    assert not marker.exists(), marker.read_text()
    assert result['changed'] is True and proc.returncode == 0, result
    assert 'us.icr.io' in json.loads((tmp_path / 'cfg' / 'config.json').read_text())['auths']


def test_a_working_directory_that_is_gone_does_not_stop_the_run(tmp_path):
    gone = tmp_path / 'gone'
    gone.mkdir()
    checked = lp.checked_params({'regions': ['us-south'], 'password': KEY, 'config_path': 'rel/config.json'})[0]
    program = b'import os; os.rmdir(%r)\n' % str(gone).encode() + lp.script(checked, False, False)
    (tmp_path / 'home').mkdir()
    env = {'PATH': os.environ['PATH'], 'HOME': str(tmp_path / 'home')}
    proc = subprocess.run([sys.executable], input=program, capture_output=True, cwd=str(gone), env=env, check=False)
    result = lp.parse({'rc': proc.returncode, 'stdout': proc.stdout.decode(), 'stderr': proc.stderr.decode()}, '#!x')
    assert 'failed' not in result or 'getcwd' not in result.get('exception', ''), result
    assert result.get('failed') is True and 'rel/config.json' in result['msg'], result  # relative: refused by name


def test_the_host_expands_a_path_option_with_its_own_home(tmp_path):
    checked = lp.checked_params({'regions': ['us-south'], 'password': KEY, 'config_path': '$HOME/sub/config.json'})
    assert checked[0]['config_path'] == '$HOME/sub/config.json'  # not expanded with the controller's HOME
    result, _proc = run_script(tmp_path, lp.script(checked[0], False, False))
    assert result['config_path'] == str(tmp_path / 'home' / 'sub' / 'config.json')
    assert (tmp_path / 'home' / 'sub' / 'config.json').is_file()


def test_check_mode_writes_nothing(tmp_path):
    result, _proc = run_script(tmp_path, lp.script(params(tmp_path), True, False))
    assert result['changed'] is True and not (tmp_path / 'cfg').exists()


def test_a_file_it_cannot_parse_fails_the_task_and_is_left_as_it_was(tmp_path):
    (tmp_path / 'cfg').mkdir()
    (tmp_path / 'cfg' / 'config.json').write_bytes(b'{"auths": {')
    result, _proc = run_script(tmp_path, lp.script(params(tmp_path), False, False))
    assert result['failed'] is True and str(tmp_path / 'cfg' / 'config.json') in result['msg']
    assert (tmp_path / 'cfg' / 'config.json').read_bytes() == b'{"auths": {'
    assert 'warnings' not in result and KEY not in json.dumps(result)


def test_an_error_it_did_not_expect_is_a_failure_with_its_traceback(tmp_path):
    bad = dict(params(tmp_path), regions=5)  # past the controller's checks, as only a bug could send it
    result, _proc = run_script(tmp_path, lp.script(bad, False, False))
    assert result['failed'] is True and result['msg'].startswith('icr_login failed on the host: TypeError: ')
    assert 'Traceback' in result['exception']


@pytest.mark.parametrize('version', ['2.7', '3.6'])
def test_a_python_too_old_for_the_collection_is_named(tmp_path, version):
    found = [p for p in sorted(os.listdir('/root/.pyenv/versions')) if p.startswith(version + '.')] \
        if os.path.isdir('/root/.pyenv/versions') else []
    if not found:
        pytest.skip('no Python %s on this machine' % version)
    python = '/root/.pyenv/versions/%s/bin/python' % found[-1]
    result, _proc = run_script(tmp_path, lp.script(params(tmp_path), False, False), python=python)
    assert result == {'failed': True, 'msg': 'icr_login needs Python 3.8 or newer on the host; %s is Python %s: set '
                      'ansible_python_interpreter to its Python 3.' % (python, version)}
    assert not (tmp_path / 'cfg').exists()


def test_a_python_that_is_not_there_is_named():
    failed = lp.parse({'rc': 127, 'stdout': '', 'stderr': '/bin/sh: 1: /opt/py3: not found\n'}, '#!/opt/py3')
    assert failed['failed'] is True and '/opt/py3' in failed['msg'] and 'ansible_python_interpreter' in failed['msg']
    garbled = lp.parse({'rc': 1, 'stdout': 'no json here', 'stderr': 'boom'}, '#!/usr/bin/python3')
    assert 'exit status 1' in garbled['msg'] and garbled['module_stderr'] == 'boom'
    listed = lp.parse({'rc': 0, 'stdout': '[1]\n', 'stderr': ''}, '#!/usr/bin/python3')
    assert listed['failed'] is True


@pytest.mark.parametrize('args', [
    {'regions': ['us-south'], 'password': KEY, 'api_key': KEY},  # mutually exclusive
    {'password': KEY},  # neither regions nor registries
    {'regions': ['us-south'], 'password': KEY, 'bogus': 1},
    {'regions': ['us-south'], 'password': KEY, 'min_validity': 'soon'},
])
def test_arguments_the_module_refuses_are_left_to_the_module(args):
    assert lp.checked_params(args) is None


def test_checked_params_are_the_module_s_with_defaults_and_the_no_log_values():
    checked, secrets = lp.checked_params({'regions': 'us-south', 'password': KEY, 'min_validity': '60'})
    assert checked['regions'] == ['us-south'] and checked['min_validity'] == 60 and checked['format'] == 'docker'
    assert secrets == {KEY}


class FakeAction(object):
    """What pipelined_result uses of an action plugin; the command runs for real, in a local shell."""

    def __init__(self, tmp_path, args, pipelining=True, async_val=0, check_mode=False, diff=False, stdout=None):
        self._task = types.SimpleNamespace(args=args, async_val=async_val, check_mode=check_mode, diff=diff,
                                           delegate_to=None)
        self._connection = types.SimpleNamespace(_shell=shell_loader.get('sh'))
        self.pipelining, self.tmp_path, self.stdout, self.commands = pipelining, tmp_path, stdout, []

    def _is_pipelining_enabled(self, style, wrap_async=False):
        return self.pipelining and style == 'new'

    def _compute_environment_string(self):
        return 'HOME=%s' % (self.tmp_path / 'home')

    def _low_level_execute_command(self, cmd, sudoable=True, in_data=None):
        self.commands.append((cmd, in_data))
        if self.stdout is not None:
            return {'rc': 0, 'stdout': self.stdout, 'stderr': ''}
        (self.tmp_path / 'home').mkdir(exist_ok=True)
        proc = subprocess.run(['/bin/sh', '-c', cmd], input=in_data, capture_output=True, check=False)
        return {'rc': proc.returncode, 'stdout': proc.stdout.decode(), 'stderr': proc.stderr.decode()}


@pytest.fixture
def python_found(monkeypatch):
    monkeypatch.setattr(lp, 'interpreter', lambda action, task_vars: '#!' + sys.executable)


def login_args(tmp_path):
    return {'regions': ['us-south'], 'password': KEY, 'config_path': '~/config.json'}


def test_the_secret_goes_on_standard_input_never_in_the_command(tmp_path, python_found):
    action = FakeAction(tmp_path, login_args(tmp_path), diff=True)
    result = lp.pipelined_result(action, {})
    assert result['changed'] is True and (tmp_path / 'home' / 'config.json').is_file()
    [(command, in_data)] = action.commands
    assert KEY not in command and command.startswith('HOME=') and command.endswith(sys.executable)
    assert KEY.encode() in in_data
    assert action._used_interpreter == '#!' + sys.executable
    assert KEY not in json.dumps(result)


def test_the_result_is_masked_and_its_invocation_too(tmp_path, python_found, monkeypatch):
    monkeypatch.setattr(lp, 'inject_invocation', lambda task_vars: True)
    leaked = json.dumps({'changed': False, 'failed': True, 'msg': 'saw %s' % KEY, 'extra': [KEY]})
    result = lp.pipelined_result(FakeAction(tmp_path, login_args(tmp_path), stdout=leaked + '\n'), {})
    assert KEY not in json.dumps(result) and result['failed'] is True and result['changed'] is False
    assert result['invocation']['module_args']['password'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert result['invocation']['module_args']['config_path'] == '~/config.json'
    monkeypatch.setattr(lp, 'inject_invocation', lambda task_vars: False)
    plain = lp.pipelined_result(FakeAction(tmp_path, login_args(tmp_path), stdout=leaked), {})
    assert 'invocation' not in plain


@pytest.mark.parametrize('change', [{'pipelining': False}, {'async_val': 30}])
def test_the_module_runs_without_pipelining_or_with_async(tmp_path, python_found, change):
    action = FakeAction(tmp_path, login_args(tmp_path), **change)
    assert lp.pipelined_result(action, {}) is None and action.commands == []


class MitogenMixin(object):
    """As mitogen's ActionModuleMixin: its action layer asserts that pipelining is never asked about."""

    def _is_pipelining_enabled(self, style, wrap_async=False):
        raise AssertionError('_is_pipelining_enabled() should never be called.')


MitogenMixin.__module__ = 'ansible_mitogen.mixins'


class MitogenAction(MitogenMixin, FakeAction):
    pass


def test_under_mitogen_the_module_runs_and_pipelining_is_not_asked(tmp_path, python_found):
    action = MitogenAction(tmp_path, login_args(tmp_path))
    assert lp.pipelined_result(action, {}) is None and action.commands == []
    assert lp.pipelines(FakeAction(tmp_path, login_args(tmp_path))) is True


def test_the_module_runs_when_it_would_refuse_the_arguments(tmp_path, python_found):
    action = FakeAction(tmp_path, dict(login_args(tmp_path), api_key=KEY))
    assert lp.pipelined_result(action, {}) is None and action.commands == []


def test_no_interpreter_leaves_the_run_to_the_module(tmp_path, monkeypatch):
    monkeypatch.setattr(lp, 'interpreter', lambda action, task_vars: None)
    action = FakeAction(tmp_path, login_args(tmp_path))
    assert lp.pipelined_result(action, {}) is None and action.commands == []


def fake_shebang(seen):
    def shebang(interpreter, task_vars, templar, args=(), remote_is_local=False):
        seen.append((interpreter, dict(task_vars), remote_is_local))
        if 'ansible_python_interpreter' in task_vars:
            return '#!' + task_vars['ansible_python_interpreter'], task_vars['ansible_python_interpreter']
        found = task_vars.get('ansible_facts', {}).get('discovered_interpreter_python')
        if found is None:
            raise InterpreterDiscoveryRequiredError('needed', interpreter_name='python', discovery_mode='auto_silent')
        return '#!' + found, found
    return shebang


def test_the_interpreter_is_the_host_s_configured_python(monkeypatch):
    seen = []
    monkeypatch.setattr(module_common, '_get_shebang', fake_shebang(seen))
    monkeypatch.setattr(lp, 'discover_interpreter', lambda **kw: pytest.fail('no discovery expected'))
    action = types.SimpleNamespace(_task=types.SimpleNamespace(delegate_to=None), _templar=None,
                                   _connection=types.SimpleNamespace(), _discovered_interpreter_key=None)
    assert lp.interpreter(action, {'ansible_python_interpreter': '/opt/py/bin/python3'}) == '#!/opt/py/bin/python3'
    delegated = types.SimpleNamespace(_task=types.SimpleNamespace(delegate_to='other'), _templar=None,
                                      _connection=types.SimpleNamespace(_remote_is_local=True))
    other = {'ansible_python_interpreter': '/usr/bin/python3.11'}
    assert lp.interpreter(delegated, {'ansible_delegated_vars': {'other': other}}) == '#!/usr/bin/python3.11'
    assert seen[-1] == ('/usr/bin/python', other, True)


@pytest.mark.parametrize('delegate_to, delegate_facts, returned', [
    (None, False, True), ('other', False, False), ('other', True, True)])
def test_an_undiscovered_interpreter_is_discovered_as_for_the_module_and_returned_as_the_fact(
        monkeypatch, delegate_to, delegate_facts, returned):
    seen, asked = [], []
    monkeypatch.setattr(module_common, '_get_shebang', fake_shebang(seen))

    def discover(action, interpreter_name, discovery_mode, task_vars):
        asked.append((interpreter_name, discovery_mode))
        return '/usr/bin/python3.11'

    monkeypatch.setattr(lp, 'discover_interpreter', discover)
    action = types.SimpleNamespace(_task=types.SimpleNamespace(delegate_to=delegate_to, delegate_facts=delegate_facts),
                                   _templar=None, _connection=types.SimpleNamespace(), _discovered_interpreter_key=None,
                                   _discovered_interpreter=False)
    host_vars = {'ansible_facts': {}}
    task_vars = {'ansible_delegated_vars': {'other': host_vars}} if delegate_to else host_vars
    assert lp.interpreter(action, task_vars) == '#!/usr/bin/python3.11'
    assert asked == [('python', 'auto_silent')]
    assert host_vars['ansible_facts'] == {'discovered_interpreter_python': '/usr/bin/python3.11'}
    assert (action._discovered_interpreter_key == 'discovered_interpreter_python') is returned
    assert lp.interpreter(action, task_vars) == '#!/usr/bin/python3.11' and len(asked) == 1  # once per host


def test_a_discovered_interpreter_is_returned_as_the_fact(tmp_path, python_found):
    action = FakeAction(tmp_path, login_args(tmp_path))
    action._discovered_interpreter_key, action._discovered_interpreter = 'discovered_interpreter_python', sys.executable
    result = lp.pipelined_result(action, {})
    assert result['ansible_facts'] == {'discovered_interpreter_python': sys.executable} and result['changed'] is True
    plain = FakeAction(tmp_path, login_args(tmp_path))
    assert 'ansible_facts' not in lp.pipelined_result(plain, {})
