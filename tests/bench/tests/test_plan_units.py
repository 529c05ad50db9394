# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The bench's plan (rounds, forks, contenders per size, slices) and the report's new targets and sections."""

from __future__ import annotations

import dataclasses
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
for _path in (os.path.dirname(HERE), os.path.join(HERE, '..', '..', 'infra'), os.path.join(HERE, '..', '..', 'emulator')):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# pylint: disable=wrong-import-position
from icr_bench import plan, report  # noqa: E402
from icr_bench.contenders import BY_KEY, CONTENDERS, select  # noqa: E402

KINDS = {c.key: c.kind for c in CONTENDERS}


def test_default_rounds_are_fewer_at_200():
    assert plan.parse_rounds('', (20, 50, 200)) == {20: 3, 50: 2, 200: 2}


def test_rounds_for_every_size_and_per_size():
    assert plan.parse_rounds('1', (5, 200)) == {5: 1, 200: 1}
    assert plan.parse_rounds('200:1', (20, 200)) == {20: 3, 200: 1}
    assert plan.parse_rounds('50:3', (20, 50, 200)) == {20: 3, 50: 3, 200: 2}


@pytest.mark.parametrize('text, words', [('0', 'at least 1'), ('x', 'number of rounds'), ('20:0', 'size:rounds'),
                                         ('30:2', 'BENCH_SIZES')])
def test_bad_rounds_name_the_variable(text, words):
    with pytest.raises(ValueError, match='BENCH_REPEATS') as info:
        plan.parse_rounds(text, (20, 50))
    assert words in str(info.value)


def test_forks_half_capped_at_25():
    assert plan.forks_for(5) == [5]
    assert plan.forks_for(20) == [5, 10]
    assert plan.forks_for(200) == [5, 25]
    assert plan.forks_for(200, '40') == [5, 40]


def test_alternatives_only_up_to_50():
    keys = [c.key for c in CONTENDERS]
    assert 'docker_login' in plan.contenders_at(50, keys, KINDS)
    at_200 = plan.contenders_at(200, keys, KINDS)
    assert not {'docker_login', 'podman_login', 'docker_command'} & set(at_200)
    assert {'floor1', 'floor2', 'role_apikey', 'role_bearer'} <= set(at_200)
    assert not {'role_helper', 'floor_become'} & set(plan.contenders_at(50, keys, KINDS))  # the helper at 20 only
    assert {'role_helper', 'floor_become'} <= set(plan.contenders_at(20, keys, KINDS))


def test_strategy_contenders_bring_their_floor():
    keys = [c.key for c in select('role_apikey_mitogen')]
    assert keys == ['floor1_mitogen', 'role_apikey_mitogen']
    assert BY_KEY['role_apikey_free'].floor == 'floor1_free' and BY_KEY['floor1_free'].strategy == 'free'


def test_estimate_grows_with_n_and_leaves_alternatives_out_at_200():
    phases = {c.key: len(c.phases) for c in CONTENDERS if not c.strategy}
    kinds = {k: KINDS[k] for k in phases}
    assert plan.runs_per_round(200, phases, kinds) < plan.runs_per_round(50, phases, kinds)
    est = plan.estimate((20, 50, 200), {20: 3, 50: 3, 200: 2}, phases, kinds, extra_s=100.0)
    assert est[20] < est[50] < est[200] and est[-1] == 100.0


def test_slices_are_awx_style_and_cover_every_host_once():
    hosts = ['h%d' % i for i in range(7)]
    parts = plan.slices(hosts, 3)
    assert parts == [['h0', 'h3', 'h6'], ['h1', 'h4'], ['h2', 'h5']]
    assert sorted(sum(parts, [])) == sorted(hosts)
    assert plan.slices(hosts[:2], 3) == [['h0'], ['h1']]  # no empty slice
    assert plan.limit_pattern(parts[1]) == 'h1,h4'
    with pytest.raises(ValueError):
        plan.slices(hosts, 0)
    with pytest.raises(ValueError):
        plan.limit_pattern([])


