# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Each option of icr_login and icr_credential changes what happens: a test here fails when the option is ignored.

Fast and in-process: the modules' main() runs in this process (tests/unit/plugins/modules/module_runner.py) and the
engines (_login.Login, _obtain.obtain) are called directly, so every assertion sees what the product returns BEFORE
Ansible masks no_log values. The network is the IAM + ICR emulator on loopback, over HTTP or over HTTPS with a CA
made by trustme, and a counting loopback proxy. tests/mutants/curated.yml names, for each option, the mutation that
the test here was seen to kill.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import sys

import pytest

from emu_fixture import emu, emu_host, iam_calls, module_emu, module_tls_emu, tls_ca, tls_emu  # noqa: F401  pylint: disable=unused-import
from loopback_proxy import CountingProxy
from secret_scan import assert_no_secret, find_secrets

# pylint: disable=wrong-import-order
from ansible_collections.icr.auth.plugins.module_utils import _atomic_file as atomic_file  # noqa: E402
from ansible_collections.icr.auth.plugins.module_utils._login import Login  # noqa: E402
from ansible_collections.icr.auth.plugins.module_utils._obtain import obtain  # noqa: E402
from ansible_collections.icr.auth.plugins.module_utils._login_route import NETWORK_MODULE, module_for  # noqa: E402
from ansible_collections.icr.auth.plugins.modules import icr_credential, icr_login, icr_login_network  # noqa: E402
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token  # noqa: E402
from ansible_collections.icr.auth.tests.unit.plugins.modules.module_runner import run_module  # noqa: E402

PROXY_ENV = ('HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy',
             'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'IBMCLOUD_API_KEY', 'IC_API_KEY', 'IBMCLOUD_IAM_ENDPOINT')
# Every ICR host, written out from the reference (icr-iam-protocol.md, 1.1), not read from the product's table.
ICR_HOSTS = ['icr.io', 'au.icr.io', 'br.icr.io', 'ca2.icr.io', 'ca.icr.io', 'de.icr.io', 'es.icr.io', 'uk.icr.io',
             'in.icr.io', 'in2.icr.io', 'jp2.icr.io', 'jp.icr.io', 'us.icr.io']


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No proxy, CA bundle or API key from the environment; a private cache; modules see this test's settings only."""
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg-cache'))
    # Where a file would land if config_path were ignored: never the real home of the user running the tests.
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path / 'default-docker'))
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(tmp_path / 'default-containers' / 'auth.json'))


def login_module(args):
    """The module icr_login's action plugin would run on the host for these arguments."""
    return icr_login_network if module_for(args, bool(args.get('_ansible_check_mode'))) == NETWORK_MODULE else icr_login


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """The modules' default cache directory is ~/.cache/icr.auth: never the real home of the tests' user."""
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.delenv('XDG_CACHE_HOME', raising=False)


def run_fresh(module, args):
    """run_module with the process-wide list of module warnings emptied first (they accumulate in one process), run as
    on a host: once a test of this process has imported ansible-core's controller code (an action plugin's test, for
    one), ansible-core 2.19+ sends module warnings to the controller's display instead of the result."""
    from ansible.module_utils.common import warnings as module_warnings
    getattr(module_warnings, '_global_warnings', {}).clear()
    try:
        from ansible.module_utils import _internal
    except ImportError:  # ansible-core before 2.19: no controller mode
        return run_module(module, args)
    was = getattr(_internal, 'is_controller', False)
    _internal.is_controller = False
    try:
        return run_module(module, args)
    finally:
        _internal.is_controller = was


def warning_texts(result):
    return [w['event']['msg'] if isinstance(w, dict) else w for w in result.get('warnings', [])]


WITHHELD = ('password and dockerconfigjson are null: for iamapikey they are the API key, which is returned only to a task '
            'with no_log: true (its result is then shown nowhere). Set no_log: true on this task.')
SHOWN = ('The result holds an IAM %s token (password, dockerconfigjson), and this task would show it: set no_log: true on '
         'this task.')


def spec_defaults(module):
    return dict((name, spec.get('default')) for name, spec in module.argument_spec().items())


def login_params(tmp_path, **kw):
    base = spec_defaults(icr_login)
    base.update(regions=['us-south'], password=API_KEY, config_path=str(tmp_path / 'config.json'))
    base.update(kw)
    return base


def cred_params(emu, **kw):
    base = spec_defaults(icr_credential)
    base.update(api_key=emu.apikey('svc-reader'), iam_endpoint=emu.url, registries=[emu_host(emu)], retries=1, timeout=5)
    base.update(kw)
    return base


def module_args(params, **kw):
    args = dict((k, v) for k, v in params.items() if v is not None)
    args.update(kw)
    return args


def stored(path, host='us.icr.io'):
    auth = json.loads(path.read_text())['auths'][host]['auth']
    return base64.b64decode(auth).decode().split(':', 1)


def b64(text):
    return base64.b64encode(text.encode()).decode()


# ------------------------------------------------------------------------------------------- the argument specs


