# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Turn the runs into medians, ratios, the targets' verdicts, and docs/benchmarks.md (also printed to stdout)."""

from __future__ import annotations

import collections
import os
import re
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

PHASE_LABEL = {'first': 'first run', 'rerun': 'rerun', 'once': '-'}
TARGET_SIZES = (20, 50, 200)
PAYLOAD_LIMIT = 1.10  # icr_login's payload <= 1.10 x ping's
HOST_RUN_LIMIT = 1.20  # icr_login's run on a host <= ping's + 20 %
CREDENTIAL_CACHED_S = 0.25  # icr_credential on the controller, token cached
MEMORY_MARGIN_MB = 10.0  # controller peak RSS at the largest N within 10 MB of the floor's
MEMORY_N = 200


def med(values: Iterable[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 2) -> str:
    return '-' if value is None else '%.*f' % (digits, value)


def span(values: Sequence[float], digits: int = 2) -> str:
    """'median (min-max)'."""
    values = [v for v in values if v is not None]
    if not values:
        return '-'
    if len(values) == 1:
        return fmt(values[0], digits)
    return '%s (%s-%s)' % (fmt(med(values), digits), fmt(min(values), digits), fmt(max(values), digits))


def int_range(values: Sequence[int]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return '-'
    low, high = min(values), max(values)
    return str(low) if low == high else '%d-%d' % (low, high)


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for _column in header) + '|']
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return lines


class Results:
    """Index of the runs by (N, forks, contender, phase)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.groups: dict[tuple[int, int, str, str], list[dict[str, Any]]] = collections.defaultdict(list)
        for run in data['runs']:
            self.groups[(run['n'], run['forks'], run['contender'], run['phase'])].append(run)
        self.sizes = sorted({k[0] for k in self.groups})
        self.contenders = data['contenders']

    def forks(self, n: int) -> list[int]:
        return sorted({k[1] for k in self.groups if k[0] == n})

    def runs(self, n: int, forks: int, key: str, phase: str) -> list[dict[str, Any]]:
        return sorted(self.groups.get((n, forks, key, phase), []), key=lambda r: r['round'])

    def walls(self, n: int, forks: int, key: str, phase: str) -> list[float]:
        return [r['wall'] for r in self.runs(n, forks, key, phase)]

    def wall(self, n: int, forks: int, key: str, phase: str) -> float | None:
        return med(self.walls(n, forks, key, phase))

    def floor_phase(self, key: str) -> str:
        return 'once' if self.contenders[key]['phases'] == ['once'] else 'first'

    def ratio(self, n: int, forks: int, num: tuple[str, str], den: tuple[str, str]) -> tuple[float | None, list[float]]:
        """Ratio of the medians, and the per-round ratios (paired by round) for the spread."""
        top, bottom = self.wall(n, forks, *num), self.wall(n, forks, *den)
        ratio = top / bottom if top and bottom else None
        tops = {r['round']: r['wall'] for r in self.runs(n, forks, *num)}
        bottoms = {r['round']: r['wall'] for r in self.runs(n, forks, *den)}
        paired = [tops[k] / bottoms[k] for k in sorted(tops) if k in bottoms and bottoms[k]]
        return ratio, paired


def ratio_text(ratio: float | None, paired: Sequence[float]) -> str:
    if ratio is None:
        return '-'
    if len(paired) > 1:
        return '%.2f (%.2f-%.2f)' % (ratio, min(paired), max(paired))
    return '%.2f' % ratio


def host_task_seconds(runs: Sequence[dict[str, Any]], task: str) -> list[float]:
    values = []
    for run in runs:
        for entry in run['timer'].get('tasks', []):
            if entry['name'] == task:
                values += [h[1] - h[0] for h in entry['hosts'].values() if h[0] is not None and h[1] is not None]
    return values


def task_spans(runs: Sequence[dict[str, Any]]) -> list[tuple[str, list[float]]]:
    spans: dict[str, list[float]] = collections.OrderedDict()
    for run in runs:
        for entry in run['timer'].get('tasks', []):
            ends = [h[1] for h in entry['hosts'].values() if h[1] is not None]
            spans.setdefault(entry['name'], []).append((max(ends) - entry['start']) if ends else 0.0)
    return list(spans.items())


def wall_tables(res: Results, strategy: bool = False) -> list[str]:
    """One table per (N, forks): the linear strategy's contenders, or (strategy=True) those under another strategy."""
    out = []
    for n in res.sizes:
        for forks in res.forks(n):
            rows = []
            for key, contender in res.contenders.items():
                if contender.get('strategy') and not strategy:
                    continue
                if strategy and not contender.get('strategy'):
                    continue
                for phase in contender['phases']:
                    runs = res.runs(n, forks, key, phase)
                    if not runs:
                        continue
                    floor = contender['floor'] or ('floor1' if contender['kind'] == 'alternative' else '')
                    vs_floor = '-'
                    if floor:
                        vs_floor = ratio_text(*res.ratio(n, forks, (key, phase), (floor, 'once')))
                    failed = sum(1 for r in runs if not r['ok'])
                    rows.append([
                        contender['label'] + (' **(%d failed)**' % failed if failed else ''),
                        PHASE_LABEL[phase],
                        span([r['wall'] for r in runs]),
                        vs_floor + (' (%s)' % floor if floor else ''),
                        int_range([r['counters'].get('iam_token', 0) for r in runs]),
                        int_range([r['counters'].get('registry_token', 0) for r in runs]),
                        int_range([r['changed_hosts'] for r in runs]),
                        int_range([r['files_rewritten'] for r in runs]) if phase == 'rerun' else '-',
                        fmt(med(r['maxrss_kib'] / 1024 for r in runs), 0),
                        fmt(med(r['cpu'] for r in runs), 1),
                        fmt(med(host_task_seconds(runs, contender['host_task'])), 2),
                    ])
            if not rows:
                continue
            out += ['', '#### N = %d hosts, forks = %d' % (n, forks), '']
            out += table(['contender', 'run', 'wall s: median (min-max)', 'x floor: median (per-round min-max)', 'IAM calls',
                          'registry token calls', 'hosts changed', 'files rewritten', 'peak RSS MB', 'controller CPU s',
                          'host task s (median per host)'], rows)
    return out


def speedup_tables(res: Results) -> list[str]:
    """How many times faster the role is than each alternative (alternative median / role median)."""
    alternatives = res.data['alternatives']
    if not alternatives or not res.data['roles']:
        return ['(not measured: BENCH_CONTENDERS left out the role or the alternatives)']
    header = ['N', 'forks', 'role', 'run'] + [res.contenders[a]['label'] for a in alternatives]
    rows = []
    for n in res.sizes:
        for forks in res.forks(n):
            for role in res.data['roles']:
                for phase in ('first', 'rerun'):
                    cells = []
                    for alt in alternatives:
                        ratio, paired = res.ratio(n, forks, (alt, phase), (role, phase))
                        cells.append(ratio_text(ratio, paired))
                    rows.append([str(n), str(forks), res.contenders[role]['label'], PHASE_LABEL[phase]] + cells)
    return table(header, rows)


def short_task(name: str, width: int = 72) -> str:
    name = name.split(' : ', 1)[-1]
    return name if len(name) <= width else name[:width - 3] + '...'


