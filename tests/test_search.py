"""`recorder search` and `recorder show --grep/--failed/--source`, on a real log."""

from __future__ import annotations

import json

import pytest
from sessionkit import T0, SessionScript


@pytest.fixture
def two_sessions(lay):
    """Last week's session (a failed install, its fix) and today's (a save, a note)."""
    week = SessionScript(lay, "S-week", t0=T0, name="deps")
    week.task("get torch installed")
    week.command("pip install torch==9.9", exit=1, output="ERROR: No matching distribution")
    week.command("pip install 'torch<3'", output="Successfully installed torch-2.5")
    week.command("python train.py", cwd="/work/repo/sub", output="loss 0.3\n")
    week.end().ingest()
    today = SessionScript(lay, "S-today", t0=T0 + 7 * 86400, name="today")
    today.command("ls /work/Torch", exit=2, cwd="/tmp")
    today.save("src/torch_utils.py", repo="/work/repo")
    today.user("note", "torch pinned below 3 on purpose")
    today.end().ingest()


def found(run_cli, *args: str) -> list[dict]:
    out = run_cli("search", *args, "--json").stdout
    return [json.loads(line) for line in out.splitlines()]


def lines_of(rows: list[dict]) -> list[str]:
    return [r["command"] or r["path"] or r["text"] for r in rows]


def test_search_finds_text_in_commands_paths_and_notes_newest_first(two_sessions, run_cli):
    assert lines_of(found(run_cli, "TORCH")) == [
        "torch pinned below 3 on purpose",
        "src/torch_utils.py",
        "ls /work/Torch",
        "pip install 'torch<3'",
        "pip install torch==9.9",
        "get torch installed",
    ]
    assert lines_of(found(run_cli, "no matching")) == []  # outputs only when asked
    assert lines_of(found(run_cli, "no matching", "--output")) == ["pip install torch==9.9"]


def test_search_filters_combine(two_sessions, run_cli):
    assert lines_of(found(run_cli, "--failed")) == ["ls /work/Torch", "pip install torch==9.9"]
    assert lines_of(found(run_cli, "pip", "--failed")) == ["pip install torch==9.9"]
    assert lines_of(found(run_cli, "--exit-code", "2")) == ["ls /work/Torch"]
    assert lines_of(found(run_cli, "--cwd", "/work/repo/sub")) == ["python train.py"]
    assert len(found(run_cli, "--cwd", "/work/repo")) == 3  # and below it
    assert lines_of(found(run_cli, "--source", "file")) == ["src/torch_utils.py"]
    assert lines_of(found(run_cli, "--repo", "/work/repo")) == ["src/torch_utils.py"]
    assert lines_of(found(run_cli, "torch", "--session", "deps", "--limit", "1")) == [
        "pip install 'torch<3'"
    ]
    assert lines_of(found(run_cli, "torch", "--since", "2025-11-28")) == [
        "torch pinned below 3 on purpose",
        "src/torch_utils.py",
        "ls /work/Torch",
    ]
    assert len(found(run_cli, "torch", "--until", "2025-11-28")) == 3


def test_search_text_is_data_not_sql_and_bad_input_is_one_line(two_sessions, run_cli):
    assert found(run_cli, "'; DROP TABLE events; --") == []
    assert found(run_cli, "%") == [] and found(run_cli, "t_rch") == []  # no LIKE wildcards
    assert len(found(run_cli, "torch")) == 6  # the log is intact
    for args, message in (
        (["--since", "last tuesday"], "--since 'last tuesday' is not a date"),
        (["--limit", "-1"], "--limit must be 0 or more, not -1"),
        (["--session", "nope"], "no session matches 'nope'"),
    ):
        proc = run_cli("search", *args, check=False)
        assert proc.returncode == 1
        [line] = proc.stderr.strip().splitlines()
        assert message in line and "Traceback" not in proc.stderr


def test_search_text_output_is_one_safe_line_per_hit(lay, run_cli):
    script = SessionScript(lay, "S-esc", name="esc")
    script.command("echo '\x1b]0;owned\x07' # marker\nsecond line")
    script.end().ingest()
    out = run_cli("search", "marker").stdout
    [line] = out.splitlines()
    assert "\x1b" not in out and "\x07" not in out
    assert "S-esc"[:8] in line and "$ echo" in line
    assert run_cli("search", "absent-text").stderr.strip() == "nothing found"


def test_search_goes_through_a_running_daemon(two_sessions, run_cli):
    run_cli("start")
    try:
        assert lines_of(found(run_cli, "pip", "--failed")) == ["pip install torch==9.9"]
    finally:
        run_cli("stop")


def test_show_filters_one_session(two_sessions, run_cli):
    def shown(*args: str) -> list[str]:
        out = run_cli("show", "deps", *args, "--json").stdout
        return lines_of([json.loads(line) for line in out.splitlines()])

    assert shown("--failed") == ["pip install torch==9.9"]
    assert shown("--grep", "TRAIN") == ["python train.py"]
    assert shown("--source", "user") == ["get torch installed"]
    assert shown("--source", "shell", "--limit", "1") == ["pip install torch==9.9"]
    text = run_cli("show", "today", "--grep", "torch").stdout
    assert "src/torch_utils.py" in text and "ls /work/Torch" in text


def test_show_says_what_an_unended_command_and_a_reconcile_are(lay, run_cli):
    script = SessionScript(lay, "S-open", name="open")
    script.command("python train.py --epochs 90", exit=None)
    script.files.append([script._rec("event", source="file", event="reconcile")])
    script.end().ingest()
    text = run_cli("show", "open").stdout
    assert "$ python train.py --epochs 90  [not ended]" in text
    assert "file/reconcile   (the watched files as found at start, for later diffs)" in text
