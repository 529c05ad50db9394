# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The identity sources of the credential helper by name (internal use only).

Adding an identity source is adding its file (see _identity_base.IdentitySource) and one entry below.
"""

from __future__ import annotations

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._identity_base import IdentitySource
from ansible_collections.icr.auth.plugins.module_utils._identity_cr_token import ComputeResource
from ansible_collections.icr.auth.plugins.module_utils._identity_key_file import ApiKeyFile
from ansible_collections.icr.auth.plugins.module_utils._identity_vpc import VpcTrustedProfile
from ansible_collections.icr.auth.plugins.module_utils._stdlib_http import Transport

_SOURCES = dict((kind.name, kind) for kind in (VpcTrustedProfile, ComputeResource, ApiKeyFile))
IDENTITY_SOURCES = tuple(_SOURCES)


def source(config: dict, transport: Transport) -> IdentitySource:
    """The identity source a (validated) configuration names."""
    try:
        kind = _SOURCES[config.get('identity')]
    except (KeyError, TypeError):
        raise InputError(f"identity: {config.get('identity')!r} is none of {', '.join(IDENTITY_SOURCES)}.") from None
    return kind(config, transport)
