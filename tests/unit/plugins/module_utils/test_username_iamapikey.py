# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Username iamapikey: the API key itself."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._username_iamapikey import IamApiKey, check_api_key

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token


@pytest.mark.parametrize('value,msg', [
    ('', 'api_key: no API key was given. Pass it from a vault, or set IBMCLOUD_API_KEY.'),
    (None, 'api_key: no API key was given. Pass it from a vault, or set IBMCLOUD_API_KEY.'),
    (API_KEY + '\n', 'api_key: the API key contains white space (a stray newline or blank from where it is stored?); '
                     'remove it.'),
    (' ' + API_KEY, 'api_key: the API key contains white space (a stray newline or blank from where it is stored?); '
                    'remove it.'),
    (iam_token(), 'api_key: this is an IAM access token, not an API key; use username_type iambearer with it as '
                  'password, or give the API key.'),
])
def test_api_keys_that_cannot_be_right(value, msg):
    with pytest.raises(InputError) as err:
        check_api_key(value)
    assert err.value.msg == msg


def test_the_option_is_named():
    check_api_key(API_KEY)
    with pytest.raises(InputError) as err:
        check_api_key('', option='password')
    assert err.value.msg.startswith('password: no API key was given.')


def test_the_password_is_the_key_and_never_a_token():
    kind = IamApiKey()
    assert kind.check_password(API_KEY) == (API_KEY, None)
    with pytest.raises(InputError) as err:
        kind.check_password(iam_token())
    assert err.value.msg == ('password: this is an IAM access token, not an API key; set username_type: iambearer, or '
                             'pass the API key.')
    with pytest.raises(InputError) as err:
        kind.check_password('Bearer ' + API_KEY)  # no prefix is dropped for a key
    assert 'white space' in err.value.msg


def test_issuing_asks_nobody_and_nothing_but_the_same_key_stays():
    kind = IamApiKey()
    assert kind.issue(None, API_KEY) == (API_KEY, None, None)
    assert kind.keeps(API_KEY, API_KEY + 'x', 0) is False
    assert kind.is_api_key and not kind.needs_iam and 'no_log: true' in kind.exposure_warning
