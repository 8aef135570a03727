"""Events -> steps: what is an action, what is an outcome, and what each observation holds."""

from __future__ import annotations

from sessionkit import SessionScript, export_rows

from exporters.steps import OUTPUT_CHARS, TERMINAL_CHARS


def test_file_changes_while_a_command_runs_are_its_outcome(lay, tmp_path):
    s = SessionScript(lay)
    s.command("black .", exit=0, duration=5.0)  # runs from t=2 to t=7
    s.file("/work/repo/a.py", added=3, removed=1, at=4.0)
    s.file("/work/repo/b.py", added=2, removed=2, at=7.3)  # within the 0.5 s slack
    s.file("/work/repo/a.py", added=1, removed=0, at=6.0)
    s.save("/work/repo/c.py", gap=3.0)  # after the command: the researcher's edit
    s.end().ingest()
    tables = export_rows(lay, tmp_path / "out")
    steps = tables["steps"]
    assert [x["action"]["type"] for x in steps] == ["command", "edit"]
    black, edit = steps
    assert black["outcome"]["files_changed"] == ["/work/repo/a.py", "/work/repo/b.py"]
    assert (black["outcome"]["lines_added"], black["outcome"]["lines_removed"]) == (6, 3)
    events = {e["event_id"]: e for e in tables["events"]}
    assert [events[i]["event_type"] for i in black["source_event_ids"]] == [
        "command", "save", "save", "save",
    ]  # fmt: skip
    assert edit["observation"]["files_changed"] == ["/work/repo/a.py", "/work/repo/b.py"]
    assert edit["action"]["path"] == "/work/repo/c.py"
    assert edit["outcome"]["files_changed"] == ["/work/repo/c.py"]
    assert edit["observation"]["cwd"] == "/work/repo"  # the last command's


def test_saves_inside_a_terminal_editor_are_edit_steps(lay, tmp_path):
    s = SessionScript(lay)
    s.command("vim train.py", exit=0, duration=60.0)  # t=2..62
    s.file("/work/repo/train.py", at=20.0)
    s.file("/work/repo/train.py", at=40.0)
    s.command("python train.py", exit=0)
    s.end().ingest()
    steps = export_rows(lay, tmp_path / "out")["steps"]
    assert [x["action"]["type"] for x in steps] == ["command", "edit", "edit", "command"]
    # Causal: while vim still runs, the edit does not know its exit code yet.
    assert steps[1]["observation"]["previous_outcome"]["exit_code"] is None
    assert steps[3]["observation"]["previous_outcome"]["action_type"] == "edit"


def test_terminal_shows_only_commands_that_ended_before_the_action(lay, tmp_path):
    s = SessionScript(lay)
    s.command("echo one", output="one\n")
    s.command("echo two", output="two")
    s.command("echo three", output="three\n")
    s.end().ingest()
    steps = export_rows(lay, tmp_path / "out")["steps"]
    terminals = [x["observation"]["terminal"] for x in steps]
    assert terminals[0] == []
    assert terminals[1] == ["$ echo one\none\n"]
    assert terminals[2] == ["$ echo one\none\n", "$ echo two\ntwo\n"]
    assert steps[2]["outcome"]["output"] == "three\n"
    assert steps[1]["observation"]["previous_outcome"] == {
        "action_type": "command", "exit_code": 0, "failed": False, "duration_ms": 1000,
        "lines_added": 0, "lines_removed": 0,
    }  # fmt: skip


def test_long_outputs_are_cut_to_their_heads_and_tails_at_line_ends(lay, tmp_path):
    long = "".join(f"line {i}\n" for i in range(2000))
    s = SessionScript(lay)
    s.command("seq", output=long)
    s.command("echo short", output="short\n")
    s.command("true")
    s.end().ingest()
    steps = export_rows(lay, tmp_path / "out")["steps"]
    head, _, tail = steps[0]["outcome"]["output"].partition("[... ")
    tail = tail.split(" characters omitted ...]\n", 1)[1]
    assert len(head) + len(tail) <= OUTPUT_CHARS and long.endswith(tail) and long.startswith(head)
    assert tail.startswith("line ") and len(head) + len(tail) > OUTPUT_CHARS - 40
    (seq,) = steps[1]["observation"]["terminal"]
    assert seq.startswith("$ seq\nline ") and seq.endswith("line 1999\n")
    assert len(seq) <= TERMINAL_CHARS + len("$ seq\n")
    # The newest transcript always shows; older ones only while they fit in TERMINAL_CHARS.
    assert steps[2]["observation"]["terminal"] == ["$ echo short\nshort\n"]


