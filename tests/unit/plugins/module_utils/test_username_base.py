# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the username types share: the secret checks and the issued credential."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._username_base import Issued, UsernameType, checked_secret

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import iam_token

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


class Recorded(UsernameType):
    """A username type whose form check records what it is given and answers a fixed expiry."""

    name = 'recorded'
    prefix = 'bearer '

    def __init__(self):
        self.seen = []

    def check_form(self, password, claims, now):
        self.seen.append((password, claims, now))
        return 4321


def test_without_a_prefix_nothing_is_dropped():
    assert checked_secret('Bearerabc', 'opt', 'it', 'x') == 'Bearerabc'
    assert checked_secret('bearer', 'opt', 'it', 'x') == 'bearer'


def test_check_password_drops_the_prefix_and_hands_the_form_check_the_claims_and_time():
    kind = Recorded()
    token = iam_token(now=1000, lifetime=60)
    assert kind.check_password('Bearer ' + token, now=1234.5) == (token, 4321)
    assert kind.check_password('opaque', 77) == ('opaque', 4321)
    assert kind.check_password('opaque') == ('opaque', 4321)
    claims = kind.seen[0][1]
    assert claims['exp'] == 1060 and claims['iam_id'] == 'iam-ServiceId-1234'
    assert kind.seen == [(token, claims, 1234.5), ('opaque', None, 77), ('opaque', None, None)]


@pytest.mark.parametrize('value', ['', None])
def test_check_password_refuses_an_empty_password(value):
    kind = Recorded()
    with pytest.raises(InputError) as err:
        kind.check_password(value)
    assert err.value.msg == 'password: it is empty. Pass the API key or token (from a vault), or use api_key.'
    assert kind.seen == []


def test_check_password_refuses_white_space():
    kind = Recorded()
    with pytest.raises(InputError) as err:
        kind.check_password('ab cd')
    assert err.value.msg == f'password: it {SPACE}'
    with pytest.raises(InputError) as err:
        kind.check_password('Bearer  x')  # only the prefix is dropped: the second blank stays
    assert err.value.msg == f'password: it {SPACE}'
    assert kind.seen == []


@pytest.mark.parametrize('profile_id', [None, ''])
def test_a_type_logs_in_under_its_own_name_without_a_profile(profile_id):
    assert Recorded().login_name(profile_id) == 'recorded'
    assert Recorded().login_name() == 'recorded'


@pytest.mark.parametrize('profile_id', ['Profile-x', 0, False])
def test_a_profile_id_is_refused_by_a_type_that_takes_none(profile_id):
    with pytest.raises(InputError) as err:
        Recorded().login_name(profile_id)
    assert err.value.msg == ('trusted_profile_id: it is only used with username_type trusted_profile, not recorded; '
                             'set username_type: trusted_profile, or remove trusted_profile_id.')


def test_a_type_owns_only_its_own_name_and_names_no_identity():
    kind = Recorded()
    assert kind.owns('recorded') is True
    assert kind.owns('Recorded') is False and kind.owns('other') is False and kind.owns(None) is False
    assert kind.identity_of('recorded') is None
