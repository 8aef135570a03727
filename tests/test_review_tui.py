"""`recorder review`, driven headless with Textual's Pilot over a log the real CLI and daemon
recorded from a real bash: what it shows (the rows as exported, safely), its navigation,
and the changes it queues and applies (checked in the log, the audit table, an export and
the file's bytes)."""

from __future__ import annotations

import asyncio

import pytest
from logkit import log_sql
from reviewkit import (
    CODENAME,
    MARKUP,
    OTHER,
    TOKEN,
    Review,
    record_review_session,
)
from sessionkit import SessionScript, export_rows

from recorder.review import lines
from recorder.review.tui import ReviewApp

pytestmark = pytest.mark.slow  # real shells in tmux, daemons


def review(lay, ref, body, size=(150, 40)):
    """Run ``body(Review)`` inside the app opened on ``ref``."""

    async def main():
        app = ReviewApp(lay, ref)
        async with app.run_test(size=size) as pilot:
            await body(Review(app, pilot))

    asyncio.run(main())


def test_the_timeline_shows_the_export_safely_and_navigates(lab, run_cli, lay, tmp_path):
    session = record_review_session(lab, run_cli, lay)

    async def body(r: Review):
        await r.ready()
        lines = r.lines()
        text = "\n".join(lines)
        # Episodes as the export numbers them, each with its task.
        assert [line for line in lines if line.startswith("── episode")] == [
            "── episode 0 (4 steps) tune the learning rate",
            "── episode 1 (1 step) colour ␛[31mred␛[0m check",
        ]
        # The rows after redaction: the token is a placeholder naming its rule.
        assert TOKEN not in text and "<SECRET:github-token:" in text
        # Markup and emoji codes are text; escape sequences are shown, never sent.
        assert MARKUP in text and "\x1b" not in text
        r.save("timeline", tmp_path)
        # j/k, G/g move; / searches the exported text.
        await r.press("G", "g")
        assert r.cursor_line().startswith("── episode 0")
        await r.press("j")
        assert 'recorder task "tune the learning rate"' in r.cursor_line()
        await r.go_to("alpha-step")
        assert "$ echo alpha-step  [exit 0]" in r.cursor_line()
        assert "exit 0" in r.detail()
        # n steps through the findings queue (the token's row), its rule in the detail.
        await r.press("escape", "n")
        assert "<SECRET:github-token:" in r.cursor_line()
        assert "github-token (provider-token)" in r.detail()
        r.save("finding", tmp_path)
        await r.press("G")
        assert "$ false  [exit 1]" in r.cursor_line()
        assert "github-token 1" in r.summary() and "shell" in r.summary()

    review(lay, session, body)


def test_drop_redact_task_and_approve_through_the_app(lab, run_cli, lay, tmp_path):
    session = record_review_session(lab, run_cli, lay)

    async def body(r: Review):
        await r.ready()
        # x queues a drop, u takes it back before it is applied, x again queues it.
        await r.go_to("alpha-step")
        await r.press("x")
        assert len(r.screen.queue) == 1 and "drop 1 event" in r.summary()
        await r.press("k", "u")
        assert len(r.screen.queue) == 0
        await r.press("x")
        assert "✗" in r.lines()[r.screen.timeline.cursor - 1]
        # Select a code name in the detail pane, r, s: a redaction of this session.
        await r.go_to(CODENAME)
        await r.select_in_detail(CODENAME)
        await r.press("r")
        r.save("redact", tmp_path)
        await r.press("s")
        # ... and another one as a rule for every session (e).
        await r.select_in_detail(OTHER)
        await r.press("r", "e")
        assert [c.all_sessions for c in r.screen.queue.redactions()] == [False, True]
        # t on an episode: its task text.
        await r.press("escape", "g", "t")
        await r.press(*["backspace"] * 40, *"tune the optimiser", "enter")
        assert "tune the optimiser" in r.lines()[0]
        r.save("queued", tmp_path)
        # a applies everything queued, then approves.
        await r.press("a")
        await r.wait_applied(5)
        text = "\n".join(r.lines())
        assert "alpha-step" not in text and CODENAME not in text and OTHER not in text
        assert "tune the optimiser" in r.lines()[0]
        r.save("applied", tmp_path)

    review(lay, session, body)

    from recorder.eventlog import open_log
    from recorder.review.approval import review_state

    with open_log(lay) as log:
        assert review_state(log, session) == "approved"
    logged = log_sql(lay, "SELECT command, text FROM events")
    assert not any("alpha-step" in (e["command"] or "") for e in logged)
    assert not any(CODENAME in str(e) or OTHER in str(e) for e in logged)
    tables = export_rows(lay, tmp_path / "export")
    assert tables["episodes"][0]["task"] == "tune the optimiser"
    assert CODENAME not in str(tables) and OTHER not in str(tables)
    assert "echo alpha-step" not in str(tables)
    audit = _audit_rows(lay)
    assert len(audit) >= 4 and CODENAME not in str(audit) and OTHER not in str(audit)
    data = lay.database.read_bytes()
    assert CODENAME.encode() not in data and OTHER.encode() not in data
    # The rule for every session applies to a session recorded later.
    later = SessionScript(lay, session="S-later")
    later.command(f"echo {OTHER}", output=f"{OTHER}\n").end().ingest()
    assert OTHER not in str(export_rows(lay, tmp_path / "later", include_unapproved=True))


