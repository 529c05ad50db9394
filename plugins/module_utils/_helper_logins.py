# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The user's own ``docker login`` kept by the credential helper (internal use only).

``docker login`` with docker-credential-icr configured calls ``store``: the credential is kept in ``logins.json``
(0600, in the caller's 0700 cache directory) and ``get`` serves it for that host instead of the identity's token,
until ``docker logout`` (``erase``) removes it. So docker login/logout keep working as users expect; nothing here
is ever shown, logged or sent anywhere but to the caller of ``get``.
"""

from __future__ import annotations

import json
import os

from ansible_collections.icr.auth.plugins.module_utils._atomic_file import read_at, write_atomic
from ansible_collections.icr.auth.plugins.module_utils._dir_walk import Attributes
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError
from ansible_collections.icr.auth.plugins.module_utils._token_cache import CacheError, TokenCache, check_private

LOGINS = 'logins'
LOCK_TIMEOUT = 10.0


class LoginStore(object):
    """host -> (username, secret) that the user stored with docker login."""

    def __init__(self, directory: str) -> None:
        self.files = TokenCache(directory, LOGINS)

    def close(self) -> None:
        self.files.close()

    def _read(self) -> dict:
        if not os.path.isdir(self.files.directory):
            return {}  # reading makes no directory (get, list, erase with nothing stored)
        try:
            raw, st = read_at(self.files.dir_fd(), self.files.name, self.files.path)
        except ConfigFileError:
            return {}
        if raw is None or st is None:
            return {}
        check_private(st, self.files.path, 'file', f'remove it (rm {self.files.path})')
        try:
            data = json.loads(raw.decode('utf-8'))
        except (ValueError, UnicodeDecodeError):
            return {}
        if not isinstance(data, dict):
            return {}
        return dict((host, entry) for host, entry in data.items()
                    if isinstance(entry, dict) and isinstance(entry.get('Username'), str)
                    and isinstance(entry.get('Secret'), str))

    def _write(self, logins: dict) -> None:
        content = json.dumps(logins, sort_keys=True, indent=1).encode('utf-8')
        write_atomic(self.files.path, content, Attributes(mode=0o600), dir_fd=self.files.dir_fd())

    def get(self, host: str) -> tuple[str, str] | None:
        entry = self._read().get(host)
        return (entry['Username'], entry['Secret']) if entry else None

    def hosts(self) -> dict:
        """host -> username of every stored login."""
        return dict((host, entry['Username']) for host, entry in self._read().items())

    def store(self, host: str, username: str, secret: str) -> None:
        with self.files.locked(LOCK_TIMEOUT) as held:
            if not held:
                raise CacheError(f'another docker-credential-icr held the lock of {self.files.path} for '
                                 f'{LOCK_TIMEOUT:g} seconds; try again')
            logins = self._read()
            logins[host] = {'Username': username, 'Secret': secret}
            self._write(logins)

    def erase(self, host: str) -> bool:
        """Remove the stored login of host; True if there was one."""
        if not os.path.isdir(self.files.directory):
            return False
        with self.files.locked(LOCK_TIMEOUT) as held:
            if not held:
                raise CacheError(f'another docker-credential-icr held the lock of {self.files.path} for '
                                 f'{LOCK_TIMEOUT:g} seconds; try again')
            logins = self._read()
            if host not in logins:
                return False
            del logins[host]
            self._write(logins)
            return True
