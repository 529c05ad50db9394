# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every credential icr_login writes, used by REAL clients: skopeo, podman, and the docker CLI with a test-owned dockerd.

The emulator is the IAM + ICR token realm of a real CNCF distribution registry (auth: token). icr_credential runs on
localhost, icr_login writes the file in a real ansible-playbook run, and the clients get only that file (DOCKER_CONFIG,
REGISTRY_AUTH_FILE or --authfile): no client ever logs in.
"""

from __future__ import annotations

import base64
import json
import pathlib
import stat

import pytest
import trustme

import emu_variants
from emu_fixture import started_emulator, tls_ca  # noqa: F401  pylint: disable=unused-import
from icr_infra import Registry, skopeo_inspect, skopeo_pull, skopeo_push, write_oci_layout
from playrunner import run_play
from secret_scan import assert_no_secret
from real_fixtures import (  # noqa: F401  pylint: disable=unused-import
    FORMATS,
    ISSUER,
    RETRIES,
    TYPES,
    ArgvSampler,
    authfile_env,
    build_fixture,
    client_env,
    credential_task,
    dockerd,
    emu,
    images,
    isolated_env,
    login_task,
    on_host,
    podman,
    pulled_digest,
    realm,
    registry,
    target,
    write_credential,
)

pytestmark = [pytest.mark.slow, pytest.mark.needs_root]

DENIED = 'denied: requested access to the resource is denied'
BAD_CREDENTIAL_SKOPEO = {400: 'Requesting bearer token: invalid status code from registry 400 (Bad Request)',
                         401: 'invalid username/password: unauthorized: The login credentials are not valid'}
BAD_CREDENTIAL_DOCKER = 'unauthorized: The login credentials are not valid, or your IBM Cloud account is not active.'
# What a client says when the registry refuses an action, by where the variant refuses it.
REFUSED = {'scope': (DENIED,), 'realm-401': ('401', 'nauthorized'), 'realm-403': ('403', 'denied', 'Forbidden')}


def refused(variant, text):
    """Whether a client's output says it was refused, the way the variant refuses."""
    return any(word in text for word in REFUSED[emu_variants.VARIANTS[variant]['denial']])


# No bundle from the environment (REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE) for the play: the TLS tests choose the CA.
NO_ENV_BUNDLE = {'REQUESTS_CA_BUNDLE': '', 'CURL_CA_BUNDLE': ''}


def podman_digest(podman, ref):
    return podman.run(['image', 'inspect', '--format', '{{.Digest}}', ref]).stdout.strip()


def docker_repo_digests(dockerd, ref):
    result = dockerd.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref])
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def registry_token_calls(emu, kind):
    return emu.counters()['registry_token_' + kind]


# ------------------------------------------------------------------------------------------ the matrix


