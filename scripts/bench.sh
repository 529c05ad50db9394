#!/usr/bin/env bash
# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# make bench: what the fleet job costs as the fleet grows, measured in one run, as ratios (never part of make test).
# The role icr.auth.docker_auth over real SSH on N local users (N = 20, 50, 200) against Ansible's floor (ping plays of
# the same shape) and against community.docker.docker_login, containers.podman.podman_login and `docker login` (up to
# N=50), under strategy free and mitogen (N=20), through ansible-runner in AWX-style slices, with the IAM and registry
# calls counted by the emulator. Prints the tables and writes docs/benchmarks.md.
#
#   1. the packages of .ci/install-deps.sh (sshd, docker-registry, dockerd, podman) when one is missing
#   2. .venv (make venv: ansible-core 2.21 on Python 3.12+; or BENCH_VENV), then requirements-bench.txt into it: the
#      `ansible` package 14.x (community.docker, containers.podman), py-spy, mitogen and ansible-runner; ansible-core
#      stays at the pin of requirements-test.txt
#   3. build/bench/hostlib: `requests` for the hosts' Python, /usr/bin/python3 (docker_login needs it there; icr_login
#      does not), as wheels for that Python's version
#   4. python -m icr_bench (tests/bench): see tests/bench/README.md
#
# Environment: BENCH_SIZES=20,50,200  BENCH_REPEATS= (3 rounds up to N=50, 2 at 200; or 3, or 20:3,200:2)
#              BENCH_FORKS=half (N/2, 5..25)  BENCH_PROFILE=auto|always|never  BENCH_SLICING=1  BENCH_VENV=
#              BENCH_PROBE_REPEATS=7  BENCH_OUT=docs/benchmarks.md  BENCH_KEEP=1 (keep the work dir)  BENCH_KEEP_USERS=1
#              BENCH_CONTENDERS=role_helper (only these, with their floors)  BENCH_HELPER_ROUNDS=30 (credential helper get)
# Needs root (local users, sshd, dockerd); about an hour on 2 cores with the defaults (3,402 s for the
# last docs/benchmarks.md, N=20 and N=50 taking 790 s and 718 s of it); less with BENCH_SIZES=20,50.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# BENCH_VENV: another venv than .venv (ansible-core 2.21 on Python 3.12+), e.g. one kept apart from the test tools.
VENV="${BENCH_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
BENCH_BUILD="$ROOT/build/bench"

fail() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = "0" ] || fail "needs root: it creates local users and runs sshd and a dockerd of its own"

# ------------------------------------------------------------------------------------------------ 1. system packages
missing=""
for tool in /usr/sbin/sshd /usr/bin/docker-registry /usr/sbin/dockerd podman skopeo ssh-keygen useradd; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    echo "bench: missing:$missing; installing the test infrastructure's packages (.ci/install-deps.sh)"
    bash "$ROOT/.ci/install-deps.sh"
fi

# ------------------------------------------------------------------------------------------------ 2. the venv
if [ -z "${BENCH_VENV:-}" ]; then
    make -C "$ROOT" --no-print-directory venv
else
    [ -x "$PY" ] || fail "BENCH_VENV=$VENV has no bin/python: create it (python3.13 -m venv $VENV)"
    # What the emulator and tests/infra import, which make venv would have brought (pinned by requirements-test.txt).
    "$PY" -c 'import jwt, cryptography, trustme, requests' 2>/dev/null || "$PY" -m pip install --disable-pip-version-check \
        --quiet -c "$ROOT/requirements-test.txt" ansible-core PyJWT cryptography trustme requests \
        || fail "pip install into BENCH_VENV=$VENV failed"
fi
# Ansible 14 (the current one, whose collections the bench compares against) is built for ansible-core 2.21.
core="$("$PY" -c 'import ansible.release as r; print(".".join(r.__version__.split(".")[:2]))')"
[ "$core" = "2.21" ] || fail ".venv has ansible-core $core; the bench compares against Ansible 14, which needs ansible-core 2.21 and so Python 3.12 or 3.13 (see make versions)"
stamp="$VENV/.bench-installed"
if [ ! -f "$stamp" ] || [ "$ROOT/requirements-bench.txt" -nt "$stamp" ] || [ "$ROOT/requirements-test.txt" -nt "$stamp" ]; then
    echo "bench: installing requirements-bench.txt into $VENV (log: $VENV/bench-pip-install.log)"
    "$PY" -m pip install --disable-pip-version-check -r "$ROOT/requirements-bench.txt" -c "$ROOT/requirements-test.txt" \
        >"$VENV/bench-pip-install.log" 2>&1 || { tail -20 "$VENV/bench-pip-install.log"; fail "pip install failed"; }
    touch "$stamp"
fi

# ------------------------------------------------------------------------------------------------ 3. requests for the hosts
# The hosts run /usr/bin/python3 (tests/infra's fleet), not .venv's Python: wheels for that version.
host_py="$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ ! -d "$BENCH_BUILD/hostlib/requests" ] || [ "$(cat "$BENCH_BUILD/hostlib/.python" 2>/dev/null)" != "$host_py" ]; then
    echo "bench: installing requests for the hosts' Python $host_py into $BENCH_BUILD/hostlib (for docker_login)"
    rm -rf "$BENCH_BUILD/hostlib"
    mkdir -p "$BENCH_BUILD"
    "$PY" -m pip install --disable-pip-version-check --quiet --target "$BENCH_BUILD/hostlib" \
        --python-version "$host_py" --only-binary=:all: \
        -c "$ROOT/requirements-test.txt" requests >"$BENCH_BUILD/hostlib-pip.log" 2>&1 \
        || { tail -20 "$BENCH_BUILD/hostlib-pip.log"; fail "pip install --target hostlib failed"; }
    echo "$host_py" >"$BENCH_BUILD/hostlib/.python"
fi

# ------------------------------------------------------------------------------------------------ 4. the benchmark
export BENCH_HOSTLIB="$BENCH_BUILD/hostlib"
export PYTHONPATH="$ROOT/tests/bench:$ROOT/tests/infra:$ROOT/tests/emulator"
cd "$ROOT"
exec "$PY" -m icr_bench
