"""Benchmark: export 1,000,000 events, redaction and leak scan included.

Builds a synthetic event log in a temporary RECORDER_HOME (sessions of commands
with outputs and tracebacks, file saves with diffs, activity windows, task
marks, idle gaps, a secret in about 1% of commands), then runs the real export
in a child process and reports end-to-end events/s and the child's peak RSS; then, in the
same run and on the same log, the chat export (``--format chat``) beside it, as a ratio.

    python benchmarks/export_bench.py [--events 1000000] [--sessions 20] [--keep DIR]
        [--baseline-rev REV]

With ``--baseline-rev`` (a git revision, e.g. ``main``), the same log is also exported
by that revision's code (``git archive`` into a temporary directory) in the same run,
and the ratio of the two rates is printed.

Target: >= 50,000 events/s end to end with memory bounded by streaming, for both.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_EPOCH_S = 1_764_000_000
EVENT_SPACING_S = 4
IDLE_EVERY = 400  # an idle gap of 15 minutes every this many events

_GENERATE_SQL = """
INSERT INTO events BY NAME
WITH r AS (
    SELECT i, i // {per} AS s, i % {per} AS k,
           (hash(i) % 1000)::BIGINT AS h, (hash(i * 7 + 3) % 100000)::BIGINT AS h2
    FROM range({n}) t(i)
), kinds AS (
    SELECT *,
        CASE WHEN h < 450 THEN 'shell' WHEN h < 900 THEN 'file'
             WHEN h < 990 THEN 'activity' ELSE 'user' END AS source,
        make_timestamp(({base} + s * 86400 + k * {spacing} + (k // {idle}) * 900)::BIGINT
                       * 1000000 + (h2 % 1000) * 1000) AS ts
    FROM r
)
SELECT
    uuidv7()::VARCHAR AS event_id,
    printf('bench-%04d', s) AS session_id,
    k + 1 AS seq,
    ts AS ts_start,
    CASE WHEN source = 'shell' THEN ts + to_milliseconds(h2 % 3000) END AS ts_end,
    60 AS utc_offset_min,
    source,
    CASE source WHEN 'shell' THEN 'command'
                WHEN 'file' THEN CASE WHEN h2 % 20 = 0 THEN 'create' ELSE 'save' END
                WHEN 'activity' THEN 'window'
                ELSE CASE WHEN h2 % 3 = 0 THEN 'pause' WHEN h2 % 3 = 1 THEN 'resume'
                          ELSE 'task' END END AS event_type,
    CASE WHEN source = 'shell' THEN '/work/project' || CASE WHEN h2 % 4 = 0 THEN '/src' ELSE '' END
    END AS cwd,
    CASE WHEN source = 'shell' THEN CASE
        WHEN h2 % 100 = 0 THEN 'export GITHUB_TOKEN=ghp_' || md5(i::VARCHAR) || md5(s::VARCHAR)
        WHEN h2 % 7 = 0 THEN 'pytest tests/test_' || (h2 % 13) || '.py -x'
        WHEN h2 % 7 = 1 THEN 'python train.py --lr 0.' || (h2 % 9) || ' --epochs 3'
        WHEN h2 % 7 = 2 THEN 'git status'
        WHEN h2 % 7 = 3 THEN 'make build'
        WHEN h2 % 7 = 4 THEN 'ls -la src'
        WHEN h2 % 7 = 5 THEN 'vim src/model_' || (h2 % 5) || '.py'
        ELSE 'cd src && python -m pytest -q' END END AS command,
    CASE WHEN source = 'shell' THEN CASE WHEN h2 % 10 = 0 THEN 1 ELSE 0 END END AS exit_code,
    CASE WHEN source = 'shell' THEN h2 % 3000 END AS duration_ms,
    CASE WHEN source = 'shell' THEN 'bash' END AS shell,
    CASE WHEN source = 'shell' THEN 'sh-' || s END AS shell_id,
    CASE WHEN source = 'shell' THEN k END AS cmd_seq,
    CASE WHEN source = 'shell' THEN CASE
        WHEN h2 % 100 = 0 THEN ''
        WHEN h2 % 7 IN (0, 6) THEN
            repeat('........................................ [' || (h2 % 100) || '%]' || chr(10),
                   (h2 % 9)::INTEGER)
            || CASE WHEN h2 % 10 = 0 THEN 'FAILED tests/test_data.py::test_case_' || (h2 % 50)
                    || ' - assert 3 == 4' || chr(10) || '1 failed, 41 passed in 2.31s' || chr(10)
                    ELSE '42 passed in 2.10s' || chr(10) END
        WHEN h2 % 7 = 1 THEN
            repeat('epoch 1/3 step ' || (h2 % 997) || ' loss=0.' || (h2 % 9999)
                   || ' lr=0.001 grad_norm=1.' || (h2 % 97) || chr(10), (h2 % 25)::INTEGER)
            || CASE WHEN h2 % 10 = 0 THEN 'Traceback (most recent call last):' || chr(10)
                    || '  File "train.py", line 42, in <module>' || chr(10)
                    || 'ValueError: shapes (3,4) and (5,6) not aligned' || chr(10) ELSE '' END
        WHEN h2 % 7 = 2 THEN 'On branch main' || chr(10) || 'Changes not staged for commit:'
            || chr(10) || repeat(chr(9) || 'modified:   src/module_' || (h2 % 40) || '.py'
            || chr(10), (h2 % 6)::INTEGER)
        WHEN h2 % 7 = 3 THEN repeat('gcc -O2 -Wall -c src/kernel_' || (h2 % 30)
            || '.c -o build/kernel.o' || chr(10), (h2 % 15)::INTEGER)
            || CASE WHEN h2 % 10 = 0 THEN 'make: *** [Makefile:12: build] Error 1' || chr(10)
                    ELSE '' END
        WHEN h2 % 7 = 4 THEN repeat('-rw-r--r-- 1 dev staff ' || (h2 % 9000)
            || ' Nov 24 16:00 module_' || (h2 % 40) || '.py' || chr(10), (h2 % 20)::INTEGER)
        ELSE NULL END
    END AS output,
    CASE WHEN source = 'shell' THEN false END AS output_truncated,
    CASE WHEN source = 'file' THEN '/work/project/src/module_' || (h2 % 40) || '.py' END AS path,
    CASE WHEN source = 'file' THEN '/work/project' END AS repo,
    CASE WHEN source = 'file' THEN '--- a/src/module.py' || chr(10) || '+++ b/src/module.py'
        || chr(10) || '@@ -10,3 +10,' || (h2 % 12) || ' @@' || chr(10)
        || repeat('+    loss = criterion(model(batch), target)' || chr(10), (h2 % 12)::INTEGER)
    END AS diff,
    CASE WHEN source = 'file' THEN (h2 % 12)::INTEGER END AS lines_added,
    CASE WHEN source = 'file' THEN (h2 % 3)::INTEGER END AS lines_removed,
    CASE WHEN source = 'file' THEN 'deadbeef' || (k // 2000) END AS git_head,
    CASE WHEN source = 'file' THEN 'main' END AS git_branch,
    CASE WHEN source = 'user' AND h2 % 3 = 2 THEN 'task number ' || k END AS text,
    CASE WHEN source = 'activity' THEN 'code - model.py' END AS window_title,
    CASE WHEN source = 'activity' THEN (h2 % 300)::INTEGER END AS key_count,
    CASE WHEN source = 'activity' THEN (h2 % 40)::INTEGER END AS click_count,
    CASE WHEN source = 'activity' THEN (h2 % 60000)::BIGINT END AS idle_ms,
    now()::TIMESTAMP AS ingested_at
FROM kinds
"""

# Each session ends an hour after its last event (a session's export is as of its end).
_SESSIONS_SQL = """
INSERT INTO sessions
SELECT printf('bench-%04d', s), 'bench ' || s, 'r-bench', 'host',
       make_timestamp(({base} + s * 86400)::BIGINT * 1000000),
       make_timestamp(({base} + s * 86400 + {per} * {spacing} + ({per} // {idle}) * 900 + 3600)
                      ::BIGINT * 1000000), 60, NULL
FROM range({sessions}) t(s)
"""

_CHILD = """
import json, sys, time
t0 = time.monotonic()
from pathlib import Path
from exporters.jobs import ExportOptions
from exporters.pipeline import export
from recorder.paths import layout
import dataclasses
# Only the options this checkout knows (a --baseline-rev may predate approvals or formats).
known = {f.name for f in dataclasses.fields(ExportOptions)}
wanted = {"dataset": sys.argv[2], "include_unapproved": True}
options = {k: v for k, v in wanted.items() if k in known}
result = export(layout(), ExportOptions(out=Path(sys.argv[1]), **options))
print(json.dumps({"export_s": time.monotonic() - t0, "counts": result.counts,
                  "files": result.files, "findings": result.redaction["rows_with_findings"],
                  "scanned": result.redaction["leak_scan"]["values_scanned"]}))
"""


def build_log(home: Path, events: int, sessions: int) -> float:
    """Write the synthetic log; returns the seconds it took."""
    os.environ["RECORDER_HOME"] = str(home)
    from recorder.paths import layout
    from recorder.store import WriterLock, open_writer

    started = time.monotonic()
    lay = layout()
    lock = WriterLock(lay.writer_lock)
    assert lock.acquire(), "another process writes this log"
    store = open_writer(lay)
    try:
        per = -(-events // sessions)
        fmt = {"base": BASE_EPOCH_S, "per": per, "n": events, "spacing": EVENT_SPACING_S,
               "idle": IDLE_EVERY, "sessions": sessions}  # fmt: skip
        store.execute(_SESSIONS_SQL.format(**fmt))
        store.execute(_GENERATE_SQL.format(**fmt))
        store.execute("CHECKPOINT")
    finally:
        store.close()
        lock.release()
    return time.monotonic() - started


def run_export(home: Path, out: Path, dataset: str = "tables", source: Path | None = None) -> dict:
    """Export in a child process, with this checkout's code or that of ``source``."""
    env = {**os.environ, "RECORDER_HOME": str(home)}
    if source is not None:
        env["PYTHONPATH"] = str(source)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(out), dataset], env=env, capture_output=True,
        text=True, cwd=source,
    )  # fmt: skip
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"export failed:\n{proc.stderr}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the export and its workers
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    # (peak RSS is the largest of all children so far: the baseline runs last)
    report.update(wall_s=wall, peak_rss_mb=usage.ru_maxrss / 1024, cpu_s=cpu)
    return report


def checkout(rev: str, target: Path) -> Path:
    """The code of git revision ``rev`` of this repository, extracted into ``target``."""
    repo = Path(__file__).resolve().parent.parent
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", rev], capture_output=True,
                             check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="Keep the log and dataset in this directory.")
    parser.add_argument("--baseline-rev", help="Also export with this git revision's code.")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="export-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    home, out = work / "home", work / "dataset"
    if out.exists():
        shutil.rmtree(out)
    try:
        if not (home / "recorder.duckdb").exists():
            print(f"building a log of {args.events:,} events ...", flush=True)
            print(f"  {build_log(home, args.events, args.sessions):.1f} s", flush=True)
        report = run_export(home, out)
        chat = run_export(home, work / "chat", "chat")
        if args.baseline_rev:
            source = checkout(args.baseline_rev, work / "baseline-src")
            shutil.rmtree(out)
            baseline = run_export(home, out, source=source)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    counts = report["counts"]
    rate = counts["events"] / report["wall_s"]
    size = sum(f["bytes"] for f in report["files"].values()) / 1e6
    print(
        f"exported {counts['events']:,} events -> {counts['steps']:,} steps, "
        f"{counts['episodes']:,} episodes ({size:.0f} MB)\n"
        f"  end to end {report['wall_s']:.1f} s: {rate:,.0f} events/s "
        f"(target >= 50,000)\n"
        f"  CPU {report['cpu_s']:.1f} s in all processes: "
        f"{counts['events'] / report['cpu_s']:,.0f} events per CPU second "
        f"(load average {os.getloadavg()[0]:.1f})\n"
        f"  peak RSS {report['peak_rss_mb']:.0f} MB\n"
        f"  redacted rows {report['findings']:,}; leak scan {report['scanned']:,} values"
    )
    chat_rate = chat["counts"]["events"] / chat["wall_s"]
    chat_size = sum(f["bytes"] for f in chat["files"].values()) / 1e6
    print(
        f"chat export of the same log -> {chat['counts']['conversations']:,} conversations "
        f"({chat_size:.0f} MB)\n"
        f"  end to end {chat['wall_s']:.1f} s: {chat_rate:,.0f} events/s (target >= 50,000), "
        f"{chat_rate / rate:.2f}x the Parquet export's rate\n"
        f"  CPU {chat['cpu_s']:.1f} s; peak RSS of either {chat['peak_rss_mb']:.0f} MB; "
        f"leak scan {chat['scanned']:,} values"
    )
    if args.baseline_rev:
        base_rate = baseline["counts"]["events"] / baseline["wall_s"]
        print(
            f"  baseline {args.baseline_rev}: {base_rate:,.0f} events/s "
            f"({baseline['wall_s']:.1f} s, CPU {baseline['cpu_s']:.1f} s); this checkout / "
            f"baseline = {rate / base_rate:.2f} in events/s, "
            f"{baseline['cpu_s'] / report['cpu_s']:.2f} in events per CPU second"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
