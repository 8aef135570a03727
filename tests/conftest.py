"""Shared fixtures: every test gets its own RECORDER_HOME, and no daemon outlives its test."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from recorder.paths import Layout


@pytest.fixture(autouse=True)
def recorder_home(tmp_path, monkeypatch) -> Path:
    """Point RECORDER_HOME at a fresh directory; stop any daemon started inside it."""
    home = tmp_path / "recorder-home"
    monkeypatch.setenv("RECORDER_HOME", str(home))
    for name in list(os.environ):
        if name.startswith("RECORDER_") and name != "RECORDER_HOME":
            monkeypatch.delenv(name, raising=False)
    yield home
    _kill_daemon(Layout(home))


def _kill_daemon(lay: Layout) -> None:
    try:
        pid = int(lay.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


@pytest.fixture
def lay(recorder_home) -> Layout:
    from recorder.paths import layout

    return layout()


@pytest.fixture
def run_cli(recorder_home):
    """Run the installed `recorder` entry point as a user would."""
    exe = shutil.which("recorder")
    assert exe, "the recorder entry point is not installed (pip install -e .)"

    def run(
        *args: str, check: bool = True, timeout: float = 120, **kw
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"recorder {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    return run
