# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reliability: the API key and every token derived from it appear nowhere but in the config file.

For each username type, real ansible-playbook runs at -vvvv with --diff (and one in check mode) run both modules
the documented way (icr_credential registered with no_log: true), plus the failure paths: a refused credential
on validate, a key IAM does not know.  Scanned: stdout, stderr, every task result (the result_file callback, as
AWX would store them), the Ansible temp dirs left afterwards, and the command lines and environments of every
process on the machine, sampled every few milliseconds while the play runs.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import stat
import threading
import time
import uuid

import pytest

import emu_variants
from emu_fixture import emu, emu_host, module_emu  # noqa: F401  pylint: disable=unused-import
from playrunner import run_play
from rel_support import JWT_RE, record

TYPES = ['iamapikey', 'iambearer', 'iamrefresh']
BAD_KEY = 'NoSuchKeyNoSuchKeyNoSuchKeyNoSuchKeyNoSuch_7'
WRONG = 'WrongWrongWrongWrongWrongWrongWrongWrong_42'


class ProcSampler(threading.Thread):
    """Every few ms, reads the command line and environment of every process that carries this run's tag.

    The tag is an environment variable given to ansible-playbook, so it marks Ansible and every process it starts
    (workers, shells, AnsiballZ modules) and nothing else on the machine - other sessions may run the emulator's
    fixture keys at the same time.
    """

    def __init__(self, interval=0.003):
        super().__init__(daemon=True)
        self.interval = interval
        self.tag = ('ICR_REL_SAMPLE_TAG=%s' % uuid.uuid4().hex).encode()
        self.seen = set()
        self.samples = 0
        self.pids = set()
        self._halt = threading.Event()

    @property
    def env(self):
        name, value = self.tag.decode().split('=', 1)
        return {name: value}

    def run(self):
        while not self._halt.is_set():
            for pid in os.listdir('/proc'):
                if not pid.isdigit():
                    continue
                try:
                    with open('/proc/%s/environ' % pid, 'rb') as handle:
                        environ = handle.read()
                    if self.tag not in environ.split(b'\0'):
                        continue
                    with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                        cmdline = handle.read()
                except OSError:
                    continue
                self.pids.add(pid)
                self.seen.add(cmdline)
                self.seen.add(environ)
            self.samples += 1
            time.sleep(self.interval)

    def stop(self):
        self._halt.set()
        self.join(10)

    def text(self):
        return b'\n'.join(self.seen).decode('utf-8', 'replace')


def test_the_scanners_see_what_they_are_meant_to_see(tmp_path):
    """The detectors themselves: a marker in a short-lived process's arguments and environment is caught."""
    import subprocess
    import sys
    sampler = ProcSampler()
    sampler.start()
    try:
        subprocess.run([sys.executable, '-c', 'import time; time.sleep(0.3)', 'ArgMarker0123456789'],
                       env=dict(os.environ, ICR_SELFTEST='EnvMarker0123456789', **sampler.env), check=True)
        subprocess.run([sys.executable, '-c', 'import time; time.sleep(0.3)', 'UntaggedMarker0123456789'], check=True)
    finally:
        sampler.stop()
    assert 'ArgMarker0123456789' in sampler.text() and 'EnvMarker0123456789' in sampler.text()
    assert 'UntaggedMarker0123456789' not in sampler.text()      # other processes on the machine are not ours
    (tmp_path / 'ansible-local' / 'x').mkdir(parents=True)
    (tmp_path / 'ansible-local' / 'x' / 'args').write_text('FileMarker0123456789')
    assert 'FileMarker0123456789' in leftovers_text(tmp_path, set())[0]


def run_sampled(tmp_path, tasks, secret_vars, args=()):
    """run_play, with every process sampled while it runs and Ansible's temp dirs kept in tmp_path to scan after."""
    sampler = ProcSampler()
    sampler.start()
    try:
        run = run_play(tmp_path, tasks, secret_vars=secret_vars, args=list(args),
                       env=dict(sampler.env, ANSIBLE_REMOTE_TEMP=str(tmp_path / 'ansible-remote')))
    finally:
        sampler.stop()
    return run, sampler


