# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The credential helper's token cache, per identity and calling user (internal use only).

- One 0600 file per identity (named by a hash of the identity's configuration, never of a secret) in a 0700
  directory owned by the caller, default ``<caller's home from the password database>/.cache/docker-credential-icr``
  (HOME is not read). A directory or file owned by someone else, or open to group or others, is refused.
- Writes are atomic (temp file + rename in the directory). A file that cannot be read as a cache entry is ignored
  and replaced. Files hold the access token and its times only.
- One exchange at a time per identity: an flock on ``<key>.lock``; the cache is read again under the lock, so
  concurrent callers wait for the first one's token instead of asking IAM themselves.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import time
from collections.abc import Iterator
from typing import Callable

from ansible_collections.icr.auth.plugins.module_utils._atomic_file import read_at, remove_stale_temps, write_atomic
from ansible_collections.icr.auth.plugins.module_utils._dir_walk import O_CLOEXEC, O_NOFOLLOW, Attributes, open_dir
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError, IcrAuthError
from ansible_collections.icr.auth.plugins.module_utils._identity_base import AccessToken
from ansible_collections.icr.auth.plugins.module_utils._identity_key_file import caller_home

CACHE_VERSION = 1
# A token with less left than this is not handed out (docker still has to use it).
MIN_VALIDITY = 15


class CacheError(IcrAuthError):
    """The cache directory or a cache file may not be used (the message says why and how to fix it)."""


def default_cache_dir() -> str:
    return os.path.join(caller_home(), '.cache', 'docker-credential-icr')


def usable(token: AccessToken | None, now: float) -> bool:
    """True if the token is still valid for MIN_VALIDITY seconds."""
    return token is not None and token.expires_at - now > MIN_VALIDITY


def fresh(token: AccessToken | None, share: float, now: float) -> bool:
    """True if more than ``share`` of the token's life is left (and it is usable)."""
    if not usable(token, now):
        return False
    life = max(token.expires_at - token.issued_at, 0)
    return token.expires_at - now > share * life


def check_private(st: os.stat_result, path: str, kind: str, fix: str) -> None:
    """CacheError unless st is owned by the caller and closed to group and others."""
    if st.st_uid != os.geteuid():
        raise CacheError(f'the token cache {kind} {path} belongs to uid {st.st_uid}, not to uid {os.geteuid()} who runs '
                         f'the helper; {fix}')
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise CacheError(f'the token cache {kind} {path} is open to others (mode {stat.S_IMODE(st.st_mode):04o}); '
                         f'{fix}')


class TokenCache(object):
    """The cache file of one identity of the calling user."""

    def __init__(self, directory: str, key: str) -> None:
        self.directory = directory
        self.key = key
        self.name = key + '.json'
        self.path = os.path.join(directory, self.name)
        self._fd: int | None = None

    def dir_fd(self) -> int:
        """The fd of the cache directory, made 0700 if missing, after checking it is the caller's alone."""
        if self._fd is None:
            try:
                fd = open_dir(self.directory, Attributes(), create=True)[0]
            except (OSError, ConfigFileError) as exc:
                why = getattr(exc, 'msg', None) or getattr(exc, 'strerror', None) or str(exc)
                raise CacheError(f'cannot use the token cache directory {self.directory}: {why}. Set cache_dir to a '
                                 'directory of the calling user.') from None
            try:
                st = os.fstat(fd)
                fix = f'remove it, or run chmod 700 {self.directory} if it is yours, or set cache_dir'
                check_private(st, self.directory, 'directory', fix)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def read(self) -> AccessToken | None:
        """The cached token, or None when there is none or it cannot be read as one."""
        fd = self.dir_fd()
        try:
            raw, st = read_at(fd, self.name, self.path)
        except ConfigFileError:
            return None
        if raw is None or st is None:
            return None
        check_private(st, self.path, 'file', f'remove it (rm {self.path})')
        try:
            entry = json.loads(raw.decode('utf-8'))
            token = AccessToken(entry['access_token'], entry['expires_at'], entry['issued_at'])
        except (ValueError, UnicodeDecodeError, KeyError, TypeError):
            return None
        if (entry.get('version') != CACHE_VERSION or not isinstance(token.token, str) or not token.token
                or not all(isinstance(t, int) and not isinstance(t, bool) for t in (token.expires_at, token.issued_at))):
            return None
        return token

    def write(self, token: AccessToken) -> None:
        entry = {'version': CACHE_VERSION, 'access_token': token.token, 'expires_at': token.expires_at,
                 'issued_at': token.issued_at}
        content = json.dumps(entry, sort_keys=True).encode('utf-8')
        write_atomic(self.path, content, Attributes(mode=0o600), dir_fd=self.dir_fd())

    def remove(self) -> bool:
        """Drop the cached token; True if there was one."""
        if not os.path.isdir(self.directory):
            return False
        try:
            os.unlink(self.name, dir_fd=self.dir_fd())
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise CacheError(f'cannot remove {self.path}: {exc.strerror}') from None
        return True

    @contextlib.contextmanager
    def locked(self, timeout: float) -> Iterator[bool]:
        """Hold the identity's lock (True), or give up after timeout seconds (False)."""
        lock_name = self.key + '.lock'
        try:
            fd = os.open(lock_name, os.O_RDWR | os.O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600, dir_fd=self.dir_fd())
        except OSError as exc:
            raise CacheError(f'cannot open the lock file {os.path.join(self.directory, lock_name)}: {exc.strerror}') \
                from None
        try:
            deadline = time.monotonic() + timeout
            delay = 0.005
            held = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    held = True
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                if time.monotonic() >= deadline:
                    break
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
            if held:
                remove_stale_temps(self.path, self.dir_fd())
            yield held
        finally:
            os.close(fd)


class Served(object):
    """A token handed out, and a warning when it is a cached one because a refresh failed."""

    def __init__(self, token: AccessToken, warning: str | None = None, exchanged: bool = False) -> None:
        self.token = token
        self.warning = warning
        self.exchanged = exchanged


def get_token(fetch: Callable[[], AccessToken], cache: TokenCache, share: float, lock_timeout: float,
              now: Callable[[], float] = time.time) -> Served:
    """A token for the caller: the cached one while fresh, else one exchange under the lock.

    When the exchange fails, a cached token that is still usable is served with a warning.
    """
    cached = cache.read()
    if fresh(cached, share, now()):
        return Served(cached)
    with cache.locked(lock_timeout) as held:
        if held:
            cached = cache.read()
            if fresh(cached, share, now()):
                return Served(cached)
        elif usable(cached, now()):
            return Served(cached, 'another docker-credential-icr of this user held the token lock for '
                          f'{lock_timeout:g} seconds; serving the cached token')
        try:
            token = fetch()
        except IcrAuthError as exc:
            if usable(cached, now()):
                left = int(cached.expires_at - now())
                return Served(cached, f'could not refresh the token ({exc.msg}); serving the cached one, valid for '
                              f'{left} more seconds')
            raise
        warning = None
        if held:
            try:
                cache.write(token)
            except IcrAuthError as exc:
                # A full disk or a read-only home must not keep a good token from the caller (ECR #653).
                warning = f'the token could not be cached ({exc.msg}); every get will ask IAM until this is fixed'
        return Served(token, warning, exchanged=True)
