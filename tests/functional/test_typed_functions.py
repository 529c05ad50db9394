# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""scripts/typed-functions.py counts a function as typed only when every parameter and the return are annotated."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / 'scripts' / 'typed-functions.py'

# 4 typed of 12: the comment on each says why.
SAMPLE = textwrap.dedent('''
    def typed(a: int, *args: str, b: bool = False, **kw: object) -> int:   # typed
        def inner(x):                                                     # nested, untyped
            return x
        return a

    def no_return(a: int):                                                # untyped: no return annotation
        pass

    def one_bare(a: int, b) -> None:                                      # untyped: b
        pass

    def bare_star(a: int, *args) -> None:                                 # untyped: *args
        pass

    def bare_kwargs(*, a: int, **kw) -> None:                             # untyped: **kw
        pass

    def bare_kwonly(*, a) -> None:                                        # untyped: keyword-only a
        pass

    def bare_posonly(a, /) -> None:                                       # untyped: positional-only a
        pass

    class C:
        def method(self, a: int) -> int:                                  # typed: self is exempt
            return a

        @classmethod
        def make(cls) -> "C":                                             # typed: cls is exempt
            return cls()

        @staticmethod
        def static(self) -> None:                                         # untyped: a static method has no self
            pass

    async def coro() -> None:                                             # typed
        pass
''')


def run(tmp_path, files, *args):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = subprocess.run([sys.executable, str(SCRIPT), *args, str(tmp_path)], capture_output=True, text=True,
                          check=False)
    return proc.returncode, proc.stdout, proc.stderr


def test_counts_each_kind_of_missing_annotation(tmp_path):
    rc, out, err = run(tmp_path, {'sample.py': SAMPLE}, '--min', '30')
    assert rc == 0, out + err
    assert '%s: 4/12' % (tmp_path / 'sample.py') in out.splitlines()
    assert out.splitlines()[-1] == 'typed-functions: 4 of 12 (33.3%), minimum 30%: ok'


def test_below_the_minimum_fails_and_totals_add_up_over_files(tmp_path):
    files = {'a.py': SAMPLE, 'b.py': 'def f(x: int) -> int:\n    return x\n\ndef g(x):\n    return x\n'}
    rc, out, _err = run(tmp_path, files)
    assert rc == 1, out
    assert '%s: 1/2' % (tmp_path / 'b.py') in out.splitlines()
    assert out.splitlines()[-1] == 'typed-functions: 5 of 14 (35.7%), minimum 80%: BELOW the minimum'


def test_exactly_the_minimum_passes(tmp_path):
    rc, out, _err = run(tmp_path, {'half.py': 'def f(x: int) -> int:\n    return x\n\ndef g(x):\n    return x\n'},
                        '--min', '50')
    assert rc == 0 and out.splitlines()[-1] == 'typed-functions: 1 of 2 (50.0%), minimum 50%: ok', out


def test_a_file_that_does_not_parse_is_an_error(tmp_path):
    rc, _out, err = run(tmp_path, {'bad.py': 'def f(:\n'})
    assert rc == 2 and 'bad.py: does not parse' in err
