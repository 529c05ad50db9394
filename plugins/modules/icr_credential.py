#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: icr_credential
short_description: Turn an IBM Cloud API key into an IBM Cloud Container Registry credential
version_added: 1.0.0
description:
  - Gives the username and password with which Docker, podman, skopeo or Kubernetes log in to IBM Cloud Container
    Registry (ICR) - for O(username_type=iamapikey) the API key itself, for V(iambearer) an IAM access token and
    for V(iamrefresh) an IAM refresh token, exchanged with IBM Cloud IAM.
  - With O(username_type=trusted_profile), the username is a trusted profile's id and the password the API key of a
    service ID that the profile trusts (ICR's trusted-profile login, for pulls across accounts); the key is not
    exchanged, and is treated as the API key of V(iamapikey) is.
  - Optionally proves the credential against registries the way C(docker login) does, telling a bad key from a
    missing IAM policy.
  - Run it once on the controller (C(run_once), C(delegate_to=localhost)) and hand the result to
    M(icr.auth.icr_login) on every host - one IAM exchange per play, however many hosts.
  - Exchanged tokens are cached on the controller until they come within O(min_validity) of expiring, so a rerun
    makes no IAM call.
  - Never changes anything on the host it runs on, apart from that cache.
  - The credential is returned to the task that asks for it, never shown. Give the task C(no_log) C(true) (as in
    every example); Ansible then shows none of its result, and the registered variable holds RV(password) and
    RV(dockerconfigjson). Without C(no_log), the API key is never returned (RV(password) and RV(dockerconfigjson) are
    null for V(iamapikey) and V(trusted_profile), with a warning), and a token is returned with a warning that tells to set C(no_log).
notes:
  - With C(no_log) C(true), a failure shows only that the output was censored. To see
    why it failed, register the result with C(failed_when) C(false) and fail in a next task with its C(msg), which
    never holds the key or a token (see the examples).
  - On the controller (C(delegate_to) C(localhost), or a local connection), as the controller's user (no C(become)),
    without C(async) and without the C(environment) keyword, the module's code runs in Ansible's own worker process,
    with the same checks, result and masking of secrets, and no module process is started; a cached token then costs
    a few milliseconds. Elsewhere it runs as a module, as usual; it then needs C(requests) on the host.
author:
  - icr.auth contributors (@icr-auth)
extends_documentation_fragment:
  - icr.auth.attributes
  - icr.auth.attributes.ACTIONGROUP
  - icr.auth.iam
attributes:
  check_mode:
    support: full
    details:
      - Runs as usual in check mode; it changes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  api_key:
    description:
      - The IBM Cloud API key of a user or a service ID.
      - If not set, the environment variable E(IBMCLOUD_API_KEY) is used, then E(IC_API_KEY), as exported in the
        shell that runs C(ansible-playbook). Do not set them with the task's C(environment) keyword - Ansible writes
        those values into the command that starts the module, where C(ps) and C(-vvv) show them.
    type: str
  username_type:
    description:
      - The kind of credential to give. V(iamapikey) needs no IAM call unless O(regions) or O(registries) ask for
        verification; V(iambearer) is an IAM access token (60 minutes at most); V(iamrefresh) an IAM refresh token,
        obtained with the IBM Cloud CLI's client id so that it can be refreshed.
      - V(trusted_profile) logs in as the trusted profile O(trusted_profile_id) with O(api_key), which must be the key
        of a service ID that the profile trusts (in this or another account); like V(iamapikey), no IAM call unless
        verification asks for the key's identity. Verification then proves that the profile trusts the key.
    type: str
    choices: [iamapikey, iambearer, iamrefresh, trusted_profile]
    default: iamapikey
  trusted_profile_id:
    description:
      - The id of the trusted profile to log in as (V(Profile-<uuid>)), with O(username_type=trusted_profile) only,
        where it is required. It becomes RV(username).
    type: str
    version_added: 2.0.0
  regions:
    description:
      - ICR regions (V(us-south), V(global), ...) to verify the credential against, and to cover in RV(dockerconfigjson).
    type: list
    elements: str
    aliases: [region]
  registries:
    description:
      - Registry hosts to verify the credential against, and to cover in RV(dockerconfigjson).
    type: list
    elements: str
    aliases: [registry]
  private_endpoint:
    description:
      - Use the private-network names of the ICR hosts (V(private.us.icr.io)).
    type: bool
    default: false
  verify:
    description:
      - Prove the credential against every registry of O(regions) and O(registries); the module fails if any refuses it.
      - If not set, the credential is proven when O(regions) or O(registries) name a registry. V(true) with neither
        fails, since there would be nothing to prove it against.
      - Set V(false) to only build RV(dockerconfigjson) for them.
    type: bool
  verify_access:
    description:
      - Repositories and actions that the credential must be granted, as V(namespace/repository:pull) or
        V(namespace/repository:pull,push). A credential that is valid but lacks an IAM policy for them fails with a
        message that says so.
      - The registry itself is asked with its token, since IBM documents neither the token's format nor where it
        refuses a missing permission. V(pull) lists the repository's tags (a repository that does not exist yet
        counts as readable and is named in the message); V(push) opens a blob upload and cancels it at once, so
        nothing is stored. When the token service refuses the repositories asked for, the credential is tried
        without them, which tells a missing permission from a wrong key whatever status (400, 401, 403) it answers.
    type: list
    elements: str
  min_validity:
    description:
      - Seconds a cached token must still be valid to be used again; a token IAM issues with less warns.
    type: int
    default: 900
  cache:
    description:
      - Cache exchanged tokens on the host the module runs on (the controller), so that a rerun makes no IAM call.
    type: bool
    default: true
  cache_dir:
    description:
      - Directory of the cache; created 0700. Files are named by a hash, never by the key.
      - It must be a real directory (not a symlink) that belongs to the user the module runs as and that nobody else
        can write; otherwise nothing is cached and a warning says why.
      - Defaults to C(icr.auth) under E(XDG_CACHE_HOME) or C(~/.cache).
    type: path
