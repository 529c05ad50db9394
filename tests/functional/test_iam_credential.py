# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_credential and icr_login against the IAM + ICR token emulator, over real HTTP, in real ansible-playbook runs."""

from __future__ import annotations

import base64
import json
import re

import pytest
import requests

import emu_variants
from emu_fixture import emu, emu_host, iam_calls, module_emu  # noqa: F401  pylint: disable=unused-import
from playrunner import run_play
from secret_scan import assert_no_secret

TYPES = ['iamapikey', 'iambearer', 'iamrefresh']


def credential_task(emu, **args):
    base = {'api_key': '{{ key }}', 'iam_endpoint': emu.url, 'registries': [emu_host(emu)], 'retries': 2, 'timeout': 5}
    base.update(args)
    return {'name': 'credential', 'icr.auth.icr_credential': base, 'register': 'icr', 'no_log': True}


def login_task(path, **args):
    base = {'registries': ['{{ registry }}'], 'username_type': '{{ icr.username }}', 'password': '{{ icr.password }}',
            'config_path': str(path)}
    base.update(args)
    return {'name': 'login', 'icr.auth.icr_login': base}


def realm_status(emu, path, scope='repository:team-a/app:pull'):
    """What the emulator's token realm says to the credential stored in a config file, as a client would send it."""
    entry = json.loads(path.read_text())['auths'][emu_host(emu)]
    headers = {'Authorization': 'Basic ' + entry['auth']}
    answer = requests.get(emu.url + '/oauth/token', params={'service': 'registry', 'scope': scope}, headers=headers, timeout=10)
    return answer.status_code, answer.json()


@pytest.mark.parametrize('kind', TYPES)
def test_each_username_type_end_to_end_then_cached(emu, tmp_path, kind):
    key = emu.apikey('svc-reader')
    path = tmp_path / 'docker' / 'config.json'
    tasks = [credential_task(emu, username_type=kind, verify_access=['team-a/app:pull']), login_task(path)]
    first = run_play(tmp_path, tasks, play_vars={'registry': emu_host(emu)}, secret_vars={'key': key})
    assert first.rc == 0, first.text[-3000:]
    assert first.result('login')['result']['changed'] is True
    assert iam_calls(emu) == 1
    status, body = realm_status(emu, path)
    assert status == 200 and body['token']
    # A rerun inside validity: no IAM call, nothing changes.
    second = run_play(tmp_path, tasks, play_vars={'registry': emu_host(emu)}, secret_vars={'key': key})
    assert second.rc == 0, second.text[-3000:]
    assert second.result('login')['result']['changed'] is False
    assert iam_calls(emu) == 1  # the first run's exchange only: the rerun used the controller cache
    assert_no_secret([key], first.text, second.text)


def test_iamapikey_without_verification_makes_no_call(emu, tmp_path):
    run = run_play(tmp_path, [credential_task(emu, registries=[])], secret_vars={'key': emu.apikey('svc-reader')})
    assert run.rc == 0 and iam_calls(emu) == 0 and emu.counters()['registry_token'] == 0


@pytest.mark.parametrize('variant', ['documented', 'opaque-401'])
@pytest.mark.parametrize('name', ['svc-deleted', None])
def test_unknown_or_deleted_key_fails_clearly(emu, tmp_path, name, variant):
    """IAM's BXNIM0415E, with the 400 of IBM's SDK fixture or a 401, and with an errorDetails that quotes the key."""
    emu_variants.apply(emu, variant, echo_error_details=True)
    key = emu.apikey(name) if name else 'NoSuchKeyNoSuchKeyNoSuchKeyNoSuchKeyNoSuch_1'
    run = run_play(tmp_path, [dict(credential_task(emu, username_type='iambearer'), no_log=False)], secret_vars={'key': key})
    assert run.rc != 0
    msg = run.result('credential')['result']['msg']
    assert 'BXNIM0415E' in msg and 'deleted or revoked' in msg
    assert 'IAM answered HTTP %d' % emu_variants.VARIANTS[variant]['bad_credential_status'] in msg
    assert_no_secret([key], run.text)


