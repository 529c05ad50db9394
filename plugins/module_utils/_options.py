# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The network glue shared by the modules (internal use only); their argument specs are in _specs."""

from __future__ import annotations

from ansible_collections.icr.auth.plugins.module_utils._errors import IamError

API_KEY_ENV = ('IBMCLOUD_API_KEY', 'IC_API_KEY')
IAM_ENDPOINT_ENV = 'IBMCLOUD_IAM_ENDPOINT'


def iam_endpoint(params, env):
    return params.get('iam_endpoint') or env.get(IAM_ENDPOINT_ENV) or 'public'


def exchange(client, api_key, username_type):
    """(password, expires_at, Token or None) of the registry credential for a username type."""
    if username_type == 'iamapikey':
        return api_key, None, None
    if username_type == 'iambearer':
        token = client.apikey_token(api_key)
        return token.access_token, token.expires_at, token
    token = client.apikey_token(api_key, want_refresh=True)
    if not token.refresh_token or token.refresh_token == 'not_supported':
        raise IamError('IAM did not issue a usable refresh token for username_type iamrefresh; use iambearer or '
                       'iamapikey instead.')
    return token.refresh_token, token.expires_at, token


def verify_all(http_options, hosts, username, password, scopes=None):
    """Verification of (username, password) against each host."""
    from ansible_collections.icr.auth.plugins.module_utils._http import make_session
    from ansible_collections.icr.auth.plugins.module_utils._registry import verify
    session = make_session(http_options)
    return [verify(session, http_options, host, username, password, scopes) for host in hosts]
