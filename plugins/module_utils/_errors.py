# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The exception family of icr.auth (internal use only).

Every message names what is wrong and how to fix it, and never carries a secret.
"""

from __future__ import annotations


class IcrAuthError(Exception):
    """Base of every error raised by the icr.auth utility."""

    def __init__(self, msg: str, **details: object) -> None:
        super(IcrAuthError, self).__init__(msg)
        self.msg = msg
        self.details = details


class InputError(IcrAuthError):
    """An option has a value that cannot be used."""


class ConfigFileError(IcrAuthError):
    """A registry auth file cannot be read, parsed or written."""


class CredentialHelperError(IcrAuthError):
    """A docker-credential-helpers program is missing, failed or answered nonsense."""


class IamError(IcrAuthError):
    """IBM Cloud IAM refused the request or could not be reached."""


class RegistryError(IcrAuthError):
    """The registry refused the credential or could not be reached."""


# Details of an error that a module returns beside msg (the rest stay internal).
RETURNED_DETAILS = ('verification', 'code')


def failure(exc: IcrAuthError) -> dict:
    """The fail_json arguments of an error: its message and the details a module returns."""
    result = dict((k, v) for k, v in exc.details.items() if k in RETURNED_DETAILS)
    result['msg'] = exc.msg
    return result
