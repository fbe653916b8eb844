#!/bin/bash
# bench/run.sh - the libautoresume benchmark (make bench).
#
# Uses what `make all` built (build/libautoresume.so, build/arclient; copies
# taken at the start, so a rebuild during the run cannot mix two builds) and
# compiles only its own small client (bench/memclient.c -> build/bench_memclient).
# Starts its own nginx on loopback (EC P-256 and RSA-2048 certificates it makes,
# TLS 1.2 and TLS 1.3, tickets on) and a delay proxy (bench/delay_proxy.py),
# measures, prints a table of results, writes it as Markdown to
# bench/results/latest.md and a chart to bench/results/latest.png (gnuplot).
#
#   1. openssl s_time -new, plain / under the preload (store off, store on) /
#      s_time -reuse (the program resuming itself): connections per second
#   1c. a verifying in-process client (build/arclient --verify): full
#      handshakes, its own resumption (--own-session, the limit), the preload
#      with the store off and on, its own resumption under the preload switched
#      off; client and nginx worker CPU and wall time per connection; 1d. the
#      same client under perf (CPU-clock samples): the library's functions'
#      share of its CPU, natively
#   2. curl (OpenSSL), 20 separate runs, plain / through the wrapper (build/autoresume),
#      via a proxy adding 10 ms each way: wall time per run; 2b. the same with
#      wget (GnuTLS in Debian), if wget is installed; and the nginx worker's
#      CPU per run; 2c. one curl run under callgrind, plain and resumed
#   3. callgrind: instructions of the library per resumed connection (steady
#      state) vs the client's, verifying or not; store on vs off
#      (instructions, and wall time per connection)
#   4. /bin/true start-up: plain, LD_PRELOAD (ours, an empty object), the
#      wrapper against env (one exec)
#   5. RSS of a client making up to 100,000 connections over 1,000 names
#
# Variants are run alternately (A,B,A,B,...) and summarised by medians, with
# min and max. Targets that are missed are printed as MISSED; nothing here
# fails the run because of a number. Exit status: 0, or 1 if the benchmark
# could not run (missing build, a server that would not start, ...).
#
# Knobs (environment): BENCH_ROUNDS (s_time rounds per variant, EC; 5),
# BENCH_RSA_ROUNDS (3; 0 skips RSA), BENCH_T (s_time -time; 3),
# BENCH_CURL_RUNS (20), BENCH_WGET_RUNS (BENCH_CURL_RUNS; 0 skips wget),
# BENCH_MEM_CONNS (100000), BENCH_MEM_SECONDS (120, also cut to fit the
# budget), BENCH_INPROC_N (300), BENCH_INPROC_ROUNDS (9; TLS 1.2),
# BENCH_INPROC_ROUNDS13 (21; TLS 1.3), BENCH_BUDGET (whole run, seconds; 700), KEEP=1 keeps the work
# directory.
set -u
set -o pipefail

T_START=$EPOCHREALTIME
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
B=$ROOT/build
LIB=$B/libautoresume.so
ARCLIENT=$B/arclient
MEMCLIENT=$B/bench_memclient
RESULTS=$ROOT/bench/results

PY=/usr/bin/python3
OPENSSL=/usr/bin/openssl
NGINX=/usr/sbin/nginx
CURL=/usr/bin/curl
WGET=$(command -v wget || true)
VALGRIND=$(command -v valgrind || true)
GNUPLOT=$(command -v gnuplot || true)
CC=${CC:-cc}

ROUNDS=${BENCH_ROUNDS:-5}
RSA_ROUNDS=${BENCH_RSA_ROUNDS:-3}
STIME_T=${BENCH_T:-3}
CURL_RUNS=${BENCH_CURL_RUNS:-20}
WGET_RUNS=${BENCH_WGET_RUNS:-$CURL_RUNS}
MEM_CONNS=${BENCH_MEM_CONNS:-100000}
MEM_SECONDS=${BENCH_MEM_SECONDS:-120}
BUDGET=${BENCH_BUDGET:-700}

# Nothing from the caller's environment may change what we measure.
unset LD_PRELOAD AUTORESUME_DISABLE AUTORESUME_LOG AUTORESUME_LOG_FILE AUTORESUME_STATS \
      AUTORESUME_CACHE AUTORESUME_CACHE_MAX_BYTES AUTORESUME_MAX_HOSTS AUTORESUME_TICKETS \
      AUTORESUME_LIBRARY SSL_CERT_FILE SSL_CERT_DIR OPENSSL_CONF 2>/dev/null
export LC_ALL=C

