"""Benchmark of the file collector, end to end through the installed CLI.

    python benchmarks/files_bench.py [--quick] [--json OUT]

Measures, each in a fresh RECORDER_HOME under a temporary directory:

- write-to-event latency: a save, until its event is in the log (``ingested_at``), p50/p95,
  and until the collector saw it settle (``ts_start`` is the time of the last inotify event);
- a 10,000-file burst: files per second from the first write to the burst summary in the
  log, and the daemon's CPU for it;
- set-up for a 100,000-file tree: the inotify watches, the first scan (baseline snapshots of
  every file) and the scan of a later start (stat only);
- the daemon's CPU while idle with a 20,000-file tree watched (target: under 1% of a core).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

RECORDER = shutil.which("recorder") or "recorder"


def run(*args: str, env: dict) -> str:
    return subprocess.run(
        [RECORDER, *args], env=env, check=True, capture_output=True, text=True
    ).stdout


def make_tree(root: Path, files: int, per_dir: int = 100) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        d = root / f"pkg{i // per_dir:04d}"
        if i % per_dir == 0:
            d.mkdir(exist_ok=True)
        (d / f"mod{i % per_dir:03d}.py").write_text(f"# module {i}\nVALUE = {i}\n")


class Home:
    """A RECORDER_HOME of its own, and a recorder watching one tree in it."""

    def __init__(self, base: Path, name: str):
        self.home = base / f"home-{name}"
        self.env = {**os.environ, "RECORDER_HOME": str(self.home)}
        os.environ["RECORDER_HOME"] = str(self.home)

    def start(self, tree: Path) -> dict:
        run("start", "--watch", str(tree), env=self.env)
        return self.wait_ready()

    def status(self) -> dict:
        from recorder import client
        from recorder.paths import Layout

        return client.call(Layout(self.home).ensure(), "status")

    def wait_ready(self, timeout: float = 1800) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            files = self.status()["collectors"].get("files", {})
            if files.get("state") == "ready":
                return files
            time.sleep(0.05)
        raise RuntimeError("collector not ready")

    def pid(self) -> int:
        return int((self.home / "state" / "daemon.pid").read_text())

    def events(self, event_type: str) -> list[dict]:
        """The log's file events of one type, every column, in time order (named reads)."""
        from recorder.eventlog import open_log
        from recorder.paths import Layout

        with open_log(Layout(self.home)) as log:
            tables = [log.events(s["session_id"], columns="all") for s in log.sessions()]
        rows = [row for table in tables for row in table.to_pylist()]
        return [r for r in rows if r["source"] == "file" and r["event_type"] == event_type]

    def flush(self) -> None:
        from recorder import client
        from recorder.paths import Layout

        client.call(Layout(self.home), "flush")

    def stop(self) -> None:
        run("stop", env=self.env)


def epoch_s(naive_utc) -> float:
    """A timestamp from the log (naive UTC) as seconds since the epoch."""
    return naive_utc.replace(tzinfo=UTC).timestamp()


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def bench_latency(base: Path, saves: int) -> dict:
    tree = base / "latency"
    make_tree(tree, 100)
    home = Home(base, "latency")
    home.start(tree)
    written = []
    target = tree / "pkg0000" / "mod000.py"
    for i in range(saves):
        t = time.time()
        target.write_text(f"# save {i}\n")
        written.append(t)
        time.sleep(0.4)
    time.sleep(1)
    home.flush()
    rows = home.events("save")
    home.stop()
    assert len(rows) == saves, f"{len(rows)} save events for {saves} saves"
    to_log = [epoch_s(r["ingested_at"]) - w for r, w in zip(rows, written, strict=True)]
    seen = [epoch_s(r["ts_start"]) - w for r, w in zip(rows, written, strict=True)]
    return {
        "saves": saves,
        "latency_to_log_p50_s": round(statistics.median(to_log), 3),
        "latency_to_log_p95_s": round(pct(to_log, 0.95), 3),
        "inotify_delay_p50_s": round(statistics.median(seen), 4),
    }


def bench_burst(base: Path, files: int) -> dict:
    tree = base / "burst"
    make_tree(tree, 100)
    home = Home(base, "burst")
    home.start(tree)
    pid = home.pid()
    cpu0 = cpu_seconds(pid)
    t0 = time.time()
    make_tree(tree / "generated", files)
    t_written = time.time()
    while True:
        home.flush()
        rows = home.events("burst")
        if rows:
            break
        time.sleep(0.1)
    t_logged = epoch_s(rows[0]["ingested_at"])
    cpu = cpu_seconds(pid) - cpu0
    time.sleep(2)
    cpu_after = cpu_seconds(pid)
    time.sleep(5)
    idle_after = (cpu_seconds(pid) - cpu_after) / 5
    home.stop()
    return {
        "burst_files": files,
        "burst_recorded_files": json.loads(rows[0]["extra"])["files"],
        "burst_write_s": round(t_written - t0, 2),
        "burst_in_log_after_s": round(t_logged - t0, 2),
        "burst_files_per_s": round(files / (t_logged - t0)),
        "burst_daemon_cpu_s": round(cpu, 2),
        "daemon_cpu_after_burst_pct": round(100 * idle_after, 2),
    }


def bench_setup(base: Path, files: int) -> dict:
    tree = base / "setup"
    t = time.monotonic()
    make_tree(tree, files)
    made = time.monotonic() - t
    home = Home(base, "setup")
    first = home.start(tree)
    home.stop()
    second = home.start(tree)
    home.stop()
    return {
        "setup_files": files,
        "setup_tree_creation_s": round(made, 1),
        "watched_dirs": first["watched_dirs"],
        "watch_setup_s": first["watch_setup_s"],
        "first_scan_s": first["scan_s"],
        "restart_watch_setup_s": second["watch_setup_s"],
        "restart_recover_s": second["recover_s"],
        "restart_scan_s": second["scan_s"],
    }


def bench_idle(base: Path, files: int, seconds: float) -> dict:
    tree = base / "idle"
    make_tree(tree, files)
    home = Home(base, "idle")
    home.start(tree)
    pid = home.pid()
    time.sleep(2)
    cpu0 = cpu_seconds(pid)
    time.sleep(seconds)
    used = cpu_seconds(pid) - cpu0
    home.stop()
    return {
        "idle_files": files,
        "idle_seconds": seconds,
        "idle_daemon_cpu_pct": round(100 * used / seconds, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--only", choices=["latency", "burst", "setup", "idle"], action="append")
    args = parser.parse_args()
    quick = args.quick
    only = set(args.only or ["latency", "burst", "setup", "idle"])
    results: dict = {"machine_cpus": os.cpu_count(), "tz": str(UTC)}
    with tempfile.TemporaryDirectory(prefix="files-bench-") as tmp:
        base = Path(tmp)
        try:
            if "latency" in only:
                results.update(bench_latency(base, 10 if quick else 40))
            if "burst" in only:
                results.update(bench_burst(base, 1000 if quick else 10_000))
            if "setup" in only:
                results.update(bench_setup(base, 5000 if quick else 100_000))
            if "idle" in only:
                results.update(bench_idle(base, 2000 if quick else 20_000, 5 if quick else 30))
        finally:
            for home in base.glob("home-*"):
                env = {**os.environ, "RECORDER_HOME": str(home)}
                subprocess.run([RECORDER, "stop"], env=env, capture_output=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
