# recorder shell hook for bash >= 5.0 -- load with:  eval "$(recorder hook bash)"
#
# Appends one cmd.start and one cmd.end JSON line per interactive command to
# $home/spool/shell.<pid>-<id>.v1.jsonl, using builtins only: no process is
# spawned per command. docs/shell.md explains the design; in short:
#   - PS0 (expanded after a line is read, before it runs) counts the command,
#     notes its start time and HISTCMD, and inside tmux prints the OSC 133 "C"
#     mark that tells the tmux collector where the command's output begins;
#   - the DEBUG trap writes cmd.start before the first simple command of the
#     line runs, and cmd.end at the first trap of the next PROMPT_COMMAND, where
#     $? and PIPESTATUS are still the command's (HISTCMD tells the two apart:
#     in PS0 and PROMPT_COMMAND it is one more than while the line runs);
#   - the PROMPT_COMMAND entry reads the recording state (builtin `read`; read
#     again when a command starts), opens the spool file when needed and
#     catches what the trap could not see.
# Home: ${RECORDER_HOME:-$__recorder_default_home}. RECORDER_DISABLED=1 turns it off.

__recorder_json() { # JSON-escape $1 into __recorder_j (parameter expansion only)
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
                printf -v u '\\u%04x' "$i"
                s=${s//"${__recorder_ctl:i-1:1}"/$u}
            done
        fi
    fi
    __recorder_j=$s
}

__recorder_emit() { # append $1 to the spool; keep it for the next try if the write fails
    if [[ -z $__recorder_pending ]]; then
        { printf '%s' "$1" >&"$__recorder_fd"; } 2>&"$__recorder_null" && return 0
        set -- "" "$1"
    else
        set -- "$__recorder_pending$1"
        __recorder_pending=''
        { printf '%s' "$1" >&"$__recorder_fd"; } 2>&"$__recorder_null" && return 0
    fi
    # A failed write may have left half a line: the retry starts on a fresh line.
    ((${#1} + ${#2} < 1048576)) && __recorder_pending=$'\n'$1$2
    return 0
}

__recorder_open() { # (re)open the spool file of this shell in the current home
    if [[ -n ${__recorder_fd-} ]]; then
        { exec {__recorder_fd}>&-; } 2>/dev/null
        __recorder_fd=''
    fi
    __recorder_path=$__recorder_home/spool/shell.$__recorder_id.v1.jsonl
    { exec {__recorder_fd}>>"$__recorder_path"; } 2>/dev/null || {
        __recorder_fd=''
        return 1
    }
}

__recorder_state() { # at each prompt: should the next command be recorded?
    __recorder_on=''
    __recorder_markc=''
    case ${RECORDER_DISABLED-} in '' | 0) ;; *) return 0 ;; esac
    local home=${RECORDER_HOME:-${__recorder_default_home-}} sid=
    [[ -n $home ]] || return 0
    { IFS= read -r sid <"$home/state/recording"; } 2>&"$__recorder_null"
    [[ -n $sid && ! -e $home/state/paused ]] || return 0
    if [[ $sid != "${__recorder_sid-}" || $home != "${__recorder_home-}" ]]; then
        __recorder_sid=$sid
        __recorder_home=$home
        __recorder_excl=()
        { mapfile -t __recorder_excl <"$home/state/exclude-commands"; } 2>/dev/null
        __recorder_open || return 0
    elif [[ -z ${__recorder_fd-} || ! -e $__recorder_path ]]; then
        __recorder_open || return 0
    fi
    __recorder_on=1
    if [[ -n ${TMUX-} && -n ${TMUX_PANE-} ]]; then
        __recorder_markc=$'\e]133;C;recorder='$__recorder_id:
        if [[ ${__recorder_pane_sid-} != "$sid" ]]; then
            local sock=${TMUX%%,*}
            { printf '%s\n%s\n%s\n' "$sock" "$TMUX_PANE" "$__recorder_id" \
                >"$home/state/pane.${sock//[!A-Za-z0-9]/_}_${TMUX_PANE#%}"; } 2>/dev/null &&
                __recorder_pane_sid=$sid
        fi
    fi
}

__recorder_history() { # the newest history entry: __recorder_hnum, __recorder_htext
    # Through a scratch file (no subshell). It is overwritten in place up to a NUL, never
    # truncated: truncating a file that holds data costs milliseconds on ext4.
    local HISTTIMEFORMAT='' line=''
    __recorder_scratch=$__recorder_home/state/.cmd.$__recorder_id
    {
        { builtin history 1; printf '\0'; } 1<>"$__recorder_scratch"
        IFS= read -r -d '' line <"$__recorder_scratch"
    } 2>&"$__recorder_null"
    line=${line%$'\n'}
    line=${line#"${line%%[![:space:]]*}"}
    __recorder_hnum=${line%%[!0-9]*}
    __recorder_htext=${line:${#__recorder_hnum}+2}
}

__recorder_blank() { # a command not to record leaves no trace in the scratch file
    { printf '%*s\0' "${#__recorder_htext}" '' 1<>"$__recorder_scratch"; } 2>/dev/null
    __recorder_htext=''
}

__recorder_ignored() { # does $1 match a HISTIGNORE pattern?
    local rest=${HISTIGNORE-} p
    while [[ -n $rest ]]; do
        p=${rest%%:*}
        # shellcheck disable=SC2053  # $p is a pattern
        [[ -n $p && $1 == $p ]] && return 0
        [[ $rest == *:* ]] && rest=${rest#*:} || rest=
    done
    return 1
}

__recorder_begin() { # the command line read by PS0 starts; $1=user if the trap runs in its context
    __recorder_read=''
    if [[ -n ${__recorder_hc_user+x} ]]; then
        HISTCONTROL=$__recorder_hc_user
        unset __recorder_hc_user
        local swapped=1
    fi
    # The state again: a pause or resume since the prompt was drawn counts from now on.
    if [[ -z $__recorder_on ]]; then
        __recorder_state
    elif [[ -e $__recorder_home/state/paused || ! -e $__recorder_home/state/recording ]]; then
        __recorder_on=''
    fi
    # No prompt hook ran since the last command: PROMPT_COMMAND was replaced; hook back in.
    [[ -n ${__recorder_pc_seen-} ]] || __recorder_hook_prompt
    __recorder_pc_seen=''
    [[ -n $__recorder_on ]] || return 0
    __recorder_history
    local cmd=$__recorder_htext
    if ((${__recorder_hc0:-0} != ${__recorder_hcpc:-0} + 1)); then
        # Not added to history: a duplicate (text is right), HISTIGNORE, or history off.
        if [[ $1 == user ]] && { [[ ! -o history ]] || __recorder_ignored "$BASH_COMMAND"; }; then
            cmd=$BASH_COMMAND
        elif [[ ! -o history ]]; then
            cmd=
        fi
    elif [[ -n ${swapped-} && $cmd == [[:space:]]* ]]; then
        builtin history -d "$__recorder_hnum" 2>/dev/null # the user's ignorespace, done here
    fi
    [[ $cmd == [[:space:]]* ]] && { __recorder_blank; return 0; }
    local p BASH_REMATCH
    for p in "${__recorder_excl[@]}"; do
        [[ -n $p && $cmd =~ $p ]] && { __recorder_blank; return 0; }
    done
    local t=${__recorder_t0-} z
    [[ -n $t ]] || t=${EPOCHREALTIME//[.,]/}
    if ((EPOCHSECONDS >= __recorder_tz_until)); then # the UTC offset, redone every 15 min
        printf -v z '%(%z)T' -1
        __recorder_tz=$((${z:0:1}1 * (10#${z:1:2} * 60 + 10#${z:3:2})))
        __recorder_tz_until=$((EPOCHSECONDS - EPOCHSECONDS % 900 + 900))
    fi
    if [[ $PWD != "${__recorder_pwd-}" ]]; then
        __recorder_json "$PWD"
        __recorder_pwd=$PWD __recorder_cwdj=$__recorder_j
    fi
    __recorder_json "$cmd"
    __recorder_cmd=$cmd
    local line
    printf -v line '{"v":1,"type":"cmd.start","session":"%s","t":"%s.%s","tz":%d,"shell_id":"%s","n":%d,"cmd":"%s","cwd":"%s","shell":"bash","pid":%d,"host":"%s","user":"%s"%s}\n' \
        "$__recorder_sid" "${t:0:${#t}-6}" "${t:${#t}-6}" "$__recorder_tz" "$__recorder_id" "$__recorder_n" \
        "$__recorder_j" "$__recorder_cwdj" "$$" "$__recorder_hostj" "$__recorder_userj" \
        "${TMUX_PANE:+,\"pane\":\"$TMUX_PANE\"}"
    __recorder_emit "$line"
    __recorder_run=$__recorder_n
    __recorder_run_sid=$__recorder_sid
    __recorder_run_mark=$__recorder_markc
}

__recorder_finish() { # the running command ended with status $1, pipeline statuses $2
    local t=$EPOCHREALTIME line
    printf -v line '{"v":1,"type":"cmd.end","session":"%s","t":"%s","shell_id":"%s","n":%d,"exit":%d,"pipestatus":"%s"}\n' \
        "$__recorder_run_sid" "$t" "$__recorder_id" "$__recorder_run" "$1" "$2"
    __recorder_emit "$line"
    if [[ -n $__recorder_run_mark ]]; then # the program's name, for full-screen ones
        local w=${__recorder_cmd#"${__recorder_cmd%%[![:space:]]*}"}
        w=${w%%[[:space:];|&<>()]*}
        w=${w##*/}
        w=${w//[!A-Za-z0-9._+-]/}
        printf '\e]133;D;%s;recorder=%s:%s;cmd=%s\a' "$1" "$__recorder_id" "$__recorder_run" \
            "${w:0:40}" >&2
    fi
    __recorder_run=''
}

__recorder_debug() { # the DEBUG trap; $1 is the command's $_
    local __recorder_st=$? __recorder_ps="${PIPESTATUS[*]}"
    if ((BASH_SUBSHELL == 0)); then
        # PS0 saw HISTCMD as it is in PROMPT_COMMAND: one more than while the line runs.
        if [[ -n ${__recorder_read-} ]]; then
            if [[ $HISTCMD != "${__recorder_hc0-}" ]]; then
                __recorder_begin user
            else # the line ran without a trap (a subshell alone); this is the prompt
                __recorder_begin
                [[ -n ${__recorder_run-} ]] && __recorder_finish "$__recorder_st" "$__recorder_ps"
            fi
        elif [[ -n ${__recorder_run-} && $HISTCMD == "${__recorder_hc0-}" ]]; then
            __recorder_finish "$__recorder_st" "$__recorder_ps"
        fi
    fi
    if [[ -n ${__recorder_prior_debug-} ]]; then
        __recorder_status "$__recorder_st" "$1"
        eval "$__recorder_prior_debug"
        return
    fi
    return 0
}

__recorder_status() { return "$1"; }

__recorder_precmd() { # first in PROMPT_COMMAND
    local __recorder_st=$? __recorder_ps="${PIPESTATUS[*]}"
    if [[ -n ${__recorder_read-} ]]; then # the DEBUG trap was not called for this line
        __recorder_begin
    fi
    if [[ -n ${__recorder_run-} ]]; then
        [[ -n ${BP_PIPESTATUS+x} ]] && __recorder_ps="${BP_PIPESTATUS[*]}"
        __recorder_finish "$__recorder_st" "$__recorder_ps"
    fi
    __recorder_hcpc=$HISTCMD
    __recorder_pc_seen=1
    __recorder_t0=''
    __recorder_state
    # Keep space-prefixed lines in history until we have seen them (bash-preexec does the same).
    if [[ -n $__recorder_on && ${HISTCONTROL-} == *ignore@(space|both)* ]]; then
        __recorder_hc_user=$HISTCONTROL
        local hc=${HISTCONTROL//ignorespace/}
        HISTCONTROL=${hc//ignoreboth/ignoredups}
    fi
    [[ ${PS0-} == *"$__recorder_ps0"* ]] || PS0=${PS0-}$__recorder_ps0
    return "$__recorder_st"
}

__recorder_install() {
    __recorder_ctl=$'\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f'
    __recorder_bel=$'\a'
    if [[ ${__recorder_pid-} != "$$" ]]; then # a new shell (or after exec bash)
        __recorder_pid=$$
        __recorder_id=$$-${EPOCHREALTIME//[.,]/}
        __recorder_n=0 __recorder_fd='' __recorder_sid='' __recorder_home='' __recorder_run=''
        __recorder_pending='' __recorder_read='' __recorder_on='' __recorder_markc='' __recorder_cmd=''
        __recorder_excl=() __recorder_tz=0 __recorder_tz_until=0
        exec {__recorder_null}>/dev/null # for silencing errors without opening /dev/null each time
    fi
    local u=${USER:-${LOGNAME-}}
    if [[ -z $u ]]; then
        u='\u'
        u=${u@P}
    fi
    __recorder_json "$u"
    __recorder_userj=$__recorder_j
    __recorder_json "${HOSTNAME-}"
    __recorder_hostj=$__recorder_j
    # shellcheck disable=SC2016  # expanded by bash when it prints PS0
    __recorder_ps0='${__recorder_v[__recorder_read=1,__recorder_n+=1,__recorder_hc0=HISTCMD,__recorder_t0=${EPOCHREALTIME//[.,]/}]-}${__recorder_markc:+$__recorder_markc$__recorder_n$__recorder_bel}'
    [[ ${PS0-} == *"$__recorder_ps0"* ]] || PS0=${PS0-}$__recorder_ps0

    local trap_text
    trap_text=$(trap -p DEBUG)
    trap_text=${trap_text#trap -- \'}
    trap_text=${trap_text%\' DEBUG}
    trap_text=${trap_text//\'\\\'\'/\'}
    # shellcheck disable=SC2016  # the trap's text, not an expansion
    if [[ -n $trap_text && $trap_text != '__recorder_debug "$_"' ]]; then
        __recorder_prior_debug=$trap_text
    fi
    trap '__recorder_debug "$_"' DEBUG
    __recorder_hook_prompt
}

__recorder_hook_prompt() { # put __recorder_precmd first in PROMPT_COMMAND, once
    local pc
    for pc in "${PROMPT_COMMAND[@]}"; do
        [[ $pc == *__recorder_precmd* ]] && return 0
    done
    if ((BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1))); then
        PROMPT_COMMAND=(__recorder_precmd "${PROMPT_COMMAND[@]}")
    else
        # shellcheck disable=SC2128,SC2178  # a string before bash 5.1
        PROMPT_COMMAND=__recorder_precmd${PROMPT_COMMAND:+$'\n'$PROMPT_COMMAND}
    fi
}

if [[ -n ${BASH_VERSION-} && $- == *i* ]] && ((BASH_VERSINFO[0] >= 5)); then
    RECORDER_HOOK_SHELL=bash
    RECORDER_HOOK_PID=$$
    export RECORDER_HOOK_SHELL RECORDER_HOOK_PID
    __recorder_install
fi
