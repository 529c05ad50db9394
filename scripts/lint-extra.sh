#!/usr/bin/env bash
# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# The collection-level checks of `make lint` beyond ansible-lint and ansible-doc:
#   1. the changelog: antsibull-changelog lint (fragments, config) and lint-changelog-yaml (changelogs/changelog.yaml);
#   2. execution environments: ansible-builder introspect finds meta/execution-environment.yml and icr.auth's
#      Python requirement (meta/ee-requirements.txt) and system requirements (meta/ee-bindep.txt);
#   3. the examples of the docs: the modules' EXAMPLES and the guide's yaml+jinja blocks, extracted by
#      scripts/docs-examples.py into build/docs-examples/, under ansible-lint with the project's rules
#      (.ansible-lint: profile production, no-log-password, role-argument-spec).
# Runs on the copy of `make collection` (build/ansible_collections/icr/auth) with the tools of .venv. Each check runs
# even after another failed; the exit status is 1 if any failed.
#
# Environment: VENV (default .venv).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
COLLECTIONS=$ROOT/build
COLL=$COLLECTIONS/ansible_collections/icr/auth
EXAMPLES=$ROOT/build/docs-examples
export PATH=$VENV/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS ANSIBLE_NOCOLOR=1 NO_COLOR=1

[[ -f $COLL/galaxy.yml ]] || { echo "lint: $COLL missing (run: make collection)" >&2; exit 2; }
rc=0

# 1. changelog
if (cd "$COLL" && antsibull-changelog lint && antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml); then
    echo "lint: antsibull-changelog lint ok"
else
    echo "lint: antsibull-changelog lint FAILED"
    rc=1
fi

# 2. execution environment
out=$(ansible-builder introspect --sanitize "$COLLECTIONS" 2>&1)
ee_rc=$?
if [[ $ee_rc -ne 0 ]]; then
    printf '%s\n' "$out"
    echo "lint: ansible-builder introspect FAILED (exit $ee_rc)"
    rc=1
elif [[ ! -f $COLL/meta/execution-environment.yml ]] || ! grep -q 'from collection icr.auth' <<<"$out"; then
    printf '%s\n' "$out"
    echo "lint: ansible-builder introspect found no requirements of icr.auth (meta/execution-environment.yml)"
    rc=1
else
    echo "lint: ansible-builder introspect ok: $(grep 'from collection icr.auth' <<<"$out" | sed 's/^ *- *//' | tr '\n' ' ')"
fi

# 3. the docs' examples under ansible-lint
if files=$("$VENV/bin/python" "$ROOT/scripts/docs-examples.py" "$COLL" "$EXAMPLES"); then
    # The project's rules, less its exclude_paths (build/ is excluded there, and the examples live in build/).
    "$VENV/bin/python" - "$ROOT/.ansible-lint" "$EXAMPLES.ansible-lint" <<'EOF'
import sys
import yaml
with open(sys.argv[1], encoding='utf-8') as handle:
    config = yaml.safe_load(handle)
config.pop('exclude_paths', None)
with open(sys.argv[2], 'w', encoding='utf-8') as handle:
    handle.write('# made by scripts/lint-extra.sh from .ansible-lint\n')
    yaml.safe_dump(config, handle, sort_keys=False)
EOF
    dirs=()
    for d in playbooks group_vars; do [[ -d $EXAMPLES/$d ]] && dirs+=("$d"); done
    echo "lint: ansible-lint of $(wc -l <<<"$files") examples from the docs (build/docs-examples)"
    if ! (cd "$EXAMPLES" && ansible-lint --offline --nocolor -q -c "$EXAMPLES.ansible-lint" --project-dir . "${dirs[@]}"); then
        echo "lint: ansible-lint of the docs' examples FAILED"
        rc=1
    else
        echo "lint: ansible-lint of the docs' examples ok"
    fi
else
    echo "lint: extracting the docs' examples FAILED"
    rc=1
fi
exit $rc
