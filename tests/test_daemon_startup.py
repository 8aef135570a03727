"""Commands that meet a daemon while it starts: they wait for it, and it starts."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest
from waitkit import wait_until

from recorder.paths import Layout
from recorder.store import WriterLock

# A real daemon whose socket opens 3 s after it took the log: the window in which a
# command finds it alive but not answering yet (the CI failure of test_service).
_SLOW_SOCKET_DAEMON = """
import sys, time
from recorder import daemon
serve = daemon.Daemon._start_server
def late(self):
    time.sleep(3.0)
    serve(self)
daemon.Daemon._start_server = late
sys.exit(daemon.main(["--foreground"]))
"""


@pytest.mark.slow
def test_commands_wait_for_a_daemon_that_is_still_starting(run_cli, recorder_home):
    lay = Layout(recorder_home)
    run_cli("config")  # creates the home
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_SOCKET_DAEMON],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: lay.pid_file.exists() and WriterLock(lay.writer_lock).held_elsewhere(),
            what="the daemon to take the log",
        )
        assert not lay.socket.exists()
        status = json.loads(run_cli("status", "--json").stdout)
        assert status["daemon_pid"] == proc.pid
        assert run_cli("sessions", "--json").stdout == ""
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


@pytest.mark.slow
def test_a_command_probing_the_writer_lock_does_not_stop_a_daemon_from_starting(
    run_cli, recorder_home
):
    """`recorder status` learns whether a daemon runs by taking the writer lock for an
    instant; a daemon starting in that instant waits for it instead of giving up."""
    lay = Layout(recorder_home)
    run_cli("config")
    probe = WriterLock(lay.writer_lock)
    assert probe.acquire()  # a probe, held long enough for the start to meet it
    release = threading.Timer(1.0, probe.release)
    release.start()
    try:
        started = run_cli("start", check=False)
    finally:
        release.join()
    assert started.returncode == 0, started.stderr
    assert json.loads(run_cli("status", "--json").stdout)["session"] == started.stdout.strip()
    run_cli("stop")
