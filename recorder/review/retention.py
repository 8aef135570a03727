"""How long sessions are kept: ``recorder prune`` and the ``record.retention_days`` setting.

A session is pruned whole, once it has ended before the cut-off (or, with
``--exported``, once an export wrote it as it was last approved: each export notes
that in the log, ``export_marks``), through the same write operation (``edits.prune``)
and compaction as ``recorder forget``: its bytes leave the database file. A session
still recording is never pruned.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from recorder.errors import RecorderError, UsageError
from recorder.eventlog import LogReader, epoch_us
from recorder.review.records import MarkExported, Prune


def cutoff(
    before: dt.datetime | None, retention_days: int, now: dt.datetime, exported: bool = False
) -> dt.datetime | None:
    """The cut-off (naive UTC): ``before`` if given, else ``retention_days`` before ``now``;
    none with ``exported`` alone (every exported session goes, whenever it ended)."""
    if before is not None:
        return before
    if exported:
        return None
    if retention_days <= 0:
        raise UsageError(
            "prune: give --before DATE or --exported, or set record.retention_days in config.toml"
        )
    return now - dt.timedelta(days=retention_days)


def prunable(
    log: LogReader, before: dt.datetime | None, exported: bool = False
) -> list[dict[str, Any]]:
    """The sessions a prune deletes, oldest first: ended (before ``before``, if given), and
    with ``exported`` exported as last approved."""
    done = log.exported_sessions() if exported else None
    return [
        s
        for s in log.sessions()
        if s["ended_at"] is not None
        and (before is None or s["ended_at"] < before)
        and (done is None or s["session_id"] in done)
    ]


def prune_change(before: dt.datetime | None, exported: bool = False) -> Prune:
    return Prune(epoch_us(before) if before is not None else None, exported)


def due(log: LogReader, retention_days: int, now: dt.datetime) -> Prune | None:
    """The prune ``record.retention_days`` asks for now, if a session is old enough."""
    if retention_days <= 0:
        return None
    before = cutoff(None, retention_days, now)
    return prune_change(before) if prunable(log, before) else None


def export_marks(export_id: str, approvals: list[dict[str, Any]]) -> MarkExported | None:
    """What an export notes in the log: the approved sessions it wrote, and their hashes."""
    if not approvals:
        return None
    return MarkExported(
        export_id,
        tuple(a["session_id"] for a in approvals),
        tuple(a["content_hash"] for a in approvals),
    )


def note_export(lay, export_id: str, approvals: list[dict[str, Any]]) -> str | None:
    """Note an export's approved sessions in the log (for ``prune --exported``). The export
    is written already: a failure here costs only that note, so it is returned as a
    warning, not raised."""
    from recorder.review.changes import apply_changes

    marks = export_marks(export_id, approvals)
    if marks is None:
        return None
    try:
        apply_changes(lay, [marks])
    except RecorderError as exc:
        return f"the export is complete, but the log could not note it ({exc})"
    return None
