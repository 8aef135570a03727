# recorder shell hook for bash >= 5.0 -- load with:  eval "$(recorder hook bash)"
#
# Appends one cmd.start and one cmd.end JSON line per interactive command to
# $home/spool/shell.<pid>-<id>.v1.jsonl, using builtins only: no process is
# spawned per command. docs/shell.md explains the design; in short:
#   - PS0 (expanded after a line is read, before it runs) notes the start time and
#     HISTCMD, and inside tmux prints the OSC 133 "C" mark that tells the tmux
#     collector where the command's output begins;
#   - the DEBUG trap writes cmd.start before the first simple command of the line
#     runs, after one `stat` of state/active.<session> (the state files are read
#     only when that fails);
#   - the PROMPT_COMMAND entry writes cmd.end with the command's $? and PIPESTATUS
#     (the trap does it when another command runs before the entry), and catches
#     what the trap could not see.
# This runs around every command: the common path is a few statements, and anything
# unusual falls through to a "full" function. On a slow machine a statement costs
# 5-10 microseconds and a function call about as much; docs/shell.md has the figures.
# Home: ${RECORDER_HOME:-$__recorder_default_home}. RECORDER_DISABLED=1 turns it off.

# --- the common path, run around every command ------------------------------------

# The DEBUG trap runs before every simple command. Its text (__recorder_dispatch, set by
# __recorder_install) is a `case` that calls a function only when there is work to do,
# so the commands of a loop cost no function call; a `case` leaves $?, PIPESTATUS and $_
# as they are. It tells these moments apart:
#   - PS0 (expanded after a line is read, before it runs) set the start time t0 and pp,
#     HISTCMD as it is there and at the next prompt; while the line runs it is one less;
#   - the line's first simple command (t0 set, HISTCMD is not pp): __recorder_start
#     writes the start and clears t0;
#   - the rest of the line (t0 empty, HISTCMD is hc1): nothing to do. hc1 is the prompt's
#     HISTCMD, which the line keeps when it was added to history (the common path checks
#     that); otherwise the full path sets hc1 to the line's;
#   - the prompt: __recorder_precmd, first in PROMPT_COMMAND, writes the end, clears pp and
#     notes the prompt's HISTCMD in hc1. The trap calls it itself when another command
#     comes first (that command could change $?), or when the line ran no simple command
#     in this shell (`(exit 7)`: t0 is still set, HISTCMD is pp).
# shellcheck disable=SC2016  # the trap's text, expanded when it runs
__recorder_dispatch='case $HISTCMD:${__recorder_t0:+1}:$BASH_SUBSHELL:$BASH_COMMAND in
    "$__recorder_pp":1:0:*) __recorder_precmd "$?" "${PIPESTATUS[*]}" "$_" ;;
    *:1:0:*) __recorder_start "$_" ;;
    "$__recorder_hc1"::0:* | *::0:__recorder_precmd\ *) ;;
    *::0:*) __recorder_precmd "$?" "${PIPESTATUS[*]}" "$_" ;;
esac'

