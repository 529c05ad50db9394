# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How many of the shipped functions and methods carry type hints, per file and in total.

A function (or method, nested function, lambda excepted) counts as typed when every parameter has an annotation
(positional-only, ordinary, keyword-only, *args and **kwargs; the first parameter of a method, self or cls, is
exempt) and so does its return. Reads the source with ast (nothing is imported).

    python scripts/typed-functions.py [--min PERCENT] [PATH ...]

PATH: files or directories (searched for *.py); default plugins/module_utils, plugins/modules and plugins/filter of
this tree. Prints `path: typed/total` for each file, then `typed-functions: T of N (P%), minimum M%`.
Exit status: 1 when P is below --min (default 80), 2 on a file that does not parse; 0 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import sys
from collections.abc import Iterator

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_DIRS = ('plugins/module_utils', 'plugins/modules', 'plugins/filter')
FunctionNode = (ast.FunctionDef, ast.AsyncFunctionDef)


def _is_static(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == 'staticmethod' for d in node.decorator_list)


def is_typed(node: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> bool:
    """Every parameter (but a method's self or cls) and the return annotated."""
    args = node.args
    positional = list(args.posonlyargs) + list(args.args)
    if method and not _is_static(node) and positional and positional[0].arg in ('self', 'cls'):
        positional = positional[1:]
    params = positional + list(args.kwonlyargs) + [a for a in (args.vararg, args.kwarg) if a is not None]
    return node.returns is not None and all(p.annotation is not None for p in params)


def functions(tree: ast.AST) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef, bool]]:
    """Each function of a module with whether it is a method (defined directly in a class body)."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, in_class = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, FunctionNode):
                yield child, in_class
                stack.append((child, False))
            else:
                stack.append((child, isinstance(child, ast.ClassDef)))


def count(source: str, name: str = '<source>') -> tuple[int, int]:
    """(typed, total) functions of one module's source."""
    tree = ast.parse(source, filename=name)
    found = [is_typed(node, method) for node, method in functions(tree)]
    return sum(found), len(found)


def python_files(paths: list[pathlib.Path]) -> list[pathlib.Path]:
    files: list[pathlib.Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob('*.py') if '__pycache__' not in p.parts))
        elif path.is_file():
            files.append(path)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--min', type=float, default=80.0, help='lowest share of typed functions, in percent')
    parser.add_argument('paths', nargs='*', type=pathlib.Path, help='files or directories (default: the plugins)')
    args = parser.parse_args(argv)
    paths = args.paths or [ROOT / d for d in DEFAULT_DIRS]
    typed_total = total = 0
    for path in python_files(paths):
        try:
            typed, n = count(path.read_text(encoding='utf-8'), str(path))
        except SyntaxError as exc:
            print(f'typed-functions: {path}: does not parse: {exc}', file=sys.stderr)
            return 2
        try:
            shown = path.resolve().relative_to(ROOT)
        except ValueError:
            shown = path
        print(f'{shown}: {typed}/{n}')
        typed_total += typed
        total += n
    percent = 100.0 * typed_total / total if total else 100.0
    verdict = 'ok' if percent >= args.min else 'BELOW the minimum'
    print(f'typed-functions: {typed_total} of {total} ({percent:.1f}%), minimum {args.min:g}%: {verdict}')
    return 0 if percent >= args.min else 1


if __name__ == '__main__':
    sys.exit(main())
