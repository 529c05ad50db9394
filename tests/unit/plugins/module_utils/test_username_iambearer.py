# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Username iambearer: an IAM access token."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._username_iambearer import IamBearer, bearer_still_good, bearer_valid_for

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token

NOW = 10000


def test_a_token_is_checked_and_its_expiry_read():
    token = iam_token(now=NOW, lifetime=60)
    assert IamBearer().check_password('bearer ' + token, now=NOW) == (token, NOW + 60)
    assert IamBearer().check_password(token, now=NOW + 59) == (token, NOW + 60)


def test_an_api_key_or_an_expired_token_is_refused():
    with pytest.raises(InputError) as err:
        IamBearer().check_password(API_KEY)
    assert err.value.msg == ('password: username_type iambearer needs an IAM access token (a JWT), and this is not one. '
                             'An API key goes with username_type iamapikey.')
    with pytest.raises(InputError) as err:
        IamBearer().check_password(iam_token(now=NOW, lifetime=60), now=NOW + 60)
    assert err.value.msg == ('password: the IAM access token expired at 1970-01-01T02:47:40Z; get a fresh one '
                             '(icr.auth.icr_credential).')


def test_without_a_time_the_clock_decides():
    fresh = iam_token(lifetime=3600)
    assert IamBearer().check_password(fresh)[0] == fresh
    with pytest.raises(InputError) as err:
        IamBearer().check_password(iam_token(now=NOW, lifetime=60))
    assert err.value.msg.startswith('password: the IAM access token expired at 1970-01-01T02:47:40Z;')
    assert bearer_valid_for(fresh, 600) and not bearer_valid_for(fresh, 7200)
    assert bearer_still_good(fresh, iam_token(lifetime=3600), 600)
    assert not bearer_valid_for(iam_token(now=NOW, lifetime=3600), 0)


def test_issuing_asks_for_an_access_token_without_a_refresh_client():
    class Token(object):
        access_token, expires_at, iam_id, account_id = 'a.b.c', 1234, 'iam-x', 'acct'

    class Client(object):
        def __init__(self):
            self.asked = []

        def apikey_token(self, api_key, want_refresh=False):
            self.asked.append((api_key, want_refresh))
            return Token()

    client = Client()
    issued = IamBearer().issue(client, API_KEY)
    assert issued[:2] == ('a.b.c', 1234) and (issued.iam_id, issued.account_id) == ('iam-x', 'acct')
    assert client.asked == [(API_KEY, False)]


def test_a_stored_token_stays_while_valid_and_of_the_same_identity():
    old = iam_token(now=NOW, lifetime=600)
    new = iam_token(now=NOW + 5, lifetime=3600)
    other = iam_token(iam_id='iam-ServiceId-other', now=NOW, lifetime=3600)
    assert bearer_still_good(old, new, 600, NOW) and not bearer_still_good(old, new, 601, NOW)
    assert not bearer_still_good(old, other, 0, NOW) and not bearer_still_good(API_KEY, new, 0, NOW)
    assert not bearer_still_good(old, API_KEY, 0, NOW)
    assert not bearer_still_good(iam_token(iam_id=None, sub=None, now=NOW), iam_token(iam_id=None, sub=None, now=NOW), 0, NOW)
    assert bearer_valid_for(old, 600, NOW) and not bearer_valid_for(old, 601, NOW) and not bearer_valid_for(API_KEY, 0, NOW)
    assert IamBearer().keeps(old, new, 600, NOW) and IamBearer().keeps(old, None, 600, NOW)
    assert not IamBearer().keeps(old, other, 600, NOW) and not IamBearer().keeps(old, None, 601, NOW)
