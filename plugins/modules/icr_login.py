#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: icr_login
short_description: Write a host's registry credentials for IBM Cloud Container Registry
version_added: 1.0.0
description:
  - Makes a host's Docker C(config.json) and/or containers C(auth.json) hold the credential for one or more
    IBM Cloud Container Registry (ICR) regions, the way C(docker login -u iamapikey -p <key> us.icr.io) would,
    without Docker, podman or any daemon on the host.
  - Idempotent by meaning - an entry that already holds the same username and secret is not rewritten, and
    with O(username_type=iambearer) a stored token of the same identity that is still valid for
    O(min_validity) seconds is kept.
  - Writes are atomic, locked against concurrent runs, keep every other key and registry of the file, and
    never touch a file that cannot be parsed.
  - Follows Docker's choice of credential store - C(credHelpers) for the registry, then C(credsStore), then
    the file - and stores through the docker-credential-helpers protocol.
requirements:
  - Python 3.8 to 3.13 on the managed host (3.9 to 3.13 with ansible-core 2.20 or newer, which no longer runs modules
    on Python 3.8). Only the standard library, unless the module makes network calls (O(api_key) with a token type,
    or O(validate)), which need the Python library C(requests).
author:
  - icr.auth contributors (@icr-auth)
notes:
  - When the connection pipelines (C(pipelining = True)) and the task makes no network call on the host, the action
    plugin does not send the module's AnsiballZ payload - the same code runs in one Python on the host, fed on its
    standard input, with the arguments checked on the controller against this module's options. The result is the
    same, and so is the host's Python (configured, or found by interpreter discovery); nothing is written on the host
    and no secret is in a process argument. With C(async), for arguments this module refuses, or under mitogen's
    strategies (which run modules their own way), the module runs.
extends_documentation_fragment:
  - icr.auth.attributes
  - icr.auth.attributes.ACTIONGROUP
  - icr.auth.iam
  - icr.auth.login
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - The action plugin only chooses what runs on the host - this module, which needs nothing but the standard library,
        or, when the run talks to the network there (O(api_key) with a token O(username_type), or O(validate), outside
        check mode), the internal module M(icr.auth.icr_login_network), which does the same with the network code. Hosts
        that never talk to the network are sent a smaller payload.
options: {}
seealso:
  - module: icr.auth.icr_credential
  - name: Automating access to IBM Cloud Container Registry
    description: IBM's documentation of the iamapikey, iambearer and iamrefresh logins.
    link: https://cloud.ibm.com/docs/Registry?topic=Registry-registry_access
'''

EXAMPLES = r'''
---
- name: Give the deploy user access to two ICR regions with a service ID API key
  icr.auth.icr_login:
    regions: [us-south, eu-de]
    password: "{{ icr_api_key }}"
    user: deploy

- name: Exchange once on the controller, write a short-lived token on every host
  block:
    - name: Get an IAM access token for the registry
      icr.auth.icr_credential:
        api_key: "{{ icr_api_key }}"
        username_type: iambearer
      delegate_to: localhost
      run_once: true
      no_log: true
      register: icr

    - name: Write it for Docker and podman
      icr.auth.icr_login:
        regions: [us-south]
        username_type: "{{ icr.username }}"
        password: "{{ icr.password }}"
        format: both

- name: Use the private network names and a dedicated file
  icr.auth.icr_login:
    regions: [global, jp-tok]
    private_endpoint: true
    password: "{{ icr_api_key }}"
    config_path: /etc/ci/docker/config.json
    owner: ci
    group: ci
    mode: '0600'

- name: Send the registries to docker-credential-icr (installed by icr.auth.icr_credential_helper)
  icr.auth.icr_login:
    method: helper
    regions: [us-south, global]
    user: deploy
    format: both

- name: Remove the credentials again
  icr.auth.icr_login:
    regions: [us-south, eu-de]
    state: absent
    user: deploy
'''

RETURN = r'''
changed:
  description: Whether any file or credential helper was changed.
  returned: always
  type: bool
  sample: true
registries:
  description:
    - What happened to each registry - V(added), V(updated), V(unchanged) or V(removed). With O(format=both), the
      most significant action of the two files.
  returned: always
  type: dict
  sample: {"us.icr.io": "added", "de.icr.io": "unchanged"}
config_path:
  description: The file written (the first one with O(format=both)); a symlink is reported as its target.
  returned: always
  type: str
  sample: /home/deploy/.docker/config.json
files:
  description: One item per file, with its RV(files[].path), RV(files[].format), RV(files[].changed), per-registry actions and storage.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
      returned: always
      sample: /home/deploy/.config/containers/auth.json
    format:
      description: V(docker) or V(containers).
      type: str
      returned: always
      sample: containers
    changed:
      description: Whether this file or its helper changed.
      type: bool
      returned: always
      sample: false
    registries:
      description: Action per registry in this file.
      type: dict
      returned: always
      sample: {"us.icr.io": "unchanged"}
    stored_in:
      description:
        - Per registry, V(file) or the credential helper program that holds the secret; with O(method=helper),
          V(docker-credential-icr).
      type: dict
      returned: always
      sample: {"us.icr.io": "docker-credential-pass"}
expires_at:
  description: When the credential expires (ISO 8601, UTC), for V(iambearer); null for API keys and refresh tokens.
  returned: always
  type: str
  sample: "2026-11-24T13:05:00Z"
username:
  description:
    - The registry username written (for O(username_type=trusted_profile), the profile id); null with
      O(method=helper), where the helper answers each client.
  returned: always
  type: str
  sample: iamapikey
verification:
  description: Per registry, the outcome of O(validate) - whether it accepted the credential, a message, the HTTP status.
  returned: when O(validate=true) and not in check mode
  type: dict
  sample: {"us.icr.io": {"ok": true, "msg": "The registry at us.icr.io accepted the iamapikey credential.", "status": 200}}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.icr.auth.plugins.module_utils._login import run_module
from ansible_collections.icr.auth.plugins.module_utils._options import LOGIN_RULES, login_spec as argument_spec


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **LOGIN_RULES)
    # This module's payload carries no network code: for a run that needs the network on the host, the action plugin
    # sends icr_login_network instead (see _login_route.needs_network).
    run_module(module, None)


if __name__ == '__main__':
    main()