def test_a_cut_never_splits_a_placeholder(lay, tmp_path):
    token = "ghp_FAKEfake0123456789FAKEfake0123456789"
    # Long lines; redacted, the cuts fall inside the tokens' placeholders.
    half = OUTPUT_CHARS // 2
    output = (
        "w" * (half - 20) + f" {token} " + "x" * 3 * OUTPUT_CHARS + f" {token} " + "y" * (half - 5)
    )
    s = SessionScript(lay)
    s.command("cat blob", output=output)
    s.end().ingest()
    (step,) = export_rows(lay, tmp_path / "out")["steps"]
    head, _, tail = step["outcome"]["output"].partition("\n[... ")
    assert head == "w" * (half - 20) + " "  # ends before the placeholder
    assert tail.endswith("omitted ...]\n " + "y" * (half - 5))  # starts after the other


def test_actions_of_each_file_event_type(lay, tmp_path):
    s = SessionScript(lay)
    s.file("/work/repo/new.py", "create")
    s.file("/work/repo/x.py", "rename", old_path="/work/repo/old.py")
    s.file("/work/repo/gone.py", "delete", diff="")
    s.file("/work/repo", "burst", diff="")
    s.end().ingest()
    steps = export_rows(lay, tmp_path / "out")["steps"]
    assert [x["action"]["type"] for x in steps] == ["create", "rename", "delete", "burst"]
    assert steps[1]["action"]["old_path"] == "/work/repo/old.py"
    assert all(x["failed"] is None and x["is_test_or_build"] is None for x in steps)


def test_git_head_is_carried_per_repository(lay, tmp_path):
    s = SessionScript(lay)
    s.save("/work/repo/a.py", head="aaaa")
    s.command("git log", cwd="/work/repo/sub")
    s.save("/work/other/b.py", repo="/work/other", head="bbbb")
    s.command("git log", cwd="/work/repo")
    s.end().ingest()
    steps = export_rows(lay, tmp_path / "out", idle_gap_minutes=60)["steps"]
    assert [x["observation"]["git_head"] for x in steps] == ["aaaa", "aaaa", "bbbb", "aaaa"]


def test_reconcile_manifests_are_events_but_not_steps(lay, tmp_path):
    s = SessionScript(lay)
    s.file("/work/repo", event="reconcile", at=0.5)
    s.command("make test", exit=0)
    s.end().ingest()
    tables = export_rows(lay, tmp_path / "out")
    assert [x["action"]["type"] for x in tables["steps"]] == ["command"]
    assert "reconcile" in {e["event_type"] for e in tables["events"]}


def test_steps_are_named_records_whose_every_field_reaches_its_column(lay):
    """A step is read and written by field name: both kinds of step the builder makes set
    every field, and the buffer's columns hold each field under its own name."""
    from dataclasses import fields

    from exporters.episodes import DEFAULT_MAX_STEPS, EpisodeSplitter
    from exporters.stepbuffer import FIELDS, Step, StepBuffer
    from exporters.steps import StepBuilder
    from recorder.eventlog import open_log

    s = SessionScript(lay)
    s.command("pytest -q", exit=1, output="1 failed\n", duration=2.0)
    s.save("/work/repo/a.py", added=4, removed=2, gap=5.0)
    s.end().ingest()
    steps = StepBuffer(s.session)
    splitter = EpisodeSplitter(s.session, steps, lambda episode: None, 10, DEFAULT_MAX_STEPS)
    builder = StepBuilder(steps, splitter)
    with open_log(lay) as log:
        for page in log.event_pages(s.session, 100):
            builder.feed(page)
    command, edit = steps.records
    for step in (command, edit):
        assert [f.name for f in fields(step) if not hasattr(step, f.name)] == []
    assert (command.action, command.exit_code, command.failed) == ("command", 1, True)
    assert (command.duration_ms, command.test_or_build, command.key[0]) == (2000, True, "pytest")
    assert (edit.action, edit.lines_added, edit.lines_removed) == ("edit", 4, 2)
    assert edit.files_after == ("/work/repo/a.py",) and edit.exit_code is None
    assert edit.prev[:3] == ("command", 1, True) and edit.gap_ms == 5000
    assert command.end == command.ts + 2_000_000 and edit.end == edit.ts

    # Each field under its own name, whatever the order of the fields.
    distinct = Step(**{name: f"value of {name}" for name in FIELDS})
    buffer = StepBuffer("S")
    buffer.records.append(distinct)
    columns = buffer.columns(1)
    assert {name: columns[name] for name in FIELDS} == {
        name: [f"value of {name}"] for name in FIELDS
    }
    assert set(columns) == set(FIELDS) | set(buffer.closed)
