# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_helper_main: the docker-credential-helpers protocol against a scripted IAM on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _helper_main as hm

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.helper_fakes import ScriptServer, free_port_url
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token


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
