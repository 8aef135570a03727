"""Every step and episode label of docs/labels.md, on hand-built sessions exported for real."""

from __future__ import annotations

import pytest
from sessionkit import SessionScript, export_rows

from exporters.labels import command_key, is_failure, is_test_or_build

PY_TRACEBACK = 'Traceback (most recent call last):\n  File "t.py", line 1\nValueError: x\n'


def steps_of(lay, tmp_path, **options) -> list[dict]:
    return export_rows(lay, tmp_path / "out", **options)["steps"]


def by_command(steps: list[dict]) -> dict[str, dict]:
    return {s["action"]["command"]: s for s in steps if s["action"]["type"] == "command"}


# -- failed ------------------------------------------------------------------------------


def test_failed_from_exit_code_traceback_or_unknown(lay, tmp_path):
    s = SessionScript(lay)
    s.command("make ok", exit=0, output="done\n")
    s.command("make bad", exit=2, output="error\n")
    s.command("python crash.py", exit=0, output=PY_TRACEBACK)
    s.command("sleep 100", exit=None)  # never ended: result unknown
    s.save("/work/repo/a.py")
    s.end().ingest()
    steps = steps_of(lay, tmp_path)
    cmds = by_command(steps)
    assert cmds["make ok"]["failed"] is False
    assert cmds["make bad"]["failed"] is True
    assert cmds["python crash.py"]["failed"] is True
    assert cmds["sleep 100"]["failed"] is None
    edit = next(x for x in steps if x["action"]["type"] == "edit")
    assert edit["failed"] is None


def test_is_failure_markers():
    assert is_failure(None, "thread 'main' panicked at src/main.rs:2:5:\nboom") is True
    assert is_failure(0, 'Exception in thread "main" java.lang.Error') is True
    assert is_failure(0, "panic: boom\n\ngoroutine 1 [running]:\nmain.main()") is True
    assert is_failure(0, "Traceback is a word in this sentence") is False
    assert is_failure(None, None) is None


# -- retries and recoveries ---------------------------------------------------------------


def test_retry_and_recovery_with_time_to_recovery(lay, tmp_path):
    s = SessionScript(lay)
    s.command("pytest -x tests/test_a.py", exit=1, duration=3.0)  # ends at t=5
    s.command("pytest tests/test_a.py", exit=1, duration=2.0, gap=10.0)  # options differ: retry
    s.command("ls", exit=0)
    s.command("pytest tests/test_a.py -q", exit=0, duration=4.0, gap=20.0)
    s.command("pytest tests/test_a.py", exit=0)  # the previous run passed: not a retry
    s.end().ingest()
    steps = steps_of(lay, tmp_path)
    assert [x["step_index"] for x in steps] == [0, 1, 2, 3, 4]
    first, second, ls, fixed, again = steps
    assert first["is_retry_of"] is None
    assert second["is_retry_of"] == 0
    assert ls["is_retry_of"] is None and ls["recovered_by_step"] is None
    assert fixed["is_retry_of"] == 1
    assert again["is_retry_of"] is None
    assert first["recovered_by_step"] == 3 and second["recovered_by_step"] == 3
    # first runs 2-5 s, second 15-17 s, ls 19-20 s, the fix 40-44 s: recovery is end to end.
    assert first["time_to_recovery_ms"] == 39_000
    assert second["time_to_recovery_ms"] == 27_000
    assert fixed["recovered_by_step"] is None and fixed["time_to_recovery_ms"] is None


def test_a_different_command_is_no_retry_and_no_recovery(lay, tmp_path):
    s = SessionScript(lay)
    s.command("pytest tests/test_a.py", exit=1)
    s.command("pytest tests/test_b.py", exit=0)
    s.end().ingest()
    failing, other = steps_of(lay, tmp_path)
    assert other["is_retry_of"] is None
    assert failing["recovered_by_step"] is None


def test_recovery_does_not_cross_episodes(lay, tmp_path):
    s = SessionScript(lay)
    s.task("first task")
    s.command("cargo test", exit=101)
    s.task("second task")
    s.command("cargo test", exit=0)
    s.end().ingest()
    steps = steps_of(lay, tmp_path)
    assert [x["episode_id"][-5:] for x in steps] == ["e0000", "e0001"]
    assert steps[0]["recovered_by_step"] is None
    assert steps[1]["is_retry_of"] is None


