# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Username trusted_profile: a trusted profile's id as username, a service ID's API key as password."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._username_iamapikey import IamApiKey
from ansible_collections.icr.auth.plugins.module_utils._username_profile import (
    TrustedProfile,
    check_profile_id,
    is_profile_id,
)

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token

PROFILE = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'


def test_the_type_is_an_api_key_type_that_never_asks_iam():
    kind = TrustedProfile()
    assert kind.name == 'trusted_profile' and kind.is_api_key and not kind.needs_iam
    assert 'no_log: true' in kind.exposure_warning and "service ID's API key" in kind.exposure_warning


def test_the_username_is_the_profile_id():
    kind = TrustedProfile()
    assert kind.login_name(PROFILE) == PROFILE
    assert kind.login_name(' ' + PROFILE + '\n') == PROFILE
    assert kind.owns(PROFILE) and kind.owns(PROFILE.upper().replace('PROFILE-', 'Profile-'))
    assert not kind.owns('trusted_profile') and not kind.owns('iamapikey') and not kind.owns(None)
    assert kind.identity_of(PROFILE) == 'iam-' + PROFILE
    assert kind.identity_of('iamapikey') is None and kind.identity_of('iam-' + PROFILE) is None


@pytest.mark.parametrize('value', [None, ''])
def test_a_missing_profile_id_names_the_option(value):
    with pytest.raises(InputError) as err:
        check_profile_id(value)
    assert err.value.msg == ('trusted_profile_id: username_type trusted_profile needs the id of the trusted profile to '
                             'log in as (Profile-<uuid>, shown in the IAM console under Trusted profiles, or by '
                             '"ibmcloud iam trusted-profile <name> --id").')


@pytest.mark.parametrize('value,hint', [
    ('e86a78ef-3927-4e8f-9b0c-15434b101e77', ''),
    ('profile-e86a78ef-3927-4e8f-9b0c-15434b101e77', ''),
    ('Profile-e86a78ef-3927-4e8f-9b0c-15434b101e7', ''),
    ('Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77x', ''),
    ('Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77\nProfile-e86a78ef-3927-4e8f-9b0c-15434b101e77', ''),
    (12, ''),
    ('iam-' + PROFILE, ' An IAM id was given: drop its "iam-" prefix.'),
    ('crn:v1:bluemix:public:iam-identity::a/0a1b::profile:' + PROFILE,
     ' A CRN was given: use the id at its end (Profile-<uuid>).'),
])
def test_a_malformed_profile_id_names_the_option_and_the_form(value, hint):
    with pytest.raises(InputError) as err:
        check_profile_id(value)
    assert err.value.msg == ('trusted_profile_id: the value is not a trusted profile id; give it as Profile-<uuid> (for '
                             'example Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77).' + hint)
    assert not is_profile_id(value)


def test_an_api_key_given_as_profile_id_is_never_echoed():
    with pytest.raises(InputError) as err:
        TrustedProfile().login_name(API_KEY)
    assert API_KEY not in err.value.msg and API_KEY not in str(err.value)


def test_the_password_is_the_key_never_a_token_and_never_exchanged():
    kind = TrustedProfile()
    assert kind.check_password(API_KEY) == (API_KEY, None)
    with pytest.raises(InputError) as err:
        kind.check_password(iam_token())
    assert err.value.msg == ('password: this is an IAM access token, but username_type trusted_profile needs the API '
                             'key of a service ID that the profile trusts; pass that API key.')

    class Client(object):
        def apikey_token(self, *args, **kwargs):
            raise AssertionError('the key of a trusted profile login is never exchanged')

    issued = kind.issue(Client(), API_KEY)
    assert (issued.password, issued.expires_at, issued.token, issued.iam_id) == (API_KEY, None, None, None)


def test_the_other_types_take_no_profile_id():
    kind = IamApiKey()
    assert kind.login_name(None) == kind.login_name('') == 'iamapikey'
    with pytest.raises(InputError) as err:
        kind.login_name(PROFILE)
    assert err.value.msg == ('trusted_profile_id: it is only used with username_type trusted_profile, not iamapikey; '
                             'set username_type: trusted_profile, or remove trusted_profile_id.')
    assert kind.owns('iamapikey') and not kind.owns(PROFILE) and kind.identity_of('iamapikey') is None
