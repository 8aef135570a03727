"""Retention: `recorder prune` and `record.retention_days`, on a real log and daemon."""

from __future__ import annotations

import json
import time

import pytest
from sessionkit import SessionScript
from test_privacy_at_rest import leaks
from waitkit import wait_until

from recorder.eventlog import Search, open_log

DAY = 86400
OLD_WORD = "quillrafter5512dusk"  # only in the old session's command and output


def aged_sessions(lay) -> None:
    """Sessions that ended 40 and 10 days ago, and one of today."""
    now = time.time()
    old = SessionScript(lay, "S-40d", t0=now - 40 * DAY, name="forty")
    old.command(f"echo {OLD_WORD}", output=f"{OLD_WORD}\n").end().ingest()
    SessionScript(lay, "S-10d", t0=now - 10 * DAY, name="ten").command("ls").end().ingest()
    SessionScript(lay, "S-now", t0=now - 60, name="now").command("pwd").end().ingest()


def session_ids(lay) -> list[str]:
    with open_log(lay) as log:
        return [s["session_id"] for s in log.sessions()]


def test_a_dry_run_lists_and_deletes_nothing(lay, run_cli):
    aged_sessions(lay)
    cutoff = time.strftime("%Y-%m-%d", time.localtime(time.time() - 20 * DAY))
    out = run_cli("prune", "--before", cutoff, "--dry-run").stdout.splitlines()
    assert out[0].startswith("S-40d  ended ") and out[0].endswith("  1 events")
    assert out[-1].startswith("would prune 1 session(s) ended before ")
    assert session_ids(lay) == ["S-40d", "S-10d", "S-now"]


def test_prune_removes_old_sessions_and_their_bytes(lay, run_cli):
    aged_sessions(lay)
    assert leaks(lay.home, [OLD_WORD]), "the old session's text is on disk to be found"
    cutoff = time.strftime("%Y-%m-%d", time.localtime(time.time() - 5 * DAY))
    proc = run_cli("prune", "--before", cutoff)
    assert proc.stdout.startswith("pruned 2 session(s) ended before ")
    assert proc.stdout.rstrip().endswith("(2 event(s))")
    assert session_ids(lay) == ["S-now"]
    assert leaks(lay.home, [OLD_WORD]) == {}
    with open_log(lay) as log:
        audited = [(a["session_id"], a["action"]) for a in log.audit()]
    assert audited == [("S-40d", "prune"), ("S-10d", "prune")]


def test_a_recording_session_is_never_pruned(lay, run_cli):
    sid = run_cli("start").stdout.strip()
    try:
        tomorrow = time.strftime("%Y-%m-%d", time.localtime(time.time() + DAY))
        assert run_cli("prune", "--before", tomorrow).stdout.startswith("pruned 0 session(s)")
        assert session_ids(lay) == [sid]
    finally:
        run_cli("stop")


def test_bad_input_is_one_line(lay, run_cli):
    for args, message in (
        (
            [],
            "prune: give --before DATE or --exported, or set record.retention_days in config.toml",
        ),
        (["--before", "soon"], "--before 'soon' is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM"),
    ):
        proc = run_cli("prune", *args, check=False)
        assert proc.returncode == 1
        assert proc.stderr.strip().splitlines() == [f"Error: {message}"]


@pytest.mark.slow
def test_the_daemon_applies_retention_days(lay, run_cli):
    aged_sessions(lay)
    with open(lay.config, "a") as fh:
        fh.write("\n[record]\nretention_days = 30\n")
    assert json.loads(run_cli("config", "--json").stdout)["record.retention_days"]["value"] == 30
    run_cli("start")
    try:
        wait_until(lambda: "S-40d" not in session_ids(lay), what="the retention")
        assert session_ids(lay)[:2] == ["S-10d", "S-now"]
        assert leaks(lay.home, [OLD_WORD]) == {}
        status = json.loads(run_cli("status", "--json").stdout)
        ten_days = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 10 * DAY))
        assert status["oldest_session_at"].startswith(ten_days)
        assert status["database_bytes"] >= 12288  # DuckDB's smallest file: its headers
        shown = run_cli("status").stdout
        assert f"oldest session {ten_days}" in shown and "log: " in shown
        # Without --before, prune uses the setting too.
        assert run_cli("prune", "--dry-run").stdout.startswith("would prune 0 session(s)")
    finally:
        run_cli("stop")


@pytest.mark.slow
def test_reads_through_the_daemon_never_meet_the_compaction(lay, run_cli):
    # Each prune rewrites the file and reopens the writer's connection; the socket's reads
    # run meanwhile in other threads, and must wait for the new connection, not fail.
    import threading

    from recorder.review.changes import Prune, apply_changes

    now = time.time()
    for k in range(6):
        SessionScript(lay, f"S-{k}", t0=now - (30 - k) * DAY).command("ls").end().ingest()
    run_cli("start")
    try:
        errors: list[BaseException] = []
        done = threading.Event()

        def read_all_the_time() -> None:
            while not done.is_set():
                try:
                    with open_log(lay) as log:
                        log.sessions()
                        log.search(Search(text="ls"))
                except BaseException as exc:  # the assertion below shows it
                    errors.append(exc)
                    return

        readers = [threading.Thread(target=read_all_the_time) for _ in range(3)]
        for reader in readers:
            reader.start()
        for k in range(6):
            apply_changes(lay, [Prune(int((now - (29.5 - k) * DAY) * 1e6))])
        done.set()
        for reader in readers:
            reader.join()
        assert errors == []
        assert not [s for s in session_ids(lay) if s.startswith("S-")]
    finally:
        run_cli("stop")


def test_prune_exported_deletes_only_what_left_as_approved(lay, run_cli, tmp_path):
    aged_sessions(lay)  # S-40d, S-10d, S-now: all ended
    run_cli("approve", "S-40d")
    run_cli("approve", "S-10d")
    run_cli("export", "--out", str(tmp_path / "out"), "--quiet")  # writes both approved ones
    # S-10d changes after its export and is approved again: its new rows never left.
    run_cli("task", "--episode", "0", "a better task", "--session", "S-10d")
    run_cli("approve", "S-10d")
    out = run_cli("prune", "--exported", "--dry-run").stdout.splitlines()
    assert [line.split()[0] for line in out[:-1]] == ["S-40d"]
    assert out[-1] == "would prune 1 exported session(s)"
    proc = run_cli("prune", "--exported")
    assert proc.stdout.strip() == "pruned 1 exported session(s) (1 event(s))"
    assert session_ids(lay) == ["S-10d", "S-now"]
    assert leaks(lay.home, [OLD_WORD]) == {}
    run_cli("export", "--out", str(tmp_path / "again"), "--quiet")
    assert run_cli("prune", "--exported", "--dry-run").stdout.splitlines()[0].startswith("S-10d")
