# shellcheck shell=bash
# tests/integration/cases/lifecycle.sh - lifecycle.*: programs doing unusual
# things with their OpenSSL objects (clients/ossl_lifecycle.c), each run
# without and then with the library against `openssl s_server -www`, whose
# page says whether it resumed ("Reused" / "New"):
#
#   lifecycle.abandon.PROTO, lifecycle.abandon-fail.PROTO
#       a handshake with an offered session given up (non-blocking, no answer)
#       or failed, then SSL_clear and the same SSL pointed at wrong.example:
#       it must fail the host check as without the library (our session left
#       on the SSL would have resumed it unchecked)
#   lifecycle.abandon-setstate.PROTO
#       the same, the SSL put back in the before state by
#       SSL_set_connect_state instead of SSL_clear
#   lifecycle.late-write.tls13
#       a resumed connection closed before any write; another socket gets
#       its descriptor and sets TCP_NODELAY; a late SSL_write on the old
#       connection (refused) must not turn it off (our TCP_NODELAY window)
#   lifecycle.reneg-weak.tls12
#       a TLS 1.2 renegotiation at security level 0 to 1024-bit DHE must not
#       give its session to the next connection at the defaults, which
#       refuse that DH size (it may resume the first handshake's, ECDHE)
#   lifecycle.sidctx.PROTO
#       the context's session id context changed between SSL_new and
#       SSL_connect: every connection succeeds (the key holds the SSL's)
#   lifecycle.own-resume.PROTO, lifecycle.own-resume.verifycb.PROTO
#       a TLS_method() context resuming its own sessions: still resumable
#       and resumed (the server says Reused), with a verify callback too
#   lifecycle.own-resume-keep.renew.tls12, .own-resume-client-keep.renew.tls12
#       the program keeps its first session and sets it on every connection,
#       against a TLS 1.2 server that renews the ticket on every resumption
#       (clients/renew_server.c): OpenSSL's own removal of the renewed
#       session, which only the client cache mode we add brings, must not
#       mark the program's session not resumable (also with a verify
#       callback, where we offer nothing ourselves)
#   lifecycle.setctx.tls13
#       the program's new-session callback on the context an SSL was made
#       from is still called after SSL_set_SSL_CTX moved it

# lc_pair LABEL SCENARIO ARG...: ossl_lifecycle without (LABEL.plain) and
# with the library (LABEL.lib), store off.
lc_pair() {
    local label=$1 bin
    shift
    bin=$(flt_build ossl_lifecycle)
    run_client "$label.plain" env ${LC_SERVER_PID:+LC_SERVER_PID=$LC_SERVER_PID} "$bin" "$@"
    t_assert_status $? 0 "ossl_lifecycle without the library"
    run_client "$label.lib" with_lib ${LC_SERVER_PID:+LC_SERVER_PID=$LC_SERVER_PID} AUTORESUME_CACHE=off "$bin" "$@"
    t_assert_status $? 0 "ossl_lifecycle with the library"
}

t_lifecycle_abandon() {
    local how=$1 proto=$2
    s_server_start s "$proto" || t_fatal "s_server did not start"
    LC_SERVER_PID=$(cat "$(_s_server_dir s)/pid") \
        lc_pair c "$how" "$(cat "$(_s_server_dir s)/port")" "$CERTS/ca1.pem" "$proto"
    t_assert_eq "$(grep -c '^c2 again, wrong.example: failed verify=62 ' "$T_DIR/c.plain.out")" 1 \
        "without the library the reused SSL fails the host check"
    t_assert_eq "$(cat "$T_DIR/c.lib.out")" "$(cat "$T_DIR/c.plain.out")" \
        "with the library: the same lines (the host check fails, no resumption)"
}

t_lifecycle_late_write() {
    s_server_start s tls13 || t_fatal "s_server did not start"
    lc_pair c late-write "$(cat "$(_s_server_dir s)/port")" "$CERTS/ca1.pem" tls13
    t_assert_eq "$(grep -c '^c2: ok reused=1$' "$T_DIR/c.lib.out")" 1 "c2 resumed (the window opened)"
    t_assert_eq "$(grep '^late write' "$T_DIR/c.lib.out")" \
        "late write on c2: refused; the other socket's TCP_NODELAY: on" "the other socket keeps its setting"
    t_assert_eq "$(grep '^late write' "$T_DIR/c.plain.out")" "$(grep '^late write' "$T_DIR/c.lib.out")" \
        "as without the library"
}

t_lifecycle_reneg_weak() {
    pol_files
    s_server_start s tls12 "certfile=$POL/rsa" -- -client_renegotiation -serverpref \
        -cipher 'ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0' \
        -dhparam "$POL/dh1024.pem" || t_fatal "s_server did not start"
    lc_pair c reneg-weak "$(cat "$(_s_server_dir s)/port")" "$CERTS/ca1.pem" tls12
    t_assert_eq "$(grep -c '^c1 renegotiated: DHE-' "$T_DIR/c.lib.out")" 1 "c1 renegotiated to DHE"
    t_assert_eq "$(grep '^c2 ' "$T_DIR/c.plain.out" | cut -d' ' -f1-5)" \
        "c2 (defaults): ok TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256" "without the library: c2 uses ECDHE"
    t_assert_eq "$(grep '^c2 ' "$T_DIR/c.lib.out" | cut -d' ' -f1-5)" \
        "c2 (defaults): ok TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256" \
        "with the library: not the renegotiation's 1024-bit DHE session"
    t_assert_eq "$(grep -c '^c2 .* server=Reused ' "$T_DIR/c.lib.out")" 1 \
        "control: c2 resumed (the first handshake's session)"
}

