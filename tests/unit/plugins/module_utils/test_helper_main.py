# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_helper_main: the docker-credential-helpers protocol against a scripted IAM on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import sys

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _helper_main as hm
from ansible_collections.icr.auth.plugins.module_utils._identity_base import AccessToken
from ansible_collections.icr.auth.plugins.module_utils._token_cache import Served

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.helper_fakes import ScriptServer, free_port_url
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token


@pytest.fixture(autouse=True)
def own_default_cache(tmp_path, monkeypatch):
    """The default cache directory (under the home of the password database) is the test's own, never the real one."""
    monkeypatch.setattr(hm, 'default_cache_dir', lambda: str(tmp_path / 'default-cache'))


class Setup(object):
    def __init__(self, tmp_path, iam_url, **extra):
        self.key = tmp_path / 'apikey'
        self.key.write_text(API_KEY + '\n')
        os.chmod(self.key, 0o600)
        self.cache = tmp_path / 'cache'
        self.config = tmp_path / 'helper.json'
        conf = {'version': 1, 'identity': 'api_key_file', 'api_key_file': str(self.key), 'iam_endpoint': iam_url,
                'registries': ['us.icr.io', '127.0.0.1:5000'], 'cache_dir': str(self.cache), 'timeout': 2,
                'retries': 0}
        conf.update(extra)
        self.config.write_text(json.dumps(conf))

    def run(self, *args, stdin=''):
        out, err = io.StringIO(), io.StringIO()
        code = hm.main(['docker-credential-icr'] + list(args), io.StringIO(stdin), out, err,
                       {hm.helper_config.CONFIG_ENV: str(self.config)})
        return code, out.getvalue(), err.getvalue()


def iam_answer(value=None):
    return (200, {}, {'access_token': value or iam_token(), 'expires_in': 3600})


@pytest.mark.parametrize('asked', ['us.icr.io', 'https://us.icr.io', 'https://us.icr.io/v2/', 'private.jp.icr.io',
                                   'registry.ng.bluemix.net', 'icr.io', '127.0.0.1:5000'])
def test_get_answers_iambearer_and_the_token_for_every_icr_and_configured_host(tmp_path, asked):
    token = iam_token()
    with ScriptServer(iam_answer(token)) as iam:
        setup = Setup(tmp_path, iam.url)
        code, out, err = setup.run('get', stdin=asked + '\n')
    assert (code, err) == (0, '')
    assert json.loads(out) == {'ServerURL': asked, 'Username': 'iambearer', 'Secret': token}


@pytest.mark.parametrize('asked', ['docker.io', 'https://index.docker.io/v1/', 'quay.io', '', 'not a host',
                                   'evil.icr.io.example.com'])
def test_get_for_another_host_is_not_found_as_the_protocol_says(tmp_path, asked):
    with ScriptServer(iam_answer()) as iam:
        setup = Setup(tmp_path, iam.url)
        code, out, err = setup.run('get', stdin=asked)
    assert (code, out, err) == (1, 'credentials not found in native keychain\n', '')
    assert iam.requests == []


def test_get_twice_makes_one_exchange(tmp_path):
    with ScriptServer(iam_answer()) as iam:
        setup = Setup(tmp_path, iam.url)
        first = setup.run('get', stdin='us.icr.io')
        second = setup.run('get', stdin='de.icr.io')
    assert first[0] == second[0] == 0 and len(iam.requests) == 1
    assert json.loads(first[1])['Secret'] == json.loads(second[1])['Secret']


def test_an_error_is_one_line_naming_registry_identity_and_cause_without_the_key(tmp_path):
    setup = Setup(tmp_path, free_port_url())
    code, out, err = setup.run('get', stdin='us.icr.io')
    assert code == 1 and err == out and err.count('\n') == 1
    assert err.startswith('docker-credential-icr: us.icr.io: api_key_file: IBM Cloud IAM at http://127.0.0.1:')
    assert 'could not be reached (1 attempt)' in err and API_KEY not in err


def test_an_iam_refusal_is_mapped(tmp_path):
    refusal = (400, {}, {'errorCode': 'BXNIM0415E', 'errorMessage': 'Provided API key could not be found.'})
    with ScriptServer(refusal) as iam:
        code, out, err = Setup(tmp_path, iam.url).run('get', stdin='us.icr.io')
    assert code == 1 and 'api_key_file: Could not exchange the API key: IAM answered HTTP 400 (BXNIM0415E' in err
    assert 'The API key is not known to IAM' in err and API_KEY not in out + err


