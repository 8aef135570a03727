# recorder shell hook for zsh >= 5.1 -- load with:  eval "$(recorder hook zsh)"
#
# Appends one cmd.start (preexec) and one cmd.end (precmd) JSON line per
# interactive command to $home/spool/shell.<pid>-<id>.v1.jsonl, using builtins
# only: no process is spawned per command. Inside tmux it also prints OSC 133
# "C" (output starts) and "D" (command ended) marks carrying the shell id and
# command number, which the tmux collector uses to cut the pane's output.
# docs/shell.md explains the design.
# Home: ${RECORDER_HOME:-$__recorder_default_home}. RECORDER_DISABLED=1 turns it off.

__recorder_json() { # JSON-escape $1 into __recorder_j (parameter expansion only)
    emulate -L zsh
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    if [[ $s == *[$__recorder_ctl]* ]]; then
        s=${s//$'\n'/\\n}
        s=${s//$'\t'/\\t}
        s=${s//$'\r'/\\r}
        if [[ $s == *[$__recorder_ctl]* ]]; then
            local -i i
            local u
            for ((i = 1; i < 32; i++)); do
                printf -v u '\\u%04x' $i
                s=${s//${__recorder_ctl[i]}/$u}
            done
        fi
    fi
    __recorder_j=$s
}

__recorder_emit() { # append $1 to the spool; keep it for the next try if the write fails
    emulate -L zsh
    local line=$__recorder_pending$1
    __recorder_pending=
    if [[ -z $__recorder_fd ]] || ! { print -rn -- $line >&$__recorder_fd } 2>&$__recorder_null; then
        # A failed write may have left half a line: the retry starts on a fresh line.
        (( ${#line} < 1048576 )) && __recorder_pending=$'\n'$line
    fi
}

__recorder_open() { # (re)open the spool file of this shell in the current home
    emulate -L zsh
    if [[ -n $__recorder_fd ]]; then
        { exec {__recorder_fd}>&- } 2>/dev/null
        __recorder_fd=
    fi
    __recorder_path=$__recorder_home/spool/shell.$__recorder_id.v1.jsonl
    local fd
    { exec {fd}>>$__recorder_path } 2>/dev/null || return 1
    __recorder_fd=$fd
}

__recorder_state() { # at each prompt: should the next command be recorded?
    emulate -L zsh
    __recorder_on=
    __recorder_markc=
    case ${RECORDER_DISABLED-} in ('' | 0) ;; (*) return 0 ;; esac
    local home=${RECORDER_HOME:-${__recorder_default_home-}} sid=
    [[ -n $home ]] || return 0
    { IFS= read -r sid <$home/state/recording } 2>&$__recorder_null
    [[ -n $sid && ! -e $home/state/paused ]] || return 0
    if [[ $sid != $__recorder_sid || $home != $__recorder_home ]]; then
        __recorder_sid=$sid
        __recorder_home=$home
        __recorder_excl=()
        local p
        { while IFS= read -r p || [[ -n $p ]]; do __recorder_excl+=($p); done \
            <$home/state/exclude-commands } 2>/dev/null
        __recorder_open || return 0
    elif [[ -z $__recorder_fd || ! -e $__recorder_path ]]; then
        __recorder_open || return 0
    fi
    __recorder_on=1
    if [[ -n ${TMUX-} && -n ${TMUX_PANE-} ]]; then
        __recorder_markc=$'\e]133;C;recorder='$__recorder_id:
        if [[ $__recorder_pane_sid != $sid ]]; then
            local sock=${TMUX%%,*}
            { print -rl -- $sock $TMUX_PANE $__recorder_id \
                >|$home/state/pane.${sock//[^A-Za-z0-9]/_}_${TMUX_PANE#%} } 2>/dev/null &&
                __recorder_pane_sid=$sid
        fi
    fi
}

__recorder_preexec() { # $1: the line as typed
    emulate -L zsh
    (( ++__recorder_n ))
    # The state again: a pause or resume since the prompt was drawn counts from now on.
    if [[ -z $__recorder_on ]]; then
        __recorder_state
    elif [[ -e $__recorder_home/state/paused || ! -e $__recorder_home/state/recording ]]; then
        __recorder_on=
    fi
    [[ -n $__recorder_on ]] || return 0
    local cmd=$1
    [[ $cmd == [[:space:]]* ]] && return 0
    local p MATCH MBEGIN MEND
    local -a match mbegin mend
    for p in $__recorder_excl; do
        [[ -n $p && $cmd =~ $p ]] && return 0
    done
    local t=$EPOCHREALTIME z
    if (( EPOCHSECONDS >= __recorder_tz_until )); then # the UTC offset, redone every 15 min
        strftime -s z %z $EPOCHSECONDS
        __recorder_tz=$(( ${z[1]}1 * (10#${z[2,3]} * 60 + 10#${z[4,5]}) ))
        __recorder_tz_until=$(( EPOCHSECONDS - EPOCHSECONDS % 900 + 900 ))
    fi
    if [[ $PWD != $__recorder_pwd ]]; then
        __recorder_json $PWD
        __recorder_pwd=$PWD __recorder_cwdj=$__recorder_j
    fi
    __recorder_json $cmd
    __recorder_cmd=$cmd
    local line
    printf -v line '{"v":1,"type":"cmd.start","session":"%s","t":"%s","tz":%d,"shell_id":"%s","n":%d,"cmd":"%s","cwd":"%s","shell":"zsh","pid":%d,"host":"%s","user":"%s"%s}\n' \
        $__recorder_sid $t $__recorder_tz $__recorder_id $__recorder_n "$__recorder_j" "$__recorder_cwdj" \
        $$ "$__recorder_hostj" "$__recorder_userj" "${TMUX_PANE:+,\"pane\":\"$TMUX_PANE\"}"
    __recorder_emit $line
    __recorder_run=$__recorder_n
    __recorder_run_sid=$__recorder_sid
    __recorder_run_mark=$__recorder_markc
    [[ -n $__recorder_markc ]] && print -rn -- $__recorder_markc$__recorder_n$'\a' >&2
    return 0
}

__recorder_precmd() {
    local __recorder_st=$? __recorder_ps="${pipestatus[*]}"
    emulate -L zsh
    if [[ -n $__recorder_run ]]; then
        local t=$EPOCHREALTIME line
        printf -v line '{"v":1,"type":"cmd.end","session":"%s","t":"%s","shell_id":"%s","n":%d,"exit":%d,"pipestatus":"%s"}\n' \
            $__recorder_run_sid $t $__recorder_id $__recorder_run $__recorder_st "$__recorder_ps"
        __recorder_emit $line
        if [[ -n $__recorder_run_mark ]]; then # the program's name, for full-screen ones
            setopt local_options extended_glob
            local w=${__recorder_cmd##[[:space:]]#}
            w=${w%%[[:space:]\;\|\&\<\>\(\)]*}
            w=${w##*/}
            w=${w//[^A-Za-z0-9._+-]/}
            printf '\e]133;D;%s;recorder=%s:%s;cmd=%s\a' $__recorder_st $__recorder_id \
                $__recorder_run "${w[1,40]}" >&2
        fi
        __recorder_run=
    fi
    __recorder_state
    return $__recorder_st
}

__recorder_install() {
    emulate -L zsh
    zmodload zsh/datetime 2>/dev/null || return 0
    __recorder_ctl=$'\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f'
    if [[ ${__recorder_pid-} != $$ ]]; then # a new shell (or after exec zsh)
        typeset -g __recorder_pid=$$
        typeset -g __recorder_id=$$-${EPOCHREALTIME//[.,]/}
        typeset -g __recorder_n=0 __recorder_fd= __recorder_sid= __recorder_home= __recorder_run=
        typeset -g __recorder_pending= __recorder_on= __recorder_markc= __recorder_cmd=
        typeset -g __recorder_pwd= __recorder_cwdj= __recorder_path= __recorder_pane_sid=
        typeset -g __recorder_run_sid= __recorder_run_mark= __recorder_j=
        typeset -ga __recorder_excl=()
        typeset -gi __recorder_tz=0 __recorder_tz_until=0
        local null
        exec {null}>/dev/null # for silencing errors without opening /dev/null each time
        typeset -g __recorder_null=$null
    fi
    __recorder_json ${USER:-${LOGNAME:-$(print -P %n)}}
    typeset -g __recorder_userj=$__recorder_j
    __recorder_json ${HOST-}
    typeset -g __recorder_hostj=$__recorder_j
    typeset -ga precmd_functions preexec_functions
    # First in both lists: precmd sees $? before any other hook (zsh restores it for each).
    precmd_functions=(__recorder_precmd ${precmd_functions:#__recorder_precmd})
    preexec_functions=(__recorder_preexec ${preexec_functions:#__recorder_preexec})
}

if [[ -n ${ZSH_VERSION-} && -o interactive ]]; then
    export RECORDER_HOOK_SHELL=zsh RECORDER_HOOK_PID=$$
    __recorder_install
fi
