#!/usr/bin/env bash
# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Run ansible-test on the copy of the collection in build/ansible_collections/icr/auth,
# offline-safe:
#   * HOME=build/home, so ansible-test's virtual environments and caches stay in the
#     project (and out of the user's home);
#   * the get-pip stand-in (scripts/get-pip-offline.py) is put where ansible-test
#     looks for its cached get-pip script, for every pip version it asks for;
#   * the user's pip configuration (index / mirror settings) stays visible under the
#     new HOME: it is linked, not changed;
#   * build/pybin holds python3.X links to every interpreter pyenv has (3.8-3.13 on
#     this project's machines; 3.14 too where there is one), so multi-version sanity
#     tests (compile, import) find real interpreters instead of pyenv shims that refuse
#     to run.
#
# Usage: scripts/ansible-test.sh <ansible-test arguments...>
# Environment: VENV (default .venv), ANSIBLE_TEST_HOME (default build/home).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
BUILD=$ROOT/build
COLL=$BUILD/ansible_collections/icr/auth
AT_HOME=${ANSIBLE_TEST_HOME:-$BUILD/home}
PYBIN=$BUILD/pybin
REAL_HOME=${HOME:-/root}

[[ -x $VENV/bin/ansible-test ]] || { echo "ansible-test.sh: $VENV/bin/ansible-test missing (run: make venv)" >&2; exit 2; }
[[ -d $COLL ]] || { echo "ansible-test.sh: $COLL missing (run: make collection)" >&2; exit 2; }

# 1. get-pip stand-in, for each pip version ansible-test pins (24.2 for ansible-core 2.19, 25.2 for 2.20 and 2.21).
cache=$AT_HOME/.ansible/test/cache
mkdir -p "$cache"
pip_versions=$("$VENV/bin/python" - <<'EOF'
import types
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._util.target.common.constants import CONTROLLER_PYTHON_VERSIONS, REMOTE_ONLY_PYTHON_VERSIONS
versions = CONTROLLER_PYTHON_VERSIONS + REMOTE_ONLY_PYTHON_VERSIONS
print(" ".join(sorted({get_venv_packages(types.SimpleNamespace(version=v))["pip"] for v in versions})))
EOF
)
for v in $pip_versions; do
    target=$cache/get_pip_${v//./_}.py
    cmp -s "$ROOT/scripts/get-pip-offline.py" "$target" || cp "$ROOT/scripts/get-pip-offline.py" "$target"
done

# 2. Keep the user's pip configuration (e.g. a package mirror) under the new HOME.
if [[ $AT_HOME != "$REAL_HOME" ]]; then
    for rel in .config/pip/pip.conf .pip/pip.conf; do
        if [[ -f $REAL_HOME/$rel ]]; then
            mkdir -p "$(dirname "$AT_HOME/$rel")"
            ln -sfn "$REAL_HOME/$rel" "$AT_HOME/$rel"
        fi
    done
fi

# 3. Real interpreters for every Python version ansible-test supports.
mkdir -p "$PYBIN"
pyenv_root=${PYENV_ROOT:-$REAL_HOME/.pyenv}
for v in 3.8 3.9 3.10 3.11 3.12 3.13 3.14; do
    link=$PYBIN/python$v
    found=""
    if [[ -d $pyenv_root/versions ]]; then
        # newest patch release of that minor version
        found=$(for p in "$pyenv_root"/versions/"$v".*/bin/python"$v"; do [[ -x $p ]] && echo "$p"; done | sort -V | tail -n 1 || true)
    fi
    if [[ -z $found ]]; then
        # a system interpreter, if it really runs (pyenv shims for unselected versions do not)
        cand=$(command -v "python$v" 2>/dev/null || true)
        if [[ -n $cand && $cand != */shims/* ]] && "$cand" -c 'import venv' >/dev/null 2>&1; then
            found=$cand
        fi
    fi
    if [[ -n $found ]]; then
        ln -sfn "$found" "$link"
    else
        rm -f "$link"
    fi
done

cd "$COLL"
export HOME=$AT_HOME
export PATH=$VENV/bin:$PYBIN:$PATH
exec "$VENV/bin/ansible-test" "$@"
