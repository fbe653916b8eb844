# shellcheck shell=bash
# Deferred trust checks (sourced by run.sh).
#
# curl 7.88 loads its CA file only after its first SSL_connect sent the
# ClientHello, so when the verify store is empty at offer time the library
# offers the session and checks trust at the end of the handshake. These
# tests build that with clients/late_ca.c: connection 1 wins a session
# trusting CA1; connection 2 (same process, new SSL_CTX, empty store) calls
# SSL_connect once (non-blocking: it wants to read), loads a CA, and lets
# one call (CALL) finish the handshake, blocking or not. Each is run
# without and with the library: the output (every call's return value,
# SSL_get_error, error queue, verify result, SSL_is_init_finished, and the
# request and a second write after it) must be the same, and the server
# must see the same requests.
#
#   deferred.untrusted.PROTO.CALL[.block]  the late CA is CA2 (the server's
#       is CA1): CALL fails with "certificate verify failed", later calls
#       fail, nothing of connection 2 reaches the server
#   deferred.trusted.PROTO.CALL   the late CA is CA1: connection 2 resumes
#       (the server says so) and is served
#   deferred.never-loaded.CALL    no CA ever comes: fails at the end
#   deferred.late-capath.CALL     the late trust is a CApath with CA2
#   deferred.lookup-finds         the store holds nothing but has a lookup
#       that finds certificates: the check is made up front, so no session
#       is offered and the server sees the same failed full handshake

DEFERRED_CALLS=(connect do-handshake read read-ex write write-ex peek peek-ex)

# deferred_pair LABEL ARGS...: late_ca ARGS without, then with the library.
deferred_pair() {
    local label=$1 lc; shift
    lc=$(flt_build late_ca)
    AUTORESUME_CACHE=off run_client "$label.base" "$lc" --ca "$CERTS/ca1.pem" "$@" 127.0.0.1 "$NGINX_PORT"
    t_assert_status $? 0 "late_ca without the library"
    AUTORESUME_CACHE=off AUTORESUME_LOG=info AUTORESUME_LOG_FILE="$T_DIR/$label.arlog" \
        run_client "$label" with_lib "$lc" --ca "$CERTS/ca1.pem" "$@" 127.0.0.1 "$NGINX_PORT"
    t_assert_status $? 0 "late_ca with the library"
    t_assert_eq "$(cat "$T_DIR/$label.out")" "$(cat "$T_DIR/$label.base.out")" \
        "every call's outcome, with and without the library"
}

# deferred_path_taken LABEL: the library offered and checked at the end (so
# the test tested that); only meaningful with the library on.
deferred_path_taken() {
    [[ ${AR_PRELOAD_MODE:-on} == on ]] || return 0
    t_assert_match "$(cat "$T_DIR/$1.arlog" 2>/dev/null)" "$2" "library log: $2"
}

# t_deferred_untrusted PROTO CALL [block] [LATE]: LATE = ca2 (default),
# none (no CA ever), capath (a CApath holding CA2).
t_deferred_untrusted() {
    local proto=$1 call=$2 block=() late=(--late-ca "$CERTS/ca2.pem") cfg=tls13-tickets
    [[ $proto == tls12 ]] && cfg=tls12-cache
    [[ ${3:-} == block ]] && block=(--block)
    case ${4:-ca2} in
    none) late=(--late-ca none) ;;
    capath)
        mkdir "$T_DIR/cp2" && cp "$CERTS/ca2.pem" "$T_DIR/cp2/" && "$OPENSSL" rehash "$T_DIR/cp2" ||
            t_fatal "cannot make the CA directory"
        late=(--late-capath "$T_DIR/cp2") ;;
    esac
    nginx_start s $(cfg_opts "$cfg") srv1 || t_fatal "nginx did not start"
    deferred_pair c "${late[@]}" --finish "$call" "${block[@]}"
    local want="conn2 $call ret=(-1|0) err=SSL_ERROR_SSL errq=certificate verify failed verify=20 init=0"
    t_assert_match "$(grep "^conn2 $call " "$T_DIR/c.base.out" | head -n 1)" "^$want\$" \
        "without the library: $call fails the full handshake"
    t_assert_match "$(grep "^conn2 $call " "$T_DIR/c.out" | head -n 1)" "^$want\$" \
        "with the library: $call fails the resumed handshake"
    t_assert_match "$(grep '^conn2 write-again ' "$T_DIR/c.out")" ' ret=-1 ' "a later SSL_write fails"
    deferred_path_taken c 'handshake failed \(resumed, but certificate would not verify now\)'
    nginx_stop s
    nginx_log s | sed 's/^/  log: /'
    t_assert_eq "$(nginx_log s | grep -c ' /c2$')" 0 "requests of connection 2 served"
    t_assert_eq "$(count_lines s)" 2 "requests served (connection 1, without and with the library)"
}