def test_key_revoked_after_first_run_fails_on_validate_and_keeps_old_entry(emu, tmp_path):
    key = emu.apikey('svc-reader')
    path = tmp_path / 'config.json'
    host = emu_host(emu)
    write = {'name': 'write', 'icr.auth.icr_login': {'registries': [host], 'password': '{{ key }}', 'config_path': str(path),
                                                     'validate': True, 'reauthorize': True}}
    assert run_play(tmp_path, [write], secret_vars={'key': key}).rc == 0
    before = path.read_bytes()
    emu.revoke('svc-reader')
    run = run_play(tmp_path, [write], secret_vars={'key': key})
    assert run.rc != 0
    msg = run.result('write')['result']['msg']
    assert 'refused the iamapikey credential' in msg and 'Nothing was written' in msg
    assert path.read_bytes() == before
    assert_no_secret([key], run.text)


@pytest.mark.parametrize('retry_after,form', [(0, 'seconds'), (0.5, 'seconds'), (1, 'http-date'), (1, 'malformed')],
                         ids=['zero', 'fraction', 'http-date', 'malformed'])
def test_rate_limit_then_success_is_retried(emu, tmp_path, retry_after, form):
    """Any Retry-After, readable or not, is a reason to wait and try again, never to fail the task."""
    emu.inject_fault('iam_token', status=429, count=2, retry_after=retry_after, retry_after_form=form)
    run = run_play(tmp_path, [credential_task(emu, username_type='iambearer')], secret_vars={'key': emu.apikey('svc-reader')})
    assert run.rc == 0, run.text[-2000:]
    assert iam_calls(emu) == 3


def test_server_errors_until_retries_are_exhausted(emu, tmp_path):
    emu.inject_fault('iam_token', status=500, count=10)
    task = dict(credential_task(emu, username_type='iambearer', retries=2), no_log=False)
    run = run_play(tmp_path, [task], secret_vars={'key': emu.apikey('svc-reader')})
    assert run.rc != 0
    msg = run.result('credential')['result']['msg']
    assert 'HTTP 500 (3 attempts)' in msg
    assert iam_calls(emu) == 3


def test_rate_limited_until_exhausted_says_so(emu, tmp_path):
    emu.inject_fault('iam_token', status=429, count=10, retry_after=0)
    task = dict(credential_task(emu, username_type='iambearer', retries=1), no_log=False)
    run = run_play(tmp_path, [task], secret_vars={'key': emu.apikey('svc-reader')})
    assert run.rc != 0 and 'rate-limiting (HTTP 429)' in run.result('credential')['result']['msg']
    assert iam_calls(emu) == 2


def test_timeout_is_reported(emu, tmp_path):
    emu.inject_fault('iam_token', delay=3, count=5)
    task = dict(credential_task(emu, username_type='iambearer', retries=0, timeout=1), no_log=False)
    run = run_play(tmp_path, [task], secret_vars={'key': emu.apikey('svc-reader')})
    assert run.rc != 0 and 'did not answer within 1 seconds' in run.result('credential')['result']['msg']


@pytest.mark.parametrize('body', ['malformed', 'truncated', 'empty'])
def test_malformed_iam_answer(emu, tmp_path, body):
    emu.inject_fault('iam_token', body=body, count=5)
    task = dict(credential_task(emu, username_type='iambearer', retries=0), no_log=False)
    run = run_play(tmp_path, [task], secret_vars={'key': emu.apikey('svc-reader')})
    assert run.rc != 0 and 'not a token answer' in run.result('credential')['result']['msg']


@pytest.mark.parametrize('variant', emu_variants.NAMES)
def test_reader_may_pull_not_push_and_no_policy_is_told_apart(emu, tmp_path, variant):
    """verify_access under every variant: what the registry grants, whatever the token looks like or where it refuses."""
    emu_variants.apply(emu, variant)
    key = emu.apikey('svc-reader')
    ok = run_play(tmp_path, [dict(credential_task(emu, verify_access=['team-a/app:pull']), no_log=False)], secret_vars={'key': key})
    assert ok.rc == 0, ok.text[-2000:]
    granted = ok.result('credential')['result']['verification'][emu_host(emu)]
    assert granted['ok'] and granted['granted'] == {'team-a/app': ['pull']}
    push = run_play(tmp_path, [dict(credential_task(emu, verify_access=['team-a/app:push']), no_log=False)], secret_vars={'key': key})
    assert push.rc != 0
    res = push.result('credential')['result']
    assert 'do not grant push on team-a/app' in res['msg'] and res['verification'][emu_host(emu)]['reason'] == 'permission'
    other = run_play(tmp_path, [dict(credential_task(emu, verify_access=['team-b/app:pull']), no_log=False)], secret_vars={'key': key})
    assert other.rc != 0 and 'do not grant pull on team-b/app' in other.result('credential')['result']['msg']


