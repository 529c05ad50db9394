# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for ``get-pip.py`` used by ``ansible-test --venv`` (no internet needed).

ansible-test bootstraps pip in each virtual environment it creates by running
a get-pip script that it downloads from a host this project's machines cannot
reach. Before downloading it looks for
``~/.ansible/test/cache/get_pip_<pip version with _>.py``; the Makefile puts
this file there (with ``HOME`` pointing at ``build/home``).

ansible-test runs it through ``runpy`` with get-pip's command line, e.g.
``--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel``. This
script installs the interpreter's bundled pip with ``ensurepip`` and then lets
that pip install the requested packages from the index pip is configured with
(PyPI or the machine's mirror).
"""

from __future__ import annotations

import subprocess
import sys

# get-pip.py options that are not pip options.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel", "--no-pip"}


def main() -> None:
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    ensure = subprocess.run(
        [sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    if ensure.returncode != 0:
        sys.stderr.write(ensure.stdout.decode("utf-8", "replace"))
        raise subprocess.CalledProcessError(ensure.returncode, ensure.args)
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as ex:
        sys.exit(ex.returncode or 1)
