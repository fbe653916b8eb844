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
