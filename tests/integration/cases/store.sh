# shellcheck shell=bash
# tests/integration/cases/store.sh - the store.* tests that use separate
# processes sharing one per-user session store (AUTORESUME_CACHE).  Sourced
# by run.sh (after its helpers, before t_main), like every cases/*.sh;
# see README.md.
#
# Every test makes its own private store (new_store) unless it is about the
# default place, judges resumption by nginx's $ssl_session_reused, and fails
# with the library off (AR_PRELOAD_MODE=off|disabled): the security checks
# carry a control that resumption across processes did happen.
# Lines 'measured: ...' in a test's log are repeated by the runner.

# cfg_opts output is split into words on purpose; XDG_RUNTIME_DIR is set in
# subshells on purpose:
# shellcheck disable=SC2046,SC2030,SC2031

# new_store: a fresh private store directory for this test (prints its path).
new_store() {
    local d
    d=$(mktemp -d "$T_DIR/store.XXXXXX") || t_fatal "mktemp -d"
    chmod 700 "$d" || t_fatal "chmod 700 $d"
    echo "$d"
}

# wrap_prefix: sets WRAP, the command prefix that runs a program through
# scripts/autoresume (the way users do), honouring AR_PRELOAD_MODE like
# with_lib: 'off' runs it as it is, 'disabled' passes --disable.  With
# AR_PRELOAD_FIRST (the ASan runtime) LD_PRELOAD already lists both, in
# order, and the wrapper leaves it alone.
wrap_prefix() {
    WRAP=(env AUTORESUME_LIBRARY="$AR_LIB")
    case ${AR_PRELOAD_MODE:-on} in
    off) WRAP=(env) ;;
    disabled) WRAP+=("$ROOT/scripts/autoresume" --disable) ;;
    *)
        [[ -n ${AR_PRELOAD_FIRST:-} ]] && WRAP+=(LD_PRELOAD="$AR_PRELOAD_FIRST $AR_LIB")
        WRAP+=("$ROOT/scripts/autoresume") ;;
    esac
}

# ar_wrapper CMD...: run CMD through scripts/autoresume (see wrap_prefix).
ar_wrapper() {
    local WRAP
    wrap_prefix
    "${WRAP[@]}" "$@"
}

# lib_prefix: sets LIB_ENV, an env(1) prefix doing what with_lib does (for
# background processes whose pid must be the client's own).
lib_prefix() {
    local pre="${AR_PRELOAD_FIRST:+$AR_PRELOAD_FIRST }$AR_LIB"
    case ${AR_PRELOAD_MODE:-on} in
    off) LIB_ENV=(env) ;;
    disabled) LIB_ENV=(env AUTORESUME_DISABLE=1 LD_PRELOAD="$pre") ;;
    *) LIB_ENV=(env LD_PRELOAD="$pre") ;;
    esac
}

# nlines FILE: its non-empty lines (0 if it does not exist).
nlines() {
    if [[ -f $1 ]]; then grep -c . "$1"; else echo 0; fi
}

# run_client_in LABEL INPUT CMD...: run_client with stdin from INPUT.
run_client_in() {
    local label=$1 in=$2 rc; shift 2
    echo "\$ $* <$(basename "$in")"
    "$@" >"$T_DIR/$label.out" 2>"$T_DIR/$label.err" <"$in"
    rc=$?
    sed 's/^/  | /' "$T_DIR/$label.out"
    [[ -s $T_DIR/$label.err ]] && sed 's/^/  ! /' "$T_DIR/$label.err"
    echo "  -> exit $rc"
    return "$rc"
}

# store_client CLIENT LABEL STORE PORT [PATH]: one HTTPS request in one new
# process of CLIENT (curl, python, socat, perl) through the library, verifying
# the server against CA1 as 'localhost', with AUTORESUME_CACHE=STORE.
# Returns 0 iff the request succeeded.
store_client() {
    local client=$1 label=$2 st=$3 port=$4 path=${5:-/} rc
    case $client in
    curl)
        AUTORESUME_CACHE=$st run_client "$label" ar_wrapper curl -sS --cacert "$CERTS/ca1.pem" \
            "https://localhost:$port$path"
        rc=$?
        ((rc == 0)) && [[ $(<"$T_DIR/$label.out") == ok ]] ;;
    python)
        AUTORESUME_CACHE=$st run_client "$label" with_lib "${PY[@]}" "$CLIENTS/https_get.py" \
            127.0.0.1 "$port" 1 --cafile "$CERTS/ca1.pem" --server-hostname localhost --path "$path" ;;
    socat)
        printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >"$T_DIR/$label.req"
        AUTORESUME_CACHE=$st run_client_in "$label" "$T_DIR/$label.req" with_lib socat -t 5 -T 20 - \
            "OPENSSL:localhost:$port,cafile=$CERTS/ca1.pem,verify=1,commonname=localhost"
        rc=$?
        ((rc == 0)) && head -n 1 "$T_DIR/$label.out" | grep -q '^HTTP/1\.1 200 ' ;;
    perl)
        AUTORESUME_CACHE=$st run_client "$label" with_lib "$PERL" "$CLIENTS/https_get.pl" \
            127.0.0.1 "$port" 1 --cafile "$CERTS/ca1.pem" --server-hostname localhost ;;
    *) t_fatal "unknown client $client" ;;
    esac
}

# reused_column NAME: nginx NAME's $ssl_session_reused column, one word per
# request ('.' full handshake, 'r' resumed), e.g. '. r r'.
reused_column() {
    nginx_log "$1" | awk '{ printf "%s%s", sep, $1; sep = " " }'
}

# sha_of FILE: SHA-256 of FILE (or 'missing').
sha_of() { sha256sum "$1" 2>/dev/null | awk '{ print $1 }' || echo missing; }

# store_no_public STORE WHAT: nothing in STORE open to group or others.
store_no_public() {
    local bad
    bad=$(find "$1" -perm /077 -printf '%M %p\n' 2>/dev/null)
    [[ -z $bad ]] || printf '%s\n' "$bad" | sed 's/^/  public: /'
    t_assert_eq "$(printf '%s' "$bad" | grep -c .)" 0 "$2: store entries open to group/other"
}

show_store() {
    echo "store $1:"
    find "$1" -printf '  %M %u %6s %P %l\n' 2>/dev/null | head -n 40
}

