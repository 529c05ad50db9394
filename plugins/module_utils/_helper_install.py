# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Install, configure and remove docker-credential-icr on a host (internal use only).

Standard library only: this file is shipped to every managed host. What icr_credential_helper does, apart from
Ansible: the configuration from the options (config_from), the files (install_file, remove_file), the per-user caches
(remove_cache) and the check that runs the installed helper as a user (run_get).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pwd
import re
import stat
import subprocess
from collections.abc import Callable

from ansible_collections.icr.auth.plugins.module_utils._atomic_file import read_at, write_atomic
from ansible_collections.icr.auth.plugins.module_utils._dir_walk import O_NOFOLLOW, Attributes, open_dir
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError, InputError
from ansible_collections.icr.auth.plugins.module_utils._privilege import identity, user_groups
from ansible_collections.icr.auth.plugins.module_utils._regions import resolve_registries

HELPER_NAME = 'icr'
PROGRAM = 'docker-credential-' + HELPER_NAME
DEFAULT_PATH = '/usr/local/bin/' + PROGRAM
CONFIG_ENV = 'DOCKER_CREDENTIAL_ICR_CONFIG'
CACHE_NAME = PROGRAM  # <home>/.cache/docker-credential-icr, the runtime's default cache directory
SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
IDENTITIES = ('vpc_trusted_profile', 'compute_resource', 'api_key_file')
METADATA_VERSIONS = ('2025-08-26', '2022-03-01')
DEFAULT_KEY_FILE = '~/.config/docker-credential-icr/apikey'  # the helper's default api_key_file
_PROFILE_ID_RE = re.compile(r'^Profile-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')
_CRN_RE = re.compile(r'^crn:v1:[^:\s]*:[^:\s]*:iam-identity:[^:\s]*:[^:\s]*:[^:\s]*:profile:Profile-[0-9a-fA-F-]{36}$')
# Options that are copied into the configuration under their own name, and the identities they belong to
# (None: every identity).
_PLAIN = (
    ('iam_endpoint', None), ('ca_path', None), ('validate_certs', None), ('timeout', None), ('retries', None),
    ('refresh_share', None), ('cache_dir', None),
    ('metadata_endpoint', ('vpc_trusted_profile',)), ('metadata_version', ('vpc_trusted_profile',)),
    ('profile_id', ('compute_resource',)), ('profile_name', ('compute_resource',)),
    ('cr_token_file', ('compute_resource',)), ('api_key_file', ('api_key_file',)),
)


def trusted_profile_keys(value: str) -> dict[str, str]:
    """{'trusted_profile_id': ...} or {'trusted_profile_crn': ...}, told apart by the value's shape."""
    value = value.strip()
    if _PROFILE_ID_RE.match(value):
        return {'trusted_profile_id': value}
    if _CRN_RE.match(value):
        return {'trusted_profile_crn': value}
    raise InputError(f'trusted_profile: {value!r} is neither a trusted profile id (Profile-<uuid>) nor a trusted profile '
                     'CRN (crn:v1:bluemix:public:iam-identity::a/<account>::profile:Profile-<uuid>); leave it out to use '
                     "the instance's default profile.")


