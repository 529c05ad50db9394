# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Proving that a credential is granted repository access, on top of the registry handshake (internal use only).

icr_credential's verify_access; icr_login never proves scopes, so its hosts are not sent this file.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.icr.auth.plugins.module_utils import _registry as registry
from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions, describe_exception
from ansible_collections.icr.auth.plugins.module_utils._registry import Verification, ask_realm, errors_text


def verify(session: Any, opts: HttpOptions, host: str, username: str, password: str,
           scopes: list[str] | None = None) -> Verification:
    """Prove (username, password) against a registry the way docker login does, and that it grants scopes.

    scopes: repository scopes to prove, e.g. ['repository:team-a/app:pull']. The registry itself is asked with
    the token for each (the token's format is not documented, so what it says proves nothing), and a realm that
    refuses the scopes is asked again without them, which tells a missing IAM policy apart from a bad credential.
    """
    import requests
    if not scopes:
        return registry.verify(session, opts, host, username, password)
    found = registry.handshake(session, opts, host, username, password)
    if isinstance(found, Verification):
        return found
    base, realm, service = found
    try:
        answer = ask_realm(session, opts, realm, service, username, password, scopes)
        if answer.status_code in (400, 401, 403):
            # Some realms refuse a valid credential that lacks the access asked for, with the status of a wrong one.
            # The same credential without a scope tells the two apart.
            bare = ask_realm(session, opts, realm, service, username, password, [])
            if bare.status_code == 200:
                return registry.scrubbed(_refused_scopes(session, opts, realm, service, host, username, password, scopes,
                                                         answer), username, password)
            answer = bare
    except requests.exceptions.RequestException as exc:
        return registry.realm_unreachable(exc, host, realm, opts)
    verification, token = registry.classify_token_answer(host, username, answer)
    if token is None:
        return registry.scrubbed(verification, username, password)
    return registry.scrubbed(_prove_scopes(session, opts, base, host, username, token, scopes), username, password)


def _wanted(scopes: list[str]) -> list[tuple[str, str]]:
    """[(repository, action)] of repository scopes such as repository:team-a/app:pull,push."""
    wanted = []
    for scope in scopes:
        parts = scope.split(':')
        if len(parts) != 3 or parts[0] != 'repository':
            continue
        wanted.extend((parts[1], action) for action in parts[2].split(',') if action)
    return wanted


def _grants(pairs: list[tuple[str, str]]) -> str:
    return ', '.join(f'{action} on {repo}' for repo, action in pairs)


def _permission(host: str, username: str, missing: list[tuple[str, str]], granted: dict, status: int) -> Verification:
    return Verification(host, False, f'The registry at {host} accepted the {registry.credential_label(username)}, but its IAM policies '
                        f'do not grant {_grants(missing)}. Give the identity the Reader (pull) or Writer (push) role on '
                        'the namespace.', status=status, reason='permission', granted=granted)


def _refused_scopes(session: Any, opts: HttpOptions, realm: str, service: str | None, host: str, username: str,
                    password: str, scopes: list[str], answer: Any) -> Verification:
    """The realm refused the scopes but not the credential: find which actions it refuses, one at a time."""
    granted = {}
    missing = []
    for repo, action in _wanted(scopes):
        one = ask_realm(session, opts, realm, service, username, password, [f'repository:{repo}:{action}'])
        if one.status_code == 200:
            granted.setdefault(repo, []).append(action)
        else:
            missing.append((repo, action))
    if not missing:  # each alone is granted, together they are not: report what the realm said
        missing = _wanted(scopes)
    return _permission(host, username, missing, granted, answer.status_code)


def _prove_scopes(session: Any, opts: HttpOptions, base: str, host: str, username: str, token: str,
                  scopes: list[str]) -> Verification:
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
        url = f"{base}/v2/{repo}/{'tags/list' if action == 'pull' else 'blobs/uploads/'}"
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
            method = 'GET' if action == 'pull' else 'POST'
            return Verification(host, False, f'The registry at {host} answered HTTP {status} to {method} {url}; try '
                                'again later.', status=status, reason='unreachable')
        else:
            return Verification(host, False, f'The registry at {host} answered HTTP {status} where it should prove '
                                f'{action} on {repo}: {errors_text(answer)}', status=status, reason='protocol')
    granted = dict((repo, sorted(actions)) for repo, actions in granted.items())
    if missing:
        return _permission(host, username, missing, granted, 200)
    msg = f'The registry at {host} accepted the {registry.credential_label(username)} and grants {_grants(_wanted(scopes))}.'
    if absent:
        msg += f" ({', '.join(sorted(set(absent)))}: no such repository yet.)"
    return Verification(host, True, msg, status=200, granted=granted)


def _cancel_upload(session: Any, opts: HttpOptions, base: str, headers: dict, answer: Any) -> None:
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