# ---------------------------------------------------- 1. runs of one client --
# 8 separate processes of one client, one request each, one store: the server
# must see at least 7 resumed handshakes (all but the first).  nginx with
# tickets and no session cache, except curl on TLS 1.2: curl sets
# SSL_OP_NO_TICKET (its ClientHello has no session_ticket extension), so it
# can only resume a session ID, from the server's session cache.

t_store_runs() {
    local client=$1 proto=$2 st i ok=0 runs=8 cache=nocache
    [[ $client.$proto == curl.tls12 ]] && cache=cache
    st=$(new_store)
    nginx_start s "$proto" tickets "$cache" || t_fatal "nginx did not start"
    for ((i = 1; i <= runs; i++)); do
        store_client "$client" "run$i" "$st" "$NGINX_PORT" && ok=$((ok + 1))
    done
    t_assert_eq "$ok" "$runs" "$client processes whose request succeeded"
    nginx_stop s
    echo "server: $(reused_column s)"
    echo "measured: $client $proto: resumed $(count_reused s) of $(count_lines s) processes (server)"
    server_check s "$runs" $((runs - 1))
    store_no_public "$st" "after the runs"
}

for client in curl python socat perl; do
    for proto in tls13 tls12; do
        t_register "store.runs.$client.$proto" "t_store_runs $client $proto"
    done
done

# ------------------------------------------------------ 2. parallel curl runs --
# 60 curl processes, 6 at a time, against stateful single-use TLS 1.3 tickets
# (tickets off + shared cache): each ticket must be spent by one process only.

t_store_parallel_curl() {
    local st total=60 par=6 rc lines reused pct WRAP
    st=$(new_store)
    wrap_prefix
    nginx_start s tls13 notickets cache || t_fatal "nginx did not start"
    local url="https://localhost:$NGINX_PORT/"
    echo "\$ seq $total | xargs -P$par ... autoresume curl -sS --cacert ca1.pem $url"
    seq "$total" | AUTORESUME_CACHE=$st xargs -P"$par" -I{} "${WRAP[@]}" \
        curl -sS -o /dev/null -w '%{http_code}\n' --cacert "$CERTS/ca1.pem" "$url" \
        >"$T_DIR/par.out" 2>"$T_DIR/par.err"
    rc=$?
    sed 's/^/  ! /' "$T_DIR/par.err" | head -n 20
    t_assert_status "$rc" 0 "xargs (every curl run)"
    t_assert_eq "$(grep -c '^200$' "$T_DIR/par.out")" "$total" "curl runs that got 200"
    t_assert_empty_file "$T_DIR/par.err" "curl stderr"
    nginx_stop s
    lines=$(count_lines s)
    reused=$(count_reused s)
    pct=$((lines > 0 ? reused * 100 / lines : 0))
    echo "server: $(reused_column s)"
    echo "measured: parallel curl: resumed $reused of $lines ($pct%)"
    t_assert_eq "$lines" "$total" "requests seen by the server"
    t_assert_ge "$pct" 80 "percent resumed (server)"
    store_no_public "$st" "after the runs"
}
t_register store.parallel-curl t_store_parallel_curl

# ---------------------------------------------------------- 3. corrupt store --
# After 3 runs, damage the store; then 3 more runs: all succeed, the first is
# a full handshake, the next two resume.  Each variant damages it twice:
#   random   every regular file (salt too) -> random bytes of random length;
#            then only the session files (salt kept: the take path meets them)
#   empty    the same, truncating to 0 bytes
#   symlink  every session file -> symlink to /etc/passwd; then the salt too
#   keydir   the key's directory -> a regular file of random bytes; then a
#            directory with mode 0755 holding the sessions

corrupt_files() { # STORE random|empty all|sessions
    local f n=0
    while IFS= read -r -d '' f; do
        [[ $3 == sessions && $(basename "$f") == salt ]] && continue
        if [[ $2 == random ]]; then
            head -c $((RANDOM % 4000)) /dev/urandom >"$f"
        else
            : >"$f"
        fi
        n=$((n + 1))
    done < <(find "$1" -type f -print0)
    echo "damaged $n files ($2, $3)"
}

symlink_files() { # STORE sessions|salt
    local f n=0
    while IFS= read -r -d '' f; do
        if [[ $2 == salt && $(basename "$f") == salt ]] ||
            [[ $2 == sessions && $(basename "$f") == *.[ts] ]]; then
            rm -f "$f" && ln -s /etc/passwd "$f" && n=$((n + 1))
        fi
    done < <(find "$1" -type f -print0)
    echo "replaced $n files by symlinks to /etc/passwd ($2)"
}

damage_keydir() { # STORE file|mode
    local k
    for k in "$1"/k*; do
        [[ -d $k ]] || continue
        if [[ $2 == file ]]; then
            rm -rf "$k" && head -c 100 /dev/urandom >"$k" && chmod 600 "$k"
        else
            chmod 755 "$k"
        fi
        echo "key directory $(basename "$k"): $2"
    done
}

# corrupt_column ROUND: the server's reused column for the runs of ROUND
# (told apart by their request paths, /rROUND-I).
corrupt_column() {
    nginx_log s | awk -v p="^/r$1-" '$4 ~ p { printf "%s%s", sep, $1; sep = " " }'
}

t_store_corrupt() {
    local variant=$1 cfg=$2 st round i passwd_sha
    st=$(new_store)
    passwd_sha=$(sha_of /etc/passwd)
    # One nginx for the whole test: a restart would change its ticket keys
    # and make the first run after the damage a full handshake anyway.
    nginx_start s $(cfg_opts "$cfg") || t_fatal "nginx did not start"
    for i in 1 2 3; do
        store_client python "pre$i" "$st" "$NGINX_PORT" "/pre-$i"
        t_assert_status $? 0 "run $i before the damage"
    done
    show_store "$st"
    t_assert_ge "$(find "$st" -type f -name '*.[ts]' | wc -l)" 1 "session files in the store before the damage"
    for round in 1 2; do
        case $variant.$round in
        random.1) corrupt_files "$st" random all ;;
        random.2) corrupt_files "$st" random sessions ;;
        empty.1) corrupt_files "$st" empty all ;;
        empty.2) corrupt_files "$st" empty sessions ;;
        symlink.1) symlink_files "$st" sessions ;;
        symlink.2) symlink_files "$st" salt ;;
        keydir.1) damage_keydir "$st" file ;;
        keydir.2) damage_keydir "$st" mode ;;
        esac
        show_store "$st"
        for i in 1 2 3; do
            store_client python "r$round.$i" "$st" "$NGINX_PORT" "/r$round-$i"
            t_assert_status $? 0 "round $round, run $i after the damage"
        done
        show_store "$st"
    done
    nginx_stop s
    echo "server: $(reused_column s)"
    for round in 1 2; do
        echo "measured: corrupt $variant $cfg round $round: server $(corrupt_column $round)"
        t_assert_eq "$(corrupt_column $round)" ". r r" \
            "round $round, server: first run after the damage full, the next two resumed"
    done
    t_assert_eq "$(sha_of /etc/passwd)" "$passwd_sha" "/etc/passwd unchanged"
    t_assert_eq "$(find "$st" -type l | wc -l)" 0 "symlinks left in the store"
    [[ $variant == keydir ]] || store_no_public "$st" "after the runs"
}

