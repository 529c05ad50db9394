# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_credential's engine with a stand-in network: what it asks, what it returns, what it withholds."""

from __future__ import annotations

import base64
import time

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

    def __init__(self, refuse=False, expires_at=NOW + 3600):
        self.client = Client()
        self.calls = []
        self.keys = []  # the API keys IAM was asked with
        self.refuse = refuse
        self.expires_at = expires_at

    def exchange(self, api_key, username_type):
        self.calls.append(('exchange', username_type))
        self.keys.append(api_key)
        return Issued('token-of-' + username_type, self.expires_at, Token())

    def identity(self, api_key):
        self.calls.append(('identity',))
        self.keys.append(api_key)
        return Token()

    def verify(self, hosts, username, password, scopes=None):
        self.calls.append(('verify', tuple(hosts), username, password, tuple(scopes or ())))
        return [Verification(h, not self.refuse, 'no' if self.refuse else 'ok') for h in hosts]


@pytest.fixture(autouse=True)
def home(tmp_path_factory, monkeypatch):
    """The caller's home and working directory: the default cache directory is under it, never the real one."""
    home = tmp_path_factory.mktemp('home')
    monkeypatch.setenv('HOME', str(home))
    monkeypatch.delenv('XDG_CACHE_HOME', raising=False)
    monkeypatch.chdir(str(home))
    return home


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


def test_no_api_key_is_named_with_where_it_is_looked_for():
    with pytest.raises(InputError) as err:
        api_key_from({'api_key': None}, {'IC_API_KEY': ''})
    assert err.value.msg == ('api_key: no API key was given and neither IBMCLOUD_API_KEY nor IC_API_KEY is set. '
                             'Pass it from a vault, or export IBMCLOUD_API_KEY on the controller.')


def test_a_key_from_the_environment_is_the_one_iam_is_asked_with():
    network = FakeNetwork()
    result, _w = obtain(params(api_key=None, username_type='iambearer'), {'IBMCLOUD_API_KEY': OTHER_KEY},
                        network=network, now=NOW)
    assert network.keys == [OTHER_KEY] and result['password'] == 'token-of-iambearer'
    proof = FakeNetwork()
    result, _w = obtain(params(), {}, network=proof, now=NOW)
    assert proof.keys == [API_KEY] and result['password'] == API_KEY


def test_credential_result_of_a_key_from_the_environment():
    secrets = {'other'}
    result, warnings = credential_result({'api_key': None, 'regions': ['us-south'], 'verify': False, 'cache': False},
                                         {'IC_API_KEY': OTHER_KEY}, True, secrets)
    assert (result['username'], result['password'], result['registries']) == ('iamapikey', OTHER_KEY, ['us.icr.io'])
    assert warnings == [] and secrets == {'other'}


def test_the_result_of_a_token_names_every_part_of_the_credential():
    result, warnings = obtain(params(username_type='iamrefresh', regions=['eu-de'], registries=['us.icr.io']), {},
                              network=FakeNetwork(), now=NOW)
    auth = {'username': 'iamrefresh', 'password': 'token-of-iamrefresh',
            'auth': base64.b64encode(b'iamrefresh:token-of-iamrefresh').decode()}
    assert result == {
        'changed': False, 'username': 'iamrefresh', 'username_type': 'iamrefresh', 'password': 'token-of-iamrefresh',
        'expires_at': '1970-01-12T14:46:40Z', 'expires_in': 3600, 'iam_id': 'iam-x', 'account_id': 'acct',
        'registries': ['de.icr.io', 'us.icr.io'],
        'verification': {h: {'ok': True, 'msg': 'ok', 'status': None, 'reason': None, 'granted': {}}
                         for h in ('de.icr.io', 'us.icr.io')},
        'cached': False, 'dockerconfigjson': {'auths': {'de.icr.io': auth, 'us.icr.io': auth}}}
    assert warnings == []


