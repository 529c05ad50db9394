# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The administrator as a trusted profile: the assume and cr-token grants of the IAM management modules (internal use only).

- assume: the admin API key's token assumes the profile (id, CRN, or name with its account).
- cr_token: the compute resource token of a pod (IKS, OpenShift, Code Engine), read from its file at each exchange
  because the platform rotates it, is exchanged for the profile's token (id and/or name).
Messages name the option and the profile, never a key or token.
"""

from __future__ import annotations

from typing import Any, Callable

from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError
from ansible_collections.icr.auth.plugins.module_utils._iam import IamClient, Token

MAX_CR_TOKEN = 16384


def read_cr_token(path: str) -> str:
    """The compute resource token in path, read now (the platform rewrites the file as it rotates the token)."""
    try:
        with open(path, 'rb') as handle:
            raw = handle.read(MAX_CR_TOKEN + 1)
    except OSError as exc:
        raise InputError(f'admin_cr_token_file: cannot read {path}: {exc.strerror or type(exc).__name__}. Give the '
                         'path of the compute resource token file (for example /var/run/secrets/tokens/vault-token '
                         'in IKS or OpenShift) of a pod linked to admin_trusted_profile.')
    try:
        token = raw.decode('ascii').strip()
    except UnicodeDecodeError:
        token = ''
    if not token or len(raw) > MAX_CR_TOKEN or any(c.isspace() or not c.isprintable() for c in token):
        raise InputError(f'admin_cr_token_file: {path} does not hold a compute resource token (one line of at most '
                         f'{MAX_CR_TOKEN} printable characters; it holds {len(raw)} bytes).')
    return token


def profile_text(profile: dict, account: str | None) -> str:
    """How a message names the profile of admin_trusted_profile."""
    value = next(iter(profile.values()), '')
    return f'{value!r}' + (f' in account {account}' if 'profile_name' in profile else '')


def admin_profile_token(client: IamClient, mode: str, profile: dict, account: str | None, cr_token_file: str | None,
                        api_key: str | None, hide: Callable[[str], None] | None = None) -> Token:
    """The trusted profile's token: by the cr-token grant (mode cr_token) or the API key's token assuming it (assume)."""
    def hidden(value: str) -> str:
        if hide:
            hide(value)
        return value

    if mode == 'cr_token':
        cr_token = hidden(read_cr_token(str(cr_token_file)))
        try:
            return client.cr_token(cr_token, **profile)
        except IamError as exc:
            raise IamError(f'admin_cr_token_file with admin_trusted_profile {profile_text(profile, account)}: {exc.msg} '
                           'Check that the compute resource (pod, cluster or Code Engine component) is linked to that '
                           'trusted profile and that the file holds its current token.', **exc.details)
    if mode != 'assume' or not api_key:
        raise InputError('admin_trusted_profile: assuming a trusted profile needs the administrator API key (api_key).')
    try:
        token = client.apikey_token(api_key)
    except IamError as exc:
        raise IamError(f'api_key (to assume admin_trusted_profile): {exc.msg}', **exc.details)
    ref: dict[str, Any] = dict(profile)
    if 'profile_name' in ref:
        ref['account_id'] = account
    try:
        return client.assume(hidden(token.access_token), **ref)
    except IamError as exc:
        raise IamError(f'admin_trusted_profile {profile_text(profile, account)}: {exc.msg} Check that the profile '
                       'exists and that it trusts the identity of api_key.', **exc.details)