def test_a_broken_configuration_is_named_for_icr_hosts(tmp_path, monkeypatch):
    # Without a configuration the helper looks for the user's own logins in the default cache directory, under the
    # home of the password database: a test's own, not the real one (a login stored there would be served).
    monkeypatch.setattr(hm, 'default_cache_dir', lambda: str(tmp_path / 'default-cache'))
    setup = Setup(tmp_path, 'public')
    setup.config.write_text('{"identity": "magic"}')
    code, out, err = setup.run('get', stdin='us.icr.io')
    assert code == 1 and err.startswith(f'docker-credential-icr: us.icr.io: configuration: {setup.config}: ')
    assert setup.run('get', stdin='docker.io')[:2] == (1, 'credentials not found in native keychain\n')


def test_store_keeps_the_users_login_get_serves_it_and_erase_removes_it(tmp_path):
    with ScriptServer(iam_answer('helper-token')) as iam:
        setup = Setup(tmp_path, iam.url)
        login = {'ServerURL': 'https://us.icr.io', 'Username': 'iamapikey', 'Secret': 'own-key-of-the-user-123'}
        assert setup.run('store', stdin=json.dumps(login)) == (0, '', '')
        assert stat_mode(setup.cache / 'logins.json') == 0o600
        code, out, _err = setup.run('get', stdin='us.icr.io')
        assert json.loads(out) == {'ServerURL': 'us.icr.io', 'Username': 'iamapikey',
                                   'Secret': 'own-key-of-the-user-123'}
        assert json.loads(setup.run('list')[1]) == {'127.0.0.1:5000': 'iambearer', 'us.icr.io': 'iamapikey'}
        assert setup.run('erase', stdin='us.icr.io') == (0, '', '')
        assert json.loads(setup.run('get', stdin='us.icr.io')[1])['Secret'] == 'helper-token'
        assert json.loads(setup.run('list')[1]) == {'127.0.0.1:5000': 'iambearer', 'us.icr.io': 'iambearer'}
    assert 'own-key-of-the-user-123' not in (setup.cache / 'logins.json').read_text()


def test_erase_drops_the_cached_token_so_the_next_get_exchanges(tmp_path):
    with ScriptServer(iam_answer()) as iam:
        setup = Setup(tmp_path, iam.url)
        setup.run('get', stdin='us.icr.io')
        assert setup.run('erase', stdin='us.icr.io') == (0, '', '')
        setup.run('get', stdin='us.icr.io')
    assert len(iam.requests) == 2


@pytest.mark.parametrize('stdin, says', [('nope', 'the input is not JSON'), ('[]', 'give a JSON object'),
                                         ('{"ServerURL": "x y", "Username": "u", "Secret": "s"}', 'is not a registry')])
def test_store_refuses_bad_input(tmp_path, stdin, says):
    code, out, err = Setup(tmp_path, 'public').run('store', stdin=stdin)
    assert code == 1 and says in err


@pytest.mark.parametrize('args', [[], ['wipe'], ['get', 'extra']])
def test_anything_else_is_a_protocol_error(tmp_path, args):
    code, out, err = Setup(tmp_path, 'public').run(*args)
    assert code == 1 and 'Usage: docker-credential-icr <store|get|erase|list|version>' in err
    assert out.startswith('docker-credential-icr: unknown action')


def test_version(tmp_path):
    assert Setup(tmp_path, 'public').run('version') == (0, f'docker-credential-icr {hm.VERSION}\n', '')


def stat_mode(path):
    return os.stat(path).st_mode & 0o777


def test_docker_login_without_arguments_stores_back_our_token_and_nothing_is_kept(tmp_path):
    token = iam_token()
    with ScriptServer(iam_answer(token)) as iam:
        setup = Setup(tmp_path, iam.url)
        answer = json.loads(setup.run('get', stdin='us.icr.io')[1])
        assert setup.run('store', stdin=json.dumps(answer)) == (0, '', '')
    assert json.loads(setup.run('list')[1]) == {'127.0.0.1:5000': 'iambearer', 'us.icr.io': 'iambearer'}
    assert not (setup.cache / 'logins.json').exists() or 'us.icr.io' not in (setup.cache / 'logins.json').read_text()


