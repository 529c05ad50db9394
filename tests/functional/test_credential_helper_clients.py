# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Real skopeo, podman and docker pull through docker-credential-icr, installed and configured by the collection.

The emulator is the IAM + ICR token realm of a real CNCF distribution registry, and the VPC instance metadata service
of the instance ``vsi-1`` (its default fixture: the trusted profile ``profile-reader`` has Reader on team-a,
``profile-nopolicy`` has no policy; both are linked to vsi-1). A real ansible-playbook run installs the helper into a
temp prefix with icr.auth.icr_credential_helper and names it with icr.auth.icr_login (method helper) in a Docker
config.json and a containers auth.json; the clients get only those files, the prefix on PATH and
DOCKER_CREDENTIAL_ICR_CONFIG. No client ever logs in, and no file holds a key or a token.
"""

from __future__ import annotations

import json
import os
import pathlib
import time

import pytest

from icr_infra import skopeo_pull
from playrunner import run_play
from real_fixtures import (  # noqa: F401  pylint: disable=unused-import
    authfile_env,
    build_fixture,
    client_env,
    dockerd,
    emu,
    images,
    isolated_env,
    podman,
    pulled_digest,
    realm,
    registry,
)

pytestmark = [pytest.mark.slow, pytest.mark.needs_root]

READER = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'    # profile-reader: Reader on team-a
NOPOLICY = 'Profile-3028434f-f369-427d-8c4d-edf5c75ee2c2'  # profile-nopolicy: no policy at all
INSTALL = 'install'


class Installed(object):
    """The helper in a prefix, its configuration, and the two client files that name it."""

    def __init__(self, base, run):
        base = pathlib.Path(base)
        self.base = base
        self.run = run
        self.exe = base / 'prefix' / 'bin' / 'docker-credential-icr'
        self.config = base / 'prefix' / 'etc' / 'credential-helper.json'
        self.docker_dir = base / 'docker'
        self.authfile = base / 'containers' / 'auth.json'

    def env(self, **extra):
        """What a client needs to find the helper: the prefix on PATH, and the configuration."""
        env = {'PATH': '%s:%s' % (self.exe.parent, os.environ.get('PATH', '/usr/bin:/bin')),
               'DOCKER_CREDENTIAL_ICR_CONFIG': str(self.config)}
        env.update(extra)
        return env


def helper_args(emu, registry, base, **kw):
    args = {'path': str(base / 'prefix' / 'bin' / 'docker-credential-icr'),
            'config_path': str(base / 'prefix' / 'etc' / 'credential-helper.json'),
            'identity': 'vpc_trusted_profile', 'trusted_profile': READER, 'registries': [registry.host],
            'metadata_endpoint': emu.metadata_url, 'iam_endpoint': emu.url, 'cache_dir': str(base / 'cache'),
            'timeout': 5.0, 'retries': 0}
    args.update(kw)
    return args


def install(tmp_path, emu, registry, name='helper', **kw):
    base = pathlib.Path(tmp_path) / name
    tasks = [{'name': INSTALL, 'icr.auth.icr_credential_helper': helper_args(emu, registry, base, **kw)}]
    for fmt, path in (('docker', base / 'docker' / 'config.json'), ('containers', base / 'containers' / 'auth.json')):
        tasks.append({'name': 'name it in ' + fmt, 'icr.auth.icr_login': {
            'method': 'helper', 'registries': [registry.host], 'format': fmt, 'config_path': str(path)}})
    run = run_play(base / 'play', tasks)
    assert run.rc == 0, run.text[-4000:]
    return Installed(base, run)


def check(tmp_path, emu, registry, name, **kw):
    base = pathlib.Path(tmp_path) / name
    args = helper_args(emu, registry, base, check=True, **kw)
    return run_play(base / 'play', [{'name': INSTALL, 'icr.auth.icr_credential_helper': args}])


def skopeo(installed, pushed, layout):
    return skopeo_pull(pushed.ref, str(layout), 'v1', env=client_env(str(installed.docker_dir), **installed.env()))


def test_skopeo_podman_and_docker_pull_through_the_helper(emu, registry, images, podman, dockerd, tmp_path):
    installed = install(tmp_path, emu, registry)
    pushed = images['team-a']
    for path in (installed.docker_dir / 'config.json', installed.authfile):
        assert json.loads(path.read_text()) == {'credHelpers': {registry.host: 'icr'}}

    pulled = skopeo(installed, pushed, tmp_path / 'skopeo')
    assert pulled.rc == 0, pulled.stderr
    assert pulled_digest(str(tmp_path / 'skopeo'), 'v1') == pushed.digest

    by_podman = podman.pull(pushed.ref, authfile=str(installed.authfile),
                            env=isolated_env(tmp_path, **installed.env()))
    assert by_podman.rc == 0, by_podman.stderr

    by_docker = dockerd.pull(pushed.ref, docker_config=str(installed.docker_dir),
                             env=isolated_env(tmp_path, **installed.env()))
    assert by_docker.rc == 0, by_docker.stderr
    dockerd.remove_image(pushed.ref)

    # Three clients, one identity: the metadata service and IAM were asked once; the token was served from the cache.
    counters = emu.counters()
    assert counters['metadata_iam_token'] == 1 and counters['metadata_token'] == 1, counters
    assert counters['registry_token_iambearer'] >= 3, counters


def test_a_token_that_expires_between_two_pulls_never_breaks_the_second(emu, registry, images, tmp_path):
    emu.set_lifetimes(access_token_lifetime=6, outside_ibm_limits=True)
    installed = install(tmp_path, emu, registry)
    first = skopeo(installed, images['team-a'], tmp_path / 'first')
    issued = time.time()
    assert first.rc == 0, first.stderr
    assert emu.counters()['metadata_iam_token'] == 1
    time.sleep(max(0.0, issued + 7 - time.time()))  # the token the cache holds has expired now
    second = skopeo(installed, images['team-a'], tmp_path / 'second')
    assert second.rc == 0, second.stderr
    assert emu.counters()['metadata_iam_token'] == 2, emu.counters()  # a new token, not the expired one


def test_a_profile_without_reader_is_refused_and_the_check_says_why(emu, registry, images, tmp_path):
    installed = install(tmp_path, emu, registry, trusted_profile=NOPOLICY)
    refused = skopeo(installed, images['team-a'], tmp_path / 'refused')
    assert refused.rc != 0 and ('denied' in refused.stderr or 'unauthorized' in refused.stderr), refused.stderr

    # The helper itself gets a token for the profile; the check asks the registry, and names what is missing.
    run = check(tmp_path, emu, registry, 'check-nopolicy', trusted_profile=NOPOLICY, check_access=['team-a/app:pull'])
    assert run.rc != 0, run.text[-3000:]
    result = run.result(INSTALL)['result']
    msg = ' '.join(result['msg'].split())
    assert 'vpc_trusted_profile (%s)' % NOPOLICY in msg and 'do not grant pull on team-a/app' in msg, msg
    assert 'Reader' in msg and registry.host in msg
    assert [c['ok'] for c in result['checks']] == [False]

    run = check(tmp_path, emu, registry, 'check-reader', check_access=['team-a/app:pull'])
    assert run.rc == 0, run.text[-3000:]
    assert [c['ok'] for c in run.result(INSTALL)['result']['checks']] == [True]


def test_the_check_reports_the_helpers_own_reason(emu, registry, tmp_path):
    """A profile the instance may not use: the helper's one-line error, naming the registry and the identity."""
    emu.set_instance('vsi-nodefault')
    run = check(tmp_path, emu, registry, 'check-unlinked')  # READER is not linked to vsi-nodefault
    assert run.rc != 0, run.text[-3000:]
    msg = run.result(INSTALL)['result']['msg']
    assert registry.host in msg and 'docker-credential-icr' in msg, msg
    assert len(run.result(INSTALL)['result']['checks'][0]['msg'].splitlines()) == 1


