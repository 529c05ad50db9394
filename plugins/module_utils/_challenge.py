# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A registry's WWW-Authenticate challenge, and whether its token realm may get a credential (internal use only)."""

from __future__ import annotations

import re

from urllib.parse import urlsplit

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM_RE = re.compile(rf'\s*({_TOKEN})\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*')
_SCHEME_RE = re.compile(rf'\s*({_TOKEN})(?=\s|,|$)\s*')
_NEXT_RE = re.compile(rf'\s*{_TOKEN}\s*(=)?')
_LOOPBACK_RE = re.compile(r'^(?:127\.\d+\.\d+\.\d+|localhost|\[::1\])(?::\d+)?$')
_ICR_DOMAINS = ('icr.io', 'bluemix.net')


def parse_www_authenticate(header: str | None) -> list[tuple[str, dict[str, str]]]:
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
                ahead = _NEXT_RE.match(text[pos:])
                if ahead and not ahead.group(1):
                    break
            else:
                break
        challenges.append((scheme, params))
    return challenges


def bearer_challenge(header: str | None) -> tuple[str, str | None, str | None] | None:
    """(realm, service, scope) of the Bearer challenge in a header, or None."""
    for scheme, params in parse_www_authenticate(header):
        if scheme == 'bearer' and params.get('realm'):
            return params['realm'], params.get('service'), params.get('scope')
    return None


def is_loopback(host: str) -> bool:
    return bool(_LOOPBACK_RE.match(host))


def realm_refusal(base: str, host: str, realm: str) -> str | None:
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
        return (f'The registry at {host} named the token service {_clip_url(realm)!r}, which is not an http(s) URL; '
                'the credential was not sent.')
    if parts.scheme == 'http':
        if base.startswith('https:'):
            return (f'The registry at {host} was reached over https but named a plain-http token service '
                    f'({_clip_url(realm)}); the credential was not sent there.')
        if not (realm_host in ('localhost', '::1') or re.match(r'^127\.\d+\.\d+\.\d+$', realm_host)):
            return (f'The registry at {host} named a plain-http token service on another host ({_clip_url(realm)}); '
                    'the credential is only sent over http to loopback.')
    bare = host.split(':')[0].lower()
    for domain in _ICR_DOMAINS:
        if bare == domain or bare.endswith('.' + domain):
            if not any(realm_host == d or realm_host.endswith('.' + d) for d in _ICR_DOMAINS):
                return (f"The registry at {host} named a token service outside IBM Cloud Container Registry's domains "
                        f'({_clip_url(realm)}); the credential was not sent there.')
    return None


def _clip_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"[:200]
    except ValueError:
        return '<unparsable>'
