# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The credential helper's `get` figures (icr_bench.helper_get): rounds, order, arithmetic, the get check, the table."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
for _path in (os.path.dirname(HERE), os.path.join(HERE, '..', '..', 'infra'), os.path.join(HERE, '..', '..', 'emulator')):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# pylint: disable=wrong-import-position
from icr_bench import helper_get, report  # noqa: E402

SAMPLES = [
    {'floor': 0.010, 'warm': 0.050, 'refresh': 0.100},
    {'floor': 0.020, 'warm': 0.060, 'refresh': 0.120},
    {'floor': 0.010, 'warm': 0.040, 'refresh': 0.090},
]


def test_summarize_gives_medians_ratios_of_medians_and_paired_spread():
    out = helper_get.summarize(SAMPLES)
    assert out['rounds'] == 3
    assert out['median'] == pytest.approx({'floor': 0.010, 'warm': 0.050, 'refresh': 0.100})
    assert out['min']['floor'] == pytest.approx(0.010) and out['max']['refresh'] == pytest.approx(0.120)
    assert out['ratio'] == pytest.approx({'warm': 5.0, 'refresh': 10.0})  # of the medians, not the median of ratios
    assert out['over_floor_ms'] == pytest.approx({'warm': 40.0, 'refresh': 90.0})
    # per round: warm 5, 3, 4; refresh 10, 6, 9 -> (min, median, max)
    assert out['ratio_spread']['warm'] == pytest.approx([3.0, 4.0, 5.0])
    assert out['ratio_spread']['refresh'] == pytest.approx([6.0, 9.0, 10.0])


def test_summarize_skips_incomplete_rounds_and_survives_none():
    out = helper_get.summarize(SAMPLES[:1] + [{'floor': 0.5, 'warm': 9.0}])
    assert out['rounds'] == 1 and out['median']['floor'] == pytest.approx(0.010)
    empty = helper_get.summarize([])
    assert empty['rounds'] == 0 and empty['median'] == {} and empty['ratio'] == {}
    assert report.helper_get_section(empty) == [] and report.helper_get_section(None) == []
    assert report.helper_get_section({'error': 'bench: get failed'}) == []


def test_order_rotates_so_no_kind_always_runs_first_or_last():
    orders = [helper_get.order(r) for r in range(3)]
    assert orders[0] == ['floor', 'warm', 'refresh']
    assert {o[0] for o in orders} == set(helper_get.KINDS) and {o[-1] for o in orders} == set(helper_get.KINDS)
    assert all(sorted(o) == sorted(helper_get.KINDS) for o in orders)
    assert helper_get.order(3) == orders[0]


def test_rounds_from_env():
    assert helper_get.rounds_from_env({}) == helper_get.DEFAULT_ROUNDS
    assert helper_get.rounds_from_env({'BENCH_HELPER_ROUNDS': ' 7 '}) == 7
    with pytest.raises(SystemExit, match='BENCH_HELPER_ROUNDS must be a whole number'):
        helper_get.rounds_from_env({'BENCH_HELPER_ROUNDS': 'many'})
    with pytest.raises(SystemExit, match='at least 1'):
        helper_get.rounds_from_env({'BENCH_HELPER_ROUNDS': '0'})


def _proc(rc, stdout, stderr=b''):
    return subprocess.CompletedProcess(['docker-credential-icr', 'get'], rc, stdout, stderr)


def test_check_get_accepts_a_credential_and_refuses_anything_else_without_showing_stdout():
    token = 'eyJhbGciOiJSUzI1NiJ9.secret-token-value.sig'
    good = json.dumps({'ServerURL': helper_get.REGISTRY, 'Username': '<token>', 'Secret': token}).encode()
    helper_get.check_get(_proc(0, good), 'warm')
    with pytest.raises(RuntimeError, match=r'get \(refresh\) failed with rc=1: .*metadata service unreachable'):
        helper_get.check_get(_proc(1, b'', b'docker-credential-icr: metadata service unreachable\n'), 'refresh')
    with pytest.raises(RuntimeError, match='printed no JSON'):
        helper_get.check_get(_proc(0, b'not json ' + token.encode()), 'warm')
    for reply in ({'ServerURL': 'de.icr.io', 'Username': '<token>', 'Secret': token},
                  {'ServerURL': helper_get.REGISTRY, 'Username': '<token>', 'Secret': ''}, [token]):
        with pytest.raises(RuntimeError, match='gave no credential') as caught:
            helper_get.check_get(_proc(0, json.dumps(reply).encode()), 'warm')
        assert token not in str(caught.value)


