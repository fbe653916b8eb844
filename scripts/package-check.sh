#!/usr/bin/env bash
# package-check.sh - build the Debian package from this tree, check it with
# lintian, install it with apt-get, run the demo's resumption check through
# /usr/bin/autoresume, and purge it again, leaving nothing of it behind.
# Run as root on Debian 12 or 13 (CI runs it on both: .ci/run); it installs
# what it needs with apt-get (debhelper, dpkg-dev, lintian, the build
# dependencies). The tree itself is not written to: the build runs in a
# copy. Exit status 0 only if every step passed.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
[[ $(id -u) == 0 ]] || { echo "package-check.sh: run as root" >&2; exit 1; }
if dpkg -s autoresume >/dev/null 2>&1; then
    echo "package-check.sh: autoresume is installed already; remove it first" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/autoresume-pkg.XXXXXX")
installed=0
cleanup() {
    if [[ $installed == 1 ]]; then
        apt-get purge -y autoresume >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "package-check.sh: FAILED: $*" >&2; exit 1; }
step() { echo "==> package: $*"; }

step "installing the packaging tools"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 \
    debhelper dpkg-dev lintian fakeroot libssl-dev libgnutls28-dev >"$work/apt.log" 2>&1 ||
    { tail -n 20 "$work/apt.log"; fail "apt-get install of the packaging tools"; }

step "dpkg-buildpackage -us -uc -b"
mkdir "$work/autoresume"
tar -C "$src" --exclude=./build --exclude=./.git -cf - . | tar -C "$work/autoresume" -xf -
(cd "$work/autoresume" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log"; fail "dpkg-buildpackage"; }
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
deb=$work/autoresume_${version}_${arch}.deb
[[ -f $deb ]] || fail "no $deb"
echo "built ${deb##*/} ($(stat -c %s "$deb") bytes)"

step "lintian"
lintian --fail-on error "$deb" 2>&1 | grep -v 'root privileges' | tee "$work/lintian.log" ||
    true
lintian --fail-on error "$deb" >/dev/null 2>&1 || fail "lintian reports errors"
echo "lintian: no errors ($(grep -c . "$work/lintian.log" || true) tags of lower levels)"

step "apt-get install ./${deb##*/}"
(cd "$work" && apt-get install -y "./${deb##*/}") >"$work/install.log" 2>&1 ||
    { tail -n 20 "$work/install.log"; fail "apt-get install"; }
installed=1
dpkg -L autoresume | sort >"$work/files"
libdir=/usr/lib/$multiarch/autoresume
for f in /usr/bin/autoresume "$libdir/libautoresume.so" "$libdir/autoresume-store" \
    "$libdir/autoresume-check" /usr/share/man/man1/autoresume.1.gz \
    /usr/share/bash-completion/completions/autoresume \
    /usr/share/doc/autoresume/README.md.gz /usr/share/doc/autoresume/SECURITY.md.gz \
    /usr/share/doc/autoresume/copyright; do
    grep -qx "$f" "$work/files" || fail "the package does not hold $f"
    [[ -e $f ]] || fail "$f not installed"
done
[[ $(/usr/bin/autoresume --version) == "autoresume $version" ]] || fail "autoresume --version"
man -w autoresume >/dev/null || fail "man autoresume finds no page"
bash -c 'source /usr/share/bash-completion/completions/autoresume && complete -p autoresume' \
    >/dev/null || fail "the bash completion does not load"
# The installed wrapper finds the installed library (no tree around it).
# shellcheck disable=SC2016 # expanded by the inner sh
preload=$(cd / && env -u AUTORESUME_LIBRARY /usr/bin/autoresume sh -c 'echo "$LD_PRELOAD"')
[[ ${preload%%:*} == "$libdir/libautoresume.so" ]] || fail "the installed wrapper preloads '$preload'"
check=$(/usr/bin/autoresume --check curl) || fail "autoresume --check curl: exit $?"
echo "$check" | sed -n 2p

step "the demo through /usr/bin/autoresume"
AUTORESUME_WRAPPER=/usr/bin/autoresume "$src/scripts/demo.sh" >"$work/demo.log" 2>&1 ||
    { cat "$work/demo.log"; fail "demo"; }
summary() { awk -v t="-- $1 run" '$0 == t { getline; print; exit }' "$work/demo.log"; }
for tag in plain resumed wget-plain wget-resumed; do
    echo "$tag: $(summary "$tag")"
done
[[ $(summary resumed) == "server saw: 5 connections, 4 resumed" ]] ||
    { cat "$work/demo.log"; fail "python through /usr/bin/autoresume: not 4 of 5 resumed"; }
[[ $(summary wget-resumed) == "server saw: 5 connections, 4 resumed" ]] ||
    { cat "$work/demo.log"; fail "wget through /usr/bin/autoresume: not 4 of 5 resumed"; }
[[ $(summary plain) == "server saw: 5 connections, 0 resumed" ]] || fail "python plain resumed"

step "apt-get purge autoresume"
store_dir=${XDG_RUNTIME_DIR:-/nonexistent}/autoresume
[[ -d $store_dir ]] || store_dir=/tmp/autoresume-$(id -u)
had_store=0
[[ -d $store_dir ]] && had_store=1
apt-get purge -y autoresume >"$work/purge.log" 2>&1 || { tail "$work/purge.log"; fail "apt-get purge"; }
installed=0
left=$(while read -r f; do if [[ -f $f || -L $f ]]; then echo "$f"; fi; done <"$work/files")
[[ -z $left ]] || fail "files left after purge: $left"
[[ ! -e $libdir ]] || fail "$libdir left after purge"
! dpkg -s autoresume >/dev/null 2>&1 || fail "dpkg still knows autoresume"
if [[ $had_store == 1 ]]; then
    [[ -d $store_dir ]] || fail "the purge removed the user's store $store_dir"
fi
echo "purged: none of its $(wc -l <"$work/files") paths left"
# shellcheck disable=SC1091
echo "==> package: passed ($(. /etc/os-release; echo "$PRETTY_NAME"))"
