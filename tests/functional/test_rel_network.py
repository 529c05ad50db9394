# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reliability: network faults while icr_login exchanges an API key (IAM) or validates (registry token realm).

Real ansible-playbook runs against the emulator with injected faults: every retry is bounded (the emulator counts
exactly retries + 1 requests), the message is clear and secret-free, and the config file that was there before is
left byte-identical, with no temp file, whenever the run fails.
"""

from __future__ import annotations

import base64
import json
import socket
import time

import pytest
import trustme

from emu_fixture import emu, emu_host, module_emu, module_tls_emu, tls_ca  # noqa: F401  pylint: disable=unused-import
from playrunner import run_play
from rel_support import record, snapshot, temp_leftovers

RETRIES = 2
OLD = {'auths': {}, 'keep': 'me'}


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def prepared_file(tmp_path, host):
    path = tmp_path / 'docker' / 'config.json'
    path.parent.mkdir(parents=True)
    data = json.loads(json.dumps(OLD))
    data['auths'][host] = {'auth': base64.b64encode(b'iamapikey:the-old-key-stays').decode()}
    path.write_text(json.dumps(data, indent='\t'))
    path.chmod(0o600)
    return path


def login(tmp_path, path, key, registry, iam_url, **extra):
    args = {'registries': [registry], 'api_key': '{{ key }}', 'username_type': 'iambearer', 'iam_endpoint': iam_url,
            'config_path': str(path), 'retries': RETRIES, 'timeout': 2}
    args.update(extra)
    started = time.monotonic()
    run = run_play(tmp_path / 'play', [{'name': 'login', 'icr.auth.icr_login': args, 'ignore_errors': True}],
                   secret_vars={'key': key})
    return run, time.monotonic() - started


def assert_failed_untouched(run, path, before, key, words):
    res = run.result('login')
    assert res['status'] == 'failed', json.dumps(res)[:2000]
    msg = res['result']['msg']
    for word in words:
        assert word in msg, msg
    assert 'MODULE FAILURE' not in msg
    assert snapshot(path) == before
    assert temp_leftovers(path.parent) == []
    assert key not in run.text
    return msg


# (id, endpoint, fault kwargs, expected requests to that endpoint, words in msg, validate, minimum seconds)
IAM_FAULTS = [
    ('iam-429-retry-after', 'iam_token', {'status': 429, 'retry_after': 1, 'count': 10}, RETRIES + 1,
     ('rate-limiting (HTTP 429)', '%d attempts' % (RETRIES + 1)), 2.0),
    ('iam-429-no-retry-after', 'iam_token', {'status': 429, 'count': 10}, RETRIES + 1, ('rate-limiting (HTTP 429)',), 0),
    # Retry-After forms IBM does not promise and proxies send: a fraction, an HTTP date, garbage. Each is waited on
    # (or, unreadable, backed off from), never a reason to give up early.
    ('iam-429-retry-after-fraction', 'iam_token', {'status': 429, 'retry_after': 0.5, 'count': 10}, RETRIES + 1,
     ('rate-limiting (HTTP 429)', '%d attempts' % (RETRIES + 1)), 1.0),
    ('iam-429-retry-after-http-date', 'iam_token', {'status': 429, 'retry_after': 2, 'retry_after_form': 'http-date',
                                                    'count': 10}, RETRIES + 1, ('rate-limiting (HTTP 429)',), 1.0),
    ('iam-429-retry-after-malformed', 'iam_token', {'status': 429, 'retry_after': 1, 'retry_after_form': 'malformed',
                                                    'count': 10}, RETRIES + 1, ('rate-limiting (HTTP 429)',), 0),
    ('iam-503-retry-after-malformed', 'iam_token', {'status': 503, 'retry_after': 1, 'retry_after_form': 'malformed',
                                                    'count': 10}, RETRIES + 1, ('HTTP 503 (%d attempts)' % (RETRIES + 1),), 0),
    ('iam-500', 'iam_token', {'status': 500, 'count': 10}, RETRIES + 1, ('HTTP 500 (%d attempts)' % (RETRIES + 1),), 0),
    ('iam-502', 'iam_token', {'status': 502, 'count': 10}, RETRIES + 1, ('HTTP 502 (%d attempts)' % (RETRIES + 1),), 0),
    ('iam-503', 'iam_token', {'status': 503, 'count': 10}, RETRIES + 1, ('HTTP 503 (%d attempts)' % (RETRIES + 1),), 0),
    ('iam-hang', 'iam_token', {'delay': 4, 'count': 10}, RETRIES + 1,
     ('did not answer within 2 seconds (%d attempts)' % (RETRIES + 1),), 6.0),
    ('iam-truncated', 'iam_token', {'body': 'truncated', 'count': 10}, 1, ('not a token answer', 'not JSON'), 0),
    ('iam-html', 'iam_token', {'body': 'malformed', 'count': 10}, 1, ('not a token answer', 'not JSON'), 0),
    ('iam-empty', 'iam_token', {'body': 'empty', 'count': 10}, 1, ('not a token answer',), 0),
]


@pytest.mark.parametrize('case', IAM_FAULTS, ids=[c[0] for c in IAM_FAULTS])
def test_iam_fault_is_retried_boundedly_and_nothing_is_written(emu, tmp_path, case):
    name, endpoint, fault, expected_calls, words, min_seconds = case
    key = emu.apikey('svc-reader')
    path = prepared_file(tmp_path, emu_host(emu))
    before = snapshot(path)
    emu.inject_fault(endpoint, **fault)
    run, seconds = login(tmp_path, path, key, emu_host(emu), emu.url)
    assert_failed_untouched(run, path, before, key, words)
    assert emu.counters()[endpoint] == expected_calls
    assert seconds >= min_seconds
    assert seconds < 45
    record('IAM token endpoint fault during icr_login (api_key, iambearer, retries=%d): %s' % (RETRIES, name), 1,
           'failed clearly ("%s"); IAM got exactly %d request(s); %.1f s; config.json byte-identical, no temp file, '
           'key in no output' % (words[0], expected_calls, seconds),
           'test_rel_network::test_iam_fault_is_retried_boundedly_and_nothing_is_written[%s]' % name)


@pytest.mark.parametrize('retry_after', [None, (0.2, 'seconds'), (1, 'http-date'), (1, 'malformed')],
                         ids=['none', 'fraction', 'http-date', 'malformed'])
def test_rate_limited_twice_then_served_writes_once(emu, tmp_path, retry_after):
    key = emu.apikey('svc-reader')
    path = prepared_file(tmp_path, emu_host(emu))
    extra = {'retry_after': retry_after[0], 'retry_after_form': retry_after[1]} if retry_after else {}
    emu.inject_fault('iam_token', status=429, count=2, **extra)
    run, _seconds = login(tmp_path, path, key, emu_host(emu), emu.url)
    assert run.result('login')['status'] == 'ok', run.text[-2000:]
    assert emu.counters()['iam_token'] == 3 and emu.counters()['iam_token_issued'] == 1
    data = json.loads(path.read_text())
    assert data['keep'] == 'me'
    assert base64.b64decode(data['auths'][emu_host(emu)]['auth']).decode().startswith('iambearer:eyJ')
    form = '%s Retry-After' % (retry_after[1] if retry_after else 'no')
    record('IAM answers 429 twice (%s), then a token' % form, 1, 'retried: 3 requests, 1 token issued, written once; '
           'unknown keys kept', 'test_rel_network::test_rate_limited_twice_then_served_writes_once')


def test_iam_connection_refused(emu, tmp_path):
    key = emu.apikey('svc-reader')
    path = prepared_file(tmp_path, emu_host(emu))
    before = snapshot(path)
    url = 'http://127.0.0.1:%d' % closed_port()
    run, seconds = login(tmp_path, path, key, emu_host(emu), url)
    assert_failed_untouched(run, path, before, key, ('could not be reached (%d attempts)' % (RETRIES + 1),
                                                     'Connection refused'))
    assert seconds < 30
    record('IAM endpoint on a closed port (connection refused)', 1, 'failed clearly ("could not be reached (3 '
           'attempts)", "Connection refused") in %.1f s; file byte-identical' % seconds,
           'test_rel_network::test_iam_connection_refused')


REGISTRY_FAULTS = [
    ('realm-503', 'registry_token', {'status': 503, 'count': 10}, RETRIES + 1, ('answered HTTP 503', 'Nothing was written')),
    ('realm-429', 'registry_token', {'status': 429, 'retry_after': 0, 'count': 10}, RETRIES + 1,
     ('answered HTTP 429', 'Nothing was written')),
    ('realm-429-retry-after-malformed', 'registry_token',
     {'status': 429, 'retry_after': 1, 'retry_after_form': 'malformed', 'count': 10}, RETRIES + 1,
     ('answered HTTP 429', 'Nothing was written')),
    ('v2-503-retry-after-fraction', 'registry_v2', {'status': 503, 'retry_after': 0.3, 'count': 10}, RETRIES + 1,
     ('HTTP 503', 'Nothing was written')),
    ('realm-html', 'registry_token', {'body': 'malformed', 'count': 10}, 1, ('without a token', 'Nothing was written')),
    ('v2-500', 'registry_v2', {'status': 500, 'count': 10}, RETRIES + 1, ('HTTP 500', 'Nothing was written')),
]


@pytest.mark.parametrize('case', REGISTRY_FAULTS, ids=[c[0] for c in REGISTRY_FAULTS])
def test_registry_fault_during_validate_writes_nothing(emu, tmp_path, case):
    name, endpoint, fault, expected_calls, words = case
    key = emu.apikey('svc-reader')
    path = prepared_file(tmp_path, emu_host(emu))
    before = snapshot(path)
    emu.inject_fault(endpoint, **fault)
    run, seconds = login(tmp_path, path, key, emu_host(emu), emu.url, username_type='iamapikey', validate=True)
    assert_failed_untouched(run, path, before, key, words)
    assert emu.counters()[endpoint] == expected_calls
    assert emu.counters()['iam_token'] == 0
    record('Registry fault while icr_login validates (validate=true, retries=%d): %s' % (RETRIES, name), 1,
           'failed clearly ("%s"); the endpoint got exactly %d request(s); %.1f s; file byte-identical'
           % (words[0], expected_calls, seconds),
           'test_rel_network::test_registry_fault_during_validate_writes_nothing[%s]' % name)


def test_validate_against_a_closed_registry_port(emu, tmp_path):
    key = emu.apikey('svc-reader')
    host = '127.0.0.1:%d' % closed_port()
    path = prepared_file(tmp_path, host)
    before = snapshot(path)
    run, seconds = login(tmp_path, path, key, host, emu.url, username_type='iamapikey', validate=True)
    assert_failed_untouched(run, path, before, key, ('could not be reached', 'Nothing was written'))
    record('Registry on a closed port while validating', 1, 'failed clearly ("could not be reached ... Nothing was '
           'written") in %.1f s; file byte-identical' % seconds, 'test_rel_network::test_validate_against_a_closed_registry_port')


@pytest.fixture(scope='module')
def tls_emu(module_tls_emu, tmp_path_factory):
    """The emulator over HTTPS with a certificate from one CA, and the PEM of that CA and of an unrelated one."""
    wrong = str(tmp_path_factory.mktemp('tls') / 'wrong-ca.pem')
    trustme.CA().cert_pem.write_to_path(wrong)
    return module_tls_emu, module_tls_emu.ca_pem, wrong


def test_wrong_tls_certificate_is_refused_and_the_right_ca_works(tls_emu, tmp_path):
    emulator, right_ca, wrong_ca = tls_emu
    emulator.reset()
    key = emulator.apikey('svc-reader')
    host = emu_host(emulator)
    path = prepared_file(tmp_path, host)
    before = snapshot(path)
    run, _seconds = login(tmp_path / 'wrong', path, key, host, emulator.url, ca_path=wrong_ca)
    msg = assert_failed_untouched(run, path, before, key, ('TLS verification of IBM Cloud IAM', 'failed',
                                                           'check that ca_path (%s)' % wrong_ca))
    assert emulator.counters()['iam_token'] == 0    # no request got past the handshake
    default, _seconds = login(tmp_path / 'system', path, key, host, emulator.url)
    assert_failed_untouched(default, path, before, key, ('TLS verification', 'give ca_path'))
    registry, _seconds = login(tmp_path / 'registry', path, key, host, emulator.url, ca_path=wrong_ca, validate=True,
                               username_type='iamapikey')
    assert_failed_untouched(registry, path, before, key, ('TLS verification of the registry', 'Nothing was written'))
    assert emulator.counters()['registry_v2'] == 0 and emulator.counters()['registry_token'] == 0
    good, _seconds = login(tmp_path / 'right', path, key, host, emulator.url, ca_path=right_ca, validate=True)
    assert good.result('login')['status'] == 'ok', good.text[-2000:]
    assert emulator.counters()['iam_token'] == 1 and emulator.counters()['registry_token'] == 1
    assert snapshot(path) != before
    record('IAM and registry over HTTPS with a certificate from another CA (IAM with ca_path = an unrelated CA, IAM with '
           'no ca_path, registry validation with the unrelated CA)', 3,
           'all three refused before any request reached the server ("%s..."), no plain-HTTP fallback; file '
           'byte-identical; with the right CA the same run exchanges, validates and writes' % msg[:40],
           'test_rel_network::test_wrong_tls_certificate_is_refused_and_the_right_ca_works')
