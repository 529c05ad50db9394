# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read, change and write Docker config.json and containers auth.json safely (internal use only).

Standard library only: this file is shipped to every managed host.

- Every unknown key and every other registry's entry is kept; only the asked hosts' entries change.
- A file that cannot be parsed is never touched: the caller gets ConfigFileError.
- Writes are atomic (a temp file in the same directory, then rename), under an exclusive lock on the
  directory, and only when the content changes by meaning.
- New files are 0600 in 0700 directories; an existing file keeps its owner and mode.
- When root writes into another user's home, it does so with that user's identity, so a symlink or
  hard link planted by the user cannot make root touch anything the user could not touch.
- The whole write happens relative to directory file descriptors: the directories are walked with
  O_NOFOLLOW, and the lock, the temp file, the rename, the stat and the unlink all use the directory's fd, so
  a link that appears after the path was checked cannot move any of them elsewhere.
"""

from __future__ import annotations

import binascii
import contextlib
import errno
import fcntl
import grp
import json
import os
import pwd
import re
import stat
import time

from ansible_collections.icr.auth.plugins.module_utils._credential import (
    decode_auth,
    encode_auth,
    still_current,
)
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError, InputError

FORMATS = ('docker', 'containers')
# A registry auth file holds a few entries; 16 MiB is far beyond any real one, and bounds what root reads.
MAX_FILE_SIZE = 16 * 1024 * 1024
# Values (objects, arrays, strings, numbers) a file may hold: with the size, this bounds the memory of a parse.
MAX_JSON_VALUES = 1000000
LOCK_TIMEOUT = 60.0
_O_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_O_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
_O_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
# O_PATH (Linux) opens a directory without read permission; elsewhere a read-only open does the same job.
_O_PATH = getattr(os, 'O_PATH', 0)
_DIR_FLAGS = (_O_PATH or os.O_RDONLY) | _O_DIRECTORY | _O_CLOEXEC
_SECRET_FIELDS = ('auth', 'username', 'password', 'identitytoken', 'registrytoken')


# --------------------------------------------------------------------------------------------
# Who and where


class Target(object):
    """The file to change and the identity to change it with."""

    def __init__(self, path, fmt, pw=None, owner=None, group=None, mode=None):
        self.path = path
        self.format = fmt
        self.pw = pw            # pwd entry of the user whose home holds the file, or None
        self.owner = owner      # uid to give the file, or None
        self.group = group      # gid to give the file, or None
        self.mode = mode        # int mode to give the file, or None
        self.protected = False  # root acting as itself or as the path's controller: walk without following links

    @property
    def acts_as_user(self):
        """True when root must act as the home's owner to touch this file."""
        return self.pw is not None and os.geteuid() == 0 and self.pw.pw_uid != 0


def lookup_user(user):
    """The password-database entry of a user name or uid."""
    try:
        if isinstance(user, int) or (isinstance(user, str) and user.isdigit()):
            return pwd.getpwuid(int(user))
        return pwd.getpwnam(user)
    except (KeyError, TypeError):
        raise InputError('user: no user %r in the password database of this host.' % (user,))


def lookup_uid(owner):
    """uid of an owner name or number."""
    if owner is None:
        return None
    if str(owner).isdigit():
        # A uid without a user is refused now: root would refuse to write below such a file on the next run.
        try:
            return pwd.getpwuid(int(owner)).pw_uid
        except KeyError:
            raise InputError('owner: uid %s has no entry in the password database of this host; give an existing user.'
                             % (owner,))
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise InputError('owner: no user %r in the password database of this host.' % (owner,))


def lookup_gid(group):
    """gid of a group name or number."""
    if group is None:
        return None
    if str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise InputError('group: no group %r on this host.' % (group,))