def breakdown_tables(res: Results) -> list[str]:
    """Where the wall time goes, task by task (from the first task's start to its last host's result)."""
    out = []
    for n in res.sizes:
        forks = res.forks(n)[0]
        pairs = (('floor1', 'once'), ('role_apikey', 'first'), ('role_apikey', 'rerun'), ('floor2', 'once'),
                 ('role_bearer', 'first'), ('role_bearer', 'rerun'))
        rows = []
        for key, phase in pairs:
            runs = res.runs(n, forks, key, phase)
            if not runs:
                continue
            total = med(r['wall'] for r in runs)
            in_tasks = 0.0
            for name, values in task_spans(runs):
                value = med(values) or 0.0
                in_tasks += value
                rows.append([res.contenders[key]['label'], PHASE_LABEL[phase], short_task(name), fmt(value)])
            rows.append([res.contenders[key]['label'], PHASE_LABEL[phase], '*start-up, parsing, inventory, exit (the rest)*',
                         fmt((total or 0.0) - in_tasks)])
        out += ['', '#### N = %d, forks = %d' % (n, forks), '']
        out += table(['contender', 'run', 'task', 'seconds (median)'], rows)
    return out


def probe_table(probes: dict[str, Any]) -> list[str]:
    ping = probes.get('ping', {}).get('payload_bytes')
    rows = []
    for module, probe in probes.items():
        if 'error' in probe:
            rows.append([module, probe['error'], '', '', '', ''])
            continue
        size = probe['payload_bytes']
        rows.append([
            module,
            '%.1f' % (size / 1024),
            '%.2f' % (size / ping) if ping else '-',
            span(probe.get('fresh', [])),
            span(probe.get('again', [])),
            fmt(med(probe.get('controller_task_seconds', []))),
        ])
    return table(['module', 'payload KiB (AnsiballZ; icr_login_pipelined: the script)', 'x ping', 'run on the host, no file yet: s',
                  'run on the host, file in place: s',
                  'task seen by the controller, 1 host: s'], rows)


def payload_table(probes: dict[str, Any], module: str = 'icr_login', base: str = 'ping') -> list[str]:
    """The files a module's payload carries that ping's does not (compressed bytes in the zip, before base64)."""
    mine, theirs = probes.get(module, {}).get('zip'), probes.get(base, {}).get('zip')
    if not mine or not theirs:
        return []
    extra = sorted(((name, sizes) for name, sizes in mine.items() if name not in theirs), key=lambda item: -item[1][1])
    rows = [[name, '%.1f' % (sizes[0] / 1024), '%.1f' % (sizes[1] / 1024)] for name, sizes in extra if sizes[0]]
    total = sum(sizes[1] for _name, sizes in extra)
    rows.append(['**all %d files above**' % len(rows), '%.1f' % (sum(s[0] for _n, s in extra) / 1024), '%.1f' % (total / 1024)])
    return ['', 'What the `%s` payload carries beyond `%s`\'s (the zip inside the AnsiballZ file; base64 adds a third):' % (module, base),
            ''] + table(['file', 'source KiB', 'compressed KiB'], rows)


# ---------------------------------------------------------------------------------------------------------- targets

def _ratios_for(res: Results, key: str, floor: str) -> list[tuple[str, float | None]]:
    values = []
    for n in res.sizes:
        if n not in TARGET_SIZES:
            continue
        for forks in res.forks(n):
            for phase in ('first', 'rerun'):
                ratio, paired = res.ratio(n, forks, (key, phase), (floor, 'once'))
                spread = ' (%.2f-%.2f)' % (min(paired), max(paired)) if len(paired) > 1 else ''
                values.append(('N=%d f%d %s%s' % (n, forks, PHASE_LABEL[phase], spread), ratio))
    return values


def growth(res: Results, key: str, floor: str) -> list[tuple[str, float | None, float | None]]:
    """The role's ratio to its floor at the smallest and the largest N, forks 5 (default) and each phase: (text, the
    most the largest N may reach, its ratio). That most is the highest per-round ratio at the smallest N: a median at the
    largest N inside the spread the smallest N already shows is noise, not growth. One round: the smallest N's median."""
    sizes = [n for n in res.sizes if n in TARGET_SIZES] or res.sizes
    if len(sizes) < 2:
        return []
    low, high = min(sizes), max(sizes)
    out = []
    for phase in ('first', 'rerun'):
        a, paired = res.ratio(low, 5, (key, phase), (floor, 'once'))
        b = res.ratio(high, 5, (key, phase), (floor, 'once'))[0]
        limit = max(paired) if len(paired) > 1 and a is not None else a
        out.append(('%s f5 %s: N=%d %s, N=%d %s' % (key, PHASE_LABEL[phase], low, ratio_text(a, paired), high, fmt(b)),
                    limit, b))
    return out


CONTROLLER_TASK = 'Get the registry credential on the controller'
CONTROLLER_FLOOR_TASK = 'Controller floor'  # ansible.builtin.debug after icr_credential, in the same play


def controller_credential(data: dict[str, Any]) -> dict[str, list[float]]:
    """icr_credential alone on the controller: the task's seconds (callback), first run and cached run; 'floor' the
    seconds of the debug task after it (every run), 'own' the cached runs' icr_credential minus that run's floor."""
    out: dict[str, list[float]] = {'first': [], 'rerun': [], 'floor': [], 'own': []}
    for run in data.get('controller_runs') or []:
        if not run.get('ok', True):  # a failed run's task time says nothing of the cached path
            continue
        task = host_task_seconds([run], CONTROLLER_TASK)
        floor = host_task_seconds([run], CONTROLLER_FLOOR_TASK)
        out.setdefault(run['phase'], []).extend(task)
        out['floor'].extend(floor)
        if run['phase'] == 'rerun' and task and floor:
            out['own'].append(task[0] - floor[0])
    return out


def controller_floor_text(credential: dict[str, list[float]]) -> str:
    """'; Ansible's floor ...' for the cached target's line, or '' for a run without the floor task."""
    if not credential.get('floor'):
        return ''
    return ("; Ansible's floor for a task in the worker on the controller (ansible.builtin.debug, same play) %s s, "
            "icr_credential's own share with the token cached %s s" % (span(credential['floor']), span(credential['own'])))