def config_from(params: dict, validate: Callable[[dict], dict]) -> tuple[dict, list[str]]:
    """(the helper's configuration, warnings) from the module's options; ``validate`` is _helper_config.validate."""
    ident = params.get('identity')
    if ident not in IDENTITIES:
        raise InputError(f'identity: give one of {", ".join(IDENTITIES)} with state: present.')
    config = {'version': 1, 'identity': ident}
    hosts, warnings = resolve_registries(params.get('regions'), params.get('registries'), params.get('private_endpoint'))
    if hosts:
        config['registries'] = hosts
    for name, identities in _PLAIN:
        value = params.get(name)
        if value is None:
            continue
        if identities is not None and ident not in identities:
            raise InputError(f'{name}: only used with identity: {" or ".join(identities)}, not with identity: {ident}; '
                             'leave it out.')
        config[name] = value
    profile = params.get('trusted_profile')
    if profile:
        if ident != 'vpc_trusted_profile':
            raise InputError(f'trusted_profile: only used with identity: vpc_trusted_profile, not with identity: {ident}; '
                             'for compute_resource give profile_id or profile_name.')
        config.update(trusted_profile_keys(profile))
    if ident == 'compute_resource' and not (config.get('profile_id') or config.get('profile_name')):
        raise InputError('profile_id/profile_name: identity: compute_resource needs the trusted profile to ask IAM for; '
                         'give its id (profile_id) or its name (profile_name).')
    if 'metadata_version' in config and config['metadata_version'] not in METADATA_VERSIONS:
        raise InputError(f'metadata_version: {config["metadata_version"]!r} is not one of {", ".join(METADATA_VERSIONS)}.')
    share = config.get('refresh_share')
    if share is not None and not 0 < share < 1:
        raise InputError(f'refresh_share: {share} is not a share of a token\'s life; give a number between 0 and 1, '
                         'such as 0.25.')
    for name in ('timeout', 'retries'):
        if config.get(name) is not None and config[name] < 0:
            raise InputError(f'{name}: give a number, 0 or more.')
    return validate(config), warnings


def config_bytes(config: dict) -> bytes:
    """The configuration file's bytes: stable, so that an unchanged configuration is not rewritten."""
    return (json.dumps(config, indent=2, sort_keys=True) + '\n').encode('utf-8')


def digest(content: bytes | None) -> str:
    """What a diff shows of an executable: its size and SHA-256 (or that there is none)."""
    if content is None:
        return '(none)\n'
    return f'{len(content)} bytes, sha256 {hashlib.sha256(content).hexdigest()}\n'


def _split(path: str, option: str) -> tuple[str, str]:
    if not os.path.isabs(path) or '..' in path.split(os.sep) or path.endswith(os.sep):
        raise InputError(f'{option}: {path!r} is not an absolute path of a file without ".." steps.')
    return os.path.dirname(path), os.path.basename(path)


def read_file(path: str, option: str) -> tuple[bytes | None, os.stat_result | None]:
    """(bytes, stat) of the file at path, or (None, None); its directories walked without following a link."""
    directory, name = _split(path, option)
    try:
        dir_fd = open_dir(directory, Attributes(), protected=os.geteuid() == 0)[0]
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None, None
        raise ConfigFileError(f'{option}: cannot read {path}: {exc.strerror}.')
    try:
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None, None
            raise ConfigFileError(f'{option}: cannot inspect {path}: {exc.strerror}.')
        if not stat.S_ISREG(st.st_mode):
            raise ConfigFileError(f'{option}: {path} is not a regular file (a link, a directory?); it was left unchanged. '
                                  'Remove it, or give another path.')
        return read_at(dir_fd, name, path)
    finally:
        os.close(dir_fd)


def wanted_attributes(mode: int) -> Attributes:
    """root:root with mode when run as root; else the caller's own file with mode."""
    return Attributes(owner=0, group=0, mode=mode) if os.geteuid() == 0 else Attributes(mode=mode)


def attributes_ok(st: os.stat_result | None, attributes: Attributes) -> bool:
    if st is None:
        return False
    return (stat.S_IMODE(st.st_mode) == attributes.mode
            and (attributes.owner is None or st.st_uid == attributes.owner)
            and (attributes.group is None or st.st_gid == attributes.group))


