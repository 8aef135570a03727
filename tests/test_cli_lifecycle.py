"""start, status, task, sessions, show, stop end to end through the installed CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from spoolkit import command_lines, shell_spool

from recorder.cli import cli
from recorder.paths import Layout
from recorder.store import WriterLock, open_reader


@pytest.mark.slow
def test_start_status_task_show_stop(run_cli, recorder_home):
    started = run_cli("start", "--name", "dataloader bug")
    session = started.stdout.strip()
    assert len(session) == 36 and session[14] == "7"  # a UUIDv7

    st = json.loads(run_cli("status", "--json").stdout)
    assert st["recording"] and st["session"] == session and st["name"] == "dataloader bug"
    assert st["daemon_pid"] > 0

    run_cli("task", "fix the dataloader")
    run_cli("pause")
    run_cli("resume")
    stopped = run_cli("stop")
    assert session in stopped.stdout

    st = json.loads(run_cli("status", "--json").stdout)
    assert not st["recording"] and st["daemon_pid"] is None

    rows = [json.loads(line) for line in run_cli("sessions", "--json").stdout.splitlines()]
    assert [r["session_id"] for r in rows] == [session]
    assert rows[0]["name"] == "dataloader bug" and rows[0]["ended_at"] is not None
    assert rows[0]["events"] == 3

    events = [
        json.loads(line) for line in run_cli("show", session[:8], "--json").stdout.splitlines()
    ]
    assert [(e["source"], e["event_type"], e["text"]) for e in events] == [
        ("user", "task", "fix the dataloader"),
        ("user", "pause", None),
        ("user", "resume", None),
    ]
    human = run_cli("show", "last").stdout
    assert "fix the dataloader" in human and session in human


@pytest.mark.slow
def test_active_marker_follows_start_pause_resume_stop(run_cli, recorder_home):
    """state/active.<session> exists exactly while the session records unpaused: the shell
    hooks' one check per command. A marker left by a session that did not end is cleared."""
    lay = Layout(recorder_home)
    lay.state.mkdir(parents=True, exist_ok=True)
    (lay.state / "active.left-by-a-crash").write_text("")
    session = run_cli("start").stdout.strip()
    assert sorted(p.name for p in lay.state.glob("active.*")) == [f"active.{session}"]
    run_cli("pause")
    assert not lay.active_marker(session).exists()
    run_cli("resume")
    assert lay.active_marker(session).exists()
    run_cli("stop")
    assert list(lay.state.glob("active.*")) == []