def parse_mode(mode):
    """An octal mode given as a string ('0600') or a number."""
    if mode is None:
        return None
    if isinstance(mode, int):
        if 100 <= mode <= 7777 and set(str(mode)) <= set('01234567') and mode & 0o600 != 0o600:
            raise InputError("mode: %d was given as a number, which YAML reads as decimal; quote it, for example "
                             "mode: '0%d'." % (mode, mode))
        value = mode
    else:
        text = str(mode).strip()
        try:
            value = int(text, 8)
        except ValueError:
            if re.match(r'^[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*$', text):
                raise InputError("mode: %r is a symbolic mode; give the file's mode in octal, for example mode: '0600'."
                                 % (mode,))
            raise InputError("mode: %r is not an octal mode; give one such as mode: '0600'." % (mode,))
    if value < 0 or value > 0o7777:
        raise InputError('mode: %r is out of range; give an octal mode such as 0600.' % (mode,))
    if value & 0o600 != 0o600:
        raise InputError('mode: %r would keep the owner from reading or writing the file; give 0600 or wider.' % (mode,))
    return value


def default_path(fmt, pw, env=None, use_env=True):
    """Where Docker or the containers tools read credentials for the user ``pw``.

    The environment (DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_CONFIG_HOME) is honoured only for the user
    the module runs as (``use_env``), never for another user's home.
    """
    env = os.environ if env is None else env
    home = pw.pw_dir
    # A relative value means the working directory, as for Docker and podman.
    if fmt == 'docker':
        if use_env and env.get('DOCKER_CONFIG'):
            return os.path.join(os.path.abspath(os.path.expanduser(env['DOCKER_CONFIG'])), 'config.json')
        return os.path.join(home, '.docker', 'config.json')
    if use_env and env.get('REGISTRY_AUTH_FILE'):
        return os.path.abspath(os.path.expanduser(env['REGISTRY_AUTH_FILE']))
    config_home = env.get('XDG_CONFIG_HOME') if use_env else None
    if config_home:
        config_home = os.path.abspath(config_home)
    return os.path.join(config_home or os.path.join(home, '.config'), 'containers', 'auth.json')


def check_config_path(path, option='config_path'):
    """Refuse paths that cannot be what the user meant."""
    if not isinstance(path, str) or not path.strip():
        raise InputError('%s: an empty path was given.' % option)
    if '\x00' in path:
        raise InputError('%s: the path contains a NUL byte.' % option)
    if not os.path.isabs(os.path.expanduser(path)):
        raise InputError('%s: %r is not an absolute path; give the full path of the file.' % (option, path))
    if '..' in path.split(os.sep):
        raise InputError('%s: %r contains "..": give the path without parent-directory steps.' % (option, path))
    if path.endswith(os.sep):
        raise InputError('%s: %r names a directory; give the path of the file itself (…/config.json).' % (option, path))
    return os.path.expanduser(path)


MAX_LINKS = 16


def _owner(uid, where):
    try:
        return pwd.getpwuid(uid)
    except KeyError:
        raise ConfigFileError('%s belongs to uid %d, which has no entry in the password database; refusing to write '
                              'below it as root.' % (where, uid))


def _shared(st):
    """True for a directory that users other than its owner may add entries to (sticky, group- or world-writable)."""
    return bool(st.st_mode & (0o022 | stat.S_ISVTX))


def _check_entry(parent_st, st, candidate, named):
    """Refuse an entry that another user planted in a shared directory, unless the play named that user."""
    if parent_st is not None and _shared(parent_st) and st.st_uid not in (0, parent_st.st_uid) \
            and st.st_uid not in named:
        who = _name_of(st.st_uid)
        raise ConfigFileError('%s belongs to %s and sits in %s, a directory other users can add to (mode %04o); root '
                              'refuses to write a registry credential there on behalf of a user the play did not name. '
                              'Remove it, choose another path, or name that user with user: or owner:.'
                              % (candidate, who, os.path.dirname(candidate), stat.S_IMODE(parent_st.st_mode)))


