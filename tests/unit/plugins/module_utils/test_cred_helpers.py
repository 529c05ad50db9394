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
import shutil
import sys
import tempfile

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _cred_helpers as helpers
from ansible_collections.icr.auth.plugins.module_utils._errors import CredentialHelperError, InputError
from ansible_collections.icr.auth.plugins.module_utils._privilege import user_groups

SECRET = 'FakeHelperSecret0123456789abcdefXYZ'
HOST = 'us.icr.io'

FAKE = r'''#!%(python)s
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
store_file, log_file, mode_file = (os.path.join(here, n) for n in ('store.json', 'calls.log', 'mode'))
verb, payload = sys.argv[1], sys.stdin.read()
mode = open(mode_file).read().strip() if os.path.exists(mode_file) else 'ok'
with open(log_file, 'a') as log:
    log.write(json.dumps({'argv': sys.argv[1:], 'payload': payload, 'env': dict(os.environ), 'cwd': os.getcwd(),
                          'ids': [os.getuid(), os.geteuid(), os.getgid(), os.getegid()],
                          'groups': sorted(os.getgroups())}) + '\n')
store = json.load(open(store_file)) if os.path.exists(store_file) else {}
if mode.startswith('{'):   # {"verbs": [...], "out": text, "err": text, "rc": n}: answer exactly that
    spec = json.loads(mode)
    if verb in spec.get('verbs', [verb]):
        sys.stdout.buffer.write(spec.get('out', '').encode('utf-8', 'surrogateescape'))
        sys.stderr.buffer.write(spec.get('err', '').encode('utf-8', 'surrogateescape'))
        sys.exit(spec.get('rc', 0))
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


def answer(fake, verbs=None, out='', err='', rc=0):
    """Make the fake answer ``verbs`` (all when None) with exactly this output and exit code."""
    spec = {'out': out, 'err': err, 'rc': rc}
    if verbs is not None:
        spec['verbs'] = verbs
    fake.mode.write_text(json.dumps(spec))


def test_check_name_names_the_credential_store_option_by_default():
    with pytest.raises(InputError) as caught:
        helpers.check_name('pa ss')
    assert caught.value.msg == ("credential_store: 'pa ss' is not a credential helper name (the part after "
                                'docker-credential-, such as pass, secretservice, osxkeychain).')


def test_a_missing_helper_is_named_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))
    with pytest.raises(CredentialHelperError) as caught:
        helpers.CredentialHelper('nosuchhelper').get(HOST)
    assert caught.value.msg == (
        'The credential helper docker-credential-nosuchhelper is not installed on this host (not found on PATH). '
        'Install it, or remove the credsStore or credHelpers entry that names it from the config file '
        '(credential_store: file would write the file, but Docker ignores the file while credsStore names a store).')


def test_a_helper_that_cannot_be_started_is_named(fake):
    fake.dir.joinpath('docker-credential-x').write_text('#!/nonexistent/interpreter\n')
    with pytest.raises(CredentialHelperError) as caught:
        helpers.CredentialHelper('x').get(HOST)
    assert caught.value.msg == ('The credential helper docker-credential-x could not be started: No such file or '
                                'directory.')
    assert caught.value.details == {'helper': 'x'}


def test_a_hanging_helper_is_stopped_with_a_message_that_says_why(fake, monkeypatch):
    fake.dir.joinpath('docker-credential-x').write_text('#!/bin/sh\nexec sleep 30\n')
    monkeypatch.setattr(helpers, 'HELPER_TIMEOUT', 1)
    with pytest.raises(CredentialHelperError) as caught:
        helpers.CredentialHelper('x').store(HOST, 'iamapikey', SECRET)
    assert caught.value.msg == ('The credential helper docker-credential-x did not finish "store" within 1 seconds (is '
                                'it waiting for a passphrase or a desktop session?).')
    assert caught.value.details == {'helper': 'x'}


def test_run_gives_the_exit_code_and_the_stripped_output_and_runs_in_the_root_directory(fake):
    answer(fake, out='  out text \n', err='\n err text  ', rc=7)
    assert helpers.CredentialHelper('x').run('list', '') == (7, 'out text', 'err text')
    assert fake.calls()[0]['cwd'] == '/' and fake.calls()[0]['argv'] == ['list']


def test_output_that_is_not_utf8_is_replaced_not_refused(fake):
    answer(fake, out='caf\udce9', err='\udcff', rc=1)
    assert helpers.CredentialHelper('x').run('get', HOST) == (1, 'caf\ufffd', '\ufffd')


@pytest.mark.parametrize('out,err,shown', [
    ('on stdout', 'on stderr', 'on stdout'),
    ('', 'only on\n stderr', 'only on stderr'),
    ('', '', 'no message'),
    ('x' * 300, '', 'x' * 300),
    ('y' * 301, '', 'y' * 300 + '…'),
    ('  a\n\tb  ' + 'z' * 298, '', 'a b ' + 'z' * 296 + '…'),
])
def test_a_failing_get_shows_stdout_else_stderr_clipped_to_300_characters(fake, out, err, shown):
    answer(fake, out=out, err=err, rc=5)
    with pytest.raises(CredentialHelperError) as caught:
        helpers.CredentialHelper('x').get(HOST)
    assert caught.value.msg == f'The credential helper docker-credential-x failed to look up {HOST} (exit 5): {shown}'


@pytest.mark.parametrize('text', ['credentials not found in native keychain',
                                  'Credentials Not Found In Native Keychain', 'Error: entry NOT FOUND', 'not found'])
def test_a_get_that_says_not_found_is_nothing_stored(fake, text):
    answer(fake, out=text, rc=1)
    assert helpers.CredentialHelper('x').get(HOST) is None
    answer(fake, err=text, rc=1)
    assert helpers.CredentialHelper('x').get(HOST) is None


@pytest.mark.parametrize('out', ['[]', '"secret"', '{"Username": "iamapikey"}', '{"Secret": null}'])
def test_a_get_answer_without_a_secret_is_nothing_stored(fake, out):
    answer(fake, out=out)
    assert helpers.CredentialHelper('x').get(HOST) is None


def test_a_get_answer_without_a_username_has_an_empty_one(fake):
    answer(fake, out=json.dumps({'Secret': SECRET}))
    assert helpers.CredentialHelper('x').get(HOST) == ('', SECRET)
    answer(fake, out=json.dumps({'Secret': SECRET, 'Username': None}))
    assert helpers.CredentialHelper('x').get(HOST) == ('', SECRET)


def test_failing_store_and_erase_are_named_exactly(fake):
    helper = helpers.CredentialHelper('x')
    answer(fake, verbs=['store'], out='', err='  no\nkeyring  ', rc=3)
    with pytest.raises(CredentialHelperError) as caught:
        helper.store(HOST, 'iamapikey', SECRET)
    assert caught.value.msg == f'The credential helper docker-credential-x failed to store the credential for {HOST} ' \
                               '(exit 3): no keyring'
    assert caught.value.details == {'helper': 'x'}
    fake.mode.write_text('ok')
    helper.store(HOST, 'iamapikey', SECRET)
    answer(fake, verbs=['erase'], out='erase refused', err='ignored', rc=4)
    with pytest.raises(CredentialHelperError) as caught:
        helper.erase(HOST)
    assert caught.value.msg == f'The credential helper docker-credential-x failed to erase the credential for {HOST} ' \
                               '(exit 4): erase refused'
    assert caught.value.details == {'helper': 'x'}


def test_a_store_that_is_not_given_back_is_named_exactly(fake):
    fake.mode.write_text('lossy')
    with pytest.raises(CredentialHelperError) as caught:
        helpers.CredentialHelper('x').store(HOST, 'iamapikey', SECRET)
    assert caught.value.msg == (f'The credential helper docker-credential-x said it stored the credential for {HOST}, '
                                'but "get" does not give it back (is its store initialised, for example "pass init"?).')
    assert caught.value.details == {'helper': 'x'}


def test_a_store_given_back_with_another_username_is_not_success(fake):
    helper = helpers.CredentialHelper('x')
    helper.store(HOST, 'iambearer', SECRET)
    fake.mode.write_text('lossy')
    with pytest.raises(CredentialHelperError):
        helper.store(HOST, 'iamapikey', SECRET)


def test_an_answer_that_is_not_json_is_named_exactly(fake):
    answer(fake, verbs=['get'], out='not json ' + SECRET)
    with pytest.raises(CredentialHelperError) as caught:
        helpers.CredentialHelper('x').get(HOST)
    assert caught.value.msg == (f'The credential helper docker-credential-x answered "get" for {HOST} with something '
                                'that is not JSON.')
    assert caught.value.details == {'helper': 'x'}


def test_erasing_what_the_helper_does_not_have_runs_no_erase(fake):
    assert helpers.CredentialHelper('x').erase(HOST) is False
    assert [c['argv'] for c in fake.calls()] == [['get']]


# --------------------------------------------------------------------------------------------
# The environment and identity a helper gets.

def only_dirs(monkeypatch, dirs=(), files=()):
    """os.path.isdir / os.path.exists answer True only for these paths (the /run/user directories looked for)."""
    monkeypatch.setattr(os.path, 'isdir', lambda p: p in dirs)
    monkeypatch.setattr(os.path, 'exists', lambda p: p in dirs or p in files)


def environ(monkeypatch, **values):
    monkeypatch.setattr(os, 'environ', dict(values))


@pytest.mark.parametrize('account', [None, 'me'])
def test_a_helper_of_the_modules_own_user_keeps_what_locates_that_users_stores(monkeypatch, account):
    user = me()
    environ(monkeypatch, PATH='/own/bin', HOME='/elsewhere', LANG='C.UTF-8', LC_ALL='C', GNUPGHOME='/g',
            IBMCLOUD_API_KEY='EnvironmentKey', HTTPS_PROXY='http://proxy')
    only_dirs(monkeypatch)
    env = helpers.CredentialHelper('x', user if account else None)._env()   # pylint: disable=protected-access
    assert env == {'PATH': '/own/bin', 'LANG': 'C.UTF-8', 'LC_ALL': 'C', 'GNUPGHOME': '/g', 'HOME': user.pw_dir,
                   'USER': user.pw_name, 'LOGNAME': user.pw_name}


def test_a_helper_of_the_modules_own_user_without_path_gets_the_safe_path(monkeypatch):
    environ(monkeypatch, LANG='C')
    only_dirs(monkeypatch)
    env = helpers.CredentialHelper('x')._env()   # pylint: disable=protected-access
    assert env['PATH'] == helpers.SAFE_PATH and env['LANG'] == 'C'


def test_a_user_without_a_passwd_entry_keeps_its_own_home(monkeypatch):
    environ(monkeypatch, PATH='/own/bin', HOME='/h', USER='ghost')
    only_dirs(monkeypatch)
    monkeypatch.setattr(os, 'geteuid', lambda: 4242424)
    assert helpers.pwd_entry(4242424) is None
    env = helpers.CredentialHelper('x')._env()   # pylint: disable=protected-access
    assert env == {'PATH': '/own/bin', 'HOME': '/h', 'USER': 'ghost'}


def test_the_users_session_bus_is_found_in_its_runtime_directory(monkeypatch):
    user = me()
    runtime = f'/run/user/{user.pw_uid}'
    environ(monkeypatch, PATH='/own/bin')
    only_dirs(monkeypatch, dirs=(runtime,), files=(runtime + '/bus',))
    env = helpers.CredentialHelper('x')._env()   # pylint: disable=protected-access
    assert env['XDG_RUNTIME_DIR'] == runtime and env['DBUS_SESSION_BUS_ADDRESS'] == f'unix:path={runtime}/bus'
    environ(monkeypatch, PATH='/own/bin', DBUS_SESSION_BUS_ADDRESS='unix:path=/own/bus')
    env = helpers.CredentialHelper('x')._env()   # pylint: disable=protected-access
    assert env['XDG_RUNTIME_DIR'] == runtime and env['DBUS_SESSION_BUS_ADDRESS'] == 'unix:path=/own/bus'
    only_dirs(monkeypatch, dirs=(runtime,))
    environ(monkeypatch, PATH='/own/bin')
    env = helpers.CredentialHelper('x')._env()   # pylint: disable=protected-access
    assert env['XDG_RUNTIME_DIR'] == runtime and 'DBUS_SESSION_BUS_ADDRESS' not in env
    only_dirs(monkeypatch, dirs=(runtime,), files=(runtime + '/bus',))
    environ(monkeypatch, PATH='/own/bin', XDG_RUNTIME_DIR='/own/run')
    env = helpers.CredentialHelper('x')._env()   # pylint: disable=protected-access
    assert env['XDG_RUNTIME_DIR'] == '/own/run' and 'DBUS_SESSION_BUS_ADDRESS' not in env


def test_another_users_helper_gets_that_users_runtime_directory_and_nothing_of_the_module(monkeypatch):
    other = pwd.struct_passwd(('someone', 'x', os.geteuid() + 12345, 12345, '', '/home/someone', '/bin/sh'))
    runtime = f'/run/user/{other.pw_uid}'
    environ(monkeypatch, PATH='/own/bin', LANG='C', XDG_RUNTIME_DIR='/own/run')
    only_dirs(monkeypatch, dirs=(runtime,), files=(runtime + '/bus',))
    env = helpers.CredentialHelper('x', other)._env()   # pylint: disable=protected-access
    assert env == {'PATH': helpers.SAFE_PATH, 'HOME': '/home/someone', 'USER': 'someone', 'LOGNAME': 'someone',
                   'XDG_RUNTIME_DIR': runtime, 'DBUS_SESSION_BUS_ADDRESS': f'unix:path={runtime}/bus'}


def test_only_root_drops_to_another_user_before_the_helper_starts(monkeypatch):
    nobody = pwd.getpwnam('nobody')
    root = pwd.getpwuid(0)
    monkeypatch.setattr(os, 'geteuid', lambda: 0)
    assert helpers.CredentialHelper('x')._preexec() is None              # pylint: disable=protected-access
    assert helpers.CredentialHelper('x', root)._preexec() is None        # pylint: disable=protected-access
    assert callable(helpers.CredentialHelper('x', nobody)._preexec())    # pylint: disable=protected-access
    monkeypatch.setattr(os, 'geteuid', lambda: 1000)
    assert helpers.CredentialHelper('x', nobody)._preexec() is None      # pylint: disable=protected-access


ID_FAKE = '''#!/bin/sh
cat > /dev/null
here=$(dirname "$0")
{ id -u; id -ru; id -g; id -rg; id -G; pwd; echo "$PATH"; echo "$HOME"; echo "$USER"; } > "$here/ids.log"
echo 'credentials not found in native keychain'
exit 1
'''


@pytest.fixture()
def nobody_fake():
    """docker-credential-x (a shell script that logs who runs it) in a directory nobody owns and can reach."""
    if os.geteuid() != 0:
        pytest.skip('only root runs a helper as another user')
    nobody = pwd.getpwnam('nobody')
    base = tempfile.mkdtemp(prefix='icr-helper-')
    try:
        os.chmod(base, 0o755)
        bin_dir = os.path.join(base, 'bin')
        os.mkdir(bin_dir, 0o755)
        os.chown(bin_dir, nobody.pw_uid, nobody.pw_gid)
        script = os.path.join(bin_dir, 'docker-credential-x')
        with open(script, 'w') as handle:
            handle.write(ID_FAKE)
        os.chmod(script, 0o755)
        yield nobody, bin_dir
    finally:
        shutil.rmtree(base)


def test_root_runs_another_users_helper_as_that_user_with_its_groups(nobody_fake, monkeypatch):
    nobody, bin_dir = nobody_fake
    monkeypatch.setenv('PATH', '%s%s%s' % (bin_dir, os.pathsep, os.environ.get('PATH', os.defpath)))
    assert helpers.CredentialHelper('x', nobody).get(HOST) is None
    with open(os.path.join(bin_dir, 'ids.log')) as handle:
        lines = handle.read().splitlines()
    uid, gid = str(nobody.pw_uid), str(nobody.pw_gid)
    groups = sorted(int(g) for g in lines[4].split())
    assert lines[:4] == [uid, uid, gid, gid] and groups == sorted(set(user_groups(nobody)))
    assert lines[5:] == ['/', bin_dir + os.pathsep + helpers.SAFE_PATH, nobody.pw_dir, 'nobody']


def test_without_path_the_helper_is_looked_for_on_the_default_path(fake, monkeypatch):
    monkeypatch.delenv('PATH')
    monkeypatch.setattr(os, 'defpath', str(fake.dir))
    monkeypatch.setattr(os, 'confstr', lambda name: '/nonexistent', raising=False)   # not the system's search path
    helper = helpers.CredentialHelper('x')
    helper.store(HOST, 'iamapikey', SECRET)
    assert helper.get(HOST) == ('iamapikey', SECRET)
    assert fake.calls()[0]['env']['PATH'] == os.pathsep.join((str(fake.dir), helpers.SAFE_PATH))
