# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What icr_login does on the network: the IAM exchange and the registry check, from its options (internal use only).

Only the module icr_login_network imports this file, so only the hosts that talk to the network are sent it (and, with
it, _http, _iam, _registry and _options).
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions
from ansible_collections.icr.auth.plugins.module_utils._iam import IamClient
from ansible_collections.icr.auth.plugins.module_utils._options import exchange, iam_endpoint, verify_all


class LoginNetwork(object):
    """The network of _login.Login, made from the module's params; nothing is checked or opened until a step is asked."""

    def __init__(self, params: dict) -> None:
        self.params = params

    def exchange(self, api_key: str, username_type: str) -> SimpleNamespace:
        """password, expires_at, iam_id and account_id of the registry credential IAM issues for the API key."""
        client = IamClient(iam_endpoint(self.params, os.environ), HttpOptions.from_params(self.params))
        password, expires_at, token = exchange(client, api_key, username_type)
        return SimpleNamespace(password=password, expires_at=expires_at, iam_id=getattr(token, 'iam_id', None),
                               account_id=getattr(token, 'account_id', None))

    def verify(self, hosts: list[str], username: str, password: str) -> list:
        """The _registry.Verification of (username, password) at each host."""
        return verify_all(HttpOptions.from_params(self.params), hosts, username, password)
