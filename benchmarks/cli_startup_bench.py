"""`recorder --help` start time beside `python -c pass`, measured in the same run.

Runs each command REPEAT times alternately and prints medians and the ratio.
The installed entry point is run directly (not through a pyenv shim).

    python benchmarks/cli_startup_bench.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def entry_point() -> str:
    candidate = Path(sys.executable).parent / "recorder"
    return str(candidate) if candidate.exists() else shutil.which("recorder") or "recorder"


def once(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "recorder --help": [entry_point(), "--help"],
        "recorder status": [entry_point(), "status"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            times[name].append(once(command))
    base = statistics.median(times["python -c pass"])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(
            f"{name:<16} median {median * 1000:6.1f} ms  ratio to python -c pass {median / base:.2f}"
        )


if __name__ == "__main__":
    main()
