#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: icr_api_key
short_description: Manage an API key of an IBM Cloud service ID, its value written only to a private file
version_added: 2.0.0
description:
  - Makes an API key of a service ID exist (or not), locked, disabled or expiring as asked - the key a fleet then logs
    in to IBM Cloud Container Registry with.
  - Runs on the controller (C(delegate_to=localhost)), authenticated as an administrator - O(api_key), a trusted profile
    that key assumes (O(admin_trusted_profile)), or a pod's compute resource token (O(admin_cr_token_file)).
  - The key is found by O(name) among the API keys of the service ID. IAM does not keep names unique, so more than
    one key of that name is an error that lists their ids.
  - IAM gives a key's value once, when it is created. The module writes it to O(store_to) - a new 0600 file in a
    0700 directory - and nowhere else. The value is never returned, never in the diff and never in a message, at any
    verbosity.
  - Locking and disabling are two independent switches (O(locked), O(disabled)), since a key can be both; each is
    left as it is when not set. An expired key stays listed by IAM until it is deleted.
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
      - Reads the service ID and its keys and checks O(store_to); creates, changes and writes nothing.
  diff_mode:
    support: full
    details:
      - Shows the key's name, description, expiry, lock and disabled state before and after; never its value.
  idempotent:
    support: full
options:
  api_key:
    description:
      - The IBM Cloud API key of the administrator - a user or service ID that may manage the service ID's API keys.
      - If not set, the environment variable E(IBMCLOUD_API_KEY) is used, then E(IC_API_KEY), as exported where
        C(ansible-playbook) runs. Do not set them with the C(environment) keyword - Ansible puts such values on the
        module's command line, where C(ps) and C(-vvv) show them.
      - Or the administrator is a trusted profile - see O(admin_trusted_profile) (with this key) and
        O(admin_cr_token_file) (without any key).
    type: str
  service_id:
    description:
      - The service ID the key belongs to - its id (V(ServiceId-...)) or its name.
    type: str
    required: true
  name:
    description:
      - The name of the API key.
    type: str
    required: true
  description:
    description:
      - The description of the key. Not changed when not set.
    type: str
  expires_at:
    description:
      - When the key expires, as V(yyyy-MM-ddTHH:mm+0000) (for example V(2027-06-01T00:00+0000)). Quote it in YAML.
      - Not changed when not set; a key created without it does not expire.
      - A time in the past is refused for a new key; on an existing key it makes the key expire (it stops working).
      - IAM deletes a key for good when both its expiry and its last change are more than 90 days past.
    type: str
  store_to:
    description:
      - The file the new key's value is written to, as JSON with C(name), C(id), C(iam_id), C(apikey) and
        C(created_at) - a new file of mode 0600, in a directory that is created 0700 (an existing directory must
        belong to the user the module runs as and be closed to others).
      - Required when the key is created. An existing file is never overwritten.
      - When the key exists and this file does not, the module fails - IAM never gives the value again. Rotate
        instead - create a key of a new name (with a new O(store_to)), roll it out, then delete the old key with
        O(state=absent).
      - When the file exists it must hold the record of this key.
    type: path
  state:
    description:
      - V(present) makes the key exist; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  locked:
    description:
      - Lock the key (V(true)) against changes and deletion, or unlock it (V(false)). Not changed when not set; a new
        key is created unlocked unless V(true).
      - IAM refuses to change or delete a locked key; a change then fails unless O(locked=false), which unlocks it first.
    type: bool
  disabled:
    description:
      - Disable the key (V(true)) - it stops working but can be enabled again - or enable it (V(false)). Not changed
        when not set.
    type: bool
seealso:
  - module: icr.auth.icr_service_id
  - module: icr.auth.icr_credential
  - module: icr.auth.icr_login
'''

EXAMPLES = r'''
---
- name: The fleet's key, created once; its value goes only to a private file
  icr.auth.icr_api_key:
    api_key: "{{ vault_admin_api_key }}"
    service_id: web-fleet-pull
    name: web-fleet-pull-2026-12
    expires_at: "2027-06-01T00:00+0000"
    store_to: ~/.vault/web-fleet-pull.json
  delegate_to: localhost
  run_once: true

- name: Disable the previous key once every host uses the new one
  icr.auth.icr_api_key:
    api_key: "{{ vault_admin_api_key }}"
    service_id: web-fleet-pull
    name: web-fleet-pull-2026-06
    disabled: true
  delegate_to: localhost
  run_once: true

