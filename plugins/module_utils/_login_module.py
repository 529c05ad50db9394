# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_login as an Ansible module: one run, for the modules icr_login and icr_login_network alike (internal use only).

Standard library only. icr_login's action plugin sends a host the module icr_login, which carries no network code,
unless the run needs the network there (an IAM exchange, a registry check): then it sends icr_login_network, which
runs with _login_network.LoginNetwork as the network.
"""

from __future__ import annotations

import importlib

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError
from ansible_collections.icr.auth.plugins.module_utils._login import Login

# Named at run time, not in an import statement: ansible-core ships every module_utils file that an import statement
# names, wherever it stands, and icr_login's payload must not carry the network code.
NETWORK = 'ansible_collections.icr.auth.plugins.module_utils._login_network'


def importable_network(params: dict) -> object | None:
    """LoginNetwork where the network code can be imported (the whole collection, as when the module runs in-process);
    None in icr_login's payload, whose Login then fails any network step with a message that names the option."""
    try:
        network = importlib.import_module(NETWORK)
    except ImportError:
        return None
    return network.LoginNetwork(params)


def run(module: AnsibleModule, network: object | None) -> None:
    """Run icr_login with the module's params and exit; ``network`` is what Login uses for the network, if anything."""
    login = Login(module.params, check_mode=module.check_mode, diff=module._diff, network=network)
    try:
        result = login.run()
    except IcrAuthError as exc:
        module.fail_json(msg=exc.msg, **dict((k, v) for k, v in exc.details.items() if k in ('verification', 'code')))
    for warning in login.warnings:
        module.warn(warning)
    module.exit_json(**result)
