# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a registry auth file holds for IBM Cloud Container Registry, read only (internal use only).

Standard library only: this file is shipped to every managed host with icr_login_info. Nothing here writes, and
nothing here returns a secret: a credential is described by its username type, the identity and expiry a token's
claims name, and the short fingerprint icr_login's diff shows.

- analyse(data, fmt, ...) looks at parsed data (pure: data in, a description out).
- read(path, account) reads a file the way icr_login reads it (_privilege.locate, a walked directory, a bounded
  read), so a link planted by a user cannot make root read what that user could not.
"""

from __future__ import annotations

import errno
import os
import pwd
import re
import stat
import time
from typing import Optional, Tuple

from ansible_collections.icr.auth.plugins.module_utils._atomic_file import read_at
from ansible_collections.icr.auth.plugins.module_utils._auth_file import parse, stored_credential
from ansible_collections.icr.auth.plugins.module_utils._credential import (
    fingerprint,
    iso8601,
    jwt_claims,
    token_expiry,
    token_identity,
)
from ansible_collections.icr.auth.plugins.module_utils._dir_walk import open_dir
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError
from ansible_collections.icr.auth.plugins.module_utils._privilege import identity, locate
from ansible_collections.icr.auth.plugins.module_utils._regions import DEPRECATED_HOSTS, host_region, is_icr_host
from ansible_collections.icr.auth.plugins.module_utils._target import Target
from ansible_collections.icr.auth.plugins.module_utils._username_types import USERNAME_TYPES

# The collection's own credential helper, docker-credential-icr.
OWN_HELPER = 'icr'
_SCHEME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')


def problem(code: str, msg: str, host: str | None = None) -> dict:
    found = {'code': code, 'msg': msg}
    if host is not None:
        found['registry'] = host
    return found


def icr_scope(key: object) -> tuple[str, str | None, bool] | None:
    """(host, namespace or None, former name) of an auths/credHelpers key naming an ICR registry; None otherwise.

    Keys come as Docker and the containers tools write them: us.icr.io, https://us.icr.io/v1/, us.icr.io/web
    (containers, a namespace), private.us.icr.io, and the former registry.*.bluemix.net names.
    """
    if not isinstance(key, str):
        return None
    rest = _SCHEME_RE.sub('', key.strip(), count=1)
    host, _sep, path = rest.partition('/')
    host = host.lower()
    former = host in DEPRECATED_HOSTS
    if not (former or is_icr_host(host)):
        return None
    path = path.strip('/')
    namespace = path if path and path not in ('v1', 'v2') else None
    return host, namespace, former


def describe_secret(username: str, secret: str, now: float) -> dict:
    """username_type, fingerprint, and for a token its identity and expiry (never the secret)."""
    if username == '<identitytoken>':
        kind = 'identitytoken'
    elif username in USERNAME_TYPES:
        kind = username
    else:
        kind = 'other'
    seen = {'username_type': kind, 'fingerprint': fingerprint(secret), 'iam_id': None, 'account_id': None,
            'expires_at': None, 'expired': None}
    claims = jwt_claims(secret)
    if claims is not None and kind != 'iamapikey':
        seen['iam_id'], seen['account_id'] = token_identity(claims)
        exp = token_expiry(claims)
        if exp is not None:
            seen['expires_at'] = iso8601(exp)
            seen['expired'] = exp <= now
    return seen


def _entry(key: str, scope: tuple[str, str | None, bool]) -> dict:
    host, namespace, former = scope
    region = host_region(DEPRECATED_HOSTS.get(host, host))
    return {'registry': key, 'host': host, 'namespace': namespace, 'region': region,
            'private': host.startswith('private.'), 'former_name': former, 'method': 'none', 'helper': None,
            'username_type': None, 'fingerprint': None, 'iam_id': None, 'account_id': None, 'expires_at': None,
            'expired': None}


def analyse(data: dict, fmt: str, forbid_api_keys: bool = False, now: float | None = None) -> dict:
    """{registries: [one per ICR key], other_registries: count, creds_store, problems} of a parsed auth file."""
    now = time.time() if now is None else now
    auths = data.get('auths') or {}
    helpers = data.get('credHelpers') or {}
    # The containers tools do not read credsStore; Docker sends every host without a credHelpers entry there.
    creds_store = (data.get('credsStore') or None) if fmt == 'docker' else None
    problems = []
    found = {}
    others = set()
    for key in list(auths) + [k for k in helpers if k not in auths]:
        scope = icr_scope(key)
        if scope is None:
            others.add(key)
            continue
        found[key] = entry = _entry(key, scope)
        stored = stored_credential(auths.get(key))
        helper = helpers.get(key) if isinstance(helpers.get(key), str) and helpers.get(key) else None
        if helper:
            entry['method'], entry['helper'] = 'helper', helper
        elif creds_store:
            entry['method'], entry['helper'] = 'store', creds_store
        elif stored is not None:
            entry['method'] = 'file'
        if stored is None:
            if isinstance(auths.get(key), dict) and auths[key].get('auth') and not helper and not creds_store:
                problems.append(problem('unreadable_entry', f'The auths entry of {key} has an "auth" field that is not '
                                        'base64 of "username:secret"; no client can use it. Log in again (icr_login).',
                                        key))
            continue
        entry.update(describe_secret(stored[0], stored[1], now))
        if creds_store and not helper:
            problems.append(problem(
                'creds_store_captures', f'The file holds a credential for {key}, but it names the credential store '
                f'"{creds_store}" (credsStore): Docker asks that store and ignores the file\'s credential (skopeo and '
                'podman do use it). Remove "credsStore", or give the host a credHelpers entry.', key))
        if helper:
            problems.append(problem(
                'helper_shadows_file', f'The file holds a credential for {key}, but credHelpers sends {key} to '
                f'docker-credential-{helper}: the clients ignore the file\'s credential, which only lies there. Remove '
                'it from "auths" (leave an empty entry), or remove the credHelpers entry.', key))
        if entry['username_type'] == 'iamapikey' and forbid_api_keys:
            problems.append(problem(
                'plaintext_api_key', f'The file holds an IBM Cloud API key in plain text for {key}, and policy wants '
                'none (forbid_api_keys). Write a short-lived token instead (icr_login with username_type iambearer) or '
                'use the credential helper docker-credential-icr.', key))
        if entry['expired']:
            problems.append(problem(
                'token_expired', f'The {entry["username_type"]} token for {key} expired at {entry["expires_at"]}; pulls '
                'with it fail. Run icr_login (or the role) again.', key))
    return {'registries': sorted(found.values(), key=lambda e: e['registry']), 'other_registries': len(others),
            'creds_store': creds_store, 'problems': problems}


def holds_secret(data: dict) -> bool:
    """True if any auths entry (ICR or not) holds a credential."""
    auths = data.get('auths') or {}
    return any(stored_credential(entry) is not None for entry in auths.values())


def _who(mode: int, group_bit: int, other_bit: int) -> str:
    return ' and '.join(w for bit, w in ((group_bit, 'its group'), (other_bit, 'every user on the host')) if mode & bit)


def _mode_problems(path: str, st: os.stat_result, dir_st: os.stat_result | None) -> list[dict]:
    """A file that holds secrets, or its directory, that the group or others can read or change."""
    found = []
    for code, where, info, fix in (('file_mode', f'The file {path}, which holds registry secrets,', st, '600'),
                                   ('dir_mode', f'The directory {os.path.dirname(path)}, which holds the registry '
                                    f'secrets of {os.path.basename(path)},', dir_st, '700')):
        if info is None or not info.st_mode & 0o066:
            continue
        mode = stat.S_IMODE(info.st_mode)
        can = [f'{verb} by {_who(mode, group_bit, other_bit)}' for verb, group_bit, other_bit in
               (('read', 0o040, 0o004), ('changed', 0o020, 0o002)) if mode & (group_bit | other_bit)]
        found.append(problem(code, f'{where} can be {" and ".join(can)} (mode {mode:04o}); chmod {fix} it.'))
    return found


def _owner_name(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _entry_stat(dir_fd: int, name: str) -> os.stat_result | None:
    """The lstat of a regular file in a directory, or None."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


