"""The suite's fixtures: every test gets its own RECORDER_HOME, and no daemon outlives its test.

Also here: the order of the run (the long tests first, so that under pytest-xdist none of
them ends the run on its own), a cache of compiled bytecode for the processes the tests
start, the real shells in a private tmux server (``lab``), a recording
session (``session``), a watched git repository (``wr``), a spool on a tiny
tmpfs (``tiny_spool``) and the redaction tests' redactors. Helpers that are not
fixtures live in the ``*kit.py`` modules beside this file.
"""

from __future__ import annotations

import contextlib
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


def pytest_collection_modifyitems(items):
    """The ``long`` tests first, then the other ``slow`` ones, then the rest (a stable sort:
    within each group, the order of the files). pytest-xdist hands tests out in this order,
    so the short ones fill the workers' last minutes instead of one long test."""

    def rank(item) -> int:
        if item.get_closest_marker("long"):
            return 0
        return 1 if item.get_closest_marker("slow") else 2

    items.sort(key=rank)


@pytest.fixture(scope="session", autouse=True)
def child_bytecode_cache(tmp_path_factory):
    """Let the processes the tests start (the CLI, daemons, readers) keep compiled bytecode.

    Where PYTHONDONTWRITEBYTECODE is set (some sandboxes and CI images do), every one of the
    suite's CLI runs and daemon starts would compile the project's modules again: about
    30 ms of CPU for each CLI run and 70 ms for each daemon. They share one cache in this
    run's temporary directory instead, so nothing is written into the source tree.
    """
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and not os.environ.get("PYTHONPYCACHEPREFIX"):
        run_dir = tmp_path_factory.getbasetemp()
        if os.environ.get("PYTEST_XDIST_WORKER"):
            run_dir = run_dir.parent  # shared by the workers: each module compiled once
        os.environ.pop("PYTHONDONTWRITEBYTECODE")
        os.environ["PYTHONPYCACHEPREFIX"] = str(run_dir / "pycache")


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


@contextlib.contextmanager
def mounted_tmpfs(directory: Path, size: str):
    """A real, small tmpfs on ``directory`` (0700), so that the disk really fills up."""
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(directory)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("needs root to mount a tmpfs")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


@pytest.fixture
def tiny_spool(recorder_home):
    """The spool directory on a 64 KiB tmpfs."""
    with mounted_tmpfs(Layout(recorder_home).ensure().spool, "64k") as spool:
        yield spool


@pytest.fixture
def tiny_home(recorder_home):
    """The whole RECORDER_HOME on an 8 MiB tmpfs: spool, database and logs fill up together."""
    recorder_home.mkdir(parents=True)
    with mounted_tmpfs(recorder_home, "8m") as home:
        yield home


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(KEY, personal=PERSON)


@pytest.fixture(scope="module")
def redactors() -> dict[bool, Redactor]:
    """With and without the machine's personal data."""
    return {flag: Redactor(KEY, personal=flag) for flag in (False, True)}
