"""Benchmark: `recorder search` over a 1,000,000-event log.

Builds a synthetic log (benchmarks/export_bench.py's generator, 20 sessions) in a
temporary RECORDER_HOME and times, best of ``--repeat``:

- the query itself (``LogReader.search`` on the read-only file, in this process), for a
  rare word, a common one, ``--failed`` and ``--output``;
- the same searches as a user runs them (the installed CLI, a process each), without a
  daemon and then through a running daemon's socket.

Baselines in the same run, each figure printed as a ratio to them: a DuckDB scan that
reads every command of the same file once (``max(length(command))``: the least a text
search must read), and
``recorder sessions`` (a process that opens the log and reads one small table).

    python benchmarks/search_bench.py [--events 1000000] [--repeat 5] [--keep DIR]

Target: the query under 100 ms over 1M events.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

SEARCHES = {
    "rare text": ["lr 0.7 "],
    "common text": ["python"],
    "--failed": ["--failed"],
    "text in outputs": ["not aligned", "--output"],
    "absent, outputs": ["no-such-text-anywhere", "--output"],
}


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def run(args: list[str], env: dict) -> None:
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed:\n{proc.stderr}")


def query_args(words: list[str]) -> dict:
    text = next((w for w in words if not w.startswith("--")), None)
    return {"text": text, "failed": "--failed" in words, "in_output": "--output" in words}


def main(argv: list[str] | None = None) -> int:
    import duckdb
    import export_bench

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="Keep the log in this directory.")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="search-bench-"))
    home = work / "home"
    env = {**os.environ, "RECORDER_HOME": str(home)}
    recorder = shutil.which("recorder") or "recorder"
    try:
        if not (home / "recorder.duckdb").exists():
            print(f"building a log of {args.events:,} events ...", flush=True)
            print(f"  {export_bench.build_log(home, args.events, 20):.1f} s", flush=True)
        os.environ["RECORDER_HOME"] = str(home)
        from recorder.eventlog import Search, open_log
        from recorder.paths import layout

        with duckdb.connect(str(home / "recorder.duckdb"), read_only=True) as con:
            scan = best(
                lambda: con.execute("SELECT max(length(command)) FROM events").fetchone(),
                args.repeat,
            )
        with open_log(layout()) as log:
            queries = {
                name: best(lambda w=words: log.search(Search(**query_args(w))), args.repeat)
                for name, words in SEARCHES.items()
            }
            hits = {name: len(log.search(Search(**query_args(w)))) for name, w in SEARCHES.items()}
        sessions = best(lambda: run([recorder, "sessions", "--json"], env), args.repeat)
        cli = {
            name: best(lambda w=words: run([recorder, "search", *w], env), args.repeat)
            for name, words in SEARCHES.items()
        }
        run([recorder, "start"], env)
        try:
            daemon = {
                name: best(lambda w=words: run([recorder, "search", *w], env), args.repeat)
                for name, words in SEARCHES.items()
            }
        finally:
            run([recorder, "stop"], env)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"search over {args.events:,} events (best of {args.repeat}; "
        f"load average {os.getloadavg()[0]:.1f})\n"
        f"  baselines: reading every command {scan * 1e3:.0f} ms; "
        f"`recorder sessions` {sessions * 1e3:.0f} ms"
    )
    for name in SEARCHES:
        q = queries[name]
        print(
            f"  {name:<16} query {q * 1e3:5.0f} ms (target < 100) = {q / scan:4.1f} x the scan"
            f" | CLI {cli[name] * 1e3:4.0f} ms = {cli[name] / sessions:.2f} x sessions"
            f" | via daemon {daemon[name] * 1e3:4.0f} ms = {daemon[name] / sessions:.2f} x"
            f"  ({hits[name]} hits)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
