# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Container Registry access policies of one IAM identity, found by content (internal use only).

A policy is identified by what it grants on: the registry's region (or geography=global) and namespace. Its roles
are its content. Nothing is created twice: an existing policy on the same resource is kept or updated (If-Match with
the ETag read just before), a 409 policy_conflict_error adopts the policy IAM names, and a policy created moments ago
that IAM cannot read yet is read again, never created again.
"""

from __future__ import annotations

import re
import time

from typing import Any, Callable

from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError
from ansible_collections.icr.auth.plugins.module_utils._iam_admin import PAGE_SIZE, AdminSession
from ansible_collections.icr.auth.plugins.module_utils._regions import REGION_ALIASES, REGION_HOSTS, host_region

POLICIES = '/v1/policies'
SERVICE = 'container-registry'
ROLE_PREFIX = 'crn:v1:bluemix:public:container-registry::::serviceRole:'
ROLES = ('Reader', 'Writer', 'Manager')
NAMESPACE_RE = re.compile(r'^[a-z0-9](?:[a-z0-9_-]{0,28}[a-z0-9])?$')
KNOWN_ATTRIBUTES = ('accountId', 'serviceName', 'region', 'geography', 'resourceType', 'resource')
# Read-after-create: IAM's policy store is eventually consistent.
SETTLE_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)

Key = tuple  # (location attribute, its value, namespace or None, extra attributes)


def role_name(value: str) -> str:
    """Reader for a service role id (crn:...:container-registry::::serviceRole:Reader, and the iam::::serviceRole form
    IAM also writes); other role ids (platform roles) are kept whole. Roles compare by these names."""
    marker = '::::serviceRole:'
    return value.rsplit(marker, 1)[1] if marker in value else value


def role_id(name: str) -> str:
    """The role id written for a role name."""
    return ROLE_PREFIX + name if name in ROLES else name


def region_location(value: object, where: str) -> tuple[str, str]:
    """(attribute, value) of an ICR region: ('region', 'us-south'), or ('geography', 'global')."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f'{where}.region: give an ICR region such as us-south, or global.')
    name = value.strip().lower()
    name = REGION_ALIASES.get(name, name)
    name = host_region(name) or name
    if name not in REGION_HOSTS:
        raise InputError(f"{where}.region: unknown ICR region {value!r}. Valid: {', '.join(sorted(REGION_HOSTS))}.")
    return ('geography', 'global') if name == 'global' else ('region', name)


def desired_access(access: list | None) -> dict:
    """{Key: set of role names} of the access option (entries on one resource have their roles merged)."""
    wanted: dict = {}
    for index, entry in enumerate(access or []):
        where = f'access[{index}]'
        if not isinstance(entry, dict):
            raise InputError(f'{where}: give a dictionary with role, region and namespaces.')
        unknown = sorted(set(entry) - {'role', 'region', 'namespaces'})
        if unknown:
            raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}; the keys are role, region and namespaces.")
        role = next((r for r in ROLES if r.lower() == str(entry.get('role') or '').strip().lower()), None)
        if role is None:
            raise InputError(f"{where}.role: {entry.get('role')!r} is not a Container Registry role; give Reader "
                             '(pull), Writer (pull and push) or Manager.')
        location = region_location(entry.get('region'), where)
        namespaces = entry.get('namespaces')
        if isinstance(namespaces, str):
            namespaces = [namespaces]
        if namespaces is not None and (not isinstance(namespaces, list) or not namespaces):
            raise InputError(f'{where}.namespaces: give a list of namespace names, or leave it out for the whole region.')
        for ns in namespaces or [None]:
            if ns is not None and (not isinstance(ns, str) or not NAMESPACE_RE.match(ns)):
                raise InputError(f'{where}.namespaces: {ns!r} is not a valid ICR namespace (at most 30 lowercase letters, '
                                 'digits, - and _, starting and ending with a letter or digit).')
            wanted.setdefault(location + (ns, ()), set()).add(role)
    return wanted


def _attributes(policy: dict) -> list[dict]:
    resources = policy.get('resources') or []
    if not resources or not isinstance(resources[0], dict):
        return []
    return [a for a in resources[0].get('attributes') or [] if isinstance(a, dict)]