# -- edit-run-fix loops -------------------------------------------------------------------


def test_save_run_fail_save_run_is_a_loop(lay, tmp_path):
    s = SessionScript(lay)
    s.command("git status", exit=0)
    s.save("/work/repo/a.py")
    s.command("pytest", exit=1)
    s.save("/work/repo/a.py")
    s.save("/work/repo/b.py")
    s.command("pytest", exit=0)
    s.command("git diff", exit=0)
    s.end().ingest()
    loop = [x["in_edit_run_fix_loop"] for x in steps_of(lay, tmp_path)]
    assert loop == [False, True, True, True, True, True, False]


@pytest.mark.parametrize(
    "script",
    [
        ["run-fail", "save", "run"],  # no save before the failing run
        ["save", "run-fail", "run"],  # no save between the failure and the rerun
        ["save", "run-ok", "save", "run"],  # nothing failed
    ],
)
def test_not_a_loop(lay, tmp_path, script):
    s = SessionScript(lay)
    for item in script:
        if item == "save":
            s.save("/work/repo/a.py")
        else:
            s.command("pytest", exit=1 if item == "run-fail" else 0)
    s.end().ingest()
    assert not any(x["in_edit_run_fix_loop"] for x in steps_of(lay, tmp_path))


# -- pauses ---------------------------------------------------------------------------------


def test_pause_classes(lay, tmp_path):
    s = SessionScript(lay)
    s.task("one long task")
    s.command("a", gap=1.0)
    s.command("b", gap=1.0)  # 1 s after a ended
    s.command("c", gap=30.0)
    s.command("d", gap=300.0)
    s.command("e", gap=1800.0)  # longer than the idle gap, but the task mark holds the episode
    s.user("pause", gap=1.0)
    s.user("resume", gap=60.0)
    s.command("f", gap=1.0)
    s.end().ingest()
    steps = steps_of(lay, tmp_path)
    assert len({x["episode_id"] for x in steps}) == 1
    assert [x["pause_class"] for x in steps] == [None, "none", "short", "long", "break", "paused"]
    assert [x["observation"]["ms_since_previous_step"] for x in steps[:5]] == [
        None, 1000, 30_000, 300_000, 1_800_000,
    ]  # fmt: skip


# -- episodes ---------------------------------------------------------------------------------


def test_idle_gaps_and_repository_changes_split_unmarked_work(lay, tmp_path):
    s = SessionScript(lay)
    s.command("make", cwd="/work/repo")
    s.save("/work/repo/a.py")
    s.command("make", cwd="/work/repo", gap=11 * 60)  # idle gap (default 10 min)
    s.save("/work/other/b.py", repo="/work/other")  # another repository
    s.command("make", cwd="/work/other/src")
    s.end().ingest()
    tables = export_rows(lay, tmp_path / "out")
    episodes = tables["episodes"]
    assert [e["end_reason"] for e in episodes] == ["idle_gap", "repo_change", "session_end"]
    assert [e["num_steps"] for e in episodes] == [2, 1, 2]
    assert [e["repository"] for e in episodes] == ["/work/repo", "/work/repo", "/work/other"]
    assert [e["task"] for e in episodes] == [None, None, None]
    steps = tables["steps"]
    assert [(x["step_index"], x["is_first"], x["is_last"]) for x in steps] == [
        (0, True, False), (1, False, True), (0, True, True), (0, True, False), (1, False, True),
    ]  # fmt: skip
    # idle_gap cuts an episode (truncated); repo_change and session_end end it
    assert [x["is_terminal"] for x in steps if x["is_last"]] == [False, True, True]
    assert steps[4]["observation"]["repository"] == "/work/other"  # inferred from cwd


def test_idle_gap_is_configurable(lay, tmp_path):
    s = SessionScript(lay)
    s.command("a")
    s.command("b", gap=90)
    s.end().ingest()
    assert len(export_rows(lay, tmp_path / "o1")["episodes"]) == 1
    assert len(export_rows(lay, tmp_path / "o2", idle_gap_minutes=1)["episodes"]) == 2