def leftovers_text(tmp_path, keep):
    """Everything left under tmp_path except the files allowed to hold the secret (the vars file, config files)."""
    chunks = []
    names = []
    for root, _dirs, files in os.walk(str(tmp_path)):
        for name in files:
            path = os.path.join(root, name)
            if path in keep or name == 'secret-vars.json' or os.path.islink(path):
                continue
            names.append(path)
            try:
                with open(path, 'rb') as handle:
                    chunks.append(handle.read().decode('utf-8', 'replace'))
            except OSError:
                pass
    return '\n'.join(chunks), names


def secret_forms(values):
    """Each secret, and the forms it is written in: base64 alone and as Docker's auth of each username."""
    forms = set()
    for value in values:
        if not value:
            continue
        forms.add(value)
        forms.add(base64.b64encode(value.encode()).decode())
        for user in TYPES:
            forms.add(base64.b64encode(('%s:%s' % (user, value)).encode()).decode())
    return forms


def stored(path, host):
    entry = json.loads(pathlib.Path(path).read_text())['auths'][host]
    return entry['auth'], base64.b64decode(entry['auth']).decode().split(':', 1)[1]


def cache_secrets(tmp_path):
    """Tokens in icr_credential's controller cache (XDG_CACHE_HOME=tmp/cache), and a check that it is private."""
    found = []
    cache = tmp_path / 'cache' / 'icr.auth'
    if not cache.exists():
        return found, []
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    files = sorted(cache.iterdir())
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.stem) == 64   # named by a hash, never the key
        password = json.loads(path.read_text())['password']
        if password is not None:
            found.append(password)
    return found, [str(p) for p in files]


def assert_nowhere(run, sampler, tmp_path, secrets, keep):
    forms = secret_forms(secrets)
    left, scanned = leftovers_text(tmp_path, keep)
    places = {'stdout': run.stdout, 'stderr': run.stderr, 'task results': json.dumps(run.records),
              'process arguments/environments (%d samples, %d processes)' % (sampler.samples, len(sampler.pids)):
                  sampler.text(),
              'files left under the run dir (%d)' % len(scanned): left}
    for where, text in places.items():
        for form in forms:
            assert form not in text, 'a secret (%s...) is in %s' % (form[:6], where)
        jwt = JWT_RE.search(text)
        assert jwt is None, 'a JWT is in %s: %s...' % (where, jwt.group(0)[:20])
    assert sampler.samples > 20 and len(sampler.pids) >= 3, 'the process sampler hardly saw the run'
    return sampler.samples, len(scanned), len(sampler.pids)


def type_tasks(emu, kind, paths):
    """Both modules the documented way, the check-mode and diff paths, and three failure paths."""
    host = emu_host(emu)
    net = {'iam_endpoint': emu.url, 'retries': 0, 'timeout': 5}
    return [
        {'name': 'credential', 'icr.auth.icr_credential': dict(net, api_key='{{ key }}', username_type=kind, registries=[host],
                                                               verify_access=['team-a/app:pull']),
         'register': 'icr', 'no_log': True},
        {'name': 'login', 'icr.auth.icr_login': {'registries': [host], 'username_type': '{{ icr.username }}',
                                                 'password': '{{ icr.password }}', 'config_path': paths['login'],
                                                 'validate': True}},
        {'name': 'login-check', 'icr.auth.icr_login': {'registries': [host], 'username_type': '{{ icr.username }}',
                                                       'password': '{{ icr.password }}', 'config_path': paths['check']},
         'check_mode': True},
        {'name': 'login-on-host', 'icr.auth.icr_login': dict(net, registries=[host], api_key='{{ key }}', username_type=kind,
                                                             config_path=paths['host'], validate=True)},
        {'name': 'refused', 'icr.auth.icr_login': {'registries': [host], 'password': '{{ wrong }}', 'validate': True,
                                                   'config_path': paths['login'], 'reauthorize': True},
         'ignore_errors': True},
        {'name': 'unknown-key', 'icr.auth.icr_credential': dict(net, api_key='{{ bad }}', username_type='iambearer'),
         'ignore_errors': True},
        {'name': 'unknown-key-on-host', 'icr.auth.icr_login': dict(net, registries=[host], api_key='{{ bad }}',
                                                                   username_type='iambearer', config_path=paths['bad']),
         'ignore_errors': True},
    ]