@pytest.mark.parametrize('variant', emu_variants.NAMES)
def test_valid_key_without_policy_is_a_permission_not_a_wrong_key(emu, tmp_path, variant):
    emu_variants.apply(emu, variant)
    task = dict(credential_task(emu, verify_access=['team-a/app:pull']), no_log=False)
    run = run_play(tmp_path, [task], secret_vars={'key': emu.apikey('svc-nopolicy')})
    assert run.rc != 0
    res = run.result('credential')['result']
    assert res['verification'][emu_host(emu)]['reason'] == 'permission', res['msg']
    assert 'accepted the iamapikey credential' in res['msg'] and 'do not grant pull on team-a/app' in res['msg']
    assert 'wrong' not in res['msg']


@pytest.mark.parametrize('variant', emu_variants.NAMES)
def test_verify_access_to_a_repository_not_pushed_yet(emu, tmp_path, variant):
    """A repository that does not exist yet answers 404 NAME_UNKNOWN: allowed, and said so; push is proven too."""
    emu_variants.apply(emu, variant)
    task = dict(credential_task(emu, verify_access=['team-a/new:pull,push']), no_log=False)
    run = run_play(tmp_path, [task], secret_vars={'key': emu.apikey('svc-writer')})
    assert run.rc == 0, run.text[-2000:]
    verification = run.result('credential')['result']['verification'][emu_host(emu)]
    assert verification['granted'] == {'team-a/new': ['pull', 'push']}
    assert 'no such repository yet' in verification['msg']


@pytest.mark.parametrize('variant', emu_variants.NAMES)
def test_registry_refuses_a_wrong_secret_as_credential(emu, tmp_path, variant):
    emu_variants.apply(emu, variant)
    path = tmp_path / 'c.json'
    task = {'name': 'write', 'icr.auth.icr_login': {'registries': [emu_host(emu)], 'password': 'WrongWrongWrongWrongWrongWrongWrongWrong_123',
                                                    'config_path': str(path), 'validate': True}}
    run = run_play(tmp_path / 'login', [task])
    assert run.rc != 0
    msg = run.result('write')['result']['msg']
    assert 'refused the iamapikey credential (HTTP %d' % emu_variants.VARIANTS[variant]['bad_credential_status'] in msg, msg
    assert not path.exists()
    # icr_credential's proof with verify_access: a wrong key is a wrong key, not a missing permission.
    task = dict(credential_task(emu, verify_access=['team-a/app:pull']), no_log=False)
    run = run_play(tmp_path / 'cred', [task], secret_vars={'key': 'WrongWrongWrongWrongWrongWrongWrongWrong_123'})
    assert run.rc != 0
    res = run.result('credential')['result']
    assert 'BXNIM0415E' in res['msg'], res['msg']