@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('kind', TYPES)
def test_writer_credential_pushes_and_every_client_pulls(emu, registry, dockerd, podman, tmp_path, kind, fmt):
    host = registry.host
    login = write_credential(tmp_path, emu, host, 'svc-writer', kind, fmt,
                             cred_extra={'verify_access': ['team-a/app:pull,push']})
    result = login.run.result('login')['result']
    assert result['changed'] is True and result['registries'] == {host: 'added'}
    assert result['files'][0]['format'] == fmt and result['files'][0]['stored_in'] == {host: 'file'}
    assert result['config_path'] == str(login.path)
    assert emu.counters()['iam_token'] == 1  # one exchange (iamapikey: the identity lookup of the verification)
    assert list(json.loads(login.path.read_text())['auths']) == [host]
    assert stat.S_IMODE(login.path.stat().st_mode) == 0o600
    username, secret = login.entry()
    assert username == kind
    assert (secret == login.key) if kind == 'iamapikey' else (secret != login.key and len(secret) > 20)

    # Docker's config.json is found through DOCKER_CONFIG alone; a containers auth.json through REGISTRY_AUTH_FILE.
    env = client_env(login.dir) if fmt == 'docker' else authfile_env(login.path)
    calls = registry_token_calls(emu, kind)
    layout = str(tmp_path / 'oci')
    digest = write_oci_layout(layout, 'v1', content=('pushed with %s in %s format\n' % (kind, fmt)).encode())
    ref = '%s/team-a/app:%s-%s' % (host, kind, fmt)

    pushed = skopeo_push(layout, 'v1', ref, env=env)
    assert pushed.rc == 0, pushed.stderr
    back = str(tmp_path / 'pulled')
    pulled = skopeo_pull(ref, back, 'v1', env=env)
    assert pulled.rc == 0, pulled.stderr
    assert pulled_digest(back, 'v1') == digest

    if fmt == 'docker':
        by_podman = podman.pull(ref, env=env)
    else:
        by_podman = podman.pull(ref, authfile=str(login.path), env=isolated_env(tmp_path))
    assert by_podman.rc == 0, by_podman.stderr
    assert podman_digest(podman, ref) == digest

    if fmt == 'docker':
        by_docker = dockerd.pull(ref, docker_config=login.dir)
        assert by_docker.rc == 0, by_docker.stderr
        assert '%s/team-a/app@%s' % (host, digest) in docker_repo_digests(dockerd, ref)

    # Every client went to the realm with this username type: push, pull, podman (and docker).
    assert registry_token_calls(emu, kind) - calls >= (4 if fmt == 'docker' else 3)
    for other in set(TYPES) - {kind}:
        assert registry_token_calls(emu, other) == 0
    assert_no_secret(login.secrets(), pushed.output, pulled.output, by_podman.output)


# ------------------------------------------------------------------------------------------ policies


@pytest.mark.parametrize('variant,kind', emu_variants.with_types(), ids=emu_variants.pair_ids())
def test_reader_pulls_team_a_but_may_not_push_or_read_team_b(emu, registry, dockerd, podman, images, tmp_path, variant, kind):
    host = target(emu, registry, variant)
    reader = write_credential(tmp_path, emu, host, 'svc-reader', kind, 'docker',
                              cred_extra={'verify_access': ['team-a/app:pull']})
    env = client_env(reader.dir)
    team_a, team_b = on_host(host, images['team-a']), on_host(host, images['team-b'])

    # Pull from team-a: skopeo, podman, docker.
    pulled = skopeo_pull(team_a, str(tmp_path / 'pulled'), 'base', env=env)
    assert pulled.rc == 0, pulled.stderr
    assert pulled_digest(str(tmp_path / 'pulled'), 'base') == images['team-a'].digest
    by_podman = podman.pull(team_a, env=env)
    assert by_podman.rc == 0, by_podman.stderr
    by_docker = dockerd.pull(team_a, docker_config=reader.dir)
    assert by_docker.rc == 0, by_docker.stderr

    # Push to team-a is refused by the registry, with skopeo and with docker; nothing lands there.
    layout = str(tmp_path / 'oci')
    write_oci_layout(layout, 'v1', content=('reader %s tries to push\n' % kind).encode())
    target_ref = '%s/team-a/app:by-reader-%s-%s' % (host, variant, kind)
    push = skopeo_push(layout, 'v1', target_ref, env=env)
    assert push.rc != 0 and refused(variant, push.stderr), push.stderr
    missing = skopeo_inspect(target_ref, env=env)
    assert missing.rc != 0 and 'manifest unknown' in missing.stderr, missing.stderr
    assert dockerd.docker(['tag', team_a, target_ref]).rc == 0
    docker_push = dockerd.docker(['push', target_ref], docker_config=reader.dir)
    assert docker_push.rc != 0 and refused(variant, docker_push.output), docker_push.output

    # team-b (another account's namespace, where an image exists) is refused to pull.
    other = skopeo_pull(team_b, str(tmp_path / 'team-b'), 'base', env=env)
    assert other.rc != 0 and refused(variant, other.stderr), other.stderr
    other_docker = dockerd.pull(team_b, docker_config=reader.dir)
    assert other_docker.rc != 0 and ('pull access denied' in other_docker.stderr or refused(variant, other_docker.stderr)), \
        other_docker.stderr
    assert not dockerd.image_exists(team_b)


