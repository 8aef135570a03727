"""Reading the event log for an export: which sessions, and their events in bounded batches.

Everything goes through the log's read interface (``recorder.eventlog.LogReader``), so
an export works whether or not a daemon runs. Events are read per session in time
order with keyset pagination on ``(ts_start, seq)``: memory stays bounded by the page
size however long the log is. A session that has ended is read as it was at its end
(:func:`as_of_end`), so that records ingested later cannot change its export.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from recorder.dates import parse_date
from recorder.errors import ExportError, UsageError
from recorder.eventlog import LogReader


@dataclass(frozen=True)
class SessionInfo:
    session_id: str
    name: str | None
    researcher: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    utc_offset_min: int | None
    events: int
    max_seq: int


# A step that narrows the selection, e.g. "only approved sessions" once approvals exist.
SessionFilter = Callable[[list[SessionInfo]], list[SessionInfo]]


def parse_since(text: str) -> dt.datetime:
    """``--since``: ``YYYY-MM-DD`` or an ISO date-time (local time if naive), as naive UTC."""
    try:
        return parse_date(text, "--since")
    except UsageError as exc:
        raise ExportError(str(exc)) from None


def select_sessions(
    log: LogReader,
    refs: Sequence[str] = (),
    since: dt.datetime | None = None,
    default_researcher: str = "unknown",
    filters: Sequence[SessionFilter] = (),
) -> list[SessionInfo]:
    """The sessions to export, oldest first: those named in ``refs`` (all if none), started
    at or after ``since`` (naive UTC), then narrowed by each filter in turn."""
    rows = log.sessions()
    if refs:
        wanted = {log.resolve_session(ref)["session_id"] for ref in refs}
        rows = [r for r in rows if r["session_id"] in wanted]
    if since is not None:
        rows = [r for r in rows if r["started_at"] >= since]
    sessions = [
        SessionInfo(
            session_id=r["session_id"],
            name=r["name"],
            researcher=r["researcher_id"] or default_researcher,
            started_at=r["started_at"],
            ended_at=r["ended_at"],
            utc_offset_min=r["utc_offset_min"],
            events=int(r["events"]),
            max_seq=int(r["max_seq"]),
        )
        for r in rows
    ]
    for keep in filters:
        sessions = keep(sessions)
    return sessions


# What a command's end brings to its event: none of it is known at the session's end if the
# command ended later (``recorder stop`` typed in a recorded shell ends after the session).
END_COLUMNS = ("ts_end", "exit_code", "pipestatus", "duration_ms", "output", "output_truncated",
               "output_bytes")  # fmt: skip


def as_of_end(page, ended_at: dt.datetime | None):
    """``page`` (events of one session) as known when the session ended at ``ended_at``
    (naive UTC): the end of a command that ended after it is unknown (null), as the end of
    a command still running at that time. A session still recording is left as it is."""
    if ended_at is None:
        return page
    import pyarrow as pa
    import pyarrow.compute as pc

    limit = int(ended_at.replace(tzinfo=dt.UTC).timestamp() * 1_000_000)
    ends = page.column("ts_end").cast(pa.timestamp("us")).cast(pa.int64())
    late = pc.fill_null(pc.greater(ends, limit), False)
    if not pc.any(late).as_py():
        return page
    for name in END_COLUMNS:
        index = page.schema.get_field_index(name)
        column = page.column(index)
        empty = pa.nulls(len(page), column.type)
        page = page.set_column(index, page.field(index), pc.if_else(late, empty, column))
    return page
