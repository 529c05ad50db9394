# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Registry credentials: username types, JWT claims, fingerprints (internal use only).

Standard library only: this file is shipped to every managed host.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import math
import time

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError

USERNAME_TYPES = ('iamapikey', 'iambearer', 'iamrefresh')
MAX_EPOCH = 253402300800  # 10000-01-01: what datetime can show


def jwt_claims(token):
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


def check_api_key(api_key: object, option: str = 'api_key') -> None:
    """Refuse API keys that cannot be right, before anything is sent."""
    if not isinstance(api_key, str) or not api_key:
        raise InputError('%s: no API key was given. Pass it from a vault, or set IBMCLOUD_API_KEY.' % option)
    if api_key != api_key.strip() or any(c.isspace() for c in api_key):
        raise InputError('%s: the API key contains white space (a stray newline or blank from where it is stored?); '
                         'remove it.' % option)
    if jwt_claims(api_key) is not None:
        raise InputError('%s: this is an IAM access token, not an API key; use username_type iambearer with it as '
                         'password, or give the API key.' % option)


def token_identity(claims):
    """(iam_id, account_id) from IAM access token claims; either may be None."""
    if not claims:
        return None, None
    account = claims.get('account')
    account_id = account.get('bss') if isinstance(account, dict) else None
    return claims.get('iam_id') or claims.get('sub'), account_id


def token_expiry(claims):
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


def iso8601(epoch):
    """Epoch seconds as an ISO 8601 UTC string, or None."""
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def fingerprint(secret):
    """A short, non-reversible fingerprint of a secret, for diffs and results."""
    if secret is None:
        return None
    if not isinstance(secret, str):
        secret = json.dumps(secret, sort_keys=True)
    # A lone surrogate (possible in JSON text) still gets a fingerprint.
    digest = hashlib.sha256(secret.encode('utf-8', 'surrogatepass')).hexdigest()
    return 'sha256:' + digest[:12]


def encode_auth(username, password):
    """The ``auth`` field of a Docker / containers auths entry."""
    return base64.b64encode(('%s:%s' % (username, password)).encode('utf-8')).decode('ascii')


def decode_auth(value):
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


def bearer_still_good(stored_password, new_password, min_validity, now=None):
    """True if a stored IAM access token can stay in place of a new one.

    It can when both are tokens of the same identity (``iam_id`` and account) and the stored one is
    still valid for ``min_validity`` seconds.
    """
    old = jwt_claims(stored_password)
    new = jwt_claims(new_password)
    if not old or not new:
        return False
    if token_identity(old) != token_identity(new) or token_identity(old)[0] is None:
        return False
    exp = token_expiry(old)
    if exp is None:
        return False
    now = time.time() if now is None else now
    return exp - now >= min_validity


def bearer_valid_for(stored_password, min_validity, now=None):
    """True if a stored IAM access token is still valid for ``min_validity`` seconds (identity not checked)."""
    exp = token_expiry(jwt_claims(stored_password))
    now = time.time() if now is None else now
    return exp is not None and exp - now >= min_validity


def still_current(stored, username, password, min_validity, now=None):
    """True if a stored (username, secret) can stay in place of (username, password).

    The same secret stays; for iambearer a still-valid token of the same identity stays too.  A password
    of None stands for a token IAM has not issued yet (check mode): a stored token valid for
    ``min_validity`` seconds stays.
    """
    if stored is None or stored[0] != username:
        return False
    if stored[1] == password:
        return True
    if username != 'iambearer':
        return False
    if password is None:
        return bearer_valid_for(stored[1], min_validity, now)
    return bearer_still_good(stored[1], password, min_validity, now)
