# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin icr.auth.docker_auth_controller, internal to the role icr.auth.docker_auth: its controller part, one task.

With the linear strategy every task costs a worker process, even a skipped one. This task does, in one, what were
five tasks on the controller, in the same order, each step only when the one before passed:

1. every role variable checked against the role's meta/argument_specs.yml, as ansible.builtin.validate_argument_spec
   does (the same messages; the spec's no_log variables are never shown);
2. the checks the spec cannot express (vars/main.yml's __docker_auth_input_problems), every one named in one message;
3. a warning naming each docker_auth_* variable the role does not know (docker_auth_unknown_variables: warn);
4. when vars/main.yml's __docker_auth_exchange is true, icr.auth.icr_credential with __docker_auth_credential_args.
   Its failure is shown with the module's own message (which never holds the secret); its success, which holds the
   registry credential, is hidden from every output (the result is no_log) and registered for icr_login.

The internal variables are templated here, only after the variables passed validation, so that a wrong type is
reported by the validation and not as a templating error.
"""

from __future__ import annotations

import os

import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.icr.auth.plugins.plugin_utils._credential_in_process import controller_env, in_process_result, runs_here

# The role of this collection whose variables the plugin checks (plugins/action/ -> roles/docker_auth/).
SPEC_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         'roles', 'docker_auth', 'meta', 'argument_specs.yml')
# Set by the role's vars/main.yml: without it the plugin was not called by the role.
INTERNAL = '__docker_auth_input_problems'


def role_spec(path: str = SPEC_PATH) -> dict:
    """The options of the role's entry point main."""
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle)['argument_specs']['main']['options']


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset()
    _supports_check_mode = True

    def _internal(self, name: str, task_vars: dict) -> object:
        """The value of one of the role's internal variables (vars/main.yml), templated now."""
        return self._templar.template(task_vars[name])

    def run(self, tmp: str | None = None, task_vars: dict | None = None) -> dict:
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        result['changed'] = False
        if INTERNAL not in task_vars:
            result.update(failed=True, msg='icr.auth.docker_auth_controller is internal to the role icr.auth.docker_auth, '
                                           'which runs it as its first task: use the role, not this action.')
            return result

        spec = role_spec()
        provided = self._templar.template(dict((name, task_vars[name]) for name in spec if name in task_vars))
        errors = ArgumentSpecValidator(spec).validate(provided, validate_role_argument_spec=True).error_messages
        if errors:
            result.update(failed=True, argument_errors=errors,
                          msg='Validation of arguments failed:\n%s' % '\n'.join(errors))
            return result

        problems = self._internal('__docker_auth_input_problems', task_vars)
        if problems:
            result.update(failed=True, msg=' '.join(problems))
            return result

        if provided.get('docker_auth_unknown_variables', 'warn') == 'warn' and self._internal('__docker_auth_unknown', task_vars):
            result['warnings'] = [' '.join(str(self._internal('__docker_auth_unknown_text', task_vars)).split())]

        if not self._internal('__docker_auth_exchange', task_vars):
            result['exchanged'] = False
            return result

        # icr_credential returns the credential only to a no_log task (it warns and returns null otherwise): it runs as
        # one. This task is not no_log, so that a failure shows its message; its success result is (below). On the
        # controller its code runs in this process (as icr_credential's own action does), else as a module.
        args = self._internal('__docker_auth_credential_args', task_vars)
        credential = in_process_result(args, controller_env(), no_log=True) if runs_here(self) else None
        if credential is None:
            no_log, self._task.no_log = self._task.no_log, True
            try:
                credential = self._execute_module(module_name='icr.auth.icr_credential', module_args=args, task_vars=task_vars)
            finally:
                self._task.no_log = no_log
                self._remove_tmp_path(self._connection._shell.tmpdir)
        for warning in credential.get('warnings') or []:
            result.setdefault('warnings', []).append(warning)
        if credential.get('failed') or not credential.get('password'):
            # Only the module's message: the rest of a failed result is of no use here, and its message is the one
            # part that names the cause (IAM, a registry, the input) without the secret.
            result.update(failed=True, msg=credential.get('msg') or 'icr.auth.icr_credential failed and gave no reason.')
            return result
        result.update((key, value) for key, value in credential.items()
                      if key not in ('changed', 'invocation', 'warnings') and not key.startswith('_ansible'))
        result.update(exchanged=True, _ansible_no_log=True)
        return result
