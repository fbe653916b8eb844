# tests/integration/cases/observe.sh - what the library tells about itself:
# the AUTORESUME_STATS summary and the wrapper's --stats / -v / --list,
# checked against what the server saw. Sourced by run.sh.

# One python process, N connections: the stats line must agree with nginx.
t_stats_line() {
    nginx_start s $(cfg_opts tls13-tickets) || t_fatal "nginx did not start"
    AUTORESUME_CACHE=off AUTORESUME_STATS=1 run_client c with_lib "${PY[@]}" \
        "$CLIENTS/https_get.py" 127.0.0.1 "$NGINX_PORT" "$N" --insecure --server-hostname localhost
    t_assert_status $? 0 "python with AUTORESUME_STATS=1"
    local line
    line=$(grep 'autoresume\[[0-9]*\]: stats:' "$T_DIR/c.err")
    echo "stats line: $line"
    t_assert_match "$line" "connections=$N offered=$((N - 1)) resumed=$((N - 1)) refused=0 failed=0" \
        "stats line counts"
    t_assert_match "$line" "not offered: no session=1" "stats line reasons"
    t_assert_eq "$(grep -c 'autoresume' "$T_DIR/c.err")" 1 "exactly one library line on stderr"
    server_check s "$N" $((N - 1))
}

# The wrapper: --stats and -v through scripts/autoresume, curl across runs.
t_wrapper_stats() {
    nginx_start s $(cfg_opts tls13-tickets) || t_fatal "nginx did not start"
    local store=$T_DIR/store i
    mkdir -m 700 "$store"
    for i in 1 2 3; do
        AUTORESUME_CACHE=$store run_client "c$i" "$ROOT/scripts/autoresume" --stats -v \
            curl -sS --cacert "$CERTS/ca1.pem" --resolve "localhost:$NGINX_PORT:127.0.0.1" \
            "https://localhost:$NGINX_PORT/"
        t_assert_status $? 0 "autoresume --stats -v curl, run $i"
    done
    t_assert_match "$(cat "$T_DIR/c1.err")" 'full handshake \(no session\)' "run 1 log line"
    t_assert_match "$(cat "$T_DIR/c3.err")" 'TLSv1.3 resumed' "run 3 log line"
    t_assert_match "$(grep stats: "$T_DIR/c3.err")" 'connections=1 offered=1 resumed=1' \
        "run 3 stats line"
    AUTORESUME_CACHE=$store run_client list "$ROOT/scripts/autoresume" --list
    t_assert_match "$(cat "$T_DIR/list.out")" "localhost:$NGINX_PORT +openssl-3\\.[0-9]+ +TLSv1.3" "--list shows the server (with the port curl's socket has)"
    server_check s 3 2
}

t_register observe.stats-line t_stats_line
t_register observe.wrapper-stats.curl t_wrapper_stats

# ------------------------------------------------------- log lines, --list --

# A program that turned session caching off gets no key, and its log lines
# still name the server (they read "autoresume[N]:  TLSv1.3 ..." before).
t_log_label_cache_off() {
    nginx_start s tls13 tickets || t_fatal "nginx did not start"
    AUTORESUME_LOG=info run_client c with_lib "$ARCLIENT" --cache-off --sni localhost -n 2 \
        127.0.0.1 "$NGINX_PORT"
    t_assert_status $? 0 "arclient --cache-off"
    grep '^autoresume\[' "$T_DIR/c.err" | sed 's/^/  ar: /'
    t_assert_eq "$(grep -cE "^autoresume\[[0-9]+\]: localhost:$NGINX_PORT TLSv1\.3 full handshake \(program turned session caching off\)$" "$T_DIR/c.err")" 2 \
        "log lines naming the server, one per connection"
    t_assert_eq "$(grep -c '^autoresume\[[0-9]*\]:  ' "$T_DIR/c.err")" 0 "log lines with an empty server label"
    server_check s 2 0
}
t_register log.label.cache-off t_log_label_cache_off

# GnuTLS programs' lines spell the protocol as OpenSSL's do (TLSv1.3, not
# gnutls_protocol_get_name's TLS1.3): wget twice, python once, one store.
t_log_protocol_gnutls() {
    local st=$T_DIR/store v
    mkdir -m 700 "$st"
    for v in tls13 tls12; do
        nginx_start "s$v" "$v" tickets || t_fatal "nginx did not start"
        AUTORESUME_CACHE=$st AUTORESUME_LOG=info run_client "w1$v" with_lib wget -q -O /dev/null \
            --ca-certificate="$CERTS/ca1.pem" "https://localhost:$NGINX_PORT/"
        t_assert_status $? 0 "wget run 1 ($v)"
        AUTORESUME_CACHE=$st AUTORESUME_LOG=info run_client "w2$v" with_lib wget -q -O /dev/null \
            --ca-certificate="$CERTS/ca1.pem" "https://localhost:$NGINX_PORT/"
        t_assert_status $? 0 "wget run 2 ($v)"
        AUTORESUME_LOG=info run_client "p$v" with_lib "${PY[@]}" "$CLIENTS/https_get.py" \
            127.0.0.1 "$NGINX_PORT" 1 --cafile "$CERTS/ca1.pem" --server-hostname localhost
        t_assert_status $? 0 "python ($v)"
        cat "$T_DIR/w1$v.err" "$T_DIR/w2$v.err" "$T_DIR/p$v.err" | sed 's/^/  ar: /'
        local name=TLSv1.3
        [[ $v == tls12 ]] && name=TLSv1.2
        t_assert_match "$(cat "$T_DIR/w1$v.err")" "localhost:$NGINX_PORT $name full handshake \(no session\)" "wget run 1 line ($v)"
        t_assert_match "$(cat "$T_DIR/w2$v.err")" "localhost:$NGINX_PORT $name resumed" "wget run 2 line ($v)"
        t_assert_match "$(cat "$T_DIR/p$v.err")" "localhost:$NGINX_PORT $name full handshake" "python line ($v)"
        t_assert_eq "$(grep -c 'TLS1\.' "$T_DIR/w1$v.err" "$T_DIR/w2$v.err" | awk -F: '{ s += $NF } END { print s }')" 0 \
            "lines with GnuTLS's spelling ($v)"
        server_check "s$v" 3 1
    done
}
t_register log.protocol-name.gnutls t_log_protocol_gnutls