for cfg in tls13-tickets tls12-tickets; do
    for variant in random empty symlink; do
        t_register "store.corrupt.$variant.$cfg" "t_store_corrupt $variant $cfg"
    done
done
t_register store.corrupt.keydir.tls13-tickets "t_store_corrupt keydir tls13-tickets"

# ------------------------------------------------------------------ 4. trust --
# A session won by one process must not let a later process with stricter or
# other trust settings succeed: the same exit status (and message) as
# without the library, and no request served.  Control: a second process
# with the first one's settings does resume (the store had something to offer).

# trust_pair LABEL CMD...: run CMD without and with the library (the latter
# through ar_wrapper for curl, with_lib else); sets BASE_RC and LIB_RC.
trust_pair() {
    local label=$1; shift
    AUTORESUME_CACHE=$ST run_client "$label.base" "$@"
    BASE_RC=$?
    if [[ $1 == curl ]]; then
        AUTORESUME_CACHE=$ST run_client "$label" ar_wrapper "$@"
    else
        AUTORESUME_CACHE=$ST run_client "$label" with_lib "$@"
    fi
    LIB_RC=$?
}

# trust_control LABEL CMD...: CMD twice through the library, both succeed.
trust_control() {
    local label=$1 i; shift
    for i in 1 2; do
        if [[ $1 == curl ]]; then
            AUTORESUME_CACHE=$ST run_client "$label$i" ar_wrapper "$@"
        else
            AUTORESUME_CACHE=$ST run_client "$label$i" with_lib "$@"
        fi
        t_assert_status $? 0 "$label run $i"
    done
}

t_store_trust_curl_insecure() {
    local cfg=$1 p
    ST=$(new_store)
    nginx_start s $(cfg_opts "$cfg") self || t_fatal "nginx did not start"
    p=$NGINX_PORT
    trust_control ins curl -sS -k "https://localhost:$p/"
    trust_pair sys curl -sS "https://localhost:$p/"
    t_assert_status "$BASE_RC" 60 "verifying curl (system CAs) without the library"
    t_assert_status "$LIB_RC" "$BASE_RC" "verifying curl (system CAs) with the library, after curl -k"
    t_assert_eq "$(head -n 1 "$T_DIR/sys.err")" "$(head -n 1 "$T_DIR/sys.base.err")" "curl's error message"
    trust_pair ca1 curl -sS --cacert "$CERTS/ca1.pem" "https://localhost:$p/"
    t_assert_status "$LIB_RC" "$BASE_RC" "curl --cacert ca1.pem against the self-signed server"
    nginx_stop s
    echo "server: $(reused_column s)"
    t_assert_eq "$(reused_column s)" ". r" "server: only the two curl -k runs served, the second resumed"
}

# how = cacert (a CA file) or capath (a hashed directory, looked up lazily:
# the trust store holds no certificate when the handshake starts).
t_store_trust_curl_ca() {
    local cfg=$1 how=${2:-cacert} p t1 t2
    ST=$(new_store)
    nginx_start s $(cfg_opts "$cfg") srv1 || t_fatal "nginx did not start"
    p=$NGINX_PORT
    if [[ $how == capath ]]; then
        if ! { mkdir "$T_DIR/cp1" "$T_DIR/cp2" && cp "$CERTS/ca1.pem" "$T_DIR/cp1/" &&
            cp "$CERTS/ca2.pem" "$T_DIR/cp2/" && "$OPENSSL" rehash "$T_DIR/cp1" "$T_DIR/cp2"; }; then
            t_fatal "cannot make the CA directories"
        fi
        t1=(--capath "$T_DIR/cp1") t2=(--capath "$T_DIR/cp2")
    else
        t1=(--cacert "$CERTS/ca1.pem") t2=(--cacert "$CERTS/ca2.pem")
    fi
    trust_control ca1- curl -sS "${t1[@]}" "https://localhost:$p/"
    trust_pair ca2 curl -sS "${t2[@]}" "https://localhost:$p/"
    t_assert_status "$BASE_RC" 60 "curl ${t2[0]} (CA2) without the library"
    t_assert_status "$LIB_RC" "$BASE_RC" "curl ${t2[0]} (CA2) with the library, after CA1 runs"
    t_assert_eq "$(head -n 1 "$T_DIR/ca2.err")" "$(head -n 1 "$T_DIR/ca2.base.err")" "curl's error message"
    nginx_stop s
    echo "server: $(reused_column s)"
    t_assert_eq "$(reused_column s)" ". r" "server: only the two CA1 runs served, the second resumed"
}

# python: error lines without the client's own reused= flag
py_outcome() { grep '^conn 0 ' "$1" | sed 's/ reused=[01]//'; }