def _name_of(uid):
    try:
        return 'user %s (uid %d)' % (pwd.getpwuid(uid).pw_name, uid)
    except KeyError:
        return 'uid %d' % uid


def secure_resolve(path, named=()):
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
            raise ConfigFileError('Cannot inspect %s: %s.' % (candidate, exc.strerror))
        _check_entry(parent_st, st, candidate, named)
        last = not parts
        if controller is None and st.st_uid != 0 and not (last and stat.S_ISREG(st.st_mode)):
            controller = _owner(st.st_uid, candidate)
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > MAX_LINKS:
                raise ConfigFileError('%s: too many levels of symbolic links.' % path)
            try:
                target = os.readlink(candidate)
            except OSError as exc:
                raise ConfigFileError('%s changed while it was being resolved (%s); nothing was written. Run again.'
                                      % (candidate, exc.strerror))
            if os.path.isabs(target):
                current = os.sep
            parts = [p for p in target.split(os.sep) if p] + parts
            parent_st = None
            continue
        if stat.S_ISDIR(st.st_mode) and controller is None and st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            raise ConfigFileError('%s can be changed by users other than root (mode %04o, not sticky); refusing to write '
                                  'a registry credential below it as root. Tighten its mode, or give user.'
                                  % (candidate, stat.S_IMODE(st.st_mode)))
        current = candidate
        parent_st = st
    return controller, current


def _resolve_as_caller(path):
    """Where a path leads, for a caller that acts with its own rights (the kernel guards it)."""
    try:
        return resolve_link(path)
    except OSError as exc:
        raise ConfigFileError('%s changed while it was being resolved (%s); nothing was written. Run again.'
                              % (path, exc.strerror))


def locate(target):
    """(the Target to act as, the path to use).

    A target for another user's home acts as that user from the start. Otherwise, when root runs, the path is
    resolved now, at the moment of use, and root acts as whoever controls it (see secure_resolve); root acting as
    itself (user: root included) always gets that protected resolution.
    """
    if os.geteuid() != 0:
        return target, _resolve_as_caller(target.path)
    if target.pw is not None and target.pw.pw_uid != 0:
        with identity(target):
            return target, _resolve_as_caller(target.path)
    named = set(uid for uid in (target.owner,) if uid is not None)
    controller, path = secure_resolve(target.path, named)
    acting = Target(path, target.format, pw=controller, owner=target.owner, group=target.group, mode=target.mode)
    acting.protected = True
    return acting, path


def user_groups(pw):
    """The group ids a user has when logged in: primary and supplementary."""
    try:
        return os.getgrouplist(pw.pw_name, pw.pw_gid)
    except OSError:
        return [pw.pw_gid]


