# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Entry point of `make bench` (scripts/bench.sh): python -m icr_bench, settings from the environment.

BENCH_SIZES=20,50,200  fleet sizes
BENCH_REPEATS=       rounds: '' = 3 below 50 hosts, 2 from 50; a number for every size; or 20:3,50:3,200:2
BENCH_FORKS=half     tuned forks: N/2 (at least 5, at most 25) or a number; the default 5 always runs too
BENCH_SLICING=1      ansible-runner and AWX-style slices (0: leave them out)
BENCH_PROFILE=auto   py-spy profile when a target is missed (always / never)
BENCH_PROBE_REPEATS=7  runs of each module on one host
BENCH_OUT=docs/benchmarks.md                BENCH_RESULTS=build/bench/results.json
BENCH_KEEP=1         keep the work dir (logs, timers, profiles)   BENCH_KEEP_USERS=1  keep the fleet's users
BENCH_CONTENDERS=    only these contenders (comma-separated keys, with their floors), e.g. role_helper; '' = all

python -m icr_bench render [results.json]: write BENCH_OUT again from the figures of a run, without running anything.
python -m icr_bench helper-get: only one `docker-credential-icr get` against `python3 -c pass` (no root); figures to
BENCH_HELPER_RESULTS (build/bench/helper-get.json), the table to stdout. BENCH_HELPER_ROUNDS=30 rounds,
BENCH_HELPER_PYTHON=/usr/bin/python3 (the hosts' Python). `make bench` runs it too, into its results and page.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import signal
import sys
import time

from . import helper_get, machine, plan, report
from .bench import REPO, Bench, Settings, say
from .contenders import select

DEFAULT_SIZES = ','.join(map(str, plan.DEFAULT_SIZES))


def _settings() -> Settings:
    sizes = tuple(sorted({int(s) for s in os.environ.get('BENCH_SIZES', DEFAULT_SIZES).replace(' ', '').split(',') if s}))
    if not sizes or min(sizes) < 1:
        raise SystemExit('bench: BENCH_SIZES must list fleet sizes such as 5,20,50')
    try:
        rounds = plan.parse_rounds(os.environ.get('BENCH_REPEATS', ''), sizes)
    except ValueError as exc:
        raise SystemExit('bench: %s' % exc) from None
    profile = os.environ.get('BENCH_PROFILE', 'auto')
    if profile not in ('auto', 'always', 'never'):
        raise SystemExit('bench: BENCH_PROFILE is auto, always or never')
    contenders = os.environ.get('BENCH_CONTENDERS', '').replace(' ', '')
    try:
        select(contenders)
    except ValueError as exc:
        raise SystemExit('bench: %s' % exc) from None
    return Settings(sizes=sizes, repeats=max(rounds.values()), rounds=rounds,
                    slicing=os.environ.get('BENCH_SLICING', '1') != '0', tuned_forks=os.environ.get('BENCH_FORKS', 'half'), profile=profile,
                    probe_repeats=int(os.environ.get('BENCH_PROBE_REPEATS', '7')),
                    keep=os.environ.get('BENCH_KEEP') == '1', keep_users=os.environ.get('BENCH_KEEP_USERS') == '1',
                    contenders=contenders)


def _command(settings: Settings) -> str:
    parts = []
    if ','.join(map(str, settings.sizes)) != DEFAULT_SIZES:
        parts.append('BENCH_SIZES=' + ','.join(map(str, settings.sizes)))
    if settings.rounds != plan.parse_rounds('', settings.sizes):
        parts.append('BENCH_REPEATS=' + ','.join('%d:%d' % item for item in sorted(settings.rounds.items())))
    if settings.tuned_forks != 'half':
        parts.append('BENCH_FORKS=' + settings.tuned_forks)
    if settings.contenders and settings.contenders != 'all':
        parts.append('BENCH_CONTENDERS=' + settings.contenders)
    return ' '.join(parts + ['make bench'])


def _versions(facts: dict[str, str]) -> None:
    try:
        facts['ansible'] = 'ansible-core %s, ansible %s' % (importlib.metadata.version('ansible-core'),
                                                            importlib.metadata.version('ansible'))
    except importlib.metadata.PackageNotFoundError:
        facts['ansible'] = 'ansible-core %s (the ansible package is missing)' % importlib.metadata.version('ansible-core')
    found = []
    for name in ('community/docker', 'containers/podman'):
        for path in sys.path:
            manifest = os.path.join(path, 'ansible_collections', name, 'MANIFEST.json')
            if os.path.exists(manifest):
                with open(manifest, encoding='utf-8') as handle:
                    found.append('%s %s' % (name.replace('/', '.'), json.load(handle)['collection_info']['version']))
                break
    facts['collections'] = ', '.join(found) or 'none found'


def render(results_path: str, out: str) -> int:
    with open(results_path, encoding='utf-8') as handle:
        saved = json.load(handle)
    report.write(out, report.render(saved['data'], saved['facts'], saved.get('command', 'make bench')))
    say(report.stdout_summary(saved['data']))
    say('\nbench: wrote %s from %s' % (out, results_path))
    return 0


def helper_python() -> str:
    """The hosts' Python (tests/infra's fleet runs /usr/bin/python3), or BENCH_HELPER_PYTHON."""
    python = os.environ.get('BENCH_HELPER_PYTHON', '') or ('/usr/bin/python3' if os.path.exists('/usr/bin/python3') else '')
    python = python or shutil.which('python3') or ''
    if not python or not os.path.isabs(python) or not os.access(python, os.X_OK):
        raise SystemExit('bench: no python3 for the credential helper; set BENCH_HELPER_PYTHON=/absolute/path/to/python3')
    return python


def main_helper_get() -> int:
    """`python -m icr_bench helper-get`: the credential helper's get alone, without root."""
    rounds = helper_get.rounds_from_env(os.environ)
    python = helper_python()
    path = os.environ.get('BENCH_HELPER_RESULTS', os.path.join(REPO, 'build', 'bench', 'helper-get.json'))
    say('bench: docker-credential-icr get against %s -c pass, %d rounds' % (python, rounds))
    facts = machine.facts()
    result = helper_get.measure(python, rounds, say=say)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump({'facts': facts, 'helper_get': result}, handle, indent=1, default=str)
    say('\n'.join(report.helper_get_section(result)))
    say('\nbench: wrote %s' % path)
    return 0


def main() -> int:
    out = os.environ.get('BENCH_OUT', os.path.join(REPO, 'docs', 'benchmarks.md'))
    results_path = os.environ.get('BENCH_RESULTS', os.path.join(REPO, 'build', 'bench', 'results.json'))
    if sys.argv[1:2] == ['render']:
        return render(sys.argv[2] if len(sys.argv) > 2 else results_path, out)
    if sys.argv[1:2] == ['helper-get']:
        return main_helper_get()
    if sys.argv[1:]:
        say('bench: unknown command %r; give none (the whole benchmark, as root), render [results.json] or helper-get'
            % sys.argv[1])
        return 2
    if os.geteuid() != 0:
        say('bench: needs root (it creates local users, runs sshd and a dockerd): run it as root')
        return 2
    settings = _settings()
    # Every exit path goes through bench.stop() (the finally below): SIGTERM and SIGHUP end the run like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_args: sys.exit(129))
    started = time.monotonic()
    sizes = ','.join(map(str, settings.sizes))
    say('bench: sizes %s, rounds %s, forks %s; results to %s' % (
        sizes, ', '.join('%d at N=%d' % (r, n) for n, r in sorted(settings.rounds.items())),
        ', '.join('%s at N=%d' % ('/'.join(map(str, settings.forks_for(n))), n) for n in settings.sizes), out))
    idle = machine.idle_probe(5.0)
    say('bench: before starting, load average %s; other processes keep %.2f cores busy' % (
        ' '.join('%.2f' % v for v in idle.load_end), idle.foreign_cores))
    facts = machine.facts()
    _versions(facts)
    bench = Bench(settings)
    planned = bench.estimate()
    say('bench: planned about %.0f minutes on 2 cores (%s; the rest %.0f s)' % (
        sum(planned.values()) / 60, ', '.join('N=%d %.0f s' % (n, s) for n, s in planned.items() if n > 0), planned[-1]))
    partial_path = os.path.splitext(results_path)[0] + '.partial.json'

    def checkpoint(n: int) -> None:
        """The figures so far, after each fleet size: a run stopped later still leaves them."""
        os.makedirs(os.path.dirname(os.path.abspath(partial_path)), exist_ok=True)
        with open(partial_path, 'w', encoding='utf-8') as handle:
            json.dump({'facts': facts, 'data': dict(bench.results(), partial='measured up to N=%d' % n),
                       'command': _command(settings)}, handle, indent=1, default=str)
        say('bench: figures so far in %s' % partial_path)

    bench.checkpoint = checkpoint
    try:
        bench.start()
        bench.warm_up()
        bench.measure()
        bench.probe_modules()
        bench.credential_alone()
        if settings.slicing:
            bench.runner_slicing()
        data = bench.results()
        try:
            data['helper_get'] = helper_get.measure(helper_python(), helper_get.rounds_from_env(os.environ), say=say)
        except RuntimeError as exc:  # the fleet's figures stay worth writing
            say(str(exc))
            data['helper_get'] = {'error': str(exc)}
        data['idle_probe'] = {'load': idle.load_end, 'foreign_cores': idle.foreign_cores}
        missed = [t for t in report.targets(report.Results(data)) if t[2] is False]
        profiled = {'floor1', 'role_apikey', 'floor2', 'role_bearer'} <= set(data['selected'])
        if profiled and (settings.profile == 'always' or (settings.profile == 'auto' and missed)):
            sizes = [n for n in settings.sizes if n <= 20] or [min(settings.sizes)]
            bench.diagnose(max(sizes))
            bench.profile(max(sizes))
            data['profiles'] = bench.profiles
            data['diagnosis'] = [r.to_json() for r in bench.diagnosis]
            data['notes'] = bench.notes
        if any(t[2] is False and t[0].startswith('controller peak memory') for t in missed):
            bench.memory_profile(max(settings.sizes))
            data['memory'] = bench.memory
        after = machine.loadavg()
        data['load_note'] = 'load average when the benchmark ended: %s; the whole run took %.0f s' % (
            ' '.join('%.2f' % v for v in after), time.monotonic() - started)
        os.makedirs(os.path.dirname(os.path.abspath(results_path)), exist_ok=True)
        with open(results_path, 'w', encoding='utf-8') as handle:
            json.dump({'facts': facts, 'data': data, 'command': _command(settings)}, handle, indent=1, default=str)
        text = report.render(data, facts, _command(settings))
        report.write(out, text)
        say(report.stdout_summary(data))
        say('\nbench: wrote %s and %s in %.0f s' % (out, results_path, time.monotonic() - started))
    finally:
        bench.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
