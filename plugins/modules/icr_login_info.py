#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: icr_login_info
short_description: Report which IBM Cloud Container Registry credentials a host's users hold, without the secrets
version_added: 2.0.0
description:
  - Reads the Docker C(config.json) and the containers C(auth.json) of one or more users - the files
    M(icr.auth.icr_login) writes, at the same default paths - and reports, per user and file, which IBM Cloud
    Container Registry (ICR) hosts are configured, how, with which username type and identity, until when, and what
    is wrong.
  - Never changes anything, and never returns a secret. A credential is described by its username type, the
    identity (C(iam_id), C(account_id)) and expiry that an IAM token's claims name, and the short fingerprint that the
    diff of M(icr.auth.icr_login) shows - C(sha256:) and 12 hex digits of the SHA-256 of the secret - so that the
    controller can tell which key a host holds without seeing it (see the filter
    P(icr.auth.credential_fingerprint#filter)).
  - An API key (V(iamapikey)) names no identity by itself; compare its fingerprint with those of the keys the controller
    knows, as the playbook C(playbooks/fleet_audit.yml) of this collection does.
  - ICR hosts are recognised in every form Docker and the containers tools write them - V(us.icr.io),
    V(https://us.icr.io/v1/), V(private.us.icr.io), a namespace V(us.icr.io/web) of C(auth.json), and the former
    C(registry.*.bluemix.net) names. Entries of other registries are counted, not described.
  - A file is read the way M(icr.auth.icr_login) reads it - at most 16 MiB, through the directories walked one at a time,
    and as the user named in O(users) when root runs it - so a symbolic link that a user planted cannot make root read
    another user's file. A file that cannot be read or parsed is reported as a problem and left exactly as it is.
  - Needs only the Python standard library on the host; its payload carries no network code.
author:
  - icr.auth contributors (@icr-auth)
extends_documentation_fragment:
  - icr.auth.attributes
attributes:
  check_mode:
    support: full
    details:
      - Runs as usual in check mode; it never changes anything.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  users:
    description:
      - The users whose files are read, by name or uid. Their homes come from the password database of the host, not
        from E(HOME).
      - If not set, the user the module runs as (after C(become)), whose E(DOCKER_CONFIG), E(REGISTRY_AUTH_FILE) and
        E(XDG_CONFIG_HOME) are honoured as by M(icr.auth.icr_login) and the clients. The environment is never used for
        a user named here.
      - Reading another user's files needs root (C(become)); root reads them with that user's identity.
    type: list
    elements: str
  format:
    description:
      - Which files to read - Docker's C(~/.docker/config.json), the containers tools' C(~/.config/containers/auth.json),
        or both.
    type: str
    choices: [docker, containers, both]
    default: both
  forbid_api_keys:
    description:
      - Report an API key stored in plain text in a file (username V(iamapikey)) as a problem, for fleets whose policy is
        short-lived tokens (V(iambearer)) or a credential helper only.
    type: bool
    default: false
notes:
  - Credentials held by a credential helper (C(credHelpers)) or a credential store (C(credsStore)) are reported with
    the helper's name, but the helper is not run; its username type, identity and fingerprint are not known. V(icr)
    is the collection's own helper C(docker-credential-icr).
  - Not a member of the action group C(group/icr.auth.icr), whose defaults are the IAM and registry connection options
    that this module does not have.
seealso:
  - module: icr.auth.icr_login
  - plugin: icr.auth.credential_fingerprint
    plugin_type: filter
'''

EXAMPLES = r'''
---
- name: What the deploy and ci users hold
  icr.auth.icr_login_info:
    users: [deploy, ci]
  become: true
  register: icr_audit

- name: Fail where a token expired or a file is readable by others
  ansible.builtin.assert:
    that: icr_audit.problems | length == 0
    fail_msg: "{{ icr_audit.problems | map(attribute='msg') | list }}"

- name: Hosts still on the old key
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} holds the old key"
  when: >-
    icr_audit.files | map(attribute='registries') | flatten | selectattr('fingerprint', 'equalto',
    old_api_key | icr.auth.credential_fingerprint) | list | length > 0

- name: A fleet whose policy is tokens only
  icr.auth.icr_login_info:
    format: docker
    forbid_api_keys: true
'''

RETURN = r'''
changed:
  description: Always V(false).
  returned: always
  type: bool
  sample: false
users:
  description: The users whose files were read.
  returned: always
  type: list
  elements: str
  sample: [deploy, ci]
files:
  description: One item per user and file.
  returned: always
  type: list
  elements: dict
  contains:
    user:
      description: The user whose file this is.
      type: str
      returned: always
      sample: deploy
    path:
      description: The file (a symlinked file is reported as its target).
      type: str
      returned: always
      sample: /home/deploy/.docker/config.json
    format:
      description: V(docker) or V(containers).
      type: str
      returned: always
      sample: docker
    exists:
      description: Whether the file exists.
      type: bool
      returned: always
      sample: true
    readable:
      description: Whether the file could be read; if not, RV(files[].problems) says why.
      type: bool
      returned: always
      sample: true
    parsed:
      description: Whether the file is a valid registry auth file; null when it does not exist or could not be read.
      type: bool
      returned: always
      sample: true
    owner:
      description: The owner of the file (a uid when it has no name); null when it does not exist.
      type: str
      returned: always
      sample: deploy
    mode:
      description: The mode of the file, in octal; null when it does not exist.
      type: str
      returned: always
      sample: '0600'
    dir_mode:
      description: The mode of the directory that holds the file, in octal; null when the file does not exist.
      type: str
      returned: always
      sample: '0700'
    creds_store:
      description: The credential store (C(credsStore)) Docker uses for hosts without a C(credHelpers) entry, or null.
      type: str
      returned: always
      sample: null
    other_registries:
      description: How many entries name registries other than ICR (they are not described).
      type: int
      returned: always
      sample: 1
    registries:
      description: One item per ICR entry of the file.
      type: list
      elements: dict
      returned: always
      contains:
        registry:
          description: The key of the entry, as the file spells it.
          type: str
          returned: always
          sample: us.icr.io
        host:
          description: The registry host.
          type: str
          returned: always
          sample: us.icr.io
        namespace:
          description: The namespace of a namespace-scoped entry of C(auth.json) (V(us.icr.io/web)), or null.
          type: str
          returned: always
          sample: null
        region:
          description: The ICR region of the host.
          type: str
          returned: always
          sample: us-south
        private:
          description: Whether the host is a private-network name (V(private.us.icr.io)).
          type: bool
          returned: always
          sample: false
        former_name:
          description: Whether the host is a former C(registry.*.bluemix.net) name.
          type: bool
          returned: always
          sample: false
        method:
          description:
            - Where the clients find the credential - V(file) (the entry of C(auths)), V(helper) (a C(credHelpers)
              entry), V(store) (Docker's C(credsStore)), or V(none) (an entry without a credential).
          type: str
          returned: always
          sample: file
        helper:
          description: The name of the helper or store (C(docker-credential-<name>)); V(icr) is the collection's own.
          type: str
          returned: always
          sample: null
        username_type:
          description:
            - V(iamapikey), V(iambearer), V(iamrefresh), V(identitytoken) or V(other), read from the entry of C(auths);
              null when the file holds no credential for the host.
          type: str
          returned: always
          sample: iambearer
        fingerprint:
          description: The short fingerprint of the secret, as in the diff of M(icr.auth.icr_login); null without one.
          type: str
          returned: always
          sample: "sha256:3f9a0c7d12be"
        iam_id:
          description: The IAM identity a token names (its C(iam_id) claim); null for API keys.
          type: str
          returned: always
          sample: iam-ServiceId-98914559-1ee5-44c5-b7ff-6f7aa240de8e
        account_id:
          description: The account a token names; null for API keys.
          type: str
          returned: always
          sample: a1b2c3
        expires_at:
          description: When a token expires (ISO 8601, UTC); null for API keys.
          type: str
          returned: always
          sample: "2026-12-01T14:05:00Z"
        expired:
          description: Whether a token has expired; null when the credential has no expiry.
          type: bool
          returned: always
          sample: false
    problems:
      description:
        - What is wrong with the file, each with a C(code), a C(msg) that says how to fix it and, for one registry,
          its C(registry).
        - Codes - V(unreadable), V(unparsable), V(owner_mismatch), V(file_mode), V(dir_mode) (a file holding secrets,
          or its directory, can be read or changed by the group or others), V(plaintext_api_key) (with
          O(forbid_api_keys)), V(token_expired), V(creds_store_captures) (Docker asks C(credsStore) and ignores the
          credential in the file), V(helper_shadows_file) (a C(credHelpers) entry makes the clients ignore the
          credential in the file), V(unreadable_entry).
      type: list
      elements: dict
      returned: always
      sample: [{"code": "file_mode", "msg": "The file /home/deploy/.docker/config.json holds registry secrets and can be
        read or changed by every user on the host (mode 0644); chmod 600 it."}]
problems:
  description: Every problem of RV(files), each with the C(user) and C(path) it belongs to.
  returned: always
  type: list
  elements: dict
  sample: [{"user": "deploy", "path": "/home/deploy/.docker/config.json", "code": "token_expired",
    "registry": "us.icr.io", "msg": "The iambearer token for us.icr.io expired at 2026-12-01T12:00:00Z; pulls with it
    fail. Run icr_login (or the role) again."}]
'''

import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.icr.auth.plugins.module_utils._audit import audit_file
from ansible_collections.icr.auth.plugins.module_utils._auth_file import FORMATS, default_path
from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError, InputError, failure
from ansible_collections.icr.auth.plugins.module_utils._privilege import lookup_user


def audit(params: dict) -> dict:
    """The result of icr_login_info for its params."""
    formats = list(FORMATS) if params['format'] == 'both' else [params['format']]
    if not params.get('users'):
        accounts = [(pwd.getpwuid(os.geteuid()), False)]
    else:
        accounts = []
        for name in params['users']:
            try:
                account = lookup_user(str(name).strip())
            except InputError:
                raise InputError(f'users: no user {name!r} in the password database of this host; name existing users.')
            if account.pw_uid not in [a.pw_uid for a, _named in accounts]:
                accounts.append((account, True))
    files = []
    for account, named in accounts:
        for fmt in formats:
            path = default_path(fmt, account, use_env=not named)
            files.append(audit_file(path, fmt, account, named, params['forbid_api_keys']))
    problems = [dict(p, user=f['user'], path=f['path']) for f in files for p in f['problems']]
    return {'changed': False, 'users': [a.pw_name for a, _named in accounts], 'files': files, 'problems': problems}


def main() -> None:
    module = AnsibleModule(argument_spec=dict(
        users=dict(type='list', elements='str'),
        format=dict(type='str', default='both', choices=['docker', 'containers', 'both']),
        forbid_api_keys=dict(type='bool', default=False, no_log=False),
    ), supports_check_mode=True)
    try:
        result = audit(module.params)
    except IcrAuthError as exc:
        module.fail_json(**failure(exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
