# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Docker config.json / containers auth.json format as pure values (internal use only).

Standard library only: this file is shipped to every managed host. Nothing here touches a file: bytes in,
data out (parse), data in, data and actions out (the plans), data in, bytes out (serialize).
"""

from __future__ import annotations

import json
import os
import pwd
import re
from collections.abc import Mapping, Sequence

from ansible_collections.icr.auth.plugins.module_utils._credential import decode_auth, encode_auth
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError, InputError
from ansible_collections.icr.auth.plugins.module_utils._username_types import still_current


FORMATS = ('docker', 'containers')
# A registry auth file holds a few entries; 16 MiB is far beyond any real one, and bounds what root reads.
MAX_FILE_SIZE = 16 * 1024 * 1024
# Values (objects, arrays, strings, numbers) a file may hold: with the size, this bounds the memory of a parse.
MAX_JSON_VALUES = 1000000
# The fields of an auths entry that carry a credential.
SECRET_FIELDS = ('auth', 'username', 'password', 'identitytoken', 'registrytoken')


def default_path(fmt: str, account: pwd.struct_passwd, env: Mapping[str, str] | None = None, use_env: bool = True) -> str:
    """Where Docker or the containers tools read credentials for the user of the passwd entry ``account``.

    The environment (DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_CONFIG_HOME) is honoured only for the user
    the module runs as (``use_env``), never for another user's home.
    """
    env = os.environ if env is None else env
    home = account.pw_dir
    # A relative value means the working directory, as for Docker and podman.
    if fmt == 'docker':
        if use_env and env.get('DOCKER_CONFIG'):
            return os.path.join(os.path.abspath(os.path.expanduser(env['DOCKER_CONFIG'])), 'config.json')
        return os.path.join(home, '.docker', 'config.json')
    if use_env and env.get('REGISTRY_AUTH_FILE'):
        return os.path.abspath(os.path.expanduser(env['REGISTRY_AUTH_FILE']))
    config_home = env.get('XDG_CONFIG_HOME') if use_env else None
    if config_home:
        config_home = os.path.abspath(config_home)
    return os.path.join(config_home or os.path.join(home, '.config'), 'containers', 'auth.json')


_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def _count_values(text: str) -> int:
    """About how many JSON values text holds (objects and arrays, and the items their commas separate)."""
    bare = _STRING_RE.sub('', text)
    return bare.count('{') + bare.count('[') + bare.count(',') + 1


def parse(raw: bytes, path: str) -> dict:
    """The JSON object of an auth file's bytes, or ConfigFileError."""
    # Only built-in codecs here: this may run with another user's identity, which may not be able to import more.
    if raw.startswith(b'\xef\xbb\xbf'):
        raw = raw[3:]
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise ConfigFileError(f'{path} is not UTF-8 text; it was left unchanged. Fix or remove it.')
    if not text.strip():
        return {}
    if _count_values(text) > MAX_JSON_VALUES:
        raise ConfigFileError(f'{path} holds more than {MAX_JSON_VALUES} JSON values, more than a registry auth file can '
                              'sensibly hold; it was left unchanged.')
    try:
        data = json.loads(text)
    except RecursionError:
        raise ConfigFileError(f'{path} is not valid JSON for a registry auth file (nested too deeply); it was left '
                              'unchanged.')
    except ValueError as exc:
        raise ConfigFileError(f'{path} is not valid JSON ({exc}); it was left unchanged. Fix or remove the file, then run '
                              'again.')
    if not isinstance(data, dict):
        raise ConfigFileError(f'{path} holds a JSON {_json_type(data)}, but a registry auth file must be a JSON object; it '
                              'was left unchanged.')
    for key, kind in (('auths', dict), ('credHelpers', dict), ('credsStore', str)):
        if key in data and data[key] is not None and not isinstance(data[key], kind):
            expected = 'object' if kind is dict else 'string'
            raise ConfigFileError(f'{path}: "{key}" is a JSON {_json_type(data[key])} where a JSON {expected} is expected; '
                                  'it was left unchanged.')
    return data


def _json_type(value: object) -> str:
    if value is None:
        return 'null'
    return {dict: 'object', list: 'array', str: 'string', bool: 'boolean', int: 'number', float: 'number'}.get(
        type(value), type(value).__name__)


def stored_credential(entry: object) -> tuple[str, str] | None:
    """(username, secret) held by an auths entry, or None when it holds none we can read."""
    if not isinstance(entry, dict):
        return None
    if entry.get('identitytoken'):
        return ('<identitytoken>', entry['identitytoken'])
    if entry.get('auth'):
        return decode_auth(entry['auth'])
    if entry.get('username') and entry.get('password') is not None:
        return (entry['username'], entry['password'])
    return None


def helper_for(data: dict, host: str) -> str | None:
    """The credential helper Docker would use for host: credHelpers[host], then credsStore; or None."""
    helpers = data.get('credHelpers') or {}
    if helpers.get(host):
        return helpers[host]
    return data.get('credsStore') or None


def plan_present(data: dict, hosts: Sequence[str], username: str, password: str | None, min_validity: int = 0,
                 reauthorize: bool = False, now: float | None = None) -> tuple[dict, dict[str, str]]:
    """New data with an entry for every host; and {host: action} (added / updated / unchanged)."""
    new = dict(data)
    auths = dict(data.get('auths') or {})
    actions = {}
    for host in hosts:
        entry = auths.get(host)
        if entry is not None and not isinstance(entry, dict):
            raise ConfigFileError(f'The entry for {host} in "auths" is a JSON {_json_type(entry)}, not an object; the file '
                                  'was left unchanged.')
        current = stored_credential(entry)
        if not reauthorize and still_current(current, username, password, min_validity, now):
            actions[host] = 'unchanged'
            continue
        kept = dict((k, v) for k, v in (entry or {}).items() if k not in SECRET_FIELDS)
        # password None: check mode with a token IAM has not issued yet; never written.
        kept['auth'] = encode_auth(username, password if password is not None else '')
        auths[host] = kept
        actions[host] = 'added' if entry is None else 'updated'
    new['auths'] = auths
    return new, actions


