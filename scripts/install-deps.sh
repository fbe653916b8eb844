#!/bin/sh
# Install what building, the demo and the tests need on Debian 12 (as root).
# Used by README's first command and by .ci/run.
set -eu
export DEBIAN_FRONTEND=noninteractive
# In CI, keep services such as nginx from starting on install (no init there).
if [ "${CI:-}" = true ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update
apt-get install -y --no-install-recommends \
    build-essential pkg-config libssl-dev openssl uthash-dev libcriterion-dev \
    nginx-light curl python3 perl libio-socket-ssl-perl ruby socat \
    valgrind clang libclang-rt-14-dev man-db ca-certificates procps iproute2 faketime \
    gnuplot-nox wget gnutls-bin libgnutls28-dev git gdb