seealso:
  - module: icr.auth.icr_login
  - name: IBM Cloud IAM - generating an access token from an API key
    description: The token exchange this module performs.
    link: https://cloud.ibm.com/docs/account?topic=account-iamtoken_from_apikey
'''

EXAMPLES = r'''
---
- name: Exchange the API key once for the whole play
  icr.auth.icr_credential:
    api_key: "{{ vault_icr_api_key }}"
    username_type: iambearer
    regions: [us-south, eu-de]
  delegate_to: localhost
  run_once: true
  no_log: true
  register: icr

- name: Check that a service ID can pull from its namespace, but do not keep the check's output
  icr.auth.icr_credential:
    api_key: "{{ vault_icr_api_key }}"
    regions: [us-south]
    verify_access: ["team-a/app:pull"]
  delegate_to: localhost
  run_once: true
  no_log: true

- name: Make a Kubernetes image pull secret for every ICR region
  icr.auth.icr_credential:
    api_key: "{{ vault_icr_api_key }}"
    verify: false
  delegate_to: localhost
  run_once: true
  no_log: true
  register: pull

- name: Prove a key and see why when it fails, although the credential task has no_log
  icr.auth.icr_credential:
    api_key: "{{ vault_icr_api_key }}"
    regions: [us-south]
    verify: true
  delegate_to: localhost
  run_once: true
  no_log: true
  register: proof
  failed_when: false

- name: Stop with the module's message (it never holds the key or a token)
  ansible.builtin.fail:
    msg: "{{ proof.msg }}"
  when: proof.password is not defined
  delegate_to: localhost
  run_once: true

- name: Write the pull secret manifest
  ansible.builtin.copy:
    dest: /tmp/all-icr-io.yml
    mode: '0600'
    content: |
      apiVersion: v1
      kind: Secret
      metadata:
        name: all-icr-io
      type: kubernetes.io/dockerconfigjson
      data:
        .dockerconfigjson: {{ pull.dockerconfigjson | to_json | b64encode }}
  no_log: true

