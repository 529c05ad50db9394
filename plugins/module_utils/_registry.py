# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Docker Registry v2 token handshake, to prove a credential before it is written (internal use only)."""

from __future__ import annotations

import re

from ansible_collections.icr.auth.plugins.module_utils._credential import jwt_claims
from ansible_collections.icr.auth.plugins.module_utils._http import describe_exception, is_cert_verification_error

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM_RE = re.compile(r'\s*(%s)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|(%s))\s*' % (_TOKEN, r"[^\s,]*"))
_SCHEME_RE = re.compile(r'\s*(%s)(?=\s|,|$)\s*' % _TOKEN)
_LOOPBACK_RE = re.compile(r'^(?:127\.\d+\.\d+\.\d+|localhost|\[::1\])(?::\d+)?$')


def parse_www_authenticate(header):
    """Challenges of a WWW-Authenticate header as a list of (scheme lower-cased, {param lower-cased: value}).

    Quoted values (with backslash escapes and commas inside), spaces around commas and '=', unknown
    parameters and several challenges in one header are all handled.
    """
    challenges = []
    text = header or ''
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos] in ' ,\t':
            pos += 1
        match = _SCHEME_RE.match(text, pos)
        if not match:
            break
        scheme = match.group(1).lower()
        pos = match.end()
        params = {}
        if pos < len(text) and text[pos] == ',':
            challenges.append((scheme, params))  # a challenge without parameters
            continue
        while pos < len(text):
            param = _PARAM_RE.match(text, pos)
            if not param:
                break
            name = param.group(1).lower()
            if param.group(2) is not None:
                value = re.sub(r'\\(.)', r'\1', param.group(2))
            else:
                value = param.group(3)
            params[name] = value
            pos = param.end()
            if pos < len(text) and text[pos] == ',':
                pos += 1
                # A token followed by a space and no '=' starts the next challenge.
                ahead = re.match(r'\s*%s\s*(=)?' % _TOKEN, text[pos:])
                if ahead and not ahead.group(1):
                    break
            else:
                break
        challenges.append((scheme, params))
    return challenges


def bearer_challenge(header):
    """(realm, service, scope) of the Bearer challenge in a header, or None."""
    for scheme, params in parse_www_authenticate(header):
        if scheme == 'bearer' and params.get('realm'):
            return params['realm'], params.get('service'), params.get('scope')
    return None


def is_loopback(host):
    return bool(_LOOPBACK_RE.match(host))


