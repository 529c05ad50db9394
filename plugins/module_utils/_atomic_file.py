# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Atomic file replacement under a lock, in a walked directory (internal use only).

Standard library only: this file is shipped to every managed host.

- A write goes to a 0600 temp file in the same directory (O_EXCL, O_NOFOLLOW), is fsynced and renamed over the
  file; the mode is set last, so the temp copy of a secret stays private until the rename.
- An existing file keeps its owner and mode unless others are asked; a new one is 0600.
- Writers of one directory take turns under an exclusive flock; temp files a killed writer left are removed.
- Reads are bounded: at most MAX_FILE_SIZE + 1 bytes (see _auth_file), whatever the file grows to meanwhile.
"""

from __future__ import annotations

import binascii
import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Iterator

from ansible_collections.icr.auth.plugins.module_utils import _auth_file as auth_file
from ansible_collections.icr.auth.plugins.module_utils._dir_walk import (
    O_CLOEXEC,
    O_DIRECTORY,
    O_NOFOLLOW,
    Attributes,
    dir_io_fd,
    fsync_dir,
    open_dir,
    refuse_changed,
)
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError


LOCK_TIMEOUT = 60.0


def read_at(dir_fd: int | None, name: str, path: str,
            nofollow: bool = True) -> tuple[bytes | None, os.stat_result | None]:
    """(bytes, stat of what was read) of the file ``name`` in the directory ``dir_fd``; (None, None) when missing.

    At most MAX_FILE_SIZE + 1 bytes are read, whatever the file grows to meanwhile.
    """
    flags = os.O_RDONLY | O_CLOEXEC | getattr(os, 'O_NONBLOCK', 0)
    if nofollow:
        flags |= O_NOFOLLOW
    try:
        fd = os.open(name, flags, dir_fd=dir_fd) if dir_fd is not None else os.open(name, flags)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None, None
        if exc.errno == errno.ELOOP:
            raise ConfigFileError(f'{path} turned into a symbolic link while it was being updated; refusing to follow it '
                                  'as root. Nothing was written.')
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ConfigFileError(f'Cannot read {path}: permission denied. Run as its owner (become) or fix its '
                                  'permissions.')
        raise ConfigFileError(f'Cannot read {path}: {exc.strerror}.')
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigFileError(f'{path} is not a regular file; give the path of a JSON file.')
        if st.st_size > auth_file.MAX_FILE_SIZE:
            raise ConfigFileError(f'{path} is {st.st_size} bytes, larger than the {auth_file.MAX_FILE_SIZE} bytes a '
                                  'registry auth file can sensibly be; it was left unchanged.')
        chunks: list[bytes] = []
        left = auth_file.MAX_FILE_SIZE + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise ConfigFileError(f'{path} grew past the {auth_file.MAX_FILE_SIZE} bytes a registry auth file can sensibly '
                                  'be while it was read; it was left unchanged.')
    finally:
        os.close(fd)
    return b''.join(chunks), st


@contextlib.contextmanager
def locked(directory: str, timeout: float = LOCK_TIMEOUT, dir_fd: int | None = None) -> Iterator[int]:
    """An exclusive advisory lock on a directory, so that concurrent writers of one file take turns."""
    if dir_fd is not None:
        fd = dir_io_fd(dir_fd)
    else:
        fd = os.open(directory, os.O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise ConfigFileError(f'Another process has held the lock on {directory} for {int(timeout)} seconds; '
                                          'try again when it is done.')
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        yield fd
    finally:
        os.close(fd)


def _temp_prefix(path: str) -> str:
    return f'.{os.path.basename(path)}.'


def _create_temp(dir_fd: int, path: str) -> tuple[int, str]:
    """(fd, name) of a new 0600 temp file beside path: O_EXCL|O_NOFOLLOW, so nothing planted is ever opened."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC
    for _attempt in range(100):
        name = f"{_temp_prefix(path)}{binascii.hexlify(os.urandom(6)).decode('ascii')}.tmp"
        try:
            return os.open(name, flags, 0o600, dir_fd=dir_fd), name
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
    raise ConfigFileError(f'Could not create a temp file beside {path}: 100 names were taken.')


def final_mode(attributes: Attributes, current: os.stat_result | None) -> int:
    """The mode the file gets: the asked one, else the mode of the file that was read, else 0600."""
    if attributes.mode is not None:
        return attributes.mode
    return stat.S_IMODE(current.st_mode) if current is not None else 0o600


