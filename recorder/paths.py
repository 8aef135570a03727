"""Where the recorder keeps its state: one home directory, owner-only.

``$RECORDER_HOME`` when set, else the platform's user data directory. Every
directory is created 0700 and every file 0600 (see :func:`private_umask`), and
every file is opened for writing with :func:`open_private`, which never follows
a symlink planted in its place.

A home directory that already exists must be the user's own and owner-only: the
recorder refuses one that others can write, or one they can read that it did not
make (it never changes the mode of a directory it did not create), or one that holds
files none of which are its own (another tool's directory, ``/tmp``). One of its own
that has been opened up since (it holds ``state/``) is closed again.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
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
        make_home_dir(home)
    return home


def make_private_dir(path: Path, tighten: bool = True) -> Path:
    """Create ``path`` 0700, or check the existing one: HomeError if another user owns it
    or others can write to it; if others can only read it, close it when ``tighten``
    (a directory the recorder made), else HomeError."""
    try:
        try:
            path.mkdir(mode=0o700, parents=True)
            return path
        except FileExistsError:
            pass
        st = path.stat()
        _check_private_dir(path, st, tighten)
        if st.st_mode & 0o077:
            path.chmod(0o700)
    except OSError as exc:
        raise HomeError(f"cannot use {path}: {exc.strerror or exc}") from exc
    return path


# What a home the recorder made may hold: a directory with any of these is its own.
HOME_NAMES = frozenset({"state", "spool", "logs", "config.toml", "secret.key", "recorder.duckdb"})


def make_home_dir(home: Path) -> Path:
    """The home, created or checked; one the recorder made holds ``state/``. An existing
    directory that holds files, none of them the recorder's, is refused: it belongs to
    someone or something else, and the recorder would fill it and tighten its mode."""
    _check_not_foreign(home)
    return make_private_dir(home, tighten=(home / "state").is_dir())


def _check_not_foreign(home: Path) -> None:
    try:
        with os.scandir(home) as entries:
            names = sorted(entry.name for entry in entries)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return  # made afresh, or refused with its own reason by make_private_dir
    if names and not HOME_NAMES.intersection(names):
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise HomeError(
            f"cannot use {home} as the recorder's home: it holds other files ({shown}); "
            "set RECORDER_HOME to a new or empty directory"
        )


def _check_private_dir(path: Path, st: os.stat_result, tighten: bool) -> None:
    if not stat.S_ISDIR(st.st_mode):
        raise HomeError(f"cannot use {path}: not a directory")
    if st.st_uid != os.getuid():
        raise HomeError(f"cannot use {path}: it belongs to another user (uid {st.st_uid})")
    mode = st.st_mode & 0o777
    if mode & 0o022:
        raise HomeError(
            f"cannot use {path}: others can write to it (mode {mode:o}); "
            f"run `chmod 700 {path}` once you know nobody else changed what it holds"
        )
    if mode & 0o077 and not tighten:
        raise HomeError(
            f"cannot use {path}: others can read it (mode {mode:o}); run `chmod 700 {path}`"
        )


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_APPEND | os.O_CREAT) -> int:
    """``os.open`` for writing a file of the home: 0600, close-on-exec, never through a
    symlink at ``path`` (HomeError names it instead)."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise HomeError(f"refusing to write {path}: it is a symlink") from exc
        raise


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
        make_home_dir(self.home)
        for path in (self.spool, self.quarantine, self.state, self.logs):
            make_private_dir(path)
        return self


def layout(create: bool = True) -> Layout:
    home = home_dir(create=create)
    return Layout(home).ensure() if create else Layout(home)


def private_umask() -> None:
    """Make every file this process creates owner-only."""
    os.umask(0o077)
