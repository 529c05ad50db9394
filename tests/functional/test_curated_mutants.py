# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every curated mutant of tests/mutants/curated.yml still applies: its `old` text occurs exactly once in its `file`.

scripts/mutants.py refuses a stale entry only when `make mutants` runs (tens of minutes, not part of `make test`);
this check says which entry went stale as soon as the code it mutates moves. Fast: it reads files, runs nothing.
"""

from __future__ import annotations

import collections
import os
import pathlib
import re

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
CURATED = REPO / 'tests' / 'mutants' / 'curated.yml'


def load_entries():
    return yaml.safe_load(CURATED.read_text(encoding='utf-8'))


ENTRIES = load_entries()


def test_every_entry_has_an_id_a_file_an_old_a_new_and_tests():
    assert isinstance(ENTRIES, list) and ENTRIES, 'curated.yml holds no entry'
    incomplete = [e.get('id', '#%d' % i) for i, e in enumerate(ENTRIES)
                  if not all(e.get(k) for k in ('id', 'file', 'old', 'tests')) or 'new' not in e or e['new'] == e['old']]
    assert not incomplete, 'entries without id, file, old, new (different from old) or tests: %s' % incomplete
    dupes = sorted(i for i, n in collections.Counter(e['id'] for e in ENTRIES).items() if n > 1)
    assert not dupes, 'ids used twice: %s' % dupes


@pytest.mark.parametrize('entry', ENTRIES, ids=[e.get('id', '?') for e in ENTRIES])
def test_old_text_occurs_exactly_once_in_its_file(entry):
    path = REPO / entry['file']
    assert path.is_file(), 'curated mutant %s: file %s does not exist' % (entry['id'], entry['file'])
    count = path.read_text(encoding='utf-8').count(entry['old'])
    assert count == 1, 'curated mutant %s: its old text occurs %d times in %s (must be exactly once): %r' % (
        entry['id'], count, entry['file'], entry['old'])


@pytest.mark.parametrize('entry', ENTRIES, ids=[e.get('id', '?') for e in ENTRIES])
def test_named_tests_exist(entry):
    """Each test file a mutant names exists, and a named test function is defined in it."""
    for test in entry['tests']:
        file_name, _sep, name = test.partition('::')
        path = REPO / file_name
        assert path.is_file(), 'curated mutant %s names %s, which does not exist' % (entry['id'], file_name)
        function = name.split('[', 1)[0].split('::')[-1]
        if function:
            assert 'def %s(' % function in path.read_text(encoding='utf-8'), (
                'curated mutant %s names %s, not defined in %s' % (entry['id'], function, file_name))


def load_mutants_script():
    import importlib.util
    spec = importlib.util.spec_from_file_location('mutants_script', str(REPO / 'scripts' / 'mutants.py'))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_the_sweep_runs_each_module_utils_file_against_its_own_unit_tests_first():
    """`make mutants` (sweep) runs each file of plugins/module_utils/ (but _errors.py, which mutmut is told to leave)
    against tests/unit/plugins/module_utils/test_<name>.py first; a file without one costs a run of all the tests."""
    script = load_mutants_script()
    files = script.sweep_paths()
    expected = sorted('plugins/module_utils/' + p.name for p in (REPO / 'plugins' / 'module_utils').glob('_*.py')
                      if p.name != '_errors.py')
    assert files == expected
    assert script.own_tests('plugins/module_utils/_token_cache.py') == \
        'tests/unit/plugins/module_utils/test_token_cache.py'
    without = sorted(f for f in files if script.own_tests(f) is None)
    assert without == []  # every file has its own unit test file
    assert script.own_tests('plugins/module_utils/_no_such_file.py') is None  # such a file would run all the tests


def test_the_curated_part_removes_the_fixed_paths_its_mutants_write(tmp_path):
    """A mutant that puts a file at a fixed path (not the test's directory) puts it under MUTANT_SCRATCH, which the
    curated part removes before and after it runs."""
    script = load_mutants_script()
    fixed = sorted(set(p for e in ENTRIES for p in re.findall(r'/tmp/[^\s"\']+', e['new'])))
    assert fixed and all(script.MUTANT_SCRATCH in pathlib.Path(p).parents for p in fixed), fixed
    scratch = tmp_path / 'icr-auth-mutant'
    (scratch / 'bin').mkdir(parents=True)
    (scratch / 'bin' / 'docker-credential-icr').write_text('#!/bin/sh\n')
    script.remove_mutant_scratch(scratch)
    assert not scratch.exists()
    script.remove_mutant_scratch(scratch)  # nothing there: nothing to do
    kept = tmp_path / 'kept'
    kept.mkdir()
    (kept / 'file').write_text('x')
    scratch.symlink_to(kept, target_is_directory=True)
    script.remove_mutant_scratch(scratch)
    assert not os.path.lexists(str(scratch)) and (kept / 'file').exists()


def test_the_guard_puts_back_a_shared_directory_a_test_changed_and_fails_that_test(tmp_path):
    """make mutants loads tests/mutants/guard.py into every run of a mutant's tests: a mutant that chmods a directory
    above its test's own (as a walk that makes every directory 0700 would /tmp), or leaves a file in the product's
    default cache in the home directory, is caught, logged and undone."""
    import os
    import subprocess
    import sys
    import pwd
    scratch = tmp_path / 'tmp'
    scratch.mkdir()
    planted = pathlib.Path(pwd.getpwuid(os.getuid()).pw_dir, '.cache', 'icr.auth', 'guard-test-%s.json' % os.getpid())
    made = [d for d in (planted.parent.parent, planted.parent) if not d.exists()]  # the directories the test will make
    os.chmod(str(scratch), 0o1777)
    (tmp_path / 'test_harm.py').write_text(
        'import os, tempfile\n'
        'def test_harm():\n'
        '    os.chmod(tempfile.gettempdir(), 0o700)\n'
        'def test_harmless():\n'
        '    os.chmod(tempfile.mkdtemp(), 0o700)\n'
        'def test_home_cache():\n'
        '    import pwd\n'
        '    cache = os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".cache", "icr.auth")\n'
        '    os.makedirs(cache, exist_ok=True)\n'
        '    open(os.path.join(cache, %r), "w").close()\n' % planted.name)
    log = tmp_path / 'guard.log'
    env = dict(os.environ, TMPDIR=str(scratch), PYTHONPATH=str(REPO / 'tests' / 'mutants'),
               ICR_MUTANTS_GUARD_LOG=str(log), MUTANT_UNDER_TEST='x.y__mutmut_1')
    run = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-p', 'guard',
                          str(tmp_path / 'test_harm.py')], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                         check=False)
    try:
        assert run.returncode == 1, run.stdout + run.stderr
        assert '3 passed, 2 errors in' in run.stdout and 'warning' not in run.stdout, run.stdout
        assert oct(os.stat(str(scratch)).st_mode & 0o7777) == oct(0o1777)
        assert not planted.exists()
        assert [d for d in made if d.exists()] == []  # the empty directories it made are gone too
        lines = log.read_text().splitlines()
        assert len(lines) == 2, lines
        assert lines[0].startswith('x.y__mutmut_1\ttest_harm.py::test_harm\t%s was mode 1777 ' % scratch)
        assert lines[0].endswith('made mode 0700 uid %d gid %d (put back)' % (os.getuid(), os.getgid()))
        moved = list((tmp_path / 'guard-moved').iterdir())
        assert len(moved) == 1 and moved[0].name.endswith('-' + str(planted).strip('/').replace('/', '_'))
        assert lines[1] == ('x.y__mutmut_1\ttest_harm.py::test_home_cache\t%s was made (moved to %s)'
                            % (planted, moved[0]))
    finally:
        if planted.exists():
            planted.unlink()
        for directory in reversed(made):
            if directory.exists():
                directory.rmdir()
