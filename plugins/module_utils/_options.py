# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The argument specs of the modules, where each default is stated once (internal use only).

The engines read a default that a caller's params leave out from LOGIN_DEFAULTS / CREDENTIAL_DEFAULTS, which are
made from the specs.
"""

from __future__ import annotations

from ansible_collections.icr.auth.plugins.module_utils._username_types import USERNAME_TYPES

API_KEY_ENV = ('IBMCLOUD_API_KEY', 'IC_API_KEY')
# Defaults of the connection options, read by _http too.
TIMEOUT = 30.0
RETRIES = 4


def network_spec() -> dict:
    """Options for IAM and registry calls (doc fragment icr.auth.iam)."""
    return dict(
        iam_endpoint=dict(type='str'),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='float', default=TIMEOUT),
        retries=dict(type='int', default=RETRIES),
        proxy=dict(type='str', no_log=True),
    )


def registry_spec() -> dict:
    """Options that choose registries."""
    return dict(
        regions=dict(type='list', elements='str', aliases=['region']),
        registries=dict(type='list', elements='str', aliases=['registry']),
        private_endpoint=dict(type='bool', default=False),
        username_type=dict(type='str', default='iamapikey', choices=list(USERNAME_TYPES)),
        trusted_profile_id=dict(type='str'),
    )


def login_spec() -> dict:
    """The argument spec of icr_login."""
    spec = dict(
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
    spec.update(registry_spec())
    spec.update(network_spec())
    return spec


# How icr_login's options go together (AnsibleModule keyword arguments).
LOGIN_RULES = dict(
    required_one_of=[('regions', 'registries')],
    mutually_exclusive=[('password', 'api_key')],
)


def credential_spec() -> dict:
    """The argument spec of icr_credential."""
    spec = dict(
        api_key=dict(type='str', no_log=True),
        verify=dict(type='bool'),
        verify_access=dict(type='list', elements='str'),
        min_validity=dict(type='int', default=900),
        cache=dict(type='bool', default=True),
        cache_dir=dict(type='path'),
    )
    spec.update(registry_spec())
    spec.update(network_spec())
    return spec


def defaults(spec: dict) -> dict:
    """{option: default} of an argument spec."""
    return dict((name, option['default']) for name, option in spec.items() if 'default' in option)


LOGIN_DEFAULTS = defaults(login_spec())
CREDENTIAL_DEFAULTS = defaults(credential_spec())
