# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared pieces of the reliability suite (tests/functional/test_rel_*.py).

- file snapshots (bytes, mode, owner) and leftover temp files;
- local test users (``icrrela``, ``icrrelb``) with homes in a temp dir, made and removed by the suite;
- PullLoop: pulls in a loop as each user, one thread each, while a test changes their credentials (the rotation tests);
- a ledger: with ``ICR_REL_LEDGER=FILE`` each test appends what it tried, how often and what held, so that
  docs/reliability.md is filled from what really ran;
- a driver, run as ``python rel_support.py login PARAMS.json GATE``: a separate process that imports the
  collection's own code and runs one ``Login(...).run()`` once the gate file exists (many start together).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pathlib
import pwd
import re
import stat
import subprocess
import sys
import tempfile
import threading
import time

from playrunner import collections_path

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent

# The collection as Ansible ships it, for child processes (driver_env's PYTHONPATH); in the tests' own process
# conftest.py has put it on sys.path.
COLLECTIONS = collections_path()

USER_A = 'icrrela'
USER_B = 'icrrelb'
TEMP_RE = re.compile(r'^\..+\.[^.]+\.tmp$')   # what write_atomic's mkstemp names look like: .config.json.XXXX.tmp
JWT_RE = re.compile(r'eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}')


# ------------------------------------------------------------------------------------------------ files