def targets(res: Results) -> list[tuple[str, str, bool | None]]:
    """(target, what was measured, met?) - None when there was nothing to measure it with. The targets of issue 14."""
    verdicts: list[tuple[str, str, bool | None]] = []

    def within(name: str, key: str, floor: str, limit: float) -> None:
        values = _ratios_for(res, key, floor)
        if not values:
            verdicts.append((name, 'not measured (needs N=20, 50 or 200)', None))
            return
        if all(v is None for _label, v in values):  # BENCH_CONTENDERS left it out
            verdicts.append((name, 'not measured (%s not run)' % key, None))
            return
        text = '; '.join('%s %s' % (label.split(' (')[0], fmt(v)) + (' (' + label.split(' (')[1] if ' (' in label else '')
                         for label, v in values)
        verdicts.append((name, text, all(v is not None and v <= limit for _l, v in values)))

    within('iamapikey role (validate=false) <= 1.05 x the one-task floor, first run and rerun, N=20/50/200 '
           '(median; per-round spread in brackets)', 'role_apikey', 'floor1', 1.05)
    within('iambearer role (validated) <= 1.10 x the two-task floor, first run and rerun, N=20/50/200', 'role_bearer',
           'floor2', 1.10)

    grown = growth(res, 'role_apikey', 'floor1') + growth(res, 'role_bearer', 'floor2')
    if grown and any(a is not None for _t, a, _b in grown):
        verdicts.append(('the ratio does not grow with N (largest N no worse than the smallest, forks 5; the median at the '
                         'largest N within the per-round spread at the smallest counts as no worse)',
                         '; '.join(t for t, _a, _b in grown),
                         all(a is not None and b is not None and b <= a for _t, a, b in grown)))
    else:
        verdicts.append(('the ratio does not grow with N (largest N no worse than the smallest, forks 5)',
                         'not measured (needs two sizes)', None))

    iam_first = {n: [r['counters'].get('iam_token', 0) for f in res.forks(n) for r in res.runs(n, f, 'role_bearer', 'first')]
                 for n in res.sizes}
    iam_rerun = {n: [r['counters'].get('iam_token', 0) for f in res.forks(n) for r in res.runs(n, f, 'role_bearer', 'rerun')]
                 for n in res.sizes}
    iam_apikey = [r['counters'].get('iam_token', 0) for n in res.sizes for f in res.forks(n) for p in ('first', 'rerun')
                  for r in res.runs(n, f, 'role_apikey', p)]
    name = '1 IAM exchange per play at every N up to 200 (iambearer), 0 on a rerun'
    if not any(iam_first.values()):  # BENCH_CONTENDERS left role_bearer out
        verdicts.append((name, 'not measured (role_bearer not run)', None))
    else:
        text = '; '.join('N=%d: first %s, rerun %s' % (n, int_range(iam_first[n]), int_range(iam_rerun[n])) for n in res.sizes)
        verdicts.append((name, text + '; iamapikey without validation: %s' % int_range(iam_apikey),
                         all(v == 1 for vs in iam_first.values() for v in vs)
                         and all(v == 0 for vs in iam_rerun.values() for v in vs)
                         and all(v == 0 for v in iam_apikey)))

    probes = res.data.get('probes', {})
    # With pipelining on (as in every run here), a host is sent icr_login's pipelined script, not its AnsiballZ file.
    login = probes.get('icr_login_pipelined') or probes.get('icr_login', {})
    ping = probes.get('ping', {})
    if 'payload_bytes' in login and 'payload_bytes' in ping:
        factor = login['payload_bytes'] / ping['payload_bytes']
        verdicts.append(('icr_login payload <= %.2f x ping\'s' % PAYLOAD_LIMIT,
                         '%s %.1f KiB vs %.1f KiB: %.2f x' % (
                             'pipelined script' if login.get('kind') == 'pipelined' else 'AnsiballZ',
                             login['payload_bytes'] / 1024, ping['payload_bytes'] / 1024, factor),
                         factor <= PAYLOAD_LIMIT))
        times = [med(login.get('fresh', [])), med(login.get('again', []))]
        base = med(ping.get('again', []))
        verdicts.append(('icr_login run on a host <= ping\'s + 20 %', 'no file yet %s s, file in place %s s; ping %s s (limit %s s)'
                         % (fmt(times[0]), fmt(times[1]), fmt(base), fmt(base * HOST_RUN_LIMIT if base else None)),
                         bool(base) and all(t is not None and t <= base * HOST_RUN_LIMIT for t in times)))
    else:
        failed = [m for m, probe in (('icr_login', login), ('ping', ping)) if 'error' in probe]
        verdicts.append(('icr_login payload <= 1.10 x ping\'s; its run on a host <= ping\'s + 20 %',
                         'probe of %s failed' % ' and '.join(failed) if failed else 'not measured', None))

    credential = controller_credential(res.data)
    if credential.get('rerun'):
        cached = med(credential['rerun'])
        verdicts.append(('icr_credential on the controller <= %.2f s with the token cached' % CREDENTIAL_CACHED_S,
                         'cached %s s (%s), first run %s s, over %d runs each%s' % (
                             fmt(cached), span(credential['rerun']), fmt(med(credential.get('first', []))), len(credential['rerun']),
                             controller_floor_text(credential)),
                         cached is not None and cached <= CREDENTIAL_CACHED_S))
    else:
        verdicts.append(('icr_credential on the controller <= %.2f s with the token cached' % CREDENTIAL_CACHED_S,
                         'not measured', None))

    big = max(res.sizes) if res.sizes else 0

    def peaks(key: str, floor: str) -> list[tuple[int, float, float]]:
        """(forks, the contender's peak RSS MB, its floor's) at the largest N, for each forks value both ran."""
        found = []
        for forks in res.forks(big):
            ours = [r['maxrss_kib'] / 1024 for p in ('first', 'rerun') for r in res.runs(big, forks, key, p)]
            theirs = [r['maxrss_kib'] / 1024 for r in res.runs(big, forks, floor, 'once')]
            if ours and theirs:
                found.append((forks, max(ours), max(theirs)))
        return found

    rows = [('%s f%d %.0f MB vs %s %.0f MB' % (key, forks, ours, floor, theirs), ours - theirs)
            for key, floor in (('role_apikey', 'floor1'), ('role_bearer', 'floor2')) for forks, ours, theirs in peaks(key, floor)]
    imported = ['role_apikey_import f%d %.0f MB (%+.0f)' % (forks, ours, ours - theirs)
                for forks, ours, theirs in peaks('role_apikey_import', 'floor1')]
    name = 'controller peak memory at N=%d within %.0f MB of the floor\'s' % (MEMORY_N, MEMORY_MARGIN_MB)
    if rows:
        note = '' if big >= MEMORY_N else ' (largest N measured: %d)' % big
        if imported and any(d > MEMORY_MARGIN_MB for _t, d in rows):
            note += ('; the same role imported with rolespec_validate false (no validation task per host, see "Where the '
                     'controller\'s memory goes"): ' + '; '.join(imported))
        verdicts.append((name, 'N=%d: ' % big + '; '.join('%s (%+.0f)' % row for row in rows) + note,
                         all(d <= MEMORY_MARGIN_MB for _t, d in rows) if big >= MEMORY_N else None))
    else:
        verdicts.append((name, 'not measured', None))

    roles = list(res.data['roles']) + [k for k, c in res.contenders.items() if c['kind'] in ('helper', 'strategy')]
    changed = [r for n in res.sizes for f in res.forks(n) for role in roles for r in res.runs(n, f, role, 'rerun')]
    verdicts.append(('0 hosts changed on a rerun (and 0 files rewritten)',
                     'hosts changed %s, files rewritten %s over %d reruns' % (
                         int_range([r['changed_hosts'] for r in changed]), int_range([r['files_rewritten'] for r in changed]),
                         len(changed)),
                     bool(changed) and all(r['changed_hosts'] == 0 and r['files_rewritten'] == 0 for r in changed)))
    return verdicts


def _span_of(runs: Sequence[dict[str, Any]], prefix: str) -> float:
    """Median seconds of the task whose name (without the role prefix) starts with prefix; 0 when absent."""
    for name, values in task_spans(runs):
        if short_task(name, 1000).startswith(prefix):
            return med(values) or 0.0
    return 0.0


NETWORK_UTILS = ('_http.py', '_iam.py', '_registry.py')


def findings(res: Results) -> list[str]:
    """Where the role's time goes against its floor, computed from this run's figures."""
    out = []
    for n in res.sizes:
        if n not in TARGET_SIZES:
            continue
        forks = res.forks(n)[0]
        for key, floor, phase in (('role_apikey', 'floor1', 'first'), ('role_bearer', 'floor2', 'first')):
            runs, floor_runs = res.runs(n, forks, key, phase), res.runs(n, forks, floor, 'once')
            if not runs or not floor_runs:
                continue
            extra = (res.wall(n, forks, key, phase) or 0.0) - (res.wall(n, forks, floor, 'once') or 0.0)
            host, floor_host = _span_of(runs, 'Write the registry credential'), _span_of(floor_runs, 'Ping every host')
            validate = _span_of(runs, 'Validating arguments')
            controller, floor_once = _span_of(runs, 'Check the role\'s variables'), _span_of(floor_runs, 'Ping the controller once')
            helper = _span_of(runs, 'Install and configure docker-credential-icr') + _span_of(runs, 'Remove docker-credential-icr')
            parts = ['ansible-core\'s argument validation task %.2f s' % validate, 'the host task %.2f s against ping\'s %.2f s' % (host, floor_host)]
            if key == 'role_bearer':
                parts.append('the controller task (checks and icr_credential) %.2f s against a ping on the controller %.2f s' % (controller, floor_once))
            else:
                parts.append('the controller task (checks only, no call) %.2f s, which the one-task floor does not have' % controller)
            parts.append('the two skipped helper tasks %.2f s' % helper)
            out.append('- N=%d, forks %d, %s first run: %+.2f s against %s; in it %s.' % (
                n, forks, key, extra, floor, '; '.join(parts)))
            ours, theirs = _cpu_of(runs), _cpu_of(floor_runs)
            out.append('  Controller CPU (user+system of the ansible-playbook tree): %.1f s against %.1f s.' % (ours, theirs))
    return out