@pytest.mark.parametrize('variant,kind', emu_variants.with_types(), ids=emu_variants.pair_ids())
def test_no_secret_anywhere_at_vvvv_with_diff_and_failures(emu, tmp_path, variant, kind):
    """Under each variant, with IAM quoting the submitted key in its errorDetails (IBM does not say it never does)."""
    emu_variants.apply(emu, variant, echo_error_details=True)
    key = emu.apikey('svc-reader')
    paths = dict((name, str(tmp_path / name / 'config.json')) for name in ('login', 'check', 'host', 'bad'))
    run, sampler = run_sampled(tmp_path, type_tasks(emu, kind, paths),
                               {'key': key, 'wrong': WRONG, 'bad': BAD_KEY}, args=['-vvvv', '--diff'])
    assert run.result('login')['status'] == 'ok', run.text[-3000:]
    assert run.result('login-on-host')['status'] == 'ok', run.text[-3000:]
    assert run.result('login-check')['result']['changed'] is True and not os.path.exists(paths['check'])
    assert run.result('refused')['status'] == 'failed'
    assert 'refused the iamapikey credential' in run.result('refused')['result']['msg']
    assert 'BXNIM0415E' in run.result('unknown-key')['result']['msg']
    assert 'BXNIM0415E' in run.result('unknown-key-on-host')['result']['msg']
    assert not os.path.exists(paths['bad'])
    assert 'sha256:' in run.stdout                      # the diff shows a fingerprint, not the secret
    auth, password = stored(paths['login'], emu_host(emu))
    host_auth, host_password = stored(paths['host'], emu_host(emu))
    cached, cache_files = cache_secrets(tmp_path)
    secrets = [key, password, host_password, WRONG, BAD_KEY] + cached
    samples, scanned, procs = assert_nowhere(run, sampler, tmp_path, secrets,
                                             keep={paths['login'], paths['host']} | set(cache_files))
    if kind != 'iamapikey':
        assert password != key and cached == [password]
    record('%s at -vvvv --diff under variant %s, IAM errorDetails quoting the key: icr_credential (no_log) + icr_login '
           'with its result, in check mode, exchanging on the host, a refused credential, an unknown key (both modules)'
           % (kind, variant), 1,
           'API key, %s, the wrong and the unknown key (also base64 and as Docker auth) and any JWT: in none of '
           'stdout, stderr, 7 task results, %d files left in the run dir, the arguments and environments of the %d '
           'processes of the run (%d samples); only in the config files%s' % (
               'the token written' if kind != 'iamapikey' else 'the key written', scanned, procs, samples,
               ' and icr_credential\'s controller cache (0600 in 0700, named by a hash)' if cached else ''),
           'test_rel_secrets::test_no_secret_anywhere_at_vvvv_with_diff_and_failures[%s-%s]' % (variant, kind))


