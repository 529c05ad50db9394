# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What icr_login does, apart from Ansible (internal use only); run_module runs it as a module."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ansible_collections.icr.auth.plugins.module_utils import _auth_file as auth_file
from ansible_collections.icr.auth.plugins.module_utils import _config_store as store
from ansible_collections.icr.auth.plugins.module_utils import _username_types as username_types
from ansible_collections.icr.auth.plugins.module_utils._credential import fingerprint, iso8601
from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError, InputError, RegistryError, failure
from ansible_collections.icr.auth.plugins.module_utils._options import LOGIN_DEFAULTS
from ansible_collections.icr.auth.plugins.module_utils._regions import resolve_registries
from ansible_collections.icr.auth.plugins.module_utils._target import Target, build_targets
from ansible_collections.icr.auth.plugins.module_utils._username_iamapikey import check_api_key
from ansible_collections.icr.auth.plugins.module_utils._username_types import check_password, still_current

# _cred_helpers is imported where a credential helper is used: the payload carries it (ansible-core's dependency
# finder follows imports inside functions too), but a host that stores in the file does not load it.
if TYPE_CHECKING:
    from ansible_collections.icr.auth.plugins.module_utils._cred_helpers import CredentialHelper

ACTION_RANK = {'unchanged': 0, 'removed': 1, 'added': 2, 'updated': 3}
UNKNOWN_SECRET = None  # a token IAM would issue, not known in check mode
# docker-credential-icr, which gets its own tokens: method: helper names it, and it is never used as a store.
ICR_HELPER = 'icr'
NO_NETWORK = 'needs the network-capable icr_login_network, which the action plugin of an icr.auth.icr_login task sends.'


def _redact(cred: tuple[str, str | None] | None, helper: str | None = None) -> dict | None:
    if cred is None:
        return None
    view = {'username': cred[0], 'secret': fingerprint(cred[1]) if cred[1] is not None else '(new token from IAM)'}
    if helper:
        view['stored_in'] = 'docker-credential-' + helper
    return view


