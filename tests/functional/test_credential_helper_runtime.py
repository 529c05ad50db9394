# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""docker-credential-icr as it runs on a host: the zipapp built by _helper_bundle.bundle(), run as a real process
against a small VPC metadata service + IAM stand-in on 127.0.0.1 (the paths, headers and grants IBM documents).

What is proven: get/list/store/erase through the protocol; both metadata API versions, profile by id or default,
compute-resource tokens, key files; 20 concurrent gets make 1 exchange; an unreachable metadata service fails in
seconds; IAM down with a valid cache serves it, with an expired one fails with one clear line; HTTPS with a custom
CA; the API key never in argv, the helper's environment, cache files, stdout or stderr.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import pathlib
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from emu_fixture import emu, module_emu  # noqa: F401  pylint: disable=unused-import
from secret_scan import assert_no_secret

from ansible_collections.icr.auth.plugins.module_utils._helper_bundle import bundle

API_KEY = 'Fx9kApiKeyOfTheKeyFileIdentity_0123456789ab'
CR_TOKEN = 'cr-token-of-the-pod-0123456789'
PROFILE = 'Profile-0d4f6c1e-1111-2222-3333-444455556666'
CRN = f'crn:v1:bluemix:public:iam-identity::a/acc::profile:{PROFILE}'


def jwt(claims):
    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b'=').decode()
    return f"{b64({'alg': 'RS256'})}.{b64(claims)}.c2ln"


class StandIn(object):
    """The VPC metadata service and IAM's token endpoint, as far as the helper uses them."""

    def __init__(self, tls=None):
        self.counts = {'metadata_token': 0, 'metadata_iam_token': 0, 'iam_apikey': 0, 'iam_cr': 0}
        self.bodies = []
        self.lifetime = 3600
        self.delay = 0.0
        self.down = False
        self.lock = threading.Lock()
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):  # noqa: N802
                stand_in.handle(self, 'PUT')

            def do_POST(self):  # noqa: N802
                stand_in.handle(self, 'POST')

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        scheme = 'http'
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
            scheme = 'https'
        self.url = f'{scheme}://127.0.0.1:{self.httpd.server_address[1]}'
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)

    def token(self, sub):
        now = int(time.time())
        return {'access_token': jwt({'iam_id': sub, 'sub': sub, 'iat': now, 'exp': now + self.lifetime}),
                'expires_in': self.lifetime, 'token_type': 'Bearer'}

    def count(self, name):
        with self.lock:
            self.counts[name] += 1

    def handle(self, req, method):
        length = int(req.headers.get('Content-Length') or 0)
        body = req.rfile.read(length) if length else b''
        self.bodies.append(body)
        path, query = (req.path.split('?', 1) + [''])[:2]
        version = urllib.parse.parse_qs(query).get('version', [''])[0]
        if self.down:
            return req.reply(503, {'errorCode': 'BXNIM0503E', 'errorMessage': 'down'})
        if path in ('/identity/v1/token', '/instance_identity/v1/token', '/identity/v1/iam_tokens',
                    '/instance_identity/v1/iam_token'):
            if req.headers.get('Metadata-Flavor') != 'ibm':
                return req.reply(400, {'errors': [{'code': 'missing_flavor', 'message': 'Metadata-Flavor missing'}]})
            new = path.startswith('/identity/')
            if (version == '2025-08-26') != new or version not in ('2025-08-26', '2022-03-01'):
                return req.reply(404, {'errors': [{'code': 'not_found', 'message': 'Not Found'}]})
            if path.endswith('/token'):
                if method != 'PUT':
                    return req.reply(405, {})
                self.count('metadata_token')
                return req.reply(200, {'access_token': 'instance-identity-token', 'expires_in': 300})
            if method != 'POST' or req.headers.get('Authorization') != 'Bearer instance-identity-token':
                return req.reply(401, {'errors': [{'code': 'unauthorized', 'message': 'bad identity token'}]})
            profile = (json.loads(body) if body else {}).get('trusted_profile') or {'id': PROFILE}
            if profile not in ({'id': PROFILE}, {'crn': CRN}):
                return req.reply(403, {'errors': [{'code': 'forbidden', 'message': 'profile not linked'}]})
            self.count('metadata_iam_token')
            time.sleep(self.delay)
            return req.reply(201, self.token('iam-' + PROFILE))
        if path == '/identity/token' and method == 'POST':
            form = dict(urllib.parse.parse_qsl(body.decode()))
            if form.get('grant_type') == 'urn:ibm:params:oauth:grant-type:apikey' and form.get('apikey') == API_KEY:
                self.count('iam_apikey')
                time.sleep(self.delay)
                return req.reply(200, self.token('iam-ServiceId-keyfile'))
            if (form.get('grant_type') == 'urn:ibm:params:oauth:grant-type:cr-token' and form.get('cr_token') == CR_TOKEN
                    and form.get('profile_id') == PROFILE):
                self.count('iam_cr')
                return req.reply(200, self.token('iam-' + PROFILE))
            return req.reply(400, {'errorCode': 'BXNIM0415E', 'errorMessage': 'Provided API key could not be found.'})
        return req.reply(404, {})

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope='module')
def helper_path(tmp_path_factory):
    path = tmp_path_factory.mktemp('bin') / 'docker-credential-icr'
    path.write_bytes(bundle(sys.executable))
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def stand_in():
    with StandIn() as started:
        yield started


