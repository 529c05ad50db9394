# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_credential's engine with a stand-in network: what it asks, what it returns, what it withholds."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError, RegistryError
from ansible_collections.icr.auth.plugins.module_utils import _obtain
from ansible_collections.icr.auth.plugins.module_utils._obtain import (
    api_key_from, credential_result, invocation_args, obtain, parse_scopes, withhold)
from ansible_collections.icr.auth.plugins.module_utils._registry import Verification
from ansible_collections.icr.auth.plugins.module_utils._username_base import Issued

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, OTHER_KEY

NOW = 1000000


class Token(object):
    iam_id, account_id, expires_at = 'iam-x', 'acct', NOW + 3600


class Client(object):
    url = 'https://iam.example/identity/token'


class FakeNetwork(object):
    """What obtain() asks of a Network, recorded."""

    def __init__(self, refuse=False):
        self.client = Client()
        self.calls = []
        self.refuse = refuse

    def exchange(self, api_key, username_type):
        self.calls.append(('exchange', username_type))
        return Issued('token-of-' + username_type, NOW + 3600, Token())

    def identity(self, api_key):
        self.calls.append(('identity',))
        return Token()

    def verify(self, hosts, username, password, scopes=None):
        self.calls.append(('verify', tuple(hosts), username, password, tuple(scopes or ())))
        return [Verification(h, not self.refuse, 'no' if self.refuse else 'ok') for h in hosts]


def params(**extra):
    base = {'api_key': API_KEY, 'cache': False, 'registries': ['us.icr.io']}
    base.update(extra)
    return base


def test_the_api_key_option_then_the_environment():
    assert api_key_from({'api_key': API_KEY}, {'IBMCLOUD_API_KEY': OTHER_KEY}) == API_KEY
    assert api_key_from({}, {'IC_API_KEY': API_KEY, 'IBMCLOUD_API_KEY': OTHER_KEY}) == OTHER_KEY
    assert api_key_from({}, {'IC_API_KEY': API_KEY}) == API_KEY and api_key_from({}, {}, required=False) is None
    with pytest.raises(InputError):
        api_key_from({}, {})


def test_iamapikey_asks_iam_only_for_the_identity_of_a_proof():
    network = FakeNetwork()
    result, warnings = obtain(params(), {}, network=network, now=NOW)
    assert network.calls == [('identity',), ('verify', ('us.icr.io',), 'iamapikey', API_KEY, ())]
    assert (result['password'], result['expires_at'], result['iam_id'], result['account_id']) == (API_KEY, None, 'iam-x', 'acct')
    assert result['verification'] == {'us.icr.io': {'ok': True, 'msg': 'ok', 'status': None, 'reason': None, 'granted': {}}}
    assert warnings == []
    quiet = FakeNetwork()
    obtain(params(verify=False), {}, network=quiet, now=NOW)
    assert quiet.calls == []


@pytest.mark.parametrize('kind', ['iambearer', 'iamrefresh'])
def test_a_token_type_is_exchanged_and_proven_with_its_scopes(kind):
    network = FakeNetwork()
    result, _w = obtain(params(username_type=kind, verify_access=['team-a/app:pull']), {}, network=network, now=NOW)
    assert network.calls == [('exchange', kind), ('verify', ('us.icr.io',), kind, 'token-of-' + kind,
                                                  ('repository:team-a/app:pull',))]
    assert (result['password'], result['expires_in'], result['iam_id']) == ('token-of-' + kind, 3600, 'iam-x')


def test_a_refused_proof_fails_with_every_verification():
    with pytest.raises(RegistryError) as err:
        obtain(params(registries=['us.icr.io', 'de.icr.io']), {}, network=FakeNetwork(refuse=True), now=NOW)
    assert err.value.msg == 'no no' and sorted(err.value.details['verification']) == ['de.icr.io', 'us.icr.io']


def test_a_short_lived_token_warns():
    _r, warnings = obtain(params(username_type='iambearer', verify=False, min_validity=3601), {}, network=FakeNetwork(),
                          now=NOW)
    assert warnings == ['IAM issued a token valid for 3600 seconds, less than min_validity (3601): it may expire during '
                        'the play. Use iamapikey, or lower min_validity.']


def test_parse_scopes():
    assert parse_scopes(['a/b:pull,push']) == ['repository:a/b:pull,push']
    with pytest.raises(InputError):
        parse_scopes(['a/b:delete'])


def test_withhold_keeps_the_api_key_from_a_shown_result_and_warns_for_a_token():
    shown = {'username': 'iamapikey', 'password': API_KEY, 'dockerconfigjson': {'auths': {}}}
    assert withhold(dict(shown), True) == []
    warnings = withhold(shown, False)
    assert shown['password'] is None and shown['dockerconfigjson'] is None and 'no_log: true' in warnings[0]
    token = {'username': 'iamrefresh', 'password': 'r', 'dockerconfigjson': {}}
    assert withhold(token, False) == ['The result holds an IAM refresh token (password, dockerconfigjson), and this task '
                                      'would show it: set no_log: true on this task.'] and token['password'] == 'r'


