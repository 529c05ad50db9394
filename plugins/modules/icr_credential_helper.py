#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: icr_credential_helper
short_description: Install and configure the docker-credential-icr credential helper on a host
version_added: 2.0.0
description:
  - Installs C(docker-credential-icr), a credential helper that answers Docker, podman, skopeo and buildah with a fresh
    IBM Cloud IAM access token for IBM Cloud Container Registry (ICR) hosts whenever they pull or push, from an identity
    the host already has - the VPC instance's trusted profile, a compute resource token (IKS, Red Hat OpenShift on IBM
    Cloud, Code Engine), or an API key file that only its owner can read. No API key or token is written by this module.
  - The executable is built on the host from the collection's own code (a Python zip application that needs only the
    standard library) and written atomically, root-owned and mode C(0755), and only when its bytes differ.
  - Writes the helper's configuration file (root-owned, C(0644), no secrets) from the options.
  - To make the clients use the helper, name it for the registries with M(icr.auth.icr_login) and O(icr.auth.icr_login#module:method=helper),
    or use the role P(icr.auth.docker_auth#role) with C(docker_auth_method=helper), which does both.
requirements:
  - Python 3.8 or newer on the managed host, standard library only.
  - Root (C(become=true)) to write the default paths.
author:
  - icr.auth contributors (@icr-auth)
extends_documentation_fragment:
  - icr.auth.attributes
options:
  state:
    description:
      - V(present) installs the executable and writes the configuration.
      - V(absent) removes the executable, the configuration file, and the cache directories of the O(users) (their
        C(~/.cache/docker-credential-icr), or O(cache_dir)) - the tokens, and the logins a user stored through the
        helper with C(docker login). A cache directory that is a link, or that the user does not own, is left alone.
        The Docker and containers files of the users are left to M(icr.auth.icr_login) with O(icr.auth.icr_login#module:state=absent).
    type: str
    choices: [present, absent]
    default: present
  path:
    description:
      - Where the executable goes. Clients find it on E(PATH) by its name, so keep the name C(docker-credential-icr)
        and a directory on every user's E(PATH).
    type: path
    default: /usr/local/bin/docker-credential-icr
  config_path:
    description:
      - The helper's configuration file. The helper reads C(/etc/icr-auth/credential-helper.json), or the file that the
        environment variable E(DOCKER_CREDENTIAL_ICR_CONFIG) of its caller names; set that variable for the users when
        this is another path.
    type: path
    default: /etc/icr-auth/credential-helper.json
  python:
    description:
      - The Python interpreter the executable runs with (its C(#!) line, with C(-I)). By default the one that runs this
        module (C(ansible_python_interpreter)).
    type: path
  identity:
    description:
      - Where the helper gets its IAM access token.
      - V(vpc_trusted_profile) - the VPC instance metadata service gives an instance identity token, exchanged for an
        IAM token of a trusted profile (O(trusted_profile), or the instance's default profile).
      - V(compute_resource) - the compute resource token file of the workload (O(cr_token_file)) is exchanged for an IAM
        token of the trusted profile O(profile_id) or O(profile_name).
      - V(api_key_file) - each user's own API key file (O(api_key_file)), refused by the helper when anyone but its owner
        can read it.
      - Required with O(state=present).
    type: str
    choices: [vpc_trusted_profile, compute_resource, api_key_file]
  regions:
    description:
      - ICR regions the helper names in C(list), such as V(us-south) or V(global). The helper answers C(get) for every ICR
        host whichever are listed.
    type: list
    elements: str
    default: []
  registries:
    description:
      - Further registry hosts the helper serves (for example a registry that takes IAM tokens behind another name).
    type: list
    elements: str
    default: []
  private_endpoint:
    description:
      - Use the private-network names of the ICR hosts of O(regions) (V(private.us.icr.io)).
    type: bool
    default: false
  trusted_profile:
    description:
      - With O(identity=vpc_trusted_profile), the trusted profile to take - its id (V(Profile-<uuid>)) or its CRN, told
        apart by their shape. Not set - the instance's default trusted profile.
    type: str
  profile_id:
    description:
      - With O(identity=compute_resource), the id of the trusted profile to ask IAM for.
    type: str
  profile_name:
    description:
      - With O(identity=compute_resource), the name of the trusted profile to ask IAM for (instead of O(profile_id)).
    type: str
  cr_token_file:
    description:
      - With O(identity=compute_resource), the compute resource token file; read again on each exchange. Not set - the
        paths the IBM Cloud SDKs look at.
    type: path
  api_key_file:
    description:
      - With O(identity=api_key_file), the key file of the calling user; C(~) is that user's home. Not set - the
        helper's default C(~/.config/docker-credential-icr/apikey). The role P(icr.auth.docker_auth#role) can place it.
    type: str
  iam_endpoint:
    description:
      - Where the helper reaches IAM - V(public), V(private) or a base URL. Not set - V(public).
    type: str
  metadata_endpoint:
    description:
      - With O(identity=vpc_trusted_profile), the instance metadata service - V(http://169.254.169.254) (the default),
        V(https://api.metadata.cloud.ibm.com) or another URL.
    type: str
  metadata_version:
    description:
      - The metadata service's API - V(2025-08-26) (C(/identity/v1/*), the default) or V(2022-03-01)
        (C(/instance_identity/v1/*)).
    type: str
    choices: ['2025-08-26', '2022-03-01']
  ca_path:
    description:
      - A PEM file of CA certificates, on the host, that the helper trusts for IAM and the metadata service.
    type: path
  validate_certs:
    description:
      - Whether the helper verifies TLS certificates. Not set - V(true).
    type: bool
  timeout:
    description:
      - Seconds the helper waits for one answer of IAM or the metadata service. Not set - 5.
    type: float
  retries:
    description:
      - How often the helper retries a failed call. Not set - 1.
    type: int
  refresh_share:
    description:
      - The helper gets a new token when less than this share of the cached token's life is left. Not set - 0.25.
    type: float
  cache_dir:
    description:
      - The directory of each user's token cache; C(~) is the calling user's home. Not set - C(~/.cache/docker-credential-icr).
    type: str
  users:
    description:
      - Users whose token caches O(state=absent) removes, whose key files O(api_key) writes, and as whom O(check) runs
        the helper; root acts as each of them. Not set - the user the module runs as.
    type: list
    elements: str
    default: []
  api_key:
    description:
      - With O(identity=api_key_file), an IBM Cloud API key to write into the key file of each of O(users) - mode
        C(0600), in a C(0700) directory, owned by the user and written as the user, replaced only when it differs. It is
        never shown, in the result, the diff or any message.
      - Not set - the users' key files are theirs to place.
    type: str
  check:
    description:
      - After installing, run C(docker-credential-icr get) for every registry of O(regions) and O(registries) as each of
        O(users) (or as the user the module runs as), and fail with the helper's own reason for each one that gets no
        token - for example a trusted profile without the Reader role on the registry. The token is never returned.
      - Skipped in check mode.
    type: bool
    default: false
  check_access:
    description:
      - With O(check), also prove that each user's token is granted these repositories, as
        V(namespace/repository:pull) or V(namespace/repository:pull,push), with the registry's own token handshake. A
        trusted profile or key without the IAM policy fails with a message that says which access is missing and which
        role to give.
      - Talks to the registries from the host, with the standard library only.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    details:
      - Reads the files and reports what would change; writes nothing and does not run the helper.
  diff_mode:
    support: full
    details:
      - Shows the configuration file before and after, and the size and SHA-256 of the executable. Neither holds a secret.
  idempotent:
    support: full
notes:
  - The collection's code is the helper's code, so upgrading the collection and running this module again replaces the
    executable; an unchanged collection leaves it as it is.
seealso:
  - module: icr.auth.icr_login
  - name: docker-credential-helpers protocol
    description: The protocol Docker, podman, skopeo and buildah use to ask a credential helper.
    link: https://github.com/docker/docker-credential-helpers
'''

EXAMPLES = r'''
---
- name: Install the helper with the instance's trusted profile (VPC)
  icr.auth.icr_credential_helper:
    identity: vpc_trusted_profile
    trusted_profile: Profile-0d4f58e5-2b1c-4a2e-9f5d-3c8e7a1b6f20
    regions: [us-south, global]
  become: true

- name: Name the helper for the registries in the users' files
  icr.auth.icr_login:
    method: helper
    regions: [us-south, global]
    user: "{{ item }}"
    format: both
  loop: [deploy, ci]
  become: true

- name: Compute resource token of an IKS workload, proven for the deploy user
  icr.auth.icr_credential_helper:
    identity: compute_resource
    profile_name: registry-reader
    regions: [eu-de]
    users: [deploy]
    check: true
  become: true

- name: Each user's own API key file, placed from the vault
  icr.auth.icr_credential_helper:
    identity: api_key_file
    regions: [us-south]
    users: [deploy, ci]
    api_key: "{{ vault_icr_api_key }}"
  become: true

- name: Remove the helper, its configuration and the users' token caches
  icr.auth.icr_credential_helper:
    state: absent
    users: [deploy, ci]
  become: true
'''

RETURN = r'''
changed:
  description: Whether the executable, the configuration or a cache was changed.
  returned: always
  type: bool
  sample: true
executable_path:
  description: The executable.
  returned: always
  type: str
  sample: /usr/local/bin/docker-credential-icr
config_path:
  description: The configuration file.
  returned: always
  type: str
  sample: /etc/icr-auth/credential-helper.json
executable:
  description: What happened to the executable - V(installed), V(updated), V(unchanged) or V(removed).
  returned: always
  type: str
  sample: installed
config:
  description: The configuration the helper reads (no secrets); null with O(state=absent).
  returned: always
  type: dict
  sample: {"version": 1, "identity": "vpc_trusted_profile", "registries": ["us.icr.io", "icr.io"]}
key_files_changed:
  description: The key files that O(api_key) wrote (or would write, in check mode); never their content.
  returned: with O(state=present)
  type: list
  elements: str
  sample: [/home/ci/.config/docker-credential-icr/apikey]
caches_removed:
  description: The token cache directories removed, with O(state=absent).
  returned: always
  type: list
  elements: str
  sample: [/home/deploy/.cache/docker-credential-icr]
checks:
  description: With O(check), one item per user and registry - whether the helper gave a token, and its message.
  returned: when O(check=true) and not in check mode
  type: list
  elements: dict
  sample: [{"user": "deploy", "registry": "us.icr.io", "ok": true, "msg": "deploy: us.icr.io: docker-credential-icr answered with an IAM access token."}]
'''

import json
import os
import pwd
import sys

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.icr.auth.plugins.module_utils import _helper_install as install
from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError, InputError, failure
from ansible_collections.icr.auth.plugins.module_utils._helper_access import prove
from ansible_collections.icr.auth.plugins.module_utils._helper_bundle import bundle
from ansible_collections.icr.auth.plugins.module_utils._helper_config import DEFAULT_CONFIG_PATH, validate
from ansible_collections.icr.auth.plugins.module_utils._privilege import lookup_user
from ansible_collections.icr.auth.plugins.module_utils._stdlib_http import Transport

EXE_MODE = 0o755
CONFIG_MODE = 0o644


def argument_spec() -> dict:
    return dict(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        path=dict(type='path', default=install.DEFAULT_PATH),
        config_path=dict(type='path', default=DEFAULT_CONFIG_PATH),
        python=dict(type='path'),
        identity=dict(type='str', choices=list(install.IDENTITIES)),
        regions=dict(type='list', elements='str', default=[]),
        registries=dict(type='list', elements='str', default=[]),
        private_endpoint=dict(type='bool', default=False),
        trusted_profile=dict(type='str'),
        profile_id=dict(type='str'),
        profile_name=dict(type='str'),
        cr_token_file=dict(type='path'),
        api_key_file=dict(type='str', no_log=False),
        iam_endpoint=dict(type='str'),
        metadata_endpoint=dict(type='str'),
        metadata_version=dict(type='str', choices=list(install.METADATA_VERSIONS)),
        ca_path=dict(type='path'),
        validate_certs=dict(type='bool'),
        timeout=dict(type='float'),
        retries=dict(type='int'),
        refresh_share=dict(type='float'),
        cache_dir=dict(type='str'),
        users=dict(type='list', elements='str', default=[]),
        api_key=dict(type='str', no_log=True),
        check=dict(type='bool', default=False),
        check_access=dict(type='list', elements='str', default=[]),
    )


def _accounts(users: list[str]) -> list[pwd.struct_passwd]:
    """The passwd entries of users, or of the user the module runs as when there are none."""
    return [lookup_user(u) for u in users] if users else [pwd.getpwuid(os.geteuid())]


def _config_text(raw: bytes | None) -> str:
    return '' if raw is None else raw.decode('utf-8', 'replace')


def present(module: AnsibleModule) -> dict:
    p = module.params
    config, warnings = install.config_from(p, validate)
    for warning in warnings:
        module.warn(warning)
    if p['check_access'] and not p['check']:
        raise InputError('check_access: proving access runs with the check; set check: true too.')
    install.parse_scopes(p['check_access'])
    if p['check'] and not config.get('registries'):
        raise InputError('check: name the registries to check with regions or registries.')
    python = p['python'] or sys.executable
    exe = bundle(python)
    cfg = install.config_bytes(config)
    old_exe, exe_st = install.read_file(p['path'], 'path')
    old_cfg, cfg_st = install.read_file(p['config_path'], 'config_path')
    keys_changed = []
    if p['api_key'] is not None:
        if config['identity'] != 'api_key_file':
            raise InputError(f'api_key: only used with identity: api_key_file, not with identity: {config["identity"]}; '
                             'leave it out.')
        if not p['api_key'].strip():
            raise InputError('api_key: an empty API key was given; give the IBM Cloud API key to place, or leave it out.')
        for account in _accounts(p['users']):
            path = install.key_file_of(account, config.get('api_key_file'))
            if install.place_key(account, path, p['api_key'].strip(), module.check_mode):
                keys_changed.append(path)
    exe_attrs = install.wanted_attributes(EXE_MODE)
    cfg_attrs = install.wanted_attributes(CONFIG_MODE)
    exe_change = old_exe != exe or not install.attributes_ok(exe_st, exe_attrs)
    cfg_change = old_cfg != cfg or not install.attributes_ok(cfg_st, cfg_attrs)
    if not module.check_mode:
        if exe_change:
            install.install_file(p['path'], exe, EXE_MODE, 'path')
        if cfg_change:
            install.install_file(p['config_path'], cfg, CONFIG_MODE, 'config_path')
    result = {
        'changed': exe_change or cfg_change or bool(keys_changed), 'key_files_changed': keys_changed,
        'executable_path': p['path'], 'config_path': p['config_path'], 'config': config, 'caches_removed': [],
        'executable': 'installed' if old_exe is None else 'updated' if exe_change else 'unchanged',
        'diff': [
            {'before_header': p['config_path'], 'after_header': p['config_path'],
             'before': _config_text(old_cfg), 'after': cfg.decode('utf-8')},
            {'before_header': p['path'], 'after_header': p['path'],
             'before': install.digest(old_exe), 'after': install.digest(exe)},
        ],
    }
    for path in keys_changed:
        result['diff'].append({'before_header': path, 'after_header': path, 'before': '',
                               'after': '(the API key given, not shown)\n'})
    if p['check'] and not module.check_mode:
        result['checks'] = check(p, config)
    return result


def check(p: dict, config: dict) -> list[dict]:
    hosts = config['registries']
    accounts = _accounts(p['users'])
    custom = p['config_path'] if p['config_path'] != DEFAULT_CONFIG_PATH else None
    # Long enough for the metadata service and IAM with their retries; a hung helper is still stopped.
    limit = (config.get('timeout') or 5) * ((config.get('retries') or 1) + 1) * 3 + 10
    scopes = install.parse_scopes(p['check_access'])
    checks = []
    for account in accounts:
        for host in hosts:
            outcome, token = install.run_get(p['path'], host, account, custom, limit)
            if token is not None and scopes:
                outcome = prove_access(config, host, token, scopes, f'{account.pw_name}: {host}: ')
            checks.append(dict(user=account.pw_name, registry=host, **outcome))
    return checks


def prove_access(config: dict, host: str, token: str, scopes: list[str], who: str) -> dict:
    """The registry's answer to the token for the scopes: {'ok', 'msg'}, the message scrubbed of the token."""
    transport = Transport(timeout=config.get('timeout') or 5, retries=config.get('retries') or 0,
                          validate_certs=config.get('validate_certs', True) is not False, ca_path=config.get('ca_path'))
    ok, msg = prove(transport, host, token, scopes)
    named = ('trusted_profile_id', 'trusted_profile_crn', 'profile_id', 'profile_name')
    what = config['identity'] + ''.join(f' ({config[k]})' for k in named if config.get(k))
    return {'ok': ok, 'msg': f'{who}{what}: {msg}'}


def absent(module: AnsibleModule) -> dict:
    p = module.params
    old_exe, _st = install.read_file(p['path'], 'path')
    old_cfg, _st = install.read_file(p['config_path'], 'config_path')
    cache_dir = p['cache_dir']
    if cache_dir is None and old_cfg is not None:
        try:
            cache_dir = json.loads(old_cfg.decode('utf-8')).get('cache_dir')
        except (ValueError, AttributeError):
            cache_dir = None
    caches = []
    for account in _accounts(p['users']):
        directory = install.cache_dir_of(account, cache_dir)
        if install.cache_entries(account, directory) is not None:
            caches.append((account, directory))
    if not module.check_mode:
        if old_exe is not None:
            install.remove_file(p['path'], 'path')
        if old_cfg is not None:
            install.remove_file(p['config_path'], 'config_path')
        for account, directory in caches:
            install.remove_cache(account, directory)
    return {
        'changed': old_exe is not None or old_cfg is not None or bool(caches),
        'executable_path': p['path'], 'config_path': p['config_path'], 'config': None,
        'executable': 'removed' if old_exe is not None else 'unchanged',
        'caches_removed': [d for _a, d in caches],
        'diff': [
            {'before_header': p['config_path'], 'after_header': p['config_path'],
             'before': _config_text(old_cfg), 'after': ''},
            {'before_header': p['path'], 'after_header': p['path'],
             'before': install.digest(old_exe), 'after': install.digest(None)},
        ],
    }


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[('state', 'present', ('identity',))],
                           mutually_exclusive=[('profile_id', 'profile_name')])
    try:
        result = present(module) if module.params['state'] == 'present' else absent(module)
    except IcrAuthError as exc:
        module.fail_json(**failure(exc))
    if not module._diff:
        result.pop('diff')
    failed = [c['msg'] for c in result.get('checks', []) if not c['ok']]
    if failed:
        module.fail_json(msg='docker-credential-icr gave no token: ' + ' '.join(failed), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
