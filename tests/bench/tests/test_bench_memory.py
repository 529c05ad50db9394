# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller's memory per task: the callback bench_memory in a real ansible-playbook run, the page's section and
the memory target's text."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
for _path in (os.path.dirname(HERE), os.path.join(HERE, '..', '..', 'infra'), os.path.join(HERE, '..', '..', 'emulator')):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# pylint: disable=wrong-import-position
from icr_bench import report  # noqa: E402
from test_plan_units import _data, _fleet, _run  # noqa: E402  # pylint: disable=import-error

REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
HOSTS = 6


def _play(tmp_path, memory_file):
    role = tmp_path / 'roles' / 'specced'
    (role / 'tasks').mkdir(parents=True)
    (role / 'meta').mkdir()
    shutil.copy(os.path.join(REPO, 'roles', 'docker_auth', 'meta', 'argument_specs.yml'), role / 'meta' / 'argument_specs.yml')
    (role / 'tasks' / 'main.yml').write_text('- name: Once\n  ansible.builtin.debug:\n    msg: once\n  run_once: true\n')
    (tmp_path / 'inventory.ini').write_text('[all]\n' + ''.join('m%d ansible_connection=local\n' % i for i in range(HOSTS)))
    (tmp_path / 'play.yml').write_text('- hosts: all\n  gather_facts: false\n  roles: [specced]\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    env.update({'ANSIBLE_CALLBACK_PLUGINS': os.path.join(os.path.dirname(HERE), 'callback_plugins'),
                'ANSIBLE_CALLBACKS_ENABLED': 'bench_memory', 'ANSIBLE_HOME': str(tmp_path / 'home'),
                'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'local'), 'ICR_BENCH_HOSTS': str(HOSTS)})
    if memory_file:
        env['ICR_BENCH_MEMORY_FILE'] = memory_file
    return subprocess.run([PLAYBOOK, '-i', str(tmp_path / 'inventory.ini'), str(tmp_path / 'play.yml')], env=env,
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=300, check=False)


def test_the_callback_records_each_task_and_what_holds_the_memory_at_the_last_result(tmp_path):
    memory_file = str(tmp_path / 'memory.json')
    proc = _play(tmp_path, memory_file)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(memory_file, encoding='utf-8') as handle:
        tasks = json.load(handle)['tasks']
    assert [t['name'].split(' : ')[1].split(' - ')[0] for t in tasks] == ["Validating arguments against arg spec 'main'", 'Once']
    validation, once = tasks
    assert validation['results'] == HOSTS and once['results'] == 1
    assert validation['peak_mb'] >= validation['start_mb'] > 0
    assert validation['held_mb'] > 0 and len(validation['held']) == 3
    assert all(site['mb'] > 0 and ':' in site['site'] for site in validation['held'])
    assert once['held'] is None  # a task that ran once never has a result per host


def test_without_its_file_the_callback_traces_nothing(tmp_path):
    proc = _play(tmp_path, '')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.json')]


def _memory():
    return {'n': 200, 'forks': 5, 'contender': 'role_apikey', 'rc': 0, 'rss_mb': 180.0,
            'tasks': [{'name': "docker_auth : Validating arguments against arg spec 'main' - Log a fleet", 'start_mb': 1.0,
                       'peak_mb': 34.0, 'held_mb': 33.0, 'results': 200,
                       'held': [{'site': '/usr/lib/python3.13/multiprocessing/queues.py:387', 'mb': 32.0, 'blocks': 1000}]},
                      {'name': 'docker_auth : Check the role', 'start_mb': 1.2, 'peak_mb': 2.0, 'held_mb': None, 'results': 1,
                       'held': None},
                      {'name': 'docker_auth : Write the registry credential', 'start_mb': 1.2, 'peak_mb': 3.0, 'held_mb': 2.9,
                       'results': 200, 'held': [{'site': '/usr/lib/python3.13/multiprocessing/queues.py:387', 'mb': 1.5,
                                                 'blocks': 100}]}],
            'spec_sizes': [{'label': 'no argument specification', 'options': 0, 'rss_mb': [58.0, 58.2]},
                           {'label': 'one option', 'options': 1, 'rss_mb': [58.5, 58.1]},
                           {'label': "docker_auth's meta/argument_specs.yml", 'options': 45, 'rss_mb': [90.0, 90.4]}]}


def test_the_memory_section_names_the_task_the_holder_and_the_growth_with_the_specification():
    text = '\n'.join(report.memory_section(_memory()))
    assert '| multiprocessing/queues.py:387: 32.0 MB (156 KiB per host) |' in text
    assert 'for the task "Validating arguments against arg spec \'main\' - Log a fleet": 32.0 MB for 200 hosts, 156 KiB each' in text
    assert "| docker_auth's meta/argument_specs.yml | 45 | 90 / 90 | +32 MB |" in text
    assert '| one option | 1 | 58 / 58 | +0 MB |' in text
    assert '(the task ran once)' in text
    assert 'The peak grows with the size of the specification: +32 MB for the whole specification against none, at 200 hosts.' in text
    flat = _memory()
    flat['spec_sizes'][1]['rss_mb'] = [91.0, 91.0]  # one option above the whole file: no step-by-step growth
    assert 'does not grow step by step with the size of the specification here: +32 MB' in '\n'.join(report.memory_section(flat))
    assert report.memory_section(None) == [] and report.memory_section({'tasks': []}) == []


def test_the_memory_section_is_on_the_page():
    data = _data(_fleet(20, 10.0), memory=_memory(), settings={'repeats': 3, 'probe_repeats': 7, 'sizes': [20]})
    assert "Where the controller's memory goes (N=200, forks 5)" in report.render(data, {}, 'make bench')


def test_a_missed_memory_target_names_the_imported_role_beside_it():
    runs = _fleet(200, 10.0, rss_mb=90) + [_run('role_apikey_import', phase, 9.0, rnd, n=200, maxrss_kib=64 * 1024)
                                           for rnd in range(2) for phase in ('first', 'rerun')]
    name, text, met = [t for t in report.targets(report.Results(_data(runs))) if t[0].startswith('controller peak memory')][0]
    assert met is False, name
    assert 'role_apikey f5 90 MB vs floor1 60 MB (+30)' in text
    assert 'role_apikey_import f5 64 MB (+4)' in text
    met_runs = _fleet(200, 10.0, rss_mb=65) + [_run('role_apikey_import', 'first', 9.0, 0, n=200, maxrss_kib=64 * 1024)]
    _name, text, met = [t for t in report.targets(report.Results(_data(met_runs))) if t[0].startswith('controller peak memory')][0]
    assert met is True and 'role_apikey_import' not in text