def test_regions_and_registries_on_the_private_network():
    network = FakeNetwork()
    result, _w = obtain(params(regions=['us-south'], registries=['de.icr.io', 'us.icr.io'], private_endpoint=True), {},
                        network=network, now=NOW)
    assert result['registries'] == ['private.us.icr.io', 'private.de.icr.io']
    assert network.calls[-1][:2] == ('verify', ('private.us.icr.io', 'private.de.icr.io'))
    assert sorted(result['dockerconfigjson']['auths']) == ['private.de.icr.io', 'private.us.icr.io']


@pytest.mark.parametrize('private, prefix', [(False, ''), (True, 'private.')])
def test_without_registries_the_credential_is_for_every_region(private, prefix):
    network = FakeNetwork()
    result, warnings = obtain(params(registries=None, private_endpoint=private), {}, network=network, now=NOW)
    assert network.calls == [] and warnings == []
    assert (result['registries'], result['verification'], result['cached']) == ([], None, False)
    hosts = ['icr.io', 'au.icr.io', 'br.icr.io', 'ca2.icr.io', 'ca.icr.io', 'de.icr.io', 'es.icr.io', 'uk.icr.io',
             'in.icr.io', 'in2.icr.io', 'jp2.icr.io', 'jp.icr.io', 'us.icr.io']
    auth = {'username': 'iamapikey', 'password': API_KEY,
            'auth': base64.b64encode(b'iamapikey:' + API_KEY.encode()).decode()}
    assert result['dockerconfigjson'] == {'auths': dict((prefix + h, auth) for h in hosts)}


def test_verify_true_without_registries_is_refused_before_anything_is_sent():
    network = FakeNetwork()
    with pytest.raises(InputError) as err:
        obtain(params(registries=None, verify=True), {}, network=network, now=NOW)
    assert err.value.msg == ('verify: true, but there is nothing to prove the credential against: name the registries '
                             'in regions (such as us-south) or registries (such as us.icr.io), or set verify: false.')
    assert network.calls == []


def test_verify_true_with_registries_proves_the_credential():
    network = FakeNetwork()
    result, _w = obtain(params(verify=True), {}, network=network, now=NOW)
    assert network.calls == [('identity',), ('verify', ('us.icr.io',), 'iamapikey', API_KEY, ())]
    assert result['verification']['us.icr.io']['ok'] is True


@pytest.mark.parametrize('extra', [{'verify': False}, {'registries': None}])
def test_verify_access_without_a_proof_is_refused(extra):
    network = FakeNetwork()
    with pytest.raises(InputError) as err:
        obtain(params(verify_access=['a/b:pull'], **extra), {}, network=network, now=NOW)
    assert err.value.msg == 'verify_access needs regions or registries to verify against, and verify: true.'
    assert network.calls == []


def test_a_credential_not_verified_has_no_verification():
    result, _w = obtain(params(username_type='iambearer', verify=False), {}, network=FakeNetwork(), now=NOW)
    assert result['verification'] is None and result['registries'] == ['us.icr.io']


@pytest.mark.parametrize('value', [':pull', 'a/b', 'a/b:', 'a/b:pull,delete', None])
def test_parse_scopes_names_a_bad_value(value):
    with pytest.raises(InputError) as err:
        parse_scopes([value])
    assert err.value.msg == 'verify_access: %r is not of the form namespace/repository:pull[,push].' % (value,)


@pytest.mark.parametrize('value', ['team-a/app:v1:pull', 'a:b:pull,push', 'team-a/app::pull'])
def test_parse_scopes_refuses_a_tag_or_a_second_colon(value):
    with pytest.raises(InputError) as err:
        parse_scopes([value])
    assert err.value.msg == ('verify_access: %r names a tag or holds a second colon; give the repository without a tag, '
                             'as namespace/repository:pull[,push].' % (value,))


def test_the_network_is_made_from_the_options_the_environment_and_the_session(monkeypatch):
    made = []

    class Network(FakeNetwork):
        def __init__(self, params, env, session=None, access=None):
            made.append((params, env, session, access))
            FakeNetwork.__init__(self)
    monkeypatch.setattr(_obtain, 'Network', Network)
    p, env, session = params(), {'IBMCLOUD_IAM_ENDPOINT': 'test'}, object()
    result, _w = obtain(p, env, session=session, now=NOW)
    assert made == [(p, env, session, _obtain.verify_access)] and result['verification']['us.icr.io']['ok']


