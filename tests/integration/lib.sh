# shellcheck shell=bash
# tests/integration/lib.sh - helpers for the libautoresume integration tests.
#
# Source it from a bash test script; it defines:
#   run dir      RUN_DIR (mktemp -d), removed at exit unless KEEP=1
#   certs        make_certs DIR
#   nginx        nginx_start NAME OPT... / nginx_stop NAME / nginx_port NAME
#                count_reused NAME / count_lines NAME / nginx_log NAME
#   s_server     s_server_start NAME OPT... / s_server_stop NAME / s_server_hits NAME
#   runner       t_register NAME FUNC / t_main "$@" / t_run NAME FUNC
#   asserts      t_assert_eq / t_assert_ge / t_assert_le / t_assert_match /
#                t_assert_nomatch / t_assert_empty_file / t_fail / t_fatal
#   clients      with_lib CMD... / run_client LABEL CMD...
#
# The runner re-executes the test script ($T_SCRIPT, by default the script
# that sourced this file) once per test as `T_SCRIPT --t-run-one FUNC` under
# timeout(1): every test gets its own process (a subshell in effect), its own
# directory $T_DIR, a log file, and its servers are stopped when it ends, even
# on timeout.  Servers are also recorded in $RUN_DIR/pids, which the top-level
# EXIT trap kills, so nothing is left behind.

# ---------------------------------------------------------------- basics --

# Tools, by absolute path (the pyenv python on PATH is not the one we want).
: "${PYTHON:=/usr/bin/python3}"
: "${PERL:=/usr/bin/perl}"
: "${RUBY:=/usr/bin/ruby}"
: "${OPENSSL:=/usr/bin/openssl}"
: "${NGINX:=/usr/sbin/nginx}"
: "${T_TIMEOUT:=120}"

# Nothing from the caller's environment may change what the tests see.
# (In the per-test processes AUTORESUME_CACHE, set below by the top one, stays.)
[[ -n ${RUN_DIR:-} ]] || unset AUTORESUME_CACHE AUTORESUME_CACHE_MAX_BYTES
unset LD_PRELOAD AUTORESUME_DISABLE AUTORESUME_LOG AUTORESUME_LOG_FILE \
      AUTORESUME_MAX_HOSTS AUTORESUME_TICKETS AUTORESUME_LIBRARY \
      SSL_CERT_FILE SSL_CERT_DIR OPENSSL_CONF PYTHONPATH PYTHONHOME 2>/dev/null

T_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${T_SCRIPT:=$(realpath "${BASH_SOURCE[${#BASH_SOURCE[@]}-1]}")}"

_t_now_ms() { date +%s%3N; }

# The run directory: created by the top-level process, inherited by the
# per-test processes (which must not remove it).
if [[ -z ${RUN_DIR:-} ]]; then
    RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/autoresume-it.XXXXXX") || exit 2
    export RUN_DIR
    export T_TOP_PID=$$
    mkdir -p "$RUN_DIR/logs" "$RUN_DIR/t"
    : >"$RUN_DIR/pids"
    # Base of the port range for this run, derived from our pid; ports stay
    # in 20000..31999, below the usual ephemeral range (32768..60999).
    export T_PORT_BASE=$((20000 + ($$ % 500) * 20))
    echo 0 >"$RUN_DIR/portseq"
    # The library's per-user session store (shared by processes): one of our
    # own for each run, so that runs neither see nor leave sessions in the
    # user's (T_AR_CACHE overrides, e.g. 'off').
    mkdir -m 700 "$RUN_DIR/store"
    export AUTORESUME_CACHE=${T_AR_CACHE:-$RUN_DIR/store}
fi
: "${T_DIR:=$RUN_DIR}"

# Kill every server that any test of this run started and that is still
# alive (checked against its command line, so a recycled pid is left alone).
_t_kill_registered() {
    local pid what cmd
    [[ -f $RUN_DIR/pids ]] || return 0
    while read -r pid what; do
        [[ $pid =~ ^[0-9]+$ ]] || continue
        cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || continue
        [[ $cmd == *"$what"* ]] || continue
        kill -TERM "$pid" 2>/dev/null
    done <"$RUN_DIR/pids"
}

