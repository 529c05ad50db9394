# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a module from an action plugin as the `normal` action does (internal use only)."""

from __future__ import annotations

from ansible.utils.vars import merge_hash


def run_module(action: object, result: dict, module_name: str, task_vars: dict | None) -> dict:
    """result merged with what module_name returns for the task's arguments: async, check mode, become, delegation and
    no_log as the task says; the task's temporary directory removed unless the module runs on in the background."""
    wrap_async = action._task.async_val
    result = merge_hash(result, action._execute_module(module_name=module_name, module_args=action._task.args,
                                                       task_vars=task_vars, wrap_async=wrap_async))
    if not wrap_async:
        action._remove_tmp_path(action._connection._shell.tmpdir)
    return result
