# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Do the namespaces a policy would name exist? The ICR management API of each region (internal use only).

``GET https://<region's registry host>/api/v1/namespaces`` with ``Account: <account id>`` and the administrator's
bearer token answers the account's namespaces in that registry. ``registry_api_endpoint`` points these calls at
another base URL (tests, private networks); a ``{host}`` in it is replaced by the region's registry host.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError, RegistryError
from ansible_collections.icr.auth.plugins.module_utils._http import describe_exception
from ansible_collections.icr.auth.plugins.module_utils._regions import REGION_HOSTS

NAMESPACES_PATH = '/api/v1/namespaces'
SHOWN = 20


def namespaces_url(region: str, endpoint: str | None) -> str:
    """The namespaces URL of a region ('global' or an ICR region name), at endpoint when given."""
    host = REGION_HOSTS[region]
    if not endpoint:
        return f'https://{host}{NAMESPACES_PATH}'
    value = endpoint.strip().replace('{host}', host)
    if not (value.startswith('https://') or value.startswith('http://')) or ' ' in value:
        raise InputError(f'registry_api_endpoint: {endpoint!r} is not an http(s) URL (for example '
                         'https://us.icr.io, or https://{host} with the region host put in).')
    return value.rstrip('/') + NAMESPACES_PATH


def names_of(body: Any) -> list[str] | None:
    """Namespace names of an answer: a list of names, or of objects with a name (or namespace)."""
    if isinstance(body, dict):
        body = body.get('namespaces')
    if not isinstance(body, list):
        return None
    names = []
    for item in body:
        if isinstance(item, dict):
            item = item.get('name') or item.get('namespace')
        if not isinstance(item, str):
            return None
        names.append(item)
    return names


def registry_namespaces(admin: Any, account: str, region: str, endpoint: str | None) -> list[str]:
    """The namespaces of account in the registry of region; RegistryError when that cannot be told."""
    import requests
    url = namespaces_url(region, endpoint)
    where = f"the {region} registry ({REGION_HOSTS[region]})"
    headers = {'Authorization': f'Bearer {admin.bearer()}', 'Account': account, 'Accept': 'application/json'}
    try:
        response = admin.session.get(url, headers=headers, timeout=admin.opts.timeout)
    except requests.exceptions.RequestException as exc:
        raise RegistryError(f"Could not list the namespaces of {where}: "
                            f"{describe_exception(exc, 'the Container Registry API', url, admin.opts)} Set "
                            'registry_api_endpoint, or check_namespaces: false to skip the check.')
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    names = names_of(body) if response.status_code == 200 else None
    if names is not None:
        return names
    if response.status_code in (401, 403):
        advice = ('the administrator needs a Container Registry role that lists namespaces (Reader or Manager) in '
                  f'account {account}')
    elif response.status_code == 200:
        advice = 'the answer is not a list of namespaces; check registry_api_endpoint'
    else:
        advice = 'check registry_api_endpoint, or run again later'
    raise RegistryError(f'Could not list the namespaces of {where} at {url}: HTTP {response.status_code}; {advice}. '
                        'Or set check_namespaces: false to skip the check.', status=response.status_code)


def check_namespaces(admin: Any, account: str, keys: list, endpoint: str | None) -> None:
    """IamError naming every namespace of keys ((attribute, location, namespace, ...)) missing from its registry."""
    wanted: dict = {}
    for key in keys:
        region = 'global' if key[0] == 'geography' else key[1]
        if key[2] is not None and region in REGION_HOSTS:
            wanted.setdefault(region, set()).add(key[2])
    problems = []
    for region in sorted(wanted):
        existing = registry_namespaces(admin, account, region, endpoint)
        missing = sorted(wanted[region] - set(existing))
        if missing:
            shown = ', '.join(sorted(existing)[:SHOWN]) + (' ...' if len(existing) > SHOWN else '')
            problems.append(f"{', '.join(missing)} in {region} ({REGION_HOSTS[region]}; it has: {shown or 'none'})")
    if problems:
        raise IamError(f"access: no such namespace in account {account}: {'; '.join(problems)}. Nothing was changed in "
                       'IAM. Create the namespace first (ibmcloud cr namespace-add), fix the name, or set '
                       'check_namespaces: false to grant on it anyway.')