class Host(object):
    """The helper's configuration file, cache and key file of one test, and runs of the helper."""

    def __init__(self, tmp_path, helper_path, **config):
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.helper = helper_path
        self.cache = tmp_path / 'cache'
        self.config_path = tmp_path / 'credential-helper.json'
        config.setdefault('cache_dir', str(self.cache))
        config.setdefault('registries', ['us.icr.io', 'icr.io'])
        config.setdefault('timeout', 3)
        self.config_path.write_text(json.dumps(dict({'version': 1}, **config)))

    def env(self):
        env = {'PATH': '/usr/bin:/bin', 'DOCKER_CREDENTIAL_ICR_CONFIG': str(self.config_path)}
        return env  # no HOME: the helper needs none

    def start(self, action, stdin=''):
        proc = subprocess.Popen([self.helper, action], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env(), text=True)
        return proc, stdin

    def run(self, action, stdin=''):
        done = subprocess.run([self.helper, action], input=stdin, capture_output=True, text=True, env=self.env(),
                              timeout=120, check=False)
        return done.returncode, done.stdout, done.stderr

    def cache_bytes(self):
        return [p.read_bytes() for p in self.cache.rglob('*') if p.is_file()] if self.cache.exists() else []


@pytest.mark.parametrize('version', ['2025-08-26', '2022-03-01'])
@pytest.mark.parametrize('profile', [{}, {'trusted_profile_id': PROFILE}, {'trusted_profile_crn': CRN}])
def test_vpc_trusted_profile_get_through_the_metadata_service(tmp_path, helper_path, stand_in, version, profile):
    host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=stand_in.url,
                metadata_version=version, **profile)
    code, out, err = host.run('get', 'us.icr.io\n')
    assert (code, err) == (0, '')
    answer = json.loads(out)
    assert (answer['ServerURL'], answer['Username']) == ('us.icr.io', 'iambearer')
    claims = json.loads(base64.urlsafe_b64decode(answer['Secret'].split('.')[1] + '=='))
    assert claims['iam_id'] == 'iam-' + PROFILE and claims['exp'] > time.time() + 3000
    # A second get, for another ICR host, is served from the cache.
    assert json.loads(host.run('get', 'private.de.icr.io')[1])['Secret'] == answer['Secret']
    assert stand_in.counts['metadata_iam_token'] == 1 and stand_in.counts['metadata_token'] == 1
    assert stat.S_IMODE(os.stat(host.cache).st_mode) == 0o700
    assert [stat.S_IMODE(p.stat().st_mode) for p in host.cache.glob('*.json')] == [0o600]


def test_twenty_concurrent_gets_make_one_exchange(tmp_path, helper_path, stand_in):
    stand_in.delay = 1.0
    host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=stand_in.url)
    procs = [host.start('get', 'us.icr.io') for _i in range(20)]
    results = [proc.communicate(stdin, timeout=120) + (proc.returncode,) for proc, stdin in procs]
    assert [code for _out, _err, code in results] == [0] * 20
    assert len(set(json.loads(out)['Secret'] for out, _err, _code in results)) == 1
    assert stand_in.counts['metadata_iam_token'] == 1


