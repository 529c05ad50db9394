# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared set-up of the functional tests: import paths, markers, the collection path.

Import paths are set up here and nowhere else in tests/functional (pytest loads this file before any test module):
- tests/emulator (icr_emulator) and tests/infra (icr_infra), plain directories of test harnesses;
- tests/functional itself (pytest puts it first, as this file's directory: playrunner, rel_support, emu_fixture, ...);
- the collection as ``ansible_collections.icr.auth``: a collections path whose ansible_collections/icr/auth links to
  this tree (playrunner.collections_path), unless it is importable already (under mutmut, whose mutants/ directory
  comes first, or with a collections path on PYTHONPATH).
Child processes get the collection with ``PYTHONPATH`` (rel_support.driver_env) or ``ANSIBLE_COLLECTIONS_PATH``.
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent

# The IAM/ICR emulator (icr_emulator) and the real-infrastructure harness (icr_infra) are plain directories.
for _harness in (REPO / 'tests' / 'emulator', REPO / 'tests' / 'infra'):
    if str(_harness) not in sys.path:
        sys.path.insert(0, str(_harness))

try:
    import ansible_collections.icr.auth.plugins.module_utils  # noqa: F401  pylint: disable=unused-import
except ImportError:
    from playrunner import collections_path  # pylint: disable=wrong-import-position
    sys.path.insert(0, collections_path())


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: starts daemons or many processes (sshd fleet, registry); seconds, not milliseconds')
    config.addinivalue_line('markers', 'needs_root: creates local users and runs sshd (skipped when not root)')
    # Under pytest-xdist (make functional) a worker has a second thread, execnet's, which waits on its channel to the
    # main pytest process; Python 3.12+ then warns at every os.fork(). The tests' forked children (the writers killed
    # at random, the racing attackers) never touch that channel and leave with os._exit, so the warning is noise.
    config.addinivalue_line('filterwarnings',
                            r'ignore:This process \(pid=\d+\) is multi-threaded, use of fork\(\) may lead to deadlocks:DeprecationWarning')


def pytest_collection_modifyitems(items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason='needs root: creates local users, runs sshd and acts as other users')
    for item in items:
        if 'needs_root' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope='session')
def collections_dir(tmp_path_factory):
    """A collections path whose ansible_collections/icr/auth is a symlink to this tree (ansible accepts the link)."""
    base = tmp_path_factory.mktemp('collections')
    link = base / 'ansible_collections' / 'icr' / 'auth'
    link.parent.mkdir(parents=True)
    link.symlink_to(REPO, target_is_directory=True)
    return str(base)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """The reliability ledger takes a test's rows only once its outcome is known (rel_support.settle_ledger)."""
    outcome = yield
    report = outcome.get_result()
    support = sys.modules.get('rel_support')
    if support is None or report.when != 'call':
        return
    if hasattr(report, 'wasxfail'):
        support.settle_ledger('xfailed')
    else:
        support.settle_ledger(report.outcome)
