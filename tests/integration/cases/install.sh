# tests/integration/cases/install.sh - `make install DESTDIR=... PREFIX=/usr`,
# then the installed wrapper, library, store tool and man page are used from
# that tree; `make uninstall` removes them again. Sourced by run.sh.

t_install_tree() {
    local stage=$T_DIR/stage
    run_client install make -C "$ROOT" --no-print-directory install DESTDIR="$stage" PREFIX=/usr
    t_assert_status $? 0 "make install DESTDIR=... PREFIX=/usr"
    local w=$stage/usr/bin/autoresume
    t_assert_match "$(ls -l "$stage/usr/lib/autoresume/libautoresume.so" "$stage/usr/lib/autoresume/autoresume-store" "$stage/usr/share/man/man1/autoresume.1" 2>&1)" \
        'autoresume.1' "installed files"
    run_client version "$w" --version
    t_assert_match "$(cat "$T_DIR/version.out")" '^autoresume [0-9]+\.[0-9]+\.[0-9]+$' "--version"

    # The installed wrapper preloads the installed library (not the tree's).
    nginx_start s $(cfg_opts tls13-tickets) || t_fatal "nginx did not start"
    local store=$T_DIR/store
    mkdir -m 700 "$store"
    AUTORESUME_CACHE=$store AUTORESUME_LOG=debug run_client py "$w" -v "${PY[@]}" \
        "$CLIENTS/https_get.py" 127.0.0.1 "$NGINX_PORT" "$N" --insecure --server-hostname localhost
    t_assert_status $? 0 "installed wrapper running python"
    t_assert_match "$(cat "$T_DIR/py.err")" 'TLSv1.3 resumed' "library log through the installed wrapper"
    AUTORESUME_CACHE=$store run_client list "$w" --list
    t_assert_match "$(cat "$T_DIR/list.out")" 'localhost:[0-9]+ +openssl-3\.[0-9]+ +TLSv1.3' "installed --list"
    server_check s "$N" $((N - 1))

    # The man page renders from the installed tree and matches --help's options.
    run_client man env MANWIDTH=80 man --warnings -l "$stage/usr/share/man/man1/autoresume.1"
    t_assert_status $? 0 "man -l of the installed page"
    t_assert_empty_file "$T_DIR/man.err" "man warnings"
    run_client help "$w" --help
    local opt
    for opt in $(grep -oE -- '--[a-z][a-z-]+' "$T_DIR/help.out" | sort -u); do
        t_assert_match "$(sed 's/\\-/-/g' "$ROOT/man/autoresume.1")" "${opt}" "man page documents $opt"
    done

    run_client uninstall make -C "$ROOT" --no-print-directory uninstall DESTDIR="$stage" PREFIX=/usr
    t_assert_status $? 0 "make uninstall"
    t_assert_eq "$(find "$stage" -type f | wc -l)" 0 "files left after uninstall"
}

t_register install.destdir t_install_tree
