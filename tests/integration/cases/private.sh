# shellcheck shell=bash
# A renamed private copy of the TLS library (sourced by run.sh).
#
# Python wheels bundle their own libssl, renamed (auditwheel:
# libssl-<hash>.so.3; psycopg2-binary does), loaded late with
# dlopen(RTLD_LOCAL), alone or next to the system one that `import ssl`
# brings. Our hooks bind that copy's calls too (its user module's, and its
# own internal ones through its PLT: SSL_CTX_new calls SSL_CTX_new_ex), so
# each must reach the caller's own library (ar_route.h). These tests make
# such a copy from the system library (its soname rewritten, as the loader
# sees it: libssp.so.3, libgnutlx.so.30), a module linked against it and
# one against the system library (clients/private_mod.c, private_gmod.c),
# and load them late with RTLD_LOCAL (clients/private_main.c):
#
#   dlopen.private-libssl.alone           only the copy: SSL_CTX_new failed (ENOSYS)
#   dlopen.private-libssl.after-system    system module, then the copy's: the
#       copy's objects went to the system libssl ("wrong cipher returned")
#   dlopen.private-libssl.before-system   the copy first, then the system one
#   dlopen.private-libgnutls.alone, .after-system   the same with GnuTLS
#
# Each runs without and with the library: the same exit status (0) and the
# same output, every connection verified and served. A module that ran while
# its library was the only one mapped resumes (the server counts it); once
# two builds are mapped nothing more is resumed.

# private_build KIND: the modules for KIND (ssl, gnutls) in $RUN_DIR/private,
# built once; prints that directory.
private_build() {
    local kind=$1 d=$RUN_DIR/private/$1 real name priv src libs
    case $kind in
    ssl) name=libssl.so.3 priv=libssp.so.3 src=private_mod.c libs=(-lcrypto) ;;
    gnutls) name=libgnutls.so.30 priv=libgnutlx.so.30 src=private_gmod.c libs=() ;;
    esac
    if [[ ! -e $d/done ]]; then
        mkdir -p "$d" || return 1
        real=$(${CC:-cc} -print-file-name="$name")
        [[ $real == /* ]] || real=$(ldconfig -p | awk -v n="$name" '$1 == n && /x86-64|64bit/ { print $NF; exit }')
        [[ -f $real ]] || { echo "private_build: no $name" >&2; return 1; }
        # The same length, so the file stays valid: only the soname changes.
        sed "s/${name//./\\.}/$priv/g" "$real" >"$d/$priv" || return 1
        ${CC:-cc} -O2 -Wall -Werror -shared -fPIC -o "$d/mod_priv.so" "$CLIENTS/$src" \
            -L"$d" -l:"$priv" "${libs[@]}" -Wl,-rpath,"$d" >&2 || return 1
        ${CC:-cc} -O2 -Wall -Werror -shared -fPIC -o "$d/mod_sys.so" "$CLIENTS/$src" \
            -l:"$name" "${libs[@]}" >&2 || return 1
        ${CC:-cc} -O2 -Wall -Werror -o "$d/main" "$CLIENTS/private_main.c" -ldl >&2 || return 1
        touch "$d/done"
    fi
    echo "$d"
}

# t_private KIND ORDER: ORDER = alone | after-system | before-system.
t_private() {
    local kind=$1 order=$2 d mods priv hits0 hits1
    d=$(private_build "$kind") || t_fatal "could not build the private copy"
    priv=$(ldd "$d/mod_priv.so" | grep -c "$d/lib")
    t_assert_eq "$priv" 1 "the private module maps the renamed copy"
    case $order in
    alone) mods=("$d/mod_priv.so") ;;
    after-system) mods=("$d/mod_sys.so" "$d/mod_priv.so") ;;
    before-system) mods=("$d/mod_priv.so" "$d/mod_sys.so") ;;
    esac
    s_server_start ss tls13 || t_fatal "s_server did not start"
    AUTORESUME_CACHE=off run_client base "$d/main" "$SSERVER_PORT" "$N" "$CERTS/ca1.pem" "${mods[@]}"
    t_assert_status $? 0 "without the library"
    hits0=$(s_server_hits ss)
    AUTORESUME_CACHE=off AUTORESUME_LOG=debug AUTORESUME_LOG_FILE="$T_DIR/ar.log" \
        run_client c with_lib "$d/main" "$SSERVER_PORT" "$N" "$CERTS/ca1.pem" "${mods[@]}"
    t_assert_status $? 0 "with the library"
    t_assert_eq "$(cat "$T_DIR/c.out")" "$(cat "$T_DIR/base.out")" \
        "every connection's outcome, with and without the library"
    hits1=$(s_server_hits ss)
    echo "server hits: $hits0 without the library, $hits1 after the run with it"
    # The first module ran alone: it resumed (at most one full handshake).
    t_assert_ge "$((hits1 - hits0))" "$((N - 1))" "the first module's connections resumed"
    # Then two builds are mapped (the copy seen as one): we stand aside, so the
    # second module is served by its own library alone and resumes nothing.
    # (GnuTLS calls its own functions directly: its copy's module worked
    # before too, but on the system library's resumption state.)
    [[ $order == alone ]] ||
        t_assert_le "$((hits1 - hits0))" "$((N - 1))" "the second module's connections not resumed"
    s_server_stop ss
}

for order in alone after-system before-system; do
    t_register "dlopen.private-libssl.$order" "t_private ssl $order"
done
for order in alone after-system; do
    t_register "dlopen.private-libgnutls.$order" "t_private gnutls $order"
done
