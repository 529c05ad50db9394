# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Who acts on a file: user lookups, and root acting as another user (internal use only).

Standard library only: this file is shipped to every managed host.

- When root writes into another user's home, it does so with that user's identity, so a symlink or
  hard link planted by the user cannot make root touch anything the user could not touch.
- secure_resolve walks a path as the kernel would, with lstat, and says which user controls it; locate
  decides, at the moment of use, whom root acts as.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import os
import pwd
import stat
from collections.abc import Collection, Iterator

from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError, InputError


MAX_LINKS = 16


def lookup_user(user: str | int) -> pwd.struct_passwd:
    """The password-database entry of a user name or uid."""
    try:
        if isinstance(user, int) or (isinstance(user, str) and user.isdigit()):
            return pwd.getpwuid(int(user))
        return pwd.getpwnam(user)
    except (KeyError, TypeError):
        raise InputError(f'user: no user {user!r} in the password database of this host.')


def lookup_uid(owner: str | int | None) -> int | None:
    """uid of an owner name or number."""
    if owner is None:
        return None
    if str(owner).isdigit():
        # A uid without a user is refused now: root would refuse to write below such a file on the next run.
        try:
            return pwd.getpwuid(int(owner)).pw_uid
        except KeyError:
            raise InputError(f'owner: uid {owner} has no entry in the password database of this host; give an existing '
                             'user.')
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise InputError(f'owner: no user {owner!r} in the password database of this host.')


def lookup_gid(group: str | int | None) -> int | None:
    """gid of a group name or number."""
    if group is None:
        return None
    if str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise InputError(f'group: no group {group!r} on this host.')


def user_groups(account: pwd.struct_passwd) -> list[int]:
    """The group ids a user has when logged in: primary and supplementary."""
    try:
        return os.getgrouplist(account.pw_name, account.pw_gid)
    except OSError:
        return [account.pw_gid]


def acts_as(account: pwd.struct_passwd | None) -> bool:
    """True when root must take the identity of ``account`` (a passwd entry) to act for it."""
    return account is not None and os.geteuid() == 0 and account.pw_uid != 0


