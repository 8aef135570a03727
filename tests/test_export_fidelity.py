"""Trajectory fidelity: the steps alone replay what happened, the recorder's own commands
are not steps, and an export is a function of the sessions and settings only."""

from __future__ import annotations

import json

from sessionkit import DEAD_PID, SessionScript, commands_of, dataset_files, export_rows

from exporters.jobs import ExportOptions
from exporters.pipeline import export
from recorder import records as R
from recorder.recording import drain_without_daemon
from recorder.spool import SpoolWriter, spool_name


def late_command_end(lay, script: SessionScript, at: float, exit: int = 0) -> None:
    """The end of ``script``'s last command, spooled and ingested late (as a shell hook
    writes it after ``recorder stop`` closed the session)."""
    writer = SpoolWriter(lay.spool / spool_name("shell", f"{DEAD_PID}-{script.session}-late"))
    writer.append([R.record(R.CMD_END, script.session, t=script.t0 + at, tz=script.tz,
                            shell_id="sh1", n=script.n, exit=exit, pipestatus=str(exit))])  # fmt: skip
    writer.close()
    drain_without_daemon(lay)


# -- 1. the new labels, wired ----------------------------------------------------------------


def test_pipelines_and_interrupts_are_labelled_from_pipestatus(lay, tmp_path):
    s = SessionScript(lay)
    s.command("python train.py 2>&1 | tail -n 1", exit=0, pipestatus="1 0")
    s.command("python train.py | tee -i log", exit=0, pipestatus="130 0")
    s.command("yes | head -n 1", exit=0, pipestatus="141 0")
    s.command("sleep 100", exit=130)
    s.save("/work/repo/a.py")
    s.end().ingest()
    steps = export_rows(lay, tmp_path / "out")["steps"]
    labels = [(x["failed"], x["interrupted"]) for x in steps]
    assert labels == [(True, False), (None, True), (False, False), (None, True), (None, None)]


def test_a_run_after_an_interrupted_one_retries_the_failure_before_it(lay, tmp_path):
    s = SessionScript(lay)
    s.command("python train.py", exit=1)
    s.command("python train.py", exit=130)  # Ctrl-C
    s.command("python train.py", exit=0)
    s.end().ingest()
    steps = export_rows(lay, tmp_path / "out")["steps"]
    assert [x["is_retry_of"] for x in steps] == [None, 0, 0]
    assert steps[0]["recovered_by_step"] == 2


def test_exit_status_passes_over_the_recorder_s_own_commands(lay, tmp_path):
    s = SessionScript(lay)
    s.command("make test", exit=2)
    s.command("recorder stop", exit=None)
    s.end().ingest()
    (episode,) = export_rows(lay, tmp_path / "out")["episodes"]
    assert episode["exit_status"] == 2


# -- 2. the recorder's own commands are events, not steps -------------------------------------


def marked(s: SessionScript, text: str, exit: int | None = 0) -> None:
    """``recorder task TEXT`` typed in a shell: a command, with the mark it makes inside it."""
    s.command(f'recorder task "{text}"', exit=exit, duration=1.0)
    s.task(text, gap=-0.5)
    s.wait(0.5)


def test_recorder_commands_are_events_but_not_steps(lay, tmp_path):
    s = SessionScript(lay)
    marked(s, "fix the loader")
    s.command("pytest", exit=1)
    s.command("recorder status", exit=0)
    s.command("pytest", exit=0)
    marked(s, "write the docs")
    s.command("make docs", exit=0)
    s.command("recorder stop", exit=None)
    s.end().ingest()
    tables = export_rows(lay, tmp_path / "out")
    steps, episodes = tables["steps"], tables["episodes"]
    assert commands_of(steps) == ["pytest", "pytest", "make docs"]
    assert [(e["task"], e["num_steps"]) for e in episodes] == [
        ("fix the loader", 2), ("write the docs", 1),
    ]  # fmt: skip
    assert [e["end_reason"] for e in episodes] == ["task_mark", "session_end"]
    assert steps[1]["is_terminal"] and steps[1]["observation"]["task"] == "fix the loader"
    logged = [e["command"] for e in tables["events"] if e["event_type"] == "command"]
    assert 'recorder task "fix the loader"' in logged and "recorder stop" in logged
    # The recorder's commands still show on the terminal of later steps: they were typed.
    assert any("recorder status" in t for t in steps[1]["observation"]["terminal"])


