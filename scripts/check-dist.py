# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the built collection artifact: metadata present, test/harness files left out.

Usage: check-dist.py build/dist/icr-auth-X.Y.Z.tar.gz
"""

from __future__ import annotations

import json
import sys
import tarfile

REQUIRED = (
    "MANIFEST.json", "FILES.json", "LICENSE", "README.md", "meta/runtime.yml",
    # execution environments (ansible-builder), the changelog, the docsite's extra docs
    "meta/execution-environment.yml", "meta/ee-requirements.txt", "meta/ee-bindep.txt",
    "CHANGELOG.md", "changelogs/changelog.yaml", "docs/docsite/extra-docs.yml", "docs/docsite/links.yml",
)
FORBIDDEN_PREFIXES = (
    "tests/",
    ".ci/", ".venv/", ".venv-", "build/", "scripts/", "docs/benchmarks", ".pytest_cache/", ".hypothesis/", ".git/",
    "requirements-",
)
FORBIDDEN_NAMES = ("Makefile", "requirements-test.txt")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    with tarfile.open(path) as tar:
        names = [m.name[2:] if m.name.startswith("./") else m.name for m in tar.getmembers()]
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    problems = [f"missing {r}" for r in REQUIRED if r not in names]
    for n in names:
        if n.startswith(FORBIDDEN_PREFIXES) or n in FORBIDDEN_NAMES or "__pycache__" in n.split("/") or n.endswith(".pyc"):
            problems.append(f"should not be shipped: {n}")
    info = manifest["collection_info"]
    files = [n for n in names if not n.endswith("/")]
    print(f"dist: {path}: {info['namespace']}.{info['name']} {info['version']}, {len(files)} entries")
    for p in problems:
        print(f"dist: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
