# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_cred_helpers: the docker-credential-helpers protocol, against a fake docker-credential-x on PATH.

The fake is a Python script (this interpreter, by absolute path) that keeps its store in a JSON file and logs each
call (verb, payload, the environment it got) to another; a `mode` file next to it makes it misbehave.
"""

from __future__ import annotations

import collections
import json
import os
import pwd
import sys

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _cred_helpers as helpers
from ansible_collections.icr.auth.plugins.module_utils._errors import CredentialHelperError, InputError

SECRET = 'FakeHelperSecret0123456789abcdefXYZ'
HOST = 'us.icr.io'

FAKE = r'''#!%(python)s
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
store_file, log_file, mode_file = (os.path.join(here, n) for n in ('store.json', 'calls.log', 'mode'))
verb, payload = sys.argv[1], sys.stdin.read()
mode = open(mode_file).read().strip() if os.path.exists(mode_file) else 'ok'
with open(log_file, 'a') as log:
    log.write(json.dumps({'argv': sys.argv[1:], 'payload': payload, 'env': dict(os.environ)}) + '\n')
store = json.load(open(store_file)) if os.path.exists(store_file) else {}
def save():
    with open(store_file, 'w') as out:
        json.dump(store, out)
if mode == 'fail':
    sys.stderr.write('boom: the keyring is locked\n'); sys.exit(3)
if mode == 'garbage' and verb == 'get':
    sys.stdout.write('not json ' + store.get(payload, {}).get('Secret', '')); sys.exit(0)
if mode == 'empty' and verb == 'get':
    sys.stdout.write(json.dumps({'ServerURL': payload, 'Username': 'iamapikey', 'Secret': ''})); sys.exit(0)
if mode == 'lossy' and verb == 'store':
    sys.exit(0)
if mode == 'fail-erase' and verb == 'erase':
    sys.stderr.write('cannot erase\n'); sys.exit(4)
if verb == 'store':
    entry = json.loads(payload)
    store[entry['ServerURL']] = {'Username': entry['Username'], 'Secret': entry['Secret']}
    save()
elif verb == 'get':
    if payload not in store:
        sys.stdout.write('credentials not found in native keychain\n'); sys.exit(1)
    sys.stdout.write(json.dumps(dict(store[payload], ServerURL=payload)))
elif verb == 'erase':
    if store.pop(payload, None) is None:
        sys.stdout.write('credentials not found in native keychain\n'); sys.exit(1)
    save()
else:
    sys.exit(2)
'''

Fake = collections.namedtuple('Fake', 'dir store mode calls')


@pytest.fixture()
def fake(tmp_path, monkeypatch):
    """docker-credential-x in a directory put first on PATH (the helper is looked up on the module's PATH)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    script = bin_dir / 'docker-credential-x'
    script.write_text(FAKE % {'python': sys.executable})
    script.chmod(0o755)
    monkeypatch.setenv('PATH', '%s%s%s' % (bin_dir, os.pathsep, os.environ.get('PATH', os.defpath)))
    monkeypatch.setenv('IBMCLOUD_API_KEY', 'EnvironmentKeyMustNotReachTheHelper')
    monkeypatch.setenv('HTTPS_PROXY', 'http://proxy.example.test:3128')

    def calls():
        path = bin_dir / 'calls.log'
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return Fake(bin_dir, bin_dir / 'store.json', bin_dir / 'mode', calls)


def me():
    return pwd.getpwuid(os.geteuid())


@pytest.mark.parametrize('name', ['pass', 'secretservice', 'osxkeychain', 'ecr-login', 'x', 'a.b_c-1'])
def test_check_name_accepts_helper_names(name):
    assert helpers.check_name(name) == name


@pytest.mark.parametrize('name', ['', '-x', '.x', '../pass', 'pa ss', 'pass/../../bin/sh', 'a;b', None, 3])
def test_check_name_refuses_what_is_not_a_helper_name(name):
    with pytest.raises(InputError) as caught:
        helpers.check_name(name, option='credHelpers')
    assert caught.value.msg.startswith('credHelpers: %r is not a credential helper name' % (name,))
    with pytest.raises(InputError):
        helpers.CredentialHelper(name)


@pytest.mark.parametrize('pw', [None, 'me'])
def test_store_get_erase_round_trip(fake, pw):
    helper = helpers.CredentialHelper('x', me() if pw else None)
    assert helper.program == 'docker-credential-x'
    assert helper.get(HOST) is None
    helper.store(HOST, 'iamapikey', SECRET)
    assert json.loads(fake.store.read_text()) == {HOST: {'Username': 'iamapikey', 'Secret': SECRET}}
    assert helper.get(HOST) == ('iamapikey', SECRET)
    assert helper.erase(HOST) is True
    assert helper.get(HOST) is None and helper.erase(HOST) is False
    assert json.loads(fake.store.read_text()) == {}


def test_the_secret_goes_on_stdin_never_on_the_command_line(fake):
    helpers.CredentialHelper('x').store(HOST, 'iamapikey', SECRET)
    calls = fake.calls()
    assert [c['argv'] for c in calls] == [['store'], ['get']]
    assert json.loads(calls[0]['payload']) == {'ServerURL': HOST, 'Username': 'iamapikey', 'Secret': SECRET}
    assert calls[1]['payload'] == HOST


def test_the_helper_gets_a_minimal_environment(fake):
    helpers.CredentialHelper('x', me()).get(HOST)
    env = fake.calls()[0]['env']
    assert 'IBMCLOUD_API_KEY' not in env and 'HTTPS_PROXY' not in env
    assert env['HOME'] == me().pw_dir and env['USER'] == me().pw_name == env['LOGNAME']
    assert env['PATH'].split(os.pathsep)[0] == str(fake.dir)
    allowed = set(helpers._OWN_ENV) | {'PWD', 'SHLVL', '_'}   # what a shell or Python may add on its own
    assert not [k for k in env if k not in allowed and not k.startswith('LC_')]


def test_another_users_helper_gets_only_the_safe_path_and_that_users_identity():
    other = pwd.struct_passwd(('someone', 'x', os.geteuid() + 12345, 12345, '', '/home/someone', '/bin/sh'))
    env = helpers.CredentialHelper('x', other)._env()   # pylint: disable=protected-access
    assert env.pop('PATH') == helpers.SAFE_PATH
    assert env.pop('HOME') == '/home/someone' and env.pop('USER') == 'someone' and env.pop('LOGNAME') == 'someone'
    assert set(env) <= {'XDG_RUNTIME_DIR', 'DBUS_SESSION_BUS_ADDRESS'}


def test_a_missing_helper_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))
    with pytest.raises(CredentialHelperError) as caught:
        helpers.CredentialHelper('nosuchhelper').get(HOST)
    assert 'docker-credential-nosuchhelper is not installed on this host' in caught.value.msg
    assert caught.value.details == {'helper': 'nosuchhelper'}


