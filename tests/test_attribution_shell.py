"""Attribution end to end: a vim save in one pane and an IDE-style save made outside any
shell, while a long training run works in another pane, are edit steps of their own; the
checkpoint the run writes stays its outcome (docs/labels.md, "Attribution")."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest
from commandkit import wait_commands
from filekit import make_repo, wait_for_events, wait_ready
from sessionkit import export_rows

from exporters.attribution import FOREGROUND_US

pytestmark = pytest.mark.slow  # end to end: real shells and vim in tmux, a watched repo

# Waits for the test's marks (outside the watched tree) before each of its moves.
TRAIN = """\
import os, time
print("training started", flush=True)
while not os.path.exists("{marks}/go"):
    time.sleep(0.05)
os.makedirs("ckpt", exist_ok=True)
with open("ckpt/epoch1.txt", "w") as fh:
    fh.write("weights 1\\n")
while not os.path.exists("{marks}/done"):
    time.sleep(0.05)
print("training done", flush=True)
"""

IDE_SAVE = """\
import sys
path = sys.argv[1]
text = open(path).read().replace("# demo", "# demo, documented")
with open(path, "w") as fh:  # in place, as VS Code saves
    fh.write(text)
"""


def test_saves_during_a_long_run_in_another_pane_are_edits(lab, run_cli, lay, tmp_path):
    if shutil.which("vim") is None:
        pytest.skip("vim is not installed")
    marks = tmp_path / "marks"
    marks.mkdir()
    train = TRAIN.replace("{marks}", str(marks))
    files = {"x.py": "a = 1\n", "README.md": "# demo\n", "train.py": train}
    repo = make_repo(tmp_path / "proj", files)
    run_cli("start", "--watch", str(repo))
    wait_ready()
    trainer, editor = lab.spawn("bash"), lab.spawn("bash")
    trainer.run(f"cd {repo}")
    editor.run(f"cd {repo}")
    trainer.run("python3 train.py --epochs 40", wait=False)
    trainer.wait_visible("training started")
    # The rule is about time: the run must be older than the window in which a change is
    # taken to be the doing of what was just launched.
    time.sleep(FOREGROUND_US / 1e6 + 0.5)

    editor.run("vim -u NONE -i NONE -N x.py", wait=False)
    editor.wait_foreground("vim")
    editor.keys("G", "o", "b = 2", "Escape", ":w", "Enter")
    wait_for_events(lambda rows: any(r["path"] == "x.py" for r in rows))
    editor.keys(":q", "Enter")
    editor.wait_prompt()

    ide = tmp_path / "ide_save.py"
    ide.write_text(IDE_SAVE)
    subprocess.run([sys.executable, str(ide), str(repo / "README.md")], check=True)
    wait_for_events(lambda rows: any(r["path"] == "README.md" for r in rows))

    (marks / "go").write_text("")
    wait_for_events(lambda rows: any(r["path"] == "ckpt/epoch1.txt" for r in rows))
    (marks / "done").write_text("")
    trainer.wait_visible("training done")
    trainer.wait_prompt()
    wait_commands(lay, 4)
    run_cli("stop")

    steps = export_rows(lay, tmp_path / "out")["steps"]
    train = next(s for s in steps if (s["action"]["command"] or "").startswith("python3 train"))
    assert train["outcome"]["files_changed"] == ["ckpt/epoch1.txt"]
    edits = [(s["action"]["type"], s["action"]["path"]) for s in steps if s["action"]["path"]]
    assert ("edit", "x.py") in edits and ("edit", "README.md") in edits
    assert ("create", "ckpt/epoch1.txt") not in edits
