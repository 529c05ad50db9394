# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The store_to file of a new API key: 0600, in a 0700 directory, written atomically, never overwritten; and the key
a key file on the controller holds (internal use only).

The temp file is created before the key is, so that a directory that cannot be written is known before IAM makes a
key whose value would be lost. The value goes only into that file: no message here ever holds it.
"""

from __future__ import annotations

import binascii
import errno
import json
import os
import stat

from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError, InputError
from ansible_collections.icr.auth.plugins.module_utils._identity_base import IdentityError
from ansible_collections.icr.auth.plugins.module_utils._identity_key_file import check_key

RECORD_KEYS = ('name', 'id', 'iam_id', 'apikey', 'created_at')
MAX_SIZE = 64 * 1024


def check_directory(path: str, create: bool) -> str:
    """The directory of path, checked (and created 0700 when create): a directory of this user that nobody else can
    enter. InputError says what is wrong."""
    if not path or not os.path.isabs(path) or path.endswith('/'):
        raise InputError(f'store_to: {path!r} is not the absolute path of a file; give for example ~/.vault/key.json.')
    directory = os.path.dirname(path)
    try:
        st = os.stat(directory)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise InputError(f'store_to: cannot inspect the directory {directory}: {exc.strerror}.')
        if not create:
            return directory
        try:
            os.makedirs(directory, mode=0o700)
            os.chmod(directory, 0o700)
        except OSError as exc:
            raise InputError(f'store_to: cannot create the directory {directory}: {exc.strerror}.')
        st = os.stat(directory)
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f'store_to: {directory} is not a directory.')
    if st.st_uid != os.geteuid():
        raise InputError(f'store_to: the directory {directory} belongs to uid {st.st_uid}, not to the user the module '
                         'runs as; choose a directory of your own.')
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise InputError(f'store_to: the directory {directory} has mode {stat.S_IMODE(st.st_mode):04o}; an API key '
                         f'goes only into a directory nobody else can enter (chmod 700 {directory}, or choose another).')
    return directory


def read_record(path: str) -> dict | None:
    """The JSON record in path without its value (None if there is no file); InputError if it is not one of ours.

    The file is left as it is whatever it holds.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise InputError(f'store_to: cannot read {path}: {exc.strerror}.')
    try:
        data = os.read(fd, MAX_SIZE + 1)
    finally:
        os.close(fd)
    record = parse_record(data)
    if record is None or not record.get('id'):
        raise InputError(f'store_to: {path} exists but does not hold an API key record (JSON with name, id, iam_id, '
                         'apikey, created_at); it was left as it is. Move it away or choose another path.')
    return dict((k, v) for k, v in record.items() if k != 'apikey')


def parse_record(data: bytes) -> dict | None:
    """The JSON object in a key file's bytes (at most MAX_SIZE, UTF-8); None for anything else."""
    if len(data) > MAX_SIZE:
        return None
    try:
        record = json.loads(data.decode('utf-8'))
    except (ValueError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) else None


def read_api_key(path: str, where: str) -> str:
    """The API key a key file holds: the apikey of a JSON record (the store_to file, or the file of ibmcloud iam
    service-api-key-create --file), or the key alone, as the credential helper's api_key_file holds it (check_key).

    InputError starts with where and names the file, never what it holds.
    """
    try:
        with open(path, 'rb') as handle:
            data = handle.read(MAX_SIZE + 1)
    except OSError as exc:
        raise InputError(f'{where}: cannot read {path}: {exc.strerror}.')
    if data.lstrip()[:1] != b'{':
        try:
            return check_key(data, path)
        except IdentityError as exc:
            raise InputError(f'{where}: {exc.msg}.') from None
    record = parse_record(data)
    value = record.get('apikey') if record is not None else None
    if isinstance(value, str):
        try:
            return check_key(value.encode('utf-8'), path)
        except IdentityError:
            pass
    raise InputError(f'{where}: {path} holds no API key - give a JSON file with an apikey field (the store_to file '
                     'of icr.auth.icr_api_key) or a file with the key alone on one line.')


class KeyFile(object):
    """A 0600 temp file beside store_to, made before the key is created; publish() links it into place."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.directory = check_directory(path, create=True)
        if os.path.lexists(path):
            raise InputError(f'store_to: {path} already exists; an API key file is never overwritten. Move it away or '
                             'choose another path.')
        self.tmp = None
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)
        for _attempt in range(20):
            name = os.path.join(self.directory, f".{os.path.basename(path)}.{binascii.hexlify(os.urandom(6)).decode()}.tmp")
            try:
                self.fd = os.open(name, flags, 0o600)
                self.tmp = name
                break
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise InputError(f'store_to: cannot write in {self.directory}: {exc.strerror}.')
        if self.tmp is None:
            raise InputError(f'store_to: could not create a temp file in {self.directory}.')
        os.fchmod(self.fd, 0o600)

    def publish(self, record: dict) -> None:
        """Write the record, fsync, and link it to store_to (never over an existing file)."""
        content = json.dumps(dict((k, record.get(k)) for k in RECORD_KEYS), indent=2).encode() + b'\n'
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(self.fd, view):]
            os.fsync(self.fd)
            os.close(self.fd)
            self.fd = None
            os.link(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise ConfigFileError(f'store_to: writing {self.path} failed: {exc.strerror}.')
        self.abort()
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def abort(self) -> None:
        """Remove the temp file (and close it)."""
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None
