"""The file collector reads nothing outside its watched trees, whatever the symlinks say.

A tracked directory swapped for a symlink while recording (``sub -> /elsewhere``,
``cfg -> ~/.ssh``) must not lead the collector out of the tree; a tree 1,000
levels deep must not stop it. All through the real daemon and inotify.
"""

from __future__ import annotations

import os
import shutil

import pytest
from filekit import changes_of, collector_status, wait_for_events
from logkit import stored_blobs

from recorder.paths import layout

pytestmark = pytest.mark.slow

OUTSIDE_TEXT = "OUTSIDE-THE-TREE-5d1c"


def swap_for_symlink(directory, target) -> None:
    shutil.rmtree(directory)
    os.symlink(target, directory)


@pytest.fixture
def deep_trees():
    """Makes ``top/d/d/.../d`` trees, and removes them from the bottom up afterwards
    (``os.makedirs`` and ``shutil.rmtree`` recurse, and stop at Python's recursion limit)."""
    made = []

    def make(top, levels: int):
        deep = top
        for _ in range(levels):
            deep = deep / "d"
            deep.mkdir()
            made.append(deep)
        return deep

    yield make
    for directory in reversed(made):
        for entry in directory.iterdir() if directory.is_dir() else ():
            if not entry.is_dir():
                entry.unlink()
        directory.rmdir()


def everything_under(home) -> bytes:
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file() and not p.is_symlink())


def test_a_directory_swapped_for_a_symlink_is_not_followed(wr, tmp_path, recorder_home):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    wr.write("sub/a.py", "print(1)\n")
    wr.start()
    swap_for_symlink(wr.repo / "sub", elsewhere)
    (elsewhere / "planted.txt").write_text(OUTSIDE_TEXT + "\n")
    (elsewhere / "a.py").write_text(OUTSIDE_TEXT + " again\n")
    # A save inside the tree after the swap: once it is in the log, so is anything before it.
    (wr.repo / "f.py").write_text("a\nB\nc\n")
    wait_for_events(lambda rows: ("save", "f.py", None) in changes_of(rows))
    rows = wr.stop()
    paths = {r["path"] for r in rows}
    assert "sub/planted.txt" not in paths
    assert not any(OUTSIDE_TEXT.encode() in blob for blob in stored_blobs(layout()))
    assert OUTSIDE_TEXT.encode() not in everything_under(recorder_home)
    # The directory is gone from the tree: its file is recorded as deleted, nothing more.
    assert ("delete", "sub/a.py", None) in changes_of(rows)


def test_a_directory_swapped_for_a_link_to_ssh_reads_nothing(wr, tmp_path, recorder_home):
    ssh = tmp_path / "fakehome" / ".ssh"
    ssh.mkdir(parents=True)
    (ssh / "config").write_text(f"Host build\n  User {OUTSIDE_TEXT}\n")
    wr.write("cfg/settings.toml", "x = 1\n")
    wr.start()
    swap_for_symlink(wr.repo / "cfg", ssh)
    (ssh / "config").write_text(f"Host build2\n  User {OUTSIDE_TEXT}\n")
    (ssh / "known").write_text(OUTSIDE_TEXT + "\n")
    (wr.repo / "f.py").write_text("a\nB\nc\n")
    wait_for_events(lambda rows: ("save", "f.py", None) in changes_of(rows))
    rows = wr.stop()
    assert not [
        r for r in rows if (r["path"] or "").startswith("cfg/") and r["event_type"] != "delete"
    ]
    assert OUTSIDE_TEXT.encode() not in everything_under(recorder_home)


def test_a_tree_a_thousand_levels_deep_does_not_stop_the_collector(wr, deep_trees):
    wr.start()
    deep = deep_trees(wr.repo, 1000)
    (deep / "bottom.txt").write_text("deep\n")
    # A thousand new directories to watch, one by one: slow on a loaded machine.
    (wr.repo / "f.py").write_text("a\nB\nc\n")
    wait_for_events(lambda rows: ("save", "f.py", None) in changes_of(rows), timeout=240)
    assert collector_status()["state"] != "failed"
    (wr.repo / "README.md").write_text("# still recording\n")
    wait_for_events(lambda rows: ("save", "README.md", None) in changes_of(rows), timeout=240)
    wr.stop()


def test_a_thousand_levels_at_start_is_walked_without_failing(wr, deep_trees):
    deep = deep_trees(wr.repo, 1000)
    (deep / "bottom.txt").write_text("deep\n")
    status = wr.start()
    assert status["state"] == "ready"
    (wr.repo / "f.py").write_text("a\nB\nc\n")
    rows = wr.stop()
    assert ("save", "f.py", None) in changes_of(rows)
