#!/usr/bin/env bash
# tests/valgrind.sh - run real clients (OpenSSL and GnuTLS ones) with the
# library under valgrind memcheck against openssl s_server (TLS 1.3 and 1.2)
# and fail on any error or leak record whose stack passes through
# libautoresume.so.
# `make check-valgrind` runs it. Loopback only; servers stopped at exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
LIB=${AR_LIB:-$ROOT/build/libautoresume.so}
CLIENT=$ROOT/build/arclient
tmp=$(mktemp -d /tmp/autoresume-vg.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout "$tmp/k.pem" -out "$tmp/c.pem" -days 1 2>/dev/null

# start_server PROTO: s_server on a free port, which is left in $port once
# the server printed ACCEPT (it is listening then).
start_server() {
    local proto=$1 fifo=$tmp/srv.$1 line pid
    mkfifo "$fifo"
    for port in $(seq $((30000 + $$ % 2000)) $((30050 + $$ % 2000))); do
        openssl s_server -www "-$proto" -accept "127.0.0.1:$port" \
            -cert "$tmp/c.pem" -key "$tmp/k.pem" >"$fifo" 2>&1 </dev/null &
        pid=$!
        exec {srvfd}<"$fifo" # held open for the server's lifetime: it never blocks
        while read -r -t 10 line <&"$srvfd"; do
            [[ $line == ACCEPT* ]] && { pids+=("$pid"); return 0; }
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        exec {srvfd}<&-
    done
    return 1
}

failed=0 runs=0
# vg LABEL CMD...: run CMD under memcheck with the library preloaded.
vg() {
    local label=$1; shift
    local log=$tmp/$label.vg
    runs=$((runs + 1))
    if ! env LD_PRELOAD="$LIB" AUTORESUME_CACHE="$tmp/store" PYTHONMALLOC=malloc \
        valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite --log-file="$log" "$@" >"$tmp/$label.out" 2>&1; then
        echo "FAIL $label: client failed"; tail -n 5 "$tmp/$label.out" "$log"; failed=$((failed + 1)); return
    fi
    # The library must have been at work (arclient prints its reuse count,
    # gtls_client a line per connection).
    if { grep -q '^summary' "$tmp/$label.out" && grep -q '^summary.* reused=0$' "$tmp/$label.out"; } ||
        { grep -q '^conn .* resumed=' "$tmp/$label.out" && ! grep -q 'resumed=1' "$tmp/$label.out"; }; then
        echo "FAIL $label: nothing resumed under valgrind"; failed=$((failed + 1)); return
    fi
    # Records are separated by lines holding only the '==PID==' prefix.
    local ours
    ours=$(awk '/^==[0-9]+== *$/ { if (rec ~ /libautoresume|preload\//) n++; rec=""; next }
                { rec = rec $0 "\n" } END { if (rec ~ /libautoresume|preload\//) n++; print n+0 }' "$log")
    if [[ $ours != 0 ]]; then
        echo "FAIL $label: $ours valgrind record(s) in libautoresume"; cat "$log"
        failed=$((failed + 1))
    else
        echo "PASS $label ($(grep -c . "$log" || true) lines of valgrind output, none ours)"
    fi
}

mkdir -m 700 "$tmp/store"
cc -O1 -g -o "$tmp/gtls_client" "$ROOT/tests/integration/clients/gtls_client.c" -lgnutls
for proto in tls1_3 tls1_2; do
    start_server "$proto"
    vg "$proto.arclient" "$CLIENT" --sni localhost -n 5 127.0.0.1 "$port"
    vg "$proto.arclient-verify" "$CLIENT" --verify --cafile "$tmp/c.pem" --expect-host localhost \
        --sni localhost -n 4 127.0.0.1 "$port"
    vg "$proto.arclient-threads" "$CLIENT" --sni localhost -t 4 -n 5 --new-ctx 127.0.0.1 "$port"
    vg "$proto.arclient-nonblock" "$CLIENT" --sni localhost --nonblock -n 4 127.0.0.1 "$port"
    vg "$proto.arclient-own" "$CLIENT" --sni localhost --own-session -n 4 127.0.0.1 "$port"
    vg "$proto.arclient-fork" "$CLIENT" --sni localhost --fork -n 3 127.0.0.1 "$port"
    for mode in auto callback manual; do
        vg "$proto.gnutls-$mode" "$tmp/gtls_client" -n 4 -v "$mode" -c "$tmp/c.pem" -s localhost \
            127.0.0.1 "$port"
    done
    vg "$proto.gnutls-own" "$tmp/gtls_client" -n 3 -o -s localhost 127.0.0.1 "$port"
    vg "$proto.wget" wget -4 -nv -O /dev/null --ca-certificate="$tmp/c.pem" "https://localhost:$port/"
    vg "$proto.python" /usr/bin/python3 -c "
import socket, ssl
ctx = ssl.create_default_context(cafile='$tmp/c.pem')
for i in range(3):
    with ctx.wrap_socket(socket.create_connection(('127.0.0.1', $port)), server_hostname='localhost') as s:
        s.sendall(b'GET / HTTP/1.0\r\n\r\n'); s.recv(100)
"
done
echo "valgrind: $((runs - failed)) passed, $failed failed"
[[ $failed == 0 ]]
