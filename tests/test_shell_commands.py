"""The shell collector end to end: real bash and zsh in tmux, the daemon, the event log."""

from __future__ import annotations

import json

import pytest
from commandkit import wait_commands, wait_piped
from shellkit import SHELLS

pytestmark = pytest.mark.slow  # end to end: real bash and zsh in tmux, with a daemon


@pytest.mark.parametrize("kind", SHELLS)
def test_commands_are_recorded_with_status_cwd_timing_and_output(
    kind, lab, session, lay, monkeypatch, tmp_path
):
    sub = tmp_path / "work" / "sub dir"
    sub.mkdir()
    sh = lab.spawn(kind)
    wait_piped(lay, sh)
    sh.run("false")
    sh.run("ls /nonexistent-recorder-dir")
    sh.run(f"cd '{sub}'")
    sh.run("pwd")
    sh.run("true | false | true")
    sh.run("for i in 1 2; do\necho line$i\ndone")
    # Line editing decodes input as UTF-8; without it the bytes reach the shell as typed.
    sh.run(_EDITING_OFF[kind])
    sh.run_bytes(b"echo caf\xe9")
    sh.run(_EDITING_ON[kind])
    sh.run("sleep 0.3")
    sh.run("sleep 30", wait=False)
    _interrupt(sh)
    sh.run(" echo leading-space-secret")
    sh.run("(exit 7)")
    sh.run("echo hello-output")
    sh.run("recorder pause")
    sh.run("echo while-paused")
    sh.run("recorder resume")
    sh.run("export RECORDER_DISABLED=1")
    sh.run("echo while-disabled")
    sh.run("unset RECORDER_DISABLED")
    sh.run("echo done")

    rows = wait_commands(lay, 16, with_output=True)
    got = [r["command"] for r in rows]
    assert got == [
        "false",
        "ls /nonexistent-recorder-dir",
        f"cd '{sub}'",
        "pwd",
        "true | false | true",
        _multiline(kind),
        _EDITING_OFF[kind],
        "echo caf\\xe9",
        _EDITING_ON[kind],
        "sleep 0.3",
        "sleep 30",
        "(exit 7)",
        "echo hello-output",
        "recorder pause",
        "export RECORDER_DISABLED=1",
        "echo done",
    ]
    by_cmd = {r["command"]: r for r in rows}
    assert by_cmd["false"]["exit_code"] == 1
    assert by_cmd["ls /nonexistent-recorder-dir"]["exit_code"] == 2
    assert "No such file" in by_cmd["ls /nonexistent-recorder-dir"]["output"]
    assert by_cmd["pwd"]["cwd"] == str(sub)
    assert by_cmd["pwd"]["output"] == f"{sub}\n"
    assert by_cmd["false"]["cwd"] == str(tmp_path / "work")
    assert by_cmd["true | false | true"]["exit_code"] == 0
    assert by_cmd["true | false | true"]["pipestatus"] == [0, 1, 0]
    assert by_cmd[_multiline(kind)]["output"] == "line1\nline2\n"
    assert by_cmd["echo caf\\xe9"]["exit_code"] == 0
    slept = by_cmd["sleep 0.3"]
    assert slept["duration_ms"] >= 300 and slept["ts_end"] > slept["ts_start"]
    assert slept["ts_end"] <= by_cmd["sleep 30"]["ts_start"]
    assert by_cmd["sleep 30"]["exit_code"] == 130
    assert by_cmd["(exit 7)"]["exit_code"] == 7
    assert by_cmd["echo hello-output"]["output"] == "hello-output\n"
    assert by_cmd["echo hello-output"]["output_truncated"] is False
    assert by_cmd["echo hello-output"]["output_bytes"] == len("hello-output\n")
    seqs = [r["cmd_seq"] for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    for row in rows:
        assert row["shell"] == kind
        assert row["tmux_pane"] == sh.pane_id
        assert row["session_id"] == session
        assert row["username"] and row["host"]
        assert row["ts_end"] is not None and row["duration_ms"] >= 0
    assert len({r["shell_id"] for r in rows}) == 1
    assert rows[0]["shell_id"].startswith(f"{rows[0]['shell_pid']}-")
    assert "leading-space-secret" not in json.dumps([r["output"] for r in rows])


_EDITING_OFF = {"bash": "set +o emacs", "zsh": "unsetopt zle"}
_EDITING_ON = {"bash": "set -o emacs", "zsh": "setopt zle"}


def _multiline(kind: str) -> str:
    # bash's history joins the lines of a compound command (cmdhist); zsh keeps them.
    return (
        "for i in 1 2; do echo line$i; done"
        if kind == "bash"
        else "for i in 1 2; do\necho line$i\ndone"
    )


def _interrupt(sh) -> None:
    sh.wait_foreground("sleep")  # Ctrl-C reaches the command, not the prompt
    sh.keys("C-c")
    sh.wait_prompt()


@pytest.mark.parametrize("kind", SHELLS)
def test_excluded_commands_and_fullscreen_programs(kind, lab, run_cli, lay, monkeypatch, tmp_path):
    monkeypatch.setenv("RECORDER_RECORD_EXCLUDE_COMMANDS", "^export SECRET=:token")
    run_cli("start")
    try:
        sh = lab.spawn(kind)
        wait_piped(lay, sh)
        sh.run("export SECRET=hunter2")
        sh.run("echo my-token-here")
        sh.run("echo kept")
        page = tmp_path / "page.txt"
        page.write_text("".join(f"row {i}\n" for i in range(300)))
        sh.run(f"less {page}", wait=False)
        sh.wait_foreground("less")
        sh.wait_visible("row 1")  # less has drawn its first page
        sh.keys("q")
        sh.wait_prompt()
        sh.run("seq 1 30000")
        rows = wait_commands(lay, 3, with_output=True)
    finally:
        run_cli("stop")
    by_cmd = {r["command"]: r for r in rows}
    assert list(by_cmd) == ["echo kept", f"less {page}", "seq 1 30000"]
    pager = by_cmd[f"less {page}"]
    assert json.loads(pager["extra"] or "null") == {"fullscreen": "less"}, (
        pager["output"],
        pager["output_bytes"],
        pager["output_truncated"],
    )
    assert "row 1" not in pager["output"] and "\x1b" not in pager["output"]
    seq = by_cmd["seq 1 30000"]
    full = "".join(f"{i}\n" for i in range(1, 30001))
    assert seq["output_truncated"] is True
    assert seq["output_bytes"] == len(full)
    assert len(seq["output"].encode()) <= 65536
    assert seq["output"].startswith("1\n2\n3\n") and seq["output"].endswith("29999\n30000\n")
