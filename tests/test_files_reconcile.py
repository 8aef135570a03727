"""Changes made while no daemon ran are found at the next start, with exact diffs."""

from __future__ import annotations

import os
import signal

import pytest
from filekit import (
    WatchedRepo,
    changes_of,
    collector_status,
    file_events,
    wait_ready,
)
from waitkit import wait_until

from recorder.paths import layout
from recorder.spool import producer_alive

pytestmark = pytest.mark.slow  # end to end: daemons started, stopped and killed


def offline(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["extra"].get("offline")]


def test_changes_while_stopped_are_reconciled(tmp_path, run_cli):
    wr = WatchedRepo(tmp_path, run_cli)
    wr.start()
    (wr.repo / "f.py").write_text("a\nB\nc\n")  # live
    rows = wr.stop()
    assert changes_of(rows) == [("save", "f.py", None)]
    first = [r for r in rows if r["event_type"] == "reconcile"]
    assert len(first) == 1 and first[0]["extra"]["baseline"] is True

    (wr.repo / "f.py").write_text("a\nB\nc\nd\n")
    (wr.repo / "new.py").write_text("n = 1\n")
    (wr.repo / "README.md").unlink()
    (wr.repo / "unchanged.txt").write_text("x\n")
    (wr.repo / "unchanged.txt").unlink()  # came and went while stopped: nothing to say

    status = wr.start()
    assert status["reconciled"] == 3
    rows = wr.stop()
    found = offline(rows)
    assert sorted(changes_of(found)) == [
        ("create", "new.py", None),
        ("delete", "README.md", None),
        ("save", "f.py", None),
    ]
    save = next(r for r in found if r["path"] == "f.py")
    # Against the last recorded state (the live save), not the state at the first start.
    assert save["diff"] == "--- a/f.py\n+++ b/f.py\n@@ -1,3 +1,4 @@\n a\n B\n c\n+d\n"
    summary = [r for r in rows if r["event_type"] == "reconcile"][-1]
    assert summary["extra"]["baseline"] is False
    assert summary["extra"]["counts"] == {"save": 1, "create": 1, "delete": 1}
    assert {r["extra"]["reconcile_id"] for r in found} == {summary["extra"]["reconcile_id"]}

    # A third start with nothing changed reports nothing.
    wr.start()
    rows = wr.stop()
    assert len(offline(rows)) == 3
    assert [r for r in rows if r["event_type"] == "reconcile"][-1]["extra"]["counts"] == {}


def test_after_a_crash_nothing_is_reported_twice(tmp_path, run_cli):
    wr = WatchedRepo(tmp_path, run_cli)
    wr.start()
    (wr.repo / "f.py").write_text("a\nB\nc\n")
    # Spooled (perhaps not yet ingested).
    wait_until(lambda: collector_status()["events"] >= 1, what="the live save")
    pid = int(layout().pid_file.read_text())
    os.kill(pid, signal.SIGKILL)  # the live save may still be only in the spool
    wait_until(lambda: not producer_alive(pid), what="the daemon to die")
    (wr.repo / "f.py").write_text("a\nB\nC\n")
    # The session still records: `start` says so (exit 1) and restarts the daemon.
    proc = run_cli("start", "--watch", str(wr.repo), check=False)
    assert "restarted" in proc.stderr
    wait_ready()
    rows = wr.stop()
    assert changes_of(rows) == [("save", "f.py", None), ("save", "f.py", None)]
    live, found = [r for r in rows if r["event_type"] == "save"]
    assert not live["extra"].get("offline") and found["extra"]["offline"]
    assert found["diff"] == "--- a/f.py\n+++ b/f.py\n@@ -1,3 +1,3 @@\n a\n B\n-c\n+C\n"
    assert found["hash_before"] == live["hash_after"]


def test_many_offline_changes_are_listed_in_the_summary(tmp_path, run_cli):
    wr = WatchedRepo(tmp_path, run_cli)
    wr.start()
    wr.stop()
    for i in range(80):
        (wr.repo / f"gen{i:02d}.txt").write_text(f"{i}\n")
    wr.start()
    rows = wr.stop()
    assert offline(rows) == []  # more than record.burst_files: one summary, no flood
    summary = [r for r in rows if r["event_type"] == "reconcile"][-1]
    assert summary["extra"]["counts"] == {"create": 80}
    assert len(summary["extra"]["changes"]) == 80
    assert len(file_events(("reconcile",))) == 2
