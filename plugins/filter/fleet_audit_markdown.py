# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
name: fleet_audit_markdown
short_description: A fleet report of fleet_audit_report as a Markdown document
version_added: 2.0.0
description:
  - Renders the result of P(icr.auth.fleet_audit_report#filter) as Markdown - the summary (hosts per identity, hosts
    with problems, hosts without a result), then one section per host with a table of its ICR entries (user, file,
    registry, method, username type, identity, fingerprint, expiry) and its problems.
author:
  - icr.auth contributors (@icr-auth)
options:
  _input:
    description: The result of P(icr.auth.fleet_audit_report#filter).
    type: dict
    required: true
seealso:
  - plugin: icr.auth.fleet_audit_report
    plugin_type: filter
'''

EXAMPLES = r'''
---
- name: Write the report
  ansible.builtin.copy:
    content: "{{ fleet_report | icr.auth.fleet_audit_markdown }}"
    dest: /srv/reports/icr-fleet.md
    mode: '0644'
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
_value:
  description: The Markdown document.
  type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.icr.auth.plugins.module_utils._audit_report import markdown


def fleet_audit_markdown(report: object) -> str:
    if not isinstance(report, dict) or not isinstance(report.get('summary'), dict) or 'hosts' not in report:
        raise AnsibleFilterError('fleet_audit_markdown: give the result of the filter icr.auth.fleet_audit_report.')
    return markdown(report)


class FilterModule(object):
    def filters(self) -> dict:
        return {'fleet_audit_markdown': fleet_audit_markdown}