def role_play(tmp_path, emu, registry, profile, check_access):
    base = pathlib.Path(tmp_path)
    role_vars = {'docker_auth_method': 'helper', 'docker_auth_registries': [registry.host],
                 'docker_auth_trusted_profile': profile, 'docker_auth_metadata_endpoint': emu.metadata_url,
                 'docker_auth_iam_endpoint': emu.url, 'docker_auth_helper_check': True,
                 'docker_auth_verify_access': check_access,
                 'docker_auth_helper_path': str(base / 'prefix' / 'bin' / 'docker-credential-icr'),
                 'docker_auth_helper_config_path': str(base / 'prefix' / 'etc' / 'credential-helper.json'),
                 'docker_auth_helper_cache_dir': str(base / 'cache'),
                 'docker_auth_config_path': str(base / 'docker' / 'config.json')}
    task = {'name': 'role', 'ansible.builtin.include_role': {'name': 'icr.auth.docker_auth'}, 'vars': role_vars}
    return run_play(base / 'play', [task])


def test_the_role_checks_every_users_access_before_naming_the_helper(emu, registry, images, tmp_path):
    refused = role_play(tmp_path / 'nopolicy', emu, registry, NOPOLICY, ['team-a/app:pull'])
    assert refused.rc != 0, refused.text[-3000:]
    text = ' '.join(refused.text.split())
    assert 'do not grant pull on team-a/app' in text and NOPOLICY in text, refused.text[-3000:]
    assert not (tmp_path / 'nopolicy' / 'docker' / 'config.json').exists()  # no user's file names a helper that fails

    granted = role_play(tmp_path / 'reader', emu, registry, READER, ['team-a/app:pull'])
    assert granted.rc == 0, granted.text[-3000:]
    installed = Installed(tmp_path / 'reader', granted)
    pulled = skopeo(installed, images['team-a'], tmp_path / 'pulled')
    assert pulled.rc == 0, pulled.stderr
    again = role_play(tmp_path / 'reader', emu, registry, READER, ['team-a/app:pull'])
    assert again.rc == 0 and [r['task'] for r in again.records if r['result'].get('changed')] == [], again.text[-3000:]


def test_twenty_concurrent_pulls_make_one_metadata_and_iam_exchange(emu, registry, images, tmp_path):
    """20 skopeo processes pull at once through the helper, with an empty cache: the helper's lock lets one of them
    ask the metadata service and IAM, and the 19 others are served that token."""
    import concurrent.futures
    installed = install(tmp_path, emu, registry)
    before = emu.counters()
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        pulls = list(pool.map(lambda n: skopeo(installed, images['team-a'], tmp_path / ('pull-%02d' % n)), range(20)))
    failed = [p.stderr[-500:] for p in pulls if p.rc != 0]
    assert not failed, failed[:3]
    counters = emu.counters()
    assert counters['metadata_iam_token'] - before['metadata_iam_token'] == 1, counters
    assert counters['metadata_token'] - before['metadata_token'] == 1, counters
    assert counters['registry_token_iambearer'] - before['registry_token_iambearer'] >= 20, counters
