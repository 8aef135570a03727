"""Reading the event log for an export: which sessions, and their events in bounded batches.

Everything goes through an object with ``.arrow(sql, params)`` (``recorder.client.Reader``
or a ``recorder.store.Store``), so an export works whether or not a daemon runs.
Events are read per session in time order with keyset pagination on
``(ts_start, seq)``: memory stays bounded by the page size however long the log is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from recorder.errors import ExportError

PAGE_ROWS = 20_000

# Columns of the events table an export reads (host, username and pids stay behind).
EVENT_COLUMNS = (
    "event_id", "session_id", "seq", "ts_start", "ts_end", "utc_offset_min", "source",
    "event_type", "cwd", "repo", "git_head", "git_branch", "shell", "shell_id", "command",
    "exit_code", "pipestatus", "duration_ms", "output", "output_truncated", "output_bytes",
    "path", "old_path", "diff", "lines_added", "lines_removed", "size_bytes", "text",
    "window_title", "key_count", "click_count", "idle_ms", "redactions", "extra",
)  # fmt: skip


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
    """``YYYY-MM-DD`` or an ISO date-time; naive values are local time. Returns naive UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ExportError(
            f"--since {text!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    if value.tzinfo is None:
        value = value.astimezone()  # interpret as this machine's local time
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def select_sessions(
    reader,
    refs: Sequence[str] = (),
    since: dt.datetime | None = None,
    default_researcher: str = "unknown",
    filters: Sequence[SessionFilter] = (),
) -> list[SessionInfo]:
    """The sessions to export, oldest first: those named in ``refs`` (all if none), started
    at or after ``since`` (naive UTC), then narrowed by each filter in turn."""
    from recorder.queries import resolve_session

    rows = _session_rows(reader)
    if refs:
        wanted = {resolve_session(reader, ref)["session_id"] for ref in refs}
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


def _session_rows(reader) -> list[dict]:
    return reader.arrow(
        """
        SELECT s.session_id, s.name, s.researcher_id, s.started_at, s.ended_at,
               s.utc_offset_min, coalesce(c.n, 0)::BIGINT AS events,
               coalesce(c.max_seq, 0)::BIGINT AS max_seq
        FROM sessions s
        LEFT JOIN (SELECT session_id, count(*) AS n, max(seq) AS max_seq
                   FROM events GROUP BY 1) c USING (session_id)
        ORDER BY s.started_at, s.session_id
        """
    ).to_pylist()


def iter_event_pages(reader, session_id: str, page_rows: int = PAGE_ROWS) -> Iterator:
    """The session's events as Arrow tables of at most ``page_rows`` rows, ordered by
    ``(ts_start, seq)``: the order things happened (``seq`` is the order of ingest, which
    interleaves producers by file, not by time).

    One narrow query first finds every page's last ``(ts_start, seq)``; each page then
    reads and sorts only its own rows, so a long session costs linear time. The rows are
    sorted in Arrow (``seq`` is unique in a session: the order is total), which costs a
    third of what DuckDB's ORDER BY does (it carries every column through its sort).
    """
    bounds = reader.arrow(
        f"""SELECT t, seq FROM (
                SELECT epoch_us(ts_start) AS t, seq,
                       row_number() OVER (ORDER BY ts_start, seq) AS rn
                FROM events WHERE session_id = ?)
            WHERE rn % {int(page_rows)} = 0 ORDER BY rn""",
        [session_id],
    ).to_pylist()
    columns = ", ".join(EVENT_COLUMNS)
    base = f"SELECT {columns} FROM events WHERE session_id = ?"
    after = " AND (ts_start > make_timestamp(?::BIGINT) OR (ts_start = make_timestamp(?::BIGINT) AND seq > ?))"
    upto = " AND (ts_start < make_timestamp(?::BIGINT) OR (ts_start = make_timestamp(?::BIGINT) AND seq <= ?))"
    low: dict | None = None
    for high in [*bounds, None]:
        sql, params = base, [session_id]
        if low is not None:
            sql += after
            params += [low["t"], low["t"], low["seq"]]
        if high is not None:
            sql += upto
            params += [high["t"], high["t"], high["seq"]]
        page = reader.arrow(sql, params)
        if page.num_rows:
            yield page.sort_by([("ts_start", "ascending"), ("seq", "ascending")])
        low = high