- name: Delete it later
  icr.auth.icr_api_key:
    api_key: "{{ vault_admin_api_key }}"
    service_id: web-fleet-pull
    name: web-fleet-pull-2026-06
    state: absent
    locked: false
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
key:
  description: The API key (never its value); null when absent.
  returned: always
  type: dict
  contains:
    id:
      description: Its id. Null in check mode when it would be created.
      type: str
      sample: ApiKey-0c5b1d8e-8a3b-4c6e-9d1f-2b7a6c5e4d3f
    iam_id:
      description: The IAM id of the service ID it belongs to.
      type: str
      sample: iam-ServiceId-2d9bd1b2-4f51-4fcb-9a51-6f6f0f4b3c55
    name:
      description: Its name.
      type: str
      sample: web-fleet-pull-2026-12
    description:
      description: Its description.
      type: str
      sample: Web fleet, from December 2026
    created:
      description: When it was created.
      type: str
      sample: "2026-12-01T13:00+0000"
    expires_at:
      description: When it expires; null if never.
      type: str
      sample: "2027-06-01T00:00+0000"
    locked:
      description: Whether it is locked.
      type: bool
      sample: false
    disabled:
      description: Whether it is disabled.
      type: bool
      sample: false
stored:
  description: Whether the new key's value was written to O(store_to) by this task.
  returned: always
  type: bool
  sample: true