def _run(contender, phase, wall, rnd=0, n=20, forks=5, **extra):
    run = {'contender': contender, 'phase': phase, 'wall': wall, 'round': rnd, 'n': n, 'forks': forks, 'ok': True,
           'counters': {'iam_token': 0, 'registry_token': 0}, 'changed_hosts': 0, 'files_rewritten': 0, 'maxrss_kib': 60 * 1024,
           'cpu': 1.0, 'timer': {}}
    run.update(extra)
    return run


def _data(runs, **extra):
    data = {'runs': runs, 'contenders': {c.key: dataclasses.asdict(c) for c in CONTENDERS},
            'roles': ['role_apikey', 'role_bearer'], 'alternatives': [], 'settings': {'repeats': 3, 'probe_repeats': 7}}
    for entry in data['contenders'].values():
        entry['phases'] = list(entry['phases'])
    data.update(extra)
    return data


def _fleet(n, role_wall, floor_wall=10.0, rss_mb=60):
    runs = []
    for rnd in range(2):
        runs += [_run('floor1', 'once', floor_wall, rnd, n=n), _run('floor2', 'once', floor_wall, rnd, n=n)]
        for phase in ('first', 'rerun'):
            runs += [_run('role_apikey', phase, role_wall, rnd, n=n, maxrss_kib=rss_mb * 1024),
                     _run('role_bearer', phase, role_wall, rnd, n=n,
                          counters={'iam_token': 1 if phase == 'first' else 0, 'registry_token': 1})]
    return runs


def _verdicts(data):
    return {name.split(' ')[0] + ' ' + name.split(' ')[1] + ' ' + name.split(' ')[2]: met
            for name, _text, met in report.targets(report.Results(data))}


def test_ratio_growing_with_n_is_missed():
    flat = _verdicts(_data(_fleet(20, 10.4) + _fleet(200, 10.4)))
    assert flat['the ratio does'] is True and flat['iamapikey role (validate=false)'] is True
    grown = _verdicts(_data(_fleet(20, 10.2) + _fleet(200, 10.4)))
    assert grown['the ratio does'] is False


def test_ratio_within_the_smallest_sizes_spread_is_not_growth():
    def noisy(n, role_walls):
        runs = []
        for rnd, wall in enumerate(role_walls):
            runs += [_run('floor1', 'once', 10.0, rnd, n=n), _run('floor2', 'once', 10.0, rnd, n=n)]
            for phase in ('first', 'rerun'):
                runs += [_run('role_apikey', phase, wall, rnd, n=n), _run('role_bearer', phase, wall, rnd, n=n)]
        return runs
    # N=20: rounds 0.94, 0.95, 1.02 (median 0.95); N=200 median 0.97: inside N=20's spread
    within = _verdicts(_data(noisy(20, (9.4, 9.5, 10.2)) + noisy(200, (9.6, 9.7, 9.8))))
    assert within['the ratio does'] is True
    # N=200 median 1.03: above every round at N=20
    above = _verdicts(_data(noisy(20, (9.4, 9.5, 10.2)) + noisy(200, (10.2, 10.3, 10.4))))
    assert above['the ratio does'] is False
    texts = [t for name, t, _m in report.targets(report.Results(_data(noisy(20, (9.4, 9.5, 10.2)) + noisy(200, (9.6, 9.7, 9.8)))))
             if name.startswith('the ratio does')]
    assert 'N=20 0.95 (0.94-1.02), N=200 0.97' in texts[0]


def test_memory_at_200_within_10_mb():
    assert _verdicts(_data(_fleet(200, 10.0, rss_mb=69)))['controller peak memory'] is True
    assert _verdicts(_data(_fleet(200, 10.0, rss_mb=71)))['controller peak memory'] is False
    assert _verdicts(_data(_fleet(50, 10.0, rss_mb=60)))['controller peak memory'] is None  # 200 not measured


def _timer(seconds):
    return {'tasks': [{'name': 'Get the registry credential on the controller', 'start': 0.0,
                       'hosts': {'localhost': [1.0, 1.0 + seconds, 'ok']}}]}


