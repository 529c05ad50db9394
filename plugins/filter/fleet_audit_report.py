# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
name: fleet_audit_report
short_description: One fleet report from the icr_login_info results of many hosts
version_added: 2.0.0
description:
  - Turns a mapping of host name to the registered result of M(icr.auth.icr_login_info) into one report - per host,
    the users and files read, one row per ICR entry (registry, method, username type, identity, fingerprint, expiry),
    and the problems; and a summary - the hosts per identity, the hosts with problems, how many problems of each kind,
    the hosts without a result (unreachable, failed), and the known keys no host holds.
  - The identity of a token is its C(iam_id). An API key names no identity on the host - its fingerprint is looked up in
    O(known_keys), so the report names the key (V(API key web-fleet-pull-2026-12)); a key that is not there is
    V(unknown API key sha256:...).
  - The playbook C(playbooks/fleet_audit.yml) uses it, and P(icr.auth.fleet_audit_markdown#filter) renders its result.
author:
  - icr.auth contributors (@icr-auth)
options:
  _input:
    description:
      - Host name to the registered result of M(icr.auth.icr_login_info) on that host, or null when there is none.
    type: dict
    required: true
  known_keys:
    description:
      - The keys the controller knows, each a mapping with a C(name), its C(fingerprint) computed with
        P(icr.auth.credential_fingerprint#filter), and optionally the C(iam_id) of its service ID.
      - Or the items M(icr.auth.icr_api_key_info) returns, as they are - the report then names the key's service ID
        and C(iam_id), and a host holding a key IAM does not know, or a disabled or expired one, has the problem
        V(api_key_not_working).
      - A value that is not a fingerprint is refused without being shown, and so is an item that carries a C(key) or
        C(key_file) - only fingerprints come here.
    type: list
    elements: dict
    default: []
  generated_at:
    description: When the report was made, shown as given (the playbook passes the time it ran, in UTC).
    type: str
seealso:
  - module: icr.auth.icr_login_info
  - module: icr.auth.icr_api_key_info
  - plugin: icr.auth.fleet_audit_markdown
    plugin_type: filter
'''

EXAMPLES = r'''
---
- name: Build the fleet report on the controller
  ansible.builtin.set_fact:
    fleet_report: >-
      {{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars)
         | map(attribute='icr_audit', default=none)))
         | icr.auth.fleet_audit_report(known_keys=[{'name': 'key-2026-12',
                                                   'fingerprint': vault_key | icr.auth.credential_fingerprint}]) }}
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
_value:
  description: The report - C(generated_at), C(summary) and C(hosts), as the JSON report of C(playbooks/fleet_audit.yml).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.icr.auth.plugins.module_utils._audit_report import build_report
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError


def fleet_audit_report(results: object, known_keys: object = None, generated_at: object = None) -> dict:
    if not isinstance(results, dict):
        raise AnsibleFilterError('fleet_audit_report: give a mapping of host name to the result of icr_login_info.')
    try:
        return build_report(results, known_keys, None if generated_at is None else str(generated_at))
    except InputError as exc:
        raise AnsibleFilterError(f'fleet_audit_report: {exc.msg}')


class FilterModule(object):
    def filters(self) -> dict:
        return {'fleet_audit_report': fleet_audit_report}
