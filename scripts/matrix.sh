#!/usr/bin/env bash
# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# make matrix: ansible-test sanity and units of the collection with the older ansible-core releases that
# meta/runtime.yml's requires_ansible promises (2.17, 2.18); `make sanity` and `make units` cover .venv's 2.19.
#
# For each VERSION:
#   * .venv-VERSION, created with the Python of .venv (3.11) from requirements-ansible-VERSION.txt (pinned),
#     re-installed when that file changes;
#   * ansible-test of that venv on the shared copy build/ansible_collections/icr/auth (make collection), with its
#     own HOME build/home-VERSION (its sanity and units venvs), through scripts/ansible-test.sh;
#   * sanity --venv: the multi-version tests (compile, import) on every target Python that release supports and this
#     machine has (3.7-3.12 for 2.17, 3.8-3.13 for 2.18); units --venv on MATRIX_UNITS_PYTHON (3.11).
# JUnit results go to build/reports/matrix/VERSION-{sanity,units}/. Every version runs, even after a failure.
#
# Usage: scripts/matrix.sh VERSION...      (make matrix MATRIX_VERSIONS='2.17 2.18')
# Environment: MATRIX_UNITS_PYTHON (default 3.11), MATRIX_SANITY_ARGS, PYTHON (interpreter for a new venv).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COLL=$ROOT/build/ansible_collections/icr/auth
REPORTS=$ROOT/build/reports/matrix
UNITS_PYTHON=${MATRIX_UNITS_PYTHON:-3.11}
read -r -a SANITY_ARGS <<<"${MATRIX_SANITY_ARGS:-}"

[[ $# -gt 0 ]] || { echo "usage: $0 VERSION..." >&2; exit 2; }
[[ -d $COLL ]] || { echo "matrix: $COLL missing (run: make collection)" >&2; exit 2; }
rm -rf "$REPORTS"
mkdir -p "$REPORTS"

# The interpreter of .venv if there is one, else python3.11 / python3 (as the Makefile picks it).
python=${PYTHON:-}
if [[ -z $python ]]; then
    if [[ -x $ROOT/.venv/bin/python ]]; then
        python=$("$ROOT/.venv/bin/python" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')
    else
        python=$(command -v python3.11 || command -v python3)
    fi
fi

# Target Pythons that scripts/ansible-test.sh does not link into build/pybin (3.7, which ansible-core 2.17 still
# supports on managed hosts): real interpreters in build/pybin-matrix; and no pyenv shims on PATH, since a shim of a
# version that is not selected is found by ansible-test and then refuses to run ("pyenv: python3.7: command not found").
extra_bin=$ROOT/build/pybin-matrix
mkdir -p "$extra_bin"
pyenv_root=${PYENV_ROOT:-${HOME:-/root}/.pyenv}
link_python() {  # link_python X.Y: the newest real pythonX.Y (pyenv, else a system one) into $extra_bin
    local v=$1 found="" cand p
    if [[ -d $pyenv_root/versions ]]; then
        found=$(for p in "$pyenv_root"/versions/"$v".*/bin/python"$v"; do [[ -x $p ]] && echo "$p"; done | sort -V | tail -n 1 || true)
    fi
    if [[ -z $found ]]; then
        cand=$(command -v "python$v" 2>/dev/null || true)
        if [[ -n $cand && $cand != */shims/* ]] && "$cand" -c 'import venv' >/dev/null 2>&1; then found=$cand; fi
    fi
    if [[ -n $found ]]; then ln -sfn "$found" "$extra_bin/python$v"; else rm -f "$extra_bin/python$v"; fi
}
link_python 3.7
PATH=$extra_bin:$(tr ':' '\n' <<<"$PATH" | grep -v '/shims$' | paste -sd: -)
export PATH

# collect STEP: move ansible-test's JUnit files of the last run into build/reports/matrix/STEP/.
collect() {
    mkdir -p "$REPORTS/$1"
    if compgen -G "$COLL/tests/output/junit/*.xml" >/dev/null; then
        mv "$COLL"/tests/output/junit/*.xml "$REPORTS/$1/"
    fi
}

rc=0
for version in "$@"; do
    venv=$ROOT/.venv-$version
    req=$ROOT/requirements-ansible-$version.txt
    stamp=$venv/.installed
    printf -- '---- matrix: ansible-core %s\n' "$version"
    if [[ ! -f $req ]]; then
        echo "matrix: $req missing" >&2
        rc=1
        continue
    fi
    if [[ ! -f $stamp || $req -nt $stamp ]]; then
        [[ -x $venv/bin/python ]] || "$python" -m venv "$venv" || { echo "matrix: python -m venv $venv failed" >&2; rc=1; continue; }
        echo "matrix: installing $(basename "$req") into $(basename "$venv")"
        if ! "$venv/bin/python" -m pip install --disable-pip-version-check -r "$req" >"$venv/pip-install.log" 2>&1; then
            cat "$venv/pip-install.log"
            echo "matrix: pip install failed" >&2
            rc=1
            continue
        fi
        touch "$stamp"
    fi
    echo "matrix: $("$venv/bin/ansible" --version | head -n 1)"

    export VENV=$venv ANSIBLE_TEST_HOME=$ROOT/build/home-$version
    start=$SECONDS
    rm -rf "$COLL/tests/output/junit"
    step_rc=0
    "$ROOT/scripts/ansible-test.sh" sanity --venv --junit "${SANITY_ARGS[@]}" || step_rc=$?
    collect "$version-sanity"
    echo "matrix: $version sanity exited $step_rc ($((SECONDS - start))s)"
    [[ $step_rc -eq 0 ]] || rc=1

    start=$SECONDS
    rm -rf "$COLL/tests/output/junit"
    step_rc=0
    "$ROOT/scripts/ansible-test.sh" units --venv --python "$UNITS_PYTHON" || step_rc=$?
    collect "$version-units"
    echo "matrix: $version units exited $step_rc ($((SECONDS - start))s)"
    [[ $step_rc -eq 0 ]] || rc=1
done
exit $rc
