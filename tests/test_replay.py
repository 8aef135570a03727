"""Replay: the exported steps alone rebuild the watched repository's final state.

A researcher works in two panes of real bash in tmux: a long training run in one; in
the other, a vim save, `sed -i`, a new branch, a commit and a switch back, while an
"IDE" outside any shell saves another file. From the episode's `start_commit`, applying
every step's diffs in step order (a file step's `action.diff`, a command's
`outcome.diffs`) with `git apply` must give the tree the researcher really ended with.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from commandkit import wait_commands
from filekit import git, wait_for_events
from researchkit import finish_run, ide_save, start_long_run, vim_append, watched_project
from sessionkit import export_rows

pytestmark = pytest.mark.slow  # end to end: real shells and vim in tmux, a watched repo


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` but git's own, by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def replay(repo: Path, start_commit: str, steps: list[dict], into: Path) -> dict[str, bytes]:
    """Check out ``start_commit`` of ``repo`` into ``into`` and apply the steps' diffs."""
    git(repo, "worktree", "add", "-q", "--detach", str(into), start_commit)
    for step in steps:
        diffs = [step["action"]["diff"]] if step["action"]["diff"] else []
        diffs += [d["diff"] for d in step["outcome"]["diffs"] or [] if d["diff"]]
        for diff in diffs:
            proc = subprocess.run(
                ["git", "apply", "--whitespace=nowarn", "-"],
                input=diff.encode(), cwd=into, capture_output=True,
            )  # fmt: skip
            assert proc.returncode == 0, (step["action"], diff, proc.stderr.decode())
    return tree(into)


@pytest.mark.long
def test_the_steps_alone_rebuild_the_final_tree(lab, run_cli, lay, tmp_path):
    if shutil.which("vim") is None:
        pytest.skip("vim is not installed")
    files = {"x.py": "a = 1\nb = 2\n", "README.md": "# demo\n", "cfg.txt": "lr = 0.1\n"}
    repo, marks = watched_project(tmp_path, run_cli, files)
    trainer, editor = start_long_run(lab, repo)
    vim_append(editor, "x.py", "c = 3")

    ide_save(repo / "README.md")
    wait_for_events(lambda rows: any(r["path"] == "README.md" for r in rows))

    editor.run("sed -i 's/lr = 0.1/lr = 0.01/' cfg.txt")
    wait_for_events(lambda rows: any(r["path"] == "cfg.txt" for r in rows))
    editor.run("git checkout -q -b feature")
    editor.run("git -c user.email=r@example.org -c user.name=r commit -qam 'lower lr'")
    editor.run("echo 'd = 4' >> x.py")
    wait_for_events(lambda rows: sum(r["path"] == "x.py" for r in rows) >= 2)
    editor.run("git stash -q && git checkout -q main")
    wait_for_events(lambda rows: sum(r["path"] == "cfg.txt" for r in rows) >= 2)

    finish_run(trainer, marks)
    wait_commands(lay, 8)
    run_cli("stop")

    tables = export_rows(lay, tmp_path / "out")
    [episode] = tables["episodes"]
    assert episode["start_commit"] == git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    rebuilt = replay(repo, episode["start_commit"], tables["steps"], tmp_path / "replayed")
    assert rebuilt == tree(repo)
