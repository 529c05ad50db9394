# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Username iamrefresh: the password is an IAM refresh token (internal use only)."""

from __future__ import annotations

from typing import Any

from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError
from ansible_collections.icr.auth.plugins.module_utils._username_base import Issued, UsernameType


class IamRefresh(UsernameType):
    """An IAM refresh token, issued to the IBM Cloud CLI's client so that it works; opaque, so only the same one stays."""

    name = 'iamrefresh'
    exposure_warning = ('The result holds an IAM refresh token (password, dockerconfigjson), and this task would show '
                        'it: set no_log: true on this task.')

    def check_form(self, password: str, claims: dict | None, now: float | None) -> int | None:
        if claims is not None:
            raise InputError('password: this is an IAM access token, but username_type iamrefresh needs a refresh '
                             'token; set username_type: iambearer, or pass the refresh token.')
        return None

    def issue(self, client: Any, api_key: str) -> Issued:
        token = client.apikey_token(api_key, want_refresh=True)
        if not token.refresh_token or token.refresh_token == 'not_supported':
            raise IamError('IAM did not issue a usable refresh token for username_type iamrefresh; use iambearer or '
                           'iamapikey instead.')
        return Issued(token.refresh_token, token.expires_at, token)
