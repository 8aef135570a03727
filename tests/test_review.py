"""The review step's backend (#15): approvals and what voids them, the export's gate, drops,
redactions and forgets that leave no byte behind, the audit, and safe display.

Everything runs through the installed CLI (or ``apply_changes``) on a real DuckDB file,
with and without a running daemon.
"""

from __future__ import annotations

import json
import time

import pytest
from logkit import log_sql
from sessionkit import SessionScript
from test_privacy_at_rest import leaks

from recorder.eventlog import open_log
from recorder.recording import wait_until_ingested
from recorder.review.approval import review_state
from recorder.review.changes import DropEvents, Forget, RedactText, SetTask, apply_changes
from recorder.store import WriterLock, open_writer

# Not a shape any built-in rule knows: only the review can remove it.
SECRET = "zqmellow7731harbor"
OTHER = "plumvault2294quiet"


def finished(lay, session="S1", t0=None, **kw) -> SessionScript:
    s = SessionScript(lay, session=session, **({"t0": t0} if t0 else {}), **kw)
    s.command(f"deploy --key {SECRET}", output=f"using {SECRET}\n")
    s.save("app.py", diff=f"--- a/app.py\n+++ b/app.py\n+KEY = '{OTHER}'\n")
    s.task("fix the tests").command("pytest", exit=1, output="1 failed\n").command("pytest")
    return s.end().ingest()


def state(lay, sid="S1") -> str:
    with open_log(lay) as log:
        return review_state(log, sid, lay)


def events(lay, sid="S1") -> list[dict]:
    return log_sql(lay, "SELECT * FROM events WHERE session_id = ? ORDER BY ts_start, seq", [sid])


def export_cli(run_cli, out, *args, check=False):
    return run_cli("export", "--out", str(out), "--quiet", *args, check=check)


# -- approval and what voids it -------------------------------------------------------


def add_config_literal(lay, word: str) -> None:
    with open(lay.config, "a") as fh:
        fh.write(f'\n[redaction]\nliterals = ["{word}"]\n')


def _since_last(lay) -> float:
    """Seconds from the session's last event to now, and a little: the window holding it."""
    (row,) = log_sql(lay, "SELECT max(epoch_us(ts_start)) AS t FROM events")
    return time.time() - row["t"] / 1e6 + 0.5


CHANGES = {
    "drop": lambda lay: apply_changes(lay, [DropEvents("S1", episode=1)]),
    "redact": lambda lay: apply_changes(lay, [RedactText("S1", literal=SECRET)]),
    "redact-all": lambda lay: apply_changes(
        lay, [RedactText(None, regex="pytest", all_sessions=True)]
    ),
    "task": lambda lay: apply_changes(lay, [SetTask("S1", 0, "set up the deploy")]),
    "forget-window": lambda lay: apply_changes(lay, [Forget("S1", last_s=_since_last(lay))]),
    "config-rule": lambda lay: add_config_literal(lay, OTHER),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_an_approval_is_voided_by_each_kind_of_later_change(lay, run_cli, tmp_path, change):
    finished(lay)
    assert state(lay) == "unreviewed"
    reply = json.loads(run_cli("approve", "S1", "--json").stdout)
    assert reply["session_id"] == "S1" and len(reply["content_hash"]) == 64
    assert state(lay) == "approved"
    CHANGES[change](lay)
    assert state(lay) == "needs review"
    listed = [json.loads(line) for line in run_cli("sessions", "--json").stdout.splitlines()]
    assert [row["review"] for row in listed] == ["needs review"]
    proc = export_cli(run_cli, tmp_path / "out")
    assert proc.returncode == 1 and not (tmp_path / "out").exists()
    if change == "config-rule":  # no audit row: found by recomputing the rows
        assert "the rule set changed since its approval" in proc.stderr
    else:
        assert "no approved session to export: S1 (needs review)" in proc.stderr
    run_cli("approve", "S1")
    assert state(lay) == "approved"
    assert export_cli(run_cli, tmp_path / "again", check=True).returncode == 0


def test_a_rule_that_changes_no_row_keeps_the_approval(lay, run_cli):
    finished(lay)
    run_cli("approve", "S1")
    add_config_literal(lay, "wordnotinthesession")
    assert state(lay) == "approved"


def test_export_writes_only_approved_sessions_and_lists_their_approvals(lay, run_cli, tmp_path):
    finished(lay, "S1")
    finished(lay, "S2", t0=1_764_100_000.0)
    approval = json.loads(run_cli("approve", "S2", "--json").stdout)
    proc = export_cli(run_cli, tmp_path / "out", check=True)
    assert "skipped session S1: unreviewed (not approved)" in proc.stderr
    info = json.loads((tmp_path / "out" / "meta" / "info.json").read_text())
    assert [s["session_id"] for s in info["sessions"]] == ["S2"]
    assert info["approvals"] == [approval]
    assert info["approval_hashes"] == [approval["content_hash"]]
    card = (tmp_path / "out" / "README.md").read_text()
    assert "## Approvals" in card and approval["content_hash"][:16] in card
    both = export_cli(run_cli, tmp_path / "both", "--include-unapproved", check=True)
    assert "skipped" not in both.stderr
    info = json.loads((tmp_path / "both" / "meta" / "info.json").read_text())
    assert [s["session_id"] for s in info["sessions"]] == ["S1", "S2"]
    assert [a["session_id"] for a in info["approvals"]] == ["S2"]


def tamper(lay, sql: str) -> None:
    lock = WriterLock(lay.writer_lock)
    assert lock.acquire()
    store = open_writer(lay)
    try:
        store.execute(sql)
    finally:
        store.close()
        lock.release()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE approvals SET content_hash = repeat('0', 64)",
        "UPDATE events SET command = 'pytest -x' WHERE command = 'pytest'",
    ],
    ids=["hash-edited", "rows-changed"],
)
def test_export_refuses_a_tampered_approval(lay, run_cli, tmp_path, sql):
    finished(lay)
    run_cli("approve", "S1")
    tamper(lay, sql)
    assert state(lay) == "approved"  # nothing the review did: only the export can tell
    proc = export_cli(run_cli, tmp_path / "out")
    assert proc.returncode == 1
    assert "S1: its rows are not the rows approved" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial-*"))


