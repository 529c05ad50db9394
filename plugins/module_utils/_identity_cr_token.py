# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Identity compute_resource: a compute-resource token (IKS, OpenShift, Code Engine) for IAM (internal use only).

The token file is read again on every exchange (projected tokens rotate); without cr_token_file the paths the IBM
SDKs use are tried in their order. The grant is urn:ibm:params:oauth:grant-type:cr-token with profile_id and/or
profile_name.
"""

from __future__ import annotations

import errno
import os

from ansible_collections.icr.auth.plugins.module_utils._iam import CR_TOKEN_GRANT
from ansible_collections.icr.auth.plugins.module_utils._identity_base import AccessToken, IdentityError, IdentitySource

DEFAULT_CR_TOKEN_FILES = (
    '/var/run/secrets/tokens/vault-token',
    '/var/run/secrets/tokens/sa-token',
    '/var/run/secrets/codeengine.cloud.ibm.com/compute-resource-token/token',
)
MAX_TOKEN_SIZE = 64 * 1024


def read_token_file(path: str) -> str | None:
    """The token in path (surrounding white space dropped), None if there is no such file; IdentityError otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NONBLOCK', 0))
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise IdentityError(f'cannot read the compute-resource token file {path}: {exc.strerror}')
    try:
        raw = os.read(fd, MAX_TOKEN_SIZE + 1)
    except OSError as exc:
        raise IdentityError(f'cannot read the compute-resource token file {path}: {exc.strerror}')
    finally:
        os.close(fd)
    if len(raw) > MAX_TOKEN_SIZE:
        raise IdentityError(f'the compute-resource token file {path} is larger than {MAX_TOKEN_SIZE} bytes; check '
                            'cr_token_file')
    try:
        token = raw.decode('ascii').strip()
    except UnicodeDecodeError:
        raise IdentityError(f'the compute-resource token file {path} does not hold a token (not ASCII text)') from None
    if not token or any(c.isspace() for c in token):
        raise IdentityError(f'the compute-resource token file {path} does not hold a token (empty, or white space '
                            'inside)')
    return token


class ComputeResource(IdentitySource):
    """A compute-resource token exchanged for the IAM token of a trusted profile."""

    name = 'compute_resource'
    keys = ('profile_id', 'profile_name', 'cr_token_file')

    def token_files(self) -> tuple:
        given = self.config.get('cr_token_file')
        return (given,) if given else DEFAULT_CR_TOKEN_FILES

    def read_cr_token(self) -> str:
        paths = self.token_files()
        for path in paths:
            token = read_token_file(path)
            if token is not None:
                return token
        if len(paths) == 1:
            raise IdentityError(f'the compute-resource token file {paths[0]} does not exist; check cr_token_file and '
                                "the workload's projected service account token volume")
        raise IdentityError(f"no compute-resource token file was found (tried {', '.join(paths)}); set cr_token_file, "
                            'or run where a compute-resource token is mounted (IKS, OpenShift, Code Engine)')

    def fetch(self) -> AccessToken:
        form = {'grant_type': CR_TOKEN_GRANT, 'cr_token': self.read_cr_token()}
        for key in ('profile_id', 'profile_name'):
            if self.config.get(key):
                form[key] = self.config[key]
        return self.iam_exchange(form, 'exchange the compute-resource token')