die() { echo "bench: $*" >&2; exit 1; }
say() { printf '[%5.1fs] %s\n' "$(elapsed)" "$*"; }
# load average at the start of each part, for reading the wall-clock numbers
load_mark() { raw load "$1" "$(cut -d' ' -f1 /proc/loadavg)"; }
elapsed() { echo "$EPOCHREALTIME $T_START" | awk '{printf "%.1f", $1 - $2}'; }
left() { echo "$EPOCHREALTIME $T_START $BUDGET" | awk '{printf "%d", $3 - ($1 - $2)}'; }
# seconds since t0 ($EPOCHREALTIME values), 6 decimals
since() { echo "$2 $1" | awk '{printf "%.6f", $1 - $2}'; }

for f in "$LIB" "$ARCLIENT"; do
    [[ -f $f ]] || die "$f missing: run 'make all' first"
done
for f in "$PY" "$OPENSSL" "$NGINX" "$CURL"; do
    [[ -x $f ]] || die "$f missing"
done
[[ -n $VALGRIND ]] || die "valgrind missing (apt-get install valgrind)"
[[ -n $GNUPLOT ]] || echo "bench: gnuplot missing (apt-get install gnuplot-nox): no chart" >&2
if [[ -z $WGET && $WGET_RUNS != 0 ]]; then
    echo "bench: wget missing (apt-get install wget): no wget measurement" >&2
    WGET_RUNS=0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ar-bench.XXXXXX") || die "mktemp failed"
# Session stores: on a tmpfs when there is one, like the default place
# $XDG_RUNTIME_DIR/autoresume on a desktop; also measured once on $WORK's fs.
if [[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs && -w /dev/shm ]]; then
    STORES=$(mktemp -d /dev/shm/ar-bench-stores.XXXXXX) || die "mktemp failed"
else
    STORES=$WORK/stores
    mkdir -m 700 "$STORES"
fi
RAW=$WORK/raw.tsv
: >"$RAW"
# Measure copies of the library and arclient taken now: others may rebuild
# build/ while we run, and one run must not mix two builds. The library keeps
# its name (LD_PRELOAD=$WORK/snap/libautoresume.so), and the wrapper next to it
# (build/autoresume, what make install installs) preloads that copy.
BUILD_LIB=$LIB
mkdir "$WORK/snap"
cp "$LIB" "$ARCLIENT" "$ROOT/build/autoresume" "$WORK/snap/" || die "cannot copy the build"
LIB=$WORK/snap/libautoresume.so
ARCLIENT=$WORK/snap/arclient
WRAPPER=$WORK/snap/autoresume
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    if [[ -s $WORK/nginx/nginx.pid ]]; then
        p=$(<"$WORK/nginx/nginx.pid")
        kill -QUIT "$p" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$p" 2>/dev/null
    fi
    rm -rf "$STORES"
    if [[ ${KEEP:-0} == 1 ]]; then
        echo "bench: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

raw() { local IFS=$'\t'; echo "$*" >>"$RAW"; }
fresh_store() { mktemp -d "$STORES/s.XXXXXX"; }

say "work directory $WORK, stores in $STORES"
raw info host "$(uname -n) $(uname -r), $(nproc) cpus"
raw info loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
raw info openssl "$($OPENSSL version)"
raw info nginx "$($NGINX -v 2>&1 | sed 's/^nginx version: //')"
raw info curl "$($CURL --version | head -1 | cut -d' ' -f1-2)"
[[ -n $WGET ]] && raw info wget "$($WGET --version | head -1 | sed 's/^GNU //; s/ built on.*//'), $(
    ldd "$WGET" | grep -o -m1 -E 'lib(gnutls|ssl)\.so[.0-9]*' || echo 'TLS library unknown')"
raw info git "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
# Which build we measure (others may rebuild it while we run: checked at the end).
lib_id() { echo "sha256 $(sha256sum "$1" | cut -c1-16), built $(date -u -r "$1" '+%Y-%m-%d %H:%M:%S UTC')"; }
LIB_ID=$(lib_id "$BUILD_LIB")
raw info lib_start "$LIB_ID"
fstype() { df --output=fstype "$1" | tail -1; }
raw info store_fs "$(fstype "$STORES")"
raw info work_fs "$(fstype "$WORK")"
raw info stime_t "$STIME_T"

# ---------------------------------------------------------------- build --
"$CC" -O2 -Wall -Wextra -o "$MEMCLIENT" "$ROOT/bench/memclient.c" -lssl -lcrypto ||
    die "cannot build $MEMCLIENT"
# Section 4's floor: what preloading any shared object costs (one int, no code).
EMPTY_SO=$WORK/libempty.so
echo 'int bench_empty_object;' | "$CC" -O2 -shared -fPIC -x c -o "$EMPTY_SO" - ||
    die "cannot build $EMPTY_SO"

