# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Docker Registry v2 token handshake, to prove a credential before it is written (internal use only).

Proving repository scopes on top of it is _access's part, which icr_login never ships.
"""

from __future__ import annotations

import base64
import re

from typing import Any

from ansible_collections.icr.auth.plugins.module_utils._challenge import (
    bearer_challenge,
    is_loopback,
    parse_www_authenticate,
    realm_refusal,
)
from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions, describe_exception, is_cert_verification_error
from ansible_collections.icr.auth.plugins.module_utils._username_profile import is_profile_id

__all__ = ['Verification', 'ask_realm', 'bearer_challenge', 'classify_token_answer', 'credential_label', 'errors_text',
           'handshake', 'is_loopback', 'mask', 'parse_www_authenticate', 'realm_refusal', 'realm_unreachable', 'scrubbed',
           'verify']

_BASIC_RE = re.compile(r'(?i)\b(basic)\s+[A-Za-z0-9+/=_\-.]+')


class Verification(object):
    """The outcome of proving a credential against one registry."""

    def __init__(self, host: str, ok: bool, msg: str, status: int | None = None, reason: str | None = None,
                 granted: dict | None = None) -> None:
        self.host = host
        self.ok = ok
        self.msg = msg
        self.status = status
        self.reason = reason        # None, 'credential', 'permission', 'unreachable', 'protocol'
        self.granted = granted or {}

    def as_dict(self) -> dict:
        return {'ok': self.ok, 'msg': self.msg, 'status': self.status, 'reason': self.reason, 'granted': self.granted}


def errors_text(response: Any) -> str:
    """The registry's own error message: {"errors": [{"code", "message"}]} or a plain body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get('errors'), list):
        msgs = []
        for err in body['errors']:
            words = ': '.join(str(p) for p in (err.get('code'), err.get('message')) if p) if isinstance(err, dict) else ''
            if words:  # an entry with neither code nor message says nothing
                msgs.append(words)
        if msgs:
            return '; '.join(msgs)
    if isinstance(body, dict):
        for key in ('error_description', 'message', 'error', 'details'):
            if isinstance(body.get(key), str):
                return body[key]
    text = (response.text or '').strip()
    return text[:200] if text else f'HTTP {response.status_code}'


def verify(session: Any, opts: HttpOptions, host: str, username: str, password: str) -> Verification:
    """Prove (username, password) against a registry the way docker login does."""
    import requests
    found = handshake(session, opts, host, username, password)
    if isinstance(found, Verification):
        return found
    _base, realm, service = found
    try:
        answer = ask_realm(session, opts, realm, service, username, password, [])
    except requests.exceptions.RequestException as exc:
        return realm_unreachable(exc, host, realm, opts)
    return scrubbed(classify_token_answer(host, username, answer)[0], username, password)


def handshake(session: Any, opts: HttpOptions, host: str, username: str,
              password: str) -> Verification | tuple[str, str, str | None]:
    """GET /v2/ and read its challenge: the Verification it ends with, or the token realm to ask (base URL, realm,
    service)."""
    import requests
    schemes = ['https', 'http'] if is_loopback(host) else ['https']
    response = None
    base = None
    last_exc = None
    for scheme in schemes:
        base = f'{scheme}://{host}'
        try:
            response = session.get(base + '/v2/', timeout=opts.timeout)
            break
        except requests.exceptions.RequestException as exc:
            last_exc = exc
            # Plain HTTP is tried on loopback only when the peer does not speak TLS at all; a certificate that
            # fails verification is reported as such.
            if is_cert_verification_error(exc):
                break
    if response is None:
        return Verification(host, False, describe_exception(last_exc, 'the registry', base + '/v2/', opts),
                            reason='unreachable')
    if response.status_code == 200:
        return Verification(host, True, f'The registry at {host} asks for no credential.', status=200)
    if response.status_code != 401:
        return Verification(host, False, f'The registry at {host} answered GET /v2/ with HTTP {response.status_code} '
                            f'where 401 with a challenge was expected: {errors_text(response)}',
                            status=response.status_code, reason='unreachable' if response.status_code >= 500 else 'protocol')
    challenge = bearer_challenge(response.headers.get('WWW-Authenticate', ''))
    if challenge is None:
        return _basic(session, opts, base, host, username, password)
    realm, service, _scope = challenge
    refusal = realm_refusal(base, host, realm)
    if refusal:
        return Verification(host, False, refusal, status=401, reason='protocol')
    return base, realm, service