def test_whole_play_in_check_mode_at_vvvv(emu, tmp_path):
    key = emu.apikey('svc-writer')
    host = emu_host(emu)
    tasks = []
    for kind in TYPES:
        tasks += [
            {'name': 'credential-%s' % kind,
             'icr.auth.icr_credential': {'api_key': '{{ key }}', 'username_type': kind, 'iam_endpoint': emu.url,
                                         'registries': [host]},
             'register': 'icr_%s' % kind, 'no_log': True},
            {'name': 'login-%s' % kind, 'icr.auth.icr_login': {'registries': [host], 'username_type': '{{ icr_%s.username }}' % kind,
                                                               'password': '{{ icr_%s.password }}' % kind,
                                                               'config_path': str(tmp_path / kind / 'config.json')}},
            {'name': 'login-on-host-%s' % kind, 'icr.auth.icr_login': {
                'registries': [host], 'api_key': '{{ key }}', 'username_type': kind, 'iam_endpoint': emu.url,
                'validate': True, 'config_path': str(tmp_path / (kind + '-host') / 'config.json')}},
        ]
    run, sampler = run_sampled(tmp_path, tasks, {'key': key}, args=['--check', '--diff', '-vvvv'])
    assert run.rc == 0, run.text[-3000:]
    for kind in TYPES:
        assert run.result('login-%s' % kind)['result']['changed'] is True
        assert not (tmp_path / kind).exists() and not (tmp_path / (kind + '-host')).exists()
    cached, cache_files = cache_secrets(tmp_path)
    samples, scanned, procs = assert_nowhere(run, sampler, tmp_path, [key] + cached, keep=set(cache_files))
    record('the three username types in one play with --check --diff -vvvv (icr_credential runs, icr_login predicts)',
           1, 'nothing written; the key, the %d tokens IAM issued and any JWT in no output, result, leftover file or '
           'argument or environment of the %d processes of the run (%d samples); %d files left scanned'
           % (len(cached), procs, samples, scanned),
           'test_rel_secrets::test_whole_play_in_check_mode_at_vvvv')


def test_icr_credential_without_no_log_never_shows_the_api_key_and_warns_for_a_token(emu, tmp_path):
    """What a user who forgets no_log: true gets: never the API key; a token only with a warning to set no_log."""
    key = emu.apikey('svc-reader')
    task = {'name': 'credential', 'icr.auth.icr_credential': {'api_key': '{{ key }}', 'username_type': 'iambearer',
                                                              'iam_endpoint': emu.url, 'registries': [emu_host(emu)]},
            'register': 'icr'}
    # ansible-core 2.21 returns the invocation only when asked (INJECT_INVOCATION); 2.19 always does.
    quiet = run_play(tmp_path / 'default', [task], secret_vars={'key': key}, env={'ANSIBLE_INJECT_INVOCATION': 'true'})
    assert quiet.rc == 0, quiet.text[-2000:]
    token = quiet.result('credential')['result']['password']
    assert JWT_RE.fullmatch(token)
    # The token is returned (that is the module's job) and every callback that keeps results gets it, with a warning
    # on stdout that says to set no_log; the API key is in no output and no stored result.
    assert token not in quiet.stdout and key not in quiet.text
    assert token in json.dumps(quiet.records)
    assert 'set no_log: true on this task' in ' '.join((quiet.stdout + quiet.stderr).split())
    assert quiet.result('credential')['result']['invocation']['module_args']['api_key'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    verbose = run_play(tmp_path / 'verbose', [task], secret_vars={'key': key}, args=['-v'])
    assert verbose.result('credential')['result']['password'] in verbose.stdout and key not in verbose.text
    apikey_task = {'name': 'credential', 'icr.auth.icr_credential': {'api_key': '{{ key }}', 'registries': [emu_host(emu)],
                                                                     'iam_endpoint': emu.url}, 'register': 'icr'}
    apikey_run = run_play(tmp_path / 'apikey', [apikey_task], secret_vars={'key': key}, args=['-v'])
    assert apikey_run.rc == 0, apikey_run.text[-2000:]
    assert key not in apikey_run.text
    assert apikey_run.result('credential')['result']['password'] is None
    assert apikey_run.result('credential')['result']['dockerconfigjson'] is None
    record('icr_credential registered WITHOUT no_log (the documented usage says no_log: true)', 3,
           'the API key is in no output and no stored result (iamapikey: password and dockerconfigjson are null, with a '
           'warning); a token (iambearer) is returned, so result callbacks (AWX job events) store it and -v prints it, '
           'with a warning that says to set no_log. The api_key option stays masked in the invocation',
           'test_rel_secrets::test_icr_credential_without_no_log_never_shows_the_api_key_and_warns_for_a_token')