t_lifecycle_sidctx() {
    local proto=$1
    s_server_start s "$proto" || t_fatal "s_server did not start"
    lc_pair c sidctx "$(cat "$(_s_server_dir s)/port")" "$CERTS/ca1.pem" "$proto"
    t_assert_eq "$(grep -c ': ok ' "$T_DIR/c.plain.out")" 3 "without the library: 3 connections"
    t_assert_eq "$(grep -c ': ok ' "$T_DIR/c.lib.out")" 3 "with the library: 3 connections, none failed"
    t_assert_eq "$(grep -c '^c3 (B): ok .* server=Reused ' "$T_DIR/c.lib.out")" 1 \
        "control: c3 resumed c2's session (same id context)"
}

t_lifecycle_own_resume() {
    local proto=$1 extra=${2:-}
    s_server_start s "$proto" || t_fatal "s_server did not start"
    lc_pair c own-resume "$(cat "$(_s_server_dir s)/port")" "$CERTS/ca1.pem" "$proto" $extra
    t_assert_eq "$(grep -c '^c[23]: ok .* reused=1 server=Reused resumable=1$' "$T_DIR/c.plain.out")" 2 \
        "without the library the program resumes its own sessions"
    t_assert_eq "$(cat "$T_DIR/c.lib.out")" "$(cat "$T_DIR/c.plain.out")" \
        "with the library: the same (its sessions stay resumable)"
}

t_lifecycle_own_resume_renew() {
    local scenario=$1 extra=${2:-} srv port i
    srv=$(flt_build renew_server)
    "$srv" "$CERTS/srv1.pem" "$CERTS/srv1.key" >"$T_DIR/renew.out" 2>"$T_DIR/renew.err" </dev/null &
    _t_register_pid $! renew_server
    for ((i = 0; i < 500; i++)); do   # until it listens (it says so), or gives up
        port=$(sed -n 's/^listening //p' "$T_DIR/renew.out")
        [[ -n $port ]] && break
        sleep 0.01
    done
    [[ -n $port ]] || t_fatal "renew_server did not start: $(cat "$T_DIR/renew.err")"
    lc_pair c "$scenario" "$port" "$CERTS/ca1.pem" tls12 $extra
    t_assert_eq "$(grep -c '^c[23]: ok .* reused=1 server=Reused ' "$T_DIR/c.plain.out")" 2 \
        "without the library the program resumes its own session"
    t_assert_eq "$(grep -c '^c[23]: the kept session: resumable=1$' "$T_DIR/c.plain.out")" 2 \
        "and it stays resumable"
    t_assert_eq "$(cat "$T_DIR/c.lib.out")" "$(cat "$T_DIR/c.plain.out")" \
        "with the library: the same (its sessions stay resumable)"
}

t_lifecycle_setctx() {
    s_server_start s tls13 || t_fatal "s_server did not start"
    lc_pair c setctx "$(cat "$(_s_server_dir s)/port")" "$CERTS/ca1.pem" tls13
    t_assert_eq "$(grep -c '^callbacks more$' "$T_DIR/c.plain.out")" 2 \
        "without the library A's callback runs for the moved connections"
    t_assert_eq "$(grep '^callbacks' "$T_DIR/c.lib.out")" "$(grep '^callbacks' "$T_DIR/c.plain.out")" \
        "with the library: the same"
}

for proto in tls13 tls12; do
    t_register "lifecycle.abandon.$proto" "t_lifecycle_abandon abandon $proto"
    t_register "lifecycle.abandon-fail.$proto" "t_lifecycle_abandon abandon-fail $proto"
    t_register "lifecycle.abandon-setstate.$proto" "t_lifecycle_abandon abandon-setstate $proto"
    t_register "lifecycle.sidctx.$proto" "t_lifecycle_sidctx $proto"
    t_register "lifecycle.own-resume.$proto" "t_lifecycle_own_resume $proto"
    t_register "lifecycle.own-resume.verifycb.$proto" "t_lifecycle_own_resume $proto verifycb"
done
t_register lifecycle.reneg-weak.tls12 t_lifecycle_reneg_weak
t_register lifecycle.late-write.tls13 t_lifecycle_late_write
t_register lifecycle.own-resume-keep.renew.tls12 "t_lifecycle_own_resume_renew own-resume-keep"
t_register lifecycle.own-resume-client-keep.renew.tls12 "t_lifecycle_own_resume_renew own-resume-client-keep"
t_register lifecycle.own-resume-client-keep.renew.verifycb.tls12 \
    "t_lifecycle_own_resume_renew own-resume-client-keep verifycb"
t_register lifecycle.setctx.tls13 t_lifecycle_setctx
