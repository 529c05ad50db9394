#!/usr/bin/env bash
# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Run make targets one after another (all of them, even after a failure), time each,
# then print a summary (scripts/test-summary.py) whose last line is
#   total: N passed, N failed, N skipped
# Exit status: 0 only if every step succeeded.
# TEST_SUMMARY=no: print no summary (the caller prints it; see .ci/run).
#
# Usage: scripts/run-steps.sh STEP...
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPORTS=$ROOT/build/reports
mkdir -p "$REPORTS"
steps_file=$REPORTS/steps.tsv
: >"$steps_file"

for step in "$@"; do
    printf '\n==================== make %s ====================\n' "$step"
    start=$(date +%s)
    ${MAKE:-make} -C "$ROOT" --no-print-directory "$step"
    rc=$?
    end=$(date +%s)
    printf '%s\t%s\t%s\n' "$step" "$rc" "$((end - start))" >>"$steps_file"
    if [[ $rc -eq 0 ]]; then
        printf -- '---- make %s: ok (%ss)\n' "$step" "$((end - start))"
    else
        printf -- '---- make %s: FAILED with exit code %s (%ss)\n' "$step" "$rc" "$((end - start))"
    fi
done

if [[ ${TEST_SUMMARY:-yes} == no ]]; then
    # The caller (.ci/run) prints the summary itself, as the very last output.
    ! cut -f2 "$steps_file" | grep -qv '^0$'
    exit $?
fi
py=$ROOT/.venv/bin/python
[[ -x $py ]] || py=python3
"$py" "$ROOT/scripts/test-summary.py" "$REPORTS"
