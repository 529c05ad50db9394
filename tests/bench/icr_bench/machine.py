# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Facts about the machine, and how busy it is: load average, and the CPU that processes other than ours used."""

from __future__ import annotations

import datetime
import os
import platform
import re
import resource
import shutil
import subprocess
import time

CLK_TCK = os.sysconf('SC_CLK_TCK')


def _first_line(argv: list[str]) -> str:
    if not shutil.which(argv[0]):
        return 'not installed'
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return 'unknown (%s)' % exc
    text = (proc.stdout or proc.stderr).strip()
    return text.splitlines()[0] if text else 'unknown'


def _read(path: str) -> str:
    try:
        with open(path, encoding='utf-8') as handle:
            return handle.read()
    except OSError:
        return ''


def facts() -> dict[str, str]:
    """What a reader needs to judge the figures: CPU, cores, memory, OS, and the versions of what ran."""
    cpu = re.search(r'^model name\s*:\s*(.+)$', _read('/proc/cpuinfo'), re.M)
    mem = re.search(r'^MemTotal:\s*(\d+) kB', _read('/proc/meminfo'), re.M)
    os_name = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', _read('/etc/os-release'), re.M)
    return {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'cpu': cpu.group(1).strip() if cpu else platform.processor() or 'unknown',
        'cores': str(os.cpu_count()),
        'memory': '%.1f GiB' % (int(mem.group(1)) / 1024 / 1024) if mem else 'unknown',
        'os': '%s, kernel %s' % (os_name.group(1) if os_name else platform.system(), platform.release()),
        'python': platform.python_version(),
        'openssh': _first_line(['ssh', '-V']),
        'docker': _first_line(['docker', '--version']),
        'podman': _first_line(['podman', '--version']),
    }


def loadavg() -> tuple[float, float, float]:
    parts = _read('/proc/loadavg').split()
    return (float(parts[0]), float(parts[1]), float(parts[2])) if len(parts) >= 3 else (0.0, 0.0, 0.0)


def cpu_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (user, nice, system, irq, softirq, steal)."""
    fields = _read('/proc/stat').splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    busy = sum(values[i] for i in (0, 1, 2, 5, 6, 7) if i < len(values))
    return busy / CLK_TCK


def _proc_stat(pid: int) -> tuple[int, list[str]] | None:
    text = _read('/proc/%d/stat' % pid)
    if not text:
        return None
    rest = text[text.rfind(')') + 2:].split()
    return int(rest[1]), rest  # ppid, fields from "state" on


def own_cpu_seconds() -> float:
    """CPU seconds used by this process and every process it started (alive or reaped).

    Reaped descendants come from getrusage; live ones (sshd, dockerd, the registry, ...) from /proc, including what
    they have reaped themselves. Detached processes (ssh ControlPersist masters) are not counted.
    """
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    parents: dict[int, int] = {}
    fields: dict[int, list[str]] = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            stat = _proc_stat(int(name))
            if stat:
                parents[int(name)], fields[int(name)] = stat
    me = os.getpid()
    for pid in parents:
        ancestor, hops = parents.get(pid), 0
        while ancestor and ancestor != me and hops < 64:
            ancestor, hops = parents.get(ancestor), hops + 1
        if ancestor == me:
            # utime, stime, cutime, cstime are fields 14-17 of /proc/PID/stat; "state" is field 3.
            total += sum(int(v) for v in fields[pid][11:15]) / CLK_TCK
    return total


class LoadMeter:
    """Busy CPU of the whole machine against the CPU our own process tree used, between start() and stop()."""

    def __init__(self) -> None:
        self.wall = self.busy = self.own = 0.0
        self._start = (0.0, 0.0, 0.0)
        self.load_start = self.load_end = (0.0, 0.0, 0.0)

    def start(self) -> LoadMeter:
        self.load_start = loadavg()
        self._start = (time.monotonic(), cpu_busy_seconds(), own_cpu_seconds())
        return self

    def stop(self) -> LoadMeter:
        now = (time.monotonic(), cpu_busy_seconds(), own_cpu_seconds())
        self.wall, self.busy, self.own = (now[i] - self._start[i] for i in range(3))
        self.load_end = loadavg()
        return self

    @property
    def foreign_cores(self) -> float:
        """Average number of cores that other processes kept busy (never below 0)."""
        return max(0.0, self.busy - self.own) / self.wall if self.wall > 0 else 0.0

    @property
    def busy_cores(self) -> float:
        return self.busy / self.wall if self.wall > 0 else 0.0


def idle_probe(seconds: float = 5.0) -> LoadMeter:
    """How busy the machine is while this benchmark does nothing: the other users' load."""
    meter = LoadMeter().start()
    time.sleep(seconds)
    return meter.stop()