@pytest.mark.parametrize('variant', emu_variants.NAMES)
def test_writer_pushes_only_to_its_own_namespace(emu, registry, images, tmp_path, variant):
    host = target(emu, registry, variant)
    writer = write_credential(tmp_path, emu, host, 'svc-writer', 'iamapikey', 'docker',
                              cred_extra={'verify_access': ['team-a/app:pull,push']})
    env = client_env(writer.dir)
    layout = str(tmp_path / 'oci')
    write_oci_layout(layout, 'v1', content=('svc-writer pushes under %s\n' % variant).encode())
    ok = skopeo_push(layout, 'v1', '%s/team-a/app:writer-own-%s' % (host, variant), env=env)
    assert ok.rc == 0, ok.stderr
    refused_push = skopeo_push(layout, 'v1', '%s/team-b/app:writer-foreign-%s' % (host, variant), env=env)
    assert refused_push.rc != 0 and refused(variant, refused_push.stderr), refused_push.stderr
    foreign = skopeo_pull(on_host(host, images['team-b']), str(tmp_path / 'team-b'), 'base', env=env)
    assert foreign.rc != 0 and refused(variant, foreign.stderr), foreign.stderr
    # icr_credential says the same before anything is written.
    task = dict(credential_task(emu.url, [host], 'iamapikey', cache_dir=str(tmp_path / 'cache'),
                                verify_access=['team-b/app:push']), no_log=False)
    run = run_play(tmp_path / 'verify', [task], secret_vars={'key': emu.apikey('svc-writer')})
    assert run.rc != 0 and 'do not grant push on team-b/app' in run.result('credential')['result']['msg']


# ------------------------------------------------------------------------------------------ revocation


@pytest.mark.parametrize('variant,kind', emu_variants.with_types(), ids=emu_variants.pair_ids())
def test_revoked_key_fails_validation_and_keeps_the_entry(emu, registry, dockerd, images, tmp_path, variant, kind):
    host = target(emu, registry, variant)
    status = emu_variants.VARIANTS[variant]['bad_credential_status']
    first = write_credential(tmp_path, emu, host, 'svc-revokable', kind, 'docker', login_extra={'validate': True})
    env = client_env(first.dir)
    ref = on_host(host, images['team-a'])
    works = skopeo_inspect(ref, env=env)
    assert works.rc == 0, works.stderr
    before = first.path.read_bytes()

    emu.revoke('svc-revokable')
    # The same login again, the exchange done by icr_login itself, validated against the registry.
    again = {'name': 'again', 'icr.auth.icr_login': {
        'registries': [host], 'api_key': '{{ key }}', 'username_type': kind, 'iam_endpoint': emu.url,
        'config_path': str(first.path), 'validate': True, 'retries': RETRIES, 'timeout': 10}}
    run = run_play(tmp_path / 'again', [again], secret_vars={'key': first.key})
    assert run.rc != 0
    msg = run.result('again')['result']['msg']
    if kind == 'iamapikey':
        assert 'refused the iamapikey credential (HTTP %d' % status in msg and 'Nothing was written' in msg, msg
    else:
        assert 'BXNIM0415E' in msg and 'deleted or revoked' in msg, msg
    assert first.path.read_bytes() == before
    assert_no_secret(first.secrets(), run.text)

    if kind == 'iamrefresh':
        # The stale refresh token itself, validated before it is written again: refused, the file untouched.
        stale = {'name': 'stale', 'icr.auth.icr_login': {
            'registries': [host], 'username_type': 'iamrefresh', 'password': '{{ stale }}', 'config_path': str(first.path),
            'validate': True, 'reauthorize': True, 'retries': RETRIES, 'timeout': 10}}
        run = run_play(tmp_path / 'stale', [stale], secret_vars={'stale': first.entry()[1]})
        assert run.rc != 0
        msg = run.result('stale')['result']['msg']
        assert 'refused the iamrefresh credential (HTTP %d' % status in msg and 'Nothing was written' in msg, msg
        assert first.path.read_bytes() == before
        assert_no_secret(first.secrets(), run.text)

    # What a user sees with the stale entry.
    pulled = skopeo_pull(ref, str(tmp_path / 'pulled'), 'base', env=env)
    by_docker = dockerd.pull(ref, docker_config=first.dir)
    if kind == 'iambearer':
        # An access token already issued stays valid until it expires (a JWT): revoking the key stops new exchanges.
        assert pulled.rc == 0, pulled.stderr
        assert by_docker.rc == 0, by_docker.stderr
    else:
        assert pulled.rc != 0 and BAD_CREDENTIAL_SKOPEO[status] in pulled.stderr, pulled.stderr
        assert by_docker.rc != 0 and BAD_CREDENTIAL_DOCKER in by_docker.stderr, by_docker.stderr


