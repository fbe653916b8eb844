# shellcheck shell=bash
# tests/integration/cases/policy.sh - policy.*: a session won under a looser
# negotiation policy is never offered under a stricter one.
#
# A resumed handshake skips the server's key exchange and signature (TLS
# 1.2) or CertificateVerify (TLS 1.3), and with them OpenSSL's checks of the
# DH size and the server's key against the security level, of the group and
# the signature algorithm against the client's lists (which the program and
# the system's crypto policy, OPENSSL_CONF, set). Each test wins a session
# under a permissive setting and then connects under a strict one that makes
# a full handshake fail: with the library the strict client must fail
# exactly as without it (same exit status, same first error line) and the
# server (openssl s_server's 'session cache hits') must count no resumption
# for it. The control: the permissive client resumes its own sessions, in a
# second process (store) and in the same process (python, a second context).
# Each fails with the protection removed: a library that keys sessions by
# server only resumes the strict client (selfcheck: the naive preload).
#
# Helpers are prefixed pol_ (this file only); trust_pair / trust_control /
# new_store come from cases/store.sh.

# pol_files: an RSA-2048 server certificate (CA1), 1024-bit DH parameters
# and a strict OPENSSL_CONF (signature algorithms ECDSA only), made once per
# run (tests run one after the other) in $RUN_DIR/pol; sets POL.
pol_files() {
    local d=$RUN_DIR/pol
    POL=$d
    [[ -s $d/strict.cnf ]] && return 0
    mkdir -p "$d" || t_fatal "mkdir $d"
    "$OPENSSL" req -new -newkey rsa:2048 -nodes -config "$CERTS/openssl.cnf" -subj /CN=localhost \
        -keyout "$d/rsa.key" -out "$d/rsa.csr" 2>>"$d/log" &&
        "$OPENSSL" x509 -req -in "$d/rsa.csr" -CA "$CERTS/ca1.pem" -CAkey "$CERTS/ca1.key" \
            -CAcreateserial -CAserial "$d/ca1.srl" -days 3 -extfile "$CERTS/openssl.cnf" \
            -extensions srv -out "$d/rsa.pem" 2>>"$d/log" &&
        "$OPENSSL" dhparam -out "$d/dh1024.pem" 1024 2>>"$d/log" ||
        { cat "$d/log"; t_fatal "cannot make the RSA certificate or DH parameters"; }
    cat >"$d/strict.cnf" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
SignatureAlgorithms = ECDSA+SHA256:ed25519
EOF
}

# pol_server CASE: start s_server 'p' for CASE; sets POL_PROTO.
pol_server() {
    case $1 in
    seclevel-dh) s_server_start p tls12 "certfile=$POL/rsa" -- \
        -cipher 'DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0' -dhparam "$POL/dh1024.pem" ;;
    seclevel-key.tls1[23]) s_server_start p "${1#*.}" "certfile=$POL/rsa" ;;
    groups.tls12) s_server_start p tls12 srv1 -- -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -groups secp384r1 ;;
    groups.tls13) s_server_start p tls13 srv1 -- -groups secp384r1 ;;
    sigalgs-conf.tls12) s_server_start p tls12 "certfile=$POL/rsa" -- -cipher ECDHE-RSA-AES128-GCM-SHA256 ;;
    sigalgs-conf.tls13) s_server_start p tls13 "certfile=$POL/rsa" ;;
    *) t_fatal "pol_server: unknown case $1" ;;
    esac || t_fatal "s_server did not start"
}

# pol_args CASE: set LOOSE_CURL / STRICT_CURL (extra curl arguments),
# LOOSE_PY / STRICT_PY (https_get.py arguments; STRICT_PY is a --last
# SPEC, or empty when the strict setting is a process-wide one) and
# STRICT_ENV (env(1) assignments of the strict runs).
pol_args() {
    LOOSE_CURL=() STRICT_CURL=() LOOSE_PY=() STRICT_PY="" STRICT_ENV=()
    case $1 in
    seclevel-dh)
        LOOSE_CURL=(--ciphers 'DEFAULT:@SECLEVEL=0') LOOSE_PY=(--ciphers 'DEFAULT:@SECLEVEL=0')
        STRICT_PY='ciphers=DEFAULT:@SECLEVEL=2' ;;
    seclevel-key.*)
        STRICT_CURL=(--ciphers 'DEFAULT:@SECLEVEL=3') STRICT_PY='ciphers=DEFAULT:@SECLEVEL=3' ;;
    groups.*)
        STRICT_CURL=(--curves X25519) STRICT_PY=curve=prime256v1 ;;
    sigalgs-conf.*)
        STRICT_ENV=(OPENSSL_CONF="$POL/strict.cnf") ;;
    esac
}

pol_hits_now() {
    local h
    h=$(s_server_hits p "${LOOSE_PY[@]}")
    echo "server: session cache hits $h"
    POL_HITS=$h
}

# python: per-connection outcomes without the client's own reused= flag
pol_py_outcome() { grep '^conn ' "$1" | sed 's/ reused=[01]//; s/ server=[A-Za-z]*//'; }

