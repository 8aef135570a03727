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

from recorder.errors import (
    DaemonUnavailable,
    RecorderError,
    RequestRefused,
    UnknownSession,
    UsageError,
)

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


@dataclass(frozen=True)
class Search:
    """What ``recorder search`` looks for; every field left at None matches everything."""

    text: str | None = None  # in commands, paths and task text (any case)
    in_output: bool = False  # in the commands' outputs too
    failed: bool = False  # commands that exited non-zero
    exit_code: int | None = None
    source: str | None = None  # shell, file, user, input, recorder
    repo: str | None = None
    cwd: str | None = None  # this directory or one below it
    session_id: str | None = None
    since: dt.datetime | None = None  # naive UTC, included
    until: dt.datetime | None = None  # naive UTC, excluded
    limit: int = 50

    def args(self) -> dict[str, Any]:
        return {
            "text": self.text or None,
            "in_output": int(self.in_output),
            "failed": int(self.failed),
            "exit_code": self.exit_code,
            "source": self.source,
            "repo": self.repo,
            "cwd": self.cwd,
            "session_id": self.session_id,
            "since_t": epoch_us(self.since) if self.since else None,
            "until_t": epoch_us(self.until) if self.until else None,
            "limit": self.limit,
        }


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


def _exported_sessions_sql(_args):
    # Exported as approved: the hash an export wrote is the session's latest approval's.
    return (
        """SELECT DISTINCT x.session_id FROM exports x
           JOIN (SELECT session_id, arg_max(content_hash, approved_at) AS content_hash
                 FROM approvals GROUP BY 1) a USING (session_id, content_hash)
           ORDER BY 1""",
        [],
    )


def _oldest_session_sql(_args):
    return "SELECT min(started_at) AS started_at FROM sessions", []


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
    where, params = _filters({**args, "session_id": args["session_id"]})
    sql = f"SELECT {', '.join(TIMELINE_COLUMNS)} FROM events WHERE {where} ORDER BY ts_start, seq"
    if args.get("limit") is not None:
        sql += f" LIMIT {int(args['limit'])}"
    return sql, params


def _search_sql(args):
    where, params = _filters(args)
    columns = ", ".join(("session_id", "repo", *TIMELINE_COLUMNS))
    sql = f"SELECT {columns} FROM events WHERE {where} ORDER BY ts_start DESC, seq DESC LIMIT ?"
    return sql, [*params, int(args["limit"])]


# The text a search looks in; `in_output` adds the commands' outputs.
SEARCHED_COLUMNS = ("command", "path", "old_path", "text")


def _filters(args) -> tuple[str, list[Any]]:
    """The WHERE clause of a search or a filtered timeline: every value is a parameter."""
    where, params = ["TRUE"], []
    if args.get("text"):
        columns = [*SEARCHED_COLUMNS, *(["output"] if args.get("in_output") else [])]
        where.append("(" + " OR ".join(f"contains(lower({c}), ?)" for c in columns) + ")")
        params += [args["text"].lower()] * len(columns)
    if args.get("failed"):
        where.append("exit_code <> 0")
    for column in ("exit_code", "source", "repo", "session_id"):
        if args.get(column) is not None:
            where.append(f"{column} = ?")
            params.append(args[column])
    if args.get("cwd"):
        where.append("(cwd = ? OR starts_with(cwd, ?))")
        params += [args["cwd"], args["cwd"].rstrip("/") + "/"]
    if args.get("since_t") is not None:
        where.append(f"ts_start >= {_TS}")
        params.append(args["since_t"])
    if args.get("until_t") is not None:
        where.append(f"ts_start < {_TS}")
        params.append(args["until_t"])
    return " AND ".join(where), params


def _event_keys_sql(args):
    return (
        "SELECT seq, epoch_us(ts_start) AS t FROM events WHERE session_id = ? AND seq <= ?"
        " ORDER BY ts_start, seq",
        [args["session_id"], args["max_seq"]],
    )


def _event_window_sql(args):
    sql, params = _events_sql({k: v for k, v in args.items() if k != "max_seq"})
    return sql + " AND seq <= ?", [*params, args["max_seq"]]


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


def _approvals_sql(args):
    sql = (
        "SELECT session_id, researcher_id, approved_at, ruleset_version, content_hash"
        " FROM approvals"
    )
    if args.get("session_id") is None:
        return sql + " ORDER BY approved_at, session_id", []
    return sql + " WHERE session_id = ? ORDER BY approved_at", [args["session_id"]]


def _audit_sql(args):
    sql = "SELECT done_at AS at, session_id, action, target, rule, rows_affected FROM audit"
    if args.get("session_id") is None:
        return sql + " ORDER BY done_at", []
    return sql + " WHERE session_id = ? ORDER BY done_at", [args["session_id"]]


def _task_overrides_sql(args):
    return (
        "SELECT episode_index, task FROM task_overrides WHERE session_id = ?"
        " ORDER BY episode_index",
        [args["session_id"]],
    )


def _ops(*ops: ReadOp) -> dict[str, ReadOp]:
    return {op.name: op for op in ops}


# What `search` takes: every filter of :class:`Search`, all optional but the limit.
SEARCH_ARGS: dict[str, type] = {
    "text": str, "in_output": int, "failed": int, "exit_code": int, "source": str,
    "repo": str, "cwd": str, "session_id": str, "since_t": int, "until_t": int, "limit": int,
}  # fmt: skip