- name: Pull from another account as a trusted profile that trusts this account's service ID, proven once
  icr.auth.icr_credential:
    api_key: "{{ vault_puller_api_key }}"
    username_type: trusted_profile
    trusted_profile_id: Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77
    regions: [us-south]
    verify: true
  delegate_to: localhost
  run_once: true
  no_log: true
  register: cross

- name: Write it on every host
  icr.auth.icr_login:
    regions: [us-south]
    username_type: "{{ cross.username_type }}"
    trusted_profile_id: "{{ cross.username }}"
    password: "{{ cross.password }}"
'''

RETURN = r'''
username:
  description:
    - The registry username - V(iamapikey), V(iambearer) or V(iamrefresh); for V(trusted_profile) the profile id.
  returned: success
  type: str
  sample: iambearer
username_type:
  description:
    - The username type of the credential, as O(username_type) - what M(icr.auth.icr_login) takes as its
      O(icr.auth.icr_login#module:username_type) (with RV(username) as its
      O(icr.auth.icr_login#module:trusted_profile_id) for V(trusted_profile)).
  returned: success
  type: str
  sample: trusted_profile
  version_added: 2.0.0
password:
  description:
    - The registry password - the API key, or the IAM token. A secret - register the task with C(no_log).
    - Null for V(iamapikey) and V(trusted_profile) when the task has no C(no_log) (the API key is never returned to a
      task that would show it).
  returned: success
  type: str
  sample: eyJraWQiOi...
expires_at:
  description: When the credential should be renewed (ISO 8601, UTC); null for API keys.
  returned: success
  type: str
  sample: "2026-11-24T13:05:00Z"
expires_in:
  description: Seconds from now to RV(expires_at); null for API keys.
  returned: success
  type: int
  sample: 3571
iam_id:
  description:
    - The IAM identity of the key, when IAM was asked (token types, or verification). For V(trusted_profile), the
      service ID whose key it is; the registry grants the profile's access.
  returned: success
  type: str
  sample: iam-ServiceId-2d9bd1b2-4f51-4fcb-9a51-6f6f0f4b3c55
account_id:
  description: The IBM Cloud account of the key, when IAM was asked.
  returned: success
  type: str
  sample: 0a1b2c3d4e5f60718293a4b5c6d7e8f9
registries:
  description: The registry hosts verified.
  returned: success
  type: list
  elements: str
  sample: [us.icr.io, de.icr.io]
verification:
  description: Per registry, whether it accepted the credential, and why not.
  returned: success
  type: dict
  sample: {"us.icr.io": {"ok": true, "msg": "The registry at us.icr.io accepted the iambearer credential.", "status": 200}}
cached:
  description: Whether the credential came from the controller's cache (no IAM call).
  returned: success
  type: bool
  sample: false
dockerconfigjson:
  description:
    - A Docker config with an C(auths) entry for each registry (every ICR region when none is given) - the content of
      a Kubernetes C(kubernetes.io/dockerconfigjson) pull secret. Holds the secret.
    - Null for V(iamapikey) and V(trusted_profile) when the task has no C(no_log), as RV(password).
  returned: success
  type: dict
  sample: {"auths": {"us.icr.io": {"username": "iamapikey", "password": "...", "auth": "..."}}}
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError, failure
from ansible_collections.icr.auth.plugins.module_utils._obtain import credential_result, invocation_args
from ansible_collections.icr.auth.plugins.module_utils._options import credential_spec as argument_spec


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    # A key from the environment is as secret as the api_key option: credential_result adds it to the values masked
    # in every message and result. Returning the credential is this module's purpose: with iamapikey it is the API key
    # itself, which withhold() keeps out unless the task is no_log (then Ansible shows none of the result), so it is
    # unmasked in the result only, and stays masked in the invocation.
    try:
        result, warnings = credential_result(module.params, os.environ, module.no_log, module.no_log_values)
    except IcrAuthError as exc:
        module.fail_json(**failure(exc))
    for warning in warnings:
        module.warn(warning)
    module.exit_json(invocation={'module_args': invocation_args(module.params)}, **result)


if __name__ == '__main__':
    main()
