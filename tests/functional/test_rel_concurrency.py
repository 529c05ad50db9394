# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reliability: many writers of one config.json / auth.json at once, through a real ansible-playbook run.

Ten inventory hosts that are all this machine (forks=10) write one file. The same contention from 50 separate
processes running icr_login's own code is test_rel_writers.py.
"""

from __future__ import annotations

from playrunner import run_play
from rel_support import auth_entries as entries, mode_of, record, temp_leftovers


def test_ansible_playbook_10_hosts_forks_10_one_file(tmp_path):
    """Ten inventory hosts, all this machine (connection local), forks=10: ten icr_login processes at once."""
    config = tmp_path / 'shared' / 'config.json'
    auth = tmp_path / 'shared' / 'auth.json'
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text('[fleet]\n' + ''.join('h%02d ansible_connection=local\n' % i for i in range(10)))
    tasks = [
        {'name': 'docker', 'icr.auth.icr_login': {'registries': ['{{ inventory_hostname }}.example.com'],
                                                  'password': '{{ key }}-{{ inventory_hostname }}',
                                                  'config_path': str(config)}},
        {'name': 'containers', 'icr.auth.icr_login': {'registries': ['{{ inventory_hostname }}.example.com'],
                                                      'password': '{{ key }}-{{ inventory_hostname }}',
                                                      'config_path': str(auth), 'format': 'containers'}},
    ]
    env = {'ANSIBLE_FORKS': '10'}
    first = run_play(tmp_path / 'run1', tasks, secret_vars={'key': 'AbcKey'}, env=env, inventory=str(inventory), hosts='fleet')
    assert first.rc == 0, first.text[-3000:]
    want = dict(('h%02d.example.com' % i, 'iamapikey:AbcKey-h%02d' % i) for i in range(10))
    for path in (config, auth):
        assert entries(path)[1] == want
        assert mode_of(path) == 0o600
    assert temp_leftovers(config.parent) == []
    assert all(r['result']['changed'] for r in first.results())
    second = run_play(tmp_path / 'run2', tasks, secret_vars={'key': 'AbcKey'}, env=env, inventory=str(inventory), hosts='fleet')
    assert second.rc == 0, second.text[-3000:]
    assert [r['result']['changed'] for r in second.results()] == [False] * 20
    record('ansible-playbook, 10 inventory hosts aliased to this machine, forks=10, two tasks writing one config.json '
           'and one auth.json; then a rerun', 2, 'all 10 entries in each file, 0600, no temp file; rerun changed=0 on '
           'all 20 task results', 'test_rel_concurrency::test_ansible_playbook_10_hosts_forks_10_one_file')
