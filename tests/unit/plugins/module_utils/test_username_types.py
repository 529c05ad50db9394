# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The registry of username types, and the questions the engines ask it."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _username_types as username_types
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token


def test_names_in_the_documented_order_and_each_type_answers_to_its_name():
    assert username_types.USERNAME_TYPES == ('iamapikey', 'iambearer', 'iamrefresh', 'trusted_profile')
    for name in username_types.USERNAME_TYPES:
        assert username_types.get(name).name == name
    assert [username_types.get(n).is_api_key for n in username_types.USERNAME_TYPES] == [True, False, False, True]
    assert [username_types.get(n).needs_iam for n in username_types.USERNAME_TYPES] == [False, True, True, False]
    assert username_types.API_KEY_TYPES == ('iamapikey', 'trusted_profile')


@pytest.mark.parametrize('name', ['iamkey', '', None, 'IAMAPIKEY'])
def test_an_unknown_name_is_refused_with_the_valid_ones(name):
    with pytest.raises(InputError) as err:
        username_types.get(name)
    assert err.value.msg == f'username_type: {name!r} is none of iamapikey, iambearer, iamrefresh, trusted_profile.'


def test_check_password_dispatches_to_the_type():
    token = iam_token(now=1000, lifetime=60)
    assert username_types.check_password('iamapikey', API_KEY) == (API_KEY, None)
    assert username_types.check_password('iambearer', 'Bearer ' + token, now=1000) == (token, 1060)
    assert username_types.check_password('iamrefresh', 'opaque-refresh') == ('opaque-refresh', None)
    with pytest.raises(InputError) as err:
        username_types.check_password('iambearer', token, now=1060)
    assert err.value.msg == ('password: the IAM access token expired at 1970-01-01T00:17:40Z; get a fresh one '
                             '(icr.auth.icr_credential).')


def test_exchange_asks_the_client_only_for_a_token_type():
    class Client(object):
        def __init__(self):
            self.asked = []

        def apikey_token(self, api_key, want_refresh=False):
            self.asked.append(want_refresh)
            raise AssertionError('not asked in this test')

    client = Client()
    assert username_types.exchange(client, API_KEY, 'iamapikey') == (API_KEY, None, None) and client.asked == []


def test_exchange_hands_the_client_to_the_token_types():
    class Token(object):
        access_token, refresh_token, expires_at = 'a.b.c', 'opaque-refresh', 1234

    class Client(object):
        def __init__(self):
            self.asked = []

        def apikey_token(self, api_key, want_refresh=False):
            self.asked.append((api_key, want_refresh))
            return Token()

    client = Client()
    assert username_types.exchange(client, API_KEY, 'iambearer')[:2] == ('a.b.c', 1234)
    assert username_types.exchange(client, API_KEY, 'iamrefresh')[:2] == ('opaque-refresh', 1234)
    assert client.asked == [(API_KEY, False), (API_KEY, True)]


def test_still_current_rules():
    now = 10000
    old = iam_token(now=now, lifetime=3600)
    new = iam_token(now=now + 5, lifetime=3600)
    other = iam_token(iam_id='iam-ServiceId-other', now=now, lifetime=3600)
    other_account = iam_token(account='c' * 32, now=now, lifetime=3600)
    assert username_types.still_current(('iamapikey', API_KEY), 'iamapikey', API_KEY, 600, now)
    assert not username_types.still_current(('iamapikey', API_KEY), 'iamapikey', API_KEY + 'x', 600, now)
    assert not username_types.still_current(('iambearer', API_KEY), 'iamapikey', API_KEY, 600, now)
    assert not username_types.still_current(None, 'iamapikey', API_KEY, 600, now)
    # A still-valid bearer token of the same identity stays, unless it expires within min_validity.
    assert username_types.still_current(('iambearer', old), 'iambearer', new, 600, now)
    assert not username_types.still_current(('iambearer', old), 'iambearer', new, 3601, now)
    assert not username_types.still_current(('iambearer', old), 'iambearer', other, 600, now)
    assert not username_types.still_current(('iambearer', old), 'iambearer', other_account, 600, now)
    # Unknown new token (check mode): validity decides alone.
    assert username_types.still_current(('iambearer', old), 'iambearer', None, 600, now)
    assert not username_types.still_current(('iambearer', old), 'iambearer', None, 600, now + 3500)
    # Refresh tokens are opaque: only the same value stays.
    assert not username_types.still_current(('iamrefresh', 'r1'), 'iamrefresh', 'r2', 0, now)
    assert not username_types.still_current(('other', 'x'), 'other', 'y', 0, now)


PROFILE = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'


def test_login_name_and_type_of_a_stored_username():
    assert username_types.login_name('iamapikey') == 'iamapikey'
    assert username_types.login_name('trusted_profile', PROFILE) == PROFILE
    with pytest.raises(InputError) as err:
        username_types.login_name('trusted_profile')
    assert err.value.msg.startswith('trusted_profile_id: ')
    with pytest.raises(InputError) as err:
        username_types.login_name('iambearer', PROFILE)
    assert err.value.msg.startswith('trusted_profile_id: it is only used with username_type trusted_profile')
    assert username_types.type_of(PROFILE).name == 'trusted_profile'
    assert username_types.type_of('iambearer').name == 'iambearer'
    assert username_types.type_of('trusted_profile') is None and username_types.type_of('bob') is None
    assert username_types.exchange(None, API_KEY, 'trusted_profile') == (API_KEY, None, None)


def test_still_current_for_a_trusted_profile_login():
    assert username_types.still_current((PROFILE, API_KEY), PROFILE, API_KEY, 600, 0)
    assert not username_types.still_current((PROFILE, API_KEY), PROFILE, API_KEY + 'x', 0, 0)
    other = 'Profile-0b6f2c4e-8d1a-4c3b-9e7f-1a2b3c4d5e6f'
    assert not username_types.still_current((other, API_KEY), PROFILE, API_KEY, 0, 0)
    assert not username_types.still_current(('iamapikey', API_KEY), PROFILE, API_KEY, 0, 0)
    # A key sent as the profile is never kept in place of another, nor of a check-mode placeholder.
    assert not username_types.still_current((PROFILE, API_KEY), PROFILE, None, 0, 0)