class Login(object):
    """One icr_login run: the credential, the files, the helpers.

    ``network`` does what needs the network: ``exchange(api_key, username_type)`` returns an object with
    ``password``, ``expires_at``, ``iam_id`` and ``account_id``; ``verify(hosts, username, password)`` returns a
    list of _registry.Verification. It is used only outside check mode, and only when asked for;
    without one (None), a step that needs the network fails and names its option.
    """

    def __init__(self, params: dict, check_mode: bool = False, diff: bool = False, network: object | None = None):
        self.params = params
        self.check_mode = check_mode
        self.want_diff = diff
        self.network = network
        self.warnings: list[str] = []
        self.username: str | None = None  # the registry username written (trusted_profile: the profile id)

    def option(self, name: str) -> object:
        """An option's value, or its default (stated once, in _options) when the caller left it out."""
        value = self.params.get(name)
        return LOGIN_DEFAULTS[name] if value is None else value

    # --- the credential

    def credential(self) -> tuple[str, str | None, int | None]:
        """(username, password or UNKNOWN_SECRET, expires_at)."""
        p = self.params
        self.username = name = username_types.login_name(self.option('username_type'), p.get('trusted_profile_id'))
        username = self.option('username_type')
        if p.get('password') is None and p.get('api_key') is None:
            raise InputError('password/api_key: state: present writes a credential; give password (or api_key), or '
                             'method: helper to have docker-credential-icr get the tokens.')
        if p.get('password') is not None:
            password, exp = check_password(username, p['password'])
            return name, password, exp
        api_key = p.get('api_key')
        if username_types.get(username).is_api_key:
            check_api_key(api_key)
            return name, api_key, None
        if self.check_mode:
            return username, UNKNOWN_SECRET, None
        if self.network is None:
            raise InputError(f'api_key: turning it into an {username} credential on the host {NO_NETWORK}')
        exchanged = self.network.exchange(api_key, username)
        return username, exchanged.password, exchanged.expires_at

    # --- the run

    def run(self) -> dict:
        p = self.params
        hosts, warnings = resolve_registries(p.get('regions'), p.get('registries'), p.get('private_endpoint'),
                                             p.get('namespaces'), scoped=True)
        self.warnings.extend(warnings)
        if not hosts:
            raise InputError('regions/registries: no registry was given; name at least one region (us-south) or '
                             'registry host (us.icr.io).')
        min_validity = self.option('min_validity')
        if min_validity < 0:
            raise InputError('min_validity: give a number of seconds, 0 or more.')
        store_choice = self.option('credential_store')
        if store_choice not in ('auto', 'file'):
            from ansible_collections.icr.auth.plugins.module_utils import _cred_helpers as cred_helpers
            cred_helpers.check_name(store_choice)
        if store_choice == ICR_HELPER:
            raise InputError('credential_store: icr names docker-credential-icr, which gets its own tokens and stores '
                             'none; use method: helper to name it for the registries.')
        targets = build_targets(p)
        auth_file.check_scoped(hosts, [t.format for t in targets], self.option('method'), store_choice)
        state = self.option('state')
        if self.option('method') == 'helper':
            for name in ('password', 'api_key', 'validate'):
                if p.get(name):
                    raise InputError(f'{name}: method: helper writes no credential (docker-credential-icr gets a '
                                     f'token each time); leave {name} out, or use method: file.')
            return self._result([self._apply_helper(t, hosts, state) for t in targets], hosts, None, None)
        username = password = expires_at = None
        verification = None
        if state == 'present':
            username, password, expires_at = self.credential()
            if p.get('validate') and not self.check_mode:
                verification = self._validate(hosts, username, password)
        files = [self._apply(t, hosts, state, username, password, min_validity, store_choice) for t in targets]
        return self._result(files, hosts, expires_at, verification)

    def _validate(self, hosts: list[str], username: str, password: str) -> dict:
        if self.network is None:
            raise InputError(f'validate: proving the credential against the registries {NO_NETWORK}')
        hosts = list(dict.fromkeys(h.partition('/')[0] for h in hosts))  # a namespace's entry is proven at its host
        results = self.network.verify(hosts, username, password)
        refused = [v for v in results if not v.ok]
        if refused:
            raise RegistryError(' '.join(v.msg for v in refused) + ' Nothing was written.',
                                verification=dict((v.host, v.as_dict()) for v in results))
        return dict((v.host, v.as_dict()) for v in results)

    def _apply(self, target: Target, hosts: list[str], state: str, username: str | None, password: str | None,
               min_validity: int, store_choice: str) -> dict:
        seen = store.inspect(target)
        data = seen.data
        helpers = {}
        # docker-credential-icr is never a store: its entries go, and the credential is stored where it would be
        # without them.
        without_icr = auth_file.drop_helper(data, hosts, ICR_HELPER)[0]
        for host in hosts:
            name = self._helper_name(without_icr, host, target.format, store_choice)
            if name and name != ICR_HELPER:
                helpers[host] = name
        if store_choice == 'auto':
            store.check_file_helpers(seen, helpers)
        helper_actions = {}
        helper_before = {}
        for host, name in helpers.items():
            from ansible_collections.icr.auth.plugins.module_utils import _cred_helpers as cred_helpers
            # The helper runs as the identity the file is written with, never as root for a user's file.
            helper_actions[host], helper_before[host] = self._helper_apply(
                cred_helpers.CredentialHelper(name, seen.acting.account),
                host, state, username, password, min_validity)
        file_hosts = [h for h in hosts if h not in helpers]
        # Plan from what was read; plan again from what is there if another writer changed the file meanwhile.
        outcome = seen
        for _attempt in range(store.MAX_REPLANS):
            with store.about(outcome.path):
                if state == 'present':
                    new, file_actions = auth_file.plan_present(outcome.data, file_hosts, username, password, min_validity,
                                                               self.params.get('reauthorize'))
                    new = auth_file.plan_helpers(new, helpers, target.format, store_choice not in ('auto', 'file'))
                else:
                    # Helper-held hosts lose their empty auths entry too, as with docker logout.
                    new, file_actions = auth_file.plan_absent(outcome.data, hosts)
                    for host in helpers:
                        file_actions.pop(host, None)
                # Every chosen host loses its docker-credential-icr entry, the ones another helper stores for too.
                new, dropped = auth_file.drop_helper(new, hosts, ICR_HELPER)
                for host in dropped:
                    if file_actions.get(host) == 'unchanged':
                        file_actions[host] = 'updated' if state == 'present' else 'removed'
            outcome = store.write(outcome, new, file_actions, check_mode=self.check_mode)
            if not isinstance(outcome, store.Snapshot):
                break
        else:
            raise store.busy(outcome)
        actions = dict(outcome['actions'])
        actions.update(helper_actions)
        if state == 'present' and store_choice == 'file' and target.format == 'docker' and data.get('credsStore'):
            self.warnings.append(f'{outcome["path"]} names the credential store "{data["credsStore"]}": Docker looks there '
                                 'and ignores the credential written to the file (skopeo and podman do use it). For Docker '
                                 'to use the file, remove "credsStore" from it.')
        if state == 'present' and file_hosts:
            self._warn_if_shared(outcome['path'], outcome.get('mode'))
            for key in auth_file.shadowed_scopes(outcome['after'], file_hosts):
                self.warnings.append(f'{outcome["path"]} sends {key.partition("/")[0]} to a credential helper '
                                     f'(credHelpers), which containers tools ask before any entry: {key} is not used.')
        changed = outcome['changed'] or any(a != 'unchanged' for a in helper_actions.values())
        entry = {'path': outcome['path'], 'format': target.format, 'changed': changed,
                 'registries': dict((h, actions[h]) for h in hosts),
                 'stored_in': dict((h, ('docker-credential-' + helpers[h]) if h in helpers else 'file') for h in hosts)}
        if self.want_diff:
            before = auth_file.summary(outcome['before'], file_hosts)
            after = auth_file.summary(outcome['after'], file_hosts)
            if password is UNKNOWN_SECRET and state == 'present':
                after = dict((h, (username, None) if actions[h] != 'unchanged' else after[h]) for h in file_hosts)
            for host in helpers:
                before[host] = helper_before[host]
                after[host] = None if state == 'absent' else (username, password)
            entry['diff'] = {
                'before_header': outcome['path'], 'after_header': outcome['path'],
                'before': _diff_text(dict((h, _redact(before[h], helpers.get(h))) for h in hosts)),
                'after': _diff_text(dict((h, _redact(after[h], helpers.get(h))) for h in hosts)),
            }
        return entry

    def _apply_helper(self, target: Target, hosts: list[str], state: str) -> dict:
        """method: helper - credHelpers sends the hosts to docker-credential-icr, and auths holds nothing for them."""
        def plan(data: dict) -> tuple[dict, dict[str, str]]:
            if state == 'present':
                return auth_file.plan_helper_method(data, hosts, ICR_HELPER)
            new, actions = auth_file.plan_absent(data, hosts)
            new, dropped = auth_file.drop_helper(new, hosts, ICR_HELPER)
            return new, dict((h, 'removed' if h in dropped else a) for h, a in actions.items())
        outcome = store.update(target, plan, check_mode=self.check_mode)
        entry = {'path': outcome['path'], 'format': target.format, 'changed': outcome['changed'],
                 'registries': dict((h, outcome['actions'][h]) for h in hosts),
                 'stored_in': dict((h, 'docker-credential-' + ICR_HELPER) for h in hosts)}
        if self.want_diff:
            entry['diff'] = {'before_header': outcome['path'], 'after_header': outcome['path'],
                             'before': _diff_text(dict((h, _held(outcome['before'], h)) for h in hosts)),
                             'after': _diff_text(dict((h, _held(outcome['after'], h)) for h in hosts))}
        return entry

    def _warn_if_shared(self, path: str, mode: int | None) -> None:
        """A file that holds a registry secret and that others can read or change is kept as it is, but said."""
        if mode is None or not mode & 0o066:
            return
        who = ' and '.join(w for bit, w in ((0o060, 'its group'), (0o006, 'every user on the host')) if mode & bit)
        self.warnings.append(f'{path} holds a registry secret and can be read or changed by {who} (mode {mode:04o}). The '
                             "mode was kept, as Docker keeps it; to make the file private, set mode: '0600' (or chmod 600 "
                             "it).")

    @staticmethod
    def _helper_name(data: dict, host: str, fmt: str, store_choice: str) -> str | None:
        if store_choice == 'file':
            return None
        if store_choice != 'auto':
            return store_choice
        if fmt == 'containers':
            return (data.get('credHelpers') or {}).get(host)
        return auth_file.helper_for(data, host)

    def _helper_apply(self, helper: CredentialHelper, host: str, state: str, username: str | None, password: str | None,
                      min_validity: int) -> tuple[str, tuple[str, str] | None]:
        current = helper.get(host)
        if state == 'absent':
            if current is None:
                return 'unchanged', None
            if not self.check_mode:
                helper.erase(host)
            return 'removed', current
        if not self.params.get('reauthorize') and still_current(current, username, password, min_validity):
            return 'unchanged', current
        if not self.check_mode:
            helper.store(host, username, password)
        return ('added' if current is None else 'updated'), current

    def _result(self, files: list[dict], hosts: list[str], expires_at: int | None, verification: dict | None) -> dict:
        merged = {}
        for entry in files:
            for host, action in entry['registries'].items():
                if ACTION_RANK[action] >= ACTION_RANK.get(merged.get(host), -1):
                    merged[host] = action
        result = {
            'changed': any(f['changed'] for f in files),
            'registries': merged,
            'config_path': files[0]['path'],
            'files': [dict((k, v) for k, v in f.items() if k != 'diff') for f in files],
            'expires_at': iso8601(expires_at),
            'username': None if self.option('method') == 'helper' else (self.username or self.option('username_type')),
        }
        if verification is not None:
            result['verification'] = verification
        if self.want_diff:
            diffs = [f['diff'] for f in files]
            result['diff'] = diffs[0] if len(diffs) == 1 else diffs
        return result


