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
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import grp
import json
import os
import pwd
import re
import stat
import tempfile
import time

from ansible_collections.icr.auth.plugins.module_utils._credential import (
    decode_auth,
    encode_auth,
    still_current,
)
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError, InputError

FORMATS = ('docker', 'containers')
MAX_FILE_SIZE = 64 * 1024 * 1024
LOCK_TIMEOUT = 60.0
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
        return int(owner)
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
    if fmt == 'docker':
        if use_env and env.get('DOCKER_CONFIG'):
            return os.path.join(os.path.expanduser(env['DOCKER_CONFIG']), 'config.json')
        return os.path.join(home, '.docker', 'config.json')
    if use_env and env.get('REGISTRY_AUTH_FILE'):
        return os.path.expanduser(env['REGISTRY_AUTH_FILE'])
    config_home = env.get('XDG_CONFIG_HOME') if use_env else None
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


def secure_resolve(path):
    """Follow path as the kernel would, and say who controls what it means.

    Returns (controller, resolved path). The controller is the password entry of the first user other than root
    who owns a directory or symlink met on the way (None if there is none): that user can change everything
    below it, so root must act as them there. Each component is looked at with lstat, so a link a user
    planted counts as theirs, and a root-owned link into a user's directory does not hide that user. A
    root-owned directory that others may rewrite (group- or world-writable, not sticky) is refused.
    """
    parts = [p for p in path.split(os.sep) if p]
    current = os.sep
    controller = None
    links = 0
    while parts:
        part = parts.pop(0)
        if part == '.':
            continue
        if part == '..':
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, part)
        try:
            st = os.lstat(candidate)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return controller, os.path.join(candidate, *parts) if parts else candidate
            raise ConfigFileError('Cannot inspect %s: %s.' % (candidate, exc.strerror))
        if controller is None and st.st_uid != 0:
            controller = _owner(st.st_uid, candidate)
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > MAX_LINKS:
                raise ConfigFileError('%s: too many levels of symbolic links.' % path)
            target = os.readlink(candidate)
            if os.path.isabs(target):
                current = os.sep
            parts = [p for p in target.split(os.sep) if p] + parts
            continue
        if stat.S_ISDIR(st.st_mode) and controller is None and st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            raise ConfigFileError('%s can be changed by users other than root (mode %04o, not sticky); refusing to write '
                                  'a registry credential below it as root. Tighten its mode, or give user.'
                                  % (candidate, stat.S_IMODE(st.st_mode)))
        current = candidate
    return controller, current