# Two rows for one server say how their keys differ: python without
# verification, python verifying, python verifying with other ciphers
# (another program's settings), and gnutls-based wget (its own library).
t_list_differs() {
    local st=$T_DIR/store out row
    mkdir -m 700 "$st"
    nginx_start s tls13 tickets || t_fatal "nginx did not start"
    AUTORESUME_CACHE=$st run_client a with_lib "${PY[@]}" "$CLIENTS/https_get.py" \
        127.0.0.1 "$NGINX_PORT" 1 --insecure --server-hostname localhost
    AUTORESUME_CACHE=$st run_client b with_lib "${PY[@]}" "$CLIENTS/https_get.py" \
        127.0.0.1 "$NGINX_PORT" 1 --cafile "$CERTS/ca1.pem" --server-hostname localhost
    AUTORESUME_CACHE=$st run_client c with_lib "${PY[@]}" "$CLIENTS/https_get.py" \
        127.0.0.1 "$NGINX_PORT" 1 --cafile "$CERTS/ca1.pem" --server-hostname localhost \
        --ciphers 'ECDHE+AESGCM'
    AUTORESUME_CACHE=$st run_client w with_lib wget -q -O /dev/null \
        --ca-certificate="$CERTS/ca1.pem" "https://localhost:$NGINX_PORT/"
    AUTORESUME_CACHE=$st run_client l "$ROOT/scripts/autoresume" --list
    t_assert_status $? 0 "autoresume --list"
    out=$T_DIR/l.out
    sed 's/^/  list: /' "$out"
    t_assert_match "$(head -n 1 "$out")" ' SESSIONS  DIFFERS IN$' "--list header"
    t_assert_eq "$(grep -c "^localhost:$NGINX_PORT " "$out")" 4 "rows of the server"
    row="^localhost:$NGINX_PORT +openssl-3\.[0-9]+ +TLSv1\.3 .* [0-9]+ +[0-9]+  "
    t_assert_eq "$(grep -cE "${row}verify=off" "$out")" 1 "the row without verification says verify=off"
    t_assert_eq "$(grep -cE "${row}verify=on" "$out")" 2 "the verifying rows say verify=on"
    t_assert_eq "$(grep -E "${row}verify=on" "$out" | grep -oE 'settings=[0-9a-f]{4}' | sort -u | wc -l)" 2 \
        "the verifying rows' settings differ (other ciphers)"
    t_assert_match "$(grep "^localhost:$NGINX_PORT " "$out" | grep gnutls-)" "[0-9]+ +[0-9]+$" \
        "the GnuTLS row, alone in its library, has nothing to compare"
    t_assert_eq "$(grep -cE '[0-9A-Fa-f]{16,}' "$out")" 0 "--list lines holding a long hex string"
}
t_register store.list-differs.wget t_list_differs

# openssl s_client -reconnect handshakes the same SSL six times, after
# SSL_shutdown and SSL_set_connect_state, without SSL_clear: one log line
# per handshake (every other one was missed), and on TLS 1.3, where the
# SSL still holds the first handshake's session with no ticket yet, no
# "program's session refused": it offered none.
t_s_client_reconnect() {
    local proto=$1 n
    s_server_start ss "$proto" || t_fatal "s_server did not start"
    AUTORESUME_LOG=info run_client c with_lib "$OPENSSL" s_client -connect "127.0.0.1:$SSERVER_PORT" \
        -servername localhost -reconnect </dev/null
    t_assert_status $? 0 "s_client -reconnect"
    grep -E '^autoresume\[|^(New|Reused),' "$T_DIR/c.out" "$T_DIR/c.err" | sed 's/^/  /'
    n=$(grep -cE '^(New|Reused),' "$T_DIR/c.out")
    t_assert_eq "$n" 6 "handshakes s_client reports"
    t_assert_eq "$(grep -c '^autoresume\[' "$T_DIR/c.err")" 6 "log lines (one per handshake)"
    if [[ $proto == tls12 ]]; then
        t_assert_eq "$(grep -c "localhost:$SSERVER_PORT TLSv1.2 resumed (the program's own session)$" "$T_DIR/c.err")" \
            "$(grep -c '^Reused,' "$T_DIR/c.out")" "lines of the program's own resumption agree with s_client"
        t_assert_eq "$(s_server_hits ss)" 5 "resumptions counted by s_server"
    else
        t_assert_eq "$(grep -c 'refused' "$T_DIR/c.err")" 0 "lines saying a session was refused"
        t_assert_eq "$(grep -c "localhost:$SSERVER_PORT TLSv1.3 full handshake (no session)$" "$T_DIR/c.err")" 6 \
            "lines of full handshakes with nothing offered"
    fi
    s_server_stop ss
}
t_register log.s_client-reconnect.tls12 "t_s_client_reconnect tls12"
t_register log.s_client-reconnect.tls13 "t_s_client_reconnect tls13"
