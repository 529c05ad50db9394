# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_api_key_info in a real ansible-playbook run against the emulator's GET /v1/apikeys/details: one call per
distinct key, the identity named, a disabled and an unknown key reported, IAM faults as clear failures, and no key in
any output at -vvvv."""

from __future__ import annotations

import json
import socket

import pytest

from emu_fixture import emu, module_emu  # noqa: F401  pylint: disable=unused-import
from playrunner import run_play
from secret_scan import assert_no_secret

UNKNOWN = 'UnknownKeyUnknownKeyUnknownKeyUnknownKey00'


def lookup(tmp_path, emu, known, **options):
    args = dict({'api_key': '{{ admin }}', 'iam_endpoint': emu.url, 'known_keys': known}, **options)
    return run_play(tmp_path, [{'name': 'info', 'icr.auth.icr_api_key_info': args, 'register': 'info'}],
                    secret_vars={'admin': emu.apikey('user-admin'), 'writer': emu.apikey('svc-writer'),
                                 'disabled': emu.apikey('svc-disabled'), 'unknown': UNKNOWN},
                    args=['-vvvv'])


def secrets(emu):
    return [emu.apikey(n) for n in ('user-admin', 'svc-writer', 'svc-disabled')] + [UNKNOWN]


def test_one_lookup_per_distinct_key_names_the_identity_and_shows_no_key(emu, tmp_path):
    key_file = tmp_path / 'writer.json'
    key_file.write_text(json.dumps({'name': 'svc-writer', 'apikey': emu.apikey('svc-writer')}))
    known = [{'name': 'writer', 'key': '{{ writer }}'}, {'name': 'writer', 'key_file': str(key_file)},
             {'name': 'off', 'key': '{{ disabled }}'}, {'name': 'gone', 'key': '{{ unknown }}'}]
    before = emu.counters()['apikey_details']
    run = lookup(tmp_path / 'play', emu, known)
    assert run.rc == 0, run.text[-3000:]
    assert emu.counters()['apikey_details'] - before == 3
    writer, again, off, gone = run.result('info')['result']['known_keys']
    assert writer == again and writer['found'] and writer['problem'] is None
    assert writer['iam_id'].startswith('iam-ServiceId-') and writer['account_id'] and writer['key_name'] == 'svc-writer'
    assert off['found'] and off['disabled'] and 'disabled' in off['problem']
    assert gone['found'] is False and 'does not know' in gone['problem']
    assert_no_secret(secrets(emu), run.text)


@pytest.mark.parametrize('status, words', [(503, 'IAM may be having trouble'), (429, 'rate-limiting')])
def test_iam_faults_fail_with_a_clear_message(emu, tmp_path, status, words):
    emu.inject_fault('apikey_details', status=status, count=5, retry_after=0.1)
    run = lookup(tmp_path, emu, [{'name': 'writer', 'key': '{{ writer }}'}], retries=1)
    assert run.rc != 0
    msg = run.result('info')['result']['msg']
    assert words in msg and 'look up the identity of API key writer' in msg, msg
    assert_no_secret(secrets(emu), run.text)


def test_iam_down_fails_with_a_clear_message(emu, tmp_path):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    run = lookup(tmp_path, emu, [{'name': 'writer', 'key': '{{ writer }}'}], iam_endpoint='http://127.0.0.1:%d' % port,
                 retries=0)
    assert run.rc != 0
    msg = run.result('info')['result']['msg']
    assert 'IAM' in msg and '127.0.0.1:%d' % port in msg, msg
    assert_no_secret(secrets(emu), run.text)
