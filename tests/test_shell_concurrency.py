"""Many shells at once, and shells working while the daemon is down: nothing lost, nothing twice."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest
from commandkit import commands, flush, wait_commands
from waitkit import wait_until

pytestmark = pytest.mark.slow  # end to end: real shells in tmux, with a daemon

SHELL_COUNT = 20
PER_SHELL = 8


def test_twenty_shells_each_command_recorded_exactly_once(lab, session, lay):
    shells = [lab.spawn("bash" if i % 2 == 0 else "zsh") for i in range(SHELL_COUNT)]
    # Type every shell's commands at once, so that they all run and spool concurrently.
    for i, sh in enumerate(shells):
        for j in range(PER_SHELL):
            sh.run(f"echo s{i}-c{j} >/dev/null; (exit {j % 3})", wait=False)
    for sh in shells:
        sh.wait_prompt(1 + PER_SHELL, timeout=60)
    rows = wait_commands(lay, SHELL_COUNT * PER_SHELL)
    assert len(rows) == SHELL_COUNT * PER_SHELL
    counts = Counter(r["command"] for r in rows)
    assert set(counts.values()) == {1}
    for i in range(SHELL_COUNT):
        mine = sorted((r for r in rows if f"s{i}-c" in r["command"]), key=lambda r: r["cmd_seq"])
        assert [r["command"] for r in mine] == [
            f"echo s{i}-c{j} >/dev/null; (exit {j % 3})" for j in range(PER_SHELL)
        ]
        assert [r["exit_code"] for r in mine] == [j % 3 for j in range(PER_SHELL)]
        assert len({r["shell_id"] for r in mine}) == 1
        assert [r["cmd_seq"] for r in mine] == list(range(1, PER_SHELL + 1))


def test_daemon_down_while_shells_work_then_restarted(lab, session, lay, run_cli):
    bash, zsh = lab.spawn("bash"), lab.spawn("zsh")
    bash.run("echo before-bash")
    zsh.run("echo before-zsh")
    wait_commands(lay, 2)
    pid = int(lay.pid_file.read_text())
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not _alive(pid), what="the daemon to exit")
    assert lay.recording_marker.exists()  # the session goes on without its daemon
    for k in range(5):
        bash.run(f"echo down-bash-{k}")
        zsh.run(f"echo down-zsh-{k}; false")
    spooled = b"".join(p.read_bytes() for p in lay.spool.glob("shell.*.v1.jsonl"))
    assert spooled.count(b'"type":"cmd.end"') >= 10
    restarted = run_cli("start", check=False)
    assert "restarted it" in restarted.stderr
    bash.run("echo after-bash")
    zsh.run("echo after-zsh")
    flush(lay)
    rows = wait_commands(lay, 14)
    got = Counter(r["command"] for r in rows)
    expected = (
        ["echo before-bash", "echo before-zsh", "echo after-bash", "echo after-zsh"]
        + [f"echo down-bash-{k}" for k in range(5)]
        + [f"echo down-zsh-{k}; false" for k in range(5)]
    )
    assert got == Counter(expected)
    assert all(r["exit_code"] == 1 for r in rows if r["command"].endswith("; false"))
    assert len(commands(lay)) == 14


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
