# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
name: credential_fingerprint
short_description: The short fingerprint of a registry secret, as icr_login's diff and icr_login_info show it
version_added: 2.0.0
description:
  - Returns C(sha256:) and the first 12 hex digits of the SHA-256 of a secret (an API key or a token) - the fingerprint
    that the diff of M(icr.auth.icr_login) and the results of M(icr.auth.icr_login_info) show in its place.
  - Computed on the controller from a key it holds (in a vault), it tells which hosts hold that key without the key
    ever leaving the controller or being shown. The fingerprint cannot be turned back into the key.
author:
  - icr.auth contributors (@icr-auth)
options:
  _input:
    description: The secret.
    type: str
    required: true
seealso:
  - module: icr.auth.icr_login_info
'''

EXAMPLES = r'''
---
- name: Which hosts still hold the old key
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} still holds the old key"
  when: >-
    icr_audit.files | map(attribute='registries') | flatten | map(attribute='fingerprint')
    is contains(vault_old_api_key | icr.auth.credential_fingerprint)

- name: The keys the fleet audit names (playbooks/fleet_audit.yml)
  ansible.builtin.set_fact:
    fleet_audit_known_keys:
      - name: web-fleet-pull-2026-12
        fingerprint: "{{ vault_new_api_key | icr.auth.credential_fingerprint }}"
        iam_id: iam-ServiceId-98914559-1ee5-44c5-b7ff-6f7aa240de8e
'''

RETURN = r'''
_value:
  description: C(sha256:) and 12 hex digits.
  type: str
  sample: "sha256:3f9a0c7d12be"
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.icr.auth.plugins.module_utils._credential import fingerprint


def credential_fingerprint(secret: object) -> str:
    """The fingerprint of a secret; an error that never shows the value for anything that is not one."""
    if not isinstance(secret, str) or not secret.strip():
        raise AnsibleFilterError('credential_fingerprint: give the secret (an API key or a token) as a non-empty string.')
    return fingerprint(str(secret))


class FilterModule(object):
    def filters(self) -> dict:
        return {'credential_fingerprint': credential_fingerprint}