def write_atomic(path: str, content: bytes, attributes: Attributes, dir_fd: int | None = None,
                 current: os.stat_result | None = None) -> int:
    """Replace path's content atomically, keeping the owner and mode of the file that was read (``current``).

    With dir_fd, everything happens in that directory: the temp file is created, written and renamed there,
    whatever the path's directories have become meanwhile. Returns the file's final mode.
    """
    name = os.path.basename(path)
    own_fd = dir_fd is None
    if own_fd:
        dir_fd = open_dir(os.path.dirname(path), attributes)[0]
        try:
            current = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                os.close(dir_fd)
                raise ConfigFileError(f'Cannot inspect {path}: {exc.strerror}.')
            current = None
    try:
        if current is not None and not stat.S_ISREG(current.st_mode):
            raise ConfigFileError(f'{path} is not a regular file; it was left unchanged.')
        mode = final_mode(attributes, current)
        uid = attributes.owner if attributes.owner is not None else (current.st_uid if current else -1)
        gid = attributes.group if attributes.group is not None else (current.st_gid if current else -1)
        fd, tmp = _create_temp(dir_fd, path)
        try:
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view):]
                if (uid != -1 and uid != os.geteuid()) or (gid != -1 and gid != os.getegid()):
                    os.fchown(fd, uid, gid)
                os.fsync(fd)
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                tmp = None
                # The mode last: until the rename the temp copy of the secret stays 0600.
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
        except OSError as exc:
            if tmp is not None:
                _unlink_quietly(tmp, dir_fd)
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise ConfigFileError(f'Cannot write {path}: {exc.strerror}. The file was left unchanged.')
            raise ConfigFileError(f'Writing {path} failed: {exc.strerror}. The file was left unchanged.')
        except BaseException:
            if tmp is not None:
                _unlink_quietly(tmp, dir_fd)
            raise
        fsync_dir(dir_fd)
        return mode
    finally:
        if own_fd:
            os.close(dir_fd)


def remove_stale_temps(path: str, dir_fd: int | None = None) -> None:
    """Remove temp files a killed writer left beside path. Only called under the lock, when no writer of ours is
    between creating its temp file and renaming it; only regular files of this identity are touched."""
    prefix = _temp_prefix(path)
    try:
        if dir_fd is None:
            names = os.listdir(os.path.dirname(path))
        else:
            io_fd = dir_io_fd(dir_fd)
            try:
                names = os.listdir(io_fd)
            finally:
                os.close(io_fd)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith('.tmp')):
            continue
        try:
            if dir_fd is None:
                st = os.lstat(os.path.join(os.path.dirname(path), name))
            else:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
            if dir_fd is None:
                _unlink_quietly(os.path.join(os.path.dirname(path), name))
            else:
                _unlink_quietly(name, dir_fd)


def _unlink_quietly(path: str, dir_fd: int | None = None) -> None:
    try:
        if dir_fd is None:
            os.unlink(path)
        else:
            os.unlink(path, dir_fd=dir_fd)
    except OSError:
        pass


def _open_existing(dir_fd: int, name: str, path: str) -> int | None:
    """A read-only fd of the regular file name in dir_fd (never through a link), or None if it is gone."""
    try:
        fd = os.open(name, os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC | getattr(os, 'O_NONBLOCK', 0), dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        if exc.errno == errno.ELOOP:
            refuse_changed(path, 'it turned into a symbolic link')
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ConfigFileError(f'{path} is not a regular file; it was left unchanged.')
    return fd


def apply_attributes(dir_fd: int, name: str, path: str, attributes: Attributes) -> int | None:
    """Owner, group and mode asked for on a file whose content did not change (through an fd of the file itself).
    Returns the file's mode, or None if it is gone."""
    fd = _open_existing(dir_fd, name, path)
    if fd is None:
        return None
    try:
        st = os.fstat(fd)
        mode = stat.S_IMODE(st.st_mode)
        if attributes.mode is not None and mode != attributes.mode:
            os.fchmod(fd, attributes.mode)
            mode = attributes.mode
        uid = st.st_uid if attributes.owner is None else attributes.owner
        gid = st.st_gid if attributes.group is None else attributes.group
        if (uid, gid) != (st.st_uid, st.st_gid):
            os.fchown(fd, uid, gid)
    finally:
        os.close(fd)
    return mode


def attributes_differ(st: os.stat_result | None, attributes: Attributes) -> bool:
    """True if an existing file's owner, group or mode (its stat) differs from what the attributes ask."""
    if st is None:
        return False
    return ((attributes.mode is not None and stat.S_IMODE(st.st_mode) != attributes.mode)
            or (attributes.owner is not None and st.st_uid != attributes.owner)
            or (attributes.group is not None and st.st_gid != attributes.group))
