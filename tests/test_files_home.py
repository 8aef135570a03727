"""A watched repository under $HOME (as in the README): redaction rewrites its path in the
log (``~/repo``), and start-up recovery must still find every file's last state."""

from __future__ import annotations

import json

import pytest
from filekit import WatchedRepo, changes_of, wait_for_events
from logkit import log_sql, stored_blobs

from recorder.paths import layout

pytestmark = pytest.mark.slow  # end to end: daemons, a watched tree


def test_no_phantom_edits_at_the_next_start_under_home(tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    wr = WatchedRepo(tmp_path, run_cli)  # tmp_path/repo: under the home
    wr.start()
    (wr.repo / "f.py").write_text("a\nb\nc\nd = 2\n")
    wait_for_events(lambda rows: len(changes_of(rows)) == 1)
    (wr.repo / "f.py").rename(wr.repo / "g.py")
    wait_for_events(lambda rows: len(changes_of(rows)) == 2)
    (wr.repo / "README.md").unlink()
    rows = wr.stop()
    assert changes_of(rows) == [
        ("save", "f.py", None),
        ("rename", "g.py", "f.py"),
        ("delete", "README.md", None),
    ]
    assert {r["repo"] for r in rows if r["repo"]} == {"~/repo"}

    wr.start()
    rows = wr.stop()
    second = [r for r in rows if r["extra"].get("offline")]
    assert second == [], [(r["event_type"], r["path"]) for r in second]


def test_the_log_never_holds_the_absolute_home_path(tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    wr = WatchedRepo(tmp_path, run_cli)
    wr.start()
    (wr.repo / "f.py").write_text("a\nb\nc\nd = 2\n")
    wr.stop()
    wr.start()  # a second reconcile, against the first manifest
    wr.stop()
    home = str(tmp_path)
    events = log_sql(layout(), "SELECT * FROM events ORDER BY seq")
    assert len(events) >= 3
    for event in events:
        assert home not in json.dumps(event, default=str), event
    assert not any(home.encode() in blob for blob in stored_blobs(layout()))
