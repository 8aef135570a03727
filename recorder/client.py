"""Talking to the daemon: starting it, asking it things (status, flush, a named read of
the event log) and stopping it. Readers use ``recorder.eventlog``, which calls
:func:`read` here while a daemon runs.
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
from recorder.errors import DaemonError, DaemonUnavailable, RequestRefused
from recorder.paths import Layout, open_private
from recorder.spool import producer_alive
from recorder.store import WriterLock

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 120.0
# A daemon holds the log a moment before its socket opens (it builds its redactor first):
# a command that meets it then waits this long for it to answer.
ANSWER_WAIT_S = START_TIMEOUT_S


def call(lay: Layout, op: str, timeout: float = 60.0, **fields: Any) -> dict[str, Any]:
    """Send one request to the daemon and return its JSON reply."""
    with _connect(lay, timeout) as sock:
        sock.sendall(protocol.encode({"op": op, **fields}))
        reply = protocol.decode(_read_line(sock))
    if not reply.get("ok"):
        raise _refusal(reply)
    return reply


def _refusal(reply: dict[str, Any]) -> Exception:
    """The error the daemon answered: the same RecorderError class when it names one."""
    from recorder import errors

    message = str(reply.get("error", "unknown error"))
    kind = getattr(errors, str(reply.get("kind")), None)
    usable = isinstance(kind, type) and issubclass(kind, errors.RecorderError)
    if usable and not issubclass(kind, errors.DaemonError):
        try:
            return kind(message)
        except TypeError:  # an error class with its own arguments (LeakFound)
            pass
    return RequestRefused(f"daemon: {message}")


def read(lay: Layout, name: str, args: dict[str, Any]):
    """One named read of the event log (``recorder.eventlog.READ_OPS``) answered by the
    daemon; a pyarrow Table."""
    import pyarrow as pa

    with _connect(lay, 300.0) as sock:
        sock.sendall(protocol.encode({"op": "read", "name": name, "args": args}))
        stream = sock.makefile("rb")
        line = stream.readline()
        if not line:
            raise DaemonUnavailable("the recorder daemon closed the connection")
        header = protocol.decode(line)
        if not header.get("ok"):
            raise RequestRefused(f"daemon: {header.get('error', 'unknown error')}")
        return pa.ipc.open_stream(stream).read_all()


@contextmanager
def _connect(lay: Layout, timeout: float) -> Iterator[socket.socket]:
    """A connection to the daemon's socket. While a daemon lives but does not answer yet
    (it is starting), wait for it; DaemonUnavailable once none lives."""
    deadline = time.monotonic() + ANSWER_WAIT_S
    while True:
        sock = _try_connect(lay, timeout)
        if sock is not None:
            break
        pid = daemon_pid(lay)
        if pid is None:
            raise DaemonUnavailable("the recorder daemon is not running")
        if time.monotonic() > deadline:
            raise DaemonUnavailable(
                f"the recorder daemon (pid {pid}) does not answer; see {lay.daemon_log}"
            )
        time.sleep(0.02)
    try:
        yield sock
    finally:
        sock.close()


def _try_connect(lay: Layout, timeout: float) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(lay.socket))
    except (ConnectionRefusedError, FileNotFoundError):
        sock.close()
        return None
    return sock


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
    """Start the daemon (detached unless ``foreground``) and wait until it answers and its
    collectors run (the tmux panes known already are piped: the next command's output is
    caught)."""
    command = [sys.executable, "-m", "recorder.daemon"]
    env = {**os.environ, "RECORDER_HOME": str(lay.home)}
    if foreground:
        command.append("--foreground")
        return subprocess.call(command, env=env)
    with os.fdopen(open_private(lay.daemon_log), "ab") as logfile:
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
        if ping(lay) and _collectors_ready(lay):
            return proc.pid
        time.sleep(0.02)
    raise DaemonError(
        f"the daemon did not answer within {START_TIMEOUT_S:.0f} s; see {lay.daemon_log}"
    )


def _collectors_ready(lay: Layout) -> bool:
    try:
        return bool(call(lay, "status", timeout=10.0).get("collectors_ready"))
    except DaemonError:
        return False


def stop_daemon(lay: Layout, session_id: str | None = None) -> dict[str, Any] | None:
    """Ask the daemon to drain the spool and exit; wait for it. None if none ran. With
    ``session_id``, the reply's ``session_events`` is that session's event count."""
    pid = daemon_pid(lay)
    if pid is None:
        return None
    fields = {} if session_id is None else {"session": session_id}
    try:
        reply = call(lay, "stop", timeout=STOP_TIMEOUT_S, **fields)
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