@pytest.mark.parametrize('how', ['idle', 'ended-by-admin'])
def test_refresh_credential_dead_with_its_iam_session_is_refused(emu, tmp_path, how):
    """iamrefresh credentials die with the IAM session (idle, or ended by an administrator): validate says so."""
    path = tmp_path / 'config.json'
    key = emu.apikey('svc-writer')
    first = run_play(tmp_path / 'first', [credential_task(emu, username_type='iamrefresh', cache=False), login_task(path)],
                     play_vars={'registry': emu_host(emu)}, secret_vars={'key': key})
    assert first.rc == 0, first.text[-2000:]
    stored = base64.b64decode(json.loads(path.read_text())['auths'][emu_host(emu)]['auth']).decode().split(':', 1)[1]
    check = {'name': 'check', 'icr.auth.icr_login': {'registries': [emu_host(emu)], 'username_type': 'iamrefresh',
                                                     'password': '{{ stale }}', 'config_path': str(tmp_path / 'other.json'),
                                                     'validate': True}}
    assert run_play(tmp_path / 'alive', [check], secret_vars={'stale': stored}).rc == 0
    if how == 'idle':
        # The idle limit is set only now, so that a slow machine cannot end the session before the check above.
        import time
        emu.set_variants(refresh_idle_timeout=1)
        time.sleep(1.5)
    else:
        emu.end_sessions('svc-writer')
    run = run_play(tmp_path / 'ended', [check], secret_vars={'stale': stored})
    assert run.rc != 0 and 'refused the iamrefresh credential' in run.result('check')['result']['msg']
    assert stored not in run.text


def test_check_mode_makes_no_network_call_and_writes_nothing(emu, tmp_path):
    path = tmp_path / 'c.json'
    task = {'name': 'write', 'icr.auth.icr_login': {'registries': [emu_host(emu)], 'api_key': '{{ key }}', 'username_type': 'iambearer',
                                                    'iam_endpoint': emu.url, 'config_path': str(path), 'validate': True}}
    run = run_play(tmp_path, [task], secret_vars={'key': emu.apikey('svc-reader')}, args=['--check', '--diff'])
    assert run.rc == 0 and run.result('write')['result']['changed'] is True
    assert not path.exists()
    assert emu.counters()['iam_token'] == 0 and emu.counters()['registry_v2'] == 0


def test_icr_login_exchanges_on_the_host_itself(emu, tmp_path):
    path = tmp_path / 'c.json'
    task = {'name': 'write', 'icr.auth.icr_login': {'registries': [emu_host(emu)], 'api_key': '{{ key }}', 'username_type': 'iamrefresh',
                                                    'iam_endpoint': emu.url, 'config_path': str(path), 'validate': True}}
    run = run_play(tmp_path, [task], secret_vars={'key': emu.apikey('svc-writer')})
    assert run.rc == 0, run.text[-2000:]
    assert iam_calls(emu) == 1
    status, body = realm_status(emu, path, 'repository:team-a/app:pull,push')
    assert status == 200 and body['token']


@pytest.mark.parametrize('kind', TYPES)
def test_no_secret_at_vvvv_with_diff(emu, tmp_path, kind):
    key = emu.apikey('svc-writer')
    path = tmp_path / 'c.json'
    tasks = [credential_task(emu, username_type=kind), login_task(path, validate=True)]
    run = run_play(tmp_path, tasks, play_vars={'registry': emu_host(emu)}, secret_vars={'key': key}, args=['-vvvv', '--diff'])
    assert run.rc == 0, run.text[-2000:]
    stored = json.loads(path.read_text())['auths'][emu_host(emu)]['auth']
    secret = base64.b64decode(stored).decode().split(':', 1)[1]
    assert_no_secret([key, secret, stored], run.stdout, run.stderr)
    assert 'sha256:' in run.stdout


def test_cache_never_holds_the_api_key(emu, tmp_path):
    key = emu.apikey('svc-reader')
    cache_dir = tmp_path / 'c'
    task = credential_task(emu, cache_dir=str(cache_dir))
    for expected_calls in (1, 1):
        run = run_play(tmp_path, [task], secret_vars={'key': key})
        assert run.rc == 0, run.text[-2000:]
        assert iam_calls(emu) == expected_calls
    files = list(cache_dir.iterdir())
    assert len(files) == 1 and oct(files[0].stat().st_mode & 0o777) == '0o600'
    assert oct(cache_dir.stat().st_mode & 0o777) == '0o700'
    assert_no_secret([key], files[0].read_bytes(), files[0].name)


def proof_of(expr, expected):
    """A task that checks a registered value against expected by digest, so that it shows neither."""
    digest = __import__('hashlib').sha256(expected.encode()).hexdigest()
    check = "(%s | hash('sha256')) == '%s'" % (expr, digest)
    return {'name': 'proof', 'ansible.builtin.assert': {'that': [check], 'quiet': True}}


