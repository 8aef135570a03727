"""What the file collector reads, what it must not, and bad input it must survive.

Ignored, secret-bearing, binary, large, unreadable and vanishing files, symlink
loops, non-UTF-8 names and contents, a watched directory that disappears and the
inotify watch limit: all through the real daemon and the real inotify observer.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from filekit import (
    changes_of,
    collector_status,
    file_events,
    wait_for_events,
    wait_ready,
)
from logkit import stored_blobs

from recorder.collectors.snapshots import hash_bytes
from recorder.paths import layout

pytestmark = pytest.mark.slow  # end to end: a daemon watching a real repository


def all_blob_contents() -> list[bytes]:
    return stored_blobs(layout())


def log_and_spool_text(home) -> str:
    """Everything the recorder keeps on disk, as text: the database and the spool."""
    chunks = []
    for path in home.rglob("*"):
        if path.is_file():
            chunks.append(path.read_bytes().decode("latin-1"))
    return "".join(chunks)


def test_ignored_paths_are_not_read_nor_watched(wr):
    wr.write(".gitignore", "*.log\ndata/\n")
    wr.write("sub/.gitignore", "!keep.log\n")
    wr.write("myenv/pyvenv.cfg", "home = /usr\n")
    wr.write("node_modules/pkg/index.js", "old\n")
    status = wr.start()
    # repo, sub, myenv is a virtualenv: pruned; node_modules: pruned.
    assert status["watched_dirs"] == 2
    marker = "IGNORED-CONTENT-7f3a"
    for name in (
        "x.log",
        "data/rows.csv",
        "node_modules/pkg/index.js",
        "myenv/lib/mod.py",
        "build/out.txt",
        "__pycache__/m.cpython-311.pyc",
        "pkg/mod.pyc",
        ".git/notes",
    ):
        wr.write(name, marker + "\n")
    wr.write("sub/keep.log", "kept\n")
    wr.write("sub/other.log", marker + "\n")
    (wr.repo / "f.py").write_text("a\nB\nc\n")
    rows = wr.stop()
    assert sorted(changes_of(rows)) == [("create", "sub/keep.log", None), ("save", "f.py", None)]
    assert not any(marker.encode() in blob for blob in all_blob_contents())


def test_secret_files_are_recorded_without_content(wr, recorder_home):
    secret = "sk-live-5b1e0c9d2f"
    wr.write(".env", f"API_KEY={secret}\n")
    wr.start()
    wr.write("deploy/server.pem", f"-----BEGIN PRIVATE KEY-----\n{secret}\n")
    wr.write("id_ed25519", f"{secret}\n")
    wr.write("id_utils.py", "def ident(): pass\n")  # not a key: an ordinary source file
    wait_for_events(lambda rows: len(changes_of(rows)) == 3)
    subprocess.run(["sed", "-i", f"s/{secret}/{secret}2/", str(wr.repo / ".env")], check=True)
    rows = wr.stop()
    assert sorted(changes_of(rows)) == [
        ("create", "deploy/server.pem", None),
        ("create", "id_ed25519", None),
        ("create", "id_utils.py", None),
        ("save", ".env", None),
    ]
    for row in rows:
        if row["path"] in (".env", "deploy/server.pem", "id_ed25519"):
            assert row["extra"]["content"] == "secret"
            assert row["diff"] is None and row["hash_after"] is None and row["size_bytes"] is None
    assert secret not in log_and_spool_text(recorder_home)


def test_user_excluded_paths_are_never_opened(wr, recorder_home):
    lay = layout()
    lay.config.write_text('researcher_id = "r-test"\n[record]\nexclude_paths = ["private/"]\n')
    wr.start()
    wr.write("private/notes.md", "my diary\n")
    rows = wr.stop()
    assert changes_of(rows) == [("create", "private/notes.md", None)]
    assert rows[-1]["extra"]["content"] == "secret" and rows[-1]["diff"] is None
    assert "my diary" not in log_and_spool_text(recorder_home)


def test_binary_and_large_files_are_metadata_only(wr):
    wr.start()
    binary = b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 4
    large = ("x" * 99 + "\n").encode() * (1024 * 1024 // 100 + 1)  # just over 1 MiB
    wr.write("img.png", binary)
    wr.write("big.txt", large)
    rows = wr.stop()
    events = {r["path"]: r for r in rows if r["event_type"] == "create"}
    assert set(events) == {"img.png", "big.txt"}
    assert events["img.png"]["extra"]["content"] == "binary"
    assert events["img.png"]["hash_after"] == hash_bytes(binary)
    assert events["img.png"]["size_bytes"] == len(binary)
    assert events["big.txt"]["extra"]["content"] == "large"
    assert events["big.txt"]["hash_after"] == hash_bytes(large)
    assert events["big.txt"]["size_bytes"] == len(large)
    assert all(e["diff"] is None for e in events.values())
    blobs = all_blob_contents()
    assert binary not in blobs and large not in blobs


def test_file_deleted_between_event_and_read(wr):
    wr.start()
    path = wr.write("tmpdata.py", "v = 1\n")
    wait_for_events(lambda rows: ("create", "tmpdata.py", None) in changes_of(rows))
    # A write whose file is gone by the time it settles: a delete, and no save.
    path.write_text("v = 2\n")
    path.unlink()
    # Created and removed at once: nothing to record.
    flash = wr.write("flash.py", "gone\n")
    flash.unlink()
    (wr.repo / "f.py").write_text("after\n")
    rows = wr.stop()
    assert changes_of(rows) == [
        ("create", "tmpdata.py", None),
        ("delete", "tmpdata.py", None),
        ("save", "f.py", None),
    ]
    delete = next(r for r in rows if r["event_type"] == "delete")
    assert delete["hash_before"] == hash_bytes(b"v = 1\n")


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv to drop root's override")
def test_unreadable_file_is_skipped_and_recording_goes_on(wr, run_cli):
    locked = wr.write("locked.py", "hidden = 1\n")
    locked.chmod(0)
    prefix = []
    if os.geteuid() == 0:  # root reads anything unless it loses CAP_DAC_OVERRIDE
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    subprocess.run(
        [*prefix, shutil.which("recorder"), "start", "--watch", str(wr.repo)],
        check=True,
        capture_output=True,
    )
    wait_ready()
    locked.write_text("hidden = 2\n")  # this process may still write it
    (wr.repo / "f.py").write_text("a\nB\nc\n")
    wait_for_events(lambda rows: ("save", "f.py", None) in changes_of(rows))
    assert collector_status()["unreadable"] == 1
    rows = wr.stop()
    assert changes_of(rows) == [("save", "f.py", None)]


def test_symlinks_and_symlink_loops(wr):
    os.symlink("loop_b", wr.repo / "loop_a")
    os.symlink("loop_a", wr.repo / "loop_b")
    os.symlink(".", wr.repo / "self")
    os.symlink("f.py", wr.repo / "link.py")
    status = wr.start()
    assert status["tracked_files"] == 2  # f.py and README.md: links are not followed
    os.symlink("README.md", wr.repo / "link2.md")
    (wr.repo / "f.py").write_text("a\nB\nc\n")
    rows = wr.stop()
    assert changes_of(rows) == [("save", "f.py", None)]


def test_non_utf8_names_and_contents(wr, run_cli):
    wr.start()
    raw_name = os.fsdecode(b"caf\xe9.txt")
    latin1 = b"caf\xe9 au lait\n"
    (wr.repo / raw_name).write_bytes(latin1)
    rows = wr.stop()
    assert changes_of(rows) == [("create", "caf\\xe9.txt", None)]
    event = rows[-1]
    assert event["diff"] == "--- /dev/null\n+++ b/caf\\xe9.txt\n@@ -0,0 +1 @@\n+caf\\xe9 au lait\n"
    assert event["hash_after"] == hash_bytes(latin1)
    assert latin1 in all_blob_contents()
    # The raw name survives a restart: no phantom delete/create at the next reconcile.
    wr.start()
    rows = wr.stop()
    reconciles = [r for r in rows if r["event_type"] == "reconcile"]
    assert reconciles[-1]["extra"]["counts"] == {}


@pytest.mark.long
def test_watched_directory_that_disappears_and_comes_back(wr, tmp_path, run_cli):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("n\n")
    run_cli("start", "--watch", str(wr.repo), "--watch", str(other))
    wait_ready()
    shutil.rmtree(other)
    (wr.repo / "f.py").write_text("a\nB\nc\n")
    rows = wait_for_events(lambda rows: ("delete", "notes.txt", None) in changes_of(rows))
    assert any("disappeared" in w for w in collector_status()["warnings"])
    other.mkdir()
    (other / "back.txt").write_text("back\n")
    rows = wait_for_events(
        lambda rows: ("create", "back.txt", None) in changes_of(rows), timeout=30
    )
    (other / "back.txt").write_text("back again\n")
    rows = wr.stop()
    assert sorted(changes_of(rows)) == [
        ("create", "back.txt", None),
        ("delete", "notes.txt", None),
        ("save", "back.txt", None),
        ("save", "f.py", None),
    ]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare")
def test_inotify_watch_limit(wr, run_cli):
    for i in range(30):
        wr.write(f"d{i:02d}/m.py", f"m = {i}\n")
    # A user namespace of our own, whose inotify watch limit we may lower to 10.
    script = 'echo 10 > /proc/sys/user/max_inotify_watches && exec "$0" start --watch "$1"'
    proc = subprocess.run(
        ["unshare", "-U", "-r", "sh", "-c", script, shutil.which("recorder"), str(wr.repo)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot lower the watch limit here: {proc.stderr.strip()}")
    status = wait_ready()
    assert status["unwatched_dirs"] == 31 - 10
    assert status["watched_dirs"] == 10
    [warning] = status["warnings"]
    assert "fs.inotify.max_user_watches" in warning and "21 directories" in warning
    shown = run_cli("status").stdout
    assert "files: inotify watch limit reached: 21 directories" in shown
    (wr.repo / "f.py").write_text("a\nB\nc\n")  # the root is watched: recorded live
    wait_for_events(lambda rows: ("save", "f.py", None) in changes_of(rows))
    unwatched = status["unwatched_examples"][0]
    rel = os.path.relpath(unwatched, wr.repo) + "/m.py"
    (wr.repo / rel).write_text("changed\n")  # not watched: found at the next start
    run_cli("stop")
    assert ("save", rel, None) not in changes_of(file_events())
    run_cli("start", "--watch", str(wr.repo))
    wait_ready()
    rows = wr.stop()
    offline = [r for r in rows if r["extra"].get("offline")]
    assert changes_of(offline) == [("save", rel, None)]
