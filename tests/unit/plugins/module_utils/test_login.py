# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import os
import pathlib
import pwd
import shutil
import stat
import tempfile
import types

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _config_store as store
from ansible_collections.icr.auth.plugins.module_utils._credential import decode_auth, encode_auth, fingerprint, iso8601
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError, InputError, RegistryError
from ansible_collections.icr.auth.plugins.module_utils._login import Login, run_login, run_module
from ansible_collections.icr.auth.plugins.module_utils._username_types import check_password
from ansible_collections.icr.auth.plugins.module_utils._registry import Verification
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token


def params(tmp_path, **kw):
    base = dict(state='present', regions=['us-south'], registries=None, private_endpoint=False, username_type='iamapikey',
                password=API_KEY, api_key=None, user=None, config_path=str(tmp_path / 'config.json'), format='docker',
                credential_store='auto', min_validity=600, validate=False, reauthorize=False, owner=None, group=None, mode=None)
    base.update(kw)
    return base


class FakeNetwork(object):
    """What Login asks of the network, answered from the test: exchange() returns a fixed token, verify() a list."""

    def __init__(self, token=None, expires_at=None, verified=None):
        self.token = token
        self.expires_at = expires_at
        self.verified = verified
        self.calls = []

    def exchange(self, api_key, username_type):
        self.calls.append(('exchange', api_key, username_type))
        if self.token is None:
            raise AssertionError('no IAM call expected')
        return types.SimpleNamespace(password=self.token, expires_at=self.expires_at, iam_id='IBMid-1',
                                     account_id='acc')

    def verify(self, hosts, username, password):
        self.calls.append(('verify', tuple(hosts), username))
        return self.verified(hosts)


def run(p, **kw):
    return Login(p, **kw).run()


def run_with_login(p, **kw):
    login = Login(p, **kw)
    return login.run(), login


@pytest.mark.parametrize('check_mode', [True, False])
def test_present_in_and_out_of_check_mode(tmp_path, check_mode):
    result = run(params(tmp_path), check_mode=check_mode, diff=True)
    assert result['changed'] and result['registries'] == {'us.icr.io': 'added'}
    assert (tmp_path / 'config.json').exists() is not check_mode
    assert API_KEY not in json.dumps(result)
    assert '"username": "iamapikey"' in result['diff']['after'] and result['diff']['before'].strip() == '{}'


def test_second_run_unchanged_and_absent(tmp_path):
    run(params(tmp_path))
    result = run(params(tmp_path))
    assert not result['changed'] and result['registries'] == {'us.icr.io': 'unchanged'}
    result = run(params(tmp_path, state='absent', password=None))
    assert result['changed'] and result['registries'] == {'us.icr.io': 'removed'}


def test_both_formats_write_two_files(tmp_path):
    (tmp_path / 'home').mkdir()
    p = params(tmp_path, config_path=None, format='both')
    env = {'DOCKER_CONFIG': str(tmp_path / 'd'), 'REGISTRY_AUTH_FILE': str(tmp_path / 'c' / 'auth.json')}
    monkey = pytest.MonkeyPatch()
    for k, v in env.items():
        monkey.setenv(k, v)
    try:
        result = run(p)
    finally:
        monkey.undo()
    assert [f['path'] for f in result['files']] == [str(tmp_path / 'd' / 'config.json'), str(tmp_path / 'c' / 'auth.json')]
    auth = json.loads((tmp_path / 'c' / 'auth.json').read_text())
    assert decode_auth(auth['auths']['us.icr.io']['auth']) == ('iamapikey', API_KEY)


def test_config_path_with_both_is_refused(tmp_path):
    with pytest.raises(InputError) as err:
        run(params(tmp_path, format='both'))
    assert 'config_path' in err.value.msg


def test_check_mode_with_api_key_and_token_type_makes_no_exchange(tmp_path):
    network = FakeNetwork()
    result = run(params(tmp_path, password=None, api_key=API_KEY, username_type='iambearer'), check_mode=True,
                 diff=True, network=network)
    assert result['registries'] == {'us.icr.io': 'added'} and '(new token from IAM)' in result['diff']['after']
    assert network.calls == []


def test_api_key_exchanged_outside_check_mode(tmp_path):
    token = iam_token()
    network = FakeNetwork(token, 4102444800)
    result = run(params(tmp_path, password=None, api_key=API_KEY, username_type='iambearer'), network=network)
    assert network.calls == [('exchange', API_KEY, 'iambearer')] and result['expires_at'] == '2100-01-01T00:00:00Z'
    stored = json.loads((tmp_path / 'config.json').read_text())['auths']['us.icr.io']['auth']
    assert decode_auth(stored) == ('iambearer', token)


def test_validate_refusal_writes_nothing(tmp_path):
    (tmp_path / 'config.json').write_text('{"auths": {"us.icr.io": {"auth": "b2xkOm9sZA=="}}}')

    network = FakeNetwork(verified=lambda hosts: [Verification(h, False, f'The registry at {h} refused it.', 400, 'credential')
                                                  for h in hosts])
    with pytest.raises(RegistryError) as err:
        run(params(tmp_path, validate=True), network=network)
    assert network.calls == [('verify', ('us.icr.io',), 'iamapikey')]
    assert 'refused' in err.value.msg and 'Nothing was written' in err.value.msg
    assert (tmp_path / 'config.json').read_text() == '{"auths": {"us.icr.io": {"auth": "b2xkOm9sZA=="}}}'


def test_helper_configured_fails_clearly_when_missing(tmp_path):
    (tmp_path / 'config.json').write_text('{"credsStore": "nosuchhelper-xyz"}')
    with pytest.raises(Exception) as err:
        run(params(tmp_path))
    assert 'docker-credential-nosuchhelper-xyz is not installed' in str(err.value)
    assert (tmp_path / 'config.json').read_text() == '{"credsStore": "nosuchhelper-xyz"}'
    # The way out it names leads out: file mode warns to remove credsStore, and never sends the user back to auto.
    assert 'remove the credsStore or credHelpers entry' in str(err.value)
    result, login = run_with_login(params(tmp_path, credential_store='file'))
    assert result['changed']
    assert any('remove "credsStore"' in w for w in login.warnings), login.warnings
    assert not any('credential_store: auto' in w for w in login.warnings), login.warnings


def test_credential_store_file_writes_plaintext_and_warns(tmp_path):
    (tmp_path / 'config.json').write_text('{"credsStore": "pass"}')
    result, login = run_with_login(params(tmp_path, credential_store='file'))
    assert result['files'][0]['stored_in'] == {'us.icr.io': 'file'}
    assert any('ignores the credential' in w for w in login.warnings)


