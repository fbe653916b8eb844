# shellcheck shell=bash
# tests/integration/cases/check.sh - `autoresume --check COMMAND` on real
# programs of this machine: what it says (served, not served, cannot
# tell: exit 0, 1, 3) and the TLS library it names, compared with what
# ldd finds and, for node, with what a server counts. Sourced by run.sh.
#
#   check.served.PROGRAM   curl, wget, git (its https helper), python3
#       (_ssl loaded late), perl (Net::SSLeay), ruby (openssl.so), socat,
#       openssl, gnutls-cli: exit 0, the library ldd resolves, its version.
#   check.runpath          a program that needs a library of its own
#       through DT_RUNPATH $ORIGIN/lib, which links libssl: served through it.
#   check.static           gcc -static: not served, "statically linked".
#   check.setuid           a set-user-ID copy of a served program: not served.
#   check.unknown          /bin/true links no TLS library: exit 3.
#   check.script           a script run by python3: served (_ssl).
#   check.node             node, if installed: not served (nodesource's has
#       OpenSSL built in; Debian's links libssl but installs a client
#       certificate callback), and 3 runs through the wrapper resume 0.
#   check.go               only with AR_GO_BINARY=PATH or `go` installed:
#       a Go program, not served.

ar_check() { # LABEL COMMAND: autoresume --check COMMAND, its exit status
    run_client "$1" "$ROOT/scripts/autoresume" --check "$2"
}

# The path and version ldd gives for the TLS library of PROGRAM's closure.
ldd_path() { ldd "$1" 2>/dev/null | awk -v l="$2" '$1 == l { print $3; exit }'; }

t_check_served() {
    local prog=$1 lib=$2 probe=${3:-$1} path real want
    path=$(command -v "$prog") || t_fatal "$prog not installed"
    ar_check c "$path"
    t_assert_status $? 0 "autoresume --check $prog"
    sed 's/^/  check: /' "$T_DIR/c.out"
    t_assert_eq "$(sed -n 2p "$T_DIR/c.out")" "verdict: served" "verdict line"
    # The library the loader would map (ldd of the object that needs it).
    [[ $probe == /* ]] || probe=$(command -v "$probe")
    real=$(ldd_path "$probe" "$lib")
    [[ -n $real ]] || t_fatal "ldd finds no $lib for $probe"
    real=$(readlink -f "$real")
    t_assert_match "$(cat "$T_DIR/c.out")" "$lib" "names $lib"
    local named
    named=$(grep -o "[^ ]*/$lib" "$T_DIR/c.out" | head -n 1)
    t_assert_eq "$(readlink -f "$named")" "$real" "the file it names is the one ldd maps"
    if [[ $lib == libssl.so.3 ]]; then
        want=$("$OPENSSL" version | awk '{ print $2 }')
        t_assert_match "$(cat "$T_DIR/c.out")" "OpenSSL $want: " "OpenSSL version ($want)"
    else
        want=$(gnutls-cli --version | sed -n 's/^gnutls-cli \([0-9.]*\).*/\1/p')
        t_assert_match "$(cat "$T_DIR/c.out")" "GnuTLS $want: " "GnuTLS version ($want)"
    fi
    echo "measured: --check $prog: $(grep -m1 '^  .*: served$' "$T_DIR/c.out" | sed 's/^ *//')"
}

# PROGRAM LIBRARY [OBJECT ldd reads, when not the program]
t_register check.served.curl "t_check_served curl libssl.so.3 $(ldconfig -p | awk '$1 == "libcurl.so.4" { print $NF; exit }')"
t_register check.served.wget "t_check_served wget libgnutls.so.30"
t_register check.served.git "t_check_served git libgnutls.so.30 /usr/lib/git-core/git-remote-https"
t_register check.served.socat "t_check_served socat libssl.so.3"
t_register check.served.openssl "t_check_served openssl libssl.so.3"
t_register check.served.gnutls-cli "t_check_served gnutls-cli libgnutls.so.30"

# The interpreters: the module they load late, whose libssl ldd shows.
t_check_late() {
    local prog=$1 module
    ar_check c "$prog"
    t_assert_status $? 0 "autoresume --check $prog"
    sed 's/^/  check: /' "$T_DIR/c.out"
    t_assert_eq "$(sed -n 2p "$T_DIR/c.out")" "verdict: served" "verdict line"
    # shellcheck disable=SC2016 # ruby code below
    case $prog in
    *python*) module=$("$prog" -c 'import _ssl; print(_ssl.__file__)') ;;
    perl) module=$(perl -MNet::SSLeay -e 'print $INC{"Net/SSLeay.pm"}' | sed 's|Net/SSLeay.pm$||')
        module=$(find "${module%/}/../../../.." -path '*auto/Net/SSLeay/SSLeay.so' 2>/dev/null | head -n 1) ;;
    ruby) module=$(ruby -e 'require "openssl"; puts $LOADED_FEATURES.grep(/openssl\.so$/).first') ;;
    esac
    echo "the interpreter itself loads: $module"
    [[ -n $module ]] || t_fatal "no TLS module found by the interpreter itself"
    t_assert_match "$(cat "$T_DIR/c.out")" "OpenSSL $("$OPENSSL" version | awk '{ print $2 }'): .*libssl\.so\.3 \(loaded late: " \
        "libssl, loaded late"
    t_assert_match "$(ldd "$module")" 'libssl\.so\.3' "the module the interpreter loads links libssl"
}
t_register check.late.python3 "t_check_late $PYTHON"
t_register check.late.perl "t_check_late perl"
t_register check.late.ruby "t_check_late ruby"