def test_an_empty_answer_is_nothing_stored_and_a_store_it_answers_empty_for_is_not_success(fake):
    helper = helpers.CredentialHelper('x')
    fake.mode.write_text('empty')
    assert helper.get(HOST) is None
    with pytest.raises(CredentialHelperError) as caught:
        helper.store(HOST, 'iamapikey', SECRET)
    assert 'docker-credential-x said it stored the credential for us.icr.io' in caught.value.msg
    assert SECRET not in caught.value.msg


def test_a_store_that_keeps_nothing_is_not_success(fake):
    fake.mode.write_text('lossy')
    with pytest.raises(CredentialHelperError) as caught:
        helpers.CredentialHelper('x').store(HOST, 'iamapikey', SECRET)
    assert 'does not give it back' in caught.value.msg and SECRET not in caught.value.msg


def test_a_store_that_gives_back_another_secret_is_not_success(fake):
    helper = helpers.CredentialHelper('x')
    helper.store(HOST, 'iamapikey', SECRET)
    fake.mode.write_text('lossy')
    with pytest.raises(CredentialHelperError):
        helper.store(HOST, 'iamapikey', SECRET + 'new')


@pytest.mark.parametrize('verb', ['get', 'store', 'erase'])
def test_a_failing_helper_is_named_with_its_message_and_exit_code(fake, verb):
    helper = helpers.CredentialHelper('x')
    if verb == 'erase':
        helper.store(HOST, 'iamapikey', SECRET)
        fake.mode.write_text('fail-erase')
    else:
        fake.mode.write_text('fail')
    with pytest.raises(CredentialHelperError) as caught:
        if verb == 'store':
            helper.store(HOST, 'iamapikey', SECRET)
        else:
            getattr(helper, verb)(HOST)
    msg = caught.value.msg
    assert msg.startswith('The credential helper docker-credential-x failed to ')
    assert ('exit 4' if verb == 'erase' else 'exit 3') in msg
    assert ('cannot erase' if verb == 'erase' else 'boom: the keyring is locked') in msg
    assert SECRET not in msg and caught.value.details == {'helper': 'x'}


def test_an_answer_that_is_not_json_is_an_error_that_does_not_repeat_it(fake):
    helper = helpers.CredentialHelper('x')
    helper.store(HOST, 'iamapikey', SECRET)
    fake.mode.write_text('garbage')
    with pytest.raises(CredentialHelperError) as caught:
        helper.get(HOST)
    assert 'docker-credential-x answered "get" for us.icr.io with something that is not JSON' in caught.value.msg
    assert SECRET not in caught.value.msg


def test_a_hanging_helper_is_stopped(fake, monkeypatch):
    fake.dir.joinpath('docker-credential-x').write_text('#!/bin/sh\nexec sleep 30\n')
    monkeypatch.setattr(helpers, 'HELPER_TIMEOUT', 1)
    with pytest.raises(CredentialHelperError) as caught:
        helpers.CredentialHelper('x').get(HOST)
    assert 'docker-credential-x did not finish "get" within 1 seconds' in caught.value.msg