def test_a_recording_session_cannot_be_approved(lay, run_cli, session):
    proc = run_cli("approve", session, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"Error: session {session} is still recording: stop it (`recorder stop`) before "
        "approving it"
    ]
    with open_log(lay) as log:
        assert log.approvals() == []
        assert review_state(log, session) == "recording"


# -- changes are real ------------------------------------------------------------------


def test_forget_last_10m_removes_exactly_that_window(lay, run_cli):
    t0 = time.time() - 40 * 60
    s = SessionScript(lay, t0=t0)
    for minute in (5, 15, 25, 33, 38):  # ages 35, 25, 15, 7 and 2 minutes
        s.now = minute * 60.0
        s.command(f"step-{minute}", gap=0.0, duration=1.0)
    s.end(gap=0.0).ingest()
    proc = run_cli("forget", "--last", "10m")
    assert proc.stdout.strip() == "forgot 2 event(s) of the last 10m"
    assert [e["command"] for e in events(lay)] == ["step-5", "step-15", "step-25"]
    with open_log(lay) as log:
        (row,) = [a for a in log.audit() if a["action"] == "forget"]
    assert row["session_id"] == "S1" and row["rows_affected"] == 2
    assert row["target"].startswith("window:")


def planted_session(lay, sid: str) -> None:
    s = SessionScript(lay, session=sid, t0=time.time() - 60)
    s.command(f"echo {SECRET}", output=f"{SECRET}\n").command(f"export TOKEN_HINT={OTHER}")
    s.command("make test")


@pytest.mark.parametrize("daemon", [True, False], ids=["daemon", "no-daemon"])
def test_drop_and_redact_leave_no_byte_of_the_text_under_the_home(lay, run_cli, tmp_path, daemon):
    sid = run_cli("start", "--name", "planted").stdout.strip()
    planted_session(lay, sid)
    assert wait_until_ingested(lay)
    if not daemon:
        run_cli("stop")
    assert leaks(lay.home, [SECRET, OTHER]), "the planted text is on disk to be found"
    run_cli("redact", sid, "--literal", SECRET)
    assert not leaks(lay.home, [SECRET])
    (holder,) = [e for e in events(lay, sid) if OTHER in (e["command"] or "")]
    assert run_cli("drop", sid, "--event", holder["event_id"]).stdout.startswith("dropped 1 ")
    assert leaks(lay.home, [SECRET, OTHER]) == {}
    commands = [e["command"] for e in events(lay, sid) if e["event_type"] == "command"]
    assert commands[0].startswith("echo <SECRET:review-") and commands[1:] == ["make test"]
    with open_log(lay) as log:
        audit = log.audit(sid)
    assert [(a["action"], a["rows_affected"]) for a in audit] == [("redact", 1), ("drop", 1)]
    assert audit[0]["rule"].startswith("review-") and SECRET not in json.dumps(audit, default=str)
    if daemon:
        run_cli("stop")
        assert leaks(lay.home, [SECRET, OTHER]) == {}


