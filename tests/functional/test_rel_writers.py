# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reliability: many writers of one config.json / auth.json at once, as a fleet run with forks does.

Real processes, not threads: 50 separate Python processes each run icr_login's own code (``Login(...).run()``)
released together by a gate file. No ansible-core code runs here (the floor's run leaves this file out); the same
contention through a real ansible-playbook run is test_rel_concurrency.py.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess

from rel_support import auth_entries as entries, driver_env, login_command, max_overlap, mode_of, open_gate, record, temp_leftovers

N_PROCS = 50


def run_together(tmp_path, params_list, env=None):
    """Start one driver process per params, open the gate once all are up, and return their parsed results."""
    gate = tmp_path / 'gate'
    procs = []
    for i, params in enumerate(params_list):
        params_file = tmp_path / ('params-%02d.json' % i)
        params_file.write_text(json.dumps(params))
        os.chmod(str(params_file), 0o600)
        procs.append(subprocess.Popen(login_command(params_file, gate), env=driver_env(env), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    open_gate(gate, len(procs))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, 'driver failed (rc %s): %s %s' % (proc.returncode, out, err[-2000:])
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_50_processes_add_50_registries_to_one_config_and_one_auth_file(tmp_path):
    docker_dir = tmp_path / 'docker'
    auth_file = tmp_path / 'containers' / 'auth.json'
    env = {'DOCKER_CONFIG': str(docker_dir), 'REGISTRY_AUTH_FILE': str(auth_file)}
    params = [{'registries': ['r%02d.example.com' % i], 'password': 'key-%02d' % i, 'format': 'both'}
              for i in range(N_PROCS)]
    results = run_together(tmp_path, params, env)
    overlap = max_overlap(results)
    assert overlap >= 10, 'the runs hardly overlapped (%d at once): the test did not make them contend' % overlap
    want = dict(('r%02d.example.com' % i, 'iamapikey:key-%02d' % i) for i in range(N_PROCS))
    for path in (docker_dir / 'config.json', auth_file):
        _data, got = entries(path)               # valid JSON (entries() parses it)
        assert got == want, 'lost or wrong entries in %s: %s' % (path, sorted(set(want) ^ set(got)))
        assert mode_of(path) == 0o600 and mode_of(path.parent) == 0o700
        assert temp_leftovers(path.parent) == []
    for i, result in enumerate(results):
        assert result['registries'] == {'r%02d.example.com' % i: 'added'} and result['changed'] is True
    record('50 concurrent icr_login processes (format both), each adding its own registry to the same config.json '
           'and auth.json', N_PROCS, 'all 50 entries in both files; valid JSON; 0600 file, 0700 dir; no temp file; '
           'each run reported "added" (up to %d runs inside Login.run() at one moment)' % overlap,
           'test_rel_writers::test_50_processes_add_50_registries_to_one_config_and_one_auth_file')


def test_50_processes_mixed_add_update_remove_end_in_the_expected_set(tmp_path):
    path = tmp_path / 'config.json'
    old = dict(('r%02d.example.com' % i, {'auth': base64.b64encode(b'iamapikey:old-%02d' % i).decode(), 'email': 'keep-%d' % i})
               for i in range(N_PROCS))
    start = {'auths': old,
             'credHelpers': {'gcr.io': 'gcloud'}, 'HttpHeaders': {'X-Meta': 'kept'}, 'psFormat': 'table {{.ID}}'}
    path.write_text(json.dumps(start))
    os.chmod(str(path), 0o640)
    params = []
    expected = {}
    for i in range(N_PROCS):
        host, new = 'r%02d.example.com' % i, 'n%02d.example.com' % i
        if i % 3 == 0:
            params.append({'registries': [host], 'state': 'absent', 'config_path': str(path)})
        elif i % 3 == 1:
            params.append({'registries': [new], 'password': 'new-%02d' % i, 'config_path': str(path)})
            expected[new] = 'iamapikey:new-%02d' % i
            expected[host] = 'iamapikey:old-%02d' % i
        else:
            params.append({'registries': [host], 'password': 'upd-%02d' % i, 'config_path': str(path)})
            expected[host] = 'iamapikey:upd-%02d' % i
    results = run_together(tmp_path, params)
    overlap = max_overlap(results)
    assert overlap >= 10, 'the runs hardly overlapped (%d at once)' % overlap
    data, got = entries(path)
    assert got == expected
    assert dict((k, v) for k, v in data.items() if k != 'auths') == dict((k, v) for k, v in start.items() if k != 'auths')
    assert all(data['auths'][h]['email'] == 'keep-%d' % int(h[1:3]) for h in data['auths'] if h.startswith('r'))
    assert mode_of(path) == 0o640            # an existing file keeps its mode
    assert temp_leftovers(tmp_path) == []
    actions = [list(r['registries'].values())[0] for r in results]
    assert actions == [('removed', 'added', 'updated')[i % 3] for i in range(N_PROCS)]
    record('50 concurrent processes on one config.json holding 50 entries: 17 remove one, 17 add one, 16 update one; '
           'unknown keys and an existing mode 0640', N_PROCS, 'exactly the expected %d entries with the expected secrets; '
           'every unknown key and per-entry "email" kept; mode 0640 kept; no temp file; each run reported its own action; up to %d at once'
           % (len(expected), overlap), 'test_rel_writers::test_50_processes_mixed_add_update_remove_end_in_the_expected_set')