t_store_trust_python() {
    local cfg=$1 what=$2 p g=("${PY[@]}" "$CLIENTS/https_get.py" 127.0.0.1)
    ST=$(new_store)
    if [[ $what == insecure-then-verify ]]; then
        nginx_start s $(cfg_opts "$cfg") self || t_fatal "nginx did not start"
        p=$NGINX_PORT
        trust_control ins "${g[@]}" "$p" 1 --insecure --server-hostname localhost
        trust_pair sys "${g[@]}" "$p" 1 --server-hostname localhost
        t_assert_match "$(py_outcome "$T_DIR/sys.out")" 'error SSLCertVerificationError' \
            "verifying python (system CAs) refuses the self-signed server"
        t_assert_eq "$(py_outcome "$T_DIR/sys.out")" "$(py_outcome "$T_DIR/sys.base.out")" \
            "system CAs: same outcome as without the library"
        t_assert_status "$LIB_RC" "$BASE_RC" "system CAs"
        trust_pair ca1 "${g[@]}" "$p" 1 --cafile "$CERTS/ca1.pem" --server-hostname localhost
    else
        nginx_start s $(cfg_opts "$cfg") srv1 || t_fatal "nginx did not start"
        p=$NGINX_PORT
        trust_control ca1- "${g[@]}" "$p" 1 --cafile "$CERTS/ca1.pem" --server-hostname localhost
        trust_pair ca2 "${g[@]}" "$p" 1 --cafile "$CERTS/ca2.pem" --server-hostname localhost
    fi
    local last=ca1
    [[ $what == insecure-then-verify ]] || last=ca2
    t_assert_match "$(py_outcome "$T_DIR/$last.out")" 'error SSLCertVerificationError' \
        "python trusting only ${last^^} refuses the server"
    t_assert_eq "$(py_outcome "$T_DIR/$last.out")" "$(py_outcome "$T_DIR/$last.base.out")" \
        "${last^^}: same outcome as without the library"
    t_assert_status "$LIB_RC" "$BASE_RC" "${last^^}"
    nginx_stop s
    echo "server: $(reused_column s)"
    t_assert_eq "$(reused_column s)" ". r" "server: only the two control runs served, the second resumed"
}

for cfg in tls13-tickets tls12-cache; do
    t_register "store.trust.curl-insecure-then-verify.$cfg" "t_store_trust_curl_insecure $cfg"
    t_register "store.trust.curl-ca1-then-ca2.$cfg" "t_store_trust_curl_ca $cfg"
    t_register "store.trust.curl-capath-ca1-then-ca2.$cfg" "t_store_trust_curl_ca $cfg capath"
    t_register "store.trust.python-insecure-then-verify.$cfg" "t_store_trust_python $cfg insecure-then-verify"
    t_register "store.trust.python-ca1-then-ca2.$cfg" "t_store_trust_python $cfg ca1-then-ca2"
done

# ------------------------------------------------------------ 5. unsafe dirs --
# AUTORESUME_CACHE names a directory the library must not use: it keeps
# sessions per process (two connections per process: the second resumes),
# writes nothing there, and says why once per process at AUTORESUME_LOG=warn
# (process 1 to stderr, process 2 to AUTORESUME_LOG_FILE).

t_store_unsafe_dir() {
    local kind=$1 dir target="" why log=$T_DIR/ar.log mode0 mode1 i n
    dir=$T_DIR/unsafe
    case $kind in
    0777) mkdir "$dir" && chmod 0777 "$dir"; why='store directory is open to group or others' ;;
    0755) mkdir "$dir" && chmod 0755 "$dir"; why='store directory is open to group or others' ;;
    symlink)
        target=$(new_store)
        ln -s "$target" "$dir"; why='cannot open the store directory \(missing, or a symlink\)' ;;
    nobody)
        mkdir -m 700 "$dir" || t_fatal "mkdir $dir"
        chown nobody "$dir" || t_fatal "chown nobody (not root?)"
        why='store directory is owned by another user' ;;
    esac
    mode0=$(stat -c '%A %U' "$dir")
    nginx_start s tls13 tickets || t_fatal "nginx did not start"
    AUTORESUME_CACHE=$dir AUTORESUME_LOG=warn run_client p1 with_lib "${PY[@]}" "$CLIENTS/https_get.py" \
        127.0.0.1 "$NGINX_PORT" 2 --cafile "$CERTS/ca1.pem" --server-hostname localhost
    t_assert_status $? 0 "process 1 (log to stderr)"
    AUTORESUME_CACHE=$dir AUTORESUME_LOG=warn AUTORESUME_LOG_FILE=$log run_client p2 with_lib \
        "${PY[@]}" "$CLIENTS/https_get.py" 127.0.0.1 "$NGINX_PORT" 2 --cafile "$CERTS/ca1.pem" \
        --server-hostname localhost
    t_assert_status $? 0 "process 2 (log to a file)"
    nginx_stop s
    echo "server: $(reused_column s)"
    echo "measured: unsafe-dir $kind: server $(reused_column s)"
    t_assert_eq "$(reused_column s)" ". r . r" \
        "server: each process resumes its own second connection, never across processes"
    local re="^autoresume\[[0-9]+\]: session store ${dir//./\\.} not used: $why; sessions stay in this process\$"
    n=$(nlines "$T_DIR/p1.err")
    t_assert_eq "$n" 1 "lines on process 1's stderr"
    t_assert_match "$(cat "$T_DIR/p1.err")" "$re" "process 1's stderr gives the reason"
    t_assert_empty_file "$T_DIR/p2.err" "process 2's stderr (it logs to a file)"
    t_assert_eq "$(nlines "$log")" 1 "lines in process 2's log file"
    t_assert_match "$(cat "$log" 2>/dev/null)" "$re" "process 2's log file gives the reason"
    mode1=$(stat -c '%A %U' "$dir")
    t_assert_eq "$mode1" "$mode0" "the directory's mode and owner unchanged"
    t_assert_eq "$(find -L "$dir" -mindepth 1 | wc -l)" 0 "entries created in $kind directory"
    [[ -n $target ]] && t_assert_eq "$(find "$target" -mindepth 1 | wc -l)" 0 \
        "entries created in the symlink's target"
    # 'nobody' must not be left owning anything in the run directory.
    [[ $kind == nobody ]] && chown root "$dir"
    return 0
}

for kind in 0777 0755 symlink nobody; do
    t_register "store.unsafe-dir.$kind" "t_store_unsafe_dir $kind"
done

# ---------------------------------------------------------------- 6. SIGKILL --
# 10 rounds: 4 python processes (20 sequential connections each, one store)
# killed with SIGKILL at a random moment; then 3 single runs: all succeed and
# the 2nd and 3rd resume (server).  The store stays private, and holds no
# in-flight file (.tmp-*, .claim-*) older than the test; stale ones (older
# than 60 s) are swept by the next run, fresh ones are left alone.

