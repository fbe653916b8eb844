# shellcheck shell=bash
# tests/integration/cases/gnutls.sh - the gnutls.* tests: GnuTLS clients
# (Debian's wget and gnutls-cli, and clients/gtls_client.c) through the
# library.  Sourced by run.sh (after its helpers, before t_main), like every
# cases/*.sh; uses the helpers of cases/store.sh (new_store, store_client,
# ar_wrapper, reused_column), which is sourced before any test runs.
#
#   gnutls.wget.PROTO, gnutls.cli.PROTO
#       6 separate processes (`autoresume wget`, `autoresume gnutls-cli`),
#       one store: all succeed, the server resumes at least 5.
#   gnutls.git.CFG
#       4 separate `autoresume git ls-remote` runs (libcurl-gnutls): 3 resumed.
#   gnutls.git.sec.trust-change.CFG
#       git trusting CA1, then git trusting CA2 fails as without the library.
#   gnutls.no-cross-library[.curl].PROTO
#       one store shared by GnuTLS and OpenSSL clients (wget, python, [curl,]
#       wget, python): a GnuTLS session is never offered to OpenSSL (the
#       first python and curl are full handshakes); control: the second wget
#       resumes.
#   gnutls.wget.insecure-then-verify.PROTO
#       `wget --no-check-certificate` against a self-signed server, then a
#       verifying wget fails as it does without the library (same exit
#       status, nothing served), and a third insecure run is not resumed
#       either: wget verifies after the handshake, where the library cannot
#       see it, so an untrusted certificate's session is never kept.
#   gnutls.wget.ticket-lifetime.PROTO
#       the session is kept no longer than the server's ticket lifetime.
#   gnutls.c.own-resumption
#       gtls_client -o (the program resumes by itself, store off): the same
#       output as without the library, 4 of 5 resumed.
#   gnutls.c.no-tickets-flag.CFG
#       gnutls_init with GNUTLS_NO_TICKETS (libcurl 7.88, git) still resumes
#       TLS 1.3, and TLS 1.2 by session id, as without the flag's TLS 1.3 part.
#   gnutls.c.verify-MODE.PROTO
#       gtls_client -n 5 in one process (store off), verifying the way
#       GnuTLS programs do (MODE none, auto, callback, manual): 4 of 5 resumed.
#   gnutls.c.program-hook.WHICH
#       a program's handshake hook is called as without the library; one
#       that sees what a resumed handshake lacks gets no offers (cert-pin).
#   gnutls.sec.psk-identity, gnutls.sec.client-keys.PROTO,
#   gnutls.sec.verify-name-late.PROTO
#       the middle of three connections with another PSK identity, other
#       client key pairs, a host name rewritten before the handshake: every
#       outcome as without the library (section 7b).
#   gnutls.c.verify-cert-status.PROTO
#       gnutls_session_get_verify_cert_status after each of 3 handshakes in
#       one process, resumed ones too: as without the library.
#   gnutls.c.lazy-trust.PROTO
#       the same with the CA loaded only after the handshake (-L, as libcurl
#       8 on Debian 13 does): the trust check waits for the first record.
#   gnutls.c.threads.PROTO
#       8 threads x 25 connections in one process: all succeed, 80% resumed.
#   gnutls.c.nodelay-window.PROTO
#       TCP_NODELAY is on right after a resumed handshake only, the first
#       write is sent at once, and TCP_NODELAY is back off after it.
#   gnutls.sec.trust-change.MODE.PROTO, gnutls.sec.name-change.PROTO,
#   gnutls.sec.verify-name-change.MODE.PROTO, gnutls.sec.pin-change.PROTO,
#   gnutls.sec.insecure-then-verify.MODE.PROTO
#       two gtls_client processes sharing a store: the second, with another
#       trust store (CA2), another SNI and name, the same SNI but another
#       name to verify, a verify callback that rejects the certificate, or
#       verifying where the first did not, must fail exactly as without the
#       library, and nothing is served to it. trust-change.lazy-MODE: both
#       load their CA after the handshake (-L); lazy-manual-full fails at its
#       first record instead of at its own (skipped) verify step.  MODE: auto, callback, manual,
#       manual-full (verifies full handshakes only, with its own cache -o).
#       These pass with the library off; they fail if a session won under
#       the first settings is offered to the second as it is (GnuTLS checks
#       the server's certificate, in modes auto and callback, only when the
#       server sends one, which it does not in a resumed handshake; in mode
#       manual the program checks the stored one itself, so a naive offer
#       goes unnoticed there).  The manual-full tests hold because the
#       library keeps no session of an untrusted certificate unless the
#       handshake itself verifies; verify-name-change.manual-full shows what
#       remains (registered only with AR_KNOWN_BUGS=1, see below).
#   gnutls.cli.dh-bits, gnutls.c.dh-bits, gnutls.c.srp-bits (3.7: the same
#   minimum, set by gnutls_srp_set_prime_bits), gnutls.c.priority-sigalgs.PROTO,
#   gnutls.c.priority-groups.tls12, gnutls.sec.system-config.tls13,
#   gnutls.sec.process-setting.tls13
#       what a resumed handshake skips besides the certificate (TLS 1.2: the
#       key exchange, its DH prime or group; both: the server's signature):
#       a connection with a stricter setting (gnutls-cli --dh-bits 2048 or
#       gnutls_dh_set_prime_bits against a 1024-bit DHE server, priorities
#       without the server's signature algorithm or group, a system
#       configuration marking its signature insecure, or the program doing
#       so for the process with gnutls_sign_set_secure) fails without the
#       library and must fail the same way with it, after a session was won
#       under the first settings; the next connection with those resumes.
#   gnutls.c.late-change.*
#       the same settings (and a certificate pin in a hook) made by the
#       program after the first GNUTLS_E_AGAIN of the handshake (section at
#       the end).
#   gnutls.sec.early-data.tls13, gnutls.sec.ocsp-expired.PROTO
#       what GnuTLS does only when resuming: 0-RTT data a program asked for
#       but never sent without us; a stapled OCSP response checked again
#       from the session data (section 14).
#   gnutls.sec.profile.manual-full.tls12
#       a verification profile in the priorities (%PROFILE_ULTRA) rejects the
#       server's key: a program verifying full handshakes only fails with
#       the library as without it (no session of that handshake is kept).
#
# Resumption is judged by nginx's $ssl_session_reused, never by the
# library's log; the resumption tests fail with AR_PRELOAD_MODE=off|disabled
# (wget and gnutls-cli run through scripts/autoresume, honouring it, see
# wrap_prefix in cases/store.sh).  Lines 'measured: ...' are repeated by the
# runner.

# $(own_opt ...) is split into words (none or one) on purpose:
# shellcheck disable=SC2046

# Under the ASan runtime (make check-asan: AR_PRELOAD_FIRST=.../libasan.so)
# GnuTLS programs hang at exit, without the library too
# (LD_PRELOAD=libasan.so wget --version): libp11-kit's destructor waits
# forever for glibc's __libc_setlocale_lock in freelocale() (Debian 12:
# glibc 2.36, p11-kit 0.24.1, gcc 12; curl's hang there, see lib.sh, is the
# same lock).  So the tests of wget and gnutls-cli are left to the plain
# run (GTLS_ASAN=1), and gtls_client ends with _exit (-x) there.
GTLS_ASAN=0
GTLS_X=()
if [[ ${AR_PRELOAD_FIRST:-} == *libasan* ]]; then
    GTLS_ASAN=1
    GTLS_X=(-x)
    [[ $$ == "${T_TOP_PID:-}" ]] &&
        echo "note: gnutls.wget.*, gnutls.cli.*, gnutls.no-cross-library.* not run with the ASan runtime (GnuTLS programs hang at exit under it)" >&2
fi

: "${WGET:=/usr/bin/wget}"
: "${GNUTLS_CLI:=/usr/bin/gnutls-cli}"
GTLS_RUNS=6 # processes per gnutls.wget/gnutls.cli test; pass = all but 1 resumed

# ------------------------------------------------------------------ helpers --

# gtls_need_tool PATH: fail the test unless PATH is a program linked to GnuTLS.
gtls_need_tool() {
    [[ -x $1 ]] || t_fatal "missing tool $1"
    ldd "$1" 2>/dev/null | grep -q 'libgnutls\.so' || t_fatal "$1 is not linked to libgnutls"
}

# gtls_build: sets GTLS to clients/gtls_client.c built into $RUN_DIR/bin
# (once per run, by the first test that needs it).
gtls_build() {
    GTLS=$RUN_DIR/bin/gtls_client
    [[ -x $GTLS ]] && return 0
    mkdir -p "$RUN_DIR/bin" || t_fatal "mkdir $RUN_DIR/bin"
    if ! ${CC:-cc} -O2 -Wall -o "$GTLS.$$" "$CLIENTS/gtls_client.c" -lgnutls ||
        ! mv -f "$GTLS.$$" "$GTLS"; then
        t_fatal "cannot build clients/gtls_client.c (is libgnutls28-dev installed?)"
    fi
}

# wget_get LABEL STORE PORT WGET-OPTION...: one `autoresume wget` process
# fetching https://localhost:PORT/ into $T_DIR/LABEL.body, with
# AUTORESUME_CACHE=STORE.  -nv: one line on success, the error otherwise.
# Returns wget's exit status; BODY_OK=1 if the body is the server's 'ok'.
wget_get() {
    local label=$1 st=$2 port=$3 rc; shift 3
    rm -f "$T_DIR/$label.body"
    AUTORESUME_CACHE=$st run_client "$label" ar_wrapper "$WGET" --no-config --no-hsts -4 -nv \
        -O "$T_DIR/$label.body" "$@" "https://localhost:$port/"
    rc=$?
    BODY_OK=0
    [[ -f $T_DIR/$label.body && $(<"$T_DIR/$label.body") == ok ]] && BODY_OK=1
    return "$rc"
}