@pytest.mark.slow
def test_home_is_owner_only(run_cli, recorder_home):
    run_cli("start")
    run_cli("stop")
    for path in [recorder_home, *recorder_home.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_socket():
            continue
        assert mode & 0o077 == 0, f"{path} is {mode:o}"


@pytest.mark.slow
def test_start_while_recording_says_so_and_changes_nothing(run_cli):
    first = run_cli("start").stdout.strip()
    again = run_cli("start", "--name", "other", check=False)
    assert again.returncode == 1
    assert (
        again.stderr.strip()
        == f"Error: already recording session {first} since "
        + again.stderr.strip().split(" since ", 1)[1]
    )
    assert json.loads(run_cli("status", "--json").stdout)["session"] == first
    run_cli("stop")
    assert len(run_cli("sessions", "--json").stdout.splitlines()) == 1


@pytest.mark.slow
def test_two_starts_at_once_open_one_session(run_cli, recorder_home):
    import shutil

    exe = shutil.which("recorder")
    procs = [
        subprocess.Popen([exe, "start"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(*p.communicate(timeout=60), p.returncode) for p in procs]
    codes = sorted(code for _, _, code in results)
    assert codes == [0, 1]
    winner = next(out.strip() for out, _, code in results if code == 0)
    loser_err = next(err for _, err, code in results if code == 1)
    assert f"already recording session {winner}" in loser_err
    run_cli("stop")
    assert len(run_cli("sessions", "--json").stdout.splitlines()) == 1


@pytest.mark.slow
def test_stale_pid_and_socket_files_are_cleaned(run_cli, recorder_home):
    lay = Layout(recorder_home)
    run_cli("config")  # creates the home
    lay.state.mkdir(parents=True, exist_ok=True)
    lay.pid_file.write_text("999999\n")
    lay.socket.write_text("")  # a leftover file where the socket was
    session = run_cli("start").stdout.strip()
    assert int(lay.pid_file.read_text()) != 999999
    assert json.loads(run_cli("status", "--json").stdout)["session"] == session
    run_cli("stop")


def test_user_errors_are_one_line_without_traceback(run_cli, recorder_home):
    for args in (
        ["stop"],
        ["task", "x"],
        ["show", "no-such-session"],
        ["start", "--watch", "/nonexistent/dir"],
    ):
        proc = run_cli(*args, check=False)
        assert proc.returncode != 0, args
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)
        assert proc.stderr.startswith("Error: ")


def test_corrupt_config_is_one_clear_line(run_cli, recorder_home):
    run_cli("config")
    (recorder_home / "config.toml").write_text("researcher_id = [unclosed\n")
    proc = run_cli("start", check=False)
    assert proc.returncode == 1
    assert "config.toml is not valid TOML" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_config_shows_values_and_their_sources(recorder_home, monkeypatch):
    runner = CliRunner()
    first = runner.invoke(cli, ["config", "--json"])
    assert first.exit_code == 0, first.output
    rid = json.loads(first.output)["researcher_id"]["value"]
    assert rid.startswith("r-")
    (recorder_home / "config.toml").write_text(
        f'researcher_id = "{rid}"\n[caps]\noutput_bytes = 1000\n'
    )
    monkeypatch.setenv("RECORDER_EPISODES_IDLE_GAP_MINUTES", "5")
    data = json.loads(runner.invoke(cli, ["config", "--json"]).output)
    assert data["researcher_id"]["value"] == rid
    assert data["caps.output_bytes"] == {
        "value": 1000,
        "source": str(recorder_home / "config.toml"),
    }
    assert data["episodes.idle_gap_minutes"]["value"] == 5
    assert data["episodes.idle_gap_minutes"]["source"] == "env RECORDER_EPISODES_IDLE_GAP_MINUTES"
    assert data["caps.file_bytes"]["source"] == "default"


def test_reading_commands_work_without_a_database(recorder_home):
    runner = CliRunner()
    result = runner.invoke(cli, ["sessions"])
    assert result.exit_code == 0
    assert "no sessions recorded yet" in result.output
    assert not (recorder_home / "recorder.duckdb").exists()
    result = runner.invoke(cli, ["show", "last"])
    assert result.exit_code == 1 and "no session matches" in result.output


def test_status_when_idle(recorder_home):
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 0
    assert result.output.startswith("not recording")
    assert os.environ["RECORDER_HOME"] == str(recorder_home)


def test_stop_without_a_daemon_drains_in_batches_of_the_configured_size(run_cli, recorder_home):
    run_cli("config")  # creates config.toml with the researcher id
    config = recorder_home / "config.toml"
    config.write_text(config.read_text() + "[caps]\ningest_batch_bytes = 16384\n")
    session = run_cli("start").stdout.strip()
    lay = Layout(recorder_home)
    os.kill(int(lay.pid_file.read_text()), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while WriterLock(lay.writer_lock).held_elsewhere() and time.monotonic() < deadline:
        time.sleep(0.02)
    backlog = command_lines(session, 1000)  # ~300 kB: about 20 batches of 16 kB
    shell_spool(lay).write_bytes(backlog)

    run_cli("stop")
    store = open_reader(lay)
    try:
        commands, exits, batches = store.execute(
            "SELECT count(*), count(exit_code), count(DISTINCT ingested_at) FROM events "
            "WHERE event_type = 'command'"
        ).fetchone()
    finally:
        store.close()
    assert commands == exits == 1000
    # Each transaction stamps its rows with one ingested_at: one value per batch.
    assert batches >= len(backlog) // 16384 - 1


@pytest.mark.slow
@pytest.mark.parametrize("target", ["a file", "nothing"])
def test_watching_what_is_not_a_directory_is_one_line_and_exit_1(run_cli, tmp_path, target):
    path = tmp_path / "plain.txt"
    if target == "a file":
        path.write_text("x\n")
    proc = run_cli("start", "--watch", str(path), check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"Error: cannot watch {path}: not a directory"]


@pytest.mark.parametrize("pattern", ["(unclosed", "a[b", "x{2,1}"])
def test_an_exclude_pattern_the_shell_cannot_compile_is_refused(run_cli, monkeypatch, pattern):
    # Bash's [[ =~ ]] matches nothing with a pattern it cannot compile: the command it was
    # meant to keep out would be recorded.
    monkeypatch.setenv("RECORDER_RECORD_EXCLUDE_COMMANDS", pattern)
    proc = run_cli("start", check=False)
    assert proc.returncode == 1
    assert "not a valid extended regular expression" in proc.stderr
    assert not Layout(Path(os.environ["RECORDER_HOME"])).recording_marker.exists()


@pytest.mark.slow
def test_status_after_a_clean_stop_reports_no_spool_lag(run_cli):
    run_cli("start")
    run_cli("task", "something")
    run_cli("stop")
    out = run_cli("status").stdout
    assert out.startswith("not recording")
    assert "spool lag" not in out


def test_text_that_is_not_utf8_is_recorded_visibly_not_refused(recorder_home, tmp_path):
    # Arguments are bytes: a Latin-1 name, task or note typed in a terminal is not UTF-8.
    # They are kept as the shell hooks keep such commands, the bad bytes shown as \xNN.
    exe = shutil.which("recorder")
    env = {**os.environ, "RECORDER_HOME": str(recorder_home)}

    def run(*args: bytes) -> subprocess.CompletedProcess:
        proc = subprocess.run([exe.encode(), *args], env=env, capture_output=True)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        return proc

    run(b"start", b"--name", b"caf\xe9 run")
    run(b"task", b"fix the r\xe9sum\xe9 parser")
    run(b"note", b"\xff\xfe odd bytes")
    run(b"stop")
    events = [
        json.loads(line) for line in run(b"show", b"last", b"--json").stdout.decode().splitlines()
    ]
    assert [e["text"] for e in events if e["source"] == "user"] == [
        "fix the r\\xe9sum\\xe9 parser",
        "\\xff\\xfe odd bytes",
    ]
    sessions = json.loads(run(b"sessions", b"--json").stdout.decode().splitlines()[0])
    assert sessions["name"] == "caf\\xe9 run"
