"""The daemon: the single writer of the event log while a session records.

It holds ``writer.lock``, ingests the spool every ``POLL_S`` seconds (giving each
shell command its git state, ``recorder.gitstate``), runs the
daemon-side collectors (files, terminal output) and answers the CLI over an
owner-only unix socket (status, the named reads of ``recorder.eventlog``, the review's
named writes of ``recorder.review.edits``, flush, stop; see ``protocol.py``). It exits after
``stop``, draining the spool first; if it dies instead, nothing is lost: the
next writer ingests the spool from the offsets stored in the log.

Run as ``python -m recorder.daemon`` (``recorder start`` does this, detached).
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
import os
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any

from recorder import protocol
from recorder.collectors import CollectorContext, build_collectors
from recorder.collectors.scratch import ScratchSweeper
from recorder.config import load_config
from recorder.errors import DaemonError, RecorderError, RequestRefused
from recorder.eventlog import LocalLog, run_read
from recorder.gitstate import GitState
from recorder.ingest import Ingester, quarantine_count
from recorder.nopandas import keep_pandas_out
from recorder.paths import Layout, home_dir, open_private, private_umask
from recorder.redaction.installed import build_redactor
from recorder.session import active_session
from recorder.store import Store, WriterLock, open_writer

POLL_S = 0.25
_TRUNCATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
CLEANUP_EVERY_S = 5.0
# record.retention_days is applied at start, then this often.
RETENTION_EVERY_S = 600.0

log = logging.getLogger("recorder.daemon")


class IngestRetry:
    """How the loop waits after a failed ingest (a full disk, say): 1 s, doubling up to
    30 s, so that it backs off instead of spinning; the traceback is logged once per kind
    of error, then one line now and then, and the recovery once."""

    FIRST_S = 1.0
    MAX_S = 30.0

    def __init__(self) -> None:
        self.delay = 0.0
        self.failures = 0
        self._last_kind: str | None = None

    def failed(self, exc: Exception) -> float:
        """Log the failure; the seconds to wait before the next attempt."""
        self.failures += 1
        kind = f"{type(exc).__name__}: {exc}"
        if kind != self._last_kind:
            log.exception("ingest failed; retrying with backoff")
            self._last_kind = kind
        elif self.delay >= self.MAX_S:
            log.warning("ingest still failing (%d attempts): %s", self.failures, kind)
        self.delay = min(self.MAX_S, max(self.FIRST_S, self.delay * 2))
        return self.delay

    def succeeded(self) -> None:
        if self.failures:
            log.info("ingest recovered after %d failed attempts", self.failures)
        self.delay = 0.0
        self.failures = 0
        self._last_kind = None


class Daemon:
    def __init__(self, lay: Layout):
        self.lay = lay
        self.config = load_config(lay)
        self.lock = WriterLock(lay.writer_lock)
        self.store: Store | None = None
        self.ingester: Ingester | None = None
        self.collectors: list = []
        self.started_at = time.time()
        self.stopping = threading.Event()
        self.ingest_lock = threading.Lock()
        self.server: socketserver.UnixStreamServer | None = None
        self.last_error: str | None = None
        self.batch_bytes = self.config.settings.caps.ingest_batch_bytes
        self.scratch = ScratchSweeper(lay)
        self.retry = IngestRetry()
        self.collectors_ready = threading.Event()  # set once every collector has started

    # -- lifecycle --------------------------------------------------------------

    def run(self) -> None:
        if not self.lock.acquire_past_probes():
            raise DaemonError("another recorder process is writing the event log")
        try:
            with os.fdopen(open_private(self.lay.pid_file, _TRUNCATE), "w") as fh:
                fh.write(f"{os.getpid()}\n")
            self.store = open_writer(self.lay)
            redactor = build_redactor(self.lay, self.config, remember=True)
            self.ingester = Ingester(self.store, self.lay, redactor, git=GitState())
            # A backlog left by a dead daemon is ingested by the loop, chunk by chunk, while
            # the socket already answers: `recorder start` returns at once.
            self._start_server()
            self._start_collectors()
            self.collectors_ready.set()
            log.info("daemon %d ready", os.getpid())
            self._loop()
        finally:
            self._shutdown()

    def _loop(self) -> None:
        next_cleanup = next_retention = time.monotonic()
        while not self.stopping.wait(POLL_S):
            if not self.lay.state.is_dir():
                # The home was deleted: there is nothing left to record into, and no
                # `recorder stop` can reach this daemon any more.
                log.warning("home %s is gone; stopping", self.lay.home)
                return
            try:
                with self.ingest_lock:
                    self.ingester.run_once(self.batch_bytes)
                    self.scratch.sweep()
                    if time.monotonic() >= next_cleanup:
                        self.ingester.cleanup()
                        next_cleanup = time.monotonic() + CLEANUP_EVERY_S
                    if time.monotonic() >= next_retention:
                        self._apply_retention()
                        next_retention = time.monotonic() + RETENTION_EVERY_S
                self.last_error = None
                self.retry.succeeded()
            except Exception as exc:  # keep recording; the spool keeps what we could not ingest
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.stopping.wait(self.retry.failed(exc))

    def _apply_retention(self) -> None:
        """Prune the sessions ``record.retention_days`` no longer keeps (under the ingest
        lock, as the review's changes are applied)."""
        from recorder.review.edits import apply_in_store
        from recorder.review.retention import due

        days = self.config.settings.record.retention_days
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        change = due(LocalLog(self.store), days, now)
        if change is not None:
            [result], _ = apply_in_store(self.store, self.lay, self.config, [change])
            log.info("retention of %d days: %s", days, result.detail)

    def _drain(self) -> dict[str, Any]:
        with self.ingest_lock:
            report = self.ingester.drain(self.batch_bytes)
            self.scratch.sweep()
        return {
            "events": report.events,
            "records": report.records,
            "quarantined": report.quarantined,
        }

    def request_stop(self) -> None:
        self.stopping.set()

    def _shutdown(self) -> None:
        for collector in self.collectors:
            try:
                collector.stop()
            except Exception:
                log.exception("collector %s failed to stop", getattr(collector, "name", "?"))
        if self.ingester is not None:
            try:
                self._drain()
            except Exception:
                log.exception("final drain failed; the spool keeps the rest")
            if self.ingester.git is not None:
                self.ingester.git.close()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.lay.socket.unlink(missing_ok=True)
        if self.store is not None:
            self.store.close()
        self.lay.pid_file.unlink(missing_ok=True)
        self.lock.release()
        log.info("daemon %d stopped", os.getpid())

    # -- collectors -------------------------------------------------------------

    def _start_collectors(self) -> None:
        session = active_session(self.lay)
        if session is None:
            return
        ctx = CollectorContext(
            self.lay,
            self.config,
            session.session_id,
            [Path(p) for p in session.watch],
            redactor=self.ingester.redactor,
            log=LocalLog(self.store),
        )
        for collector in build_collectors(ctx):
            try:
                collector.start()
                self.collectors.append(collector)
            except RecorderError as exc:
                log.error("collector %s not started: %s", collector.name, exc)

    # -- socket -----------------------------------------------------------------

    def _start_server(self) -> None:
        path = self.lay.socket
        path.unlink(missing_ok=True)
        daemon = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                daemon._handle(self.connection, self.rfile, self.wfile)

        self.server = socketserver.ThreadingUnixStreamServer(str(path), Handler)
        self.server.daemon_threads = True
        os.chmod(path, 0o600)
        threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="socket",
            daemon=True,
        ).start()

    def _handle(self, conn: socket.socket, rfile, wfile) -> None:
        if not _same_user(conn):
            return
        try:
            request = protocol.decode(rfile.readline(protocol.MAX_REQUEST))
            op = request.get("op")
            if op == "read":
                self._serve_read(request, wfile)
                return
            reply = self._dispatch(op, request)
            wfile.write(protocol.encode({"ok": True, **reply}))
        except RecorderError as exc:
            # The class travels too, so the caller raises the same error (its message never
            # holds a secret: the review's errors name rules and ids, not text).
            wfile.write(
                protocol.encode({"ok": False, "error": str(exc), "kind": type(exc).__name__})
            )
        except Exception as exc:
            log.debug("request failed", exc_info=True)
            wfile.write(protocol.encode({"ok": False, "error": str(exc)}))

    def _dispatch(self, op: str | None, request: dict[str, Any]) -> dict[str, Any]:
        if op == "ping":
            return {"pid": os.getpid()}
        if op == "status":
            return self.status()
        if op == "flush":
            return self._drain()
        if op == "apply":
            return self._apply(request)
        if op == "stop":
            for collector in self.collectors:
                collector.stop()
            self.collectors = []
            drained = self._drain()
            if request.get("session") is not None:
                # Told here, `recorder stop` need not load DuckDB to count them itself.
                drained["session_events"] = LocalLog(self.store).event_count(
                    str(request["session"])
                )
            self.request_stop()
            return drained
        raise RequestRefused(f"unknown operation {op!r}")

    def _apply(self, request: dict[str, Any]) -> dict[str, Any]:
        """The review's changes (``recorder.review.edits``): after the spool is ingested, in
        one transaction, then the file compacted; ingest waits meanwhile."""
        from recorder.review.edits import apply_in_store, decode_changes, encode_results

        changes = decode_changes(request.get("changes"))
        with self.ingest_lock:
            self.ingester.drain(self.batch_bytes)
            results, rules_changed = apply_in_store(self.store, self.lay, self.config, changes)
            if rules_changed:  # a rule for every session: ingest applies it from now on
                self.ingester.redactor = build_redactor(self.lay, self.config)
        return {"results": encode_results(results)}

    def _serve_read(self, request: dict[str, Any], wfile) -> None:
        import pyarrow as pa

        table = run_read(self.store, str(request.get("name")), request.get("args", {}))
        wfile.write(protocol.encode({"ok": True, "rows": table.num_rows}))
        with pa.ipc.new_stream(wfile, table.schema) as writer:
            writer.write_table(table)

    def status(self) -> dict[str, Any]:
        session = active_session(self.lay)
        counts = {}
        if session is not None:
            counts = LocalLog(self.store).event_counts(session.session_id)
        return {
            "pid": os.getpid(),
            "collectors_ready": self.collectors_ready.is_set(),
            "started_at": self.started_at,
            "session": session.session_id if session else None,
            "events_by_source": counts,
            "backlog_bytes": self.ingester.backlog_bytes(),
            "quarantined": quarantine_count(self.lay),
            "collectors": {c.name: c.status() for c in self.collectors},
            "last_error": self.last_error,
            "ingest_failures": self.retry.failures,  # in a row, until an ingest succeeds
            "oldest_session_at": _iso(LocalLog(self.store).oldest_session_start()),
        }


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(sep=" ", timespec="seconds")


def _same_user(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """The daemon's log, opened 0600 and never through a symlink planted in its place."""

    def _open(self):
        return os.fdopen(open_private(Path(self.baseFilename)), "a", encoding="utf-8")


def _setup_logging(lay: Layout, foreground: bool) -> None:
    handler: logging.Handler
    if foreground:
        handler = logging.StreamHandler(sys.stderr)
    else:
        handler = PrivateRotatingFileHandler(
            lay.daemon_log, maxBytes=5 * 1024 * 1024, backupCount=2
        )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("recorder")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    keep_pandas_out()
    private_umask()
    lay = Layout(home_dir()).ensure()
    _setup_logging(lay, foreground="--foreground" in argv)
    daemon = Daemon(lay)
    signal.signal(signal.SIGTERM, lambda *_: daemon.request_stop())
    signal.signal(signal.SIGINT, lambda *_: daemon.request_stop())
    try:
        daemon.run()
    except RecorderError as exc:
        log.error("%s", exc)
        print(f"recorder daemon: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