# ---------------------------------------------------------------- certs --
make_certs() {
    local d=$WORK/certs kind
    mkdir -p "$d"
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
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,DNS:*.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    for kind in ec rsa; do
        local key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
        [[ $kind == rsa ]] && key=(-newkey rsa:2048)
        "$OPENSSL" req -x509 -config "$d/openssl.cnf" -extensions ca "${key[@]}" -nodes \
            -keyout "$d/$kind-ca.key" -out "$d/$kind-ca.pem" -days 2 \
            -subj "/CN=autoresume bench $kind CA" 2>>"$d/log" || return 1
        "$OPENSSL" req -new -config "$d/openssl.cnf" "${key[@]}" -nodes \
            -keyout "$d/$kind-srv.key" -out "$d/$kind-srv.csr" -subj /CN=localhost 2>>"$d/log" || return 1
        "$OPENSSL" x509 -req -in "$d/$kind-srv.csr" -CA "$d/$kind-ca.pem" -CAkey "$d/$kind-ca.key" \
            -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
            -extfile "$d/openssl.cnf" -extensions srv -days 2 -out "$d/$kind-srv.pem" 2>>"$d/log" || return 1
    done
}
make_certs || { cat "$WORK/certs/log" >&2; die "certificate generation failed"; }
CERTS=$WORK/certs

# ---------------------------------------------------------------- nginx --
# Ports: free ones from the kernel, bound a moment later by nginx (retried).
free_ports() {
    "$PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

start_nginx() {
    local d=$WORK/nginx user="" tries
    mkdir -p "$d"
    [[ $(id -u) == 0 ]] && user="user root;"
    for tries in 1 2 3 4 5; do
        read -r P_EC12 P_EC13 P_RSA12 P_RSA13 P_CU12 P_CU13 P_ANY < <(free_ports 7)
        # curl sets SSL_OP_NO_TICKET: on TLS 1.2 it resumes only by session
        # id, which needs a server cache, so the curl servers have one too.
        srv() {   # port cert protocol log [extra]
            local log="access_log off;"
            [[ $4 == log ]] && log="access_log $d/curl.log bench; ssl_session_cache shared:bench_$1:1m;"
            cat <<EOF
    server {
        listen 127.0.0.1:$1 ssl ${5:-};
        server_name localhost;
        ssl_certificate $CERTS/$2-srv.pem;
        ssl_certificate_key $CERTS/$2-srv.key;
        ssl_protocols $3;
        $log
        location / { return 200 "ok\n"; }
    }
EOF
        }
        cat >"$d/nginx.conf" <<EOF
$user
daemon on;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
    client_body_temp_path $d/client_body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    log_format bench '\$server_port \$request_uri \$ssl_protocol \$ssl_session_reused';
    keepalive_timeout 0;
    ssl_session_tickets on;
    ssl_session_cache none;
$(srv "$P_EC12" ec TLSv1.2 nolog)
$(srv "$P_EC13" ec TLSv1.3 nolog)
$(srv "$P_RSA12" rsa TLSv1.2 nolog)
$(srv "$P_RSA13" rsa TLSv1.3 nolog)
$(srv "$P_CU12" ec TLSv1.2 log)
$(srv "$P_CU13" ec TLSv1.3 log)
$(srv "$P_ANY" ec TLSv1.3 nolog default_server | sed 's/server_name localhost;/server_name _;/')
}
EOF
        rm -f "$d/nginx.pid"
        if "$NGINX" -e "$d/error.log" -p "$d" -c "$d/nginx.conf" >"$d/start.log" 2>&1; then
            for _ in $(seq 500); do [[ -s $d/nginx.pid ]] && return 0; sleep 0.01; done
            return 1
        fi
        grep -q 'Address already in use' "$d/start.log" || break
    done
    cat "$d/start.log" >&2
    return 1
}
start_nginx || die "nginx would not start"
# The nginx worker's CPU time so far (ns on a CPU, /proc/PID/schedstat): the
# server's cost of what we run in between.
NGINX_WORKER=$(pgrep -P "$(cat "$WORK/nginx/nginx.pid")" | head -n 1)
[[ -n $NGINX_WORKER ]] || die "no nginx worker"
srv_ns() { cut -d' ' -f1 "/proc/$NGINX_WORKER/schedstat"; }
say "nginx up: ec12=$P_EC12 ec13=$P_EC13 rsa12=$P_RSA12 rsa13=$P_RSA13 curl12=$P_CU12 curl13=$P_CU13 any=$P_ANY"
for p in $P_EC12 $P_EC13 $P_RSA12 $P_RSA13 $P_ANY; do
    "$ARCLIENT" -q --sni localhost -n 1 127.0.0.1 "$p" >/dev/null 2>&1 || die "no TLS answer on port $p"