@contextlib.contextmanager
def identity(target):
    """Act with the identity of the home's owner while inside (only when root acts for another user)."""
    if not target.acts_as_user:
        yield
        return
    pw = target.pw
    saved_groups = os.getgroups()
    os.setgroups(user_groups(pw))
    os.setegid(pw.pw_gid)
    os.seteuid(pw.pw_uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(saved_groups)


# --------------------------------------------------------------------------------------------
# Reading


def read(path, nofollow=False):
    """(data, exists) of an auth file.  A missing file is ({}, False).

    Raises ConfigFileError for anything that is not a JSON object of the expected shape; the file is
    not touched. With nofollow, a symlink at the last component is refused.
    """
    data, st = read_at(None, path, path, nofollow)
    return data, st is not None


def read_at(dir_fd, name, path, nofollow=True):
    """(data, stat of what was read or None when missing) of the file ``name`` in the directory ``dir_fd``.

    At most MAX_FILE_SIZE + 1 bytes are read, whatever the file grows to meanwhile.
    """
    flags = os.O_RDONLY | _O_CLOEXEC | getattr(os, 'O_NONBLOCK', 0)
    if nofollow:
        flags |= _O_NOFOLLOW
    try:
        fd = os.open(name, flags, dir_fd=dir_fd) if dir_fd is not None else os.open(name, flags)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return {}, None
        if exc.errno == errno.ELOOP:
            raise ConfigFileError('%s turned into a symbolic link while it was being updated; refusing to follow it as '
                                  'root. Nothing was written.' % path)
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ConfigFileError('Cannot read %s: permission denied. Run as its owner (become) or fix its permissions.'
                                  % path)
        raise ConfigFileError('Cannot read %s: %s.' % (path, exc.strerror))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigFileError('%s is not a regular file; give the path of a JSON file.' % path)
        if st.st_size > MAX_FILE_SIZE:
            raise ConfigFileError('%s is %d bytes, larger than the %d bytes a registry auth file can sensibly be; '
                                  'it was left unchanged.' % (path, st.st_size, MAX_FILE_SIZE))
        chunks = []
        left = MAX_FILE_SIZE + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise ConfigFileError('%s grew past the %d bytes a registry auth file can sensibly be while it was read; '
                                  'it was left unchanged.' % (path, MAX_FILE_SIZE))
    finally:
        os.close(fd)
    return parse(b''.join(chunks), path), st


_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def _count_values(text):
    """About how many JSON values text holds (objects and arrays, and the items their commas separate)."""
    bare = _STRING_RE.sub('', text)
    return bare.count('{') + bare.count('[') + bare.count(',') + 1


def parse(raw, path):
    """The JSON object of an auth file's bytes, or ConfigFileError."""
    # Only built-in codecs here: this may run with another user's identity, which may not be able to import more.
    if raw.startswith(b'\xef\xbb\xbf'):
        raw = raw[3:]
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise ConfigFileError('%s is not UTF-8 text; it was left unchanged. Fix or remove it.' % path)
    if not text.strip():
        return {}
    if _count_values(text) > MAX_JSON_VALUES:
        raise ConfigFileError('%s holds more than %d JSON values, more than a registry auth file can sensibly hold; it '
                              'was left unchanged.' % (path, MAX_JSON_VALUES))
    try:
        data = json.loads(text)
    except RecursionError:
        raise ConfigFileError('%s is not valid JSON for a registry auth file (nested too deeply); it was left unchanged.' % path)
    except ValueError as exc:
        raise ConfigFileError('%s is not valid JSON (%s); it was left unchanged. Fix or remove the file, then run again.'
                              % (path, exc))
    if not isinstance(data, dict):
        raise ConfigFileError('%s holds a JSON %s, but a registry auth file must be a JSON object; it was left unchanged.'
                              % (path, _json_type(data)))
    for key, kind in (('auths', dict), ('credHelpers', dict), ('credsStore', str)):
        if key in data and data[key] is not None and not isinstance(data[key], kind):
            raise ConfigFileError('%s: "%s" is a JSON %s where a JSON %s is expected; it was left unchanged.'
                                  % (path, key, _json_type(data[key]), 'object' if kind is dict else 'string'))
    return data


def _json_type(value):
    if value is None:
        return 'null'
    return {dict: 'object', list: 'array', str: 'string', bool: 'boolean', int: 'number', float: 'number'}.get(
        type(value), type(value).__name__)


def stored_credential(entry):
    """(username, secret) held by an auths entry, or None when it holds none we can read."""
    if not isinstance(entry, dict):
        return None
    if entry.get('identitytoken'):
        return ('<identitytoken>', entry['identitytoken'])
    if entry.get('auth'):
        return decode_auth(entry['auth'])
    if entry.get('username') and entry.get('password') is not None:
        return (entry['username'], entry['password'])
    return None


def helper_for(data, host):
    """The credential helper Docker would use for host: credHelpers[host], then credsStore; or None."""
    helpers = data.get('credHelpers') or {}
    if helpers.get(host):
        return helpers[host]
    return data.get('credsStore') or None


# --------------------------------------------------------------------------------------------
# Planning (pure: data in, data out)


def plan_present(data, hosts, username, password, min_validity=0, reauthorize=False, now=None):
    """New data with an entry for every host; and {host: action} (added / updated / unchanged)."""
    new = dict(data)
    auths = dict(data.get('auths') or {})
    actions = {}
    for host in hosts:
        entry = auths.get(host)
        if entry is not None and not isinstance(entry, dict):
            raise ConfigFileError('The entry for %s in "auths" is a JSON %s, not an object; the file was left unchanged.'
                                  % (host, _json_type(entry)))
        current = stored_credential(entry)
        if not reauthorize and still_current(current, username, password, min_validity, now):
            actions[host] = 'unchanged'
            continue
        kept = dict((k, v) for k, v in (entry or {}).items() if k not in _SECRET_FIELDS)
        # password None: check mode with a token IAM has not issued yet; never written.
        kept['auth'] = encode_auth(username, password if password is not None else '')
        auths[host] = kept
        actions[host] = 'added' if entry is None else 'updated'
    new['auths'] = auths
    return new, actions


def plan_absent(data, hosts):
    """New data without the hosts' entries; and {host: action} (removed / unchanged)."""
    new = dict(data)
    auths = dict(data.get('auths') or {})
    actions = {}
    for host in hosts:
        if host in auths:
            del auths[host]
            actions[host] = 'removed'
        else:
            actions[host] = 'unchanged'
    if 'auths' in data or auths:
        new['auths'] = auths
    return new, actions


def summary(data, hosts):
    """{host: (username, secret) or None} for diffs."""
    auths = data.get('auths') or {}
    return dict((host, stored_credential(auths.get(host))) for host in hosts)


def serialize(data):
    """The bytes Docker itself would write: tab-indented JSON; compact when indenting would pass MAX_FILE_SIZE."""
    raw = json.dumps(data, indent='\t').encode('utf-8')
    if len(raw) > MAX_FILE_SIZE:
        raw = json.dumps(data, separators=(',', ':')).encode('utf-8')
    return raw


# --------------------------------------------------------------------------------------------
# Writing, relative to directory file descriptors


def _refuse_changed(path, why):
    raise ConfigFileError('%s changed while it was being written (%s); nothing was written there. Run again.'
                          % (path, why))


def open_dir(directory, target, create=False):
    """(fd of directory, [directories created]): the directory walked from / one component at a time.

    For a protected target (root as itself or as the path's controller) no component may be a symlink
    (O_NOFOLLOW) and every component must still be what secure_resolve accepted. Missing directories are made
    0700 with mkdir(dir_fd), checked to be ours, and given the owner/group asked. The fd is O_PATH where the
    platform has it.
    """
    parts = [p for p in directory.split(os.sep) if p]
    protected = getattr(target, 'protected', False)
    acting_uid = os.geteuid()
    named = set(uid for uid in (target.owner,) if uid is not None)
    fd = os.open(os.sep, _DIR_FLAGS)
    parent_st = os.fstat(fd)
    here = os.sep
    created = []
    try:
        for part in parts:
            here = os.path.join(here, part)
            made = False
            try:
                child = os.open(part, _DIR_FLAGS | (_O_NOFOLLOW if protected else 0), dir_fd=fd)
            except OSError as exc:
                if exc.errno == errno.ENOENT and create:
                    child, made = _make_dir(fd, part, here)
                elif exc.errno in (errno.ELOOP, errno.ENOTDIR) and protected and _is_link(fd, part):
                    _refuse_changed(here, 'a symbolic link appeared on the way')
                else:
                    raise
            try:
                st = os.fstat(child)
                if made:
                    if not stat.S_ISDIR(st.st_mode) or st.st_uid != acting_uid:
                        _refuse_changed(here, 'the directory made is not ours')
                    os.chmod(part, 0o700, dir_fd=fd)
                    if target.owner is not None or target.group is not None:
                        os.chown(part, -1 if target.owner is None else target.owner,
                                 -1 if target.group is None else target.group, dir_fd=fd, follow_symlinks=False)
                    st = os.fstat(child)
                    created.append(here)
                if protected:
                    _check_entry(parent_st, st, here, named)
                    if st.st_uid not in (0, acting_uid) and st.st_uid not in named:
                        _refuse_changed(here, 'it belongs to %s' % _name_of(st.st_uid))
                    if acting_uid == 0 and st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
                        raise ConfigFileError('%s can be changed by users other than root (mode %04o, not sticky); '
                                              'refusing to write a registry credential below it as root. Tighten its '
                                              'mode, or give user.' % (here, stat.S_IMODE(st.st_mode)))
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


def _is_link(dir_fd, name):
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _make_dir(parent_fd, name, path):
    """(fd, True) of a directory made 0700 in parent_fd; (fd, False) if one appeared meanwhile."""
    made = True
    try:
        os.mkdir(name, 0o700, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise ConfigFileError('Cannot create directory %s: %s.' % (path, exc.strerror))
        made = False
    try:
        return os.open(name, _DIR_FLAGS | _O_NOFOLLOW, dir_fd=parent_fd), made
    except OSError as exc:
        _refuse_changed(path, exc.strerror)


def _dir_io_fd(dir_fd):
    """A read-only fd of the directory behind dir_fd (an O_PATH fd cannot be locked, listed or fsynced)."""
    if not _O_PATH:
        return os.dup(dir_fd)
    return os.open('.', os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC, dir_fd=dir_fd)


@contextlib.contextmanager
def locked(directory, timeout=LOCK_TIMEOUT, dir_fd=None):
    """An exclusive advisory lock on a directory, so that concurrent writers of one file take turns."""
    if dir_fd is not None:
        fd = _dir_io_fd(dir_fd)
    else:
        fd = os.open(directory, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
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
                    raise ConfigFileError('Another process has held the lock on %s for %d seconds; try again when it is '
                                          'done.' % (directory, timeout))
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        yield fd
    finally:
        os.close(fd)


def _temp_prefix(path):
    return '.%s.' % os.path.basename(path)


def _create_temp(dir_fd, path):
    """(fd, name) of a new 0600 temp file beside path: O_EXCL|O_NOFOLLOW, so nothing planted is ever opened."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
    for _attempt in range(100):
        name = '%s%s.tmp' % (_temp_prefix(path), binascii.hexlify(os.urandom(6)).decode('ascii'))
        try:
            return os.open(name, flags, 0o600, dir_fd=dir_fd), name
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
    raise ConfigFileError('Could not create a temp file beside %s: 100 names were taken.' % path)


def final_mode(target, current):
    """The mode the file gets: the asked one, else the mode of the file that was read, else 0600."""
    if target.mode is not None:
        return target.mode
    return stat.S_IMODE(current.st_mode) if current is not None else 0o600


def write_atomic(path, content, target, dir_fd=None, current=None):
    """Replace path's content atomically, keeping the owner and mode of the file that was read (``current``).

    With dir_fd, everything happens in that directory: the temp file is created, written and renamed there,
    whatever the path's directories have become meanwhile. Returns the file's final mode.
    """
    name = os.path.basename(path)
    own_fd = dir_fd is None
    if own_fd:
        dir_fd = open_dir(os.path.dirname(path), target)[0]
        try:
            current = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                os.close(dir_fd)
                raise ConfigFileError('Cannot inspect %s: %s.' % (path, exc.strerror))
            current = None
    try:
        if current is not None and not stat.S_ISREG(current.st_mode):
            raise ConfigFileError('%s is not a regular file; it was left unchanged.' % path)
        mode = final_mode(target, current)
        uid = target.owner if target.owner is not None else (current.st_uid if current else -1)
        gid = target.group if target.group is not None else (current.st_gid if current else -1)
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
                raise ConfigFileError('Cannot write %s: %s. The file was left unchanged.' % (path, exc.strerror))
            raise ConfigFileError('Writing %s failed: %s. The file was left unchanged.' % (path, exc.strerror))
        except BaseException:
            if tmp is not None:
                _unlink_quietly(tmp, dir_fd)
            raise
        _fsync_dir(dir_fd)
        return mode
    finally:
        if own_fd:
            os.close(dir_fd)


def remove_stale_temps(path, dir_fd=None):
    """Remove temp files a killed writer left beside path. Only called under the lock, when no writer of ours is
    between creating its temp file and renaming it; only regular files of this identity are touched."""
    prefix = _temp_prefix(path)
    try:
        if dir_fd is None:
            names = os.listdir(os.path.dirname(path))
        else:
            io_fd = _dir_io_fd(dir_fd)
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


def _unlink_quietly(path, dir_fd=None):
    try:
        if dir_fd is None:
            os.unlink(path)
        else:
            os.unlink(path, dir_fd=dir_fd)
    except OSError:
        pass


def _fsync_dir(dir_fd):
    try:
        fd = _dir_io_fd(dir_fd)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _open_existing(dir_fd, name, path):
    """A read-only fd of the regular file name in dir_fd (never through a link), or None if it is gone."""
    try:
        fd = os.open(name, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | getattr(os, 'O_NONBLOCK', 0), dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        if exc.errno == errno.ELOOP:
            _refuse_changed(path, 'it turned into a symbolic link')
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ConfigFileError('%s is not a regular file; it was left unchanged.' % path)
    return fd


def apply_attributes(dir_fd, name, path, target):
    """Owner, group and mode asked for on a file whose content did not change (through an fd of the file itself).
    Returns the file's mode, or None if it is gone."""
    fd = _open_existing(dir_fd, name, path)
    if fd is None:
        return None
    try:
        st = os.fstat(fd)
        mode = stat.S_IMODE(st.st_mode)
        if target.mode is not None and mode != target.mode:
            os.fchmod(fd, target.mode)
            mode = target.mode
        uid = st.st_uid if target.owner is None else target.owner
        gid = st.st_gid if target.group is None else target.group
        if (uid, gid) != (st.st_uid, st.st_gid):
            os.fchown(fd, uid, gid)
    finally:
        os.close(fd)
    return mode


def attributes_differ(st, target):
    """True if an existing file's owner, group or mode (its stat) differs from what the target asks."""
    if st is None:
        return False
    return ((target.mode is not None and stat.S_IMODE(st.st_mode) != target.mode)
            or (target.owner is not None and st.st_uid != target.owner)
            or (target.group is not None and st.st_gid != target.group))


def resolve_link(path):
    """Where a write to path lands: Docker follows a symlinked config file, and so do we."""
    return os.path.realpath(path) if os.path.islink(path) else path


def _planned(plan, data, path):
    try:
        return plan(data)
    except ConfigFileError as exc:
        raise ConfigFileError('%s: %s' % (path, exc.msg))


def _read_file(target, path):
    """(data, stat or None) of path as target: through the walked directory's fd when it exists."""
    try:
        dir_fd = open_dir(os.path.dirname(path), target)[0]
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return {}, None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ConfigFileError('Cannot read %s: permission denied. Run as its owner (become) or fix its permissions.'
                                  % path)
        raise ConfigFileError('Cannot read %s: %s.' % (path, exc.strerror))
    try:
        return read_at(dir_fd, os.path.basename(path), path)
    finally:
        os.close(dir_fd)


def peek(target):
    """The current data of target's file (read-only), resolved and read the way update() would."""
    return inspect(target)['data']


def inspect(target):
    """What update() would start from: {'data', 'stat' (of the file or None), 'acting' (the Target acted as)}."""
    acting, path = _locate(target)
    with identity(acting):
        data, st = _read_file(acting, path)
    return {'data': data, 'stat': st, 'acting': acting, 'path': path}


def check_file_helpers(seen, helpers):
    """Refuse credential helpers named in a file that another user controls while root acts as itself.

    ``seen`` is what inspect() returned; ``helpers`` maps host to the helper the file names."""
    if not helpers or os.geteuid() != 0 or seen['acting'].pw is not None:
        return
    st = seen['stat']
    if st is None or (st.st_uid == 0 and not st.st_mode & 0o022):
        return
    raise ConfigFileError('%s names the credential helper %s, but the file can be changed by %s; root does not run a '
                          'helper that another user chose with root\'s own identity and store. Set credential_store: file '
                          '(or a helper name), or give user: or owner: for that user.'
                          % (seen['path'], ', '.join('docker-credential-' + n for n in sorted(set(helpers.values()))),
                             _name_of(st.st_uid) if st.st_uid != 0 else 'users other than root'))


def _locate(target):
    try:
        return locate(target)
    except OSError as exc:
        raise ConfigFileError('Cannot resolve %s: %s. Nothing was written.' % (target.path, exc.strerror))


def update(target, plan, check_mode=False):
    """Read target's file, let ``plan(data) -> (new_data, actions)`` decide, write if the meaning changed.

    Returns a dict: changed, actions, before (data), after (data), path (where it landed), created_dirs, and
    mode (the file's mode afterwards; None when there is no file).
    """
    acting, path = _locate(target)
    try:
        with identity(acting):
            return _update(acting, path, plan, check_mode)
    except OSError as exc:
        why = ''
        if acting.acts_as_user:
            why = (' Root acted as %s here, because that user controls this path; the file can only be what that user '
                   'may make it (its owner, group and mode included).' % acting.pw.pw_name)
        raise ConfigFileError('Cannot write %s: %s%s. The file was left unchanged.%s'
                              % (path, exc.strerror or exc, (' (%s)' % exc.filename) if exc.filename else '', why))


def _update(target, path, plan, check_mode):
    data, st = _read_file(target, path)
    exists = st is not None
    new, actions = _planned(plan, data, path)
    # An action other than 'unchanged' writes even when the bytes would be equal (reauthorize).
    content_changed = new != data or any(a != 'unchanged' for a in actions.values())
    result = {'path': path, 'before': data, 'after': new, 'actions': actions, 'created_dirs': [],
              'changed': False, 'exists': exists, 'mode': stat.S_IMODE(st.st_mode) if exists else None}
    if not content_changed:
        if exists and attributes_differ(st, target):
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
            # Read again under the lock: another writer may have landed since.
            data, st = read_at(dir_fd, name, path)
            exists = st is not None
            new, actions = _planned(plan, data, path)
            result.update(before=data, after=new, actions=actions, exists=exists)
            if new == data and exists and all(a == 'unchanged' for a in actions.values()):
                result['changed'] = attributes_differ(st, target)
                result['mode'] = stat.S_IMODE(st.st_mode)
                if result['changed']:
                    result['mode'] = apply_attributes(dir_fd, name, path, target)
                return result
            content = serialize(new)
            if len(content) > MAX_FILE_SIZE:
                raise ConfigFileError('%s would be %d bytes, larger than the %d bytes a registry auth file can sensibly '
                                      'be; it was left unchanged.' % (path, len(content), MAX_FILE_SIZE))
            result['mode'] = write_atomic(path, content, target, dir_fd=dir_fd, current=st)
    return result


@contextlib.contextmanager
def _dir(target, path, create):
    """The walked directory of path (see open_dir), created if asked; directories made get owner/group asked."""
    directory = os.path.dirname(path)
    dir_fd, created = open_dir(directory, target, create=create)
    try:
        yield dir_fd, created
    finally:
        os.close(dir_fd)
