# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Docker Registry v2 token handshake, to prove a credential before it is written (internal use only)."""

from __future__ import annotations

import base64
import re

from urllib.parse import urlsplit

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

    scopes: repository scopes to prove, e.g. ['repository:team-a/app:pull']. The registry itself is asked with
    the token for each (the token's format is not documented, so what it says proves nothing), and a realm that
    refuses the scopes is asked again without them, which tells a missing IAM policy apart from a bad credential.
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
    scopes = scopes or []
    refusal = realm_refusal(base, host, realm)
    if refusal:
        return Verification(host, False, refusal, status=401, reason='protocol')
    try:
        answer = _ask_realm(session, opts, realm, service, username, password, scopes)
        if scopes and answer.status_code in (400, 401, 403):
            # Some realms refuse a valid credential that lacks the access asked for, with the status of a wrong one.
            # The same credential without a scope tells the two apart.
            bare = _ask_realm(session, opts, realm, service, username, password, [])
            if bare.status_code == 200:
                return _scrubbed(_refused_scopes(session, opts, realm, service, host, username, password, scopes, answer),
                                 username, password)
            answer = bare
    except requests.exceptions.RequestException as exc:
        return Verification(host, False, describe_exception(exc, 'the token service of %s' % host, realm, opts),
                            reason='unreachable')
    verification, token = _classify_token_answer(host, username, answer)
    if token is None or not scopes:
        return _scrubbed(verification, username, password)
    return _scrubbed(_prove_scopes(session, opts, base, host, username, token, scopes), username, password)


def _ask_realm(session, opts, realm, service, username, password, scopes):
    params = [('service', service)] if service else []
    params.extend(('scope', s) for s in scopes)
    params.extend([('account', username), ('client_id', 'icr.auth')])
    return session.get(realm, params=params, auth=(username, password), timeout=opts.timeout)


def realm_refusal(base, host, realm):
    """Why a token realm must not get the credential, or None.

    Refused: a scheme other than https and http; plain http when /v2/ was reached over https (a downgrade) or on
    a host other than loopback; and for ICR's own hosts, a realm outside ICR's domains.
    """
    try:
        parts = urlsplit(realm)
        realm_host = (parts.hostname or '').lower()
    except ValueError:
        parts, realm_host = None, ''
    if parts is None or parts.scheme not in ('http', 'https') or not realm_host:
        return ('The registry at %s named the token service %r, which is not an http(s) URL; the credential was not '
                'sent.' % (host, _clip_url(realm)))
    if parts.scheme == 'http':
        if base.startswith('https:'):
            return ('The registry at %s was reached over https but named a plain-http token service (%s); the credential '
                    'was not sent there.' % (host, _clip_url(realm)))
        if not (realm_host in ('localhost', '::1') or re.match(r'^127\.\d+\.\d+\.\d+$', realm_host)):
            return ('The registry at %s named a plain-http token service on another host (%s); the credential is only '
                    'sent over http to loopback.' % (host, _clip_url(realm)))
    bare = host.split(':')[0].lower()
    for domain in _ICR_DOMAINS:
        if bare == domain or bare.endswith('.' + domain):
            if not any(realm_host == d or realm_host.endswith('.' + d) for d in _ICR_DOMAINS):
                return ('The registry at %s named a token service outside IBM Cloud Container Registry\'s domains (%s); '
                        'the credential was not sent there.' % (host, _clip_url(realm)))
    return None


_ICR_DOMAINS = ('icr.io', 'bluemix.net')


def _clip_url(url):
    try:
        parts = urlsplit(url)
        return '%s://%s%s' % (parts.scheme, parts.hostname or '', parts.path)[:200]
    except ValueError:
        return '<unparsable>'


def _secret_forms(username, password):
    """What a secret may look like in an error body: itself, and base64 of user:secret (a Basic header)."""
    forms = set()
    if isinstance(password, str) and password:
        forms.add(password)
        raw = ('%s:%s' % (username, password)).encode('utf-8')
        forms.add(base64.b64encode(raw).decode('ascii'))
        forms.add(base64.urlsafe_b64encode(raw).decode('ascii'))
        forms.add(base64.b64encode(raw).decode('ascii').rstrip('='))
        forms.add(base64.b64encode(password.encode('utf-8')).decode('ascii'))
    return sorted(forms, key=len, reverse=True)


_BASIC_RE = re.compile(r'(?i)\b(basic)\s+[A-Za-z0-9+/=_\-.]+')


def mask(text, username, password):
    """text with the secret, base64(user:secret) and any 'Basic ...' credential masked."""
    if not isinstance(text, str):
        return text
    for form in _secret_forms(username, password):
        text = text.replace(form, '********')
    return _BASIC_RE.sub(r'\1 ********', text)


def _scrubbed(verification, username, password):
    verification.msg = mask(verification.msg, username, password)
    return verification


def _basic(session, opts, base, host, username, password):
    import requests
    try:
        response = session.get(base + '/v2/', auth=(username, password), timeout=opts.timeout)
    except requests.exceptions.RequestException as exc:
        return Verification(host, False, describe_exception(exc, 'the registry', base + '/v2/', opts), reason='unreachable')
    if response.status_code == 200:
        return Verification(host, True, 'The registry at %s accepted the %s credential.' % (host, username), status=200)
    return _scrubbed(Verification(host, False, 'The registry at %s refused the %s credential (HTTP %d: %s).'
                                  % (host, username, response.status_code, _errors_text(response)),
                                  status=response.status_code, reason='credential'), username, password)


def _classify_token_answer(host, username, answer):
    """(Verification, token or None) of the realm's answer to a credential."""
    status = answer.status_code
    if status in (400, 401):
        return Verification(host, False, 'The registry at %s refused the %s credential (HTTP %d: %s). The API key or '
                            'token is wrong, revoked or expired, or the username type does not match it.'
                            % (host, username, status, _errors_text(answer)), status=status, reason='credential'), None
    if status == 403:
        return Verification(host, False, 'The registry at %s accepted the %s credential but denies access (HTTP 403: %s). '
                            'Check the IAM policies and context-based restrictions of the identity, and whether the '
                            'account allows only private-network access.' % (host, username, _errors_text(answer)),
                            status=status, reason='permission'), None
    if status == 429 or status >= 500:
        return Verification(host, False, 'The token service of %s answered HTTP %d; try again later.' % (host, status),
                            status=status, reason='unreachable'), None
    if status != 200:
        return Verification(host, False, 'The token service of %s answered HTTP %d: %s' % (host, status, _errors_text(answer)),
                            status=status, reason='protocol'), None
    try:
        body = answer.json()
    except ValueError:
        body = None
    token = (body.get('token') or body.get('access_token')) if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        return Verification(host, False, 'The token service of %s answered HTTP 200 without a token.' % host,
                            status=status, reason='protocol'), None
    return Verification(host, True, 'The registry at %s accepted the %s credential.' % (host, username), status=status), token


def _wanted(scopes):
    """[(repository, action)] of repository scopes such as repository:team-a/app:pull,push."""
    wanted = []
    for scope in scopes:
        parts = scope.split(':')
        if len(parts) != 3 or parts[0] != 'repository':
            continue
        wanted.extend((parts[1], action) for action in parts[2].split(',') if action)
    return wanted


def _permission(host, username, missing, granted, status):
    return Verification(host, False, 'The registry at %s accepted the %s credential, but its IAM policies do not grant %s. '
                        'Give the identity the Reader (pull) or Writer (push) role on the namespace.'
                        % (host, username, ', '.join('%s on %s' % (a, r) for r, a in missing)),
                        status=status, reason='permission', granted=granted)


def _refused_scopes(session, opts, realm, service, host, username, password, scopes, answer):
    """The realm refused the scopes but not the credential: find which actions it refuses, one at a time."""
    granted = {}
    missing = []
    for repo, action in _wanted(scopes):
        one = _ask_realm(session, opts, realm, service, username, password, ['repository:%s:%s' % (repo, action)])
        if one.status_code == 200:
            granted.setdefault(repo, []).append(action)
        else:
            missing.append((repo, action))
    if not missing:  # each alone is granted, together they are not: report what the realm said
        missing = _wanted(scopes)
    return _permission(host, username, missing, granted, answer.status_code)


def _prove_scopes(session, opts, base, host, username, token, scopes):
    """Ask the registry itself, with the token, for each action: the token's format proves nothing.

    pull: GET /v2/<repo>/tags/list answers 200, or 404 NAME_UNKNOWN for a repository that does not exist yet,
    where one the identity may not read answers 401 or 403. push: POST /v2/<repo>/blobs/uploads/ opens an upload
    session (202), which is cancelled at once; nothing is stored.
    """
    import requests
    headers = {'Authorization': 'Bearer ' + token}
    granted = {}
    missing = []
    absent = []
    for repo, action in _wanted(scopes):
        url = '%s/v2/%s/%s' % (base, repo, 'tags/list' if action == 'pull' else 'blobs/uploads/')
        try:
            if action == 'pull':
                answer = session.get(url, headers=headers, timeout=opts.timeout, allow_redirects=False)
            else:
                answer = session.post(url, headers=headers, timeout=opts.timeout, allow_redirects=False)
        except requests.exceptions.RequestException as exc:
            return Verification(host, False, describe_exception(exc, 'the registry', url, opts), reason='unreachable')
        status = answer.status_code
        if status in (200, 202) or (action == 'pull' and status == 404):
            granted.setdefault(repo, []).append(action)
            if status == 404:
                absent.append(repo)
            if status == 202:
                _cancel_upload(session, opts, base, headers, answer)
        elif status in (401, 403):
            missing.append((repo, action))
        elif status == 429 or status >= 500:
            return Verification(host, False, 'The registry at %s answered HTTP %d to %s %s; try again later.'
                                % (host, status, 'GET' if action == 'pull' else 'POST', url), status=status,
                                reason='unreachable')
        else:
            return Verification(host, False, 'The registry at %s answered HTTP %d where it should prove %s on %s: %s'
                                % (host, status, action, repo, _errors_text(answer)), status=status, reason='protocol')
    granted = dict((repo, sorted(actions)) for repo, actions in granted.items())
    if missing:
        return _permission(host, username, missing, granted, 200)
    msg = 'The registry at %s accepted the %s credential and grants %s.' % (
        host, username, ', '.join('%s on %s' % (a, r) for r, a in _wanted(scopes)))
    if absent:
        msg += ' (%s: no such repository yet.)' % ', '.join(sorted(set(absent)))
    return Verification(host, True, msg, status=200, granted=granted)


def _cancel_upload(session, opts, base, headers, answer):
    """Cancel the upload session a push probe opened (best effort: registries purge abandoned ones anyway)."""
    import requests
    location = answer.headers.get('Location') or ''
    if location.startswith('/'):
        location = base + location
    if not location.startswith(base + '/v2/'):
        return
    try:
        session.delete(location, headers=headers, timeout=opts.timeout, allow_redirects=False)
    except requests.exceptions.RequestException:
        pass
