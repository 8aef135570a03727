"""The suite's fixtures: every test gets its own RECORDER_HOME, and no daemon outlives its test.

Also here: the real shells in a private tmux server (``lab``), a recording
session (``session``), a watched git repository (``wr``), a spool on a tiny
tmpfs (``tiny_spool``) and the redaction tests' redactors. Helpers that are not
fixtures live in the ``*kit.py`` modules beside this file.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from filekit import WatchedRepo
from redactkit import KEY, PERSON
from shellkit import ShellLab

from recorder.paths import Layout
from recorder.redaction import Redactor


@pytest.fixture(autouse=True)
def machine_share(request, tmp_path_factory):
    """Under pytest-xdist, a test marked ``alone`` runs while no other worker runs one.

    Each test holds a shared lock on a file of the run for its setup, call and teardown;
    an ``alone`` test holds it exclusively. Such a test needs the CPU to itself: what it
    checks is cut by the collector's wall-clock windows (a burst ends after 1 s of quiet
    or 10 s of age), which a machine saturated by the other workers stretches.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
        return
    lock_path = tmp_path_factory.getbasetemp().parent / "machine.lock"
    mode = fcntl.LOCK_EX if request.node.get_closest_marker("alone") else fcntl.LOCK_SH
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, mode)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def recorder_home(machine_share, tmp_path, monkeypatch) -> Path:
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


@pytest.fixture
def lab(recorder_home, tmp_path):
    """Real bash and zsh in a tmux server of this test's own (killed at the end)."""
    work = tmp_path / "work"
    work.mkdir()
    shells = ShellLab(Path(recorder_home), work)
    yield shells
    shells.close()


@pytest.fixture
def session(run_cli, lay):
    """A recording session with its daemon; stopped (drained) at the end if still on."""
    sid = run_cli("start", "--name", "shell-test").stdout.strip()
    yield sid
    if lay.recording_marker.exists():
        run_cli("stop", check=False)


@pytest.fixture
def wr(tmp_path, run_cli) -> WatchedRepo:
    """A git repository for the file collector to watch (not yet started)."""
    return WatchedRepo(tmp_path, run_cli)


@pytest.fixture
def tiny_spool(recorder_home):
    """The spool directory on a 64 KiB tmpfs, so that the disk really fills up."""
    spool = Layout(recorder_home).ensure().spool
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(spool)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("needs root to mount a tmpfs")
    yield spool
    subprocess.run(["umount", "-l", str(spool)], check=False)


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(KEY, personal=PERSON)


@pytest.fixture(scope="module")
def redactors() -> dict[bool, Redactor]:
    """With and without the machine's personal data."""
    return {flag: Redactor(KEY, personal=flag) for flag in (False, True)}