def install_file(path: str, content: bytes, mode: int, option: str) -> None:
    """Write content at path atomically with mode (root:root when root), making its directories 0755."""
    directory, _name = _split(path, option)
    attributes = wanted_attributes(mode)
    try:
        dir_fd, created = open_dir(directory, attributes, create=True, protected=os.geteuid() == 0)
    except OSError as exc:
        raise ConfigFileError(f'{option}: cannot create the directory of {path}: {exc.strerror}.')
    try:
        for made in created:
            os.chmod(made, 0o755)  # made 0700 by the walk, in directories only root may change: users must read them
        write_atomic(path, content, attributes, dir_fd=dir_fd, current=None)
    except ConfigFileError as exc:
        raise ConfigFileError(f'{option}: {exc.msg}')
    finally:
        os.close(dir_fd)


def remove_file(path: str, option: str) -> None:
    """Remove the regular file at path (nothing when there is none)."""
    directory, name = _split(path, option)
    try:
        dir_fd = open_dir(directory, Attributes(), protected=os.geteuid() == 0)[0]
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return
        raise ConfigFileError(f'{option}: cannot reach {path}: {exc.strerror}.')
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise ConfigFileError(f'{option}: cannot remove {path}: {exc.strerror}.')
    finally:
        os.close(dir_fd)


def cache_dir_of(account: pwd.struct_passwd, cache_dir: str | None) -> str:
    """The helper's cache directory for a user: cache_dir (~ is the user's home) or <home>/.cache/docker-credential-icr."""
    if not cache_dir:
        return os.path.join(account.pw_dir, '.cache', CACHE_NAME)
    if cache_dir == '~' or cache_dir.startswith('~/'):
        return account.pw_dir + cache_dir[1:]
    return cache_dir


def cache_entries(account: pwd.struct_passwd, directory: str) -> list[str] | None:
    """The names in the user's cache directory (read as the user), or None when there is no such directory of theirs."""
    with identity(account):
        try:
            fd = os.open(directory, os.O_RDONLY | O_NOFOLLOW | getattr(os, 'O_DIRECTORY', 0))
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
                return None
            raise ConfigFileError(f'users: cannot read the cache {directory} of {account.pw_name}: {exc.strerror}.')
        try:
            if os.fstat(fd).st_uid != account.pw_uid:
                return None  # not the user's own cache: another user's, or a shared directory; left alone
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)


def remove_cache(account: pwd.struct_passwd, directory: str) -> None:
    """Remove the user's cache directory and the files in it, acting as the user (links are removed, not followed)."""
    with identity(account):
        try:
            fd = os.open(directory, os.O_RDONLY | O_NOFOLLOW | getattr(os, 'O_DIRECTORY', 0))
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
                return
            raise ConfigFileError(f'users: cannot open the cache {directory} of {account.pw_name}: {exc.strerror}.')
        try:
            for name in os.listdir(fd):
                try:
                    os.unlink(name, dir_fd=fd)
                except OSError as exc:
                    raise ConfigFileError(f'users: cannot remove {os.path.join(directory, name)} from the cache of '
                                          f'{account.pw_name}: {exc.strerror}.')
        finally:
            os.close(fd)
        try:
            os.rmdir(directory)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise ConfigFileError(f'users: cannot remove the cache {directory} of {account.pw_name}: {exc.strerror}.')


def parse_scopes(values: list[str]) -> list[str]:
    """'team-a/app:pull,push' -> 'repository:team-a/app:pull,push'; InputError naming check_access."""
    scopes = []
    for value in values or []:
        name, sep, actions = (value or '').rpartition(':')
        acts = [a for a in actions.split(',') if a]
        if not sep or not name or not acts or any(a not in ('pull', 'push') for a in acts):
            raise InputError(f'check_access: {value!r} is not of the form namespace/repository:pull[,push].')
        scopes.append(f"repository:{name}:{','.join(acts)}")
    return scopes


def _one_line(text: str) -> str:
    line = ' '.join(text.split())
    return (line[:400] + '…') if len(line) > 400 else line