# A program of ours needing libourtls.so through DT_RUNPATH $ORIGIN/lib;
# that library links libssl. Without the RUNPATH rule nothing is found.
t_check_runpath() {
    mkdir -p "$T_DIR/app/lib"
    echo 'int our_tls(void); int our_tls(void) { extern int OPENSSL_init_ssl(unsigned long long, const void *); return OPENSSL_init_ssl(0, 0); }' >"$T_DIR/ours.c"
    echo 'int our_tls(void); int main(void) { return our_tls(); }' >"$T_DIR/main.c"
    cc -shared -fPIC -o "$T_DIR/app/lib/libourtls.so" "$T_DIR/ours.c" -lssl || t_fatal "cc"
    # shellcheck disable=SC2016 # $ORIGIN is for the loader
    cc -o "$T_DIR/app/prog" "$T_DIR/main.c" -L"$T_DIR/app/lib" -lourtls -Wl,--enable-new-dtags \
        -Wl,-rpath,'$ORIGIN/lib' || t_fatal "cc"
    ar_check c "$T_DIR/app/prog"
    t_assert_status $? 0 "--check of a program with RUNPATH \$ORIGIN/lib"
    sed 's/^/  check: /' "$T_DIR/c.out"
    t_assert_match "$(cat "$T_DIR/c.out")" 'libssl\.so\.3 \(through libourtls\.so\): served' "served through its own library"
    mv "$T_DIR/app/lib" "$T_DIR/app/elsewhere"
    ar_check d "$T_DIR/app/prog"
    t_assert_status $? 3 "--check when its library is gone"
    t_assert_match "$(cat "$T_DIR/d.out")" 'libourtls\.so: needed by .*, not found' "says what is missing"
}
t_register check.runpath t_check_runpath

t_check_static() {
    echo 'int main(void) { return 0; }' >"$T_DIR/s.c"
    cc -static -o "$T_DIR/static" "$T_DIR/s.c" || t_fatal "cc -static"
    ar_check c "$T_DIR/static"
    t_assert_status $? 1 "--check of a static binary"
    sed 's/^/  check: /' "$T_DIR/c.out"
    t_assert_match "$(cat "$T_DIR/c.out")" 'statically linked: not served' "why"
}
t_register check.static t_check_static