'''

import datetime
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, IcrAuthError, InputError
from ansible_collections.icr.auth.plugins.module_utils._iam_admin import AdminSession, admin_spec, run_admin_module
from ansible_collections.icr.auth.plugins.module_utils._iam_identity import Identity, expiry_text, parse_expiry, same_expiry
from ansible_collections.icr.auth.plugins.module_utils._iam_key_file import KeyFile, check_directory, read_record


def argument_spec() -> dict:
    spec = admin_spec()
    spec.update(
        service_id=dict(type='str', required=True),
        name=dict(type='str', required=True),
        description=dict(type='str'),
        expires_at=dict(type='str'),
        store_to=dict(type='path', no_log=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        locked=dict(type='bool'),
        disabled=dict(type='bool'),
    )
    return spec


def key_view(key: dict | None) -> dict | None:
    """What the module returns of a key: never its value."""
    if key is None:
        return None
    return {'id': key.get('id'), 'iam_id': key.get('iam_id'), 'name': key.get('name'),
            'description': key.get('description'), 'created': key.get('created_at'),
            'expires_at': key.get('expires_at'), 'locked': bool(key.get('locked')), 'disabled': bool(key.get('disabled'))}


def diff_view(key: dict | None) -> dict:
    view = key_view(key)
    return {} if view is None else dict((k, view[k]) for k in ('name', 'description', 'expires_at', 'locked', 'disabled'))


def missing_value_error(key: dict, path: str) -> InputError:
    return InputError(f"API key {key.get('name')!r} ({key.get('id')}) exists, but store_to ({path}) does not: IAM gives "
                      "a key's value only when it is created, so it cannot be written again. If the value is kept "
                      'elsewhere, drop store_to. Otherwise rotate: create a key of a new name with a new store_to, roll '
                      'it out, then delete this one with state: absent.')


def create(module: AnsibleModule, identity: Identity, sid: dict, expires: datetime.datetime | None) -> dict:
    """Create the key and write its value to store_to; the key is deleted again if the file cannot be written."""
    params = module.params
    key_file = KeyFile(params['store_to'])
    try:
        made = identity.create_api_key(sid['iam_id'], params['name'], params['description'], expiry_text(expires),
                                       bool(params['locked']), bool(params['disabled']))
    except BaseException:
        key_file.abort()
        raise
    value = made.pop('apikey', None)
    if value:
        module.no_log_values.add(value)
    try:
        if not value:
            raise IamError(f"IAM created API key {params['name']!r} ({made.get('id')}) but did not return its value.")
        key_file.publish({'name': made.get('name'), 'id': made.get('id'), 'iam_id': made.get('iam_id'),
                          'apikey': value, 'created_at': made.get('created_at')})
    except IcrAuthError as exc:
        key_file.abort()
        try:
            if params['locked']:
                identity.set_api_key_flag(made['id'], 'lock', False)
            identity.delete_api_key(made['id'])
            fate = 'The key was deleted again; fix the cause and run again.'
        except IcrAuthError as undo:
            fate = f"Deleting the key again failed too ({undo.msg}); delete API key {made.get('id')} by hand."
        raise type(exc)(f'{exc.msg} {fate}')
    return made


def run(module: AnsibleModule, admin: AdminSession) -> dict:
    params = module.params
    check = module.check_mode
    expires = parse_expiry(params['expires_at'])
    store_to = params['store_to']
    admin.login()
    identity = Identity(admin, admin.account_id)
    sid = identity.resolve_service_id(params['service_id'])
    if sid is None:
        if params['state'] == 'absent':
            return dict(changed=False, key=None, stored=False, diff={'before': {}, 'after': {}})
        raise InputError(f"service_id: there is no service ID {params['service_id']!r} in account {admin.account_id}; "
                         'create it with icr.auth.icr_service_id first.')
    if sid.get('account_id'):
        identity.account_id = sid['account_id']
    key = identity.find_api_key(sid['iam_id'], params['name'])
    before = diff_view(key)
    if params['state'] == 'absent':
        if key is None:
            return dict(changed=False, key=None, stored=False, diff={'before': {}, 'after': {}})
        if key.get('locked') and params['locked'] is not False:
            raise IamError(f"API key {key.get('name')!r} ({key.get('id')}) is locked and IAM refuses to delete a locked "
                           'key. Set locked: false to unlock it first.')
        if not check:
            if key.get('locked'):
                identity.set_api_key_flag(key['id'], 'lock', False)
            identity.delete_api_key(key['id'])
        return dict(changed=True, key=None, stored=False, diff={'before': before, 'after': {}})
    if key is None:
        if not store_to:
            raise InputError(f"store_to: API key {params['name']!r} does not exist yet, and IAM gives its value only "
                             'when it is created; name the file to write it to with store_to.')
        if expires is not None and expires <= datetime.datetime.now(datetime.timezone.utc):
            raise InputError(f"expires_at: {params['expires_at']} is in the past; a new key would never work.")
        check_directory(store_to, create=False)
        if os.path.lexists(store_to):
            raise InputError(f'store_to: {store_to} already exists; an API key file is never overwritten. Move it '
                             'away or choose another path.')
        planned = {'name': params['name'], 'iam_id': sid.get('iam_id'), 'description': params['description'],
                   'expires_at': expiry_text(expires), 'locked': bool(params['locked']),
                   'disabled': bool(params['disabled'])}
        made = planned if check else create(module, identity, sid, expires)
        return dict(changed=True, key=key_view(made), stored=not check, diff={'before': {}, 'after': diff_view(made)})
    if store_to:
        record = read_record(store_to)
        if record is None:
            raise missing_value_error(key, store_to)
        if record.get('id') != key.get('id'):
            raise InputError(f"store_to: {store_to} holds API key {record.get('id')}, not {key.get('name')!r} "
                             f"({key.get('id')}); it was left as it is. Give the file of this key, or another name.")
    changes = {}
    if params['description'] is not None and (key.get('description') or '') != params['description']:
        changes['description'] = params['description']
    if expires is not None and not same_expiry(key.get('expires_at'), expires):
        changes['expires_at'] = expiry_text(expires)
    lock = params['locked'] if params['locked'] is not None and params['locked'] != bool(key.get('locked')) else None
    disable = (params['disabled'] if params['disabled'] is not None and params['disabled'] != bool(key.get('disabled'))
               else None)
    if key.get('locked') and lock is not False and (changes or disable is not None):
        raise IamError(f"API key {key.get('name')!r} ({key.get('id')}) is locked and IAM refuses to change a locked key. "
                       'Set locked: false to unlock it first (and locked: true in a later task).')
    after_key = dict(key, **changes)
    after_key.update(locked=bool(key.get('locked')) if lock is None else lock,
                     disabled=bool(key.get('disabled')) if disable is None else disable)
    changed = bool(changes) or lock is not None or disable is not None
    if changed and not check:
        if lock is False:
            identity.set_api_key_flag(key['id'], 'lock', False)
        if changes:
            body = dict(changes)
            body.setdefault('name', key.get('name'))
            identity.update_api_key(key['id'], body)
        if disable is not None:
            identity.set_api_key_flag(key['id'], 'disable', disable)
        if lock is True:
            identity.set_api_key_flag(key['id'], 'lock', True)
    return dict(changed=changed, key=key_view(after_key), stored=False,
                diff={'before': before, 'after': diff_view(after_key)})


def main() -> None:
    run_admin_module(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run)


if __name__ == '__main__':
    main()
