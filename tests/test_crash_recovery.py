"""A daemon killed while it ingests loses nothing and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal

import pytest
from spoolkit import command_lines, shell_spool
from waitkit import wait_until

from recorder import client
from recorder.paths import Layout

pytestmark = pytest.mark.slow  # end to end: daemons killed and restarted

COMMANDS = 150_000  # 300,000 spool lines, ~45 MB: several ingest chunks


def count_commands(lay: Layout) -> tuple[int, int, int]:
    with client.reader(lay) as r:
        row = r.arrow(
            "SELECT count(*) AS n, count(DISTINCT cmd_seq) AS d, count(exit_code) AS e "
            "FROM events WHERE event_type = 'command'"
        ).to_pylist()[0]
    return row["n"], row["d"], row["e"]


def test_sigkill_during_ingest_then_restart(run_cli, recorder_home, monkeypatch):
    # Small transactions, so that the kill lands between two of them.
    monkeypatch.setenv("RECORDER_CAPS_INGEST_BATCH_BYTES", str(2 * 1024 * 1024))
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


def test_the_socket_serves_reads_only(run_cli, recorder_home):
    import pytest

    from recorder.errors import DaemonError

    run_cli("start")
    run_cli("task", "keep me")
    lay = Layout(recorder_home)
    with pytest.raises(DaemonError, match="only single read-only queries"):
        client.query(lay, "DELETE FROM events")
    with pytest.raises(DaemonError, match="only single read-only queries"):
        client.query(lay, "SELECT 1; DROP TABLE events")
    client.call(lay, "flush")
    assert client.query(lay, "SELECT count(*) AS n FROM sessions").column("n")[0].as_py() == 1
    run_cli("stop")
    texts = [
        json.loads(line)["text"] for line in run_cli("show", "last", "--json").stdout.splitlines()
    ]
    assert texts == ["keep me"]
