"""Read-side queries over the event log, shared by the CLI and the exporters.

Each takes a reader with ``.arrow(sql, params)`` (``client.Reader`` or a
``store.Store``) and returns plain rows.
"""

from __future__ import annotations

from typing import Any

from recorder.errors import UnknownSession, UsageError


def sessions(reader) -> list[dict[str, Any]]:
    """Every session, newest first, with its event counts by source."""
    return reader.arrow(
        """
        SELECT s.session_id, s.name, s.started_at, s.ended_at,
               CASE WHEN s.ended_at IS NOT NULL
                    THEN (epoch_ms(s.ended_at) - epoch_ms(s.started_at)) END AS duration_ms,
               coalesce(c.total, 0) AS events,
               c.by_source
        FROM sessions s
        LEFT JOIN (
            SELECT session_id, sum(n)::BIGINT AS total,
                   string_agg(source || ' ' || n, ', ' ORDER BY source) AS by_source
            FROM (SELECT session_id, source, count(*) AS n FROM events GROUP BY 1, 2)
            GROUP BY 1
        ) c USING (session_id)
        ORDER BY s.started_at DESC
        """
    ).to_pylist()


def resolve_session(reader, ref: str) -> dict[str, Any]:
    """A session by id, unique id prefix, or exact name; ``last`` is the newest."""
    if ref == "last":
        rows = reader.arrow("SELECT * FROM sessions ORDER BY started_at DESC LIMIT 1").to_pylist()
    else:
        rows = reader.arrow(
            "SELECT * FROM sessions WHERE session_id LIKE ? || '%' OR name = ?"
            " ORDER BY started_at DESC",
            [ref, ref],
        ).to_pylist()
    if not rows:
        raise UnknownSession(f"no session matches {ref!r}; `recorder sessions` lists them")
    if len(rows) > 1:
        ids = ", ".join(r["session_id"][:13] for r in rows[:5])
        raise UnknownSession(f"{ref!r} matches {len(rows)} sessions ({ids}); give more of the id")
    return rows[0]


TIMELINE_COLUMNS = (
    "seq, ts_start, ts_end, utc_offset_min, source, event_type, cwd, command, exit_code, "
    "duration_ms, output, output_truncated, path, old_path, lines_added, lines_removed, text, "
    "redactions"
)


def timeline(reader, session_id: str, limit: int | None = None) -> list[dict[str, Any]]:
    sql = f"SELECT {TIMELINE_COLUMNS} FROM events WHERE session_id = ? ORDER BY ts_start, seq"
    if limit is not None:
        if limit < 0:
            raise UsageError(f"--limit must be 0 or more, not {limit}")
        sql += f" LIMIT {int(limit)}"
    return reader.arrow(sql, [session_id]).to_pylist()