@contextlib.contextmanager
def identity(account: pwd.struct_passwd | None) -> Iterator[None]:
    """Act with the identity of ``account`` while inside (only when root acts for another user; see acts_as)."""
    if not acts_as(account):
        yield
        return
    saved_groups = os.getgroups()
    os.setgroups(user_groups(account))
    os.setegid(account.pw_gid)
    os.seteuid(account.pw_uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(saved_groups)


def _owner(uid: int, where: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwuid(uid)
    except KeyError:
        raise ConfigFileError(f'{where} belongs to uid {uid}, which has no entry in the password database; refusing to '
                              'write below it as root.')


def _shared(st: os.stat_result) -> bool:
    """True for a directory that users other than its owner may add entries to (sticky, group- or world-writable)."""
    return bool(st.st_mode & (0o022 | stat.S_ISVTX))


def check_entry(parent_st: os.stat_result | None, st: os.stat_result, candidate: str, named: Collection[int]) -> None:
    """Refuse an entry that another user planted in a shared directory, unless the play named that user."""
    if parent_st is not None and _shared(parent_st) and st.st_uid not in (0, parent_st.st_uid) \
            and st.st_uid not in named:
        who = name_of(st.st_uid)
        raise ConfigFileError(f'{candidate} belongs to {who} and sits in {os.path.dirname(candidate)}, a directory other '
                              f'users can add to (mode {stat.S_IMODE(parent_st.st_mode):04o}); root refuses to write a '
                              'registry credential there on behalf of a user the play did not name. Remove it, choose '
                              'another path, or name that user with user: or owner:.')


def others_can_change(path: str, st: os.stat_result) -> ConfigFileError:
    """The error for a directory that users other than root can rewrite, met while root acts as itself."""
    return ConfigFileError(f'{path} can be changed by users other than root (mode {stat.S_IMODE(st.st_mode):04o}, not '
                           'sticky); refusing to write a registry credential below it as root. Tighten its mode, or give '
                           'user.')


def _changed_while_resolved(path: str, exc: OSError) -> ConfigFileError:
    return ConfigFileError(f'{path} changed while it was being resolved ({exc.strerror}); nothing was written. Run again.')


def name_of(uid: int) -> str:
    try:
        return f'user {pwd.getpwuid(uid).pw_name} (uid {uid})'
    except KeyError:
        return f'uid {uid}'


def secure_resolve(path: str, named: Collection[int] = ()) -> tuple[pwd.struct_passwd | None, str]:
    """Follow path as the kernel would, and say who controls what it means.

    Returns (controller, resolved path). The controller is the password entry of the first user other than root
    who owns a directory or symlink met on the way (None if there is none): that user can change everything
    below it, so root must act as them there. The final file's owner never decides: a file is not a place to
    write in. Each component is looked at with lstat, so a link a user planted counts as theirs, and a root-owned
    link into a user's directory does not hide that user. A root-owned directory that others may rewrite
    (group- or world-writable, not sticky) is refused, and so is an entry of a user not in ``named`` (uids the
    play named with user: or owner:) in a directory other users can add to (sticky, group- or world-writable).
    """
    named = set(named)
    parts = [p for p in path.split(os.sep) if p]
    current = os.sep
    controller = None
    parent_st = None
    links = 0
    while parts:
        part = parts.pop(0)
        if part == '.':
            continue
        if part == '..':
            current = os.path.dirname(current)
            parent_st = None
            continue
        candidate = os.path.join(current, part)
        try:
            st = os.lstat(candidate)
            if parent_st is None:
                parent_st = os.stat(current)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return controller, os.path.join(candidate, *parts) if parts else candidate
            raise ConfigFileError(f'Cannot inspect {candidate}: {exc.strerror}.')
        check_entry(parent_st, st, candidate, named)
        last = not parts
        if controller is None and st.st_uid != 0 and not (last and stat.S_ISREG(st.st_mode)):
            controller = _owner(st.st_uid, candidate)
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > MAX_LINKS:
                raise ConfigFileError(f'{path}: too many levels of symbolic links.')
            try:
                link = os.readlink(candidate)
            except OSError as exc:
                raise _changed_while_resolved(candidate, exc)
            if os.path.isabs(link):
                current = os.sep
            parts = [p for p in link.split(os.sep) if p] + parts
            parent_st = None
            continue
        if stat.S_ISDIR(st.st_mode) and controller is None and st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            raise others_can_change(candidate, st)
        current = candidate
        parent_st = st
    return controller, current


def resolve_link(path: str) -> str:
    """Where a write to path lands: Docker follows a symlinked config file, and so do we."""
    return os.path.realpath(path) if os.path.islink(path) else path


def _resolve_as_caller(path: str) -> str:
    """Where a path leads, for a caller that acts with its own rights (the kernel guards it)."""
    try:
        return resolve_link(path)
    except OSError as exc:
        raise _changed_while_resolved(path, exc)


def locate(path: str, account: pwd.struct_passwd | None, owner: int | None) -> tuple[pwd.struct_passwd | None, str, bool]:
    """(the passwd entry to act as or None, the path to use, whether the walk must be protected).

    A file in another user's home (``account``) is reached as that user from the start. Otherwise, when root
    runs, the path is resolved now, at the moment of use, and root acts as whoever controls it (see
    secure_resolve), protected; root acting as itself (user: root included) always gets that protected resolution.
    ``owner`` is the uid the play named with owner:, or None.
    """
    if os.geteuid() != 0:
        return account, _resolve_as_caller(path), False
    if account is not None and account.pw_uid != 0:
        with identity(account):
            return account, _resolve_as_caller(path), False
    controller, resolved = secure_resolve(path, set(uid for uid in (owner,) if uid is not None))
    return controller, resolved, True