# cli_get LABEL STORE PORT [GNUTLS-CLI-ARG...]: one `autoresume gnutls-cli`
# process (trusting CA1, name localhost; CLI_PLAIN=1: without the library)
# sending GET / and printing the response.  Its stdin
# is a fifo that we keep open, so it never sees EOF: it ends when the
# server closes the connection (HTTP/1.0, no keep-alive), after it has read
# the response and, before it, any TLS 1.3 ticket.  Only its status and
# response lines are shown in the log.  Returns 0 iff it exited 0 with a
# 200 response.
cli_get() {
    local label=$1 st=$2 port=$3 fd rc run=(ar_wrapper) how=autoresume
    shift 3
    local cmd=("$GNUTLS_CLI" --x509cafile "$CERTS/ca1.pem" "$@" -p "$port" localhost)
    [[ ${CLI_PLAIN:-0} == 1 ]] && run=(env) how="(no library)"
    rm -f "$T_DIR/$label.in"
    mkfifo "$T_DIR/$label.in" || t_fatal "mkfifo"
    exec {fd}<>"$T_DIR/$label.in"
    printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' >&"$fd"
    echo "\$ $how ${cmd[*]} <$label.in"
    AUTORESUME_CACHE=$st "${run[@]}" "${cmd[@]}" <"$T_DIR/$label.in" \
        >"$T_DIR/$label.out" 2>"$T_DIR/$label.err"
    rc=$?
    exec {fd}<&-
    grep -aE '^(- Status|- Description|\*\*\*|HTTP/|ok|- Peer|New, |Reused, )' "$T_DIR/$label.out" |
        sed 's/^/  | /'
    [[ -s $T_DIR/$label.err ]] && sed 's/^/  ! /' "$T_DIR/$label.err"
    echo "  -> exit $rc"
    ((rc == 0)) && grep -q '^HTTP/1\.[01] 200 ' "$T_DIR/$label.out"
}

# gtls_run LABEL STORE GTLS-ARG...: gtls_client ... 127.0.0.1 $NGINX_PORT
# through the library (with_lib) with AUTORESUME_CACHE=STORE ('off': none).
gtls_run() {
    local label=$1 st=$2; shift 2
    AUTORESUME_CACHE=$st run_client "$label" with_lib "$GTLS" "${GTLS_X[@]}" "$@" 127.0.0.1 "$NGINX_PORT"
}

# gtls_base LABEL GTLS-ARG...: the same without the library.
gtls_base() {
    local label=$1; shift
    run_client "$label" "$GTLS" "${GTLS_X[@]}" "$@" 127.0.0.1 "$NGINX_PORT"
}

# gtls_count LABEL REGEX: the number of gtls_client lines matching REGEX.
gtls_count() { grep -cE "$2" "$T_DIR/$1.out"; }

# gtls_outcome LABEL: gtls_client's per-connection lines without resumed=.
gtls_outcome() { grep '^conn ' "$T_DIR/$1.out" | sed 's/ resumed=[01]//'; }

# ------------------------------------------------ 1, 2. runs of one client --
# TLS 1.2: GnuTLS clients send the session_ticket extension, so nginx's
# tickets suffice (no session cache) in both protocols. CFG (cfg_opts in
# run.sh) picks the server: stateless tickets by default, or a session cache
# (tls13-cache: stateful single-use tickets; tls12-cache: session ids).

t_gnutls_runs() {
    local client=$1 proto=$2 cfg=${3:-$2-tickets} st i ok=0
    case $client in
    wget) gtls_need_tool "$WGET" ;;
    cli) gtls_need_tool "$GNUTLS_CLI" ;;
    esac
    st=$(new_store)
    nginx_start s $(cfg_opts "$cfg") || t_fatal "nginx did not start"
    for ((i = 1; i <= GTLS_RUNS; i++)); do
        case $client in
        wget)
            wget_get "run$i" "$st" "$NGINX_PORT" --ca-certificate="$CERTS/ca1.pem" &&
                ((BODY_OK)) && ok=$((ok + 1)) ;;
        cli)
            cli_get "run$i" "$st" "$NGINX_PORT" && ok=$((ok + 1)) ;;
        esac
    done
    t_assert_eq "$ok" "$GTLS_RUNS" "$client processes whose request succeeded"
    nginx_stop s
    echo "measured: $client $cfg: resumed $(count_reused s) of $(count_lines s) processes (server)"
    server_check s "$GTLS_RUNS" $((GTLS_RUNS - 1))
}

for proto in tls13 tls12; do
    ((GTLS_ASAN)) && break
    t_register "gnutls.wget.$proto" "t_gnutls_runs wget $proto"
    t_register "gnutls.wget.$proto-cache" "t_gnutls_runs wget $proto $proto-cache"
    t_register "gnutls.cli.$proto" "t_gnutls_runs cli $proto"
done

# ------------------------------------------------ 3. GnuTLS next to OpenSSL --
# One store, one server, wget (GnuTLS) and python/curl (OpenSSL) in turn.
# Sessions of one library must never be offered to the other: the first
# python and the first curl are full handshakes (python and curl do not
# share sessions either: curl stores its sessions without the port); the
# second wget resumes the first one's (the control: the test sees
# resumption).

t_gnutls_no_cross() {
    local with=$1 proto=$2 st col seq=(wget python) i=0 c n ok=0
    gtls_need_tool "$WGET"
    [[ $with == curl ]] && seq+=(curl)
    seq+=(wget python)
    st=$(new_store)
    nginx_start s "$proto" tickets nocache || t_fatal "nginx did not start"
    for c in "${seq[@]}"; do
        i=$((i + 1))
        case $c in
        wget) wget_get "$i.wget" "$st" "$NGINX_PORT" --ca-certificate="$CERTS/ca1.pem" &&
            ((BODY_OK)) && ok=$((ok + 1)) ;;
        *) store_client "$c" "$i.$c" "$st" "$NGINX_PORT" && ok=$((ok + 1)) ;;
        esac
    done
    n=${#seq[@]}
    t_assert_eq "$ok" "$n" "processes whose request succeeded (${seq[*]})"
    nginx_stop s
    col=$(reused_column s)
    echo "server: $col (${seq[*]})"
    echo "measured: no-cross $with $proto: server $col (${seq[*]})"
    read -ra col <<<"$col"
    t_assert_eq "${#col[@]}" "$n" "requests seen by the server"
    t_assert_eq "${col[1]}" . "server: python after wget, a full handshake"
    [[ $with == curl ]] && t_assert_eq "${col[2]}" . "server: curl after wget and python, a full handshake"
    t_assert_eq "${col[n - 2]}" r "server: the second wget resumed (control)"
}

for proto in tls13 tls12; do
    ((GTLS_ASAN)) && break
    t_register "gnutls.no-cross-library.$proto" "t_gnutls_no_cross python $proto"
    t_register "gnutls.no-cross-library.curl.$proto" "t_gnutls_no_cross curl $proto"
done

# ------------------------------------------- 4. wget: insecure, then verify --
# wget (GnuTLS) verifies after the handshake (gnutls_certificate_verify_peers).
# Against a self-signed server: --no-check-certificate, then a verifying run
# (CA1) that must fail with wget's exit status without the library (5, 'SSL
# verification failure') and be served nothing; then --no-check-certificate
# again, which must not resume: nothing in wget's handshake verifies, so the
# library keeps no session of a certificate it does not trust (a program may
# skip its own check on a resumed session).

t_gnutls_wget_insecure() {
    local proto=$1 st base_rc lib_rc
    gtls_need_tool "$WGET"
    st=$(new_store)
    nginx_start s "$proto" tickets nocache self || t_fatal "nginx did not start"
    echo "verifying wget without the library:"
    run_client base "$WGET" --no-config --no-hsts -4 -nv -O "$T_DIR/base.body" \
        --ca-certificate="$CERTS/ca1.pem" "https://localhost:$NGINX_PORT/"
    base_rc=$?
    t_assert_status "$base_rc" 5 "verifying wget (CA1) without the library (SSL verification failure)"
    wget_get ins1 "$st" "$NGINX_PORT" --no-check-certificate
    t_assert_status $? 0 "wget --no-check-certificate, run 1"
    wget_get ver "$st" "$NGINX_PORT" --ca-certificate="$CERTS/ca1.pem"
    lib_rc=$?
    t_assert_status "$lib_rc" "$base_rc" "verifying wget (CA1) after the insecure run, with the library"
    t_assert_match "$(grep '^ERROR' "$T_DIR/base.err")" . "wget's error line without the library"
    t_assert_eq "$(grep '^ERROR' "$T_DIR/ver.err")" "$(grep '^ERROR' "$T_DIR/base.err")" \
        "wget's error line with the library: the same"
    wget_get ins2 "$st" "$NGINX_PORT" --no-check-certificate
    t_assert_status $? 0 "wget --no-check-certificate, run 2"
    nginx_stop s
    echo "measured: wget insecure-then-verify $proto: server $(reused_column s)"
    t_assert_eq "$(reused_column s)" ". ." \
        "server: only the insecure runs served, neither resumed (the verifying one: nothing)"
}

for proto in tls13 tls12; do
    ((GTLS_ASAN)) && break
    t_register "gnutls.wget.insecure-then-verify.$proto" "t_gnutls_wget_insecure $proto"
done

# --------------------------------------------- 5. the program's own sessions --
# gtls_client -o keeps each connection's session (gnutls_session_get_data2)
# and sets it on the next (gnutls_session_set_data): with the library (store
# off) it must behave as without it.  Passes with the library off too.

t_gnutls_own() {
    local args=(-o -n 5 -v auto -c "$CERTS/ca1.pem" -s localhost) col
    gtls_build
    nginx_start s tls13 tickets nocache || t_fatal "nginx did not start"
    gtls_base base "${args[@]}"
    t_assert_status $? 0 "gtls_client -o without the library"
    gtls_run c off "${args[@]}"
    t_assert_status $? 0 "gtls_client -o with the library"
    t_assert_eq "$(gtls_count c '^conn [0-9]+ ok ')" 5 "connections ok"
    t_assert_eq "$(grep '^conn ' "$T_DIR/c.out")" "$(grep '^conn ' "$T_DIR/base.out")" \
        "per-connection lines: the same as without the library"
    nginx_stop s
    col=$(reused_column s)
    echo "server: $col (5 without the library, then 5 with it)"
    t_assert_eq "$col" ". r r r r . r r r r" "server: each process resumes its own sessions"
}

