"""Benchmark and soak: hooked shells writing commands at a steady rate while the daemon ingests.

Each simulated shell appends ``cmd.start``/``cmd.end`` lines to its own spool file, as
the shell hook does (one ``write`` per line, the same JSON), at its share of the
rate. Every second one command carries a marker; the time until it can be found in
the log through the daemon's socket is that second's ingest lag. The daemon's RSS and
spool backlog are sampled each second. At the end the session is stopped and every
command is looked for: each must be in the log exactly once.

Beside it, in the same run, a baseline: the same number of commands written while no
daemon runs, then ingested by ``recorder start`` at once (the ingest's capacity); the
load's rate is printed as a fraction of it.

    python benchmarks/load_bench.py [--rate 1000] [--seconds 60] [--shells 10] [--kill-every S]

``tests/reliability/test_load.py`` runs it briefly (and for 60 s behind ``-m soak``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DEAD_PID = 999_999  # no such process: the spool files are read as those of gone shells


@dataclass
class LoadReport:
    commands: int  # written
    seconds: float
    in_log: int  # distinct commands found in the log after stop
    duplicates: int
    lags_s: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    backlog_bytes: list[int] = field(default_factory=list)
    kills: int = 0  # times the daemon was SIGKILLed (and restarted)

    @property
    def lost(self) -> int:
        return self.commands - self.in_log


def _recorder(home: Path, *args: str) -> str:
    env = {**os.environ, "RECORDER_HOME": str(home)}
    exe = shutil.which("recorder") or "recorder"
    proc = subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"recorder {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def _lines(session: str, shell: str, n: int, t: float, command: str) -> bytes:
    start = {"v": 1, "type": "cmd.start", "session": session, "t": f"{t:.6f}", "tz": 0,
             "shell_id": shell, "n": n, "cmd": command, "cwd": "/work/proj", "shell": "bash",
             "pid": DEAD_PID}  # fmt: skip
    status = 1 if n % 7 == 0 else 0
    end = {"v": 1, "type": "cmd.end", "session": session, "shell_id": shell,
           "t": f"{t + 0.001:.6f}", "n": n, "exit": status, "pipestatus": str(status)}  # fmt: skip
    return (json.dumps(start) + "\n" + json.dumps(end) + "\n").encode()


def _shell_writer(home: Path, session: str, shell: str, rate: float, stop: threading.Event,
                  counts: dict[str, int]) -> None:  # fmt: skip
    path = home / "spool" / f"shell.{DEAD_PID}-{shell}.v1.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        n, began = 0, time.monotonic()
        while not stop.is_set():
            due = int((time.monotonic() - began) * rate)
            while n < due:
                n += 1
                os.write(fd, _lines(session, shell, n, time.time(), f"make -j4 test_{n % 50}"))
            counts[shell] = n
            time.sleep(0.002)
    finally:
        os.close(fd)


def _daemon_rss_mb(home: Path) -> float | None:
    try:
        pid = int((home / "state" / "daemon.pid").read_text())
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def _kill_daemon(home: Path) -> None:
    """SIGKILL the daemon, as a crash would, and wait until it is gone."""
    pid = int((home / "state" / "daemon.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    while Path(f"/proc/{pid}").exists() and _state_of(pid) != "Z":
        time.sleep(0.005)


def _state_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


def run_load(
    home: Path, rate: float, seconds: float, shells: int = 10, kill_every_s: int = 0
) -> LoadReport:
    """Record under load in ``home`` (a fresh RECORDER_HOME); the figures of the run. With
    ``kill_every_s``, the daemon is SIGKILLed that often, at a random point of the second,
    and restarted by ``recorder start --resume`` (as the login unit would)."""
    from recorder.eventlog import Search, open_log
    from recorder.paths import Layout

    session = _recorder(home, "start").strip()
    lay = Layout(home)
    stop, counts = threading.Event(), {}
    names = [f"load{k}" for k in range(shells)]
    writers = [
        threading.Thread(target=_shell_writer, args=(home, session, s, rate / shells, stop, counts))
        for s in names
    ]
    marker_fd = os.open(
        home / "spool" / f"shell.{DEAD_PID}-marker.v1.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT
    )
    report = LoadReport(0, seconds, 0, 0)
    began = time.monotonic()
    for w in writers:
        w.start()
    try:
        second = 0
        with open_log(lay) as log:
            while time.monotonic() - began < seconds:
                second += 1
                if kill_every_s and second % kill_every_s == 0:
                    time.sleep(random.random() * 0.5)
                    _kill_daemon(home)
                    report.kills += 1
                    _recorder(home, "start", "--resume")
                word = f"marker-{second:05d}"
                written = time.monotonic()
                os.write(marker_fd, _lines(session, "marker", second, time.time(), f"echo {word}"))
                while not log.search(Search(text=word, limit=1)):
                    time.sleep(0.01)
                report.lags_s.append(time.monotonic() - written)
                rss = _daemon_rss_mb(home)
                if rss is not None:
                    report.rss_mb.append(rss)
                status = json.loads(_recorder(home, "status", "--json"))
                report.backlog_bytes.append(int(status["backlog_bytes"]))
                time.sleep(max(0.0, began + second - time.monotonic()))
    finally:
        stop.set()
        for w in writers:
            w.join()
        os.close(marker_fd)
        report.seconds = time.monotonic() - began
    report.commands = sum(counts.values()) + second
    _recorder(home, "stop")
    with open_log(lay) as log:
        rows = log.events(session, columns="all").select(["shell_id", "cmd_seq"]).to_pylist()
    pairs = [(r["shell_id"], r["cmd_seq"]) for r in rows if r["shell_id"]]
    report.in_log = len(set(pairs))
    report.duplicates = len(pairs) - len(set(pairs))
    return report


def bulk_ingest_rate(home: Path, commands: int, shells: int = 10) -> float:
    """Commands per second that ``recorder start`` ingests from a backlog written while no
    daemon ran (the baseline: what the ingest can do when it does nothing else)."""
    _recorder(home, "start")
    session = json.loads(_recorder(home, "status", "--json"))["session"]
    _recorder(home, "stop")
    # The session is over; write its backlog as though its shells had gone on alone.
    per = commands // shells
    for k in range(shells):
        with open(home / "spool" / f"shell.{DEAD_PID}-bulk{k}.v1.jsonl", "ab") as fh:
            t = time.time()
            fh.write(b"".join(_lines(session, f"bulk{k}", n, t, "ls") for n in range(1, per + 1)))
    started = time.monotonic()
    _recorder(home, "start")
    _recorder(home, "stop")  # drains everything before it returns
    return per * shells / (time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="commands per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--shells", type=int, default=10)
    parser.add_argument("--kill-every", type=int, default=0, metavar="S",
                        help="SIGKILL the daemon every S seconds (and restart it)")  # fmt: skip
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="load-bench-"))
    try:
        report = run_load(work / "home", args.rate, args.seconds, args.shells, args.kill_every)
        capacity = bulk_ingest_rate(work / "bulk", report.commands, args.shells)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rate = report.commands / report.seconds
    lags = sorted(report.lags_s)
    rss = report.rss_mb
    print(
        f"load: {report.commands:,} commands from {args.shells} shells in {report.seconds:.0f} s"
        f" ({rate:,.0f}/s; load average {os.getloadavg()[0]:.1f})\n"
        f"  daemon SIGKILLed and restarted {report.kills} times\n"
        f"  in the log: {report.in_log:,}; lost {report.lost}; duplicates {report.duplicates}\n"
        f"  ingest lag: median {statistics.median(lags):.2f} s, max {lags[-1]:.2f} s"
        f" ({len(lags)} markers)\n"
        f"  daemon RSS: first {rss[0]:.0f} MB, max {max(rss):.0f} MB, last {rss[-1]:.0f} MB\n"
        f"  spool backlog: max {max(report.backlog_bytes) / 1024:.0f} KB\n"
        f"  baseline: bulk ingest {capacity:,.0f} commands/s; the load is"
        f" {rate / capacity:.2f} x that capacity"
    )
    return 0 if report.lost == 0 and report.duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