@pytest.mark.parametrize('source', ['option', 'environment'])
@pytest.mark.parametrize('kind', TYPES)
def test_without_no_log_the_api_key_is_never_in_the_output(emu, tmp_path, kind, source):
    """A task without no_log, at -vvv: the API key nowhere in any form; a token only with a warning to set no_log."""
    key = emu.apikey('svc-reader')
    task = dict(credential_task(emu, username_type=kind), no_log=False)
    env = None
    if source == 'environment':
        del task['icr.auth.icr_credential']['api_key']
        env = {'IBMCLOUD_API_KEY': key}
    run = run_play(tmp_path, [task], secret_vars={'key': key}, env=env, args=['-vvv'])
    assert run.rc == 0, run.text[-3000:]
    assert_no_secret([key], run.text)
    result = run.result('credential')['result']
    text = ' '.join(run.text.split())
    if kind == 'iamapikey':
        assert result['password'] is None and result['dockerconfigjson'] is None
        assert 'returned only to a task with no_log: true' in text
    else:
        assert result['password'] and result['dockerconfigjson']
        assert 'set no_log: true on this task' in text and 'IAM %s token' % ('access' if kind == 'iambearer' else 'refresh') in text


@pytest.mark.parametrize('source', ['option', 'environment'])
def test_with_no_log_the_task_receives_the_api_key_and_nothing_shows_it(emu, tmp_path, source):
    key = emu.apikey('svc-reader')
    task = credential_task(emu)
    env = None
    if source == 'environment':
        del task['icr.auth.icr_credential']['api_key']
        env = {'IBMCLOUD_API_KEY': key}
    tasks = [task, proof_of('icr.password', key),
             proof_of("icr.dockerconfigjson.auths['%s'].auth | b64decode" % emu_host(emu), 'iamapikey:' + key)]
    run = run_play(tmp_path, tasks, secret_vars={'key': key}, env=env, args=['-vvv'])
    assert run.rc == 0, run.text[-3000:]
    assert run.result('proof')['result'].get('failed') is not True
    assert_no_secret([key], run.text)
    assert 'returned only to a task with no_log' not in run.text


def test_verify_true_with_nothing_to_verify_fails_and_says_why(emu, tmp_path):
    """A made-up key with verify: true and no registry must not come back ok: there was nothing to prove."""
    task = dict(credential_task(emu, registries=[], verify=True), no_log=False)
    run = run_play(tmp_path, [task], secret_vars={'key': 'MadeUpMadeUpMadeUpMadeUpMadeUpMadeUpMade_9'})
    assert run.rc != 0
    assert 'nothing to prove the credential against' in run.result('credential')['result']['msg']
    assert iam_calls(emu) == 0


def test_verify_unset_proves_the_regions_given(emu, tmp_path):
    task = dict(credential_task(emu), no_log=False)
    assert 'verify' not in task['icr.auth.icr_credential']
    run = run_play(tmp_path, [task], secret_vars={'key': 'MadeUpMadeUpMadeUpMadeUpMadeUpMadeUpMade_9'})
    assert run.rc != 0 and iam_calls(emu) == 1


def guide_tasks(module='icr.auth.icr_credential'):
    """Every task of the guide's yaml+jinja examples that calls module."""
    import pathlib
    import re
    import textwrap
    import yaml
    text = (pathlib.Path(__file__).resolve().parents[2] / 'docs' / 'docsite' / 'rst' / 'guide.rst').read_text()
    found = []
    for block in re.finditer(r'^\.\. code-block:: yaml\+jinja\n\n((?:  .*\n|\n)+)', text, re.M):
        data = yaml.safe_load(textwrap.dedent(block.group(1)))
        for play in data if isinstance(data, list) else []:
            for task in play.get('tasks', []) if isinstance(play, dict) else []:
                if module in task:
                    found.append(task)
    return found