# ------------------------------------------------------------------------------------------ TLS


@pytest.fixture(scope='module')
def tls_realm(tls_ca, tmp_path_factory):
    """The emulator over HTTPS (IAM and the token realm), its certificate from the test CA, this module's fixture."""
    with started_emulator(tmp_path_factory.mktemp('emu-tls'), tls_ca, fixture=build_fixture()) as started:
        yield started


@pytest.fixture()
def tls_emu(tls_realm):
    tls_realm.reset()
    yield tls_realm
    tls_realm.reset()


@pytest.fixture(scope='module')
def tls_registry(tls_realm, tls_ca):
    with Registry(tls_realm.url + '/oauth/token', ISSUER, tls_realm.registry_cert_path, tls=tls_ca) as reg:
        yield reg


@pytest.fixture(scope='module')
def wrong_ca(tmp_path_factory):
    path = tmp_path_factory.mktemp('wrong-ca') / 'other-ca.pem'
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def handshake_errors(registry):
    return registry.log_text().count('TLS handshake error')


@pytest.mark.parametrize('kind', TYPES)
def test_tls_ca_path_reaches_iam_registry_and_realm(tls_emu, tls_registry, dockerd, podman, tmp_path, kind):
    host = tls_registry.host
    ca = tls_registry.ca_pem_path
    assert tls_emu.url.startswith('https://') and tls_registry.url.startswith('https://')
    login = write_credential(tmp_path, tls_emu, host, 'svc-writer', kind, 'docker', env=NO_ENV_BUNDLE,
                             cred_extra={'ca_path': ca, 'verify_access': ['team-a/app:pull,push']},
                             login_extra={'ca_path': ca, 'validate': True})
    verification = login.run.result('login')['result']['verification'][host]
    assert verification['ok'] is True and verification['status'] == 200, verification
    counters = tls_emu.counters()
    # IAM over HTTPS (1 exchange); the realm over HTTPS twice (icr_credential's check, icr_login's validate); the
    # registry's /v2/ over HTTPS, else its challenge would not have led to the realm.
    assert counters['iam_token'] == 1 and counters['registry_token'] == 2, counters

    env = client_env(login.dir)
    layout = str(tmp_path / 'oci')
    digest = write_oci_layout(layout, 'v1', content=('over TLS with %s\n' % kind).encode())
    ref = '%s/team-a/app:tls-%s' % (host, kind)
    pushed = skopeo_push(layout, 'v1', ref, env=env, cert_dir=tls_registry.cert_dir)  # verifies the server
    assert pushed.rc == 0, pushed.stderr
    pulled = skopeo_pull(ref, str(tmp_path / 'pulled'), 'v1', env=env, cert_dir=tls_registry.cert_dir)
    assert pulled.rc == 0 and pulled_digest(str(tmp_path / 'pulled'), 'v1') == digest, pulled.stderr
    by_podman = podman.pull(ref, env=env, cert_dir=tls_registry.cert_dir)
    assert by_podman.rc == 0 and podman_digest(podman, ref) == digest, by_podman.stderr
    # The registry really is TLS with a CA nobody trusts by default.
    unverified = skopeo_inspect(ref, env=env, tls_verify=True)
    assert unverified.rc != 0 and 'x509: certificate signed by unknown authority' in unverified.stderr, unverified.stderr
    # dockerd treats loopback registries as insecure (no verification), but it uses the same file over HTTPS.
    by_docker = dockerd.pull(ref, docker_config=login.dir)
    assert by_docker.rc == 0, by_docker.stderr