t_policy() {
    local case=$1 p url
    pol_files
    pol_server "$case"
    pol_args "$case"
    p=$SSERVER_PORT url="https://localhost:$p/"
    ST=$(new_store)

    # Across processes: two permissive curl runs (the second resumes), then
    # the strict one, without and with the library.
    trust_control loose- curl -sS -o /dev/null --cacert "$CERTS/ca1.pem" "${LOOSE_CURL[@]}" "$url"
    pol_hits_now
    # One resumption is one hit, or two after a HelloRetryRequest (TLS 1.3
    # with the server's group not the client's first: the PSK is looked up
    # for each ClientHello).
    local unit=$POL_HITS
    t_assert_match "$unit" '^[12]$' "control: the second permissive curl run resumed"
    trust_pair strict env "${STRICT_ENV[@]}" curl -sS -o /dev/null --cacert "$CERTS/ca1.pem" \
        "${STRICT_CURL[@]}" "$url"
    t_assert_match "$BASE_RC" "^[1-9]" "strict curl without the library fails (exit status)"
    t_assert_status "$LIB_RC" "$BASE_RC" "strict curl with the library, after permissive runs"
    t_assert_eq "$(head -n 1 "$T_DIR/strict.err")" "$(head -n 1 "$T_DIR/strict.base.err")" \
        "curl's error message"
    pol_hits_now
    t_assert_eq "$POL_HITS" "$unit" "server: nothing resumed for the strict curl runs"

    # python: in one process (a second context for the last connection) when
    # the strict setting is the program's, else across processes.
    local g=("${PY[@]}" "$CLIENTS/https_get.py" 127.0.0.1 "$p")
    local v=(--cafile "$CERTS/ca1.pem" --server-hostname localhost "${LOOSE_PY[@]}")
    if [[ -n $STRICT_PY ]]; then
        trust_pair py "${g[@]}" 3 "${v[@]}" --last "$STRICT_PY"
        t_assert_eq "$(pol_py_outcome "$T_DIR/py.out")" "$(pol_py_outcome "$T_DIR/py.base.out")" \
            "python, permissive twice then strict in one process: same outcomes as without the library"
        t_assert_match "$(grep '^conn 2 ' "$T_DIR/py.out")" 'error' "python's strict connection fails"
        t_assert_match "$(grep '^conn 1 ' "$T_DIR/py.out")" 'ok reused=1' \
            "control: python's second permissive connection resumed"
        # The same context made stricter between connections (a store of its
        # own: its first connection must not resume the run's above).
        ST=$(new_store)
        trust_pair pysame "${g[@]}" 3 "${v[@]}" --last "$STRICT_PY" --last-same
        t_assert_eq "$(pol_py_outcome "$T_DIR/pysame.out")" "$(pol_py_outcome "$T_DIR/pysame.base.out")" \
            "python, one context made stricter after two connections: same outcomes as without the library"
        t_assert_match "$(grep '^conn 2 ' "$T_DIR/pysame.out")" 'error' "python's stricter connection fails"
        t_assert_status "$LIB_RC" "$BASE_RC" "python, same context made stricter"
        POL_PY_RUNS=2
    else
        trust_control pyloose- "${g[@]}" 1 "${v[@]}"
        trust_pair py env "${STRICT_ENV[@]}" "${g[@]}" 1 "${v[@]}"
        t_assert_eq "$(pol_py_outcome "$T_DIR/py.out")" "$(pol_py_outcome "$T_DIR/py.base.out")" \
            "python under the strict policy: same outcome as without the library"
        t_assert_match "$(grep '^conn 0 ' "$T_DIR/py.out")" 'error' "python's strict run fails"
        POL_PY_RUNS=1
    fi
    t_assert_status "$LIB_RC" "$BASE_RC" "python, strict"
    pol_hits_now
    t_assert_eq "$POL_HITS" $(((1 + POL_PY_RUNS) * unit)) "server: only python's permissive connections resumed"
    s_server_stop p
}

for case in seclevel-dh seclevel-key.tls13 seclevel-key.tls12 groups.tls12 groups.tls13 \
    sigalgs-conf.tls13 sigalgs-conf.tls12; do
    # "curl" in the name: left out under ASan (see t_register)
    t_register "policy.$case.curl-python" "t_policy $case"
done

