# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_login and real credential helpers: docker-credential-pass on a headless pass store, and broken fakes.

The play gets the store's GNUPGHOME/PASSWORD_STORE_DIR (and PATH for the fakes) through its environment, so the
helper icr_login runs finds the store; the docker CLI pulls with DOCKER_CONFIG and the same store, never a login.
"""

from __future__ import annotations

import json
import os
import pathlib
import stat
import textwrap

import pytest

from icr_infra import PassStore, skopeo_pull
from playrunner import run_play
from secret_scan import assert_no_secret
from real_fixtures import (  # noqa: F401  pylint: disable=unused-import
    authfile_env,
    client_env,
    config_file,
    dockerd,
    emu,
    images,
    isolated_env,
    podman,
    pulled_digest,
    realm,
    registry,
    write_credential,
)

pytestmark = [pytest.mark.slow, pytest.mark.needs_root]

# What dockerd reports when the docker CLI found no credential and the realm is asked anonymously.
ANONYMOUS = 'unauthorized: Authorization required.'


@pytest.fixture(scope='module')
def pass_store():
    with PassStore('icr.auth credential helper tests') as store:
        yield store


@pytest.fixture()
def store(pass_store, registry):
    """The module's pass store, with nothing stored for the registry before and after each test."""
    pass_store.erase(registry.host)
    yield pass_store
    pass_store.erase(registry.host)


def write_config(path, data):
    """A Docker config.json as a user would have it before icr_login runs (no credential in it)."""
    path = pathlib.Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + '\n')
    os.chmod(str(path), 0o600)
    return path


def pass_entries(store):
    """{file: (mtime_ns, bytes)} of every entry docker-credential-pass keeps, to tell a rewrite from a read."""
    root = pathlib.Path(store.store_dir) / 'docker-credential-helpers'
    return dict((str(p), (p.stat().st_mtime_ns, p.read_bytes())) for p in sorted(root.rglob('*.gpg')))


def docker_pull(dockerd, ref, directory, store):
    return dockerd.pull(ref, docker_config=str(directory), env=store.env)


@pytest.mark.parametrize('setting,kind', [('credsStore', 'iamapikey'), ('credHelpers', 'iambearer')])
def test_auto_stores_in_pass_where_docker_looks(emu, registry, dockerd, images, store, tmp_path, setting, kind):
    host = registry.host
    path = config_file(tmp_path / 'login', 'docker')
    before = {'credsStore': 'pass'} if setting == 'credsStore' else {'credHelpers': {host: 'pass'}}
    before['HttpHeaders'] = {'X-Meta': 'kept'}
    write_config(path, before)
    extra = {'credential_store': 'auto'}

    login = write_credential(tmp_path, emu, host, 'svc-reader', kind, 'docker', login_extra=extra, env=store.env)
    result = login.run.result('login')['result']
    assert result['changed'] is True and result['registries'] == {host: 'added'}
    assert result['files'][0]['stored_in'] == {host: 'docker-credential-pass'}
    stored = store.get(host)
    assert stored is not None and stored['Username'] == kind
    secret = stored['Secret']
    assert (secret == login.key) if kind == 'iamapikey' else (secret.count('.') == 2 and secret != login.key)
    data = json.loads(path.read_text())
    assert data['auths'] == {host: {}}  # Docker's own shape for a host whose secret is in a helper
    for name, value in before.items():
        assert data[name] == value
    raw = path.read_text()
    assert '"auth"' not in raw
    assert_no_secret({secret, login.key}, raw)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert_no_secret({secret, login.key}, login.run.text)

    calls = emu.counters()['registry_token_' + kind]
    pulled = docker_pull(dockerd, images['team-a'].ref, login.dir, store)
    assert pulled.rc == 0, pulled.stderr
    assert emu.counters()['registry_token_' + kind] > calls  # dockerd sent the credential the CLI got from pass
    if setting == 'credHelpers':
        # containers/image follows credHelpers in Docker's file too (it has no support for credsStore).
        by_skopeo = skopeo_pull(images['team-a'].ref, str(tmp_path / 'pulled'), 'base',
                                env=client_env(login.dir, **store.env))
        assert by_skopeo.rc == 0, by_skopeo.stderr

    # A rerun asks the helper ("get"), finds the same credential and changes nothing - not even the pass entry.
    entries = pass_entries(store)
    file_bytes = path.read_bytes()
    again = write_credential(tmp_path, emu, host, 'svc-reader', kind, 'docker', login_extra=extra, env=store.env)
    result = again.run.result('login')['result']
    assert result['changed'] is False and result['registries'] == {host: 'unchanged'}
    assert pass_entries(store) == entries and path.read_bytes() == file_bytes

    # state: absent erases it from pass; Docker then has nothing to send.
    absent = {'name': 'absent', 'icr.auth.icr_login': {'registries': [host], 'state': 'absent', 'config_path': str(path)}}
    run = run_play(tmp_path / 'absent', [absent], env=store.env)
    assert run.rc == 0, run.text[-3000:]
    result = run.result('absent')['result']
    assert result['changed'] is True and result['registries'] == {host: 'removed'}
    assert store.get(host) is None and host not in store.list()
    data = json.loads(path.read_text())
    assert not data['auths'].get(host) and data['HttpHeaders'] == {'X-Meta': 'kept'}
    refused = docker_pull(dockerd, images['team-a'].ref, login.dir, store)
    assert refused.rc != 0 and ANONYMOUS in refused.stderr, refused.stderr


