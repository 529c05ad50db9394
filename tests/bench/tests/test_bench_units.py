# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The benchmark's own arithmetic and parsers, without running anything (pytest tests/bench/tests; not in make test)."""

from __future__ import annotations

import base64
import io
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
for _path in (os.path.dirname(HERE), os.path.join(HERE, '..', '..', 'infra'), os.path.join(HERE, '..', '..', 'emulator')):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# pylint: disable=wrong-import-position
from icr_bench import report  # noqa: E402
from icr_bench.bench import Bench, Settings, zip_entries  # noqa: E402
from icr_bench.contenders import CONTENDERS, rotated  # noqa: E402
from icr_bench.runs import parse_recap  # noqa: E402

RECAP = """
PLAY RECAP *********************************************************************
icrbench001                : ok=2    changed=1    unreachable=0    failed=0    skipped=3    rescued=0    ignored=0
icrbench002                : ok=2    changed=0    unreachable=0    failed=0    skipped=3    rescued=0    ignored=0
"""


def _run(contender, phase, wall, rnd=0, n=20, forks=5, **extra):
    run = {'contender': contender, 'phase': phase, 'wall': wall, 'round': rnd, 'n': n, 'forks': forks, 'ok': True,
           'counters': {'iam_token': 0, 'registry_token': 0}, 'changed_hosts': 0, 'files_rewritten': 0, 'maxrss_kib': 1024,
           'cpu': 1.0, 'timer': {}}
    run.update(extra)
    return run


def _data(runs):
    return {'runs': runs, 'contenders': {c.key: {'phases': list(c.phases), 'label': c.label, 'kind': c.kind, 'floor': c.floor,
                                                 'host_task': c.host_task} for c in CONTENDERS},
            'roles': ['role_apikey', 'role_bearer'], 'alternatives': ['docker_login', 'podman_login', 'docker_command'],
            'settings': {'repeats': 3, 'probe_repeats': 7}}


def test_parse_recap():
    recap = parse_recap(RECAP)
    assert sorted(recap) == ['icrbench001', 'icrbench002']
    assert recap['icrbench001']['changed'] == 1 and recap['icrbench002']['skipped'] == 3


def test_rotation_alternates_the_order():
    keys = tuple(CONTENDERS[:3])
    assert [c.key for c in rotated(keys, 0)] == [c.key for c in keys]
    assert [c.key for c in rotated(keys, 1)] == [keys[1].key, keys[2].key, keys[0].key]
    assert [c.key for c in rotated(keys, 3)] == [c.key for c in keys]


def test_rotation_of_no_contender_is_an_empty_round():
    # BENCH_CONTENDERS naming only strategy contenders, at a tuned forks value where they do not run
    assert rotated((), 0) == [] and rotated((), 3) == []


def test_forks_default_and_half():
    settings = Settings(sizes=(5, 20, 50), repeats=3, tuned_forks='half', profile='never', probe_repeats=1, keep=False,
                        keep_users=False)
    assert settings.forks_for(5) == [5]
    assert settings.forks_for(20) == [5, 10]
    assert settings.forks_for(50) == [5, 25]
    assert settings.forks_for(200) == [5, 25]  # N/2, at most 25 on 2 cores


def test_ratio_of_medians_and_paired_spread():
    runs = [_run('floor1', 'once', w, r) for r, w in enumerate((10.0, 12.0, 11.0))]
    runs += [_run('role_apikey', 'first', w, r) for r, w in enumerate((11.0, 12.0, 12.1))]
    res = report.Results(_data(runs))
    ratio, paired = res.ratio(20, 5, ('role_apikey', 'first'), ('floor1', 'once'))
    assert abs(ratio - 12.0 / 11.0) < 1e-9
    assert [round(p, 3) for p in paired] == [1.1, 1.0, 1.1]


