"""`recorder hook`, `recorder doctor`, and a hooked shell that never blocks or complains:
no daemon, a deleted home, recording switched off."""

from __future__ import annotations

import os
import shutil
import signal

import pytest
from commandkit import commands, wait_commands
from shellkit import SHELLS
from waitkit import wait_until


@pytest.mark.parametrize("kind", SHELLS)
def test_hook_prints_the_snippet_with_the_home(kind, run_cli, recorder_home):
    text = run_cli("hook", kind).stdout
    first, rest = text.split("\n", 1)
    assert first == f"__recorder_default_home='{recorder_home}'"
    assert "RECORDER_HOOK_PID" in rest and "cmd.start" in rest


@pytest.mark.slow
@pytest.mark.parametrize("kind", SHELLS)
def test_doctor_sees_the_hook_in_this_shell_only(kind, lab, tmp_path):
    hooked, plain = lab.spawn(kind), lab.spawn(kind, hooked=False)
    hooked.run(f"recorder doctor > {tmp_path / 'hooked.txt'}")
    plain.run(f"recorder doctor > {tmp_path / 'plain.txt'}")
    hooked_report = (tmp_path / "hooked.txt").read_text()
    assert f"ok   shell hook: loaded in this {kind}" in hooked_report
    assert "WARN shell hook: not loaded" in (tmp_path / "plain.txt").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("kind", SHELLS)
def test_without_a_daemon_commands_are_spooled_then_ingested(kind, lab, session, lay, run_cli):
    sh = lab.spawn(kind)
    os.kill(int(lay.pid_file.read_text()), signal.SIGKILL)
    for k in range(3):
        sh.run(f"echo offline-{k}")
    run_cli("stop")  # no daemon: stop ingests the spool itself
    rows = commands(lay)
    assert [r["command"] for r in rows] == [f"echo offline-{k}" for k in range(3)]
    assert all(r["exit_code"] == 0 and r["session_id"] == session for r in rows)
    assert "rror" not in sh.text()


@pytest.mark.slow
@pytest.mark.parametrize("kind", SHELLS)
def test_deleted_home_and_disabled_recording_are_silent(kind, lab, session, lay, recorder_home):
    sh = lab.spawn(kind)
    sh.run("echo recorded")
    wait_commands(lay, 1)
    sh.run("RECORDER_DISABLED=1; export RECORDER_DISABLED")
    sh.run("echo not-recorded")
    sh.run("unset RECORDER_DISABLED")
    sh.run("echo recorded-again")
    wait_commands(lay, 3)
    before = sh.text()
    daemon_pid = int(lay.pid_file.read_text())
    shutil.rmtree(recorder_home)
    for k in range(3):
        sh.run(f"echo homeless-{k}")
    after = sh.text()[len(before) :]
    assert "homeless-2" in after
    for word in ("No such file", "rror", "cannot", "denied"):
        assert word not in after, after
    # The daemon has nothing left to write into, and no `recorder stop` can reach it: it ends.
    wait_until(lambda: not _alive(daemon_pid), what="the daemon to end")
    assert not _alive(daemon_pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
