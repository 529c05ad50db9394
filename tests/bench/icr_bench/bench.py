# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The benchmark itself: start the emulator, a real registry, a dockerd and an SSH fleet; run every contender in
alternating order; probe the modules on one host; profile when a target is missed."""

from __future__ import annotations

import base64
import dataclasses
import glob
import importlib.metadata
import importlib.util
import io
import json
import os
import pwd
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from typing import Any, Callable

from icr_emulator import Emulator
from icr_infra import Dockerd, Registry, SshFleet

from . import plan
from .contenders import (ALTERNATIVES, BY_KEY, CONTENDERS, CREDENTIAL_ALONE, MODULE_ALONE, NEEDS_SUDO, ROLES, Contender,
                         rotated, select)
from .machine import LoadMeter, loadavg
from .report import summarize_profile
from .runs import PlayRun, load_timer, parse_recap, run_measured

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/bench
REPO = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)
DEFAULT_FORKS = 5
API_KEY_NAME = 'svc-reader'
HELPER_PROFILE = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'  # the emulator's profile-reader, linked to its instance
# Variables of the caller's shell that would change what the runs do.
FOREIGN_ENV = ('IBMCLOUD_API_KEY', 'IC_API_KEY', 'IBMCLOUD_IAM_ENDPOINT', 'DOCKER_CONFIG', 'DOCKER_HOST', 'DOCKER_CONTEXT',
               'REGISTRY_AUTH_FILE', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR', 'HTTPS_PROXY', 'https_proxy',
               'HTTP_PROXY', 'http_proxy', 'PYTHONPATH', 'PYTHONDONTWRITEBYTECODE')
# Modules whose payload and run time on a host are probed: (contender, module file name, variants).
PROBES = (
    ('floor1', 'ping', ('again',)),
    ('role_apikey', 'icr_login', ('fresh', 'again')),
    ('docker_login', 'docker_login', ('fresh', 'again')),
    ('podman_login', 'podman_login', ('fresh', 'again')),
    ('docker_command', 'command', ('again',)),
)


@dataclasses.dataclass
class Settings:
    sizes: tuple[int, ...]
    repeats: int  # the most rounds of any size (diagnosis rounds)
    tuned_forks: str  # 'half' (max(5, ceil(N/2))) or a number
    profile: str  # 'auto' (when a target is missed), 'always', 'never'
    probe_repeats: int
    keep: bool
    keep_users: bool
    prefix: str = 'icrbench'
    contenders: str = ''  # BENCH_CONTENDERS: comma-separated keys ('' = all); their floors are always added
    rounds: dict[int, int] = dataclasses.field(default_factory=dict)  # rounds per size (plan.parse_rounds)
    slicing: bool = True  # ansible-runner and sliced jobs (BENCH_SLICING=0 leaves them out)
    credential_rounds: int = 5  # icr_credential alone on the controller: first run + cached run, this many times

    def forks_for(self, n: int) -> list[int]:
        return plan.forks_for(n, self.tuned_forks)

    def rounds_for(self, n: int) -> int:
        return self.rounds.get(n, self.repeats)


def zip_entries(path: str) -> dict[str, list[int]]:
    """{file: [size, compressed size]} of the zip an AnsiballZ file carries (its longest base64 literal)."""
    with open(path, encoding='utf-8', errors='replace') as handle:
        text = handle.read()
    runs = re.findall(r'[A-Za-z0-9+/]{1000,}={0,2}', text)
    if not runs:
        return {}
    try:
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(max(runs, key=len)))) as archive:
            return {info.filename: [info.file_size, info.compress_size] for info in archive.infolist()}
    except (ValueError, zipfile.BadZipFile):
        return {}


def pids_of(uids: set[int]) -> list[int]:
    """PIDs of the processes whose owner is one of uids (one scan of /proc)."""
    pids = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                if os.stat('/proc/' + entry).st_uid in uids:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def remove_runtime_dirs(uids: set[int], tmp: str = '/tmp') -> list[str]:
    """Remove what rootless podman leaves in /tmp for a user without XDG_RUNTIME_DIR (podman-run-UID and
    containers-user-UID), for the given uids only and only when that uid owns it; returns the paths removed."""
    removed = []
    for uid in sorted(uids):
        for name in ('podman-run-%d' % uid, 'containers-user-%d' % uid):
            path = os.path.join(tmp, name)
            try:
                owner = os.lstat(path).st_uid
            except OSError:
                continue
            if owner == uid and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def stop_processes_of(uids: set[int], grace: float = 2.0) -> None:
    """SIGTERM every process of these (test) users, by PID; SIGKILL what is left after one grace period."""
    uids = {uid for uid in uids if uid != 0}
    if not uids:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = pids_of(uids)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + grace
        while pids and pids_of(uids) and time.monotonic() < deadline:
            time.sleep(0.05)


def mitogen_strategy_dir() -> str:
    spec = importlib.util.find_spec('ansible_mitogen')
    if spec is None or not spec.submodule_search_locations:
        return ''
    return os.path.join(list(spec.submodule_search_locations)[0], 'plugins', 'strategy')


def mitogen_facts() -> dict[str, str]:
    """Which mitogen and ansible-core the venv has (mitogen declares only a lowest Ansible, in ansible_mitogen.loaders)."""
    facts = {'ansible_core': importlib.metadata.version('ansible-core'), 'mitogen': ''}
    try:
        facts['mitogen'] = importlib.metadata.version('mitogen')
    except importlib.metadata.PackageNotFoundError:
        return facts
    loaders = os.path.join(os.path.dirname(mitogen_strategy_dir()), '..', 'loaders.py')
    try:
        with open(loaders, encoding='utf-8') as handle:
            text = handle.read()
        for name in ('ANSIBLE_VERSION_MIN', 'ANSIBLE_VERSION_MAX'):
            match = re.search(r'^%s\s*=\s*(\([^)]*\))' % name, text, re.M)
            if match:
                facts[name.lower()] = match.group(1)
    except OSError:
        pass
    return facts


def say(text: str) -> None:
    print(text, flush=True)


class Bench:
    """Everything one `make bench` starts, runs and measures."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.work = ''
        self.emulator: Emulator | None = None
        self.registry: Registry | None = None
        self.dockerd: Dockerd | None = None
        self.fleet: SshFleet | None = None
        self.api_key = ''
        self.inventories: dict[int, str] = {}
        self.runs: list[PlayRun] = []
        self.warmups: list[PlayRun] = []
        self.meters: dict[int, LoadMeter] = {}
        self.probes: dict[str, Any] = {}
        self.profiles: dict[str, Any] = {}
        self.diagnosis: list[PlayRun] = []
        self.controller_runs: list[PlayRun] = []
        self.slicing: dict[str, Any] = {}
        self.notes: list[str] = []
        self.fleet_seconds: dict[str, float] = {}
        self.mitogen: dict[str, Any] = {}
        self.memory: dict[str, Any] = {}
        self._count = 0
        self.contenders = select(settings.contenders)
        # Called after each fleet size is measured (python -m icr_bench saves the figures so far, so that a run stopped
        # later still leaves them).
        self.checkpoint: Callable[[int], None] | None = None

    # ------------------------------------------------------------------------------------------------ set-up
    def start(self) -> None:
        self.work = tempfile.mkdtemp(prefix='icr-bench-')
        os.chmod(self.work, 0o755)  # the fleet's users read hostlib/ and docker-bin/ in here
        for sub in ('logs', 'vars', 'timers', 'ansible-local', 'ansible-home', 'profiles'):
            os.makedirs(os.path.join(self.work, sub))
        link = os.path.join(self.work, 'collections', 'ansible_collections', 'icr', 'auth')
        os.makedirs(os.path.dirname(link))
        os.symlink(REPO, link, target_is_directory=True)
        self._host_tools()
        self.emulator = Emulator(state_dir=os.path.join(self.work, 'emulator-state'))
        self.emulator.start()
        self.api_key = self.emulator.apikey(API_KEY_NAME)
        info = self.emulator.info()
        self.registry = Registry(info['realm'], info['registry_issuer'], info['registry_cert'], service=info['registry_service'])
        self.registry.start()
        self.dockerd = Dockerd()
        self.dockerd.start()
        # The fleet's users talk to this dockerd (docker_login, docker login): they may traverse its dir and use the socket.
        os.chmod(self.dockerd.dir, 0o711)
        os.chmod(self.dockerd.socket_path, 0o666)
        started = time.monotonic()
        sudo = any(c.key in NEEDS_SUDO for c in self.contenders)  # the helper is installed as root on each host
        self.fleet = SshFleet(max(self.settings.sizes), prefix=self.settings.prefix, forks=DEFAULT_FORKS, sudo=sudo)
        self.fleet.start()
        self.fleet_seconds = {'start': time.monotonic() - started, 'users': self.fleet.users_seconds or 0.0,
                              'created': len(self.fleet.created_users)}
        say('bench: fleet of %d users behind sshd on 127.0.0.1:%d (%.1f s; %d users created)'
            % (len(self.fleet.users), self.fleet.port, time.monotonic() - started, len(self.fleet.created_users)))
        self._write_ansible_files()
        self._mitogen_check()

    def _host_tools(self) -> None:
        """requests for docker_login on the hosts (PYTHONPATH), and a PATH holding only the docker CLI."""
        hostlib = os.path.join(self.work, 'hostlib')
        source = os.environ.get('BENCH_HOSTLIB', '')
        if source and os.path.isdir(os.path.join(source, 'requests')):
            shutil.copytree(source, hostlib)
        else:
            subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', hostlib,
                            'requests'], check=True, capture_output=True)
        docker_bin = os.path.join(self.work, 'docker-bin')
        os.makedirs(docker_bin)
        docker = shutil.which('docker')
        if not docker:
            raise RuntimeError('bench: no docker CLI on PATH: run .ci/install-deps.sh')
        os.symlink(os.path.realpath(docker), os.path.join(docker_bin, 'docker'))
        for root, dirs, files in os.walk(self.work):
            for name in dirs + files:
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o755 if os.path.isdir(path) else 0o644)

    def _write_ansible_files(self) -> None:
        assert self.fleet is not None
        self.cfg_path = os.path.join(self.work, 'ansible.cfg')
        with open(self.cfg_path, 'w', encoding='utf-8') as handle:
            handle.write('\n'.join([
                '[defaults]',
                'host_key_checking = False',
                'forks = %d' % DEFAULT_FORKS,
                'retry_files_enabled = False',
                'interpreter_python = auto_silent',
                'timeout = 30',
                'local_tmp = %s' % os.path.join(self.work, 'ansible-local'),
                'callback_plugins = %s' % os.path.join(HERE, 'callback_plugins'),
                'callbacks_enabled = bench_timer',
                '',
                '[ssh_connection]',
                'pipelining = True',
                'control_path_dir = %s' % self.fleet.control_path_dir,
                'ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null'
                ' -o StrictHostKeyChecking=no -o LogLevel=ERROR',
                '',
            ]))
        for n in self.settings.sizes:
            lines = ['[fleet]']
            for user in self.fleet.users[:n]:
                host_vars = dict(self.fleet.host_vars(user))
                host_vars['bench_authfile'] = os.path.join(self.fleet.home_of(user), '.config', 'containers', 'auth.json')
                lines.append(user + ' ' + ' '.join('%s=%s' % item for item in host_vars.items()))
            path = os.path.join(self.work, 'inventory-%d.ini' % n)
            with open(path, 'w', encoding='utf-8') as handle:
                handle.write('\n'.join(lines) + '\n')
            self.inventories[n] = path

    def stop(self) -> None:
        for part in (self.fleet, self.dockerd, self.registry, self.emulator):
            if part is not None:
                try:
                    part.stop()
                except Exception as exc:  # pylint: disable=broad-exception-caught
                    say('bench: stopping %s: %s' % (type(part).__name__, exc))
        if self.fleet is not None and not self.settings.keep_users:
            started = time.monotonic()
            uids = set()
            for user in self.fleet.created_users:
                try:
                    uids.add(pwd.getpwnam(user).pw_uid)
                except KeyError:
                    pass
            # rootless podman's pause process outlives its user: stop every such process (by PID) first, all users at
            # once (one grace period, not one per user: 200 users with podman would otherwise wait minutes)
            stop_processes_of(uids)
            for user in self.fleet.created_users:
                subprocess.run(['userdel', '--remove', '--force', user], capture_output=True, check=False)
            remove_runtime_dirs(uids)
            if self.fleet.created_users:
                say('bench: removed the %d users it created in %.1f s' % (len(self.fleet.created_users), time.monotonic() - started))
            self.fleet.created_users = []
        if self.work and not self.settings.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    # ------------------------------------------------------------------------------------------------ helpers
    def users(self, n: int) -> list[str]:
        assert self.fleet is not None
        return self.fleet.users[:n]

    def env(self, timer_file: str = '') -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV and not k.startswith('ANSIBLE_')}
        env.update({
            'ANSIBLE_CONFIG': self.cfg_path,
            'ANSIBLE_HOME': os.path.join(self.work, 'ansible-home'),
            'ANSIBLE_COLLECTIONS_PATH': os.path.join(self.work, 'collections'),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_LOCALHOST_WARNING': 'false',
            'XDG_CACHE_HOME': os.path.join(self.work, 'xdg-cache'),
            'IBMCLOUD_API_KEY': self.api_key,
            'ICR_BENCH_TIMER_FILE': timer_file,
        })
        return env

    def play_vars(self, contender: Contender) -> dict[str, Any]:
        assert self.emulator is not None and self.registry is not None and self.dockerd is not None
        if contender.kind in ('role', 'helper', 'strategy', 'controller'):
            variables: dict[str, Any] = {
                'docker_auth_iam_endpoint': self.emulator.url,
                'docker_auth_registries': [self.registry.host],
                'docker_auth_cache_dir': os.path.join(self.work, 'controller-cache'),
            }
            variables.update(dict(contender.role_vars))
            if contender.kind == 'helper':
                # Each host its own prefix under the work dir (nothing in /usr/local or /etc); the hosts' metadata
                # service is the emulator's (its default instance may use HELPER_PROFILE).
                prefix = os.path.join(self.work, 'helper', '{{ inventory_hostname }}')
                variables.update({
                    'docker_auth_identity': 'vpc_trusted_profile',
                    'docker_auth_trusted_profile': HELPER_PROFILE,
                    'docker_auth_metadata_endpoint': self.emulator.metadata_url,
                    'docker_auth_helper_path': os.path.join(prefix, 'bin', 'docker-credential-icr'),
                    'docker_auth_helper_config_path': os.path.join(prefix, 'etc', 'credential-helper.json'),
                })
            return variables
        if contender.kind == 'alternative':
            return {
                'bench_registry': self.registry.host,
                'bench_docker_host': self.dockerd.host,
                'bench_host_pythonpath': os.path.join(self.work, 'hostlib'),
                'bench_docker_path': os.path.join(self.work, 'docker-bin'),
            }
        return {}

    def strategy_env(self, contender: Contender) -> dict[str, str]:
        if not contender.strategy:
            return {}
        env = {'ANSIBLE_STRATEGY': contender.strategy}
        if contender.strategy.startswith('mitogen'):
            env['ANSIBLE_STRATEGY_PLUGINS'] = mitogen_strategy_dir()
        return env

    def estimate(self) -> dict[int, float]:
        """plan.estimate for this run's settings and contenders (seconds per size; -1: everything else)."""
        linear = [c for c in self.contenders if not c.strategy]
        phases = {c.key: len(c.phases) for c in linear}
        kinds = {c.key: c.kind for c in linear}
        strategy_runs = sum(len(c.phases) for c in self.contenders if c.strategy)
        small = min(self.settings.sizes)
        extra = (60.0 + 0.3 * max(self.settings.sizes)  # services; users created and removed
                 + sum(plan.run_seconds(small) for _c in self.contenders)  # warm-up
                 + 60.0 + 8 * plan.run_seconds(1)  # probes, helper get, icr_credential alone
                 + (9 * 2 * plan.run_seconds(min(self.settings.sizes, key=lambda s: abs(s - 20))) if self.settings.slicing else 0.0)
                 + 15 * plan.run_seconds(min(20, small)))  # diagnosis and profiles
        return plan.estimate(self.settings.sizes, {n: self.settings.rounds_for(n) for n in self.settings.sizes}, phases,
                             kinds, strategy_runs=strategy_runs, extra_s=extra)

    def _mitogen_check(self) -> None:
        """Drop mitogen's contenders when mitogen is not installed, or does not run with this ansible-core (the note says
        which versions were tried)."""
        wanted = [c for c in self.contenders if c.strategy.startswith('mitogen')]
        if not wanted:
            return
        facts = mitogen_facts()
        problem = ''
        if not facts.get('mitogen'):
            problem = 'mitogen is not installed in the venv (pip install -r requirements-bench.txt)'
        else:
            run = self.run(BY_KEY['floor1_mitogen'], 'check', 1, 1, -1, extra=('--limit', self.fleet.users[0]) if self.fleet else (),
                           inventory=self.inventories.get(min(self.settings.sizes), ''))
            if not run.ok:
                with open(run.log_path, encoding='utf-8', errors='replace') as handle:
                    tail = ' '.join(handle.read()[-600:].split())
                problem = 'a one-host ping under mitogen_linear failed: %s' % tail
        self.mitogen = dict(facts, ok=not problem, problem=problem)
        if problem:
            say('bench: mitogen left out: ' + problem)
            self.notes.append('mitogen %s with ansible-core %s: %s'
                              % (facts.get('mitogen') or '(none)', facts['ansible_core'], problem))
            self.contenders = tuple(c for c in self.contenders if not c.strategy.startswith('mitogen'))

    def close_masters(self) -> None:
        """Every run starts with cold SSH connections, as a CI or AWX job does."""
        assert self.fleet is not None
        cp_dir = self.fleet.control_path_dir
        for entry in os.listdir(cp_dir):
            subprocess.run(['ssh', '-o', 'ControlPath=' + os.path.join(cp_dir, entry), '-O', 'exit', 'bench'],
                           capture_output=True, check=False, timeout=30)

    def reset_hosts(self, n: int, controller_cache: bool = True) -> None:
        """A fresh fleet: no user has a registry file; the role's controller cache is empty."""
        assert self.fleet is not None
        for user in self.users(n):
            home = self.fleet.home_of(user)
            for sub in ('.docker', os.path.join('.config', 'containers'), os.path.join('.cache', 'docker-credential-icr')):
                shutil.rmtree(os.path.join(home, sub), ignore_errors=True)
            shutil.rmtree(os.path.join(self.work, 'helper', user), ignore_errors=True)
        if controller_cache:
            shutil.rmtree(os.path.join(self.work, 'controller-cache'), ignore_errors=True)

    def registry_files(self, n: int) -> dict[str, tuple[int, int]]:
        assert self.fleet is not None
        state = {}
        for user in self.users(n):
            home = self.fleet.home_of(user)
            for rel in (os.path.join('.docker', 'config.json'), os.path.join('.config', 'containers', 'auth.json')):
                path = os.path.join(home, rel)
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                state[path] = (info.st_ino, info.st_mtime_ns)
        return state

    # ------------------------------------------------------------------------------------------------ one run
    def run(self, contender: Contender, phase: str, n: int, forks: int, rnd: int, *, extra: tuple[str, ...] = (),
            env_extra: dict[str, str] | None = None, wrapper: tuple[str, ...] = (), inventory: str = '') -> PlayRun:
        assert self.emulator is not None
        self._count += 1
        tag = '%04d-%s-%s-n%d-f%d' % (self._count, contender.key, phase, n, forks)
        vars_path = os.path.join(self.work, 'vars', tag + '.json')
        with open(vars_path, 'w', encoding='utf-8') as handle:
            json.dump(self.play_vars(contender), handle)
        timer_path = os.path.join(self.work, 'timers', tag + '.json')
        log_path = os.path.join(self.work, 'logs', tag + '.log')
        self.close_masters()
        before_files = self.registry_files(n) if phase == 'rerun' else None
        env = self.env(timer_path)
        env.update(self.strategy_env(contender))
        env.update(env_extra or {})
        argv = list(wrapper) + [os.path.join(BIN, 'ansible-playbook'), '-i', inventory or self.inventories[n], contender.path,
                                '--forks', str(forks), '-e', '@' + vars_path] + list(extra)
        counters = self.emulator.counters()
        load1 = loadavg()[0]
        measured = run_measured(argv, env=env, cwd=self.work, log_path=log_path)
        after = self.emulator.counters()
        with open(log_path, encoding='utf-8', errors='replace') as handle:
            output = handle.read()
        rewritten = None
        if before_files is not None:
            now = self.registry_files(n)
            rewritten = sum(1 for path, state in before_files.items() if now.get(path) != state)
        return PlayRun(contender=contender.key, phase=phase, n=n, forks=forks, round=rnd, rc=measured.rc, wall=measured.wall,
                       maxrss_kib=measured.maxrss_kib, cpu=measured.cpu, load1=load1, recap=parse_recap(output),
                       counters={k: after[k] - counters.get(k, 0) for k in after}, timer=load_timer(timer_path),
                       files_rewritten=rewritten, log_path=log_path)

    def _report_run(self, run: PlayRun, prefix: str = '') -> None:
        flag = '' if run.ok else '  FAILED (rc=%d, log %s)' % (run.rc, run.log_path)
        say('%s[N=%-2d forks=%-2d round %d] %-15s %-6s %6.2f s  changed %2d/%-2d  IAM %d  registry token %3d  RSS %4.0f MB  load %.2f%s'
            % (prefix, run.n, run.forks, run.round + 1, run.contender, run.phase, run.wall, run.changed_hosts, run.n,
               run.counters.get('iam_token', 0), run.counters.get('registry_token', 0), run.maxrss_kib / 1024, run.load1, flag))
        if not run.ok:
            with open(run.log_path, encoding='utf-8', errors='replace') as handle:
                tail = handle.read()[-3000:]
            say('---- tail of %s\n%s\n----' % (run.log_path, tail))

    def run_unit(self, contender: Contender, n: int, forks: int, rnd: int, *, warmup: bool = False) -> list[PlayRun]:
        results = []
        for phase in contender.phases:
            if phase == 'first':
                self.reset_hosts(n)
            result = self.run(contender, phase, n, forks, rnd)
            self._report_run(result, 'warm-up ' if warmup else '')
            results.append(result)
            if warmup:
                break
        return results

    # ------------------------------------------------------------------------------------------------ the measurement
    def warm_up(self) -> None:
        """One untimed run of each contender on the largest fleet: the controller's byte code, podman's per-user
        storage and the page cache are then warm for every contender alike."""
        say('bench: warm-up, one untimed run of each contender (the alternatives on the largest fleet they run on, for '
            'podman\'s per-user storage; the others on the smallest)')
        for contender in self.contenders:
            sizes = [n for n in self.settings.sizes if contender in self.contenders_at(n)]
            if sizes:
                n = max(sizes) if contender.kind == 'alternative' else min(sizes)
                self.warmups += self.run_unit(contender, n, DEFAULT_FORKS, -1, warmup=True)

    def contenders_at(self, n: int) -> tuple[Contender, ...]:
        """The alternatives up to plan.ALTERNATIVES_MAX_N hosts; other strategies at plan.STRATEGY_SIZES (or the smallest
        size when none of those is measured); the role, its floors and the helper at every size."""
        kinds = {c.key: c.kind for c in self.contenders}
        keep = set(plan.contenders_at(n, [c.key for c in self.contenders], kinds))
        strategy_sizes = [m for m in self.settings.sizes if m in plan.STRATEGY_SIZES] or [min(self.settings.sizes)]
        return tuple(c for c in self.contenders if c.key in keep and (not c.strategy or n in strategy_sizes))

    def measure(self) -> None:
        for n in self.settings.sizes:
            forks_list = self.settings.forks_for(n)
            forks_text = '/'.join(map(str, forks_list))
            rounds = self.settings.rounds_for(n)
            here = self.contenders_at(n)
            say('bench: N=%d, forks %s, %d rounds, %d contenders in rotating order' % (n, forks_text, rounds, len(here)))
            meter = LoadMeter().start()
            for rnd in range(rounds):
                order = forks_list if rnd % 2 == 0 else list(reversed(forks_list))
                for forks in order:
                    # other strategies at the default forks only
                    for contender in rotated(tuple(c for c in here if not c.strategy or forks == DEFAULT_FORKS), rnd):
                        self.runs += self.run_unit(contender, n, forks, rnd)
            self.meters[n] = meter.stop()
            say('bench: N=%d took %.0f s; the machine was %.2f cores busy on average, %.2f of them by other processes'
                % (n, meter.wall, meter.busy_cores, meter.foreign_cores))
            if self.checkpoint is not None:
                self.checkpoint(n)

    # ------------------------------------------------------------------------------------------------ the controller alone
    def credential_alone(self) -> None:
        """icr_credential on localhost, the role's arguments for iambearer (validated): a first run with an empty cache
        dir, then a run with the token cached; the callback times the task."""
        contender = CREDENTIAL_ALONE
        say('bench: icr_credential alone on the controller, %d rounds (first run, then cached)' % self.settings.credential_rounds)
        for rnd in range(self.settings.credential_rounds):
            for phase in contender.phases:
                if phase == 'first':
                    shutil.rmtree(os.path.join(self.work, 'controller-cache'), ignore_errors=True)
                run = self.run(contender, phase, 1, 1, rnd, inventory='localhost,')
                self._report_run(run, 'controller ')
                self.controller_runs.append(run)

    # ------------------------------------------------------------------------------------------------ ansible-runner, slices
    def _runner_dir(self, name: str, hosts: list[str], n: int, cache_dir: str) -> str:
        """A private data directory as AWX lays it out: project/ (the playbook), inventory/hosts, env/extravars,
        env/settings, env/envvars (no secret: the API key comes from the environment, as AWX's credential injects it)."""
        pdd = os.path.join(self.work, 'runner', name)
        for sub in ('project', 'inventory', 'env'):
            os.makedirs(os.path.join(pdd, sub), exist_ok=True)
        shutil.copy(BY_KEY['role_bearer'].path, os.path.join(pdd, 'project', 'role.yml'))
        shutil.copy(self.inventories[n], os.path.join(pdd, 'inventory', 'hosts'))
        variables = self.play_vars(BY_KEY['role_bearer'])
        variables['docker_auth_cache_dir'] = cache_dir
        # ansible-runner writes its whole environment to artifacts/<ident>/command: the key is not in the environment,
        # but in a 0600 file read on the controller (as a vault or a mounted credential file would be)
        variables['docker_auth_api_key'] = "{{ lookup('ansible.builtin.file', %r) }}" % self._runner_key_file()
        with open(os.path.join(pdd, 'env', 'extravars'), 'w', encoding='utf-8') as handle:
            json.dump(variables, handle)
        with open(os.path.join(pdd, 'env', 'settings'), 'w', encoding='utf-8') as handle:
            json.dump({'suppress_ansible_output': True, 'job_timeout': 1800, 'idle_timeout': 600}, handle)
        with open(os.path.join(pdd, 'env', 'envvars'), 'w', encoding='utf-8') as handle:
            json.dump({'ANSIBLE_CONFIG': self.cfg_path, 'ANSIBLE_COLLECTIONS_PATH': os.path.join(self.work, 'collections'),
                       'ANSIBLE_HOME': os.path.join(self.work, 'ansible-home')}, handle)
        with open(os.path.join(pdd, 'limit'), 'w', encoding='utf-8') as handle:
            handle.write(plan.limit_pattern(hosts))
        return pdd

    def _runner_key_file(self) -> str:
        path = os.path.join(self.work, 'runner-key', 'api_key')
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w', encoding='utf-8') as handle:
                handle.write(self.api_key)
        return path

    def _secret_files(self, pdds: list[str]) -> list[str]:
        """Files of the private data directories (artifacts included) that hold the API key: there must be none."""
        found = []
        for pdd in pdds:
            for root, _dirs, files in os.walk(pdd):
                for name in files:
                    path = os.path.join(root, name)
                    try:
                        with open(path, encoding='utf-8', errors='replace') as handle:
                            if self.api_key in handle.read():
                                found.append(os.path.relpath(path, pdd))
                    except OSError:
                        pass
        return found

    def _runner_argv(self, pdd: str) -> list[str]:
        with open(os.path.join(pdd, 'limit'), encoding='utf-8') as handle:
            limit = handle.read()
        return [os.path.join(BIN, 'ansible-runner'), 'run', pdd, '-p', 'role.yml', '--limit', limit]

    def slicing_case(self, n: int, k: int, mode: str, shared: bool) -> dict[str, Any]:
        """k slices of the first n hosts, one after another ('sequential') or at once ('concurrent'), with one cache dir
        for all ('shared') or one each."""
        assert self.emulator is not None
        self.reset_hosts(n)
        self.close_masters()
        tag = 'n%d-k%d-%s-%s' % (n, k, mode, 'shared' if shared else 'separate')
        cache_root = os.path.join(self.work, 'runner-cache', tag)
        parts = plan.slices(self.users(n), k)
        pdds = [self._runner_dir('%s-slice%d' % (tag, i + 1), hosts, n,
                                 os.path.join(cache_root, 'shared' if shared else 'slice%d' % (i + 1)))
                for i, hosts in enumerate(parts)]
        env = self.env('')
        env.pop('IBMCLOUD_API_KEY', None)
        env['PATH'] = BIN + os.pathsep + env.get('PATH', '/usr/bin:/bin')
        before = self.emulator.counters()
        started = time.monotonic()
        rcs = []
        logs = [os.path.join(self.work, 'logs', 'runner-%s-slice%d.log' % (tag, i + 1)) for i in range(len(pdds))]
        if mode == 'sequential':
            for pdd, log in zip(pdds, logs):
                rcs.append(run_measured(self._runner_argv(pdd), env=env, cwd=self.work, log_path=log).rc)
        else:
            procs = []
            for pdd, log in zip(pdds, logs):
                handle = open(log, 'w', encoding='utf-8')  # pylint: disable=consider-using-with
                procs.append((subprocess.Popen(self._runner_argv(pdd), env=env, cwd=self.work, stdout=handle,
                                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), handle))
            for proc, handle in procs:
                rcs.append(proc.wait(timeout=1800))
                handle.close()
        wall = time.monotonic() - started
        after = self.emulator.counters()
        changed = 0
        for pdd in pdds:
            for stdout in glob.glob(os.path.join(pdd, 'artifacts', '*', 'stdout')):
                with open(stdout, encoding='utf-8', errors='replace') as handle:
                    changed += sum(1 for c in parse_recap(handle.read()).values() if c['changed'] > 0)
        case = {'n': n, 'k': k, 'mode': mode, 'shared': shared, 'wall': wall, 'rcs': rcs, 'hosts': [len(p) for p in parts],
                'iam_token': after.get('iam_token', 0) - before.get('iam_token', 0),
                'registry_token': after.get('registry_token', 0) - before.get('registry_token', 0), 'changed_hosts': changed}
        leaked = self._secret_files(pdds)
        case['secret_files'] = len(leaked)
        if leaked:  # never keep them, even with BENCH_KEEP=1
            say('bench: the API key is in %s of a private data dir: removed' % ', '.join(sorted(set(leaked))))
            for pdd in pdds:
                shutil.rmtree(os.path.join(pdd, 'artifacts'), ignore_errors=True)
        say('runner [N=%d k=%d %-10s %-8s] %6.2f s  rc %s  IAM %d  registry token %d  changed %d/%d' % (
            n, k, mode, 'shared' if shared else 'separate', wall, rcs, case['iam_token'], case['registry_token'], changed, n))
        if any(rcs):
            say('---- tail of %s\n%s\n----' % (logs[rcs.index(next(r for r in rcs if r))], open(
                logs[rcs.index(next(r for r in rcs if r))], encoding='utf-8', errors='replace').read()[-2000:]))
        return case

    def runner_slicing(self) -> None:
        """The role through ansible-runner (k=1), then sliced k=2 and 3: one after another and at once, the controller
        token cache shared by the slices or one per slice; the emulator counts the IAM exchanges."""
        runner = os.path.join(BIN, 'ansible-runner')
        if not os.path.exists(runner):
            self.slicing = {'error': 'ansible-runner is not installed in the venv (pip install -r requirements-bench.txt)'}
            say('bench: ' + self.slicing['error'])
            return
        n = min(self.settings.sizes, key=lambda size: (abs(size - 20), size))  # N=20 when measured
        say('bench: ansible-runner and AWX-style slices on %d hosts' % n)
        cases = [self.slicing_case(n, 1, 'sequential', True)]
        for k in (2, 3):
            for mode in ('sequential', 'concurrent'):
                for shared in (True, False):
                    cases.append(self.slicing_case(n, k, mode, shared))
        version = ''
        try:
            version = importlib.metadata.version('ansible-runner')
        except importlib.metadata.PackageNotFoundError:
            pass
        plain = [r for r in self.runs if r.contender == 'role_bearer' and r.phase == 'first' and r.n == n
                 and r.forks == DEFAULT_FORKS]
        self.slicing = {'cases': cases, 'runner_version': version, 'n': n,
                        'playbook_wall': statistics.median([r.wall for r in plain]) if plain else None}

    # ------------------------------------------------------------------------------------------------ one host
    def probe_modules(self) -> None:
        """Payload (AnsiballZ file kept on the host) and run time on the host of each module, against ping's."""
        assert self.fleet is not None
        user = self.fleet.users[0]
        entry = pwd.getpwnam(user)
        tmp_root = os.path.join(entry.pw_dir, '.ansible', 'tmp')
        say('bench: module payload and run time on one host (%s), %d runs each' % (user, self.settings.probe_repeats))
        for key, module, variants in PROBES:
            contender = BY_KEY[key]
            if contender not in self.contenders:
                continue
            self.reset_hosts(1)
            shutil.rmtree(tmp_root, ignore_errors=True)
            run = self.run(contender, 'probe', 1, 1, -1, extra=('--limit', user), inventory=self.inventories[min(self.inventories)],
                           env_extra={'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_PIPELINING': 'False'})
            files = sorted(glob.glob(os.path.join(tmp_root, 'ansible-tmp-*', 'AnsiballZ_%s.py' % module)), key=os.path.getmtime)
            if run.rc != 0 or not files:
                say('bench: probe of %s failed (rc=%d, log %s)' % (module, run.rc, run.log_path))
                self.probes[module] = {'error': 'see %s' % run.log_path}
                continue
            payload = files[-1]
            result: dict[str, Any] = {'contender': key, 'payload_bytes': os.path.getsize(payload), 'zip': zip_entries(payload),
                                      'controller_task_seconds': run.task_durations(contender.host_task)}
            env = {'HOME': entry.pw_dir, 'USER': user, 'LOGNAME': user, 'LANG': 'C.UTF-8',
                   'PATH': '/usr/local/bin:/usr/bin:/bin'}
            if key == 'docker_login':
                env['PYTHONPATH'] = os.path.join(self.work, 'hostlib')
            if key == 'docker_command':
                env['PATH'] = os.path.join(self.work, 'docker-bin')
            for variant in variants:
                times = []
                for _attempt in range(self.settings.probe_repeats):
                    if variant == 'fresh':
                        self.reset_hosts(1, controller_cache=False)
                    started = time.monotonic()
                    proc = subprocess.run([self.fleet.python_interpreter, payload], env=env, cwd=entry.pw_dir, user=entry.pw_uid,
                                          group=entry.pw_gid, extra_groups=[], capture_output=True, text=True, timeout=120,
                                          check=False)
                    times.append(time.monotonic() - started)
                    if proc.returncode != 0:
                        say('bench: %s on the host failed: %s' % (module, (proc.stdout + proc.stderr)[-500:]))
                        break
                result[variant] = times
            if module in ('icr_login', 'ping'):
                result['profile'] = self._profile_on_host(payload, env, entry, module)
            self.probes[module] = result
            shutil.rmtree(tmp_root, ignore_errors=True)  # the kept files hold the module arguments
            if module == 'icr_login':
                self.probes['icr_login_pipelined'] = self._probe_pipelined(env, entry, key)
        self.reset_hosts(1)

    def _probe_pipelined(self, env: dict[str, str], entry: Any, key: str) -> dict[str, Any]:
        """What a host is sent for icr_login with pipelining on (the role's task, no network on the host): the script
        the action plugin builds (plugin_utils._login_pipelined.script, the same function), run on the host Python's
        standard input as the host user, as ssh runs it. The script holds the key: it is never written to a file."""
        sys.path.insert(0, os.path.join(self.work, 'collections'))
        try:
            from ansible_collections.icr.auth.plugins.plugin_utils._login_pipelined import checked_params, script
        finally:
            sys.path.pop(0)
        assert self.registry is not None
        checked = checked_params({'registries': [self.registry.host], 'password': self.api_key})
        assert checked is not None
        program = script(checked[0], False, False)
        result: dict[str, Any] = {'contender': key, 'payload_bytes': len(program), 'kind': 'pipelined'}
        for variant in ('fresh', 'again'):
            times = []
            for _attempt in range(self.settings.probe_repeats):
                if variant == 'fresh':
                    self.reset_hosts(1, controller_cache=False)
                started = time.monotonic()
                proc = subprocess.run([self.fleet.python_interpreter], input=program, env=env, cwd=entry.pw_dir,
                                      user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], capture_output=True,
                                      timeout=120, check=False)
                times.append(time.monotonic() - started)
                if proc.returncode != 0 or b'"failed": true' in proc.stdout:
                    say('bench: icr_login (pipelined) on the host failed: %s' % proc.stderr.decode(errors='replace')[-500:])
                    return {'error': 'the pipelined run failed on the host'}
            result[variant] = times
        return result

    # ------------------------------------------------------------------------------------------------ profiles
    def _profile_on_host(self, payload: str, env: dict[str, str], entry: Any, module: str, runs: int = 5) -> dict[str, Any]:
        """py-spy over the module's AnsiballZ file run as the host user (file in place), a few runs summed."""
        pyspy = os.path.join(BIN, 'py-spy')
        if not os.path.exists(pyspy):
            return {}
        out = os.path.join(self.work, 'profiles', 'host-%s.txt' % module)
        lines: list[str] = []
        scratch = tempfile.mkdtemp(prefix='icr-bench-spy-')  # py-spy runs as the host user: a dir it may write
        os.chown(scratch, entry.pw_uid, entry.pw_gid)
        # A copy the host user can run: BENCH_VENV may be in a directory only root may enter (/root).
        pyspy = shutil.copy(pyspy, os.path.join(scratch, 'py-spy'))
        os.chmod(pyspy, 0o755)
        for attempt in range(runs):
            part = os.path.join(scratch, '%d.txt' % attempt)
            subprocess.run([pyspy, 'record', '--rate', '1000', '--format', 'raw', '--nonblocking', '--output', part, '--',
                            self.fleet.python_interpreter if self.fleet else '/usr/bin/python3', payload],
                           env=env, cwd=entry.pw_dir, user=entry.pw_uid, group=entry.pw_gid, extra_groups=[],
                           capture_output=True, timeout=120, check=False)
            try:
                with open(part, encoding='utf-8', errors='replace') as handle:
                    lines += handle.read().splitlines()
            except OSError:
                pass
        shutil.rmtree(scratch, ignore_errors=True)
        with open(out, 'w', encoding='utf-8') as handle:
            handle.write('\n'.join(lines) + '\n')
        summary = summarize_profile(out, 1000 * runs)  # CPU seconds per run
        return {'cpu': summary['cpu'], 'top': summary['top'][:8], 'runs': runs}

    def profile(self, n: int) -> None:
        """py-spy over the whole ansible-playbook process tree: the role against its floor, same fleet, same forks."""
        pyspy = os.path.join(BIN, 'py-spy')
        if not os.path.exists(pyspy):
            say('bench: py-spy not installed in the venv: no profile')
            return
        say('bench: profiling the controller (py-spy, all processes) on %d hosts' % n)
        for contender in (BY_KEY['floor1'], BY_KEY['role_apikey'], BY_KEY['floor2'], BY_KEY['role_bearer']):
            phases = contender.phases
            for phase in phases:
                if phase == 'first':
                    self.reset_hosts(n)
                out = os.path.join(self.work, 'profiles', '%s-%s.txt' % (contender.key, phase))
                wrapper = (pyspy, 'record', '--subprocesses', '--rate', '200', '--format', 'raw', '--nonblocking', '--output', out,
                           '--')
                run = self.run(contender, phase, n, DEFAULT_FORKS, -1, wrapper=wrapper)
                self._report_run(run, 'profile ')
                summary = summarize_profile(out, 200)
                summary.update({'wall': run.wall, 'n': n, 'spans': run.task_spans()})
                self.profiles['%s:%s' % (contender.key, phase)] = summary

    def diagnose(self, n: int) -> None:
        """floor1, icr_login alone and the role (iamapikey, no validation), first runs in rotating order, default forks:
        what the module costs against ping, and what the role around it costs."""
        units = (BY_KEY['floor1'], MODULE_ALONE, BY_KEY['role_apikey'])
        say('bench: diagnosis on %d hosts: %s, %d rounds' % (n, ', '.join(u.key for u in units), self.settings.repeats))
        for rnd in range(self.settings.repeats):
            for contender in rotated(units, rnd):
                phase = contender.phases[0]
                if phase == 'first':
                    self.reset_hosts(n)
                run = self.run(contender, phase, n, DEFAULT_FORKS, rnd)
                self._report_run(run, 'diagnosis ')
                self.diagnosis.append(run)

    # ------------------------------------------------------------------------------------------------ controller memory
    def memory_profile(self, n: int) -> None:
        """Where the controller's memory goes with the role under `roles:`: one first run of role_apikey on n hosts with
        the callback bench_memory (tracemalloc in the controller's process, per task); then the validation task alone,
        on n hosts that need no connection, for roles whose argument specifications differ only in size."""
        contender = BY_KEY['role_apikey']
        say('bench: the controller\'s memory per task (tracemalloc), %s on %d hosts' % (contender.key, n))
        self.reset_hosts(n)
        memory_file = os.path.join(self.work, 'memory-%s-n%d.json' % (contender.key, n))
        run = self.run(contender, 'first', n, DEFAULT_FORKS, -1, env_extra={
            'ANSIBLE_CALLBACKS_ENABLED': 'bench_timer,bench_memory', 'ICR_BENCH_MEMORY_FILE': memory_file,
            'ICR_BENCH_HOSTS': str(n)})
        self._report_run(run, 'memory ')
        tasks = []
        if os.path.exists(memory_file):
            with open(memory_file, encoding='utf-8') as handle:
                tasks = json.load(handle)['tasks']
        self.memory = {'n': n, 'forks': DEFAULT_FORKS, 'contender': contender.key, 'rc': run.rc, 'rss_mb': run.maxrss_kib / 1024,
                       'tasks': tasks, 'spec_sizes': self.spec_sizes(n)}

    def spec_sizes(self, n: int) -> list[dict[str, Any]]:
        """ansible-core's validation task of a role listed under `roles:`, alone: n hosts (ansible_connection local; the
        task needs no connection), a role whose only other task runs once, and an argument specification of four sizes:
        none, one option, docker_auth's options without their docs, docker_auth's whole meta/argument_specs.yml."""
        import yaml  # pylint: disable=import-outside-toplevel  # ansible-core's dependency, in the venv

        with open(os.path.join(REPO, 'roles', 'docker_auth', 'meta', 'argument_specs.yml'), encoding='utf-8') as handle:
            whole = yaml.safe_load(handle)

        def undocumented(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: undocumented(v) for k, v in value.items()
                        if k not in ('description', 'short_description', 'author', 'version_added', 'notes')}
            if isinstance(value, list):
                return [undocumented(v) for v in value]
            return value

        variants = (('no argument specification', None),
                    ('one option', {'argument_specs': {'main': {'options': {'option': {'type': 'str', 'default': 'x'}}}}}),
                    ("docker_auth's options without their docs", {'argument_specs': {'main': undocumented(whole['argument_specs']['main'])}}),
                    ("docker_auth's meta/argument_specs.yml", whole))
        base = os.path.join(self.work, 'spec-sizes')
        inventory = os.path.join(base, 'inventory.ini')
        os.makedirs(base, exist_ok=True)
        with open(inventory, 'w', encoding='utf-8') as handle:
            handle.write('[all]\n' + ''.join('spec%03d ansible_connection=local\n' % i for i in range(n)))
        cases = []
        for index, (label, spec) in enumerate(variants):
            role = os.path.join(base, 'roles', 'spec%d' % index)
            os.makedirs(os.path.join(role, 'tasks'), exist_ok=True)
            with open(os.path.join(role, 'tasks', 'main.yml'), 'w', encoding='utf-8') as handle:
                handle.write('- name: Once\n  ansible.builtin.debug:\n    msg: once\n  run_once: true\n')
            if spec is not None:
                os.makedirs(os.path.join(role, 'meta'), exist_ok=True)
                with open(os.path.join(role, 'meta', 'argument_specs.yml'), 'w', encoding='utf-8') as handle:
                    yaml.safe_dump(spec, handle)
            playbook = os.path.join(base, 'spec%d.yml' % index)
            with open(playbook, 'w', encoding='utf-8') as handle:
                handle.write('- hosts: all\n  gather_facts: false\n  roles: [spec%d]\n' % index)
            rss = []
            for _round in range(2):
                measured = run_measured([os.path.join(BIN, 'ansible-playbook'), '-i', inventory, playbook, '--forks', str(DEFAULT_FORKS)],
                                        env=self.env(), cwd=base, log_path=os.path.join(base, 'spec%d.log' % index))
                rss.append(measured.maxrss_kib / 1024 if measured.rc == 0 else None)
            options = len(((spec or {}).get('argument_specs', {}).get('main', {}) or {}).get('options', {}))
            cases.append({'label': label, 'options': options, 'rss_mb': rss})
            say('bench: validation task alone, %s (%d options): peak RSS %s MB'
                % (label, options, ' / '.join('%.0f' % v if v is not None else 'failed' for v in rss)))
        return cases

    # ------------------------------------------------------------------------------------------------ results
    def results(self) -> dict[str, Any]:
        return {
            'settings': dataclasses.asdict(self.settings),
            'runs': [r.to_json() for r in self.runs],
            'warmups': [r.to_json() for r in self.warmups],
            'load': {str(n): {'wall': m.wall, 'busy_cores': m.busy_cores, 'foreign_cores': m.foreign_cores,
                              'load_start': m.load_start, 'load_end': m.load_end} for n, m in self.meters.items()},
            'probes': self.probes,
            'profiles': self.profiles,
            'diagnosis': [r.to_json() for r in self.diagnosis],
            'controller_runs': [r.to_json() for r in self.controller_runs],
            'slicing': self.slicing,
            'mitogen': self.mitogen,
            'memory': self.memory,
            'fleet_seconds': self.fleet_seconds,
            'notes': self.notes,
            'plan': {str(n): {'rounds': self.settings.rounds_for(n), 'forks': self.settings.forks_for(n),
                              'contenders': [c.key for c in self.contenders_at(n)]} for n in self.settings.sizes},
            'contenders': {c.key: dataclasses.asdict(c) for c in CONTENDERS + (MODULE_ALONE,)},
            'roles': [c.key for c in ROLES if c in self.contenders],
            'alternatives': [c.key for c in ALTERNATIVES if c in self.contenders],
            'selected': [c.key for c in self.contenders],
        }
