# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One ansible-playbook run, measured: wall time, the process tree's peak RSS and CPU, the recap, per-task timings."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

RECAP_LINE = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)'
                        r'\s+rescued=(\d+)\s+ignored=(\d+)\s*$', re.M)
RECAP_FIELDS = ('ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored')


def parse_recap(text: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines -> {host: {ok, changed, unreachable, failed, skipped, rescued, ignored}}."""
    return {m.group(1): dict(zip(RECAP_FIELDS, (int(v) for v in m.groups()[1:]))) for m in RECAP_LINE.finditer(text)}


@dataclasses.dataclass
class Measured:
    """What one process run gave: exit code, wall seconds, peak RSS (KiB) of its largest process, CPU seconds."""

    rc: int
    wall: float
    maxrss_kib: int
    cpu: float


# Linux starts the peak RSS it reports for a process (ru_maxrss) at the peak of the memory the process replaced when it
# exec'd: a program this Python process starts reports at least this process's own peak, which grows as the results
# pile up (a child's /bin/true reports the 200 MB its parent once held). So argv runs under a launcher, a bare Python
# started from here that carries that inherited peak itself: it forks and execs argv, which inherits only the
# launcher's few MB, reaps it with wait4() and writes argv's wait status, peak RSS (KiB), CPU and wall seconds to a
# pipe (the wall time without the launcher's own start).
LAUNCHER = """
import os, sys, time
os.set_inheritable(int(sys.argv[1]), False)  # argv's tree (ControlPersist masters too) never holds the pipe open
started = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as exc:
        os.write(2, ('bench launcher: cannot run %s: %s\\n' % (sys.argv[2], exc)).encode())
    os._exit(127)
_pid, status, usage = os.wait4(pid, 0)
wall = time.monotonic() - started
os.write(int(sys.argv[1]), b'%d %d %.6f %.6f' % (status, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, wall))
"""


def run_measured(argv: Sequence[str], *, env: Mapping[str, str], cwd: str, log_path: str, timeout: float = 1800.0) -> Measured:
    """Run argv with stdout+stderr into log_path, under LAUNCHER: the CPU and peak RSS of argv's whole reaped tree, not
    counting what this process held. On a timeout, or when this process is interrupted, the whole tree is killed."""
    read_fd, write_fd = os.pipe()
    try:
        with open(log_path, 'w', encoding='utf-8') as log:
            started = time.monotonic()
            proc = subprocess.Popen([sys.executable, '-I', '-S', '-c', LAUNCHER, str(write_fd)] + list(argv), env=dict(env),
                                    cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    pass_fds=(write_fd,), start_new_session=True)
            os.close(write_fd)
            write_fd = -1
            timed_out = False
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            except BaseException:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
            if timed_out:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            wall = time.monotonic() - started
        os.set_blocking(read_fd, False)
        try:
            report = os.read(read_fd, 256).split()
        except BlockingIOError:  # the launcher was killed before it wrote
            report = []
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    if len(report) != 4:  # killed before argv was reaped, or the launcher failed
        return Measured(proc.returncode if proc.returncode else -signal.SIGKILL, wall, 0, 0.0)
    return Measured(os.waitstatus_to_exitcode(int(report[0])), float(report[3]), int(report[1]), float(report[2]))


@dataclasses.dataclass
class PlayRun:
    """One timed run of one contender."""

    contender: str
    phase: str  # 'first', 'rerun' or 'once'
    n: int
    forks: int
    round: int
    rc: int
    wall: float
    maxrss_kib: int
    cpu: float
    load1: float
    recap: dict[str, dict[str, int]]
    counters: dict[str, int]
    timer: dict[str, Any]
    files_rewritten: int | None = None
    log_path: str = ''

    @property
    def ok(self) -> bool:
        return self.rc == 0 and len(self.recap) == self.n and all(
            c['failed'] == 0 and c['unreachable'] == 0 for c in self.recap.values())

    @property
    def changed_hosts(self) -> int:
        return sum(1 for counts in self.recap.values() if counts['changed'] > 0)

    def task_durations(self, task_name: str) -> list[float]:
        """Per-host durations (start to result, seen by the controller) of the task with that name."""
        for task in self.timer.get('tasks', []):
            if task['name'] == task_name:
                return [end - start for start, end, _status in task['hosts'].values() if start is not None and end is not None]
        return []

    def task_spans(self) -> list[tuple[str, float]]:
        """(task name, seconds from the task's start to its last host's result), in play order."""
        spans = []
        for task in self.timer.get('tasks', []):
            ends = [h[1] for h in task['hosts'].values() if h[1] is not None]
            spans.append((task['name'], (max(ends) - task['start']) if ends else 0.0))
        return spans

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data['ok'] = self.ok
        data['changed_hosts'] = self.changed_hosts
        return data


def load_timer(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding='utf-8') as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def median(values: Sequence[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
