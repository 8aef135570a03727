"""Every step and episode label of docs/labels.md, on hand-built sessions exported for real."""

from __future__ import annotations

import pytest
from sessionkit import SessionScript, export_rows

from exporters import commands, labels
from exporters.commands import command_key, is_test_or_build
from exporters.labels import is_failure

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


def test_an_interrupted_command_is_neither_failed_nor_recovered(lay, tmp_path):
    s = SessionScript(lay)
    s.command("python train.py", exit=130, output=PY_TRACEBACK + "KeyboardInterrupt\n")
    s.command("python train.py", exit=0)
    s.end().ingest()
    tables = export_rows(lay, tmp_path / "out")
    stopped, rerun = tables["steps"]
    assert stopped["failed"] is None and stopped["recovered_by_step"] is None
    assert rerun["is_retry_of"] is None
    assert tables["episodes"][0]["num_failures"] == 0


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


def test_run_fail_save_run_is_a_loop(lay, tmp_path):
    s = SessionScript(lay)
    s.command("python train.py", exit=1)  # no save before the failing run: still a loop
    s.save("/work/repo/train.py")
    s.command("python train.py", exit=0)
    s.end().ingest()
    assert [x["in_edit_run_fix_loop"] for x in steps_of(lay, tmp_path)] == [True] * 3


@pytest.mark.parametrize(
    "script",
    [
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
        ([("ls", 0), ("git push", 1)], False),  # no test run: the last command failed
        ([("python train.py", 1), ("python train.py", 0)], True),  # no test run: recovered
        ([("ls", 0), ("python train.py", 130)], True),  # interrupted: its result is unknown
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
    assert episode["num_failures"] == sum(1 for _, code in runs if code and code != 130)
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
        ("python3 train.py --lr 3", ("python", "train.py"), False),  # python3.x: python
        ("npm run build", ("npm", "build"), True),
        ("time cargo test", ("cargo", "test"), True),
        ("cmake --build build -j 8", ("cmake", "--build"), True),  # was (cmake, build): False
        ("srun -p gpu make -j 8 test", ("make", "test"), True),
        ("torchrun --nproc_per_node 8 train.py", ("python", "train.py"), False),
        ('git commit -m "fix it"', ("git", "commit"), False),
        ("echo 'unbalanced", ("echo", "'unbalanced"), False),
        ("   ", None, False),
    ],
)
def test_command_key(command, key, test_or_build):
    assert command_key(command) == key
    assert is_test_or_build(command_key(command)) is test_or_build


# -- pure labels on hand-built sequences (the trajectory-fidelity rules) ---------------------

T = 1_000_000  # microseconds in a second


def label(*steps, interrupted: bool = True):
    """``label_episode`` of hand-built steps: ``"save"`` (a file step) or ``(command,
    exit_code)`` / ``(command, exit_code, pipestatus)``; each ends a second after the last."""
    kinds, keys, failed, test_or_build, ends, stopped = [], [], [], [], [], []
    for n, step in enumerate(steps):
        ends.append(n * T)
        if step == "save":
            kinds.append("edit")
            keys.append(None)
            failed.append(None)
            test_or_build.append(None)
            stopped.append(False)
            continue
        command, code, *pipestatus = step
        pipes = {"pipestatus": pipestatus[0]} if pipestatus else {}
        kinds.append("command")
        keys.append(command_key(command))
        failed.append(labels.failed_label(code, False, **pipes))
        test_or_build.append(is_test_or_build(keys[-1]))
        stopped.append(labels.is_interrupted(code, **pipes))
    extra = {"interrupted": stopped} if interrupted else {}
    return labels.label_episode(kinds, keys, failed, test_or_build, ends, **extra)


# 1. failed reads every element of PIPESTATUS


@pytest.mark.parametrize(
    ("exit_code", "pipestatus", "failed"),
    [
        (0, [1, 0], True),  # python train.py 2>&1 | tail -n 1: the crash hidden by tail
        (0, [3, 4, 0], True),
        (0, [141, 0], False),  # yes | head: SIGPIPE of a non-last command is normal
        (141, [141, 0], False),  # the same under set -o pipefail ($? is the 141)
        (1, [1, 0], True),  # set -o pipefail; false | true
        (141, [0, 141], True),  # the last command died of SIGPIPE
        (0, [1], False),  # `! false`, `if false; then :; fi`: $? is what the shell decided
        (0, [1, 1], False),  # `! false | false`: $? matches no reading of the pipeline
        (0, [0, 0], False),
        (2, None, True),
        (0, None, False),
        (None, [1, 0], None),  # never ended: nothing is known
    ],
)
def test_failed_reads_pipestatus(exit_code, pipestatus, failed):
    assert labels.failed_label(exit_code, False, pipestatus=pipestatus) is failed
    output = PY_TRACEBACK if failed is False else None
    expected = None if failed is None else True  # a traceback fails what exited 0
    assert labels.is_failure(exit_code, output, pipestatus=pipestatus) is expected


