# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Username type trusted_profile: the username is a trusted profile's id, the password a service ID's API key
(internal use only).

ICR's trusted-profile login (release of 14 February 2025): ``docker login -u <Profile-id> -p <API key>`` gives the
registry access of the profile, when the profile trusts the service ID the key belongs to - in any account, which is
what makes cross-account pulls possible. The key is sent as it is, like iamapikey's: never exchanged, never cached,
never returned to a task that would show it. Standard library only: this file is shipped to every managed host.
"""

from __future__ import annotations

import re

from typing import Any

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._username_base import Issued, UsernameType

OPTION = 'trusted_profile_id'
PROFILE_ID_RE = re.compile(r'^Profile-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')


def is_profile_id(value: object) -> bool:
    """True if value has the form of a trusted profile id (Profile-<uuid>)."""
    return isinstance(value, str) and PROFILE_ID_RE.match(value) is not None


def check_profile_id(value: object) -> str:
    """The trusted profile id of the option; InputError naming the option if it is missing or not of the form."""
    if value is None or value == '':
        raise InputError(f'{OPTION}: username_type trusted_profile needs the id of the trusted profile to log in as '
                         '(Profile-<uuid>, shown in the IAM console under Trusted profiles, or by '
                         '"ibmcloud iam trusted-profile <name> --id").')
    if not isinstance(value, str) or not is_profile_id(value.strip()):
        if isinstance(value, str) and value.startswith('crn:'):
            hint = ' A CRN was given: use the id at its end (Profile-<uuid>).'
        elif isinstance(value, str) and value.startswith('iam-Profile-'):
            hint = ' An IAM id was given: drop its "iam-" prefix.'
        else:
            hint = ''
        # The value is not echoed: an API key given here by mistake must not be shown.
        raise InputError(f'{OPTION}: the value is not a trusted profile id; give it as Profile-<uuid> (for example '
                         f'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77).{hint}')
    return value.strip()


class TrustedProfile(UsernameType):
    """A trusted profile's id as username, the API key of a service ID it trusts as password."""

    name = 'trusted_profile'
    is_api_key = True
    exposure_warning = ('password and dockerconfigjson are null: for trusted_profile they hold the service ID\'s API key, '
                        'which is returned only to a task with no_log: true (its result is then shown nowhere). Set '
                        'no_log: true on this task.')

    def login_name(self, profile_id: object = None) -> str:
        return check_profile_id(profile_id)

    def owns(self, username: object) -> bool:
        return is_profile_id(username)

    def identity_of(self, username: str) -> str | None:
        """The IAM id of the identity whose access the login has: the profile's."""
        return 'iam-' + username if is_profile_id(username) else None

    def check_form(self, password: str, claims: dict | None, now: float | None) -> int | None:
        if claims is not None:
            raise InputError('password: this is an IAM access token, but username_type trusted_profile needs the API '
                             'key of a service ID that the profile trusts; pass that API key.')
        return None

    def issue(self, client: Any, api_key: str) -> Issued:
        return Issued(api_key, None, None)