def diagnosis_section(data: dict[str, Any]) -> list[str]:
    runs = data.get('diagnosis') or []
    if not runs:
        return []
    res = Results(dict(data, runs=runs))
    n, forks = res.sizes[0], res.forks(res.sizes[0])[0]
    rows = []
    for key, phase in (('floor1', 'once'), ('icr_login_alone', 'first'), ('role_apikey', 'first')):
        group = res.runs(n, forks, key, phase)
        if not group:
            continue
        ratio = ratio_text(*res.ratio(n, forks, (key, phase), ('floor1', 'once'))) if key != 'floor1' else '1.00'
        rows.append([res.contenders[key]['label'], span([r['wall'] for r in group]), ratio, fmt(_cpu_of(group), 1),
                     fmt(med(host_task_seconds(group, res.contenders[key]['host_task'])))])
    out = ['', '### The module, and the role around it (N = %d, forks %d, first runs)' % (n, forks), '',
           'A diagnosis run after the measurements, in rotating order: the one-task floor, `icr.auth.icr_login` alone in a '
           'one-task play (three arguments, no role, no argument validation, no loop; tests/bench/playbooks/'
           'diag_icr_login_alone.yml), and the role (`iamapikey`, `docker_auth_validate: false`).', '']
    out += table(['play', 'wall s: median (min-max)', 'x floor1', 'controller CPU s', 'host task s (median per host)'], rows)
    alone, role, floor = (res.wall(n, forks, 'icr_login_alone', 'first'), res.wall(n, forks, 'role_apikey', 'first'),
                          res.wall(n, forks, 'floor1', 'once'))
    if alone and role and floor:
        out += ['', 'Of the role\'s %+.2f s over the floor, the module itself (against ping) accounts for %+.2f s and the role '
                'around it (argument validation, the controller task, the two skipped helper tasks, the templated arguments and the loop, loading the '
                'role) for %+.2f s.' % (role - floor, alone - floor, role - alone)]
    return out


def _cpu_of(runs: Sequence[dict[str, Any]]) -> float:
    return med(r['cpu'] for r in runs) or 0.0


def payload_findings(probes: dict[str, Any]) -> list[str]:
    login = probes.get('icr_login', {}).get('zip') or {}
    network = {name: sizes for name, sizes in login.items() if name.endswith(NETWORK_UTILS)}
    if not network:
        return []
    return ['- `icr_login`\'s payload carries %s (%.1f KiB compressed, %.1f KiB as base64), which a host needs only when '
            '`icr_login` itself talks to IAM or a registry (`api_key`, `validate`): Ansible\'s module finder follows every '
            'import in the module\'s source, those inside functions too.' % (
                ', '.join('`%s`' % os.path.basename(name) for name in sorted(network)),
                sum(s[1] for s in network.values()) / 1024, sum(s[1] for s in network.values()) * 4 / 3 / 1024)]


def verdict_text(met: bool | None) -> str:
    return {True: 'met', False: '**missed**', None: 'not measured'}[met]


# ---------------------------------------------------------------------------------------------------------- profiles

FRAME = re.compile(r'^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$')
# Each sample goes to the category of its innermost frame that matches one (in this order when a frame matches several).
CATEGORIES = (
    ('building module payloads (AnsiballZ)', ('ansible/executor/module_common.py', 'ansible/_internal/_ansiballz')),
    ('argument validation', ('validate_argument_spec', 'module_utils/common/arg_spec.py', 'module_utils/common/parameters.py')),
    ('templating (Jinja2)', ('ansible/template/', 'ansible/_internal/_templating', 'jinja2/')),
    ('variables and host state', ('ansible/vars/', 'ansible/inventory/', 'ansible/executor/play_iterator.py')),
    ('SSH and local connection plugins', ('ansible/plugins/connection/',)),
    ('action plugins (task set-up, results)', ('ansible/plugins/action/', 'ansible/executor/task_executor.py')),
    ('callbacks and output', ('ansible/plugins/callback', 'ansible/utils/display.py')),
    ('YAML parsing (playbook, role, inventory)', ('yaml/', 'ansible/parsing/')),
    ('imports and plugin loading', ('<frozen importlib', '<frozen zipimport', 'ansible/plugins/loader.py', 'ansible/utils/collection_loader')),
    ('strategy and worker processes', ('ansible/plugins/strategy/', 'ansible/executor/process/', 'multiprocessing/',
                                       'ansible/executor/task_queue_manager.py')),
)


STDLIB = re.compile(r'^.*/lib/python3\.[0-9]+/')


def _frame(text: str) -> tuple[str, str]:
    match = FRAME.match(text)
    if not match:
        return text, ''
    path = match.group('file')
    for marker in ('site-packages/', 'ansible_collections/'):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        path = STDLIB.sub('', path, count=1)  # whichever Python .venv has: /lib/python3.X/
    return match.group('func'), path


PROCESS_KINDS = (
    ('AnsiballZ_', 'modules run on the controller (delegate_to: localhost)'),
    ('ansible-playbook', 'ansible-playbook (main process and forked workers)'),
    ('/bin/sh', 'shells'),
)


def _category(frames: Sequence[str]) -> str:
    for frame in reversed(frames):
        for name, markers in CATEGORIES:
            if any(marker in frame for marker in markers):
                return name
    return 'other'


def _process_kind(command: str) -> str:
    for marker, kind in PROCESS_KINDS:
        if marker in command:
            return kind
    return 'other processes'


def summarize_profile(path: str, rate: int) -> dict[str, Any]:
    """CPU seconds of a py-spy raw file: in all, by category, by function (own time), and how many processes."""
    total = 0
    self_counter: collections.Counter = collections.Counter()
    categories: collections.Counter = collections.Counter()
    processes = set()
    try:
        with open(path, encoding='utf-8', errors='replace') as handle:
            lines = handle.read().splitlines()
    except OSError:
        lines = []
    by_process: collections.Counter = collections.Counter()
    for line in lines:
        stack, _sep, count = line.rpartition(' ')
        if not count.isdigit():
            continue
        samples = int(count)
        frames = stack.split(';')
        owner = ''
        while frames and frames[0].startswith('process '):
            pid, _colon, owner = frames.pop(0).partition(':')
            processes.add(pid)
        total += samples
        kind = _process_kind(owner)
        if kind == 'other processes' and any('ansible/' in f or 'ansible-playbook' in f for f in frames):
            kind = PROCESS_KINDS[1][1]  # a forked worker whose command line py-spy could not read
        by_process[kind] += samples
        if not frames:
            self_counter['(no Python frame: %s)' % kind] += samples
            continue
        func, path_ = _frame(frames[-1])
        self_counter['%s (%s)' % (func, path_)] += samples
        if kind != PROCESS_KINDS[1][1]:
            categories[kind] += samples
            continue
        categories[_category(frames)] += samples
    return {'cpu': total / rate, 'processes': len(processes), 'categories': {k: v / rate for k, v in categories.items()},
            'by_process': {k: v / rate for k, v in by_process.items()},
            'top': [(name, count / rate) for name, count in self_counter.most_common(15)]}


