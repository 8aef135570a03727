"""A daemon killed while it ingests loses nothing and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal

import pytest
from logkit import log_sql
from spoolkit import command_lines, shell_spool
from waitkit import wait_until

from recorder import client
from recorder.errors import RequestRefused
from recorder.eventlog import open_log
from recorder.paths import Layout

pytestmark = pytest.mark.slow  # end to end: daemons killed and restarted

COMMANDS = 20_000  # 40,000 spool lines, ~6 MB: about 24 transactions of BATCH_BYTES
BATCH_BYTES = 256 * 1024


def count_commands(lay: Layout) -> tuple[int, int, int]:
    row = log_sql(
        lay,
        "SELECT count(*) AS n, count(DISTINCT cmd_seq) AS d, count(exit_code) AS e "
        "FROM events WHERE event_type = 'command'",
    )[0]
    return row["n"], row["d"], row["e"]


def test_sigkill_during_ingest_then_restart(run_cli, recorder_home, monkeypatch):
    # Small transactions, so that the kill lands between two of them.
    monkeypatch.setenv("RECORDER_CAPS_INGEST_BATCH_BYTES", str(BATCH_BYTES))
    session = run_cli("start").stdout.strip()
    lay = Layout(recorder_home)
    pid = int(lay.pid_file.read_text())
    # Stop the daemon from ingesting while the backlog is written, then let it go.
    os.kill(pid, signal.SIGSTOP)
    shell_spool(lay).write_bytes(command_lines(session, COMMANDS))
    os.kill(pid, signal.SIGCONT)

    seen = wait_until(
        lambda: count_commands(lay)[0], timeout=120, interval=0.02, what="a first transaction"
    )
    os.kill(pid, signal.SIGKILL)
    assert 0 < seen < COMMANDS, f"kill landed outside the ingest ({seen} of {COMMANDS})"

    # A restart finds the session still recording, restarts the daemon, which ingests the rest.
    again = run_cli("start", check=False)
    assert "daemon had stopped; restarted it" in again.stderr
    run_cli("stop")
    assert count_commands(lay) == (COMMANDS, COMMANDS, COMMANDS)
    st = json.loads(run_cli("status", "--json").stdout)
    assert st["backlog_bytes"] == 0


def test_stop_without_a_daemon_drains_the_spool(run_cli, recorder_home):
    session = run_cli("start").stdout.strip()
    lay = Layout(recorder_home)
    pid = int(lay.pid_file.read_text())
    os.kill(pid, signal.SIGKILL)
    shell_spool(lay).write_bytes(command_lines(session, 500))
    proc = run_cli("stop")
    assert session in proc.stdout
    assert count_commands(lay) == (500, 500, 500)


ATTACKS = [
    "DELETE FROM events",
    "UPDATE events SET command = 'x'",
    "WITH x AS (SELECT 1) DELETE FROM events",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "COPY events TO '{tmp}/leak.csv'",
    "PRAGMA enable_profiling",
    "SELECT 1; DROP TABLE events",
    "SELECT count(*) FROM events",
]


def _raw_request(lay: Layout, message: dict) -> dict:
    """One request line sent to the daemon's socket as any local program could."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(lay.socket))
        sock.sendall(json.dumps(message).encode() + b"\n")
        return json.loads(sock.makefile("rb").readline())


def test_the_socket_serves_named_reads_only(run_cli, recorder_home, tmp_path):
    run_cli("start")
    run_cli("task", "keep me")
    lay = Layout(recorder_home)
    client.call(lay, "flush")
    before = log_sql(lay, "SELECT * FROM events ORDER BY seq")
    for sql in (attack.format(tmp=tmp_path) for attack in ATTACKS):
        for message in (
            {"op": "query", "sql": sql, "params": []},
            {"op": "sql", "sql": sql},
            {"op": "read", "name": sql, "args": {}},
            {"op": "read", "name": "sessions", "args": {"where": sql}},
            {"op": "read", "name": "event", "args": {"event_id": {"sql": sql}}},
        ):
            reply = _raw_request(lay, message)
            assert reply["ok"] is False, (message, reply)
    with pytest.raises(RequestRefused):
        client.read(lay, "DELETE FROM events", {})
    assert not (tmp_path / "leak.csv").exists() and not (tmp_path / "other.duckdb").exists()
    assert log_sql(lay, "SELECT * FROM events ORDER BY seq") == before
    with open_log(lay) as log:
        assert [s["events"] for s in log.sessions()] == [len(before)]
    run_cli("stop")
    texts = [
        json.loads(line)["text"] for line in run_cli("show", "last", "--json").stdout.splitlines()
    ]
    assert texts == ["keep me"]