_t_top_cleanup() {
    [[ $$ == "${T_TOP_PID:-}" ]] || return 0
    # Interrupted while a test runs: stop it (timeout(1) passes the signal on
    # to the test, whose own trap stops its servers), then what is left.
    if [[ -n ${T_CHILD:-} ]] && kill -0 "$T_CHILD" 2>/dev/null; then
        kill -TERM "$T_CHILD" 2>/dev/null
        wait "$T_CHILD" 2>/dev/null
    fi
    _t_kill_registered
    [[ ${KEEP:-0} == 1 ]] || rm -rf "$RUN_DIR"
}

if [[ $$ == "${T_TOP_PID:-}" ]]; then
    trap _t_top_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
fi

_t_register_pid() { echo "$1 $2" >>"$RUN_DIR/pids"; }

# A loopback TCP port nobody listens on (checked in /proc/net/tcp); the
# caller still retries on a bind failure, as the check is not atomic.
_t_port_listening() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v h="$hex" '$4 == "0A" && $2 ~ h"$" { f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

t_free_port() {
    local seq port tries=0
    while ((tries++ < 200)); do
        seq=$(<"$RUN_DIR/portseq")
        echo $((seq + 1)) >"$RUN_DIR/portseq"
        port=$((T_PORT_BASE + seq % 2000))
        _t_port_listening "$port" || { echo "$port"; return 0; }
    done
    return 1
}

# ----------------------------------------------------------------- certs --

# make_certs DIR: EC P-256 CA1, CA2, srv1 (CA1), srv2 (CA2), self (self-signed),
# clientA, clientB (CA1), clientC (CA2).  Server certs are for DNS:localhost and IP:127.0.0.1.
# Writes NAME.pem / NAME.key, and NAME.sha1 (lowercase hex, no colons, as
# nginx's $ssl_client_fingerprint) for the client certs.
make_certs() {
    local d=$1 n
    mkdir -p "$d" || return 1
    cat >"$d/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[srv]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[cli]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    local cnf=(-config "$d/openssl.cnf")
    _mc_ca() {   # name CN
        "$OPENSSL" req -x509 "${ec[@]}" "${cnf[@]}" -extensions ca -days 3 \
            -subj "/CN=$2" -keyout "$d/$1.key" -out "$d/$1.pem" 2>>"$d/log"
    }
    _mc_leaf() { # name CN ca ext
        "$OPENSSL" req -new "${ec[@]}" "${cnf[@]}" -subj "/CN=$2" \
            -keyout "$d/$1.key" -out "$d/$1.csr" 2>>"$d/log" &&
        "$OPENSSL" x509 -req -in "$d/$1.csr" -CA "$d/$3.pem" -CAkey "$d/$3.key" \
            -CAcreateserial -days 3 -extfile "$d/openssl.cnf" -extensions "$4" \
            -out "$d/$1.pem" 2>>"$d/log"
    }
    # shellcheck disable=SC2015
    _mc_ca ca1 "autoresume test CA1" &&
    _mc_ca ca2 "autoresume test CA2" &&
    _mc_leaf srv1 localhost ca1 srv &&
    _mc_leaf srv2 localhost ca2 srv &&
    "$OPENSSL" req -x509 "${ec[@]}" "${cnf[@]}" -extensions srv -days 3 \
        -subj /CN=localhost -keyout "$d/self.key" -out "$d/self.pem" 2>>"$d/log" &&
    _mc_leaf clientA "client A" ca1 cli &&
    _mc_leaf clientB "client B" ca1 cli &&
    _mc_leaf clientC "client C" ca2 cli || {
        echo "make_certs failed:" >&2; cat "$d/log" >&2; return 1
    }
    for n in clientA clientB clientC; do
        "$OPENSSL" x509 -in "$d/$n.pem" -noout -fingerprint -sha1 |
            sed 's/.*=//; s/://g' | tr 'A-F' 'a-f' >"$d/$n.sha1"
    done
    # shellcheck disable=SC2015
    "$OPENSSL" verify -CAfile "$d/ca1.pem" "$d/srv1.pem" "$d/clientA.pem" \
        "$d/clientB.pem" >/dev/null &&
    "$OPENSSL" verify -CAfile "$d/ca2.pem" "$d/srv2.pem" "$d/clientC.pem" >/dev/null || {
        echo "make_certs: verification of the new certs failed" >&2; return 1
    }
}

# ----------------------------------------------------------------- nginx --

_nginx_dir() { echo "$T_DIR/nginx-$1"; }