Read = Tuple[str, Optional[bytes], Optional[os.stat_result], Optional[os.stat_result]]


def read(path: str, fmt: str, account: pwd.struct_passwd | None) -> Read:
    """(resolved path, bytes or None, stat or None, directory stat or None): the file read as icr_login reads it.

    ``account`` is a user's passwd entry when that user was named (root then acts as them), None for the user the
    module runs as (root then resolves the path itself, refusing what other users could have changed).
    ConfigFileError when it cannot be read.
    """
    target = Target(path, fmt, account=account)
    try:
        acting_account, resolved, protected = locate(path, account, None)
    except OSError as exc:
        raise ConfigFileError(f'Cannot resolve {path}: {exc.strerror}.')
    acting = target.acting(resolved, acting_account) if protected else target
    with identity(acting.account):
        try:
            dir_fd = open_dir(os.path.dirname(resolved), acting, protected=protected)[0]
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return resolved, None, None, None
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise ConfigFileError(f'Cannot read {resolved}: permission denied.')
            raise ConfigFileError(f'Cannot read {resolved}: {exc.strerror}.')
        name = os.path.basename(resolved)
        try:
            dir_st = os.fstat(dir_fd)
            try:
                raw, st = read_at(dir_fd, name, resolved)
            except ConfigFileError as exc:
                # The owner and mode of a file the user cannot read still tell what is wrong (a root-owned file
                # that sudo docker login left in a home, say).
                raise ConfigFileError(exc.msg, stat=_entry_stat(dir_fd, name), dir_stat=dir_st)
        finally:
            os.close(dir_fd)
    return resolved, raw, st, dir_st