def ask_realm(session: Any, opts: HttpOptions, realm: str, service: str | None, username: str, password: str,
              scopes: list[str]) -> Any:
    params = [('service', service)] if service else []
    params.extend(('scope', s) for s in scopes)
    params.extend([('account', username), ('client_id', 'icr.auth')])
    return session.get(realm, params=params, auth=(username, password), timeout=opts.timeout)


def realm_unreachable(exc: BaseException, host: str, realm: str, opts: HttpOptions) -> Verification:
    return Verification(host, False, describe_exception(exc, f'the token service of {host}', realm, opts),
                        reason='unreachable')


def _secret_forms(username: str, password: str) -> list[str]:
    """What a secret may look like in an error body: itself, and base64 of user:secret (a Basic header)."""
    forms = set()
    if isinstance(password, str) and password:
        forms.add(password)
        raw = f'{username}:{password}'.encode('utf-8')
        forms.add(base64.b64encode(raw).decode('ascii'))
        forms.add(base64.urlsafe_b64encode(raw).decode('ascii'))
        forms.add(base64.b64encode(raw).decode('ascii').rstrip('='))
        forms.add(base64.b64encode(password.encode('utf-8')).decode('ascii'))
    return sorted(forms, key=len, reverse=True)


def mask(text: Any, username: str, password: str) -> Any:
    """text with the secret, base64(user:secret) and any 'Basic ...' credential masked."""
    if not isinstance(text, str):
        return text
    for form in _secret_forms(username, password):
        text = text.replace(form, '********')
    return _BASIC_RE.sub(r'\1 ********', text)


def scrubbed(verification: Verification, username: str, password: str) -> Verification:
    verification.msg = mask(verification.msg, username, password)
    return verification


def _basic(session: Any, opts: HttpOptions, base: str, host: str, username: str, password: str) -> Verification:
    import requests
    try:
        response = session.get(base + '/v2/', auth=(username, password), timeout=opts.timeout)
    except requests.exceptions.RequestException as exc:
        return Verification(host, False, describe_exception(exc, 'the registry', base + '/v2/', opts), reason='unreachable')
    if response.status_code == 200:
        return Verification(host, True, f'The registry at {host} accepted the {credential_label(username)}.', status=200)
    return scrubbed(Verification(host, False, f'The registry at {host} refused the {credential_label(username)} '
                                 f'(HTTP {response.status_code}: {errors_text(response)}).',
                                 status=response.status_code, reason='credential'), username, password)


def credential_label(username: str) -> str:
    """How messages name a credential: 'iamapikey credential', 'trusted profile Profile-... credential'."""
    return f'trusted profile {username} credential' if is_profile_id(username) else f'{username} credential'


def _refusal_hint(username: str) -> str:
    if is_profile_id(username):
        return (f'Either the trusted profile {username} does not exist, or it does not trust the service ID of this API '
                'key (add the service ID to the profile\'s trust), or the API key is wrong, revoked, disabled or not '
                'a service ID\'s.')
    return 'The API key or token is wrong, revoked or expired, or the username type does not match it.'


def classify_token_answer(host: str, username: str, answer: Any) -> tuple[Verification, str | None]:
    """(Verification, token or None) of the realm's answer to a credential."""
    status = answer.status_code
    label = credential_label(username)
    if status in (400, 401):
        return Verification(host, False, f'The registry at {host} refused the {label} (HTTP {status}: '
                            f'{errors_text(answer)}). {_refusal_hint(username)}', status=status,
                            reason='credential'), None
    if status == 403:
        return Verification(host, False, f'The registry at {host} accepted the {label} but denies access '
                            f'(HTTP 403: {errors_text(answer)}). Check the IAM policies and context-based restrictions of '
                            'the identity, and whether the account allows only private-network access.',
                            status=status, reason='permission'), None
    if status == 429 or status >= 500:
        return Verification(host, False, f'The token service of {host} answered HTTP {status}; try again later.',
                            status=status, reason='unreachable'), None
    if status != 200:
        return Verification(host, False, f'The token service of {host} answered HTTP {status}: {errors_text(answer)}',
                            status=status, reason='protocol'), None
    try:
        body = answer.json()
    except ValueError:
        body = None
    token = (body.get('token') or body.get('access_token')) if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        return Verification(host, False, f'The token service of {host} answered HTTP 200 without a token.',
                            status=status, reason='protocol'), None
    return Verification(host, True, f'The registry at {host} accepted the {label}.', status=status), token
