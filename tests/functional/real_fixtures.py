# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Real registry clients behind the emulator, for test_real_clients.py and test_credential_helpers.py.

One emulator (IAM + ICR token realm), one CNCF distribution registry that trusts it, one dockerd and one podman
store per test module. Every credential a client uses is written by icr.auth.icr_login in a real ansible-playbook
run (playrunner.run_play); no test ever logs a client in.

The emulator's fixture is the default one with two additions and fresh random API key values (so no other test on
the machine can hold the same secret, and a secret found in any process is ours):
- svc-team-b-writer: a service ID of account a2 with Writer on team-b (nobody in the default fixture may push there);
- svc-revokable: a service ID of account a1 with Reader on team-a, revoked by the revocation tests.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import pathlib
import secrets
import threading
import uuid

import pytest

from emu_fixture import started_emulator
from icr_emulator.fixture import DEFAULT_FIXTURE
from icr_infra import Dockerd, Podman, Registry, skopeo_push, write_oci_layout
from playrunner import run_play
from secret_scan import assert_no_secret

TYPES = ('iamapikey', 'iambearer', 'iamrefresh')
FORMATS = ('docker', 'containers')
ISSUER = 'icr-emulator'
A1 = '0399f7d0bbd61ecb2ec14cc4d51098bb'
A2 = '7debd775e2ed3ee17a9eff43ca8813d1'
# Keep the play's HTTP retries low: a refused https attempt to a plain-HTTP loopback registry is retried with
# backoff before the http fallback (several seconds with the default retries: 4).
RETRIES = 1


def _key_value():
    """A fresh 44-character API key value ([A-Za-z0-9_-], starting with a letter)."""
    while True:
        value = secrets.token_urlsafe(33)
        if value[0].isalpha():
            return value


def _service_id(name, account):
    return {'iam_id': 'iam-ServiceId-%s' % uuid.uuid4(), 'type': 'serviceid', 'account': account, 'name': name}


def _policy(iam_id, role, account, namespace):
    return {'id': 'policy-%s' % uuid.uuid4(), 'subject': {'iam_id': iam_id}, 'roles': [role],
            'resource': {'account': account, 'serviceName': 'container-registry', 'resourceType': 'namespace',
                         'resource': namespace}}


def build_fixture():
    """The default fixture with random key values and the two extra service IDs."""
    with open(DEFAULT_FIXTURE, encoding='utf-8') as handle:
        data = copy.deepcopy(json.load(handle))
    data['description'] = 'icr.auth real-client tests: the default fixture with random key values.'
    for key in data['apikeys']:
        key['value'] = _key_value()
    for name, account, namespace, role in (('svc-team-b-writer', 'a2', 'team-b', 'Writer'),
                                           ('svc-revokable', 'a1', 'team-a', 'Reader')):
        ident = _service_id(name, account)
        data['identities'].append(ident)
        data['apikeys'].append({'name': name, 'id': 'ApiKey-%s' % uuid.uuid4(), 'iam_id': ident['iam_id'],
                                'value': _key_value(), 'state': 'active'})
        data['policies'].append(_policy(ident['iam_id'], role, account, namespace))
    return data


# --------------------------------------------------------------------------------------------- daemons


@pytest.fixture(scope='module')
def realm(tmp_path_factory):
    """The emulator (IAM + ICR token realm), plain HTTP."""
    with started_emulator(tmp_path_factory.mktemp('emu'), fixture=build_fixture()) as started:
        yield started


@pytest.fixture()
def emu(realm):
    """The module's emulator with counters at 0, faults dropped and every key restored (revoked ones too)."""
    realm.reset()
    realm.set_lifetimes(access_token_lifetime=3600, refresh_token_lifetime=259200, registry_token_lifetime=300)
    yield realm
    realm.set_upstream(None)
    realm.reset()


def target(emu, registry, variant):
    """Switch the emulator to a variant; the registry host the clients use under it.

    Distribution reads only filtered JWTs, so under the other token styles the clients talk to the emulator's /v2/,
    which enforces IAM policy and forwards what it allows to the real registry behind it.
    """
    import emu_variants
    emu_variants.apply(emu, variant)
    if emu_variants.needs_front(variant):
        emu.set_upstream(registry.url)
        return emu.url.split('://', 1)[1]
    return registry.host


def on_host(host, pushed):
    """The reference of a pushed image as seen through host (the registry itself, or the emulator in front of it)."""
    return '%s/%s' % (host, pushed.ref.split('/', 1)[1])


@pytest.fixture(scope='module')
def registry(realm):
    """A real distribution registry with auth: token, realm = the emulator, plain HTTP."""
    with Registry(realm.url + '/oauth/token', ISSUER, realm.registry_cert_path) as reg:
        yield reg


@pytest.fixture(scope='module')
def dockerd():
    with Dockerd() as daemon:
        yield daemon


@pytest.fixture(scope='module')
def podman():
    with Podman() as started:
        yield started


# --------------------------------------------------------------------------------------------- plays


def credential_task(emu_url, hosts, kind, key_var='key', **extra):
    args = {'api_key': '{{ %s }}' % key_var, 'username_type': kind, 'iam_endpoint': emu_url, 'registries': list(hosts),
            'retries': RETRIES, 'timeout': 10}
    args.update(extra)
    return {'name': 'credential', 'icr.auth.icr_credential': args, 'register': 'icr', 'no_log': True,
            'delegate_to': 'localhost', 'run_once': True}


def login_task(hosts, path, fmt='docker', name='login', **extra):
    args = {'registries': list(hosts), 'username_type': '{{ icr.username }}', 'password': '{{ icr.password }}',
            'config_path': str(path), 'format': fmt, 'retries': RETRIES, 'timeout': 10}
    args.update(extra)
    return {'name': name, 'icr.auth.icr_login': args}