t_store_sigkill() {
    local st rounds=10 r i fd delay pids ok=0 runs=0 resumed=0 want=0 killed=0 col LIB_ENV
    st=$(new_store)
    lib_prefix
    touch "$T_DIR/started"
    nginx_start s tls13 tickets || t_fatal "nginx did not start"
    mkfifo "$T_DIR/never" || t_fatal mkfifo
    exec {fd}<>"$T_DIR/never"
    # How long one client takes unhindered: the kills fall within that.
    local t0 dur ms
    t0=$(_t_now_ms)
    "${LIB_ENV[@]}" AUTORESUME_CACHE="$st" "${PY[@]}" "$CLIENTS/https_get.py" 127.0.0.1 "$NGINX_PORT" 20 \
        --cafile "$CERTS/ca1.pem" --server-hostname localhost --path /timing >"$T_DIR/timing.out" 2>&1
    t_assert_status $? 0 "one client, 20 connections, not killed"
    dur=$(($(_t_now_ms) - t0))
    echo "one client, 20 connections: ${dur} ms"
    for ((r = 1; r <= rounds; r++)); do
        pids=()
        for i in 1 2 3 4; do
            # env execs python: $! is the client itself
            "${LIB_ENV[@]}" AUTORESUME_CACHE="$st" "${PY[@]}" "$CLIENTS/https_get.py" 127.0.0.1 "$NGINX_PORT" 20 \
                --cafile "$CERTS/ca1.pem" --server-hostname localhost --path "/bg-$r" \
                >"$T_DIR/bg$r.$i.out" 2>&1 </dev/null &
            pids+=($!)
        done
        ms=$((10 + RANDOM % (dur > 20 ? dur : 20)))
        delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
        read -r -t "$delay" -u "$fd" _ # a random moment
        for i in "${pids[@]}"; do
            kill -0 "$i" 2>/dev/null && killed=$((killed + 1))
            kill -KILL "$i" 2>/dev/null
        done
        wait "${pids[@]}" 2>/dev/null
        echo "round $r: SIGKILL after ${delay}s; connections made: $(cat "$T_DIR"/bg"$r".*.out | grep -c '^conn .* ok')"
        for i in 1 2 3; do
            runs=$((runs + 1))
            store_client python "a$r.$i" "$st" "$NGINX_PORT" "/after-$r-$i" >"$T_DIR/a$r.$i.log" &&
                ok=$((ok + 1))
        done
        nginx_log s >"$T_DIR/access.now"
        col=""
        for i in 1 2 3; do
            col+="$(awk -v u="/after-$r-$i" '$4 == u { printf "%s", $1 }' "$T_DIR/access.now")"
            ((i > 1)) && want=$((want + 1)) &&
                [[ ${col: -1} == r ]] && resumed=$((resumed + 1))
        done
        echo "round $r: after-runs, server: $col"
    done
    exec {fd}<&-
    echo "measured: sigkill: $killed of $((rounds * 4)) clients killed while running;" \
        "after-runs ok $ok of $runs; runs 2-3 resumed $resumed of $want (server)"
    t_assert_ge "$killed" 1 "clients still running when killed"
    t_assert_eq "$ok" "$runs" "runs after the kills that succeeded"
    t_assert_eq "$resumed" "$want" "runs 2 and 3 after each round resumed (server)"
    show_store "$st"
    store_no_public "$st" "after the kills"
    local old
    old=$(find "$st" \( -name '.tmp-*' -o -name '.claim-*' \) ! -newer "$T_DIR/started" -printf '%P\n')
    t_assert_eq "$old" "" "in-flight files older than the test"
    echo "in-flight files left (younger than 60 s, allowed): $(find "$st" \( -name '.tmp-*' -o -name '.claim-*' \) | wc -l)"
    # The sweep: stale in-flight files in a key directory go, fresh ones stay.
    local k
    k=$(find "$st" -mindepth 1 -maxdepth 1 -type d -name 'k*' | head -n 1)
    if [[ -n $k ]]; then
        head -c 50 /dev/urandom >"$k/.tmp-1-0badf00d"
        head -c 50 /dev/urandom >"$k/.claim-1-0badf00d"
        head -c 50 /dev/urandom >"$k/.tmp-2-0f0f0f0f"
        chmod 600 "$k"/.tmp-* "$k"/.claim-*
        touch -d '-120 seconds' "$k/.tmp-1-0badf00d" "$k/.claim-1-0badf00d"
        store_client python sweep "$st" "$NGINX_PORT" /sweep >/dev/null
        t_assert_status $? 0 "run after planting in-flight files"
        t_assert_eq "$(find "$k" -name '*0badf00d' | wc -l)" 0 "stale (120 s) in-flight files swept"
        t_assert_eq "$(find "$k" -name '*0f0f0f0f' | wc -l)" 1 "fresh in-flight file left alone"
    else
        t_fail "no key directory in the store"
    fi
}
t_register store.sigkill t_store_sigkill

# Tickets and fork (clients/store_fork.py, against s_server, TLS 1.3):
#   _Fork: a child made without atfork handlers (glibc's _Fork) that ends
#          with exit() must not publish the tickets it copied from its
#          parent, which publishes them itself at its exit: no ticket file
#          twice in the store once both ended.
#   child: a forked child is a new process: its first connection's tickets
#          go to the store at once, so they survive its _exit().
t_store_fork() {
    local mode=$1 st dups line
    st=$(new_store)
    s_server_start f tls13 srv1 || t_fatal "s_server did not start"
    AUTORESUME_CACHE=$st run_client c with_lib "${PY[@]}" "$CLIENTS/store_fork.py" "$mode" "$SSERVER_PORT"
    t_assert_status $? 0 "store_fork.py $mode"
    s_server_stop f
    line=$(grep '^store ' "$T_DIR/c.out")
    dups=$(find "$st" -name '*.t' -type f -exec sha256sum {} + | awk '{ print $1 }' | sort | uniq -d | wc -l)
    echo "measured: store fork $mode: $line; after both exited: $(find "$st" -name '*.t' -type f | wc -l) ticket files, $dups duplicated"
    t_assert_eq "$dups" 0 "ticket files with the same contents once parent and child ended"
    if [[ $mode == child ]]; then
        t_assert_match "$(grep '^conn child ' "$T_DIR/c.out")" 'reused=1' "the child resumed (from the store)"
        t_assert_match "$line" 'after=[1-9]' "the child's own ticket reached the store before its _exit"
    fi
}
t_register store.fork.no-atfork "t_store_fork _Fork"
t_register store.fork.child-exit "t_store_fork child"

# ---------------------------------------------------------- 7. --list/--clear --
# scripts/autoresume --list shows the servers (label, protocol, age, expiry,
# counts: nothing else); --clear HOST:PORT / HOST removes them; the next run
# is a full handshake.