@pytest.mark.parametrize('which', ['no-ca_path', 'wrong-ca_path'])
def test_tls_iam_without_the_right_ca_fails_clearly(tls_emu, tls_registry, wrong_ca, tmp_path, which):
    extra = {'ca_path': wrong_ca} if which == 'wrong-ca_path' else {}
    task = dict(credential_task(tls_emu.url, [tls_registry.host], 'iambearer', cache_dir=str(tmp_path / 'cache'), **extra),
                no_log=False)
    run = run_play(tmp_path, [task], secret_vars={'key': tls_emu.apikey('svc-writer')}, env=NO_ENV_BUNDLE)
    assert run.rc != 0
    msg = run.result('credential')['result']['msg']
    assert 'TLS verification of IBM Cloud IAM at %s/identity/token failed' % tls_emu.url in msg, msg
    assert 'certificate verify failed' in msg, msg
    if which == 'wrong-ca_path':
        assert 'check that ca_path (%s) holds the CA' % wrong_ca in msg, msg
    else:
        assert 'give ca_path with the CA' in msg, msg
    assert tls_emu.counters()['iam_token'] == 0  # no request got through the handshake
    assert_no_secret({tls_emu.apikey('svc-writer')}, run.text)


@pytest.mark.parametrize('which', ['no-ca_path', 'wrong-ca_path'])
def test_tls_registry_without_the_right_ca_fails_clearly(tls_emu, tls_registry, wrong_ca, tmp_path, which):
    path = tmp_path / 'config.json'
    args = {'registries': [tls_registry.host], 'password': '{{ key }}', 'config_path': str(path), 'validate': True,
            'retries': RETRIES, 'timeout': 10}
    if which == 'wrong-ca_path':
        args['ca_path'] = wrong_ca
    run = run_play(tmp_path, [{'name': 'login', 'icr.auth.icr_login': args}],
                   secret_vars={'key': tls_emu.apikey('svc-writer')}, env=NO_ENV_BUNDLE)
    assert run.rc != 0 and not path.exists()
    msg = run.result('login')['result']['msg']
    assert 'TLS verification of the registry at https://%s/v2/ failed' % tls_registry.host in msg, msg
    assert 'ca_path' in msg, msg


def test_tls_ca_path_wins_over_a_ca_bundle_from_the_environment(tls_emu, tls_registry, tmp_path):
    host = tls_registry.host
    ca = tls_registry.ca_pem_path
    system_bundle = {'REQUESTS_CA_BUNDLE': '/etc/ssl/certs/ca-certificates.crt', 'CURL_CA_BUNDLE': ''}
    task = dict(credential_task(tls_emu.url, [host], 'iambearer', cache_dir=str(tmp_path / 'cache'), ca_path=ca),
                no_log=False)
    run = run_play(tmp_path, [task], secret_vars={'key': tls_emu.apikey('svc-writer')}, env=system_bundle)
    assert run.rc == 0, run.result('credential')['result'].get('msg')
    assert run.result('credential')['result']['verification'][host]['ok'] is True


def test_tls_verification_failure_is_not_retried(tls_emu, tls_registry, wrong_ca, tmp_path):
    args = {'registries': [tls_registry.host], 'password': '{{ key }}', 'config_path': str(tmp_path / 'config.json'),
            'validate': True, 'ca_path': wrong_ca, 'retries': 2, 'timeout': 10}
    before = handshake_errors(tls_registry)
    run = run_play(tmp_path, [{'name': 'login', 'icr.auth.icr_login': args}],
                   secret_vars={'key': tls_emu.apikey('svc-writer')}, env=NO_ENV_BUNDLE)
    assert run.rc != 0
    assert handshake_errors(tls_registry) - before == 1


