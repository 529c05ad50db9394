# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every identity source of the credential helper is and does (internal use only).

An identity source (vpc_trusted_profile, compute_resource, api_key_file) is one small class in its own file;
_identity_sources maps the names to them. Standard library only: this file runs in the credential helper.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import NamedTuple

from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError
from ansible_collections.icr.auth.plugins.module_utils._iam import Token, answer_of, token_url
from ansible_collections.icr.auth.plugins.module_utils._stdlib_http import Transport


class AccessToken(NamedTuple):
    """An IAM access token, when it expires and when it was issued (epoch seconds)."""

    token: str
    expires_at: int
    issued_at: int


class IdentityError(IcrAuthError):
    """An identity source could not produce a token (the message names the cause, never a secret)."""


def access_token(answer: dict, now: float | None = None) -> AccessToken:
    """The AccessToken of a token answer (IAM's or the metadata service's): expiry from the JWT, else the answer."""
    now = int(time.time() if now is None else now)
    token = Token(answer)
    expires_at = token.expires_at
    if expires_at is None:
        raise IdentityError('the token answered carries no expiry (no exp claim, expiration or expires_in)')
    return AccessToken(token.access_token, int(expires_at), now)


class IdentitySource(object):
    """Where the helper's IAM access token comes from."""

    name = ''
    #: The configuration keys that tell one identity of this kind from another (the cache key is made of them).
    keys: tuple = ()

    def __init__(self, config: dict, transport: Transport) -> None:
        self.config = config
        self.transport = transport

    def cache_key(self) -> str:
        """A file-name-safe hash of the identity's configuration (never of a secret)."""
        what = dict((key, self.config.get(key)) for key in ('identity', 'iam_endpoint') + self.keys)
        text = json.dumps(what, sort_keys=True)
        return f"{self.name}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:32]}"

    def fetch(self) -> AccessToken:
        """A new IAM access token; IdentityError (or TransportError) naming the cause, never a secret."""
        raise NotImplementedError

    # Shared by the sources that ask IAM's token endpoint themselves.
    @property
    def iam_url(self) -> str:
        return token_url(self.config.get('iam_endpoint'))

    def iam_exchange(self, form: dict, doing: str) -> AccessToken:
        """POST form to IAM's token endpoint; the token, or an error mapped as everywhere in the collection."""
        from urllib.parse import urlencode
        url = self.iam_url
        response = self.transport.request('POST', url, 'IBM Cloud IAM', body=urlencode(form).encode('ascii'),
                                          headers={'Content-Type': 'application/x-www-form-urlencoded'})
        return access_token(answer_of(url, response.status, response.json(), len(response.body), self.transport,
                                      doing))