t_deferred_trusted() {
    local proto=$1 call=$2 cfg=tls13-tickets
    [[ $proto == tls12 ]] && cfg=tls12-cache
    nginx_start s $(cfg_opts "$cfg") srv1 || t_fatal "nginx did not start"
    deferred_pair c --late-ca "$CERTS/ca1.pem" --finish "$call"
    t_assert_match "$(grep '^conn2 response ' "$T_DIR/c.out")" '^conn2 response [1-9]' "connection 2 served"
    nginx_stop s
    nginx_log s | sed 's/^/  log: /'
    t_assert_eq "$(nginx_log s | grep -c '^r .* /c2$')" 1 "connection 2 resumed (server's \$ssl_session_reused)"
    t_assert_eq "$(count_lines s)" 4 "requests served"
}

# The store holds nothing, but its lookup answers (with CA2, which does not
# issue the server's certificate): a full handshake fails with an alert the
# server sees; so must ours, so the library must not defer and offer.
t_deferred_lookup_finds() {
    local err
    nginx_start s tls13 tickets nocache srv1 || t_fatal "nginx did not start"
    deferred_pair c --early-lookup "$CERTS/ca2.pem" --late-ca none --finish connect
    t_assert_match "$(grep '^conn2 connect ' "$T_DIR/c.out")" 'errq=certificate verify failed verify=20 ' \
        "the handshake fails"
    deferred_path_taken c 'full handshake|handshake failed \(certificate would not verify now\)'
    nginx_stop s
    err=$(_nginx_dir s)/error.log
    grep 'alert\|closed connection' "$err" | sed 's/^/  error.log: /'
    t_assert_eq "$(grep -c 'SSL_do_handshake() failed .*alert unknown ca' "$err")" 2 \
        "server: connection 2 failed its handshake with unknown_ca, without and with the library"
    t_assert_eq "$(count_lines s)" 2 "requests served (connection 1, without and with the library)"
}

# After the failed check the program clears the SSL and connects it again:
# the resumed session must be gone (TLS 1.2 sessions stay resumable), so
# the retry fails as without the library, resuming nothing.
t_deferred_retry() {
    local proto=$1 cfg=tls13-tickets
    [[ $proto == tls12 ]] && cfg=tls12-cache
    nginx_start s $(cfg_opts "$cfg") srv1 || t_fatal "nginx did not start"
    deferred_pair c --late-ca "$CERTS/ca2.pem" --finish connect --retry
    t_assert_match "$(grep '^conn2 retry-connect ' "$T_DIR/c.out")" ' ret=-1 .*certificate verify failed' \
        "the retry fails"
    deferred_path_taken c 'handshake failed \(resumed, but certificate would not verify now\)'
    nginx_stop s
    t_assert_eq "$(nginx_log s | grep -c ' /c2$')" 0 "requests of connection 2 served"
}

# A verify callback that accepts the failure: the full handshake succeeds
# with the error as its verify result, and so must the resumed one.
t_deferred_accept_cb() {
    nginx_start s tls13 tickets nocache srv1 || t_fatal "nginx did not start"
    deferred_pair c --late-ca none --finish connect --accept-cb
    t_assert_match "$(grep '^conn2 connect ' "$T_DIR/c.out")" ' ret=1 .* verify=2[01] ' \
        "the handshake succeeds with the verification error as its result"
    t_assert_match "$(grep '^conn2 response ' "$T_DIR/c.out")" '^conn2 response [1-9]' "connection 2 served"
    nginx_stop s
    t_assert_eq "$(nginx_log s | grep -c '^r .* /c2$')" 1 "connection 2 resumed (server's \$ssl_session_reused)"
}

t_register deferred.retry-after-clear.tls12 "t_deferred_retry tls12"
t_register deferred.retry-after-clear.tls13 "t_deferred_retry tls13"
t_register deferred.callback-accepts "t_deferred_accept_cb"

for call in "${DEFERRED_CALLS[@]}"; do
    t_register "deferred.untrusted.tls13.$call" "t_deferred_untrusted tls13 $call"
    t_register "deferred.untrusted.tls13.$call.block" "t_deferred_untrusted tls13 $call block"
    t_register "deferred.untrusted.tls12.$call" "t_deferred_untrusted tls12 $call"
    t_register "deferred.trusted.tls13.$call" "t_deferred_trusted tls13 $call"
done
for call in connect write read-ex; do
    t_register "deferred.trusted.tls12.$call" "t_deferred_trusted tls12 $call"
done
t_register deferred.never-loaded.write "t_deferred_untrusted tls13 write '' none"
t_register deferred.never-loaded.connect.block "t_deferred_untrusted tls13 connect block none"
t_register deferred.late-capath.write "t_deferred_untrusted tls13 write '' capath"
t_register deferred.late-capath.peek-ex "t_deferred_untrusted tls13 peek-ex '' capath"
t_register deferred.lookup-finds "t_deferred_lookup_finds"
