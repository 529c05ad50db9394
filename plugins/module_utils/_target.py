# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which files icr_login changes, from its options (internal use only).

Standard library only: this file is shipped to every managed host.
"""

from __future__ import annotations

import os
import pwd
import re

from ansible_collections.icr.auth.plugins.module_utils._auth_file import FORMATS, default_path
from ansible_collections.icr.auth.plugins.module_utils._dir_walk import Attributes
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._options import LOGIN_DEFAULTS
from ansible_collections.icr.auth.plugins.module_utils._privilege import acts_as, lookup_gid, lookup_uid, lookup_user


class Target(Attributes):
    """The file to change, its format, the identity to change it with, and the owner/group/mode to give it."""

    def __init__(self, path: str, fmt: str, account: pwd.struct_passwd | None = None, owner: int | None = None,
                 group: int | None = None, mode: int | None = None):
        super(Target, self).__init__(owner=owner, group=group, mode=mode)
        self.path = path
        self.format = fmt
        self.account = account  # passwd entry of the user whose home holds the file (root acts as them), or None
        self.protected = False  # root acting as itself or as the path's controller: walk without following links

    def acting(self, path: str, controller: pwd.struct_passwd | None) -> Target:
        """The protected Target root acts as for this one: at the resolved path, as its controller (or None)."""
        acting = Target(path, self.format, account=controller, owner=self.owner, group=self.group, mode=self.mode)
        acting.protected = True
        return acting

    @property
    def acts_as_user(self) -> bool:
        """True when root must act as the home's owner to touch this file."""
        return acts_as(self.account)


def parse_mode(mode: str | int | None) -> int | None:
    """An octal mode given as a string ('0600') or a number."""
    if mode is None:
        return None
    if isinstance(mode, int):
        if 100 <= mode <= 7777 and set(str(mode)) <= set('01234567') and mode & 0o600 != 0o600:
            raise InputError(f"mode: {mode} was given as a number, which YAML reads as decimal; quote it, for example "
                             f"mode: '0{mode}'.")
        value = mode
    else:
        text = str(mode).strip()
        try:
            value = int(text, 8)
        except ValueError:
            if re.match(r'^[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*$', text):
                raise InputError(f"mode: {mode!r} is a symbolic mode; give the file's mode in octal, for example mode: "
                                 "'0600'.")
            raise InputError(f"mode: {mode!r} is not an octal mode; give one such as mode: '0600'.")
    if value < 0 or value > 0o7777:
        raise InputError(f'mode: {mode!r} is out of range; give an octal mode such as 0600.')
    if value & 0o600 != 0o600:
        raise InputError(f'mode: {mode!r} would keep the owner from reading or writing the file; give 0600 or wider.')
    return value


def check_config_path(path: str, option: str = 'config_path') -> str:
    """Refuse paths that cannot be what the user meant."""
    if not isinstance(path, str) or not path.strip():
        raise InputError(f'{option}: an empty path was given.')
    if '\x00' in path:
        raise InputError(f'{option}: the path contains a NUL byte.')
    if not os.path.isabs(os.path.expanduser(path)):
        raise InputError(f'{option}: {path!r} is not an absolute path; give the full path of the file.')
    if '..' in path.split(os.sep):
        raise InputError(f'{option}: {path!r} contains "..": give the path without parent-directory steps.')
    if path.endswith(os.sep):
        raise InputError(f'{option}: {path!r} names a directory; give the path of the file itself (…/config.json).')
    return os.path.expanduser(path)


def build_targets(params: dict) -> list[Target]:
    """The files to change, as Target objects."""
    fmt = params.get('format') or LOGIN_DEFAULTS['format']
    formats = list(FORMATS) if fmt == 'both' else [fmt]
    user = params.get('user')
    config_path = params.get('config_path')
    if config_path is not None and len(formats) > 1:
        raise InputError('config_path names one file, but format: both writes two; use format docker or containers '
                         'with config_path, or give user instead.')
    account = lookup_user(user) if user is not None else pwd.getpwuid(os.geteuid())
    owner = lookup_uid(params.get('owner'))
    group = lookup_gid(params.get('group'))
    mode = parse_mode(params.get('mode'))
    targets = []
    for one in formats:
        if config_path is not None:
            path = check_config_path(config_path)
        else:
            path = default_path(one, account, use_env=user is None)
        # Root acts as the user for their home (user given); for a path of its own choosing, config_store decides
        # at the moment of use whom to act as, so that nobody can redirect root's write with a link.
        targets.append(Target(path, one, account=account if user is not None else None, owner=owner, group=group,
                              mode=mode))
    return targets