@pytest.mark.parametrize('kind,password,words', [
    ('iamapikey', '', 'empty'), ('iamapikey', API_KEY + '\n', 'white space'), ('iamapikey', iam_token(), 'iambearer'),
    ('iambearer', API_KEY, 'not one'), ('iambearer', iam_token(lifetime=-5), 'expired'), ('iamrefresh', iam_token(), 'refresh token'),
])
def test_password_checks(kind, password, words):
    with pytest.raises(InputError) as err:
        check_password(kind, password)
    assert words in err.value.msg and err.value.msg.startswith('password:')
    assert API_KEY not in err.value.msg


def test_bearer_prefix_dropped():
    token = iam_token()
    assert check_password('iambearer', 'Bearer ' + token)[0] == token


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root')
def test_config_path_in_a_users_directory_cannot_redirect_root(tmp_path):
    nobody = pwd.getpwnam('nobody')
    top = pathlib.Path(tempfile.mkdtemp(prefix='icr-auth-unit-'))
    try:
        os.chmod(str(top), 0o755)
        users_dir = top / 'ci'
        users_dir.mkdir()
        os.chown(str(users_dir), nobody.pw_uid, nobody.pw_gid)
        victim = top / 'root-only.json'
        victim.write_text('{"root": true}')
        os.chmod(str(victim), 0o600)
        (users_dir / 'config.json').symlink_to(victim)
        with pytest.raises(ConfigFileError) as err:
            run(params(tmp_path, config_path=str(users_dir / 'config.json')))
        assert 'permission denied' in err.value.msg.lower()
        assert victim.read_text() == '{"root": true}' and os.stat(str(victim)).st_uid == 0
        # Without the link, the file is written as the directory's owner.
        (users_dir / 'config.json').unlink()
        run(params(tmp_path, config_path=str(users_dir / 'config.json')))
        assert os.stat(str(users_dir / 'config.json')).st_uid == nobody.pw_uid
    finally:
        shutil.rmtree(str(top), ignore_errors=True)


def test_a_missing_entry_is_left_out_of_the_diff_not_null(tmp_path):
    run(params(tmp_path))
    result = run(params(tmp_path, state='absent'), diff=True)
    assert result['diff']['after'].strip() == '{}' and 'null' not in result['diff']['after']
    assert '"username": "iamapikey"' in result['diff']['before']


@pytest.mark.parametrize('check_mode', [True, False])
def test_a_secret_in_a_file_others_can_read_is_kept_but_said(tmp_path, check_mode):
    path = tmp_path / 'config.json'
    path.write_text('{}')
    os.chmod(str(path), 0o644)
    result, login = run_with_login(params(tmp_path), check_mode=check_mode)
    assert result['changed']
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644
    assert any('can be read or changed by its group and every user on the host (mode 0644)' in w
               for w in login.warnings), login.warnings
    # The warning stays while the file stays readable, even when nothing changes.
    if not check_mode:
        again, login = run_with_login(params(tmp_path))
        assert not again['changed'] and any('(mode 0644)' in w for w in login.warnings), login.warnings


def test_a_mode_option_that_opens_the_file_is_said(tmp_path):
    _result, login = run_with_login(params(tmp_path, mode='0660'))
    assert stat.S_IMODE(os.stat(str(tmp_path / 'config.json')).st_mode) == 0o660
    assert any('can be read or changed by its group (mode 0660)' in w for w in login.warnings), login.warnings


def test_a_private_file_or_a_removal_is_not_warned_about(tmp_path):
    _result, login = run_with_login(params(tmp_path))
    assert not any('holds a registry secret' in w for w in login.warnings), login.warnings
    os.chmod(str(tmp_path / 'config.json'), 0o644)
    _result, login = run_with_login(params(tmp_path, state='absent'))
    assert not any('holds a registry secret' in w for w in login.warnings), login.warnings


def test_a_file_changed_after_it_was_read_is_planned_again_not_overwritten(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'auths': {'other.example.com': {'auth': 'eDp5'}}}))
    real_inspect = store.inspect

    def inspect(target):
        seen = real_inspect(target)
        # Another writer lands after the snapshot, before the lock.
        path.write_text(json.dumps({'auths': {'other.example.com': {'auth': 'eDp5'}, 'late.example.com': {}},
                                    'late': True}))
        return seen

    monkeypatch.setattr(store, 'inspect', inspect)
    result = run(params(tmp_path))
    assert result['changed'] and result['registries'] == {'us.icr.io': 'added'}
    data = json.loads(path.read_text())
    assert data['late'] is True and sorted(data['auths']) == ['late.example.com', 'other.example.com', 'us.icr.io']
    assert decode_auth(data['auths']['us.icr.io']['auth']) == ('iamapikey', API_KEY)


@pytest.mark.parametrize('option, kw', [('api_key', dict(password=None, api_key=API_KEY, username_type='iambearer')),
                                        ('validate', dict(validate=True))])
def test_without_a_network_a_network_step_fails_naming_its_option(tmp_path, option, kw):
    with pytest.raises(InputError) as raised:
        run(params(tmp_path, **kw))
    assert raised.value.msg.startswith(option + ': ') and 'icr_login_network' in raised.value.msg
    assert API_KEY not in raised.value.msg and not (tmp_path / 'config.json').exists()


@pytest.mark.parametrize('kw', [dict(password=None, api_key=API_KEY, username_type='iamapikey'),
                                dict(password=None, api_key=API_KEY, username_type='iambearer', state='absent')])
def test_without_a_network_a_run_that_needs_none_works(tmp_path, kw):
    assert run(params(tmp_path, **kw))['registries'] == {'us.icr.io': 'unchanged' if kw.get('state') == 'absent' else 'added'}


def test_without_a_network_check_mode_predicts_an_exchange(tmp_path):
    result = run(params(tmp_path, password=None, api_key=API_KEY, username_type='iambearer', validate=True), check_mode=True)
    assert result['registries'] == {'us.icr.io': 'added'} and not (tmp_path / 'config.json').exists()


# ------------------------------------------------------------------------------------------------ run_module

def module_params(tmp_path, **kw):
    base = dict(registries=['us.icr.io'], password=API_KEY, config_path=str(tmp_path / 'config.json'))
    base.update(kw)
    return base


class Exited(Exception):
    pass


class FakeModule(object):
    """What run() uses of AnsibleModule: params, check and diff mode, warn, exit_json and fail_json."""

    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = False
        self.warnings = []
        self.outcome = None

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        self.outcome = ('exit', result)
        raise Exited()

    def fail_json(self, **result):
        self.outcome = ('fail', result)
        raise Exited()