def test_credential_result_masks_an_environment_key_even_when_it_fails(monkeypatch):
    def refused(params, env):
        raise RegistryError('refused')
    monkeypatch.setattr(_obtain, 'obtain', refused)
    secrets = {'other'}
    with pytest.raises(RegistryError):
        credential_result({'api_key': None}, {'IBMCLOUD_API_KEY': OTHER_KEY}, True, secrets)
    assert secrets == {'other', OTHER_KEY}
    secrets = set()
    with pytest.raises(RegistryError):
        credential_result({'api_key': API_KEY}, {'IBMCLOUD_API_KEY': OTHER_KEY}, True, secrets)
    assert secrets == {API_KEY}  # the key used is the option's (a no_log option, masked anyway); the environment's is not


@pytest.mark.parametrize('no_log', [True, False])
def test_credential_result_returns_the_credential_unmasked_and_withholds_it_from_a_shown_task(monkeypatch, no_log):
    issued = {'username': 'iamapikey', 'username_type': 'iamapikey', 'password': OTHER_KEY, 'dockerconfigjson': {}}
    monkeypatch.setattr(_obtain, 'obtain', lambda params, env: (dict(issued), ['first']))
    secrets = {'other'}
    result, warnings = credential_result({'api_key': None}, {'IC_API_KEY': OTHER_KEY}, no_log, secrets)
    if no_log:
        assert result['password'] == OTHER_KEY and warnings == ['first'] and secrets == {'other'}
    else:
        assert result['password'] is None and result['dockerconfigjson'] is None and secrets == {'other', OTHER_KEY}
        assert warnings[0] == 'first' and 'no_log: true' in warnings[1] and len(warnings) == 2


def test_the_invocation_masks_the_api_key_only():
    assert invocation_args({'api_key': API_KEY, 'regions': ['us-south']}) == {
        'api_key': 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER', 'regions': ['us-south']}
    assert invocation_args({'api_key': None, 'cache': True}) == {'api_key': None, 'cache': True}
    assert invocation_args({'cache': True}) == {'cache': True}


PROFILE = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'


def test_a_trusted_profile_credential_is_the_key_sent_as_the_profile_and_proven_as_it():
    network = FakeNetwork()
    result, warnings = obtain(params(username_type='trusted_profile', trusted_profile_id=PROFILE), {}, network=network,
                              now=NOW)
    # Never exchanged: IAM is asked only for the key's identity, for the proof; the realm is asked as the profile.
    assert network.calls == [('identity',), ('verify', ('us.icr.io',), PROFILE, API_KEY, ())]
    assert (result['username'], result['username_type'], result['password']) == (PROFILE, 'trusted_profile', API_KEY)
    assert (result['expires_at'], result['expires_in'], result['iam_id']) == (None, None, 'iam-x') and warnings == []
    assert result['dockerconfigjson']['auths']['us.icr.io']['username'] == PROFILE
    shown = dict(result)
    warned = withhold(shown, False)
    assert shown['password'] is None and shown['dockerconfigjson'] is None and 'no_log: true' in warned[0]
    assert API_KEY not in repr(shown) and PROFILE == shown['username']


@pytest.mark.parametrize('extra,words', [
    ({'username_type': 'trusted_profile'}, 'trusted_profile_id: username_type trusted_profile needs the id'),
    ({'username_type': 'trusted_profile', 'trusted_profile_id': 'Profile-1'}, 'trusted_profile_id: the value is not'),
    ({'trusted_profile_id': PROFILE}, 'trusted_profile_id: it is only used with username_type trusted_profile'),
])
def test_a_bad_trusted_profile_id_fails_before_anything_is_sent(extra, words):
    network = FakeNetwork()
    with pytest.raises(InputError) as err:
        obtain(params(**extra), {}, network=network, now=NOW)
    assert err.value.msg.startswith(words) and network.calls == []


def test_a_trusted_profile_key_is_never_cached(tmp_path):
    network = FakeNetwork()
    p = params(username_type='trusted_profile', trusted_profile_id=PROFILE, cache=True, cache_dir=str(tmp_path))
    first, _w = obtain(p, {}, network=network, now=NOW)
    second, _w = obtain(p, {}, network=network, now=NOW)
    assert not first['cached'] and second['cached'] and second['password'] == API_KEY
    # Only the identity of the key is kept, never the key: the second run proved it again at the registry.
    assert [c[0] for c in network.calls] == ['identity', 'verify', 'verify']
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and API_KEY not in files[0].read_text() and PROFILE not in files[0].read_text()
