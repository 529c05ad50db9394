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


NETWORK = dict(
    iam_endpoint=dict(type='str'),
    validate_certs=dict(type='bool', default=True),
    ca_path=dict(type='path'),
    timeout=dict(type='float', default=30.0),
    retries=dict(type='int', default=4),
    proxy=dict(type='str', no_log=True),
)
REGISTRY = dict(
    regions=dict(type='list', elements='str', aliases=['region']),
    registries=dict(type='list', elements='str', aliases=['registry']),
    private_endpoint=dict(type='bool', default=False),
    username_type=dict(type='str', default='iamapikey', choices=list(USERNAME_TYPES)),
    trusted_profile_id=dict(type='str'),
)


def test_network_spec_states_each_option():
    assert options.network_spec() == NETWORK
    assert options.TIMEOUT == 30.0 and options.RETRIES == 4


def test_registry_spec_states_each_option():
    assert options.registry_spec() == REGISTRY


def test_login_spec_states_each_option():
    expected = dict(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        method=dict(type='str', default='file', choices=['file', 'helper']),
        namespaces=dict(type='list', elements='str'),
        password=dict(type='str', no_log=True),
        api_key=dict(type='str', no_log=True),
        user=dict(type='str'),
        config_path=dict(type='path'),
        format=dict(type='str', default='docker', choices=['docker', 'containers', 'both']),
        credential_store=dict(type='str', default='auto', no_log=False),
        min_validity=dict(type='int', default=600),
        validate=dict(type='bool', default=False),
        reauthorize=dict(type='bool', default=False),
        owner=dict(type='str'),
        group=dict(type='str'),
        mode=dict(type='raw'),
    )
    expected.update(REGISTRY)
    expected.update(NETWORK)
    assert options.login_spec() == expected


def test_credential_spec_states_each_option():
    expected = dict(
        api_key=dict(type='str', no_log=True),
        verify=dict(type='bool'),
        verify_access=dict(type='list', elements='str'),
        min_validity=dict(type='int', default=900),
        cache=dict(type='bool', default=True),
        cache_dir=dict(type='path'),
    )
    expected.update(REGISTRY)
    expected.update(NETWORK)
    assert options.credential_spec() == expected


def test_each_call_gives_a_fresh_spec():
    spec = options.login_spec()
    spec['regions']['aliases'].append('zone')
    spec['state']['choices'].append('gone')
    assert options.login_spec()['regions']['aliases'] == ['region']
    assert options.login_spec()['state']['choices'] == ['present', 'absent']


def test_defaults_of_a_spec():
    spec = dict(a=dict(type='str'), b=dict(type='int', default=3), c=dict(type='bool', default=False),
                d=dict(type='str', default=None))
    assert options.defaults(spec) == dict(b=3, c=False, d=None)
    assert options.defaults({}) == {}
    assert options.defaults(dict(a=dict(type='str'))) == {}


def test_the_module_defaults_in_full():
    assert options.LOGIN_DEFAULTS == dict(
        state='present', method='file', format='docker', credential_store='auto', min_validity=600,
        validate=False, reauthorize=False, private_endpoint=False, username_type='iamapikey',
        validate_certs=True, timeout=30.0, retries=4)
    assert options.CREDENTIAL_DEFAULTS == dict(
        min_validity=900, cache=True, private_endpoint=False, username_type='iamapikey',
        validate_certs=True, timeout=30.0, retries=4)
