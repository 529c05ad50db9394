# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the username types share: the secret checks and the issued credential."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._username_base import Issued, UsernameType, checked_secret

SPACE = 'contains white space (a stray newline or blank from where it is stored?); remove it.'


@pytest.mark.parametrize('value', ['', None, 42, b'bytes'])
def test_no_secret_is_refused_with_the_empty_message(value):
    with pytest.raises(InputError) as err:
        checked_secret(value, 'opt', 'it', 'nothing here.')
    assert err.value.msg == 'opt: nothing here.'


@pytest.mark.parametrize('value', ['a b', 'ab\n', ' ab', 'a\tb', 'a\u00a0b'])
def test_white_space_anywhere_is_refused(value):
    with pytest.raises(InputError) as err:
        checked_secret(value, 'opt', 'the thing', 'nothing here.')
    assert err.value.msg == f'opt: the thing {SPACE}' and value not in err.value.msg


def test_a_prefix_is_dropped_in_any_case_and_only_at_the_start():
    assert checked_secret('Bearer abc', 'opt', 'it', 'x', 'bearer ') == 'abc'
    assert checked_secret('BEARER abc', 'opt', 'it', 'x', 'bearer ') == 'abc'
    assert checked_secret('abc', 'opt', 'it', 'x', 'bearer ') == 'abc'
    with pytest.raises(InputError):
        checked_secret('Bearer abc', 'opt', 'it', 'x')  # without the prefix, its blank is white space


def test_issued_is_a_tuple_that_names_the_identity_of_its_token():
    class Token(object):
        iam_id, account_id = 'iam-x', 'acct'

    issued = Issued('pw', 12, Token())
    assert issued[:2] == ('pw', 12) and (issued.iam_id, issued.account_id) == ('iam-x', 'acct')
    assert Issued('key', None, None) == ('key', None, None)
    assert (Issued('key', None, None).iam_id, Issued('key', None, None).account_id) == (None, None)


def test_the_base_type_keeps_nothing_and_has_no_form_of_its_own():
    kind = UsernameType()
    assert kind.keeps('a', 'b', 0) is False and kind.needs_iam is True
    with pytest.raises(NotImplementedError):
        kind.check_password('abc')
    with pytest.raises(NotImplementedError):
        kind.issue(None, 'abc')