def test_a_token_near_its_end_is_refreshed(tmp_path, helper_path, stand_in):
    stand_in.lifetime = 20  # refreshed when less than 90 % (18 s) is left
    host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=stand_in.url,
                refresh_share=0.9)
    first = json.loads(host.run('get', 'us.icr.io')[1])['Secret']
    assert json.loads(host.run('get', 'us.icr.io')[1])['Secret'] == first
    time.sleep(3)
    second = json.loads(host.run('get', 'us.icr.io')[1])['Secret']
    assert first != second and stand_in.counts['metadata_iam_token'] == 2


def test_an_unreachable_metadata_service_fails_in_seconds_with_one_line(tmp_path, helper_path):
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(8)
    try:
        host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', timeout=1, retries=3,
                    metadata_endpoint=f'http://127.0.0.1:{silent.getsockname()[1]}')
        start = time.monotonic()
        code, out, err = host.run('get', 'us.icr.io')
        elapsed = time.monotonic() - start
    finally:
        silent.close()
    assert code == 1 and err.count('\n') == 1 and elapsed < 15
    assert err.startswith('docker-credential-icr: us.icr.io: vpc_trusted_profile: the VPC instance metadata service '
                          'at http://127.0.0.1:')
    assert 'did not answer within 1 seconds' in err


def test_iam_down_serves_a_valid_cache_and_fails_clearly_when_it_expired(tmp_path, helper_path, stand_in):
    stand_in.lifetime = 600
    host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=stand_in.url,
                refresh_share=0.9, retries=0)
    token = json.loads(host.run('get', 'us.icr.io')[1])['Secret']
    entry_path = next(host.cache.glob('vpc_trusted_profile-*.json'))
    entry = json.loads(entry_path.read_text())
    entry['issued_at'] = entry['expires_at'] - 6000  # past its refresh point, still valid for 10 minutes
    entry_path.write_text(json.dumps(entry))
    stand_in.down = True
    code, out, err = host.run('get', 'us.icr.io')
    assert code == 0 and json.loads(out)['Secret'] == token
    assert err.startswith('docker-credential-icr: us.icr.io: vpc_trusted_profile: warning: could not refresh the token')
    # The cached token expires: nothing valid is left.
    entry['expires_at'] = int(time.time()) + 5
    entry_path.write_text(json.dumps(entry))
    code, out, err = host.run('get', 'us.icr.io')
    assert code == 1 and err.count('\n') == 1 and token not in out + err
    assert 'vpc_trusted_profile: could not get the instance identity token' in err and 'HTTP 503' in err


def test_a_corrupt_cache_file_is_replaced(tmp_path, helper_path, stand_in):
    host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=stand_in.url)
    host.run('get', 'us.icr.io')
    entry_path = next(host.cache.glob('vpc_trusted_profile-*.json'))
    entry_path.write_bytes(b'\x00garbage')
    code, out, _err = host.run('get', 'us.icr.io')
    assert code == 0 and json.loads(entry_path.read_text())['access_token'] == json.loads(out)['Secret']


def test_compute_resource_token_file(tmp_path, helper_path, stand_in):
    token_file = tmp_path / 'sa-token'
    token_file.write_text(CR_TOKEN + '\n')
    host = Host(tmp_path, helper_path, identity='compute_resource', iam_endpoint=stand_in.url, profile_id=PROFILE,
                cr_token_file=str(token_file))
    code, out, err = host.run('get', 'icr.io')
    assert (code, err) == (0, '') and json.loads(out)['Username'] == 'iambearer'
    assert stand_in.counts['iam_cr'] == 1


def test_https_metadata_with_a_custom_ca(tmp_path, helper_path):
    trustme = pytest.importorskip('trustme')
    ca = trustme.CA()
    context = __import__('ssl').SSLContext(__import__('ssl').PROTOCOL_TLS_SERVER)
    ca.issue_cert('127.0.0.1').configure_cert(context)
    ca_pem = tmp_path / 'ca.pem'
    ca.cert_pem.write_to_path(str(ca_pem))
    with StandIn(tls=context) as secure:
        host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=secure.url)
        code, _out, err = host.run('get', 'us.icr.io')
        assert code == 1 and 'TLS with the VPC instance metadata service at https://127.0.0.1:' in err
        host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=secure.url,
                    ca_path=str(ca_pem))
        code, _out, err = host.run('get', 'us.icr.io')
        assert (code, err) == (0, '') and secure.counts['metadata_iam_token'] == 1


