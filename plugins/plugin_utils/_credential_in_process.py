# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_credential's code run in the controller's own worker process, when the task runs on the controller.

Internal use only. The module icr_credential runs on the controller in most plays (delegate_to: localhost, run_once):
there, packing it with AnsiballZ and starting another Python costs far more than its own work (a cached token and a
loopback registry check). When the task would run on the controller anyway, as the controller's user, the same code
(module_utils._obtain.obtain) runs here, with the same argument checks, the same result and the same masking of the
secrets as the module's exit_json and fail_json. Whatever this cannot do exactly as the module does is left to the
module: in_process_result then returns None.
"""

from __future__ import annotations

import os
import traceback

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError, failure
from ansible_collections.icr.auth.plugins.module_utils._options import credential_spec


def runs_here(action: object) -> bool:
    """Whether a task's module would run on the controller as the controller's user, with its environment as is."""
    task, connection, play_context = action._task, action._connection, action._play_context
    environment = task.environment  # a list of the play's, the block's and the task's (each {} when not set)
    no_environment = not environment or (isinstance(environment, list) and not any(environment))
    return (getattr(connection, 'transport', None) == 'local' and not play_context.become and not task.async_val
            and no_environment)


def inject_invocation(task_vars: dict) -> bool:
    """Whether a module's result holds its invocation: asked for with INJECT_INVOCATION (2.21+), always before."""
    if 'INJECT_INVOCATION' not in C.config.get_configuration_definitions():
        return True
    return bool(C.config.get_config_value('INJECT_INVOCATION', variables=task_vars))


def in_process_result(args: dict, env: dict, no_log: bool, invocation: bool = False) -> dict | None:
    """The result icr_credential's module would return for args, or None when the module must run instead.

    None when the arguments fail the module's checks (the module then reports them, word for word) and when the
    network code cannot be loaded here (requests missing from the controller's Python). invocation: the result holds
    the arguments (masked), as a module's does when ansible-core asks for it (inject_invocation).
    """
    validated = ArgumentSpecValidator(credential_spec()).validate(dict(args))
    if validated.error_messages:
        return None
    try:
        from ansible_collections.icr.auth.plugins.module_utils._obtain import credential_result, invocation_args
    except ImportError:
        return None
    params = validated.validated_parameters
    secrets = set(validated._no_log_values)  # pylint: disable=protected-access
    extra = {'invocation': {'module_args': invocation_args(params)}} if invocation else {}
    try:
        result, warnings = credential_result(params, env, no_log, secrets)
    except IcrAuthError as exc:
        failed = dict(failure(exc), failed=True, changed=False, **extra)
        return remove_values(failed, secrets)
    except Exception as exc:  # pylint: disable=broad-except
        # As an uncaught exception in the module: a failure, with the error and where it happened, masked.
        failed = dict(failed=True, changed=False, msg='icr_credential failed: %s: %s' % (type(exc).__name__, exc),
                      exception=''.join(traceback.format_exc()))
        return remove_values(failed, secrets)
    result = remove_values(dict(result, **extra), secrets)
    if warnings:
        result['warnings'] = remove_values(warnings, secrets)
    return result


def controller_env() -> dict:
    """The environment the module would see on the controller: the worker's own."""
    return dict(os.environ)
