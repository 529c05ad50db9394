#!/usr/bin/env bash
# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# make matrix: ansible-test sanity and units of the collection with every ansible-core release from the floor that
# meta/runtime.yml's requires_ansible promises (2.19) to the newest (2.21). `make sanity` and `make units` cover the
# release of .venv (the newest, when the machine has Python 3.12+), so it is skipped here.
#
# For each other VERSION:
#   * .venv-VERSION from requirements-ansible-VERSION.txt (pinned), with the first Python found of the list on that
#     file's "Controller Python, first found of ...:" line (scripts/find-python.sh: PATH, then pyenv). ansible-core
#     2.20+ needs Python 3.12+ on the controller: with none on the machine, that VERSION fails with a clear message.
#     The venv is rebuilt when the file changes or its Python is not on that list;
#   * ansible-test of that venv on the shared copy build/ansible_collections/icr/auth (make collection), with its
#     own HOME build/home-VERSION (its sanity and units venvs), through scripts/ansible-test.sh;
#   * sanity --venv: the multi-version tests (compile, import) on every target Python that release supports and this
#     machine has (3.8-3.13 for 2.19; 3.9-3.14 for 2.20); units --venv on the venv's own Python
#     (MATRIX_UNITS_PYTHON overrides).
# JUnit results go to build/reports/matrix/VERSION-{sanity,units}/. Every version runs, even after a failure; each
# step prints how long it took.
#
# Usage: scripts/matrix.sh VERSION...              (make matrix MATRIX_VERSIONS='2.19 2.20 2.21')
#        scripts/matrix.sh --venv-only VERSION...  only make (or update) .venv-VERSION (make floor-venv)
# Environment: MATRIX_UNITS_PYTHON, MATRIX_SANITY_ARGS.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COLL=$ROOT/build/ansible_collections/icr/auth
REPORTS=$ROOT/build/reports/matrix
read -r -a SANITY_ARGS <<<"${MATRIX_SANITY_ARGS:-}"

venv_only=false
if [[ ${1:-} == --venv-only ]]; then
    venv_only=true
    shift
