#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: icr_login_network
short_description: Internal to icr.auth.icr_login, not to be called directly - icr_login with its network code
version_added: 2.0.0
description:
  - Internal to M(icr.auth.icr_login); do not call it directly. Use M(icr.auth.icr_login), with the same options.
  - The action plugin of M(icr.auth.icr_login) runs this module on a host, in place of icr_login, when the run talks to
    the network there - O(api_key) with a token O(username_type) (the IAM exchange), or O(validate) (the registry
    check), outside check mode. It does exactly what icr_login does, and carries the network code that icr_login's
    own payload leaves out, so that hosts which never talk to the network are sent less.
requirements:
  - Python 3.8 to 3.13 on the managed host (3.9 to 3.13 with ansible-core 2.20 or newer), and the Python library
    C(requests) for the network calls.
author:
  - icr.auth contributors (@icr-auth)
extends_documentation_fragment:
  - icr.auth.attributes
  - icr.auth.iam
  - icr.auth.login
options: {}
seealso:
  - module: icr.auth.icr_login
'''

EXAMPLES = r'''
---
# Not called directly: this task of icr.auth.icr_login runs icr_login_network on the host, which exchanges the API key
# with IAM and proves the token against the registry before writing it.
- name: Exchange the API key on the host itself and prove the token before writing it
  icr.auth.icr_login:
    regions: [us-south]
    api_key: "{{ icr_api_key }}"
    username_type: iambearer
    validate: true
'''

RETURN = r'''
changed:
  description:
    - Whether any file or credential helper was changed.
    - The result is that of M(icr.auth.icr_login), whose documentation describes every value.
  returned: always
  type: bool
  sample: true
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.icr.auth.plugins.module_utils._login import run_module
from ansible_collections.icr.auth.plugins.module_utils._network import Network
from ansible_collections.icr.auth.plugins.module_utils._options import LOGIN_RULES, login_spec


def main() -> None:
    module = AnsibleModule(argument_spec=login_spec(), supports_check_mode=True, **LOGIN_RULES)
    run_module(module, Network(module.params, os.environ))


if __name__ == '__main__':
    main()
