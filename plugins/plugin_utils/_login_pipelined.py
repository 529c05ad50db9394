# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_login's file work run on the host as one pipelined Python, without AnsiballZ (internal use only).

A module run costs the host an AnsiballZ payload whose largest part is ansible-core's basic.py, unpacked and imported
before the module's first line; icr_login's file work needs none of it. When the connection pipelines (the setting
large fleets turn on), icr_login's action plugin sends instead one Python script on the Python's standard input: a
small importer, the module_utils the file work uses (HOST_FILES, zipped), and the arguments, checked on the controller
with the module's own argument spec. Nothing of it is written on the host, and no secret is in a process argument.

The host runs the same code as the module (_login.run_login), with the same result, warnings, check and diff mode and
the same masking of the no_log values (password, api_key) in everything it returns. Whatever this cannot do exactly as
the module does is left to the module: pipelined_result then returns None - no pipelining, async, arguments the module
refuses (it then says why, word for word), or a run that needs the network. The host's Python is the module's: the
configured one, or the one ansible-core's interpreter discovery finds (run here, as for the module, and returned as the
fact discovered_interpreter_python).
"""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile

from ansible import constants as C
from ansible.executor import module_common
from ansible.executor.interpreter_discovery import InterpreterDiscoveryRequiredError, discover_interpreter
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.icr.auth.plugins.module_utils._options import LOGIN_RULES, login_spec
from ansible_collections.icr.auth.plugins.plugin_utils._credential_in_process import inject_invocation

PACKAGE = 'ansible_collections/icr/auth/plugins/module_utils/'
MODULE_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'module_utils')

# The module_utils _login imports, and what they import in turn (a unit test keeps this list equal to that closure).
HOST_FILES = (
    '_atomic_file', '_auth_file', '_config_store', '_cred_helpers', '_credential', '_dir_walk', '_errors', '_login',
    '_options', '_privilege', '_regions', '_target', '_username_base', '_username_iamapikey', '_username_iambearer',
    '_username_iamrefresh', '_username_profile', '_username_types',
)

# The options of type path: the task's text goes to the host, which expands ~ and $VAR there, as the module does.
PATH_OPTIONS = tuple(sorted(name for name, option in login_spec().items() if option.get('type') == 'path'))

# Run by the host's Python from its standard input. ZIP and ARGS are filled in by script(). It imports the package from
# the zip held in memory, runs _login.run_login and prints its result as one JSON object; an error it did not expect is
# printed as a failure (the controller masks the no_log values in it, as in any result).
HOST_SCRIPT = r'''
import sys
# Python puts the working directory first on sys.path for a program read from standard input: a json.py planted there
# would run as the become user. Nothing is imported before it is gone (as ansible-core's own wrapper does).
sys.path[:] = [p for p in sys.path if p not in ('', '.')]
import base64, io, json, os, traceback, zipfile
try:
    os.getcwd()
except OSError:  # a working directory the become user may not enter
    os.chdir(os.path.expanduser('~') if os.access(os.path.expanduser('~'), os.X_OK) else '/')
ZIP = %(zip)r
ARGS = %(args)r


class Importer(object):
    """Imports the modules of the zip held in memory (no file on the host)."""

    def __init__(self, data):
        self.zip = zipfile.ZipFile(io.BytesIO(base64.b64decode(data)))
        self.names = set(self.zip.namelist())

    def find_spec(self, fullname, path=None, target=None):
        import importlib.util
        base = fullname.replace('.', '/')
        for name, package in ((base + '/__init__.py', True), (base + '.py', False)):
            if name in self.names:
                spec = importlib.util.spec_from_loader(fullname, self, origin=name, is_package=package)
                return spec
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        origin = module.__spec__.origin
        exec(compile(self.zip.read(origin), '<icr.auth>/' + origin, 'exec'), module.__dict__)


def main():
    if sys.version_info < (3, 8):
        sys.stdout.write(json.dumps({'failed': True, 'msg': 'icr_login needs Python 3.8 or newer on the host; %%s is '
                                     'Python %%d.%%d: set ansible_python_interpreter to its Python 3.'
                                     %% ((sys.executable,) + tuple(sys.version_info[:2]))}) + '\n')
        return
    try:
        args = json.loads(ARGS)
        for name in args['path_options']:
            if args['params'].get(name) is not None:
                args['params'][name] = os.path.expanduser(os.path.expandvars(args['params'][name]))
        sys.meta_path.insert(0, Importer(ZIP))
        from ansible_collections.icr.auth.plugins.module_utils._login import run_login
        result = run_login(args['params'], args['check_mode'], args['diff'])
    except Exception as exc:
        result = {'failed': True, 'msg': 'icr_login failed on the host: %%s: %%s' %% (type(exc).__name__, exc),
                  'exception': traceback.format_exc()}
    sys.stdout.write(json.dumps(result) + '\n')


main()
'''


def bundle() -> bytes:
    """The zip of HOST_FILES under their package path, with the package's __init__ files."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as archive:
        parts = PACKAGE.rstrip('/').split('/')
        for depth in range(1, len(parts) + 1):
            archive.writestr('/'.join(parts[:depth]) + '/__init__.py', '')
        for name in HOST_FILES:
            archive.write(os.path.join(MODULE_UTILS, name + '.py'), PACKAGE + name + '.py')
    return out.getvalue()