def _describe_stat(view: dict, user: pwd.struct_passwd, st: os.stat_result, dir_st: os.stat_result | None) -> None:
    """The file's owner and modes in view; a problem when the user does not own it."""
    view.update(exists=True, owner=_owner_name(st.st_uid) or str(st.st_uid), mode=f'{stat.S_IMODE(st.st_mode):04o}',
                dir_mode=f'{stat.S_IMODE(dir_st.st_mode):04o}' if dir_st is not None else None)
    if st.st_uid != user.pw_uid:
        view['problems'].append(problem('owner_mismatch', f'{view["path"]} belongs to {view["owner"]}, not to '
                                        f'{user.pw_name} whose credentials it holds; chown it to {user.pw_name}.'))


def audit_file(path: str, fmt: str, user: pwd.struct_passwd, named: bool, forbid_api_keys: bool = False,
               now: float | None = None) -> dict:
    """What one auth file of a user holds and what is wrong with it; a file is read, never changed."""
    view = {'user': user.pw_name, 'path': path, 'format': fmt, 'exists': False, 'readable': True, 'parsed': None,
            'owner': None, 'mode': None, 'dir_mode': None, 'creds_store': None, 'registries': [], 'other_registries': 0,
            'problems': []}
    try:
        view['path'], raw, st, dir_st = read(path, fmt, user if named else None)
    except ConfigFileError as exc:
        view['readable'] = False
        view['problems'].append(problem('unreadable', exc.msg))
        if exc.details.get('stat') is not None:
            _describe_stat(view, user, exc.details['stat'], exc.details.get('dir_stat'))
        return view
    if st is None:
        return view
    _describe_stat(view, user, st, dir_st)
    try:
        data = parse(raw, view['path'])
    except ConfigFileError as exc:
        view['parsed'] = False
        view['problems'].append(problem('unparsable', exc.msg))
        return view
    view['parsed'] = True
    if holds_secret(data):
        view['problems'].extend(_mode_problems(view['path'], st, dir_st))
    seen = analyse(data, fmt, forbid_api_keys, now)
    view.update(creds_store=seen['creds_store'], registries=seen['registries'],
                other_registries=seen['other_registries'])
    view['problems'].extend(seen['problems'])
    return view
