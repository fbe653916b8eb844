# tests/integration/cases/wrapper.sh - the wrapper's contract: options,
# exit statuses, the environment it hands the command, where it finds the
# library. Each case runs build/autoresume (what make install installs) and
# scripts/autoresume (the source tree's entry, which execs it). Sourced by
# run.sh. The command is `env`, so what the command receives is its output.

wrapper_path() { # KIND: the wrapper to run
    case $1 in
        built) echo "$ROOT/build/autoresume" ;;
        script) echo "$ROOT/scripts/autoresume" ;;
    esac
}

# env_of LABEL NAME: NAME's value in the env output of run LABEL
env_of() { sed -n "s/^$2=//p" "$T_DIR/$1.out"; }

t_wrapper_usage() {
    local w
    w=$(wrapper_path "$1")
    run_client help "$w" --help
    t_assert_status $? 0 "--help"
    t_assert_match "$(head -1 "$T_DIR/help.out")" '^Usage: autoresume ' "--help output"
    run_client version "$w" --version
    t_assert_match "$(cat "$T_DIR/version.out")" '^autoresume [0-9]+\.[0-9]+\.[0-9]+$' "--version"
    local -a bad
    local args i=0
    for args in "-x" "-vq env" "--bogus env" "" "-v" "--log-file" "--log-file= env" \
        "--list extra" "--clear a b" "--check" "--check env extra" "--list --check env" \
        "--check env --list"; do
        i=$((i + 1))
        read -ra bad <<<"$args"
        run_client "bad$i" "$w" "${bad[@]}"
        t_assert_status $? 2 "usage error for '$args'"
        t_assert_match "$(tail -1 "$T_DIR/bad$i.err")" '^Usage: autoresume ' "usage line for '$args'"
        t_assert_empty_file "$T_DIR/bad$i.out" "stdout of '$args'"
    done
    run_client empty "$w" ''
    t_assert_status $? 2 "empty command name"
    # An empty HOST (autoresume --clear "$HOST", HOST unset) clears nothing.
    run_client clear-empty "$w" --clear ''
    t_assert_status $? 2 "--clear ''"
    # --no-store reaches the store tool, which then says the store is off.
    run_client nostore-list "$w" --no-store --list
    t_assert_status $? 1 "--no-store --list"
    t_assert_match "$(cat "$T_DIR/nostore-list.err")" 'store is off' "its message"
}

t_wrapper_command() {
    local w
    w=$(wrapper_path "$1")
    run_client nf "$w" no-such-command-ar
    t_assert_status $? 127 "command not in PATH"
    t_assert_match "$(cat "$T_DIR/nf.err")" 'no-such-command-ar: command not found' "message"
    run_client nofile "$w" "$T_DIR/missing"
    t_assert_status $? 127 "missing path"
    printf 'x\n' >"$T_DIR/plain-file"
    run_client noexec "$w" "$T_DIR/plain-file"
    t_assert_status $? 126 "file without x bit"
    run_client dir "$w" "$T_DIR"
    t_assert_status $? 126 "a directory"
    # There but not to be looked at (a symbolic link loop): 126, as the shell.
    ln -s loop-b "$T_DIR/loop-a" && ln -s loop-a "$T_DIR/loop-b"
    run_client loop "$w" "$T_DIR/loop-a"
    t_assert_status $? 126 "a symbolic link loop"
    t_assert_match "$(cat "$T_DIR/loop.err")" 'loop-a: Too many levels of symbolic links' "its message"
    run_client dash "$w" -- -x
    t_assert_status $? 127 "-- then a command named -x"
    # A PATH element that is not the first, and the command's own status.
    mkdir -p "$T_DIR/bin"
    printf '#!/bin/sh\nexit 7\n' >"$T_DIR/bin/seven"
    chmod +x "$T_DIR/bin/seven"
    PATH=/nonexistent:$T_DIR/bin:$PATH run_client seven "$w" seven
    t_assert_status $? 7 "the command's exit status passes through"
    # PATH unset: the shell's default path (sbin too), as the old shell wrapper had it.
    run_client nopath env -i "$w" ldconfig --version
    t_assert_status $? 0 "ldconfig found with PATH unset"
    # A script without #! is run by /bin/sh, as the shell and execvp(3) do.
    printf 'exit 5\n' >"$T_DIR/bin/noshebang"
    chmod +x "$T_DIR/bin/noshebang"
    PATH=$T_DIR/bin:$PATH run_client noshebang "$w" noshebang
    t_assert_status $? 5 "script without #!"
    # --check of a name in PATH hands the tool the full path.
    PATH=$T_DIR/bin:$PATH run_client check "$w" --check seven
    t_assert_match "$(cat "$T_DIR/check.out" "$T_DIR/check.err")" "$T_DIR/bin/seven" "--check finds it in PATH"
}