# nginx_start NAME [OPTION...]
#   tls13 (default) | tls12          ssl_protocols
#   tickets (default) | notickets    ssl_session_tickets on|off
#   nocache (default) | cache        ssl_session_cache none | shared:NAME:1m
#   srv1 (default) | srv2 | self     server certificate
#   clientcert                       ssl_verify_client optional_no_ca
#   port=N                           this port (e.g. for a restart)
#   timeout=T                        ssl_session_timeout (default 5m, nginx's);
#                                    also the TLS 1.3 ticket lifetime it sends
#   quic                             also HTTP/3 on the same port (UDP; nginx
#                                    with http_v3_module); keepalive_timeout
#                                    10s, from which nginx takes QUIC's idle
#                                    timeout (0 ends each QUIC connection)
# Besides access.log, groups.log has '$ssl_session_reused $ssl_protocol
# $ssl_curve $server_protocol' per request (the key exchange group, HTTP/3).
# Sets and exports NGINX_PORT and <NAME>_PORT; `nginx_port NAME` prints it.
nginx_start() {
    local name=$1; shift
    local dir proto=TLSv1.3 tickets=on cache=none cert=srv1 vc="" port="" stimeout=5m o quic=
    dir=$(_nginx_dir "$name")
    for o in "$@"; do
        case $o in
        tls13) proto=TLSv1.3 ;;
        tls12) proto=TLSv1.2 ;;
        tickets) tickets=on ;;
        notickets) tickets=off ;;
        cache) cache="shared:ar_$name:1m" ;;
        nocache) cache=none ;;
        srv1 | srv2 | self) cert=$o ;;
        clientcert) vc="ssl_verify_client optional_no_ca;" ;;
        clientca2) vc="ssl_verify_client optional; ssl_client_certificate $CERTS/ca2.pem;" ;;
        port=*) port=${o#port=} ;;
        timeout=*) stimeout=${o#timeout=} ;;
        quic) quic=1 ;;
        *) echo "nginx_start: unknown option $o" >&2; return 2 ;;
        esac
    done
    [[ -f $CERTS/$cert.pem ]] || { echo "nginx_start: no cert $CERTS/$cert.pem" >&2; return 2; }
    mkdir -p "$dir" || return 1
    local user=""
    [[ $(id -u) == 0 ]] && user="user root;"
    local tries=0 fixed=$port rc
    while :; do
        [[ -n $fixed ]] || port=$(t_free_port) || return 1
        rm -f "$dir/nginx.pid"
        cat >"$dir/nginx.conf" <<EOF
$user
daemon on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 512; }
http {
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    log_format autoresume '\$ssl_session_reused \$ssl_protocol \$ssl_client_fingerprint \$request_uri';
    access_log $dir/access.log autoresume;
    log_format groups '\$ssl_session_reused \$ssl_protocol \$ssl_curve \$server_protocol';
    access_log $dir/groups.log groups;
    keepalive_timeout 0;
    server {
        listen 127.0.0.1:$port ssl;
        ${quic:+listen 127.0.0.1:$port quic; http3 on; keepalive_timeout 10s;}
        server_name localhost;
        ssl_certificate $CERTS/$cert.pem;
        ssl_certificate_key $CERTS/$cert.key;
        ssl_protocols $proto;
        ssl_session_tickets $tickets;
        ssl_session_cache $cache;
        ssl_session_timeout $stimeout;
        $vc
        location / { return 200 "ok\n"; }
    }
}
EOF
        # With daemon on, the listening socket is bound (or nginx has failed)
        # when this returns; the pid file is written by the daemonised master
        # a moment later, so we wait for it below.
        "$NGINX" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" >>"$dir/start.log" 2>&1
        rc=$?
        ((rc == 0)) && break
        if [[ -z $fixed ]] && grep -q 'Address already in use' "$dir/start.log" && ((++tries < 10)); then
            echo "nginx_start: port $port busy, retrying" >&2
            continue
        fi
        echo "nginx_start $name: nginx failed (rc=$rc):" >&2
        cat "$dir/start.log" >&2
        return 1
    done
    local i
    for ((i = 0; i < 1000; i++)); do   # condition wait, at most ~10 s
        [[ -s $dir/nginx.pid ]] && break
        sleep 0.01
    done
    [[ -s $dir/nginx.pid ]] || { echo "nginx_start: no pid file" >&2; return 1; }
    _t_register_pid "$(<"$dir/nginx.pid")" nginx
    echo "$port" >"$dir/port"
    NGINX_PORT=$port
    export NGINX_PORT "${name}_PORT=$port"
    echo "nginx $name: 127.0.0.1:$port ($*)"
}

