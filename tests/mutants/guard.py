# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A pytest plugin for make mutants: no mutant may change the machine it runs on.

The tests run as root, and a mutant of code that makes directories private (a walk that chmods every directory it
passes, a check of a cache directory dropped) can change the mode or owner of a directory above the test's own:
/tmp made 0700, which breaks every other user of the machine. This plugin records the mode and owner of the
machine's shared directories and of every directory above the tests' temporary directory and above the tree, and
after each test puts back whatever changed, writes it to ICR_MUTANTS_GUARD_LOG (with the mutant under test, as
mutmut names it in MUTANT_UNDER_TEST) and fails the test. It also moves aside what a test made in the product's default
places in the home directory (a mutant that drops cache_dir writes there; what it leaves there changes what later
tests see) and reports what it changed there. Run nothing else that uses those places meanwhile: the guard cannot
tell who made a file.
scripts/mutants.py loads it with -p and reports the log.
"""

from __future__ import annotations

import os
import pwd
import tempfile
import time

import pytest

SHARED = ('/', '/tmp', '/var/tmp', '/dev/shm', '/etc', '/home', '/root', '/usr', '/var', '/opt', '/srv', '/run')
# Where the product keeps its files by default in the home of the password database (HOME does not move some of
# them): a mutant that drops a cache_dir or config_path writes there, and what it leaves makes later tests wrong.
HOME_TREES = ('.cache/icr.auth', '.cache/docker-credential-icr', '.docker', '.config/containers')


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


def home_files() -> dict:
    """{path: (size, mtime_ns)} of the files under HOME_TREES of the home of the password database."""
    try:
        home = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return {}
    found = {}
    for tree in HOME_TREES:
        for directory, _dirs, files in os.walk(os.path.join(home, tree)):
            for name in files:
                path = os.path.join(directory, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                found[path] = (st.st_size, st.st_mtime_ns)
    return found


def home_dirs() -> set:
    """The directories of HOME_TREES in the home of the password database, those trees' parents under it included."""
    try:
        home = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return set()
    found = set()
    for tree in HOME_TREES:
        top = os.path.join(home, tree)
        found.update(p for p in ancestors(top) if p.startswith(home + os.sep) and os.path.isdir(p))
        found.update(directory for directory, _dirs, _files in os.walk(top))
    return found


class Guard:
    def __init__(self) -> None:
        self.paths = watched()
        self.before = state(self.paths)
        self.files = home_files()
        self.dirs = home_dirs()
        self.log = os.environ.get('ICR_MUTANTS_GUARD_LOG')

    def home_changes(self) -> list[str]:
        """Files made under HOME_TREES are moved aside, next to the log (nothing is deleted: a file another process
        of the user made meanwhile can be put back from there); a file changed there is reported (its content cannot
        be put back)."""
        changed = []
        for path, now in sorted(home_files().items()):
            was = self.files.get(path)
            if was is None:
                aside = os.path.join(os.path.dirname(self.log or tempfile.gettempdir()), 'guard-moved')
                os.makedirs(aside, mode=0o700, exist_ok=True)
                target = os.path.join(aside, '%d-%s' % (time.time_ns(), path.strip('/').replace('/', '_')))
                os.replace(path, target)
                changed.append('%s was made (moved to %s)' % (path, target))
            elif now != was:
                self.files[path] = now
                changed.append('%s was changed (left as it is)' % path)
        # the directories the test made there, once empty, go too (deepest first; one still holding a file stays)
        for directory in sorted(home_dirs() - self.dirs, key=len, reverse=True):
            try:
                os.rmdir(directory)
            except OSError:
                pass
        return changed

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
    changed = (GUARD[0].restore() + GUARD[0].home_changes()) if GUARD else []
    if changed:
        mutant = os.environ.get('MUTANT_UNDER_TEST', 'no mutant')
        if GUARD[0].log:
            with open(GUARD[0].log, 'a', encoding='utf-8') as out:
                out.writelines('%s\t%s\t%s\n' % (mutant, item.nodeid, line) for line in changed)
        pytest.fail('the test changed the machine: %s' % '; '.join(changed), pytrace=False)
    return outcome
