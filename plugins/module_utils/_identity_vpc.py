# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Identity vpc_trusted_profile: a VPC instance's trusted profile through the metadata service (internal use only).

Two steps, as IBM documents them (vpc-identity API): an instance identity token (PUT .../token), then an IAM token
for a trusted profile (POST .../iam_token[s]) with that token as Bearer. Both API versions are spoken: 2025-08-26
(/identity/v1/*) and 2022-03-01 (/instance_identity/v1/*). Metadata requests never go through a proxy.
"""

from __future__ import annotations

import json

from ansible_collections.icr.auth.plugins.module_utils._identity_base import (
    AccessToken,
    IdentityError,
    IdentitySource,
    access_token,
)
from ansible_collections.icr.auth.plugins.module_utils._stdlib_http import Response

DEFAULT_METADATA = 'http://169.254.169.254'
NEW_VERSION = '2025-08-26'
OLD_VERSION = '2022-03-01'
# version -> (identity token path, IAM token path)
PATHS = {
    NEW_VERSION: ('/identity/v1/token', '/identity/v1/iam_tokens'),
    OLD_VERSION: ('/instance_identity/v1/token', '/instance_identity/v1/iam_token'),
}
# Lifetime asked for the instance identity token: it is used once, right away.
IDENTITY_TOKEN_LIFETIME = 300
WHAT = 'the VPC instance metadata service'


class VpcTrustedProfile(IdentitySource):
    """The instance's trusted profile (by id, CRN, or the instance's default) through the metadata service."""

    name = 'vpc_trusted_profile'
    keys = ('metadata_endpoint', 'metadata_version', 'trusted_profile_id', 'trusted_profile_crn')

    def _url(self, step: int) -> str:
        version = self.config.get('metadata_version') or NEW_VERSION
        base = (self.config.get('metadata_endpoint') or DEFAULT_METADATA).rstrip('/')
        return f'{base}{PATHS[version][step]}?version={version}'

    def _call(self, method: str, url: str, headers: dict, body: dict | None, doing: str) -> dict:
        headers = dict(headers, **{'Metadata-Flavor': 'ibm', 'Content-Type': 'application/json'})
        data = json.dumps(body).encode('utf-8') if body is not None else None
        response = self.transport.request(method, url, WHAT, headers=headers, body=data, proxy=False)
        return self._answer(response, url, doing)

    def _answer(self, response: Response, url: str, doing: str) -> dict:
        body = response.json()
        if 200 <= response.status < 300:
            if isinstance(body, dict) and isinstance(body.get('access_token'), str) and body['access_token']:
                return body
            raise IdentityError(f'could not {doing}: {WHAT} at {url} answered HTTP {response.status} with a body that '
                                f'is not a token answer ({len(response.body)} bytes). Check metadata_endpoint.')
        raise IdentityError(f'could not {doing}: {WHAT} at {url} answered HTTP {response.status}'
                            f'{_error_text(body)}.{self._advice(response.status)}')

    def _advice(self, status: int) -> str:
        if status == 404:
            return (' Check metadata_endpoint and metadata_version (2025-08-26 uses /identity/v1, 2022-03-01 '
                    '/instance_identity/v1; bare metal servers know only the first).')
        if status in (401, 403):
            return (' Check that the trusted profile exists, trusts this instance (compute resource) and that the '
                    'instance may use it.')
        if status == 400 and not (self.config.get('trusted_profile_id') or self.config.get('trusted_profile_crn')):
            return ' No trusted profile was named: link a default profile to the instance or set trusted_profile_id.'
        return ''

    def fetch(self) -> AccessToken:
        identity = self._call('PUT', self._url(0), {}, {'expires_in': IDENTITY_TOKEN_LIFETIME},
                              'get the instance identity token (is the metadata service enabled on this instance?)')
        profile = None
        if self.config.get('trusted_profile_id'):
            profile = {'trusted_profile': {'id': self.config['trusted_profile_id']}}
        elif self.config.get('trusted_profile_crn'):
            profile = {'trusted_profile': {'crn': self.config['trusted_profile_crn']}}
        headers = {'Authorization': 'Bearer ' + identity['access_token']}
        answer = self._call('POST', self._url(1), headers, profile, 'get an IAM token for the trusted profile')
        return access_token(answer)


def _error_text(body: object) -> str:
    """' (code: message)' of a VPC API error answer ({"errors": [{"code", "message"}]}), else ''."""
    if not isinstance(body, dict):
        return ''
    errors = body.get('errors')
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else body
    parts = [str(first.get(k)) for k in ('code', 'message') if isinstance(first.get(k), str) and first.get(k)]
    return f" ({': '.join(parts)})" if parts else ''