def profile_section(profiles: dict[str, Any]) -> list[str]:
    if not profiles:
        return []
    out = ['', '### Controller profile (py-spy, every process of ansible-playbook)', '',
           'CPU seconds sampled (py-spy, 200 Hz, `--subprocesses`) in every process of one run each: ansible-playbook, its '
           'forked workers, and the modules it runs on the controller. In ansible-playbook, each sample counts for the '
           'category of its innermost frame that has one. Default forks.', '']
    keys = list(profiles)
    header = ['category'] + ['%s %s' % tuple(k.split(':')) for k in keys]
    rows = [['wall s of the profiled run'] + [fmt(profiles[k]['wall']) for k in keys],
            ['all samples (CPU s)'] + [fmt(profiles[k]['cpu']) for k in keys],
            ['processes sampled'] + [str(profiles[k]['processes']) for k in keys]]
    for kind in [kind for _marker, kind in PROCESS_KINDS] + ['other processes']:
        rows.append(['CPU s in ' + kind] + [fmt(profiles[k].get('by_process', {}).get(kind, 0.0)) for k in keys])
    for name in [c[0] for c in CATEGORIES] + ['other']:
        rows.append([name] + [fmt(profiles[k]['categories'].get(name, 0.0)) for k in keys])
    out += table(header, rows)
    for key in keys:
        if not key.startswith('role_'):
            continue
        out += ['', 'Top functions by own CPU in `%s`:' % key, '']
        out += table(['function (file)', 'CPU s'], [[name.replace('|', '/'), fmt(value)] for name, value in profiles[key]['top'][:12]])
    return out


# ---------------------------------------------------------------------------------------------------------- new sections

def plan_lines(data: dict[str, Any]) -> list[str]:
    """The set-up's plan: rounds, forks and contenders per size, as this run had them."""
    planned = data.get('plan') or {}
    if not planned:
        return []
    out = []
    for n, entry in sorted(planned.items(), key=lambda item: int(item[0])):
        out.append('  - N=%s: %d rounds, forks %s; %s' % (n, entry['rounds'], ' and '.join(map(str, entry['forks'])),
                                                          ', '.join(entry['contenders'])))
    return ['- Plan of this run (`tests/bench/icr_bench/plan.py`): the role and its two floors at every size; the '
            'alternatives up to N=50; the helper method and its floor at N=20; strategy free and mitogen at N=20, forks 5 '
            '(or the smallest size when 20 is not measured); rounds: 3 below 50 hosts, 2 from 50, so that the default run '
            'fits in about an hour on 2 cores:'] + out


def strategy_section(res: Results) -> list[str]:
    """The role against the one-task floor under strategy free and mitogen_linear, in their own tables."""
    lines = wall_tables(res, strategy=True)
    mitogen = res.data.get('mitogen') or {}
    out = ['', '## Other strategies: free and mitogen', '',
           'The role (`iamapikey`, `docker_auth_validate: false`) against the one-task floor run under the same strategy '
           '(`ANSIBLE_STRATEGY`; mitogen\'s `mitogen_linear` from PyPI `mitogen`, `ANSIBLE_STRATEGY_PLUGINS` pointing at '
           '`ansible_mitogen/plugins/strategy`), at N=20 only, default forks. Under `free`, Ansible runs a `run_once` task '
           'on every host (it warns so): the role\'s controller task then runs once per host. For `iamapikey` without '
           'validation it only checks the variables and makes no call; for `iambearer` it would run `icr_credential` once '
           'per host, which is why only the `iamapikey` role without validation is compared. ansible-core 2.21 warns that strategy '
           'plugins outside ansible.builtin, such as mitogen\'s, are deprecated.', '']
    if mitogen:
        out.append('mitogen %s with ansible-core %s (mitogen declares a lowest Ansible, %s, and no highest): %s.' % (
            mitogen.get('mitogen') or '(not installed)', mitogen.get('ansible_core', '?'), mitogen.get('ansible_version_min', '?'),
            'it runs' if mitogen.get('ok') else 'it does not run here - ' + mitogen.get('problem', '')))
    out += lines or ['', '(not measured in this run)']
    return out


def controller_section(data: dict[str, Any]) -> list[str]:
    credential = controller_credential(data)
    if not credential.get('first') and not credential.get('rerun'):
        return []
    runs = data.get('controller_runs') or []
    rows = []
    for phase, label in (('first', 'empty cache (IAM exchange, registry check)'), ('rerun', 'token cached')):
        group = [r for r in runs if r['phase'] == phase]
        rows.append([label, span(credential.get(phase, [])), span([r['wall'] for r in group]),
                     int_range([r['counters'].get('iam_token', 0) for r in group]),
                     int_range([r['counters'].get('registry_token', 0) for r in group])])
    if credential.get('floor'):
        rows.append(['Ansible\'s floor: `ansible.builtin.debug` after it, same arguments templated', span(credential['floor']),
                     '-', '-', '-'])
    return ['', '## icr_credential on the controller', '',
            'A play with only `icr.auth.icr_credential` on localhost (tests/bench/playbooks/credential_alone.yml, the role\'s '
            'arguments for `iambearer`, validated), run with an empty `cache_dir`, then again with the token cached; the task '
            'as the callback timed it, and the whole `ansible-playbook` run.' + (
                ' A `debug` task before it takes what the first task of a play pays; one after it is Ansible\'s floor for a '
                'task that runs in the worker on the controller and sends no module.' if credential.get('floor') else ''),
            ''] + table(
        ['run', 'task s: median (min-max)', 'ansible-playbook s', 'IAM calls', 'registry token calls'], rows)


SLICE_RECIPE = [
    '1. One job template on the inventory of the whole fleet, the playbook running `icr.auth.docker_auth`, with',
    '   `docker_auth_username_type: iambearer` (one IAM exchange per slice, on the controller node that runs it) and the',
    '   API key from a credential (never in extra vars). ansible-runner writes the job\'s whole environment to',
    '   `artifacts/<ident>/command` in the private data directory: AWX removes that directory after the job; when you run',
    '   ansible-runner yourself, give the key as a file (`docker_auth_api_key` from a `file` lookup of a 0600 file) rather',
    '   than as `IBMCLOUD_API_KEY`, or remove the artifacts.',
    '2. Job slicing k: AWX runs slice i on hosts i, i+k, i+2k... of the inventory, each slice its own ansible-runner job',
    '   (its own private data directory: `project/`, `inventory/`, `env/extravars`, `env/settings`), possibly on another node.',
    '3. The controller token cache (`docker_auth_cache_dir`): each slice exchanges the key once for itself unless the',
    '   slices share one cache directory; on one node (or a shared volume), point `docker_auth_cache_dir` at one directory',
    '   writable by the job user and the slices share the token (table above); across nodes, leave it per node: k slices',
    '   make at most k exchanges, each a fraction of a second.',
    '4. Rerun safety: a rerun changes nothing on hosts whose file is current, whichever slice they fall in.',
]