fi
[[ $# -gt 0 ]] || { echo "usage: $0 [--venv-only] VERSION..." >&2; exit 2; }

# make_venv VERSION: create or update .venv-VERSION; prints nothing on success when it is up to date.
make_venv() {
    local version=$1 venv=$ROOT/.venv-$1 req=$ROOT/requirements-ansible-$1.txt
    local stamp=$ROOT/.venv-$1/.installed pythons python have
    if [[ ! -f $req ]]; then
        echo "matrix: $(basename "$req") missing: ansible-core $version has no venv of its own here" >&2
        return 1
    fi
    read -r -a pythons <<<"$(sed -n 's/^# Controller Python, first found of[^:]*: *//p' "$req" | head -n 1)"
    [[ ${#pythons[@]} -gt 0 ]] || { echo "matrix: $(basename "$req") has no '# Controller Python, first found of ...:' line" >&2; return 1; }
    have=""
    [[ -x $venv/bin/python ]] && have=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
    if [[ -n $have && " ${pythons[*]} " != *" $have "* ]]; then
        echo "matrix: $(basename "$venv") has Python $have, not one of ${pythons[*]}: rebuilding it"
        rm -rf "$venv"
        have=""
    fi
    if [[ -z $have ]]; then
        python=$("$ROOT/scripts/find-python.sh" --why "ansible-core $version needs Python ${pythons[0]} to ${pythons[-1]} on the controller" "${pythons[@]}") \
            || { echo "matrix: ansible-core $version: no Python for its controller, see above" >&2; return 1; }
        rm -rf "$venv"
        echo "matrix: creating $(basename "$venv") with $python"
        "$python" -m venv "$venv" || { echo "matrix: $python -m venv $venv failed" >&2; return 1; }
    fi
    if [[ ! -f $stamp || $req -nt $stamp ]]; then
        echo "matrix: installing $(basename "$req") into $(basename "$venv")"
        if ! "$venv/bin/python" -m pip install --disable-pip-version-check -r "$req" >"$venv/pip-install.log" 2>&1; then
            cat "$venv/pip-install.log"
            echo "matrix: pip install into $(basename "$venv") failed" >&2
            return 1
        fi
        touch "$stamp"
    fi
}

if [[ $venv_only == true ]]; then
    rc=0
    for version in "$@"; do make_venv "$version" || rc=1; done
    exit $rc
fi

[[ -d $COLL ]] || { echo "matrix: $COLL missing (run: make collection)" >&2; exit 2; }
rm -rf "$REPORTS"
mkdir -p "$REPORTS"

# collect STEP: move ansible-test's JUnit files of the last run into build/reports/matrix/STEP/.
collect() {
    mkdir -p "$REPORTS/$1"
    if compgen -G "$COLL/tests/output/junit/*.xml" >/dev/null; then
        mv "$COLL"/tests/output/junit/*.xml "$REPORTS/$1/"
    fi
}

# failed STEP MESSAGE: a JUnit failure for a step that could not run, so the summary names it.
failed() {
    mkdir -p "$REPORTS/$1"
    "${PYTHON_FOR_XML:-python3}" - "$REPORTS/$1/not-run.xml" "$1" "$2" <<'EOF'
import sys
import xml.etree.ElementTree as ET
suite = ET.Element('testsuite', name='matrix', tests='1', failures='1')
case = ET.SubElement(suite, 'testcase', classname='matrix', name=sys.argv[2])
ET.SubElement(case, 'failure', message=sys.argv[3]).text = sys.argv[3]
ET.ElementTree(suite).write(sys.argv[1], encoding='utf-8', xml_declaration=True)
EOF
}

newest=""
[[ -x $ROOT/.venv/bin/python ]] && newest=$("$ROOT/.venv/bin/python" -c 'import ansible.release as r; print(".".join(r.__version__.split(".")[:2]))' 2>/dev/null)

rc=0
timings=()
for version in "$@"; do
    printf -- '---- matrix: ansible-core %s\n' "$version"
    if [[ $version == "$newest" ]]; then
        echo "matrix: ansible-core $version is .venv's: make sanity and make units run it"
        continue
    fi
    start=$SECONDS
    if ! make_venv "$version"; then
        failed "$version-setup" "ansible-core $version: no venv (see the output of make matrix)"
        timings+=("$version setup FAILED")
        rc=1
        continue
    fi
    venv=$ROOT/.venv-$version
    pyver=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    echo "matrix: $("$venv/bin/python" -c 'import ansible.release, sys; print("ansible-core %s on Python %s" % (ansible.release.__version__, sys.version.split()[0]))') in $(basename "$venv") (ready in $((SECONDS - start))s)"

    export VENV=$venv ANSIBLE_TEST_HOME=$ROOT/build/home-$version
    for step in sanity units; do
        start=$SECONDS
        rm -rf "$COLL/tests/output/junit"
        step_rc=0
        if [[ $step == sanity ]]; then
            "$ROOT/scripts/ansible-test.sh" sanity --venv --junit "${SANITY_ARGS[@]}" || step_rc=$?
        else
            "$ROOT/scripts/ansible-test.sh" units --venv --python "${MATRIX_UNITS_PYTHON:-$pyver}" || step_rc=$?
        fi
        collect "$version-$step"
        echo "matrix: $version $step exited $step_rc ($((SECONDS - start))s)"
        timings+=("$version $step $([[ $step_rc -eq 0 ]] && echo ok || echo FAILED) $((SECONDS - start))s")
        [[ $step_rc -eq 0 ]] || rc=1
    done
done
if [[ ${#timings[@]} -gt 0 ]]; then
    summary=$(printf '%s; ' "${timings[@]}")
    echo "matrix: ${summary%; }"
fi
exit $rc