def _audit_rows(lay) -> list[dict]:
    from recorder.store import open_reader

    store = open_reader(lay)
    try:
        tables = [
            r["table_name"]
            for r in store.arrow("SELECT table_name FROM duckdb_tables()").to_pylist()
            if "audit" in r["table_name"]
        ]
        assert tables, "no audit table in the log"
        return store.arrow(f"SELECT * FROM {tables[0]}").to_pylist()
    finally:
        store.close()


def test_a_live_session_stays_still_and_cannot_be_approved(lab, run_cli, lay):
    session = record_review_session(lab, run_cli, lay, stop=False)

    async def body(r: Review):
        await r.ready()
        before = r.lines()
        await r.press("a")
        assert not r.screen.applied and "recording" in str(r.screen.query_one("#title").render())
        # The daemon ingests more while the review is open: the view does not move.
        sh = lab.spawn("bash")
        sh.run("echo after-open")
        from commandkit import wait_commands

        wait_commands(lay, 8)
        await r.press("G", "g")
        assert r.lines() == before and "after-open" not in "\n".join(r.lines())

    review(lay, session, body)
    from recorder.eventlog import open_log
    from recorder.review.approval import review_state

    with open_log(lay) as log:
        assert review_state(log, session) == "recording"
    run_cli("stop")


def test_the_sessions_list_shows_review_states(lab, run_cli, lay, tmp_path):
    session = record_review_session(lab, run_cli, lay)

    async def body(r: Review):
        from textual.widgets import DataTable

        await r.pilot.pause()
        table = r.screen.query_one(DataTable)
        row = [str(c) for c in table.get_row(session)]
        assert row[0] == "unreviewed" and row[2] == "review-demo"
        r.save("sessions", tmp_path)
        await r.press("enter")
        await r.ready()
        assert any("tune the learning rate" in line for line in r.lines())
        await r.press("q")
        assert r.screen.query_one(DataTable) is not None

    review(lay, None, body)


@pytest.mark.parametrize("idle_gap", [10.0])
def test_the_review_numbers_episodes_as_the_export_does(lay, tmp_path, idle_gap):
    s = SessionScript(lay)
    s.command("make", exit=0).command("pytest", exit=1).wait(1200)  # an idle gap
    s.command("ls").task("second").command("git status").command("recorder task x")
    s.save("src/a.py").end().ingest()

    from recorder.review.scan import scan_session
    from recorder.review.tui import export_redactor
    from recorder.review.view import BriefLog, ExportView, open_snapshot

    view = ExportView(
        BriefLog(lay), open_snapshot(BriefLog(lay), "S1"), export_redactor(lay), 65536
    )
    index = scan_session(view, idle_gap, 10_000, 8000)
    exported = export_rows(lay, tmp_path / "out", include_unapproved=True)["episodes"]
    assert [(e.index, e.task, e.num_steps, list(e.kinds)) for e in index.episodes] == [
        (e["episode_index"], e["task"], e["num_steps"], e["task_kinds"]) for e in exported
    ]
    assert len(index.episodes) == 3


def test_the_review_shows_each_episodes_task_kinds_as_the_export_labels_them(lay, tmp_path):
    s = SessionScript(lay)
    s.task("episode one").command("git log --oneline").command("git diff").command("git show")
    s.task("episode two").command("pytest", exit=1).save("src/a.py").command("pytest")
    s.end().ingest()

    from recorder.review.scan import scan_session
    from recorder.review.tui import export_redactor
    from recorder.review.view import BriefLog, ExportView, open_snapshot

    view = ExportView(
        BriefLog(lay), open_snapshot(BriefLog(lay), "S1"), export_redactor(lay), 65536
    )
    index = scan_session(view, 10.0, 10_000, 8000)
    exported = export_rows(lay, tmp_path / "out", include_unapproved=True)["episodes"]
    assert [list(e.kinds) for e in index.episodes] == [e["task_kinds"] for e in exported]
    assert [list(e.kinds) for e in index.episodes] == [["review"], ["debug"]]
    header = lines.header_line(1, "episode two", 3, False, index.episodes[1].kinds).plain
    assert "[debug]" in header
