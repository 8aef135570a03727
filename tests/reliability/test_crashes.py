"""Crashes: SIGKILL at the worst moments loses nothing, duplicates nothing and leaves
nothing half-written.

- ``recorder stop`` killed, again and again, while it drains a backlog on its own;
- an export worker killed in the middle of an export, and the export itself killed;
- the daemon killed at random moments while 20 shells type, tmux records their
  output and a 10,000-file burst lands (``test_random_kills_*``; more rounds with
  ``RECORDER_SOAK_ROUNDS``).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time

import pytest
from logkit import log_sql
from spoolkit import command_lines, shell_spool
from waitkit import wait_until

from recorder.paths import Layout, layout

pytestmark = pytest.mark.slow

BACKLOG = 60_000  # commands: 120,000 spool lines, several ingest transactions


def command_counts(lay: Layout) -> tuple[int, int]:
    row = log_sql(
        lay,
        "SELECT count(*) AS n, count(DISTINCT (shell_id, cmd_seq)) AS d FROM events "
        "WHERE event_type = 'command'",
    )[0]
    return row["n"], row["d"]


def spool_a_backlog_without_a_daemon(run_cli, lay: Layout, commands: int, shells: int = 1) -> str:
    session = run_cli("start").stdout.strip()
    os.kill(int(lay.pid_file.read_text()), signal.SIGKILL)
    wait_until(lambda: not lay.socket.exists() or not _answers(lay), what="the daemon to die")
    for k in range(shells):  # a spool file of each session's own shells, as the hooks name them
        spool = shell_spool(lay, f"{session[-12:]}-{k}")
        spool.write_bytes(command_lines(session, commands, shell_id=f"{session[-12:]}-sh{k}"))
    return session


def _answers(lay: Layout) -> bool:
    from recorder import client

    try:
        client.call(lay, "ping")
        return True
    except Exception:
        return False


def recorder_exe() -> str:
    exe = shutil.which("recorder")
    assert exe
    return exe


def test_killing_recorder_stop_while_it_drains_loses_nothing(run_cli, recorder_home):
    lay = Layout(recorder_home)
    spool_a_backlog_without_a_daemon(run_cli, lay, BACKLOG, shells=2)
    rng = random.Random(7)
    killed, finished = 0, False
    for _ in range(3):
        proc = subprocess.Popen(
            [recorder_exe(), "stop"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        time.sleep(rng.uniform(0.3, 1.5))
        if proc.poll() is not None:  # this one got to the end first: nothing to interrupt
            finished = proc.returncode == 0
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed += 1
    assert killed >= 1, "no stop was killed while it drained"
    last = run_cli("stop", check=False)
    assert last.returncode == 0 or (finished and "not recording" in last.stderr)
    assert command_counts(lay) == (2 * BACKLOG, 2 * BACKLOG)


def big_sessions(run_cli, lay: Layout, count: int, commands: int) -> None:
    for _ in range(count):
        spool_a_backlog_without_a_daemon(run_cli, lay, commands)
        run_cli("stop")
    # Enough events that the export runs its sessions in worker processes.
    assert command_counts(lay) == (count * commands, count * commands)


def worker_pids(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"exporters.workers" in cmdline:
            found.append(int(entry))
    return found


def no_partial_left(out) -> bool:
    return not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.partial-")]


EXPORT = ("export", "--include-unapproved", "-q", "-o")


def export_args(out) -> list[str]:
    args = [recorder_exe(), *EXPORT, str(out)]
    if (
        "--include-unapproved"
        not in subprocess.run(
            [recorder_exe(), "export", "--help"], capture_output=True, text=True
        ).stdout
    ):
        args.remove("--include-unapproved")
    return args


def test_an_export_worker_killed_mid_export_leaves_nothing_half_written(run_cli, tmp_path):
    lay = layout()
    big_sessions(run_cli, lay, 3, 25_000)
    out = tmp_path / "dataset"
    proc = subprocess.Popen(
        export_args(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    workers = wait_until(lambda: worker_pids(proc.pid), timeout=300, interval=0.01, what="workers")
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert not out.exists()
    assert no_partial_left(out)
    # The same export, undisturbed, then goes through.
    assert subprocess.run(export_args(out), capture_output=True).returncode == 0
    assert (out / "meta" / "info.json").exists()


def test_an_export_killed_mid_export_leaves_the_earlier_dataset_whole(run_cli, tmp_path):
    lay = layout()
    big_sessions(run_cli, lay, 3, 25_000)
    out = tmp_path / "dataset"
    assert subprocess.run(export_args(out), capture_output=True).returncode == 0
    before = sorted((p.relative_to(out), p.stat().st_size) for p in out.rglob("*") if p.is_file())
    proc = subprocess.Popen([*export_args(out), "--overwrite"], stderr=subprocess.PIPE)
    wait_until(lambda: worker_pids(proc.pid), timeout=300, interval=0.01, what="workers")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = sorted((p.relative_to(out), p.stat().st_size) for p in out.rglob("*") if p.is_file())
    assert after == before
    assert subprocess.run([*export_args(out), "--overwrite"], capture_output=True).returncode == 0
    assert no_partial_left(out)