# OCSP stapling: a resumed handshake carries no status response, so curl
# --cert-status, which demands one, fails on a resumed connection ("No OCSP
# response received") where a full handshake succeeds. Sessions whose full
# handshake got a stapled response are not kept for a program that asks for
# one: both runs succeed with full handshakes, as without the library.
pol_ocsp_response() {
    local d=$RUN_DIR/pol serial end subj
    [[ -s $d/ocsp.der ]] && return 0
    serial=$("$OPENSSL" x509 -in "$CERTS/srv1.pem" -noout -serial | cut -d= -f2)
    end=$(date -u -d "$("$OPENSSL" x509 -in "$CERTS/srv1.pem" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
    subj=$("$OPENSSL" x509 -in "$CERTS/srv1.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
    printf 'V\t%s\t\t%s\tunknown\t%s\n' "$end" "$serial" "$subj" >"$d/ocsp-index.txt"
    "$OPENSSL" ocsp -index "$d/ocsp-index.txt" -rsigner "$CERTS/ca1.pem" -rkey "$CERTS/ca1.key" \
        -CA "$CERTS/ca1.pem" -issuer "$CERTS/ca1.pem" -cert "$CERTS/srv1.pem" \
        -respout "$d/ocsp.der" -ndays 1 >>"$d/log" 2>&1 || { cat "$d/log"; t_fatal "openssl ocsp"; }
}

t_policy_ocsp() {
    local proto=$1 url
    pol_files
    pol_ocsp_response
    s_server_start p "$proto" srv1 -- -cert_chain "$CERTS/ca1.pem" -status_file "$POL/ocsp.der" ||
        t_fatal "s_server did not start"
    url="https://localhost:$SSERVER_PORT/"
    ST=$(new_store)
    AUTORESUME_CACHE=$ST run_client base curl -sS -o /dev/null --cert-status --cacert "$CERTS/ca1.pem" "$url"
    t_assert_status $? 0 "curl --cert-status without the library (the server staples)"
    trust_control cs- curl -sS -o /dev/null --cert-status --cacert "$CERTS/ca1.pem" "$url"
    LOOSE_PY=()
    pol_hits_now
    t_assert_eq "$POL_HITS" 0 "server: nothing resumed (a resumed handshake would bring no OCSP response)"
    s_server_stop p
}

for proto in tls12 tls13; do
    t_register "policy.ocsp-stapled.$proto.curl" "t_policy_ocsp $proto"
done

# Settings made on one SSL, not its context (the probe sees only the
# context): SSL_set1_groups_list (folded into the key from the SSL_ctrl
# call) and SSL_set_security_level (read from the SSL; against 1024-bit DH,
# which no certificate check sees). The C client makes three connections on
# one context, the last with the stricter setting.
t_policy_per_ssl() {
    local what=$1 out base
    pol_files
    case $what in
    groups) pol_server groups.tls12; set -- --last-groups X25519 ;;
    seclevel) pol_server seclevel-dh; set -- --ciphers 'DEFAULT:@SECLEVEL=0' --last-seclevel 2 ;;
    dane | ct | seccb) s_server_start p tls13 srv1 || t_fatal "s_server did not start"
        set -- --last-strict "$what" ;;
    esac
    local c=("$ARCLIENT" -n 3 --verify --cafile "$CERTS/ca1.pem" --expect-host localhost
        --sni localhost "$@" 127.0.0.1 "$SSERVER_PORT")
    run_client base "${c[@]}"
    BASE_RC=$?
    run_client lib with_lib "${c[@]}"
    t_assert_status $? "$BASE_RC" "arclient, stricter last SSL, with the library"
    t_assert_match "$BASE_RC" '^[1-9]' "the stricter last connection fails without the library (exit status)"
    out=$(grep -o '^conn 0\.[0-9] reused=[01]' "$T_DIR/lib.out" | tr '\n' ' ')
    base=$(grep -o '^conn 0\.[0-9]' "$T_DIR/base.out" | tr '\n' ' ')
    echo "with the library: $out"
    t_assert_eq "$out" "conn 0.1 reused=0 conn 0.2 reused=1 " "control: the second connection resumed; the third failed"
    t_assert_eq "$base" "conn 0.1 conn 0.2 " "without the library the third failed too"
    t_assert_match "$(cat "$T_DIR/lib.err")" 'conn 0\.3 FAILED' "the stricter connection failed with the library"
    s_server_stop p
}

t_register policy.per-ssl.groups "t_policy_per_ssl groups"
t_register policy.per-ssl.seclevel "t_policy_per_ssl seclevel"
# Settings whose checks a resumed handshake cannot repeat: no offer at all.
# dane: a TLSA record that matches nothing; ct: strict certificate
# transparency (the server sends no SCTs); seccb: the program's security
# callback refuses the server's SHA-256 signature.
for what in dane ct seccb; do
    t_register "policy.no-offer.$what" "t_policy_per_ssl $what"
done

# A context security callback that relies on the program's own app data (it
# aborts for an SSL the program never made): the policy probe must not run
# on that context, so nothing is offered and the program runs as without us.
t_policy_ctx_callback() {
    s_server_start p tls13 srv1 || t_fatal "s_server did not start"
    local c=("$ARCLIENT" -n 3 --ctx-seccb --verify --cafile "$CERTS/ca1.pem" --expect-host localhost
        --sni localhost 127.0.0.1 "$SSERVER_PORT")
    run_client base "${c[@]}"
    BASE_RC=$?
    run_client lib with_lib "${c[@]}"
    t_assert_status $? "$BASE_RC" "arclient with a context security callback, with the library"
    t_assert_status "$BASE_RC" 0 "arclient with a context security callback, without the library"
    t_assert_match "$(tail -n 1 "$T_DIR/lib.out")" 'ok=3 failed=0 reused=0' "nothing offered"
    s_server_stop p
}
t_register policy.no-probe.ctx-security-callback t_policy_ctx_callback

