#!/usr/bin/env bash
# make demo: the role icr.auth.docker_auth on three local "hosts", against the project's IAM + ICR emulator.
#
# Needs nothing but Python 3.11+ (and PyPI, the first time): no root, no Docker, no IBM Cloud account.
#   1. creates (or reuses) the venv .venv with the newest Python found (scripts/find-python.sh: 3.13, 3.12, else 3.11)
#      and the newest ansible-core it allows - 2.21 on Python 3.12+, 2.19 on 3.11 (the pins of requirements-test.txt) -
#      plus requests, cryptography and PyJWT; it says which
#   2. builds the collection (ansible-galaxy collection build) and installs it into a temporary collections path
#   3. starts the emulator (tests/emulator) on a free loopback port
#   4. runs playbooks/demo.yml twice against three local hosts, each with its own Docker config directory
#   5. prints each host's result, one host's config (secret masked) and the IAM calls of each run (1, then 0)
# Everything it starts is stopped and everything it writes is removed at exit (DEMO_KEEP=1 keeps the work dir).
#
# Environment: PYTHON (interpreter for a new venv), DEMO_VENV (default .venv), DEMO_KEEP=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DEMO_VENV:-$ROOT/.venv}"
HELPER="$ROOT/scripts/demo_inventory.py"
T0=$(date +%s%N)

say() { printf '\n== %s\n' "$*"; }
elapsed() { echo "$(( ($(date +%s%N) - $1) / 1000000 ))"; }  # milliseconds since $1
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }

WORK=""
EMU_PID=""
cleanup() {
    local rc=$?
    if [ -n "$EMU_PID" ] && kill -0 "$EMU_PID" 2>/dev/null; then
        kill "$EMU_PID" 2>/dev/null || true
        wait "$EMU_PID" 2>/dev/null || true
    fi
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ "${DEMO_KEEP:-0}" = "1" ]; then echo "demo: kept $WORK"; else rm -rf "$WORK"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Apart from the venv, everything the demo writes lives in one private work dir - ansible's own state and caches too,
# so that HOME is never written and no ansible.cfg of the user's applies.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/icr-auth-demo.XXXXXX")"
export ANSIBLE_HOME="$WORK/ansible-home" ANSIBLE_LOCAL_TEMP="$WORK/ansible-local" ANSIBLE_REMOTE_TEMP="$WORK/ansible-remote"
export ANSIBLE_COLLECTIONS_PATH="$WORK/collections" ANSIBLE_RETRY_FILES_ENABLED=false ANSIBLE_CONFIG="$WORK/ansible.cfg"
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false
printf '[defaults]\n# icr.auth demo: ansible defaults only\n' >"$ANSIBLE_CONFIG"
# Never hand a real key or a real endpoint to the emulator.
unset IC_API_KEY IBMCLOUD_IAM_ENDPOINT DOCKER_CONFIG REGISTRY_AUTH_FILE

# ------------------------------------------------------------------------------------------------ 1. the venv
say "1/5 Python environment ($VENV)"
t=$(date +%s%N)
# The newest Python found, for the newest ansible-core it allows (2.20+ needs Python 3.12 on the controller).
PYTHON="${PYTHON:-$("$ROOT/scripts/find-python.sh" 3.13 3.12 3.11 2>/dev/null || true)}"
[ -n "$PYTHON" ] || { "$ROOT/scripts/find-python.sh" --why "the demo needs Python 3.11 or newer" 3.13 3.12 3.11 || true; fail "no Python 3.11+ found"; }
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || fail "$PYTHON is older than 3.11, which ansible-core needs; set PYTHON=/path/to/python3.13"
want="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ -x "$VENV/bin/python" ]; then
    have="$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)"
    if [ "$have" != "$want" ] && [ "$VENV" = "$ROOT/.venv" ]; then
        echo "$VENV has Python $have; rebuilding it with Python $want ($PYTHON) for a newer ansible-core"
        rm -rf "$VENV"
    fi
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV" || fail "python -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
fi
# ansible-core, requests, cryptography and PyJWT at the pins of requirements-test.txt for this Python (a no-op when
# they are there already).
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -c "$ROOT/requirements-test.txt" \
        ansible-core requests cryptography PyJWT >"$VENV/demo-pip.log" 2>&1; then
    tail -20 "$VENV/demo-pip.log"
    fail "pip install failed"
fi
PY="$VENV/bin/python"
BIN="$VENV/bin"
"$PY" -c 'import ansible.release, sys; print("ansible-core %s on Python %s: the newest ansible-core this machine'"'"'s Python allows%s" % (ansible.release.__version__, sys.version.split()[0], "" if sys.version_info >= (3, 12) else " (ansible-core 2.20 and newer need Python 3.12 or 3.13)"))'
T_VENV=$(elapsed "$t")

# --------------------------------------------------------------------------------- 2. build and install the collection
say "2/5 Build and install the collection"
t=$(date +%s%N)
mkdir -p "$WORK/dist"
(cd "$ROOT" && "$BIN/ansible-galaxy" collection build --force --output-path "$WORK/dist" . >/dev/null)
tarball="$(ls "$WORK"/dist/icr-auth-*.tar.gz)"
"$BIN/ansible-galaxy" collection install --offline -p "$WORK/collections" "$tarball" >/dev/null
echo "built $(basename "$tarball"), installed into $WORK/collections"
T_BUILD=$(elapsed "$t")

