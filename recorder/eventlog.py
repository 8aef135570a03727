"""The one read interface of the event log: named operations, never SQL from callers.

Every reader (the CLI, the exporters, the daemon-side collectors, ``recorder stop``)
goes through a :class:`LogReader`. Its public methods are the named operations
below; each is one entry of :data:`READ_OPS` (its arguments and its SQL), so the
SQL against the log lives here and nowhere else on the read side.

    LogReader                the named operations, over some way of running them
    ├── LocalLog             a DuckDB connection in this process: the read-only
    │                        file, or inside the daemon its own writer connection
    ├── SocketLog            the daemon's socket (``op: read`` with a name and arguments)
    └── HomeLog              what a command uses: the socket while a daemon runs,
                             else the read-only file, else an empty log

The daemon serves exactly the operations in :data:`READ_OPS` over its socket,
through :func:`run_read`, and refuses everything else: no text from a client is
ever run as SQL. Collectors are handed a ``LocalLog`` over the daemon's
connection, which offers nothing but these reads.

Arguments cross the socket as JSON: strings, integers and null. Times are
microseconds since the epoch (UTC), as the log stores them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from recorder.errors import DaemonUnavailable, RequestRefused, UnknownSession, UsageError

if TYPE_CHECKING:
    import pyarrow as pa

    from recorder.paths import Layout
    from recorder.store import Store

PAGE_ROWS = 20_000

# Columns of the events table an export reads (host, username and pids stay behind).
EXPORT_COLUMNS = (
    "event_id", "session_id", "seq", "ts_start", "ts_end", "utc_offset_min", "source",
    "event_type", "cwd", "repo", "git_head", "git_branch", "shell", "shell_id", "command",
    "exit_code", "pipestatus", "duration_ms", "output", "output_truncated", "output_bytes",
    "path", "old_path", "diff", "lines_added", "lines_removed", "size_bytes", "text",
    "window_title", "key_count", "click_count", "idle_ms", "redactions", "extra",
)  # fmt: skip

TIMELINE_COLUMNS = (
    "seq", "ts_start", "ts_end", "utc_offset_min", "source", "event_type", "cwd", "command",
    "exit_code", "duration_ms", "output", "output_truncated", "path", "old_path",
    "lines_added", "lines_removed", "text", "redactions",
)  # fmt: skip

_TS = "make_timestamp(?::BIGINT)"


@dataclass(frozen=True)
class ReadOp:
    """One named read: its arguments (name -> type; None allowed when optional) and SQL."""

    name: str
    args: dict[str, type]
    sql: Callable[[dict[str, Any]], tuple[str, list[Any]]]
    optional: frozenset[str] = frozenset()


def _sessions_sql(_args):
    return (
        """
        SELECT s.session_id, s.name, s.researcher_id, s.started_at, s.ended_at,
               s.utc_offset_min,
               CASE WHEN s.ended_at IS NOT NULL
                    THEN (epoch_ms(s.ended_at) - epoch_ms(s.started_at)) END AS duration_ms,
               coalesce(c.total, 0)::BIGINT AS events,
               coalesce(c.max_seq, 0)::BIGINT AS max_seq,
               c.by_source
        FROM sessions s
        LEFT JOIN (
            SELECT session_id, sum(n)::BIGINT AS total, max(max_seq) AS max_seq,
                   string_agg(source || ' ' || n, ', ' ORDER BY source) AS by_source
            FROM (SELECT session_id, source, count(*) AS n, max(seq) AS max_seq
                  FROM events GROUP BY 1, 2)
            GROUP BY 1
        ) c USING (session_id)
        ORDER BY s.started_at, s.session_id
        """,
        [],
    )


def _page_bounds_sql(args):
    return (
        f"""SELECT t, seq FROM (
                SELECT epoch_us(ts_start) AS t, seq,
                       row_number() OVER (ORDER BY ts_start, seq) AS rn
                FROM events WHERE session_id = ?)
            WHERE rn % {int(args["page_rows"])} = 0 ORDER BY rn""",
        [args["session_id"]],
    )


def _events_sql(args):
    columns = "*" if args.get("columns") == "all" else ", ".join(EXPORT_COLUMNS)
    sql, params = f"SELECT {columns} FROM events WHERE session_id = ?", [args["session_id"]]
    if args.get("after_t") is not None:
        sql += f" AND (ts_start > {_TS} OR (ts_start = {_TS} AND seq > ?))"
        params += [args["after_t"], args["after_t"], args["after_seq"]]
    if args.get("upto_t") is not None:
        sql += f" AND (ts_start < {_TS} OR (ts_start = {_TS} AND seq <= ?))"
        params += [args["upto_t"], args["upto_t"], args["upto_seq"]]
    return sql, params


def _timeline_sql(args):
    sql = (
        f"SELECT {', '.join(TIMELINE_COLUMNS)} FROM events WHERE session_id = ?"
        " ORDER BY ts_start, seq"
    )
    if args.get("limit") is not None:
        sql += f" LIMIT {int(args['limit'])}"
    return sql, [args["session_id"]]


def _event_sql(args):
    return "SELECT * FROM events WHERE event_id = ?", [args["event_id"]]


def _event_counts_sql(args):
    return (
        "SELECT source, count(*)::BIGINT AS n FROM events WHERE session_id = ?"
        " GROUP BY 1 ORDER BY 1",
        [args["session_id"]],
    )


def _blob_sql(args):
    return "SELECT compression, data FROM blobs WHERE hash = ?", [args["hash"]]


def _spool_offsets_sql(_args):
    return "SELECT file, ingested_to FROM spool_offsets ORDER BY file", []


def _manifests_sql(_args):
    return (
        """SELECT e.session_id, e.seq, s.started_at, e.hash_after,
                  json_extract_string(e.extra, '$.root_id') AS root_id,
                  json_extract_string(e.extra, '$.root') AS root
           FROM events e JOIN sessions s USING (session_id)
           WHERE e.source = 'file' AND e.event_type = 'reconcile' AND e.hash_after IS NOT NULL
           ORDER BY s.started_at, e.seq""",
        [],
    )


def _file_changes_sql(args):
    return (
        f"""SELECT e.session_id, e.seq, s.started_at, e.event_type, e.repo, e.path,
                   e.old_path, e.hash_after, e.size_bytes, e.extra
            FROM events e JOIN sessions s USING (session_id)
            WHERE e.source = 'file'
              AND e.event_type IN ('save', 'create', 'delete', 'rename', 'burst')
              AND s.started_at >= {_TS}
            ORDER BY s.started_at, e.session_id, e.seq""",
        [args["since_t"]],
    )


def _command_at_sql(args):
    return (
        f"""SELECT event_id, command FROM events
            WHERE session_id = ? AND event_type = 'command' AND ts_start <= {_TS}
              AND (ts_end IS NULL OR ts_end >= {_TS})
            ORDER BY ts_start DESC, seq DESC LIMIT 1""",
        [args["session_id"], args["t"], args["t"]],
    )


def _ops(*ops: ReadOp) -> dict[str, ReadOp]:
    return {op.name: op for op in ops}


READ_OPS: dict[str, ReadOp] = _ops(
    ReadOp("sessions", {}, _sessions_sql),
    ReadOp("event_page_bounds", {"session_id": str, "page_rows": int}, _page_bounds_sql),
    ReadOp(
        "events",
        dict(session_id=str, columns=str, after_t=int, after_seq=int, upto_t=int, upto_seq=int),
        _events_sql,
        optional=frozenset({"columns", "after_t", "after_seq", "upto_t", "upto_seq"}),
    ),
    ReadOp("timeline", {"session_id": str, "limit": int}, _timeline_sql, frozenset({"limit"})),
    ReadOp("event", {"event_id": str}, _event_sql),
    ReadOp("event_counts", {"session_id": str}, _event_counts_sql),
    ReadOp("blob", {"hash": str}, _blob_sql),
    ReadOp("spool_offsets", {}, _spool_offsets_sql),
    ReadOp("reconcile_manifests", {}, _manifests_sql),
    ReadOp("file_changes_since", {"since_t": int}, _file_changes_sql),
    ReadOp("command_at", {"session_id": str, "t": int}, _command_at_sql),
)


def checked_args(name: str, args: Any) -> dict[str, Any]:
    """The arguments of a read, checked against its declaration; RequestRefused if wrong."""
    op = READ_OPS.get(name)
    if op is None:
        raise RequestRefused(f"no read operation {name!r}")
    if not isinstance(args, dict):
        raise RequestRefused(f"{name}: arguments must be an object")
    unknown = set(args) - set(op.args)
    if unknown:
        raise RequestRefused(f"{name}: unknown argument(s) {', '.join(sorted(unknown))}")
    for arg, kind in op.args.items():
        value = args.get(arg)
        if value is None:
            if arg not in op.optional:
                raise RequestRefused(f"{name}: {arg} is required")
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            raise RequestRefused(f"{name}: {arg} must be {kind.__name__}")
    return dict(args)


def run_read(store: Store, name: str, args: dict[str, Any]) -> pa.Table:
    """Run one named read on a DuckDB connection (the daemon serves its socket with this)."""
    sql, params = READ_OPS[name].sql(checked_args(name, args))
    return store.arrow(sql, params)


def epoch_us(value: dt.datetime) -> int:
    """A naive-UTC or aware datetime as microseconds since the epoch."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp() * 1_000_000)


