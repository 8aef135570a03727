"""Where the recorder keeps its state: one home directory, owner-only.

``$RECORDER_HOME`` when set, else the platform's user data directory. Every
directory is created 0700 and every file 0600 (see :func:`private_umask`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from recorder.errors import HomeError

HOME_ENV = "RECORDER_HOME"
# AF_UNIX paths are limited to 108 bytes on Linux.
_MAX_SOCKET_PATH = 100


def home_dir(create: bool = True) -> Path:
    """The recorder's home directory, created owner-only when ``create``."""
    env = os.environ.get(HOME_ENV)
    if env:
        home = Path(env).expanduser()
    else:
        from platformdirs import user_data_path

        home = user_data_path("recorder", appauthor=False)
    if create:
        make_private_dir(home)
    return home


def make_private_dir(path: Path) -> Path:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except OSError as exc:
        raise HomeError(f"cannot use {path}: {exc.strerror or exc}") from exc
    return path


@dataclass(frozen=True)
class Layout:
    """Named paths inside one home directory."""

    home: Path

    @property
    def config(self) -> Path:
        return self.home / "config.toml"

    @property
    def database(self) -> Path:
        return self.home / "recorder.duckdb"

    @property
    def spool(self) -> Path:
        return self.home / "spool"

    @property
    def quarantine(self) -> Path:
        return self.home / "spool" / "quarantine"

    @property
    def state(self) -> Path:
        return self.home / "state"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def recording_marker(self) -> Path:
        """Exists while a session records; holds the session id. The shell hook reads it."""
        return self.state / "recording"

    @property
    def paused_marker(self) -> Path:
        return self.state / "paused"

    def active_marker(self, session_id: str) -> Path:
        """Exists while this session records and is not paused: the shell hooks' per-prompt
        check, one ``stat`` that also notices a new session (its name holds the id)."""
        return self.state / f"active.{session_id}"

    @property
    def pid_file(self) -> Path:
        return self.state / "daemon.pid"

    @property
    def writer_lock(self) -> Path:
        """flock held by the one process allowed to open the database for writing."""
        return self.state / "writer.lock"

    @property
    def control_lock(self) -> Path:
        """flock serialising start and stop."""
        return self.state / "control.lock"

    @property
    def daemon_log(self) -> Path:
        return self.logs / "daemon.log"

    @property
    def cli_log(self) -> Path:
        """Tracebacks of unexpected CLI errors (the user sees one line naming this file)."""
        return self.logs / "cli.log"

    @property
    def socket(self) -> Path:
        path = self.state / "daemon.sock"
        if len(os.fsencode(path)) <= _MAX_SOCKET_PATH:
            return path
        # Deep homes (test directories) get a private directory under /tmp instead.
        digest = hashlib.sha256(os.fsencode(self.home.resolve())).hexdigest()[:16]
        short = Path(tempfile.gettempdir()) / f"recorder-{os.getuid()}-{digest}"
        make_private_dir(short)
        return short / "daemon.sock"

    def ensure(self) -> Layout:
        for path in (self.home, self.spool, self.quarantine, self.state, self.logs):
            make_private_dir(path)
        return self


def layout(create: bool = True) -> Layout:
    home = home_dir(create=create)
    return Layout(home).ensure() if create else Layout(home)


def private_umask() -> None:
    """Make every file this process creates owner-only."""
    os.umask(0o077)
