# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_login as an Ansible module: one run, for the modules icr_login and icr_login_network alike (internal use only).

Standard library only. icr_login's action plugin sends a host the module icr_login, which carries no network code,
unless the run needs the network there (an IAM exchange, a registry check; see _login_route): then it sends
icr_login_network, which runs with _network.Network as the network.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError, failure
from ansible_collections.icr.auth.plugins.module_utils._login import Login


def run(module: AnsibleModule, network: object | None) -> None:
    """Run icr_login with the module's params and exit; ``network`` is what Login uses for the network, if anything."""
    login = Login(module.params, check_mode=module.check_mode, diff=module._diff, network=network)
    try:
        result = login.run()
    except IcrAuthError as exc:
        module.fail_json(**failure(exc))
    for warning in login.warnings:
        module.warn(warning)
    module.exit_json(**result)