nginx_port() { cat "$(_nginx_dir "$1")/port"; }

# A process is gone when kill -0 fails or it is a zombie: in some sandboxes
# the orphaned nginx master is reparented to a pid 1 that reaps slowly, and
# a zombie has already flushed and closed everything.
_t_gone() {
    kill -0 "$1" 2>/dev/null || return 0
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
    [[ -z $st || $st == Z ]]
}

# _t_wait_gone PID [MAX_CENTISECONDS]: bounded condition wait.
_t_wait_gone() {
    local pid=$1 max=${2:-1000} i
    for ((i = 0; i < max; i++)); do
        _t_gone "$pid" && return 0
        sleep 0.01
    done
    return 1
}

# nginx_stop NAME: graceful stop (QUIT) and wait for the master to exit, so the
# access log is complete.
nginx_stop() {
    local dir pid
    dir=$(_nginx_dir "$1")
    [[ -s $dir/nginx.pid ]] || return 0
    pid=$(<"$dir/nginx.pid")
    kill -QUIT "$pid" 2>/dev/null
    if ! _t_wait_gone "$pid" 1000; then
        echo "nginx_stop $1: master $pid still there after 10 s, killing" >&2
        kill -KILL "$pid" 2>/dev/null
        return 1
    fi
    rm -f "$dir/nginx.pid"
}

nginx_log() { cat "$(_nginx_dir "$1")/access.log" 2>/dev/null; }
count_reused() { local n; n=$(grep -c '^r ' "$(_nginx_dir "$1")/access.log" 2>/dev/null); echo "${n:-0}"; }
count_lines() { local n; n=$(wc -l <"$(_nginx_dir "$1")/access.log" 2>/dev/null) || n=0; echo "$n"; }

# -------------------------------------------------------------- s_server --

_s_server_dir() { echo "$T_DIR/s_server-$1"; }