def test_a_run_exits_with_the_result_and_its_warnings(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text('{}')
    path.chmod(0o644)
    module = FakeModule(module_params(tmp_path))
    with pytest.raises(Exited):
        run_module(module, None)
    kind, result = module.outcome
    assert kind == 'exit' and result['changed'] and result['registries'] == {'us.icr.io': 'added'}
    assert 'us.icr.io' in json.loads(path.read_text())['auths']
    assert any('can be read or changed by' in w for w in module.warnings), module.warnings


def test_an_error_fails_with_its_message_and_no_secret(tmp_path):
    module = FakeModule(module_params(tmp_path, password=None, api_key=API_KEY, username_type='iambearer'))
    with pytest.raises(Exited):
        run_module(module, None)
    kind, result = module.outcome
    assert kind == 'fail' and result['msg'].startswith('api_key: ') and API_KEY not in json.dumps(result)
    assert not (tmp_path / 'config.json').exists()


def test_the_network_given_is_the_one_used(tmp_path):
    asked = []

    class Network(object):
        def verify(self, hosts, username, password):
            asked.append(tuple(hosts))
            return []

    module = FakeModule(module_params(tmp_path, validate=True))
    with pytest.raises(Exited):
        run_module(module, Network())
    assert module.outcome[0] == 'exit' and asked == [('us.icr.io',)]


PROFILE = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'
OTHER_PROFILE = 'Profile-0b6f2c4e-8d1a-4c3b-9e7f-1a2b3c4d5e6f'


@pytest.mark.parametrize('given', ['password', 'api_key'])
def test_a_trusted_profile_login_writes_the_profile_id_and_the_key(tmp_path, given):
    p = params(tmp_path, username_type='trusted_profile', trusted_profile_id=PROFILE, password=None)
    p[given] = API_KEY
    network = FakeNetwork()  # the key is never exchanged: any IAM call fails the test
    result = run(p, diff=True, network=network)
    assert network.calls == [] and result['changed'] and result['username'] == PROFILE and result['expires_at'] is None
    stored = json.loads((tmp_path / 'config.json').read_text())['auths']['us.icr.io']['auth']
    assert decode_auth(stored) == (PROFILE, API_KEY)
    assert API_KEY not in json.dumps(result)
    assert f'"username": "{PROFILE}"' in result['diff']['after'] and '"secret": "sha256:' in result['diff']['after']
    # The same pair again is unchanged; another profile with the same key is an update.
    assert not run(p, network=network)['changed']
    again = run(dict(p, trusted_profile_id=OTHER_PROFILE), diff=True)
    assert again['registries'] == {'us.icr.io': 'updated'} and PROFILE in again['diff']['before']
    assert decode_auth(json.loads((tmp_path / 'config.json').read_text())['auths']['us.icr.io']['auth'])[0] == OTHER_PROFILE


@pytest.mark.parametrize('profile,words', [
    (None, 'trusted_profile_id: username_type trusted_profile needs the id'),
    ('iam-' + PROFILE, 'trusted_profile_id: the value is not a trusted profile id'),
])
def test_a_trusted_profile_login_without_a_good_profile_id_writes_nothing(tmp_path, profile, words):
    with pytest.raises(InputError) as err:
        run(params(tmp_path, username_type='trusted_profile', trusted_profile_id=profile))
    assert err.value.msg.startswith(words) and API_KEY not in err.value.msg
    assert not (tmp_path / 'config.json').exists()


def test_a_profile_id_with_another_username_type_is_refused(tmp_path):
    with pytest.raises(InputError) as err:
        run(params(tmp_path, trusted_profile_id=PROFILE))
    assert err.value.msg.startswith('trusted_profile_id: it is only used with username_type trusted_profile, not iamapikey')
    assert not (tmp_path / 'config.json').exists()


def test_a_trusted_profile_login_is_validated_as_the_profile(tmp_path):
    network = FakeNetwork(verified=lambda hosts: [Verification(h, False, 'refused', 400, 'credential') for h in hosts])
    p = params(tmp_path, username_type='trusted_profile', trusted_profile_id=PROFILE, validate=True)
    with pytest.raises(RegistryError):
        run(p, network=network)
    assert network.calls == [('verify', ('us.icr.io',), PROFILE)] and not (tmp_path / 'config.json').exists()
    network = FakeNetwork(verified=lambda hosts: [Verification(h, True, 'ok', 200) for h in hosts])
    assert run(p, network=network)['verification'] == {'us.icr.io': {'ok': True, 'msg': 'ok', 'status': 200,
                                                                     'reason': None, 'granted': {}}}


def helper_params(tmp_path, **kw):
    return params(tmp_path, **dict(dict(method='helper', password=None, regions=['us-south', 'global']), **kw))


@pytest.mark.parametrize('check_mode', [True, False])
def test_helper_method_names_icr_for_the_hosts_and_removes_their_credentials(tmp_path, check_mode):
    path = tmp_path / 'config.json'
    old = {'auths': {'us.icr.io': {'auth': 'aWFtYXBpa2V5OnMzY3IzdC12NGx1ZQ=='}, 'mirror.example': {'auth': 'eDp5'}},
           'credsStore': 'desktop', 'credHelpers': {'de.icr.io': 'pass'}}
    path.write_text(json.dumps(old))
    result = run(helper_params(tmp_path), check_mode=check_mode, diff=True)
    assert result['changed'] and result['registries'] == {'us.icr.io': 'updated', 'icr.io': 'added'}
    assert result['username'] is None and result['files'][0]['stored_in']['us.icr.io'] == 'docker-credential-icr'
    assert 's3cr3t-v4lue' not in json.dumps(result) and 'aWFtYXBpa2V5OnMzY3IzdC12NGx1ZQ' not in json.dumps(result)
    assert '"stored_in": "docker-credential-icr"' in result['diff']['after']
    assert '"username": "iamapikey"' in result['diff']['before']
    data = json.loads(path.read_text())
    if check_mode:
        assert data == old
        return
    assert data == {'auths': {'mirror.example': {'auth': 'eDp5'}}, 'credsStore': 'desktop',
                    'credHelpers': {'de.icr.io': 'pass', 'us.icr.io': 'icr', 'icr.io': 'icr'}}
    assert not run(helper_params(tmp_path))['changed']


def test_helper_method_refuses_a_credential_and_needs_none(tmp_path):
    for kw in ({'password': API_KEY}, {'api_key': API_KEY}, {'validate': True}):
        with pytest.raises(InputError) as err:
            run(helper_params(tmp_path, **kw))
        name = list(kw)[0]
        assert err.value.msg.startswith(name + ': method: helper') and API_KEY not in err.value.msg
    assert not (tmp_path / 'config.json').exists()
    with pytest.raises(InputError) as err:
        run(params(tmp_path, password=None))
    assert 'password/api_key' in err.value.msg and 'method: helper' in err.value.msg
    with pytest.raises(InputError) as err:
        run(params(tmp_path, credential_store='icr'))
    assert 'method: helper' in err.value.msg


def test_switching_file_helper_file_leaves_no_stale_entry(tmp_path):
    path = tmp_path / 'config.json'
    run(params(tmp_path, regions=['us-south', 'global']))
    run(helper_params(tmp_path))
    assert 'auths' not in json.dumps(json.loads(path.read_text())['auths'])  # auths emptied
    assert json.loads(path.read_text())['auths'] == {}
    # Back to the file: docker-credential-icr is never asked to store, and its entries go.
    result = run(params(tmp_path, regions=['us-south', 'global']))
    assert result['registries'] == {'us.icr.io': 'added', 'icr.io': 'added'}
    assert result['files'][0]['stored_in'] == {'us.icr.io': 'file', 'icr.io': 'file'}
    data = json.loads(path.read_text())
    assert 'credHelpers' not in data and decode_auth(data['auths']['icr.io']['auth']) == ('iamapikey', API_KEY)


def test_file_method_drops_an_icr_entry_even_when_the_credential_is_unchanged(tmp_path):
    path = tmp_path / 'config.json'
    run(params(tmp_path))
    data = json.loads(path.read_text())
    data['credHelpers'] = {'us.icr.io': 'icr', 'de.icr.io': 'icr'}
    path.write_text(json.dumps(data))
    result = run(params(tmp_path))
    assert result['changed'] and result['registries'] == {'us.icr.io': 'updated'}
    assert json.loads(path.read_text())['credHelpers'] == {'de.icr.io': 'icr'}  # not a chosen host: kept


@pytest.mark.parametrize('method', ['helper', 'file'])
def test_absent_removes_the_icr_entries_in_either_method(tmp_path, method):
    path = tmp_path / 'config.json'
    run(helper_params(tmp_path))
    helpers = {'us.icr.io': 'icr', 'icr.io': 'icr', 'de.icr.io': 'pass'}
    path.write_text(json.dumps(dict(json.loads(path.read_text()), credHelpers=helpers)))
    result = run(params(tmp_path, method=method, state='absent', password=None, regions=['us-south', 'global']))
    assert result['changed'] and result['registries'] == {'us.icr.io': 'removed', 'icr.io': 'removed'}
    assert json.loads(path.read_text()) == {'credHelpers': {'de.icr.io': 'pass'}}
    again = run(params(tmp_path, method=method, state='absent', password=None, regions=['us-south', 'global']))
    assert not again['changed']


def test_a_credsstore_naming_icr_is_never_used_as_a_store(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'credsStore': 'icr'}))
    result = run(params(tmp_path))  # docker-credential-icr is not even installed here: it must not be run
    assert result['files'][0]['stored_in'] == {'us.icr.io': 'file'}
    data = json.loads(path.read_text())
    assert data['credsStore'] == 'icr' and decode_auth(data['auths']['us.icr.io']['auth']) == ('iamapikey', API_KEY)


