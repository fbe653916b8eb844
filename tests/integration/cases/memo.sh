# shellcheck shell=bash
# The trust-verdict memo (include/ar_verdict.h; sourced by run.sh).
#
# A kept chain that passed re-verification is not verified again for the
# next connection with the same inputs. Each memo.changed.* test makes three
# connections in one process with the C client (one SSL_CTX, a CA file,
# SSL_VERIFY_PEER, SSL_set1_host): the first full, the second resumed (its
# re-verification passes and is remembered), the third with one input of the
# verification changed so that a full handshake fails. It must fail with the
# library as without it: the remembered pass must not be used.
#
#   memo.used.PROTO         control: with no change, connections 3.. reuse
#                           the remembered pass (library log), and resume
#   memo.changed.WHAT       WHAT = depth (0, against a chain with an
#                           intermediate), purpose, trust, email, auth-level,
#                           time (an explicit verification time, later than
#                           the certificates' notAfter), callback (the
#                           program's verify callback), reject-anchor (the
#                           same store, its root distrusted in place), store
#                           (the connection's own verify store, of CA2)

memo_client() {
    ARC=("$ARCLIENT" --verify --cafile "$CERTS/ca1.pem" --expect-host localhost --sni localhost "$@"
        127.0.0.1 "$SSERVER_PORT")
}

t_memo_used() {
    local proto=$1 hits
    s_server_start m "$proto" srv1 || t_fatal "s_server did not start"
    memo_client -n 5
    AUTORESUME_CACHE=off AUTORESUME_LOG=debug AUTORESUME_LOG_FILE="$T_DIR/lib.arlog" \
        run_client lib with_lib "${ARC[@]}"
    t_assert_status $? 0 "arclient with the library"
    t_assert_match "$(tail -n 1 "$T_DIR/lib.out")" 'ok=5 failed=0 reused=4' "connections 2..5 resumed"
    hits=$(grep -c 'remembered pass' "$T_DIR/lib.arlog" 2>/dev/null)
    [[ ${AR_PRELOAD_MODE:-on} == on ]] || { s_server_stop m; return 0; }
    t_assert_eq "${hits:-0}" 3 "library log: connections 3..5 used the remembered pass"
    t_assert_eq "$(grep -c 'trust verdict remembered' "$T_DIR/lib.arlog")" 1 \
        "library log: one verification remembered (connection 2)"
    s_server_stop m
}

# An intermediate CA under CA1 and a leaf under it (depth 0 refuses it).
memo_chain_certs() {
    local d=$RUN_DIR/memo ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    [[ -s $d/leaf.pem ]] && return 0
    mkdir -p "$d" &&
    "$OPENSSL" req -new "${ec[@]}" -config "$CERTS/openssl.cnf" -subj "/CN=memo intermediate" \
        -keyout "$d/int.key" -out "$d/int.csr" 2>>"$d/log" &&
    "$OPENSSL" x509 -req -in "$d/int.csr" -CA "$CERTS/ca1.pem" -CAkey "$CERTS/ca1.key" \
        -CAcreateserial -days 3 -extfile "$CERTS/openssl.cnf" -extensions ca -out "$d/int.pem" 2>>"$d/log" &&
    "$OPENSSL" req -new "${ec[@]}" -config "$CERTS/openssl.cnf" -subj /CN=localhost \
        -keyout "$d/leaf.key" -out "$d/leaf.csr" 2>>"$d/log" &&
    "$OPENSSL" x509 -req -in "$d/leaf.csr" -CA "$d/int.pem" -CAkey "$d/int.key" \
        -CAcreateserial -days 3 -extfile "$CERTS/openssl.cnf" -extensions srv -out "$d/leaf.pem" 2>>"$d/log" ||
        { cat "$d/log"; t_fatal "cannot make the intermediate chain"; }
}