t_wrapper_env() {
    local w lib=$ROOT/build/libautoresume.so
    w=$(wrapper_path "$1")
    # Keep the ambient settings of the suite out of what is compared.
    local -a clean=(env -u AUTORESUME_LOG -u AUTORESUME_LOG_FILE -u AUTORESUME_STATS
                    -u AUTORESUME_DISABLE -u AUTORESUME_CACHE -u AUTORESUME_LIBRARY -u LD_PRELOAD)
    run_client none "${clean[@]}" "$w" env
    t_assert_status $? 0 "plain run"
    t_assert_eq "$(env_of none LD_PRELOAD)" "$lib" "LD_PRELOAD is the library"
    t_assert_eq "$(env_of none AUTORESUME_LOG)$(env_of none AUTORESUME_STATS)$(env_of none AUTORESUME_DISABLE)" \
        "" "nothing else set"
    run_client v "${clean[@]}" "$w" -v env
    t_assert_eq "$(env_of v AUTORESUME_LOG)" info "-v"
    run_client vv "${clean[@]}" "$w" -vv --verbose env
    t_assert_eq "$(env_of vv AUTORESUME_LOG)" debug "-vv --verbose"
    run_client flags "${clean[@]}" "$w" --stats --no-store --disable env
    t_assert_eq "$(env_of flags AUTORESUME_STATS),$(env_of flags AUTORESUME_CACHE),$(env_of flags AUTORESUME_DISABLE)" \
        "1,off,1" "--stats --no-store --disable"
    (cd "$T_DIR" && run_client logrel "${clean[@]}" "$w" --log-file rel.log env)
    t_assert_eq "$(env_of logrel AUTORESUME_LOG_FILE)" "$(cd "$T_DIR" && pwd -P)/rel.log" "--log-file made absolute"
    t_assert_eq "$(env_of logrel AUTORESUME_LOG)" info "--log-file implies info"
    run_client logwarn "${clean[@]}" AUTORESUME_LOG=warn "$w" --log-file=/x/y.log env
    t_assert_eq "$(env_of logwarn AUTORESUME_LOG),$(env_of logwarn AUTORESUME_LOG_FILE)" "warn,/x/y.log" \
        "--log-file= keeps a level that is set"
    # LD_PRELOAD: prepended, and left alone when the library is already listed.
    run_client pre "${clean[@]}" LD_PRELOAD=/nonexistent/other.so "$w" env
    t_assert_eq "$(env_of pre LD_PRELOAD)" "$lib:/nonexistent/other.so" "prepended to LD_PRELOAD"
    run_client pre2 "${clean[@]}" LD_PRELOAD="/nonexistent/other.so $lib" "$w" env
    t_assert_eq "$(env_of pre2 LD_PRELOAD)" "/nonexistent/other.so $lib" "already listed (space)"
    run_client pre3 "${clean[@]}" LD_PRELOAD="$lib:/nonexistent/other.so" "$w" env
    t_assert_eq "$(env_of pre3 LD_PRELOAD)" "$lib:/nonexistent/other.so" "already listed (colon)"
    # AUTORESUME_LIBRARY: relative and with "..", made physical; missing or
    # unusable in LD_PRELOAD: exit 1 before running anything.
    mkdir -p "$T_DIR/lib dir" "$T_DIR/libs"
    cp "$lib" "$T_DIR/libs/libautoresume.so"
    cp "$lib" "$T_DIR/lib dir/libautoresume.so"
    (cd "$T_DIR" && run_client rel "${clean[@]}" AUTORESUME_LIBRARY=libs/../libs/libautoresume.so "$w" env)
    t_assert_eq "$(env_of rel LD_PRELOAD)" "$(cd "$T_DIR" && pwd -P)/libs/libautoresume.so" "AUTORESUME_LIBRARY resolved"
    run_client missing "${clean[@]}" AUTORESUME_LIBRARY="$T_DIR/none.so" "$w" env
    t_assert_status $? 1 "AUTORESUME_LIBRARY missing"
    t_assert_empty_file "$T_DIR/missing.out" "nothing ran"
    run_client space "${clean[@]}" AUTORESUME_LIBRARY="$T_DIR/lib dir/libautoresume.so" "$w" env
    t_assert_status $? 1 "library path with a space"
    t_assert_match "$(cat "$T_DIR/space.err")" 'space or colon' "its message"
}