done

# -------------------------------------------- 1c. verifying in-process client --
# build/arclient as a verifying program (CA file, SSL_VERIFY_PEER,
# SSL_set1_host, a new SSL per connection) against the RSA-2048 servers:
# full handshakes (no preload), the program resuming its own session
# (--own-session, no preload: the limit for transparent resumption), and
# under the preload with the store off and on; and the program resuming its
# own session under the preload switched off (AUTORESUME_DISABLE=1: the
# hooks are there and pass every call through), which is the cost of being
# loaded and interposed, apart from the library's work; and its own
# resumption with TCP_NODELAY set (--nodelay): without it, Nagle holds its
# TLS 1.2 request behind its Finished (see the report). Client CPU (user +
# system, from wait4) and the nginx worker's CPU (schedstat), per connection.
INPROC_N=${BENCH_INPROC_N:-300}
INPROC_ROUNDS=${BENCH_INPROC_ROUNDS:-9}
# TLS 1.3 rounds are short (no Nagle wait): more of them steady its medians,
# whose single rounds range over tens of percent on a shared machine.
INPROC_ROUNDS13=${BENCH_INPROC_ROUNDS13:-21}
inproc_run() {   # proto variant round
    local proto=$1 v=$2 round=$3 port env=() own=() s0 out
    port=P_RSA$proto
    port=${!port}
    case $v in
        own) own=(--own-session) ;;
        dis) own=(--own-session) env=(LD_PRELOAD="$LIB" AUTORESUME_DISABLE=1) ;;
        ownnd) own=(--own-session --nodelay) ;;
        off) env=(LD_PRELOAD="$LIB" AUTORESUME_CACHE=off) ;;
        store) env=(LD_PRELOAD="$LIB" AUTORESUME_CACHE="$(fresh_store)") ;;
    esac
    s0=$(srv_ns)
    out=$("$PY" -c '
import os, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
data = p.stdout.read().decode()
_, status, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t0
summary = [l for l in data.splitlines() if l.startswith("summary ")]
print(ru.ru_utime + ru.ru_stime, status, wall, summary[-1] if summary else "summary none")
' env "${env[@]}" "$ARCLIENT" -q --verify --cafile "$CERTS/rsa-ca.pem" --expect-host localhost \
        --sni localhost "${own[@]}" -n "$INPROC_N" 127.0.0.1 "$port")
    local srv=$(($(srv_ns) - s0)) cpu status wall reused
    read -r cpu status wall _ <<<"$out"
    reused=$(sed -n 's/.* reused=\([0-9]*\).*/\1/p' <<<"$out")
    # proto variant round conns client_cpu_s server_ns resumed status wall_s
    raw inproc "$proto" "$v" "$round" "$INPROC_N" "$cpu" "$srv" "${reused:-0}" "$status" "$wall"
}
load_mark 1c
say "1c. verifying in-process client: $INPROC_ROUNDS (TLS 1.2) and $INPROC_ROUNDS13 (TLS 1.3) rounds of $INPROC_N connections (full, own session, own session under the disabled preload, own session with TCP_NODELAY, preload store off, store on)"
for round in $(seq $((INPROC_ROUNDS > INPROC_ROUNDS13 ? INPROC_ROUNDS : INPROC_ROUNDS13))); do
    for proto in 12 13; do
        rounds=$INPROC_ROUNDS
        [[ $proto == 13 ]] && rounds=$INPROC_ROUNDS13
        ((round <= rounds)) || continue
        for v in full own dis ownnd off store; do
            inproc_run "$proto" "$v" "$round"
        done
    done
done

