# recorder shell hook for zsh >= 5.1 -- load with:  eval "$(recorder hook zsh)"
#
# Appends one cmd.start (preexec) and one cmd.end (precmd) JSON line per
# interactive command to $home/spool/shell.<pid>-<id>.v1.jsonl, using builtins
# only: no process is spawned per command. Inside tmux it also prints OSC 133
# "C" (output starts) and "D" (command ended) marks carrying the shell id and
# command number, which the tmux collector uses to cut the pane's output.
# This runs around every command: the common path is a few statements (a function
# call costs 10-15 microseconds here), anything unusual goes through a "full" function.
# docs/shell.md explains the design.
# Home: ${RECORDER_HOME:-$__recorder_default_home}. RECORDER_DISABLED=1 turns it off.

# --- the common path, run around every command ------------------------------------

__recorder_preexec() { # $1: the line as typed
    emulate -L zsh
    (( ++__recorder_n ))
    # Recording (one stat of state/active.<session>: a pause since the prompt was drawn
    # counts from now on), and what __recorder_refresh noted in the key is unchanged.
    if [[ $__recorder_on:${RECORDER_DISABLED:-0}:${RECORDER_HOME:-${__recorder_default_home-}}:${EPOCHSECONDS[1,-4]}:$PWD == "1:$__recorder_key" &&
        -e $__recorder_active ]]; then
        __recorder_j=$1
        if [[ $__recorder_excl_on$1 == [[:space:]]* || $1 == *[\"\\$__recorder_ctl]* ]]; then
            __recorder_filter $1 || return 0
        fi
    elif __recorder_still_off; then
        return 0 # not recording, as at the last look
    else
        __recorder_begin_full $1 || return 0
    fi
    __recorder_line=$__recorder_pending$__recorder_pre_start\"t\":\"$EPOCHREALTIME\",\"n\":$__recorder_n,\"cmd\":\"$__recorder_j\",$__recorder_post_start$'\n'
    __recorder_pending= __recorder_run=$__recorder_n __recorder_cmd=$1
    syswrite -o $__recorder_fd $__recorder_line || __recorder_keep
    [[ -z $__recorder_markc ]] || print -rn -- $__recorder_markc$__recorder_n$'\a' >&2
    return 0
}

__recorder_precmd() { # first in precmd_functions: the command's $? and pipestatus
    local __recorder_st=$? __recorder_ps="${pipestatus[*]}"
    emulate -L zsh
    if [[ -n $__recorder_run ]]; then
        __recorder_line=$__recorder_pending$__recorder_pre_end\"t\":\"$EPOCHREALTIME\",\"n\":$__recorder_run,\"exit\":$__recorder_st,\"pipestatus\":\"$__recorder_ps\"}$'\n'
        __recorder_pending=
        syswrite -o $__recorder_fd $__recorder_line || __recorder_keep
        [[ -z $__recorder_markc ]] || __recorder_mark_end $__recorder_st
        __recorder_run=
    fi
    # Not recording: read the state if it may have changed, so a new pane registers before
    # its first command.
    [[ -n $__recorder_on ]] || __recorder_still_off || __recorder_state
    return $__recorder_st
}

# --- the full paths -------------------------------------------------------------------

__recorder_begin_full() { # $1: the line; whatever the common path of preexec does not handle
    emulate -L zsh
    [[ -n $__recorder_on && -e $__recorder_active && ${RECORDER_DISABLED:-0} == 0 &&
        ${RECORDER_HOME:-${__recorder_default_home-}} == $__recorder_home ]] ||
        { __recorder_state && [[ -n $__recorder_on ]] } || return 1
    [[ ${EPOCHSECONDS[1,-4]} == $__recorder_tz_win && $PWD == $__recorder_pwd ]] || __recorder_refresh
    __recorder_j=$1
    __recorder_filter $1
}

__recorder_filter() { # $1: skip it (1), or JSON-escape it into __recorder_j
    emulate -L zsh
    [[ $1 == [[:space:]]* ]] && return 1
    local p MATCH MBEGIN MEND
    local -a match mbegin mend
    for p in $__recorder_excl; do
        [[ -n $p && $1 =~ $p ]] && return 1
    done
    [[ $1 == *[\"\\$__recorder_ctl]* ]] && __recorder_json $1
    return 0
}

__recorder_refresh() { # on cd and every 1000 s: the UTC offset, the JSON of $PWD, the key
    emulate -L zsh
    local z
    strftime -s z %z $EPOCHSECONDS
    __recorder_tz=$(( ${z[1]}1 * (10#${z[2,3]} * 60 + 10#${z[4,5]}) ))
    __recorder_tz_win=${EPOCHSECONDS[1,-4]} # redone when this changes
    __recorder_json $PWD
    __recorder_pwd=$PWD
    # What the common path of preexec compares (after "$on:"): enabled, same home, same
    # 1000 s, same $PWD.
    __recorder_key="0:$__recorder_home:$__recorder_tz_win:$PWD"
    __recorder_post_start="\"tz\":$__recorder_tz,\"cwd\":\"$__recorder_j\"${TMUX_PANE:+,\"pane\":\"$TMUX_PANE\"}}"
}

__recorder_keep() { # __recorder_line (with what was pending) was not written: retry it later
    # A failed write may have left half a line: the retry starts on a fresh line.
    [[ $__recorder_line == $'\n'* ]] || __recorder_line=$'\n'$__recorder_line
    (( ${#__recorder_line} < 1048576 )) && __recorder_pending=$__recorder_line
    return 0
}

__recorder_mark_end() { # OSC 133 "D" with status $1 and the program's name (for full-screen ones)
    emulate -L zsh
    setopt extended_glob
    local w=${__recorder_cmd##[[:space:]]#}
    w=${w%%[[:space:]\;\|\&\<\>\(\)]*}
    w=${w##*/}
    w=${w//[^A-Za-z0-9._+-]/}
    printf '\e]133;D;%s;recorder=%s:%s;cmd=%s\a' $1 $__recorder_id $__recorder_run "${w[1,40]}" >&2
}

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

# --- state, files and installation ------------------------------------------------------

__recorder_still_off() { # not recording at the last look, and nothing says that changed
    # (Same switch and home; still disabled, or no session, or paused: at most two stats.)
    emulate -L zsh
    [[ -z $__recorder_on && $__recorder_offkey == "${RECORDER_DISABLED:-0}:${RECORDER_HOME:-${__recorder_default_home-}}" ]] &&
        [[ ${RECORDER_DISABLED:-0} != 0 || ! -e $__recorder_offhome/state/recording ||
            -e $__recorder_offhome/state/paused ]]
}

__recorder_state() { # should the next command be recorded? Reads the state files
    emulate -L zsh
    local home=${RECORDER_HOME:-${__recorder_default_home-}} sid=
    __recorder_on= __recorder_markc= __recorder_active= __recorder_offhome=$home
    __recorder_offkey=${RECORDER_DISABLED:-0}:$home
    case ${RECORDER_DISABLED-} in ('' | 0) ;; (*) return 0 ;; esac
    [[ -n $home ]] || return 0
    { IFS= read -r sid <$home/state/recording } 2>&$__recorder_null
    [[ -n $sid && ! -e $home/state/paused ]] || return 0
    if [[ $sid != $__recorder_sid || $home != $__recorder_home ]]; then
        __recorder_sid=$sid __recorder_home=$home __recorder_tz_win= # refresh the key
        __recorder_pre_start=$__recorder_start_head'"session":"'$sid'",'
        __recorder_pre_end='{"v":1,"type":"cmd.end","session":"'$sid'","shell_id":"'$__recorder_id'",'
        __recorder_excl=()
        local p
        { while IFS= read -r p || [[ -n $p ]]; do __recorder_excl+=($p); done \
            <$home/state/exclude-commands } 2>/dev/null
        __recorder_excl_on=${${__recorder_excl[*]}:+ } # a space while there are patterns
        __recorder_open || return 0
    elif [[ -z $__recorder_fd || ! -e $__recorder_path ]]; then
        __recorder_open || return 0
    fi
    # Exists while this session records unpaused: the one check made per command.
    __recorder_active=$home/state/active.$sid
    __recorder_on=1
    if [[ -n ${TMUX-} && -n ${TMUX_PANE-} ]]; then
        __recorder_markc=$'\e]133;C;recorder='$__recorder_id:
        [[ $__recorder_pane_sid == $sid ]] || { __recorder_register_pane $home && __recorder_pane_sid=$sid }
    fi
}

__recorder_register_pane() { # $1: the home. Tells the tmux collector that this pane runs a
    # hooked shell: it pipes the pane from a session's start (the file outlives a session).
    emulate -L zsh
    local sock=${TMUX%%,*} ok=0
    __recorder_private_umask
    { print -rl -- $sock $TMUX_PANE $__recorder_id $$ \
        >|$1/state/pane.${sock//[^A-Za-z0-9]/_}_${TMUX_PANE#%} } 2>/dev/null || ok=1
    umask $__recorder_um
    return $ok
}

__recorder_open() { # (re)open the spool file of this shell in the current home
    emulate -L zsh
    if [[ -n $__recorder_fd ]]; then
        { exec {__recorder_fd}>&- } 2>/dev/null
        __recorder_fd=
    fi
    __recorder_path=$__recorder_home/spool/shell.$__recorder_id.v1.jsonl
    local fd
    [[ ! -L $__recorder_path ]] || return 1 # never written through a planted symlink
    __recorder_private_umask
    { exec {fd}>>$__recorder_path } 2>/dev/null
    local ok=$?
    umask $__recorder_um
    (( ok == 0 )) || return 1
    __recorder_fd=$fd
}

__recorder_private_umask() { # umask 077 for a file the hook creates; the user's in __recorder_um
    # Read from /proc/self/status ("Umask:<tab>0022", line 2) with builtins: `$(umask)`
    # would fork. The caller puts it back right after creating its file.
    emulate -L zsh
    local k= IFS=$' \t'
    { read -r k && read -r k __recorder_um } </proc/self/status 2>&$__recorder_null
    [[ $k == Umask: && $__recorder_um == [0-7]* ]] || __recorder_um=$(umask)
    umask 077
}

__recorder_install() {
    emulate -L zsh
    zmodload zsh/datetime 2>/dev/null || return 0
    # syswrite writes to a descriptor without print's redirection (zsh/system ships with zsh).
    zmodload -F zsh/system b:syswrite 2>/dev/null ||
        syswrite() { { print -rnu $2 -- $3 } 2>/dev/null }
    typeset -g __recorder_ctl=$'\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f'
    if [[ ${__recorder_pid-} != $$ ]]; then # a new shell (or after exec zsh)
        typeset -g __recorder_pid=$$
        typeset -g __recorder_id=$$-${EPOCHREALTIME//[.,]/}
        typeset -g __recorder_n=0 __recorder_fd= __recorder_run=
        typeset -g __recorder_pending= __recorder_cmd=
        typeset -g __recorder_path= __recorder_pane_sid=
        typeset -g __recorder_j= __recorder_line=
        typeset -ga __recorder_excl=()
        typeset -gi __recorder_tz=0
        local null
        exec {null}>/dev/null # for silencing errors without opening /dev/null each time
        typeset -g __recorder_null=$null
    fi
    # Read the state afresh (this may be a newer hook); every variable exists, for `set -u`.
    typeset -g __recorder_on= __recorder_sid= __recorder_home= __recorder_active=
    typeset -g __recorder_tz_win= __recorder_pwd= __recorder_key= __recorder_excl_on=
    typeset -g __recorder_pre_start= __recorder_post_start= __recorder_offkey= __recorder_offhome=
    typeset -g __recorder_um=${__recorder_um-}
    # A command running while the hook is loaded again (`source`) still gets its end and mark.
    typeset -g __recorder_pre_end=${__recorder_pre_end-} __recorder_markc=${__recorder_markc-}
    __recorder_json ${USER:-${LOGNAME:-$(print -P %n)}}
    local userj=$__recorder_j
    __recorder_json ${HOST-}
    # The fixed part of every cmd.start of this shell; __recorder_state adds the session.
    typeset -g __recorder_start_head='{"v":1,"type":"cmd.start","shell_id":"'$__recorder_id'","shell":"zsh","pid":'$$',"host":"'$__recorder_j'","user":"'$userj'",'
    typeset -ga precmd_functions preexec_functions
    # First in both lists: precmd sees $? before any other hook (zsh restores it for each).
    precmd_functions=(__recorder_precmd ${precmd_functions:#__recorder_precmd})
    preexec_functions=(__recorder_preexec ${preexec_functions:#__recorder_preexec})
    # Known to the tmux collector before any command: a session started later pipes this
    # pane at once, so its first command keeps its output.
    local home=${RECORDER_HOME:-${__recorder_default_home-}}
    if [[ -n ${TMUX-} && -n ${TMUX_PANE-} && -n $home && -d $home/state ]]; then
        __recorder_register_pane $home
    fi
    return 0
}

if [[ -n ${ZSH_VERSION-} && -o interactive ]]; then
    export RECORDER_HOOK_SHELL=zsh RECORDER_HOOK_PID=$$
    __recorder_install
fi