# Checks a full handshake makes through the program's callbacks or settings
# that no key holds, and a resumed one skips (found by review):
#   rpk        the last connection accepts only a raw public key (RFC 7250,
#              OpenSSL 3.2+) from a server that offers one: a full
#              handshake fails its verification (no expected key);
#   ocsp       every connection asks for an OCSP status, and the context's
#              status callback refuses a missing one on the last (a
#              must-staple check): OpenSSL runs the callback on a resumed
#              TLS 1.3 handshake, not on a resumed TLS 1.2 one, so there we
#              run it at the handshake's end (the same error, verify result);
#   ocsp-late  the same callback, set only when the last connection is made;
#   psk        a TLS 1.2 RSA-PSK cipher, the PSK client callback refusing on
#              the last connection (no offers under a PSK callback);
#   srp        TLS 1.2 SRP (gnutls-serv), a wrong password on the last (no
#              offers when the program uses SRP).
# With the library the last connection must fail exactly as without it. The
# control: where the setting allows offers, the second connection resumes
# (the server's 'Reused' page); where it forbids them, the library's log
# says why.
: "${GNUTLS_CLI:=/usr/bin/gnutls-cli}"
# Debian 13's GnuTLS (3.8) is built without SRP: there the test has no server.
POL_SRP_PRIORITY='NORMAL:-VERS-TLS1.3:+SRP-RSA:+SRP'

# pol_srp_server: gnutls-serv with SRP (user alice, password srp-secret) and
# the RSA certificate (SRP-RSA); sets GSERV_PID and GSERV_PORT.
pol_srp_server() {
    local d=$T_DIR/srp
    mkdir -p "$d" || return 1
    # Made once with srptool (Debian 12's gnutls-bin; Debian 13's has none):
    # `srptool --create-conf=srp-tpasswd.conf`, then `srptool
    # --passwd=srp-tpasswd --passwd-conf=srp-tpasswd.conf -u alice --index 3`.
    cp "$T_LIB_DIR/data/srp-tpasswd" "$d/tpasswd" && cp "$T_LIB_DIR/data/srp-tpasswd.conf" "$d/tpasswd.conf" ||
        return 1
    gnutls_serv_start --srppasswd="$d/tpasswd" --srppasswdconf="$d/tpasswd.conf" \
        --x509certfile="$POL/rsa.pem" --x509keyfile="$POL/rsa.key" --priority "$POL_SRP_PRIORITY"
}

t_policy_skipped() {
    local what=$1 proto=$2 want why="" port out
    local psk=1a2b3c4d5e6f7a8b
    pol_files
    local c=(-n 3 --verify --cafile "$CERTS/ca1.pem" --expect-host localhost --sni localhost)
    want="conn 0.1 reused=0 conn 0.2 reused=1 "
    case $what in
    rpk)
        if ! "$OPENSSL" s_server -help 2>&1 | grep -q enable_server_rpk; then
            echo "not applicable: $("$OPENSSL" version) has no raw public keys (OpenSSL 3.2+)"
            return 0
        fi
        s_server_start p "$proto" srv1 -- -enable_server_rpk || t_fatal "s_server did not start" ;;
    cert-cb-copied)
        s_server_start p "$proto" srv1 -- -verify 1 -CAfile "$CERTS/ca1.pem" || t_fatal "s_server did not start"
        why="not offered: program picks its client certificate per handshake" ;;
    ocsp | ocsp-late)
        s_server_start p "$proto" srv1 || t_fatal "s_server did not start"
        [[ $proto == tls12 ]] &&
            why="handshake failed \(resumed, but the program's OCSP status callback refused it\)" ;;
    psk)
        s_server_start p tls12 "certfile=$POL/rsa" -- -psk "$psk" -psk_hint srvhint \
            -cipher RSA-PSK-AES256-GCM-SHA384 || t_fatal "s_server did not start"
        c+=(--tls12 --ciphers RSA-PSK-AES256-GCM-SHA384 --psk "$psk")
        want="conn 0.1 reused=0 conn 0.2 reused=0 " why="not offered: program uses pre-shared keys" ;;
    srp)
        if ! "$GNUTLS_CLI" -l --priority "$POL_SRP_PRIORITY" >/dev/null 2>&1; then
            echo "not applicable: this GnuTLS has no SRP (gnutls-cli rejects $POL_SRP_PRIORITY), so no server for it"
            return 0
        fi
        pol_srp_server || t_fatal "gnutls-serv (SRP) did not start"
        c+=(--tls12 --ciphers SRP --srp-user alice --srp-password srp-secret)
        want="conn 0.1 reused=0 conn 0.2 reused=0 " why="not offered: program uses SRP" ;;
    esac
    port=$SSERVER_PORT
    [[ $what == srp ]] && port=$GSERV_PORT
    c=("$ARCLIENT" "${c[@]}" --last-strict "$what" 127.0.0.1 "$port")
    run_client base "${c[@]}"
    BASE_RC=$?
    AUTORESUME_CACHE=off AUTORESUME_LOG=debug run_client lib with_lib "${c[@]}"
    t_assert_status $? "$BASE_RC" "arclient, stricter last connection, with the library"
    t_assert_match "$BASE_RC" '^[1-9]' "the stricter last connection fails without the library (exit status)"
    t_assert_match "$(cat "$T_DIR/base.err")" 'conn 0\.3 FAILED' "without the library the last connection failed"
    t_assert_match "$(cat "$T_DIR/lib.err")" 'conn 0\.3 FAILED' "with the library the last connection failed too"
    local e_base e_lib
    e_base=$(grep '^conn 0\.3 FAILED' "$T_DIR/base.err" | grep -o 'error:[0-9A-F]*:[^:]*::[^ ]*.*')
    e_lib=$(grep '^conn 0\.3 FAILED' "$T_DIR/lib.err" | grep -o 'error:[0-9A-F]*:[^:]*::[^ ]*.*')
    t_assert_eq "${e_lib%%:resumed session*}" "$e_base" "the same OpenSSL error as without the library"
    out=$(grep -o '^conn 0\.[0-9] reused=[01]' "$T_DIR/lib.out" | tr '\n' ' ')
    echo "with the library: $out"
    t_assert_eq "$out" "$want" "control: the first two connections"
    [[ -z $why ]] || t_assert_match "$(cat "$T_DIR/lib.err")" "$why" "the library's log says why"
    if [[ $what == srp ]]; then
        gnutls_serv_stop
    else
        s_server_stop p
    fi
}