def documented_options(module):
    """The options of a module's DOCUMENTATION, its icr.auth doc fragments merged in."""
    import importlib
    import yaml
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = {}
    for fragment in doc.get('extends_documentation_fragment', []):
        name, _dot, part = fragment.partition('.')[2].partition('.')[2].partition('.')
        cls = importlib.import_module('ansible_collections.icr.auth.plugins.doc_fragments.' + name).ModuleDocFragment
        text = getattr(cls, part.upper() if part else 'DOCUMENTATION', None)
        options.update((yaml.safe_load(text) or {}).get('options') or {} if text else {})
    options.update(doc['options'])
    return options


@pytest.mark.parametrize('module', [icr_login, icr_credential], ids=['icr_login', 'icr_credential'])
def test_argument_spec_is_what_the_documentation_says(module):
    """type, default, choices, elements and aliases of every option: the spec and the docs agree exactly."""
    spec = module.argument_spec()
    docs = documented_options(module)
    assert sorted(spec) == sorted(docs)
    for name, doc in docs.items():
        got = spec[name]
        assert sorted(k for k in got if k not in ('no_log',)) == sorted(
            k for k in ('type', 'default', 'choices', 'elements', 'aliases') if k in doc), name
        for key in ('type', 'default', 'choices', 'elements', 'aliases'):
            assert got.get(key) == doc.get(key), (name, key, got.get(key), doc.get(key))


# ------------------------------------------------------------------------------------------------------ icr_login


def test_login_min_validity_decides_whether_a_stored_token_stays(tmp_path):
    path = tmp_path / 'config.json'
    old = iam_token(lifetime=1000)
    new = iam_token(lifetime=3600)  # the same identity, a later token
    assert not run_module(icr_login, module_args(login_params(tmp_path, username_type='iambearer', password=old)))[0]
    # The stored token has ~1000 s left: enough for min_validity 600, not for 1200.
    failed, result, _raw = run_module(icr_login, module_args(login_params(tmp_path, username_type='iambearer',
                                                                          password=new, min_validity=600)))
    assert not failed and result['registries'] == {'us.icr.io': 'unchanged'} and stored(path)[1] == old
    failed, result, _raw = run_module(icr_login, module_args(login_params(tmp_path, username_type='iambearer',
                                                                          password=new, min_validity=1200)))
    assert not failed and result['registries'] == {'us.icr.io': 'updated'} and stored(path)[1] == new


def test_login_reauthorize_rewrites_the_same_credential(tmp_path):
    path = tmp_path / 'config.json'
    args = module_args(login_params(tmp_path))
    assert not run_module(icr_login, args)[0]
    first = os.stat(str(path))
    failed, result, _raw = run_module(icr_login, args)
    assert not failed and result['changed'] is False and os.stat(str(path)).st_ino == first.st_ino
    failed, result, _raw = run_module(icr_login, dict(args, reauthorize=True))
    assert not failed and result['changed'] is True and result['registries'] == {'us.icr.io': 'updated'}
    assert os.stat(str(path)).st_ino != first.st_ino  # written again (a new file renamed into place)
    assert stored(path) == ['iamapikey', API_KEY]


def test_login_mode_is_applied_when_writing_and_to_an_unchanged_file(tmp_path):
    path = tmp_path / 'config.json'
    failed, result, _raw = run_module(icr_login, module_args(login_params(tmp_path, mode='0640')))
    assert not failed and result['changed'] and stat.S_IMODE(path.stat().st_mode) == 0o640
    # The content is current; only the mode differs.
    failed, result, _raw = run_module(icr_login, module_args(login_params(tmp_path, mode='0600')))
    assert not failed and result['changed'] is True and result['registries'] == {'us.icr.io': 'unchanged'}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A changed content with a mode: the written file has that mode, not the old file's.
    failed, result, _raw = run_module(icr_login, module_args(login_params(tmp_path, regions=['eu-de'], mode='0660')))
    assert not failed and result['registries'] == {'de.icr.io': 'added'} and stat.S_IMODE(path.stat().st_mode) == 0o660
    # Without mode, an existing file keeps its mode.
    failed, result, _raw = run_module(icr_login, module_args(login_params(tmp_path, regions=['jp-tok'])))
    assert not failed and result['changed'] and stat.S_IMODE(path.stat().st_mode) == 0o660


# Helpers get a minimal environment (PATH, HOME, USER, ...), so the store's path is written into the program itself.
FAKE_HELPER = """#!%s
import json, os, sys
store = %r
data = json.load(open(store)) if os.path.exists(store) else {}
verb = sys.argv[1]
payload = sys.stdin.read()
if verb == 'store':
    entry = json.loads(payload)
    data[entry['ServerURL']] = {'Username': entry['Username'], 'Secret': entry['Secret']}
    data['_stores'] = data.get('_stores', 0) + 1
elif verb == 'get':
    if payload.strip() not in data:
        print('credentials not found in native keychain')
        sys.exit(1)
    print(json.dumps(dict(data[payload.strip()], ServerURL=payload.strip())))
elif verb == 'erase':
    data.pop(payload.strip(), None)
json.dump(data, open(store, 'w'))
"""


