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


INITS = ['ansible_collections/__init__.py', 'ansible_collections/icr/__init__.py',
         'ansible_collections/icr/auth/__init__.py', 'ansible_collections/icr/auth/plugins/__init__.py',
         'ansible_collections/icr/auth/plugins/module_utils/__init__.py']


def closure():
    """The helper's modules, followed through the files of the tree with the test's own reading of the imports."""
    root = sys.modules[hb.ENTRY].__file__.rsplit('/', 1)[0]
    found, todo = set(), ['_helper_main']
    while todo:
        short = todo.pop()
        if short in found:
            continue
        found.add(short)
        with open(f'{root}/{short}.py') as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == hb.PACKAGE:
                todo.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or '').startswith(hb.PACKAGE + '.'):
                todo.append(node.module.rsplit('.', 1)[1])
    return found


def test_the_bundle_is_exactly_the_helpers_modules_the_package_inits_and_main():
    data = hb.bundle('/usr/bin/python3')
    zf = archive(data)
    modules = sorted(PREFIX + short + '.py' for short in closure())
    assert len(modules) > 10 and PREFIX + '_helper_main.py' in modules
    assert zf.namelist() == sorted(modules + INITS + ['__main__.py'])
    for name in INITS:
        assert zf.read(name) == b''
    assert zf.read('__main__.py').decode() == (
        '# docker-credential-icr: the docker-credential-helpers protocol for IBM Cloud Container Registry.\n'
        '# Built by the icr.auth collection; see its credential helper documentation.\n'
        'import sys\n'
        'from ansible_collections.icr.auth.plugins.module_utils._helper_main import run\n'
        'sys.exit(run())\n')
    for name in modules:
        with open(sys.modules[hb.ENTRY].__file__.rsplit('/', 1)[0] + '/' + name[len(PREFIX):], 'rb') as handle:
            assert zf.read(name) == handle.read(), name
    for info in zf.infolist():
        assert (info.compress_type, info.create_system, info.external_attr, info.date_time) == (
            zipfile.ZIP_DEFLATED, 3, 0o644 << 16, (1980, 1, 1, 0, 0, 0)), info.filename
    assert data.split(b'\n', 1)[0] == b'#!/usr/bin/python3 -I'


def test_sources_follows_every_import_once_from_the_entry():
    found = hb.sources()
    assert set(found) == set(f'{hb.PACKAGE}.{short}' for short in closure())
    assert found[hb.ENTRY] == hb.source_of(hb.ENTRY)
    assert set(hb.sources(hb.PACKAGE + '._errors')) == {hb.PACKAGE + '._errors'}


def test_imported_modules_reads_the_absolute_imports_of_the_collection_only():
    text = '\n'.join([
        'import os',
        'import ansible_collections.icr.auth.plugins.module_utils._a, json',
        'import ansible_collections.icr.auth.plugins.module_utils_other',
        'from ansible_collections.icr.auth.plugins.module_utils import _b, _c as c',
        'from ansible_collections.icr.auth.plugins.module_utils._d import thing',
        'from ansible_collections.icr.auth.plugins.module_utils_other import x',
        'from ansible_collections.icr.auth.plugins import module_utils',
        'from . import _e',
        'from .module_utils._f import y',
        'def f():',
        '    from ansible_collections.icr.auth.plugins.module_utils._g import z',
    ])
    found = hb.imported_modules(text)
    assert sorted(found) == [hb.PACKAGE + '._a', hb.PACKAGE + '._b', hb.PACKAGE + '._c', hb.PACKAGE + '._d',
                             hb.PACKAGE + '._g']
    assert len(found) == 5


class Loader(object):
    def __init__(self, answer):
        self.answer = answer

    def get_source(self, name):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize('loader', [None, object(), Loader(ImportError('no')), Loader(OSError('no')), Loader(None)])
def test_source_of_falls_back_to_the_file_when_the_loader_gives_nothing(monkeypatch, loader):
    module = sys.modules[hb.PACKAGE + '._errors']
    with open(module.__file__) as handle:
        text = handle.read()
    monkeypatch.setattr(module, '__loader__', loader)
    assert hb.source_of(module.__name__) == text


@pytest.mark.parametrize('answer', ['# text\n', '# text\n'.encode('utf-8'), '# t\u00e9xt\n'.encode('utf-8')])
def test_source_of_takes_the_loaders_text_or_utf8_bytes(monkeypatch, answer):
    module = sys.modules[hb.PACKAGE + '._errors']
    monkeypatch.setattr(module, '__loader__', Loader(answer))
    assert hb.source_of(module.__name__) == (answer.decode('utf-8') if isinstance(answer, bytes) else answer)


@pytest.mark.parametrize('python', ['python3', '', 'usr/bin/python3', '/usr/bin/python3 -u', '/usr/bin/py\nthon',
                                    '/usr/bin/py\tthon', ' /usr/bin/python3'])
def test_the_python_refusal_names_what_was_given(python):
    with pytest.raises(InputError) as caught:
        hb.bundle(python)
    assert caught.value.msg == ('python: give the absolute path of the interpreter, without white space, '
                                f'not {python!r}.')


def test_source_of_a_module_without_a_loader_attribute_is_its_file(monkeypatch):
    module = sys.modules[hb.PACKAGE + '._errors']
    with open(module.__file__) as handle:
        text = handle.read()
    monkeypatch.delattr(module, '__loader__')
    assert hb.source_of(module.__name__) == text
