# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_credential's engine, apart from Ansible: API key -> registry credential (internal use only)."""

from __future__ import annotations

import time

from typing import Any

from ansible_collections.icr.auth.plugins.module_utils import _cache as cache
from ansible_collections.icr.auth.plugins.module_utils import _username_types as username_types
from ansible_collections.icr.auth.plugins.module_utils._access import verify as verify_access
from ansible_collections.icr.auth.plugins.module_utils._credential import encode_auth, iso8601
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError, RegistryError
from ansible_collections.icr.auth.plugins.module_utils._network import Network
from ansible_collections.icr.auth.plugins.module_utils._options import API_KEY_ENV, CREDENTIAL_DEFAULTS as DEFAULTS
from ansible_collections.icr.auth.plugins.module_utils._regions import REGION_HOSTS, resolve_registries, with_private
from ansible_collections.icr.auth.plugins.module_utils._username_base import UsernameType
from ansible_collections.icr.auth.plugins.module_utils._username_iamapikey import check_api_key


def api_key_from(params: dict, env: dict, required: bool = True) -> str | None:
    """The API key option, else IBMCLOUD_API_KEY, else IC_API_KEY (None if none and not required)."""
    if params.get('api_key') is not None:
        return params['api_key']
    for name in API_KEY_ENV:
        if env.get(name):
            return env[name]
    if not required:
        return None
    raise InputError('api_key: no API key was given and neither IBMCLOUD_API_KEY nor IC_API_KEY is set. Pass it from a '
                     'vault, or export IBMCLOUD_API_KEY on the controller.')


def parse_scopes(values: list | None) -> list[str]:
    """'team-a/app:pull,push' -> 'repository:team-a/app:pull,push'."""
    scopes = []
    for value in values or []:
        name, sep, actions = (value or '').rpartition(':')
        acts = [a for a in actions.split(',') if a]
        if not sep or not name or not acts or any(a not in ('pull', 'push') for a in acts):
            raise InputError(f'verify_access: {value!r} is not of the form namespace/repository:pull[,push].')
        if ':' in name:  # a tag or a second colon: a repository name has none (Docker's reference grammar)
            raise InputError(f'verify_access: {value!r} names a tag or holds a second colon; give the repository '
                             'without a tag, as namespace/repository:pull[,push].')
        scopes.append(f"repository:{name}:{','.join(acts)}")
    return scopes


def obtain(params: dict, env: dict, network: Network | None = None, now: float | None = None,
           session: Any = None) -> tuple[dict, list[str]]:
    """The registry credential for params; returns (result dict, warnings).

    network: how IAM and the registries are reached (made from params and env, with session, when not given).
    """
    warnings = []
    api_key = api_key_from(params, env)
    check_api_key(api_key)
    username = params.get('username_type') or DEFAULTS['username_type']
    kind = username_types.get(username)
    # The registry username: the type's name, or for trusted_profile the profile id.
    username = kind.login_name(params.get('trusted_profile_id'))
    hosts, host_warnings = resolve_registries(params.get('regions'), params.get('registries'), params.get('private_endpoint'))
    warnings.extend(host_warnings)
    if params.get('verify') and not hosts:
        raise InputError('verify: true, but there is nothing to prove the credential against: name the registries in '
                         'regions (such as us-south) or registries (such as us.icr.io), or set verify: false.')
    verify = bool(hosts) and params.get('verify') is not False
    scopes = parse_scopes(params.get('verify_access'))
    if scopes and not verify:
        raise InputError('verify_access needs regions or registries to verify against, and verify: true.')
    min_validity = params.get('min_validity')
    min_validity = DEFAULTS['min_validity'] if min_validity is None else min_validity
    if network is None:
        network = Network(params, env, session=session, access=verify_access)
    client = network.client  # the connection options are checked on every run, whether IAM is asked or not
    now_s = time.time() if now is None else now
    path = None
    record = None
    if (kind.needs_iam or verify) and params.get('cache', DEFAULTS['cache']):
        path = cache.entry_path(params.get('cache_dir') or cache.default_dir(env), client.url, kind.name, api_key)
        record = cache.load(path, min_validity, now)
        if record is not None and kind.is_api_key:
            record['password'] = api_key
    cached = record is not None
    if record is None:
        record, warning = _ask_iam(network, kind, api_key, verify, min_validity, now_s)
        warnings.extend([warning] if warning else [])
        if path is not None and record.get('expires_at'):
            # The API key itself is never cached: for iamapikey only the identity and its token's expiry are.
            warning = cache.save(path, dict(record, password=None) if kind.is_api_key else record)
            warnings.extend([warning] if warning else [])
    password = record['password']
    verification = None
    if verify:
        results = network.verify(hosts, username, password, scopes)
        verification = dict((v.host, v.as_dict()) for v in results)
        refused = [v for v in results if not v.ok]
        if refused:
            if path is not None:
                cache.drop(path)
            raise RegistryError(' '.join(v.msg for v in refused), verification=verification)
    auth_hosts = hosts or [with_private(h) if params.get('private_endpoint') else h for h in REGION_HOSTS.values()]
    expires_at = None if kind.is_api_key else record['expires_at']
    result = {
        'changed': False,
        'username': username,
        'username_type': kind.name,
        'password': password,
        'expires_at': iso8601(expires_at),
        'expires_in': int(expires_at - now_s) if expires_at else None,
        'iam_id': record.get('iam_id'),
        'account_id': record.get('account_id'),
        'registries': hosts,
        'verification': verification,
        'cached': cached,
        'dockerconfigjson': {'auths': dict(
            (h, {'username': username, 'password': password, 'auth': encode_auth(username, password)})
            for h in auth_hosts)},
    }
    return result, warnings


