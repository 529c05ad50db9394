# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The registry username types by name, and what the engines ask of them (internal use only).

Adding a username type is adding its file (see _username_base.UsernameType) and one entry below. Standard library
only: this file is shipped to every managed host.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._username_base import Issued, UsernameType
from ansible_collections.icr.auth.plugins.module_utils._username_iamapikey import IamApiKey
from ansible_collections.icr.auth.plugins.module_utils._username_iambearer import IamBearer
from ansible_collections.icr.auth.plugins.module_utils._username_iamrefresh import IamRefresh
from ansible_collections.icr.auth.plugins.module_utils._username_profile import TrustedProfile

_TYPES = dict((kind.name, kind) for kind in (IamApiKey(), IamBearer(), IamRefresh(), TrustedProfile()))
USERNAME_TYPES = tuple(_TYPES)
# The types whose password is the API key itself.
API_KEY_TYPES = tuple(name for name, kind in _TYPES.items() if kind.is_api_key)


def get(name: str) -> UsernameType:
    """The username type of a name; InputError if there is none."""
    try:
        return _TYPES[name]
    except (KeyError, TypeError):
        raise InputError(f"username_type: {name!r} is none of {', '.join(USERNAME_TYPES)}.") from None


def login_name(username_type: str, profile_id: object = None) -> str:
    """The registry username of a username type: its name, or for trusted_profile the profile id (checked)."""
    return get(username_type).login_name(profile_id)


def type_of(username: object) -> UsernameType | None:
    """The username type of a registry username as stored or sent (iamapikey, Profile-<uuid>...), else None."""
    for kind in _TYPES.values():
        if kind.owns(username):
            return kind
    return None


def check_password(username_type: str, password: object, now: float | None = None) -> tuple[str, int | None]:
    """The password to store (a 'Bearer ' prefix dropped) and its expiry (epoch or None); InputError if unusable."""
    return get(username_type).check_password(password, now)


def exchange(client: Any, api_key: str, username_type: str) -> Issued:
    """The credential of a username type for an API key: (password, expires_at, IAM token or None)."""
    return get(username_type).issue(client, api_key)


def still_current(stored: tuple[str, str | None] | None, username: str, password: str | None, min_validity: int,
                  now: float | None = None) -> bool:
    """True if a stored (username, secret) can stay in place of (username, password).

    The same secret stays; for iambearer a still-valid token of the same identity stays too.  A password
    of None stands for a token IAM has not issued yet (check mode): a stored token valid for
    ``min_validity`` seconds stays.
    """
    if stored is None or stored[0] != username:
        return False
    if stored[1] == password:
        return True
    kind = type_of(username)
    return kind is not None and kind.keeps(stored[1], password, min_validity, now)
