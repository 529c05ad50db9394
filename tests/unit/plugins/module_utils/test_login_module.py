# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.icr.auth.plugins.module_utils import _login_module
from ansible_collections.icr.auth.plugins.module_utils._login_network import LoginNetwork


def test_the_network_is_used_where_its_code_can_be_imported():
    network = _login_module.importable_network({'timeout': 5})
    assert isinstance(network, LoginNetwork) and network.params == {'timeout': 5}


def test_no_network_where_its_code_is_not_shipped(monkeypatch):
    monkeypatch.setattr(_login_module, 'NETWORK', 'ansible_collections.icr.auth.plugins.module_utils._not_shipped')
    assert _login_module.importable_network({}) is None
