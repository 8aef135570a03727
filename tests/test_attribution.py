"""The attribution rule (exporters/attribution.py) on hand-built commands and changes."""

from __future__ import annotations

import pytest

from exporters.attribution import FOREGROUND_US, Change, Running, owner
from exporters.commands import command_key

S = 1_000_000  # one second in microseconds
REPO = "~/proj"


def run(command: str, start: float, end: float, cwd: str = REPO) -> Running:
    key = command_key(command)
    editor = key is not None and key[0] in ("vim", "nvim", "nano", "emacs")
    return Running(int(start * S), int(end * S), key, command, cwd, editor)


def save(path: str, at: float, replaces: bool = True) -> Change:
    return Change(int(at * S), "save", f"{REPO}/{path}", True, replaces)


def create(path: str, at: float) -> Change:
    return Change(int(at * S), "create", f"{REPO}/{path}", True, False)


def test_nothing_running_is_an_edit():
    assert owner(save("x.py", 5), []) is None
    assert owner(save("x.py", 50), [run("ls", 0, 1)]) is None


def test_a_short_command_owns_what_changes_while_it_runs():
    commands = [run("python gen.py", 10, 11)]
    assert owner(save("x.py", 10.5), commands) == 0
    assert owner(create("out/y.txt", 11.3), commands) == 0  # within the slack after its end


def test_a_command_naming_the_file_owns_it_even_when_long():
    commands = [run("python train.py --epochs 40", 0, 600), run("sed -i s/a/b/ x.py", 100, 100.1)]
    assert owner(save("x.py", 100.05), commands) == 1
    assert owner(save("src/m.py", 300), [run("black src/", 0, 900)]) == 0
    assert owner(save("gen/a_pb2.py", 300), [run("protoc --python_out=gen a.proto", 0, 900)]) == 0


def test_a_vim_save_while_a_job_runs_in_another_pane_is_an_edit():
    commands = [run("vim x.py", 0, 900), run("python train.py --epochs 40", 5, 600)]
    assert owner(save("x.py", 100), commands) is None


def test_an_ide_save_during_a_long_job_is_an_edit():
    commands = [run("python train.py --epochs 40", 0, 600)]
    assert owner(save("README.md", 120), commands) is None


def test_a_long_job_keeps_its_checkpoints_logs_and_deletions():
    commands = [run("python train.py --epochs 40", 0, 600)]
    assert owner(create("ckpt/epoch3.pt", 300), commands) == 0
    assert owner(save("metrics.csv", 300, replaces=False), commands) == 0  # appended
    binary = Change(300 * S, "save", f"{REPO}/model.pt", False, False)
    assert owner(binary, commands) == 0
    assert owner(Change(310 * S, "delete", f"{REPO}/ckpt/epoch1.pt", True, True), commands) == 0


def test_a_young_command_owns_changes_but_a_young_editor_does_not():
    assert owner(save("x.py", 1 + FOREGROUND_US / S - 0.5), [run("git checkout main", 1, 10)]) == 0
    assert owner(save("x.py", 3), [run("vim x.py", 2, 60)]) is None


def test_a_young_command_beats_a_long_job_and_an_open_editor():
    commands = [
        run("vim notes.md", 0, 900),
        run("python train.py", 1, 800),
        run("black .", 500, 501),
    ]
    assert owner(save("x.py", 500.5), commands) == 2


def test_a_rewriting_tool_that_runs_long_owns_saves():
    commands = [run("make -j 8", 0, 120)]
    assert owner(save("docs/api.md", 60), commands) == 0


@pytest.mark.parametrize(
    ("command", "path", "named"),
    [
        ("python train.py --data .", "x.py", False),  # the working directory names nothing
        ("python train.py --out=runs/a", "runs/a/log.txt", True),
        ("cp a.py b.py", "b.py", True),
        ("cat ../other/x.py", "x.py", False),
    ],
)
def test_which_arguments_name_a_file(command, path, named):
    commands = [run(command, 0, 600)]
    change = save(path, 300)
    assert (owner(change, commands) == 0) is named


def changed(path: str, seen: float, written: float | None) -> Change:
    """A save the watcher reported at ``seen`` of a file whose ctime says ``written``."""
    at = None if written is None else int(written * S)
    return Change(int(seen * S), "save", f"{REPO}/{path}", True, True, at)


def test_a_save_written_just_after_a_command_ended_is_an_edit():
    # A quick hand (or an IDE) saves 0.1 s after `python check.py` fails: the watcher's
    # slack would give the save to the command; the file's ctime says it came after it.
    commands = [run("python check.py", 10, 10.2)]
    assert owner(changed("calc.py", 10.35, 10.3), commands) is None
    assert owner(save("calc.py", 10.35), commands) == 0  # without a ctime: the slack decides


def test_a_write_reported_late_still_belongs_to_the_command_that_made_it():
    # Under load the watcher reports a command's write 2 s after the command ended.
    commands = [run("python gen.py", 10, 10.5)]
    assert owner(changed("out.py", 12.5, 10.4), commands) == 0
    assert owner(save("out.py", 12.5), commands) is None


def test_the_clock_tick_of_a_ctime_does_not_move_a_write_out_of_its_command():
    # ctime comes from the kernel's coarse clock: up to a tick (1-10 ms) before the truth.
    commands = [run("python gen.py", 10, 10.5)]
    assert owner(changed("out.py", 10.01, 10 - 0.008), commands) == 0
