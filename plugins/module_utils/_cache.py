# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A controller-side cache of exchanged credentials, so that a rerun within validity makes no IAM call.

Files are 0600 in a 0700 directory, named by a hash of (IAM URL, username type, API key) - never by the
key - and hold the credential until it is within min_validity of expiring (internal use only).
"""

from __future__ import annotations

import hashlib
import json
import os
import time

from ansible_collections.icr.auth.plugins.module_utils import _config_store as store
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError

FIELDS = ('username', 'password', 'expires_at', 'iam_id', 'account_id')


def default_dir(env=None):
    env = os.environ if env is None else env
    base = env.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'icr.auth')


def entry_path(cache_dir, url, username_type, api_key):
    digest = hashlib.sha256('\0'.join(('icr.auth/1', url, username_type, api_key)).encode('utf-8')).hexdigest()
    return os.path.join(cache_dir, digest + '.json')


def load(path, min_validity, now=None):
    """The cached credential if present, well-formed and valid for min_validity seconds; else None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    # Only trust a regular file of ours that nobody else can read or write.
    if not os.path.isfile(path) or os.path.islink(path) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        return None
    try:
        data, _exists = store.read(path)
    except ConfigFileError:
        return None
    if not all(k in data for k in FIELDS) or not isinstance(data.get('password'), (str, type(None))):
        return None
    if data.get('password') is None and data.get('username') != 'iamapikey':
        return None
    exp = data.get('expires_at')
    now = time.time() if now is None else now
    if not isinstance(exp, int) or exp - now < min_validity:
        return None
    return data


def save(path, record):
    """Write a cache entry (0600, directory 0700); failures to cache are not fatal, so they return a warning."""
    target = store.Target(path, 'cache', mode=0o600)
    try:
        directory = os.path.dirname(path)
        store.ensure_dir(directory, target)
        os.chmod(directory, 0o700)
        store.write_atomic(path, json.dumps(dict((k, record.get(k)) for k in FIELDS)).encode('utf-8'), target)
    except (OSError, ConfigFileError) as exc:
        return 'Could not cache the credential in %s (%s); the next run will ask IAM again.' % (
            os.path.dirname(path), getattr(exc, 'msg', None) or exc)
    return None


def drop(path):
    try:
        os.unlink(path)
    except OSError:
        pass
