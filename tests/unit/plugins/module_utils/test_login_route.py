# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils._login_route import (
    LEAN_MODULE, NETWORK_MODULE, module_for, needs_network)

KEY = 'UnitLoginModuleKey0123456789'


@pytest.mark.parametrize('args, check_mode, module', [
    (dict(password='p'), False, LEAN_MODULE),
    (dict(api_key=KEY), False, LEAN_MODULE),                                   # iamapikey: the key is the password
    (dict(api_key=KEY, username_type='iamapikey'), False, LEAN_MODULE),
    (dict(api_key=KEY, username_type='iambearer'), False, NETWORK_MODULE),     # the IAM exchange on the host
    (dict(api_key=KEY, username_type='iamrefresh'), False, NETWORK_MODULE),
    (dict(api_key=KEY, username_type='iambearer'), True, LEAN_MODULE),         # check mode makes no network call
    (dict(api_key=KEY, username_type='iambearer', state='absent'), False, LEAN_MODULE),
    (dict(password='p', validate=True), False, NETWORK_MODULE),                # the registry check on the host
    (dict(password='p', validate='yes'), False, NETWORK_MODULE),
    (dict(password='p', validate='false'), False, LEAN_MODULE),
    (dict(password='p', validate=True), True, LEAN_MODULE),
    (dict(api_key=KEY, username_type='nosuchtype'), False, NETWORK_MODULE),   # the module says what is wrong
    (dict(api_key=KEY, username_type='trusted_profile', trusted_profile_id='Profile-x'), False, LEAN_MODULE),  # no IAM
    (dict(password='p', username_type='trusted_profile', validate=True), False, NETWORK_MODULE),
    (dict(method='helper'), False, LEAN_MODULE),                               # the helper gets its own tokens
    (dict(method='helper', validate=True, api_key=KEY, username_type='iambearer'), False, LEAN_MODULE),  # refused there
])
def test_the_module_for_a_task(args, check_mode, module):
    assert module_for(args, check_mode) == module


@pytest.mark.parametrize('args, check_mode, module', [
    (dict(password='p', validate=False), False, LEAN_MODULE),
    (dict(password='p', validate=None), False, LEAN_MODULE),                   # left out by the task
    (dict(password='p', validate='maybe'), False, LEAN_MODULE),                # not a boolean: the module refuses it
    (dict(password='p', validate='on'), False, NETWORK_MODULE),
    (dict(api_key=KEY, username_type='iambearer', validate=False), False, NETWORK_MODULE),
    (dict(api_key=KEY, username_type='iambearer', password=''), False, LEAN_MODULE),  # a password given wins
    (dict(api_key=KEY, username_type='iambearer', state='present', method='file'), False, NETWORK_MODULE),
    (dict(api_key=KEY, username_type=None), False, LEAN_MODULE),               # the default type, iamapikey
    (dict(api_key=KEY, username_type=''), False, LEAN_MODULE),
    (dict(api_key=KEY, username_type='iambearer', state='absent', validate=True), False, LEAN_MODULE),
    (dict(api_key=KEY, username_type='iambearer', method='helper'), False, LEAN_MODULE),
    (dict(api_key=KEY, username_type='iambearer', method='helper'), True, LEAN_MODULE),
    (dict(), False, LEAN_MODULE),
])
def test_the_module_for_more_tasks(args, check_mode, module):
    assert module_for(args, check_mode) == module
    assert needs_network(args, check_mode) is (module == NETWORK_MODULE)


def test_the_module_names():
    assert (LEAN_MODULE, NETWORK_MODULE) == ('icr.auth.icr_login', 'icr.auth.icr_login_network')