def test_a_hidden_crash_in_a_pipeline_is_a_failure_and_no_recovery():
    steps, episode = label(("python train.py 2>&1 | tail -n 1", 0, [1, 0]), ("ls", 0))
    assert episode.failures == 1 and steps.recovered_by_step == [None, None]
    steps, episode = label(("python train.py | tail -n 1", 0, [1, 0]),
                           ("python train.py | tail -n 1", 0, [0, 0]))  # fmt: skip
    assert steps.recovered_by_step == [1, None] and steps.is_retry_of == [None, 0]


# 2. interrupted


@pytest.mark.parametrize(
    ("exit_code", "pipestatus", "interrupted"),
    [
        (130, None, True),  # Ctrl-C
        (143, None, True),  # SIGTERM (scancel, kill)
        (130, [130, 130], True),
        (0, [130, 0], True),  # python train.py | tee -i log, interrupted
        (137, None, False),  # SIGKILL (the OOM killer): a failure
        (1, [1, 0], False),
        (0, None, False),
        (None, None, False),
    ],
)
def test_interrupted(exit_code, pipestatus, interrupted):
    assert labels.is_interrupted(exit_code, pipestatus=pipestatus) is interrupted
    if interrupted:  # its result is unknown, even with the KeyboardInterrupt traceback
        assert labels.failed_label(exit_code, True, pipestatus=pipestatus) is None


def test_an_interrupted_run_is_no_failure_to_recover():
    steps, episode = label(("python train.py", 130), ("python train.py", 0))
    assert steps.recovered_by_step == [None, None] and steps.is_retry_of == [None, None]
    assert episode.failures == 0 and episode.recoveries == 0


def test_an_interrupted_run_is_passed_over_by_retries_and_recoveries():
    run = "pytest tests/a.py"
    steps, episode = label((run, 1), (run, 130), "save", (run, 0))
    assert steps.is_retry_of == [None, 0, None, 0]  # both tried again what failed at 0
    assert steps.recovered_by_step == [3, None, None, None]
    assert episode.retries == 2 and episode.failures == 1
    steps, _ = label((run, 1), (run, 130), (run, 0), interrupted=False)  # failed alone
    assert steps.recovered_by_step == [2, None, None] and steps.is_retry_of == [None, 0, None]


# 3. command keys skip option values; launchers key as what they launch


@pytest.mark.parametrize(
    ("command", "key"),
    [(example, key) for row in commands.PROGRAMS for example, key in row.examples],
)
def test_program_table_examples(command, key):
    assert command_key(command) == key


def test_every_program_row_has_examples():
    assert all(row.examples for row in commands.PROGRAMS)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("srun -p gpu python train.py", "python train.py"),
        ("torchrun --nproc_per_node 8 train.py", "python train.py --epochs 3"),
        ("CUDA_VISIBLE_DEVICES=0 python3 train.py", "accelerate launch --num_processes 2 train.py"),
        ("python -m pytest -k x tests/a.py", "pytest tests/a.py -m slow"),
    ],
)
def test_launchers_share_the_key_of_what_they_launch(a, b):
    assert command_key(a) == command_key(b) is not None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("srun -p gpu python train.py", "srun -p gpu python eval.py"),
        ("torchrun --nproc_per_node 8 train.py", "torchrun --nproc_per_node 8 eval.py"),
        ("pytest -k x tests/a.py", "pytest -k x tests/b.py"),
    ],
)
def test_unrelated_commands_with_equal_options_differ(a, b):
    assert command_key(a) != command_key(b)
    steps, _ = label((a, 1), (b, 0))
    assert steps.recovered_by_step == [None, None] and steps.is_retry_of == [None, None]


# 4. edit-run-fix loops: a save or a terminal editor between the failure and its rerun


