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
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

LEAN_MODULE = 'icr.auth.icr_login'
NETWORK_MODULE = 'icr.auth.icr_login_network'


def needs_network(args: dict, check_mode: bool) -> bool:
    """Whether icr_login, given these task arguments, may make a network call on the host.

    The arguments are as the task gives them, before the module checks them: a value the module refuses fails in
    either module with the same message, so only values that would pass decide here.
    """
    if check_mode or args.get('state') == 'absent':
        return False
    if args.get('validate') is not None and boolean(args['validate'], strict=False):
        return True
    return (args.get('api_key') is not None and args.get('password') is None
            and args.get('username_type') not in (None, 'iamapikey'))


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp: str | None = None, task_vars: dict | None = None) -> dict:
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        module = NETWORK_MODULE if needs_network(self._task.args, self._task.check_mode) else LEAN_MODULE
        wrap_async = self._task.async_val
        result = merge_hash(result, self._execute_module(module_name=module, module_args=self._task.args,
                                                         task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            # remove a temporary path we created
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
