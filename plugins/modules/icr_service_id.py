#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: icr_service_id
short_description: Manage an IBM Cloud service ID and its Container Registry access policies
version_added: 2.0.0
description:
  - Makes an IBM Cloud IAM service ID exist (or not) with the IBM Cloud Container Registry (ICR) access given in
    O(access) - roles on namespaces of registry regions - and nothing more when O(purge_access=true).
  - Runs on the controller (C(delegate_to=localhost)), authenticated as an administrator - O(api_key), a trusted profile
    that key assumes (O(admin_trusted_profile)), or a pod's compute resource token (O(admin_cr_token_file)); never use
    the fleet's own key for this.
  - The service ID is found by O(name). IAM does not keep names unique, so more than one service ID of that name is an
    error that lists their ids.
  - Policies are found by what they grant on (region or global registry, and namespace), so a rerun never creates a
    duplicate. A policy on the same resource with other roles is updated with the ETag IAM gave (C(If-Match)); a
    C(409 policy_conflict_error) adopts the existing policy IAM names; a policy IAM created but cannot read yet is
    read again, never created again.
  - A namespace in O(access) that does not exist in its registry is an error before anything changes (see
    O(check_namespaces)).
  - Rate limits (429) and server errors (5xx) are retried, honouring C(Retry-After).
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
      - Reads the service ID and its policies, and reports what would change; makes no change in IAM.
  diff_mode:
    support: full
    details:
      - Shows the service ID's description, lock and registry access before and after.
  idempotent:
    support: full