def test_the_protocol_for_other_hosts_list_store_erase_and_errors(tmp_path, helper_path, stand_in):
    host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=stand_in.url)
    assert host.run('get', 'docker.io') == (1, 'credentials not found in native keychain\n', '')
    assert json.loads(host.run('list')[1]) == {'icr.io': 'iambearer', 'us.icr.io': 'iambearer'}
    login = json.dumps({'ServerURL': 'us.icr.io', 'Username': 'iamapikey', 'Secret': 'users-own-key-0123456789'})
    assert host.run('store', login) == (0, '', '')
    assert json.loads(host.run('get', 'us.icr.io')[1])['Secret'] == 'users-own-key-0123456789'
    assert json.loads(host.run('list')[1])['us.icr.io'] == 'iamapikey'
    assert host.run('erase', 'us.icr.io') == (0, '', '')
    assert json.loads(host.run('get', 'us.icr.io')[1])['Username'] == 'iambearer'
    code, out, err = host.run('frobnicate')
    assert code == 1 and 'Usage: docker-credential-icr' in err
    assert host.run('version')[0] == 0


def test_the_key_of_a_key_file_identity_is_never_exposed(tmp_path, helper_path, stand_in):
    key_file = tmp_path / 'apikey'
    key_file.write_text(API_KEY + '\n')
    key_file.chmod(0o600)
    host = Host(tmp_path, helper_path, identity='api_key_file', api_key_file=str(key_file), iam_endpoint=stand_in.url)
    stand_in.delay = 1.5
    proc, stdin = host.start('get', 'us.icr.io')
    proc.stdin.write(stdin)
    proc.stdin.close()
    seen = []
    deadline = time.monotonic() + 10
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            seen.append(open(f'/proc/{proc.pid}/cmdline', 'rb').read())
            seen.append(open(f'/proc/{proc.pid}/environ', 'rb').read())
        except OSError:
            break
        time.sleep(0.1)
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(30)
    assert proc.returncode == 0 and stand_in.counts['iam_apikey'] == 1 and len(seen) >= 2
    token = json.loads(out)['Secret']
    assert_no_secret([API_KEY], out, err, *seen, *host.cache_bytes())
    assert token.encode() in b''.join(host.cache_bytes())
    # The failure paths: a refused key, a key file open to others.
    stand_in.delay = 0
    key_file.write_text(API_KEY[::-1] + '\n')
    (host.cache / next(p.name for p in host.cache.glob('api_key_file-*.json'))).unlink()
    refused = host.run('get', 'us.icr.io')
    assert refused[0] == 1 and 'BXNIM0415E' in refused[2]
    key_file.write_text(API_KEY + '\n')
    key_file.chmod(0o644)
    open_to_others = host.run('get', 'us.icr.io')
    assert open_to_others[0] == 1 and f'run chmod 600 {key_file}' in open_to_others[2]
    assert_no_secret([API_KEY, API_KEY[::-1]], refused, open_to_others, *host.cache_bytes())