for proto in tls12 tls13; do
    t_register "policy.skipped-check.rpk.$proto" "t_policy_skipped rpk $proto"
    t_register "policy.skipped-check.ocsp.$proto" "t_policy_skipped ocsp $proto"
done
t_register policy.skipped-check.ocsp-late.tls12 "t_policy_skipped ocsp-late tls12"
# cert-cb-copied: the context has a client certificate callback (one that
# fails) when the last SSL is made, and SSL_new copies it, but the program
# clears the context's right after: the server asks for a certificate and a
# full handshake fails in the copied callback. Found by review: the "no
# offers" rule read only the context's callback at the offer.
t_register policy.skipped-check.cert-cb-copied.tls13 "t_policy_skipped cert-cb-copied tls13"
t_register policy.skipped-check.psk.tls12 "t_policy_skipped psk tls12"
t_register policy.skipped-check.srp.tls12 "t_policy_skipped srp tls12"

# A context made in a library context of the program's own (SSL_CTX_new_ex;
# a FIPS-only one, say): OpenSSL verifies the chain there, our re-check in
# the default one, so nothing is offered to it. Judged by the server (no
# session cache hit); control: the same client without --libctx resumes.
t_policy_libctx() {
    s_server_start p tls13 srv1 || t_fatal "s_server did not start"
    local c=("$ARCLIENT" -n 3 --verify --cafile "$CERTS/ca1.pem" --expect-host localhost --sni localhost)
    AUTORESUME_CACHE=off AUTORESUME_LOG=debug run_client lib with_lib "${c[@]}" --libctx 127.0.0.1 "$SSERVER_PORT"
    t_assert_status $? 0 "arclient --libctx with the library"
    local hits
    hits=$(s_server_hits p)
    t_assert_eq "$hits" 0 "server: no session cache hit for the own library context"
    t_assert_match "$(cat "$T_DIR/lib.err")" "not offered: program uses its own OpenSSL library context" "the library's log says why"
    AUTORESUME_CACHE=off run_client control with_lib "${c[@]}" 127.0.0.1 "$SSERVER_PORT"
    t_assert_match "$(tail -n 1 "$T_DIR/control.out")" 'reused=2' "control: without --libctx the same client resumes"
    s_server_stop p
}
t_register policy.no-offer.own-libctx t_policy_libctx

# pol_last_fails LABEL BASE-ERR CMD...: CMD makes three connections, the last
# stricter; without the library that one fails (its stderr line matching
# 'conn 0\.3 FAILED' then BASE-ERR, a regex, may be empty), with the library
# it fails too and the second resumed (the control).
pol_last_fails() {
    local label=$1 base_err=$2 out
    shift 2
    run_client base "$@"
    BASE_RC=$?
    AUTORESUME_CACHE=off AUTORESUME_LOG=debug run_client lib with_lib "$@"
    t_assert_status $? "$BASE_RC" "arclient, $label, with the library"
    t_assert_match "$BASE_RC" '^[1-9]' "the last connection fails without the library (exit status)"
    t_assert_match "$(cat "$T_DIR/base.err")" "conn 0\.3 FAILED$base_err" "without the library the last connection failed"
    t_assert_match "$(cat "$T_DIR/lib.err")" 'conn 0\.3 FAILED' "with the library the last connection failed too"
    out=$(grep -o '^conn 0\.[0-9] reused=[01]' "$T_DIR/lib.out" | tr '\n' ' ')
    echo "with the library: $out"
    t_assert_eq "$out" "conn 0.1 reused=0 conn 0.2 reused=1 " "control: the second connection resumed"
}

# A verify mode without SSL_VERIFY_PEER but with another flag
# (SSL_VERIFY_FAIL_IF_NO_PEER_CERT, SSL_VERIFY_POST_HANDSHAKE, ...): OpenSSL's
# client verifies the server's chain then too and fails the handshake on an
# error ("if any flag is set", tls_post_process_server_certificate; the
# documented interface says PEER, the code says != SSL_VERIFY_NONE). The
# first two connections do not verify (SSL_VERIFY_NONE) against a
# self-signed server and succeed; the last sets such a mode, and a full
# handshake fails with "certificate verify failed". Found by review: the key
# had vp=0 for both modes, and the re-check only required success under
# SSL_VERIFY_PEER, so the last connection resumed the unverified session.
t_policy_verify_mode() {
    local mode=$1
    s_server_start p "$2" self || t_fatal "s_server did not start"
    local c=("$ARCLIENT" -n 3 --cafile "$CERTS/ca1.pem" --sni localhost --last-verify "$mode"
        127.0.0.1 "$SSERVER_PORT")
    pol_last_fails "verify mode $mode on the last connection" '.*certificate verify failed' "${c[@]}"
    s_server_stop p
}
for proto in tls12 tls13; do
    t_register "policy.skipped-check.verify-mode-fail-if-no-peer.$proto" \
        "t_policy_verify_mode mode-fail-if-no-peer $proto"