class LogReader:
    """The named reads of the event log; subclasses say how a read is run (``_read``)."""

    def _read(self, name: str, args: dict[str, Any]) -> pa.Table:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- sessions -------------------------------------------------------------------

    def sessions(self) -> list[dict[str, Any]]:
        """Every session, oldest first, with its event counts (total, by source, max seq)."""
        return self._read("sessions", {}).to_pylist()

    def resolve_session(self, ref: str) -> dict[str, Any]:
        """A session by id, unique id prefix, or exact name; ``last`` is the newest."""
        rows = self.sessions()
        if ref == "last":
            found = rows[-1:]
        else:
            found = [r for r in rows if r["session_id"].startswith(ref) or r["name"] == ref]
        if not found:
            raise UnknownSession(f"no session matches {ref!r}; `recorder sessions` lists them")
        if len(found) > 1:
            found.sort(key=lambda r: r["started_at"], reverse=True)
            ids = ", ".join(r["session_id"][:13] for r in found[:5])
            raise UnknownSession(
                f"{ref!r} matches {len(found)} sessions ({ids}); give more of the id"
            )
        return found[0]

    # -- events ---------------------------------------------------------------------

    def timeline(self, session_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The session's events in time order, the columns ``recorder show`` prints."""
        if limit is not None and limit < 0:
            raise UsageError(f"--limit must be 0 or more, not {limit}")
        return self._read("timeline", {"session_id": session_id, "limit": limit}).to_pylist()

    def event(self, event_id: str) -> dict[str, Any] | None:
        """One event with every column, or None."""
        rows = self._read("event", {"event_id": event_id}).to_pylist()
        return rows[0] if rows else None

    def events(self, session_id: str, columns: str = "export") -> pa.Table:
        """All of a session's events in time order (``columns="all"``: every column)."""
        page = self._read("events", {"session_id": session_id, "columns": columns})
        return page.sort_by([("ts_start", "ascending"), ("seq", "ascending")])

    def event_pages(self, session_id: str, page_rows: int = PAGE_ROWS) -> Iterator[pa.Table]:
        """The session's events (export columns) as tables of at most ``page_rows`` rows,
        ordered by ``(ts_start, seq)``: the order things happened (``seq`` is the order of
        ingest, which interleaves producers by file, not by time).

        One narrow read first finds every page's last ``(ts_start, seq)``; each page then
        reads and sorts only its own rows, so a long session costs linear time. Rows are
        sorted in Arrow (``seq`` is unique in a session, so the order is total), which
        costs a third of DuckDB's ORDER BY (it carries every column through its sort).
        """
        args = {"session_id": session_id, "page_rows": int(page_rows)}
        bounds = self._read("event_page_bounds", args).to_pylist()
        low: dict | None = None
        for high in [*bounds, None]:
            page_args: dict[str, Any] = {"session_id": session_id}
            if low is not None:
                page_args.update(after_t=low["t"], after_seq=low["seq"])
            if high is not None:
                page_args.update(upto_t=high["t"], upto_seq=high["seq"])
            page = self._read("events", page_args)
            if page.num_rows:
                yield page.sort_by([("ts_start", "ascending"), ("seq", "ascending")])
            low = high

    def event_count(self, session_id: str) -> int:
        return sum(self.event_counts(session_id).values())

    def event_counts(self, session_id: str) -> dict[str, int]:
        """The session's events by source."""
        rows = self._read("event_counts", {"session_id": session_id}).to_pylist()
        return {row["source"]: row["n"] for row in rows}

    def command_at(self, session_id: str, when: dt.datetime) -> dict[str, Any] | None:
        """The shell command of the session running at ``when`` (event_id, command)."""
        rows = self._read("command_at", {"session_id": session_id, "t": epoch_us(when)})
        found = rows.to_pylist()
        return found[0] if found else None

    # -- file collector state -------------------------------------------------------

    def blob(self, digest: str) -> tuple[str, bytes] | None:
        """A stored snapshot as (compression, data), or None."""
        rows = self._read("blob", {"hash": digest}).to_pylist()
        return (rows[0]["compression"], rows[0]["data"]) if rows else None

    def reconcile_manifests(self) -> list[dict[str, Any]]:
        """Every reconcile event that names a manifest, in log order, with its root."""
        return self._read("reconcile_manifests", {}).to_pylist()

    def file_changes_since(self, since: dt.datetime) -> list[dict[str, Any]]:
        """File events of sessions started at or after ``since``, in log order."""
        return self._read("file_changes_since", {"since_t": epoch_us(since)}).to_pylist()

    # -- the spool ------------------------------------------------------------------

    def spool_offsets(self) -> dict[str, int]:
        """How far each spool file is ingested (bytes)."""
        rows = self._read("spool_offsets", {}).to_pylist()
        return {row["file"]: row["ingested_to"] for row in rows}


class LocalLog(LogReader):
    """Reads run on a DuckDB connection in this process (``Store``)."""

    def __init__(self, store: Store, owned: bool = False):
        self.store = store
        self._owned = owned

    def _read(self, name: str, args: dict[str, Any]) -> pa.Table:
        return run_read(self.store, name, args)

    def close(self) -> None:
        if self._owned:
            self.store.close()


class SocketLog(LogReader):
    """Reads the running daemon answers over its socket."""

    def __init__(self, lay: Layout):
        self.lay = lay

    def _read(self, name: str, args: dict[str, Any]) -> pa.Table:
        from recorder import client

        return client.read(self.lay, name, args)


class HomeLog(LogReader):
    """The log of a home, for commands: through the daemon while one runs, otherwise the
    file opened read-only, otherwise (nothing recorded yet) an empty migrated log."""

    def __init__(self, lay: Layout):
        self.lay = lay
        self._local: LocalLog | None = None

    def _read(self, name: str, args: dict[str, Any]) -> pa.Table:
        from recorder import client

        if self._local is None and client.daemon_pid(self.lay) is not None:
            try:
                return client.read(self.lay, name, args)
            except DaemonUnavailable:
                pass
        if self._local is None:
            self._local = _open_local(self.lay)
        return self._local._read(name, args)

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None


def _open_local(lay: Layout) -> LocalLog:
    from recorder.store import empty_log, open_reader

    store = open_reader(lay)
    return LocalLog(store if store is not None else empty_log(), owned=True)


@contextmanager
def open_log(lay: Layout) -> Iterator[LogReader]:
    """The event log of ``lay`` for reading, whether or not a daemon runs."""
    log = HomeLog(lay)
    try:
        yield log
    finally:
        log.close()