# 1d. Where that client's CPU goes under the preload, natively: callgrind
# counts instructions, not time, and the library's code (text, hashing,
# allocation, system calls) does not cost per instruction what OpenSSL's
# vectorised crypto does. perf samples the CPU clock (no hardware counters
# needed) with DWARF call chains; the share of samples under each of the
# library's functions (children) is its share of the client's CPU.
# Skipped, with a note, where perf cannot record.
PERF=$(command -v perf || true)
if [[ -n $PERF ]] && "$PERF" record -q -e cpu-clock -o "$WORK/perf.probe" true >/dev/null 2>&1; then
    say "1d. perf: the preload's share of the verifying client's CPU (TLS 1.3, store off, 2000 connections)"
    if LD_PRELOAD=$LIB AUTORESUME_CACHE=off "$PERF" record -q -e cpu-clock -F 4000 \
            --call-graph dwarf,16384 -o "$WORK/perf.data" "$ARCLIENT" -q --verify \
            --cafile "$CERTS/rsa-ca.pem" --expect-host localhost --sni localhost -n 2000 \
            127.0.0.1 "$P_RSA13" >/dev/null 2>"$WORK/perf.err"; then
        raw perf samples "$("$PERF" report -i "$WORK/perf.data" --stdio -g none 2>/dev/null |
            sed -n 's/^# Samples: *\([0-9KM]*\) .*/\1/p' | head -1)"
        # "  3.08%  0.22%  libautoresume.so  [.] resume_before ..." -> function children%
        "$PERF" report -i "$WORK/perf.data" --children --stdio -g none --sort dso,symbol 2>/dev/null |
            awk -v lib="$(basename "$LIB")" '$3 == lib && $4 == "[.]" {sub(/%$/, "", $1); print $5, $1}' |
            while read -r fn pct; do raw perf fn "$fn" "$pct"; done
    else
        raw note "1d: perf record failed: $(tail -1 "$WORK/perf.err")"
    fi
    # Then where the preload's extra CPU goes, by object: the same client
    # resuming its own session and under the preload, alternately, without
    # call chains (cheap), samples per shared object.
    say "1d. perf: own session / preload, by object (TLS 1.3, 3 rounds of 2000 connections each)"
    for round in 1 2 3; do
        for v in own off; do
            env=(LD_PRELOAD="$LIB" AUTORESUME_CACHE=off) own=()
            [[ $v == own ]] && env=() own=(--own-session)
            if env "${env[@]}" "$PERF" record -q -e cpu-clock -F 4000 -o "$WORK/perf.obj" \
                    "$ARCLIENT" -q --verify --cafile "$CERTS/rsa-ca.pem" --expect-host localhost \
                    --sni localhost "${own[@]}" -n 2000 127.0.0.1 "$P_RSA13" >/dev/null 2>"$WORK/perf.err"; then
                # "    47.98%          2117  libcrypto.so.3" -> object samples
                "$PERF" report -i "$WORK/perf.obj" --stdio --sort dso -n 2>/dev/null |
                    awk -v lib="$(basename "$LIB")" '$1 ~ /%$/ && NF >= 3 {print ($3 == lib ? "lib" : $3), $2}' |
                    while read -r obj n; do raw perfobj "$v" "$round" 2000 "$obj" "$n"; done
            fi
        done
    done
else
    raw note "1d: perf cannot record here; the native profile is not measured"
fi

# -------------------------------------------------- 4. start-up (/bin/true) --
load_mark 4
# The wrapper's own cost: `autoresume /bin/true` against `env LD_PRELOAD=...
# /bin/true`, one exec of a small C program (env) that then execs the same.
say "4. /bin/true start-up: 10 batches of 50 per variant, alternating"
for batch in $(seq 10); do
    for v in plain preload empty wrapper env; do
        t0=$EPOCHREALTIME
        case $v in
            plain) for _ in $(seq 50); do /bin/true; done ;;
            empty) for _ in $(seq 50); do LD_PRELOAD=$EMPTY_SO /bin/true; done ;;
            preload) for _ in $(seq 50); do LD_PRELOAD=$LIB /bin/true; done ;;
            wrapper) for _ in $(seq 50); do "$WRAPPER" /bin/true; done ;;
            env) for _ in $(seq 50); do env LD_PRELOAD="$LIB" /bin/true; done ;;
        esac
        raw true "$v" "$batch" "$(since "$t0" "$EPOCHREALTIME")"
    done
done

# Also user-space instructions of one run each (stable where wall time is not;
# the kernel's part of mapping one more object is not counted).
for v in plain preload empty; do
    pre=()
    [[ $v == preload ]] && pre=(LD_PRELOAD="$LIB")
    [[ $v == empty ]] && pre=(LD_PRELOAD="$EMPTY_SO")
    ir=$(env "${pre[@]}" "$VALGRIND" --tool=callgrind --callgrind-out-file=/dev/null /bin/true 2>&1 |
         sed -n 's/.*I *refs: *//p' | tr -d ,)
    raw trueir "$v" "${ir:-0}"
done

