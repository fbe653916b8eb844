# shellcheck shell=bash
# tests/integration/cases/versions.sh - the versions.* tests: what differs
# between the releases the suite runs on (README, "Tested on"): OpenSSL
# 3.5's hybrid post-quantum key share, curl 8's own session cache, QUIC in
# OpenSSL 3.5's curl (Debian 13). Each holds on every release; what it met
# is printed ("measured:"). Sourced by run.sh like every cases/*.sh; uses
# the helpers of cases/store.sh.
#
#   versions.key-share.python
#       5 connections from one python3 process (TLS 1.3 tickets): each
#       connection's key exchange group is the one it has without the
#       library (X25519MLKEM768 with OpenSSL 3.5's defaults, x25519 with
#       3.0), and 4 of 5 resume.
#   versions.curl-own-cache.PROTO
#       3 curl runs of 2 URLs each (2 connections: nginx closes each), one
#       store: curl offers its own session on its second connection (the
#       library leaves that one alone: "the program's own session"), and
#       the store serves the first connection of runs 2 and 3. On TLS 1.2 a
#       resumed connection brings no new session, so curl caches none in
#       runs 2 and 3 and the library serves their second connection too.
#   versions.quic.curl (only where curl has HTTP3 and nginx http_v3_module)
#       curl --http3-only through the library: the same output as without
#       it, and the QUIC connections are left alone (the library logs
#       nothing about them); TCP runs of the same curl still resume.

# group_column NAME: the key exchange group of each request, in order.
group_column() { awk '{ printf "%s%s", sep, $3; sep = " " }' "$(_nginx_dir "$1")/groups.log"; }

t_versions_key_share() {
    local base lib
    nginx_start s tls13 tickets nocache || t_fatal "nginx did not start"
    run_client base "${PY[@]}" "$CLIENTS/https_get.py" 127.0.0.1 "$NGINX_PORT" 5 \
        --cafile "$CERTS/ca1.pem" --server-hostname localhost
    t_assert_status $? 0 "python without the library"
    base=$(group_column s)
    run_client c with_lib "${PY[@]}" "$CLIENTS/https_get.py" 127.0.0.1 "$NGINX_PORT" 5 \
        --cafile "$CERTS/ca1.pem" --server-hostname localhost
    t_assert_status $? 0 "python with the library"
    nginx_stop s
    lib=$(group_column s)
    lib=${lib#"$base "}
    echo "measured: key exchange groups ($("$OPENSSL" version | cut -d' ' -f1-2)): without $base | with $lib"
    t_assert_eq "$lib" "$base" "groups with the library: the same as without it"
    # OpenSSL 3.5 offers the hybrid group first (nginx 1.26 logs it by number).
    if [[ $("$PYTHON" -c 'import ssl; print(ssl.OPENSSL_VERSION_INFO >= (3, 5))') == True ]]; then
        t_assert_match "$base" '^(X25519MLKEM768|0x11ec)( |$)' "OpenSSL 3.5+: the hybrid X25519MLKEM768"
    fi
    t_assert_eq "$(reused_column s)" ". . . . . . r r r r" "server: the library's connections 2..5 resume"
}

t_register versions.key-share.python t_versions_key_share

t_versions_curl_own() { # CFG OWN: OWN connections resumed with curl's own session
    local cfg=$1 own=$2 st i url
    st=$(new_store)
    # shellcheck disable=SC2046 # cfg_opts gives words
    nginx_start s $(cfg_opts "$cfg") || t_fatal "nginx did not start"
    url="https://localhost:$NGINX_PORT"
    for ((i = 1; i <= 3; i++)); do
        AUTORESUME_CACHE=$st AUTORESUME_LOG=info AUTORESUME_LOG_FILE=$T_DIR/lib$i.log \
            run_client "curl$i" ar_wrapper curl -sS --cacert "$CERTS/ca1.pem" "$url/a" "$url/b"
        t_assert_status $? 0 "curl run $i"
    done
    nginx_stop s
    echo "measured: curl $(curl -V | awk 'NR == 1 { print $2 }') $cfg, 3 runs x 2 URLs: server $(reused_column s)"
    cat "$T_DIR"/lib?.log
    t_assert_eq "$(reused_column s)" ". r r r r r" "server: runs 2 and 3 resume both connections"
    t_assert_eq "$(cat "$T_DIR"/lib?.log | grep -c "the program's own session")" "$own" \
        "connections on curl's own session, left alone"
}

# TLS 1.2 needs nginx's session cache: curl sends no ticket extension there.
t_register versions.curl-own-cache.tls13-tickets "t_versions_curl_own tls13-tickets 3"
t_register versions.curl-own-cache.tls12-cache "t_versions_curl_own tls12-cache 1"

# localhost is ::1 first, where nginx does not listen: curl's QUIC does not
# fall back to 127.0.0.1 as its TCP connect does (--resolve).
t_versions_quic() {
    local st
    st=$(new_store)
    nginx_start s tls13 tickets nocache quic || t_fatal "nginx did not start"
    run_client base curl -sS --http3-only --resolve "localhost:$NGINX_PORT:127.0.0.1" --cacert "$CERTS/ca1.pem" "https://localhost:$NGINX_PORT/"
    t_assert_status $? 0 "curl --http3-only without the library"
    local i
    for ((i = 1; i <= 3; i++)); do
        AUTORESUME_CACHE=$st AUTORESUME_LOG=debug AUTORESUME_LOG_FILE=$T_DIR/quic.log \
            run_client "quic$i" ar_wrapper curl -sS --http3-only --resolve "localhost:$NGINX_PORT:127.0.0.1" --cacert "$CERTS/ca1.pem" \
            "https://localhost:$NGINX_PORT/"
        t_assert_status $? 0 "curl --http3-only run $i with the library"
        t_assert_eq "$(<"$T_DIR/quic$i.out")" "$(<"$T_DIR/base.out")" "run $i: output as without it"
    done
    t_assert_eq "$(grep -c 'localhost' "$T_DIR/quic.log")" 0 \
        "library log lines about the QUIC connections (left alone)"
    for ((i = 1; i <= 2; i++)); do
        AUTORESUME_CACHE=$st run_client "tcp$i" ar_wrapper curl -sS --cacert "$CERTS/ca1.pem" \
            "https://localhost:$NGINX_PORT/"
    done
    nginx_stop s
    echo "measured: groups.log (reused protocol group http):"
    sed 's/^/  /' "$(_nginx_dir s)/groups.log"
    t_assert_eq "$(awk '{ print $4 }' "$(_nginx_dir s)/groups.log" | tr '\n' ' ')" \
        "HTTP/3.0 HTTP/3.0 HTTP/3.0 HTTP/3.0 HTTP/1.1 HTTP/1.1 " "HTTP/3 four times, then TCP"
    t_assert_eq "$(reused_column s)" ". . . . . r" "server: only the second TCP run resumes"
}

if curl -V 2>/dev/null | grep -q '^Features:.* HTTP3' && "$NGINX" -V 2>&1 | grep -q http_v3_module; then
    t_register versions.quic.curl t_versions_quic
fi