def script(params: dict, check_mode: bool, diff: bool) -> bytes:
    """The Python program the host runs: the importer, the zip, the arguments (path options expanded on the host)."""
    args = dict(params=params, check_mode=check_mode, diff=diff, path_options=list(PATH_OPTIONS))
    return (HOST_SCRIPT % dict(zip=base64.b64encode(bundle()).decode('ascii'), args=json.dumps(args))).encode('utf-8')


def checked_params(args: dict) -> tuple[dict, set] | None:
    """(the module's parameters, the no_log values) for the task's arguments; None when the module refuses them.

    Options of type path keep the task's text: the host expands ~ and $VAR, as the module does there."""
    validated = ArgumentSpecValidator(login_spec(), **LOGIN_RULES).validate(dict(args))
    if validated.error_messages:
        return None
    params = dict(validated.validated_parameters)
    for name in PATH_OPTIONS:
        if params.get(name) is not None:
            params[name] = str(args[name])
    return params, set(validated._no_log_values)  # pylint: disable=protected-access


def interpreter(action: object, task_vars: dict) -> str | None:
    """The host's Python as the module would run it ('#!...'): the configured one, or the one ansible-core discovers for
    the host (discovery runs here as it would for the module, once per host; the action returns it as the fact)."""
    use_vars = task_vars
    if action._task.delegate_to:
        use_vars = task_vars.get('ansible_delegated_vars', {}).get(action._task.delegate_to, task_vars)
    local = bool(getattr(action._connection, '_remote_is_local', False))
    for _attempt in (1, 2):
        try:
            return module_common._get_shebang('/usr/bin/python', use_vars, action._templar, remote_is_local=local)[0] or None
        except InterpreterDiscoveryRequiredError as idre:
            found = discover_interpreter(action=action, interpreter_name=idre.interpreter_name,
                                         discovery_mode=idre.discovery_mode, task_vars=use_vars)
            key = 'discovered_interpreter_%s' % idre.interpreter_name
            use_vars.setdefault('ansible_facts', {})[key] = found
            if not action._task.delegate_to or action._task.delegate_facts:
                action._discovered_interpreter_key, action._discovered_interpreter = key, found
    return None


def pipelines(action: object) -> bool:
    """Whether the task's connection pipelines. Under a strategy whose action layer runs modules its own way, without
    AnsiballZ and without pipelining (mitogen's), the module runs: that is already what this saves."""
    if any(cls.__module__.split('.')[0] == 'ansible_mitogen' for cls in type(action).__mro__):
        return False
    return bool(action._is_pipelining_enabled('new'))


def pipelined_result(action: object, task_vars: dict) -> dict | None:
    """icr_login's result for the task, from one pipelined Python on the host; None when the module must run."""
    if action._task.async_val or C.DEFAULT_KEEP_REMOTE_FILES or not pipelines(action):
        return None
    checked = checked_params(action._task.args)
    if checked is None:
        return None
    shebang = interpreter(action, task_vars)
    if shebang is None:
        return None
    params, secrets = checked
    shell = action._connection._shell
    command = shell.build_module_command(action._compute_environment_string(), shebang, '').strip()
    action._used_interpreter = shebang
    res = action._low_level_execute_command(command, sudoable=True,
                                            in_data=script(params, bool(action._task.check_mode), bool(action._task.diff)))
    result = parse(res, shebang)
    if getattr(action, '_discovered_interpreter_key', None):
        result['ansible_facts'] = {action._discovered_interpreter_key: action._discovered_interpreter}
    if inject_invocation(task_vars):
        result['invocation'] = {'module_args': params}
    preserved = dict((k, v) for k, v in result.items() if v is None or isinstance(v, bool))
    result = remove_values(result, secrets)
    result.update(preserved)
    return result


def parse(res: dict, shebang: str) -> dict:
    """The host's result from the command's output: its last line, a JSON object; else a failure that says why."""
    lines = [line for line in (res.get('stdout') or '').splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1])
        if isinstance(result, dict):
            return result
    except (IndexError, ValueError):
        pass
    python = shebang.replace('#!', '').strip()
    if res.get('rc') == 127:
        msg = ('icr_login could not run the host\'s Python %s (not found): set ansible_python_interpreter for this '
               'host to its Python 3.' % python)
    else:
        msg = 'icr_login got no result from the host\'s Python %s (exit status %s); see module_stderr.' % (python, res.get('rc'))
    return dict(failed=True, changed=False, msg=msg, rc=res.get('rc'), module_stdout=res.get('stdout', ''),
                module_stderr=res.get('stderr', ''))