@pytest.mark.parametrize('version', ['3.8', '3.13'])
def test_the_zipapp_on_the_oldest_and_newest_host_python(tmp_path, stand_in, version):
    repo = pathlib.Path(__file__).resolve().parent.parent.parent
    found = subprocess.run([str(repo / 'scripts' / 'find-python.sh'), version], capture_output=True, text=True,
                           check=False)
    if found.returncode != 0:
        if os.environ.get('CI') == 'true':
            pytest.fail(f'no Python {version} on this machine: {found.stderr.strip()}')
        pytest.skip(f'no Python {version} on this machine')
    path = tmp_path / 'docker-credential-icr'
    path.write_bytes(bundle(found.stdout.strip()))
    path.chmod(0o755)
    key_file = tmp_path / 'apikey'
    key_file.write_text(API_KEY)
    key_file.chmod(0o600)
    host = Host(tmp_path, str(path), identity='api_key_file', api_key_file=str(key_file), iam_endpoint=stand_in.url)
    code, out, err = host.run('get', 'us.icr.io')
    assert (code, err) == (0, '') and json.loads(out)['Username'] == 'iambearer'
    version_of = subprocess.run([found.stdout.strip(), '--version'], capture_output=True, text=True, check=False)
    assert version_of.stdout.startswith(f'Python {version}.')
    stand_in.delay = 0.5
    vpc = Host(tmp_path, str(path), identity='vpc_trusted_profile', metadata_endpoint=stand_in.url)
    procs = [vpc.start('get', 'icr.io') for _i in range(5)]
    assert [proc.communicate(stdin, timeout=60)[1] for proc, stdin in procs] == [''] * 5
    assert stand_in.counts == {'metadata_token': 1, 'metadata_iam_token': 1, 'iam_apikey': 1, 'iam_cr': 0}
    login = json.dumps({'ServerURL': 'icr.io', 'Username': 'iamapikey', 'Secret': 'own-login-secret-0123'})
    assert vpc.run('store', login) == (0, '', '')
    assert json.loads(vpc.run('list')[1]) == {'icr.io': 'iamapikey', 'us.icr.io': 'iambearer'}
    assert vpc.run('erase', 'icr.io') == (0, '', '')
    assert json.loads(vpc.run('get', 'icr.io')[1])['Username'] == 'iambearer'


# ---------------------------------------------------------------------------------------------------------------
# Against the project's emulator: its VPC metadata service, the cr-token grant, API keys, and its token realm.

READER = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'
NOPOLICY = 'Profile-3028434f-f369-427d-8c4d-edf5c75ee2c2'


def realm_pull(emu, token, scope='repository:team-a/app:pull'):
    """(status, granted actions) of the emulator's token realm for iambearer:<token>, as docker would ask."""
    auth = base64.b64encode(f'iambearer:{token}'.encode()).decode()
    request = urllib.request.Request(f"{emu.url}/oauth/token?service=registry&scope={urllib.parse.quote(scope)}",
                                     headers={'Authorization': 'Basic ' + auth})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
            body = json.loads(answer.read())
            status = answer.status
    except urllib.error.HTTPError as exc:
        return exc.code, []
    registry_token = body.get('token') or body.get('access_token')
    claims = json.loads(base64.urlsafe_b64decode(registry_token.split('.')[1] + '=='))
    return status, [a for entry in claims.get('access', []) for a in entry.get('actions', [])]


@pytest.mark.parametrize('version', ['2025-08-26', '2022-03-01'])
def test_emulator_vpc_default_profile_pulls_and_one_without_policy_does_not(tmp_path, helper_path, emu, version):
    emu.set_instance('vsi-1')
    host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=emu.metadata_url,
                metadata_version=version)
    code, out, err = host.run('get', 'us.icr.io')
    assert (code, err) == (0, '')
    token = json.loads(out)['Secret']
    assert realm_pull(emu, token) == (200, ['pull'])
    counters = emu.counters()
    assert (counters['metadata_token'], counters['metadata_iam_token']) == (1, 1)
    nopolicy = Host(tmp_path / 'np', helper_path, identity='vpc_trusted_profile', metadata_endpoint=emu.metadata_url,
                    metadata_version=version, trusted_profile_id=NOPOLICY)
    code, out, err = nopolicy.run('get', 'us.icr.io')
    assert code == 0 and realm_pull(emu, json.loads(out)['Secret'])[1] == []


def test_emulator_instance_without_default_profile_says_what_to_do(tmp_path, helper_path, emu):
    emu.set_instance('vsi-nodefault')
    host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=emu.metadata_url)
    code, out, err = host.run('get', 'us.icr.io')
    assert code == 1 and err.count('\n') == 1
    assert 'vpc_trusted_profile: could not get an IAM token for the trusted profile' in err
    assert 'no_default_trusted_profile' in err and 'set trusted_profile_id' in err
    code, out, err = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=emu.metadata_url,
                          trusted_profile_id=READER).run('get', 'us.icr.io')
    assert code == 1 and 'trusted_profile_not_linked' in err and 'HTTP 403' in err


