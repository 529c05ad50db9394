# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of icr.auth.icr_credential: on the controller, the module's code runs without a module process.

When the task runs on the controller (a local connection, as with delegate_to: localhost), as the controller's user
(no become), without async and without the task keyword environment, the module's code runs in this worker process
(plugin_utils._credential_in_process): no AnsiballZ payload, no second Python. The arguments, the result, the
warnings and the masking are the module's. Anywhere else, and for arguments the module's checks refuse (so that its
own message is shown), the module runs as usual, as with the `normal` action.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.icr.auth.plugins.plugin_utils._credential_in_process import (
    controller_env, in_process_result, inject_invocation, runs_here)
from ansible_collections.icr.auth.plugins.plugin_utils._module_run import run_module


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp: str | None = None, task_vars: dict | None = None) -> dict:
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        if runs_here(self):
            here = in_process_result(self._task.args, controller_env(), bool(self._task.no_log),
                                     invocation=inject_invocation(task_vars or {}))
            if here is not None:
                return merge_hash(result, here)
        return run_module(self, result, 'icr.auth.icr_credential', task_vars)