# ------------------------------------------------------ 3. callgrind cost --
load_mark 3
say "3. callgrind: arclient -n 2 and -n 21 against TLS 1.3 (EC), 6 configurations (and -n 1 verifying)"
CG=$WORK/callgrind
mkdir -p "$CG"
cg_run() {   # config n
    local cfg=$1 n=$2 env=() args=(-q --sni localhost)
    case $cfg in
        off) env=(LD_PRELOAD="$LIB" AUTORESUME_CACHE=off) ;;
        store) env=(LD_PRELOAD="$LIB" AUTORESUME_CACHE="$(fresh_store)") ;;
        verify) env=(LD_PRELOAD="$LIB" AUTORESUME_CACHE=off)
                args+=(--verify --cafile "$CERTS/ec-ca.pem" --expect-host localhost) ;;
        own) args+=(--own-session) ;;
        ownverify) args+=(--own-session --verify --cafile "$CERTS/ec-ca.pem" --expect-host localhost) ;;
        plain) ;;
    esac
    local out=$CG/$cfg.$n
    if ! env "${env[@]}" timeout 300 "$VALGRIND" --tool=callgrind --callgrind-out-file="$out.cg" \
            "$ARCLIENT" "${args[@]}" -n "$n" 127.0.0.1 "$P_EC13" >"$out.stdout" 2>"$out.stderr"; then
        echo "bench: callgrind run $cfg -n $n failed:" >&2
        tail -5 "$out.stderr" >&2
        return 1
    fi
    local reused
    reused=$(sed -n 's/.*summary .* reused=\([0-9]*\).*/\1/p' "$out.stdout")
    raw cg "$cfg" "$n" reused "${reused:-0}"
    "$PY" "$ROOT/bench/report.py" cg "$out.cg" "$LIB" | while read -r metric value; do
        raw cg "$cfg" "$n" "$metric" "$value"
    done
}
# N = 2 and 21: both runs hold the start-up, the full handshake and the first
# resumption (with its one-time work: the first re-verification of a chain,
# whose verdict the memo keeps), so their difference is 19 steady-state
# resumed connections. N = 1 verifying gives that first resumption's cost.
for cfg in off store verify own ownverify plain; do
    for n in 2 21; do
        cg_run "$cfg" "$n" || die "callgrind failed"
    done
done
cg_run verify 1 || die "callgrind failed"

say "3b. store cost in wall time: arclient -n 200, store off / on $(fstype "$STORES") / on $(fstype "$WORK"), 5 rounds"
mkdir -m 700 "$WORK/disk-stores"
for round in $(seq 5); do
    for v in off store store-workfs; do
        case $v in
            off) cache=off ;;
            store) cache=$(fresh_store) ;;
            store-workfs) cache=$(mktemp -d "$WORK/disk-stores/s.XXXXXX") ;;
        esac
        t0=$EPOCHREALTIME
        out=$(LD_PRELOAD=$LIB AUTORESUME_CACHE=$cache timeout 60 \
              "$ARCLIENT" -q --sni localhost -n 200 127.0.0.1 "$P_EC13")
        t=$(since "$t0" "$EPOCHREALTIME")
        reused=$(sed -n 's/.*summary .* reused=\([0-9]*\).*/\1/p' <<<"$out")
        raw storewall "$v" "$round" 200 "$t" "${reused:-0}"
    done
done

# --------------------------------------------------------- 2. curl + delay --
load_mark 2
say "2. curl: $CURL_RUNS runs per variant through a 10 ms/direction delay proxy"
start_proxy() {   # upstream -> prints listen port
    local up=$1 fifo=$WORK/proxy.$1
    "$PY" "$ROOT/bench/delay_proxy.py" 0 "$up" 10 >"$fifo" 2>"$fifo.err" &
    PIDS+=($!)
    for _ in $(seq 500); do
        grep -q '^ready ' "$fifo" 2>/dev/null && break
        sleep 0.01
    done
    sed -n 's/^ready //p' "$fifo"
}
start_proxy "$P_CU12" >/dev/null; PX12=$(sed -n 's/^ready //p' "$WORK/proxy.$P_CU12")
start_proxy "$P_CU13" >/dev/null; PX13=$(sed -n 's/^ready //p' "$WORK/proxy.$P_CU13")
[[ -n $PX12 && -n $PX13 ]] || die "delay proxy did not start"