ar_store_cmd() { # LABEL ARGS...: scripts/autoresume --list/--clear on $ST
    AUTORESUME_CACHE=$ST run_client "$1" "$ROOT/scripts/autoresume" "${@:2}"
}

t_store_list_clear() {
    local p1 p2 i out hdr row re
    ST=$(new_store)
    nginx_start a tls13 tickets || t_fatal "nginx did not start"
    p1=$NGINX_PORT
    nginx_start b tls12 tickets || t_fatal "nginx did not start"
    p2=$NGINX_PORT
    for i in 1 2 3; do store_client python "a$i" "$ST" "$p1"; done
    store_client python b1 "$ST" "$p2"
    store_client curl c1 "$ST" "$p1"
    ar_store_cmd l1 --list
    t_assert_status $? 0 "autoresume --list"
    out=$T_DIR/l1.out
    hdr='^SERVER +LIBRARY +PROTOCOL +AGE +EXPIRES IN +TICKETS +SESSIONS  DIFFERS IN$'
    # A row ends with its counts, or (rows of one server) what its key differs in.
    row='[0-9]+[smhd]([0-9]{2}[mh])? +[0-9]+[smhd]([0-9]{2}[mh])? +[0-9]+ +[0-9]+(  [a-z-]+=[^ ]+( [a-z-]+=[^ ]+)*)?$'
    t_assert_match "$(head -n 1 "$out")" "$hdr" "--list header"
    t_assert_eq "$(grep -c . "$out")" 4 "--list lines (header + 3 rows)"
    re="^localhost:$p1 +openssl-3\.[0-9]+ +TLSv1\.3 +$row"
    # python's row and curl's: one server, two keys (the programs' settings differ).
    t_assert_eq "$(grep -c "^localhost:$p1 " "$out")" 2 "rows of the TLS 1.3 server (python's, curl's)"
    t_assert_match "$(grep -m 1 "^localhost:$p1 " "$out")" "$re" "row of the TLS 1.3 server (python)"
    t_assert_ge "$(grep -m 1 "^localhost:$p1 " "$out" | awk '{ print $6 }')" 1 "its tickets"
    t_assert_match "$(grep "^localhost:$p2 " "$out")" "^localhost:$p2 +openssl-3\.[0-9]+ +TLSv1\.2 +$row" "row of the TLS 1.2 server"
    t_assert_eq "$(grep "^localhost:$p2 " "$out" | awk '{ print $7 }')" 1 "its reusable sessions"
    t_assert_match "$(grep "^localhost:$p1 " "$out" | sed -n 2p)" "$re" "row of curl's session (the port of its socket)"
    t_assert_eq "$(grep "^localhost:$p1 " "$out" | grep -oE 'settings=[0-9a-f]{4}' | sort -u | wc -l)" 2 \
        "the two rows say their settings differ"
    t_assert_eq "$(grep -cvE "$hdr|^localhost:($p1|$p2|\?) +openssl-3\.[0-9]+ +TLSv1\.[23] +$row" "$out")" 0 \
        "--list lines that are not the header or a known row"
    t_assert_eq "$(grep -cE '[0-9A-Fa-f]{16,}' "$out" "$T_DIR/l1.err" | awk -F: '{ s += $NF } END { print s }')" 0 \
        "--list lines holding a long hex string"
    t_assert_empty_file "$T_DIR/l1.err" "--list stderr"

    ar_store_cmd c1 --clear "localhost:$p2"
    t_assert_status $? 0 "--clear localhost:$p2"
    t_assert_match "$(cat "$T_DIR/c1.out")" '^removed 1 server from ' "--clear localhost:$p2 says"
    ar_store_cmd l2 --list
    t_assert_eq "$(grep -c "^localhost:$p2 " "$T_DIR/l2.out")" 0 "localhost:$p2 listed after clearing it"
    t_assert_eq "$(grep -c "^localhost:$p1 " "$T_DIR/l2.out")" 2 "localhost:$p1 still listed"
    ar_store_cmd c2 --clear localhost
    t_assert_status $? 0 "--clear localhost"
    t_assert_match "$(cat "$T_DIR/c2.out")" '^removed 2 servers from ' "--clear localhost says"
    ar_store_cmd l3 --list
    t_assert_status $? 0 "--list of an empty store"
    t_assert_eq "$(cat "$T_DIR/l3.out")" "no sessions stored in $ST" "--list after --clear localhost"
    t_assert_eq "$(find "$ST" -mindepth 1 -name 'k*' | wc -l)" 0 "key directories left"

    # The next runs: a full handshake (nothing stored), then resumed.
    store_client python a4 "$ST" "$p1"
    store_client python a5 "$ST" "$p1"
    store_client python b2 "$ST" "$p2"
    store_client python b3 "$ST" "$p2"
    nginx_stop a
    nginx_stop b
    echo "measured: list-clear: server a $(reused_column a), server b $(reused_column b)"
    t_assert_eq "$(reused_column a)" ". r r . . r" \
        "server a: python 1 full, 2-3 resumed, curl full; after the clear: full, then resumed"
    t_assert_eq "$(reused_column b)" ". . r" \
        "server b: run 1 full; after the clear: full, then resumed"
}
t_register store.list-clear.curl t_store_list_clear

# ---------------------------------------------------------- 8. default place --
# AUTORESUME_CACHE unset: $XDG_RUNTIME_DIR/autoresume when XDG_RUNTIME_DIR is a
# private directory of ours (0700, not a symlink), else /tmp/autoresume-UID.