# Through a symlink in another directory (as from ~/bin), both find the tree's library.
t_wrapper_symlink() {
    local w
    w=$(wrapper_path "$1")
    mkdir -p "$T_DIR/home/bin"
    ln -s "$w" "$T_DIR/home/bin/autoresume"
    run_client link env -u LD_PRELOAD -u AUTORESUME_LIBRARY "$T_DIR/home/bin/autoresume" env
    t_assert_status $? 0 "run through a symlink"
    t_assert_eq "$(env_of link LD_PRELOAD)" "$ROOT/build/libautoresume.so" "library found through the link"
    PATH=$T_DIR/home/bin:$PATH run_client inpath env -u LD_PRELOAD -u AUTORESUME_LIBRARY autoresume env
    t_assert_eq "$(env_of inpath LD_PRELOAD)" "$ROOT/build/libautoresume.so" "library found through PATH"
}

# Run as "sh autoresume" through a relative symlink in the current directory.
t_wrapper_sh_relative_link() {
    mkdir -p "$T_DIR/lnk"
    ln -s "$(realpath --relative-to="$T_DIR/lnk" "$ROOT/scripts/autoresume")" "$T_DIR/lnk/autoresume"
    (cd "$T_DIR/lnk" && run_client shlink env -u LD_PRELOAD -u AUTORESUME_LIBRARY sh autoresume env)
    t_assert_status $? 0 "sh autoresume through a relative link"
    t_assert_eq "$(env_of shlink LD_PRELOAD)" "$ROOT/build/libautoresume.so" "library found"
}
t_register wrapper.sh-relative-link t_wrapper_sh_relative_link

# Without /proc (a chroot, a build sandbox) the installed wrapper, run from
# PATH, still finds its library: argv[0] looked up in PATH, else LIBDIR.
# /proc is hidden in a mount namespace of its own; "unchanged" because a
# chroot's / is no mount point (the Debian 13 root), and /proc made private
# there first so the tmpfs cannot propagate out.
t_wrapper_no_proc() {
    local stage=$T_DIR/stage
    run_client install make -C "$ROOT" --no-print-directory install DESTDIR="$stage" PREFIX=/usr
    t_assert_status $? 0 "make install DESTDIR=..."
    run_client noproc env -u LD_PRELOAD -u AUTORESUME_LIBRARY PATH="$stage/usr/bin:/usr/bin:/bin" \
        unshare -m --propagation unchanged sh -c \
        'mount --make-private /proc && mount -t tmpfs none /proc && [ ! -e /proc/self/exe ] && exec autoresume env'
    t_assert_status $? 0 "installed wrapper without /proc"
    t_assert_eq "$(env_of noproc LD_PRELOAD)" "$stage/usr/lib/autoresume/libautoresume.so" "library found without /proc"
    # An argv[0] that names no file (exec -a), PATH without any autoresume:
    # the path execve was given (AT_EXECFN) still says where the tree is.
    run_client noproc-argv0 env -u LD_PRELOAD -u AUTORESUME_LIBRARY PATH=/usr/bin:/bin \
        unshare -m --propagation unchanged bash -c \
        'mount --make-private /proc && mount -t tmpfs none /proc && [ ! -e /proc/self/exe ] && exec -a autoresume "$0" env' \
        "$ROOT/build/autoresume"
    t_assert_status $? 0 "built wrapper without /proc, argv[0] a bare name not in PATH"
    t_assert_eq "$(env_of noproc-argv0 LD_PRELOAD)" "$ROOT/build/libautoresume.so" "library found from AT_EXECFN"
}
t_register wrapper.no-proc.installed t_wrapper_no_proc

# Set-user-ID, the wrapper would give its owner's privilege to any command:
# it refuses (exit 1) before anything else. Run as nobody from a directory
# nobody can reach.
t_wrapper_setuid() {
    local d
    command -v setpriv >/dev/null || t_fatal "setpriv (util-linux) is missing"
    d=$(mktemp -d /tmp/ar-setuid.XXXXXX) || t_fatal "mktemp"
    if [[ ,$(findmnt -no OPTIONS -T "$d"), == *,nosuid,* ]]; then
        rmdir "$d"
        t_fatal "/tmp is mounted nosuid: a set-user-ID file cannot be made there"
    fi
    chmod 755 "$d"
    cp "$ROOT/build/autoresume" "$d/autoresume"
    chmod 4755 "$d/autoresume"
    run_client suid setpriv --reuid=65534 --regid=65534 --clear-groups "$d/autoresume" id -u
    local rc=$?
    rm -rf "$d"
    t_assert_status $rc 1 "set-user-ID wrapper run by nobody"
    t_assert_match "$(cat "$T_DIR/suid.err")" 'refusing to run set-user-ID' "its message"
    t_assert_empty_file "$T_DIR/suid.out" "the command did not run"
}
t_register wrapper.setuid.built t_wrapper_setuid

for kind in built script; do
    t_register "wrapper.usage.$kind" "t_wrapper_usage $kind"
    t_register "wrapper.command.$kind" "t_wrapper_command $kind"
    t_register "wrapper.env.$kind" "t_wrapper_env $kind"
    t_register "wrapper.symlink.$kind" "t_wrapper_symlink $kind"
done