def slicing_section(data: dict[str, Any]) -> list[str]:
    sliced = data.get('slicing') or {}
    if not sliced:
        return []
    out = ['', '## Beyond one controller: ansible-runner and sliced jobs', '']
    if 'error' in sliced:
        return out + ['Not measured: %s.' % sliced['error']]
    n = sliced.get('n')
    out += ['The role (`iambearer`, validated) through ansible-runner %s (`ansible-runner run <dir> -p role.yml --limit '
            '<slice>`), each slice with its own private data directory laid out as AWX does (`project/role.yml`, '
            '`inventory/hosts`, `env/extravars`, `env/settings`, `env/envvars`; the API key only in the environment), on N=%s '
            'hosts: slice i of k holds hosts i, i+k, ... (AWX\'s job slicing). Every case starts from a fresh fleet and an '
            'empty cache; IAM calls are the emulator\'s count. "shared" = every slice has the same `docker_auth_cache_dir`, '
            '"separate" = one each (slices on different controller nodes).' % (sliced.get('runner_version', '?'), n), '']
    rows = []
    for case in sliced.get('cases', []):
        rows.append([str(case['k']), case['mode'] if case['k'] > 1 else 'one job', 'shared' if case['shared'] else 'separate',
                     '/'.join(map(str, case['hosts'])), fmt(case['wall']), ','.join(map(str, case['rcs'])),
                     str(case['iam_token']), str(case['registry_token']), '%d/%d' % (case['changed_hosts'], n)])
    out += table(['k slices', 'how', 'token cache', 'hosts per slice', 'wall s', 'exit codes', 'IAM calls',
                  'registry token calls', 'hosts changed'], rows)
    if sliced.get('playbook_wall'):
        out += ['', 'The same play with plain `ansible-playbook` on N=%s (forks 5, first run, median): %s s.' % (
            n, fmt(sliced['playbook_wall']))]
    verdict = slicing_verdict(sliced.get('cases', []))
    if verdict:
        out += ['', verdict]
    leaks = sum(c.get('secret_files', 0) for c in sliced.get('cases', []))
    out += ['', 'ansible-runner writes its whole environment to `artifacts/<ident>/command` of the private data directory, '
            'so a key given as `IBMCLOUD_API_KEY` would land there: the bench gives it as `docker_auth_api_key` from a '
            '0600 file instead (`lookup(\'ansible.builtin.file\', ...)`), and looks for the key in every file of every private '
            'data directory after each case: %s.' % ('found in none' if not leaks else '**found in %d files**' % leaks)]
    out += ['', '### Recipe: a sliced job', ''] + SLICE_RECIPE
    return out


def slicing_verdict(cases: Sequence[dict[str, Any]]) -> str:
    """What the cases show about the token cache: IAM exchanges of k slices, shared against separate."""
    parts = []
    for k in sorted({c['k'] for c in cases if c['k'] > 1}):
        for mode in ('sequential', 'concurrent'):
            shared = [c['iam_token'] for c in cases if c['k'] == k and c['mode'] == mode and c['shared']]
            separate = [c['iam_token'] for c in cases if c['k'] == k and c['mode'] == mode and not c['shared']]
            if shared and separate:
                parts.append('k=%d %s: %d with a shared cache, %d with separate caches' % (k, mode, shared[0], separate[0]))
    if not parts:
        return ''
    shared_ok = all(c['iam_token'] <= 1 for c in cases if c['shared'] and c['mode'] == 'sequential')
    if shared_ok:
        said = 'The cache can be shared: slices run one after another reuse the first slice\'s token.'
    else:
        said = 'Sharing the cache did not save exchanges in this run.'
    return 'IAM exchanges: %s. %s' % ('; '.join(parts), said)


def scaling_section(res: Results) -> list[str]:
    """How the cost grows with N: wall time per size at forks 5, seconds per host between sizes."""
    if len(res.sizes) < 2:
        return []
    rows = []
    for key, phase in (('floor1', 'once'), ('role_apikey', 'first'), ('role_apikey', 'rerun'), ('floor2', 'once'),
                       ('role_bearer', 'first'), ('role_bearer', 'rerun')):
        walls = [res.wall(n, 5, key, phase) for n in res.sizes]
        if not any(walls):
            continue
        slopes = []
        for (n1, w1), (n2, w2) in zip(zip(res.sizes, walls), list(zip(res.sizes, walls))[1:]):
            slopes.append('%s' % fmt((w2 - w1) / (n2 - n1), 3) if w1 and w2 else '-')
        rows.append([res.contenders[key]['label'], PHASE_LABEL[phase]] + [fmt(w) for w in walls] + slopes)
    steps = ['s/host %d->%d' % pair for pair in zip(res.sizes, res.sizes[1:])]
    return ['', '### How the cost grows with N (forks 5)', '',
            'Median wall seconds per size, and the added seconds per added host between sizes: on 2 cores the fleet is '
            'CPU-bound (the controller\'s forks, ssh and sshd, and every host\'s Python share the same cores), so the cost '
            'grows linearly in N.', ''] + table(['contender', 'run'] + ['N=%d s' % n for n in res.sizes] + steps, rows)


def fleet_lines(data: dict[str, Any]) -> list[str]:
    fleet = data.get('fleet_seconds') or {}
    if not fleet:
        return []
    return ['- The fleet: %d local users created in %.1f s (sshd up in %.1f s); they and their keys are removed on every '
            'exit (normal end, error, Ctrl-C, SIGTERM, SIGHUP).' % (fleet.get('created', 0), fleet.get('users', 0.0),
                                                                    fleet.get('start', 0.0))]


def _frame_name(name: str) -> str:
    name = name.replace('|', '/').strip()
    return '(module top level)' if name in ('', '()') else name


def remaining_time(profiles: dict[str, Any], probes: dict[str, Any] | None = None) -> list[str]:
    """Where the remaining time goes: the role's profile minus its floor's, by category, largest first."""
    out = []
    for role, floor in (('role_apikey:first', 'floor1:once'), ('role_bearer:first', 'floor2:once')):
        if role not in profiles or floor not in profiles:
            continue
        ours, theirs = profiles[role], profiles[floor]
        names = set(ours['categories']) | set(theirs['categories'])
        diffs = sorted(((ours['categories'].get(c, 0.0) - theirs['categories'].get(c, 0.0), c) for c in names), reverse=True)
        extra = ours['cpu'] - theirs['cpu']
        top = ', '.join('%s %+.2f s' % (c, d) for d, c in diffs[:4] if d > 0)
        out.append('- `%s` against `%s`: %+.2f CPU s in all (%.2f against %.2f); the largest extra: %s.' % (
            role.split(':', maxsplit=1)[0], floor.split(':', maxsplit=1)[0], extra, ours['cpu'], theirs['cpu'], top or 'none'))
        if ours.get('top'):
            out.append('  Its top frames by own CPU: %s.' % '; '.join(
                '%s %.2f s (%.0f %%)' % (name.replace('|', '/'), value, 100.0 * value / ours['cpu'] if ours['cpu'] else 0)
                for name, value in ours['top'][:5]))
    for module in ('icr_login', 'ping'):
        host = (probes or {}).get(module, {}).get('profile') or {}
        if host.get('top'):
            frames = '; '.join('%s %.3f s' % (_frame_name(name), value) for name, value in host['top'][:5])
            out.append('- `%s` on one host (AnsiballZ file in place, %d runs, CPU s per run %.3f): %s.'
                       % (module, host.get('runs', 0), host['cpu'], frames))
    if not out:
        return []
    return ['', '### Where the remaining time goes', '',
            'From the py-spy profiles below (all processes of ansible-playbook, one run each, default forks): the CPU the role '
            'spends beyond its floor, by category, and its top frames; then the module\'s own run on one host (py-spy over '
            'its AnsiballZ file, run as the host user) against ping\'s. The next step is the largest line.', ''] + out


# ---------------------------------------------------------------------------------------------------------- the page

