"""Spool -> DuckDB ingest throughput, beside a same-run baseline.

Three workloads of N events each, written to a spool file in a temporary home:
``events`` (one record per event, as file saves and task marks are),
``commands`` (a cmd.start and a cmd.end record per command, as the shell hook
writes them: 2N records paired into N rows) and ``git`` (the same commands, run in
four directories of a real git repository and one outside it, ingested with the
daemon's ``GitState``, which gives each its repository, branch and HEAD, and
without it: ``with/without GitState`` is the cost of the lookup and of the three
columns it fills). Times ``Ingester.drain`` with and without the redaction engine. The
baseline is DuckDB's own ``read_json`` loading the same file into a table: the
speed of a bare load with no pairing, offsets, quarantine or redaction.

    python benchmarks/ingest_bench.py [--events 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recorder.gitstate import GitState
from recorder.ingest import Ingester
from recorder.paths import Layout
from recorder.store import WriterLock, open_writer
from tests.spoolkit import command_lines, open_session_records, shell_spool


def event_lines(session: str, count: int, t0: float) -> bytes:
    """Single-record events, as the file collector writes saves (no diff body)."""
    out = []
    for i in range(count):
        out.append(
            json.dumps(
                {
                    "v": 1,
                    "type": "event",
                    "session": session,
                    "t": t0 + i * 0.001,
                    "tz": 60,
                    "source": "file",
                    "event": "save",
                    "path": f"src/module_{i % 500}.py",
                    "repo": "/work/proj",
                    "added": i % 7,
                    "removed": i % 3,
                    "hash_before": f"{i:064x}",
                    "hash_after": f"{i + 1:064x}",
                }
            )
        )
    return ("\n".join(out) + "\n").encode()


def make_git_repo(root: Path) -> list[bytes]:
    """A repository with one commit; the cwds the ``git`` workload's commands run in."""
    import subprocess

    repo = root / "proj"
    (repo / "src" / "deep").mkdir(parents=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.org",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.org"}  # fmt: skip
    (repo / "f").write_text("x\n")
    for args in (["init", "-q", "-b", "main"], ["add", "f"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    dirs = [repo, repo / "src", repo / "src" / "deep", repo / "src", root]
    return [json.dumps(str(d)).encode() for d in dirs]


def in_dirs(lines: bytes, cwds: list[bytes]) -> bytes:
    """The command lines with their cwd cycling through ``cwds``."""
    out = lines.split(b"\n")
    for i, line in enumerate(out):
        out[i] = line.replace(b'"cwd": "/tmp"', b'"cwd": ' + cwds[(i // 2) % len(cwds)])
    return b"\n".join(out)


def make_home(root: Path, events: int, workload: str) -> Layout:
    lay = Layout(root).ensure()
    open_session_records(lay, "S1")
    spool = shell_spool(lay)
    cwds = make_git_repo(root) if workload == "git" else []
    with spool.open("wb") as fh:
        step = 100_000
        for start in range(0, events, step):
            count = min(step, events - start)
            if workload in ("commands", "git"):
                # git: after the repository's commit, so that its state applies to them
                t0 = (time.time() if cwds else 1.7e9) + start
                lines = command_lines("S1", count, shell_id=f"sh{start}", t0=t0)
                fh.write(in_dirs(lines, cwds) if cwds else lines)
            else:
                fh.write(event_lines("S1", count, t0=1.7e9 + start))
    return lay


def time_ingest(lay: Layout, redact: bool, git: bool) -> tuple[float, int]:
    lock = WriterLock(lay.writer_lock)
    lock.acquire()
    store = open_writer(lay)
    redactor = None
    if redact:
        from recorder.config import load_config
        from recorder.redaction.installed import build_redactor

        redactor = build_redactor(lay, load_config(lay))
    state = GitState() if git else None
    start = time.perf_counter()
    Ingester(store, lay, redactor, state).drain()
    elapsed = time.perf_counter() - start
    if state is not None:
        assert state.watched() == 1, "the benchmark's repository is not watched"
        state.close()
    with_repo = store.execute("SELECT count(*) FROM events WHERE git_head IS NOT NULL")
    assert (with_repo.fetchone()[0] > 0) == git
    count = store.execute(
        "SELECT count(*) FROM events WHERE exit_code IS NOT NULL OR source = 'file'"
    ).fetchone()[0]
    store.close()
    lock.release()
    return elapsed, count


def time_baseline(lay: Layout) -> float:
    import duckdb

    con = duckdb.connect(str(lay.home / "baseline.duckdb"))
    start = time.perf_counter()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM read_json(?, format='newline_delimited')",
        [str(shell_spool(lay))],
    )
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.events
    without_git: dict[bool, float] = {}
    runs = [("events", False), ("commands", False), ("git", False), ("git", True)]
    with tempfile.TemporaryDirectory() as tmp:
        for workload, git in runs:
            records = n if workload == "events" else 2 * n
            for redact in (False, True):
                lay = make_home(Path(tmp) / f"home-{workload}-{git}-{redact}", n, workload)
                size = shell_spool(lay).stat().st_size
                baseline = time_baseline(lay)
                elapsed, count = time_ingest(lay, redact, git)
                assert count == n, f"ingested {count} of {n}"
                label = "redaction on " if redact else "redaction off"
                versus = ""
                if workload == "git" and not git:
                    without_git[redact] = elapsed
                    label += ", no GitState"
                elif git:
                    label += ", GitState   "
                    versus = f"; with/without GitState {elapsed / without_git[redact]:.2f}"
                print(
                    f"{workload:<8} {label}: {n:,} events ({records:,} spool records, "
                    f"{size / 1e6:.0f} MB) in {elapsed:.2f} s = {n / elapsed:,.0f} events/s, "
                    f"{records / elapsed:,.0f} records/s; baseline read_json {baseline:.2f} s; "
                    f"ingest/baseline {elapsed / baseline:.2f}{versus}"
                )
        print(f"cpu count: {os.cpu_count()}")


if __name__ == "__main__":
    main()
