# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.icr.auth.plugins.module_utils._credential import USERNAME_TYPES
from ansible_collections.icr.auth.plugins.module_utils._specs import LOGIN_RULES, login_spec, network_spec, registry_spec


def test_icr_login_has_the_registry_and_network_options():
    spec = login_spec()
    assert set(registry_spec()) | set(network_spec()) <= set(spec)
    assert spec['username_type']['choices'] == list(USERNAME_TYPES) and spec['username_type']['default'] == 'iamapikey'
    assert [name for name, option in spec.items() if option.get('no_log')] == ['password', 'api_key', 'proxy']


def test_the_rules_name_options_of_the_spec():
    spec = login_spec()
    named = set()
    for rule in LOGIN_RULES['required_one_of'] + LOGIN_RULES['mutually_exclusive']:
        named.update(rule)
    for key, value, requirements, _any in LOGIN_RULES['required_if']:
        named.update((key,) + tuple(requirements))
        assert value in spec[key]['choices']
    assert named <= set(spec)


def test_each_call_gives_a_new_spec():
    first = login_spec()
    first['state']['default'] = 'absent'
    assert login_spec()['state']['default'] == 'present'
