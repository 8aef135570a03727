"""Each way editors and tools save a file comes out as exactly one event with the exact diff.

Real files, the real inotify observer inside the daemon started by `recorder start --watch`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

import pytest
from filekit import changes_of, collector_status, git, wait_for_events, widen_debounce
from waitkit import wait_until

from recorder.collectors.snapshots import hash_bytes

pytestmark = pytest.mark.slow  # end to end: a daemon watching a real repository

EXPECTED_DIFF = "--- a/f.py\n+++ b/f.py\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
NEW = "a\nB\nc\n"


def in_place(path):
    with open(path, "r+") as fh:
        fh.write(NEW)
        fh.truncate()


def truncate_and_write(path):
    path.write_text(NEW)


def atomic_random_temp(path):
    # Python's and many tools' atomic writers: a temporary with a random name, renamed over.
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(NEW)
    os.replace(tmp, path)


def atomic_named_temp(path):
    # VS Code / atomicwrites style: a hidden temporary next to the file.
    tmp = path.parent / f".{path.name}.tmp"
    tmp.write_text(NEW)
    os.rename(tmp, path)


def jetbrains_safe_write(path):
    tmp = path.parent / f"{path.name}.___jb_tmp___"
    old = path.parent / f"{path.name}.___jb_old___"
    tmp.write_text(NEW)
    os.rename(path, old)
    os.rename(tmp, path)
    os.unlink(old)


def emacs_save(path):
    # What emacs does on a first save: a lock symlink, an auto-save file, the backup made
    # by renaming the original to file~, the new file written, then lock and auto-save removed.
    lock = path.parent / f".#{path.name}"
    autosave = path.parent / f"#{path.name}#"
    os.symlink(f"user@host.{os.getpid()}:1700000000", lock)
    autosave.write_text(NEW)
    os.rename(path, path.parent / f"{path.name}~")
    path.write_text(NEW)
    os.unlink(autosave)
    os.unlink(lock)


def sed_in_place(path):
    subprocess.run(["sed", "-i", "s/^b$/B/", str(path)], check=True)


def _vim(path, backupcopy):
    if shutil.which("vim") is None:
        pytest.skip("vim is not installed")
    subprocess.run(
        [
            "vim",
            "-es",
            "-u",
            "NONE",
            "-i",
            "NONE",
            "-N",
            "-c",
            f"set backupcopy={backupcopy} writebackup",
            "-c",
            "%s/^b$/B/",
            "-c",
            "wq",
            str(path),
        ],
        check=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def vim_backup_rename(path):
    _vim(path, "no")


def vim_backup_copy(path):
    _vim(path, "yes")


SAVES = [
    in_place,
    truncate_and_write,
    atomic_random_temp,
    atomic_named_temp,
    jetbrains_safe_write,
    emacs_save,
    sed_in_place,
    vim_backup_rename,
    vim_backup_copy,
]


@pytest.mark.parametrize("save", SAVES, ids=[s.__name__ for s in SAVES])
def test_save_pattern_is_one_save_with_exact_diff(wr, save):
    wr.start()
    save(wr.repo / "f.py")
    rows = wr.stop()
    assert changes_of(rows) == [("save", "f.py", None)]
    event = next(r for r in rows if r["event_type"] == "save")
    assert event["diff"] == EXPECTED_DIFF
    assert (event["lines_added"], event["lines_removed"]) == (1, 1)
    assert event["hash_before"] == hash_bytes(b"a\nb\nc\n")
    assert event["hash_after"] == hash_bytes(NEW.encode())
    assert event["repo"] == str(wr.repo) and event["size_bytes"] == len(NEW)
    assert event["git_branch"] == "main"
    assert event["git_head"] == git(wr.repo, "rev-parse", "HEAD").strip()


def test_diff_matches_git(wr):
    wr.start()
    before = "".join(f"line {i}\n" for i in range(40))
    after = before.replace("line 5\n", "line five\n").replace("line 30\n", "") + "tail"
    path = wr.write("g.txt", before)
    wait_for_events(lambda rows: ("create", "g.txt", None) in changes_of(rows))
    path.write_text(after)
    rows = wr.stop()
    save = [r for r in rows if r["event_type"] == "save" and r["path"] == "g.txt"]
    assert len(save) == 1
    old = wr.repo.parent / "old.txt"
    old.write_text(before)
    proc = subprocess.run(
        ["git", "diff", "--no-index", "--no-color", str(old), str(path)],
        capture_output=True,
        text=True,
    )
    # git adds the enclosing "function" after a hunk header; the hunks are otherwise identical.
    git_hunks = re.sub(
        r"^(@@ [^@]* @@).*$", r"\1", proc.stdout[proc.stdout.index("@@") :], flags=re.M
    )
    assert save[0]["diff"][save[0]["diff"].index("@@") :] == git_hunks
    assert save[0]["diff"].endswith("+tail\n\\ No newline at end of file\n")


def test_read_only_open_and_touch_are_not_events(wr):
    wr.start()
    path = wr.repo / "f.py"
    for _ in range(3):
        path.read_text()
        subprocess.run(["cat", str(path)], check=True, capture_output=True)
    os.utime(path)
    in_place(wr.repo / "README.md")  # something that is an event, to show the log was reached
    rows = wr.stop()
    assert changes_of(rows) == [("save", "README.md", None)]


def test_create_delete_rename(wr):
    wr.start()
    new = wr.write("pkg/new.py", "x = 1\n")
    wait_for_events(lambda rows: ("create", "pkg/new.py", None) in changes_of(rows))
    os.rename(new, wr.repo / "pkg" / "renamed.py")
    wait_for_events(lambda rows: ("rename", "pkg/renamed.py", "pkg/new.py") in changes_of(rows))
    os.unlink(wr.repo / "README.md")
    rows = wr.stop()
    assert changes_of(rows) == [
        ("create", "pkg/new.py", None),
        ("rename", "pkg/renamed.py", "pkg/new.py"),
        ("delete", "README.md", None),
    ]
    create, rename, delete = [r for r in rows if r["event_type"] != "reconcile"]
    assert create["diff"] == "--- /dev/null\n+++ b/pkg/new.py\n@@ -0,0 +1 @@\n+x = 1\n"
    assert create["hash_before"] is None and create["lines_added"] == 1
    assert rename["diff"] == "" and rename["hash_before"] == rename["hash_after"]
    assert delete["diff"] == "--- a/README.md\n+++ /dev/null\n@@ -1 +0,0 @@\n-# demo\n"
    assert delete["hash_after"] is None and delete["lines_removed"] == 1


def test_git_checkout(wr):
    git(wr.repo, "checkout", "-q", "-b", "feature")
    (wr.repo / "f.py").write_text(NEW)
    (wr.repo / "added.py").write_text("print('added')\n")
    os.unlink(wr.repo / "README.md")
    git(wr.repo, "add", "-A")
    git(wr.repo, "commit", "-q", "-m", "feature")
    git(wr.repo, "checkout", "-q", "main")
    wr.start()
    git(wr.repo, "checkout", "-q", "feature")
    head = git(wr.repo, "rev-parse", "HEAD").strip()
    rows = wr.stop()
    assert sorted(changes_of(rows)) == [
        ("create", "added.py", None),
        ("delete", "README.md", None),
        ("save", "f.py", None),
    ]
    save = next(r for r in rows if r["event_type"] == "save")
    assert save["diff"] == EXPECTED_DIFF
    # The branch and HEAD are read when the event is written: after the checkout.
    assert save["git_branch"] == "feature" and save["git_head"] == head


def test_rapid_saves_of_one_file_coalesce_to_the_final_content(wr, run_cli):
    widen_debounce(run_cli)  # only the coalescing is under test, not the machine's load
    seen = wr.start()["raw_events"]
    path = wr.repo / "f.py"
    for i in range(20):
        path.write_text(f"a\nb{i}\nc\n")
    path.write_text(NEW)
    # The collector has the writes' first events; stop waits for the rest to go quiet.
    wait_until(lambda: collector_status()["raw_events"] > seen, what="the writes' events")
    rows = wr.stop()
    assert changes_of(rows) == [("save", "f.py", None)]
    assert rows[-1]["diff"] == EXPECTED_DIFF