def test_a_stored_bearer_login_is_served_until_its_token_expires(tmp_path):
    with ScriptServer(iam_answer('identity-token')) as iam:
        setup = Setup(tmp_path, iam.url)
        valid = iam_token(lifetime=600)
        setup.run('store', stdin=json.dumps({'ServerURL': 'us.icr.io', 'Username': 'iambearer', 'Secret': valid}))
        assert json.loads(setup.run('get', stdin='us.icr.io')[1])['Secret'] == valid
        expired = iam_token(lifetime=10)
        setup.run('store', stdin=json.dumps({'ServerURL': 'us.icr.io', 'Username': 'iambearer', 'Secret': expired}))
        assert json.loads(setup.run('get', stdin='us.icr.io')[1])['Secret'] == 'identity-token'


LINE = 'Usage: docker-credential-icr <store|get|erase|list|version>'


def open_logins(setup, content='{}', mode=0o644):
    """A logins file others can read: every action that reads the user's logins must refuse it."""
    setup.cache.mkdir(mode=0o700, exist_ok=True)
    path = setup.cache / 'logins.json'
    path.write_text(content)
    os.chmod(path, mode)
    return path


def refusal(path):
    return f'the token cache file {path} is open to others (mode 0644); remove it (rm {path})'


def entry(monkeypatch, argv, stdin='', raises=None):
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, 'argv', argv)
    monkeypatch.setattr(sys, 'stdin', io.StringIO(stdin))
    monkeypatch.setattr(sys, 'stdout', out)
    monkeypatch.setattr(sys, 'stderr', err)
    if raises is not None:
        def broken(*args):
            raise raises
        monkeypatch.setattr(hm, 'main', broken)
    return hm.run(), out.getvalue(), err.getvalue()


def test_run_is_main_on_the_processs_argv_and_streams(monkeypatch):
    assert entry(monkeypatch, ['docker-credential-icr', 'version']) == (0, 'docker-credential-icr 1.0.0\n', '')
    assert entry(monkeypatch, ['docker-credential-icr', 'wipe']) == (
        1, f'docker-credential-icr: unknown action; {LINE}\n', LINE + '\n')


def test_run_answers_130_to_an_interrupt_and_says_nothing(monkeypatch):
    assert entry(monkeypatch, ['docker-credential-icr', 'get'], raises=KeyboardInterrupt()) == (130, '', '')


@pytest.mark.parametrize('exc, line', [
    (OSError(2, 'No such file or directory'),
     'docker-credential-icr: unexpected FileNotFoundError: No such file or directory; please report it'),
    (ValueError('secret-in-the-message'), 'docker-credential-icr: unexpected ValueError; please report it'),
    (OSError('secret-in-the-message'), 'docker-credential-icr: unexpected OSError; please report it'),
])
def test_an_unexpected_error_is_one_line_of_its_kind_without_its_text(monkeypatch, exc, line):
    assert entry(monkeypatch, ['docker-credential-icr', 'get'], raises=exc) == (1, line + '\n', line + '\n')


@pytest.mark.parametrize('retries, timeout, expected', [(0, 2, 29.0), (2, 3, 83.0), (1, 0.5, 47.0)])
def test_lock_timeout_covers_two_metadata_steps_with_their_retries(retries, timeout, expected):
    # 2 steps * attempts * (timeout + the longest Retry-After honoured, 10 s) + 5 s
    assert hm.lock_timeout({'retries': retries, 'timeout': timeout}) == expected


def test_transport_takes_timeout_retries_certificates_and_ca_path_from_the_configuration():
    made = hm.transport({'timeout': 7, 'retries': 3, 'validate_certs': False, 'ca_path': '/etc/icr/ca.pem'})
    assert (made.timeout, made.retries, made.validate_certs, made.ca_path) == (7.0, 3, False, '/etc/icr/ca.pem')
    made = hm.transport({'timeout': 1, 'retries': 0, 'validate_certs': True, 'ca_path': '~/ca.pem'})
    assert (made.timeout, made.retries, made.validate_certs) == (1.0, 0, True)
    assert made.ca_path == hm.expand_user('~') + '/ca.pem' and not made.ca_path.startswith('~')
    for config in ({'timeout': 1, 'retries': 0, 'validate_certs': True},
                   {'timeout': 1, 'retries': 0, 'validate_certs': True, 'ca_path': None},
                   {'timeout': 1, 'retries': 0, 'validate_certs': True, 'ca_path': ''}):
        assert hm.transport(config).ca_path is None


