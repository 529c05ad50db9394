# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Argument spec pieces and the network glue shared by the modules (internal use only)."""

from __future__ import annotations

from ansible_collections.icr.auth.plugins.module_utils import _username_types as username_types
from ansible_collections.icr.auth.plugins.module_utils._username_types import USERNAME_TYPES

API_KEY_ENV = ('IBMCLOUD_API_KEY', 'IC_API_KEY')
IAM_ENDPOINT_ENV = 'IBMCLOUD_IAM_ENDPOINT'


def network_spec():
    """Options for IAM and registry calls (doc fragment icr.auth.iam)."""
    return dict(
        iam_endpoint=dict(type='str'),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='float', default=30),
        retries=dict(type='int', default=4),
        proxy=dict(type='str', no_log=True),
    )


def registry_spec():
    """Options that choose registries."""
    return dict(
        regions=dict(type='list', elements='str', aliases=['region']),
        registries=dict(type='list', elements='str', aliases=['registry']),
        private_endpoint=dict(type='bool', default=False),
        username_type=dict(type='str', default='iamapikey', choices=list(USERNAME_TYPES)),
    )


def iam_endpoint(params, env):
    return params.get('iam_endpoint') or env.get(IAM_ENDPOINT_ENV) or 'public'


def exchange(client, api_key, username_type):
    """(password, expires_at, Token or None) of the registry credential for a username type."""
    return username_types.exchange(client, api_key, username_type)


def verify_all(http_options, hosts, username, password, scopes=None):
    """Verification of (username, password) against each host."""
    from ansible_collections.icr.auth.plugins.module_utils._http import make_session
    from ansible_collections.icr.auth.plugins.module_utils._access import verify
    session = make_session(http_options)
    return [verify(session, http_options, host, username, password, scopes) for host in hosts]