def test_without_now_the_times_are_from_the_clock():
    network = FakeNetwork(expires_at=int(time.time()) + 3600)
    result, warnings = obtain(params(username_type='iambearer', verify=False), {}, network=network)
    assert 3590 <= result['expires_in'] <= 3600 and warnings == []


def test_a_token_without_an_expiry_is_returned_without_one():
    result, warnings = obtain(params(username_type='iambearer', verify=False), {}, network=FakeNetwork(expires_at=None),
                              now=NOW)
    assert (result['expires_at'], result['expires_in'], result['password']) == (None, None, 'token-of-iambearer')
    assert warnings == []


def test_a_token_valid_for_exactly_min_validity_does_not_warn():
    _r, warnings = obtain(params(username_type='iambearer', verify=False, min_validity=3600), {},
                          network=FakeNetwork(), now=NOW)
    assert warnings == []


def test_a_token_is_cached_by_default_and_reused(tmp_path):
    network = FakeNetwork()
    p = params(username_type='iambearer', cache_dir=str(tmp_path))
    del p['cache']
    first, warnings = obtain(p, {}, network=network, now=NOW)
    second, more = obtain(p, {}, network=network, now=NOW)
    assert (first['cached'], second['cached'], warnings, more) == (False, True, [], [])
    assert second['password'] == first['password'] == 'token-of-iambearer' and second['expires_in'] == 3600
    assert [c[0] for c in network.calls] == ['exchange', 'verify', 'verify']
    assert len(list(tmp_path.iterdir())) == 1


def test_the_default_cache_directory_is_from_the_environment_given(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'process'))
    p = params(username_type='iambearer', verify=False, cache=True)
    _r, warnings = obtain(p, {'XDG_CACHE_HOME': str(tmp_path / 'given')}, network=FakeNetwork(), now=NOW)
    assert warnings == [] and [d.name for d in tmp_path.iterdir()] == ['given']
    assert len(list((tmp_path / 'given' / 'icr.auth').iterdir())) == 1


def test_a_credential_that_cannot_be_cached_is_returned_with_a_warning(tmp_path):
    (tmp_path / 'file').write_text('')
    p = params(username_type='iambearer', verify=False, cache=True, cache_dir=str(tmp_path / 'file' / 'cache'))
    result, warnings = obtain(p, {}, network=FakeNetwork(), now=NOW)
    assert result['password'] == 'token-of-iambearer' and len(warnings) == 1
    assert warnings[0].startswith('Could not cache the credential in %s (' % (tmp_path / 'file' / 'cache'))
    assert warnings[0].endswith('); the next run will ask IAM again.')


def test_a_refused_cached_credential_is_dropped(tmp_path):
    p = params(username_type='iambearer', cache=True, cache_dir=str(tmp_path))
    obtain(p, {}, network=FakeNetwork(), now=NOW)
    assert len(list(tmp_path.iterdir())) == 1
    with pytest.raises(RegistryError) as err:
        obtain(p, {}, network=FakeNetwork(refuse=True), now=NOW)
    assert err.value.msg == 'no' and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize('kind', ['iamapikey', 'iambearer'])
def test_cache_false_writes_no_file(home, kind):
    result, warnings = obtain(params(username_type=kind), {}, network=FakeNetwork(), now=NOW)
    assert result['cached'] is False and warnings == [] and list(home.iterdir()) == []


def test_the_default_cache_directory_is_under_the_home(home):
    p = params(username_type='iambearer', verify=False)
    del p['cache']
    obtain(p, {}, network=FakeNetwork(), now=NOW)
    second, _w = obtain(p, {}, network=FakeNetwork(), now=NOW)
    assert second['cached'] is True and len(list((home / '.cache' / 'icr.auth').iterdir())) == 1