done
t_register policy.skipped-check.verify-mode-post-handshake.tls13 \
    "t_policy_verify_mode mode-post-handshake tls13"

# Two client certificates of different key types on one context (an RSA one
# loaded first, then the EC clientA: the current one, SSL_get_certificate):
# OpenSSL's TLS 1.3 client picks, per handshake, the one whose key fits the
# server's CertificateRequest signature algorithms. The server (s_server -Verify)
# asks for RSA signatures only, so the first two connections authenticate
# with the RSA certificate; the last has only clientA (SSL_certs_clear, then
# clientA), sends no certificate and the server refuses it. Found by review:
# the key held the SHA-256 of the current certificate only (clientA on all
# three), so the last connection resumed a session authenticated with a
# certificate it does not have (the server sees the RSA client).
t_policy_client_certs() {
    local d=$T_DIR/rsa-client
    mkdir -p "$d" || t_fatal "mkdir $d"
    "$OPENSSL" req -new -newkey rsa:2048 -nodes -config "$CERTS/openssl.cnf" -subj "/CN=client RSA" \
        -keyout "$d/key.pem" -out "$d/csr.pem" 2>>"$d/log" &&
        "$OPENSSL" x509 -req -in "$d/csr.pem" -CA "$CERTS/ca1.pem" -CAkey "$CERTS/ca1.key" \
            -CAcreateserial -CAserial "$d/ca1.srl" -days 3 -extfile "$CERTS/openssl.cnf" \
            -extensions cli -out "$d/cert.pem" 2>>"$d/log" &&
        cat "$d/cert.pem" "$d/key.pem" >"$d/both.pem" ||
        { cat "$d/log"; t_fatal "cannot make the RSA client certificate"; }
    s_server_start p "$1" srv1 -- -Verify 1 -CAfile "$CERTS/ca1.pem" \
        -client_sigalgs 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256' || t_fatal "s_server did not start"
    local c=("$ARCLIENT" -n 3 --verify --cafile "$CERTS/ca1.pem" --expect-host localhost --sni localhost
        --cert "$CERTS/clientA.pem" --key "$CERTS/clientA.key" --extra-cert "$d/both.pem" --last-strict one-cert
        127.0.0.1 "$SSERVER_PORT")
    pol_last_fails "only clientA on the last connection" '' "${c[@]}"
    s_server_stop p
}
# TLS 1.3 only: a TLS 1.2 client signs with its current certificate
# (tls_choose_sigalg), so there the key's fingerprint is the one sent.
t_register policy.skipped-check.client-cert-choice.tls13 "t_policy_client_certs tls13"

# SSL_dup of an SSL with its own group list: OpenSSL 3.0's SSL_dup copies the
# certificate settings (signature algorithms) but not the group list, so the
# copy offers the context's groups (here P-256 only). The first two
# connections set P-384:P-256 on their SSL and win a TLS 1.2 ECDHE P-384
# session; the last is an SSL_dup of such an SSL, and a full handshake
# fails (the server has P-384 only). Found by review: conn_dup_cb copied the
# original's override digest to the copy, so the copy's key claimed a list
# it does not have and it resumed the P-384 session.
t_policy_dup_groups() {
    pol_server groups.tls12
    local c=("$ARCLIENT" -n 3 --verify --cafile "$CERTS/ca1.pem" --expect-host localhost --sni localhost
        --ctx-groups P-256 --groups P-384:P-256 --last-strict dup 127.0.0.1 "$SSERVER_PORT")
    pol_last_fails "the last SSL an SSL_dup" '' "${c[@]}"
    s_server_stop p
}
t_register policy.per-ssl.dup-groups.tls12 t_policy_dup_groups