READ_OPS: dict[str, ReadOp] = _ops(
    ReadOp("sessions", {}, _sessions_sql),
    ReadOp("oldest_session", {}, _oldest_session_sql),
    ReadOp("exported_sessions", {}, _exported_sessions_sql),
    ReadOp("event_page_bounds", {"session_id": str, "page_rows": int}, _page_bounds_sql),
    ReadOp(
        "events",
        dict(session_id=str, columns=str, after_t=int, after_seq=int, upto_t=int, upto_seq=int),
        _events_sql,
        optional=frozenset({"columns", "after_t", "after_seq", "upto_t", "upto_seq"}),
    ),
    ReadOp(
        "timeline",
        dict(session_id=str, limit=int, text=str, failed=int, source=str),
        _timeline_sql,
        optional=frozenset({"limit", "text", "failed", "source"}),
    ),
    ReadOp("search", SEARCH_ARGS, _search_sql, optional=frozenset(SEARCH_ARGS) - {"limit"}),
    ReadOp("event_keys", {"session_id": str, "max_seq": int}, _event_keys_sql),
    ReadOp(
        "event_window",
        dict(session_id=str, max_seq=int, after_t=int, after_seq=int, upto_t=int, upto_seq=int),
        _event_window_sql,
        optional=frozenset({"after_t", "after_seq", "upto_t", "upto_seq"}),
    ),
    ReadOp("event", {"event_id": str}, _event_sql),
    ReadOp("event_counts", {"session_id": str}, _event_counts_sql),
    ReadOp("blob", {"hash": str}, _blob_sql),
    ReadOp("spool_offsets", {}, _spool_offsets_sql),
    ReadOp("reconcile_manifests", {}, _manifests_sql),
    ReadOp("file_changes_since", {"since_t": int}, _file_changes_sql),
    ReadOp("command_at", {"session_id": str, "t": int}, _command_at_sql),
    ReadOp("approvals", {"session_id": str}, _approvals_sql, frozenset({"session_id"})),
    ReadOp("audit", {"session_id": str}, _audit_sql, frozenset({"session_id"})),
    ReadOp("task_overrides", {"session_id": str}, _task_overrides_sql),
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

    def oldest_session_start(self) -> dt.datetime | None:
        """When the oldest session kept began (naive UTC); None for an empty log."""
        return self._read("oldest_session", {}).to_pylist()[0]["started_at"]

    def exported_sessions(self) -> set[str]:
        """The sessions an export wrote as they were last approved."""
        return {r["session_id"] for r in self._read("exported_sessions", {}).to_pylist()}

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

    def timeline(
        self,
        session_id: str,
        limit: int | None = None,
        text: str | None = None,
        failed: bool = False,
        source: str | None = None,
    ) -> list[dict[str, Any]]:
        """The session's events in time order, the columns ``recorder show`` prints; only
        those holding ``text`` (any case), failed commands, or one source, if asked."""
        if limit is not None and limit < 0:
            raise UsageError(f"--limit must be 0 or more, not {limit}")
        args = {"session_id": session_id, "limit": limit, "text": text or None,
                "failed": int(failed), "source": source}  # fmt: skip
        return self._read("timeline", args).to_pylist()

    def search(self, query: Search) -> list[dict[str, Any]]:
        """Events of every session that match ``query``, newest first (``recorder search``)."""
        if query.limit < 0:
            raise UsageError(f"--limit must be 0 or more, not {query.limit}")
        return self._read("search", query.args()).to_pylist()

    def event_keys(self, session_id: str, max_seq: int) -> pa.Table:
        """``(seq, t)`` of the session's events up to ``max_seq``, in time order (``t``:
        ts_start in microseconds): a snapshot's index, one narrow read."""
        return self._read("event_keys", {"session_id": session_id, "max_seq": int(max_seq)})

    def event_window(self, session_id: str, max_seq: int, after: tuple[int, int] | None,
                     upto: tuple[int, int] | None) -> pa.Table:  # fmt: skip
        """The events (export columns) after the key ``after`` and up to ``upto`` (each a
        ``(t, seq)`` of :meth:`event_keys`, None for open), none past ``max_seq``, in time
        order: one page of a snapshot."""
        args: dict[str, Any] = {"session_id": session_id, "max_seq": int(max_seq)}
        if after is not None:
            args.update(after_t=after[0], after_seq=after[1])
        if upto is not None:
            args.update(upto_t=upto[0], upto_seq=upto[1])
        page = self._read("event_window", args)
        return page.sort_by([("ts_start", "ascending"), ("seq", "ascending")])

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

    # -- review (recorder.review) ----------------------------------------------------

    def approvals(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """Approvals, oldest first (of one session, or all): who, when, rule set, hash."""
        return self._read("approvals", {"session_id": session_id}).to_pylist()

    def audit(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """The audit of changes made at review, oldest first; it never holds a secret."""
        return self._read("audit", {"session_id": session_id}).to_pylist()

    def task_overrides(self, session_id: str) -> dict[int, str]:
        """Episode index -> the task text set at review."""
        rows = self._read("task_overrides", {"session_id": session_id}).to_pylist()
        return {row["episode_index"]: row["task"] for row in rows}

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


def sessions_if_any() -> list[dict[str, Any]]:
    """The sessions of this user's log, newest first, creating nothing; none when there is
    no log or it cannot be read now (for tab completion, which must never fail out loud)."""
    from recorder.paths import layout

    try:
        lay = layout(create=False)
        if not lay.database.exists():
            return []
        with open_log(lay) as log:
            return log.sessions()[::-1]
    except (RecorderError, OSError):
        return []
