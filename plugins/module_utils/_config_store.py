# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read, change and write Docker config.json and containers auth.json safely (internal use only).

Standard library only: this file is shipped to every managed host.

A file that cannot be parsed is never touched, and a file is written only when its meaning changes: atomically,
under the lock (_atomic_file), in a walked directory (_dir_walk), as whoever controls the path (_privilege).

The plan flows one way: the caller reads a Snapshot (inspect), computes the new data and the actions from it with
the pure plans of _auth_file, and asks write() to make the file hold them. write() takes the lock and reads the
file again; if it changed since the snapshot, nothing is written and write() returns a Snapshot of what is there
now, for the caller to plan again from.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator

from ansible_collections.icr.auth.plugins.module_utils import _auth_file as auth_file
from ansible_collections.icr.auth.plugins.module_utils._atomic_file import (
    apply_attributes,
    attributes_differ,
    final_mode,
    locked,
    read_at,
    remove_stale_temps,
    write_atomic,
)
from ansible_collections.icr.auth.plugins.module_utils._dir_walk import open_dir
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError
from ansible_collections.icr.auth.plugins.module_utils._privilege import identity, locate, name_of
from ansible_collections.icr.auth.plugins.module_utils._target import Target

# How often write() may find the file changed by another writer before the caller gives up; every writer writes
# once, so this bounds a run only when more than this many others write the same file meanwhile.
MAX_REPLANS = 100


class Snapshot(object):
    """What was read of a file: its data and bytes (None when missing), its stat, where it is and who acts on it."""

    def __init__(self, target: Target, acting: Target, path: str, raw: bytes | None, st: os.stat_result | None):
        self.target = target    # the Target asked for
        self.acting = acting    # the Target acted as (see _privilege.locate)
        self.path = path        # where the file is (a symlinked file resolved)
        self.raw = raw
        self.stat = st
        self.data = {} if raw is None else auth_file.parse(raw, path)

    @property
    def exists(self) -> bool:
        return self.stat is not None


@contextlib.contextmanager
def about(path: str) -> Iterator[None]:
    """A ConfigFileError raised inside (by a plan) names the file."""
    try:
        yield
    except ConfigFileError as exc:
        raise ConfigFileError(f'{path}: {exc.msg}')


def _read_file(target: Target, path: str) -> tuple[bytes | None, os.stat_result | None]:
    """(bytes or None, stat or None) of path as target: through the walked directory's fd when it exists."""
    try:
        dir_fd = open_dir(os.path.dirname(path), target, protected=target.protected)[0]
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None, None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ConfigFileError(f'Cannot read {path}: permission denied. Run as its owner (become) or fix its '
                                  'permissions.')
        raise ConfigFileError(f'Cannot read {path}: {exc.strerror}.')
    try:
        return read_at(dir_fd, os.path.basename(path), path)
    finally:
        os.close(dir_fd)


def inspect(target: Target) -> Snapshot:
    """The file of target as it is now (read once), resolved and read the way write() will act on it."""
    acting, path = _locate(target)
    with identity(acting.account):
        raw, st = _read_file(acting, path)
        return Snapshot(target, acting, path, raw, st)


def check_file_helpers(seen: Snapshot, helpers: dict[str, str]) -> None:
    """Refuse credential helpers named in a file that another user controls while root acts as itself.

    ``seen`` is what inspect() returned; ``helpers`` maps host to the helper the file names."""
    if not helpers or os.geteuid() != 0 or seen.acting.account is not None:
        return
    st = seen.stat
    if st is None or (st.st_uid == 0 and not st.st_mode & 0o022):
        return
    names = ', '.join('docker-credential-' + n for n in sorted(set(helpers.values())))
    who = name_of(st.st_uid) if st.st_uid != 0 else 'users other than root'
    raise ConfigFileError(f'{seen.path} names the credential helper {names}, but the file can be changed by {who}; '
                          'root does not run a helper that another user chose with root\'s own identity and store. '
                          'Set credential_store: file (or a helper name), or give user: or owner: for that user.')


def _locate(target: Target) -> tuple[Target, str]:
    """(the Target to act as, the path to use): see _privilege.locate."""
    try:
        account, path, protected = locate(target.path, target.account, target.owner)
    except OSError as exc:
        raise ConfigFileError(f'Cannot resolve {target.path}: {exc.strerror}. Nothing was written.')
    return (target.acting(path, account) if protected else target), path