# s_server_start NAME [tls12|tls13] [srv1|srv2|self|certfile=PATH] [-- EXTRA ARGS]
# Runs `openssl s_server -www -accept 127.0.0.1:PORT` in the background with
# stdout into a fifo, and returns once it has printed ACCEPT (it is then
# listening).  Sets NAME_PORT / SSERVER_PORT.
s_server_start() {
    local name=$1; shift
    local dir proto=-tls1_3 cert=srv1 extra=() o
    dir=$(_s_server_dir "$name")
    while (($#)); do
        case $1 in
        tls13) proto=-tls1_3 ;;
        tls12) proto=-tls1_2 ;;
        srv1 | srv2 | self) cert=$1 ;;
        certfile=*) cert=${1#certfile=} ;;   # PATH without .pem/.key
        --) shift; extra=("$@"); break ;;
        *) echo "s_server_start: unknown option $1" >&2; return 2 ;;
        esac
        shift
    done
    [[ $cert == /* ]] || cert=$CERTS/$cert
    mkdir -p "$dir" || return 1
    local tries=0 port pid fd rfd line got i
    while ((tries++ < 10)); do
        port=$(t_free_port) || return 1
        rm -f "$dir/stdout.fifo"
        mkfifo "$dir/stdout.fifo" || return 1
        "$OPENSSL" s_server -www -accept "127.0.0.1:$port" \
            -cert "$cert.pem" -key "$cert.key" $proto "${extra[@]}" \
            >"$dir/stdout.fifo" 2>"$dir/stderr" </dev/null &
        pid=$!
        _t_register_pid "$pid" s_server
        # O_RDWR open of a fifo does not block (and lets s_server's open for
        # writing complete); reading its ACCEPT line is the synchronisation.
        # Short read timeouts only serve to notice an s_server that died.
        exec {fd}<>"$dir/stdout.fifo"
        got=""
        for ((i = 0; i < 150; i++)); do
            if IFS= read -r -t 0.1 -u "$fd" line; then
                echo "$line" >>"$dir/stdout"
                [[ $line == ACCEPT* ]] && { got=1; break; }
            elif _t_gone "$pid"; then
                break
            fi
        done
        if [[ -n $got ]]; then
            # Keep draining its stdout so that it never blocks on the fifo,
            # through a read-only fd, so that the drain sees EOF when s_server
            # exits (our O_RDWR fd would keep the fifo open for writing).
            exec {rfd}<"$dir/stdout.fifo"
            ( exec {fd}<&-; exec cat <&"$rfd" >>"$dir/stdout" ) &
            echo "$!" >"$dir/drain.pid"
            exec {fd}<&- {rfd}<&-
            echo "$pid" >"$dir/pid"
            echo "$port" >"$dir/port"
            SSERVER_PORT=$port
            export SSERVER_PORT "${name}_PORT=$port"
            echo "s_server $name: 127.0.0.1:$port ($proto ${extra[*]})"
            return 0
        fi
        exec {fd}<&-
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        if grep -qi 'in use' "$dir/stderr"; then
            echo "s_server_start: port $port busy, retrying" >&2
            continue
        fi
        echo "s_server_start $name: no ACCEPT line; stderr:" >&2
        cat "$dir/stderr" >&2
        return 1
    done
    return 1
}

s_server_stop() {
    local dir pid
    dir=$(_s_server_dir "$1")
    [[ -s $dir/pid ]] || return 0
    pid=$(<"$dir/pid")
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    _t_wait_gone "$pid" 500
    if [[ -s $dir/drain.pid ]]; then
        wait "$(<"$dir/drain.pid")" 2>/dev/null
        rm -f "$dir/drain.pid"
    fi
    rm -f "$dir/pid"
}

# s_server_stats NAME [ARG...]: fetch the -www page once (no preload, a new
# session; ARGs go to https_get.py) and print its statistics lines ('N
# session cache hits', ...).
s_server_stats() {
    local port
    port=$(cat "$(_s_server_dir "$1")/port")
    "$PYTHON" -I "$T_LIB_DIR/clients/https_get.py" 127.0.0.1 "$port" 1 --insecure --body "${@:2}" |
        sed -n 's/^body: *//p' | grep -E '^ *[0-9]+ (session cache|server accepts|items in)'
}

# s_server_hits NAME [ARG...]: the server's 'session cache hits' counter (counts TLS 1.2
# and TLS 1.3 ticket resumptions as well as session-ID ones).
s_server_hits() {
    s_server_stats "$@" | awk '/session cache hits/ { print $1; f = 1 } END { if (!f) print -1 }'
}

# gnutls_serv_start ARG...: `gnutls-serv --http` with ARGs on a free
# loopback port; sets GSERV_PID and GSERV_PORT once it listens (a bounded
# wait on the port, or on its exit). Output in $T_DIR/gnutls-serv.out.
: "${GNUTLS_SERV:=/usr/bin/gnutls-serv}"
gnutls_serv_start() {
    local tries=0 port pid i
    while ((tries++ < 10)); do
        port=$(t_free_port) || return 1
        "$GNUTLS_SERV" --http --port "$port" "$@" >"$T_DIR/gnutls-serv.out" 2>&1 </dev/null &
        pid=$!
        _t_register_pid "$pid" gnutls-serv
        for ((i = 0; i < 300; i++)); do
            _t_port_listening "$port" && { GSERV_PID=$pid GSERV_PORT=$port; return 0; }
            _t_gone "$pid" && break
            sleep 0.01
        done
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    cat "$T_DIR/gnutls-serv.out" >&2
    return 1
}

gnutls_serv_stop() {
    [[ -n ${GSERV_PID:-} ]] || return 0
    kill "$GSERV_PID" 2>/dev/null
    wait "$GSERV_PID" 2>/dev/null
    GSERV_PID=
    return 0
}

# --------------------------------------------------------------- clients --

# with_lib CMD...: run CMD with the library preloaded.
# AR_PRELOAD_MODE checks the harness itself: 'off' runs CMD without the
# preload, 'disabled' with it and AUTORESUME_DISABLE=1; in both the
# resumption tests must fail and the security tests pass.
# AR_PRELOAD_FIRST is preloaded before the library (the ASan runtime, see
# make check-asan).
with_lib() {
    case ${AR_PRELOAD_MODE:-on} in
    off) env "$@" ;;
    disabled) env AUTORESUME_DISABLE=1 LD_PRELOAD="${AR_PRELOAD_FIRST:+$AR_PRELOAD_FIRST }$AR_LIB" "$@" ;;
    *) env LD_PRELOAD="${AR_PRELOAD_FIRST:+$AR_PRELOAD_FIRST }$AR_LIB" "$@" ;;
    esac
}

