#!/usr/bin/env bash
# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# make docs: the collection's docsite - every module, the role and the extra docs (docs/docsite/) - rendered with
# antsibull-docs and Sphinx into build/docsite/build/html. Offline, and strict: any linter message or warning of
# antsibull-docs or Sphinx fails it.
#
#   1. antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs (module/role docs, extra docs,
#      links.yml, references between them)
#   2. antsibull-docs sphinx-init --use-current (conf.py, index), then antsibull-docs collection --use-current
#      (the RST of each module and role, and the extra docs)
#   3. sphinx-build -W --keep-going
#
# No network: Sphinx's intersphinx gets a local inventory of the few docs.ansible.com labels that antsibull-docs'
# pages link to (links still point to docs.ansible.com). Works on the copy made by `make collection`
# (build/ansible_collections/icr/auth), with the tools of .venv; writes build/reports/docs/docs.xml (JUnit).
#
# Environment: VENV (default .venv).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
COLLECTIONS=$ROOT/build
COLL=$COLLECTIONS/ansible_collections/icr/auth
DEST=$ROOT/build/docsite
REPORT_DIR=$ROOT/build/reports/docs

for tool in antsibull-docs sphinx-build ansible-doc; do
    [[ -x $VENV/bin/$tool ]] || { echo "docs: $VENV/bin/$tool missing (run: make venv)" >&2; exit 2; }
done
[[ -f $COLL/galaxy.yml ]] || { echo "docs: $COLL missing (run: make collection)" >&2; exit 2; }

export PATH=$VENV/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS ANSIBLE_NOCOLOR=1 NO_COLOR=1
# ansible-doc's own state stays out of the user's home.
export ANSIBLE_HOME=$ROOT/build/home-docs/.ansible ANSIBLE_LOCAL_TEMP=$ROOT/build/home-docs/tmp

rm -rf "$DEST" "$REPORT_DIR"
mkdir -p "$DEST" "$REPORT_DIR"
LOGS=$DEST/logs
mkdir -p "$LOGS"

cases=()   # "name<TAB>seconds<TAB>failure text (empty = passed)"
failed=0

# run_step NAME LOG COMMAND...: run, keep the output in LOG, and fail the step on a non-zero exit or on any line that
# looks like a warning or an error (antsibull-docs reports some problems on stderr and still exits 0).
run_step() {
    local name=$1 log=$2
    shift 2
    local start rc=0 problem=""
    start=$(date +%s)
    "$@" >"$log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        problem="exit code $rc"
    elif grep -qiE '(^|[^a-z_])(warning|error)s?([^a-z_]|$)' "$log"; then
        problem="warnings or errors in the output"
    fi
    if [[ -n $problem ]]; then
        echo "docs: $name FAILED ($problem):"
        sed 's/^/  /' "$log" | tail -n 60
        failed=1
    else
        echo "docs: $name ok ($(($(date +%s) - start))s)"
    fi
    cases+=("$name"$'\t'"$(($(date +%s) - start))"$'\t'"${problem:+$problem: $(tail -n 20 "$log")}")
}

# 1. The linter: module and role docs (schema, markup, references), extra docs and links.yml.
run_step "lint-collection-docs" "$LOGS/lint.log" \
    antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs \
    --validate-collection-refs dependent --disallow-unknown-collection-refs "$COLL"

# 2. The Sphinx project, as antsibull-docs sets it up.
run_step "sphinx-init" "$LOGS/sphinx-init.log" \
    antsibull-docs sphinx-init --use-current --dest-dir "$DEST" --project icr.auth \
    --copyright "icr.auth contributors" --title "icr.auth documentation" --html-short-title "icr.auth" icr.auth

# Offline intersphinx: a local inventory holding the docs.ansible.com labels the generated pages refer to.
cat >>"$DEST/conf.py" <<EOF

# --- added by scripts/docs.sh: no network; the labels of docs.ansible.com that the pages use come from a local
# inventory (the links still point to docs.ansible.com).
intersphinx_mapping = {
    'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', '$DEST/ansible_devel.inv'),
}
intersphinx_disabled_reftypes = []
EOF
"$VENV/bin/python" - "$DEST/ansible_devel.inv" <<'EOF'
import sys
import zlib

# name, Sphinx type, page#anchor, title - the labels antsibull-docs' templates use.
LABELS = [
    ('ansible_configuration_settings', 'std:label', 'reference_appendices/config.html#ansible-configuration-settings',
     'Ansible Configuration Settings'),
    ('common_return_values', 'std:label', 'reference_appendices/common_return_values.html#common-return-values',
     'Return Values'),
    ('playbooks_variables', 'std:label', 'playbook_guide/playbooks_variables.html#playbooks-variables',
     'Using variables'),
    ('module_defaults', 'std:label', 'playbook_guide/playbooks_module_defaults.html#module-defaults',
     'Module defaults'),
    ('check_mode_dry', 'std:label', 'playbook_guide/playbooks_checkmode.html#check-mode-dry', 'Check mode'),
    ('action_plugins', 'std:label', 'plugins/action.html#action-plugins', 'Action plugins'),
]
header = (b'# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n'
          b'# The remainder of this file is compressed using zlib.\n')
body = ''.join('%s %s -1 %s %s\n' % label for label in LABELS).encode('utf-8')
with open(sys.argv[1], 'wb') as out:
    out.write(header + zlib.compress(body))
EOF

# 3. The RST of every module and role, plus the extra docs; then the HTML, warnings as errors.
mkdir -p "$DEST/rst"
chmod og-w "$DEST/rst"   # antsibull-docs wants the directory writable by its owner only
run_step "antsibull-docs collection" "$LOGS/collection.log" \
    antsibull-docs --config-file "$DEST/antsibull-docs.cfg" collection --use-current --fail-on-error \
    --cleanup everything --dest-dir "$DEST/rst" icr.auth
run_step "sphinx-build" "$LOGS/sphinx.log" \
    sphinx-build -M html "$DEST/rst" "$DEST/build" -c "$DEST" -W --keep-going -q -j 1

# What must be in the site.
if [[ $failed -eq 0 ]]; then
    html=$DEST/build/html/collections/icr/auth
    missing=()
    for page in index.html icr_login_module.html icr_login_network_module.html icr_credential_module.html docker_auth_role.html \
        docsite/guide.html; do
        [[ -s $html/$page ]] || missing+=("$page")
    done
    start=$(date +%s)
    if [[ ${#missing[@]} -gt 0 ]]; then
        echo "docs: pages missing from $html: ${missing[*]}"
        cases+=("site pages"$'\t'"0"$'\t'"missing: ${missing[*]}")
        failed=1
    else
        echo "docs: site pages ok: $DEST/build/html/index.html"
        cases+=("site pages"$'\t'"0"$'\t')
    fi
fi

# JUnit for scripts/test-summary.py.
"$VENV/bin/python" - "$REPORT_DIR/docs.xml" "${cases[@]}" <<'EOF'
import sys
import xml.etree.ElementTree as ET

suite = ET.Element('testsuite', name='docs')
failures = 0
for item in sys.argv[2:]:
    name, seconds, problem = item.split('\t', 2)
    case = ET.SubElement(suite, 'testcase', classname='docs', name=name, time=seconds)
    if problem:
        failures += 1
        ET.SubElement(case, 'failure', message=problem.splitlines()[0]).text = problem
suite.set('tests', str(len(sys.argv) - 2))
suite.set('failures', str(failures))
ET.ElementTree(suite).write(sys.argv[1], encoding='utf-8', xml_declaration=True)
EOF

exit $failed