def snapshot(path):
    """(bytes, mode, uid, gid) of a file (not following a final symlink for the metadata), or None."""
    path = str(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    content = None
    if stat.S_ISREG(st.st_mode):
        with open(path, 'rb') as handle:
            content = handle.read()
    elif stat.S_ISLNK(st.st_mode):
        content = ('-> ' + os.readlink(path)).encode()
    return content, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def temp_leftovers(directory):
    """Names of write_atomic temp files (.NAME.XXXX.tmp) in a directory."""
    try:
        names = os.listdir(str(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n for n in names if TEMP_RE.match(n))


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def auth_entries(path):
    """(the parsed file, {registry host: decoded "username:password"}) of a config.json or auth.json."""
    data = json.loads(path.read_text())
    return data, dict((host, base64.b64decode(e['auth']).decode()) for host, e in data['auths'].items())


def shared_tmpdir(prefix):
    """A temp dir every local user can traverse (pytest's tmp_path is 0700 root, which would hide it from them)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(str(path), 0o755)
    return path


# ------------------------------------------------------------------------------------------------ users

def _passwd_tool(argv):
    """useradd/userdel fail while another process holds the passwd lock: try again."""
    result = None
    for attempt in range(30):
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode == 0 or 'lock' not in (result.stderr or '').lower():
            return result
        time.sleep(0.1 * (attempt + 1))
    return result


def create_user(name, home):
    """A local user with its home at ``home`` (0700, owned by the user). Replaces a leftover of an earlier run."""
    try:
        pwd.getpwnam(name)
        _passwd_tool(['userdel', '--force', name])
    except KeyError:
        pass
    result = _passwd_tool(['useradd', '--no-create-home', '--home-dir', str(home), '--shell', '/usr/sbin/nologin',
                           '--password', '*', '--user-group', name])
    if result.returncode != 0:
        raise RuntimeError('useradd %s failed: %s' % (name, result.stderr))
    entry = pwd.getpwnam(name)
    os.makedirs(str(home), exist_ok=True)
    os.chown(str(home), entry.pw_uid, entry.pw_gid)
    os.chmod(str(home), 0o700)
    return entry


def remove_user(name):
    _passwd_tool(['userdel', '--force', name])
    try:
        import grp
        grp.getgrnam(name)
        _passwd_tool(['groupdel', name])
    except KeyError:
        pass


@contextlib.contextmanager
def temporary_users(stem, count=2):
    """count local users <stem><pid>a, <stem><pid>b, ... with homes in a directory every user can traverse; removed
    (with their homes) afterwards."""
    import shutil
    base = shared_tmpdir(stem + '-homes-')
    names = ['%s%d%s' % (stem, os.getpid() % 100000, chr(ord('a') + n)) for n in range(count)]
    made = []
    try:
        for name in names:
            made.append(create_user(name, base / name))
        yield made
    finally:
        for entry in made:
            remove_user(entry.pw_name)
        shutil.rmtree(str(base), ignore_errors=True)


def as_user(entry, func, *args):
    """Run func(*args) in a forked child with the user's real identity; returns (ok, repr of exception or None)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            try:
                func(*args)
                os.write(write_fd, b'ok')
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                os.write(write_fd, ('%s: %s' % (type(exc).__name__, exc)).encode()[:2000])
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks = []
    while True:
        chunk = os.read(read_fd, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    answer = b''.join(chunks).decode()
    return answer == 'ok', (None if answer == 'ok' else answer)


class PullLoop(object):
    """pull(user, ref) in a loop for each user (by name), one thread each, from the start of the with block to its end;
    counts each user's successes (ok) and keeps the failures (user, time, the end of stderr).

    pull returns a CompletedProcess; pull_once(user) is one more pull, outside the loop."""

    def __init__(self, users, ref, pull, pause=0.1):
        self.ref = ref
        self.pull = pull
        self.pause = pause
        self.ok = dict((u, 0) for u in users)
        self.failures = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(u,), daemon=True) for u in users]

    def pull_once(self, user):
        return self.pull(user, self.ref)

    def _loop(self, user):
        while not self._stop.is_set():
            done = self.pull_once(user)
            if done.returncode == 0:
                self.ok[user] += 1
            else:
                self.failures.append((user, time.time(), done.stderr.strip()[-500:]))
            self._stop.wait(self.pause)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join()


# ------------------------------------------------------------------------------------------------ ledger

_PENDING = []


def record(attack, times, held, test):
    """One row of the reliability table (attack, how many times it was tried, what held), for $ICR_REL_LEDGER.

    The row is kept back until the test's outcome is known (conftest.py calls settle_ledger): a test that records
    what held and then fails an assertion must not leave "held" in the ledger.
    """
    if os.environ.get('ICR_REL_LEDGER'):
        _PENDING.append({'attack': attack, 'times': times, 'held': held, 'test': test,
                         'at': time.strftime('%Y-%m-%dT%H:%M:%S')})


def settle_ledger(outcome):
    """Write the rows the test that just ran recorded: as they are if it passed (or was an expected failure, whose
    rows say NOT HELD themselves), else each marked as not held."""
    rows = list(_PENDING)
    del _PENDING[:]
    path = os.environ.get('ICR_REL_LEDGER')
    if not path or not rows:
        return
    with open(path, 'a') as handle:
        for row in rows:
            if outcome not in ('passed', 'xfailed'):
                row['held'] = 'NOT HELD: the test %s, so what it was about to claim is not recorded' % outcome
            handle.write(json.dumps(row) + '\n')


# ------------------------------------------------------------------------------------------------ driver

def login_command(params_file, gate_file):
    return [sys.executable, str(pathlib.Path(__file__).resolve()), 'login', str(params_file), str(gate_file)]


def open_gate(gate_file, count, timeout=120):
    """Wait until ``count`` drivers are ready (imports done), then let them all go at once."""
    gate_file = str(gate_file)
    directory, name = os.path.split(gate_file)
    deadline = time.monotonic() + timeout
    while sum(1 for n in os.listdir(directory) if n.startswith(name + '.ready.')) < count:
        if time.monotonic() > deadline:
            raise AssertionError('only some drivers became ready within %d s' % timeout)
        time.sleep(0.01)
    with open(gate_file, 'w') as handle:
        handle.write('go')


def max_overlap(results):
    """The largest number of driver runs that were inside Login.run() at the same moment."""
    events = sorted([(r['span'][0], 1) for r in results] + [(r['span'][1], -1) for r in results])
    best = level = 0
    for _when, step in events:
        level += step
        best = max(best, level)
    return best


def driver_env(extra=None):
    env = dict(os.environ)
    env['PYTHONPATH'] = COLLECTIONS
    env.update(extra or {})
    return env


def _driver_login(params_file, gate_file):  # pragma: no cover - runs in the child processes
    from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError
    from ansible_collections.icr.auth.plugins.module_utils._login import Login
    with open(params_file) as handle:
        params = json.load(handle)
    with open('%s.ready.%d' % (gate_file, os.getpid()), 'w'):
        pass
    deadline = time.monotonic() + 60
    while not os.path.exists(gate_file):
        if time.monotonic() > deadline:
            print(json.dumps({'failed': True, 'msg': 'gate never opened'}))
            return 3
        time.sleep(0.001)
    started = time.time()
    try:
        result = Login(params).run()
    except IcrAuthError as exc:
        print(json.dumps({'failed': True, 'msg': exc.msg}))
        return 1
    result['span'] = [started, time.time()]
    print(json.dumps(result, default=str))
    return 0


def main(argv):  # pragma: no cover - runs in the child processes
    if len(argv) == 4 and argv[1] == 'login':
        return _driver_login(argv[2], argv[3])
    sys.stderr.write('usage: rel_support.py login PARAMS.json GATE\n')
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
