#!/usr/bin/env bash
# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# make deps (the first step of make test): the Debian packages that make test needs - those of .ci/install-deps.sh
# (the registry, skopeo, podman, dockerd, sshd, docker-credential-pass, ...) and shellcheck for ansible-test sanity.
#   * as root: .ci/install-deps.sh installs what is missing (one apt-get update + install; nothing when all are there);
#   * otherwise: nothing is installed; the missing packages are listed with the command that installs them, and the
#     exit status is 1 (the other steps of make test still run; the suites that need root skip their tests).
# SYSTEM_DEPS=skip skips this step (exit 0), for a machine that provides the tools some other way.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INSTALL=$ROOT/.ci/install-deps.sh

if [[ ${SYSTEM_DEPS:-} == skip ]]; then
    echo "deps: SYSTEM_DEPS=skip: not checked"
    exit 0
fi
[[ -f $INSTALL ]] || { echo "deps: $INSTALL missing" >&2; exit 1; }

if [[ $(id -u) -eq 0 ]]; then
    echo "deps: root: installing what is missing of .ci/install-deps.sh's packages"
    bash "$INSTALL"
    exit $?
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system (no dpkg-query): install by hand the equivalents of the packages listed in"
    echo "deps: .ci/install-deps.sh (PACKAGES); the suites that need them fail or skip without them"
    exit 1
fi
# The package list of .ci/install-deps.sh, read from its PACKAGES=( ... ) block.
mapfile -t packages < <(sed -n '/^PACKAGES=(/,/^)/{/^PACKAGES=(/d;/^)/d;s/#.*//;s/^[[:space:]]*//;s/[[:space:]]*$//;/^$/d;p}' "$INSTALL")
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "deps: all ${#packages[@]} packages of .ci/install-deps.sh are installed"
    exit 0
fi
echo "deps: missing Debian packages (${#missing[@]} of ${#packages[@]}): ${missing[*]}"
echo "deps: not root, so nothing was installed. Install them with:"
echo "deps:     sudo bash .ci/install-deps.sh"
echo "deps: (or: sudo apt-get install --no-install-recommends ${missing[*]}), or run make test as root."
echo "deps: Until then sanity (shellcheck) and the suites that call skopeo, podman, dockerd or sshd fail or skip."
exit 1