t_memo_changed() {
    local what=$1 extra=() out
    case $what in
    depth) memo_chain_certs
        s_server_start m tls13 "certfile=$RUN_DIR/memo/leaf" -- -cert_chain "$RUN_DIR/memo/int.pem" ;;
    *) s_server_start m tls13 srv1 ;;
    esac || t_fatal "s_server did not start"
    case $what in
    time) extra=(--check-time) ;;
    store) extra=(--other-ca "$CERTS/ca2.pem") ;;
    esac
    memo_client -n 3 "${extra[@]}" --last-verify "$what"
    AUTORESUME_CACHE=off run_client base "${ARC[@]}"
    BASE_RC=$?
    AUTORESUME_CACHE=off AUTORESUME_LOG=debug AUTORESUME_LOG_FILE="$T_DIR/lib.arlog" \
        run_client lib with_lib "${ARC[@]}"
    t_assert_status $? "$BASE_RC" "arclient, last connection with a stricter $what, with the library"
    t_assert_match "$BASE_RC" '^[1-9]' "the last connection fails without the library (exit status)"
    t_assert_match "$(cat "$T_DIR/base.err")" 'conn 0\.3 FAILED' "without the library the third failed"
    out=$(grep -o '^conn 0\.[0-9] reused=[01]' "$T_DIR/lib.out" | tr '\n' ' ')
    t_assert_eq "$out" "conn 0.1 reused=0 conn 0.2 reused=1 " "control: the second resumed; the third failed"
    t_assert_match "$(cat "$T_DIR/lib.err")" 'conn 0\.3 FAILED' "the third failed with the library"
    if [[ ${AR_PRELOAD_MODE:-on} == on ]]; then
        t_assert_eq "$(grep -c 'trust verdict remembered' "$T_DIR/lib.arlog")" 1 \
            "library log: connection 2's pass was remembered (so the memo was there to misuse)"
        t_assert_eq "$(grep -c 'remembered pass' "$T_DIR/lib.arlog")" 0 "library log: never used"
    fi
    s_server_stop m
}

for proto in tls13 tls12; do
    t_register "memo.used.$proto" "t_memo_used $proto"
done
for what in depth purpose trust email auth-level time callback reject-anchor store; do
    t_register "memo.changed.$what" "t_memo_changed $what"
done

# Inputs the memo's key cannot read back (clients/memo_inputs.c): a built-in
# parameter table copied onto the SSL, the context or the store (its purpose
# and trust), the global purpose and trust tables redefined, a lookup method
# of the program's that stops answering, an expected email of "". Each turns
# the memo off for the process (hooks_verify_params.c, ossl_verify.c):
# connection 3 must fail as without the library. 'none' is the control.
t_memo_unreadable() {
    local mode=$1 bin
    bin=$(flt_build memo_inputs)
    s_server_start m tls13 srv1 || t_fatal "s_server did not start"
    run_client base "$bin" "$mode" "$CERTS/ca1.pem" "$SSERVER_PORT"
    AUTORESUME_CACHE=off run_client lib with_lib "$bin" "$mode" "$CERTS/ca1.pem" "$SSERVER_PORT"
    s_server_stop m
    local want=FAILED
    [[ $mode == none ]] && want=ok
    t_assert_match "$(grep '^conn 3 ' "$T_DIR/base.out")" "^conn 3 $want" "connection 3 without the library"
    t_assert_eq "$(grep '^conn 3 ' "$T_DIR/lib.out" | sed 's/ reused=[01]//')" \
        "$(grep '^conn 3 ' "$T_DIR/base.out" | sed 's/ reused=[01]//')" "connection 3 with the library: as without it"
    if [[ $mode == none ]]; then
        t_assert_match "$(grep '^conn 3 ' "$T_DIR/lib.out")" 'reused=1' "control: connection 3 resumed with the library"
    fi
}
for mode in sslparam ctxparam storeparam purposeadd trustadd lookup emptyemail none; do
    t_register "memo.unreadable.$mode" "t_memo_unreadable $mode"
done
