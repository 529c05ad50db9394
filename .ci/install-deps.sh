#!/usr/bin/env bash
# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Install the Debian packages the real-infrastructure tests use (tests/infra, see tests/infra/README.md):
# the CNCF distribution registry, skopeo, podman, dockerd + docker CLI, sshd, docker-credential-pass + pass + gpg,
# and the tools the harness calls (shellcheck for ansible-test sanity). `make test` runs it first when run as root
# (make deps, scripts/system-deps.sh, which reads PACKAGES below; one package per line). Idempotent: when every package is already installed it does nothing (no apt-get
# update); otherwise one `apt-get update` and one `apt-get install --no-install-recommends` of what is missing.
# Quiet on success, loud on failure. Run as root (CI: `bash .ci/run`). No service is started here: the tests start
# their own registry, dockerd and sshd as their own processes.
set -euo pipefail

PACKAGES=(
    ca-certificates
    docker-registry
    skopeo
    podman
    containernetworking-plugins
    docker.io
    containerd
    runc
    openssh-server
    openssh-client
    golang-docker-credential-helpers
    pass
    gnupg
    uidmap
    iproute2
    procps
    passwd
    sudo
    openssl
    git
    rsync
    make
    shellcheck
    python3-venv
)

# Binaries the harness runs; checked after installing so that a broken install fails here, not in a test.
BINARIES=(
    /usr/bin/docker-registry
    /usr/bin/skopeo
    /usr/bin/podman
    /usr/sbin/dockerd
    /usr/bin/docker
    /usr/sbin/sshd
    /usr/bin/ssh
    /usr/bin/ssh-keygen
    /usr/bin/docker-credential-pass
    /usr/bin/pass
    /usr/bin/gpg
    /usr/sbin/useradd
    /usr/bin/sudo
    /usr/bin/shellcheck
)

log() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (apt-get, and the tests run dockerd/podman/sshd as root)"
command -v apt-get >/dev/null || die "apt-get not found: this script targets Debian 12 (bookworm)"
export DEBIAN_FRONTEND=noninteractive

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    log "all ${#PACKAGES[@]} packages already installed"
else
    log "installing ${missing[*]}"
    apt_log=$(mktemp /tmp/install-deps-apt.XXXXXX.log)
    trap 'rm -f "$apt_log"' EXIT
    if ! apt-get update -qq >"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        die "apt-get update failed"
    fi
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        die "apt-get install failed"
    fi
fi

absent=()
for bin in "${BINARIES[@]}"; do
    [[ -x $bin ]] || absent+=("$bin")
done
[[ ${#absent[@]} -eq 0 ]] || die "installed, but still missing: ${absent[*]}"

# sshd refuses to start without its privilege-separation directory.
install -d -m 0755 /run/sshd

log "ok: $(docker-registry --version 2>/dev/null | awk '{print $NF}') registry, $(skopeo --version | awk '{print $NF}') skopeo," \
    "$(podman --version | awk '{print $NF}') podman, $(dockerd --version | awk '{print $3}' | tr -d ,) dockerd," \
    "$(sshd -V 2>&1 | awk '{print $1}' | tr -d ,)"
