# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The reliability ledger records "held" only for a test that passed."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent

PROBE = '''
from rel_support import record


def test_holds():
    record('an attack that held', 1, 'held: nothing leaked', 'probe::test_holds')
    assert True


def test_claims_then_fails():
    record('an attack that did not hold', 1, 'held: nothing leaked', 'probe::test_claims_then_fails')
    assert False, 'the property broke after the row was written'
'''


def test_a_failed_test_leaves_no_held_row(tmp_path):
    (tmp_path / 'test_probe.py').write_text(PROBE)
    ledger = tmp_path / 'ledger.jsonl'
    env = dict(os.environ, ICR_REL_LEDGER=str(ledger), PYTHONPATH=str(HERE))
    proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-p', 'conftest',
                           str(tmp_path / 'test_probe.py')], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1, proc.stdout[-2000:]
    rows = dict((row['test'], row['held']) for row in map(json.loads, ledger.read_text().splitlines()))
    assert rows['probe::test_holds'] == 'held: nothing leaked'
    assert rows['probe::test_claims_then_fails'].startswith('NOT HELD: the test failed'), rows