def test_no_episode_is_made_only_of_marks(lay, tmp_path):
    s = SessionScript(lay)
    marked(s, "first")
    marked(s, "second")
    s.command("recorder stop", exit=None)
    s.end().ingest()
    tables = export_rows(lay, tmp_path / "out")
    assert tables["steps"] == [] and tables["episodes"] == []
    assert len(tables["events"]) == 5


# -- 3. fuller steps -----------------------------------------------------------------------


def test_a_command_s_diffs_are_in_its_outcome_not_in_an_observation(lay, tmp_path):
    diff = "--- a/cfg.py\n+++ b/cfg.py\n-lr = 1\n+lr = 3\n"
    s = SessionScript(lay)
    s.command("sed -i s/1/3/ cfg.py", exit=0, duration=2.0, shell_id="pane-a")
    s.file("/work/repo/cfg.py", added=1, removed=1, diff=diff, at=s.now - 1.0)
    s.save("/work/repo/b.py", gap=3.0)
    s.command("python train.py", exit=0, shell_id="pane-b")
    s.end().ingest()
    sed, edit, train = export_rows(lay, tmp_path / "out")["steps"]
    assert sed["outcome"]["diffs"] == [{"path": "/work/repo/cfg.py", "diff": diff}]
    assert edit["outcome"]["diffs"] == []  # a file step's diff is its action.diff
    assert edit["action"]["diff"].endswith("+line\n")
    assert train["outcome"]["diffs"] == []
    assert [x["observation"]["shell_id"] for x in (sed, edit, train)] == ["pane-a", None, "pane-b"]
    # Causal: no observation holds a diff, neither the sed step's own nor a later one's.
    for step in (sed, edit, train):
        assert "lr = 3" not in json.dumps(step["observation"])
    assert edit["observation"]["files_changed"] == ["/work/repo/cfg.py"]


def test_output_keeps_its_head_and_tail_within_the_setting(lay, tmp_path):
    from recorder.config import load_config

    load_config(lay)  # (writes config.toml)
    lay.config.write_text(lay.config.read_text() + "\n[export]\noutput_chars = 400\n")
    long = "".join(f"line {i}\n" for i in range(500))
    s = SessionScript(lay)
    s.command("seq 500", output=long)
    s.command("echo short", output="short\n")
    s.end().ingest()
    seq, short = export_rows(lay, tmp_path / "out")["steps"]
    output = seq["outcome"]["output"]
    head, marker, tail = output.partition("[... ")
    assert head.startswith("line 0\nline 1\n") and head.endswith("\n") and long.startswith(head)
    assert marker and "characters omitted ...]\n" in tail
    tail = tail.split("omitted ...]\n", 1)[1]
    assert tail.startswith("line ") and long.endswith(tail)
    assert len(head) + len(tail) <= 400 and len(head) + len(tail) > 300
    assert short["outcome"]["output"] == "short\n"
    info = json.loads((tmp_path / "out" / "meta" / "info.json").read_text())
    assert info["settings"]["output_chars"] == 400


# -- 5. determinism ---------------------------------------------------------------------------


def test_a_late_end_of_the_stop_command_does_not_change_a_closed_session(lay, tmp_path):
    s = SessionScript(lay)
    s.command("make", exit=0)
    s.command("recorder stop", exit=None, duration=0.5)
    s.end(gap=0.1)  # the session ends while `recorder stop` still runs
    s.ingest()
    before = export(lay, ExportOptions(include_unapproved=True, out=tmp_path / "before"))
    late_command_end(lay, s, at=s.now + 0.3)  # its end, ingested with the next session
    after = export(lay, ExportOptions(include_unapproved=True, out=tmp_path / "after"))
    assert dataset_files(tmp_path / "before") == dataset_files(tmp_path / "after")
    assert before.export_id == after.export_id
    events = export_rows(lay, tmp_path / "rows")["events"]
    stop = next(e for e in events if e["command"] == "recorder stop")
    assert (stop["exit_code"], stop["ts_end"]) == (None, None)  # it had not ended by then