# ------------------------------------------------------------------------------------------------- 3. the emulator
say "3/5 Start the IAM + ICR emulator"
t=$(date +%s%N)
PYTHONPATH="$ROOT/tests/emulator" "$PY" -m icr_emulator --quiet --ready-file "$WORK/emulator.json" \
    --state-dir "$WORK/emulator-state" >"$WORK/emulator.log" 2>&1 &
EMU_PID=$!
for _ in $(seq 1 300); do
    [ -s "$WORK/emulator.json" ] && break
    kill -0 "$EMU_PID" 2>/dev/null || { cat "$WORK/emulator.log" >&2; fail "the emulator exited"; }
    sleep 0.1
done
[ -s "$WORK/emulator.json" ] || fail "the emulator did not start within 30 s"
EMU_URL="$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/emulator.json")"
echo "emulator pid $EMU_PID serving $EMU_URL"
INVENTORY="$("$PY" "$HELPER" inventory --emulator-url "$EMU_URL" --workdir "$WORK" --hosts 3)"
# A FAKE key from the emulator's fixture (a service ID with Reader on namespace team-a); it overrides any real one.
IBMCLOUD_API_KEY="$("$PY" "$HELPER" api-key --name svc-reader)"
export IBMCLOUD_API_KEY
T_EMU=$(elapsed "$t")

# ------------------------------------------------------------------------------------------------------ 4. two runs
run_play() {  # $1 = run number; the rest: ansible-playbook arguments
    local n=$1; shift
    local before after t
    before="$("$PY" "$HELPER" counters --emulator-url "$EMU_URL")"
    t=$(date +%s%N)
    (cd "$WORK" && "$BIN/ansible-playbook" -i "$INVENTORY" icr.auth.demo "$@") | tee "$WORK/run-$n.out"
    local rc=${PIPESTATUS[0]}
    eval "T_RUN$n=$(elapsed "$t")"
    after="$("$PY" "$HELPER" counters --emulator-url "$EMU_URL")"
    eval "IAM_RUN$n=$((after - before))"
    [ "$rc" -eq 0 ] || fail "run $n: ansible-playbook exited $rc"
}
say "4/5 First run: playbooks/demo.yml (as icr.auth.demo) on 3 hosts, with --diff"
run_play 1 --diff
say "4/5 Rerun: nothing to do"
run_play 2

# ---------------------------------------------------------------------------------------------------- 5. results
say "5/5 Results"
echo "Per host (from the PLAY RECAP of each run):"
"$PY" "$HELPER" recap "$WORK/run-1.out" "$WORK/run-2.out"
echo
echo "demo-host-1's Docker config, the secret masked (username and a fingerprint of the token):"
"$PY" "$HELPER" redact "$WORK/hosts/demo-host-1/.docker/config.json" | sed 's/^/  /'
echo "  file mode $(stat -c '%a' "$WORK/hosts/demo-host-1/.docker/config.json"), directory mode $(stat -c '%a' "$WORK/hosts/demo-host-1/.docker")"
echo
echo "IAM token calls (emulator counters): first run $IAM_RUN1, rerun $IAM_RUN2 (expected 1, then 0)"
changed2="$(grep -cE ':\s+ok=[0-9]+\s+changed=[1-9]' "$WORK/run-2.out" || true)"
echo "hosts changed on the rerun: $changed2 (expected 0)"
echo
echo "Timings: venv ${T_VENV} ms, build+install ${T_BUILD} ms, emulator ${T_EMU} ms, first run ${T_RUN1} ms," \
     "rerun ${T_RUN2} ms; total $(elapsed "$T0") ms"

cat <<EOF

The demo's hosts, inventory, emulator and collection copy are gone now. To point the same playbook at real IBM Cloud:
  1. install the collection from this clone:  ansible-galaxy collection install $ROOT
     (or build it first: ansible-galaxy collection build $ROOT, then install the icr-auth-*.tar.gz it writes)
  2. write an inventory of your own hosts, e.g. hosts.ini:
       [icr_clients]
       host1.example.com
       host2.example.com
  3. export IBMCLOUD_API_KEY=...   # a service ID API key with Reader (pull) on your namespaces, never on a command line
     ansible-playbook -i hosts.ini icr.auth.demo -e '{"docker_auth_regions": ["us-south"]}'
  Each host's connection user gets ~/.docker/config.json (0600, directory 0700); list docker_auth_users (with
  become: true) to write the files of other users. Username type: iamapikey (default) stores the key itself;
  iambearer (this demo) an access token of 60 minutes. See roles/docker_auth/README.md for every variable.
To try the modules by hand against the emulator, see "Try the modules by hand" in README.md.
EOF

if [ "$IAM_RUN1" != "1" ] || [ "$IAM_RUN2" != "0" ] || [ "$changed2" != "0" ]; then
    fail "the results above are not what was expected"
fi