def update(target: Target, plan: Callable[[dict], tuple[dict, dict[str, str]]], check_mode: bool = False) -> dict:
    """inspect(), then ``plan(data) -> (new_data, actions)`` and write(), planned again while the file changes."""
    seen = inspect(target)
    for _attempt in range(MAX_REPLANS):
        with about(seen.path):
            new, actions = plan(seen.data)
        outcome = write(seen, new, actions, check_mode)
        if not isinstance(outcome, Snapshot):
            return outcome
        seen = outcome
    raise busy(seen)


def busy(seen: Snapshot) -> ConfigFileError:
    """The error for a file that other writers kept changing while this one planned (MAX_REPLANS times)."""
    return ConfigFileError(f'{seen.path} was changed by other writers {MAX_REPLANS} times while this run planned its '
                           'change; nothing was written. Run again.')


def write(seen: Snapshot, new: dict, actions: dict[str, str], check_mode: bool = False) -> dict | Snapshot:
    """Make the file of ``seen`` hold ``new`` (planned from seen.data), if its meaning changes.

    Returns a dict: changed, actions, before (data), after (data), path (where it landed), created_dirs, and
    mode (the file's mode afterwards; None when there is no file). If the file changed since ``seen`` was read,
    nothing is written and the Snapshot read under the lock is returned instead: plan again from it.
    """
    acting, path = seen.acting, seen.path
    try:
        with identity(acting.account):
            return _write(seen, new, actions, check_mode)
    except OSError as exc:
        why = ''
        if acting.acts_as_user:
            why = (f' Root acted as {acting.account.pw_name} here, because that user controls this path; the file can '
                   'only be what that user may make it (its owner, group and mode included).')
        where = f' ({exc.filename})' if exc.filename else ''
        raise ConfigFileError(f'Cannot write {path}: {exc.strerror or exc}{where}. The file was left unchanged.{why}')


def _write(seen: Snapshot, new: dict, actions: dict[str, str], check_mode: bool) -> dict | Snapshot:
    target, path, st = seen.acting, seen.path, seen.stat
    # An action other than 'unchanged' writes even when the bytes would be equal (reauthorize).
    content_changed = new != seen.data or any(a != 'unchanged' for a in actions.values())
    result = {'path': path, 'before': seen.data, 'after': new, 'actions': actions, 'created_dirs': [],
              'changed': False, 'exists': seen.exists, 'mode': stat.S_IMODE(st.st_mode) if seen.exists else None}
    if not content_changed:
        if seen.exists and attributes_differ(st, target):
            result['changed'] = True
            result['mode'] = final_mode(target, st)
            if not check_mode:
                with _dir(target, path, create=False) as (dir_fd, _created):
                    result['mode'] = apply_attributes(dir_fd, os.path.basename(path), path, target)
        return result
    result['changed'] = True
    result['mode'] = final_mode(target, st)
    if check_mode:
        return result
    name = os.path.basename(path)
    with _dir(target, path, create=True) as (dir_fd, created):
        result['created_dirs'] = created
        with locked(os.path.dirname(path), dir_fd=dir_fd):
            remove_stale_temps(path, dir_fd)
            # Read again under the lock: another writer may have landed since the snapshot.
            raw, st = read_at(dir_fd, name, path)
            if raw != seen.raw:
                return Snapshot(seen.target, target, path, raw, st)
            content = auth_file.serialize(new)
            if len(content) > auth_file.MAX_FILE_SIZE:
                limit = auth_file.MAX_FILE_SIZE
                raise ConfigFileError(f'{path} would be {len(content)} bytes, larger than the {limit} bytes a registry '
                                      'auth file can sensibly be; it was left unchanged.')
            result['mode'] = write_atomic(path, content, target, dir_fd=dir_fd, current=st)
    return result


@contextlib.contextmanager
def _dir(target: Target, path: str, create: bool) -> Iterator[tuple[int, list[str]]]:
    """The walked directory of path (see open_dir), created if asked; directories made get owner/group asked."""
    dir_fd, created = open_dir(os.path.dirname(path), target, create=create, protected=target.protected)
    try:
        yield dir_fd, created
    finally:
        os.close(dir_fd)