options:
  api_key:
    description:
      - The IBM Cloud API key of the administrator - a user or service ID that may manage service IDs (IAM Identity
        Service) and Container Registry policies.
      - If not set, the environment variable E(IBMCLOUD_API_KEY) is used, then E(IC_API_KEY), as exported where
        C(ansible-playbook) runs. Do not set them with the C(environment) keyword - Ansible puts such values on the
        module's command line, where C(ps) and C(-vvv) show them.
      - Or the administrator is a trusted profile - see O(admin_trusted_profile) (with this key) and
        O(admin_cr_token_file) (without any key).
      - The Identity and Policy APIs are asked at the base URL of O(iam_endpoint).
    type: str
  name:
    description:
      - The name of the service ID.
    type: str
    required: true
  description:
    description:
      - The description of the service ID. Not changed when not set.
    type: str
  account_id:
    description:
      - The IBM Cloud account of the service ID.
      - Defaults to the account of O(api_key).
    type: str
  access:
    description:
      - Container Registry access of the service ID, one policy per region (or global) and namespace.
      - When not set, the service ID's policies are left as they are.
    type: list
    elements: dict
    suboptions:
      role:
        description:
          - V(Reader) pulls, V(Writer) pulls and pushes, V(Manager) also manages namespaces.
        type: str
        required: true
        choices: [Reader, Writer, Manager]
      region:
        description:
          - An ICR region such as V(us-south) or V(eu-de), a former name such as V(ap-north), or V(global) for the
            global registry C(icr.io) (a policy on C(geography=global)).
        type: str
        required: true
      namespaces:
        description:
          - Namespaces the role applies to. Leave out for every namespace of the region.
        type: list
        elements: str
  purge_access:
    description:
      - V(true) makes O(access) the exact set of Container Registry policies of the service ID - other registry
        policies (and duplicates) are deleted, and roles are set exactly.
      - V(false) only adds what is missing; a policy on the same namespace keeps its roles and gains the ones asked.
      - Policies on other services are never touched.
    type: bool
    default: false
  state:
    description:
      - V(present) makes the service ID exist as described; V(absent) deletes it (IAM deletes its API keys too).
    type: str
    choices: [present, absent]
    default: present
  locked:
    description:
      - Lock the service ID (V(true)) against changes and deletion, or unlock it (V(false)). Not changed when not set;
        a new service ID is created unlocked, and locked at the end of the task when V(true).
      - IAM refuses to change a locked service ID and to change its policies. A change to a locked service ID fails
        unless O(locked=false), which unlocks it first.
    type: bool
  check_namespaces:
    description:
      - Before a policy on a namespace is created or changed, check that the namespace exists in its region's
        registry, with the Container Registry API (C(GET /api/v1/namespaces) on the region's host, for the service
        ID's account). A missing namespace fails the task before anything changes in IAM, and the message lists the
        namespaces that exist.
      - The administrator then also needs a Container Registry role that lists namespaces (Reader or Manager).
      - V(false) grants on namespaces without asking the registry (for example on a namespace created later).
    type: bool
    default: true
  registry_api_endpoint:
    description:
      - The base URL of the Container Registry API, in place of C(https://<region's registry host>) (for example a
        proxy on a private network, or a test service).
      - A C({host}) in it is replaced by the region's registry host, such as C(us.icr.io) or C(icr.io) for the
        global registry (V(https://{host}) is the default).
    type: str
seealso:
  - module: icr.auth.icr_api_key
  - module: icr.auth.icr_credential
  - name: IAM roles for Container Registry
    description: What Reader, Writer and Manager allow.
    link: https://cloud.ibm.com/docs/Registry?topic=Registry-iam
'''

EXAMPLES = r'''
---
- name: A pull-only identity for the web fleet
  icr.auth.icr_service_id:
    api_key: "{{ vault_admin_api_key }}"
    name: web-fleet-pull
    description: Pulls web images in us-south and base images from the global registry
    access:
      - {role: Reader, region: us-south, namespaces: [web, base]}
      - {role: Reader, region: global, namespaces: [base]}
    purge_access: true
  delegate_to: localhost
  run_once: true
  register: sid

- name: A CI identity that pushes, locked against accidental deletion
  icr.auth.icr_service_id:
    api_key: "{{ vault_admin_api_key }}"
    name: ci-push
    access:
      - {role: Writer, region: eu-de, namespaces: [apps]}
    locked: true
  delegate_to: localhost
  run_once: true

- name: The same from an AWX pod in IKS, as a trusted profile linked to the pod (no API key)
  icr.auth.icr_service_id:
    admin_cr_token_file: /var/run/secrets/tokens/vault-token
    admin_trusted_profile: Profile-6b9c5c3e-8a5e-4b8e-9d1e-2f4a5b6c7d8e
    name: web-fleet-pull
    access:
      - {role: Reader, region: us-south, namespaces: [web, base]}
  delegate_to: localhost
  run_once: true

- name: An administrator key that assumes a trusted profile by name
  icr.auth.icr_service_id:
    api_key: "{{ vault_admin_api_key }}"
    admin_trusted_profile: iam-admins
    admin_account: 0a1b2c3d4e5f60718293a4b5c6d7e8f9
    name: web-fleet-pull
  delegate_to: localhost
  run_once: true

- name: Remove an identity (unlocking it first)
  icr.auth.icr_service_id:
    api_key: "{{ vault_admin_api_key }}"
    name: old-fleet
    state: absent
    locked: false
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
service_id:
  description: The service ID; null when absent.
  returned: always
  type: dict
  contains:
    id:
      description: Its id. Null in check mode when it would be created.
      type: str
      sample: ServiceId-2d9bd1b2-4f51-4fcb-9a51-6f6f0f4b3c55
    iam_id:
      description: Its IAM id, the subject of its policies.
      type: str
      sample: iam-ServiceId-2d9bd1b2-4f51-4fcb-9a51-6f6f0f4b3c55
    crn:
      description: Its CRN.
      type: str
      sample: crn:v1:bluemix:public:iam-identity::a/0a1b2c::serviceid:ServiceId-2d9bd1b2
    name:
      description: Its name.
      type: str
      sample: web-fleet-pull
    description:
      description: Its description.
      type: str
      sample: Pulls web images
    account_id:
      description: Its account.
      type: str
      sample: 0a1b2c3d4e5f60718293a4b5c6d7e8f9
    locked:
      description: Whether it is locked.
      type: bool
      sample: false
policies:
  description: The service ID's Container Registry policies after the task (each with id, roles, region, namespace).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "4a5b-...", "roles": ["Reader"], "region": "us-south", "namespace": "web"}]
policy_changes:
  description: How many registry policies were (or in check mode would be) created, adopted after a 409, updated, deleted.
  returned: always
  type: dict
  sample: {"created": 2, "adopted": 0, "updated": 0, "deleted": 0}
'''


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.icr.auth.plugins.module_utils._errors import IamError
from ansible_collections.icr.auth.plugins.module_utils._iam_admin import AdminSession, admin_spec, run_admin_module
from ansible_collections.icr.auth.plugins.module_utils._iam_identity import Identity
from ansible_collections.icr.auth.plugins.module_utils._iam_namespaces import check_namespaces
from ansible_collections.icr.auth.plugins.module_utils._iam_policy import (
    Policies, access_view, desired_access, plan, policy_key, policy_view)


def argument_spec() -> dict:
    spec = admin_spec()
    spec.update(
        name=dict(type='str', required=True),
        description=dict(type='str'),
        account_id=dict(type='str'),
        access=dict(type='list', elements='dict', options=dict(
            role=dict(type='str', required=True, choices=['Reader', 'Writer', 'Manager']),
            region=dict(type='str', required=True),
            namespaces=dict(type='list', elements='str'))),
        purge_access=dict(type='bool', default=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        locked=dict(type='bool'),
        check_namespaces=dict(type='bool', default=True),
        registry_api_endpoint=dict(type='str'),
    )
    return spec


def sid_view(sid: dict | None) -> dict | None:
    if sid is None:
        return None
    return dict((k, sid.get(k)) for k in ('id', 'iam_id', 'crn', 'name', 'description', 'account_id', 'locked'))


def _sorted(views: list[dict]) -> list[dict]:
    return sorted(views, key=lambda v: (v['region'] or '', v['namespace'] or '', v['roles'], str(v.get('id'))))


def state_view(sid: dict | None, policies: list[dict] | None) -> dict:
    """The diff's picture of a service ID and its registry access."""
    if sid is None:
        return {}
    view = {'name': sid.get('name'), 'description': sid.get('description'), 'locked': bool(sid.get('locked'))}
    if policies is not None:
        view['access'] = _sorted([dict((k, v) for k, v in p.items() if k != 'id') for p in policies])
    return view


def locked_refusal(sid: dict, what: str) -> IamError:
    return IamError(f"Service ID {sid.get('name')!r} ({sid.get('id')}) is locked, and IAM refuses to {what} of a locked "
                    'service ID. Set locked: false to unlock it first (and locked: true in a later task to lock it again), '
                    'or unlock it in the console.')


def run(module: AnsibleModule, admin: AdminSession) -> dict:
    params = module.params
    check = module.check_mode
    wanted = desired_access(params['access']) if params['access'] is not None else None
    admin.login()
    account = params['account_id'] or admin.account_id
    if not account:
        raise IamError('account_id: the administrator token names no account; give account_id.')
    identity = Identity(admin, account)
    sid = identity.find_service_id(params['name'])
    counts = {'created': 0, 'adopted': 0, 'updated': 0, 'deleted': 0}
    policies = Policies(admin, account, sid['iam_id']) if sid else None
    existing = policies.list() if policies and (wanted is not None or params['state'] == 'absent') else []
    before = state_view(sid, [policy_view(p) for p in existing] if wanted is not None else None)
    if params['state'] == 'absent':
        if sid is None:
            return dict(changed=False, service_id=None, policies=[], policy_changes=counts, diff={'before': {}, 'after': {}})
        if sid.get('locked') and params['locked'] is not False:
            raise locked_refusal(sid, 'delete it')
        if not check:
            if sid.get('locked'):
                identity.set_service_id_lock(sid['id'], False)
            identity.delete_service_id(sid['id'])
        counts['deleted'] = len(existing)
        return dict(changed=True, service_id=None, policies=[], policy_changes=counts, diff={'before': before, 'after': {}})

    todo = plan(existing, wanted or {}, params['purge_access'] and wanted is not None)
    new_description = params['description'] if params['description'] is not None else (sid or {}).get('description')
    describe = sid is not None and (sid.get('description') or '') != (new_description or '')
    want_locked = bool(sid.get('locked')) if sid and params['locked'] is None else bool(params['locked'])
    if sid and sid.get('locked') and params['locked'] is not False and (describe or todo.changes):
        raise locked_refusal(sid, 'change the description or the policies' if describe else 'change the policies')
    if params['check_namespaces']:
        check_namespaces(admin, account, [key for key, _roles in todo.create] + [policy_key(p) for p, _r in todo.update],
                         params['registry_api_endpoint'])
    changed = sid is None or describe or todo.changes or bool((sid or {}).get('locked')) != want_locked
    after_policies = [policy_view(p) for p in todo.keep]
    after_policies += [dict(access_view(policy_key(p), roles), id=p.get('id')) for p, roles in todo.update]
    after_policies += [dict(access_view(key, roles), id=None) for key, roles in todo.create]
    counts.update(created=len(todo.create), updated=len(todo.update), deleted=len(todo.delete))
    result_sid = dict(sid or {'id': None, 'iam_id': None, 'crn': None, 'account_id': account, 'name': params['name']},
                      description=new_description, locked=want_locked)
    if not check and changed:
        if sid is None:
            sid = identity.create_service_id(params['name'], params['description'], locked=False)
            policies = Policies(admin, account, sid['iam_id'])
        elif sid.get('locked') and not want_locked:
            identity.set_service_id_lock(sid['id'], False)
        if describe:
            identity.update_service_id(sid['id'], sid['name'], new_description)
        after_policies = [policy_view(p) for p in todo.keep]
        counts['created'] = 0
        for key, roles in todo.create:
            made, how = policies.create(key, roles)
            counts[how] += 1
            after_policies.append(policy_view(made))
        for policy, roles in todo.update:
            after_policies.append(policy_view(policies.update(policy, roles)))
        for policy in todo.delete:
            policies.delete(policy)
        if want_locked and not sid.get('locked'):
            identity.set_service_id_lock(sid['id'], True)
        result_sid = dict(sid, description=new_description, locked=want_locked)
    after = state_view(result_sid, after_policies if wanted is not None else None)
    if wanted is None:
        after_policies = [policy_view(p) for p in (policies.list() if policies and sid.get('iam_id') else [])]
    return dict(changed=bool(changed), service_id=sid_view(result_sid), policies=_sorted(after_policies),
                policy_changes=counts, diff={'before': before, 'after': after})


def main() -> None:
    run_admin_module(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run)


if __name__ == '__main__':
    main()
