"""Benchmark: open `recorder review` on a 50,000-event session, and scroll to its end.

Builds a synthetic one-session log (benchmarks/export_bench.py's generator) in a temporary
RECORDER_HOME, then in a child process runs the review app headless (Textual's Pilot) and
times: open to first screen (the timeline's first rows drawn), and ``G`` to the last row
drawn. Beside them, in the same run, a baseline: ``recorder show --limit 50`` on the same
session (a process of its own, as a user runs it), and reading the whole events table
once; each figure is printed with its ratio to the baseline.

    python benchmarks/review_open_bench.py [--events 50000] [--keep DIR]

Target: first screen in under 2 s, without reading the whole session.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

_CHILD = """
import asyncio, json, sys, time
t0 = time.monotonic()
from recorder.paths import layout
from recorder.review.tui import ReviewApp, Timeline

async def main():
    app = ReviewApp(layout(), "bench-0000")
    async with app.run_test(size=(160, 45)) as pilot:
        timeline = app.screen.query_one(Timeline)
        while not timeline.painted:
            await pilot.pause(0.005)
        first = time.monotonic() - t0
        timeline.painted = False
        t1 = time.monotonic()
        await pilot.press("G")
        while not timeline.painted:
            await pilot.pause(0.005)
        end = time.monotonic() - t1
        kept = len(app.screen.view._pages)
        while app.screen.index is None:
            await pilot.pause(0.05)
        scanned = time.monotonic() - t0
        print(json.dumps({"first_s": first, "end_s": end, "scanned_s": scanned,
                          "pages_kept": kept, "events": len(app.screen.view)}))

asyncio.run(main())
"""

_TABLE_CHILD = """
import time
t0 = time.monotonic()
from recorder.eventlog import open_log
from recorder.paths import layout
with open_log(layout()) as log:
    n = log.events("bench-0000").num_rows
print(time.monotonic() - t0)
"""


def timed(args: list[str], env: dict) -> tuple[float, str]:
    started = time.monotonic()
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed:\n{proc.stderr}")
    return time.monotonic() - started, proc.stdout


def main(argv: list[str] | None = None) -> int:
    import export_bench

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, help="Keep the log in this directory.")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="review-bench-"))
    home = work / "home"
    try:
        if not (home / "recorder.duckdb").exists():
            print(f"building a log of {args.events:,} events ...", flush=True)
            print(f"  {export_bench.build_log(home, args.events, 1):.1f} s", flush=True)
        env = {**os.environ, "RECORDER_HOME": str(home)}
        recorder = shutil.which("recorder") or "recorder"
        show_s, _ = timed([recorder, "show", "bench-0000", "--limit", "50"], env)
        _, table_out = timed([sys.executable, "-c", _TABLE_CHILD], env)
        table_s = float(table_out.strip())
        review_wall, out = timed([sys.executable, "-c", _CHILD], env)
        report = json.loads(out.strip().splitlines()[-1])
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    first, end = report["first_s"], report["end_s"]
    print(
        f"review of {report['events']:,} events (load average {os.getloadavg()[0]:.1f})\n"
        f"  open to first screen  {first:.2f} s (target < 2 s)"
        f"  = {first / show_s:.2f} x `recorder show --limit 50` ({show_s:.2f} s)"
        f"  = {first / table_s:.2f} x reading the events table ({table_s:.2f} s)\n"
        f"  G to the last row     {end:.2f} s; pages held {report['pages_kept']} "
        f"(of {report['events'] // 200 + 1})\n"
        f"  episodes and findings counted {report['scanned_s']:.2f} s after start "
        f"(in a worker, after the first screen); child process {review_wall:.2f} s in all"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