def config_file(directory, fmt):
    """Where a test keeps the file of a format: DOCKER_CONFIG/config.json, or a containers auth.json."""
    directory = pathlib.Path(directory)
    return directory / 'docker' / 'config.json' if fmt == 'docker' else directory / 'containers' / 'auth.json'


def stored_entry(path, host):
    """(username, secret) of host's entry in a config file written by icr_login."""
    entry = json.loads(pathlib.Path(path).read_text())['auths'][host]
    username, _sep, secret = base64.b64decode(entry['auth']).decode('utf-8').partition(':')
    return username, secret


class Login(object):
    """The outcome of write_credential: the play, the file, and every secret it involved."""

    def __init__(self, run, path, host, key, kind):
        self.run = run
        self.path = pathlib.Path(path)
        self.host = host
        self.key = key
        self.kind = kind

    @property
    def dir(self):
        return str(self.path.parent)

    def entry(self):
        return stored_entry(self.path, self.host)

    def secrets(self):
        """The API key, the stored secret and its base64 form: none may appear in any output."""
        found = {self.key}
        if self.path.exists():
            raw = json.loads(self.path.read_text()).get('auths', {}).get(self.host, {})
            if raw.get('auth'):
                found.add(raw['auth'])
                found.add(base64.b64decode(raw['auth']).decode('utf-8').partition(':')[2])
        return {s for s in found if s}


def write_credential(tmp_path, emu, host, key_name, kind, fmt='docker', cred_extra=None, login_extra=None, env=None,
                     args=(), subdir='login'):
    """icr_credential on localhost (cache in the test's tmp) -> icr_login writes one file; asserts success."""
    base = pathlib.Path(tmp_path) / subdir
    path = config_file(base, fmt)
    cred = dict({'cache_dir': str(base / 'icr-cache')}, **(cred_extra or {}))
    tasks = [credential_task(emu.url, [host], kind, **cred), login_task([host], path, fmt, **(login_extra or {}))]
    key = emu.apikey(key_name)
    run = run_play(base / 'play', tasks, secret_vars={'key': key}, env=env, args=args)
    assert run.rc == 0, run.text[-4000:]
    login = Login(run, path, host, key, kind)
    assert_no_secret(login.secrets(), run.stdout, run.stderr)
    return login


def isolated_env(directory, **extra):
    """An empty XDG_RUNTIME_DIR under directory: root's skopeo/podman would read /run/containers/0/auth.json first.

    (The harness already gives every client a scratch HOME and drops inherited DOCKER_*/REGISTRY_AUTH_FILE.)
    """
    runtime = pathlib.Path(directory) / 'xdg-runtime'
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {'XDG_RUNTIME_DIR': str(runtime)}
    env.update(extra)
    return env


def client_env(directory, **extra):
    """Environment for a client that must find credentials only in DOCKER_CONFIG=directory (its config.json)."""
    return isolated_env(directory, DOCKER_CONFIG=str(directory), **extra)


def authfile_env(path, **extra):
    """Environment for skopeo/podman that read credentials only from REGISTRY_AUTH_FILE=path."""
    return isolated_env(pathlib.Path(path).parent, REGISTRY_AUTH_FILE=str(path), **extra)


def pulled_digest(layout_dir, tag):
    """The manifest digest skopeo wrote into an OCI layout for tag."""
    index = json.loads((pathlib.Path(layout_dir) / 'index.json').read_text())
    for manifest in index['manifests']:
        if manifest.get('annotations', {}).get('org.opencontainers.image.ref.name') == tag:
            return manifest['digest']
    return None


class Pushed(object):
    def __init__(self, ref, digest):
        self.ref = ref
        self.digest = digest


def push_image(tmp_path, emu, registry, key_name, repo, tag, content):
    """Push a fresh one-layer image as key_name, with a file icr_login wrote (iamapikey, docker format)."""
    base = pathlib.Path(tmp_path)
    login = write_credential(base, emu, registry.host, key_name, 'iamapikey', 'docker', subdir='push-' + key_name)
    layout = str(base / ('oci-' + key_name))
    digest = write_oci_layout(layout, tag, content=content)
    ref = '%s/%s:%s' % (registry.host, repo, tag)
    pushed = skopeo_push(layout, tag, ref, env=client_env(login.dir))
    assert pushed.rc == 0, pushed.stderr
    return Pushed(ref, digest)


@pytest.fixture(scope='module')
def images(realm, registry, tmp_path_factory):
    """team-a/app:base pushed by svc-writer and team-b/app:base pushed by svc-team-b-writer (once per module)."""
    base = tmp_path_factory.mktemp('images')
    team_a = push_image(base, realm, registry, 'svc-writer', 'team-a/app', 'base', b'team-a base image\n')
    team_b = push_image(base, realm, registry, 'svc-team-b-writer', 'team-b/app', 'base', b'team-b base image\n')
    return {'team-a': team_a, 'team-b': team_b}


# --------------------------------------------------------------------------------------------- argv sampling


class ArgvSampler(object):
    """Reads /proc/*/cmdline of every process, over and over, while a block runs (a probe, not a synchronisation)."""

    def __init__(self):
        self.seen = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.rounds = 0

    def _loop(self):
        while not self._stop.wait(0.01):  # a sampling rate, so that the probe leaves CPU to what it watches
            for entry in os.listdir('/proc'):
                if not entry.isdigit():
                    continue
                try:
                    with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                        raw = handle.read()
                except OSError:
                    continue
                if raw:
                    self.seen.add(raw.replace(b'\0', b' ').decode('utf-8', 'replace'))
            self.rounds += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