def run_get(program: str, host: str, account: pwd.struct_passwd, config_path: str | None,
            timeout: float) -> tuple[dict, str | None]:
    """Run ``program get`` for host as the user: ({'ok', 'msg'}, the token or None). The dict never holds the token."""
    env = {'PATH': SAFE_PATH, 'HOME': account.pw_dir, 'USER': account.pw_name, 'LOGNAME': account.pw_name}
    if config_path:
        env[CONFIG_ENV] = config_path
    preexec = None
    if os.geteuid() == 0 and account.pw_uid != 0:
        groups = user_groups(account)

        def preexec() -> None:
            os.setgroups(groups)
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
    who = f'{account.pw_name}: {host}: '
    try:
        # Not AnsibleModule.run_command: the helper must run as the user (preexec_fn) within a bounded time.
        proc = subprocess.run([program, 'get'], input=host.encode('utf-8'), stdout=subprocess.PIPE,  # pylint: disable=ansible-bad-function
                              stderr=subprocess.PIPE, env=env, timeout=timeout, preexec_fn=preexec, cwd='/', check=False)
    except subprocess.TimeoutExpired:
        return {'ok': False, 'msg': f'{who}{PROGRAM} get did not answer within {timeout:g} seconds.'}, None
    except OSError as exc:
        return {'ok': False, 'msg': f'{who}{program} could not be started: {exc.strerror}.'}, None
    out = proc.stdout.decode('utf-8', 'replace')
    err = proc.stderr.decode('utf-8', 'replace')
    if proc.returncode == 0:
        try:
            answer = json.loads(out)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get('Username') == 'iambearer' and answer.get('Secret'):
            return {'ok': True, 'msg': f'{who}{PROGRAM} answered with an IAM access token.'}, answer['Secret']
        return {'ok': False, 'msg': f'{who}{PROGRAM} answered "get" without an IAM access token.'}, None
    # The protocol's error is the helper's stdout; its own one-line reason is on stderr. Neither holds a token.
    reason = _one_line(err) or _one_line(out) or f'exit {proc.returncode}, no message'
    return {'ok': False, 'msg': f'{who}{reason}'}, None


def key_file_of(account: pwd.struct_passwd, api_key_file: str | None) -> str:
    """Where the user's API key file is: api_key_file (~ is the user's home), by default the helper's own path."""
    path = api_key_file or DEFAULT_KEY_FILE
    if path == '~' or path.startswith('~/'):
        path = account.pw_dir + path[1:]
    if not os.path.isabs(path) or '..' in path.split(os.sep) or path.endswith(os.sep):
        raise InputError(f'api_key_file: {api_key_file!r} is not an absolute path (or one in ~/) of a file without ".." '
                         'steps.')
    return path


def place_key(account: pwd.struct_passwd, path: str, key: str, check_mode: bool) -> bool:
    """Make the user's key file hold key: 0600 in a 0700 directory, written as the user; True when it changed.

    Root acts as the user for all of it, so that the user's own links can lead the write only where the user may
    write anyway. The key is never read back into a message.
    """
    content = key.encode('utf-8')
    directory, name = os.path.dirname(path), os.path.basename(path)
    who = account.pw_name
    with identity(account):
        try:
            try:
                dir_fd = open_dir(directory, Attributes(), create=not check_mode)[0]
            except OSError as exc:
                if check_mode and exc.errno == errno.ENOENT:
                    return True
                raise
            try:
                dir_mode = stat.S_IMODE(os.fstat(dir_fd).st_mode)
                raw, st = read_at(dir_fd, name, path)
                if raw == content and st is not None and stat.S_IMODE(st.st_mode) == 0o600 and dir_mode == 0o700:
                    return False
                if check_mode:
                    return True
                if dir_mode != 0o700:
                    os.chmod(directory, 0o700)
                write_atomic(path, content, Attributes(mode=0o600), dir_fd=dir_fd, current=st)
                return True
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise ConfigFileError(f'api_key: cannot write the key file {path} of {who}: {exc.strerror}. Nothing was '
                                  'written there.')
        except ConfigFileError as exc:
            raise ConfigFileError(f'api_key: the key file of {who}: {exc.msg}')