def test_the_guides_proofs_prove_something(emu, tmp_path):
    """Every icr_credential task of the guide that says it proves the key names a registry, and refuses a made-up key."""
    proofs = [t for t in guide_tasks() if 'prove' in t['name'].lower()]
    assert len(proofs) >= 2, [t['name'] for t in guide_tasks()]
    for number, task in enumerate(proofs):
        args = dict(task['icr.auth.icr_credential'])
        assert (args.get('regions') or args.get('registries')) and args.get('verify') is not False, task
        # The same task, pointed at the emulator in place of IBM Cloud.
        args.pop('regions', None)
        args.update(registries=[emu_host(emu)], iam_endpoint=emu.url, api_key='{{ key }}', retries=0)
        run = run_play(tmp_path / str(number), [{'name': 'credential', 'icr.auth.icr_credential': args, 'no_log': False}],
                       secret_vars={'key': 'MadeUpMadeUpMadeUpMadeUpMadeUpMadeUpMade_9'})
        assert run.rc != 0, (task['name'], run.text[-2000:])


# The identity of svc-reader in tests/emulator/fixtures/default.json, written out: the test checks the stored token
# against the fixture, not against what the emulator says of its own tokens.
SVC_READER_IAM_ID = 'iam-ServiceId-98914559-1ee5-44c5-b7ff-6f7aa240de8e'
SVC_READER_ACCOUNT = '0399f7d0bbd61ecb2ec14cc4d51098bb'  # account a1


def test_the_stored_token_is_signed_by_iam_and_names_the_keys_identity(emu, tmp_path):
    """What lands on a host is an IAM token of the key's own identity, checked with IAM's published keys."""
    import jwt  # PyJWT, a test requirement
    key = emu.apikey('svc-reader')
    path = tmp_path / 'config.json'
    run = run_play(tmp_path, [credential_task(emu, username_type='iambearer'), login_task(path)],
                   play_vars={'registry': emu_host(emu)}, secret_vars={'key': key})
    assert run.rc == 0, run.text[-3000:]
    stored = base64.b64decode(json.loads(path.read_text())['auths'][emu_host(emu)]['auth']).decode()
    username, token = stored.split(':', 1)
    assert username == 'iambearer'
    keys = requests.get(emu.url + '/identity/keys', timeout=10).json()['keys']
    kid = jwt.get_unverified_header(token)['kid']
    [jwk] = [k for k in keys if k['kid'] == kid]
    public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
    claims = jwt.decode(token, public, algorithms=['RS256'], options={'verify_aud': False})
    assert claims['iam_id'] == SVC_READER_IAM_ID
    assert claims['account']['bss'] == SVC_READER_ACCOUNT
    assert claims['iss'] == emu.iam_issuer
    assert iam_calls(emu) == 1


# ------------------------------------------------------------------------------------------ trusted-profile login

PROFILE = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'      # profile-reader: Reader on team-a (account a1)
UNTRUSTING = 'Profile-3028434f-f369-427d-8c4d-edf5c75ee2c2'   # profile-nopolicy: trusts nobody


def profile_tasks(emu, path, profile=PROFILE, **login):
    """icr_credential proves the pair at the realm, icr_login writes it with what icr_credential returned."""
    cred = credential_task(emu, username_type='trusted_profile', trusted_profile_id=profile,
                           verify_access=['team-a/app:pull'])
    write = login_task(path, username_type='{{ icr.username_type }}', trusted_profile_id='{{ icr.username }}',
                       iam_endpoint=emu.url, validate=True)
    write['icr.auth.icr_login'].update(login)
    # The credential task is no_log: what the play may show of its result goes through a task of its own.
    seen = {'name': 'seen', 'ansible.builtin.debug': {'msg': {
        'username': '{{ icr.username }}', 'username_type': '{{ icr.username_type }}', 'expires_at': '{{ icr.expires_at }}',
        'iam_id': '{{ icr.iam_id }}', 'verification': '{{ icr.verification }}'}}}
    return [cred, seen, write]


