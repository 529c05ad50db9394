# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Username iamrefresh: an IAM refresh token."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError
from ansible_collections.icr.auth.plugins.module_utils._username_iamrefresh import IamRefresh

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token


def iam(refresh, asked):
    """An IAM client stand-in whose token answer carries refresh as its refresh token."""
    def apikey_token(api_key, want_refresh=False):
        asked.append((api_key, want_refresh))
        return SimpleNamespace(access_token='a.b.c', refresh_token=refresh, expires_at=1234, iam_id='iam-x',
                               account_id='acct')
    return SimpleNamespace(apikey_token=apikey_token)


def test_the_password_is_an_opaque_refresh_token_never_an_access_token():
    assert IamRefresh().check_password('opaque-refresh') == ('opaque-refresh', None)
    with pytest.raises(InputError) as err:
        IamRefresh().check_password(iam_token())
    assert err.value.msg == ('password: this is an IAM access token, but username_type iamrefresh needs a refresh token; '
                             'set username_type: iambearer, or pass the refresh token.')
    assert not IamRefresh().keeps('r1', 'r2', 0) and not IamRefresh().keeps('r1', None, 0)


def test_issuing_asks_for_a_usable_refresh_token():
    asked = []
    issued = IamRefresh().issue(iam('a-refresh-token', asked), API_KEY)
    assert issued[:2] == ('a-refresh-token', 1234) and (issued.iam_id, issued.account_id) == ('iam-x', 'acct')
    assert issued.token.access_token == 'a.b.c'
    assert asked == [(API_KEY, True)]
    for unusable in ('not_supported', '', None):
        with pytest.raises(IamError) as err:
            IamRefresh().issue(iam(unusable, []), API_KEY)
        assert err.value.msg == ('IAM did not issue a usable refresh token for username_type iamrefresh; use iambearer or '
                                 'iamapikey instead.')
