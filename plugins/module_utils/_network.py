# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one way both modules reach the network: IAM exchanges and registry proofs (internal use only).

Nothing is built until it is used: a run that never talks to the network never checks the connection options nor
imports requests.
"""

from __future__ import annotations

from typing import Any, Callable

from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions, make_session
from ansible_collections.icr.auth.plugins.module_utils._iam import IamClient, Token
from ansible_collections.icr.auth.plugins.module_utils._registry import Verification, verify
from ansible_collections.icr.auth.plugins.module_utils._username_types import Issued, exchange

IAM_ENDPOINT_ENV = 'IBMCLOUD_IAM_ENDPOINT'


def iam_endpoint(params: dict, env: dict) -> str:
    """The iam_endpoint option, else IBMCLOUD_IAM_ENDPOINT, else public."""
    return params.get('iam_endpoint') or env.get(IAM_ENDPOINT_ENV) or 'public'


class Network(object):
    """IAM and the registries, as the connection options of a module run reach them.

    session: the requests session IAM is asked with (made from the options when not given).
    access: what proves repository scopes (_access.verify), for the callers that ask for them.
    """

    def __init__(self, params: dict, env: dict, session: Any = None,
                 access: Callable[..., Verification] | None = None) -> None:
        self.params = params
        self.env = env
        self.access = access
        self._session = session
        self._http = self._client = None  # made when first used

    @property
    def http(self) -> HttpOptions:
        """The connection options; InputError if they cannot be used."""
        if self._http is None:
            self._http = HttpOptions.from_params(self.params)
        return self._http

    @property
    def client(self) -> IamClient:
        """The IAM client of iam_endpoint; InputError if the options cannot be used."""
        if self._client is None:
            self._client = IamClient(iam_endpoint(self.params, self.env), self.http, session=self._session)
        return self._client

    def exchange(self, api_key: str, username_type: str) -> Issued:
        """The credential of an API key for a username type (password, expires_at, iam_id, account_id)."""
        password, expires_at, token = exchange(self.client, api_key, username_type)
        return Issued(password, expires_at, token)

    def identity(self, api_key: str) -> Token:
        """The IAM token of an API key, for its identity (iam_id, account_id) and expiry."""
        return self.client.apikey_token(api_key)

    def verify(self, hosts: list[str], username: str, password: str, scopes: list[str] | None = None) -> list[Verification]:
        """The Verification of (username, password), and of the repository scopes if any, at each host."""
        session = make_session(self.http)
        if scopes:
            if self.access is None:
                raise ValueError('Network.verify: scopes need a Network made with access=_access.verify')
            return [self.access(session, self.http, host, username, password, scopes) for host in hosts]
        return [verify(session, self.http, host, username, password) for host in hosts]