@pytest.mark.parametrize('service_id', ['svc-nopolicy', 'svc-other-account'])
def test_trusted_profile_login_end_to_end_also_across_accounts(emu, tmp_path, service_id):
    """A service ID with no registry policy of its own (or one of another account) pulls team-a as the profile."""
    key = emu.apikey(service_id)
    path = tmp_path / 'docker' / 'config.json'
    tasks = profile_tasks(emu, path)
    first = run_play(tmp_path, tasks, play_vars={'registry': emu_host(emu)}, secret_vars={'key': key},
                     args=['-vvvv', '--diff'])
    assert first.rc == 0, first.text[-3000:]
    cred = first.result('seen')['result']['msg']
    assert (cred['username'], cred['username_type'], cred['expires_at']) == (PROFILE, 'trusted_profile', None)
    assert cred['verification'][emu_host(emu)]['ok'] is True
    assert cred['iam_id'] == emu.directory.key_by_name(service_id).iam_id
    login = first.result('login')['result']
    assert login['changed'] is True and login['username'] == PROFILE and login['verification'][emu_host(emu)]['ok']
    entry = json.loads(path.read_text())['auths'][emu_host(emu)]
    assert base64.b64decode(entry['auth']).decode() == f'{PROFILE}:{key}'
    # The key itself was sent as the profile, never exchanged: IAM saw one identity lookup (for the proof).
    assert iam_calls(emu) == 1 and emu.counters()['registry_token_profile'] >= 2
    # A client with the written entry gets the profile's access to team-a.
    status, body = realm_status(emu, path)
    assert status == 200 and body['token']
    second = run_play(tmp_path, tasks, play_vars={'registry': emu_host(emu)}, secret_vars={'key': key},
                      args=['-vvvv', '--diff'])
    assert second.rc == 0, second.text[-3000:]
    assert second.result('login')['result']['changed'] is False
    assert iam_calls(emu) == 1  # the identity of the proof came from the cache, which never holds the key
    for cache_file in (tmp_path / 'cache').rglob('*.json'):
        assert key not in cache_file.read_text()
    assert_no_secret([key, entry['auth']], first.stdout, first.stderr, second.stdout, second.stderr, first.records,
                     second.records)
    assert PROFILE in first.stdout and 'sha256:' in first.stdout


@pytest.mark.parametrize('service_id,profile', [('svc-reader', PROFILE), ('svc-nopolicy', UNTRUSTING)],
                         ids=['key-not-trusted', 'profile-trusts-nobody'])
def test_a_pair_the_profile_does_not_trust_fails_clearly_at_verify_and_validate(emu, tmp_path, service_id, profile):
    key = emu.apikey(service_id)
    path = tmp_path / 'config.json'
    path.write_text('{"auths": {}}')
    cred = dict(credential_task(emu, username_type='trusted_profile', trusted_profile_id=profile), no_log=False)
    write = {'name': 'write', 'icr.auth.icr_login': {
        'registries': [emu_host(emu)], 'username_type': 'trusted_profile', 'trusted_profile_id': profile,
        'password': '{{ key }}', 'iam_endpoint': emu.url, 'config_path': str(path), 'validate': True}}
    run = run_play(tmp_path, [dict(cred, ignore_errors=True), write], secret_vars={'key': key}, args=['-vvvv'])
    assert run.rc != 0
    for task in ('credential', 'write'):
        assert run.result(task)['status'] == 'failed'
        result = run.result(task)['result']
        assert f'refused the trusted profile {profile} credential (HTTP 400' in result['msg'], result['msg']
        assert f'the trusted profile {profile} does not exist, or it does not trust the service ID of this API key' \
            in result['msg']
        assert result['verification'][emu_host(emu)]['reason'] == 'credential'
    assert 'Nothing was written' in run.result('write')['result']['msg']
    assert path.read_text() == '{"auths": {}}'
    assert_no_secret([key], run.stdout, run.stderr, run.records)


