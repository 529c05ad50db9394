# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mirror the work tree into ``build/ansible_collections/icr/auth``.

ansible-test must run from a directory whose *real* path ends in
``ansible_collections/<namespace>/<name>`` (it resolves symlinks through
``os.getcwd()``), so the collection is copied, not linked.

Copied: every file git tracks or would track (``git ls-files -co
--exclude-standard``), i.e. committed files plus new files that are not
ignored. Without git, the tree is walked with the same exclusions as
``.gitignore``'s main entries. Files that are no longer in the source are
removed from the copy, so a renamed or deleted file never lingers there.
Unchanged files are not rewritten (size + mtime), which keeps warm runs fast.

Usage: sync-collection.py SOURCE_ROOT DEST_ROOT
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# Never copied, whatever git says (outputs of the harness itself).
ALWAYS_EXCLUDED_DIRS = {".git", ".venv", "build", "tests/output", ".pytest_cache", ".hypothesis"}
EXCLUDED_NAMES = {"__pycache__"}
# Kept in the copy even though they are not in the source: ansible-test's results, and
# the copy's own (empty) git repository, see ensure_own_git().
PRESERVED_DIRS = ("tests/output", ".git")


def excluded(rel: str) -> bool:
    parts = rel.split("/")
    if any(p in EXCLUDED_NAMES for p in parts):
        return True
    if rel.endswith((".pyc", ".pyo", ".tar.gz")):
        return True
    for d in ALWAYS_EXCLUDED_DIRS:
        if rel == d or rel.startswith(d + "/"):
            return True
    # The venvs of other ansible-core releases (.venv-2.19, ... see scripts/matrix.sh)
    return parts[0].startswith(".venv-")


def list_with_git(src: str) -> list[str] | None:
    if not os.path.exists(os.path.join(src, ".git")):  # a directory, or a file in a git worktree
        return None
    try:
        out = subprocess.run(
            ["git", "-C", src, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True,
            stdout=subprocess.PIPE,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return sorted({p for p in out.decode("utf-8", "surrogateescape").split("\0") if p})


def list_with_walk(src: str) -> list[str]:
    files = []
    for root, dirs, names in os.walk(src):
        rel_root = os.path.relpath(root, src)
        rel_root = "" if rel_root == "." else rel_root + "/"
        dirs[:] = [d for d in dirs if not excluded(rel_root + d)]
        files.extend(rel_root + n for n in names)
    return sorted(files)


def same(src_path: str, dst_path: str) -> bool:
    try:
        s = os.lstat(src_path)
        d = os.lstat(dst_path)
    except FileNotFoundError:
        return False
    if os.path.islink(src_path) or os.path.islink(dst_path):
        return os.path.islink(src_path) and os.path.islink(dst_path) and os.readlink(src_path) == os.readlink(dst_path)
    return s.st_size == d.st_size and int(s.st_mtime) == int(d.st_mtime) and s.st_mode == d.st_mode


def ensure_own_git(dst: str) -> None:
    """Give the copy an empty git repository of its own.

    ansible-test picks its file lister by walking up from the collection root to
    the first ``.git``. Without one in the copy it would find the work tree's
    repository, where ``build/`` is ignored, list no files and skip every test.
    In a repository of its own with no commits, ``git ls-files --others
    --exclude-standard`` lists exactly the copied files (minus what the copied
    ``.gitignore`` excludes, e.g. ``tests/output/``). Nothing is ever added or
    committed there.
    """
    if os.path.isdir(os.path.join(dst, ".git")):
        return
    try:
        subprocess.run(["git", "init", "--quiet", dst], check=True)
    except (OSError, subprocess.CalledProcessError) as ex:
        print(f"collection: warning: git init in {dst} failed ({ex}); ansible-test may not find the files", file=sys.stderr)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src = os.path.realpath(sys.argv[1])
    dst = os.path.abspath(sys.argv[2])

    files = list_with_git(src)
    if files is None:
        files = list_with_walk(src)
    # Deleted-but-tracked files are listed by git; only copy what exists.
    wanted = [f for f in files if not excluded(f) and os.path.lexists(os.path.join(src, f))]
    wanted_set = set(wanted)

    copied = 0
    os.makedirs(dst, exist_ok=True)
    for rel in wanted:
        s = os.path.join(src, rel)
        d = os.path.join(dst, rel)
        if os.path.isdir(s) and not os.path.islink(s):
            continue  # a submodule or similar: not part of a collection
        if same(s, d):
            continue
        os.makedirs(os.path.dirname(d), exist_ok=True)
        if os.path.lexists(d) or os.path.isdir(d):
            if os.path.isdir(d) and not os.path.islink(d):
                shutil.rmtree(d)
            else:
                os.unlink(d)
        if os.path.islink(s):
            os.symlink(os.readlink(s), d)
        else:
            shutil.copy2(s, d)
        copied += 1

    # Remove stale files and then empty directories (bottom-up).
    removed = 0
    for root, dirs, names in os.walk(dst, topdown=True):
        rel_root = os.path.relpath(root, dst)
        rel_root = "" if rel_root == "." else rel_root + "/"
        dirs[:] = [x for x in dirs if (rel_root + x) not in PRESERVED_DIRS]
        for n in names:
            rel = rel_root + n
            if rel not in wanted_set:
                os.unlink(os.path.join(root, n))
                removed += 1
        for x in list(dirs):
            p = os.path.join(root, x)
            if os.path.islink(p) and (rel_root + x) not in wanted_set:
                os.unlink(p)
                dirs.remove(x)
                removed += 1
    for root, dirs, names in os.walk(dst, topdown=False):
        rel = os.path.relpath(root, dst)
        if rel != "." and rel not in PRESERVED_DIRS and not any(rel.startswith(p + "/") for p in PRESERVED_DIRS):
            if not os.listdir(root):
                os.rmdir(root)

    ensure_own_git(dst)
    print(f"collection: {len(wanted)} files in {dst} ({copied} copied, {removed} stale removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
