# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Identity api_key_file: an API key in a file of the calling user, readable by nobody else (internal use only).

The file is refused, with how to fix it, when it is not owned by the caller, when anyone else may read or write
it, or when it is not a regular file (a symbolic link is not followed). The key never leaves this process except
in the body of the request to IAM.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat

from ansible_collections.icr.auth.plugins.module_utils._credential import jwt_claims
from ansible_collections.icr.auth.plugins.module_utils._iam import APIKEY_GRANT
from ansible_collections.icr.auth.plugins.module_utils._identity_base import AccessToken, IdentityError, IdentitySource

DEFAULT_KEY_FILE = '~/.config/docker-credential-icr/apikey'
MAX_KEY_SIZE = 4096


def caller_home() -> str:
    """The home directory of the calling (real) user from the password database, whatever HOME says."""
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        raise IdentityError(f'uid {os.getuid()} has no entry in the password database, so it has no home directory; '
                            'give absolute paths (api_key_file, cache_dir, ca_path) in the configuration') from None


def expand_user(path: str) -> str:
    """path with a leading ~ replaced by the caller's home (never another user's: ~name is not expanded)."""
    if path == '~' or path.startswith('~/'):
        return caller_home() + path[1:]
    return path


def read_key_file(path: str) -> str:
    """The API key in path, after checking that only the caller owns and can read it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)
                     | getattr(os, 'O_NONBLOCK', 0))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise IdentityError(f'the API key file {path} does not exist; write the key there (umask 077; chmod 600 '
                                f'{path}) or set api_key_file') from None
        if exc.errno == errno.ELOOP:
            raise IdentityError(f'the API key file {path} is a symbolic link; put the key in a regular file there') \
                from None
        raise IdentityError(f'cannot read the API key file {path}: {exc.strerror}') from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IdentityError(f'the API key file {path} is not a regular file')
        if st.st_uid != os.geteuid():
            raise IdentityError(f'the API key file {path} belongs to {_user(st.st_uid)}, not to {_user(os.geteuid())} '
                                f'who runs the helper; each user needs a key file of their own (chown it, or write '
                                'a new one)')
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise IdentityError(f'the API key file {path} can be read or changed by others (mode '
                                f'{stat.S_IMODE(st.st_mode):04o}); run chmod 600 {path}, and replace the key if '
                                'others may have read it')
        raw = os.read(fd, MAX_KEY_SIZE + 1)
    finally:
        os.close(fd)
    return check_key(raw, path)


def check_key(raw: bytes, path: str) -> str:
    """The key of a key file's bytes (one trailing newline allowed); IdentityError that never repeats it."""
    if len(raw) > MAX_KEY_SIZE:
        raise IdentityError(f'the API key file {path} is larger than {MAX_KEY_SIZE} bytes; it should hold the key alone')
    try:
        text = raw.decode('ascii')
    except UnicodeDecodeError:
        raise IdentityError(f'the API key file {path} does not hold an API key (not ASCII text)') from None
    key = text[:-1] if text.endswith('\n') else text
    key = key[:-1] if key.endswith('\r') else key
    if not key:
        raise IdentityError(f'the API key file {path} is empty; write the API key into it')
    if any(c.isspace() for c in key):
        raise IdentityError(f'the API key in {path} contains white space (more than one line?); the file should hold '
                            'the key alone')
    if jwt_claims(key) is not None:
        raise IdentityError(f'{path} holds an IAM access token, not an API key; write the API key there')
    return key


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f'uid {uid}'


class ApiKeyFile(IdentitySource):
    """An API key read from the caller's own key file and exchanged with the apikey grant."""

    name = 'api_key_file'
    keys = ('api_key_file',)

    def path(self) -> str:
        return expand_user(self.config.get('api_key_file') or DEFAULT_KEY_FILE)

    def fetch(self) -> AccessToken:
        form = {'grant_type': APIKEY_GRANT, 'apikey': read_key_file(self.path())}
        return self.iam_exchange(form, 'exchange the API key')
