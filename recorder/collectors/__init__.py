"""Collectors: producers of spool records.

The shell collector runs inside each shell (the hook files in ``hooks/``);
the file and terminal-output collectors run as threads of the daemon. Every
collector writes only to its own spool file and never touches the database.

A daemon-side collector implements :class:`Collector`; the daemon builds them
with :func:`build_collectors` from the session's settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from recorder.config import Config
from recorder.eventlog import LogReader
from recorder.paths import Layout


@dataclass
class CollectorContext:
    """What the daemon gives a collector.

    ``redactor`` is the ingest-time redaction engine (a collector that stores
    content the ingest cannot read, such as compressed snapshots, redacts it
    first). ``log`` is a read-only view of the event log (the named reads of
    ``recorder.eventlog.LogReader``), for state a collector must recover after
    a restart; a collector never writes the log.
    """

    lay: Layout
    config: Config
    session_id: str
    watch: list[Path] = field(default_factory=list)
    redactor: Any = None
    log: LogReader | None = None


class Collector(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def status(self) -> dict[str, Any]: ...


def build_collectors(ctx: CollectorContext) -> list[Collector]:
    """The daemon-side collectors for a session; each one is optional and independent."""
    found: list[Collector] = []
    for factory in _factories():
        collector = factory(ctx)
        if collector is not None:
            found.append(collector)
    return found


# Modules with a ``make_collector(ctx) -> Collector | None``, imported only by the daemon.
DAEMON_COLLECTORS: tuple[str, ...] = ("recorder.collectors.files", "recorder.collectors.tmux")


def _factories():
    import importlib

    return [importlib.import_module(name).make_collector for name in DAEMON_COLLECTORS]
