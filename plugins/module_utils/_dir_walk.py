# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Directories walked from / one file descriptor at a time (internal use only).

Standard library only: this file is shipped to every managed host. Every later step (lock, temp file, rename,
stat, unlink) uses the fd of the directory walked here, so a link that appears after the path was checked
cannot move any of them elsewhere.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import NoReturn

from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError
from ansible_collections.icr.auth.plugins.module_utils._privilege import check_entry, name_of, others_can_change


O_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
O_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
O_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
# O_PATH (Linux) opens a directory without read permission; elsewhere a read-only open does the same job.
O_PATH = getattr(os, 'O_PATH', 0)
DIR_FLAGS = (O_PATH or os.O_RDONLY) | O_DIRECTORY | O_CLOEXEC


class Attributes(object):
    """Owner, group and mode to give a file: None keeps what the file has (a new file is 0600, of the writer)."""

    def __init__(self, owner: int | None = None, group: int | None = None, mode: int | None = None):
        self.owner = owner      # uid to give the file, or None
        self.group = group      # gid to give the file, or None
        self.mode = mode        # int mode to give the file, or None


def refuse_changed(path: str, why: str) -> NoReturn:
    raise ConfigFileError(f'{path} changed while it was being written ({why}); nothing was written there. Run again.')


def open_dir(directory: str, attributes: Attributes, create: bool = False,
             protected: bool = False) -> tuple[int, list[str]]:
    """(fd of directory, [directories created]): the directory walked from / one component at a time.

    When protected (root acting as itself or as the path's controller) no component may be a symlink
    (O_NOFOLLOW) and every component must still be what secure_resolve accepted. Missing directories are made
    0700 with mkdir(dir_fd), checked to be ours, and given the owner/group of ``attributes``. The fd is O_PATH
    where the platform has it.
    """
    parts = [p for p in directory.split(os.sep) if p]
    acting_uid = os.geteuid()
    named = set(uid for uid in (attributes.owner,) if uid is not None)
    fd = os.open(os.sep, DIR_FLAGS)
    parent_st = os.fstat(fd)
    here = os.sep
    created = []
    try:
        for part in parts:
            here = os.path.join(here, part)
            made = False
            try:
                child = os.open(part, DIR_FLAGS | (O_NOFOLLOW if protected else 0), dir_fd=fd)
            except OSError as exc:
                if exc.errno == errno.ENOENT and create:
                    child, made = _make_dir(fd, part, here)
                elif exc.errno in (errno.ELOOP, errno.ENOTDIR) and protected and _is_link(fd, part):
                    refuse_changed(here, 'a symbolic link appeared on the way')
                else:
                    raise
            try:
                st = os.fstat(child)
                if made:
                    if not stat.S_ISDIR(st.st_mode) or st.st_uid != acting_uid:
                        refuse_changed(here, 'the directory made is not ours')
                    os.chmod(part, 0o700, dir_fd=fd)
                    if attributes.owner is not None or attributes.group is not None:
                        os.chown(part, -1 if attributes.owner is None else attributes.owner,
                                 -1 if attributes.group is None else attributes.group, dir_fd=fd, follow_symlinks=False)
                    st = os.fstat(child)
                    created.append(here)
                if protected:
                    check_entry(parent_st, st, here, named)
                    if st.st_uid not in (0, acting_uid) and st.st_uid not in named:
                        refuse_changed(here, f'it belongs to {name_of(st.st_uid)}')
                    if acting_uid == 0 and st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
                        raise others_can_change(here, st)
            except BaseException:
                os.close(child)
                raise
            os.close(fd)
            fd = child
            parent_st = st
    except BaseException:
        os.close(fd)
        raise
    return fd, created


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _make_dir(parent_fd: int, name: str, path: str) -> tuple[int, bool]:
    """(fd, True) of a directory made 0700 in parent_fd; (fd, False) if one appeared meanwhile."""
    made = True
    try:
        os.mkdir(name, 0o700, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise ConfigFileError(f'Cannot create directory {path}: {exc.strerror}.')
        made = False
    try:
        return os.open(name, DIR_FLAGS | O_NOFOLLOW, dir_fd=parent_fd), made
    except OSError as exc:
        refuse_changed(path, exc.strerror)


def dir_io_fd(dir_fd: int) -> int:
    """A read-only fd of the directory behind dir_fd (an O_PATH fd cannot be locked, listed or fsynced)."""
    if not O_PATH:
        return os.dup(dir_fd)
    return os.open('.', os.O_RDONLY | O_DIRECTORY | O_CLOEXEC, dir_fd=dir_fd)


def fsync_dir(dir_fd: int) -> None:
    try:
        fd = dir_io_fd(dir_fd)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