# run_client LABEL CMD...: run CMD, stdout to $T_DIR/LABEL.out and stderr to
# $T_DIR/LABEL.err, both echoed into the test log; returns CMD's status.
run_client() {
    local label=$1 rc; shift
    echo "\$ $*"
    "$@" >"$T_DIR/$label.out" 2>"$T_DIR/$label.err" </dev/null
    rc=$?
    sed 's/^/  | /' "$T_DIR/$label.out"
    [[ -s $T_DIR/$label.err ]] && sed 's/^/  ! /' "$T_DIR/$label.err"
    echo "  -> exit $rc"
    return "$rc"
}

# ----------------------------------------------------------------- asserts --

_t_failed() { echo "$*" >>"$T_DIR/.failures"; echo "FAIL: $*"; }

t_fail() { _t_failed "$*"; return 1; }
t_fatal() { _t_failed "$*"; exit 1; }

_t_int() { [[ $1 =~ ^-?[0-9]+$ ]]; }

# t_assert_eq ACTUAL EXPECTED WHAT
t_assert_eq() {
    if [[ $1 == "$2" ]]; then echo "ok: $3: $1"; return 0; fi
    _t_failed "$3: expected '$2', seen '$1'"; return 1
}

# t_assert_ge ACTUAL MIN WHAT
t_assert_ge() {
    if _t_int "$1" && _t_int "$2" && (($1 >= $2)); then echo "ok: $3: $1 (>= $2)"; return 0; fi
    _t_failed "$3: expected at least $2, seen '$1'"; return 1
}

# t_assert_le ACTUAL MAX WHAT
t_assert_le() {
    if _t_int "$1" && _t_int "$2" && (($1 <= $2)); then echo "ok: $3: $1 (<= $2)"; return 0; fi
    _t_failed "$3: expected at most $2, seen '$1'"; return 1
}

# t_assert_match STRING ERE WHAT
t_assert_match() {
    if [[ $1 =~ $2 ]]; then echo "ok: $3"; return 0; fi
    _t_failed "$3: expected to match /$2/, seen '$1'"; return 1
}

# t_assert_nomatch STRING ERE WHAT
t_assert_nomatch() {
    if ! [[ $1 =~ $2 ]]; then echo "ok: $3"; return 0; fi
    _t_failed "$3: expected not to match /$2/, seen '$1'"; return 1
}

# t_assert_empty_file FILE WHAT
t_assert_empty_file() {
    if [[ ! -s $1 ]]; then echo "ok: $2"; return 0; fi
    _t_failed "$2: expected empty, seen: $(head -c 600 "$1")"; return 1
}

# t_assert_status ACTUAL_RC EXPECTED_RC WHAT
t_assert_status() { t_assert_eq "$1" "$2" "$3 (exit status)"; }

# ---------------------------------------------------------------- runner --

T_NAMES=()
T_FUNCS=()

# t_register NAME "FUNC [ARG...]" (plain words)
# Under the ASan runtime (AR_PRELOAD_FIRST, make check-asan) curl 7.88 hangs
# at exit even without the library (LD_PRELOAD=libasan.so curl ...): it maps
# libgnutls and libp11-kit through librtmp, and p11-kit's destructor waits
# forever on glibc's setlocale lock (cases/gnutls.sh). Its tests are left to
# the plain run.
t_register() {
    if [[ -n ${AR_PRELOAD_FIRST:-} && $1 == *curl* ]]; then
        return 0
    fi
    T_NAMES+=("$1")
    T_FUNCS+=("$2")
}

# Stop whatever this test started (graceful for nginx, so logs are whole).
_t_test_cleanup() {
    local d
    for d in "$T_DIR"/nginx-*/; do
        [[ -d $d ]] && nginx_stop "$(basename "$d" | sed 's/^nginx-//')"
    done
    for d in "$T_DIR"/s_server-*/; do
        [[ -d $d ]] && s_server_stop "$(basename "$d" | sed 's/^s_server-//')"
    done
}

