"""Starting, stopping and inspecting a recording: the functions behind the CLI.

``start`` opens a session and makes sure a daemon runs; ``stop`` closes the
session and has the daemon drain the spool and exit, or drains it itself when
the daemon is gone, so a stop never leaves records behind.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recorder import client
from recorder.errors import DaemonError, DaemonUnavailable, HomeError, RecorderError
from recorder.paths import Layout
from recorder.session import (
    ActiveSession,
    active_session,
    close_session,
    control_lock,
    open_session,
    stop_finished,
)
from recorder.store import writing

if TYPE_CHECKING:
    from recorder.config import Config


@dataclass
class StartResult:
    session: ActiveSession
    created: bool
    daemon_restarted: bool = False


def start(
    lay: Layout, config: Config, name: str | None, watch: list[str], foreground: bool = False
) -> StartResult:
    """Open a session (unless one records) and make sure the daemon runs.

    With ``foreground`` the daemon runs in this process's terminal until it stops.
    """
    roots = [_checked_root(p) for p in [*config.watch, *watch]]
    _check_rules(config)  # a bad rule stops the daemon: refuse before anything records
    with control_lock(lay):
        current = active_session(lay)
        if current is None:
            session = open_session(lay, config, name, roots, _redactor(lay, config, name))
            created = True
        else:
            session, created = current, False
        restarted = False
        if client.daemon_pid(lay) is None and not foreground:
            try:
                client.spawn_daemon(lay)
            except RecorderError:
                if created:  # a failed start leaves nothing recording
                    close_session(lay)
                    stop_finished(lay)
                raise
            restarted = not created
    if foreground and client.daemon_pid(lay) is None:
        client.spawn_daemon(lay, foreground=True)
    return StartResult(session, created, restarted)


def _check_rules(config: Config) -> None:
    """RuleError for a malformed ``[redaction]`` literal or rule in config.toml."""
    from recorder.redaction.user_rules import user_rules_from

    rules = config.settings.redaction
    user_rules_from(rules.literals, rules.rules)


def _redactor(lay: Layout, config: Config, name: str | None):
    """The installation's engine when there is a session name to redact (it costs ~20 ms)."""
    if not name:
        return None
    from recorder.redaction.installed import build_redactor

    return build_redactor(lay, config)


def _checked_root(path: str | Path) -> Path:
    root = Path(path).expanduser()
    if not root.is_dir():
        raise HomeError(f"cannot watch {path}: not a directory")
    return root.resolve()


@dataclass
class StopResult:
    session: ActiveSession
    events: int  # events in the session's log once everything is ingested
    drained_by: str  # "daemon" or "stop" (no daemon was running)


def stop(lay: Layout) -> StopResult:
    with control_lock(lay):
        session = close_session(lay)
        drained_by = "daemon"
        reply = client.stop_daemon(lay, session.session_id)
        if reply is None:
            drain_without_daemon(lay, session.session_id)
            drained_by = "stop"
        stop_finished(lay)
    count = (reply or {}).get("session_events")
    if count is None:
        from recorder.eventlog import open_log

        with open_log(lay) as log:
            count = log.event_count(session.session_id)
    return StopResult(session, count, drained_by)


def drain_without_daemon(lay: Layout, session_id: str | None = None):
    """Ingest the spool in this process, as the writer, when no daemon runs; with the
    session that stopped, first the raw output its panes printed meanwhile."""
    from recorder.collectors import CollectorContext
    from recorder.collectors.scratch import ScratchSweeper
    from recorder.collectors.tmux import finish_without_daemon
    from recorder.config import load_config

    with writing(lay) as store:
        config = load_config(lay)
        if session_id is not None:
            finish_without_daemon(CollectorContext(lay, config, session_id))
        report = drain_into(store, lay, config)
        ScratchSweeper(lay).sweep()
        return report


def drain_into(store, lay: Layout, config: Config):
    """Ingest the whole spool into ``store`` (held by this process) with the writer's engine."""
    from recorder.gitstate import GitState
    from recorder.ingest import Ingester
    from recorder.redaction.installed import build_redactor

    # No watches: a command gets a state only if .git says it was already current.
    git = GitState(watch=False)
    redactor = build_redactor(lay, config, remember=True)
    return Ingester(store, lay, redactor, git).drain(config.settings.caps.ingest_batch_bytes)


@dataclass
class Status:
    recording: bool
    session: ActiveSession | None
    daemon_pid: int | None
    paused: bool
    daemon: dict[str, Any] = field(default_factory=dict)
    backlog_bytes: int = 0
    quarantined: int = 0
    database_bytes: int = 0  # the event log's file and its write-ahead log

    @property
    def since(self) -> str | None:
        return self.session.started_iso if self.session else None


def status(lay: Layout) -> Status:
    session = active_session(lay)
    pid = client.daemon_pid(lay)
    info: dict[str, Any] = {}
    if pid is not None:
        try:
            info = client.call(lay, "status", timeout=10.0)
        except DaemonError:
            info = {}
    backlog = info.get("backlog_bytes")
    if backlog is None:
        backlog = _spool_backlog(lay)
    quarantined = info.get("quarantined")
    if quarantined is None:
        from recorder.ingest import quarantine_count

        quarantined = quarantine_count(lay)
    return Status(
        recording=session is not None,
        session=session,
        daemon_pid=pid,
        paused=lay.paused_marker.exists(),
        daemon=info,
        backlog_bytes=backlog,
        quarantined=quarantined,
        database_bytes=_database_bytes(lay),
    )


def _database_bytes(lay: Layout) -> int:
    total = 0
    for path in (lay.database, lay.database.with_name(lay.database.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size
    return total


def _spool_backlog(lay: Layout) -> int:
    """Spool bytes not in the log yet, computed from the file when no daemon runs."""
    from recorder.spool import list_spool

    spools = [s for s in list_spool(lay.spool) if s.kind == "jsonl"]
    if not spools:
        return 0
    from recorder.eventlog import open_log

    with open_log(lay) as log:
        offsets = log.spool_offsets()
    total = 0
    for spool in spools:
        with contextlib.suppress(FileNotFoundError):
            total += max(0, spool.path.stat().st_size - offsets.get(spool.name, 0))
    return total


def wait_until_ingested(lay: Layout, timeout: float = 30.0) -> bool:
    """Ask a running daemon to ingest everything spooled so far (used by tests and demos)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.call(lay, "flush", timeout=timeout)
            return True
        except DaemonUnavailable:
            return False
        except DaemonError:
            time.sleep(0.1)
    return False
