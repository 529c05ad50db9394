# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Registry credentials as auth files hold them: the auth field, fingerprints (internal use only).

Also the one place the auth-file code asks whether a stored credential can stay (still_current, which each username
type answers for itself) and reads token claims (from _jwt). Standard library only: this file is shipped to every
managed host.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from ansible_collections.icr.auth.plugins.module_utils._jwt import iso8601, jwt_claims, token_expiry, token_identity
from ansible_collections.icr.auth.plugins.module_utils._username_types import USERNAME_TYPES, still_current

__all__ = ['USERNAME_TYPES', 'decode_auth', 'encode_auth', 'fingerprint', 'iso8601', 'jwt_claims', 'still_current',
           'token_expiry', 'token_identity']


def fingerprint(secret: object) -> str | None:
    """A short, non-reversible fingerprint of a secret, for diffs and results."""
    if secret is None:
        return None
    if not isinstance(secret, str):
        secret = json.dumps(secret, sort_keys=True)
    # A lone surrogate (possible in JSON text) still gets a fingerprint.
    digest = hashlib.sha256(secret.encode('utf-8', 'surrogatepass')).hexdigest()
    return 'sha256:' + digest[:12]


def encode_auth(username: str, password: str) -> str:
    """The ``auth`` field of a Docker / containers auths entry."""
    return base64.b64encode(f'{username}:{password}'.encode('utf-8')).decode('ascii')


def decode_auth(value: object) -> tuple[str, str] | None:
    """(username, password) from an ``auth`` field, or None if it cannot be decoded."""
    if not isinstance(value, str) or not value:
        return None
    try:
        text = base64.b64decode(value.strip(), validate=True).decode('utf-8')
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if ':' not in text:
        return None
    username, password = text.split(':', 1)
    return username, password
