# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every registry username type is and does, and the checks of a secret (internal use only).

A username type (iamapikey, iambearer, iamrefresh, trusted_profile) is one small class in its own file; _username_types maps the
names to them. Standard library only: this file is shipped to every managed host. An IAM client is handed in where
one is needed, never imported.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._credential import jwt_claims

WHITE_SPACE = 'contains white space (a stray newline or blank from where it is stored?); remove it.'
EMPTY_PASSWORD = 'it is empty. Pass the API key or token (from a vault), or use api_key.'


def checked_secret(value: object, option: str, subject: str, empty: str, prefix: str = '') -> str:
    """value, less a leading prefix (any case); InputError '<option>: <empty>' if there is none, or if it has white space."""
    if not isinstance(value, str) or not value:
        raise InputError(f'{option}: {empty}')
    if prefix and value[:len(prefix)].lower() == prefix:
        value = value[len(prefix):]
    if any(c.isspace() for c in value):
        raise InputError(f'{option}: {subject} {WHITE_SPACE}')
    return value


class Issued(NamedTuple):
    """A credential issued for a username type: its password, its expiry and the IAM token it came from (or None)."""

    password: str
    expires_at: Any
    token: Any

    @property
    def iam_id(self) -> str | None:
        return getattr(self.token, 'iam_id', None)

    @property
    def account_id(self) -> str | None:
        return getattr(self.token, 'account_id', None)


class UsernameType(object):
    """A registry username and what its password is: how it is checked, issued from an API key, and kept."""

    name = ''
    #: The password is the API key itself (never cached, never returned to a task that would show it).
    is_api_key = False
    #: A prefix dropped from a given password ('bearer ' for an access token).
    prefix = ''
    #: What a task that would show the result is told.
    exposure_warning = ''

    def login_name(self, profile_id: object = None) -> str:
        """The registry username sent and stored: the type's name, except for trusted_profile (the profile id).

        profile_id: the trusted_profile_id option; InputError if this type does not take one and it is given.
        """
        if profile_id is not None and profile_id != '':
            raise InputError(f'trusted_profile_id: it is only used with username_type trusted_profile, not {self.name}; '
                             'set username_type: trusted_profile, or remove trusted_profile_id.')
        return self.name

    def owns(self, username: object) -> bool:
        """True if a stored registry username is one of this type."""
        return username == self.name

    def identity_of(self, username: str) -> str | None:
        """The IAM id a username names by itself (a trusted profile's), else None."""
        return None

    @property
    def needs_iam(self) -> bool:
        """Issuing the password from an API key asks IAM."""
        return not self.is_api_key

    def check_password(self, password: object, now: float | None = None) -> tuple[str, int | None]:
        """The password to store (prefix dropped) and its expiry (epoch or None); InputError if it cannot be right."""
        password = checked_secret(password, 'password', 'it', EMPTY_PASSWORD, self.prefix)
        return password, self.check_form(password, jwt_claims(password), now)

    def check_form(self, password: str, claims: dict | None, now: float | None) -> int | None:
        """The expiry of a password of the right form (claims: its JWT claims, or None); InputError if it is not."""
        raise NotImplementedError

    def issue(self, client: Any, api_key: str) -> Issued:
        """The credential of an API key, from an IAM client (its apikey_token method)."""
        raise NotImplementedError

    def keeps(self, stored: str | None, password: str | None, min_validity: int, now: float | None = None) -> bool:
        """True if a stored password that differs from password may stay in its place (None: not issued yet)."""
        return False