t_store_default_dir() {
    local kind=$1 xdg st i tmpst created=0 mode
    tmpst=/tmp/autoresume-$(id -u)
    xdg=$T_DIR/xdg
    case $kind in
    xdg-private) mkdir -m 700 "$xdg" ;;
    xdg-0755) mkdir -m 755 "$xdg" ;;
    xdg-symlink) mkdir -m 700 "$T_DIR/xdg-real" && ln -s "$T_DIR/xdg-real" "$xdg" ;;
    esac
    if [[ $kind == xdg-private ]]; then
        st=$xdg/autoresume
    else
        st=$tmpst
        [[ -e $tmpst ]] || created=1
    fi
    echo "expected store: $st (created by this test: $created)"
    nginx_start s tls13 tickets || t_fatal "nginx did not start"
    for i in 1 2 3; do
        (
            unset AUTORESUME_CACHE
            export XDG_RUNTIME_DIR=$xdg
            run_client "r$i" with_lib "${PY[@]}" "$CLIENTS/https_get.py" 127.0.0.1 "$NGINX_PORT" 1 \
                --cafile "$CERTS/ca1.pem" --server-hostname localhost
        )
        t_assert_status $? 0 "run $i"
    done
    # The CLI finds the same place.
    (
        unset AUTORESUME_CACHE
        export XDG_RUNTIME_DIR=$xdg
        run_client list "$ROOT/scripts/autoresume" --list
    )
    nginx_stop s
    echo "measured: default-dir $kind: server $(reused_column s)"
    t_assert_eq "$(reused_column s)" ". r r" "server: runs 2 and 3 resumed from the default store"
    t_assert_eq "$(grep -c "^localhost:$NGINX_PORT " "$T_DIR/list.out")" 1 \
        "autoresume --list (AUTORESUME_CACHE unset) shows the server"
    mode=$(stat -c '%a %U' "$st" 2>/dev/null)
    t_assert_eq "$mode" "700 $(id -un)" "mode and owner of $st"
    if [[ $kind == xdg-private ]]; then
        t_assert_eq "$(find "$st" -type f ! -perm 600 | wc -l)" 0 "store files not 0600"
        t_assert_eq "$(find "$st" -type d ! -perm 700 | wc -l)" 0 "store directories not 0700"
        t_assert_ge "$(find "$st" -type f -name '*.t' | wc -l)" 1 "tickets in $st"
        show_store "$st"
    else
        t_assert_eq "$(find -L "$xdg" -mindepth 1 | wc -l)" 0 "entries created under the unusable XDG_RUNTIME_DIR"
        t_assert_eq "$(find "$st" -maxdepth 0 -perm /077 | wc -l)" 0 "$st open to group/other"
        # Leave the user's store as it was: remove our server, and the store
        # itself if this test created it and nothing else is in it now.
        AUTORESUME_CACHE=$st run_client clear "$ROOT/scripts/autoresume" --clear "localhost:$NGINX_PORT"
        t_assert_match "$(cat "$T_DIR/clear.out")" '^removed 1 server ' "our server removed from $st"
        if ((created)) && [[ -z $(find "$st" -mindepth 1 -maxdepth 1 -name 'k*') ]]; then
            rm -rf "$st" && echo "removed $st (this test created it)"
        fi
    fi
}

for kind in xdg-private xdg-0755 xdg-symlink; do
    t_register "store.default-dir.$kind" "t_store_default_dir $kind"
done

# ---------------------------------------------------------- ticket lifetime --
# A TLS 1.3 ticket must not be used once older than the lifetime the server
# gave it (RFC 8446 4.2.11: clients MUST NOT attempt to use tickets whose age
# exceeds ticket_lifetime).  nginx sends ssl_session_timeout (here 2 s) as the
# lifetime.  Control: a second run within the lifetime resumes.  After it, the
# store must hold nothing live (--list), the next run has no session to offer
# (library log: 'no session', not an offer the server 'refused'), and the run
# after that resumes again.  The 3 s wait is the point of the test (expiry),
# not a synchronisation.

t_store_ticket_lifetime() {
    local st log=$T_DIR/ar.log i
    st=$(new_store)
    nginx_start s tls13 tickets timeout=2s || t_fatal "nginx did not start"
    for i in 1 2; do
        store_client python "r$i" "$st" "$NGINX_PORT" "/r$i"
        t_assert_status $? 0 "run $i"
    done
    AUTORESUME_CACHE=$st run_client l1 "$ROOT/scripts/autoresume" --list
    sleep 3
    AUTORESUME_CACHE=$st run_client l2 "$ROOT/scripts/autoresume" --list
    t_assert_match "$(cat "$T_DIR/l2.out")" '^no sessions stored in ' \
        "--list once the tickets' lifetime (2 s) is over"
    AUTORESUME_LOG=info AUTORESUME_LOG_FILE=$log store_client python r3 "$st" "$NGINX_PORT" /r3
    t_assert_status $? 0 "run 3 (after the lifetime)"
    store_client python r4 "$st" "$NGINX_PORT" /r4
    t_assert_status $? 0 "run 4"
    echo "library log of run 3:"; sed 's/^/  ar: /' "$log" 2>/dev/null
    t_assert_match "$(cat "$log" 2>/dev/null)" 'TLSv1\.3 full handshake \(no session\)$' \
        "run 3: no live ticket to offer"
    nginx_stop s
    echo "measured: ticket-lifetime: server $(reused_column s)"
    t_assert_eq "$(reused_column s)" ". r . r" \
        "server: run 2 resumed (within the lifetime), run 3 full, run 4 resumed"
}
t_register store.ticket-lifetime.tls13 t_store_ticket_lifetime

# ------------------------------------------------- system calls per connection --
# A process resuming connection after connection with the store on spends
# at most 10 more system calls per resumed TLS 1.3 connection (the take of a
# ticket and the put of the new one) than with the store off: tickets stay
# in the process's table and go to the store when they overflow it or at
# exit. Counted with strace -f -c over the C client, N = 1 and N = 11, so
# start-up and the first handshake cancel out. The figure for a one-shot
# run (the store's open, one take and one put) is printed.
store_syscalls() { # STORE N: total system calls of the C client
    rm -f "$T_DIR/sc.out"
    AUTORESUME_CACHE=$1 "${LIB_ENV[@]}" strace -f -c -o "$T_DIR/sc.out" "$ARCLIENT" -q --verify \
        --cafile "$CERTS/ca1.pem" --expect-host localhost --sni localhost -n "$2" 127.0.0.1 \
        "$SSERVER_PORT" >"$T_DIR/sc.client" 2>&1 || { cat "$T_DIR/sc.client"; return 1; }
    awk '$NF == "total" { print $4 }' "$T_DIR/sc.out"
}

t_store_syscalls() {
    local st on1 on11 off1 off11 per once
    command -v strace >/dev/null || t_fatal "strace missing (scripts/install-deps.sh)"
    lib_prefix
    s_server_start m tls13 srv1 || t_fatal "s_server did not start"
    st=$(new_store)
    store_syscalls "$st" 1 >/dev/null || t_fatal "warm-up run" # the store holds a ticket now
    on1=$(store_syscalls "$st" 1) && on11=$(store_syscalls "$st" 11) &&
        off1=$(store_syscalls off 1) && off11=$(store_syscalls off 11) || t_fatal "strace runs"
    per=$((((on11 - on1) - (off11 - off1)) / 10))
    once=$((on1 - off1))
    echo "measured: syscalls: store on - off per resumed TLS 1.3 connection: $per;" \
        "one-shot run (open, take, put): $once more than store off" \
        "(on: $on1 / $on11, off: $off1 / $off11)"
    t_assert_le "$per" 10 "system calls per resumed connection spent on the store"
    [[ ${AR_PRELOAD_MODE:-on} == on ]] && t_assert_ge "$once" 1 "control: a one-shot run uses the store"
    s_server_stop m
}
t_register store.syscalls.tls13 t_store_syscalls

