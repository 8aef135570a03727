"""Session state on disk: which session records, and the control records that open and close it.

``state/recording`` exists exactly while a session records; its first line is
the session id, which the shell hooks read at each prompt (a builtin ``read``).
``state/session.json`` holds the rest (name, start time, watched trees). Start
and stop take ``state/control.lock`` so that two at once cannot both open a session.
Opening and closing are themselves spool records, so the daemon, the one writer,
puts them in the log in order with everything else. Between closing a session and
the end of its drain, ``state/stopping.json`` holds it: a ``recorder stop`` killed
while it drains is finished by the next one.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from recorder import records as R
from recorder.errors import AlreadyRecording, NotRecording
from recorder.ids import uuid7
from recorder.paths import Layout, open_private
from recorder.spool import append_records, spool_name

if TYPE_CHECKING:
    from recorder.config import Config


@dataclass
class ActiveSession:
    session_id: str
    name: str | None
    started_at: float
    watch: list[str] = field(default_factory=list)

    @property
    def started_iso(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started_at))


def control_spool(lay: Layout) -> Path:
    """A spool file of this process's own: never reused, deleted once drained."""
    return lay.spool / spool_name("control", f"{os.getpid()}-{time.time_ns()}")


@contextmanager
def control_lock(lay: Layout):
    fd = open_private(lay.control_lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


_STOPPING = "stopping.json"


def active_session(lay: Layout) -> ActiveSession | None:
    try:
        data = json.loads((lay.state / "session.json").read_text())
        marker = lay.recording_marker.read_text().split("\n", 1)[0]
    except (FileNotFoundError, ValueError):
        return None
    if data.get("session_id") != marker:
        return None
    return ActiveSession(**data)


def open_session(
    lay: Layout, config: Config, name: str | None, watch: list[Path], redactor=None
) -> ActiveSession:
    """Record the start of a new session. The caller holds the control lock.

    The name goes to the spool as given (ingest redacts it) and to ``state/session.json``
    (read by ``recorder status``) redacted by ``redactor``, as the log will show it.
    """
    current = active_session(lay)
    if current is not None:
        raise AlreadyRecording(
            f"already recording session {current.session_id} since {current.started_iso}"
        )
    now = time.time()
    name = R.typed_text(name) if name is not None else None
    session = ActiveSession(uuid7(), name, now, [str(p) for p in watch])
    extra = {"researcher_id": config.researcher_id, "watch": session.watch}
    append_records(
        control_spool(lay),
        [
            R.record(
                R.SESSION_START,
                session.session_id,
                t=now,
                name=name,
                host=socket.gethostname(),
                extra=extra,
            )
        ],
    )
    shown = name if redactor is None or not name else redactor.redact(name).text
    _write_state(lay, "session.json", json.dumps(asdict(session) | {"name": shown}))
    _write_state(lay, "exclude-commands", "".join(p + "\n" for p in config.exclude_commands))
    stop_finished(lay)  # an interrupted stop's backlog: the new session's daemon drains it
    for stale in lay.state.glob("active.*"):  # left by a session that did not end cleanly
        stale.unlink(missing_ok=True)
    _write_state(lay, lay.recording_marker.name, session.session_id + "\n")
    _write_state(lay, lay.active_marker(session.session_id).name, "")
    return session


def close_session(lay: Layout) -> ActiveSession:
    """Record the end of the current session, or return the one an interrupted stop
    closed and did not finish draining. The caller holds the control lock and calls
    :func:`stop_finished` once the spool is drained."""
    current = active_session(lay)
    if current is None:
        interrupted = _stopping_session(lay)
        if interrupted is None:
            raise NotRecording("not recording")
        return interrupted
    lay.active_marker(current.session_id).unlink(missing_ok=True)
    lay.recording_marker.unlink(missing_ok=True)
    append_records(control_spool(lay), [R.record(R.SESSION_END, current.session_id)])
    os.replace(lay.state / "session.json", lay.state / _STOPPING)
    lay.paused_marker.unlink(missing_ok=True)
    return current


def stop_finished(lay: Layout) -> None:
    """The closed session's records are all in the log."""
    (lay.state / _STOPPING).unlink(missing_ok=True)


def _stopping_session(lay: Layout) -> ActiveSession | None:
    try:
        return ActiveSession(**json.loads((lay.state / _STOPPING).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def user_event(lay: Layout, event_type: str, text: str | None = None) -> ActiveSession:
    """A mark from the researcher (task, pause, resume) in the current session."""
    current = active_session(lay)
    if current is None:
        raise NotRecording("not recording: start a session with `recorder start`")
    append_records(
        control_spool(lay),
        [
            R.record(
                R.EVENT,
                current.session_id,
                source="user",
                event=event_type,
                text=R.typed_text(text) if text is not None else None,
            )
        ],
    )
    return current


def set_paused(lay: Layout, paused: bool) -> ActiveSession:
    current = user_event(lay, "pause" if paused else "resume")
    active = lay.active_marker(current.session_id)
    if paused:
        active.unlink(missing_ok=True)
        _write_state(lay, lay.paused_marker.name, "")
    else:
        lay.paused_marker.unlink(missing_ok=True)
        _write_state(lay, active.name, "")
    return current


def _write_state(lay: Layout, name: str, text: str) -> None:
    target = lay.state / name
    tmp = target.with_name(f".{name}.{os.getpid()}.tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, target)