def test_new_content_gets_a_new_export_id(lay, tmp_path):
    s = SessionScript(lay)
    s.command("make", exit=0)
    s.command("python train.py", exit=None, duration=30.0)  # still running: live session
    s.ingest()
    running = export(lay, ExportOptions(include_unapproved=True, out=tmp_path / "running"))
    late_command_end(lay, s, at=s.now, exit=1)  # it ends: same events, new content
    ended = export(lay, ExportOptions(include_unapproved=True, out=tmp_path / "ended"))
    assert running.export_id != ended.export_id
    names = lambda root: {p.name for p in root.rglob("part-*")}  # noqa: E731
    assert not names(tmp_path / "running") & names(tmp_path / "ended")
    again = export(lay, ExportOptions(include_unapproved=True, out=tmp_path / "again"))
    assert again.export_id == ended.export_id
    assert dataset_files(tmp_path / "again") == dataset_files(tmp_path / "ended")


def test_a_session_s_export_does_not_change_when_a_later_session_is_recorded(lay, tmp_path):
    s1 = SessionScript(lay, session="S1")
    s1.command("pytest", exit=1, output="1 failed\n")
    s1.command("recorder stop", exit=None, duration=0.5)
    s1.end(gap=0.1).ingest()
    export(lay, ExportOptions(include_unapproved=True, out=tmp_path / "first", sessions=["S1"]))
    s2 = SessionScript(lay, session="S2", t0=s1.t0 + 3600)
    s2.command("pytest", exit=0)
    s2.end().ingest()
    late_command_end(lay, s1, at=s1.now + 0.2)
    export(lay, ExportOptions(include_unapproved=True, out=tmp_path / "later", sessions=["S1"]))
    assert dataset_files(tmp_path / "first") == dataset_files(tmp_path / "later")


# -- the pure parts, on hand-built values ------------------------------------------------------


def test_head_and_tail_cuts_at_lines_and_says_how_much_it_left_out():
    from exporters.textcut import clean_head, head_and_tail

    text = "".join(f"row {i:03d}\n" for i in range(100))  # 8 characters a line
    assert head_and_tail(text, 800) == text
    cut = head_and_tail(text, 100)
    head, tail = cut.split("[... ")[0], cut.split(" omitted ...]\n")[1]
    assert head == text[:48] and tail == text[-48:]  # whole lines, 96 characters in all
    assert f"[... {800 - 96} characters omitted ...]\n" in cut
    assert clean_head("abc <SECRET:rule:0a1b2c> def", 10) == "abc "  # not inside it
    assert clean_head("short", 10) == "short"


def test_as_of_end_forgets_only_the_ends_after_the_session_s_end():
    import datetime as dt

    import pyarrow as pa

    from exporters.source import END_COLUMNS, as_of_end

    t = dt.datetime(2025, 11, 24, 16, 0, 0)
    us = lambda s: t + dt.timedelta(seconds=s)  # noqa: E731
    page = pa.table({
        "ts_start": pa.array([us(0), us(5), us(9)], pa.timestamp("us")),
        "ts_end": pa.array([us(1), us(11), None], pa.timestamp("us")),
        "exit_code": pa.array([0, 0, None], pa.int32()),
        "pipestatus": pa.array([[0], [0, 1], None], pa.list_(pa.int32())),
        "duration_ms": pa.array([1000, 6000, None], pa.int64()),
        "output": ["a", "b", None],
        "output_truncated": [False, False, None],
        "output_bytes": pa.array([1, 1, None], pa.int64()),
    })  # fmt: skip
    assert as_of_end(page, None) is page  # still recording: as it is
    assert as_of_end(page, us(20)) is page  # every end before the session's
    clipped = as_of_end(page, us(10))
    assert clipped.column("ts_start") == page.column("ts_start")
    for name in END_COLUMNS:
        values = clipped.column(name).to_pylist()
        assert values[1] is None and values[0] == page.column(name)[0].as_py(), name
