#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: docker_auth_controller
short_description: Internal to the role icr.auth.docker_auth, not to be called directly - the role's controller task
version_added: 2.0.0
description:
  - Internal to the role C(icr.auth.docker_auth); do not call it directly.
    Outside the role it fails and says so.
  - The role's first task, once per play, on the controller. In one task (with the linear strategy every task, even a
    skipped one, costs a worker process) it checks every role variable against the role's C(meta/argument_specs.yml),
    with the messages of C(ansible.builtin.validate_argument_spec); then the checks the specification cannot express,
    every problem named in one message; then it warns about C(docker_auth_*) variables the role does not know; then,
    when the role needs the controller to talk to IAM or the registries, it runs M(icr.auth.icr_credential).
  - Nothing it runs is on the hosts. A failure of M(icr.auth.icr_credential) is shown with that module's message, which
    never holds the secret; a success holds the registry credential, and its result is hidden from every output.
  - An action plugin; it takes no options. The role's variables are its input.
author:
  - icr.auth contributors (@icr-auth)
extends_documentation_fragment:
  - icr.auth.attributes
attributes:
  check_mode:
    support: full
    details:
      - Runs as usual in check mode; M(icr.auth.icr_credential) changes nothing then.
  diff_mode:
    support: none
  idempotent:
    support: full
options: {}
seealso:
  - module: icr.auth.icr_credential
  - module: icr.auth.icr_login
'''

EXAMPLES = r'''
---
# Not called directly: the role icr.auth.docker_auth runs it as its first task.
- name: Log the fleet in to the registry
  ansible.builtin.import_role:
    name: icr.auth.docker_auth
    rolespec_validate: false
  vars:
    docker_auth_regions: [us-south]
'''

RETURN = r'''
exchanged:
  description: Whether icr.auth.icr_credential ran (the role's variables asked the controller to talk to IAM or a registry).
  returned: success
  type: bool
  sample: false
password:
  description:
    - The registry credential, when O(ignore:exchanged) is true; hidden from output with the rest of that result.
    - The other values icr.auth.icr_credential returns come with it; its documentation describes them.
  returned: when exchanged
  type: str
  sample: '********'
'''
