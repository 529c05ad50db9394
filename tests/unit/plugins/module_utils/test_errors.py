# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_errors: one family of exceptions, each carrying its message and details."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _errors as errors

KINDS = (errors.InputError, errors.ConfigFileError, errors.CredentialHelperError, errors.IamError,
         errors.RegistryError)


@pytest.mark.parametrize('kind', KINDS)
def test_every_kind_is_an_icr_auth_error_with_its_message_and_details(kind):
    with pytest.raises(errors.IcrAuthError) as caught:
        raise kind('what is wrong; how to fix it', helper='pass', status=401)
    assert caught.value.__class__ is kind
    assert caught.value.msg == 'what is wrong; how to fix it' == str(caught.value)
    assert caught.value.details == {'helper': 'pass', 'status': 401}


def test_details_default_to_empty_and_are_not_shared():
    first, second = errors.IamError('a'), errors.IamError('b')
    assert first.details == {} and second.details == {}
    first.details['code'] = 'X'
    assert second.details == {}


@pytest.mark.parametrize('kind', KINDS)
def test_the_kinds_are_told_apart(kind):
    others = [k for k in KINDS if k is not kind]
    assert not [k.__name__ for k in others if issubclass(kind, k)]
    assert not [k.__name__ for k in others if isinstance(kind('x'), k)]


def test_the_base_is_an_exception_not_a_base_exception_only():
    assert issubclass(errors.IcrAuthError, Exception)
    assert errors.IcrAuthError('m').args == ('m',)
