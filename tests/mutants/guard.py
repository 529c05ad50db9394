# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A pytest plugin for make mutants: no mutant may change the machine it runs on.

The tests run as root, and a mutant of code that makes directories private (a walk that chmods every directory it
passes, a check of a cache directory dropped) can change the mode or owner of a directory above the test's own:
/tmp made 0700, which breaks every other user of the machine. This plugin records the mode and owner of the
machine's shared directories and of every directory above the tests' temporary directory and above the tree, and
after each test puts back whatever changed, writes it to ICR_MUTANTS_GUARD_LOG (with the mutant under test, as
mutmut names it in MUTANT_UNDER_TEST) and fails the test. scripts/mutants.py loads it with -p and reports the log.
"""

from __future__ import annotations

import os
import tempfile

import pytest

SHARED = ('/', '/tmp', '/var/tmp', '/dev/shm', '/etc', '/home', '/root', '/usr', '/var', '/opt', '/srv', '/run')


def ancestors(path: str) -> list[str]:
    found = []
    path = os.path.abspath(path)
    while True:
        found.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            return found
        path = parent


def watched() -> list[str]:
    paths = set(SHARED)
    for start in (tempfile.gettempdir(), os.getcwd(), os.path.expanduser('~')):
        paths.update(ancestors(start))
    return sorted(p for p in paths if os.path.lexists(p))


def state(paths: list[str]) -> dict:
    found = {}
    for path in paths:
        try:
            st = os.lstat(path)
        except OSError:
            continue
        found[path] = (st.st_mode & 0o7777, st.st_uid, st.st_gid)
    return found


class Guard:
    def __init__(self) -> None:
        self.paths = watched()
        self.before = state(self.paths)
        self.log = os.environ.get('ICR_MUTANTS_GUARD_LOG')

    def restore(self) -> list[str]:
        changed = []
        for path, now in state(self.paths).items():
            was = self.before.get(path)
            if was is None or now == was:
                continue
            os.lchown(path, was[1], was[2])
            os.chmod(path, was[0])
            changed.append('%s was mode %04o uid %d gid %d, made mode %04o uid %d gid %d (put back)'
                           % ((path,) + was + now))
        return changed


GUARD: list = []


def pytest_sessionstart(session) -> None:
    GUARD.append(Guard())


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item, nextitem):
    del nextitem
    outcome = yield
    changed = GUARD[0].restore() if GUARD else []
    if changed:
        mutant = os.environ.get('MUTANT_UNDER_TEST', 'no mutant')
        if GUARD[0].log:
            with open(GUARD[0].log, 'a', encoding='utf-8') as out:
                out.writelines('%s\t%s\t%s\n' % (mutant, item.nodeid, line) for line in changed)
        pytest.fail('the test changed the machine: %s' % '; '.join(changed), pytrace=False)
    return outcome