# proxied_runs NAME RUNS [VARIANT...]: per protocol, RUNS separate runs of
# the command that NAME_cmd PROXY-PORT VARIANT RUN puts in CMD, for each
# variant in turn (default: plain, autoresume = through the wrapper; also
# preload = LD_PRELOAD set, no wrapper, the same exec count as plain), each
# library variant with its own fresh store per protocol; wall time per run
# and the nginx worker's CPU meanwhile into raw rows
# `NAME proto variant run seconds rc server_ns`.
proxied_runs() {
    local name=$1 runs=$2 proto px store pstore run v t0 rc variants=("${@:3}")
    ((${#variants[@]})) || variants=(plain autoresume)
    for proto in 12 13; do
        px=PX$proto
        px=${!px}
        store=$(fresh_store)
        pstore=$(fresh_store)
        for run in $(seq "$runs"); do
            for v in "${variants[@]}"; do
                "${name}_cmd" "$px" "$v" "$run"
                s0=$(srv_ns)
                t0=$EPOCHREALTIME
                if [[ $v == plain ]]; then
                    timeout 20 "${CMD[@]}"
                elif [[ $v == preload ]]; then
                    LD_PRELOAD=$LIB AUTORESUME_CACHE=$pstore timeout 20 "${CMD[@]}"
                else
                    AUTORESUME_CACHE=$store timeout 20 "$WRAPPER" "${CMD[@]}"
                fi
                rc=$?
                raw "$name" "$proto" "$v" "$run" "$(since "$t0" "$EPOCHREALTIME")" "$rc" \
                    $(($(srv_ns) - s0))
            done
        done
    done
}

curl_cmd() {
    CMD=("$CURL" -s -o /dev/null --cacert "$CERTS/ec-ca.pem" --resolve "localhost:$1:127.0.0.1"
         "https://localhost:$1/$2/$3")
}
proxied_runs curl "$CURL_RUNS" plain preload autoresume

# 2b. The same with wget (GnuTLS in Debian), through the same proxies and
# servers, its own fresh store per protocol, URIs /wget-plain/N and
# /wget-autoresume/N. wget has no --resolve: the host name must match the
# certificate, and -4 makes localhost 127.0.0.1 (where the proxy listens).
# --no-config, --no-proxy: no wgetrc, no *_proxy; --tries=1: no retries.
wget_cmd() {
    CMD=("$WGET" --no-config --no-proxy -4 --tries=1 -q -O /dev/null
         --ca-certificate="$CERTS/ec-ca.pem" "https://localhost:$1/wget-$2/$3")
}
if ((WGET_RUNS > 0)); then
    say "2b. wget: $WGET_RUNS runs per variant through the same proxy"
    proxied_runs wget "$WGET_RUNS"
fi
sleep 0.2   # let nginx write its log lines
while read -r port uri proto reused; do
    case $port in "$P_CU12") p=12 ;; "$P_CU13") p=13 ;; *) continue ;; esac
    v=${uri#/}; v=${v%%/*}
    case $v in
        wget-*) raw wgetsrv "$p" "${v#wget-}" "$proto" "$reused" ;;
        *) raw curlsrv "$p" "$v" "$proto" "$reused" ;;
    esac
done <"$WORK/nginx/curl.log"

# 2c. One curl run in instructions (callgrind, noise-free where wall time is
# not): a full handshake (plain) and a resumption from the store, straight to
# the TLS 1.3 nginx (no proxy: instructions do not wait for the network).
say "2c. callgrind: one curl run, plain and resumed from the store (TLS 1.3)"
cg_curl_store=$(fresh_store)
cg_curl() {   # URI-PART: the curl command in CMD
    CMD=("$CURL" -s -o /dev/null --cacert "$CERTS/ec-ca.pem" --resolve "localhost:$P_CU13:127.0.0.1"
         "https://localhost:$P_CU13/cg/$1")
}
cg_curl fill
LD_PRELOAD=$LIB AUTORESUME_CACHE=$cg_curl_store timeout 20 "${CMD[@]}" || die "curl (filling the store) failed"
for v in plain resumed; do
    pre=()
    [[ $v == resumed ]] && pre=(LD_PRELOAD="$LIB" AUTORESUME_CACHE="$cg_curl_store" AUTORESUME_LOG=info)
    cg_curl "$v"
    env "${pre[@]}" timeout 300 "$VALGRIND" --tool=callgrind --callgrind-out-file="$CG/curl.$v.cg" \
        "${CMD[@]}" 2>"$CG/curl.$v.err" || die "callgrind of curl ($v) failed"
    raw cgcurl "$v" resumed "$(grep -c 'TLSv1.3 resumed' "$CG/curl.$v.err")"
    "$PY" "$ROOT/bench/report.py" cg "$CG/curl.$v.cg" "$LIB" | while read -r metric value; do
        raw cgcurl "$v" "$metric" "$value"
    done
done

