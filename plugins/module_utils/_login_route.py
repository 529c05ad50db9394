# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which module runs an icr_login task on the host (internal use only).

Used by icr_login's action plugin, on the controller; no module imports it, so no host is sent it.
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.icr.auth.plugins.module_utils import _username_types as username_types
from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError

LEAN_MODULE = 'icr.auth.icr_login'
NETWORK_MODULE = 'icr.auth.icr_login_network'


def needs_network(args: dict, check_mode: bool) -> bool:
    """Whether icr_login, given these task arguments, may make a network call on the host.

    The arguments are as the task gives them, before the module checks them: a value the module refuses fails in
    either module with the same message, so only values that would pass decide here.
    """
    if check_mode or args.get('state') == 'absent' or args.get('method') == 'helper':
        return False
    if args.get('validate') is not None and boolean(args['validate'], strict=False):
        return True
    if args.get('api_key') is None or args.get('password') is not None:
        return False
    try:
        return username_types.get(args.get('username_type') or 'iamapikey').needs_iam
    except IcrAuthError:
        return True  # an unknown type: let the module that can do everything say what is wrong


def module_for(args: dict, check_mode: bool) -> str:
    """The module that runs icr_login's task on the host."""
    return NETWORK_MODULE if needs_network(args, check_mode) else LEAN_MODULE