def test_redact_all_sessions_is_a_rule_for_future_ingest_kept_as_a_keyed_hash(lay, run_cli):
    finished(lay, "S1")
    proc = run_cli("redact", "--all-sessions", "--literal", SECRET)
    assert "a rule for every session from now on" in proc.stdout
    rules = json.loads((lay.home / "review-rules.json").read_text())["rules"]
    assert [r["kind"] for r in rules] == ["literal"]
    assert SECRET not in json.dumps(rules)
    finished(lay, "S2", t0=1_764_100_000.0)  # recorded after: redacted at ingest
    for sid in ("S1", "S2"):
        texts = json.dumps([e["command"] for e in events(lay, sid)])
        assert SECRET not in texts and "<SECRET:review-" in texts
    assert not leaks(lay.home, [SECRET])
    with open_log(lay) as log:
        rule_rows = [a for a in log.audit() if a["action"] == "rule"]
    assert len(rule_rows) == 1 and rule_rows[0]["session_id"] is None


def test_a_literal_that_is_part_of_a_longer_word_is_left_alone(lay):
    finished(lay)
    apply_changes(lay, [RedactText(None, literal="mellow", all_sessions=True)])
    # "mellow" sits inside a longer word only: nothing to redact, and the rule agrees
    assert any(SECRET in (e["command"] or "") for e in events(lay))


def test_changes_of_one_call_apply_in_one_transaction(lay):
    finished(lay)
    with pytest.raises(Exception, match="episode"):
        apply_changes(lay, [RedactText("S1", literal=SECRET), DropEvents("S1", episode=99)])
    assert any(SECRET in (e["command"] or "") for e in events(lay))  # rolled back


def test_set_task_text_is_what_the_export_writes(lay, run_cli, tmp_path):
    finished(lay)
    run_cli("task", "--episode", "0", "--session", "S1", "set up the deploy")
    run_cli("approve", "S1")
    export_cli(run_cli, tmp_path / "out", "--format", "jsonl", check=True)
    (path,) = (tmp_path / "out" / "episodes").rglob("*.jsonl")
    episodes = [json.loads(line) for line in path.read_text().splitlines()]
    assert (episodes[0]["task"], episodes[0]["task_source"]) == ("set up the deploy", "review")
    assert (episodes[1]["task"], episodes[1]["task_source"]) == ("fix the tests", "mark")


# -- safe display -----------------------------------------------------------------------

TRICKS = "<PII:email:1a2b3c> :thumbs_up: [bold]loud[/bold]"
ESCAPES = "\x1b]52;c;aGVsbG8=\x07 \x1b]8;;http://x.example\x07link \x1b[2J \x9b1m"


def test_show_and_sessions_print_recorded_text_verbatim_and_escapes_visibly(lay, run_cli):
    s = SessionScript(lay, name=f"name {TRICKS}")
    s.command(f"echo {TRICKS}", output=f"{ESCAPES}\n").end().ingest()
    shown = run_cli("show", "S1").stdout
    listed = run_cli("sessions").stdout
    assert TRICKS in shown  # no markup read, no emoji made
    assert "<PII:email:1a2b3c> :thumbs_up:" in listed and "[bold]loud[/bold]" in listed
    for out in (shown, listed):
        assert "👍" not in out and "✉" not in out and "‹" not in out
    assert "\x1b" not in shown and "\x9b" not in shown and "\x07" not in shown
    assert "␛]52;c;aGVsbG8=\\x07" in shown and "␛[2J" in shown and "\\x9b1m" in shown


def test_error_messages_show_escapes_visibly(lay, run_cli):
    proc = run_cli("show", "no-such-\x1b[2J-session", check=False)
    assert proc.returncode == 1 and "\x1b" not in proc.stderr
    assert "no-such-\\x1b[2J-session" in proc.stderr  # shown, not sent
