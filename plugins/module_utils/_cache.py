# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A controller-side cache of exchanged credentials, so that a rerun within validity makes no IAM call.

Files are 0600 in a 0700 directory, named by a hash of (IAM URL, username type, API key) - never by the
key - and hold the credential until it is within min_validity of expiring (internal use only).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import time
from collections.abc import Mapping

from ansible_collections.icr.auth.plugins.module_utils._atomic_file import read_at, write_atomic
from ansible_collections.icr.auth.plugins.module_utils._auth_file import parse
from ansible_collections.icr.auth.plugins.module_utils._dir_walk import Attributes, open_dir
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError
from ansible_collections.icr.auth.plugins.module_utils._username_types import API_KEY_TYPES

FIELDS = ('username', 'password', 'expires_at', 'iam_id', 'account_id')


def default_dir(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    base = env.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'icr.auth')


def entry_path(cache_dir: str, url: str, username_type: str, api_key: str) -> str:
    digest = hashlib.sha256('\0'.join(('icr.auth/1', url, username_type, api_key)).encode('utf-8')).hexdigest()
    return os.path.join(cache_dir, digest + '.json')


class _Unsafe(Exception):
    """The cache directory is not one root (or the caller) may trust."""


def _open_cache_dir(directory: str, create: bool) -> int | None:
    """A read-only fd of the cache directory, which must be a real directory (never a link) of the caller that
    nobody else can write. Made 0700 when missing (create). None if it is missing and not to be made."""
    directory = os.path.abspath(directory)
    parent = os.path.dirname(directory) or os.sep
    name = os.path.basename(directory)
    try:
        parent_fd = open_dir(parent, Attributes(), create=create)[0]
    except OSError as exc:
        if exc.errno == errno.ENOENT and not create:
            return None
        raise
    try:
        flags = os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0) | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)
        made = False
        try:
            fd = os.open(name, flags, dir_fd=parent_fd)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise _Unsafe(f'{directory} is not a directory of ours ({exc.strerror})')
            if not create:
                return None
            os.mkdir(name, 0o700, dir_fd=parent_fd)
            made = True
            fd = os.open(name, flags, dir_fd=parent_fd)
    finally:
        os.close(parent_fd)
    st = os.fstat(fd)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        os.close(fd)
        raise _Unsafe(f'{directory} belongs to uid {st.st_uid} with mode {stat.S_IMODE(st.st_mode):04o}; a cache directory '
                      f'must belong to uid {os.geteuid()} and be writable by nobody else')
    if made or st.st_mode & 0o077:
        os.fchmod(fd, 0o700)
    return fd


def load(path: str, min_validity: int, now: float | None = None) -> dict | None:
    """The cached credential if present, well-formed and valid for min_validity seconds; else None."""
    try:
        dir_fd = _open_cache_dir(os.path.dirname(path), create=False)
    except (OSError, _Unsafe, ConfigFileError):
        return None
    if dir_fd is None:
        return None
    try:
        raw, st = read_at(dir_fd, os.path.basename(path), path)
        data = {} if raw is None else parse(raw, path)
    except ConfigFileError:
        return None
    finally:
        os.close(dir_fd)
    # Only trust a regular file of ours that nobody else can read or write.
    if st is None or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        return None
    if not all(k in data for k in FIELDS) or not isinstance(data.get('password'), (str, type(None))):
        return None
    # Only an API key's entry holds no password (the key itself is never cached).
    if data.get('password') is None and data.get('username') not in API_KEY_TYPES:
        return None
    exp = data.get('expires_at')
    now = time.time() if now is None else now
    if isinstance(exp, bool) or not isinstance(exp, int) or exp - now < min_validity:
        return None
    return data


def save(path: str, record: Mapping[str, object]) -> str | None:
    """Write a cache entry (0600, directory 0700); failures to cache are not fatal, so they return a warning.

    The entry is written through the fd of a directory that belongs to the caller and that nobody else can
    write; a link is never followed and no owner is copied from anything found there.
    """
    attributes = Attributes(mode=0o600)
    dir_fd = None
    try:
        dir_fd = _open_cache_dir(os.path.dirname(path), create=True)
        write_atomic(path, json.dumps(dict((k, record.get(k)) for k in FIELDS)).encode('utf-8'), attributes,
                     dir_fd=dir_fd, current=None)
    except (OSError, ConfigFileError, _Unsafe) as exc:
        why = getattr(exc, 'msg', None) or getattr(exc, 'strerror', None) or exc
        return f'Could not cache the credential in {os.path.dirname(path)} ({why}); the next run will ask IAM again.'
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
    return None


def drop(path: str) -> None:
    try:
        dir_fd = _open_cache_dir(os.path.dirname(path), create=False)
    except (OSError, _Unsafe, ConfigFileError):
        return
    if dir_fd is None:
        return
    try:
        os.unlink(os.path.basename(path), dir_fd=dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
