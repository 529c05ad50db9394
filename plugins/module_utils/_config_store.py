# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read, change and write Docker config.json and containers auth.json safely (internal use only).

Standard library only: this file is shipped to every managed host.

- Every unknown key and every other registry's entry is kept; only the asked hosts' entries change.
- A file that cannot be parsed is never touched: the caller gets ConfigFileError.
- Writes are atomic (see _atomic_file), under an exclusive lock on the directory, and only when the content
  changes by meaning.
- New files are 0600 in 0700 directories; an existing file keeps its owner and mode.
- Root acts as whoever controls the path (see _privilege), and the whole write happens relative to directory
  file descriptors (see _dir_walk).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

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


def _planned(plan, data, path):
    try:
        return plan(data)
    except ConfigFileError as exc:
        raise ConfigFileError('%s: %s' % (path, exc.msg))


def _parsed(dir_fd, name, path):
    """(data, stat or None) of the file name in dir_fd; a missing file is ({}, None)."""
    raw, st = read_at(dir_fd, name, path)
    return ({} if raw is None else auth_file.parse(raw, path)), st


def _read_file(target, path):
    """(data, stat or None) of path as target: through the walked directory's fd when it exists."""
    try:
        dir_fd = open_dir(os.path.dirname(path), target, protected=target.protected)[0]
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return {}, None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ConfigFileError('Cannot read %s: permission denied. Run as its owner (become) or fix its permissions.'
                                  % path)
        raise ConfigFileError('Cannot read %s: %s.' % (path, exc.strerror))
    try:
        return _parsed(dir_fd, os.path.basename(path), path)
    finally:
        os.close(dir_fd)


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
                             name_of(st.st_uid) if st.st_uid != 0 else 'users other than root'))


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
            data, st = _parsed(dir_fd, name, path)
            exists = st is not None
            new, actions = _planned(plan, data, path)
            result.update(before=data, after=new, actions=actions, exists=exists)
            if new == data and exists and all(a == 'unchanged' for a in actions.values()):
                result['changed'] = attributes_differ(st, target)
                result['mode'] = stat.S_IMODE(st.st_mode)
                if result['changed']:
                    result['mode'] = apply_attributes(dir_fd, name, path, target)
                return result
            content = auth_file.serialize(new)
            if len(content) > auth_file.MAX_FILE_SIZE:
                raise ConfigFileError('%s would be %d bytes, larger than the %d bytes a registry auth file can sensibly '
                                      'be; it was left unchanged.' % (path, len(content), auth_file.MAX_FILE_SIZE))
            result['mode'] = write_atomic(path, content, target, dir_fd=dir_fd, current=st)
    return result


@contextlib.contextmanager
def _dir(target, path, create):
    """The walked directory of path (see open_dir), created if asked; directories made get owner/group asked."""
    directory = os.path.dirname(path)
    dir_fd, created = open_dir(directory, target, create=create, protected=target.protected)
    try:
        yield dir_fd, created
    finally:
        os.close(dir_fd)