t_register gnutls.c.own-resumption t_gnutls_own

# ------------------------------------- 5a. push/pull, two ports of one name --
# libcurl-gnutls gives GnuTLS push/pull functions, not a descriptor: the
# library takes the port from the socket the thread connected
# (ar_conntrack.h). Two servers of one name on two ports (their own ticket
# keys), used alternately in one process: each resumes its own sessions.
# Without the port both share a key and each offers the other's: none resume.

t_gnutls_two_ports() {
    local a b
    gtls_build
    nginx_start a tls13 tickets nocache || t_fatal "nginx a did not start"
    a=$NGINX_PORT
    nginx_start b tls13 tickets nocache || t_fatal "nginx b did not start"
    b=$NGINX_PORT
    NGINX_PORT=$a gtls_base base -X -Q "$b" -n 6 -v auto -c "$CERTS/ca1.pem" -s localhost
    t_assert_status $? 0 "gtls_client -X without the library"
    NGINX_PORT=$a gtls_run c off -X -Q "$b" -n 6 -v auto -c "$CERTS/ca1.pem" -s localhost
    t_assert_status $? 0 "gtls_client -X with the library"
    t_assert_eq "$(gtls_count c '^conn [0-9]+ ok ')" 6 "connections ok"
    nginx_stop a
    nginx_stop b
    echo "measured: gnutls push/pull two ports: server a $(reused_column a), b $(reused_column b)" \
        "(3 without the library, then 3 with it, each)"
    t_assert_eq "$(reused_column a)" ". . . . r r" "server a (port $a)"
    t_assert_eq "$(reused_column b)" ". . . . r r" "server b (port $b)"
}

t_register gnutls.c.push-pull.two-ports t_gnutls_two_ports

# ------------------------------------- 5b. GNUTLS_NO_TICKETS in gnutls_init --
# libcurl 7.88 (Debian 12; git's https transport) inits with GNUTLS_NO_TICKETS,
# with which GnuTLS sends no stored session at all. The library passes
# GNUTLS_NO_TICKETS_TLS12 instead (as curl 8.11 does): TLS 1.3 resumes; TLS
# 1.2 tickets stay off as the program asked, so TLS 1.2 resumes by session id
# against a server with a session cache only. Control: a %NO_TICKETS
# priority (the program's explicit choice) still turns all of it off.

t_gnutls_no_tickets() {
    local cfg=$1 want=$2 col
    gtls_build
    nginx_start s $(cfg_opts "$cfg") || t_fatal "nginx did not start"
    gtls_run c off -T -n 5 -v auto -c "$CERTS/ca1.pem" -s localhost
    t_assert_status $? 0 "gtls_client -T (GNUTLS_NO_TICKETS)"
    gtls_run p off -n 3 -v auto -c "$CERTS/ca1.pem" -s localhost -p 'NORMAL:%NO_TICKETS'
    t_assert_status $? 0 "gtls_client -p NORMAL:%NO_TICKETS"
    nginx_stop s
    col=$(reused_column s)
    echo "measured: GNUTLS_NO_TICKETS $cfg: server $col (5 with the init flag, then 3 with %NO_TICKETS)"
    t_assert_eq "${col// /}" "$want" "server (. full, r resumed)"
}

t_register gnutls.c.no-tickets-flag.tls13-tickets "t_gnutls_no_tickets tls13-tickets .rrrr..."
t_register gnutls.c.no-tickets-flag.tls12-cache "t_gnutls_no_tickets tls12-cache .rrrr.rr"
t_register gnutls.c.no-tickets-flag.tls12-tickets "t_gnutls_no_tickets tls12-tickets ........"

# ---------------------------------------- 6. one process, N connections --
# gtls_client -n 5, a new session (and credentials) per connection, store off:
# the library alone makes connections 2..5 resume.  The client's own
# gnutls_session_is_resumed must agree with the server.

t_gnutls_verify() { # MODE PROTO [GTLS-ARG...]
    local mode=$1 proto=$2
    shift 2
    gtls_build
    nginx_start s "$proto" tickets nocache || t_fatal "nginx did not start"
    gtls_run c off -n 5 -v "$mode" -c "$CERTS/ca1.pem" -s localhost "$@"
    t_assert_status $? 0 "gtls_client -v $mode $*"
    t_assert_eq "$(gtls_count c '^conn [0-9]+ ok ')" 5 "connections ok"
    nginx_stop s
    t_assert_eq "$(gtls_count c ' resumed=1 ')" "$(count_reused s)" \
        "connections the client calls resumed (gnutls_session_is_resumed) = the server's count"
    echo "measured: gtls_client -v $mode $proto: resumed $(count_reused s) of $(count_lines s) (server)"
    server_check s 5 4
}

for mode in none auto callback manual; do
    for proto in tls13 tls12; do
        t_register "gnutls.c.verify-$mode.$proto" "t_gnutls_verify $mode $proto"
    done
done
# -L: the CA file goes into the credentials after the handshake, as libcurl 8
# (Debian 13) does: at the offer there is nothing to check the kept chain
# against, so the check waits for the first record (and a TLS 1.2 session
# is judged and kept then).
for proto in tls13 tls12; do
    t_register "gnutls.c.lazy-trust.$proto" "t_gnutls_verify manual $proto -L"
done

# --------------------------------------------------------------- 7. security --
# Two gtls_client processes sharing a store: FIRST succeeds (and leaves a
# session in the store), SECOND must fail as it does without the library,
# and the server must serve nothing to it.  These pass with the library off;
# the control that sessions cross processes is in gnutls.wget.*/gnutls.cli.*.