def _errors_text(response):
    """The registry's own error message: {"errors": [{"code", "message"}]} or a plain body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get('errors'), list):
        msgs = []
        for err in body['errors']:
            if isinstance(err, dict):
                msgs.append(': '.join(str(p) for p in (err.get('code'), err.get('message')) if p))
        if msgs:
            return '; '.join(msgs)
    if isinstance(body, dict):
        for key in ('error_description', 'message', 'error', 'details'):
            if isinstance(body.get(key), str):
                return body[key]
    text = (response.text or '').strip()
    return text[:200] if text else 'HTTP %d' % response.status_code


class Verification(object):
    """The outcome of proving a credential against one registry."""

    def __init__(self, host, ok, msg, status=None, reason=None, granted=None):
        self.host = host
        self.ok = ok
        self.msg = msg
        self.status = status
        self.reason = reason        # None, 'credential', 'permission', 'unreachable', 'protocol'
        self.granted = granted or {}

    def as_dict(self):
        return {'ok': self.ok, 'msg': self.msg, 'status': self.status, 'reason': self.reason, 'granted': self.granted}


def verify(session, opts, host, username, password, scopes=None):
    """Prove (username, password) against a registry the way docker login does.

    scopes: repository scopes to ask for, e.g. ['repository:team-a/app:pull']; when given, the token
    must grant them, which tells a missing IAM policy apart from a bad credential.
    """
    import requests
    schemes = ['https', 'http'] if is_loopback(host) else ['https']
    response = None
    base = None
    last_exc = None
    for scheme in schemes:
        base = '%s://%s' % (scheme, host)
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
        return Verification(host, True, 'The registry at %s asks for no credential.' % host, status=200)
    if response.status_code != 401:
        return Verification(host, False, 'The registry at %s answered GET /v2/ with HTTP %d where 401 with a challenge '
                            'was expected: %s' % (host, response.status_code, _errors_text(response)),
                            status=response.status_code, reason='unreachable' if response.status_code >= 500 else 'protocol')
    challenge = bearer_challenge(response.headers.get('WWW-Authenticate', ''))
    if challenge is None:
        return _basic(session, opts, base, host, username, password)
    realm, service, _scope = challenge
    params = [('service', service)] if service else []
    params.extend(('scope', s) for s in (scopes or []))
    params.extend([('account', username), ('client_id', 'icr.auth')])
    try:
        answer = session.get(realm, params=params, auth=(username, password), timeout=opts.timeout)
    except requests.exceptions.RequestException as exc:
        return Verification(host, False, describe_exception(exc, 'the token service of %s' % host, realm, opts),
                            reason='unreachable')
    return _classify_token_answer(host, username, answer, scopes or [])


def _basic(session, opts, base, host, username, password):
    import requests
    try:
        response = session.get(base + '/v2/', auth=(username, password), timeout=opts.timeout)
    except requests.exceptions.RequestException as exc:
        return Verification(host, False, describe_exception(exc, 'the registry', base + '/v2/', opts), reason='unreachable')
    if response.status_code == 200:
        return Verification(host, True, 'The registry at %s accepted the %s credential.' % (host, username), status=200)
    return Verification(host, False, 'The registry at %s refused the %s credential (HTTP %d: %s).'
                        % (host, username, response.status_code, _errors_text(response)),
                        status=response.status_code, reason='credential')


def _classify_token_answer(host, username, answer, scopes):
    status = answer.status_code
    if status in (400, 401):
        return Verification(host, False, 'The registry at %s refused the %s credential (HTTP %d: %s). The API key or '
                            'token is wrong, revoked or expired, or the username type does not match it.'
                            % (host, username, status, _errors_text(answer)), status=status, reason='credential')
    if status == 403:
        return Verification(host, False, 'The registry at %s accepted the %s credential but denies access (HTTP 403: %s). '
                            'Check the IAM policies and context-based restrictions of the identity, and whether the '
                            'account allows only private-network access.' % (host, username, _errors_text(answer)),
                            status=status, reason='permission')
    if status == 429 or status >= 500:
        return Verification(host, False, 'The token service of %s answered HTTP %d; try again later.' % (host, status),
                            status=status, reason='unreachable')
    if status != 200:
        return Verification(host, False, 'The token service of %s answered HTTP %d: %s' % (host, status, _errors_text(answer)),
                            status=status, reason='protocol')
    try:
        body = answer.json()
    except ValueError:
        body = None
    token = (body.get('token') or body.get('access_token')) if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        return Verification(host, False, 'The token service of %s answered HTTP 200 without a token.' % host,
                            status=status, reason='protocol')
    granted = _granted(token)
    missing = _missing(scopes, granted)
    if missing:
        return Verification(host, False, 'The registry at %s accepted the %s credential, but its IAM policies do not grant %s. '
                            'Give the identity the Reader (pull) or Writer (push) role on the namespace.'
                            % (host, username, ', '.join(missing)), status=status, reason='permission', granted=granted)
    return Verification(host, True, 'The registry at %s accepted the %s credential.' % (host, username),
                        status=status, granted=granted)


def _granted(token):
    """{repository: [actions]} read from a registry JWT's access claim (unverified); None if the token is opaque."""
    claims = jwt_claims(token)
    if claims is None:
        return None
    granted = {}
    for item in claims.get('access') or []:
        if isinstance(item, dict) and item.get('type') == 'repository':
            granted[item.get('name')] = sorted(item.get('actions') or [])
    return granted


def _missing(scopes, granted):
    if granted is None:
        return []
    missing = []
    for scope in scopes:
        parts = scope.split(':')
        if len(parts) != 3 or parts[0] != 'repository':
            continue
        for action in parts[2].split(','):
            if action not in granted.get(parts[1], []):
                missing.append('%s on %s' % (action, parts[1]))
    return missing
