# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""scripts/test-summary.py never reports a failed or empty run as green."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / 'scripts' / 'test-summary.py'

PASS = '<testcase classname="a" name="passes"/>'
FAIL = '<testcase classname="a" name="fails"><failure message="boom"/></testcase>'
ERROR = '<testcase classname="a" name="errs"><error message="boom"/></testcase>'
SKIP = '<testcase classname="a" name="skips"><skipped message="needs root: creates local users"/></testcase>'
XFAIL = '<testcase classname="a" name="xfails"><skipped type="pytest.xfail" message="known"/></testcase>'


def junit(*cases, errors=0):
    return ('<?xml version="1.0"?><testsuites><testsuite name="s" errors="%d" failures="0">%s</testsuite></testsuites>'
            % (errors, ''.join(cases)))


def summarise(tmp_path, steps, env=None):
    """steps: {name: (rc, {file name: xml text})}; returns (exit code, output)."""
    reports = tmp_path / 'reports'
    reports.mkdir()
    lines = []
    for name, (rc, files) in steps.items():
        lines.append('%s\t%d\t1\n' % (name, rc))
        (reports / name).mkdir()
        for file_name, text in files.items():
            (reports / name / file_name).write_text(text)
    (reports / 'steps.tsv').write_text(''.join(lines))
    full_env = dict((k, v) for k, v in os.environ.items() if k != 'ALLOW_EMPTY')
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, str(SCRIPT), str(reports)], capture_output=True, text=True, env=full_env,
                          check=False)
    return proc.returncode, proc.stdout


def closing(output):
    return output.strip().splitlines()[-1]


def test_all_passing_is_green(tmp_path):
    rc, out = summarise(tmp_path, {'units': (0, {'u.xml': junit(PASS, PASS)}), 'lint': (0, {})})
    assert rc == 0, out
    assert closing(out) == 'total: 2 passed, 0 failed, 0 skipped'


def test_a_failed_case_in_a_step_that_exited_0_fails_the_run(tmp_path):
    rc, out = summarise(tmp_path, {'functional': (0, {'f.xml': junit(PASS, FAIL)})})
    assert rc == 1, out
    assert closing(out) == 'total: 1 passed, 1 failed, 0 skipped'
    assert 'functional' in out and 'FAILED' in out and 'failed: a.fails' in out


def test_an_error_case_and_an_error_outside_cases_count(tmp_path):
    rc, out = summarise(tmp_path, {'units': (0, {'u.xml': junit(PASS, ERROR, errors=3)})})
    assert rc == 1, out
    assert closing(out) == 'total: 1 passed, 3 failed, 0 skipped'


def test_a_step_that_failed_without_a_failed_case_counts_one(tmp_path):
    rc, out = summarise(tmp_path, {'lint': (2, {})})
    assert rc == 1 and closing(out) == 'total: 0 passed, 1 failed, 0 skipped', out


@pytest.mark.parametrize('files', [{}, {'f.xml': junit()}, {'f.xml': junit(SKIP, SKIP)}])
def test_a_test_step_that_ran_nothing_is_not_ok(tmp_path, files):
    rc, out = summarise(tmp_path, {'integration': (0, files)})
    assert rc == 1, out
    assert 'ran no test' in out


def test_one_functional_suite_that_ran_nothing_fails_although_others_passed(tmp_path):
    rc, out = summarise(tmp_path, {'functional': (0, {'a.xml': junit(PASS), 'tests_infra_tests.xml': junit(SKIP)})})
    assert rc == 1, out
    assert 'tests_infra_tests ran no test' in out


def test_an_empty_suite_may_be_allowed_by_name(tmp_path):
    rc, out = summarise(tmp_path, {'integration': (0, {'i.xml': junit(SKIP)})}, env={'ALLOW_EMPTY': 'integration'})
    assert rc == 0, out


def test_skips_are_listed_with_their_reason(tmp_path):
    rc, out = summarise(tmp_path, {'units': (0, {'u.xml': junit(PASS, SKIP, SKIP)})})
    assert rc == 0, out
    assert 'SKIPPED: 2 test(s) did not run' in out and '2 x needs root: creates local users' in out


def test_an_xfail_is_not_a_skip(tmp_path):
    rc, out = summarise(tmp_path, {'units': (0, {'u.xml': junit(PASS, XFAIL)})})
    assert rc == 0, out
    assert closing(out) == 'total: 1 passed, 0 failed, 0 skipped'
    assert 'XFAILED: 1' in out


def test_no_steps_file_fails(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / 'missing')], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1 and closing(proc.stdout) == 'total: 0 passed, 1 failed, 0 skipped'