t_check_setuid() {
    cp "$(command -v socat)" "$T_DIR/socat-suid" || t_fatal "cp"
    chmod 4755 "$T_DIR/socat-suid" || t_fatal "chmod"
    ar_check c "$T_DIR/socat-suid"
    t_assert_status $? 1 "--check of a set-user-ID program"
    sed 's/^/  check: /' "$T_DIR/c.out"
    t_assert_match "$(cat "$T_DIR/c.out")" 'set-user-ID or set-group-ID: not served' "why"
    ar_check d "$(command -v socat)"
    t_assert_status $? 0 "the same program without the bit (control)"
}
t_register check.setuid t_check_setuid

t_check_unknown() {
    ar_check c /bin/true
    t_assert_status $? 3 "--check /bin/true"
    t_assert_match "$(cat "$T_DIR/c.out")" 'links no TLS library' "why"
    ar_check d "$T_DIR/no-such-program"
    t_assert_status $? 127 "--check of a missing program"
}
t_register check.unknown t_check_unknown

t_check_script() {
    printf '#!%s\nprint("hello")\n' "$PYTHON" >"$T_DIR/s.py"
    chmod +x "$T_DIR/s.py"
    ar_check c "$T_DIR/s.py"
    t_assert_status $? 0 "--check of a python script"
    sed 's/^/  check: /' "$T_DIR/c.out"
    t_assert_match "$(head -n 1 "$T_DIR/c.out")" 'a script run by .*python3' "names its interpreter"
    t_assert_match "$(cat "$T_DIR/c.out")" "loaded late: python's _ssl module" "its _ssl"
}
t_register check.script t_check_script

# node: --check says not served, and three runs through the wrapper, one
# store, resume nothing (what nginx counts), as --check said.
t_check_node() {
    local node st i
    node=$(command -v node) || t_fatal "node not installed"
    ar_check c "$node"
    t_assert_status $? 1 "--check node"
    sed 's/^/  check: /' "$T_DIR/c.out"
    if ldd "$node" | grep -q 'libnode\.so'; then
        t_assert_match "$(cat "$T_DIR/c.out")" 'node installs a client certificate callback' "Debian's node: why"
    else
        t_assert_match "$(cat "$T_DIR/c.out")" 'OpenSSL [0-9.]+ built into .*node' "a node with its own OpenSSL: why"
    fi
    st=$T_DIR/store
    mkdir -m 700 "$st"
    nginx_start s tls13 tickets || t_fatal "nginx did not start"
    for i in 1 2 3; do
        AUTORESUME_CACHE=$st run_client "n$i" "$ROOT/scripts/autoresume" -v "$node" "$CLIENTS/https_get.js" \
            127.0.0.1 "$NGINX_PORT" "$CERTS/ca1.pem" localhost
        t_assert_status $? 0 "node run $i through the wrapper"
    done
    nginx_stop s
    echo "measured: node $("$node" --version) ($(sed -n 2p "$T_DIR/c.out")): resumed $(count_reused s) of $(count_lines s) runs (server)"
    t_assert_eq "$(count_lines s)" 3 "requests"
    t_assert_eq "$(count_reused s)" 0 "resumed runs, as --check said"
}
command -v node >/dev/null && t_register check.node t_check_node

t_check_go() {
    local bin=${AR_GO_BINARY:-}
    if [[ -z $bin ]]; then
        printf 'package main\nfunc main() {}\n' >"$T_DIR/main.go"
        (cd "$T_DIR" && GOCACHE=$T_DIR/gocache GO111MODULE=off go build -o hello main.go) || t_fatal "go build"
        bin=$T_DIR/hello
    fi
    ar_check c "$bin"
    t_assert_status $? 1 "--check of a Go program"
    sed 's/^/  check: /' "$T_DIR/c.out"
    t_assert_match "$(cat "$T_DIR/c.out")" 'Go program .*: not served' "why"
}
{ [[ -n ${AR_GO_BINARY:-} ]] || command -v go >/dev/null; } && t_register check.go t_check_go