__recorder_start() { # the line's first simple command is about to run: write its start
    # Each assignment costs microseconds here: the common path makes five.
    # The user's HISTCONTROL, if the prompt changed it (see __recorder_swap_histcontrol).
    [[ -z $__recorder_hc_user ]] || __recorder_restore_histcontrol $((__recorder_n + 1))
    # The usual case in one test: recording, one history entry added (HISTCMD is still the
    # prompt's), nothing pending, and what __recorder_refresh notes in the key unchanged.
    # Anything else takes the full path.
    if [[ $__recorder_on:$HISTCMD:$__recorder_pending:${HISTTIMEFORMAT-}:${RECORDER_DISABLED:-0}:${RECORDER_HOME:-${__recorder_default_home-}}:${EPOCHSECONDS:0:-3}:${IFS-.}:$PWD == "1:$__recorder_hc1$__recorder_key" &&
        -e $__recorder_active ]]; then
        # The line, from `history 1` (capturing a builtin's output without a subshell
        # needs a file): appended through one descriptor, read back through another.
        builtin history 1 >&"$__recorder_sw"
        read -r -d '' -u "$__recorder_sr" __recorder_h
        __recorder_j=${__recorder_h#*[0-9][ \*] } __recorder_n=$((__recorder_n + 1))
        # excl_on is a space while exclusion patterns exist.
        if [[ $__recorder_excl_on$__recorder_j == [[:space:]]* || $__recorder_j == *[\"\\$__recorder_ctl]* ]]; then
            __recorder_filter || return 0
        fi
    elif [[ $__recorder_swapped != $((__recorder_n + 1)) ]] && __recorder_still_off; then
        __recorder_t0='' __recorder_hc1=$HISTCMD # not recording, as at the last look
        return 0
    else
        __recorder_begin_full user && __recorder_write_start
        return 0
    fi
    # As in __recorder_write_start (inline here: a function call costs as much as a line).
    __recorder_line="$__recorder_pre_start\"t\":\"$__recorder_t0\",\"n\":$__recorder_n,\"cmd\":\"$__recorder_j\",$__recorder_post_start"$'\n' \
        __recorder_t0='' __recorder_run=$__recorder_n
    printf '%s' "$__recorder_line" 1>&"$__recorder_fd" 2>&- || __recorder_keep
}

__recorder_precmd() { # at the prompt, $1 $2 the command's $? and PIPESTATUS: write its end
    # After a recorded command, the usual case: as in __recorder_finish, then the prompt's
    # work as in __recorder_at_prompt (bash-preexec, when it owns the DEBUG trap, keeps
    # PIPESTATUS in BP_PIPESTATUS: that takes the full path).
    if [[ ${__recorder_run:+r}${__recorder_t0:+t}${BP_PIPESTATUS+b}$__recorder_pending == r ]]; then
        __recorder_line="$__recorder_pre_end\"t\":\"$EPOCHREALTIME\",\"n\":$__recorder_run,\"exit\":$1,\"pipestatus\":\"$2\"}"$'\n' \
            __recorder_hc1=$HISTCMD __recorder_pp='' __recorder_run=''
        printf '%s' "$__recorder_line" 1>&"$__recorder_fd" 2>&- || __recorder_keep
        # The tmux mark and the HISTCONTROL swap, when there is one to make.
        [[ -z $__recorder_markc${HISTCONTROL-} ]] || __recorder_after_end "$1"
    # Not done yet at this prompt: PS0 ran since the last prompt (pp), or a line ran without it.
    elif [[ -n $__recorder_pp || $HISTCMD != "$__recorder_hc1" ]]; then
        if [[ -z $__recorder_t0$__recorder_run ]] && __recorder_still_off; then
            __recorder_hc1=$HISTCMD __recorder_pp='' # not recording, as at the last look
        else
            __recorder_at_prompt "$1" "$2"
        fi
    fi
    # Code appended to the same PROMPT_COMMAND entry sees the command's status. Called from
    # the DEBUG trap (a third argument), 0: with extdebug, non-zero would skip a command.
    return $(($# > 2 ? 0 : $1))
}

__recorder_begin() { # the line read by PS0 starts, seen at the prompt: no DEBUG trap ran for it
    __recorder_begin_full "" && __recorder_write_start
}

__recorder_write_start() { # append the cmd.start of the command in __recorder_j
    __recorder_line=$__recorder_pending"$__recorder_pre_start\"t\":\"$__recorder_t0\",\"n\":$__recorder_n,\"cmd\":\"$__recorder_j\",$__recorder_post_start"$'\n' \
        __recorder_t0='' __recorder_run=$__recorder_n __recorder_pending=''
    printf '%s' "$__recorder_line" 1>&"$__recorder_fd" 2>&- || __recorder_keep
}

# shellcheck disable=SC2015
__recorder_finish() { # the running command ended with status $1, pipeline statuses $2
    __recorder_line=$__recorder_pending"$__recorder_pre_end\"t\":\"$EPOCHREALTIME\",\"n\":$__recorder_run,\"exit\":$1,\"pipestatus\":\"$2\"}"$'\n' \
        __recorder_pending=''
    printf '%s' "$__recorder_line" 1>&"$__recorder_fd" 2>&- || __recorder_keep
    [[ -z $__recorder_markc ]] || __recorder_mark_end "$1" "$__recorder_run"
    __recorder_run=''
}

# --- the full paths -------------------------------------------------------------------

# shellcheck disable=SC2015
__recorder_begin_full() { # begin, for whatever the common path does not handle; 1: skip
    # hcp: HISTCMD at the prompt. t0 stays until the start is written (or is not).
    local hcp=$__recorder_hc1
    __recorder_n=$((__recorder_n + 1)) __recorder_t0=${__recorder_t0:-$EPOCHREALTIME} \
        __recorder_hc1=$HISTCMD
    [[ -z $__recorder_hc_user ]] || __recorder_restore_histcontrol "$__recorder_n"
    # No prompt work since the last line (HISTCMD moved on): PROMPT_COMMAND was emptied.
    [[ $1 != user ]] || ((HISTCMD <= hcp)) || __recorder_hook_prompt
    # The state again: a pause or resume since the prompt was drawn counts from now on.
    [[ -n $__recorder_on && -e $__recorder_active && ${RECORDER_DISABLED:-0} == 0 &&
        ${RECORDER_HOME:-${__recorder_default_home-}} == "$__recorder_home" ]] ||
        { __recorder_state && [[ -n $__recorder_on ]]; } || { __recorder_drop_if_space; __recorder_t0=''; return 1; }
    [[ ${EPOCHSECONDS:0:-3} == "$__recorder_tz_win" && $PWD == "$__recorder_pwd" ]] || __recorder_refresh
    __recorder_read_history
    __recorder_j=${__recorder_h#*[0-9][ \*] }
    # Not added to history: a duplicate (the text is right), HISTIGNORE, or history off.
    ((__recorder_pp == hcp + 1)) || __recorder_not_in_history "$1"
    if [[ $__recorder_excl_on$__recorder_j == [[:space:]]* || $__recorder_j == *[\"\\$__recorder_ctl]* ]]; then
        __recorder_filter || return 1
    fi
    return 0
}

__recorder_read_history() { # the newest history entry, "N  text", into __recorder_h
    # Whatever HISTTIMEFORMAT and IFS are (the common path of __recorder_start reads it
    # itself, when both are plain).
    local line=''
    {
        HISTTIMEFORMAT='' builtin history 1 >&"$__recorder_sw"
        IFS= read -r -d '' -u "$__recorder_sr" line
    } 2>&"$__recorder_null"
    line=${line#"${line%%[![:space:]]*}"}
    __recorder_h=${line%$'\n'}
}

__recorder_not_in_history() { # the line was not added to history; $1=user in its own trap
    if [[ $1 == user ]] && { [[ ! -o history ]] || { [[ -n ${HISTIGNORE-} ]] &&
        __recorder_ignored "$BASH_COMMAND"; }; }; then
        __recorder_j=$BASH_COMMAND
    elif [[ ! -o history ]]; then
        __recorder_j=''
    fi
}

__recorder_filter() { # the command in __recorder_j: skip it (1), or JSON-escape it in place
    local p BASH_REMATCH
    for p in "${__recorder_excl[@]}"; do
        [[ -n $p && $__recorder_j =~ $p ]] && { __recorder_skip; return 1; }
    done
    [[ $__recorder_j == [[:space:]]* ]] && { __recorder_skip; return 1; }
    [[ $__recorder_j == *[\"\\$__recorder_ctl]* ]] && __recorder_json "$__recorder_j"
    return 0
}

__recorder_skip() { # the command is not recorded; $__recorder_h is "N  text" from history
    # The user's ignorespace (suspended while the prompt waited), done here.
    [[ $__recorder_swapped == "$__recorder_n" && ${__recorder_h#*[0-9][ \*] } == [[:space:]]* ]] &&
        builtin history -d "${__recorder_h%%[!0-9]*}" 2>&"$__recorder_null"
    __recorder_scratch_reset # the scratch file keeps no trace of it either
    __recorder_t0=''
}

__recorder_drop_if_space() { # not recording now, but the prompt suspended the user's ignorespace
    [[ $__recorder_swapped == "$__recorder_n" && -n $__recorder_sr ]] || return 0
    __recorder_read_history
    __recorder_skip
}

__recorder_at_prompt() { # the prompt's work when the trap's short path does not apply
    # $1 $2: the command's $? and PIPESTATUS. Also called by precmd when the DEBUG trap
    # is not ours (bash-preexec loaded after the hook calls it from its preexec only).
    ((BASH_SUBSHELL == 0)) || return 0
    [[ -z $__recorder_t0 ]] || __recorder_begin # no DEBUG trap ran for this line
    if [[ -n $__recorder_run ]]; then
        local ps=$2
        [[ -n ${BP_PIPESTATUS+x} ]] && ps="${BP_PIPESTATUS[*]}"
        __recorder_finish "$1" "$ps"
    fi
    # No PS0 start time since the last prompt: the line was empty, or PS0 was replaced.
    [[ -n $__recorder_pp ]] || __recorder_hook_ps0
    __recorder_hc1=$HISTCMD __recorder_t0='' \
        __recorder_pp=''
    __recorder_prompt_state
}

__recorder_prompt_state() { # the state at the prompt, read if it changed; the HISTCONTROL swap
    if [[ ${RECORDER_DISABLED:-0} != 0 || ${RECORDER_HOME:-${__recorder_default_home-}} != "$__recorder_home" ||
        ! -e $__recorder_active ]]; then
        __recorder_state
    fi
    # Keep space-prefixed lines in history until we have seen them (bash-preexec does the same).
    [[ -n $__recorder_on && ${HISTCONTROL-} == *ignore[sb]* ]] && __recorder_swap_histcontrol
    return 0
}

__recorder_after_end() { # $1: the status; the end was written in the common path
    [[ -z $__recorder_markc ]] || __recorder_mark_end "$1" "$__recorder_n"
    [[ ${HISTCONTROL-} != *ignore[sb]* ]] || __recorder_swap_histcontrol # ignorespace|both
    return 0
}

__recorder_swap_histcontrol() { # while the prompt waits: the user's HISTCONTROL minus ignorespace
    __recorder_hc_user=$HISTCONTROL HISTCONTROL=${HISTCONTROL//ignorespace/} \
        HISTCONTROL=${HISTCONTROL//ignoreboth/ignoredups}
}

__recorder_restore_histcontrol() { # the user's HISTCONTROL, changed while the prompt waited
    # swapped: the number of the command it was changed for (no need to clear it later).
    HISTCONTROL=$__recorder_hc_user __recorder_hc_user='' __recorder_swapped=$1
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

__recorder_refresh() { # on cd and every 1000 s: the UTC offset, the JSON of $PWD, the key
    local z
    printf -v z '%(%z)T' -1
    __recorder_tz=$((${z:0:1}1 * (10#${z:1:2} * 60 + 10#${z:3:2})))
    __recorder_tz_win=${EPOCHSECONDS:0:-3} # redone when this changes, every 1000 s
    __recorder_json "$PWD"
    __recorder_pwd=$PWD
    # What the common path of __recorder_start compares (after "$on:$HISTCMD"): nothing
    # pending, plain HISTTIMEFORMAT, enabled, same home, same 1000 s, default IFS, same $PWD.
    __recorder_key=":::0:$__recorder_home:$__recorder_tz_win:"$' \t\n:'$PWD
    __recorder_post_start="\"tz\":$__recorder_tz,\"cwd\":\"$__recorder_j\"${TMUX_PANE:+,\"pane\":\"$TMUX_PANE\"}}"
}

__recorder_mark_end() { # OSC 133 "D": status $1, command number $2, the program's name (for full-screen ones)
    local w=${__recorder_j#"${__recorder_j%%[![:space:]]*}"} # (JSON-escaped; fine for this)
    w=${w%%[[:space:];|&<>()]*}
    w=${w##*/}
    w=${w//[!A-Za-z0-9._+-]/}
    printf '\e]133;D;%s;recorder=%s:%s;cmd=%s\a' "$1" "$__recorder_id" "$2" "${w:0:40}" >&2
}

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

__recorder_keep() { # __recorder_line (with what was pending) was not written: retry it later
    # A failed write may have left half a line: the retry starts on a fresh line.
    [[ $__recorder_line == $'\n'* ]] || __recorder_line=$'\n'$__recorder_line
    ((${#__recorder_line} < 1048576)) && __recorder_pending=$__recorder_line
    return 0
}

# --- state, files and installation ------------------------------------------------------

__recorder_still_off() { # not recording at the last look, and nothing says that changed
    # (Same switch and home; still disabled, or no session, or paused: at most two stats.)
    [[ -z $__recorder_on && $__recorder_offkey == "${RECORDER_DISABLED:-0}:${RECORDER_HOME:-${__recorder_default_home-}}" ]] &&
        [[ ${RECORDER_DISABLED:-0} != 0 || ! -e $__recorder_offhome/state/recording ||
            -e $__recorder_offhome/state/paused ]]
}

__recorder_state() { # should the next command be recorded? Reads the state files
    local home=${RECORDER_HOME:-${__recorder_default_home-}} sid=
    __recorder_on='' __recorder_markc='' __recorder_active='' __recorder_offhome=$home \
        __recorder_offkey=${RECORDER_DISABLED:-0}:$home
    case ${RECORDER_DISABLED-} in '' | 0) ;; *) return 0 ;; esac
    [[ -n $home ]] || return 0
    __recorder_tmux_marks
    { IFS= read -r sid <"$home/state/recording"; } 2>&"$__recorder_null"
    [[ -n $sid && ! -e $home/state/paused ]] || return 0
    if [[ $sid != "$__recorder_sid" || $home != "$__recorder_home" ]]; then
        __recorder_sid=$sid __recorder_home=$home __recorder_tz_win='' # refresh the key
        __recorder_pre_start=$__recorder_start_head'"session":"'$sid'",'
        __recorder_pre_end='{"v":1,"type":"cmd.end","session":"'$sid'","shell_id":"'$__recorder_id'",'
        __recorder_excl=()
        { mapfile -t __recorder_excl <"$home/state/exclude-commands"; } 2>/dev/null
        __recorder_excl_on=${__recorder_excl[*]:+ }
        __recorder_open || return 0
    elif [[ -z $__recorder_fd || -z $__recorder_sr || ! -e $__recorder_path ]]; then
        __recorder_open || return 0
    fi
    # Exists while this session records unpaused: the one check made per command (see
    # __recorder_start).
    __recorder_active=$home/state/active.$sid
    __recorder_on=1
    if [[ -n $__recorder_markc && $__recorder_pane_sid != "$sid" ]]; then
        __recorder_register_pane "$home" && __recorder_pane_sid=$sid
    fi
}

__recorder_tmux_marks() { # in tmux, PS0 marks where each command's output begins (OSC 133 C)
    # Also while not recording: PS0 is drawn before the DEBUG trap reads the state, so the
    # first command of a session that started while its prompt was shown needs the mark
    # already. Only a recorded command gets its end mark (D); a C alone cuts nothing.
    [[ -z ${TMUX-} || -z ${TMUX_PANE-} ]] || __recorder_markc=$'\e]133;C;recorder='$__recorder_id:
}

__recorder_register_pane() { # $1: the home. Tells the tmux collector that this pane runs a
    # hooked shell: it pipes the pane from a session's start (the file outlives a session).
    local sock=${TMUX%%,*} ok=0
    __recorder_private_umask
    { printf '%s\n%s\n%s\n%s\n' "$sock" "$TMUX_PANE" "$__recorder_id" "$$" \
        >"$1/state/pane.${sock//[!A-Za-z0-9]/_}_${TMUX_PANE#%}"; } 2>/dev/null || ok=1
    umask "$__recorder_um"
    return $ok
}

__recorder_close() { # close the descriptors whose numbers are in the variables named by $@
    local v fd
    for v; do
        fd=${!v}
        [[ -n $fd ]] && { exec {fd}>&-; } 2>/dev/null
        printf -v "$v" ''
    done
}

__recorder_open() { # (re)open the spool file of this shell in the home, and its scratch file
    __recorder_close __recorder_fd
    __recorder_path=$__recorder_home/spool/shell.$__recorder_id.v1.jsonl
    [[ ! -L $__recorder_path ]] || return 1 # never written through a planted symlink
    __recorder_private_umask
    { exec {__recorder_fd}>>"$__recorder_path"; } 2>/dev/null || __recorder_fd=''
    umask "$__recorder_um"
    [[ -n $__recorder_fd ]] || return 1
    # The scratch file is kept from session to session while it is there (in this home).
    [[ -n $__recorder_sr && $__recorder_scratch == "$__recorder_home/state/.cmd."* && -e $__recorder_scratch ]] ||
        __recorder_scratch_reset
}

__recorder_scratch_reset() { # a new, empty scratch file, opened once to write and once to read
    # `history 1` is written through one descriptor and read back through the other (whose
    # offset follows), so a command costs no open. Both only move forward, and the daemon
    # erases what was read (recorder/collectors/scratch.py): no truncation per command (that
    # costs a quarter of a millisecond here). To empty it at once (a command that is not
    # recorded, a change of home) the file is emptied and left for the daemon to delete, and
    # a new one is taken: a scratch file is never written again from its start, so the
    # position the daemon reads is never stale.
    [[ -z $__recorder_scratch || ! -e $__recorder_scratch || -L $__recorder_scratch ]] ||
        { : >"$__recorder_scratch"; } 2>&"$__recorder_null"
    __recorder_close __recorder_sw __recorder_sr
    __recorder_scratch_k=$((__recorder_scratch_k + 1))
    __recorder_scratch=$__recorder_home/state/.cmd.$__recorder_id.$__recorder_scratch_k
    [[ ! -L $__recorder_scratch ]] || return 1
    __recorder_private_umask
    { exec {__recorder_sw}>"$__recorder_scratch"; } 2>/dev/null &&
        { exec {__recorder_sr}<"$__recorder_scratch"; } 2>/dev/null
    local ok=$?
    umask "$__recorder_um"
    ((ok == 0)) || __recorder_close __recorder_sw __recorder_sr
    return $ok
}

__recorder_private_umask() { # umask 077 for a file the hook creates; the user's in __recorder_um
    # Read from /proc/self/status ("Umask:<tab>0022", line 2) with builtins: `$(umask)`
    # would spawn a subshell. The caller puts it back right after creating its file.
    local k='' IFS=$' \t'
    { read -r k && read -r k __recorder_um; } </proc/self/status 2>&"$__recorder_null"
    [[ $k == Umask: && $__recorder_um == [0-7]* ]] || __recorder_um=$(umask)
    umask 077
}

__recorder_hook_ps0() { # make sure PS0 ends with our suffix (something may have replaced it)
    [[ ${PS0-} == *"$__recorder_ps0"* ]] || PS0=${PS0-}$__recorder_ps0
}

__recorder_hook_prompt() { # put __recorder_precmd first in PROMPT_COMMAND, once
    # shellcheck disable=SC2016  # expanded when PROMPT_COMMAND runs
    local entry='__recorder_precmd "$?" "${PIPESTATUS[*]}"' i
    for i in "${!PROMPT_COMMAND[@]}"; do
        [[ ${PROMPT_COMMAND[i]} == __recorder_precmd ]] && PROMPT_COMMAND[i]=$entry # an older hook's
        [[ ${PROMPT_COMMAND[i]} == *__recorder_precmd* ]] && return 0
    done
    if ((BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1))); then
        PROMPT_COMMAND=("$entry" "${PROMPT_COMMAND[@]}")
    else
        # shellcheck disable=SC2128,SC2178  # a string before bash 5.1
        PROMPT_COMMAND=$entry${PROMPT_COMMAND:+$'\n'$PROMPT_COMMAND}
    fi
}

__recorder_debug_chained() { # the DEBUG trap when one was set before ours: call it after
    # $1 $2 $3: the command's $_, $? and PIPESTATUS. First, so that $? and PIPESTATUS are
    # still the command's when the dispatch reads them.
    eval "$__recorder_dispatch"
    __recorder_status "$2" "$1"
    eval "$__recorder_prior_debug"
}

__recorder_status() { return "$1"; }

__recorder_install() {
    __recorder_ctl=$'\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f'
    __recorder_bel=$'\a'
    if [[ ${__recorder_pid-} != "$$" ]]; then # a new shell (or after exec bash)
        __recorder_pid=$$
        __recorder_id=$$-${EPOCHREALTIME//[.,]/}
        __recorder_n=0 __recorder_fd='' __recorder_sw='' __recorder_sr='' __recorder_sid='' \
            __recorder_scratch_k=0
        __recorder_home='' __recorder_run='' __recorder_pending='' __recorder_t0=''
        __recorder_on='' __recorder_markc=''
        __recorder_excl=() __recorder_tz=0 __recorder_tz_win=''
        exec {__recorder_null}>/dev/null # for silencing errors without opening /dev/null each time
    fi
    # Everything the functions read is set, for `set -u` (also when an older hook was loaded).
    : "${__recorder_pp=}" "${__recorder_hc1=0}" "${__recorder_e=}" \
        "${__recorder_t0=}" "${__recorder_scratch_k=0}" "${__recorder_um=}" "${__recorder_active=}" "${__recorder_path=}" \
        "${__recorder_scratch=}" "${__recorder_pwd=}" "${__recorder_key=}" "${__recorder_pane_sid=}" \
        "${__recorder_prior_debug=}" "${__recorder_line=}" \
        "${__recorder_sw=}" "${__recorder_sr=}" "${__recorder_h=}" \
        "${__recorder_swapped=}" "${__recorder_hc_user=}" "${__recorder_offkey=}" "${__recorder_offhome=}" "${__recorder_pre_start=}" \
        "${__recorder_pre_end=}" "${__recorder_post_start=}" "${__recorder_excl_on=}" "${__recorder_j=}"
    __recorder_sid='' __recorder_active='' __recorder_tz_win='' # read afresh (maybe a newer hook)
    local u=${USER:-${LOGNAME-}}
    if [[ -z $u ]]; then
        u='\u'
        u=${u@P}
    fi
    __recorder_json "$u"
    local userj=$__recorder_j
    __recorder_json "${HOSTNAME-}"
    # The fixed part of every cmd.start of this shell; __recorder_state adds the session.
    __recorder_start_head='{"v":1,"type":"cmd.start","shell_id":"'$__recorder_id'","shell":"bash","pid":'$$',"host":"'$__recorder_j'","user":"'$userj'",'
    # shellcheck disable=SC2016  # expanded by bash when it prints PS0
    # The `:=` assignments are made while expanding the pattern of a substitution in an empty
    # string (not `#`: that skips it): they print nothing, and cost less than arithmetic.
    # n is counted when the line starts.
    __recorder_ps0='${__recorder_e/${__recorder_t0:=$EPOCHREALTIME}${__recorder_pp:=$HISTCMD}}${__recorder_markc:+$__recorder_markc$((__recorder_n + 1))$__recorder_bel}'
    # An older hook's suffix (loaded before this one in the same shell) goes.
    [[ ${PS0-} != *'${__recorder_'* || ${PS0-} == *"$__recorder_ps0"* ]] || PS0=${PS0%%'${__recorder_'*}
    __recorder_hook_ps0

    local trap_text
    trap_text=$(trap -p DEBUG)
    trap_text=${trap_text#trap -- \'}
    trap_text=${trap_text%\' DEBUG}
    trap_text=${trap_text//\'\\\'\'/\'}
    if [[ -n $trap_text && $trap_text != *__recorder_* ]]; then
        __recorder_prior_debug=$trap_text
    fi
    # shellcheck disable=SC2016  # the trap's text, not an expansion
    if [[ -n $__recorder_prior_debug ]]; then
        trap '__recorder_debug_chained "$_" "$?" "${PIPESTATUS[*]}"' DEBUG
    else
        # shellcheck disable=SC2064  # the text is kept in the variable
        trap "$__recorder_dispatch" DEBUG
    fi
    __recorder_hook_prompt
    # Known to the tmux collector before any command: a session started later pipes this
    # pane at once, so its first command keeps its output.
    local home=${RECORDER_HOME:-${__recorder_default_home-}}
    if [[ -n ${TMUX-} && -n ${TMUX_PANE-} && -n $home && ${RECORDER_DISABLED:-0} == 0 ]]; then
        __recorder_tmux_marks
        [[ ! -d $home/state ]] || __recorder_register_pane "$home"
    fi
    return 0
}

if [[ -n ${BASH_VERSION-} && $- == *i* ]] && ((BASH_VERSINFO[0] >= 5)); then
    RECORDER_HOOK_SHELL=bash
    RECORDER_HOOK_PID=$$
    export RECORDER_HOOK_SHELL RECORDER_HOOK_PID
    __recorder_install
fi
