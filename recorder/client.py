"""Talking to the daemon: starting it, asking it things, and reading the event log.

Readers never fail with a lock error: while a daemon runs they query it over its
socket, and otherwise open the database file read-only (see :func:`reader`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from recorder import protocol
from recorder.errors import DaemonError, DaemonUnavailable
from recorder.paths import Layout
from recorder.spool import producer_alive
from recorder.store import WriterLock, open_reader

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 120.0


def call(lay: Layout, op: str, timeout: float = 60.0, **fields: Any) -> dict[str, Any]:
    """Send one request to the daemon and return its JSON reply."""
    with _connect(lay, timeout) as sock:
        sock.sendall(protocol.encode({"op": op, **fields}))
        reply = protocol.decode(_read_line(sock))
    if not reply.get("ok"):
        raise DaemonError(f"daemon: {reply.get('error', 'unknown error')}")
    return reply


def query(lay: Layout, sql: str, params: list[Any] | None = None):
    """Run a read-only query in the daemon; a pyarrow Table."""
    import pyarrow as pa

    with _connect(lay, 300.0) as sock:
        sock.sendall(protocol.encode({"op": "query", "sql": sql, "params": params or []}))
        stream = sock.makefile("rb")
        header = protocol.decode(stream.readline())
        if not header.get("ok"):
            raise DaemonError(f"daemon: {header.get('error', 'unknown error')}")
        return pa.ipc.open_stream(stream).read_all()


@contextmanager
def _connect(lay: Layout, timeout: float) -> Iterator[socket.socket]:
    path = lay.socket
    if not path.exists():
        raise DaemonUnavailable("the recorder daemon is not running")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError) as exc:
        sock.close()
        raise DaemonUnavailable("the recorder daemon is not running") from exc
    try:
        yield sock
    finally:
        sock.close()


def _read_line(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            break
    if not chunks:
        raise DaemonUnavailable("the recorder daemon closed the connection")
    return b"".join(chunks)


def daemon_pid(lay: Layout) -> int | None:
    """The running daemon's pid, or None. Cleans up a stale pid file and socket."""
    lock = WriterLock(lay.writer_lock)
    try:
        pid = int(lay.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        pid = None
    if pid is not None and producer_alive(pid) and lock.held_elsewhere():
        return pid
    if pid is not None and not lock.held_elsewhere():
        lay.pid_file.unlink(missing_ok=True)
        lay.socket.unlink(missing_ok=True)
    return None


def ping(lay: Layout) -> bool:
    try:
        call(lay, "ping", timeout=5.0)
    except DaemonError:
        return False
    return True


def spawn_daemon(lay: Layout, foreground: bool = False) -> int:
    """Start the daemon (detached unless ``foreground``) and wait until it answers."""
    command = [sys.executable, "-m", "recorder.daemon"]
    env = {**os.environ, "RECORDER_HOME": str(lay.home)}
    if foreground:
        command.append("--foreground")
        return subprocess.call(command, env=env)
    with open(lay.daemon_log, "ab") as logfile:
        proc = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=logfile,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DaemonError(f"the daemon exited at start: {_last_log_line(lay)}")
        if ping(lay):
            return proc.pid
        time.sleep(0.05)
    raise DaemonError(
        f"the daemon did not answer within {START_TIMEOUT_S:.0f} s; see {lay.daemon_log}"
    )


def stop_daemon(lay: Layout) -> dict[str, Any] | None:
    """Ask the daemon to drain the spool and exit; wait for it. None if none ran."""
    pid = daemon_pid(lay)
    if pid is None:
        return None
    try:
        reply = call(lay, "stop", timeout=STOP_TIMEOUT_S)
    except DaemonUnavailable:
        reply = {}
    # The writer lock is released when the daemon's process ends (even while it is a zombie
    # that nobody has reaped yet), so it, not the pid, says when the daemon is gone.
    lock = WriterLock(lay.writer_lock)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while lock.held_elsewhere() and time.monotonic() < deadline:
        time.sleep(0.02)
    if lock.held_elsewhere():
        raise DaemonError(f"the daemon (pid {pid}) did not stop; see {lay.daemon_log}")
    return reply


def _last_log_line(lay: Layout) -> str:
    try:
        lines = lay.daemon_log.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "no log"
    return lines[-1] if lines else "no log"


class Reader:
    """Read-only access to the event log, through the daemon or the file."""

    def __init__(self, lay: Layout):
        self.lay = lay
        self._local = None

    def arrow(self, sql: str, params: list[Any] | None = None):
        if self._local is None and daemon_pid(self.lay) is not None:
            try:
                return query(self.lay, sql, params)
            except DaemonUnavailable:
                pass
        if self._local is None:
            self._local = open_reader(self.lay)
        if self._local is None:
            return _empty_result(sql, params)
        return self._local.arrow(sql, params)

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None


def _empty_result(sql: str, params: list[Any] | None):
    """No database yet: run the query against an empty, migrated in-memory log."""
    import duckdb

    from recorder.migrations import migrate
    from recorder.store import to_arrow

    con = duckdb.connect()
    migrate(con)
    try:
        return to_arrow(con.sql(sql, params=params or None))
    finally:
        con.close()


@contextmanager
def reader(lay: Layout) -> Iterator[Reader]:
    r = Reader(lay)
    try:
        yield r
    finally:
        r.close()
