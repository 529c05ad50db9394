# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Prove that a token from docker-credential-icr is granted repositories, with the standard library (internal use only).

icr_credential_helper's check runs on the hosts, which need not have ``requests``: the Docker token handshake here goes
through the helper's own transport (_stdlib_http). The registry itself is asked with the registry token for each
repository (its format is not documented, so what it says proves nothing); a token service that refuses the scopes is
asked again without them, which tells a missing IAM policy apart from a refused credential. No message holds the token.
"""

from __future__ import annotations

import base64
import urllib.parse

from ansible_collections.icr.auth.plugins.module_utils._challenge import bearer_challenge, is_loopback, realm_refusal
from ansible_collections.icr.auth.plugins.module_utils._stdlib_http import Response, Transport, TransportError

USERNAME = 'iambearer'
DENIED = (401, 403)


def wanted(scopes: list[str]) -> list[tuple[str, str]]:
    """[(repository, action)] of scopes such as repository:team-a/app:pull,push."""
    pairs = []
    for scope in scopes:
        parts = scope.split(':')
        if len(parts) == 3 and parts[0] == 'repository':
            pairs.extend((parts[1], action) for action in parts[2].split(',') if action)
    return pairs


def _grants(pairs: list[tuple[str, str]]) -> str:
    return ', '.join(f'{action} on {repo}' for repo, action in pairs)


def _missing(host: str, pairs: list[tuple[str, str]]) -> tuple[bool, str]:
    return False, (f'The registry at {host} accepted the {USERNAME} credential, but its IAM policies do not grant '
                   f'{_grants(pairs)}. Give the identity the Reader (pull) or Writer (push) role on the namespace.')


def _reach(transport: Transport, host: str) -> tuple[str, Response]:
    """(base URL, answer of /v2/): https, and plain http only on loopback."""
    schemes = ('https', 'http') if is_loopback(host) else ('https',)
    error = None
    for scheme in schemes:
        try:
            return f'{scheme}://{host}', transport.request('GET', f'{scheme}://{host}/v2/', f'the registry {host}')
        except TransportError as exc:
            error = exc
    raise error


def _ask_realm(transport: Transport, realm: str, service: str | None, token: str, scopes: list[str]) -> Response:
    query = ([('service', service)] if service else []) + [('scope', s) for s in scopes]
    url = realm + ('&' if '?' in realm else '?') + urllib.parse.urlencode(query) if query else realm
    basic = base64.b64encode(f'{USERNAME}:{token}'.encode('utf-8')).decode('ascii')
    return transport.request('GET', url, 'the token service', headers={'Authorization': 'Basic ' + basic})


def _allowed(transport: Transport, base: str, repo: str, action: str, registry_token: str) -> bool:
    """Whether the registry lets the token do action on repo: list its tags (pull), or start and cancel an upload."""
    auth = {'Authorization': 'Bearer ' + registry_token}
    if action == 'pull':
        answer = transport.request('GET', f'{base}/v2/{repo}/tags/list', 'the registry', headers=auth)
        return answer.status not in DENIED
    answer = transport.request('POST', f'{base}/v2/{repo}/blobs/uploads/', 'the registry', headers=auth, body=b'')
    if answer.status == 202 and answer.headers.get('location'):
        location = urllib.parse.urljoin(base + '/', answer.headers['location'])
        try:
            transport.request('DELETE', location, 'the registry', headers=auth)
        except TransportError:
            pass  # an abandoned upload expires on its own
    return answer.status not in DENIED


def prove(transport: Transport, host: str, token: str, scopes: list[str]) -> tuple[bool, str]:
    """(granted, message) for the helper's token at host and the repository scopes; the message never holds it."""
    try:
        base, answer = _reach(transport, host)
        if answer.status == 200:
            return True, f'The registry at {host} asks for no credential.'
        challenge = bearer_challenge(answer.headers.get('www-authenticate'))
        if challenge is None:
            return False, f'The registry at {host} answered /v2/ with HTTP {answer.status} and no token challenge.'
        realm, service, _scope = challenge
        refusal = realm_refusal(base, host, realm)
        if refusal:
            return False, refusal
        answer = _ask_realm(transport, realm, service, token, scopes)
        if answer.status in (400,) + DENIED:
            bare = _ask_realm(transport, realm, service, token, [])
            if bare.status == 200:
                return _missing(host, wanted(scopes))
            return False, (f'The token service of {host} refused the {USERNAME} credential (HTTP {bare.status}): '
                           'the identity is unknown to IAM, or its token is not valid.')
        if answer.status != 200:
            return False, f'The token service of {host} answered HTTP {answer.status}.'
        body = answer.json() if isinstance(answer.json(), dict) else {}
        registry_token = body.get('token') or body.get('access_token')
        if not isinstance(registry_token, str) or not registry_token:
            return False, f'The token service of {host} answered without a registry token.'
        missing = [(repo, action) for repo, action in wanted(scopes)
                   if not _allowed(transport, base, repo, action, registry_token)]
    except TransportError as exc:
        return False, exc.msg
    if missing:
        return _missing(host, missing)
    return True, f'The registry at {host} grants the {USERNAME} credential {_grants(wanted(scopes))}.'