@pytest.mark.parametrize(
    "fix", [["save"], [("vim train.py", 0)], [("vim train.py", 0), "save"], [("nano a.py", 0)]]
)
def test_run_fail_fix_run_is_a_loop(fix):
    steps, episode = label(("git status", 0), ("python train.py", 1), *fix,
                           ("python train.py", 0), ("git diff", 0))  # fmt: skip
    assert steps.in_loop == [False] + [True] * (len(fix) + 2) + [False]
    assert episode.loop_steps == len(fix) + 2


def test_a_loop_starts_at_the_edit_before_the_failing_run():
    steps, _ = label(("ls", 0), ("vim a.py", 0), ("pytest", 1), ("vim a.py", 0), ("pytest", 0))
    assert steps.in_loop == [False, True, True, True, True]


def test_no_fix_between_failure_and_rerun_is_no_loop():
    steps, _ = label(("vim a.py", 0), ("pytest", 1), ("ls", 0), ("pytest", 0))
    assert steps.in_loop == [False] * 4


# 5. any successful rerun recovers, whatever the program


@pytest.mark.parametrize(
    ("failing", "passing"),
    [
        ("python train.py", "python train.py --lr 1e-4"),
        ("python train.py", "srun -p gpu --gres=gpu:1 python train.py"),
        ("torchrun --nproc_per_node 8 train.py", "torchrun --nproc_per_node 4 train.py"),
        ("python eval.py --ckpt a.pt", "nohup python eval.py --ckpt b.pt"),
    ],
)
def test_a_training_or_evaluation_rerun_recovers(failing, passing):
    steps, episode = label((failing, 1), ("vim train.py", 0), (passing, 0))
    assert steps.recovered_by_step == [2, None, None]
    assert steps.time_to_recovery_ms == [2000, None, None]
    assert episode.recoveries == 1


# 6. success without tests


@pytest.mark.parametrize(
    ("steps", "success"),
    [
        ([("python train.py", 1), "save", ("python train.py", 0)], True),
        ([("ls", 0), ("git push", 1)], False),  # a failure at the end
        ([("python train.py", 0), ("python eval.py", 2)], False),
        ([("python train.py", 1), ("python eval.py", 0)], None),  # a failure never recovered
        ([("python train.py", 0), ("python train.py", 130)], True),  # interrupted: unknown
        ([("python train.py", 1), ("python train.py", 130)], False),
        ([("python train.py", 0), ("recorder task 'next'", 0)], True),  # the recorder's own
        ([("python train.py", 1), ("recorder stop", 0)], False),
        ([("python train.py", 0), ("vim notes.md", 1)], True),  # an editor's exit says nothing
        ([("python train.py", 130)], None),
        ([("recorder task x", 0)], None),
        (["save", "save"], None),  # no command
        ([("pytest", 1), ("python train.py", 0)], False),  # a test run decides
    ],
)
def test_success_without_tests(steps, success):
    assert label(*steps)[1].success is success


# 7. the recorder's own commands and exit_status


@pytest.mark.parametrize(
    ("command", "own"),
    [
        ("recorder task 'fix the loader'", True),
        ("recorder stop", True),
        ("~/.local/bin/recorder pause", True),
        ("/home/me/.venv/bin/recorder export --out ds", True),
        ("python -m recorder status", True),
        ("python3 -m recorder.cli task x", True),
        ("uv run recorder export", True),
        ("cd ~ && recorder stop", True),
        ("recorder task x && pytest", False),  # it ran pytest too
        ("pytest", False),
        ("ls recorder", False),
        ("vim recorder/cli.py", False),
        ("", False),
        (None, False),
    ],
)
def test_is_recorder_command(command, own):
    assert commands.is_recorder_command(command) is own


@pytest.mark.parametrize(
    ("commands", "codes", "status"),
    [
        (["python train.py", "recorder task next"], [1, 0], 1),
        (["pytest", "~/.local/bin/recorder stop"], [0, 3], 0),
        (["make", "python -m recorder task x", "recorder stop"], [2, 0, 0], 2),
        (["recorder task x"], [0], None),
        ([], [], None),
        (["sleep 100"], [None], None),  # never ended
        (["python train.py", "ls"], [1, 0], 0),
    ],
)
def test_episode_exit_status(commands, codes, status):
    keys = [command_key(c) for c in commands]
    assert labels.episode_exit_status(keys, codes) == status