@pytest.fixture()
def fake_helper(tmp_path, monkeypatch):
    """docker-credential-icrtest on PATH, keeping its entries (and a count of stores) in a JSON file."""
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    program = bindir / 'docker-credential-icrtest'
    program.write_text(FAKE_HELPER % (sys.executable, str(tmp_path / 'helper.json')))
    program.chmod(0o700)
    monkeypatch.setenv('PATH', str(bindir) + os.pathsep + os.environ.get('PATH', os.defpath))
    return tmp_path / 'helper.json'


def test_login_reauthorize_and_min_validity_reach_a_credential_helper(tmp_path, fake_helper):
    def login(**kw):
        params = login_params(tmp_path, credential_store='icrtest', **kw)
        failed, result, _raw = run_module(icr_login, module_args(params))
        assert not failed, result.get('msg')
        return result['registries']['us.icr.io'], json.loads(fake_helper.read_text())

    action, data = login()
    assert action == 'added' and data['us.icr.io']['Secret'] == API_KEY and data['_stores'] == 1
    assert login()[0] == 'unchanged'
    action, data = login(reauthorize=True)
    assert action == 'updated' and data['_stores'] == 2
    old, new = iam_token(lifetime=1000), iam_token(lifetime=3600)
    assert login(username_type='iambearer', password=old)[0] == 'updated'
    assert login(username_type='iambearer', password=new, min_validity=600)[0] == 'unchanged'
    action, data = login(username_type='iambearer', password=new, min_validity=1200)
    assert action == 'updated' and data['us.icr.io']['Secret'] == new


def test_login_trusted_profile_id_reaches_a_credential_helper(tmp_path, fake_helper):
    profile, other = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77', 'Profile-0b6f2c4e-8d1a-4c3b-9e7f-1a2b3c4d5e6f'

    def login(profile_id):
        params = login_params(tmp_path, credential_store='icrtest', username_type='trusted_profile',
                              trusted_profile_id=profile_id)
        failed, result, _raw = run_module(icr_login, module_args(params, _ansible_diff=True))
        assert not failed, result.get('msg')
        assert result['username'] == profile_id and API_KEY not in json.dumps(result)
        assert f'"username": "{profile_id}"' in result['diff']['after'] and 'docker-credential-icrtest' in \
            result['diff']['after']
        return result['registries']['us.icr.io'], json.loads(fake_helper.read_text())

    action, data = login(profile)
    assert action == 'added' and data['us.icr.io'] == {'Username': profile, 'Secret': API_KEY}
    assert login(profile)[0] == 'unchanged' and json.loads(fake_helper.read_text())['_stores'] == 1
    action, data = login(other)
    assert action == 'updated' and data['us.icr.io'] == {'Username': other, 'Secret': API_KEY}


def test_login_private_endpoint_writes_the_private_hosts(tmp_path):
    failed, result, _raw = run_module(icr_login, module_args(login_params(
        tmp_path, regions=['us-south', 'global'], registries=['de.icr.io', '127.0.0.1:5000'], private_endpoint=True)))
    assert not failed and result['registries'] == dict(
        (h, 'added') for h in ('private.us.icr.io', 'private.icr.io', 'private.de.icr.io', '127.0.0.1:5000'))
    assert sorted(json.loads((tmp_path / 'config.json').read_text())['auths']) == [
        '127.0.0.1:5000', 'private.de.icr.io', 'private.icr.io', 'private.us.icr.io']


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root: gives the file to another owner and group')
def test_login_owner_and_group_are_applied(tmp_path):
    import grp
    import pwd
    nobody, nogroup = pwd.getpwnam('nobody'), grp.getgrgid(pwd.getpwnam('nobody').pw_gid)
    path = tmp_path / 'config.json'
    failed, result, _raw = run_module(icr_login, module_args(login_params(tmp_path, owner='nobody', group=nogroup.gr_name)))
    assert not failed and result['changed'], result.get('msg')
    info = path.stat()
    assert (info.st_uid, info.st_gid) == (nobody.pw_uid, nogroup.gr_gid)
    os.chown(str(path), 0, 0)  # the content is current; only the owner differs
    failed, result, _raw = run_module(icr_login, module_args(login_params(tmp_path, owner='nobody')))
    assert not failed and result['changed'] is True and path.stat().st_uid == nobody.pw_uid and path.stat().st_gid == 0


@pytest.mark.parametrize('mode', [None, '0644'])
def test_the_temp_file_is_private_while_the_secret_is_written(tmp_path, monkeypatch, mode):
    """Whatever mode the file ends with, no other user can read the temp file while the credential goes into it."""
    seen = []
    real_write = os.write

    def watching_write(fd, data):
        if b'"auth"' in bytes(data):
            seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(atomic_file.os, 'write', watching_write)
    result = Login(login_params(tmp_path, mode=mode)).run()
    monkeypatch.undo()
    assert result['changed'] and seen, 'no write of the credential was seen'
    assert all(m & 0o077 == 0 for m in seen), [oct(m) for m in seen]
    assert stat.S_IMODE((tmp_path / 'config.json').stat().st_mode) == (0o644 if mode else 0o600)