def locate(target):
    """(the Target to act as, the path to use, whether to refuse a symlink at the last component).

    A target for a user's home acts as that user from the start. Otherwise, when root runs, the path is
    resolved now, at the moment of use, and root acts as whoever controls it (see secure_resolve); when
    nobody does, the last component must not turn into a link later (O_NOFOLLOW).
    """
    if target.pw is not None or os.geteuid() != 0:
        with identity(target):
            return target, resolve_link(target.path), False
    controller, path = secure_resolve(target.path)
    acting = Target(path, target.format, pw=controller, owner=target.owner, group=target.group, mode=target.mode)
    return acting, path, controller is None


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
    flags = os.O_RDONLY | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NONBLOCK', 0)
    if nofollow:
        flags |= getattr(os, 'O_NOFOLLOW', 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return {}, False
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
        while True:
            chunk = os.read(fd, 1024 * 1024)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    return parse(b''.join(chunks), path), True


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
    """The bytes Docker itself would write: tab-indented JSON."""
    return json.dumps(data, indent='\t').encode('utf-8')


# --------------------------------------------------------------------------------------------
# Writing


def ensure_dir(directory, target):
    """Create missing directories 0700 (owned by the target's owner when given). Returns the created ones."""
    missing = []
    current = directory
    while not os.path.isdir(current):
        if os.path.lexists(current):
            raise ConfigFileError('%s exists but is not a directory; cannot write the registry auth file under it.'
                                  % current)
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    created = []
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise ConfigFileError('Cannot create directory %s: %s.' % (path, exc.strerror))
            # Someone else made it meanwhile: use it only if it is a real directory of the identity we act as.
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
                raise ConfigFileError('%s appeared while it was being created, and is not a directory of ours; nothing '
                                      'was written.' % path)
            continue
        os.chmod(path, 0o700)
        if target.owner is not None or target.group is not None:
            os.chown(path, -1 if target.owner is None else target.owner, -1 if target.group is None else target.group)
        created.append(path)
    return created


@contextlib.contextmanager
def locked(directory, timeout=LOCK_TIMEOUT):
    """An exclusive advisory lock on a directory, so that concurrent writers of one file take turns."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0) | getattr(os, 'O_CLOEXEC', 0))
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
        yield
    finally:
        os.close(fd)


def write_atomic(path, content, target):
    """Replace path's content atomically, keeping an existing file's owner and mode."""
    directory = os.path.dirname(path)
    try:
        current = os.stat(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise ConfigFileError('Cannot inspect %s: %s.' % (path, exc.strerror))
        current = None
    if current is not None and not stat.S_ISREG(current.st_mode):
        raise ConfigFileError('%s is not a regular file; it was left unchanged.' % path)
    mode = target.mode if target.mode is not None else (stat.S_IMODE(current.st_mode) if current else 0o600)
    uid = target.owner if target.owner is not None else (current.st_uid if current else -1)
    gid = target.group if target.group is not None else (current.st_gid if current else -1)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix='.tmp', dir=directory)
    try:
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, mode)
            if (uid != -1 and uid != os.geteuid()) or (gid != -1 and gid != os.getegid()):
                os.fchown(fd, uid, gid)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise ConfigFileError('Cannot write %s: %s. The file was left unchanged.' % (path, exc.strerror))
        raise ConfigFileError('Writing %s failed: %s. The file was left unchanged.' % (path, exc.strerror))
    except BaseException:
        _unlink_quietly(tmp)
        raise
    _fsync_dir(directory)


def _temp_prefix(path):
    return '.%s.' % os.path.basename(path)


def remove_stale_temps(path):
    """Remove temp files a killed writer left beside path. Only called under the lock, when no writer of ours is
    between creating its temp file and renaming it; only regular files of this identity are touched."""
    directory = os.path.dirname(path)
    prefix = _temp_prefix(path)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith('.tmp')):
            continue
        full = os.path.join(directory, name)
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
            _unlink_quietly(full)


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def apply_attributes(path, target):
    """Owner, group and mode asked for on a file whose content did not change. Returns True if any changed."""
    if target.owner is None and target.group is None and target.mode is None:
        return False
    st = os.stat(path)
    changed = False
    if target.mode is not None and stat.S_IMODE(st.st_mode) != target.mode:
        os.chmod(path, target.mode)
        changed = True
    uid = st.st_uid if target.owner is None else target.owner
    gid = st.st_gid if target.group is None else target.group
    if (uid, gid) != (st.st_uid, st.st_gid):
        os.chown(path, uid, gid)
        changed = True
    return changed


def attributes_differ(path, target):
    """True if an existing file's owner, group or mode differs from what the target asks."""
    try:
        st = os.stat(path)
    except OSError:
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


def peek(target):
    """The current data of target's file (read-only), resolved and read the way update() would."""
    acting, path, nofollow = locate(target)
    with identity(acting):
        return read(path, nofollow)[0]


def update(target, plan, check_mode=False):
    """Read target's file, let ``plan(data) -> (new_data, actions)`` decide, write if the meaning changed.

    Returns a dict: changed, actions, before (data), after (data), path (where it landed), created_dirs.
    """
    acting, path, nofollow = locate(target)
    try:
        with identity(acting):
            return _update(acting, path, nofollow, plan, check_mode)
    except OSError as exc:
        why = ''
        if acting.acts_as_user:
            why = (' Root acted as %s here, because that user controls this path; the file can only be what that user '
                   'may make it (its owner, group and mode included).' % acting.pw.pw_name)
        raise ConfigFileError('Cannot write %s: %s%s. The file was left unchanged.%s'
                              % (path, exc.strerror or exc, (' (%s)' % exc.filename) if exc.filename else '', why))


def _update(target, path, nofollow, plan, check_mode):
    data, exists = read(path, nofollow)
    new, actions = _planned(plan, data, path)
    # An action other than 'unchanged' writes even when the bytes would be equal (reauthorize).
    content_changed = new != data or any(a != 'unchanged' for a in actions.values())
    result = {'path': path, 'before': data, 'after': new, 'actions': actions, 'created_dirs': [],
              'changed': False, 'exists': exists}
    if not content_changed:
        if exists and attributes_differ(path, target):
            result['changed'] = True
            if not check_mode:
                apply_attributes(path, target)
        return result
    result['changed'] = True
    if check_mode:
        return result
    directory = os.path.dirname(path)
    result['created_dirs'] = ensure_dir(directory, target)
    with locked(directory):
        remove_stale_temps(path)
        # Read again under the lock: another writer may have landed since.
        data, exists = read(path, nofollow)
        new, actions = _planned(plan, data, path)
        result.update(before=data, after=new, actions=actions, exists=exists)
        if new == data and exists and all(a == 'unchanged' for a in actions.values()):
            result['changed'] = attributes_differ(path, target)
            if result['changed']:
                apply_attributes(path, target)
            return result
        write_atomic(path, serialize(new), target)
    return result