def subject_of(policy: dict) -> str | None:
    for subject in policy.get('subjects') or []:
        for attr in (subject or {}).get('attributes') or []:
            if attr.get('name') == 'iam_id':
                return attr.get('value')
    return None


def policy_key(policy: dict) -> Key | None:
    """The Key of a registry policy, None for a policy on another service."""
    attrs = dict((a.get('name'), a.get('value')) for a in _attributes(policy))
    if attrs.get('serviceName') != SERVICE:
        return None
    location = ('geography', attrs['geography']) if attrs.get('geography') else ('region', attrs.get('region'))
    namespace = attrs.get('resource') if attrs.get('resourceType') == 'namespace' else None
    extra = tuple(sorted((a.get('name'), a.get('value'), a.get('operator') or 'stringEquals')
                         for a in _attributes(policy)
                         if a.get('name') not in KNOWN_ATTRIBUTES or a.get('operator') not in (None, 'stringEquals')))
    if attrs.get('resourceType') not in (None, 'namespace'):
        extra += (('resourceType', attrs.get('resourceType'), 'stringEquals'),)
    return location + (namespace, extra)


def roles_of(policy: dict) -> set:
    """The role names of a policy."""
    return set(role_name(r['role_id']) for r in policy.get('roles') or [] if isinstance(r, dict) and r.get('role_id'))


def access_view(key: Key, roles: set) -> dict:
    """What a policy grants, as the diff and the result show it."""
    view = {'roles': sorted(roles),
            'region': 'global' if key[0] == 'geography' else key[1], 'namespace': key[2]}
    if key[3]:
        view['other_attributes'] = [list(a) for a in key[3]]
    return view


def policy_view(policy: dict) -> dict:
    view = access_view(policy_key(policy) or ('region', None, None, ()), roles_of(policy))
    view['id'] = policy.get('id')
    return view


def policy_body(account_id: str, iam_id: str, key: Key, roles: set) -> dict:
    attrs = [('accountId', account_id), ('serviceName', SERVICE), (key[0], key[1])]
    if key[2] is not None:
        attrs += [('resourceType', 'namespace'), ('resource', key[2])]
    return {'type': 'access',
            'subjects': [{'attributes': [{'name': 'iam_id', 'value': iam_id}]}],
            'roles': [{'role_id': role_id(r)} for r in sorted(roles)],
            'resources': [{'attributes': [{'name': n, 'value': v, 'operator': 'stringEquals'} for n, v in attrs]}]}


class Plan(object):
    """What to do: keep [policy], create [(key, roles)], update [(policy, roles)], delete [policy]."""

    def __init__(self) -> None:
        self.keep: list = []
        self.create: list = []
        self.update: list = []
        self.delete: list = []

    @property
    def changes(self) -> bool:
        return bool(self.create or self.update or self.delete)


def plan(existing: list[dict], wanted: dict, purge: bool) -> Plan:
    """The plan that makes the identity's registry policies hold wanted (exactly, with purge)."""
    result = Plan()
    groups: dict = {}
    for policy in existing:
        key = policy_key(policy)
        if key is not None:
            groups.setdefault(key, []).append(policy)
    for key, roles in wanted.items():
        group = groups.pop(key, [])
        if not group:
            result.create.append((key, roles))
            continue
        exact = [p for p in group if roles_of(p) == roles]
        if purge:
            pick = exact[0] if exact else group[0]
            (result.keep.append(pick) if roles_of(pick) == roles else result.update.append((pick, roles)))
            result.delete.extend(p for p in group if p is not pick)
        elif any(roles_of(p) >= roles for p in group):
            result.keep.extend(group)
        else:
            result.update.append((group[0], roles_of(group[0]) | roles))
            result.keep.extend(group[1:])
    for group in groups.values():
        (result.delete if purge else result.keep).extend(group)
    return result