# A signature algorithm that only TLS 1.3 has: OpenSSL 3.5 leaves ML-DSA
# out of a TLS 1.2 hello, so the policy probe's TLS 1.2 hello could not
# tell a context that accepts ML-DSA from one that does not. The server
# has only an ML-DSA-65 certificate (issued by CA1); the first two
# connections' contexts list mldsa65, the last one's only ECDSA, and a full
# handshake fails there (no signature algorithm in common). Found by
# review: the last connection resumed the session its looser predecessors
# won, skipping the server's signature. OpenSSL without ML-DSA (Debian
# 12's 3.0): not applicable.
t_policy_sigalgs13() {
    local d=$RUN_DIR/pol extra=()
    # split: every hello in records of 512 bytes, the TLS 1.2 one short (one
    # cipher) and the TLS 1.3 ones long (an ALPN list of 300 bytes): found
    # by review, the probe read the first record only, so the split TLS 1.3
    # hello counted as "cannot write one" and both contexts got its mark.
    [[ ${1:-} == split ]] && extra=(--max-send-fragment 512 --alpn-bytes 300
        --ciphers ECDHE-ECDSA-AES128-GCM-SHA256)
    pol_files
    if ! "$OPENSSL" genpkey -algorithm ML-DSA-65 -out "$d/mldsa.key" 2>/dev/null; then
        echo "not applicable: $("$OPENSSL" version) has no ML-DSA (OpenSSL 3.5+)"
        return 0
    fi
    "$OPENSSL" req -new -key "$d/mldsa.key" -config "$CERTS/openssl.cnf" -subj /CN=localhost \
        -out "$d/mldsa.csr" 2>>"$d/log" &&
        "$OPENSSL" x509 -req -in "$d/mldsa.csr" -CA "$CERTS/ca1.pem" -CAkey "$CERTS/ca1.key" \
            -CAcreateserial -CAserial "$d/ca1.srl" -days 3 -extfile "$CERTS/openssl.cnf" \
            -extensions srv -out "$d/mldsa.pem" 2>>"$d/log" ||
        { cat "$d/log"; t_fatal "cannot make the ML-DSA certificate"; }
    s_server_start p tls13 "certfile=$d/mldsa" || t_fatal "s_server did not start"
    local c=("$ARCLIENT" -n 3 --new-ctx --verify --cafile "$CERTS/ca1.pem" --expect-host localhost
        --sni localhost --ctx-sigalgs 'mldsa65:ECDSA+SHA256' --last-ctx-sigalgs 'ECDSA+SHA256'
        "${extra[@]}" 127.0.0.1 "$SSERVER_PORT")
    pol_last_fails "the last context without ML-DSA" '' "${c[@]}"
    s_server_stop p
}
t_register policy.skipped-check.sigalgs-tls13-only.tls13 t_policy_sigalgs13
t_register policy.skipped-check.sigalgs-tls13-only.split.tls13 "t_policy_sigalgs13 split"

# The probes are the library's, not the program's: SSL_CTX_sess_connect
# (and _connect_good) read the same as without the library. Three
# connections on one context, TLS 1.3 (on OpenSSL 3.2+ two probes: a TLS
# 1.2 and a TLS 1.3 hello) and TLS 1.2; control: they resumed.
t_policy_probe_stats() {
    local proto=$1 base lib
    s_server_start p "$proto" srv1 || t_fatal "s_server did not start"
    local c=("$ARCLIENT" -n 3 --verify --cafile "$CERTS/ca1.pem" --expect-host localhost --sni localhost
        127.0.0.1 "$SSERVER_PORT")
    run_client base "${c[@]}"
    t_assert_status $? 0 "arclient without the library"
    AUTORESUME_CACHE=off run_client lib with_lib "${c[@]}"
    t_assert_status $? 0 "arclient with the library"
    base=$(grep '^ctx-stats ' "$T_DIR/base.out")
    lib=$(grep '^ctx-stats ' "$T_DIR/lib.out")
    t_assert_match "$base" '^ctx-stats connect=3 connect-good=3$' "without the library: three connects"
    t_assert_eq "$lib" "$base" "the context's connect counters as without the library"
    t_assert_match "$(tail -n 1 "$T_DIR/lib.out")" 'reused=2' "control: the library resumed"
    s_server_stop p
}
for proto in tls13 tls12; do
    t_register "policy.probe-hidden.ctx-stats.$proto" "t_policy_probe_stats $proto"
done

# The TLS 1.3 probe (OpenSSL 3.2+) where it is the odd one out (found by
# review): no-tls13, a context without TLS 1.3 cipher suites and at most
# TLS 1.2, cannot write a TLS 1.3 hello (OpenSSL writes an alert record
# instead), and level4, security level 4 with P-384, refuses the probe's
# cheap P-256 key share: both must still resume (a mark of their own; the
# context's groups), as on OpenSSL 3.0. psk: a context PSK client callback
# that aborts for an SSL the program never made, with the other PSK setter
# called with NULL after it ("set every option"): the TLS 1.3 probe would
# call it (OpenSSL 3.5 does from its ClientHello), so it must not run; no
# offers, the same exit status as without the library.
t_policy_probe13() {
    local what=$1 d=$RUN_DIR/pol c
    pol_files
    case $what in
    no-tls13)
        s_server_start p tls12 srv1 || t_fatal "s_server did not start"
        c=(--verify --cafile "$CERTS/ca1.pem" --tls12 --ciphersuites '') ;;
    level4)
        [[ -s $d/p384.pem ]] || "$OPENSSL" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -sha384 \
            -nodes -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -days 3 \
            -keyout "$d/p384.key" -out "$d/p384.pem" 2>>"$d/log" || t_fatal "cannot make a P-384 certificate"
        s_server_start p tls13 "certfile=$d/p384" || t_fatal "s_server did not start"
        c=(--verify --cafile "$d/p384.pem" --ciphers 'DEFAULT:@SECLEVEL=4' --ctx-groups P-384) ;;
    psk)
        s_server_start p tls13 srv1 || t_fatal "s_server did not start"
        c=(--verify --cafile "$CERTS/ca1.pem" --psk 1a2b3c4d5e6f7a8b) ;;
    esac
    c=("$ARCLIENT" -n 3 --expect-host localhost --sni localhost "${c[@]}" 127.0.0.1 "$SSERVER_PORT")
    run_client base "${c[@]}"
    t_assert_status $? 0 "arclient without the library"
    AUTORESUME_CACHE=off AUTORESUME_LOG=debug run_client lib with_lib "${c[@]}"
    t_assert_status $? 0 "arclient with the library"
    t_assert_nomatch "$(cat "$T_DIR/lib.err")" 'never made' "no callback of the program's ran for the probe"
    if [[ $what == psk ]]; then
        t_assert_match "$(tail -n 1 "$T_DIR/lib.out")" 'reused=0' "no offers under a PSK callback"
    else
        t_assert_match "$(tail -n 1 "$T_DIR/lib.out")" 'ok=3 failed=0 reused=2' "the second and third resumed"
        t_assert_eq "$(grep -c 'server=reused' "$T_DIR/lib.out")" 2 "s_server: two resumed"
    fi
    s_server_stop p
}
for what in no-tls13 level4 psk; do
    t_register "policy.probe13.$what" "t_policy_probe13 $what"
