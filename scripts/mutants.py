# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""make mutants: does the test suite fail when the product is broken?

Two parts, each in a scratch copy of the tree under build/mutants/ (the tree itself is never changed):

  curated  the hand-written mutations of tests/mutants/curated.yml (role variables, options through a real play, the
           promises of the docs); each is applied alone and its named tests are run; a mutant is killed only when
           pytest reports a failed test (exit code 1).
  mutmut   mutmut 3 over plugins/module_utils/ (MUTMUT_PATHS narrows it, MUTMUT_TESTS its tests) against the unit and
           property tests and the fast in-process functional tests, in one run; survivors are compared with
           tests/mutants/equivalent.txt.
  sweep    the same, file by file: each file of MUTMUT_PATHS against its own unit test file first (fast), then the
           survivors of that pass, by name, against all of MUTMUT_TESTS; what still survives is compared with
           tests/mutants/equivalent.txt. `all` runs curated, then sweep.

  scripts/mutants.py curated [--only ID ...]
  scripts/mutants.py mutmut [--max-children N]
  scripts/mutants.py sweep [--max-children N]
  scripts/mutants.py all

Exit status 1 when a curated mutant survives or a mutmut survivor is not listed as equivalent. Reports go to
build/mutants/*.txt. Run with the interpreter of .venv-mutants (make mutants does).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORK = ROOT / 'build' / 'mutants'
# Directories that are not the product or its tests, or are rebuilt: never copied.
SKIP = {'.git', '.venv', 'build', 'tests/output', '.pytest_cache', '.hypothesis', '__pycache__'}
# mutmut's own output directory, were one left at the top of the tree (tests/mutants/ is copied: its guard is used)
TOP_SKIP = {'mutants'}
# What mutmut runs for each mutant: fast, in-process, no ansible-playbook.
# MUTMUT_TESTS='tests/unit/plugins/module_utils/test_x.py ...' narrows it, for a run over a few files.
MUTMUT_TESTS = os.environ.get('MUTMUT_TESTS', 'tests/unit tests/functional/test_option_effects.py '
                                              'tests/functional/test_secret_scan.py').split()
MUTMUT_PATHS = os.environ.get('MUTMUT_PATHS', 'plugins/module_utils/').split()
# mutmut stops a mutant's tests after (their measured time + constant) * multiplier seconds of wall clock (twice that
# of CPU); its defaults, 1.0 and 15.0, give a fast test about 30 s. A mutant that loops for ever (a retry loop, a read
# without an end) costs all of it: MUTMUT_TIMEOUT_MULTIPLIER=3 MUTMUT_TIMEOUT_CONSTANT=1 stops each after a few
# seconds instead. Too short a bound on a busy machine stops slow but sound runs too (reported as timeouts, which
# mutmut counts as caught): read the timed-out mutants before trusting them.
# MUTMUT_NAMES='*_stdlib_http.xǁTransportǁrequest__mutmut_*' runs only the mutants whose names match (fnmatch
# patterns, as `mutmut run NAME...` takes them); the others are reported as not checked.
MUTMUT_NAMES = os.environ.get('MUTMUT_NAMES', '').split()
# Loaded into every pytest run of a mutant: puts back the mode and owner of the machine's shared directories (and
# those above the tests' own) when a mutant changed them, and logs it to GUARD_LOG (see tests/mutants/guard.py).
GUARD_PLUGIN = 'ansible_collections.icr.auth.tests.mutants.guard'
GUARD_LOG = WORK / 'guard.log'
MUTMUT_TIMEOUT = {key: os.environ.get('MUTMUT_TIMEOUT_' + key.upper())
                  for key in ('multiplier', 'constant')}
# Where the curated mutants role-helper_path-ignored and role-helper_config_path-ignored install the helper and its
# configuration (a fixed path, not the test's directory): removed before and after the curated part.
MUTANT_SCRATCH = pathlib.Path('/tmp/icr-auth-mutant')


def copy_tree(dest):
    """A copy of the working tree (committed or not) at dest/ansible_collections/icr/auth; returns that path."""
    coll = dest / 'ansible_collections' / 'icr' / 'auth'
    if dest.exists():
        shutil.rmtree(str(dest))
    coll.parent.mkdir(parents=True)

    def ignore(directory, names):
        rel = os.path.relpath(directory, str(ROOT))
        return [n for n in names if n in SKIP or n.startswith('.venv')
                or os.path.normpath(os.path.join(rel, n)) in SKIP | TOP_SKIP]
    shutil.copytree(str(ROOT), str(coll), ignore=ignore, symlinks=True)
    return coll


def pytest(coll, tests, log):
    env = dict(os.environ, PYTHONPATH=str(coll.parent.parent.parent), PYTHONDONTWRITEBYTECODE='1',
               ICR_MUTANTS_GUARD_LOG=str(GUARD_LOG))
    cmd = [sys.executable, '-m', 'pytest', '-q', '-x', '-p', 'no:cacheprovider', '-p', GUARD_PLUGIN] + list(tests)
    with open(str(log), 'w') as out:
        return subprocess.run(cmd, cwd=str(coll), env=env, stdout=out, stderr=subprocess.STDOUT, check=False).returncode


def load_curated():
    entries = yaml.safe_load((ROOT / 'tests' / 'mutants' / 'curated.yml').read_text())
    ids = [e['id'] for e in entries]
    dupes = sorted(set(i for i in ids if ids.count(i) > 1))
    if dupes:
        raise SystemExit('curated.yml: ids used twice: %s' % ', '.join(dupes))
    return entries


def remove_mutant_scratch(path=MUTANT_SCRATCH):
    """Remove what the curated mutants left at their fixed path (a link there is removed, not followed)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(str(path))


def curated(only=None):
    remove_mutant_scratch()
    try:
        return run_curated(only)
    finally:
        remove_mutant_scratch()


def run_curated(only):
    entries = [e for e in load_curated() if not only or e['id'] in only]
    coll = copy_tree(WORK / 'curated')
    logs = WORK / 'logs'
    logs.mkdir(parents=True, exist_ok=True)
    tests = sorted(set(t for e in entries for t in e['tests']))
    started = time.time()
    print('mutants: curated: baseline (no mutation): %d tests' % len(tests), flush=True)
    if pytest(coll, tests, logs / 'baseline.log') != 0:
        print('mutants: the named tests fail without any mutation; see %s' % (logs / 'baseline.log'))
        return 2
    rows = []
    for entry in entries:
        path = coll / entry['file']
        original = path.read_text()
        count = original.count(entry['old'])
        if count != 1:
            rows.append((entry['id'], 'STALE', 'old text found %d times in %s' % (count, entry['file'])))
            continue
        path.write_text(original.replace(entry['old'], entry['new']))
        began = time.time()
        try:
            rc = pytest(coll, entry['tests'], logs / ('%s.log' % entry['id']))
        finally:
            path.write_text(original)
        verdict = {0: 'SURVIVED', 1: 'killed'}.get(rc, 'ERROR (pytest exit %d)' % rc)
        rows.append((entry['id'], verdict, '%.0fs  %s' % (time.time() - began, ' '.join(entry['tests']))))
        print('mutants: %-50s %s' % (entry['id'], verdict), flush=True)
    killed = sum(1 for r in rows if r[1] == 'killed')
    summary = 'curated: %d mutants, %d killed, %d not killed, %.0f s' % (len(rows), killed, len(rows) - killed,
                                                                         time.time() - started)
    report = WORK / 'curated.txt'
    report.write_text('\n'.join(['%s\t%s\t%s' % r for r in rows] + [summary]) + '\n')
    print('mutants: ' + summary + ' (%s)' % report)
    return 0 if killed == len(rows) else 1


def load_equivalent():
    """{mutant name: reason} from tests/mutants/equivalent.txt ('name  # reason' lines)."""
    found = {}
    for line in (ROOT / 'tests' / 'mutants' / 'equivalent.txt').read_text().splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        name, _sep, reason = line.partition('#')
        if not reason.strip():
            raise SystemExit('equivalent.txt: %s has no reason' % name.strip())
        found[name.strip()] = reason.strip()
    return found


def names_shown():
    """MUTMUT_NAMES for the report: all of a few, else how many and the first."""
    if len(MUTMUT_NAMES) <= 3:
        return ' '.join(MUTMUT_NAMES) or 'all'
    return '%d names or patterns (%s, ...)' % (len(MUTMUT_NAMES), MUTMUT_NAMES[0])


def timeout_config():
    """setup.cfg lines for MUTMUT_TIMEOUT_MULTIPLIER and MUTMUT_TIMEOUT_CONSTANT (none when unset)."""
    lines = []
    for key, value in sorted(MUTMUT_TIMEOUT.items()):
        if not value:
            continue
        try:
            number = float(value)
        except ValueError:
            number = 0.0
        if not 0 < number < float('inf'):
            raise SystemExit('MUTMUT_TIMEOUT_%s=%r: give a finite number above 0 (mutmut multiplies the tests\' time '
                             'by it or adds it), or leave it unset for mutmut\'s default' % (key.upper(), value))
        lines.append('timeout_%s = %s' % (key, number))
    return lines


def run_mutmut(base, paths, tests, names, max_children):
    """One mutmut 3 run in base/, a scratch copy laid out as ansible_collections/icr/auth, so that module names match
    imports; returns (mutmut's exit code, seconds, {mutant name: status}, `mutmut results` text)."""
    copy_tree(base)
    # mutmut mutates paths relative to its working directory and names mutants by the dotted path: run it from the
    # directory that holds ansible_collections/, so that plugins/module_utils/_x.py is
    # ansible_collections.icr.auth.plugins.module_utils._x, as the tests import it.
    prefix = 'ansible_collections/icr/auth/'

    def listed(values):
        return ''.join('\n    ' + v for v in values)

    config = ['[mutmut]',
              'source_paths =' + listed(prefix + p for p in paths),
              'pytest_add_cli_args_test_selection =' + listed(prefix + t for t in tests),
              'also_copy =' + listed(prefix + p for p in ('tests', 'plugins', 'roles', 'meta', 'galaxy.yml', 'docs')),
              'do_not_mutate =' + listed(['*/module_utils/_errors.py']),
              'pytest_add_cli_args =' + listed(['-p', 'no:cacheprovider', '-p', GUARD_PLUGIN])]
    config += timeout_config()
    config.append('')
    (base / 'setup.cfg').write_text('\n'.join(config))
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE='1', ICR_MUTANTS_GUARD_LOG=str(GUARD_LOG))
    env.pop('PYTHONPATH', None)
    mutmut_bin = str(pathlib.Path(sys.executable).parent / 'mutmut')
    started = time.time()
    with open(str(base / 'mutmut-run.log'), 'w') as log:
        rc = subprocess.run([mutmut_bin, 'run', '--max-children', str(max_children)] + list(names), cwd=str(base),
                            env=env, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    elapsed = time.time() - started
    results = subprocess.run([mutmut_bin, 'results', '--all', 'true'], cwd=str(base), env=env, capture_output=True,
                             text=True, check=False).stdout
    status = {}
    for line in results.splitlines():
        match = re.match(r'\s*(\S+): (.+)$', line)
        if match:
            status[match.group(1)] = match.group(2).strip()
    return rc, elapsed, status, results


def count_status(status):
    counts = {}
    for value in status.values():
        counts[value] = counts.get(value, 0) + 1
    return ', '.join('%s %d' % kv for kv in sorted(counts.items()))


def timeout_shown():
    return ', '.join('%s %s' % kv for kv in sorted(MUTMUT_TIMEOUT.items()) if kv[1]) or 'mutmut default'


def verdict_lines(status):
    """The survivors, listed as equivalent or not; returns (lines, unlisted names)."""
    equivalent = load_equivalent()
    survivors = sorted(n for n, s in status.items() if s == 'survived')
    unlisted = [n for n in survivors if n not in equivalent]
    lines = ['survived, listed as equivalent: %s  # %s' % (n, equivalent[n]) for n in survivors if n in equivalent]
    lines += ['survived, NOT listed: %s' % n for n in unlisted]
    lines += ['timed out (counted as caught by mutmut; read it): %s' % n
              for n, s in sorted(status.items()) if s == 'timeout']
    return lines, unlisted


def mutmut(max_children):
    """mutmut over MUTMUT_PATHS against MUTMUT_TESTS, in one run."""
    base = WORK / 'mutmut'
    rc, elapsed, status, results = run_mutmut(base, MUTMUT_PATHS, MUTMUT_TESTS, MUTMUT_NAMES, max_children)
    verdicts, unlisted = verdict_lines(status)
    lines = ['mutmut run exit %d in %.0f s (paths: %s; tests: %s; names: %s; timeout: %s)'
             % (rc, elapsed, ' '.join(MUTMUT_PATHS), ' '.join(MUTMUT_TESTS), names_shown(), timeout_shown()),
             'mutants: %d; %s' % (len(status), count_status(status))] + verdicts
    (WORK / 'mutmut.txt').write_text('\n'.join(lines) + '\n')
    (WORK / 'mutmut-results.txt').write_text(results)
    print('\n'.join('mutants: ' + line for line in lines))
    if rc != 0 or not status:
        print('mutants: mutmut did not run cleanly; see %s' % (base / 'mutmut-run.log'))
        return 2
    return 1 if unlisted else 0


def own_tests(path):
    """The unit test file of a module_utils file (tests/unit/plugins/module_utils/test_x.py for _x.py), or None."""
    name = 'test_' + pathlib.PurePath(path).stem.lstrip('_') + '.py'
    test = pathlib.PurePath('tests/unit/plugins/module_utils') / name
    return str(test) if (ROOT / test).is_file() else None


def sweep_paths():
    """Each file of MUTMUT_PATHS (a directory stands for its .py files), _errors.py left out as mutmut leaves it."""
    files = []
    for path in MUTMUT_PATHS:
        if (ROOT / path).is_dir():
            files += sorted(str(p.relative_to(ROOT)) for p in (ROOT / path).glob('*.py') if p.name != '__init__.py')
        else:
            files.append(path)
    return [f for f in files if not f.endswith('/_errors.py')]


def sweep(max_children):
    """Every file in two passes. Pass 1: each file alone against its own unit test file (fast: no other test runs);
    a file without one runs against MUTMUT_TESTS. Pass 2: the survivors of pass 1, by name, against all of
    MUTMUT_TESTS (with those no test of the file's own reached), so that a mutant caught by another file's tests is
    caught. Survivors of pass 2 must be listed."""
    started = time.time()
    lines = []
    status = {}
    second = []
    failed = []
    files = sweep_paths()
    equivalent = load_equivalent()
    for number, path in enumerate(files, 1):
        tests = [own_tests(path)] if own_tests(path) else MUTMUT_TESTS
        stem = pathlib.PurePath(path).stem
        rc, elapsed, found, results = run_mutmut(WORK / 'sweep' / stem, [path], tests, MUTMUT_NAMES, max_children)
        (WORK / 'sweep' / stem / 'mutmut-results.txt').write_text(results)
        # mutmut's 'no tests': no test of the file's own reaches the function; pass 2 runs them against all tests.
        survivors = sorted(n for n, s in found.items() if s in ('survived', 'no tests'))
        line = 'pass 1 %d/%d %s against %s: exit %d in %.0f s; mutants: %d; %s' % (
            number, len(files), path, ' '.join(tests), rc, elapsed, len(found), count_status(found))
        print('mutants: ' + line, flush=True)
        lines.append(line)
        if rc != 0 or not found:
            failed.append(path)
        status.update(found)
        if tests != MUTMUT_TESTS:  # a survivor listed as equivalent needs no second run
            second += [(path, n) for n in survivors if n not in equivalent]
    if second:
        paths = sorted(set(p for p, _n in second))
        names = [n for _p, n in second]
        rc, elapsed, found, results = run_mutmut(WORK / 'sweep' / 'pass2', paths, MUTMUT_TESTS, names, max_children)
        (WORK / 'sweep' / 'pass2' / 'mutmut-results.txt').write_text(results)
        again = {n: found.get(n, 'not checked') for n in names}
        line = 'pass 2: %d survivors of pass 1 against %s: exit %d in %.0f s; %s' % (
            len(names), ' '.join(MUTMUT_TESTS), rc, elapsed, count_status(again))
        print('mutants: ' + line, flush=True)
        lines.append(line)
        if rc != 0:
            failed.append('pass 2')
        status.update(again)
    verdicts, unlisted = verdict_lines(status)
    lines = ['mutmut sweep in %.0f s (%d files; timeout: %s)' % (time.time() - started, len(files), timeout_shown()),
             'mutants: %d; %s' % (len(status), count_status(status))] + lines + verdicts
    (WORK / 'mutmut.txt').write_text('\n'.join(lines) + '\n')
    print('\n'.join('mutants: ' + line for line in lines[:2] + verdicts))
    if failed:
        print('mutants: mutmut did not run cleanly for %s; see build/mutants/sweep/*/mutmut-run.log' % ', '.join(failed))
        return 2
    return 1 if unlisted else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('part', choices=['curated', 'mutmut', 'sweep', 'all'])
    parser.add_argument('--only', nargs='*', help='curated mutant ids to run (default: all)')
    parser.add_argument('--max-children', type=int, default=1, help='parallel mutmut workers (the machine is shared)')
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    if GUARD_LOG.exists():
        GUARD_LOG.unlink()
    rc = 0
    if args.part in ('curated', 'all'):
        rc = max(rc, curated(args.only))
    if args.part == 'mutmut':
        rc = max(rc, mutmut(args.max_children))
    if args.part in ('sweep', 'all'):
        rc = max(rc, sweep(args.max_children))
    if GUARD_LOG.exists():
        lines = GUARD_LOG.read_text().splitlines()
        print('mutants: %d times a test changed a shared directory (put back; the test failed): %s'
              % (len(lines), GUARD_LOG))
        for line in lines[:20]:
            print('mutants:   ' + line)
    return rc


if __name__ == '__main__':
    sys.exit(main())
