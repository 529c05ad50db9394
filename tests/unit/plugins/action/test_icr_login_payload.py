# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module_utils files that ansible-core's dependency finder puts in icr_login's payload, sent to every host.

The finder ships every file that an import names, wherever the import stands (inside a function too), so one import
of the network code from the host path would send it to the whole fleet again. These tests ask the finder itself
(ansible.executor.module_common.recursive_finder), in a child process: installing the collection loader in this
process would change how the modules run by other unit tests report their warnings.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from ansible_collections.icr.auth.plugins.modules import icr_login

# What icr_login does on a host without the network: the files its payload carries, and no other.
HOST_PATH = frozenset((
    '__init__.py', '_atomic_file.py', '_auth_file.py', '_config_store.py', '_cred_helpers.py', '_credential.py',
    '_dir_walk.py', '_errors.py', '_login.py', '_options.py', '_privilege.py', '_regions.py', '_target.py',
    '_username_base.py', '_username_iamapikey.py', '_username_iambearer.py', '_username_iamrefresh.py',
    '_username_profile.py', '_username_types.py',
))
# The IAM client, the registry check and HTTP: icr_login_network carries them, icr_login must not.
NETWORK_CODE = frozenset(('_http.py', '_iam.py', '_registry.py', '_challenge.py', '_network.py'))
# Controller-side or helper code, which no host running icr_login needs.
NEVER_ON_THE_HOST_PATH = frozenset(('_stdlib_http.py', '_token_cache.py', '_cache.py', '_obtain.py', '_login_route.py',
                                    '_iam_identity.py', '_iam_key_file.py', '_identity_sources.py'))

FINDER = r'''
import datetime, io, json, sys, zipfile
from ansible.executor import module_common
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

root, modules = sys.argv[1], sys.argv[2:]
_AnsibleCollectionFinder(paths=[root])._install()
prefix = 'ansible_collections/icr/auth/plugins/module_utils/'
found = {}
for name in modules:
    path = '%s/ansible_collections/icr/auth/plugins/modules/%s.py' % (root, name)
    with open(path, 'rb') as handle:
        data = handle.read()
    with zipfile.ZipFile(io.BytesIO(), 'w') as archive:
        module_common.recursive_finder(name, 'ansible_collections.icr.auth.plugins.modules.' + name, data, archive,
                                       datetime.datetime(2020, 1, 1), module_common._builder.ExtensionManager())
        found[name] = sorted(n[len(prefix):] for n in archive.namelist() if n.startswith(prefix))
print(json.dumps(found))
'''


@pytest.fixture(scope='module')
def shipped():
    """{module: set of the collection's module_utils files the dependency finder collects for it}."""
    root = pathlib.Path(icr_login.__file__).parents[5]  # holds ansible_collections/icr/auth
    proc = subprocess.run([sys.executable, '-c', FINDER, str(root), 'icr_login', 'icr_login_network'],
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict((name, set(files)) for name, files in json.loads(proc.stdout).items())


def test_the_finder_sees_the_network_code_of_icr_login_network(shipped):
    """The finder and this test see what they must: the network module carries the network code."""
    assert NETWORK_CODE <= shipped['icr_login_network'], sorted(shipped['icr_login_network'])
    assert shipped['icr_login'] < shipped['icr_login_network']


def test_icr_login_carries_no_network_code(shipped):
    assert not shipped['icr_login'] & NETWORK_CODE, sorted(shipped['icr_login'] & NETWORK_CODE)
    assert not shipped['icr_login'] & NEVER_ON_THE_HOST_PATH, sorted(shipped['icr_login'] & NEVER_ON_THE_HOST_PATH)


def test_icr_login_carries_exactly_its_host_path(shipped):
    """A file added to icr_login's payload is sent to every host: add it to HOST_PATH only if a host needs it."""
    assert shipped['icr_login'] == HOST_PATH, {'added': sorted(shipped['icr_login'] - HOST_PATH),
                                               'gone': sorted(HOST_PATH - shipped['icr_login'])}