def helper_get_section(helper: dict[str, Any] | None, heading: str = '##') -> list[str]:
    """The credential helper's `get` against `python3 -c pass`: medians, ratios of medians, per-round spread."""
    if not helper or not helper.get('median'):
        return []
    med_ = helper['median']
    lines = ['', '%s Credential helper: one `docker-credential-icr get`' % heading, '',
             'What a client (docker, podman, skopeo) waits for each time it asks the helper: the zipapp built for %s '
             '(Python %s, %d bytes), identity `vpc_trusted_profile` against the emulator\'s VPC metadata service and IAM on '
             'loopback. %d rounds, each running the three in rotating order; the floor `python3 -c pass` is the start-up any '
             'Python helper pays. Milliseconds: median (min-max); "x floor" = ratio of the medians, per-round (paired) ratios '
             'in brackets (min, median, max).' % (helper.get('python', '?'), helper.get('python_version', '?'),
                                                  helper.get('zipapp_bytes', 0), helper['rounds']), '']
    rows = []
    for kind in ('floor', 'warm', 'refresh'):
        ms = [v * 1000.0 for v in (med_[kind], helper['min'][kind], helper['max'][kind])]
        if kind == 'floor':
            versus, over = '1', '-'
        else:
            spread = helper['ratio_spread'].get(kind) or []
            versus = '%s (%s)' % (fmt(helper['ratio'][kind]), ', '.join(fmt(v) for v in spread))
            over = '+%s' % fmt(helper['over_floor_ms'][kind], 1)
        label = {'floor': 'floor: `python3 -c pass`', 'warm': '`get`, token cached',
                 'refresh': '`get`, cache removed (metadata + IAM exchange)'}[kind]
        rows.append([label, '%s (%s-%s)' % (fmt(ms[0], 1), fmt(ms[1], 1), fmt(ms[2], 1)), over, versus])
    lines += table(['run', 'ms', 'ms over floor', 'x floor'], rows)
    calls = helper.get('calls') or {}
    if calls:
        lines += ['', 'Calls the emulator counted over the timed rounds (%d refreshes, %d warm gets): %s.' % (
            helper['rounds'], helper['rounds'], ', '.join('%s %d' % item for item in sorted(calls.items())))]
    return lines


def render(data: dict[str, Any], facts: dict[str, str], command: str) -> str:
    res = Results(data)
    settings = data['settings']
    lines = ['# Benchmarks', '',
             '<!-- Written by `make bench` (tests/bench, scripts/bench.sh); edits here are lost on the next run. -->', '',
             'What the fleet job costs as the fleet grows, as ratios measured in one run on one machine: the role '
             '`icr.auth.docker_auth` against the floor Ansible itself sets (`ansible.builtin.ping` plays with the same shape) '
             'and against what users do today (`community.docker.docker_login`, `containers.podman.podman_login`, a '
             '`docker login --password-stdin` command task). Absolute seconds depend on the machine; the ratios are the result.',
             '', '## How to reproduce', '', '```sh', command, '```', '',
             'As root on Debian 12 with the packages of `.ci/install-deps.sh`; about an hour on 2 cores with the defaults. '
             '`BENCH_SIZES=20,50 make bench` is quicker; `BENCH_OUT=path.md` writes elsewhere. Raw figures of the last run: '
             '`build/bench/results.json`.', '',
             '## Set-up', '',
             '- Hosts: N local users behind one sshd on 127.0.0.1 (tests/infra `SshFleet`), one inventory host each, '
             'Python `/usr/bin/python3` (no `requests`). Every run starts with cold SSH connections (the control masters are '
             'closed before it, as in a fresh CI or AWX job); pipelining on; `gather_facts: false`.',
             '- IAM and the ICR token realm: the project\'s emulator (tests/emulator); registry: a real CNCF distribution '
             'registry with token auth trusting it; Docker: one test-owned dockerd whose socket every host user may use '
             '(`DOCKER_HOST` of docker_login and docker login).',
             '- The role: `iamapikey` with `docker_auth_validate: false` (its one controller task checks the variables and makes no '
             'call; compared with the one-task floor) '
             'and `iambearer` validated (one `icr_credential` on the controller, then one `icr_login` per host; compared with '
             'the two-task floor). "First run" = no registry file on any host and an empty controller cache; "rerun" = the same '
             'play right after.',
             '- Alternatives, per host, with the API key as `iamapikey`: docker_login (needs `requests` on the host, given '
             'through `PYTHONPATH`), podman_login (rootless, `authfile` set, `tlsverify: false`), `docker login '
             '--password-stdin` (PATH holding only the docker CLI: with the credential helpers on PATH, a fresh user\'s docker '
             'login fails headless with "pass not initialized").',
             '- The role\'s helper method (`docker_auth_method: helper`, identity `vpc_trusted_profile` against the emulator\'s '
             'VPC metadata service): one task per host as root (install docker-credential-icr and its configuration under a '
             'prefix of the bench\'s work dir per host, through the fleet users\' passwordless sudo), then one `icr_login` per '
             'host naming the helper; compared with the floor of that shape (a ping as root, then a ping). "First run" also '
             'removes the helper and its cache.',
             '- Order: one untimed warm-up run of each contender on the largest fleet it runs on, then for each N its rounds; in '
             'each round every contender of that size runs once (first run + rerun where that applies), the order rotating '
             'from round to round (ABC, BCA, CAB), and the forks values alternating. Forks: the default 5 and N/2 (at least 5, '
             'at most 25).',
             '- Figures: wall time of `ansible-playbook`; ratios are ratios of medians, with the spread of the per-round '
             '(paired) ratios; IAM and registry token calls from the emulator\'s counters; hosts changed from the PLAY RECAP; '
             'files rewritten = registry files whose inode or mtime changed on the rerun; peak RSS = the largest process of '
             'the ansible-playbook tree (wait4 `ru_maxrss`, taken by a small launcher: Linux starts a program\'s `ru_maxrss` at '
             'the peak of the process it was started from, here the benchmark itself); controller CPU = user+system of that tree (ssh clients '
             'included, detached ControlPersist masters not); host task = start to result of the host task, per host, as the '
             'controller saw it (callback tests/bench/callback_plugins/bench_timer.py).']
    lines += plan_lines(data) + fleet_lines(data)
    lines += ['', '## Machine and load', '']
    for key in ('date', 'cpu', 'cores', 'memory', 'os', 'python', 'ansible', 'collections', 'openssh', 'docker', 'podman'):
        if key in facts:
            lines.append('- %s: %s' % (key, facts[key]))
    load = data.get('load', {})
    idle = data.get('idle_probe')
    if idle:
        lines.append('- before the run, with nothing of the benchmark running: load average %s; other processes kept %.2f of '
                     'the %s cores busy' % (' '.join('%.2f' % v for v in idle['load']), idle['foreign_cores'], facts.get('cores')))
    for n, meter in sorted(load.items(), key=lambda item: int(item[0])):
        lines.append('- N=%s (%.0f s): load average %s at the start, %s at the end; the machine was %.2f cores busy on average, '
                     '%.2f of them by processes other than the benchmark\'s' % (
                         n, meter['wall'], ' '.join('%.2f' % v for v in meter['load_start']),
                         ' '.join('%.2f' % v for v in meter['load_end']), meter['busy_cores'], meter['foreign_cores']))
    if data.get('load_note'):
        lines.append('- ' + data['load_note'])
    lines += ['', '## Targets', '']
    lines += table(['target', 'measured', 'verdict'], [[t, m, verdict_text(v)] for t, m, v in targets(res)])
    lines += ['', '## Wall time and calls per run', '',
              'Medians over the rounds; "x floor" compares with the floor of the same shape (floor1: one ping task per host; '
              'floor2: one ping on the controller + one per host); the alternatives, one task per host, with floor1.']
    lines += wall_tables(res)
    lines += strategy_section(res)
    lines += controller_section(data)
    lines += slicing_section(data)
    lines += ['', '## The role against what users do today', '',
              'Alternative\'s wall time / the role\'s, same N, forks and run (first run against first run, rerun against '
              'rerun): above 1 the role is faster. Median of the medians, per-round spread in brackets.', '']
    lines += speedup_tables(res)
    lines += ['', '## Where the time goes']
    lines += remaining_time(data.get('profiles', {}), data.get('probes', {}))
    lines += scaling_section(res)
    lines += ['', '### Task by task (default forks)', '',
              'Seconds from a task\'s start to its last host\'s result, median over the rounds; the rest is ansible-playbook\'s '
              'start-up, playbook and inventory loading, and exit.']
    lines += breakdown_tables(res)
    lines += ['', '### The modules on one host', '',
              'The AnsiballZ file each module sends (kept with ANSIBLE_KEEP_REMOTE_FILES=1, pipelining off), then that file run '
              '%d times as the host user with the host\'s Python (median, min-max): "no file yet" removes the registry files '
              'before each run, "file in place" leaves what the previous run wrote.' % settings['probe_repeats'], '']
    lines += probe_table(data.get('probes', {}))
    lines += payload_table(data.get('probes', {}))
    lines += helper_get_section(data.get('helper_get'))
    lines += diagnosis_section(data)
    lines += profile_section(data.get('profiles', {}))
    lines += memory_section(data.get('memory'))
    found = findings(res) + payload_findings(data.get('probes', {}))
    if found:
        lines += ['', '### In short', '', 'Computed from the figures above (default forks, medians):', ''] + found
    for note in data.get('findings', []) + data.get('notes', []):
        lines += ['', note]
    if data.get('partial'):
        lines[4:4] = ['**A partial run** (%s): the benchmark stopped after that size, and this page was written from the '
                      'figures it had saved (`build/bench/results.partial.json`). The sizes after it, the module probes, '
                      'icr_credential alone, the slicing and the profiles were not measured; their sections say so or are '
                      'missing.' % data['partial'], '']
    return '\n'.join(lines) + '\n'