def _ask_iam(network: Network, kind: UsernameType, api_key: str, verify: bool, min_validity: int,
             now: float) -> tuple[dict, str | None]:
    """(record, warning or None): the credential IAM issues for the username type, or the API key's identity."""
    record = {'username': kind.name, 'password': api_key, 'expires_at': None, 'iam_id': None, 'account_id': None}
    if kind.needs_iam:
        issued = network.exchange(api_key, kind.name)
        record.update(password=issued.password, expires_at=issued.expires_at, iam_id=issued.iam_id,
                      account_id=issued.account_id)
        if issued.expires_at is not None and issued.expires_at - now < min_validity:
            return record, (f'IAM issued a token valid for {int(issued.expires_at - now)} seconds, less than min_validity '
                            f'({min_validity}): it may expire during the play. Use iamapikey, or lower min_validity.')
    elif verify:
        token = network.identity(api_key)
        record.update(iam_id=token.iam_id, account_id=token.account_id, expires_at=token.expires_at)
    return record, None


def withhold(result: dict, task_no_log: bool) -> list[str]:
    """Keep the API key out of a result that Ansible would show; returns the warnings for the task."""
    if task_no_log:
        return []
    kind = username_types.get(result.get('username_type') or result['username'])
    if kind.is_api_key:
        result.update(password=None, dockerconfigjson=None)
    return [kind.exposure_warning]


NO_LOG_MASK = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def invocation_args(params: dict) -> dict:
    """The arguments as a task's invocation shows them: the api_key masked, as Ansible masks a no_log option."""
    return dict(params, api_key=NO_LOG_MASK) if params.get('api_key') is not None else dict(params)


def credential_result(params: dict, env: dict, task_no_log: bool, secrets: set) -> tuple[dict, list[str]]:
    """icr_credential's whole work, as its module and its run in the controller's worker both do it: (result,
    warnings). Raises IcrAuthError.

    secrets is the set of values to mask in what the task returns (the module's no_log_values): a key taken from the
    environment joins it before anything can fail, and the credential the result returns leaves it (returning it is
    the purpose; withhold() has kept an API key out of a result that Ansible would show).
    """
    env_key = api_key_from(params, env, required=False)
    if env_key:
        secrets.add(env_key)
    result, warnings = obtain(params, env)
    warnings.extend(withhold(result, task_no_log))
    if result['password'] is not None:
        secrets.discard(result['password'])
    return result, warnings
