# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _login_network
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._login_network import LoginNetwork
from ansible_collections.icr.auth.plugins.module_utils._registry import Verification
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY


def test_nothing_is_checked_until_a_step_is_asked():
    network = LoginNetwork({'timeout': 0, 'iam_endpoint': 'nowhere'})
    with pytest.raises(InputError) as raised:
        network.verify(['us.icr.io'], 'iamapikey', API_KEY)
    assert raised.value.msg.startswith('timeout: ')
    with pytest.raises(InputError) as raised:
        network.exchange(API_KEY, 'iambearer')
    assert raised.value.msg.startswith('timeout: ')


def test_a_bad_iam_endpoint_is_refused_when_the_exchange_is_asked():
    with pytest.raises(InputError) as raised:
        LoginNetwork({'iam_endpoint': 'nowhere'}).exchange(API_KEY, 'iambearer')
    assert raised.value.msg.startswith('iam_endpoint: ')


def test_an_api_key_is_the_credential_of_iamapikey_without_a_call():
    exchanged = LoginNetwork({}).exchange(API_KEY, 'iamapikey')
    assert (exchanged.password, exchanged.expires_at, exchanged.iam_id, exchanged.account_id) == (API_KEY, None, None, None)


def test_verify_uses_the_options_of_the_params(monkeypatch):
    seen = []

    def verify_all(http_options, hosts, username, password):
        seen.append((http_options.timeout, http_options.retries, tuple(hosts), username, password))
        return [Verification(h, True, 'ok') for h in hosts]

    monkeypatch.setattr(_login_network, 'verify_all', verify_all)
    results = LoginNetwork({'timeout': 7, 'retries': 1}).verify(['us.icr.io'], 'iamapikey', API_KEY)
    assert [v.host for v in results] == ['us.icr.io'] and seen == [(7.0, 1, ('us.icr.io',), 'iamapikey', API_KEY)]