def test_task_marks_name_episodes(lay, tmp_path):
    s = SessionScript(lay)
    s.command("ls")  # before any mark: an episode without a task
    s.task("fix the dataloader")
    s.task("fix the dataloader, really")  # a second mark before any step replaces the first
    s.save("/work/repo/loader.py", head="1111111")
    s.command("pytest", exit=0)
    s.task("write the docs")
    s.save("/work/repo/README.md", head="2222222")
    s.ingest()  # the session is still recording
    tables = export_rows(lay, tmp_path / "out")
    episodes = tables["episodes"]
    assert [e["task"] for e in episodes] == [None, "fix the dataloader, really", "write the docs"]
    assert [e["task_source"] for e in episodes] == [None, "mark", "mark"]
    assert [e["end_reason"] for e in episodes] == ["task_mark", "task_mark", "recording"]
    assert episodes[1]["start_commit"] == "1111111"
    assert episodes[2]["end_commit"] == "2222222"
    steps = tables["steps"]
    assert [x["observation"]["task"] for x in steps] == [
        None, "fix the dataloader, really", "fix the dataloader, really", "write the docs",
    ]  # fmt: skip
    assert steps[-1]["is_last"] and not steps[-1]["is_terminal"]


def test_max_steps_bounds_an_episode(lay, tmp_path):
    s = SessionScript(lay)
    for i in range(5):
        s.command(f"echo {i}")
    s.end().ingest()
    episodes = export_rows(lay, tmp_path / "out", max_steps=2)["episodes"]
    assert [e["num_steps"] for e in episodes] == [2, 2, 1]
    assert [e["end_reason"] for e in episodes] == ["max_steps", "max_steps", "session_end"]


# -- success ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("runs", "success"),
    [
        ([("pytest", 1), ("pytest", 0)], True),  # the last test run passed
        ([("pytest", 0), ("pytest", 1)], False),  # the last one failed
        ([("pytest", 1), ("pytest", 0), ("make build", 2)], True),  # tests went fail -> pass
        ([("ls", 0), ("git push", 1)], None),  # no test or build run
        ([("make", 2), ("python -m pytest", 1)], False),
    ],
)
def test_episode_success(lay, tmp_path, runs, success):
    s = SessionScript(lay)
    for cmd, code in runs:
        s.command(cmd, exit=code)
    s.end().ingest()
    tables = export_rows(lay, tmp_path / "out")
    (episode,) = tables["episodes"]
    assert episode["success"] is success
    assert episode["num_failures"] == sum(1 for _, code in runs if code)
    assert episode["exit_status"] == runs[-1][1]


def test_episode_label_counts(lay, tmp_path):
    s = SessionScript(lay)
    s.save("/work/repo/a.py")
    s.command("pytest", exit=1)
    s.save("/work/repo/a.py")
    s.command("pytest", exit=1)
    s.save("/work/repo/a.py")
    s.command("pytest", exit=0)
    s.end().ingest()
    (episode,) = export_rows(lay, tmp_path / "out")["episodes"]
    assert episode["num_failures"] == 2
    assert episode["num_recoveries"] == 2
    assert episode["num_retries"] == 2
    assert episode["num_loop_steps"] == 6
    assert episode["num_test_runs"] == 3
    assert (episode["num_commands"], episode["num_edits"]) == (3, 3)


# -- command keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "key", "test_or_build"),
    [
        ("pytest -x tests/a.py", ("pytest", "tests/a.py"), True),
        ("cd src && pytest tests/a.py", ("pytest", "tests/a.py"), True),
        ("FOO=1 sudo -E make test", ("make", "test"), True),
        ("uv run pytest", ("pytest", None), True),
        ("python -m pytest -q", ("pytest", None), True),
        ("python3 train.py --lr 3", ("python3", "train.py"), False),
        ("npm run build", ("npm", "build"), True),
        ("time cargo test", ("cargo", "test"), True),
        ('git commit -m "fix it"', ("git", "commit"), False),
        ("echo 'unbalanced", ("echo", "'unbalanced"), False),
        ("   ", None, False),
    ],
)
def test_command_key(command, key, test_or_build):
    assert command_key(command) == key
    assert is_test_or_build(command_key(command)) is test_or_build