# In the per-test process: run FUNC, judge it.
_t_run_one() {
    local rc cmd
    read -ra cmd <<<"$1"   # "FUNC ARG..." (words, no quoting)
    trap _t_test_cleanup EXIT
    trap 'echo "test interrupted (timeout?)"; exit 124' TERM INT
    echo "=== ${T_NAME:-?}: $1"
    "${cmd[@]}"
    rc=$?
    if [[ -s $T_DIR/.failures ]]; then
        echo "--- $(wc -l <"$T_DIR/.failures") assertion(s) failed"
        exit 1
    fi
    if ((rc != 0)); then
        echo "--- test function returned $rc"
        exit "$rc"
    fi
    exit 0
}

T_PASSED=0
T_FAILED=0
T_FAILED_NAMES=()

# t_run NAME FUNC: run one test in its own process under timeout.
t_run() {
    local name=$1 func=$2 log dir t0 t1 rc
    log="$RUN_DIR/logs/$name.log"
    dir="$RUN_DIR/t/$name"
    mkdir -p "$dir"
    t0=$(_t_now_ms)
    # In the background + wait, so that an INT/TERM to us is handled at once.
    T_DIR="$dir" T_NAME="$name" timeout -k 5 "$T_TIMEOUT" \
        bash "$T_SCRIPT" --t-run-one "$func" >"$log" 2>&1 </dev/null &
    T_CHILD=$!
    wait "$T_CHILD"
    rc=$?
    T_CHILD=""
    t1=$(_t_now_ms)
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
    if ((rc == 0)); then
        T_PASSED=$((T_PASSED + 1))
        echo "PASS $name (${secs}s)"
        # A test's 'measured: ...' lines (figures worth seeing) are repeated.
        grep '^measured: ' "$log" | sed 's/^/    /'
    else
        T_FAILED=$((T_FAILED + 1))
        T_FAILED_NAMES+=("$name")
        local why=""
        ((rc == 124 || rc == 137)) && why=" [timed out after ${T_TIMEOUT}s]"
        echo "FAIL $name (${secs}s)$why"
        grep '^FAIL: ' "$log" | head -n 10 | sed 's/^/    /'
        echo "    --- last lines of $log:"
        tail -n "${T_TAIL:-25}" "$log" | sed 's/^/    | /'
    fi
}

# _t_selected NAME PATTERN...: no pattern = all; else any glob or ERE match.
_t_selected() {
    local name=$1 p; shift
    (($#)) || return 0
    for p in "$@"; do
        # shellcheck disable=SC2053
        [[ $name == $p ]] && return 0
        [[ $name =~ $p ]] 2>/dev/null && return 0
    done
    return 1
}

# t_main [--list] [PATTERN...]: the entry point of a test script.
#   T_SCRIPT --t-run-one FUNC   (internal) run one test function
t_main() {
    if [[ ${1:-} == --t-run-one ]]; then
        _t_run_one "$2"
    fi
    local list="" pats=() i
    for i in "$@"; do
        case $i in
        --list) list=1 ;;
        -h | --help)
            echo "usage: $T_SCRIPT [--list] [PATTERN...]  (glob or regex on test names)"
            return 0 ;;
        *) pats+=("$i") ;;
        esac
    done
    local sel=()
    for i in "${!T_NAMES[@]}"; do
        _t_selected "${T_NAMES[$i]}" "${pats[@]}" && sel+=("$i")
    done
    if [[ -n $list ]]; then
        for i in "${sel[@]}"; do echo "${T_NAMES[$i]}"; done
        return 0
    fi
    if ((${#sel[@]} == 0)); then
        echo "no test matches: ${pats[*]}" >&2
        echo "0 passed, 0 failed"
        return 2
    fi
    if declare -F t_setup >/dev/null; then
        t_setup || { echo "setup failed" >&2; echo "0 passed, 1 failed"; return 1; }
    fi
    for i in "${sel[@]}"; do
        t_run "${T_NAMES[$i]}" "${T_FUNCS[$i]}"
    done
    [[ ${KEEP:-0} == 1 ]] && echo "KEEP=1: logs and server directories kept in $RUN_DIR"
    # Named again at the end: a long run's output is often read from its tail.
    ((T_FAILED == 0)) || echo "failed: ${T_FAILED_NAMES[*]}"
    echo "${T_PASSED} passed, ${T_FAILED} failed"
    ((T_FAILED == 0))
}
