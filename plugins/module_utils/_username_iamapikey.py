# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Username iamapikey: the password is an IBM Cloud API key (internal use only)."""

from __future__ import annotations

from typing import Any

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._credential import jwt_claims
from ansible_collections.icr.auth.plugins.module_utils._username_base import Issued, UsernameType, checked_secret


def check_api_key(api_key: object, option: str = 'api_key') -> None:
    """Refuse API keys that cannot be right, before anything is sent."""
    checked_secret(api_key, option, 'the API key', 'no API key was given. Pass it from a vault, or set IBMCLOUD_API_KEY.')
    if jwt_claims(api_key) is not None:
        raise InputError(f'{option}: this is an IAM access token, not an API key; use username_type iambearer with it as '
                         'password, or give the API key.')


class IamApiKey(UsernameType):
    """The API key of a user or service ID, as it is: nothing to exchange, nothing that expires."""

    name = 'iamapikey'
    is_api_key = True
    exposure_warning = ('password and dockerconfigjson are null: for iamapikey they are the API key, which is returned '
                        'only to a task with no_log: true (its result is then shown nowhere). Set no_log: true on this '
                        'task.')

    def check_form(self, password: str, claims: dict | None, now: float | None) -> int | None:
        if claims is not None:
            raise InputError('password: this is an IAM access token, not an API key; set username_type: iambearer, or '
                             'pass the API key.')
        return None

    def issue(self, client: Any, api_key: str) -> Issued:
        return Issued(api_key, None, None)