def _held(data: dict, host: str) -> dict | None:
    """The diff view of what a file holds for host: the helper credHelpers names, else its redacted credential."""
    helper = (data.get('credHelpers') or {}).get(host)
    if helper:
        return {'stored_in': 'docker-credential-' + helper}
    return _redact(auth_file.stored_credential((data.get('auths') or {}).get(host)))


def _diff_text(view: dict[str, dict | None]) -> str:
    """The diff side of a {host: redacted credential or None}: a host with no credential is left out, not null."""
    return json.dumps(dict((h, v) for h, v in view.items() if v is not None), indent=2, sort_keys=True) + '\n'


def run_module(module: Any, network: object | None) -> None:
    """Run icr_login with an AnsibleModule and exit; icr_login has no network (None), icr_login_network a Network."""
    login = Login(module.params, check_mode=module.check_mode, diff=module._diff, network=network)
    try:
        result = login.run()
    except IcrAuthError as exc:
        module.fail_json(**failure(exc))
    for warning in login.warnings:
        module.warn(warning)
    module.exit_json(**result)


def run_login(params: dict, check_mode: bool, diff: bool) -> dict:
    """icr_login's file work without AnsibleModule (the action plugin's pipelined run, plugin_utils._login_pipelined):
    the result the module would return, a failure with failed true, warnings under 'warnings'."""
    login = Login(params, check_mode=check_mode, diff=diff, network=None)
    try:
        result = login.run()
    except IcrAuthError as exc:
        return dict(failure(exc), failed=True, changed=False)  # as run_module: a failure, without warnings
    if login.warnings:
        result['warnings'] = list(login.warnings)
    return result