# ------------------------------------------------------------------------------------------ private endpoints


def test_private_endpoint_writes_the_private_hosts(emu, tmp_path):
    path = tmp_path / 'auth.json'
    task = {'name': 'login', 'icr.auth.icr_login': {
        'regions': ['us-south', 'global', 'eu-de'], 'private_endpoint': True, 'password': '{{ key }}',
        'config_path': str(path), 'format': 'containers'}}
    run = run_play(tmp_path, [task], secret_vars={'key': emu.apikey('svc-reader')})
    assert run.rc == 0, run.text[-3000:]
    hosts = ['private.us.icr.io', 'private.icr.io', 'private.de.icr.io']
    assert run.result('login')['result']['registries'] == dict((h, 'added') for h in hosts)
    assert sorted(json.loads(path.read_text())['auths']) == sorted(hosts)
    assert emu.counters()['iam_token'] == 0 and emu.counters()['registry_token'] == 0


# ------------------------------------------------------------------------------------------ no secret anywhere


@pytest.mark.parametrize('kind', TYPES)
def test_no_secret_in_any_output_or_process_argument(emu, registry, dockerd, podman, tmp_path, kind):
    host = registry.host
    outputs = []
    with ArgvSampler() as sampler:
        login = write_credential(tmp_path, emu, host, 'svc-writer', kind, 'docker', args=['-vvvv', '--diff'],
                                 login_extra={'validate': True})
        outputs += [login.run.stdout, login.run.stderr, json.dumps(login.run.records)]
        env = client_env(login.dir)
        layout = str(tmp_path / 'oci')
        write_oci_layout(layout, 'v1', content=('secret scan %s\n' % kind).encode())
        ref = '%s/team-a/app:scan-%s' % (host, kind)
        for result in (skopeo_push(layout, 'v1', ref, env=env),
                       skopeo_pull(ref, str(tmp_path / 'pulled'), 'v1', env=env),
                       podman.pull(ref, env=env),
                       dockerd.pull(ref, docker_config=login.dir)):
            assert result.rc == 0, result.stderr
            outputs += [result.stdout, result.stderr]
    values = login.secrets()
    assert len(values) == (2 if kind == 'iamapikey' else 3)  # key, base64 auth (and the token)
    assert 'sha256:' in login.run.stdout  # the --diff shows a fingerprint instead
    outputs += [registry.log_text(), pathlib.Path(dockerd.log_path).read_text(errors='replace')]
    assert_no_secret(values, *outputs)
    # The processes seen while the play and the clients ran: ansible's and the clients' own, none with a secret.
    assert sampler.rounds > 0
    assert any('ansible-playbook' in argv and str(tmp_path) in argv for argv in sampler.seen)
    assert any('AnsiballZ_icr_' in argv for argv in sampler.seen)
    assert_no_secret(values, *sampler.seen)


# ------------------------------------------------------------------------------------------ trusted-profile login

PROFILE = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'  # profile-reader: Reader on team-a, trusts svc-other-account


def test_trusted_profile_login_lets_skopeo_pull_across_accounts(emu, registry, images, tmp_path):
    """The key of a service ID of another account, written as the profile, pulls team-a with the profile's access."""
    host = registry.host
    key = emu.apikey('svc-other-account')
    path = tmp_path / 'login' / 'docker' / 'config.json'
    tasks = [
        credential_task(emu.url, [host], 'trusted_profile', trusted_profile_id=PROFILE, verify_access=['team-a/app:pull'],
                        cache=False),
        login_task([host], path, username_type='{{ icr.username_type }}', trusted_profile_id='{{ icr.username }}'),
    ]
    run = run_play(tmp_path / 'play', tasks, secret_vars={'key': key}, args=['-vvvv', '--diff'])
    assert run.rc == 0, run.text[-4000:]
    assert base64.b64decode(json.loads(path.read_text())['auths'][host]['auth']).decode() == f'{PROFILE}:{key}'
    env = client_env(path.parent)
    calls = registry_token_calls(emu, 'profile')
    pulled = skopeo_pull(on_host(host, images['team-a']), str(tmp_path / 'pulled'), 'base', env=env)
    assert pulled.rc == 0, pulled.stderr
    assert pulled_digest(str(tmp_path / 'pulled'), 'base') == images['team-a'].digest
    assert registry_token_calls(emu, 'profile') > calls
    # The profile has no access to team-b, whatever the service ID may do in its own account.
    other = skopeo_pull(on_host(host, images['team-b']), str(tmp_path / 'team-b'), 'base', env=env)
    assert other.rc != 0
    assert_no_secret([key], run.stdout, run.stderr, run.records, pulled.output, other.output)


