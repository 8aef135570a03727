"""Attribution end to end: a vim save in one pane and an IDE-style save made outside any
shell, while a long training run works in another pane, are edit steps of their own; the
checkpoint the run writes stays its outcome (docs/labels.md, "Attribution")."""

from __future__ import annotations

import shutil

import pytest
from commandkit import wait_commands
from filekit import wait_for_events
from researchkit import finish_run, ide_save, start_long_run, vim_append, watched_project
from sessionkit import export_rows

pytestmark = pytest.mark.slow  # end to end: real shells and vim in tmux, a watched repo


@pytest.mark.long
def test_saves_during_a_long_run_in_another_pane_are_edits(lab, run_cli, lay, tmp_path):
    if shutil.which("vim") is None:
        pytest.skip("vim is not installed")
    repo, marks = watched_project(tmp_path, run_cli, {"x.py": "a = 1\n", "README.md": "# demo\n"})
    trainer, editor = start_long_run(lab, repo)
    vim_append(editor, "x.py", "b = 2")

    ide_save(repo / "README.md")
    wait_for_events(lambda rows: any(r["path"] == "README.md" for r in rows))

    finish_run(trainer, marks)
    wait_commands(lay, 4)
    run_cli("stop")

    steps = export_rows(lay, tmp_path / "out")["steps"]
    train = next(s for s in steps if (s["action"]["command"] or "").startswith("python3 train"))
    assert train["outcome"]["files_changed"] == ["ckpt/epoch1.txt"]
    edits = [(s["action"]["type"], s["action"]["path"]) for s in steps if s["action"]["path"]]
    assert ("edit", "x.py") in edits and ("edit", "README.md") in edits
    assert ("create", "ckpt/epoch1.txt") not in edits