def test_cached_credential_target():
    runs = [_run('credential_alone', 'first', 2.0, r, n=1, timer=_timer(0.9)) for r in range(3)]
    fast = [_run('credential_alone', 'rerun', 1.5, r, n=1, timer=_timer(s)) for r, s in enumerate((0.2, 0.24, 0.3))]
    assert _verdicts(_data(_fleet(20, 10.0), controller_runs=runs + fast))['icr_credential on the'] is True
    slow = [_run('credential_alone', 'rerun', 1.5, r, n=1, timer=_timer(0.26)) for r in range(3)]
    assert _verdicts(_data(_fleet(20, 10.0), controller_runs=runs + slow))['icr_credential on the'] is False
    assert _verdicts(_data(_fleet(20, 10.0)))['icr_credential on the'] is None


def _timer_with_floor(seconds, floor):
    timer = _timer(seconds)
    timer['tasks'].append({'name': 'Controller floor', 'start': 2.0, 'hosts': {'localhost': [2.0, 2.0 + floor, 'ok']}})
    return timer


def test_cached_credential_target_names_ansibles_floor_and_its_own_share():
    runs = [_run('credential_alone', 'first', 2.0, r, n=1, timer=_timer_with_floor(0.9, 0.2)) for r in range(3)]
    runs += [_run('credential_alone', 'rerun', 1.5, r, n=1, timer=_timer_with_floor(s, f))
             for r, (s, f) in enumerate(((0.30, 0.22), (0.28, 0.20), (0.33, 0.21)))]
    text = [t for name, t, _met in report.targets(report.Results(_data(_fleet(20, 10.0), controller_runs=runs)))
            if name.startswith('icr_credential on the')][0]
    # the floor over all six runs (median 0.205), the cached runs' own share paired run by run (0.08, 0.08, 0.12)
    assert "floor for a task in the worker on the controller (ansible.builtin.debug, same play) 0.20 (0.20-0.22) s" in text
    assert "own share with the token cached 0.08 (0.08-0.12) s" in text
    section = '\n'.join(report.controller_section(_data([], controller_runs=runs)))
    assert "| Ansible's floor: `ansible.builtin.debug` after it, same arguments templated | 0.20 (0.20-0.22) |" in section
    older = [_run('credential_alone', 'rerun', 1.5, r, n=1, timer=_timer(0.2)) for r in range(3)]
    text = [t for name, t, _met in report.targets(report.Results(_data(_fleet(20, 10.0), controller_runs=older)))
            if name.startswith('icr_credential on the')][0]
    assert 'floor' not in text and 'floor' not in '\n'.join(report.controller_section(_data([], controller_runs=older)))


def test_payload_and_host_run_targets():
    probes = {'ping': {'payload_bytes': 1000, 'again': [0.10, 0.10]},
              'icr_login': {'payload_bytes': 1100, 'fresh': [0.12], 'again': [0.12]}}
    verdicts = _verdicts(_data(_fleet(20, 10.0), probes=probes))
    assert verdicts['icr_login payload <='] is True and verdicts['icr_login run on'] is True
    probes['icr_login'].update(payload_bytes=1101, again=[0.121])
    verdicts = _verdicts(_data(_fleet(20, 10.0), probes=probes))
    assert verdicts['icr_login payload <='] is False and verdicts['icr_login run on'] is False


def test_payload_and_host_run_targets_take_the_pipelined_script_when_measured():
    probes = {'ping': {'payload_bytes': 1000, 'again': [0.10, 0.10]},
              'icr_login': {'payload_bytes': 2000, 'fresh': [0.3], 'again': [0.3]},
              'icr_login_pipelined': {'payload_bytes': 400, 'fresh': [0.05], 'again': [0.05], 'kind': 'pipelined'}}
    verdicts = _verdicts(_data(_fleet(20, 10.0), probes=probes))
    assert verdicts['icr_login payload <='] is True and verdicts['icr_login run on'] is True
    texts = dict((name, text) for name, text, _met in report.targets(report.Results(_data(_fleet(20, 10.0), probes=probes))))
    assert texts["icr_login payload <= 1.10 x ping's"] == 'pipelined script 0.4 KiB vs 1.0 KiB: 0.40 x'
    del probes['icr_login_pipelined']
    verdicts = _verdicts(_data(_fleet(20, 10.0), probes=probes))
    assert verdicts['icr_login payload <='] is False and verdicts['icr_login run on'] is False


