#!/usr/bin/env bash
# scripts/debian13.sh [COMMAND...]
#
# Run COMMAND (default: make test) in a fresh copy of this tree inside a
# Debian 13 (trixie) root, after scripts/install-deps.sh there. As root, on
# a Debian machine (debootstrap is installed if missing). Used by .ci/run,
# and by hand: `scripts/debian13.sh`, `scripts/debian13.sh make demo`,
# `scripts/debian13.sh bash` (a shell in the copy).
#
# The root is built once with debootstrap and kept (with what install-deps.sh
# put in it) in AR_TRIXIE_ROOT (default /var/tmp/autoresume-trixie); delete
# it to start over. The copy of the tree is made anew each run, without
# build/ and .git, at /root/autoresume inside it. The chroot shares the
# machine's network (the suite uses loopback ports it checks are free) and
# PID space; services never start on install there (policy-rc.d).
# The exit status is COMMAND's.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=${AR_TRIXIE_ROOT:-/var/tmp/autoresume-trixie}
MIRROR=${AR_DEBIAN_MIRROR:-http://deb.debian.org/debian}

[[ $(id -u) == 0 ]] || { echo "debian13.sh: run as root" >&2; exit 1; }
(($# > 0)) || set -- make test

# One run at a time per root: two would share its mounts and its copy.
exec 9>"$ROOT.lock"
flock -n 9 || { echo "debian13.sh: $ROOT is in use by another run; waiting" >&2; flock 9; }

if [[ ! -e $ROOT/.autoresume-root ]]; then
    echo "==> building a Debian 13 root in $ROOT (debootstrap)"
    command -v debootstrap >/dev/null || apt-get install -y --no-install-recommends debootstrap
    # Built aside and renamed: a run killed half-way leaves no root to trust.
    rm -rf "$ROOT.new"
    debootstrap --variant=minbase trixie "$ROOT.new" "$MIRROR"
    # No init in a chroot: invoke-rc.d would start nginx on the machine's ports.
    printf '#!/bin/sh\nexit 101\n' >"$ROOT.new/usr/sbin/policy-rc.d"
    chmod +x "$ROOT.new/usr/sbin/policy-rc.d"
    touch "$ROOT.new/.autoresume-root"
    rm -rf "$ROOT"
    mv "$ROOT.new" "$ROOT"
fi

mounted=()
cleanup() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        # Lazily if a process left behind (a server of a killed test) holds it.
        umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" ||
            echo "debian13.sh: could not unmount ${mounted[i]}" >&2
    done
}
trap cleanup EXIT
mnt() { # mnt TARGET MOUNT-ARGS...: mount, remembered for cleanup
    local target=$ROOT$1
    shift
    mountpoint -q "$target" && return 0 # left by a run that was killed hard
    mount "$@" "$target"
    mounted+=("$target")
}
mnt /proc -t proc proc
mnt /sys -t sysfs sysfs
mnt /dev --bind /dev
mnt /dev/pts --bind /dev/pts
mnt /dev/shm --bind /dev/shm

echo "==> copying $SRC to $ROOT/root/autoresume"
rm -rf "$ROOT/root/autoresume"
mkdir -p "$ROOT/root/autoresume"
tar -C "$SRC" --exclude=./build --exclude=./.git -cf - . | tar -C "$ROOT/root/autoresume" -xf -

# A clean environment: nothing of the machine's (XDG_RUNTIME_DIR, LD_*) leaks in.
# "$@" is passed to bash -c as its arguments, not parsed twice.
# shellcheck disable=SC2016
chroot "$ROOT" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 CI="${CI:-}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c 'cd /root/autoresume && echo "==> $(. /etc/os-release; echo "$PRETTY_NAME"): installing dependencies" &&
             scripts/install-deps.sh >/root/install-deps.log 2>&1 ||
             { tail -n 30 /root/install-deps.log; echo "install-deps.sh failed" >&2; exit 1; }
             echo "==> $*" && exec "$@"' debian13 "$@"