done

# pol_last_as_without LABEL CMD...: CMD makes three connections, the last
# different in a setting that decides what the server accepts; without the
# library all succeed and none resumes. With the library all succeed too,
# the second resumed (the control), and the last is the one the server saw
# without the library: a full handshake (s_server's page says New), with the
# same detail line (fragment length mode of its session, peer chain).
pol_last_as_without() {
    local label=$1 out
    shift
    run_client base "$@"
    t_assert_status $? 0 "arclient, $label, without the library"
    AUTORESUME_CACHE=off AUTORESUME_LOG=debug run_client lib with_lib "$@"
    t_assert_status $? 0 "arclient, $label, with the library"
    out=$(grep -o '^conn 0\.[0-9] reused=[01]' "$T_DIR/lib.out" | tr '\n' ' ')
    echo "with the library: $out"
    t_assert_eq "$out" "conn 0.1 reused=0 conn 0.2 reused=1 conn 0.3 reused=0 " \
        "the second connection resumed (control), the last did not"
    t_assert_match "$(grep '^conn 0\.3 ' "$T_DIR/lib.out")" 'server=new' "s_server: the last was a full handshake"
    t_assert_eq "$(grep '^detail 0\.3 ' "$T_DIR/lib.out")" "$(grep '^detail 0\.3 ' "$T_DIR/base.out")" \
        "the last connection's session as without the library"
}

# The maximum fragment length (RFC 6066): a server resuming a TLS 1.2
# session keeps the session's mode and echoes it, a TLS 1.3 one keeps the
# session's too. Found by review: the mode was in no key. mfl-dropped: the
# first two SSLs ask for 512 bytes, the last asks for nothing, and failed
# with "unsolicited extension" on TLS 1.2 (the server echoed the resumed
# session's mode); mfl-added: the last asks for 512 and resumed a session
# without the limit. ctx-mfl-*: the same through the context's setter
# (SSL_CTX_set_tlsext_max_fragment_length, a function, not SSL_CTX_ctrl),
# changed after the context's first two SSL_new calls, which the probe's
# memo did not see.
t_policy_mfl() {
    local what=$1 c
    s_server_start p "$2" srv1 || t_fatal "s_server did not start"
    case $what in
    mfl-dropped) c=(--mfl 1 --last-mfl none) ;;
    mfl-added) c=(--last-mfl 1) ;;
    ctx-mfl-dropped) c=(--ctx-mfl 1 --last-ctx-mfl 0) ;;
    ctx-mfl-added) c=(--last-ctx-mfl 1) ;;
    esac
    pol_last_as_without "$what" "$ARCLIENT" -n 3 --verify --cafile "$CERTS/ca1.pem" --expect-host localhost \
        --sni localhost "${c[@]}" 127.0.0.1 "$SSERVER_PORT"
    s_server_stop p
}
for proto in tls12 tls13; do
    for what in mfl-dropped mfl-added ctx-mfl-dropped ctx-mfl-added; do
        t_register "policy.per-ssl.$what.$proto" "t_policy_mfl $what $proto"
    done
done

# The program's own session ticket (SSL_set_session_ticket_ext) and the
# callbacks that go with it in EAP-FAST (SSL_set_session_ticket_ext_cb, the
# server's ticket extension; SSL_set_session_secret_cb, the master secret):
# no offers, the program's ticket goes out as it set it. Found by review: our
# session replaced the program's ticket, and the secret callback would have
# overwritten our session's master secret. Here the server cannot read the
# program's ticket: a full handshake, as without the library.
# The client is held to TLS 1.2 there (--tls12): offering TLS 1.3 with the
# program's ticket fails in OpenSSL itself (tls_construct_ctos_psk).
t_policy_own_ticket() {
    local v=()
    [[ $2 == tls12 ]] && v=(--tls12)
    s_server_start p "$2" srv1 || t_fatal "s_server did not start"
    pol_last_as_without "$1 on the last connection" "$ARCLIENT" -n 3 --verify --cafile "$CERTS/ca1.pem" \
        --expect-host localhost --sni localhost --show-chain "${v[@]}" --last-strict "$1" 127.0.0.1 "$SSERVER_PORT"
    t_assert_match "$(cat "$T_DIR/lib.err")" "not offered: program (sends its own session ticket|reads the server's session ticket|sets the session's master secret)" \
        "the library's log says why"
    s_server_stop p
}
for what in ticket-ext ticket-ext-cb secret-cb; do
    t_register "policy.no-offer.$what.tls12" "t_policy_own_ticket $what tls12"
done
t_register policy.no-offer.secret-cb.tls13 "t_policy_own_ticket secret-cb tls13"