def test_targets_report_missed_and_met():
    runs = []
    for rnd in range(3):
        runs += [_run('floor1', 'once', 10.0, rnd), _run('floor2', 'once', 11.0, rnd)]
        runs += [_run('role_apikey', 'first', 10.2, rnd), _run('role_apikey', 'rerun', 10.1, rnd)]
        runs += [_run('role_bearer', 'first', 13.0, rnd, counters={'iam_token': 1, 'registry_token': 1}),
                 _run('role_bearer', 'rerun', 11.5, rnd, counters={'iam_token': 0, 'registry_token': 1})]
        for alt in ('docker_login', 'podman_login'):
            runs += [_run(alt, 'first', 20.0, rnd), _run(alt, 'rerun', 20.0, rnd)]
    verdicts = {name.split(' ')[0] + name.split(' ')[1]: met for name, _text, met in report.targets(report.Results(_data(runs)))}
    assert verdicts['iamapikeyrole'] is True
    assert verdicts['iambearerrole'] is False  # 13.0 / 11.0 > 1.10
    assert verdicts['1IAM'] is True
    assert verdicts['0hosts'] is True


def test_summarize_profile_counts_nested_processes(tmp_path):
    raw = tmp_path / 'raw.txt'
    main = 'process 10:"/venv/bin/python /venv/bin/ansible-playbook -i inv play.yml"'
    worker = 'process 11:"/venv/bin/python /venv/bin/ansible-playbook -i inv play.yml"'
    module = 'process 12:"/venv/bin/python /root/.ansible/tmp/x/AnsiballZ_icr_credential.py"'
    raw.write_text('\n'.join([
        main + ';<module> (ansible-playbook:5);_queue_task (ansible/plugins/strategy/__init__.py:400) 10',
        main + ';' + worker + ';run (ansible/executor/process/worker.py:1);_compile_module_ast '
        '(/venv/lib/python3.11/site-packages/ansible/executor/module_common.py:846) 4',
        main + ';' + worker + ';' + module + ';<module> (AnsiballZ_icr_credential.py:1) 2',
    ]) + '\n')
    summary = report.summarize_profile(str(raw), 100)
    assert summary['processes'] == 3
    assert abs(summary['cpu'] - 0.16) < 1e-9
    assert summary['categories']['strategy and worker processes'] == 0.1
    assert summary['categories']['building module payloads (AnsiballZ)'] == 0.04
    assert summary['by_process']['modules run on the controller (delegate_to: localhost)'] == 0.02


def test_zip_entries_of_an_ansiballz_like_file(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        source = ''.join('x%d = %r\n' % (i, os.urandom(8).hex()) for i in range(100))  # ~2.5 KB that does not compress away
        archive.writestr('ansible_collections/icr/auth/plugins/module_utils/_login.py', source)
    path = tmp_path / 'AnsiballZ_icr_login.py'
    path.write_text("_ansiballz_main(zip_data='%s', ansible_module='icr_login')\n" % base64.b64encode(buffer.getvalue()).decode())
    entries = zip_entries(str(path))
    assert list(entries) == ['ansible_collections/icr/auth/plugins/module_utils/_login.py']
    assert entries['ansible_collections/icr/auth/plugins/module_utils/_login.py'][0] == len(source)


def test_the_figures_are_handed_on_after_each_size(monkeypatch):
    """A run stopped after a size (a busy machine, a deadline) still leaves the figures of the sizes it measured."""
    bench = Bench(Settings(sizes=(5, 20), repeats=1, tuned_forks='half', profile='never', probe_repeats=1, keep=False,
                           keep_users=False))
    done = []

    class Run:
        def __init__(self, n, key):
            self.n, self.key = n, key

        def to_json(self):
            return {'n': self.n, 'contender': self.key}

    monkeypatch.setattr(bench, 'run_unit', lambda contender, n, forks, rnd: [Run(n, contender.key)])
    monkeypatch.setattr('icr_bench.bench.say', lambda *args: None)
    bench.checkpoint = lambda n: done.append((n, len(bench.results()['runs']), {r['n'] for r in bench.results()['runs']}))
    bench.measure()
    assert [n for n, _runs, _sizes in done] == [5, 20]
    assert done[0][2] == {5} and done[1][2] == {5, 20}, done
    assert 0 < done[0][1] < done[1][1] == len(bench.runs), done
