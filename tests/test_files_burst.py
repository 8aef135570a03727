"""A 10,000-file burst: nothing lost, one summary linked to the running command, then idle again."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from filekit import (
    WatchedRepo,
    changes_of,
    collector_status,
    file_events,
    wait_for_events,
)
from logkit import log_sql, stored_blob_hashes
from waitkit import wait_until

from recorder import client
from recorder import records as R
from recorder.collectors.snapshots import diff_from_log, hash_bytes
from recorder.eventlog import open_log
from recorder.paths import layout
from recorder.session import active_session
from recorder.spool import SpoolWriter, spool_name

EXISTING = 2000
CREATED = 8000

WRITER = textwrap.dedent(
    """
    import os, sys
    root = sys.argv[1]
    for i in range({existing}):
        with open(os.path.join(root, "old", f"m{{i:04d}}.py"), "w") as fh:
            fh.write(f"value = {{i}}\\nchanged = True\\n")
    for d in range({created} // 1000):
        os.makedirs(os.path.join(root, "gen", f"d{{d}}"))
        for i in range(1000):
            with open(os.path.join(root, "gen", f"d{{d}}", f"f{{i:03d}}.txt"), "w") as fh:
                fh.write(f"generated {{d}} {{i}}\\n")
    """
).format(existing=EXISTING, created=CREATED)


def shell_command(session: str, n: int, cmd: str, end: bool) -> None:
    """What the shell hook writes around a command: its start, or its end."""
    lay = layout()
    writer = SpoolWriter(lay.spool / spool_name("shell", f"{os.getpid()}-burst"))
    if end:
        rec = R.record(R.CMD_END, session, shell_id="burst-test", n=n, exit=0)
    else:
        rec = R.record(
            R.CMD_START,
            session,
            shell_id="burst-test",
            n=n,
            cmd=cmd,
            cwd=os.getcwd(),
            shell="bash",
            pid=os.getpid(),
        )
    writer.append([rec])
    writer.close()


# End to end: a daemon watching 10,000 files. Alone: the burst's end is timed (see conftest).
@pytest.mark.slow
@pytest.mark.alone
@pytest.mark.long
def test_ten_thousand_file_burst(tmp_path, run_cli):
    wr = WatchedRepo(tmp_path, run_cli)
    old = wr.repo / "old"
    old.mkdir()
    for i in range(EXISTING):
        (old / f"m{i:04d}.py").write_text(f"value = {i}\n")
    status = wr.start()
    assert status["tracked_files"] == EXISTING + 2

    session = active_session(layout()).session_id
    shell_command(session, 1, "python make_files.py", end=False)
    client.call(layout(), "flush")
    script = tmp_path / "make_files.py"
    script.write_text(WRITER)
    subprocess.run([sys.executable, str(script), str(wr.repo)], check=True)
    shell_command(session, 1, "", end=True)

    rows = wait_for_events(lambda rows: any(r["event_type"] == "burst" for r in rows), timeout=120)
    [burst] = [r for r in rows if r["event_type"] == "burst"]
    assert changes_of(rows) == []  # no per-file events: the burst does not flood the log
    extra = burst["extra"]
    assert extra["files"] == EXISTING + CREATED
    assert extra["counts"] == {"save": EXISTING, "create": CREATED}
    listed = {(c["event"], c["path"]) for c in extra["changes"]}
    expected = {("save", f"old/m{i:04d}.py") for i in range(EXISTING)} | {
        ("create", f"gen/d{d}/f{i:03d}.txt") for d in range(CREATED // 1000) for i in range(1000)
    }
    assert listed == expected
    with open_log(layout()) as log:
        command = log_sql(
            layout(),
            "SELECT event_id FROM events WHERE event_type = 'command' AND shell_id = 'burst-test'",
        )
        assert extra["command_event_id"] == command[0]["event_id"]
        assert extra["command"] == "python make_files.py"
        # Every new state is a blob, so each per-file diff can be rebuilt exactly (checked
        # in the file once stopped, below: 10,000 reads over the socket would take minutes).
        hashes = {c["hash_after"] for c in extra["changes"]}
        entry = next(c for c in extra["changes"] if c["path"] == "old/m0007.py")
        diff = diff_from_log(log, entry["hash_before"], entry["hash_after"], "a", "b")
        assert diff.text == "--- a/a\n+++ b/b\n@@ -1 +1,2 @@\n value = 7\n+changed = True\n"
        created = next(c for c in extra["changes"] if c["path"] == "gen/d3/f042.txt")
        assert created["hash_after"] == hash_bytes(b"generated 3 42\n")

    # Back to idle at once, and a save right after the burst is an ordinary event.
    wait_until(lambda: not collector_status()["pending_paths"], what="no pending paths")
    (wr.repo / "f.py").write_text("a\nB\nc\n")
    rows = wait_for_events(lambda rows: ("save", "f.py", None) in changes_of(rows))
    save = [r for r in rows if r["event_type"] == "save"]
    assert len(save) == 1 and save[0]["diff"].endswith("-b\n+B\n c\n")
    rows = wr.stop()
    assert hashes <= stored_blob_hashes(layout())
    assert len([r for r in rows if r["event_type"] == "burst"]) == 1
    assert len(file_events(("save",))) == 1


def test_a_burst_lists_each_file_once_from_its_first_state_to_its_last():
    """A file that settled twice within one burst (created, then written again once the
    debounce had passed: a loaded machine) is one change in the summary."""
    from recorder.collectors.changes import CREATE, DELETE, RENAME, SAVE, Change, coalesce
    from recorder.collectors.snapshots import FileState
    from recorder.gitinfo import Repo

    repo = Repo("/r", None)

    def state(h):
        return FileState("text", h, 1, 1, 1)

    changes = [
        Change(CREATE, "/r/a", repo, 1.0, None, state("a1")),
        Change(SAVE, "/r/b", repo, 1.1, state("b0"), state("b1")),
        Change(SAVE, "/r/a", repo, 1.2, state("a1"), state("a2")),
        Change(SAVE, "/r/b", repo, 1.3, state("b1"), state("b2")),
        Change(CREATE, "/r/tmp", repo, 1.4, None, state("t")),
        Change(DELETE, "/r/tmp", repo, 1.5, state("t"), None),
        Change(RENAME, "/r/c", repo, 1.6, state("c"), state("c"), old_path="/r/c0"),
        Change(CREATE, "/r/tmp", repo, 1.7, None, state("t2")),
    ]
    out = [(c.kind, c.path, c.before and c.before.hash, c.after and c.after.hash)
           for c in coalesce(changes)]  # fmt: skip
    assert out == [
        ("create", "/r/a", None, "a2"),
        ("save", "/r/b", "b0", "b2"),
        ("rename", "/r/c", "c", "c"),
        ("create", "/r/tmp", None, "t2"),
    ]
