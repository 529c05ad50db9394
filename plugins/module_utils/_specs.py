# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The argument specs of the modules (internal use only).

Standard library only: icr_login's payload, sent to every host, carries this file and no network code.
"""

from __future__ import annotations

from ansible_collections.icr.auth.plugins.module_utils._credential import USERNAME_TYPES

# How icr_login's options go together (keyword arguments of AnsibleModule, besides the spec).
LOGIN_RULES = dict(
    required_one_of=[('regions', 'registries')],
    mutually_exclusive=[('password', 'api_key')],
    required_if=[('state', 'present', ('password', 'api_key'), True)],
)


def network_spec() -> dict:
    """Options for IAM and registry calls (doc fragment icr.auth.iam)."""
    return dict(
        iam_endpoint=dict(type='str'),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='float', default=30),
        retries=dict(type='int', default=4),
        proxy=dict(type='str', no_log=True),
    )


def registry_spec() -> dict:
    """Options that choose registries."""
    return dict(
        regions=dict(type='list', elements='str', aliases=['region']),
        registries=dict(type='list', elements='str', aliases=['registry']),
        private_endpoint=dict(type='bool', default=False),
        username_type=dict(type='str', default='iamapikey', choices=list(USERNAME_TYPES)),
    )


def login_spec() -> dict:
    """The options of icr_login and of icr_login_network (doc fragment icr.auth.login)."""
    spec = dict(
        state=dict(type='str', default='present', choices=['present', 'absent']),
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