# gtls_sec_pair PROTO CERT FIRST-ARG... -- SECOND-ARG...: the two gtls_client
# processes (-n 1 each) against nginx with PROTO and the certificate CERT.
gtls_sec_pair() {
    local proto=$1 cert=$2 first=() second=() st
    shift 2
    while (($#)) && [[ $1 != -- ]]; do first+=("$1"); shift; done
    shift
    second=("$@")
    gtls_build
    st=$(new_store)
    nginx_start s "$proto" tickets nocache "$cert" || t_fatal "nginx did not start"
    gtls_run first "$st" -n 1 "${first[@]}"
    t_assert_match "$(gtls_outcome first)" '^conn 0 ok ' "first process (${first[*]}) succeeds"
    gtls_base second.base -n 1 "${second[@]}"
    gtls_run second "$st" -n 1 "${second[@]}"
    t_assert_match "$(gtls_outcome second.base)" '^conn 0 error ' \
        "second process (${second[*]}) fails without the library"
    if [[ ${GTLS_SEC_STAGE:-same} == same ]]; then
        t_assert_eq "$(gtls_outcome second)" "$(gtls_outcome second.base)" \
            "second process with the library: the same outcome as without it"
    else
        t_assert_match "$(gtls_outcome second)" '^conn 0 error ' \
            "second process with the library fails too (at its first record: $GTLS_SEC_STAGE)"
    fi
    nginx_stop s
    echo "server: $(reused_column s)"
    t_assert_eq "$(count_lines s)" 1 "requests served (the first process only)"
}

# own_opt MODE: -o for manual-full (a program that verifies full handshakes
# only, as its own cache holds only sessions it verified).
own_opt() { [[ $1 == manual-full ]] && echo -o; }

t_gnutls_sec_trust() { # MODE PROTO
    gtls_sec_pair "$2" srv1 -v "$1" -c "$CERTS/ca1.pem" -s localhost \
        -- $(own_opt "$1") -v "$1" -c "$CERTS/ca2.pem" -s localhost
}

# -L (trust loaded after the handshake, libcurl 8): the offer cannot check
# the chain; the check at the first record must. manual verifies a resumed
# session itself (curl does), so it fails as without the library; manual-full
# skips its own check on a resumed session, so only the library's check at
# the first record stops it (it fails there, not at its own verify step).
t_gnutls_sec_lazy() { # MODE PROTO
    local stage=same
    [[ $1 == manual-full ]] && stage="refused before the request"
    GTLS_SEC_STAGE=$stage gtls_sec_pair "$2" srv1 -L -v manual -c "$CERTS/ca1.pem" -s localhost \
        -- $(own_opt "$1") -L -v "$1" -c "$CERTS/ca2.pem" -s localhost
}

t_gnutls_sec_name() { # PROTO
    gtls_sec_pair "$1" srv1 -v auto -c "$CERTS/ca1.pem" -s localhost \
        -- -v auto -c "$CERTS/ca1.pem" -s otherhost.example
}

# The same SNI (localhost), another name to verify (-h): the session's key
# cannot tell them apart by the SNI.
t_gnutls_sec_vname() { # MODE PROTO
    gtls_sec_pair "$2" srv1 -v "$1" -c "$CERTS/ca1.pem" -s localhost \
        -- $(own_opt "$1") -v "$1" -c "$CERTS/ca1.pem" -s localhost -h otherhost.example
}

# The same settings, but the second program's verify callback rejects the
# certificate after GnuTLS verified it (-r: a pin that does not match).
t_gnutls_sec_pin() { # PROTO
    gtls_sec_pair "$1" srv1 -v callback -c "$CERTS/ca1.pem" -s localhost \
        -- -v callback -r -c "$CERTS/ca1.pem" -s localhost
}

t_gnutls_sec_insecure() { # MODE PROTO
    gtls_sec_pair "$2" self -v none -s localhost \
        -- $(own_opt "$1") -v "$1" -c "$CERTS/ca1.pem" -s localhost
}

# Known limit (registered only with AR_KNOWN_BUGS=1): a program that verifies
# after the handshake, only full handshakes, and a host name other than the
# SNI it sends (manual-full with -h) is offered a session whose certificate
# is trusted for the SNI name: its own check never runs, and it succeeds
# where it fails without the library.  The library cannot see that name.
for proto in tls13 tls12; do
    for mode in auto callback manual manual-full; do
        t_register "gnutls.sec.trust-change.$mode.$proto" "t_gnutls_sec_trust $mode $proto"
        t_register "gnutls.sec.insecure-then-verify.$mode.$proto" "t_gnutls_sec_insecure $mode $proto"
        [[ $mode == manual-full && ${AR_KNOWN_BUGS:-0} != 1 ]] && continue
        t_register "gnutls.sec.verify-name-change.$mode.$proto" "t_gnutls_sec_vname $mode $proto"
    done
    t_register "gnutls.sec.trust-change.lazy-manual.$proto" "t_gnutls_sec_lazy manual $proto"
    t_register "gnutls.sec.trust-change.lazy-manual-full.$proto" "t_gnutls_sec_lazy manual-full $proto"
    t_register "gnutls.sec.name-change.$proto" "t_gnutls_sec_name $proto"
    t_register "gnutls.sec.pin-change.$proto" "t_gnutls_sec_pin $proto"
done

# One process, three connections, odd settings on the middle one, under
# which its full handshake fails (or authenticates otherwise): with the
# library every outcome must be as without it (found by review):
#   gnutls.sec.psk-identity      RSA-PSK (TLS 1.2, gnutls-serv): alice's key,
#                                then bob with a key the server lacks;
#   gnutls.sec.client-keys.PROTO the credentials' key pairs: [A, C] then
#                                [A, B]; nginx asks for a CA2 certificate (C
#                                only): the middle connection has none to
#                                send, and must not resume as C (nginx logs
#                                the client certificate of each request);
#   gnutls.sec.verify-name-late.PROTO  the host name buffer given to
#                                gnutls_session_set_verify_cert rewritten to
#                                wrong.example before the handshake, when
#                                GnuTLS reads it.
t_gnutls_sec_psk() {
    gtls_build
    pol_files
    printf 'alice:8dae75ec4fec680dd59c49f975ee8e37\n' >"$T_DIR/psk.txt"
    # RSA-PSK encrypts to the server's key: GnuTLS wants keyEncipherment.
    printf 'keyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost\n' \
        >"$T_DIR/kx.cnf"
    "$OPENSSL" x509 -req -in "$POL/rsa.csr" -CA "$CERTS/ca1.pem" -CAkey "$CERTS/ca1.key" \
        -CAserial "$POL/ca1.srl" -days 3 -extfile "$T_DIR/kx.cnf" -out "$T_DIR/rsa-kx.pem" 2>"$T_DIR/x509.err" ||
        t_fatal "cannot make the RSA key-exchange certificate: $(cat "$T_DIR/x509.err")"
    local prio='NORMAL:-VERS-TLS1.3:-KX-ALL:+RSA-PSK'
    gnutls_serv_start --pskpasswd="$T_DIR/psk.txt" --x509certfile="$T_DIR/rsa-kx.pem" \
        --x509keyfile="$POL/rsa.key" --priority "$prio" || t_fatal "gnutls-serv did not start"
    local c=("$GTLS" -n 3 -p "$prio" -v auto -h localhost -c "$CERTS/ca1.pem" -s localhost
        -Y alice:8dae75ec4fec680dd59c49f975ee8e37 -y bob:00112233445566778899aabbccddeeff
        127.0.0.1 "$GSERV_PORT")
    run_client base "${c[@]}"
    AUTORESUME_CACHE=off AUTORESUME_LOG=debug run_client lib with_lib "${c[@]}"
    gnutls_serv_stop
    t_assert_match "$(gtls_outcome base)" 'conn 1 error handshake' "without the library bob's connection fails"
    t_assert_match "$(gtls_outcome base)" 'conn 2 ok' "without the library alice's connections succeed"
    t_assert_eq "$(gtls_outcome lib)" "$(gtls_outcome base)" "per-connection outcomes as without the library"
    t_assert_match "$(cat "$T_DIR/lib.err")" "not offered: program uses PSK or SRP credentials" \
        "the library's log says why"
}
t_register gnutls.sec.psk-identity t_gnutls_sec_psk

t_gnutls_sec_client_keys() {
    local proto=$1
    gtls_build
    nginx_start s "$proto" tickets nocache clientca2 || t_fatal "nginx did not start"
    local c=(-n 3 -v auto -h localhost -c "$CERTS/ca1.pem" -s localhost
        -C "$CERTS/clientA.pem" -K "$CERTS/clientA.key"
        -E "$CERTS/clientC.pem:$CERTS/clientC.key" -O "$CERTS/clientB.pem:$CERTS/clientB.key")
    gtls_base base "${c[@]}"
    local base_log
    base_log=$(nginx_log s | awk '{ print $3 }' | tr '\n' ' ')
    gtls_run lib off "${c[@]}"
    nginx_stop s
    local lib_log
    lib_log=$(nginx_log s | tail -n 3 | awk '{ print $3 }' | tr '\n' ' ')
    echo "client certificates seen by nginx: without the library: $base_log; with it: $lib_log"
    local cfp
    cfp=$(<"$CERTS/clientC.sha1")
    t_assert_eq "$base_log" "$cfp - $cfp " "without the library: C, none, C"
    t_assert_eq "$lib_log" "$base_log" "with the library: the same client certificates"
    t_assert_eq "$(nginx_log s | tail -n 3 | awk '{ printf "%s ", $1 }')" ". . r " \
        "server: the third connection resumed the first's session (control)"
}

t_gnutls_sec_vname_late() {
    local proto=$1
    gtls_build
    nginx_start s "$proto" tickets nocache || t_fatal "nginx did not start"
    local c=(-n 3 -v auto -h localhost -W wrong.example -c "$CERTS/ca1.pem" -s localhost)
    gtls_base base "${c[@]}"
    gtls_run lib off "${c[@]}"
    nginx_stop s
    t_assert_match "$(gtls_outcome base)" 'conn 1 error handshake' "without the library the rewritten name fails"
    t_assert_eq "$(gtls_outcome lib)" "$(gtls_outcome base)" "per-connection outcomes as without the library"
    t_assert_eq "$(reused_column s | awk '{ print $NF }')" r "server: the third connection resumed (control)"
}

# Review B findings (branch revB):
#   gnutls.sec.max-handshake-size.PROTO  the middle connection sets
#       gnutls_handshake_set_max_packet_length below the size of a full
#       handshake with the server's certificate: GnuTLS refuses it
#       (GNUTLS_E_HANDSHAKE_TOO_LARGE), and must with the library (no key
#       holds the limit; a resumed handshake has no Certificate message).
#   gnutls.sec.verify-name-again.tls13  the middle connection makes a
#       non-blocking handshake and rewrites the host name buffer of
#       gnutls_session_set_verify_cert after the first GNUTLS_E_AGAIN,
#       before GnuTLS reads it to verify: without the library it fails.
t_gnutls_sec_max_hs() {
    local proto=$1 limit=4000
    gtls_build
    nginx_start s "$proto" tickets nocache || t_fatal "nginx did not start"
    # The largest limit a full handshake with this server exceeds (in steps
    # of 50 bytes): a resumed handshake, without the Certificate and
    # CertificateVerify messages, is some hundreds of bytes smaller.
    while ((limit > 200)) &&
        "$GTLS" -n 2 -c "$CERTS/ca1.pem" -s localhost -M "$limit" 127.0.0.1 "$NGINX_PORT" |
        grep -q '^conn 1 ok'; do
        limit=$((limit - 50))
    done
    echo "measured: limit $limit bytes"
    local c=(-n 3 -v auto -h localhost -c "$CERTS/ca1.pem" -s localhost -M "$limit")
    gtls_base base "${c[@]}"
    gtls_run lib off "${c[@]}"
    nginx_stop s
    echo "without the library:"; cat "$T_DIR/base.out"
    echo "with it:"; cat "$T_DIR/lib.out"
    t_assert_match "$(gtls_outcome base)" 'conn 1 error handshake' "without the library the limit refuses the server"
    t_assert_eq "$(gtls_outcome lib)" "$(gtls_outcome base)" "per-connection outcomes as without the library"
}
t_gnutls_sec_vname_again() {
    local proto=$1
    gtls_build
    nginx_start s "$proto" tickets nocache || t_fatal "nginx did not start"
    local c=(-n 3 -X -v auto -h localhost -w wrong.example -c "$CERTS/ca1.pem" -s localhost)
    gtls_base base "${c[@]}"
    gtls_run lib off "${c[@]}"
    nginx_stop s
    echo "without the library:"; cat "$T_DIR/base.out"
    echo "with it:"; cat "$T_DIR/lib.out"
    t_assert_match "$(gtls_outcome base)" 'conn 1 error handshake' "without the library the rewritten name fails"
    t_assert_eq "$(gtls_outcome lib)" "$(gtls_outcome base)" "per-connection outcomes as without the library"
}
#   gnutls.sec.trust-change.lazy-manual-full-io2.PROTO  lazy-manual-full
#       (the deferred trust check at the first record) with a program that
#       moves its records with gnutls_record_send2 / gnutls_record_recv_packet.
t_gnutls_sec_lazy_io2() { # PROTO
    GTLS_SEC_STAGE="refused before the request" gtls_sec_pair "$1" srv1 -L -v manual -c "$CERTS/ca1.pem" -s localhost \
        -- -o -S -L -v manual-full -c "$CERTS/ca2.pem" -s localhost
}
for proto in tls13 tls12; do
    t_register "gnutls.sec.trust-change.lazy-manual-full-io2.$proto" "t_gnutls_sec_lazy_io2 $proto"
done
for proto in tls13 tls12; do
    t_register "gnutls.sec.max-handshake-size.$proto" "t_gnutls_sec_max_hs $proto"
    t_register "gnutls.sec.verify-name-again.$proto" "t_gnutls_sec_vname_again $proto"
done

for proto in tls13 tls12; do
    t_register "gnutls.sec.client-keys.$proto" "t_gnutls_sec_client_keys $proto"
    t_register "gnutls.sec.verify-name-late.$proto" "t_gnutls_sec_vname_late $proto"
done

# ------------------------------------------------- 8. the TCP_NODELAY window --
# After a resumed handshake the library turns TCP_NODELAY on until the
# program's first write (ar_nodelay.h), so that Nagle does not hold the
# request behind the client's last handshake flight. The program (which
# never sets it) must find it on right after a resumed handshake only,
# nothing of its first write unsent right after it (SIOCOUTQNSD), and
# TCP_NODELAY off again after that write.

t_gnutls_nodelay() {
    local proto=$1
    gtls_build
    nginx_start s "$proto" tickets nocache || t_fatal "nginx did not start"
    gtls_run c off -N -n 3 -c "$CERTS/ca1.pem" -s localhost
    t_assert_status $? 0 "gtls_client -N"
    grep -E '^(nodelay|conn) ' "$T_DIR/c.out" | sed 's/^/  /'
    t_assert_eq "$(gtls_count c '^nodelay [0-9]+ hs=[01] write=0 held=[0-9]+$')" 3 \
        "TCP_NODELAY off after the first write, every connection (the program's setting)"
    t_assert_eq "$(grep '^nodelay 0 ' "$T_DIR/c.out" | cut -d' ' -f1-4)" "nodelay 0 hs=0 write=0" \
        "full handshake: left alone"
    t_assert_eq "$(gtls_count c '^nodelay [12] hs=1 write=0 held=0$')" 2 \
        "resumed handshakes: on until the first write, which is sent at once"
    server_check s 3 2
}

for proto in tls13 tls12; do
    t_register "gnutls.c.nodelay-window.$proto" "t_gnutls_nodelay $proto"
done

# ------------------------------------------------------------ 9. threads --
# gtls_client -t 8 -n 25: eight threads, each with its own credentials and
# sessions, in one process (store off): every connection succeeds and the
# server resumes at least 80% (the first connection of each thread may find
# nothing yet; TLS 1.3 tickets are single use).

t_gnutls_threads() {
    local proto=$1 lines reused
    gtls_build
    nginx_start s "$proto" tickets nocache || t_fatal "nginx did not start"
    gtls_run c off -t 8 -n 25 -v auto -c "$CERTS/ca1.pem" -s localhost
    t_assert_status $? 0 "gtls_client -t 8 -n 25"
    t_assert_eq "$(gtls_count c '^conn [0-9]+ ok ')" 200 "connections ok"
    nginx_stop s
    lines=$(count_lines s)
    reused=$(count_reused s)
    echo "measured: gtls_client 8 threads x 25 $proto: resumed $reused of $lines (server)"
    t_assert_eq "$lines" 200 "requests seen by the server"
    t_assert_ge "$((reused * 100 / 200))" 80 "percent resumed (server)"
}

for proto in tls13 tls12; do
    t_register "gnutls.c.threads.$proto" "t_gnutls_threads $proto"
done

# ------------------------------------------------ 10. the ticket's lifetime --
# The library reads each NewSessionTicket's lifetime (a handshake hook, before
# GnuTLS parses the message) and keeps the session no longer: with nginx's
# 2 s lifetime, --list shows the session for at most 2 s, and a run after
# that finds nothing to offer (a full handshake, not a refused offer).

t_gnutls_lifetime() {
    local proto=$1 st log=$T_DIR/ar.log exp
    gtls_need_tool "$WGET"
    st=$(new_store)
    nginx_start s "$proto" tickets nocache timeout=2s || t_fatal "nginx did not start"
    wget_get r1 "$st" "$NGINX_PORT" --ca-certificate="$CERTS/ca1.pem"
    t_assert_status $? 0 "run 1"
    wget_get r2 "$st" "$NGINX_PORT" --ca-certificate="$CERTS/ca1.pem"
    t_assert_status $? 0 "run 2"
    AUTORESUME_CACHE=$st run_client l1 "$ROOT/scripts/autoresume" --list
    exp=$(awk -v p="localhost:$NGINX_PORT" '$1 == p && $2 ~ /^gnutls/ { print $5 }' "$T_DIR/l1.out")
    t_assert_match "$exp" '^[0-2]s$' "EXPIRES IN of the GnuTLS session (server lifetime 2 s)"
    sleep 3 # the clock is what is tested: let the lifetime pass
    AUTORESUME_CACHE=$st run_client l2 "$ROOT/scripts/autoresume" --list
    t_assert_match "$(cat "$T_DIR/l2.out")" '^no sessions stored in ' "--list once the lifetime is over"
    AUTORESUME_LOG=info AUTORESUME_LOG_FILE=$log wget_get r3 "$st" "$NGINX_PORT" --ca-certificate="$CERTS/ca1.pem"
    t_assert_status $? 0 "run 3 (after the lifetime)"
    sed 's/^/  ar: /' "$log" 2>/dev/null
    t_assert_match "$(cat "$log" 2>/dev/null)" 'full handshake \(no session\)$' "run 3: nothing to offer"
    wget_get r4 "$st" "$NGINX_PORT" --ca-certificate="$CERTS/ca1.pem"
    t_assert_status $? 0 "run 4"
    nginx_stop s
    echo "measured: wget ticket-lifetime $proto: server $(reused_column s)"
    t_assert_eq "$(reused_column s)" ". r . r" "server: run 2 resumed, run 3 full, run 4 resumed"
}

for proto in tls13 tls12; do
    ((GTLS_ASAN)) && break
    t_register "gnutls.wget.ticket-lifetime.$proto" "t_gnutls_lifetime $proto"
done

# ------------------------------------------- 11. the program's handshake hook --
# The library has its own handshake hook (ticket lifetimes); a program's hook
# (gnutls_handshake_set_hook_function) must be called exactly as without the
# library: gtls_client -H counts its calls per connection. With -o (the
# program resumes by itself) the output must equal a run without the library;
# without -o the library resumes (a hook on NewSessionTicket), and the
# program's hook still runs (any: every message, as libcurl 8's; ticket).
# A hook on the server's Certificate (cert) could refuse what a resumed
# handshake does not have: such programs are offered nothing
# (gnutls.c.program-hook.cert-pin: a hook refusing the last connection's
# certificate fails it as without the library).

t_gnutls_hook() {
    local which=$1
    gtls_build
    nginx_start s tls13 tickets nocache || t_fatal "nginx did not start"
    gtls_base base -H "$which" -o -n 3 -c "$CERTS/ca1.pem" -s localhost
    t_assert_status $? 0 "gtls_client -H $which -o without the library"
    gtls_run own off -H "$which" -o -n 3 -c "$CERTS/ca1.pem" -s localhost
    t_assert_status $? 0 "gtls_client -H $which -o with the library"
    t_assert_eq "$(grep -E '^(hooks|conn) ' "$T_DIR/own.out")" \
        "$(grep -E '^(hooks|conn) ' "$T_DIR/base.out")" "hook calls and outcomes: as without the library"
    AUTORESUME_LOG=debug gtls_run lib off -H "$which" -n 3 -c "$CERTS/ca1.pem" -s localhost
    t_assert_status $? 0 "gtls_client -H $which with the library"
    t_assert_eq "$(gtls_count lib '^hooks [0-9]+ pre=[0-9]+ post=[1-9]')" 3 \
        "the program's hook ran in every connection"
    nginx_stop s
    echo "server: $(reused_column s)"
    if [[ $which != cert ]]; then
        t_assert_eq "$(reused_column s)" ". r r . r r . r r" \
            "server: the program's own resumption (without and with the library), then the library's"
    else
        t_assert_eq "$(reused_column s)" ". r r . r r . . ." \
            "server: the program's own resumption (without and with the library); the library offers nothing"
        t_assert_match "$(cat "$T_DIR/lib.err")" "not offered: program hooks handshake messages" \
            "the library's log says why"
    fi
}

for which in any ticket cert; do
    t_register "gnutls.c.program-hook.$which" "t_gnutls_hook $which"
done

# A certificate pin in a hook on the server's Certificate: the last of three
# connections refuses it. It must fail with the library as without it.
t_gnutls_hook_pin() {
    gtls_build
    nginx_start s tls13 tickets nocache || t_fatal "nginx did not start"
    gtls_base base -H cert-reject-last -n 3 -c "$CERTS/ca1.pem" -s localhost
    local base_rc=$?
    gtls_run lib off -H cert-reject-last -n 3 -c "$CERTS/ca1.pem" -s localhost
    local rc=$?
    nginx_stop s
    t_assert_match "$(gtls_outcome base)" 'conn 2 error handshake' "without the library the pinned connection fails"
    t_assert_eq "$rc" "$base_rc" "with the library: the exit status as without it"
    t_assert_eq "$(gtls_outcome lib)" "$(gtls_outcome base)" "per-connection outcomes as without the library"
}
t_register gnutls.c.program-hook.cert-pin t_gnutls_hook_pin

# ----------------------------------------- 12. git (libcurl-gnutls) across runs --
# git's https transport (git-remote-https) is libcurl-gnutls (7.88 on Debian
# 12, 8.14 on 13), which inits GnuTLS with GNUTLS_NO_TICKETS and moves data
# through its own push/pull functions (keyed without a port); libcurl 8 loads
# its CA file only after the handshake (see gnutls.c.lazy-trust). 4 separate `autoresume git
# ls-remote` runs against nginx: git then fails ("not valid: is this a git
# repository?", nginx answers "ok"), after the TLS connection, which is what
# is judged: the server resumes at least 3. TLS 1.2 needs the server's
# session cache (TLS 1.2 tickets stay off, as libcurl asked).

t_gnutls_git() {
    local cfg=$1 st i ok=0
    command -v git >/dev/null || t_fatal "missing tool git"
    st=$(new_store)
    nginx_start s $(cfg_opts "$cfg") || t_fatal "nginx did not start"
    for ((i = 1; i <= 4; i++)); do
        GIT_SSL_CAINFO="$CERTS/ca1.pem" GIT_CONFIG_NOSYSTEM=1 HOME="$T_DIR" AUTORESUME_CACHE=$st \
            run_client "git$i" ar_wrapper git ls-remote "https://localhost:$NGINX_PORT/x.git"
        grep -q 'not valid: is this a git repository' "$T_DIR/git$i.err" && ok=$((ok + 1))
    done
    t_assert_eq "$ok" 4 "git runs that got through TLS to the (non-git) answer"
    nginx_stop s
    echo "measured: git ls-remote $cfg: resumed $(count_reused s) of $(count_lines s) processes (server)"
    server_check s 4 3
}

# gnutls.git.sec.trust-change.CFG: a git run trusting CA1 leaves a session in
# the store; a run trusting only CA2 must then fail as it does without the
# library (libcurl 8 verifies the resumed session itself once it has loaded
# CA2), and be served nothing.
t_gnutls_git_sec() {
    local cfg=$1 st
    command -v git >/dev/null || t_fatal "missing tool git"
    st=$(new_store)
    nginx_start s $(cfg_opts "$cfg") || t_fatal "nginx did not start"
    git_run() { # LABEL CA [with the library]
        local label=$1 ca=$2
        shift 2
        GIT_SSL_CAINFO="$CERTS/$ca.pem" GIT_CONFIG_NOSYSTEM=1 HOME="$T_DIR" AUTORESUME_CACHE=$st \
            run_client "$label" "$@" git ls-remote "https://localhost:$NGINX_PORT/x.git"
    }
    git_run first ca1 ar_wrapper
    t_assert_match "$(cat "$T_DIR/first.err")" 'not valid: is this a git repository' \
        "first run (CA1) gets through TLS"
    git_run second.base ca2
    local base=$?
    git_run second ca2 ar_wrapper
    t_assert_status $? "$base" "second run (CA2) with the library: as without it"
    t_assert_nomatch "$(cat "$T_DIR/second.err")" 'not valid: is this a git repository' \
        "second run (CA2) does not get through TLS"
    nginx_stop s
    t_assert_eq "$(count_lines s)" 1 "requests served (the first run only)"
}

for cfg in tls13-tickets tls12-cache; do
    ((GTLS_ASAN)) && break
    t_register "gnutls.git.$cfg" "t_gnutls_git $cfg"
    t_register "gnutls.git.sec.trust-change.$cfg" "t_gnutls_git_sec $cfg"
done

# ------------------- 13. what a resumed handshake skips besides the certificate --
# A resumed handshake has no key exchange of its own in TLS 1.2 (no DH prime,
# no ECDHE group) and no server signature in either version; GnuTLS checks
# each of these against the program's settings in a full handshake only. So
# a session may be offered only under the settings its full handshake
# passed (gtls_key.c): each test below has a connection with a stricter
# setting that fails without the library, and must fail the same way with
# it, while the next connection with the first settings resumes (the
# control: a session was there to be offered).

# gtls_dh_server NAME: s_server NAME (TLS 1.2) offering only DHE with a
# 1024-bit prime (issue 10, case 5): an RSA certificate for localhost from
# CA1 and the prime are made once per run.
gtls_dh_server() {
    local d=$RUN_DIR/dh
    if [[ ! -s $d/dh1024.pem ]]; then
        mkdir -p "$d" || t_fatal "mkdir $d"
        "$OPENSSL" dhparam -out "$d/dh1024.pem.$$" 1024 2>>"$d/log" &&
            mv -f "$d/dh1024.pem.$$" "$d/dh1024.pem" || t_fatal "openssl dhparam failed"
    fi
    if [[ ! -s $d/rsa1.pem ]]; then
        "$OPENSSL" req -new -newkey rsa:2048 -nodes -config "$CERTS/openssl.cnf" \
            -subj /CN=localhost -keyout "$d/rsa1.key" -out "$d/rsa1.csr" 2>>"$d/log" &&
            "$OPENSSL" x509 -req -in "$d/rsa1.csr" -CA "$CERTS/ca1.pem" -CAkey "$CERTS/ca1.key" \
                -CAcreateserial -days 3 -extfile "$CERTS/openssl.cnf" -extensions srv \
                -out "$d/rsa1.pem.$$" 2>>"$d/log" &&
            mv -f "$d/rsa1.pem.$$" "$d/rsa1.pem" || t_fatal "cannot make the RSA certificate"
    fi
    s_server_start "$1" tls12 -- -cert "$d/rsa1.pem" -key "$d/rsa1.key" \
        -cipher 'DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0' -dhparam "$d/dh1024.pem" ||
        t_fatal "s_server did not start"
}

# gnutls.cli.dh-bits: `gnutls-cli --dh-bits 2048` refuses the 1024-bit prime
# in a full handshake ('Diffie-Hellman prime ... not acceptable'); after a
# default run left a session in the store it must still refuse, not resume.
# The server's page says New or Reused (its view of each connection).
t_gnutls_cli_dh() {
    local st base_rc rc
    gtls_need_tool "$GNUTLS_CLI"
    st=$(new_store)
    gtls_dh_server dh
    CLI_PLAIN=1 cli_get base off "$SSERVER_PORT" --dh-bits 2048
    base_rc=$?
    t_assert_eq "$base_rc" 1 "gnutls-cli --dh-bits 2048 without the library: refused"
    t_assert_match "$(grep '^\*\*\*' "$T_DIR/base.err")" 'Diffie-Hellman prime' \
        "without the library: the error is the DH prime's"
    cli_get r1 "$st" "$SSERVER_PORT"
    t_assert_status $? 0 "default gnutls-cli (wins a session)"
    t_assert_match "$(grep -a '^New, ' "$T_DIR/r1.out")" TLSv1.2 "server: run 1 a full handshake"
    cli_get r2 "$st" "$SSERVER_PORT" --dh-bits 2048
    rc=$?
    t_assert_eq "$rc" "$base_rc" "gnutls-cli --dh-bits 2048 with the library: as without it"
    t_assert_eq "$(grep '^\*\*\*' "$T_DIR/r2.err")" "$(grep '^\*\*\*' "$T_DIR/base.err")" \
        "the same error as without the library"
    t_assert_eq "$(grep -ac '^Reused, ' "$T_DIR/r2.out")" 0 "server: run 2 not resumed"
    cli_get r3 "$st" "$SSERVER_PORT"
    t_assert_status $? 0 "default gnutls-cli again"
    t_assert_match "$(grep -a '^Reused, ' "$T_DIR/r3.out")" TLSv1.2 \
        "server: run 3 resumed (control: the session was in the store)"
    s_server_stop dh
}

((GTLS_ASAN)) || t_register gnutls.cli.dh-bits t_gnutls_cli_dh

# gtls_same_process LABEL SERVER-PORT GTLS-ARG...: gtls_client -n 3 (the
# odd-numbered connection 1 with the stricter setting given in GTLS-ARG)
# without and with the library (store off): connection 1 fails without it,
# and with it the same way; with it connection 2 resumes connection 0's
# session (the client's gnutls_session_is_resumed, the control).
gtls_same_process() {
    local label=$1 port=$2; shift 2
    gtls_build
    run_client "$label.base" "$GTLS" "${GTLS_X[@]}" -n 3 "$@" 127.0.0.1 "$port"
    t_assert_match "$(gtls_outcome "$label.base" | sed -n 2p)" '^conn 1 error handshake: ' \
        "connection 1 (stricter setting) fails without the library"
    AUTORESUME_CACHE=off run_client "$label" with_lib "$GTLS" "${GTLS_X[@]}" -n 3 "$@" \
        127.0.0.1 "$port"
    t_assert_eq "$(gtls_outcome "$label")" "$(gtls_outcome "$label.base")" \
        "with the library: every connection as without it"
    t_assert_match "$(grep '^conn 2 ' "$T_DIR/$label.out")" ' ok resumed=1 ' \
        "with the library: connection 2 resumed (control)"
}

# gnutls.c.dh-bits: the same in one process: gnutls_dh_set_prime_bits(2048)
# on connection 1 only (gtls_client -D).
t_gnutls_c_dh() {
    gtls_dh_server dh
    gtls_same_process c "$SSERVER_PORT" -D 2048 -v auto -c "$CERTS/ca1.pem" -s localhost
    s_server_stop dh
}

t_register gnutls.c.dh-bits t_gnutls_c_dh

# gnutls.c.priority-sigalgs.PROTO: connection 1's priorities allow RSA
# signatures only (-P), the server's key is ECDSA: a full handshake finds no
# signature to agree on; a resumed one would carry none.  nginx counts what
# it served: 2 requests per process, the library's second one resumed.
t_gnutls_prio_sigalgs() {
    local proto=$1
    nginx_start s "$proto" tickets nocache || t_fatal "nginx did not start"
    gtls_same_process c "$NGINX_PORT" -P 'NORMAL:-SIGN-ALL:+SIGN-RSA-SHA256:+SIGN-RSA-PSS-RSAE-SHA256' \
        -v auto -c "$CERTS/ca1.pem" -s localhost
    nginx_stop s
    t_assert_eq "$(reused_column s)" ". . . r" \
        "server: without the library 2 full; with it 1 full, 1 resumed (connection 1: nothing)"
}

# gnutls.c.priority-groups.tls12: connection 1's priorities allow SECP384R1
# only, the server X25519 only: no ECDHE in a full handshake; a resumed
# TLS 1.2 one has no key exchange at all.  (TLS 1.3 resumption keeps the
# key exchange, which GnuTLS checks live.)
t_gnutls_prio_groups() {
    s_server_start grp tls12 -- -groups X25519 || t_fatal "s_server did not start"
    gtls_same_process c "$SSERVER_PORT" -P 'NORMAL:-GROUP-ALL:+GROUP-SECP384R1' \
        -v auto -c "$CERTS/ca1.pem" -s localhost
    s_server_stop grp
}

for proto in tls13 tls12; do
    t_register "gnutls.c.priority-sigalgs.$proto" "t_gnutls_prio_sigalgs $proto"
done
t_register gnutls.c.priority-groups.tls12 t_gnutls_prio_groups

# gtls_cfg_run LABEL CONFIG with|base STORE GTLS-ARG...: gtls_client -n 1
# against $SSERVER_PORT under the system configuration $T_DIR/CONFIG.cfg,
# with the library (store STORE) or without it.
gtls_cfg_run() {
    local label=$1 cfg=$T_DIR/$2.cfg how=$3 st=$4
    shift 4
    if [[ $how == base ]]; then
        GNUTLS_SYSTEM_PRIORITY_FILE=$cfg run_client "$label" "$GTLS" "${GTLS_X[@]}" -n 1 "$@" \
            127.0.0.1 "$SSERVER_PORT"
    else
        GNUTLS_SYSTEM_PRIORITY_FILE=$cfg AUTORESUME_CACHE=$st run_client "$label" with_lib \
            "$GTLS" "${GTLS_X[@]}" -n 1 "$@" 127.0.0.1 "$SSERVER_PORT"
    fi
}

# gtls_cfg_trio FIRST-CFG SECOND-CFG SECOND-ARG -- GTLS-ARG...: the first
# process (FIRST-CFG) wins a session; the second (SECOND-CFG, SECOND-ARG
# added; "" for none) fails without the library and must fail the same way
# with it; a third like the first resumes (control, the client's
# gnutls_session_is_resumed).  Against s_server $SSERVER_PORT, one store.
gtls_cfg_trio() {
    local c1=$1 c2=$2 extra=() st
    [[ -n $3 ]] && extra=("$3")
    shift 4
    st=$(new_store)
    gtls_cfg_run first "$c1" with "$st" "$@"
    t_assert_match "$(gtls_outcome first)" '^conn 0 ok ' "first process ($c1.cfg)"
    gtls_cfg_run second.base "$c2" base "$st" "${extra[@]}" "$@"
    t_assert_match "$(gtls_outcome second.base)" '^conn 0 error handshake' \
        "second process ($c2.cfg ${extra[*]}), without the library: fails"
    gtls_cfg_run second "$c2" with "$st" "${extra[@]}" "$@"
    t_assert_eq "$(gtls_outcome second)" "$(gtls_outcome second.base)" \
        "second process, with the library: as without it"
    gtls_cfg_run third "$c1" with "$st" "$@"
    t_assert_match "$(grep '^conn 0 ' "$T_DIR/third.out")" ' ok resumed=1 ' \
        "third process ($c1.cfg): resumed (control)"
}

# gnutls.sec.system-config.tls13: GnuTLS's system configuration file
# (GNUTLS_SYSTEM_PRIORITY_FILE) changes what every priority string means.
# A process under an empty one wins a session; a process under one that
# marks ECDSA-SHA256 signatures insecure fails against the ECDSA server
# without the library, and must with it (a resumed TLS 1.3 handshake has no
# signature); a third under the empty one resumes (control, the client's
# gnutls_session_is_resumed).  The server's certificate is self-signed and
# trusted as it is: under CA1 (which signs with ECDSA-SHA256) the trust
# check before the offer would refuse the session on its own.
t_gnutls_sysconf() {
    gtls_build
    : >"$T_DIR/empty.cfg"
    printf '[overrides]\ninsecure-sig = ECDSA-SECP256R1-SHA256\ninsecure-sig = ECDSA-SHA256\n' \
        >"$T_DIR/strict.cfg"
    s_server_start sys tls13 self || t_fatal "s_server did not start"
    gtls_cfg_trio empty strict "" -- -v auto -c "$CERTS/self.pem" -s localhost
    s_server_stop sys
}

# gnutls.sec.process-setting.tls13: in the allowlisting mode of the system
# configuration a program may change algorithm settings for the whole
# process (gnutls_sign_set_secure and its siblings), which no key holds.
# gtls_client -I marks the server's signature algorithm insecure: it fails
# without the library, and must with it (the library stops offering and
# keeping sessions in that process).
t_gnutls_process_setting() {
    gtls_build
    cat >"$T_DIR/allow.cfg" <<'CFG'
[global]
override-mode = allowlist

[overrides]
secure-hash = SHA256
secure-hash = SHA384
secure-sig = ECDSA-SECP256R1-SHA256
secure-sig = ECDSA-SHA256
secure-sig = RSA-PSS-RSAE-SHA256
enabled-version = TLS1.3
enabled-curve = SECP256R1
tls-enabled-cipher = AES-128-GCM
tls-enabled-cipher = AES-256-GCM
tls-enabled-mac = AEAD
tls-enabled-group = SECP256R1
tls-enabled-kx = ECDHE-ECDSA
CFG
    s_server_start set tls13 self || t_fatal "s_server did not start"
    gtls_cfg_trio allow allow "-IECDSA-SECP256R1-SHA256" -- -v auto -c "$CERTS/self.pem" -s localhost
    s_server_stop set
}

t_register gnutls.sec.system-config.tls13 t_gnutls_sysconf
t_register gnutls.sec.process-setting.tls13 t_gnutls_process_setting

# gnutls.sec.profile.manual-full.tls12: the priorities' verification
# profile (%PROFILE_ULTRA: the server's P-256 key is too small) is GnuTLS's
# check of the session, not of the trust list.  gtls_client -o -v
# manual-full verifies full handshakes only (its own cache holds only
# sessions it verified): both connections fail verification without the
# library, and must with it, so no session of that full handshake may be
# kept (the TLS 1.2 session is captured when the handshake ends, before the
# program verifies).  nginx serves nothing.
t_gnutls_sec_profile() {
    local args=(-n 2 -o -p 'NORMAL:%PROFILE_ULTRA' -v manual-full -c "$CERTS/ca1.pem" -s localhost)
    gtls_build
    nginx_start s tls12 tickets nocache || t_fatal "nginx did not start"
    gtls_base base "${args[@]}"
    t_assert_eq "$(gtls_count base '^conn [0-9]+ error verify: ')" 2 \
        "without the library: both connections fail verification"
    gtls_run c off "${args[@]}"
    t_assert_eq "$(gtls_outcome c)" "$(gtls_outcome base)" "with the library: as without it"
    nginx_stop s
    t_assert_eq "$(count_lines s)" 0 "requests served"
}

t_register gnutls.sec.profile.manual-full.tls12 t_gnutls_sec_profile

# ------------------------------------------ 14. what GnuTLS does only when resuming --

# gnutls.sec.early-data.tls13: a program that passes GNUTLS_ENABLE_EARLY_DATA
# to gnutls_init and hands its request to gnutls_record_send_early_data
# (gtls_client -e), but never resumes by itself, never sends 0-RTT data:
# GnuTLS sends it only with a session to resume.  Found by review: with the
# library's offer, gnutls-serv --earlydata accepted it on connections 1 and 2
# (replayable data the program never sent without us).  The server's
# acceptance is the client's GNUTLS_SFLAGS_EARLY_DATA.  Control: the same
# connections without -e resume.
t_gnutls_sec_early_data() {
    local c
    gtls_build
    gnutls_serv_start --earlydata --maxearlydata 1000 --x509certfile="$CERTS/srv1.pem" \
        --x509keyfile="$CERTS/srv1.key" || t_fatal "gnutls-serv did not start"
    c=("$GTLS" "${GTLS_X[@]}" -n 3 -v auto -c "$CERTS/ca1.pem" -s localhost)
    run_client base "${c[@]}" -e 127.0.0.1 "$GSERV_PORT"
    AUTORESUME_CACHE=off AUTORESUME_LOG=debug run_client lib with_lib "${c[@]}" -e 127.0.0.1 "$GSERV_PORT"
    AUTORESUME_CACHE=off run_client ctl with_lib "${c[@]}" 127.0.0.1 "$GSERV_PORT"
    gnutls_serv_stop
    t_assert_eq "$(gtls_count base '^early [0-9]+ accepted=1')" 0 "without the library: no early data accepted"
    t_assert_eq "$(grep -E '^(conn|early) ' "$T_DIR/lib.out")" "$(grep -E '^(conn|early) ' "$T_DIR/base.out")" \
        "with the library: every connection as without it (no early data, not resumed)"
    t_assert_match "$(cat "$T_DIR/lib.err")" "not offered: program enables early data" \
        "the library's log says why"
    t_assert_eq "$(gtls_count ctl '^conn [12] ok resumed=1 ')" 2 \
        "control, without GNUTLS_ENABLE_EARLY_DATA: connections 1 and 2 resumed"
}
t_register gnutls.sec.early-data.tls13 t_gnutls_sec_early_data

# gnutls.sec.ocsp-expired.PROTO: GnuTLS keeps a stapled OCSP response in the
# session data and checks it again whenever the session's certificates are
# verified, a resumption's too; past its nextUpdate that check fails
# (GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED), while a full handshake gets the
# server's current staple (gnutls-serv no longer sends an expired one).
# Found by review: wget with a session won under a response that had since
# expired failed ("certificate not trusted") where it succeeds without the
# library, run after run.  The response here is made 54 s in the past
# (faketime) with a 1-minute validity: run 1 (the program verifies after the
# handshake, as wget: -v manual) wins a session while it is valid; after its
# nextUpdate runs 2 (manual) and 3 (auto) in new processes, one store, must
# succeed as without the library; run 4 resumes run 3's session (control).
t_gnutls_sec_ocsp_expired() {
    local proto=$1 d=$T_DIR/ocsp serial prio=() i
    local fake; fake=$(command -v faketime 2>/dev/null) || t_fatal "faketime is needed (scripts/install-deps.sh)"
    [[ $proto == tls12 ]] && prio=(-p 'NORMAL:-VERS-TLS1.3')
    gtls_build
    mkdir -p "$d" || t_fatal "mkdir $d"
    serial=$("$OPENSSL" x509 -in "$CERTS/srv1.pem" -noout -serial | cut -d= -f2)
    printf 'V\t491231235959Z\t\t%s\tunknown\t/CN=localhost\n' "$serial" >"$d/index.txt"
    "$OPENSSL" ocsp -issuer "$CERTS/ca1.pem" -cert "$CERTS/srv1.pem" -reqout "$d/req.der" -no_nonce \
        2>>"$d/log" &&
        "$fake" -f -54 "$OPENSSL" ocsp -index "$d/index.txt" -rsigner "$CERTS/ca1.pem" \
            -rkey "$CERTS/ca1.key" -CA "$CERTS/ca1.pem" -reqin "$d/req.der" -respout "$d/resp.der" \
            -nmin 1 >>"$d/log" 2>&1 || t_fatal "cannot make the OCSP response: $(cat "$d/log")"
    local until; until=$(date -d "$("$OPENSSL" ocsp -respin "$d/resp.der" -resp_text -noverify |
        sed -n 's/^ *Next Update: //p')" +%s) || t_fatal "no nextUpdate in the response"
    echo "  staple's nextUpdate in $((until - $(date +%s))) s"
    gnutls_serv_start --x509certfile="$CERTS/srv1.pem" --x509keyfile="$CERTS/srv1.key" \
        --ocsp-response="$d/resp.der" || t_fatal "gnutls-serv did not start"
    local st; st=$(new_store)
    local c=("$GTLS" "${GTLS_X[@]}" "${prio[@]}" -c "$CERTS/ca1.pem" -s localhost)
    AUTORESUME_CACHE=$st AUTORESUME_LOG=debug run_client r1 with_lib "${c[@]}" -v manual 127.0.0.1 "$GSERV_PORT"
    t_assert_match "$(gtls_outcome r1)" '^conn 0 ok ' "run 1 (staple valid) succeeds"
    t_assert_match "$(cat "$T_DIR/r1.err")" "stored (ticket|session)" "run 1's session stored"
    while (($(date +%s) <= until)); do sleep 0.5; done
    for i in 2 3; do
        local m=manual; ((i == 3)) && m=auto
        run_client "base$i" "${c[@]}" -v "$m" 127.0.0.1 "$GSERV_PORT"
        t_assert_match "$(gtls_outcome "base$i")" '^conn 0 ok ' "run $i (-v $m) after nextUpdate, without the library: succeeds"
        AUTORESUME_CACHE=$st AUTORESUME_LOG=debug run_client "r$i" with_lib "${c[@]}" -v "$m" 127.0.0.1 "$GSERV_PORT"
        t_assert_eq "$(gtls_outcome "r$i")" "$(gtls_outcome "base$i")" "run $i, with the library: as without it"
    done
    AUTORESUME_CACHE=$st run_client r4 with_lib "${c[@]}" -v auto 127.0.0.1 "$GSERV_PORT"
    gnutls_serv_stop
    t_assert_match "$(grep '^conn 0 ' "$T_DIR/r4.out")" ' ok resumed=1 ' "run 4 resumed run 3's session (control)"
}
for proto in tls13 tls12; do
    t_register "gnutls.sec.ocsp-expired.$proto" "t_gnutls_sec_ocsp_expired $proto"
done

# gnutls.c.srp-bits: GnuTLS 3.7's gnutls_srp_set_prime_bits writes the field
# of gnutls_dh_set_prime_bits (lib/srp.c): the same test as gnutls.c.dh-bits
# with it (gtls_client -R 2048 on connection 1).  Found by review: the
# session won without a minimum resumed under the 2048-bit one.  Where
# GnuTLS keeps SRP's minimum apart (3.8: connection 1 succeeds without the
# library) not applicable.
t_gnutls_c_srp_bits() {
    gtls_build
    gtls_dh_server dh
    run_client probe "$GTLS" "${GTLS_X[@]}" -n 2 -R 2048 -v auto -c "$CERTS/ca1.pem" -s localhost \
        127.0.0.1 "$SSERVER_PORT"
    if [[ $(gtls_outcome probe | sed -n 2p) == "conn 1 ok "* ]]; then
        s_server_stop dh
        echo "not applicable: GnuTLS $(gnutls-cli --version | head -1 | awk '{print $NF}') keeps gnutls_srp_set_prime_bits apart from the DH minimum"
        return 0
    fi
    gtls_same_process c "$SSERVER_PORT" -R 2048 -v auto -c "$CERTS/ca1.pem" -s localhost
    s_server_stop dh
}
t_register gnutls.c.srp-bits t_gnutls_c_srp_bits

# gnutls.c.verify-cert-status.PROTO: gnutls_session_get_verify_cert_status
# after each handshake of gtls_client -n 3 -v auto -V (one process): as
# without the library (0, the certificate verified), on the resumed
# connections too.  GnuTLS resets the status at every handshake and skips
# its check on a resumed one, which the library replays.  Found by review:
# 0xffffffff after a resumed handshake.
t_gnutls_c_vc_status() {
    local proto=$1 prio=()
    [[ $proto == tls12 ]] && prio=(-p 'NORMAL:-VERS-TLS1.3')
    gtls_build
    gnutls_serv_start --x509certfile="$CERTS/srv1.pem" --x509keyfile="$CERTS/srv1.key" ||
        t_fatal "gnutls-serv did not start"
    local c=("$GTLS" "${GTLS_X[@]}" "${prio[@]}" -n 3 -V -v auto -c "$CERTS/ca1.pem" -s localhost
        127.0.0.1 "$GSERV_PORT")
    run_client base "${c[@]}"
    AUTORESUME_CACHE=off run_client lib with_lib "${c[@]}"
    gnutls_serv_stop
    t_assert_eq "$(grep -c '^vcstatus [0-9]* 0$' "$T_DIR/base.out")" 3 "without the library: status 0 each time"
    t_assert_eq "$(grep '^vcstatus ' "$T_DIR/lib.out")" "$(grep '^vcstatus ' "$T_DIR/base.out")" \
        "with the library: the same statuses"
    t_assert_eq "$(gtls_count lib '^conn [12] ok resumed=1 ')" 2 "with the library: connections 1 and 2 resumed"
}
for proto in tls13 tls12; do
    t_register "gnutls.c.verify-cert-status.$proto" "t_gnutls_c_vc_status $proto"
done

# gnutls.c.late-change.{dh-bits,priority-sigalgs.PROTO,cert-pin.PROTO,max-handshake-size.PROTO}:
# the setting of gnutls.c.dh-bits, gnutls.c.priority-sigalgs,
# gnutls.c.program-hook.cert-pin and gnutls.sec.max-handshake-size made on
# connection 1 after its first gnutls_handshake call returned
# GNUTLS_E_AGAIN (gtls_client -A: the first read says EAGAIN, the
# ClientHello is out), where GnuTLS still applies it to the rest of the
# handshake: it fails without the library and must with it, the same way.
# Found by review: the library keyed and checked hooks at the first call
# only, and connection 1 resumed.  Connection 1 took the session of
# connection 0 (the same settings at the first call); a TLS 1.2 session is
# there for connection 2 still, a TLS 1.3 ticket is spent, so TLS 1.3 runs 4
# connections: 2 is a full handshake and 3 resumes its ticket (control).
gtls_late_same_process() { # LABEL SERVER-PORT N GTLS-ARG...
    local label=$1 port=$2 n=$3; shift 3
    gtls_build
    run_client "$label.base" "$GTLS" "${GTLS_X[@]}" -n "$n" "$@" 127.0.0.1 "$port"
    t_assert_match "$(gtls_outcome "$label.base" | sed -n 2p)" '^conn 1 error handshake: ' \
        "connection 1 (setting changed after GNUTLS_E_AGAIN) fails without the library"
    AUTORESUME_CACHE=off AUTORESUME_LOG=debug run_client "$label" with_lib "$GTLS" "${GTLS_X[@]}" \
        -n "$n" "$@" 127.0.0.1 "$port"
    local strip=cat
    # The library cannot tell which check a full handshake would have
    # failed, so it names the one of the setting that changed (gtls_resume.c,
    # note_late); GnuTLS may notice a priority change elsewhere first.
    ((${LATE_ANY_ERROR:-0})) && strip=(sed 's/ error handshake: .*/ error handshake/')
    t_assert_eq "$(gtls_outcome "$label" | "${strip[@]}")" "$(gtls_outcome "$label.base" | "${strip[@]}")" \
        "with the library: every connection as without it"
    t_assert_match "$(grep "^conn $((n - 1)) " "$T_DIR/$label.out")" ' ok resumed=1 ' \
        "with the library: connection $((n - 1)) resumed (control)"
}
t_gnutls_late_dh() {
    gtls_dh_server dh
    gtls_late_same_process c "$SSERVER_PORT" 3 -A dh:2048 -v auto -c "$CERTS/ca1.pem" -s localhost
    # The server resumes connection 1 before the client refuses it.
    t_assert_eq "$(s_server_hits dh --ciphers 'DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0')" 2 \
        "server: two resumptions in both runs (connection 1, refused by the client, and the control)"
    s_server_stop dh
}
t_gnutls_late_nginx() { # PROTO CHANGE [any-error]
    local proto=$1 change=$2 n=3 want=". . . r" LATE_ANY_ERROR=0
    [[ ${3:-} == any-error ]] && LATE_ANY_ERROR=1
    [[ $proto == tls13 ]] && n=4 want=". . . . . r"
    nginx_start s "$proto" tickets nocache || t_fatal "nginx did not start"
    gtls_late_same_process c "$NGINX_PORT" "$n" -A "$change" -v auto -c "$CERTS/ca1.pem" \
        -s localhost
    nginx_stop s
    t_assert_eq "$(reused_column s)" "$want" \
        "server: without the library no resumption; with it the control only (connection 1: nothing)"
}
# The largest limit a full handshake exceeds (see t_gnutls_sec_max_hs).
t_gnutls_late_max_hs() { # PROTO
    local proto=$1 limit=4000
    gtls_build
    nginx_start m "$proto" tickets nocache || t_fatal "nginx did not start"
    while ((limit > 200)) &&
        "$GTLS" -n 2 -c "$CERTS/ca1.pem" -s localhost -M "$limit" 127.0.0.1 "$NGINX_PORT" |
        grep -q '^conn 1 ok'; do
        limit=$((limit - 50))
    done
    nginx_stop m
    echo "measured: limit $limit bytes"
    t_gnutls_late_nginx "$proto" "mpl:$limit"
}
t_register gnutls.c.late-change.dh-bits t_gnutls_late_dh
for proto in tls13 tls12; do
    t_register "gnutls.c.late-change.priority-sigalgs.$proto" \
        "t_gnutls_late_nginx $proto prio:NORMAL:-SIGN-ALL:+SIGN-RSA-SHA256:+SIGN-RSA-PSS-RSAE-SHA256 any-error"
    t_register "gnutls.c.late-change.cert-pin.$proto" "t_gnutls_late_nginx $proto cert-pin"
    t_register "gnutls.c.late-change.max-handshake-size.$proto" "t_gnutls_late_max_hs $proto"
done