def test_trusted_profile_key_is_withheld_from_a_shown_result_and_bad_ids_name_the_option(emu, tmp_path):
    key = emu.apikey('svc-nopolicy')
    shown = dict(credential_task(emu, username_type='trusted_profile', trusted_profile_id=PROFILE), no_log=False)
    missing = dict(credential_task(emu, username_type='trusted_profile'), no_log=False, ignore_errors=True,
                   name='missing')
    # An API key given in place of the profile id by mistake is never echoed.
    mistaken = dict(credential_task(emu, username_type='trusted_profile', trusted_profile_id='{{ key }}'), no_log=False,
                    ignore_errors=True, name='mistaken')
    stray = {'name': 'stray', 'ignore_errors': True, 'icr.auth.icr_login': {
        'registries': [emu_host(emu)], 'password': '{{ key }}', 'trusted_profile_id': PROFILE,
        'config_path': str(tmp_path / 'c.json')}}
    run = run_play(tmp_path, [shown, missing, mistaken, stray], secret_vars={'key': key}, args=['-vvvv'])
    assert run.rc == 0, run.text[-3000:]
    result = run.result('credential')['result']
    assert result['password'] is None and result['dockerconfigjson'] is None and result['username'] == PROFILE
    assert any('for trusted_profile they hold the service ID' in w for w in result['warnings'])
    assert run.result('missing')['result']['msg'].startswith('trusted_profile_id: username_type trusted_profile needs')
    assert run.result('mistaken')['result']['msg'].startswith('trusted_profile_id: the value is not a trusted profile id')
    assert run.result('stray')['result']['msg'].startswith('trusted_profile_id: it is only used with username_type '
                                                           'trusted_profile, not iamapikey')
    # Only the first task's proof reached the realm: the bad ids failed before anything was sent or written.
    assert not (tmp_path / 'c.json').exists() and emu.counters()['registry_token'] == 1 and iam_calls(emu) == 1
    assert_no_secret([key], run.stdout, run.stderr, run.records)


IN_PROCESS_CASES = [
    ('iambearer', {'verify_access': ['team-a/app:pull']}),
    ('iamapikey', {}),
    ('iamrefresh', {'registries': []}),
    ('iambearer', {'min_validity': 86400}),                                # a warning: the token is too short-lived
    ('iambearer', {'regions': ['nowhere']}),                               # refused by the module's own checks
    ('iamapikey', {'api_key': 'not a key'}),                               # refused by icr_credential's key check
]


@pytest.mark.parametrize('kind,extra', IN_PROCESS_CASES, ids=['bearer', 'apikey', 'refresh', 'warning', 'bad-region', 'bad-key'])
def test_on_the_controller_the_module_code_runs_in_process_with_the_modules_result(emu, tmp_path, kind, extra):
    """icr_credential's action runs the module's code in the worker on the controller: no AnsiballZ payload is sent, and
    the result, warnings and masking are those of the module itself (forced with the task keyword environment)."""
    key = emu.apikey('svc-reader')
    shown = dict(credential_task(emu, username_type=kind, **extra), no_log=False, ignore_errors=True)
    tasks = [dict(shown, name='in process'), dict(shown, name='module', environment={'ICR_AUTH_TEST': '1'})]
    run = run_play(tmp_path, tasks, secret_vars={'key': key}, args=('-vvv',), env={'IBMCLOUD_API_KEY': key})
    here, module = run.result('in process')['result'], run.result('module')['result']
    assert run.stdout.count('AnsiballZ_icr_credential.py') > 0, run.text[-3000:]  # the module task's payload only
    sent = [line for line in run.stdout.splitlines() if 'PUT ' in line and 'AnsiballZ_icr_credential' in line]
    assert len(sent) == 1, sent

    # Each run with a min_validity longer than any token asks IAM again: two tokens, both shown as such, each with the
    # warning that names its own seconds left (3600 or 3599, as the second turns).
    fresh = ('password', 'dockerconfigjson', 'expires_at') if extra.get('min_validity') else ()

    def comparable(result):
        same = dict((k, v if k not in fresh else type(v).__name__) for k, v in result.items()
                    if k not in ('expires_in', 'cached', '_ansible_no_log', '_ansible_delegated_vars', 'exception'))
        if fresh and same.get('warnings'):
            same['warnings'] = [re.sub(r'valid for \d+ seconds', 'valid for N seconds', w) for w in same['warnings']]
        return same
    assert comparable(here) == comparable(module), (here, module)
    if fresh:
        assert any('less than min_validity (86400)' in w for w in here['warnings']), here
    assert abs((here.get('expires_in') or 0) - (module.get('expires_in') or 0)) <= 60
    if kind == 'iamapikey' and 'api_key' not in extra:
        assert here['password'] is None and here['warnings'], here  # the API key is withheld from a shown result
    assert_no_secret([key], run.text)
