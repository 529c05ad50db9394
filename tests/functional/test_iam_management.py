# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_service_id and icr_api_key in real ansible-playbook runs against the emulator's Identity and Policy APIs.

From an empty service ID to policies and a key that really pulls; a rerun changes nothing and adds no policy; check
mode writes nothing; absent removes; a 409 is adopted; a policy not readable yet is not created twice; the key's
value is only in its file, at -vvvv too.
"""

from __future__ import annotations

import http.server
import json
import os
import stat
import threading

import pytest
import requests

from emu_fixture import emu, emu_host, module_emu  # noqa: F401  pylint: disable=unused-import
from playrunner import run_play
from secret_scan import assert_no_secret

ACCESS = [{'role': 'Reader', 'region': 'us-south', 'namespaces': ['team-a']},
          {'role': 'Reader', 'region': 'global', 'namespaces': ['team-a']}]


def sid_task(emu, name='fleet-pull', **args):
    base = {'api_key': '{{ admin_key }}', 'iam_endpoint': emu.url, 'name': name, 'retries': 2, 'timeout': 10}
    base.update(args)
    return {'name': 'service id', 'icr.auth.icr_service_id': base, 'register': 'sid'}


def key_task(emu, store_to, name='fleet-pull-2026-12', **args):
    base = {'api_key': '{{ admin_key }}', 'iam_endpoint': emu.url, 'service_id': 'fleet-pull', 'name': name,
            'expires_at': '2099-06-01T00:00+0000', 'store_to': str(store_to), 'retries': 2, 'timeout': 10}
    base.update(args)
    return {'name': 'api key', 'icr.auth.icr_api_key': base, 'register': 'key'}


def proof_task(emu, store_to):
    """icr_credential proves, with the new key read from its file, that the registry grants the pull."""
    return {'name': 'proof', 'no_log': True, 'register': 'proof', 'icr.auth.icr_credential': {
        'api_key': "{{ (lookup('ansible.builtin.file', '%s') | from_json).apikey }}" % store_to,
        'iam_endpoint': emu.url, 'registries': [emu_host(emu)], 'verify_access': ['team-a/app:pull'], 'cache': False,
        'retries': 2, 'timeout': 10}}


def policies_of(emu, iam_id):
    return [p for p in emu.policies()
            if any(a.get('value') == iam_id for s in p['subjects'] for a in s['attributes'])]


def sids_named(emu, name):
    return [s for s in emu.service_ids() if s['name'] == name]


def admin(emu):
    return {'admin_key': emu.apikey('user-admin')}


def test_from_nothing_to_a_pulling_key_then_rerun_changes_nothing(emu, tmp_path):
    store_to = tmp_path / 'vault' / 'fleet.json'
    tasks = [sid_task(emu, description='pulls team-a', access=ACCESS, purge_access=True), key_task(emu, store_to),
             proof_task(emu, store_to)]
    first = run_play(tmp_path, tasks, secret_vars=admin(emu), args=['--diff'])
    assert first.rc == 0, first.text[-4000:]
    sid = first.result('service id')['result']
    assert sid['changed'] and sid['policy_changes']['created'] == 2
    assert len(sids_named(emu, 'fleet-pull')) == 1
    iam_id = sid['service_id']['iam_id']
    assert len(policies_of(emu, iam_id)) == 2
    key = first.result('api key')['result']
    assert key['changed'] and key['stored'] and key['key']['iam_id'] == iam_id
    record = json.loads(store_to.read_text())
    assert record['id'] == key['key']['id'] and record['iam_id'] == iam_id and record['name'] == 'fleet-pull-2026-12'
    assert stat.S_IMODE(os.stat(store_to).st_mode) == 0o600 and stat.S_IMODE(os.stat(store_to.parent).st_mode) == 0o700
    assert first.rc == 0 and 'proof' in [r['task'] for r in first.records]
    secrets = [emu.apikey('user-admin'), record['apikey']]
    assert_no_secret(secrets, first.text)

    again = run_play(tmp_path, tasks, secret_vars=admin(emu), args=['--diff'])
    assert again.rc == 0, again.text[-4000:]
    assert again.result('service id')['result']['changed'] is False
    assert again.result('api key')['result']['changed'] is False
    assert len(policies_of(emu, iam_id)) == 2 and len(sids_named(emu, 'fleet-pull')) == 1
    assert len([k for k in emu.apikeys() if k['iam_id'] == iam_id]) == 1
    assert json.loads(store_to.read_text()) == record
    assert_no_secret(secrets, again.text)


def test_check_mode_writes_nothing_in_iam_nor_on_disk(emu, tmp_path):
    store_to = tmp_path / 'vault' / 'fleet.json'
    before = (len(emu.service_ids()), len(emu.policies()), len(emu.apikeys()))
    run = run_play(tmp_path, [sid_task(emu, access=ACCESS)], secret_vars=admin(emu), args=['--check', '--diff'])
    assert run.rc == 0, run.text[-4000:]
    result = run.result('service id')['result']
    assert result['changed'] and result['policy_changes']['created'] == 2 and result['service_id']['id'] is None
    made = run_play(tmp_path, [sid_task(emu)], secret_vars=admin(emu))
    assert made.rc == 0, made.text[-4000:]
    after_create = (len(emu.service_ids()), len(emu.policies()), len(emu.apikeys()))
    assert after_create == (before[0] + 1, before[1], before[2])
    run = run_play(tmp_path, [sid_task(emu, access=ACCESS), key_task(emu, store_to)], secret_vars=admin(emu),
                   args=['--check'])
    assert run.rc == 0, run.text[-4000:]
    assert run.result('api key')['result']['changed'] is True
    assert (len(emu.service_ids()), len(emu.policies()), len(emu.apikeys())) == after_create
    assert not store_to.parent.exists()


def test_absent_removes_key_and_service_id_then_unchanged(emu, tmp_path):
    store_to = tmp_path / 'vault' / 'fleet.json'
    run = run_play(tmp_path, [sid_task(emu, access=ACCESS), key_task(emu, store_to)], secret_vars=admin(emu))
    assert run.rc == 0, run.text[-4000:]
    iam_id = run.result('service id')['result']['service_id']['iam_id']
    gone = [key_task(emu, store_to, state='absent'), sid_task(emu, state='absent')]
    run = run_play(tmp_path, gone, secret_vars=admin(emu))
    assert run.rc == 0, run.text[-4000:]
    assert run.result('api key')['result']['changed'] and run.result('service id')['result']['changed']
    assert sids_named(emu, 'fleet-pull') == [] and policies_of(emu, iam_id) == []
    assert [k for k in emu.apikeys() if k['iam_id'] == iam_id] == []
    run = run_play(tmp_path, gone, secret_vars=admin(emu))
    assert run.rc == 0 and not run.result('api key')['result']['changed']
    assert not run.result('service id')['result']['changed']


class LaggingList(object):
    """A loopback front of the emulator whose GET /v1/policies does not list the policies in ``hidden`` yet, as IAM's
    eventually consistent list may not; everything else passes through."""

    def __init__(self, upstream):
        self.hidden = set()
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _pass(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in ('host', 'content-length'))
                answer = requests.request(self.command, upstream + self.path, data=body, headers=headers, timeout=10)
                content = answer.content
                if self.command == 'GET' and self.path.startswith('/v1/policies?'):
                    data = answer.json()
                    data['policies'] = [p for p in data.get('policies', []) if p['id'] not in front.hidden]
                    content = json.dumps(data).encode()
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ('content-length', 'transfer-encoding', 'connection', 'content-encoding'):
                        self.send_header(name, value)
                self.send_header('Content-Length', str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = _pass

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_409_conflict_adopts_the_existing_policy(emu, tmp_path):
    access = [{'role': 'Reader', 'region': 'us-south', 'namespaces': ['team-a']}]
    run = run_play(tmp_path, [sid_task(emu, access=access)], secret_vars=admin(emu))
    assert run.rc == 0, run.text[-4000:]
    iam_id = run.result('service id')['result']['service_id']['iam_id']
    existing = policies_of(emu, iam_id)
    assert len(existing) == 1
    with LaggingList(emu.url) as front:
        front.hidden.add(existing[0]['id'])
        run = run_play(tmp_path, [sid_task(emu, access=access, iam_endpoint=front.url)], secret_vars=admin(emu))
    assert run.rc == 0, run.text[-4000:]
    result = run.result('service id')['result']
    assert result['policy_changes']['adopted'] == 1 and result['policy_changes']['created'] == 0
    assert [p['id'] for p in result['policies']] == [existing[0]['id']]
    assert len(policies_of(emu, iam_id)) == 1


def test_policies_not_readable_yet_are_read_again_not_duplicated(emu, tmp_path):
    emu.set_consistency_delay(reads=2)
    run = run_play(tmp_path, [sid_task(emu, access=ACCESS)], secret_vars=admin(emu))
    assert run.rc == 0, run.text[-4000:]
    result = run.result('service id')['result']
    assert result['policy_changes']['created'] == 2
    iam_id = result['service_id']['iam_id']
    assert sorted(p['id'] for p in policies_of(emu, iam_id)) == sorted(p['id'] for p in result['policies'])
    again = run_play(tmp_path, [sid_task(emu, access=ACCESS)], secret_vars=admin(emu))
    assert again.rc == 0 and not again.result('service id')['result']['changed']
    assert len(policies_of(emu, iam_id)) == 2


def test_rate_limit_and_server_errors_are_retried(emu, tmp_path):
    emu.inject_fault('policies', status=429, count=1, retry_after=0.2)
    emu.inject_fault('identity_serviceids', status=503, count=1, retry_after=0.2)
    run = run_play(tmp_path, [sid_task(emu, access=ACCESS)], secret_vars=admin(emu))
    assert run.rc == 0, run.text[-4000:]
    iam_id = run.result('service id')['result']['service_id']['iam_id']
    assert len(policies_of(emu, iam_id)) == 2 and len(sids_named(emu, 'fleet-pull')) == 1


def test_duplicate_names_and_locks_fail_clearly_and_change_nothing(emu, tmp_path):
    run = run_play(tmp_path, [sid_task(emu, locked=True)], secret_vars=admin(emu))
    assert run.rc == 0, run.text[-4000:]
    before = len(emu.policies())
    run = run_play(tmp_path, [dict(sid_task(emu, access=ACCESS), ignore_errors=True)], secret_vars=admin(emu))
    msg = run.result('service id')['result']['msg']
    assert 'is locked' in msg and 'locked: false' in msg and len(emu.policies()) == before
    token = requests.post(emu.url + '/identity/token', data={'grant_type': 'urn:ibm:params:oauth:grant-type:apikey',
                                                             'apikey': emu.apikey('user-admin')}, timeout=10).json()
    account = sids_named(emu, 'fleet-pull')[0]['account_id']
    made = requests.post(emu.url + '/v1/serviceids/', json={'account_id': account, 'name': 'fleet-pull'}, timeout=10,
                         headers={'Authorization': 'Bearer ' + token['access_token']})
    assert made.status_code == 201
    run = run_play(tmp_path, [dict(sid_task(emu, access=ACCESS, locked=False), ignore_errors=True)],
                   secret_vars=admin(emu))
    msg = run.result('service id')['result']['msg']
    assert '2 service IDs are named' in msg and made.json()['id'] in msg and len(emu.policies()) == before


def test_no_secret_at_any_verbosity_even_when_failing(emu, tmp_path):
    store_to = tmp_path / 'vault' / 'fleet.json'
    from_env = sid_task(emu, access=ACCESS)
    del from_env['icr.auth.icr_service_id']['api_key']  # exported where ansible-playbook runs, as the docs say
    tasks = [from_env, key_task(emu, store_to)]
    exported = {'IBMCLOUD_API_KEY': emu.apikey('user-admin')}
    run = run_play(tmp_path, tasks, secret_vars=admin(emu), args=['-vvvv', '--diff'], env=exported)
    assert run.rc == 0, run.text[-4000:]
    value = json.loads(store_to.read_text())['apikey']
    os.unlink(store_to)
    failing = run_play(tmp_path, tasks, secret_vars=admin(emu), args=['-vvvv', '--diff'], env=exported)
    assert failing.rc != 0 and 'cannot be written again' in failing.result('api key')['result']['msg']
    wrong_dir = tmp_path / 'open'
    wrong_dir.mkdir(mode=0o755)
    os.chmod(wrong_dir, 0o755)
    refused = run_play(tmp_path, [key_task(emu, wrong_dir / 'k.json', name='second')], secret_vars=admin(emu),
                       args=['-vvvv'])
    assert refused.rc != 0 and 'chmod 700' in refused.result('api key')['result']['msg']
    assert_no_secret([emu.apikey('user-admin'), value], run.text, failing.text, refused.text)
    leftovers = [p for p in tmp_path.rglob('*') if p.is_file() and p != store_to]
    for path in leftovers:
        assert_no_secret([value], path.read_bytes())


@pytest.mark.parametrize('bad', ['2027-06-01', 'tomorrow'])
def test_bad_expiry_is_refused_before_any_change(emu, tmp_path, bad):
    run = run_play(tmp_path, [dict(key_task(emu, tmp_path / 'v' / 'k.json', expires_at=bad), ignore_errors=True)],
                   secret_vars=admin(emu))
    assert 'expires_at:' in run.result('api key')['result']['msg'] and not (tmp_path / 'v').exists()
