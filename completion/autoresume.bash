# bash completion for autoresume(1): its options, then the command to run
# and that command's own completion (_command_offset, from bash-completion).
# Installed as /usr/share/bash-completion/completions/autoresume.

# shellcheck disable=SC2207 # compgen's words, the usual completion idiom
_autoresume() {
    local cur prev words cword i
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    case $prev in
    --log-file)
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    --clear)
        # the servers the store lists (first column, without the port)
        COMPREPLY=($(compgen -W "$(autoresume --list 2>/dev/null |
            awk 'NR > 1 { print $1; sub(/:[^:]*$/, "", $1); print $1 }' | sort -u)" -- "$cur"))
        return
        ;;
    esac

    # The first word that is not an option (or follows --) is the command.
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        --log-file) ((i++)) ;;
        --) ((i++)); break ;;
        --list | --clear) return ;; # nothing to run after these
        -*) ;;
        *) break ;;
        esac
    done
    if ((i < cword)); then
        if declare -F _command_offset >/dev/null; then
            _command_offset "$i"
        else
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
        return
    fi

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '-v -vv --verbose --log-file --stats --disable --no-store
            --check --list --clear -h --help --version --' -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -c -- "$cur"))
}
complete -F _autoresume autoresume