def test_back_from_the_helper_to_a_credsstore_leaves_no_icr_entry(tmp_path, monkeypatch):
    """credsStore names a store: the credential goes there, and Docker must not keep asking docker-credential-icr."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    store = bin_dir / 'docker-credential-teststore'
    store.write_text('#!/bin/sh\nread line\ncase "$1" in\n'
                     '  store) printf %s "$line" > "$(dirname "$0")/held.json" ;;\n'
                     '  get) [ -f "$(dirname "$0")/held.json" ] && cat "$(dirname "$0")/held.json" '
                     '|| { echo "credentials not found in native keychain"; exit 1; } ;;\n'
                     '  erase) rm -f "$(dirname "$0")/held.json" ;;\nesac\n')
    store.chmod(0o755)
    monkeypatch.setenv('PATH', '%s%s%s' % (bin_dir, os.pathsep, os.environ.get('PATH', os.defpath)))
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'credsStore': 'teststore', 'credHelpers': {'us.icr.io': 'icr'}, 'auths': {}}))
    result = run(params(tmp_path))
    assert result['files'][0]['stored_in'] == {'us.icr.io': 'docker-credential-teststore'}
    data = json.loads(path.read_text())
    assert 'credHelpers' not in data and data['credsStore'] == 'teststore'
    assert json.loads((bin_dir / 'held.json').read_text())['Secret'] == API_KEY


def test_namespace_scoped_entries_sit_beside_the_host_entry_and_are_proven_at_the_host(tmp_path):
    path = tmp_path / 'auth.json'
    path.write_text(json.dumps({'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', 'WholeHostKey0123456789abcdef')}},
                                'credHelpers': {'de.icr.io': 'icr'}}))
    network = FakeNetwork(verified=lambda hosts: [Verification(h, True, 'ok', 200) for h in hosts])
    p = params(tmp_path, regions=['us-south', 'eu-de'], namespaces=['web'], format='containers', config_path=str(path),
               validate=True)
    result, login = run_with_login(p, network=network)
    assert result['registries'] == {'us.icr.io/web': 'added', 'de.icr.io/web': 'added'}
    assert [c[1] for c in network.calls if c[0] == 'verify'] == [('us.icr.io', 'de.icr.io')]
    auths = json.loads(path.read_text())['auths']
    assert sorted(auths) == ['de.icr.io/web', 'us.icr.io', 'us.icr.io/web']
    assert decode_auth(auths['us.icr.io']['auth'])[1] == 'WholeHostKey0123456789abcdef'
    assert any('de.icr.io/web is not used' in w for w in login.warnings)
    assert not run(p, network=network)['changed']
    gone = run(dict(p, state='absent', validate=False))
    assert gone['registries'] == {'us.icr.io/web': 'removed', 'de.icr.io/web': 'removed'}
    assert sorted(json.loads(path.read_text())['auths']) == ['us.icr.io']


def test_namespace_scoped_entries_in_docker_format_write_nothing(tmp_path):
    with pytest.raises(InputError) as err:
        run(params(tmp_path, namespaces=['web']))
    assert "Docker's config.json matches credentials by registry host only" in err.value.msg
    assert not (tmp_path / 'config.json').exists()


# ------------------------------------------------------------------------------------------------ exact results

OLD_KEY = 'OldUnitLoginKey0123456789abcdef'


def side(view):
    """A diff side as _login writes it: sorted JSON, two spaces, a final newline."""
    return json.dumps(view, indent=2, sort_keys=True) + '\n'


def test_an_update_gives_the_whole_result_the_diff_and_a_private_file(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', OLD_KEY)}}}))
    os.chmod(str(path), 0o600)
    result, login = run_with_login(params(tmp_path), diff=True)
    assert result == {
        'changed': True, 'registries': {'us.icr.io': 'updated'}, 'config_path': str(path),
        'files': [{'path': str(path), 'format': 'docker', 'changed': True, 'registries': {'us.icr.io': 'updated'},
                   'stored_in': {'us.icr.io': 'file'}}],
        'expires_at': None, 'username': 'iamapikey',
        'diff': {'before_header': str(path), 'after_header': str(path),
                 'before': side({'us.icr.io': {'username': 'iamapikey', 'secret': fingerprint(OLD_KEY)}}),
                 'after': side({'us.icr.io': {'username': 'iamapikey', 'secret': fingerprint(API_KEY)}})}}
    assert login.warnings == [] and login.username == 'iamapikey'
    assert json.loads(path.read_text()) == {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', API_KEY)}}}
    st = os.stat(str(path))
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    assert OLD_KEY not in json.dumps(result) and encode_auth('iamapikey', API_KEY) not in json.dumps(result)


def test_a_run_without_diff_or_check_mode_writes_and_returns_no_diff(tmp_path):
    login = Login(params(tmp_path))
    assert (login.check_mode, login.want_diff, login.network, login.warnings, login.username) == (
        False, False, None, [], None)
    result = login.run()
    assert 'diff' not in result and 'verification' not in result and result['changed']
    assert (tmp_path / 'config.json').exists()


def test_options_left_out_take_their_defaults(tmp_path):
    p = dict(regions=['us-south'], password=API_KEY, config_path=str(tmp_path / 'config.json'))
    result = run(p)
    assert result['registries'] == {'us.icr.io': 'added'} and result['username'] == 'iamapikey'
    assert result['files'][0]['format'] == 'docker' and result['files'][0]['stored_in'] == {'us.icr.io': 'file'}
    assert Login({'min_validity': 0}).option('min_validity') == 0 and Login({}).option('method') == 'file'


def test_a_bearer_password_gives_its_expiry(tmp_path):
    token = iam_token()
    result = run(params(tmp_path, username_type='iambearer', password=token))
    expires_at = check_password('iambearer', token)[1]
    assert expires_at is not None and result['expires_at'] == iso8601(expires_at) and result['username'] == 'iambearer'
    stored = json.loads((tmp_path / 'config.json').read_text())['auths']['us.icr.io']['auth']
    assert decode_auth(stored) == ('iambearer', token)


def test_check_mode_keeps_a_stored_token_still_valid_in_the_diff(tmp_path):
    token = iam_token()
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'auths': {'us.icr.io': {'auth': encode_auth('iambearer', token)}}}))
    result = run(params(tmp_path, password=None, api_key=API_KEY, username_type='iambearer', min_validity=0,
                        regions=['us-south', 'global']), check_mode=True, diff=True, network=FakeNetwork())
    assert result['registries'] == {'us.icr.io': 'unchanged', 'icr.io': 'added'} and result['changed']
    assert result['username'] == 'iambearer' and result['expires_at'] is None
    assert result['diff']['before'] == side({'us.icr.io': {'username': 'iambearer', 'secret': fingerprint(token)}})
    assert result['diff']['after'] == side({'us.icr.io': {'username': 'iambearer', 'secret': fingerprint(token)},
                                            'icr.io': {'username': 'iambearer', 'secret': '(new token from IAM)'}})
    assert json.loads(path.read_text()) == {'auths': {'us.icr.io': {'auth': encode_auth('iambearer', token)}}}


@pytest.mark.parametrize('kw, msg', [
    (dict(password=None), 'password/api_key: state: present writes a credential; give password (or api_key), or '
                          'method: helper to have docker-credential-icr get the tokens.'),
    (dict(password=None, api_key=API_KEY, username_type='iambearer'),
     'api_key: turning it into an iambearer credential on the host needs the network-capable icr_login_network, '
     'which the action plugin of an icr.auth.icr_login task sends.'),
    (dict(validate=True), 'validate: proving the credential against the registries needs the network-capable '
                          'icr_login_network, which the action plugin of an icr.auth.icr_login task sends.'),
    (dict(regions=[], registries=[]), 'regions/registries: no registry was given; name at least one region '
                                      '(us-south) or registry host (us.icr.io).'),
    (dict(min_validity=-1), 'min_validity: give a number of seconds, 0 or more.'),
    (dict(credential_store='no such'), "credential_store: 'no such' is not a credential helper name (the part after "
                                       'docker-credential-, such as pass, secretservice, osxkeychain).'),
    (dict(credential_store='icr'), 'credential_store: icr names docker-credential-icr, which gets its own tokens and '
                                   'stores none; use method: helper to name it for the registries.'),
    (dict(method='helper', password=API_KEY), 'password: method: helper writes no credential (docker-credential-icr '
                                              'gets a token each time); leave password out, or use method: file.'),
    (dict(method='helper', password=None, api_key=API_KEY),
     'api_key: method: helper writes no credential (docker-credential-icr gets a token each time); leave api_key '
     'out, or use method: file.'),
    (dict(method='helper', password=None, validate=True),
     'validate: method: helper writes no credential (docker-credential-icr gets a token each time); leave validate '
     'out, or use method: file.'),
])
def test_each_refusal_says_what_is_wrong_and_what_to_do(tmp_path, kw, msg):
    with pytest.raises(InputError) as err:
        run(params(tmp_path, **kw))
    assert err.value.msg == msg
    assert not (tmp_path / 'config.json').exists()


def test_min_validity_zero_is_accepted(tmp_path):
    assert run(params(tmp_path, min_validity=0))['registries'] == {'us.icr.io': 'added'}


def test_a_refusal_names_every_refused_registry_and_returns_each_verification(tmp_path):
    answers = {'us.icr.io': True, 'de.icr.io': False, 'icr.io': False}
    network = FakeNetwork(verified=lambda hosts: [Verification(h, answers[h], f'{h} said {answers[h]}.', 200)
                                                  for h in hosts])
    with pytest.raises(RegistryError) as err:
        run(params(tmp_path, validate=True, regions=['us-south', 'eu-de', 'global']), network=network)
    assert err.value.msg == 'de.icr.io said False. icr.io said False. Nothing was written.'
    assert sorted(err.value.details['verification']) == ['de.icr.io', 'icr.io', 'us.icr.io']
    assert err.value.details['verification']['us.icr.io']['ok'] is True
    assert not (tmp_path / 'config.json').exists()
    answers.update({'de.icr.io': True, 'icr.io': True})
    result = run(params(tmp_path, validate=True, regions=['us-south', 'eu-de', 'global']), network=network)
    assert result['verification'] == dict((h, Verification(h, True, f'{h} said True.', 200).as_dict())
                                          for h in ('us.icr.io', 'de.icr.io', 'icr.io'))
    assert network.calls[-1] == ('verify', ('us.icr.io', 'de.icr.io', 'icr.io'), 'iamapikey')


def test_validate_false_or_check_mode_asks_no_registry(tmp_path):
    network = FakeNetwork(verified=lambda hosts: [Verification(h, False, 'no', 401) for h in hosts])
    run(params(tmp_path, validate=True), check_mode=True, network=network)
    run(params(tmp_path, validate=False), network=network)
    assert network.calls == []


def test_the_warnings_are_given_word_for_word(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'credsStore': 'pass'}))
    os.chmod(str(path), 0o604)
    _result, login = run_with_login(params(tmp_path, credential_store='file'))
    assert login.warnings == [
        f'{path} names the credential store "pass": Docker looks there and ignores the credential written to the '
        'file (skopeo and podman do use it). For Docker to use the file, remove "credsStore" from it.',
        f'{path} holds a registry secret and can be read or changed by every user on the host (mode 0604). The mode '
        "was kept, as Docker keeps it; to make the file private, set mode: '0600' (or chmod 600 it)."]
    _result, login = run_with_login(params(tmp_path, credential_store='file', mode='0640'))
    assert login.warnings[1] == (
        f'{path} holds a registry secret and can be read or changed by its group (mode 0640). The mode was kept, as '
        "Docker keeps it; to make the file private, set mode: '0600' (or chmod 600 it).")


@pytest.mark.parametrize('kw', [dict(credential_store='auto'), dict(format='containers', credential_store='file'),
                                dict(credential_store='file', state='absent', password=None)])
def test_a_credsstore_is_warned_about_only_when_docker_ignores_the_file(tmp_path, kw):
    path = tmp_path / 'auth.json'
    path.write_text(json.dumps({'credsStore': 'icr'}))
    _result, login = run_with_login(params(tmp_path, config_path=str(path), **kw))
    assert not any('credsStore' in w for w in login.warnings), login.warnings


def test_a_scoped_entry_a_helper_shadows_is_warned_about_word_for_word(tmp_path):
    path = tmp_path / 'auth.json'
    path.write_text(json.dumps({'credHelpers': {'de.icr.io': 'pass'}}))
    os.chmod(str(path), 0o600)
    p = params(tmp_path, regions=['eu-de', 'us-south'], namespaces=['web'], format='containers', config_path=str(path))
    _result, login = run_with_login(p)
    assert login.warnings == [f'{path} sends de.icr.io to a credential helper (credHelpers), which containers tools '
                              'ask before any entry: de.icr.io/web is not used.']
    _result, login = run_with_login(dict(p, state='absent', password=None))
    assert login.warnings == []
    _result, login = run_with_login(dict(p, regions=None, registries=['us.icr.io/web/sub'], namespaces=None))
    assert login.warnings == []
    path.write_text(json.dumps({'credHelpers': {'us.icr.io': 'pass'}}))
    _result, login = run_with_login(dict(p, regions=None, registries=['us.icr.io/web/sub'], namespaces=None))
    assert login.warnings == [f'{path} sends us.icr.io to a credential helper (credHelpers), which containers tools '
                              'ask before any entry: us.icr.io/web/sub is not used.']


def test_a_file_that_keeps_changing_is_refused_after_every_replan(tmp_path, monkeypatch):
    writes = []

    def write(seen, new, actions, check_mode=False):
        writes.append(seen)
        return seen  # another writer changed it again: plan again

    monkeypatch.setattr(store, 'write', write)
    with pytest.raises(ConfigFileError) as err:
        run(params(tmp_path))
    assert len(writes) == store.MAX_REPLANS
    assert err.value.msg == (f'{tmp_path / "config.json"} was changed by other writers {store.MAX_REPLANS} times '
                             'while this run planned its change; nothing was written. Run again.')


def test_both_formats_merge_the_actions_and_give_both_diffs(tmp_path, monkeypatch):
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path / 'd'))
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(tmp_path / 'c' / 'auth.json'))
    (tmp_path / 'd').mkdir()
    (tmp_path / 'd' / 'config.json').write_text(json.dumps({'auths': {'us.icr.io': {'auth': encode_auth(
        'iamapikey', API_KEY)}, 'icr.io': {'auth': encode_auth('iamapikey', OLD_KEY)}}}))
    p = params(tmp_path, config_path=None, format='both', regions=['us-south', 'global'])
    result = run(p, diff=True)
    docker, containers = str(tmp_path / 'd' / 'config.json'), str(tmp_path / 'c' / 'auth.json')
    assert result['config_path'] == docker and result['changed']
    assert result['registries'] == {'us.icr.io': 'added', 'icr.io': 'updated'}
    assert [f['registries'] for f in result['files']] == [{'us.icr.io': 'unchanged', 'icr.io': 'updated'},
                                                          {'us.icr.io': 'added', 'icr.io': 'added'}]
    assert [f['format'] for f in result['files']] == ['docker', 'containers']
    assert all('diff' not in f for f in result['files'])
    assert [d['before_header'] for d in result['diff']] == [docker, containers]
    assert result['diff'][1]['before'] == '{}\n'
    # removed beats unchanged; unchanged everywhere is not a change
    result = run(dict(p, state='absent', password=None, regions=['us-south']))
    assert result['registries'] == {'us.icr.io': 'removed'} and result['changed']
    os.remove(containers)
    result = run(dict(p, state='absent', password=None, regions=['us-south']))
    assert result['registries'] == {'us.icr.io': 'unchanged'} and not result['changed']
    assert [f['changed'] for f in result['files']] == [False, False]


def test_run_module_passes_check_mode_and_diff(tmp_path):
    module = FakeModule(module_params(tmp_path), check_mode=True)
    module._diff = True
    with pytest.raises(Exited):
        run_module(module, None)
    kind, result = module.outcome
    assert kind == 'exit' and result['changed'] and 'diff' in result and not (tmp_path / 'config.json').exists()
    assert module.warnings == []


def test_run_module_fails_with_the_verification(tmp_path):
    class Network(object):
        def verify(self, hosts, username, password):
            return [Verification(h, False, 'no.', 401) for h in hosts]

    module = FakeModule(module_params(tmp_path, validate=True))
    with pytest.raises(Exited):
        run_module(module, Network())
    refused = Verification('us.icr.io', False, 'no.', 401).as_dict()
    assert module.outcome == ('fail', {'msg': 'no. Nothing was written.', 'verification': {'us.icr.io': refused}})


# ------------------------------------------------------------------------------------------------ credential helpers

HELPER_SCRIPT = ('#!/bin/sh\nread line\necho "$1" >> "$(dirname "$0")/calls"\ncase "$1" in\n'
                 '  store) printf %s "$line" > "$(dirname "$0")/held.json" ;;\n'
                 '  get) [ -f "$(dirname "$0")/held.json" ] && cat "$(dirname "$0")/held.json" '
                 '|| { echo "credentials not found in native keychain"; exit 1; } ;;\n'
                 '  erase) rm -f "$(dirname "$0")/held.json" ;;\nesac\n')


@pytest.fixture
def teststore(tmp_path, monkeypatch):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    program = bin_dir / 'docker-credential-teststore'
    program.write_text(HELPER_SCRIPT)
    program.chmod(0o755)
    monkeypatch.setenv('PATH', '%s%s%s' % (bin_dir, os.pathsep, os.environ.get('PATH', os.defpath)))

    def calls():
        path = bin_dir / 'calls'
        return path.read_text().split() if path.exists() else []

    def held():
        path = bin_dir / 'held.json'
        return json.loads(path.read_text()) if path.exists() else None
    return types.SimpleNamespace(calls=calls, held=held)


def helper_view(secret):
    return {'us.icr.io': {'username': 'iamapikey', 'secret': fingerprint(secret),
                          'stored_in': 'docker-credential-teststore'}}


@pytest.mark.parametrize('check_mode', [True, False])
def test_a_credsstore_helper_gets_the_credential_and_the_file_keeps_an_empty_entry(tmp_path, teststore, check_mode):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'credsStore': 'teststore'}))
    result = run(params(tmp_path), check_mode=check_mode, diff=True)
    assert result['changed'] and result['registries'] == {'us.icr.io': 'added'}
    assert result['files'][0]['stored_in'] == {'us.icr.io': 'docker-credential-teststore'}
    assert result['diff']['before'] == '{}\n' and result['diff']['after'] == side(helper_view(API_KEY))
    assert API_KEY not in json.dumps(result)
    if check_mode:
        assert teststore.calls() == ['get'] and teststore.held() is None
        assert json.loads(path.read_text()) == {'credsStore': 'teststore'}
        return
    assert teststore.calls() == ['get', 'store', 'get']  # stored, then read back
    assert teststore.held() == {'ServerURL': 'us.icr.io', 'Username': 'iamapikey', 'Secret': API_KEY}
    assert json.loads(path.read_text()) == {'credsStore': 'teststore', 'auths': {'us.icr.io': {}}}
    again = run(params(tmp_path), diff=True)
    assert not again['changed'] and again['registries'] == {'us.icr.io': 'unchanged'}
    assert again['diff']['before'] == again['diff']['after'] == side(helper_view(API_KEY))
    assert teststore.calls() == ['get', 'store', 'get', 'get']


def test_a_helper_credential_is_replaced_when_reauthorized_or_changed(tmp_path, teststore):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'credsStore': 'teststore', 'auths': {'us.icr.io': {}}}))
    run(params(tmp_path))
    result = run(params(tmp_path, reauthorize=True))
    assert result['changed'] and result['registries'] == {'us.icr.io': 'updated'}
    assert teststore.calls() == ['get', 'store', 'get'] * 2
    result = run(params(tmp_path, password=OLD_KEY), diff=True)
    assert result['registries'] == {'us.icr.io': 'updated'}
    assert result['diff']['before'] == side(helper_view(API_KEY))
    assert result['diff']['after'] == side(helper_view(OLD_KEY))
    assert teststore.held()['Secret'] == OLD_KEY


@pytest.mark.parametrize('check_mode', [True, False])
def test_absent_erases_from_the_helper(tmp_path, teststore, check_mode):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'credsStore': 'teststore', 'auths': {'us.icr.io': {}}}))
    run(params(tmp_path))
    result = run(params(tmp_path, state='absent', password=None), check_mode=check_mode, diff=True)
    assert result['changed'] and result['registries'] == {'us.icr.io': 'removed'}
    assert result['diff']['before'] == side(helper_view(API_KEY)) and result['diff']['after'] == '{}\n'
    if check_mode:
        assert teststore.calls() == ['get', 'store', 'get', 'get'] and teststore.held() is not None
        return
    assert teststore.calls() == ['get', 'store', 'get', 'get', 'get', 'erase'] and teststore.held() is None
    assert json.loads(path.read_text()) == {'credsStore': 'teststore', 'auths': {}}
    again = run(params(tmp_path, state='absent', password=None), diff=True)
    assert not again['changed'] and again['registries'] == {'us.icr.io': 'unchanged'}
    assert again['diff']['before'] == again['diff']['after'] == '{}\n'
    assert teststore.calls() == ['get', 'store', 'get', 'get', 'get', 'erase', 'get']


def test_a_helper_chosen_by_name_is_named_in_the_file(tmp_path, teststore):
    path = tmp_path / 'config.json'
    result = run(params(tmp_path, credential_store='teststore'))
    assert result['registries'] == {'us.icr.io': 'added'}
    assert result['files'][0]['stored_in'] == {'us.icr.io': 'docker-credential-teststore'}
    assert json.loads(path.read_text()) == {'auths': {'us.icr.io': {}}, 'credHelpers': {'us.icr.io': 'teststore'}}
    assert teststore.held()['Secret'] == API_KEY


def test_a_containers_file_uses_only_its_credhelpers(tmp_path, teststore):
    path = tmp_path / 'auth.json'
    path.write_text(json.dumps({'credsStore': 'nosuchhelper-xyz', 'credHelpers': {'us.icr.io': 'teststore'}}))
    result = run(params(tmp_path, format='containers', config_path=str(path), regions=['us-south', 'eu-de']))
    assert result['files'][0]['stored_in'] == {'us.icr.io': 'docker-credential-teststore', 'de.icr.io': 'file'}
    data = json.loads(path.read_text())
    assert data['credHelpers'] == {'us.icr.io': 'teststore'} and sorted(data['auths']) == ['de.icr.io']
    assert teststore.held()['ServerURL'] == 'us.icr.io'


def test_the_helper_method_gives_the_whole_result_and_diff(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', OLD_KEY)}},
                                'credHelpers': {'icr.io': 'pass'}}))
    result = run(helper_params(tmp_path), diff=True)
    assert result == {
        'changed': True, 'registries': {'us.icr.io': 'updated', 'icr.io': 'updated'}, 'config_path': str(path),
        'files': [{'path': str(path), 'format': 'docker', 'changed': True,
                   'registries': {'us.icr.io': 'updated', 'icr.io': 'updated'},
                   'stored_in': {'us.icr.io': 'docker-credential-icr', 'icr.io': 'docker-credential-icr'}}],
        'expires_at': None, 'username': None,
        'diff': {'before_header': str(path), 'after_header': str(path),
                 'before': side({'us.icr.io': {'username': 'iamapikey', 'secret': fingerprint(OLD_KEY)},
                                 'icr.io': {'stored_in': 'docker-credential-pass'}}),
                 'after': side({'us.icr.io': {'stored_in': 'docker-credential-icr'},
                                'icr.io': {'stored_in': 'docker-credential-icr'}})}}
    result = run(helper_params(tmp_path, state='absent'), diff=True)
    assert result['registries'] == {'us.icr.io': 'removed', 'icr.io': 'removed'}
    assert result['diff']['after'] == '{}\n'
    assert json.loads(path.read_text()) == {'auths': {}}


def test_a_registry_with_a_namespace_and_the_private_endpoint_are_written_as_given(tmp_path):
    path = tmp_path / 'auth.json'
    result = run(params(tmp_path, regions=None, registries=['us.icr.io/web'], format='containers',
                        config_path=str(path)))
    assert result['registries'] == {'us.icr.io/web': 'added'} and sorted(json.loads(path.read_text())['auths']) == [
        'us.icr.io/web']
    result = run(params(tmp_path, private_endpoint=True))
    assert result['registries'] == {'private.us.icr.io': 'added'}


def test_the_helper_method_refuses_a_bad_store_name_and_a_namespace(tmp_path):
    with pytest.raises(InputError) as err:
        run(helper_params(tmp_path, credential_store='no such'))
    assert err.value.msg.startswith("credential_store: 'no such' is not a credential helper name")
    with pytest.raises(InputError) as err:
        run(helper_params(tmp_path, regions=['us-south'], namespaces=['web'], format='containers'))
    assert err.value.msg == ('namespaces/registries: us.icr.io/web is scoped to a namespace, but credHelpers entries '
                             'are per registry host (containers tools ask a helper for the whole host); use method: '
                             'file for namespace-scoped credentials.')
    assert not (tmp_path / 'config.json').exists()


def test_the_registries_are_asked_with_the_credential_itself(tmp_path):
    asked = []

    class Network(object):
        def verify(self, hosts, username, password):
            asked.append((tuple(hosts), username, password))
            return [Verification(h, True, 'ok', 200) for h in hosts]

    run(params(tmp_path, validate=True), network=Network())
    assert asked == [(('us.icr.io',), 'iamapikey', API_KEY)]


def test_an_entry_that_is_not_an_object_is_refused_naming_the_file(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'auths': {'us.icr.io': 'x'}}))
    with pytest.raises(ConfigFileError) as err:
        run(params(tmp_path))
    assert str(path) in err.value.msg and 'The entry for us.icr.io in "auths" is a JSON string' in err.value.msg
    assert json.loads(path.read_text()) == {'auths': {'us.icr.io': 'x'}}


def test_reauthorize_rewrites_the_same_credential_in_the_file(tmp_path):
    run(params(tmp_path))
    assert run(params(tmp_path))['registries'] == {'us.icr.io': 'unchanged'}
    result = run(params(tmp_path, reauthorize=True))
    assert result['changed'] and result['registries'] == {'us.icr.io': 'updated'}


def test_min_validity_decides_whether_a_stored_token_stays(tmp_path, teststore):
    old, new = iam_token(lifetime=300), iam_token(lifetime=3600)
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'auths': {'us.icr.io': {'auth': encode_auth('iambearer', old)}}}))
    p = params(tmp_path, username_type='iambearer', password=new)
    assert run(dict(p, min_validity=60))['registries'] == {'us.icr.io': 'unchanged'}
    assert run(dict(p, min_validity=600))['registries'] == {'us.icr.io': 'updated'}
    # the same in a credential helper
    path.write_text(json.dumps({'credsStore': 'teststore'}))
    run(dict(p, password=old, min_validity=0))
    assert run(dict(p, min_validity=60))['registries'] == {'us.icr.io': 'unchanged'}
    assert run(dict(p, min_validity=600))['registries'] == {'us.icr.io': 'updated'}
    assert teststore.held()['Secret'] == new


def test_a_helper_named_for_the_host_in_credhelpers_is_used(tmp_path, teststore):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'credHelpers': {'us.icr.io': 'teststore'}}))
    result = run(params(tmp_path))
    assert result['files'][0]['stored_in'] == {'us.icr.io': 'docker-credential-teststore'}
    assert teststore.held()['Secret'] == API_KEY


@pytest.mark.parametrize('mode, who', [('0601', None), ('0605', 'every user on the host'), ('0641', 'its group')])
def test_only_group_and_other_read_or_write_bits_are_warned_about(tmp_path, mode, who):
    _result, login = run_with_login(params(tmp_path, mode=mode))
    shared = [w for w in login.warnings if 'holds a registry secret' in w]
    assert shared == ([] if who is None else [f'{tmp_path / "config.json"} holds a registry secret and can be read or '
                                              f'changed by {who} (mode {mode}). The mode was kept, as Docker keeps it; '
                                              "to make the file private, set mode: '0600' (or chmod 600 it)."])


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root')
def test_root_runs_no_helper_a_file_others_can_change_names_unless_asked_by_name(tmp_path, teststore):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'credsStore': 'teststore'}))
    os.chmod(str(path), 0o666)
    with pytest.raises(ConfigFileError) as err:
        run(params(tmp_path))
    assert err.value.msg.startswith(f'{path} names the credential helper docker-credential-teststore, but the file '
                                    'can be changed by users other than root;')
    assert teststore.calls() == []
    result = run(params(tmp_path, credential_store='teststore'))  # named by the task, not by the file
    assert result['registries'] == {'us.icr.io': 'added'} and teststore.held()['Secret'] == API_KEY


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root')
def test_the_helper_of_a_users_file_runs_as_that_user(monkeypatch):
    nobody = pwd.getpwnam('nobody')
    top = pathlib.Path(tempfile.mkdtemp(prefix='icr-auth-unit-'))
    try:
        os.chmod(str(top), 0o755)
        bin_dir, users_dir = top / 'bin', top / 'ci'
        for directory in (bin_dir, users_dir):
            directory.mkdir()
            os.chown(str(directory), nobody.pw_uid, nobody.pw_gid)
        program = bin_dir / 'docker-credential-teststore'
        program.write_text(HELPER_SCRIPT.replace('echo "$1"', 'echo "$1 $(id -u)"'))
        program.chmod(0o755)
        monkeypatch.setenv('PATH', '%s%s%s' % (bin_dir, os.pathsep, os.environ.get('PATH', os.defpath)))
        path = users_dir / 'config.json'
        path.write_text(json.dumps({'credsStore': 'teststore'}))
        os.chown(str(path), nobody.pw_uid, nobody.pw_gid)
        result = run(params(top, config_path=str(path)))
        assert result['files'][0]['stored_in'] == {'us.icr.io': 'docker-credential-teststore'}
        uid = str(nobody.pw_uid)
        assert (bin_dir / 'calls').read_text().split() == ['get', uid, 'store', uid, 'get', uid]
    finally:
        shutil.rmtree(str(top), ignore_errors=True)


# ------------------------------------------------------------------------------------------------ run_login

def test_run_login_returns_the_result_with_its_warnings_and_follows_check_and_diff_mode(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text('{}')
    path.chmod(0o644)
    checked = run_login(module_params(tmp_path), True, False)
    assert checked['changed'] is True and 'diff' not in checked and json.loads(path.read_text()) == {}
    result = run_login(module_params(tmp_path), False, True)
    assert result['changed'] is True and result['registries'] == {'us.icr.io': 'added'} and 'diff' in result
    assert 'us.icr.io' in json.loads(path.read_text())['auths']
    assert any('can be read or changed by' in w for w in result['warnings']), result
    path.chmod(0o600)
    again = run_login(module_params(tmp_path), False, False)
    assert again['changed'] is False and 'warnings' not in again


def test_run_login_returns_an_error_as_a_failure_without_the_secret(tmp_path):
    result = run_login(module_params(tmp_path, password=None, api_key=API_KEY, username_type='iambearer'), False, False)
    assert result['failed'] is True and result['changed'] is False and result['msg'].startswith('api_key: ')
    assert API_KEY not in json.dumps(result) and not (tmp_path / 'config.json').exists()