def test_namespace_scoped_entries_give_one_host_two_identities(emu, registry, podman, images, tmp_path):
    """containers auth.json: the whole host as svc-nopolicy (no access), registry/team-a as svc-reader. skopeo and podman
    pull team-a with the scoped entry (the longest prefix) and are refused team-b; the same ask in Docker's format is
    refused before anything is written."""
    host = registry.host
    path = tmp_path / 'login' / 'containers' / 'auth.json'
    nopolicy, reader = emu.apikey('svc-nopolicy'), emu.apikey('svc-reader')
    tasks = [
        {'name': 'host', 'icr.auth.icr_login': {'registries': [host], 'password': '{{ nopolicy }}',
                                                'config_path': str(path), 'format': 'containers'}},
        {'name': 'scoped', 'icr.auth.icr_login': {'registries': [host], 'namespaces': ['team-a'],
                                                  'password': '{{ reader }}', 'config_path': str(path),
                                                  'format': 'containers', 'validate': True, 'iam_endpoint': emu.url,
                                                  'retries': RETRIES, 'timeout': 10}},
    ]
    run = run_play(tmp_path / 'play', tasks, secret_vars={'nopolicy': nopolicy, 'reader': reader}, args=['-vvvv', '--diff'])
    assert run.rc == 0, run.text[-4000:]
    assert run.result('scoped')['result']['registries'] == {host + '/team-a': 'added'}
    auths = json.loads(path.read_text())['auths']
    assert sorted(auths) == [host, host + '/team-a']
    assert base64.b64decode(auths[host + '/team-a']['auth']).decode() == 'iamapikey:' + reader
    env = authfile_env(path)
    team_a = on_host(host, images['team-a'])
    pulled = skopeo_pull(team_a, str(tmp_path / 'pulled'), 'base', env=env)
    assert pulled.rc == 0, pulled.stderr
    assert pulled_digest(str(tmp_path / 'pulled'), 'base') == images['team-a'].digest
    by_podman = podman.pull(team_a, authfile=str(path), env=isolated_env(tmp_path))
    assert by_podman.rc == 0, by_podman.stderr
    refused = skopeo_pull(on_host(host, images['team-b']), str(tmp_path / 'team-b'), 'base', env=env)
    assert refused.rc != 0
    # Without the scoped entry, the whole-host identity (no policy) cannot pull team-a: the entry is what made it work.
    del auths[host + '/team-a']
    bare = tmp_path / 'bare' / 'auth.json'
    bare.parent.mkdir()
    bare.write_text(json.dumps({'auths': auths}))
    assert skopeo_pull(team_a, str(tmp_path / 'bare-pull'), 'base', env=authfile_env(bare)).rc != 0
    # Docker matches hosts only: the scoped entry in config.json is refused, and the file is not written.
    docker_path = tmp_path / 'docker' / 'config.json'
    docker = run_play(tmp_path / 'docker-play', [{'name': 'scoped', 'icr.auth.icr_login': {
        'registries': [host + '/team-a'], 'password': '{{ reader }}', 'config_path': str(docker_path)}}],
        secret_vars={'reader': reader})
    assert docker.rc != 0 and "Docker's config.json matches credentials by registry host only" in docker.text
    assert not docker_path.exists()
    assert_no_secret([nopolicy, reader], run.stdout, run.stderr, run.records, docker.stdout, docker.stderr)
