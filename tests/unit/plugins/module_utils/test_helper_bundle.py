# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_helper_bundle: the zipapp's bytes are deterministic, hold what the helper imports and nothing needing requests."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import zipfile

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _helper_bundle as hb
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError

PREFIX = 'ansible_collections/icr/auth/plugins/module_utils/'


def archive(data):
    return zipfile.ZipFile(io.BytesIO(data[data.index(b'\n') + 1:]))


def test_same_inputs_same_bytes_and_the_shebang_names_the_python_isolated():
    first = hb.bundle('/usr/bin/python3')
    assert first == hb.bundle('/usr/bin/python3')
    assert first.startswith(b'#!/usr/bin/python3 -I\n')
    assert hb.bundle('/opt/py/bin/python3.8').startswith(b'#!/opt/py/bin/python3.8 -I\n')


def test_entries_are_sorted_with_fixed_times_and_modes():
    infos = archive(hb.bundle('/usr/bin/python3')).infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names) and '__main__.py' in names
    assert set((info.date_time, info.external_attr >> 16) for info in infos) == {((1980, 1, 1, 0, 0, 0), 0o644)}


def test_the_bundle_holds_the_helper_and_exactly_what_it_imports():
    zf = archive(hb.bundle('/usr/bin/python3'))
    names = set(zf.namelist())
    assert PREFIX + '_helper_main.py' in names and PREFIX + '_iam.py' in names
    for init in ('ansible_collections', 'ansible_collections/icr', 'ansible_collections/icr/auth',
                 'ansible_collections/icr/auth/plugins', 'ansible_collections/icr/auth/plugins/module_utils'):
        assert init + '/__init__.py' in names
    modules = [n for n in names if n.startswith(PREFIX) and not n.endswith('__init__.py')]
    for name in modules:
        for imported in hb.imported_modules(zf.read(name).decode()):
            assert imported.replace('.', '/') + '.py' in names, (name, imported)
    # Nothing of the modules, installer or requests-only code rides along.
    assert not any(n.startswith('ansible_collections/icr/auth/plugins/modules/') for n in names)
    assert PREFIX + '_login.py' not in names and PREFIX + '_registry.py' not in names


def test_no_bundled_file_imports_requests_when_imported():
    zf = archive(hb.bundle('/usr/bin/python3'))
    for name in zf.namelist():
        tree = ast.parse(zf.read(name).decode())
        for node in tree.body:  # module level only: function bodies import requests lazily, and are never called
            if isinstance(node, ast.Import):
                assert not any(a.name.split('.')[0] in ('requests', 'urllib3', 'ansible') for a in node.names), name
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split('.')[0] in ('ansible_collections', '__future__') or \
                    node.module.split('.')[0] not in ('requests', 'urllib3', 'ansible'), name


def test_the_sources_are_the_files_of_the_tree():
    source = hb.source_of(hb.ENTRY)
    assert 'def main(' in source and source == open(sys.modules[hb.ENTRY].__file__).read()


def test_the_zipapp_runs(tmp_path):
    path = tmp_path / 'docker-credential-icr'
    path.write_bytes(hb.bundle(sys.executable))
    path.chmod(0o755)
    done = subprocess.run([str(path), 'version'], capture_output=True, text=True, timeout=60, env={'PATH': '/usr/bin'},
                          check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, 'docker-credential-icr 1.0.0\n', '')


@pytest.mark.parametrize('python', ['python3', '', '/usr/bin/python3 -u', '/usr/bin/py\nthon'])
def test_the_python_must_be_an_absolute_path(python):
    with pytest.raises(InputError) as caught:
        hb.bundle(python)
    assert caught.value.msg.startswith('python: give the absolute path of the interpreter')


def test_built_from_a_zip_as_ansiballz_ships_it_the_bytes_are_the_same(tmp_path):
    """AnsiballZ puts the module's zip on sys.path: sources come through zipimport then, and must give the same bytes."""
    modlib = tmp_path / 'modlib.zip'
    files = dict((name.replace('.', '/') + '.py', text) for name, text in hb.sources().items())
    files[hb.__name__.replace('.', '/') + '.py'] = hb.source_of(hb.__name__)
    with zipfile.ZipFile(str(modlib), 'w') as zf:
        parts = hb.PACKAGE.split('.')
        for depth in range(1, len(parts) + 1):
            zf.writestr('/'.join(parts[:depth]) + '/__init__.py', '')
        for name, text in files.items():
            zf.writestr(name, text)
    code = ('import sys; sys.path.insert(0, sys.argv[1]); '
            f'from {hb.PACKAGE} import _helper_bundle as hb; '
            'assert type(hb.__loader__).__name__ == "zipimporter", hb.__loader__; '
            'sys.stdout.buffer.write(hb.bundle(sys.argv[2]))')
    done = subprocess.run([sys.executable, '-I', '-c', code, str(modlib), sys.executable], capture_output=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout == hb.bundle(sys.executable)