# Tickets stay in the process that got them and reach the store when it
# exits normally: while it runs the store holds none, after its exit the next
# process resumes from one (the server says so).
# With "cleanup" the program calls OPENSSL_cleanup() before it exits, after
# which nothing of OpenSSL may be called: the kept tickets (only their
# parsed form) are published from OpenSSL's own stop handler instead.
t_store_publish_at_exit() {
    local st n
    s_server_start m tls13 srv1 || t_fatal "s_server did not start"
    st=$(new_store)
    local c=("$ARCLIENT" --verify --cafile "$CERTS/ca1.pem" --expect-host localhost --sni localhost)
    [[ ${1:-} == cleanup ]] && c+=(--cleanup)
    AUTORESUME_CACHE=$st AUTORESUME_LOG=debug run_client first with_lib "${c[@]}" -n 3 127.0.0.1 "$SSERVER_PORT"
    t_assert_status $? 0 "first process, 3 connections"
    t_assert_match "$(tail -n 1 "$T_DIR/first.out")" 'reused=2' "it resumed its own tickets"
    n=$(find "$st" -name '*.t' | wc -l)
    echo "tickets in the store after its exit: $n"
    [[ ${AR_PRELOAD_MODE:-on} == on ]] && t_assert_ge "$n" 1 "tickets in the store"
    [[ ${AR_PRELOAD_MODE:-on} == on ]] &&
        t_assert_ge "$(grep -c 'ticket published to the store at exit' "$T_DIR/first.err")" 1 \
            "the ticket it kept was published at its exit (log)"
    AUTORESUME_CACHE=$st run_client second with_lib "${c[@]}" -n 1 127.0.0.1 "$SSERVER_PORT"
    t_assert_status $? 0 "second process"
    t_assert_match "$(cat "$T_DIR/second.out")" 'conn 0.1 reused=1 .*server=reused' \
        "the next process resumed from a published ticket (server)"
    s_server_stop m
}
t_register store.publish-at-exit t_store_publish_at_exit
t_register store.publish-at-exit.openssl-cleanup "t_store_publish_at_exit cleanup"

# ------------------------------------------- the peer chain of a stored session --
# What a program sees of the server's certificates on a connection resumed
# from the store: i2d_SSL_SESSION writes no peer chain, so a session decoded
# in another process had none, and SSL_get_peer_cert_chain answered NULL
# where a full handshake and the program's own resumption within one process
# give the chain (found by review: curl -w '%{num_certs}' printed 1 without
# the library and 0 on the runs that resumed from the store). Three arclient
# processes (or three curl runs), one store, s_server: each run's peer chain
# and peer certificate as without the library, the 2nd and 3rd resumed
# (s_server says so). Control: the program's own resumption (--own-session)
# in one process without the library gives the chain too.
t_store_peer_chain() {
    local st want own i
    st=$(new_store)
    s_server_start p "$2" srv1 || t_fatal "s_server did not start"
    [[ $1 == curl ]] && { peer_chain_curl "$st"; return; }
    local c=("$ARCLIENT" -n 1 --verify --cafile "$CERTS/ca1.pem" --expect-host localhost --sni localhost
        --show-chain 127.0.0.1 "$SSERVER_PORT")
    run_client base "${c[@]}"
    t_assert_status $? 0 "arclient without the library"
    want=$(grep '^detail 0\.1 ' "$T_DIR/base.out")
    t_assert_match "$want" 'chain=[1-9][0-9]* peer=1' "a full handshake gives the chain"
    run_client own "${c[@]}" -n 2 --own-session
    own=$(grep '^detail 0\.2 ' "$T_DIR/own.out")
    t_assert_match "$(grep '^conn 0\.2 ' "$T_DIR/own.out")" 'reused=1' "control: the program resumed its own session"
    t_assert_eq "${own#detail 0.2 }" "${want#detail 0.1 }" "control: its own resumption gives the chain"
    for i in 1 2 3; do
        AUTORESUME_CACHE=$st run_client "run$i" with_lib "${c[@]}"
        t_assert_status $? 0 "arclient run $i with the library"
        t_assert_eq "$(grep '^detail 0\.1 ' "$T_DIR/run$i.out")" "$want" "run $i: the peer chain and certificate as without the library"
    done
    t_assert_eq "$(grep -ho 'server=[a-z]*' "$T_DIR"/run[123].out | tr '\n' ' ')" "server=new server=reused server=reused " \
        "s_server: runs 2 and 3 resumed from the store"
    s_server_stop p
}

# peer_chain_curl STORE: curl counts the chain with SSL_get_peer_cert_chain.
peer_chain_curl() {
    local st=$1 i want hits0 hits
    run_client curlbase curl -sS -o /dev/null -w '%{num_certs}\n' --cacert "$CERTS/ca1.pem" "https://localhost:$SSERVER_PORT/"
    want=$(<"$T_DIR/curlbase.out")
    t_assert_match "$want" '^[1-9][0-9]*$' "curl without the library: num_certs"
    hits0=$(s_server_hits p)
    for i in 1 2 3; do
        AUTORESUME_CACHE=$st run_client "curl$i" ar_wrapper curl -sS -o /dev/null -w '%{num_certs}\n' \
            --cacert "$CERTS/ca1.pem" "https://localhost:$SSERVER_PORT/"
        t_assert_status $? 0 "curl run $i with the library"
        t_assert_eq "$(<"$T_DIR/curl$i.out")" "$want" "curl run $i: num_certs as without the library"
    done
    hits=$(s_server_hits p)
    echo "measured: s_server session cache hits $hits0 before the curl runs, $hits after"
    t_assert_ge $((hits - hits0)) 2 "s_server: at least two curl runs resumed"
    s_server_stop p
}
for proto in tls13 tls12; do
    t_register "store.peer-chain.arclient.$proto" "t_store_peer_chain arclient $proto"
    t_register "store.peer-chain.curl.$proto" "t_store_peer_chain curl $proto"
done
