"""A researcher's long job and an IDE, for the attribution and replay tests.

``train_script(marks)`` is a training run that prints ``training started``, writes its
checkpoint ``ckpt/epoch1.txt`` once ``marks/go`` exists and ends once ``marks/done``
exists (the marks live outside the watched tree, so they are nobody's file events).
``ide_save(path)`` saves a file the way an editor outside any shell does: in place,
from another process.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

_TRAIN = """\
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

_IDE_SAVE = """\
import sys
path = sys.argv[1]
text = open(path).read().replace("# demo", "# demo, documented")
with open(path, "w") as fh:  # in place, as VS Code saves
    fh.write(text)
"""


def train_script(marks: Path) -> str:
    return _TRAIN.replace("{marks}", str(marks))


def ide_save(path: Path) -> None:
    """Replace ``# demo`` with ``# demo, documented`` in ``path``, outside any shell."""
    subprocess.run([sys.executable, "-c", _IDE_SAVE, str(path)], check=True)


def start_long_run(lab, repo: Path):
    """Two bash panes in ``repo``: ``python3 train.py`` started in the first and running
    for longer than attribution's foreground window; the second at its prompt."""
    from exporters.attribution import FOREGROUND_US

    trainer, editor = lab.spawn("bash"), lab.spawn("bash")
    trainer.run(f"cd {repo}")
    editor.run(f"cd {repo}")
    trainer.run("python3 train.py --epochs 40", wait=False)
    trainer.wait_visible("training started")
    # Attribution is about time: the run must be older than the window in which a change
    # is taken to be the doing of what was just launched.
    time.sleep(FOREGROUND_US / 1e6 + 0.5)
    return trainer, editor


def vim_append(editor, name: str, line: str) -> None:
    """In the pane ``editor``: open ``name`` in vim, add ``line`` at its end, save, quit."""
    from filekit import wait_for_events

    editor.run(f"vim -u NONE -i NONE -N {name}", wait=False)
    editor.wait_foreground("vim")
    editor.keys("G", "o", line, "Escape", ":w", "Enter")
    wait_for_events(lambda rows: any(r["path"] == name for r in rows))
    editor.keys(":q", "Enter")
    editor.wait_prompt()


def finish_run(trainer, marks: Path) -> None:
    """Let the run write its checkpoint, then end, and wait for its prompt."""
    from filekit import wait_for_events

    (marks / "go").write_text("")
    wait_for_events(lambda rows: any(r["path"] == "ckpt/epoch1.txt" for r in rows))
    (marks / "done").write_text("")
    trainer.wait_visible("training done")
    trainer.wait_prompt()


def watched_project(tmp_path: Path, run_cli, files: dict[str, str]) -> tuple[Path, Path]:
    """A git repository holding ``files`` and ``train.py``, recorded and watched (the file
    collector ready); (the repository, the folder of the run's marks)."""
    from filekit import make_repo, wait_ready

    marks = tmp_path / "marks"
    marks.mkdir()
    repo = make_repo(tmp_path / "proj", {**files, "train.py": train_script(marks)})
    run_cli("start", "--watch", str(repo))
    wait_ready()
    return repo, marks