def test_cache_dir_is_the_configured_one_expanded_or_the_default(monkeypatch, tmp_path):
    monkeypatch.setattr(hm, 'default_cache_dir', lambda: str(tmp_path / 'default-cache'))
    for config in (None, {}, {'cache_dir': None}, {'cache_dir': ''}):
        assert hm.cache_dir(config) == str(tmp_path / 'default-cache')
    assert hm.cache_dir({'cache_dir': '/var/cache/icr'}) == '/var/cache/icr'
    assert hm.cache_dir({'cache_dir': '~/c'}) == hm.expand_user('~') + '/c'


@pytest.mark.parametrize('url, host', [(' https://us.icr.io/v2/ \n', 'us.icr.io'), ('de.icr.io', 'de.icr.io'),
                                       ('127.0.0.1:5000', '127.0.0.1:5000'), ('x y', None), ('', None)])
def test_registry_host(url, host):
    assert hm.registry_host(url) == host


def test_serves_every_icr_host_and_the_configured_ones_only():
    config = {'registries': ['127.0.0.1:5000']}
    assert hm.serves('us.icr.io', None) and hm.serves('us.icr.io', config) and hm.serves('127.0.0.1:5000', config)
    assert not hm.serves(None, config) and not hm.serves('127.0.0.1:5000', None)
    assert not hm.serves('docker.io', config) and not hm.serves('docker.io', None)


def test_expired_bearer_is_an_iambearer_login_within_the_minimum_validity():
    now = 1_800_000_000
    assert hm.expired_bearer('iambearer', iam_token(lifetime=15, now=now), now=now)
    assert not hm.expired_bearer('iambearer', iam_token(lifetime=16, now=now), now=now)
    assert hm.expired_bearer('iambearer', iam_token(lifetime=600, now=now), now=now + 600)
    assert not hm.expired_bearer('iamapikey', iam_token(lifetime=1, now=now), now=now)
    assert not hm.expired_bearer('iambearer', 'not-a-jwt', now=now)
    assert hm.expired_bearer('iambearer', iam_token(lifetime=10))
    assert not hm.expired_bearer('iambearer', iam_token(lifetime=60))


