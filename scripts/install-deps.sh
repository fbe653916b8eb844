#!/bin/sh
# Install what building, the demo and the tests need on Debian 12 or 13 (as
# root). Used by README's first command, by .ci/run and, inside its Debian 13
# root, by scripts/debian13.sh. Anything else is refused with a message and
# exit status 2 rather than half-installed: the suite depends on the exact
# tools below (nginx, valgrind, gnutls-bin, ...).
set -eu
export DEBIAN_FRONTEND=noninteractive

unsupported() {
    echo "install-deps.sh: $*; supported: Debian 12 (bookworm) and 13 (trixie)" >&2
    exit 2
}

[ "$(id -u)" = 0 ] || { echo "install-deps.sh: run as root (sudo $0)" >&2; exit 1; }
[ -r /etc/os-release ] || unsupported "no /etc/os-release"
# shellcheck source=/dev/null
. /etc/os-release
[ "${ID:-}" = debian ] || unsupported "this is ${PRETTY_NAME:-an unknown system}"
case "${VERSION_ID:-}" in
12 | 13) ;;
*) unsupported "this is ${PRETTY_NAME:-Debian without a release number (testing or sid?)}" ;;
esac

# In CI (and in scripts/debian13.sh's root, which has its own policy-rc.d),
# keep services such as nginx from starting on install: there is no init.
if [ "${CI:-}" = true ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update

have() { apt-cache show "$1" >/dev/null 2>&1; }

# The clang runtime (libFuzzer, sanitizers) of the default clang: the
# unversioned metapackage where the release has it, else the runtime named
# after the clang-N the default clang depends on.
clang_rt=libclang-rt-dev
if ! have "$clang_rt"; then
    clang_major=$(apt-cache depends clang | sed -n 's/^ *Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -n 1)
    clang_rt=libclang-rt-${clang_major:-unknown}-dev
fi

pkgs="build-essential pkg-config libssl-dev openssl uthash-dev libcriterion-dev
    nginx-light curl python3 perl libio-socket-ssl-perl ruby socat
    valgrind strace clang $clang_rt man-db ca-certificates procps iproute2 faketime
    gnuplot-nox wget gnutls-bin libgnutls28-dev git gdb nodejs"

# Name every package this release lacks, instead of apt-get's first one only.
missing=
for p in $pkgs; do
    have "$p" || missing="$missing $p"
done
[ -z "$missing" ] || unsupported "$PRETTY_NAME has no package:$missing"

# Wait for another apt run (unattended upgrades, a second session) to finish.
# shellcheck disable=SC2086 # one word per package
apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 $pkgs