def test_emulator_twenty_concurrent_gets_make_one_exchange(tmp_path, helper_path, emu):
    emu.inject_fault('metadata_iam_token', delay=1.0, count=1)
    host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=emu.metadata_url)
    procs = [host.start('get', 'us.icr.io') for _i in range(20)]
    results = [proc.communicate(stdin, timeout=120) + (proc.returncode,) for proc, stdin in procs]
    assert [code for _out, _err, code in results] == [0] * 20, results[0]
    assert emu.counters()['metadata_iam_token'] == 1


def test_emulator_metadata_failure_serves_the_valid_cache_then_an_expired_one_fails(tmp_path, helper_path, emu):
    host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=emu.metadata_url,
                retries=0)
    token = json.loads(host.run('get', 'us.icr.io')[1])['Secret']
    entry_path = next(host.cache.glob('vpc_trusted_profile-*.json'))
    entry = json.loads(entry_path.read_text())
    entry['issued_at'] = entry['expires_at'] - 100000
    entry_path.write_text(json.dumps(entry))
    emu.inject_fault('metadata_iam_token', status=500, count=5)
    code, out, err = host.run('get', 'us.icr.io')
    assert code == 0 and json.loads(out)['Secret'] == token and ': warning: could not refresh the token' in err
    entry['expires_at'] = int(time.time()) + 3
    entry_path.write_text(json.dumps(entry))
    code, out, err = host.run('get', 'us.icr.io')
    assert code == 1 and 'HTTP 500' in err and token not in out + err


def test_emulator_short_lived_tokens_are_refreshed_before_they_expire(tmp_path, helper_path, emu):
    emu.set_lifetimes(access_token_lifetime=30, outside_ibm_limits=True)
    host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=emu.metadata_url,
                refresh_share=0.9)
    first = json.loads(host.run('get', 'us.icr.io')[1])['Secret']
    assert json.loads(host.run('get', 'us.icr.io')[1])['Secret'] == first
    time.sleep(4)
    second = json.loads(host.run('get', 'us.icr.io')[1])['Secret']
    assert second != first and realm_pull(emu, second)[0] == 200
    assert emu.counters()['metadata_iam_token'] == 2


def test_emulator_compute_resource_token_file_is_read_again_after_rotation(tmp_path, helper_path, emu):
    token_file = tmp_path / 'sa-token'
    token_file.write_text(emu.cr_token('pod-1'))
    host = Host(tmp_path, helper_path, identity='compute_resource', iam_endpoint=emu.url, profile_id=READER,
                cr_token_file=str(token_file))
    code, out, err = host.run('get', 'icr.io')
    assert (code, err) == (0, '') and realm_pull(emu, json.loads(out)['Secret']) == (200, ['pull'])
    token_file.write_text(emu.rotate_cr_token('pod-1'))
    assert host.run('erase', 'icr.io')[0] == 0  # docker logout: the next get exchanges again
    code, out, err = host.run('get', 'icr.io')
    assert (code, err) == (0, '') and emu.counters()['iam_token_cr'] == 2
    assert_no_secret([emu.cr_token('pod-1')], out.replace(json.loads(out)['Secret'], ''), err, *host.cache_bytes())


def test_emulator_api_key_file_never_exposes_the_key(tmp_path, helper_path, emu):
    key = emu.apikey('svc-reader')
    key_file = tmp_path / 'apikey'
    key_file.write_text(key + '\n')
    key_file.chmod(0o600)
    host = Host(tmp_path, helper_path, identity='api_key_file', api_key_file=str(key_file), iam_endpoint=emu.url)
    runs = [host.run('get', 'us.icr.io'), host.run('get', 'us.icr.io'), host.run('list'), host.run('erase', 'us.icr.io')]
    assert [r[0] for r in runs] == [0, 0, 0, 0] and emu.counters()['iam_token_apikey'] == 1
    assert realm_pull(emu, json.loads(runs[0][1])['Secret']) == (200, ['pull'])
    emu.revoke('svc-reader')
    revoked = host.run('get', 'us.icr.io')
    assert revoked[0] == 1 and 'BXNIM0415E' in revoked[2]
    assert_no_secret([key], runs, revoked, *host.cache_bytes())