def test_the_input_is_read_up_to_64_kib(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    assert hm.Helper(io.StringIO('a' * 65536), out, err, {}).read_input() == 'a' * 65536
    with pytest.raises(hm.ProtocolError) as caught:
        hm.Helper(io.StringIO('a' * 65537), out, err, {}).read_input()
    assert caught.value.msg == 'the input is larger than 65536 bytes'


def test_the_configuration_path_comes_from_the_process_environment_by_default(monkeypatch, tmp_path):
    monkeypatch.setenv(hm.helper_config.CONFIG_ENV, str(tmp_path / 'h.json'))
    assert hm.Helper(io.StringIO(), io.StringIO(), io.StringIO()).config_path == str(tmp_path / 'h.json')
    given = {hm.helper_config.CONFIG_ENV: str(tmp_path / 'given.json')}
    assert hm.Helper(io.StringIO(), io.StringIO(), io.StringIO(), given).config_path == str(tmp_path / 'given.json')


@pytest.mark.parametrize('args', [['--version'], ['-v']])
def test_version_spellings(tmp_path, args):
    assert Setup(tmp_path, 'public').run(*args) == (0, 'docker-credential-icr 1.0.0\n', '')


@pytest.mark.parametrize('args', [[], ['wipe'], ['get', 'extra'], ['docker-credential-icr', 'get', 'x']])
def test_a_protocol_error_is_the_usage_on_stderr_and_the_action_refused_on_stdout(tmp_path, args):
    assert Setup(tmp_path, 'public').run(*args) == (1, f'docker-credential-icr: unknown action; {LINE}\n', LINE + '\n')


def test_get_answers_one_exact_json_line(tmp_path):
    with ScriptServer(iam_answer('the-token')) as iam:
        setup = Setup(tmp_path, iam.url)
        assert setup.run('get', stdin='https://us.icr.io/v2/\n') == (
            0, '{"ServerURL": "https://us.icr.io/v2/", "Username": "iambearer", "Secret": "the-token"}\n', '')


def test_get_hands_the_identity_cache_share_and_lock_timeout_to_get_token_and_passes_its_warning_on(
        tmp_path, monkeypatch):
    seen = []

    def fake_get_token(fetch, cache, share, lock_timeout):
        seen.append((fetch.__self__.cache_key(), cache.path, share, lock_timeout))
        return Served(AccessToken('served-token', 1_900_000_000, 1_899_996_400), 'the lock was held')
    monkeypatch.setattr(hm, 'get_token', fake_get_token)
    setup = Setup(tmp_path, free_port_url(), refresh_share=0.3, retries=1, timeout=4)
    assert setup.run('get', stdin='us.icr.io') == (
        0, '{"ServerURL": "us.icr.io", "Username": "iambearer", "Secret": "served-token"}\n',
        'docker-credential-icr: us.icr.io: api_key_file: warning: the lock was held\n')
    config = hm.helper_config.load(str(setup.config))
    key = hm.source(config, hm.transport(config)).cache_key()
    assert seen == [(key, hm.TokenCache(str(setup.cache), key).path, 0.3, 61.0)]


def test_get_names_a_login_store_it_cannot_trust_and_asks_no_one(tmp_path):
    with ScriptServer(iam_answer()) as iam:
        setup = Setup(tmp_path, iam.url)
        path = open_logins(setup)
        line = f'docker-credential-icr: us.icr.io: {refusal(path)}\n'
        assert setup.run('get', stdin='us.icr.io') == (1, line, line)
        assert setup.run('get', stdin='docker.io') == (1, 'credentials not found in native keychain\n', '')
    assert iam.requests == []


def test_a_broken_configuration_is_one_exact_line(tmp_path, monkeypatch):
    monkeypatch.setattr(hm, 'default_cache_dir', lambda: str(tmp_path / 'default-cache'))
    setup = Setup(tmp_path, 'public')
    setup.config.write_text('{"identity": "magic"}')
    with pytest.raises(hm.IcrAuthError) as caught:
        hm.helper_config.load(str(setup.config))
    line = f'docker-credential-icr: us.icr.io: configuration: {caught.value.msg}\n'
    assert setup.run('get', stdin='us.icr.io') == (1, line, line)
    assert not (tmp_path / 'default-cache').exists()


@pytest.mark.parametrize('stdin, line', [
    ('nope', 'docker-credential-icr: store: the input is not JSON; give {"ServerURL", "Username", "Secret"}'),
    ('[]', 'docker-credential-icr: store: give a JSON object with the strings ServerURL, Username and Secret'),
    ('{"Username": "u", "Secret": "s"}',
     'docker-credential-icr: store: give a JSON object with the strings ServerURL, Username and Secret'),
    ('{"ServerURL": "us.icr.io", "Username": 1, "Secret": "s"}',
     'docker-credential-icr: store: give a JSON object with the strings ServerURL, Username and Secret'),
    ('{"ServerURL": "us.icr.io", "Username": "u"}',
     'docker-credential-icr: store: give a JSON object with the strings ServerURL, Username and Secret'),
    ('{"ServerURL": "a  b", "Username": "u", "Secret": "s"}',
     "docker-credential-icr: store: 'a b' is not a registry host"),
])
def test_store_refuses_bad_input_in_one_exact_line(tmp_path, stdin, line):
    setup = Setup(tmp_path, 'public')
    assert setup.run('store', stdin=stdin) == (1, line + '\n', line + '\n')
    assert not setup.cache.exists()


def test_store_names_a_login_store_it_cannot_trust(tmp_path):
    setup = Setup(tmp_path, free_port_url())
    path = open_logins(setup)
    line = f'docker-credential-icr: us.icr.io: store: {refusal(path)}\n'
    login = {'ServerURL': 'https://registry.ng.bluemix.net', 'Username': 'iamapikey', 'Secret': 'own-key-1'}
    assert setup.run('store', stdin=json.dumps(login)) == (1, line, line)
    assert path.read_text() == '{}'


def test_store_keeps_a_login_under_its_icr_name_and_a_bearer_token_that_is_not_ours(tmp_path):
    with ScriptServer(iam_answer('helper-token')) as iam:
        setup = Setup(tmp_path, iam.url)
        setup.run('get', stdin='us.icr.io')
        other = iam_token(lifetime=900)
        for login in ({'ServerURL': 'https://registry.ng.bluemix.net/v2/', 'Username': 'iamapikey', 'Secret': 'k1'},
                      {'ServerURL': 'de.icr.io', 'Username': 'iambearer', 'Secret': other},
                      {'ServerURL': 'jp.icr.io', 'Username': 'someone', 'Secret': 'helper-token'}):
            assert setup.run('store', stdin=json.dumps(login)) == (0, '', '')
    assert json.loads((setup.cache / 'logins.json').read_text()) == {
        'us.icr.io': {'Username': 'iamapikey', 'Secret': 'k1'},
        'de.icr.io': {'Username': 'iambearer', 'Secret': other},
        'jp.icr.io': {'Username': 'someone', 'Secret': 'helper-token'}}


def test_store_keeps_our_token_when_the_cache_cannot_be_read_or_there_is_no_configuration(tmp_path, monkeypatch):
    monkeypatch.setattr(hm, 'default_cache_dir', lambda: str(tmp_path / 'default-cache'))
    with ScriptServer(iam_answer('helper-token')) as iam:
        setup = Setup(tmp_path, iam.url)
        setup.run('get', stdin='us.icr.io')
        cached = [p for p in setup.cache.iterdir() if p.suffix == '.json' and p.name != 'logins.json']
        assert len(cached) == 1
        os.chmod(cached[0], 0o644)
        login = {'ServerURL': 'us.icr.io', 'Username': 'iambearer', 'Secret': 'helper-token'}
        assert setup.run('store', stdin=json.dumps(login)) == (0, '', '')
        setup.config.write_text('{"identity": "magic"}')
        assert setup.run('store', stdin=json.dumps(dict(login, ServerURL='de.icr.io'))) == (0, '', '')
    assert json.loads((setup.cache / 'logins.json').read_text()) == {
        'us.icr.io': {'Username': 'iambearer', 'Secret': 'helper-token'}}
    assert json.loads((tmp_path / 'default-cache' / 'logins.json').read_text()) == {
        'de.icr.io': {'Username': 'iambearer', 'Secret': 'helper-token'}}


@pytest.mark.parametrize('stdin', ['', 'x y', '\n'])
def test_erase_refuses_what_is_not_a_registry_host(tmp_path, stdin):
    line = 'docker-credential-icr: erase: the input is not a registry host\n'
    assert Setup(tmp_path, 'public').run('erase', stdin=stdin) == (1, line, line)


def test_erase_names_a_login_store_it_cannot_trust(tmp_path):
    setup = Setup(tmp_path, free_port_url())
    path = open_logins(setup, '{"us.icr.io": {"Username": "u", "Secret": "s"}}')
    line = f'docker-credential-icr: us.icr.io: erase: {refusal(path)}\n'
    assert setup.run('erase', stdin='https://us.icr.io') == (1, line, line)


def test_erase_of_a_host_we_do_not_serve_keeps_the_identitys_token(tmp_path):
    with ScriptServer(iam_answer()) as iam:
        setup = Setup(tmp_path, iam.url)
        setup.run('store', stdin=json.dumps({'ServerURL': 'docker.io', 'Username': 'me', 'Secret': 'pw'}))
        setup.run('get', stdin='us.icr.io')
        assert setup.run('erase', stdin='docker.io') == (0, '', '')
        setup.run('get', stdin='us.icr.io')
        assert len(iam.requests) == 1
        assert setup.run('erase', stdin='127.0.0.1:5000') == (0, '', '')
        setup.run('get', stdin='us.icr.io')
        assert len(iam.requests) == 2
    assert json.loads((setup.cache / 'logins.json').read_text()) == {}


def test_erase_and_list_without_a_configuration_use_the_default_logins(tmp_path, monkeypatch):
    monkeypatch.setattr(hm, 'default_cache_dir', lambda: str(tmp_path / 'default-cache'))
    setup = Setup(tmp_path, 'public')
    setup.config.write_text('{"identity": "magic"}')
    assert setup.run('list') == (0, '{}\n', '')
    for host in ('us.icr.io', 'docker.io'):
        setup.run('store', stdin=json.dumps({'ServerURL': host, 'Username': 'me', 'Secret': 'pw'}))
    assert setup.run('list') == (0, '{"docker.io": "me", "us.icr.io": "me"}\n', '')
    assert setup.run('erase', stdin='us.icr.io') == (0, '', '')
    assert setup.run('list') == (0, '{"docker.io": "me"}\n', '')


def test_list_is_one_sorted_json_line_of_the_configured_hosts_and_the_stored_logins(tmp_path):
    setup = Setup(tmp_path, 'public', registries=['us.icr.io', '127.0.0.1:5000', 'de.icr.io'])
    assert setup.run('list') == (
        0, '{"127.0.0.1:5000": "iambearer", "de.icr.io": "iambearer", "us.icr.io": "iambearer"}\n', '')
    setup.run('store', stdin=json.dumps({'ServerURL': 'de.icr.io', 'Username': 'iamapikey', 'Secret': 'k'}))
    assert setup.run('list') == (
        0, '{"127.0.0.1:5000": "iambearer", "de.icr.io": "iamapikey", "us.icr.io": "iambearer"}\n', '')


def test_list_names_a_login_store_it_cannot_trust(tmp_path):
    setup = Setup(tmp_path, 'public')
    path = open_logins(setup)
    line = f'docker-credential-icr: list: {refusal(path)}\n'
    assert setup.run('list') == (1, line, line)


@pytest.mark.parametrize('action', ['get', 'store', 'erase'])
def test_an_input_larger_than_64_kib_is_refused_by_name(tmp_path, action):
    setup = Setup(tmp_path, free_port_url())
    line = f'docker-credential-icr: {action}: the input is larger than 65536 bytes\n'
    assert setup.run(action, stdin='a' * 65537) == (1, line, line)
    assert not setup.cache.exists()


def open_fds():
    return sorted(os.listdir('/proc/self/fd'))


def test_every_action_closes_the_files_it_opened(tmp_path):
    with ScriptServer(iam_answer('helper-token')) as iam:
        setup = Setup(tmp_path, iam.url)
        setup.run('get', stdin='us.icr.io')
        before = open_fds()
        assert setup.run('get', stdin='us.icr.io')[0] == 0
        ours = {'ServerURL': 'us.icr.io', 'Username': 'iambearer', 'Secret': 'helper-token'}
        assert setup.run('store', stdin=json.dumps(ours)) == (0, '', '')
        login = {'ServerURL': 'us.icr.io', 'Username': 'iamapikey', 'Secret': 'own-key'}
        assert setup.run('store', stdin=json.dumps(login)) == (0, '', '')
        assert json.loads(setup.run('get', stdin='us.icr.io')[1])['Secret'] == 'own-key'
        assert setup.run('list')[0] == 0
        assert setup.run('erase', stdin='us.icr.io') == (0, '', '')
        assert setup.run('store', stdin=json.dumps(dict(login, ServerURL='de.icr.io'))) == (0, '', '')
        assert setup.run('erase', stdin='de.icr.io') == (0, '', '')
        os.chmod(setup.cache / 'logins.json', 0o644)
        for action, stdin in (('get', 'us.icr.io'), ('store', json.dumps(login)), ('erase', 'us.icr.io'),
                              ('list', '')):
            assert setup.run(action, stdin=stdin)[0] == 1
        assert open_fds() == before
    assert len(iam.requests) == 1


def test_run_reads_the_processs_stdin_and_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(hm.helper_config.CONFIG_ENV, str(tmp_path / 'none.json'))
    assert entry(monkeypatch, ['docker-credential-icr', 'get'], stdin='docker.io\n') == (
        1, 'credentials not found in native keychain\n', '')


class Endless(object):
    """A stdin that never ends: only a bounded read comes back."""

    def read(self, size=-1):
        if size is None or size < 0:
            raise AssertionError('an unbounded read of stdin')
        return 'a' * size


def test_an_endless_input_is_read_no_further_than_the_limit(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(hm.ProtocolError) as caught:
        hm.Helper(Endless(), out, err, {}).read_input()
    assert caught.value.msg == 'the input is larger than 65536 bytes'


def test_get_names_a_ca_path_under_a_home_the_caller_has_not(tmp_path, monkeypatch):
    from ansible_collections.icr.auth.plugins.module_utils import _identity_key_file as key_file

    def no_entry(uid):
        raise KeyError(uid)
    setup = Setup(tmp_path, free_port_url(), ca_path='~/ca.pem')
    monkeypatch.setattr(key_file.pwd, 'getpwuid', no_entry)
    line = (f'docker-credential-icr: us.icr.io: api_key_file: uid {os.getuid()} has no entry in the password '
            'database, so it has no home directory; give absolute paths (api_key_file, cache_dir, ca_path) in the '
            'configuration\n')
    assert setup.run('get', stdin='us.icr.io') == (1, line, line)
