# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Registry credentials: IAM tokens read as JWTs (never verified) and their times, the auth field, fingerprints.

Internal use only. Standard library only: this file is shipped to every managed host.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import math

MAX_EPOCH = 253402300800  # 10000-01-01: what datetime can show


def jwt_claims(token: object) -> dict | None:
    """The claims of a JWT, read WITHOUT verifying its signature, or None if it is not a JWT.

    Good for reading our own token's ``exp`` and ``iam_id``; never for trusting a token.
    """
    if not isinstance(token, str) or token.count('.') != 2:
        return None
    payload = token.split('.')[1]
    try:
        raw = base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4))
        claims = json.loads(raw.decode('utf-8'))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def token_identity(claims: dict | None) -> tuple[str | None, str | None]:
    """(iam_id, account_id) from IAM access token claims; either may be None."""
    if not claims:
        return None, None
    account = claims.get('account')
    account_id = account.get('bss') if isinstance(account, dict) else None
    return claims.get('iam_id') or claims.get('sub'), account_id


def token_expiry(claims: dict | None) -> int | None:
    """``exp`` of the claims as an int, or None."""
    if not claims:
        return None
    exp = claims.get('exp')
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    # Infinity, NaN and 1e999 (which json reads as infinity) are no expiry a token can have.
    if isinstance(exp, float) and (math.isnan(exp) or math.isinf(exp)):
        return None
    if not 0 <= exp < MAX_EPOCH:
        return None
    return int(exp)


def iso8601(epoch: float | None) -> str | None:
    """Epoch seconds as an ISO 8601 UTC string, or None."""
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


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
