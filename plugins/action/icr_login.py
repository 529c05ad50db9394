# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of icr.auth.icr_login: which module runs on the host (internal use only).

A host that only writes files gets the module icr_login, whose payload carries no network code. A run that talks to
the network on the host - an IAM exchange (api_key with a token username_type) or a registry check (validate), never
in check mode - gets icr_login_network, the same module with the network code. Everything else is as with the
`normal` action: the arguments (module_defaults already applied, group/icr.auth.icr included), check and diff mode,
no_log, become, delegation and async.

When the connection pipelines, a run without the network skips the module's AnsiballZ payload: the same code runs in
one Python on the host, fed on its standard input (plugin_utils._login_pipelined), with the same result.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.icr.auth.plugins.module_utils._login_route import LEAN_MODULE, module_for
from ansible_collections.icr.auth.plugins.plugin_utils._login_pipelined import pipelined_result
from ansible_collections.icr.auth.plugins.plugin_utils._module_run import run_module


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp: str | None = None, task_vars: dict | None = None) -> dict:
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        module = module_for(self._task.args, self._task.check_mode)
        if module == LEAN_MODULE:
            pipelined = pipelined_result(self, task_vars or {})
            if pipelined is not None:
                return merge_hash(result, pipelined)
        return run_module(self, result, module, task_vars)