def test_absent_after_a_helper_login_gives_the_file_back(emu, registry, store, tmp_path):
    host = registry.host
    path = write_config(tmp_path / 'docker' / 'config.json', {'credsStore': 'pass'})
    original = json.loads(path.read_text())
    present = {'name': 'present', 'icr.auth.icr_login': {'registries': [host], 'password': '{{ key }}',
                                                         'config_path': str(path)}}
    absent = {'name': 'absent', 'icr.auth.icr_login': {'registries': [host], 'state': 'absent', 'config_path': str(path)}}
    run = run_play(tmp_path / 'play', [present, absent], secret_vars={'key': emu.apikey('svc-reader')}, env=store.env)
    assert run.rc == 0, run.text[-3000:]
    assert run.result('absent')['result']['registries'] == {host: 'removed'} and store.get(host) is None
    # What docker logout leaves: the host's entry gone; like Docker we keep an "auths" object (Docker always writes one).
    assert json.loads(path.read_text()) == dict(original, auths={})


def fake_helpers(directory):
    """docker-credential-broken (every verb exits 1) and docker-credential-empty (answers an empty credential).

    Each records its arguments, one line per call; -empty also records what it was given to store.
    """
    bindir = pathlib.Path(directory) / 'bin'
    bindir.mkdir(parents=True)
    argv_log = pathlib.Path(directory) / 'helper-argv.log'
    stdin_log = pathlib.Path(directory) / 'helper-store-stdin.json'
    scripts = {
        'docker-credential-broken': '''\
            #!/bin/sh
            echo "broken $*" >> '%(argv)s'
            cat >/dev/null
            echo "broken-helper: the keychain is locked" >&2
            exit 1
            ''',
        'docker-credential-empty': '''\
            #!/bin/sh
            echo "empty $*" >> '%(argv)s'
            case "$1" in
              get) cat >/dev/null; printf '{"Username":"","Secret":""}\\n' ;;
              store) cat > '%(stdin)s' ;;
              list) printf '{}\\n' ;;
              *) cat >/dev/null ;;
            esac
            exit 0
            ''',
    }
    for name, body in scripts.items():
        script = bindir / name
        script.write_text(textwrap.dedent(body) % {'argv': argv_log, 'stdin': stdin_log})
        os.chmod(str(script), 0o755)
    return str(bindir), argv_log, stdin_log


@pytest.mark.parametrize('helper', ['nosuch', 'broken', 'empty'])
def test_a_missing_failing_or_empty_helper_fails_clearly_and_leaves_the_file(emu, registry, tmp_path, helper):
    host = registry.host
    bindir, argv_log, stdin_log = fake_helpers(tmp_path)
    path = tmp_path / 'docker' / 'config.json'
    setting = {'credHelpers': {host: helper}} if helper == 'broken' else {'credsStore': helper}
    write_config(path, dict(setting, auths={'other.example:5000': {}}, HttpHeaders={'X-Meta': 'kept'}))
    before = path.read_bytes()
    key = emu.apikey('svc-reader')
    task = {'name': 'login', 'icr.auth.icr_login': {'registries': [host], 'password': '{{ key }}', 'config_path': str(path)}}
    env = {'PATH': bindir + os.pathsep + os.environ['PATH']}
    run = run_play(tmp_path / 'play', [task], secret_vars={'key': key}, env=env)
    assert run.rc != 0
    msg = run.result('login')['result']['msg']
    program = 'docker-credential-' + helper
    if helper == 'nosuch':
        assert '%s is not installed on this host (not found on PATH)' % program in msg, msg
    elif helper == 'broken':
        assert '%s failed to look up %s (exit 1): broken-helper: the keychain is locked' % (program, host) in msg, msg
    else:
        assert '%s said it stored the credential for %s, but "get" does not give it back' % (program, host) in msg, msg
    assert path.read_bytes() == before
    assert_no_secret({key}, run.text)
    if helper == 'empty':
        # The secret went to the helper on stdin, in the protocol's shape; its arguments were only the verbs.
        assert json.loads(stdin_log.read_text()) == {'ServerURL': host, 'Username': 'iamapikey', 'Secret': key}
        assert argv_log.read_text().split('\n') == ['empty get', 'empty store', 'empty get', '']
    elif helper == 'broken':
        assert argv_log.read_text() == 'broken get\n'