@pytest.mark.parametrize('kind', ['iamapikey', 'iambearer'])
def test_login_result_holds_no_secret_in_any_encoding(tmp_path, kind):
    """The engine's result and the module's raw JSON (before Ansible masks no_log values), with a diff, scanned."""
    secret = API_KEY if kind == 'iamapikey' else iam_token()
    params = login_params(tmp_path, username_type=kind, password=secret, regions=['us-south', 'eu-de'])
    result = Login(params, diff=True).run()
    assert result['changed'] and 'sha256:' in json.dumps(result)
    assert_no_secret([secret], result)
    failed, module_result, raw = run_module(icr_login, module_args(dict(params, regions=['jp-tok']), _ansible_diff=True))
    assert not failed and module_result['changed']
    assert_no_secret([secret], raw)
    # The file does hold it (the scan is not blind to the config's encoding).
    assert find_secrets([secret], (tmp_path / 'config.json').read_text())


# ------------------------------------------------------------------------------------------------- icr_credential


def test_credential_verify_false_proves_nothing_and_unset_proves(emu):
    key = 'MadeUpMadeUpMadeUpMadeUpMadeUpMadeUpMade_9'
    result, _warnings = obtain(cred_params(emu, api_key=key, verify=False), {})
    assert result['verification'] is None and result['password'] == key
    assert emu.counters()['iam_token'] == 0 and emu.counters()['registry_v2'] == 0
    assert list(result['dockerconfigjson']['auths']) == [emu_host(emu)]
    good, _warnings = obtain(cred_params(emu, verify=None), {})
    assert good['verification'][emu_host(emu)]['ok'] is True and iam_calls(emu) == 1


def test_credential_verify_access_asks_for_the_scopes(emu):
    host = emu_host(emu)
    granted, _w = obtain(cred_params(emu, verify_access=['team-a/app:pull']), {})
    assert granted['verification'][host]['granted'] == {'team-a/app': ['pull']}
    from ansible_collections.icr.auth.plugins.module_utils._errors import InputError, RegistryError
    with pytest.raises(RegistryError) as err:
        obtain(cred_params(emu, verify_access=['team-a/app:pull,push']), {})
    assert 'do not grant push on team-a/app' in err.value.msg
    with pytest.raises(RegistryError) as err:
        obtain(cred_params(emu, verify_access=['team-b/app:pull']), {})
    assert 'do not grant pull on team-b/app' in err.value.msg
    from ansible_collections.icr.auth.plugins.module_utils._obtain import parse_scopes
    assert parse_scopes(['team-a/app:pull', 'ns/a/b:push,pull', 'x/y:pull,,push']) == [
        'repository:team-a/app:pull', 'repository:ns/a/b:push,pull', 'repository:x/y:pull,push']
    assert parse_scopes(None) == [] and parse_scopes([]) == []
    for bad in ('team-a/app', ':pull', 'team-a/app:', 'team-a/app:delete', 'team-a/app:pull,admin', None, ''):
        with pytest.raises(InputError) as err:
            parse_scopes([bad])
        assert err.value.msg == 'verify_access: %r is not of the form namespace/repository:pull[,push].' % (bad,)
    with pytest.raises(InputError) as err:
        obtain(cred_params(emu, verify=False, verify_access=['team-a/app:pull']), {})
    assert err.value.msg == 'verify_access needs regions or registries to verify against, and verify: true.'
    with pytest.raises(InputError) as err:
        obtain(cred_params(emu, registries=None, verify=True), {})
    assert err.value.msg == ('verify: true, but there is nothing to prove the credential against: name the registries '
                             'in regions (such as us-south) or registries (such as us.icr.io), or set verify: false.')


def test_iam_endpoint_option_then_environment_then_public(emu):
    from ansible_collections.icr.auth.plugins.module_utils._network import iam_endpoint
    assert iam_endpoint({'iam_endpoint': 'private'}, {'IBMCLOUD_IAM_ENDPOINT': 'http://x'}) == 'private'
    assert iam_endpoint({'iam_endpoint': None}, {'IBMCLOUD_IAM_ENDPOINT': 'http://x'}) == 'http://x'
    assert iam_endpoint({}, {}) == 'public' and iam_endpoint({'iam_endpoint': ''}, {'IBMCLOUD_IAM_ENDPOINT': ''}) == 'public'
    result, _w = obtain(cred_params(emu, iam_endpoint=None, username_type='iambearer', cache=False),
                        {'IBMCLOUD_IAM_ENDPOINT': emu.url})
    assert result['password'].count('.') == 2 and iam_calls(emu) == 1


def test_credential_engine_defaults_when_params_leave_options_out(emu, tmp_path):
    """obtain() called with only some params (as a lookup or another caller would): the documented defaults apply."""
    key = emu.apikey('svc-reader')
    bare = {'api_key': key, 'iam_endpoint': emu.url, 'registries': [emu_host(emu)], 'timeout': 5, 'retries': 1,
            'cache_dir': str(tmp_path / 'cache')}
    result, _w = obtain(bare, {})  # username_type iamapikey, verify, cache
    assert result['username'] == 'iamapikey' and result['password'] == key and result['verification']
    assert iam_calls(emu) == 1
    again, _w = obtain(bare, {})
    assert again['cached'] is True and iam_calls(emu) == 1
    # Without cache_dir, the cache is under XDG_CACHE_HOME of the environment obtain() is given.
    elsewhere = tmp_path / 'given-env-cache'
    obtain(dict(bare, cache_dir=None, username_type='iambearer'), {'XDG_CACHE_HOME': str(elsewhere)})
    assert len(list((elsewhere / 'icr.auth').iterdir())) == 1
    # min_validity 900 by default: a cached token with exactly 900 s left is used, with 899 s it is not.
    token, _w = obtain(dict(bare, username_type='iambearer'), {})
    exp = json.loads(base64.urlsafe_b64decode(token['password'].split('.')[1] + '=='))['exp']
    for left, cached in ((900, True), (899, False)):
        result, _w = obtain(dict(bare, username_type='iambearer', min_validity=None), {}, now=exp - left)
        assert result['cached'] is cached, left


