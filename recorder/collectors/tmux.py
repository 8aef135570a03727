"""The terminal-output collector: what each command printed in a tmux pane.

A hooked shell inside tmux registers its pane when it starts and once per session by
writing ``state/pane.<socket>_<pane>`` (socket path, pane id, shell id, shell pid; see
the hooks). Registrations outlive a session, so that a session pipes every hooked pane
from its start: a pane idle at a prompt drawn before the session keeps the output of
its first command. This collector, a thread of the daemon, polls that directory, starts
``pipe-pane -o`` (through libtmux) for every registered pane so that tmux
appends the pane's raw output to ``spool/tmux.pane-<key>.v1.raw``, parses those
files incrementally with :class:`recorder.collectors.terminal.PaneStream` and
writes a ``cmd.output`` record per command to its own JSONL spool file.

Raw pane bytes are not redacted, so they do not linger: the parsed part of a
raw file is freed (a punched hole) at once, and the file is deleted when its
pane closes or the collector stops (which also closes the pipes, and removes the
registrations of panes or shells that are gone).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder import records as R
from recorder.collectors import CollectorContext
from recorder.collectors.terminal import CommandOutput, PaneStream
from recorder.errors import SpoolError
from recorder.paths import Layout, open_private
from recorder.spool import RAW_SUFFIX, SpoolWriter, scrub_ingested, spool_name

log = logging.getLogger("recorder.tmux")

POLL_S = 0.2
LIVENESS_EVERY_S = 2.0
READ_CHUNK = 1 << 20


REGISTRATION_PREFIX = "pane."


@dataclass
class PaneTap:
    """One piped pane: where its raw output goes and how far it was parsed."""

    key: str
    socket: str
    pane: str
    raw: Path
    stream: PaneStream
    offset: int = 0
    scrubbed: int = 0
    server: Any = field(default=None, repr=False)


class TmuxCollector:
    name = "tmux"

    def __init__(self, ctx: CollectorContext):
        self.lay = ctx.lay
        self.cap = ctx.config.output_cap
        self.session_id = ctx.session_id
        self.taps: dict[str, PaneTap] = {}
        ident = f"{os.getpid()}-{ctx.session_id.replace('-', '')[-12:]}"
        self.writer = SpoolWriter(self.lay.spool / spool_name("tmux", ident))
        self.outputs = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._next_liveness = 0.0

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        # The panes known already are piped before `recorder start` returns.
        with self._lock:
            try:
                self.poll()
            except Exception as exc:  # as in _run: keep collecting, report it in status
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("tmux collector cycle failed")
        self._thread = threading.Thread(target=self._run, name="tmux", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        with self._lock:
            alive = {tap.key for tap in self.taps.values() if _pane_alive(tap)}
            for tap in list(self.taps.values()):
                self._detach(tap, close_pipe=True)
            if not self._session_goes_on():
                for reg in _registrations(self.lay):
                    if reg.name not in alive:
                        reg.unlink(missing_ok=True)  # its shell registers again if it runs
            self._flush()
            self.writer.close()

    def _session_goes_on(self) -> bool:
        """True when only the daemon stops: a restarted one re-attaches the registered panes."""
        try:
            marker = self.lay.recording_marker.read_text().split("\n", 1)[0]
        except OSError:
            return False
        return marker == self.session_id

    def status(self) -> dict[str, Any]:
        return {
            "panes": sorted(f"{t.socket}:{t.pane}" for t in self.taps.values()),
            "outputs": self.outputs,
            "pending": self.writer.pending,
            "last_error": self.last_error,
        }

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                with self._lock:
                    self.poll()
                self.last_error = None
            except Exception as exc:  # keep collecting; report it in status
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("tmux collector cycle failed")

    # -- one cycle ------------------------------------------------------------------

    def poll(self) -> None:
        now = time.monotonic()
        for reg in _registrations(self.lay):
            if reg.name not in self.taps:
                self._attach(reg)
        check_liveness = now >= self._next_liveness
        if check_liveness:
            self._next_liveness = now + LIVENESS_EVERY_S
        for tap in list(self.taps.values()):
            self._read(tap)
            if check_liveness and not _pane_alive(tap):
                self._detach(tap, close_pipe=False)
                (self.lay.state / tap.key).unlink(missing_ok=True)
        self._flush()

    def _attach(self, reg: Path) -> None:
        try:
            lines = reg.read_text().splitlines()
        except OSError:
            return
        if len(lines) < 2 or not lines[1].startswith("%"):
            return
        if len(lines) >= 4 and not _process_alive(lines[3]):
            reg.unlink(missing_ok=True)  # its shell is gone (the pane id may be another's now)
            return
        socket, pane = lines[0], lines[1]
        key = reg.name[len(REGISTRATION_PREFIX) :]
        raw = _raw_path(self.lay, key)
        tap = PaneTap(reg.name, socket, pane, raw, PaneStream(self.cap))
        problem = self._pipe(tap, socket, pane, raw)
        if problem:
            log.warning("cannot pipe tmux pane %s on %s: %s", pane, socket, problem)
            reg.unlink(missing_ok=True)  # the shell registers again next session
            return
        self.taps[reg.name] = tap
        log.info("capturing output of tmux pane %s on %s", pane, socket)

    @staticmethod
    def _pipe(tap: PaneTap, socket: str, pane: str, raw: Path) -> str | None:
        """Start copying the pane's output into ``raw``; what went wrong, or None."""
        try:
            import libtmux

            tap.server = libtmux.Server(socket_path=socket)
            if raw.is_symlink():
                return f"refusing to write {raw}: it is a symlink"
            if raw.exists():
                return None
            # Created here, 0600 and not through a symlink; `cat >>` then appends to it.
            os.close(open_private(raw, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
            command = f"umask 077; exec cat >> {shlex.quote(str(raw))}"
            result = tap.server.cmd("pipe-pane", "-o", "-t", pane, command)
        except Exception as exc:  # libtmux raises its own tree, and OSError
            return str(exc)
        return " ".join(result.stderr) if result.stderr else None

    def _read(self, tap: PaneTap) -> None:
        try:
            with tap.raw.open("rb") as fh:
                fh.seek(tap.offset)
                while True:
                    data = fh.read(READ_CHUNK)
                    if not data:
                        break
                    tap.offset += len(data)
                    self._emit(tap.stream.feed(data))
        except FileNotFoundError:
            return
        tap.scrubbed = scrub_ingested(tap.raw, tap.offset, tap.scrubbed)

    def _detach(self, tap: PaneTap, close_pipe: bool) -> None:
        if close_pipe:
            with contextlib.suppress(Exception):
                tap.server.cmd("pipe-pane", "-t", tap.pane)
        self._read(tap)
        tap.raw.unlink(missing_ok=True)
        self.taps.pop(tap.key, None)

    def _emit(self, outputs: list[CommandOutput]) -> None:
        if not outputs:
            return
        self.outputs += len(outputs)
        try:
            self.writer.append(_record(out) for out in outputs)
        except SpoolError as exc:  # kept pending by the writer; retried at the next flush
            self.last_error = str(exc)

    def _flush(self) -> None:
        try:
            self.writer.flush()
        except SpoolError as exc:
            self.last_error = str(exc)


def _record(out: CommandOutput) -> dict[str, Any]:
    return R.record(
        R.CMD_OUTPUT,
        shell_id=out.shell_id,
        n=out.n,
        output=out.output,
        truncated=out.truncated,
        output_bytes=out.output_bytes,
        extra=out.extra or None,
    )


def _registrations(lay: Layout) -> list[Path]:
    return sorted(lay.state.glob(REGISTRATION_PREFIX + "*"))


def _process_alive(pid_text: str) -> bool:
    try:
        os.kill(int(pid_text), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _pane_alive(tap: PaneTap) -> bool:
    if not os.path.exists(tap.socket):
        return False
    try:
        result = tap.server.cmd("display-message", "-p", "-t", tap.pane, "#{pane_id}")
    except Exception:
        return False
    return not result.stderr and result.stdout == [tap.pane]


def finish_without_daemon(ctx: CollectorContext) -> None:
    """``recorder stop`` when the daemon is gone: the panes' pipes kept appending raw
    output, which no one would parse or free. Parse each registered pane's raw file into
    records, close its pipe and delete it, as a stopping collector does."""
    registered = [
        reg
        for reg in _registrations(ctx.lay)
        if _raw_path(ctx.lay, reg.name[len(REGISTRATION_PREFIX) :]).exists()
    ]
    if not registered:
        return
    collector = TmuxCollector(ctx)
    for reg in registered:
        collector._attach(reg)  # its raw file exists: no new pipe is started
    collector.stop()


def _raw_path(lay: Layout, key: str) -> Path:
    return lay.spool / spool_name("tmux", f"pane-{key}", RAW_SUFFIX)


def make_collector(ctx: CollectorContext) -> TmuxCollector | None:
    if shutil.which("tmux") is None:
        return None
    return TmuxCollector(ctx)