def test_payload_target_not_measured_is_not_called_a_failed_probe():
    texts = dict((name.split(';')[0], text) for name, text, _met in report.targets(report.Results(_data(_fleet(20, 10.0)))))
    assert texts["icr_login payload <= 1.10 x ping's"] == 'not measured'
    probes = {'ping': {'payload_bytes': 1000, 'again': [0.10]}, 'icr_login': {'error': 'see /tmp/probe.log'}}
    texts = dict((name.split(';')[0], text)
                 for name, text, _met in report.targets(report.Results(_data(_fleet(20, 10.0), probes=probes))))
    assert texts["icr_login payload <= 1.10 x ping's"] == 'probe of icr_login failed'


def test_strategy_rows_have_their_own_table():
    runs = _fleet(20, 10.0) + [_run('floor1_free', 'once', 8.0), _run('role_apikey_free', 'first', 8.8)]
    res = report.Results(_data(runs))
    main = '\n'.join(report.wall_tables(res))
    own = '\n'.join(report.strategy_section(res))
    assert 'strategy free' not in main
    assert '| docker_auth iamapikey, validate=false, strategy free | first run | 8.80 | 1.10 (floor1_free) |' in own


def test_slicing_section_counts_and_says_whether_the_cache_is_shared():
    cases = [{'n': 6, 'k': 1, 'mode': 'sequential', 'shared': True, 'wall': 5.0, 'rcs': [0], 'hosts': [6], 'iam_token': 1,
              'registry_token': 1, 'changed_hosts': 6}]
    for mode in ('sequential', 'concurrent'):
        for shared in (True, False):
            iam = 1 if shared and mode == 'sequential' else 2
            cases.append({'n': 6, 'k': 2, 'mode': mode, 'shared': shared, 'wall': 6.0, 'rcs': [0, 0], 'hosts': [3, 3],
                          'iam_token': iam, 'registry_token': iam, 'changed_hosts': 6})
    text = '\n'.join(report.slicing_section({'slicing': {'cases': cases, 'n': 6, 'runner_version': '2.4.3'}}))
    assert 'k=2 sequential: 1 with a shared cache, 2 with separate caches' in text
    assert 'The cache can be shared' in text
    assert '### Recipe: a sliced job' in text
    cases[1]['iam_token'] = 2  # k=2 sequential shared: two exchanges
    assert 'did not save exchanges' in report.slicing_verdict(cases)


def test_remaining_time_names_the_largest_extra():
    floor = {'cpu': 4.0, 'categories': {'templating (Jinja2)': 1.0, 'argument validation': 0.0}, 'top': []}
    role = {'cpu': 5.5, 'categories': {'templating (Jinja2)': 1.2, 'argument validation': 1.0},
            'top': [('validate (x.py)', 0.5)]}
    lines = report.remaining_time({'role_apikey:first': role, 'floor1:once': floor})
    assert any('+1.50 CPU s' in line and line.index('argument validation') < line.index('templating') for line in lines)


def test_failed_controller_runs_do_not_count():
    failed = [_run('credential_alone', 'rerun', 1.5, r, n=1, timer=_timer(0.01), ok=False) for r in range(3)]
    assert _verdicts(_data(_fleet(20, 10.0), controller_runs=failed))['icr_credential on the'] is None


def test_secret_files_finds_the_key_in_runner_artifacts(tmp_path):
    from icr_bench.bench import Bench  # pylint: disable=import-outside-toplevel
    bench = Bench.__new__(Bench)
    bench.api_key = 'k' * 44
    pdd = tmp_path / 'pdd'
    (pdd / 'artifacts' / 'id').mkdir(parents=True)
    (pdd / 'env').mkdir()
    (pdd / 'env' / 'extravars').write_text('{"docker_auth_api_key": "{{ lookup(\'ansible.builtin.file\', \'/x\') }}"}')
    (pdd / 'artifacts' / 'id' / 'stdout').write_text('ok')
    assert not bench._secret_files([str(pdd)])  # pylint: disable=protected-access
    (pdd / 'artifacts' / 'id' / 'command').write_text('{"env": {"IBMCLOUD_API_KEY": "%s"}}' % bench.api_key)
    assert bench._secret_files([str(pdd)]) == ['artifacts/id/command']  # pylint: disable=protected-access
