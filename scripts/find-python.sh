#!/usr/bin/env bash
# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Find a Python interpreter of one of the given minor versions that really runs and can make a venv, and print its
# path. Versions are tried in the order given (put the preferred one first). For each version X.Y:
#   1. pythonX.Y on PATH, if it runs (a pyenv shim of a version pyenv has not selected does not: it is skipped);
#   2. pyenv's newest X.Y.* (`pyenv root`, else $PYENV_ROOT, else ~/.pyenv), when pyenv is there.
# No path is fixed in advance. Exit status 1, with a message on stderr that says what to install, when none is found.
#
# Usage: scripts/find-python.sh [--why TEXT] X.Y [X.Y...]
#   e.g. scripts/find-python.sh --why 'ansible-core 2.21 needs Python 3.12 or newer on the controller' 3.13 3.12
# Environment: PYENV_ROOT.
set -uo pipefail

why=""
if [[ ${1:-} == --why ]]; then
    why=$2
    shift 2
fi
[[ $# -gt 0 ]] || { echo "usage: $0 [--why TEXT] X.Y [X.Y...]" >&2; exit 2; }

usable() {  # usable PATH X.Y: PATH is an interpreter of version X.Y that runs and has venv + ensurepip
    [[ -x $1 ]] || return 1
    "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if "%d.%d" % sys.version_info[:2] == sys.argv[1] else 1)' "$2" \
        >/dev/null 2>&1
}

pyenv_root=""
if command -v pyenv >/dev/null 2>&1; then
    pyenv_root=$(pyenv root 2>/dev/null || true)
fi
[[ -n $pyenv_root ]] || pyenv_root=${PYENV_ROOT:-${HOME:-/root}/.pyenv}

for v in "$@"; do
    cand=$(command -v "python$v" 2>/dev/null || true)
    if [[ -n $cand ]] && usable "$cand" "$v"; then
        # A pyenv shim that runs (its version is selected) is fine, but print the real interpreter behind it.
        "$cand" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))'
        exit 0
    fi
    if [[ -d $pyenv_root/versions ]]; then
        while IFS= read -r p; do
            if usable "$p" "$v"; then
                echo "$p"
                exit 0
            fi
        done < <(for p in "$pyenv_root"/versions/"$v".*/bin/python"$v"; do [[ -e $p ]] && echo "$p"; done | sort -rV)
    fi
done

wanted=$(printf ' or %s' "$@")
{
    echo "find-python: no working Python ${wanted# or } found (looked on PATH and in pyenv's versions under $pyenv_root)."
    [[ -z $why ]] || echo "find-python: $why."
    echo "find-python: install one, e.g. with pyenv (pyenv install ${1}) or your distribution's package, and make sure"
    echo "find-python: python${1} on PATH runs (a pyenv shim of a version pyenv has not selected does not), then run again."
} >&2
exit 1