def test_credential_tokens_are_cached_without_verification(emu, tmp_path):
    """An exchanged token is cached even when nothing is verified; iamapikey without verification asks nobody."""
    params = cred_params(emu, username_type='iambearer', verify=False, cache_dir=str(tmp_path / 'cache'))
    first, _w = obtain(params, {})
    second, _w = obtain(params, {})
    assert (first['cached'], second['cached']) == (False, True) and second['password'] == first['password']
    assert iam_calls(emu) == 1 and emu.counters()['registry_v2'] == 0
    plain, _w = obtain(dict(params, username_type='iamapikey'), {})
    assert plain['cached'] is False and iam_calls(emu) == 1 and len(list((tmp_path / 'cache').iterdir())) == 1
    # iamapikey without verification needs no IAM call, so it reads no cache either (even one a proof left).
    proven, _w = obtain(dict(params, username_type='iamapikey', verify=None), {})
    assert proven['iam_id'] and iam_calls(emu) == 2 and len(list((tmp_path / 'cache').iterdir())) == 2
    plain, _w = obtain(dict(params, username_type='iamapikey'), {})
    assert plain['cached'] is False and plain['iam_id'] is None and plain['account_id'] is None


def test_credential_result_times_follow_the_clock_it_is_given(emu):
    import datetime
    import time
    given = time.time() - 1000  # as if obtain() ran 1000 s ago: the token then had 4600 s left
    result, warnings = obtain(cred_params(emu, username_type='iambearer', cache=False, min_validity=3700), {}, now=given)
    exp = json.loads(base64.urlsafe_b64decode(result['password'].split('.')[1] + '=='))['exp']
    assert result['expires_at'] == datetime.datetime.fromtimestamp(exp, tz=datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    assert result['expires_in'] == int(exp - given) and result['changed'] is False
    assert warnings == []  # 4600 s left at that moment: more than min_validity


def test_credential_cache_holds_no_api_key_and_a_failed_cache_warns(emu, tmp_path):
    key = emu.apikey('svc-reader')
    cache_dir = tmp_path / 'cache'
    obtain(cred_params(emu, cache_dir=str(cache_dir)), {})
    files = list(cache_dir.iterdir())
    assert len(files) == 1 and json.loads(files[0].read_text())['password'] is None
    assert_no_secret([key], files[0].read_bytes(), files[0].name)
    blocker = tmp_path / 'a-file'
    blocker.write_text('')
    _result, warnings = obtain(cred_params(emu, username_type='iambearer', cache_dir=str(blocker / 'cache')), {})
    assert len(warnings) == 1 and warnings[0].startswith('Could not cache the credential in %s (' % (blocker / 'cache'))
    assert warnings[0].endswith('); the next run will ask IAM again.')


def test_credential_refused_verification_drops_the_cached_token_and_says_why(emu, tmp_path):
    from ansible_collections.icr.auth.plugins.module_utils._errors import RegistryError
    port = emu_host(emu).rsplit(':', 1)[1]
    hosts = [emu_host(emu), 'localhost:' + port]
    params = cred_params(emu, username_type='iambearer', registries=hosts, cache_dir=str(tmp_path / 'cache'))
    obtain(params, {})
    assert iam_calls(emu) == 1 and len(list((tmp_path / 'cache').iterdir())) == 1
    with pytest.raises(RegistryError) as err:
        obtain(dict(params, verify_access=['team-b/app:pull']), {})
    verification = err.value.details['verification']
    assert sorted(verification) == sorted(hosts) and all(v['reason'] == 'permission' for v in verification.values())
    assert err.value.msg == ' '.join(verification[h]['msg'] for h in hosts)
    assert list((tmp_path / 'cache').iterdir()) == []  # dropped: the next run asks IAM again
    failed, result, _raw = run_fresh(icr_credential, module_args(dict(params, verify_access=['team-b/app:pull'])))
    assert failed and result['verification'][hosts[0]]['reason'] == 'permission' and iam_calls(emu) == 2


def test_credential_uses_the_session_it_is_given(emu):
    from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions, make_session
    session = make_session(HttpOptions(timeout=5, retries=1))
    seen = []
    session.hooks['response'].append(lambda response, *args, **kwargs: seen.append(response.url))
    obtain(cred_params(emu, username_type='iambearer', verify=False, cache=False), {}, session=session)
    assert seen == [emu.url + '/identity/token']


def test_credential_cache_false_asks_iam_every_time(emu, tmp_path):
    cache_dir = tmp_path / 'cache'
    for number in (1, 2):
        result, _w = obtain(cred_params(emu, username_type='iambearer', cache=False, cache_dir=str(cache_dir)), {})
        assert result['cached'] is False and iam_calls(emu) == number
    assert not cache_dir.exists()
    for cached in (False, True):  # control: with the cache, the second run makes no call
        result, _w = obtain(cred_params(emu, username_type='iambearer', cache=True, cache_dir=str(cache_dir)), {})
        assert result['cached'] is cached
    assert iam_calls(emu) == 3 and len(list(cache_dir.iterdir())) == 1


def test_credential_cache_dir_is_where_the_cache_lives(emu, tmp_path):
    cache_dir = tmp_path / 'chosen'
    obtain(cred_params(emu, username_type='iambearer', cache_dir=str(cache_dir)), {'XDG_CACHE_HOME': str(tmp_path / 'x')})
    assert len(list(cache_dir.iterdir())) == 1 and not (tmp_path / 'x').exists()


def test_credential_private_endpoint(emu):
    result, _w = obtain(cred_params(emu, registries=None, regions=['us-south', 'global'], private_endpoint=True,
                                    verify=False), {})
    assert result['registries'] == ['private.us.icr.io', 'private.icr.io']
    assert sorted(result['dockerconfigjson']['auths']) == ['private.icr.io', 'private.us.icr.io']
    everywhere, _w = obtain(cred_params(emu, registries=None, private_endpoint=True, verify=False), {})
    assert sorted(everywhere['dockerconfigjson']['auths']) == sorted('private.' + h for h in ICR_HOSTS)
    public, _w = obtain(cred_params(emu, registries=None, verify=False), {})
    assert sorted(public['dockerconfigjson']['auths']) == sorted(ICR_HOSTS)


def test_credential_min_validity_decides_whether_a_cached_token_is_used(emu, tmp_path):
    params = cred_params(emu, username_type='iambearer', cache_dir=str(tmp_path / 'cache'))
    first, _w = obtain(params, {})
    assert iam_calls(emu) == 1 and first['expires_in'] > 3500
    again, _w = obtain(dict(params, min_validity=3400), {})  # ~3600 s left: used
    assert again['cached'] is True and again['password'] == first['password'] and iam_calls(emu) == 1
    fresh, warnings = obtain(dict(params, min_validity=3700), {})  # not enough left: IAM is asked
    assert fresh['cached'] is False and iam_calls(emu) == 2
    assert len(warnings) == 1 and re.match(
        r'^IAM issued a token valid for 3[56][0-9][0-9] seconds, less than min_validity \(3700\): it may expire during '
        r'the play\. Use iamapikey, or lower min_validity\.$', warnings[0]), warnings


def test_credential_api_key_from_the_environment(emu):
    one, other = emu.apikey('svc-reader'), emu.apikey('svc-writer')
    base = cred_params(emu, api_key=None, verify=False)
    assert obtain(base, {'IC_API_KEY': one})[0]['password'] == one
    assert obtain(base, {'IBMCLOUD_API_KEY': one})[0]['password'] == one
    assert obtain(base, {'IBMCLOUD_API_KEY': one, 'IC_API_KEY': other})[0]['password'] == one
    assert obtain(dict(base, api_key=other), {'IBMCLOUD_API_KEY': one})[0]['password'] == other


@pytest.mark.parametrize('name', ['IBMCLOUD_API_KEY', 'IC_API_KEY'])
def test_credential_module_reads_the_key_from_its_environment(emu, monkeypatch, name):
    key = emu.apikey('svc-reader')
    monkeypatch.setenv(name, key)
    args = module_args(cred_params(emu, api_key=None, username_type='iambearer'), _ansible_no_log=True)
    failed, result, raw = run_module(icr_credential, args)
    assert not failed, result.get('msg')
    assert iam_calls(emu) == 1 and result['verification'][emu_host(emu)]['ok'] is True
    assert_no_secret([key], raw)  # a token is returned, never the key


def test_credential_each_username_type_gets_its_own_credential(emu, tmp_path):
    """iamapikey: the key; iambearer: an access token of the key's identity; iamrefresh: a refresh token IAM takes."""
    import time
    import requests
    key = emu.apikey('svc-reader')
    iam_id = 'iam-ServiceId-98914559-1ee5-44c5-b7ff-6f7aa240de8e'
    apikey, _w = obtain(cred_params(emu, username_type='iamapikey', cache=False), {})
    assert apikey['password'] == key and apikey['expires_at'] is None and apikey['expires_in'] is None
    assert apikey['iam_id'] == iam_id and apikey['account_id']  # verification asked IAM who the key is
    bearer, _w = obtain(cred_params(emu, username_type='iambearer', cache=False), {})
    claims = json.loads(base64.urlsafe_b64decode(bearer['password'].split('.')[1] + '=='))
    assert claims['iam_id'] == iam_id == bearer['iam_id'] and bearer['account_id'] == claims['account']['bss']
    assert 3500 < bearer['expires_in'] <= 3600 and abs(claims['exp'] - time.time() - bearer['expires_in']) < 5
    refresh, _w = obtain(cred_params(emu, username_type='iamrefresh', cache=False), {})
    assert refresh['password'] not in (key, bearer['password']) and refresh['password'].count('.') != 2
    assert refresh['iam_id'] == iam_id and refresh['expires_in'] > 3500
    answer = requests.post(emu.url + '/identity/token', auth=('bx', 'bx'), timeout=10,
                           data={'grant_type': 'refresh_token', 'refresh_token': refresh['password']})
    assert answer.status_code == 200 and answer.json()['access_token'], answer.text


@pytest.mark.parametrize('kind', ['iamapikey', 'iambearer', 'iamrefresh'])
def test_credential_withholds_the_api_key_from_a_task_that_would_show_it(emu, kind):
    """The module's raw JSON (before Ansible masks anything): without no_log, never the key; a token with a warning."""
    key = emu.apikey('svc-reader')
    args = module_args(cred_params(emu, username_type=kind, cache=False))
    failed, shown, raw = run_fresh(icr_credential, args)
    assert not failed, shown.get('msg')
    assert_no_secret([key], raw)
    if kind == 'iamapikey':
        assert shown['password'] is None and shown['dockerconfigjson'] is None
        assert warning_texts(shown) == [WITHHELD]
    else:
        assert shown['password'] and shown['dockerconfigjson']['auths'][emu_host(emu)]['password'] == shown['password']
        assert warning_texts(shown) == [SHOWN % ('access' if kind == 'iambearer' else 'refresh')]
    failed, hidden, raw = run_fresh(icr_credential, dict(args, _ansible_no_log=True))
    assert not failed and warning_texts(hidden) == []
    assert hidden['password'] == (key if kind == 'iamapikey' else hidden['password']) and hidden['password']
    assert hidden['dockerconfigjson']['auths'][emu_host(emu)]['auth'] == b64('%s:%s' % (kind, hidden['password']))


def test_credential_without_any_api_key_fails_and_says_where_it_looked(emu):
    from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
    with pytest.raises(InputError) as err:
        obtain(cred_params(emu, api_key=None), {'IBMCLOUD_API_KEY': '', 'OTHER': 'x'})
    assert err.value.msg == ('api_key: no API key was given and neither IBMCLOUD_API_KEY nor IC_API_KEY is set. Pass it '
                             'from a vault, or export IBMCLOUD_API_KEY on the controller.')
    assert iam_calls(emu) == 0
    failed, result, _raw = run_module(icr_credential, module_args(cred_params(emu, api_key=None)))
    assert failed and result['msg'].startswith('api_key:')


def test_iamrefresh_needs_a_usable_refresh_token():
    from ansible_collections.icr.auth.plugins.module_utils import _username_types as _options
    from ansible_collections.icr.auth.plugins.module_utils._errors import IamError

    class Token(object):
        def __init__(self, refresh):
            self.access_token, self.refresh_token, self.expires_at = 'a.b.c', refresh, 1234

    class Client(object):
        def __init__(self, refresh):
            self.asked, self.refresh = [], refresh

        def apikey_token(self, api_key, want_refresh=False):
            self.asked.append((api_key, want_refresh))
            return Token(self.refresh)

    good = Client('a-refresh-token')
    assert _options.exchange(good, API_KEY, 'iamrefresh')[:2] == ('a-refresh-token', 1234)
    assert good.asked == [(API_KEY, True)]
    bearer = Client('unused')
    assert _options.exchange(bearer, API_KEY, 'iambearer')[:2] == ('a.b.c', 1234) and bearer.asked == [(API_KEY, False)]
    assert _options.exchange(Client('x'), API_KEY, 'iamapikey') == (API_KEY, None, None)
    for unusable in ('not_supported', '', None):
        with pytest.raises(IamError) as err:
            _options.exchange(Client(unusable), API_KEY, 'iamrefresh')
        assert err.value.msg == ('IAM did not issue a usable refresh token for username_type iamrefresh; use iambearer or '
                                 'iamapikey instead.')


def test_credential_dockerconfigjson_is_a_pull_secret_for_each_host(emu):
    key = emu.apikey('svc-reader')
    result, _w = obtain(cred_params(emu, registries=[emu_host(emu), 'us.icr.io'], verify=False), {})
    assert result['dockerconfigjson'] == {'auths': dict(
        (h, {'username': 'iamapikey', 'password': key, 'auth': b64('iamapikey:' + key)}) for h in (emu_host(emu), 'us.icr.io'))}
    token, _w = obtain(cred_params(emu, username_type='iambearer'), {})
    password = token['password']
    assert password.count('.') == 2 and password != key
    assert token['dockerconfigjson'] == {'auths': {emu_host(emu): {
        'username': 'iambearer', 'password': password, 'auth': b64('iambearer:' + password)}}}
    everywhere, _w = obtain(cred_params(emu, registries=None, verify=False), {})
    assert sorted(everywhere['dockerconfigjson']['auths']) == sorted(ICR_HOSTS)
    assert all(e['auth'] == b64('iamapikey:' + key) for e in everywhere['dockerconfigjson']['auths'].values())


# --------------------------------------------------------------------------------- validate_certs, ca_path: TLS


@pytest.mark.parametrize('setting', ['validate_certs-false', 'ca_path', 'neither'])
def test_credential_validate_certs_and_ca_path_over_tls(tls_emu, tmp_path, setting):
    extra = {'validate_certs': False} if setting == 'validate_certs-false' else \
        {'ca_path': tls_emu.ca_pem} if setting == 'ca_path' else {}
    args = module_args(cred_params(tls_emu, username_type='iambearer', cache_dir=str(tmp_path / 'c'), **extra),
                       _ansible_no_log=True)
    failed, result, _raw = run_module(icr_credential, args)
    if setting == 'neither':
        assert failed and 'TLS verification of IBM Cloud IAM' in result['msg'] and tls_emu.counters()['iam_token'] == 0
    else:
        assert not failed, result.get('msg')
        assert result['verification'][emu_host(tls_emu)]['ok'] is True and tls_emu.counters()['iam_token'] == 1


@pytest.mark.parametrize('setting', ['validate_certs-false', 'ca_path', 'neither'])
def test_login_validate_certs_and_ca_path_over_tls(tls_emu, tmp_path, setting):
    extra = {'validate_certs': False} if setting == 'validate_certs-false' else \
        {'ca_path': tls_emu.ca_pem} if setting == 'ca_path' else {}
    path = tmp_path / 'config.json'
    args = module_args(login_params(tmp_path, regions=None, registries=[emu_host(tls_emu)], password=None,
                                    api_key=tls_emu.apikey('svc-reader'), username_type='iambearer', iam_endpoint=tls_emu.url,
                                    validate=True, retries=1, timeout=5, **extra))
    failed, result, _raw = run_module(login_module(args), args)
    if setting == 'neither':
        assert failed and 'TLS verification of IBM Cloud IAM' in result['msg'] and not path.exists()
    else:
        assert not failed, result.get('msg')
        assert result['verification'][emu_host(tls_emu)]['ok'] is True and stored(path, emu_host(tls_emu))[0] == 'iambearer'


# ------------------------------------------------------------------------------------------------------ proxy


@pytest.mark.parametrize('through', [True, False])
def test_credential_proxy_carries_every_request(emu, tmp_path, through):
    with CountingProxy() as proxy:
        extra = {'proxy': proxy.url} if through else {}
        args = module_args(cred_params(emu, username_type='iambearer', cache=False, **extra), _ansible_no_log=True)
        failed, result, _raw = run_module(icr_credential, args)
        assert not failed, result.get('msg')
        assert result['verification'][emu_host(emu)]['ok'] is True
        counters = emu.counters()
        if through:
            # IAM (POST), the registry's /v2/ (HTTPS is tried first on loopback: a CONNECT), and the realm.
            assert 'POST' in proxy.methods() and 'CONNECT' in proxy.methods(), proxy.seen
            assert proxy.methods().count('GET') + proxy.methods().count('POST') >= sum(
                counters[k] for k in ('iam_token', 'registry_v2', 'registry_token')), (proxy.seen, counters)
        else:
            assert proxy.seen == []


def test_login_proxy_carries_iam_and_the_registry(emu, tmp_path):
    with CountingProxy() as proxy:
        args = module_args(login_params(tmp_path, regions=None, registries=[emu_host(emu)], password=None,
                                        api_key=emu.apikey('svc-reader'), username_type='iambearer',
                                        iam_endpoint=emu.url, validate=True, retries=1, timeout=5, proxy=proxy.url))
        failed, result, _raw = run_module(login_module(args), args)
        assert not failed, result.get('msg')
        targets = proxy.targets()
        assert any(t.endswith('/identity/token') for t in targets), proxy.seen
        assert any(t.endswith('/v2/') for t in targets) and any('/oauth/token' in t for t in targets), proxy.seen


def test_proxy_over_tls_is_a_connect_tunnel(tls_emu, tmp_path):
    with CountingProxy() as proxy:
        args = module_args(cred_params(tls_emu, username_type='iambearer', cache=False, ca_path=tls_emu.ca_pem, proxy=proxy.url),
                           _ansible_no_log=True)
        failed, result, _raw = run_module(icr_credential, args)
        assert not failed, result.get('msg')
        assert proxy.methods() and set(proxy.methods()) == {'CONNECT'}, proxy.seen
        assert all(t == emu_host(tls_emu) for t in proxy.targets()), proxy.seen


@pytest.mark.parametrize('left,warned', [(900, False), (899, True)], ids=['exactly-min-validity', 'one-second-less'])
def test_credential_warns_only_below_min_validity(emu, monkeypatch, left, warned):
    """A token IAM issues with exactly min_validity seconds left is enough; one second less warns."""
    from ansible_collections.icr.auth.plugins.module_utils import _network
    expires_at = 2000000000.0

    def exchange(client, api_key, username_type):
        token = client.apikey_token(api_key)
        return token.access_token, expires_at, token     # an expiry known to the second

    monkeypatch.setattr(_network, 'exchange', exchange)
    result, warnings = obtain(cred_params(emu, username_type='iambearer', cache=False, min_validity=900), {},
                              now=expires_at - left)
    assert result['password'] and result['expires_in'] == left
    assert any('less than min_validity (900)' in w for w in warnings) is warned, warnings
