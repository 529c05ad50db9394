#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: icr_api_key_info
short_description: Name the identity behind API keys the controller holds, by their fingerprints
version_added: 2.0.0
description:
  - For every key given - its value from a vault (O(known_keys[].key)) or a file (O(known_keys[].key_file), such as the file
    that O(icr.auth.icr_api_key#module:store_to) names) - returns its fingerprint and, looked up in
    IAM with C(GET /v1/apikeys/details), the identity it belongs to - C(iam_id), service ID, account, the key's id
    and name - and whether it is locked, disabled, expired or unknown to IAM (deleted).
  - Each distinct key is looked up once, however often it is given. The service ID's name is read once per service ID.
  - A fleet audit matches these fingerprints against the ones M(icr.auth.icr_login_info) reports from the hosts, so
    the report names the identity of every plain-text key a host holds, while no key ever leaves a host - the playbook
    C(playbooks/fleet_audit.yml) does this with C(fleet_audit_lookup_keys).
  - Runs on the controller (C(delegate_to=localhost)). IAM answers the lookup only with a bearer token - the
    administrator's, as for M(icr.auth.icr_api_key) (O(api_key), O(admin_trusted_profile) or O(admin_cr_token_file)).
  - The keys' values are never returned, never in a message, at any verbosity.
author:
  - icr.auth contributors (@icr-auth)
extends_documentation_fragment:
  - icr.auth.attributes
  - icr.auth.attributes.ACTIONGROUP
  - icr.auth.iam
  - icr.auth.iam_admin
attributes:
  check_mode:
    support: full
    details:
      - Reads only; runs the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  api_key:
    description:
      - The IBM Cloud API key of the administrator - a user or service ID that may read the service IDs' API keys
        (Viewer on the IAM Identity Service). Not the keys looked up - those are O(known_keys).
      - If not set, the environment variable E(IBMCLOUD_API_KEY) is used, then E(IC_API_KEY), as exported where
        C(ansible-playbook) runs.
      - Not needed with O(lookup=false).
    type: str
  known_keys:
    description:
      - The keys, each with a O(known_keys[].name) and either O(known_keys[].key) or O(known_keys[].key_file).
      - The result RV(known_keys) can be given as it is to the C(known_keys) of
        P(icr.auth.fleet_audit_report#filter).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The name the results and the audit report give the key (for example the name of the key in IAM).
        type: str
        required: true
      key:
        description:
          - The key's value, from a vault.
        type: str
      key_file:
        description:
          - A file on the controller that holds the key - JSON with an C(apikey) field (the file that
            O(icr.auth.icr_api_key#module:store_to) names, or the file of C(ibmcloud iam service-api-key-create --file)),
            or the key alone on one line.
          - The key is checked as the credential helper checks its C(api_key_file) - ASCII without white space, at most
            4096 bytes, and not an IAM access token; a file that holds anything else fails the module with a message that
            names the file, never what it holds.
        type: path
  lookup:
    description:
      - Ask IAM who each key belongs to. With V(false) only the fingerprints are computed, no network call is made and
        no administrator is needed.
    type: bool
    default: true
notes:
  - A key that IAM does not know (deleted, or expired more than 90 days ago) is reported with RV(known_keys[].found=false)
    and a RV(known_keys[].problem); the module does not fail for it. IAM that cannot be reached, or answers 429 or 5xx after
    O(retries) retries, or refuses the administrator, fails the module with a message that says so.
seealso:
  - module: icr.auth.icr_api_key
  - module: icr.auth.icr_login_info
  - plugin: icr.auth.fleet_audit_report
    plugin_type: filter
'''

EXAMPLES = r'''
---
- name: Who do the keys of the vault and of the last rotation belong to?
  icr.auth.icr_api_key_info:
    api_key: "{{ vault_admin_api_key }}"
    known_keys:
      - name: web-fleet-pull-2026-06
        key: "{{ vault_web_fleet_key }}"
      - name: web-fleet-pull-2026-12
        key_file: ~/.vault/web-fleet-pull.json
  delegate_to: localhost
  run_once: true
  register: known

- name: The fleet report, naming the identity of every plain-text key a host holds
  ansible.builtin.set_fact:
    report: "{{ audit_results | icr.auth.fleet_audit_report(known_keys=known.known_keys) }}"
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
known_keys:
  description:
    - One item per key given, in that order; never the key's value. The fields IAM gives are null with
      O(lookup=false) and when IAM does not know the key.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The name given in O(known_keys[].name).
      type: str
      sample: web-fleet-pull-2026-12
    fingerprint:
      description: The key's fingerprint, as M(icr.auth.icr_login_info) and P(icr.auth.credential_fingerprint#filter) give it.
      type: str
      sample: sha256:1f2e3d4c5b6a
    looked_up:
      description: Whether IAM was asked.
      type: bool
    found:
      description: Whether IAM knows the key (null when it was not asked).
      type: bool
    id:
      description: The key's id.
      type: str
      sample: ApiKey-4c1d5a52-9f1e-4b7e-8a55-0b1d2e3f4a5b
    key_name:
      description: The key's name in IAM.
      type: str
    iam_id:
      description: The identity the key belongs to.
      type: str
      sample: iam-ServiceId-7f9d0c1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f
    account_id:
      description: The account of the identity.
      type: str
    service_id:
      description: The id of the service ID the key belongs to (null for a user's key).
      type: str
      sample: ServiceId-7f9d0c1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f
    service_id_name:
      description: The name of that service ID (null when it cannot be read).
      type: str
      sample: web-fleet-pull
    locked:
      description: Whether the key is locked against changes.
      type: bool
    disabled:
      description: Whether the key is disabled (it does not work).
      type: bool
    expires_at:
      description: When the key expires, as IAM gives it (null when it does not).
      type: str
    expired:
      description: Whether that time is past.
      type: bool
    problem:
      description: Why the key does not work - unknown to IAM, disabled or expired; null when it works.
      type: str
'''

import datetime
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.icr.auth.plugins.module_utils._credential import fingerprint
from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, IcrAuthError, InputError, failure
from ansible_collections.icr.auth.plugins.module_utils._iam_admin import AdminSession, admin_secrets, admin_spec
from ansible_collections.icr.auth.plugins.module_utils._iam_identity import Identity, parse_iam_time
from ansible_collections.icr.auth.plugins.module_utils._iam_key_file import read_api_key

IAM_FIELDS = ('id', 'key_name', 'iam_id', 'account_id', 'service_id', 'service_id_name', 'locked', 'disabled',
              'expires_at', 'expired')


def argument_spec() -> dict:
    spec = admin_spec()
    spec.update(
        known_keys=dict(type='list', elements='dict', required=True, no_log=False, options=dict(
            name=dict(type='str', required=True),
            key=dict(type='str', no_log=True),
            key_file=dict(type='path', no_log=False),
        ), mutually_exclusive=[('key', 'key_file')], required_one_of=[('key', 'key_file')]),
        lookup=dict(type='bool', default=True),
    )
    return spec


def read_keys(module: AnsibleModule) -> list:
    """[(name, value)] of the known_keys option; every value is hidden from the module's output before anything else."""
    found = []
    for index, item in enumerate(module.params['known_keys']):
        where = f"known_keys[{index}] ({item['name']})"
        value = item['key'] if item.get('key') is not None else read_api_key(item['key_file'], where)
        if not value.strip():
            raise InputError(f'{where}: key is empty.')
        module.no_log_values.add(value)
        found.append((item['name'], value))
    return found


def service_id_of(iam_id: str | None) -> str | None:
    """ServiceId-<uuid> of a service ID's iam_id (iam-ServiceId-<uuid>), None for other identities."""
    if iam_id and iam_id.startswith('iam-ServiceId-'):
        return iam_id[len('iam-'):]
    return None


def is_expired(value: str | None, now: datetime.datetime) -> bool:
    """Whether IAM's expires_at is at or before now; False without one, or with one that is not a time."""
    when = parse_iam_time(value)
    return when is not None and when <= now


def view(record: dict | None, names: dict, now: datetime.datetime) -> dict:
    """The returned fields of a details record (or of a key IAM does not know, record None)."""
    if record is None:
        out = dict.fromkeys(IAM_FIELDS)
        out.update(found=False, problem='IAM does not know this key: it was deleted (or expired more than 90 days ago), '
                                        'or it was never created. A host that holds it cannot log in.')
        return out
    sid = service_id_of(record.get('iam_id'))
    out = {'found': True, 'id': record.get('id'), 'key_name': record.get('name'), 'iam_id': record.get('iam_id'),
           'account_id': record.get('account_id'), 'service_id': sid, 'service_id_name': names.get(sid),
           'locked': bool(record.get('locked')), 'disabled': bool(record.get('disabled')),
           'expires_at': record.get('expires_at') or None,
           'expired': is_expired(record.get('expires_at'), now), 'problem': None}
    if out['disabled']:
        out['problem'] = 'The key is disabled: it does not work until it is enabled again.'
    elif out['expired']:
        out['problem'] = f"The key expired at {out['expires_at']}: it does not work any more."
    return out


def look_up(admin: AdminSession, values: dict) -> tuple[dict, dict]:
    """({fingerprint: details record or None}, {service id: name or None}), one details call per distinct key."""
    admin.login()
    identity = Identity(admin, admin.account_id)
    records = {}
    for fp, (name, value) in values.items():
        records[fp] = identity.api_key_details(value, f'{name} ({fp})')
    names = {}
    for record in records.values():
        sid = service_id_of(record.get('iam_id')) if record else None
        if sid and sid not in names:
            try:
                found = identity.get_service_id(sid)
            except IamError:
                found = None  # the administrator may look keys up but not read the service ID: no name then
            names[sid] = found.get('name') if found else None
    return records, names


def run(module: AnsibleModule, admin: AdminSession | None) -> dict:
    keys = read_keys(module)
    values = {}
    for name, value in keys:
        values.setdefault(fingerprint(value), (name, value))
    records, names = look_up(admin, values) if admin is not None else ({}, {})
    now = datetime.datetime.now(datetime.timezone.utc)
    out = []
    for name, value in keys:
        fp = fingerprint(value)
        item = {'name': name, 'fingerprint': fp, 'looked_up': admin is not None}
        if admin is None:
            item.update(dict.fromkeys(IAM_FIELDS), found=None, problem=None)
        else:
            item.update(view(records[fp], names, now))
        out.append(item)
    return dict(changed=False, known_keys=out)


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        admin = None
        if module.params['lookup']:
            for secret in admin_secrets(module.params, os.environ):
                module.no_log_values.add(secret)
            admin = AdminSession(module.params, os.environ, hide=module.no_log_values.add)
        result = run(module, admin)
    except IcrAuthError as exc:
        module.fail_json(**failure(exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
