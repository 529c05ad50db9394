# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Username iambearer: the password is an IAM access token (internal use only)."""

from __future__ import annotations

import time

from typing import Any

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._credential import iso8601, jwt_claims, token_expiry, token_identity
from ansible_collections.icr.auth.plugins.module_utils._username_base import Issued, UsernameType


def bearer_still_good(stored_password: str, new_password: str, min_validity: int, now: float | None = None) -> bool:
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
    return bearer_valid_for(stored_password, min_validity, now)


def bearer_valid_for(stored_password: str, min_validity: int, now: float | None = None) -> bool:
    """True if a stored IAM access token is still valid for ``min_validity`` seconds (identity not checked)."""
    exp = token_expiry(jwt_claims(stored_password))
    now = time.time() if now is None else now
    return exp is not None and exp - now >= min_validity


class IamBearer(UsernameType):
    """An IAM access token (a JWT, 60 minutes at most); one of the same identity that is still valid may stay."""

    name = 'iambearer'
    prefix = 'bearer '
    exposure_warning = ('The result holds an IAM access token (password, dockerconfigjson), and this task would show it: '
                        'set no_log: true on this task.')

    def check_form(self, password: str, claims: dict | None, now: float | None) -> int | None:
        if claims is None:
            raise InputError('password: username_type iambearer needs an IAM access token (a JWT), and this is not one. '
                             'An API key goes with username_type iamapikey.')
        exp = token_expiry(claims)
        now = time.time() if now is None else now
        if exp is not None and exp <= now:
            raise InputError(f'password: the IAM access token expired at {iso8601(exp)}; get a fresh one '
                             '(icr.auth.icr_credential).')
        return exp

    def issue(self, client: Any, api_key: str) -> Issued:
        token = client.apikey_token(api_key)
        return Issued(token.access_token, token.expires_at, token)

    def keeps(self, stored: str | None, password: str | None, min_validity: int, now: float | None = None) -> bool:
        """A token of the same identity valid for min_validity seconds stays; if the new one is not issued yet
        (password None, check mode), its validity decides alone."""
        if password is None:
            return bearer_valid_for(stored, min_validity, now)
        return bearer_still_good(stored, password, min_validity, now)