# ------------------------------------------------------------- 1. s_time --
# s_time's wall figure, "N connections in S real seconds", counts whole
# seconds (it runs until the clock passes start+T, and prints T+1): each run
# therefore starts just after a whole second, so that the printed S is the
# true elapsed time (to within the ~20 ms start-up). We also time each run
# from outside, as a cross-check.
align_second() {
    local frac=${EPOCHREALTIME#*.}
    frac=$((10#${frac:0:3}))
    if ((frac > 30)); then
        sleep "$(awk -v f="$frac" 'BEGIN{printf "%.3f", (1005 - f) / 1000}')"
    fi
}
stime_run() {   # cert proto variant round
    local cert=$1 proto=$2 v=$3 round=$4 port env=() mode=-new
    port=P_${cert^^}$proto
    port=${!port}
    case $v in
        plain) ;;
        off) env=(LD_PRELOAD="$LIB" AUTORESUME_CACHE=off) ;;
        store) env=(LD_PRELOAD="$LIB" AUTORESUME_CACHE="$(fresh_store)") ;;
        reuse) mode=-reuse ;;
    esac
    align_second
    local t0=$EPOCHREALTIME out
    out=$(env "${env[@]}" timeout $((STIME_T + 20)) \
          "$OPENSSL" s_time -connect "127.0.0.1:$port" "$mode" -time "$STIME_T" -www / 2>&1)
    local wall
    wall=$(since "$t0" "$EPOCHREALTIME")
    local real user progress
    real=$(sed -n 's/^\([0-9]*\) connections in \([0-9]*\) real seconds.*/\1 \2/p' <<<"$out" | tail -1)
    user=$(sed -n 's/^\([0-9]*\) connections in \([0-9.]*\)s;.*/\2/p' <<<"$out" | tail -1)
    progress=$(grep -E '^[*r]+$' <<<"$out" | tr -d '\n')
    local nr=${progress//[^r]/} nn=${progress//[^*]/}
    if [[ -z $real ]]; then
        echo "bench: s_time $cert $proto $v failed:" >&2
        tail -3 <<<"$out" >&2
        real="0 0"
    fi
    # cert proto variant round conns real_s wall_s user_s resumed new
    raw stime "$cert" "$proto" "$v" "$round" $real "$wall" "${user:-0}" "${#nr}" "${#nn}"
}
stime_per_round=$((8 * (STIME_T + 1)))
for cert in ec rsa; do
    rounds=$ROUNDS
    [[ $cert == rsa ]] && rounds=$RSA_ROUNDS
    for round in $(seq "$rounds"); do
        # keep at least 60 s for the memory test and the report
        if (($(left) < stime_per_round + 60)); then
            say "1. s_time $cert: stopping after $((round - 1)) rounds (time budget)"
            raw note "s_time $cert: only $((round - 1)) of $rounds rounds (time budget)"
            break
        fi
        load_mark "1 $cert r$round"
        say "1. s_time $cert round $round/$rounds (T=$STIME_T; plain, preload store off, preload store on, -reuse; TLS 1.2 then 1.3)"
        for proto in 12 13; do
            for v in plain off store reuse; do
                stime_run "$cert" "$proto" "$v" "$round"
            done
        done
    done
done

# ------------------------------------------------------------ 5. memory --
mem_s=$(($(left) - 25))
((mem_s > MEM_SECONDS)) && mem_s=$MEM_SECONDS
((mem_s < 10)) && mem_s=10
load_mark 5
say "5. memory: up to $MEM_CONNS connections over 1000 names, AUTORESUME_CACHE=off, at most ${mem_s}s"
raw info mem_limit_s "$mem_s"
LD_PRELOAD=$LIB AUTORESUME_CACHE=off timeout $((mem_s + 60)) \
    "$MEMCLIENT" "$P_ANY" "$MEM_CONNS" 1000 10000 "$mem_s" >"$WORK/mem.out" 2>"$WORK/mem.err"
raw info mem_rc "$?"
while read -r line; do
    case $line in
        conns=*)
            set -- $line
            raw mem "${1#*=}" "${2#*=}" "${3#*=}" "${4#*=}" "${5#*=}" ;;
        stopped-early*) raw note "memory: stopped early at ${line#*conns=} connections (time limit ${mem_s}s)" ;;
    esac
done <"$WORK/mem.out"

# ------------------------------------------------------------- report --
raw info loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
raw info lib_end "$(lib_id "$BUILD_LIB")"
[[ $(lib_id "$BUILD_LIB") == "$LIB_ID" ]] ||
    say "note: $BUILD_LIB was rebuilt during the run; we measured the copy taken at the start"
raw info total_s "$(elapsed)"
mkdir -p "$RESULTS"
say "report"
"$PY" "$ROOT/bench/report.py" report "$RAW" "$RESULTS/latest.md" "$RESULTS/latest.png" "${GNUPLOT:-}" ||
    die "report failed (raw data: $RAW)"
cp "$RAW" "$RESULTS/latest.raw.tsv"
echo
echo "Markdown: $RESULTS/latest.md"
if [[ -s $RESULTS/latest.png ]]; then
    echo "Chart:    $RESULTS/latest.png"
fi
echo "Raw data: $RESULTS/latest.raw.tsv"
echo "Total run time: $(elapsed) s"