def _site(site: str) -> str:
    """'/usr/lib/python3.13/multiprocessing/queues.py:387' -> 'multiprocessing/queues.py:387'."""
    parts = site.replace('\\', '/').split('/')
    return '/'.join(parts[-2:]) if len(parts) > 1 else site


def memory_section(memory: dict[str, Any] | None) -> list[str]:
    """The controller's memory per task (tracemalloc) and the validation task alone for specifications of four sizes:
    why the role under `roles:` misses the memory target, and what leaves the cost out."""
    if not memory or not memory.get('tasks'):
        return []
    n = memory['n']
    lines = ['', '### Where the controller\'s memory goes (N=%d, forks %d)' % (n, memory['forks']), '',
             'Run when the memory target is missed: one first run of `%s` (under `roles:`) with the callback '
             'tests/bench/callback_plugins/bench_memory.py, which starts tracemalloc in the controller\'s process once '
             'ansible-core has loaded and records, per task, the Python memory at the task\'s start, its peak while the task '
             'ran, and what was held when the last host\'s result came in, with the allocation site that held the most. '
             'tracemalloc counts Python\'s allocations, not the process\'s RSS (%.0f MB in this run, tracemalloc\'s own '
             'records included).' % (memory['contender'], memory['rss_mb']), '']
    rows = []
    for task in memory['tasks']:
        held = task.get('held') or []
        top = held[0] if held else None
        rows.append([short_task(task['name']), fmt(task.get('start_mb'), 1), fmt(task.get('peak_mb'), 1),
                     fmt(task.get('held_mb'), 1),
                     '%s: %.1f MB (%.0f KiB per host)' % (_site(top['site']), top['mb'], top['mb'] * 1e6 / 1024 / n) if top else
                     '(the task ran once)'])
    lines += table(['task', 'MB at start', 'peak MB', 'MB at the last result', 'largest holder then'], rows)
    worst = max((t for t in memory['tasks'] if t.get('held')), key=lambda t: t['held'][0]['mb'], default=None)
    if worst is not None and 'queues.py' in worst['held'][0]['site']:
        lines += ['', 'The largest holder is the results the workers sent back (unpickled by the results thread in '
                  '`multiprocessing/queues.py`) for the task "%s": %.1f MB for %d hosts, %.0f KiB each. In ansible-core '
                  '2.19 and later a worker sends the task\'s fields (`task.dump_attrs()`, its arguments included) with '
                  'every result, and the linear strategy keeps every host\'s result of a task until the task is done on '
                  'all hosts. The arguments of ansible-core\'s validation task are the role\'s whole argument '
                  'specification.' % (short_task(worst['name'], 1000), worst['held'][0]['mb'], n,
                                      worst['held'][0]['mb'] * 1e6 / 1024 / n)]
    cases = memory.get('spec_sizes') or []
    if cases:
        base = med(v for v in cases[0]['rss_mb'] if v is not None)
        lines += ['', 'The validation task alone: %d hosts with `ansible_connection=local` (the task needs no connection), '
                  'a role whose only other task runs once, listed under `roles:`; only the size of its '
                  'meta/argument_specs.yml differs. Peak RSS of two runs each:' % n, '']
        lines += table(['argument specification', 'options', 'peak RSS MB', 'against none'],
                       [[c['label'], str(c['options']), ' / '.join(fmt(v, 0) for v in c['rss_mb']),
                         '%+.0f MB' % (med(v for v in c['rss_mb'] if v is not None) - base)
                         if base is not None and any(v is not None for v in c['rss_mb']) else '-'] for c in cases])
        rises = [med(v for v in c['rss_mb'] if v is not None) for c in cases]
        if base is not None and all(r is not None for r in rises) and len(rises) > 1:
            rise = rises[-1] - base
            grows = all(b >= a for a, b in zip(rises, rises[1:])) and rise > 0
            lines += ['', '%s: %+.0f MB for the whole specification against none, at %d hosts.' % (
                'The peak grows with the size of the specification' if grows else
                'The peak does not grow step by step with the size of the specification here', rise, n)]
        lines += ['', 'ansible-core prepends the validation task to a role listed under `roles:` whenever the role has a '
                  'specification for its entry point, and `ansible-doc -t role` reads the same file; a role that keeps '
                  'its documented specification for `main` cannot leave the task out under `roles:`. '
                  '`ansible.builtin.import_role` with `rolespec_validate: false` leaves it out (contender '
                  '`role_apikey_import` in the targets above); the role\'s own first task still checks every variable '
                  'against the same specification, once, on the controller.']
    return lines


def stdout_summary(data: dict[str, Any]) -> str:
    res = Results(data)
    lines = ['', 'Targets:']
    for name, measured, met in targets(res):
        lines.append('  [%s] %s\n        %s' % (verdict_text(met).strip('*'), name, measured))
    lines += ['', 'Wall time and calls per run:']
    lines += wall_tables(res)
    lines += strategy_section(res) + controller_section(data) + slicing_section(data)
    lines += ['', 'Role against the alternatives (alternative / role):']
    lines += speedup_tables(res)
    lines += ['', 'Modules on one host:']
    lines += probe_table(data.get('probes', {}))
    lines += helper_get_section(data.get('helper_get'))
    lines += diagnosis_section(data)
    found = findings(res) + payload_findings(data.get('probes', {}))
    if found:
        lines += ['', 'In short:'] + found
    return '\n'.join(lines)


def write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as handle:
        handle.write(text)
    os.replace(tmp, path)