def test_emulator_metadata_slow_or_answering_garbage_fails_in_seconds_with_one_line(tmp_path, helper_path, emu):
    host = Host(tmp_path, helper_path, identity='vpc_trusted_profile', metadata_endpoint=emu.metadata_url, timeout=1,
                retries=2)
    emu.inject_fault('metadata_token', delay=20, count=1)
    start = time.monotonic()
    code, out, err = host.run('get', 'us.icr.io')
    assert code == 1 and time.monotonic() - start < 15 and err.count('\n') == 1
    assert 'vpc_trusted_profile: the VPC instance metadata service at' in err and 'did not answer within 1 seconds' in err
    emu.inject_fault('metadata_iam_token', status=200, body='malformed', count=1)
    code, out, err = host.run('get', 'us.icr.io')
    assert code == 1 and 'answered HTTP 200 with a body that is not a token answer' in err


@pytest.mark.needs_root
def test_emulator_two_users_on_one_host_have_separate_private_caches(tmp_path, emu):
    """Two real users run one root-owned helper with one configuration and no cache_dir: each gets a token into a cache
    of their own under their home (0700, files 0600, theirs), the other cannot read it, and a cache directory of another
    user named in one's own configuration is refused without showing what it holds."""
    from rel_support import shared_tmpdir, temporary_users
    shared = shared_tmpdir('icr-helper-two-users-')
    helper = shared / 'docker-credential-icr'
    helper.write_bytes(bundle('/usr/bin/python3'))
    helper.chmod(0o755)
    config = shared / 'credential-helper.json'
    config.write_text(json.dumps({'version': 1, 'identity': 'vpc_trusted_profile', 'metadata_endpoint': emu.metadata_url,
                                  'iam_endpoint': emu.url, 'registries': ['us.icr.io'], 'timeout': 5}))
    config.chmod(0o644)

    def get_as(user, config_path, host='us.icr.io'):
        argv = ['runuser', '-u', user.pw_name, '--', 'env', '-i', 'PATH=/usr/bin:/bin',
                'DOCKER_CREDENTIAL_ICR_CONFIG=' + str(config_path), str(helper), 'get']
        return subprocess.run(argv, input=host, capture_output=True, text=True, timeout=60, check=False, cwd='/')

    try:
        with temporary_users('icrtwo') as (alice, bob):
            tokens = {}
            for user in (alice, bob):
                done = get_as(user, config)
                assert done.returncode == 0, done.stderr
                tokens[user.pw_name] = json.loads(done.stdout)['Secret']
                cache = pathlib.Path(user.pw_dir) / '.cache' / 'docker-credential-icr'
                st = os.stat(str(cache))
                assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (user.pw_uid, 0o700)
                files = [p for p in cache.iterdir() if p.suffix == '.json']
                assert files and all(os.stat(str(p)).st_uid == user.pw_uid and stat.S_IMODE(os.stat(str(p)).st_mode) == 0o600
                                     for p in files)
            assert emu.counters()['metadata_iam_token'] == 2  # one exchange each: no cache is shared between users
            again = get_as(alice, config)
            assert json.loads(again.stdout)['Secret'] == tokens[alice.pw_name]
            assert emu.counters()['metadata_iam_token'] == 2
            alice_cache = pathlib.Path(alice.pw_dir) / '.cache' / 'docker-credential-icr'
            peek = subprocess.run(['runuser', '-u', bob.pw_name, '--', 'cat'] + [str(p) for p in alice_cache.iterdir()],
                                  capture_output=True, text=True, timeout=30, check=False)
            assert peek.returncode != 0 and tokens[alice.pw_name] not in peek.stdout
            # Bob names alice's cache in a configuration of his own: refused, and nothing of hers is printed.
            own = pathlib.Path(bob.pw_dir) / 'helper.json'
            own.write_text(json.dumps({'version': 1, 'identity': 'vpc_trusted_profile', 'metadata_endpoint': emu.metadata_url,
                                       'iam_endpoint': emu.url, 'registries': ['us.icr.io'], 'timeout': 5,
                                       'cache_dir': str(alice_cache)}))
            os.chown(str(own), bob.pw_uid, bob.pw_gid)
            stolen = get_as(bob, own)
            assert stolen.returncode != 0 or json.loads(stolen.stdout)['Secret'] != tokens[alice.pw_name]
            assert tokens[alice.pw_name] not in stolen.stdout + stolen.stderr
    finally:
        import shutil
        shutil.rmtree(str(shared), ignore_errors=True)