def test_the_table_shows_medians_in_ms_ratios_and_spread():
    result = dict(helper_get.summarize(SAMPLES), python='/usr/bin/python3', python_version='3.11.2', zipapp_bytes=61373,
                  calls={'metadata_token': 3, 'metadata_iam_token': 3})
    text = '\n'.join(report.helper_get_section(result))
    assert '## Credential helper' in text and '3 rounds' in text and '61373 bytes' in text
    assert '| floor: `python3 -c pass` | 10.0 (10.0-20.0) | - | 1 |' in text
    assert '| `get`, token cached | 50.0 (40.0-60.0) | +40.0 | 5.00 (3.00, 4.00, 5.00) |' in text
    assert '| `get`, cache removed (metadata + IAM exchange) | 100.0 (90.0-120.0) | +90.0 | 10.00 (6.00, 9.00, 10.00) |' in text
    assert 'metadata_iam_token 3, metadata_token 3' in text
    assert helper_get.summary_line(result) == ('helper get (3 rounds): floor 10.0 ms, warm cache 50.0 ms (x5.00 floor), '
                                               'refresh 100.0 ms (x10.00 floor)')


def test_bench_contenders_selects_the_named_contenders_and_their_floors():
    from icr_bench.contenders import CONTENDERS, select  # pylint: disable=import-outside-toplevel
    assert select('') == CONTENDERS and select('all') == CONTENDERS
    assert [c.key for c in select('role_helper')] == ['floor_become', 'role_helper']
    assert [c.key for c in select(' docker_login , role_bearer')] == ['floor1', 'floor2', 'role_bearer', 'docker_login']
    with pytest.raises(ValueError, match='unknown role_helpr; give a comma-separated list of .*role_helper'):
        select('role_helpr')


def test_the_helper_contender_runs_the_role_with_the_helper_method_against_its_own_floor():
    from icr_bench.contenders import BY_KEY, NEEDS_SUDO  # pylint: disable=import-outside-toplevel
    helper = BY_KEY['role_helper']
    assert dict(helper.role_vars)['docker_auth_method'] == 'helper' and helper.floor == 'floor_become'
    assert helper.kind == 'helper' and set(NEEDS_SUDO) == {'floor_become', 'role_helper'}
    with open(BY_KEY['floor_become'].path, encoding='utf-8') as handle:
        floor = handle.read()
    assert floor.count('ansible.builtin.ping:') == 2 and floor.count('become: true') == 1


def _run(contender, phase, wall, rnd=0, changed=0, rewritten=None):
    return {'n': 5, 'forks': 5, 'contender': contender, 'phase': phase, 'round': rnd, 'wall': wall, 'ok': True,
            'changed_hosts': changed, 'files_rewritten': rewritten, 'counters': {}, 'timer': {}, 'maxrss_kib': 1024,
            'cpu': 1.0}


def test_a_helper_only_run_reports_its_ratio_and_does_not_pass_targets_it_did_not_measure():
    import dataclasses  # pylint: disable=import-outside-toplevel
    from icr_bench.contenders import BY_KEY, select  # pylint: disable=import-outside-toplevel
    data = {'runs': [_run('floor_become', 'once', 2.0), _run('role_helper', 'first', 4.0, changed=5),
                     _run('role_helper', 'rerun', 5.0, changed=1, rewritten=0)],
            'contenders': {c.key: dataclasses.asdict(c) for c in select('role_helper')}, 'roles': [], 'alternatives': [],
            'probes': {}}
    data['contenders']['role_helper']['phases'] = list(BY_KEY['role_helper'].phases)
    data['contenders']['floor_become']['phases'] = ['once']
    res = report.Results(data)
    assert res.ratio(5, 5, ('role_helper', 'first'), ('floor_become', 'once'))[0] == pytest.approx(2.0)
    text = '\n'.join(report.wall_tables(res))
    assert '| docker_auth helper (vpc_trusted_profile) | first run | 4.00 | 2.00 (floor_become) |' in text
    verdicts = {name: (measured, met) for name, measured, met in report.targets(res)}
    assert verdicts['1 IAM exchange per play at every N up to 200 (iambearer), 0 on a rerun'][1] is None
    assert verdicts['0 hosts changed on a rerun (and 0 files rewritten)'][1] is False  # the helper's rerun changed a host
    assert report.speedup_tables(res)[0].startswith('(not measured')
