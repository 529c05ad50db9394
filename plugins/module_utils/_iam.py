# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The IBM Cloud IAM token client (internal use only)."""

from __future__ import annotations

import time

from typing import Any

from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError
from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions, attempts_text, describe_exception, make_session
from ansible_collections.icr.auth.plugins.module_utils._credential import jwt_claims, token_expiry, token_identity
# The API key checks live with the iamapikey username type; check_api_key is importable here too.
from ansible_collections.icr.auth.plugins.module_utils._username_iamapikey import check_api_key

PUBLIC_ENDPOINT = 'https://iam.cloud.ibm.com'
PRIVATE_ENDPOINT = 'https://private.iam.cloud.ibm.com'
TOKEN_PATH = '/identity/token'
APIKEY_GRANT = 'urn:ibm:params:oauth:grant-type:apikey'
REFRESH_GRANT = 'refresh_token'
CR_TOKEN_GRANT = 'urn:ibm:params:oauth:grant-type:cr-token'
# The client of the IBM Cloud CLI: the only widely documented way to get a usable refresh token.
CLI_CLIENT = ('bx', 'bx')

# What a user should do about IAM's error codes.
ERROR_ADVICE = {
    'BXNIM0415E': 'The API key is not known to IAM: it is mistyped, deleted or revoked. Create a new key '
                  '(ibmcloud iam api-key-create, or service-api-key-create for a service ID) and update where it is stored.',
    'BXNIM0407E': 'The refresh token is invalid or has expired; exchange the API key again.',
    'BXNIM0137E': 'The refresh token was issued to another client id than the one refreshing it.',
    'BXNIM0106E': 'IAM refused the response type asked for.',
    'BXNIM0151E': 'The account has reached its API key limit.',
}


def token_url(endpoint: str | None) -> str:
    """The token URL of an iam_endpoint value: public, private, or a base URL."""
    value = (endpoint or 'public').strip()
    if value == 'public':
        base = PUBLIC_ENDPOINT
    elif value == 'private':
        base = PRIVATE_ENDPOINT
    elif value.startswith('https://') or value.startswith('http://'):
        base = value.rstrip('/')
    else:
        raise InputError(f'iam_endpoint: {value!r} is neither public, private nor an http(s) URL '
                         '(for example https://private.us-south.iam.cloud.ibm.com).')
    if base.endswith(TOKEN_PATH):
        return base
    return base + TOKEN_PATH


class Token(object):
    """What IAM answered: the access token, the refresh token, and what they say about themselves."""

    def __init__(self, answer: dict) -> None:
        self.access_token = answer['access_token']
        self.refresh_token = answer.get('refresh_token')
        claims = jwt_claims(self.access_token) or {}
        self.iam_id, self.account_id = token_identity(claims)
        exp = token_expiry(claims)
        if exp is None:
            exp = answer.get('expiration') if isinstance(answer.get('expiration'), int) else None
        if exp is None and isinstance(answer.get('expires_in'), int):
            exp = int(time.time()) + answer['expires_in']
        self.expires_at = exp


class IamClient(object):
    """Exchange API keys and refresh tokens for IAM tokens."""

    def __init__(self, endpoint: str | None, http_options: HttpOptions, session: Any = None) -> None:
        self.url = token_url(endpoint)
        self.opts = http_options
        self._session = session

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = make_session(self.opts)
        return self._session

    def apikey_token(self, api_key: str, want_refresh: bool = False) -> Token:
        """The IAM token of an API key; ``want_refresh`` asks for a refresh token that works (the bx client)."""
        check_api_key(api_key)
        form = {'grant_type': APIKEY_GRANT, 'apikey': api_key}
        return self._token(form, CLI_CLIENT if want_refresh else None, 'exchange the API key')

    def refresh(self, refresh_token: str) -> Token:
        """A new IAM token from a refresh token issued to the bx client."""
        form = {'grant_type': REFRESH_GRANT, 'refresh_token': refresh_token}
        return self._token(form, CLI_CLIENT, 'refresh the IAM token')

    def _token(self, form: dict, client: tuple[str, str] | None, doing: str) -> Token:
        import requests
        try:
            response = self.session.post(self.url, data=form, auth=client, timeout=self.opts.timeout,
                                         headers={'Accept': 'application/json'})
        except requests.exceptions.RequestException as exc:
            raise IamError(f"Could not {doing}: {describe_exception(exc, 'IBM Cloud IAM', self.url, self.opts)}")
        return Token(self._answer(response, doing))

    def _answer(self, response: Any, doing: str) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = None
        return answer_of(self.url, response.status_code, body, len(response.content or b''), self.opts, doing)


def answer_of(url: str, status: int, body: object, size: int, opts: Any, doing: str) -> dict:
    """The token answer of IAM (a dict with an access_token), or IamError naming the cause and what to do.

    ``body`` is the parsed JSON answer (None if it was not JSON), ``size`` its length in bytes, ``opts`` anything with
    ``retries`` (for the number of attempts). Shared by the requests client above and the standard-library transport
    of the credential helper.
    """
    if status == 200:
        if not isinstance(body, dict) or not isinstance(body.get('access_token'), str) or not body['access_token']:
            not_json = '' if body is not None else ', not JSON'
            raise IamError(f'Could not {doing}: IAM at {url} answered HTTP 200 with a body that is not a token '
                           f'answer ({size} bytes{not_json}). Check iam_endpoint.')
        return body
    if status == 429:
        raise IamError(f'Could not {doing}: IAM at {url} is rate-limiting (HTTP 429) and still was after '
                       f'{attempts_text(opts)}. Wait and run again, or lower the number of parallel exchanges '
                       '(exchange once on the controller with run_once).')
    if status >= 500:
        raise IamError(f'Could not {doing}: IAM at {url} answered HTTP {status} ({attempts_text(opts)}). '
                       'IBM Cloud IAM may be having trouble; try again later.')
    code = message = request_id = None
    if isinstance(body, dict):
        code = body.get('errorCode')
        message = body.get('errorMessage')
        context = body.get('context')
        request_id = context.get('requestId') if isinstance(context, dict) else None
    parts = [f'Could not {doing}: IAM answered HTTP {status}']
    if code or message:
        parts.append(f" ({': '.join(str(p) for p in (code, message) if p)})")
    parts.append('.')
    if code in ERROR_ADVICE:
        parts.append(' ' + ERROR_ADVICE[code])
    elif body is None:
        parts.append(' The answer was not JSON; check iam_endpoint.')
    if request_id:
        parts.append(f' IAM request id: {request_id}.')
    raise IamError(''.join(parts), code=code, status=status)
