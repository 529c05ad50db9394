# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""run_measured: the peak RSS, CPU and exit code are the program's own, and nothing it started outlives a timeout or
an interrupted benchmark."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import uuid

BENCH = pathlib.Path(__file__).resolve().parent.parent

# A stand-in for the benchmark's own process, which holds MB of results by the time it starts a run: it first touches
# HELD_MB, then runs the program given and prints what run_measured says of it.
STAND_IN = '''
import json, os, sys
sys.path.insert(0, %r)
from icr_bench.runs import run_measured
held = bytearray(%d * 1024 * 1024)
for i in range(0, len(held), 4096):
    held[i] = 1
import signal
signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))  # as the benchmark's __main__ does
print('ready', flush=True)
m = run_measured(json.loads(sys.argv[1]), env=dict(os.environ), cwd=sys.argv[2], log_path=sys.argv[3], timeout=float(sys.argv[4]))
print(json.dumps([m.rc, m.maxrss_kib, m.cpu, m.wall]), flush=True)
'''
HELD_MB = 300


def _stand_in(tmp_path, argv, timeout=60.0):
    code = STAND_IN % (str(BENCH), HELD_MB)
    return subprocess.Popen([sys.executable, '-c', code, json.dumps(argv), str(tmp_path), str(tmp_path / 'run.log'), str(timeout)],
                            stdout=subprocess.PIPE, text=True)


def _measured(tmp_path, argv, timeout=60.0):
    proc = _stand_in(tmp_path, argv, timeout)
    out, _err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    return json.loads(out.splitlines()[-1])


def _running_with(token):
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                    if token.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_the_peak_rss_is_the_programs_own_not_the_benchmarks(tmp_path):
    # Started straight from a process that held 300 MB, `python -c pass` would report those 300 MB as its peak.
    rc, maxrss_kib, _cpu, _wall = _measured(tmp_path, [sys.executable, '-c', 'pass'])
    assert rc == 0
    assert maxrss_kib < 100 * 1024, 'the peak RSS of python -c pass was %d KiB: it counts the caller\'s memory' % maxrss_kib


def test_a_programs_own_peak_cpu_and_exit_code_are_measured(tmp_path):
    grow = ('import sys, time\nb = bytearray(150 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1\n'
            'end = time.process_time() + 0.3\nwhile time.process_time() < end: pass\nsys.exit(3)')
    rc, maxrss_kib, cpu, wall = _measured(tmp_path, [sys.executable, '-c', grow])
    assert rc == 3
    assert 150 * 1024 <= maxrss_kib < HELD_MB * 1024
    assert cpu >= 0.3 and wall >= 0.3


def test_a_program_that_cannot_start_says_so_in_its_log(tmp_path):
    rc, _maxrss, _cpu, _wall = _measured(tmp_path, [str(tmp_path / 'no-such-program')])
    assert rc == 127
    assert 'cannot run %s' % (tmp_path / 'no-such-program') in (tmp_path / 'run.log').read_text()


def _kill_all_with(token):
    """What a failed assertion would leave behind: every process with token in its arguments, killed."""
    for pid in _running_with(token):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _tree(token):
    """A program that starts a child and both sleep; both carry token in their arguments."""
    child = 'import time; time.sleep(300)'
    return [sys.executable, '-c', 'import subprocess, sys, time; subprocess.Popen([sys.executable, "-c", %r, %r]); '
            'time.sleep(300)' % (child, token), token]


def test_a_timeout_kills_the_programs_whole_tree(tmp_path):
    token = 'icr-bench-timeout-%s' % uuid.uuid4().hex
    started = time.monotonic()
    try:
        rc, _maxrss, _cpu, _wall = _measured(tmp_path, _tree(token), timeout=2.0)
        assert rc == -signal.SIGKILL
        assert time.monotonic() - started < 60
        assert _running_with(token) == []
    finally:
        _kill_all_with(token)


def test_an_interrupted_benchmark_leaves_nothing_running(tmp_path):
    token = 'icr-bench-interrupted-%s' % uuid.uuid4().hex
    proc = _stand_in(tmp_path, _tree(token))
    try:
        assert proc.stdout.readline().strip() == 'ready'
        deadline = time.monotonic() + 30

        def started():  # the launcher, the program and its child (the stand-in has the token in its arguments too)
            return [pid for pid in _running_with(token) if pid != proc.pid]
        while len(started()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(started()) == 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143
        assert _running_with(token) == []
    finally:
        _kill_all_with(token)
        proc.wait(timeout=30)
        proc.stdout.close()
