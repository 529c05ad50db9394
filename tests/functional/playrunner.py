# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run real ansible-playbook processes against the collection in this tree, and read their results."""

from __future__ import annotations

import atexit
import functools
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
BIN = pathlib.Path(sys.executable).parent


@functools.lru_cache(maxsize=None)
def collections_path():
    """A directory holding ansible_collections/icr/auth -> this tree: made once per process, removed when it exits."""
    base = pathlib.Path(tempfile.mkdtemp(prefix='icr-auth-collections-'))
    os.chmod(str(base), 0o755)  # as the earlier per-pid directory: plays run as other users read the tree through it
    link = base / 'ansible_collections' / 'icr' / 'auth'
    link.parent.mkdir(parents=True)
    link.symlink_to(REPO)
    owner = os.getpid()
    # Only the process that made it removes it (a forked child inherits the atexit list).
    atexit.register(lambda: os.getpid() == owner and shutil.rmtree(str(base), ignore_errors=True))
    return str(base)


class PlayRun(object):
    def __init__(self, proc, records):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.records = records

    def results(self, task=None):
        return [r for r in self.records if task is None or r['task'] == task]

    def result(self, task, host='localhost'):
        found = [r for r in self.records if r['task'] == task and r['host'] == host]
        assert found, 'no result for task %r on %s; stdout:\n%s\nstderr:\n%s' % (task, host, self.stdout[-3000:], self.stderr[-3000:])
        return found[-1]

    @property
    def text(self):
        return self.stdout + self.stderr + json.dumps(self.records)


def run_play(tmp_path, tasks, play_vars=None, secret_vars=None, env=None, args=(), inventory=None, hosts='localhost'):
    """Write a playbook (secrets in a 0600 vars file, never on a command line) and run it."""
    tmp = pathlib.Path(tmp_path)
    tmp.mkdir(parents=True, exist_ok=True)
    vars_file = tmp / 'secret-vars.json'
    vars_file.write_text(json.dumps(secret_vars or {}))
    os.chmod(str(vars_file), 0o600)
    play = [{'name': 'test play', 'hosts': hosts, 'gather_facts': False, 'vars_files': [str(vars_file)],
             'vars': play_vars or {}, 'tasks': tasks}]
    playbook = tmp / 'play.json'
    playbook.write_text(json.dumps(play))
    results = tmp / ('results-%d.jsonl' % len(list(tmp.glob('results-*.jsonl'))))
    full_env = dict(os.environ)
    full_env.update({
        'ANSIBLE_COLLECTIONS_PATH': collections_path(),
        'ANSIBLE_CALLBACK_PLUGINS': str(HERE / 'callback_plugins'),
        'ANSIBLE_CALLBACKS_ENABLED': 'result_file',
        'ICR_TEST_RESULT_FILE': str(results),
        'ANSIBLE_LOCALHOST_WARNING': 'false',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_LOCAL_TEMP': str(tmp / 'ansible-local'),
        'XDG_CACHE_HOME': str(tmp / 'cache'),
    })
    full_env.update(env or {})
    cmd = [str(BIN / 'ansible-playbook'), str(playbook)]
    cmd += ['-i', inventory] if inventory else ['-i', 'localhost,', '-c', 'local']
    cmd += list(args)
    proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=600, check=False)
    records = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    return PlayRun(proc, records)
