# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The argument specs, and the defaults the engines read from them."""

from __future__ import annotations

from ansible_collections.icr.auth.plugins.module_utils import _options as options
from ansible_collections.icr.auth.plugins.module_utils._username_types import USERNAME_TYPES
from ansible_collections.icr.auth.plugins.modules import icr_credential, icr_login


def test_each_module_takes_its_spec_from_here():
    assert icr_login.argument_spec() == options.login_spec()
    assert icr_credential.argument_spec() == options.credential_spec()


def test_the_defaults_are_the_specs_own():
    assert options.LOGIN_DEFAULTS == options.defaults(options.login_spec())
    assert options.CREDENTIAL_DEFAULTS == options.defaults(options.credential_spec())
    for name, value in (('username_type', 'iamapikey'), ('state', 'present'), ('format', 'docker'),
                        ('credential_store', 'auto'), ('min_validity', 600), ('timeout', 30), ('retries', 4)):
        assert options.LOGIN_DEFAULTS[name] == value, name
    for name, value in (('username_type', 'iamapikey'), ('min_validity', 900), ('cache', True)):
        assert options.CREDENTIAL_DEFAULTS[name] == value, name
    assert 'password' not in options.LOGIN_DEFAULTS and 'verify' not in options.CREDENTIAL_DEFAULTS


def test_username_type_choices_are_the_registered_types():
    for spec in (options.login_spec(), options.credential_spec()):
        assert spec['username_type']['choices'] == list(USERNAME_TYPES)
    assert all(spec[name].get('no_log') for spec in (options.login_spec(), options.credential_spec())
               for name in ('api_key', 'proxy'))
    assert options.login_spec()['password']['no_log'] and options.login_spec()['credential_store']['no_log'] is False


def test_login_rules():
    assert options.LOGIN_RULES == dict(required_one_of=[('regions', 'registries')],
                                       mutually_exclusive=[('password', 'api_key')])
    assert options.API_KEY_ENV == ('IBMCLOUD_API_KEY', 'IC_API_KEY')
