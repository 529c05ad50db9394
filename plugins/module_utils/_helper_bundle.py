# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The executable zipapp of docker-credential-icr, built from the collection's own module_utils (internal use only).

The sources are read through their modules' loaders, so the build works from a checkout and inside AnsiballZ's
zip. Only the files the helper's entry module imports (followed through the tree) go in. The archive is
deterministic: sorted names, fixed timestamps and modes, so the same sources and Python give the same bytes.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import zipfile

# Imported here so that AnsiballZ ships the helper's modules with any module that imports this one.
from ansible_collections.icr.auth.plugins.module_utils import _helper_main
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError

PACKAGE = 'ansible_collections.icr.auth.plugins.module_utils'
ENTRY = _helper_main.__name__
# 1980-01-01, the earliest time a zip file can hold.
EPOCH = (1980, 1, 1, 0, 0, 0)
MAIN = (
    '# docker-credential-icr: the docker-credential-helpers protocol for IBM Cloud Container Registry.\n'
    '# Built by the icr.auth collection; see its credential helper documentation.\n'
    'import sys\n'
    f'from {ENTRY} import run\n'
    'sys.exit(run())\n'
)


def source_of(name: str) -> str:
    """The source text of a module of the collection, through its loader."""
    module = importlib.import_module(name)
    loader = getattr(module, '__loader__', None)
    text: str | bytes | None = None
    if loader is not None and hasattr(loader, 'get_source'):
        try:
            text = loader.get_source(name)
        except (ImportError, OSError):
            text = None
    if text is None:
        text = inspect.getsource(module)
    # Ansible's collection loader answers bytes, the standard loaders and zipimport text.
    return text.decode('utf-8') if isinstance(text, bytes) else text


def imported_modules(text: str) -> list[str]:
    """The collection modules a source imports (absolute ansible_collections.icr.auth imports)."""
    names = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == PACKAGE:
                names.extend(f'{PACKAGE}.{alias.name}' for alias in node.names)
            elif node.module.startswith(PACKAGE + '.'):
                names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names if alias.name.startswith(PACKAGE + '.'))
    return names


def sources(entry: str = ENTRY) -> dict:
    """module name -> source text of entry and everything it imports from the collection."""
    found: dict = {}
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found[name] = source_of(name)
        todo.extend(imported_modules(found[name]))
    return found


def _add(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3
    archive.writestr(info, text.encode('utf-8'))


def bundle(python: str) -> bytes:
    """The bytes of the executable: '#!<python> -I', then a zip of __main__.py and the helper's modules."""
    if not python.startswith('/') or any(c.isspace() for c in python):
        raise InputError(f'python: give the absolute path of the interpreter, without white space, not {python!r}.')
    files = dict((name.replace('.', '/') + '.py', text) for name, text in sources().items())
    parts = PACKAGE.split('.')
    for depth in range(1, len(parts) + 1):
        files['/'.join(parts[:depth]) + '/__init__.py'] = ''
    files['__main__.py'] = MAIN
    out = io.BytesIO()
    out.write(f'#!{python} -I\n'.encode('utf-8'))
    with zipfile.ZipFile(out, 'w') as archive:
        for name in sorted(files):
            _add(archive, name, files[name])
    return out.getvalue()
