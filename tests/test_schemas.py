"""Events captured for real validate against the JSON Schemas in schemas/."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
from filekit import changes_of, wait_for_events
from logkit import log_sql
from schemakit import validate_event, validate_spool_record
from spoolkit import command_lines, shell_spool

import schemas
from recorder.paths import Layout


def all_events(lay: Layout) -> list[dict]:
    return log_sql(lay, "SELECT * FROM events ORDER BY seq")


@pytest.mark.slow
def test_captured_events_match_their_schemas(run_cli, recorder_home):
    lay = Layout(recorder_home)
    session = run_cli("start").stdout.strip()
    run_cli("task", "train the baseline")
    run_cli("pause")
    run_cli("resume")
    shell_spool(lay).write_bytes(command_lines(session, 3))
    run_cli("stop")
    events = all_events(lay)
    kinds = {(e["source"], e["event_type"]) for e in events}
    assert kinds == {("user", "task"), ("user", "pause"), ("user", "resume"), ("shell", "command")}
    for event in events:
        validate_event(event)


@pytest.mark.slow
def test_a_wrong_event_fails_its_schema(run_cli, recorder_home):
    run_cli("start")
    run_cli("task", "x")
    run_cli("stop")
    event = all_events(Layout(recorder_home))[0]
    event["seq"] = 0
    with pytest.raises(jsonschema.ValidationError):
        validate_event(event)


@pytest.mark.slow
def test_control_spool_records_match_the_spool_schema(run_cli, recorder_home):
    """The records `recorder start` and `recorder task` write, read before any daemon
    ingests them (a daemon erases what it has ingested): the session is opened by the
    same core function `start` calls, without spawning the daemon."""
    from recorder.config import load_config
    from recorder.session import control_lock, open_session

    lay = Layout(recorder_home).ensure()
    with control_lock(lay):
        open_session(lay, load_config(lay), "s", [])
    run_cli("task", "t")
    records = [
        json.loads(line)
        for path in sorted(
            lay.spool.glob("control.*.v1.jsonl"), key=lambda p: int(p.name.split("-")[1][:-9])
        )
        for line in path.read_text().splitlines()
    ]
    run_cli("stop")
    assert [r["type"] for r in records] == ["session.start", "event"]
    for record in records:
        validate_spool_record(record)


def test_every_schema_file_is_a_valid_schema():
    for kind in schemas.event_kinds():
        jsonschema.Draft202012Validator.check_schema(schemas.load(f"events/{kind}.json"))
    jsonschema.Draft202012Validator.check_schema(schemas.load("spool_record.json"))


@pytest.mark.slow
def test_captured_file_events_match_their_schemas(run_cli, wr):
    wr.start()
    wr.write("f.py", "a\nB\nc\n")
    new = wr.write("pkg/new.py", "x = 1\n")
    wait_for_events(lambda rows: ("create", "pkg/new.py", None) in changes_of(rows))
    os.rename(new, wr.repo / "pkg" / "renamed.py")
    wait_for_events(lambda rows: ("rename", "pkg/renamed.py", "pkg/new.py") in changes_of(rows))
    os.unlink(wr.repo / "README.md")
    run_cli("stop")
    events = [
        e for e in all_events(Layout(Path(os.environ["RECORDER_HOME"]))) if e["source"] == "file"
    ]
    kinds = {e["event_type"] for e in events}
    assert {"save", "create", "rename", "delete", "reconcile"} <= kinds
    for event in events:
        validate_event(event)