def plan_absent(data: dict, hosts: Sequence[str]) -> tuple[dict, dict[str, str]]:
    """New data without the hosts' entries; and {host: action} (removed / unchanged)."""
    new = dict(data)
    auths = dict(data.get('auths') or {})
    actions = {}
    for host in hosts:
        if host in auths:
            del auths[host]
            actions[host] = 'removed'
        else:
            actions[host] = 'unchanged'
    if 'auths' in data or auths:
        new['auths'] = auths
    return new, actions


def plan_helpers(data: dict, helpers: dict[str, str], fmt: str, name_them: bool) -> dict:
    """New data for hosts whose credential a helper holds ({host: helper name}).

    Docker keeps an empty auths entry for helper-stored hosts; with name_them (a helper chosen by name, not found
    in the file), the helper is named in credHelpers unless the file already sends the host to it."""
    if not helpers:
        return data
    new = dict(data)
    auths = dict(new.get('auths') or {})
    cred_helpers = dict(new.get('credHelpers') or {})
    for host, name in helpers.items():
        if fmt == 'docker':
            entry = auths.get(host)
            kept = dict((k, v) for k, v in (entry or {}).items() if k not in SECRET_FIELDS) \
                if isinstance(entry, dict) else {}
            auths[host] = kept
        if name_them:
            via = cred_helpers.get(host) or (new.get('credsStore') if fmt == 'docker' else None)
            if via != name:
                cred_helpers[host] = name
    if fmt == 'docker':
        new['auths'] = auths
    if cred_helpers:
        new['credHelpers'] = cred_helpers
    return new


def drop_helper(data: dict, hosts: Sequence[str], name: str) -> tuple[dict, list[str]]:
    """New data without the credHelpers entries that send a host of hosts to the helper ``name``; and those hosts."""
    cred_helpers = dict(data.get('credHelpers') or {})
    dropped = [h for h in hosts if cred_helpers.get(h) == name]
    if not dropped:
        return data, []
    new = dict(data)
    for host in dropped:
        del cred_helpers[host]
    if cred_helpers:
        new['credHelpers'] = cred_helpers
    else:
        del new['credHelpers']
    return new, dropped


def plan_helper_method(data: dict, hosts: Sequence[str], name: str) -> tuple[dict, dict[str, str]]:
    """New data where credHelpers sends every host to the helper ``name`` and auths holds nothing for them.

    The hosts' auths entries go (no old key or token is left behind); credsStore is never touched."""
    new = dict(data)
    auths = dict(data.get('auths') or {})
    cred_helpers = dict(data.get('credHelpers') or {})
    actions = {}
    for host in hosts:
        had_entry = host in auths
        auths.pop(host, None)
        before = cred_helpers.get(host)
        cred_helpers[host] = name
        if not had_entry:
            actions[host] = 'unchanged' if before == name else 'added' if before is None else 'updated'
        else:
            actions[host] = 'updated'
    if 'auths' in data or auths:
        new['auths'] = auths
    new['credHelpers'] = cred_helpers
    return new, actions


def check_scoped(keys: Sequence[str], formats: Sequence[str], method: str, store_choice: str) -> None:
    """Namespace-scoped keys (us.icr.io/web) are a containers auth.json feature: InputError anywhere else."""
    scoped = [k for k in keys if '/' in k]
    if not scoped:
        return
    shown = ', '.join(scoped)
    if any(fmt != 'containers' for fmt in formats):
        raise InputError(f"namespaces/registries: {shown} has a namespace path after the host, but Docker's config.json "
                         'matches credentials by registry host only (Docker would ignore the entry). Write it to the containers '
                         'auth.json with format: containers - podman, skopeo and buildah use the longest matching '
                         'prefix - or give the host alone.')
    if method == 'helper':
        raise InputError(f'namespaces/registries: {shown} is scoped to a namespace, but credHelpers entries are per '
                         'registry host (containers tools ask a helper for the whole host); use method: file for '
                         'namespace-scoped credentials.')
    if store_choice not in ('auto', 'file'):
        raise InputError(f'credential_store: {shown} is scoped to a namespace, but a credential helper stores per '
                         'registry host; use credential_store: file (or auto) for namespace-scoped credentials.')


def shadowed_scopes(data: dict, keys: Sequence[str]) -> list[str]:
    """The scoped keys whose host has a credHelpers entry: containers tools ask that helper and never read them."""
    helpers = data.get('credHelpers') or {}
    return [k for k in keys if '/' in k and helpers.get(k.partition('/')[0])]


def summary(data: dict, hosts: Sequence[str]) -> dict[str, tuple[str, str] | None]:
    """{host: (username, secret) or None} for diffs."""
    auths = data.get('auths') or {}
    return dict((host, stored_credential(auths.get(host))) for host in hosts)


def serialize(data: dict) -> bytes:
    """The bytes Docker itself would write: tab-indented JSON; compact when indenting would pass MAX_FILE_SIZE."""
    raw = json.dumps(data, indent='\t').encode('utf-8')
    if len(raw) > MAX_FILE_SIZE:
        raw = json.dumps(data, separators=(',', ':')).encode('utf-8')
    return raw