class Policies(object):
    """The registry policies of one identity in one account."""

    def __init__(self, admin: AdminSession, account_id: str, iam_id: str,
                 sleep: Callable[[float], Any] = time.sleep) -> None:
        self.admin = admin
        self.account_id = account_id
        self.iam_id = iam_id
        self.sleep = sleep

    def list(self) -> list[dict]:
        """The identity's access policies on Container Registry (every page)."""
        params = {'account_id': self.account_id, 'iam_id': self.iam_id, 'type': 'access', 'limit': PAGE_SIZE}
        items = self.admin.pages(POLICIES, params, 'policies', f'list the access policies of {self.iam_id}',
                                 token_param='start')
        return [p for p in items if subject_of(p) in (None, self.iam_id) and policy_key(p) is not None]

    def read(self, policy_id: str, settle: bool = False) -> tuple[dict | None, str | None]:
        """(policy, ETag); with settle, a 404 is read again for a while (a policy IAM has just created)."""
        delays = SETTLE_DELAYS if settle else ()
        for attempt in range(len(delays) + 1):
            answer = self.admin.call('GET', f'{POLICIES}/{policy_id}', f'read access policy {policy_id}', allow=(404,))
            if answer.status != 404 and isinstance(answer.body, dict):
                return answer.body, answer.etag or answer.body.get('etag')
            if attempt < len(delays):
                self.sleep(delays[attempt])
        return None, None

    def create(self, key: Key, roles: set) -> tuple[dict, str]:
        """(policy, 'created' or 'adopted'): a 409 policy_conflict_error adopts the existing policy IAM names."""
        body = policy_body(self.account_id, self.iam_id, key, roles)
        doing = f"create the access policy {access_view(key, roles)} for {self.iam_id}"
        answer = self.admin.call('POST', POLICIES, doing, body=body, allow=(409,))
        if answer.status == 409:
            policy_id = conflicting_policy(answer.body)
            if policy_id is None:
                from ansible_collections.icr.auth.plugins.module_utils._iam_admin import describe_error
                raise IamError(describe_error(doing, answer.response, answer.body, self.admin.opts), status=409)
            how = 'adopted'
        else:
            policy_id = (answer.body or {}).get('id') if isinstance(answer.body, dict) else None
            if not policy_id:
                raise IamError(f'Could not {doing}: IAM answered HTTP {answer.status} without the policy id.')
            how = 'created'
        policy, dummy = self.read(policy_id, settle=True)
        if policy is None:
            # Created (or named by IAM), but not readable yet: report what was asked; a rerun finds it.
            policy = dict(body, id=policy_id)
        return policy, how

    def update(self, policy: dict, roles: set) -> dict:
        """Replace the roles of a policy, with If-Match = the ETag read just before (read again once on 412)."""
        key = policy_key(policy)
        doing = f"update access policy {policy.get('id')} to {access_view(key, roles)}"
        for attempt in (1, 2):
            current, etag = self.read(policy['id'], settle=True)
            if current is None:
                raise IamError(f"Could not {doing}: IAM no longer knows the policy (deleted meanwhile?). Run again.")
            body = policy_body(self.account_id, self.iam_id, key, roles)
            answer = self.admin.call('PUT', f"{POLICIES}/{policy['id']}", doing, body=body,
                                     headers={'If-Match': etag or '*'}, allow=(412,) if attempt == 1 else ())
            if answer.status != 412:
                return answer.body if isinstance(answer.body, dict) else dict(body, id=policy['id'])
        raise IamError(f'Could not {doing}.')  # pragma: no cover - the second 412 raised above

    def delete(self, policy: dict) -> None:
        self.admin.call('DELETE', f"{POLICIES}/{policy['id']}", f"delete access policy {policy['id']}", allow=(404,))


def conflicting_policy(body: Any) -> str | None:
    """The id of the existing policy a 409 policy_conflict_error names (details.conflicts_with.policy.id)."""
    if not isinstance(body, dict):
        return None
    for entry in body.get('errors') or []:
        if not isinstance(entry, dict) or entry.get('code') != 'policy_conflict_error':
            continue
        conflict = (entry.get('details') or {}).get('conflicts_with') or {}
        policy = conflict.get('policy') or {}
        if policy.get('id'):
            return str(policy['id'])
        href = policy.get('href') or ''
        if href:
            return href.rstrip('/').rsplit('/', 1)[-1]
    return None
