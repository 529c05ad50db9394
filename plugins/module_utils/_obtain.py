# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What icr_credential does, apart from Ansible: API key -> registry credential (internal use only)."""

from __future__ import annotations

import time

from ansible_collections.icr.auth.plugins.module_utils import _cache as cache
from ansible_collections.icr.auth.plugins.module_utils._credential import encode_auth, iso8601
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError, RegistryError
from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions
from ansible_collections.icr.auth.plugins.module_utils._iam import IamClient, check_api_key
from ansible_collections.icr.auth.plugins.module_utils._options import API_KEY_ENV, exchange, iam_endpoint, verify_all
from ansible_collections.icr.auth.plugins.module_utils._regions import REGION_HOSTS, resolve_registries, with_private


def api_key_from(params, env, required=True):
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


def parse_scopes(values):
    """'team-a/app:pull,push' -> 'repository:team-a/app:pull,push'."""
    scopes = []
    for value in values or []:
        name, sep, actions = (value or '').rpartition(':')
        acts = [a for a in actions.split(',') if a]
        if not sep or not name or not acts or any(a not in ('pull', 'push') for a in acts):
            raise InputError('verify_access: %r is not of the form namespace/repository:pull[,push].' % (value,))
        scopes.append('repository:%s:%s' % (name, ','.join(acts)))
    return scopes


def obtain(params, env, session=None, now=None):
    """The registry credential for params; returns (result dict, warnings)."""
    warnings = []
    api_key = api_key_from(params, env)
    check_api_key(api_key)
    username = params.get('username_type') or 'iamapikey'
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
    min_validity = 900 if min_validity is None else min_validity
    http = HttpOptions.from_params(params)
    client = IamClient(iam_endpoint(params, env), http, session=session)
    record = None
    path = None
    needs_iam = username != 'iamapikey' or verify
    cached = False
    if needs_iam and params.get('cache', True):
        path = cache.entry_path(params.get('cache_dir') or cache.default_dir(env), client.url, username, api_key)
        record = cache.load(path, min_validity, now)
        cached = record is not None
        if cached and username == 'iamapikey':
            record['password'] = api_key
    if record is None:
        record = {'username': username, 'password': api_key, 'expires_at': None, 'iam_id': None, 'account_id': None}
        if username == 'iamapikey' and verify:
            token = client.apikey_token(api_key)
            record.update(iam_id=token.iam_id, account_id=token.account_id, expires_at=token.expires_at)
        elif username != 'iamapikey':
            password, expires_at, token = exchange(client, api_key, username)
            record.update(password=password, expires_at=expires_at, iam_id=token.iam_id, account_id=token.account_id)
            now_s = time.time() if now is None else now
            if expires_at is not None and expires_at - now_s < min_validity:
                warnings.append('IAM issued a token valid for %d seconds, less than min_validity (%d): it may expire '
                                'during the play. Use iamapikey, or lower min_validity.' % (expires_at - now_s, min_validity))
        if path is not None and record.get('expires_at'):
            # The API key itself is never cached: for iamapikey only the identity and its token's expiry are.
            saved = dict(record, password=None) if username == 'iamapikey' else record
            warning = cache.save(path, saved)
            if warning:
                warnings.append(warning)
    password = record['password']
    verification = None
    if verify:
        results = verify_all(http, hosts, username, password, scopes)
        verification = dict((v.host, v.as_dict()) for v in results)
        refused = [v for v in results if not v.ok]
        if refused:
            if path is not None:
                cache.drop(path)
            raise RegistryError(' '.join(v.msg for v in refused), verification=verification)
    auth_hosts = hosts or [with_private(h) if params.get('private_endpoint') else h for h in REGION_HOSTS.values()]
    expires_at = record['expires_at'] if username != 'iamapikey' else None
    now_s = time.time() if now is None else now
    result = {
        'changed': False,
        'username': username,
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


def withhold(result, task_no_log):
    """Keep the API key out of a result that Ansible would show; returns the warnings for the task."""
    if task_no_log:
        return []
    if result['username'] == 'iamapikey':
        result.update(password=None, dockerconfigjson=None)
        return ['password and dockerconfigjson are null: for iamapikey they are the API key, which is returned only to '
                'a task with no_log: true (its result is then shown nowhere). Set no_log: true on this task.']
    return ['The result holds an IAM %s token (password, dockerconfigjson), and this task would show it: set no_log: '
            'true on this task.' % ('access' if result['username'] == 'iambearer' else 'refresh')]