def test_credential_store_file_writes_the_file_and_warns_docker_will_not_look_there(
        emu, registry, dockerd, images, store, tmp_path):
    host = registry.host
    path = config_file(tmp_path / 'login', 'docker')
    write_config(path, {'credsStore': 'pass'})
    login = write_credential(tmp_path, emu, host, 'svc-reader', 'iamapikey', 'docker',
                             login_extra={'credential_store': 'file'}, env=store.env)
    result = login.run.result('login')['result']
    assert result['files'][0]['stored_in'] == {host: 'file'} and result['registries'] == {host: 'added'}
    warnings = ' '.join(result.get('warnings', []))
    assert 'names the credential store "pass": Docker looks there and ignores the credential written' in warnings, result
    assert login.entry() == ('iamapikey', login.key)
    assert json.loads(path.read_text())['credsStore'] == 'pass'
    assert store.get(host) is None

    # skopeo reads the file's entry ...
    ref = images['team-a'].ref
    pulled = skopeo_pull(ref, str(tmp_path / 'pulled'), 'base', authfile=str(path), env=isolated_env(tmp_path))
    assert pulled.rc == 0, pulled.stderr
    assert pulled_digest(str(tmp_path / 'pulled'), 'base') == images['team-a'].digest
    # ... and Docker, as warned, asks pass, which has nothing: an anonymous pull, refused.
    refused = docker_pull(dockerd, ref, login.dir, store)
    assert refused.rc != 0 and ANONYMOUS in refused.stderr, refused.stderr

    # Back to credential_store: auto - the secret moves into pass and out of the file, and Docker pulls.
    auto = write_credential(tmp_path, emu, host, 'svc-reader', 'iamapikey', 'docker',
                            login_extra={'credential_store': 'auto'}, env=store.env)
    result = auto.run.result('login')['result']
    assert result['changed'] is True and result['files'][0]['stored_in'] == {host: 'docker-credential-pass'}
    assert json.loads(path.read_text()) == {'credsStore': 'pass', 'auths': {host: {}}}
    assert store.get(host)['Secret'] == login.key
    assert_no_secret([login.key], path.read_bytes())
    pulled = docker_pull(dockerd, ref, login.dir, store)
    assert pulled.rc == 0, pulled.stderr


@pytest.mark.parametrize('fmt,existing', [('docker', None), ('docker', {}), ('containers', None)],
                         ids=['docker-no-file', 'docker-empty-file', 'containers-no-file'])
def test_explicit_pass_names_the_helper_where_clients_look(emu, registry, dockerd, podman, images, store, tmp_path, fmt,
                                                           existing):
    host = registry.host
    path = config_file(tmp_path / 'login', fmt)
    if existing is not None:
        write_config(path, existing)
    login = write_credential(tmp_path, emu, host, 'svc-reader', 'iamrefresh', fmt,
                             login_extra={'credential_store': 'pass'}, env=store.env)
    result = login.run.result('login')['result']
    assert result['files'][0]['stored_in'] == {host: 'docker-credential-pass'} and result['changed'] is True
    # Docker keeps an empty auths entry for a helper-stored host; containers tools need only credHelpers.
    expected_auths = {host: {}} if fmt == 'docker' else {}
    assert json.loads(path.read_text()) == {'auths': expected_auths, 'credHelpers': {host: 'pass'}}
    stored = store.get(host)
    assert stored is not None and stored['Username'] == 'iamrefresh' and stored['Secret'] != login.key
    assert_no_secret([stored['Secret']], path.read_bytes())

    ref = images['team-a'].ref
    calls = emu.counters()['registry_token_iamrefresh']
    if fmt == 'docker':
        pulled = docker_pull(dockerd, ref, login.dir, store)
        assert pulled.rc == 0, pulled.stderr
    else:
        pulled = podman.pull(ref, authfile=str(path), env=isolated_env(tmp_path, **store.env))
        assert pulled.rc == 0, pulled.stderr
        by_skopeo = skopeo_pull(ref, str(tmp_path / 'pulled'), 'base', env=authfile_env(path, **store.env))
        assert by_skopeo.rc == 0, by_skopeo.stderr
    assert emu.counters()['registry_token_iamrefresh'] > calls  # the clients sent the refresh token from pass

    again = write_credential(tmp_path, emu, host, 'svc-reader', 'iamrefresh', fmt,
                             login_extra={'credential_store': 'pass'}, env=store.env)
    assert again.run.result('login')['result']['changed'] is False
