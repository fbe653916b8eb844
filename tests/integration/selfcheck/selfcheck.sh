#!/bin/bash
# tests/integration/selfcheck/selfcheck.sh - checks that run.sh's tests can
# fail, i.e. that they test something.  Not part of the normal run (about a
# minute); run it after changing run.sh or lib.sh.
#
# 1. AR_PRELOAD_MODE=off (no preload) and =disabled (AUTORESUME_DISABLE=1):
#    every test that needs resumption must FAIL; the security, library-off,
#    inert and quiet tests must PASS.
# 2. With naive_preload.so (one session per address, no regard for trust,
#    names, client certificates or the negotiation policy): every sec.* test
#    but sec.own-session and sec.new-session-cb (it leaves callbacks alone)
#    and every policy.* test of a setting must FAIL (policy.skipped-check.rpk.*
#    only where OpenSSL has raw public keys, so it is left out; ocsp.tls13
#    holds: OpenSSL runs the status callback on a resumed TLS 1.3
#    handshake), and the resumption matrix must PASS
#    (the harness can pass).
# 3. The same for GnuTLS with naive_gnutls.so: the gnutls.sec.* tests of
#    programs that verify within the handshake (auto, callback, a pin, a
#    name change) and the wget insecure-then-verify test must FAIL, and the
#    gnutls.c.verify-* tests must PASS. (Programs that verify after the
#    handshake, mode manual, check the stored certificate themselves: their
#    tests hold even against the naive preload.)
#
# Needs build/arclient (or ARCLIENT=...).  Prints 'N passed, N failed' over
# these expectations.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN="$HERE/../run.sh"
ROOT=$(cd "$HERE/../../.." && pwd)
export ARCLIENT=${ARCLIENT:-$ROOT/build/arclient}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

${CC:-cc} -O2 -shared -fPIC -o "$tmp/naive_preload.so" "$HERE/naive_preload.c" -ldl -lpthread || exit 2
${CC:-cc} -O2 -shared -fPIC -o "$tmp/naive_gnutls.so" "$HERE/naive_gnutls.c" -ldl || exit 2

ok=0 bad=0
# expect FILE REGEX PASS|FAIL: every test whose name matches has that outcome.
expect() {
    local f=$1 re=$2 want=$3 name got n=0 fn
    fn=$(basename "$f")
    while read -r got name _; do
        [[ $got == PASS || $got == FAIL ]] || continue
        [[ $name =~ $re ]] || continue
        n=$((n + 1))
        if [[ $got == "$want" ]]; then ok=$((ok + 1)); else
            bad=$((bad + 1)); echo "UNEXPECTED: $name $got (wanted $want) in $fn"
        fi
    done <"$f"
    ((n > 0)) || { bad=$((bad + 1)); echo "UNEXPECTED: no test matches /$re/ in $fn"; }
}

need_resumption='^(resume\.|policy\.(seclevel|groups|sigalgs|per-ssl|no-offer|probe13\.(no-tls13|level4)|skipped-check\.(ocsp|psk|srp|verify-mode|client-cert-choice|cert-cb-copied))|s_server\.|refused\.|fork\.|threads\.|log\.(debug|info)|store\.(cross|private)|gnutls\.(wget\.tls1[23]|cli\.|no-cross|c\.(verify|threads|nodelay|program-hook\.(any|ticket|cert)$)|wget\.ticket|git\.tls|sec\.(system-config|process-setting)\.|c\.no-tickets-flag\.(tls13-tickets|tls12-cache))|nodelay\.|deferred\.(trusted|callback-accepts))'
must_hold='^(sec\.|policy\.(ocsp|no-probe|probe-hidden|probe13\.psk)|off\.|inert\.true|env\.|log\.quiet|store\.off|gnutls\.(git\.sec\.|sec\.(trust|insecure|verify|name|pin|profile|max-handshake)|c\.own|wget\.insecure|c\.no-tickets-flag\.tls12-tickets)|deferred\.(untrusted|never-loaded|late-capath|lookup-finds|retry-after-clear))'

for mode in off disabled; do
    echo "== AR_PRELOAD_MODE=$mode"
    AR_PRELOAD_MODE=$mode AR_LIB="$tmp/naive_preload.so" "$RUN" >"$tmp/$mode.out" 2>&1
    tail -n 1 "$tmp/$mode.out"
    expect "$tmp/$mode.out" "$need_resumption" FAIL
    expect "$tmp/$mode.out" "$must_hold" PASS
done

echo "== naive preload"
AR_LIB="$tmp/naive_preload.so" "$RUN" '^sec\.' '^resume\.' '^policy\.' '^deferred\.untrusted\.' >"$tmp/naive.out" 2>&1
tail -n 1 "$tmp/naive.out"
expect "$tmp/naive.out" '^sec\.(c\.|insecure|client-cert|hostname|trust-store|cache-off)' FAIL
expect "$tmp/naive.out" '^policy\.(seclevel|groups|sigalgs|per-ssl|no-offer|skipped-check\.(ocsp\.tls12|ocsp-late|psk|srp|verify-mode|client-cert-choice|cert-cb-copied))' FAIL
expect "$tmp/naive.out" '^deferred\.untrusted\.' FAIL
expect "$tmp/naive.out" '^resume\.' PASS

echo "== naive GnuTLS preload"
AR_LIB="$tmp/naive_gnutls.so" "$RUN" '^gnutls\.(sec|c\.verify|wget\.insecure)' >"$tmp/naive-gnutls.out" 2>&1
tail -n 1 "$tmp/naive-gnutls.out"
expect "$tmp/naive-gnutls.out" '^gnutls\.(sec\.(trust-change|insecure-then-verify|verify-name-change)\.(auto|callback)|sec\.(name-change|pin-change)|wget\.insecure)' FAIL
expect "$tmp/naive-gnutls.out" '^gnutls\.c\.verify-' PASS

echo "$ok passed, $bad failed"
((bad == 0))
