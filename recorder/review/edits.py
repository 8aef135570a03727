"""The review's named write operations on the event log, run by its single writer.

``WRITE_OPS`` maps each operation's name to its change record and the function that
applies it; the daemon's ``apply`` request names operations and their fields, and
nothing else: no SQL ever comes from a client. ``apply_in_store`` runs a list of them
in one transaction, then makes the removal real on disk: the snapshots (blobs) and
pending lines are rewritten in the same transaction, the quarantine files after it,
and ``store.compact`` rewrites the database file so that no removed text survives in
its bytes. A redaction for every session also becomes a rule for future ingest and
exports (``recorder.redaction.review_rules``, written before the transaction commits:
a failure then leaves more redaction, never less). Every change gets an audit row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from recorder.errors import RequestRefused, SessionError, UsageError
from recorder.eventlog import READ_OPS, LogReader, checked_args
from recorder.records import typed_text
from recorder.review.approval import approvable, session_hash, session_row
from recorder.review.audit import AuditRow, record
from recorder.review.records import (
    Approve,
    Change,
    ChangeResult,
    DropEvents,
    Forget,
    MarkExported,
    Prune,
    RedactText,
    SetTask,
)
from recorder.store import Store, compact, to_arrow

# Event columns holding recorded text (what a redaction rewrites).
TEXT_COLUMNS = (
    "command", "output", "diff", "text", "cwd", "path", "old_path", "repo", "window_title",
    "git_branch", "extra",
)  # fmt: skip
_LIST_SHOWN = 12  # event ids named in an audit row's target


class TxLog(LogReader):
    """The named reads on the writer's own connection: they see the transaction's changes."""

    def __init__(self, store: Store):
        self.store = store

    def _read(self, name: str, args: dict[str, Any]):
        sql, params = READ_OPS[name].sql(checked_args(name, args))
        return to_arrow(self.store.con.sql(sql, params=params or None))


@dataclass
class EditContext:
    store: Store
    lay: Any
    config: Any
    now: dt.datetime
    reader: TxLog
    compact: bool = False
    rules_changed: bool = False
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    _tick: int = 0

    @property
    def con(self):
        return self.store.con

    @property
    def key(self) -> bytes:
        from recorder.redaction.key import load_or_create_key

        return load_or_create_key(self.lay.home)

    def at(self) -> dt.datetime:
        """The time of the next change: one microsecond apart, so their order is kept."""
        self._tick += 1
        return self.now + dt.timedelta(microseconds=self._tick)

    def audit(self, row: AuditRow) -> None:
        record(self.con, row, self.at())


# -- the operations -------------------------------------------------------------------


def drop_events(ctx: EditContext, c: DropEvents) -> ChangeResult:
    session_row(ctx.reader, c.session_id)
    if c.episode is not None:
        ids = _episode_event_ids(ctx, c.session_id, c.episode)
        target = f"episode:{c.episode}"
    elif c.event_ids:
        ids = list(dict.fromkeys(c.event_ids))
        found = {
            r[0]
            for r in ctx.con.execute(
                "SELECT event_id FROM events WHERE session_id = ? AND list_contains(?, event_id)",
                [c.session_id, ids],
            ).fetchall()
        }
        missing = [i for i in ids if i not in found]
        if missing:
            raise UsageError(f"no event {missing[0]} in session {c.session_id}")
        shown = ",".join(ids[:_LIST_SHOWN])
        target = f"events:{shown}" + (f",… ({len(ids)} in all)" if len(ids) > _LIST_SHOWN else "")
    else:
        ids = [
            r[0]
            for r in ctx.con.execute(
                "SELECT event_id FROM events WHERE session_id = ? AND ts_start >= "
                "make_timestamp(?::BIGINT) AND ts_start < make_timestamp(?::BIGINT)",
                [c.session_id, c.start_us, c.end_us],
            ).fetchall()
        ]
        target = f"window:{_iso_us(c.start_us)}/{_iso_us(c.end_us)}"
    removed = _delete_events(
        ctx, "session_id = ? AND list_contains(?, event_id)", [c.session_id, ids]
    )
    ctx.audit(AuditRow(c.session_id, "drop", target, None, removed))
    return ChangeResult(c, removed, f"dropped {removed} event(s) from session {c.session_id}")


def redact_text(ctx: EditContext, c: RedactText) -> ChangeResult:
    from recorder.redaction.engine import Redactor
    from recorder.redaction.review_rules import (
        add_entries,
        plain_literal_rule,
        regex_name,
        stored_rule,
    )
    from recorder.redaction.user_rules import user_rules_from

    key = ctx.key
    if c.literal is not None:
        rule = plain_literal_rule(key, c.literal)
        kind = "literal"
    else:
        rule = user_rules_from([], [{"name": regex_name(c.regex), "pattern": c.regex}])[0]
        kind = "regex"
    redactor = Redactor(key, personal=False, builtin=False, review_rules=[rule])
    if c.all_sessions:
        sessions = [r["session_id"] for r in ctx.reader.sessions()]
        # The rule for the future first: should anything below fail, more stays hidden.
        ctx.rules_changed |= add_entries(ctx.lay.home, [stored_rule(key, c.literal, c.regex)])
    else:
        sessions = [session_row(ctx.reader, c.session_id)["session_id"]]
    total = 0
    for sid in sessions:
        rows = _rewrite_events(ctx, sid, redactor) + _rewrite_session(ctx, sid, redactor)
        if rows or not c.all_sessions:
            scope = "all sessions" if c.all_sessions else "session"
            ctx.audit(AuditRow(sid, "redact", f"{kind} ({scope})", rule.name, rows))
        total += rows
    blobs = _rewrite_blobs(ctx, None if c.all_sessions else sessions, redactor)
    _rewrite_pending(ctx, None if c.all_sessions else sessions[0], redactor)
    ctx.after_commit.append(lambda: _rewrite_quarantine(ctx.lay, redactor))
    if c.all_sessions:
        ctx.audit(AuditRow(None, "rule", f"{kind} (all sessions)", rule.name, total))
    ctx.compact = True
    where = f"{len(sessions)} session(s)" if c.all_sessions else f"session {sessions[0]}"
    snapshots = f", {blobs} file snapshot(s)" if blobs else ""
    future = "; a rule for every session from now on" if c.all_sessions else ""
    return ChangeResult(
        c, total, f"redacted {total} row(s){snapshots} in {where} as {rule.name}{future}"
    )


def forget(ctx: EditContext, c: Forget) -> ChangeResult:
    if c.last_s is None:
        row = session_row(ctx.reader, c.session_id)
        if row["ended_at"] is None:
            raise SessionError(
                f"session {c.session_id} is still recording: stop it first, or forget "
                "only its last minutes (--last)"
            )
        removed = _delete_session(ctx, c.session_id)
        ctx.audit(AuditRow(c.session_id, "forget", "session", None, removed))
        return ChangeResult(c, removed, f"forgot session {c.session_id} ({removed} event(s))")
    cutoff = ctx.now - dt.timedelta(seconds=c.last_s)
    where, params = "ts_start >= ?", [cutoff]
    if c.session_id is not None:
        session_row(ctx.reader, c.session_id)
        where, params = where + " AND session_id = ?", [cutoff, c.session_id]
    per_session = ctx.con.execute(
        f"SELECT session_id, count(*) FROM events WHERE {where} GROUP BY 1 ORDER BY 1", params
    ).fetchall()
    removed = _delete_events(ctx, where, params)
    target = f"window:{cutoff.isoformat()}Z/{ctx.now.isoformat()}Z"
    for sid, n in per_session:
        ctx.audit(AuditRow(sid, "forget", target, None, n))
    emptied = ctx.con.execute(
        "DELETE FROM sessions s WHERE started_at >= ? AND ended_at IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.session_id = s.session_id)"
        + (" AND session_id = ?" if c.session_id is not None else ""),
        params,
    ).fetchone()[0]
    gone = f", and {emptied} session(s) begun in it" if emptied else ""
    return ChangeResult(
        c, removed, f"forgot {removed} event(s) of the last {_duration(c.last_s)}{gone}"
    )


def prune(ctx: EditContext, c: Prune) -> ChangeResult:
    sql, params = "SELECT session_id FROM sessions WHERE ended_at IS NOT NULL", []
    if c.before_us is not None:
        sql += " AND ended_at < ?"
        params.append(dt.datetime.fromtimestamp(c.before_us / 1e6, dt.UTC).replace(tzinfo=None))
    sessions = [row[0] for row in ctx.con.execute(sql + " ORDER BY started_at", params).fetchall()]
    if c.exported_only:
        exported = ctx.reader.exported_sessions()
        sessions = [s for s in sessions if s in exported]
    which = "exported " if c.exported_only else ""
    when = f" ended before {_iso_us(c.before_us)}" if c.before_us is not None else ""
    removed = 0
    for session_id in sessions:
        n = _delete_session(ctx, session_id)
        ctx.audit(AuditRow(session_id, "prune", f"{which}session{when}".strip(), None, n))
        removed += n
    return ChangeResult(
        c, removed, f"pruned {len(sessions)} {which}session(s){when} ({removed} event(s))"
    )


def mark_exported(ctx: EditContext, c: MarkExported) -> ChangeResult:
    for session_id, digest in zip(c.session_ids, c.content_hashes, strict=True):
        ctx.con.execute(
            "INSERT INTO exports VALUES (?, ?, ?, ?)", [session_id, digest, c.export_id, ctx.at()]
        )
    return ChangeResult(c, 0, f"noted export {c.export_id} of {len(c.session_ids)} session(s)")


def _delete_session(ctx: EditContext, session_id: str) -> int:
    """Delete a session, its events, approvals and task texts; the number of events."""
    removed = _delete_events(ctx, "session_id = ?", [session_id])
    for table in ("sessions", "approvals", "task_overrides"):
        ctx.con.execute(f"DELETE FROM {table} WHERE session_id = ?", [session_id])
    ctx.compact = True
    return removed


def set_task(ctx: EditContext, c: SetTask) -> ChangeResult:
    from recorder.redaction.installed import build_redactor

    session_row(ctx.reader, c.session_id)
    text = typed_text(c.text).strip()
    if not text:
        raise UsageError("a task text must not be empty")
    count = _episode_count(ctx, c.session_id)
    if not 0 <= c.episode < count:
        raise UsageError(
            f"session {c.session_id} has {count} episode(s) (0 to {count - 1}), not {c.episode}"
        )
    text = build_redactor(ctx.lay, ctx.config).redact(text).text
    ctx.con.execute(
        "INSERT OR REPLACE INTO task_overrides VALUES (?, ?, ?, ?)",
        [c.session_id, c.episode, text, ctx.now],
    )
    ctx.audit(AuditRow(c.session_id, "task", f"episode:{c.episode}", None, 1))
    return ChangeResult(c, 1, f"set the task of episode {c.episode} of session {c.session_id}")


def approve(ctx: EditContext, c: Approve) -> ChangeResult:
    from exporters.redaction import build_export_redactor

    row = session_row(ctx.reader, c.session_id)
    approvable(row)
    redactor = build_export_redactor(ctx.lay, ctx.config)
    digest = session_hash(ctx.lay, ctx.reader, c.session_id, redactor)
    ctx.con.execute(
        "INSERT INTO approvals VALUES (?, ?, ?, ?, ?)",
        [c.session_id, ctx.config.researcher_id, ctx.at(), redactor.ruleset_version, digest],
    )
    ctx.audit(AuditRow(c.session_id, "approve", "session", None, 0))
    return ChangeResult(
        c,
        0,
        f"approved session {c.session_id} as {ctx.config.researcher_id} (content {digest[:12]})",
    )


@dataclass(frozen=True)
class WriteOp:
    """One named write: its change record, the types of its fields, and what runs it."""

    name: str
    record: type
    fields: dict[str, tuple[type, ...]]
    run: Callable[[EditContext, Any], ChangeResult]


_STR, _OPT_STR = (str,), (str, type(None))
_OPT_INT, _OPT_NUM = (int, type(None)), (int, float, type(None))

WRITE_OPS: dict[str, WriteOp] = {
    op.name: op
    for op in (
        WriteOp(
            "drop_events",
            DropEvents,
            dict(
                session_id=_STR,
                event_ids=(list, tuple),
                start_us=_OPT_INT,
                end_us=_OPT_INT,
                episode=_OPT_INT,
            ),
            drop_events,
        ),
        WriteOp(
            "redact_text",
            RedactText,
            dict(session_id=_OPT_STR, literal=_OPT_STR, regex=_OPT_STR, all_sessions=(bool,)),
            redact_text,
        ),
        WriteOp("forget", Forget, dict(session_id=_OPT_STR, last_s=_OPT_NUM), forget),
        WriteOp("prune", Prune, dict(before_us=_OPT_INT, exported_only=(bool,)), prune),
        WriteOp(
            "mark_exported",
            MarkExported,
            dict(export_id=_STR, session_ids=(list, tuple), content_hashes=(list, tuple)),
            mark_exported,
        ),
        WriteOp("set_task", SetTask, dict(session_id=_STR, episode=(int,), text=_STR), set_task),
        WriteOp("approve", Approve, dict(session_id=_STR), approve),
    )
}
_BY_RECORD = {op.record: op for op in WRITE_OPS.values()}


# -- checking, encoding and running a list of changes --------------------------------


def check_changes(changes: Sequence[Change]) -> None:
    """UsageError (or RuleError) for a change that cannot be made, before anything is sent."""
    for c in changes:
        if type(c) not in _BY_RECORD:
            raise UsageError(f"not a change: {c!r}")
        if isinstance(c, DropEvents):
            window = c.start_us is not None or c.end_us is not None
            if sum([bool(c.event_ids), window, c.episode is not None]) != 1:
                raise UsageError("drop: give event ids, a time window, or an episode (one)")
            if window and (c.start_us is None or c.end_us is None or c.end_us <= c.start_us):
                raise UsageError("drop: a window needs --from before --to")
            if c.episode is not None and c.episode < 0:
                raise UsageError(f"drop: episode must be 0 or more, not {c.episode}")
        elif isinstance(c, RedactText):
            if (c.literal is None) == (c.regex is None):
                raise UsageError("redact: give a literal or a regex (one)")
            if c.session_id is None and not c.all_sessions:
                raise UsageError("redact: name a session, or redact in all sessions")
            if c.literal is not None:
                from recorder.redaction.review_rules import clean_literal

                clean_literal(c.literal)
            else:
                from recorder.redaction.review_rules import stored_rule

                stored_rule(b"\0" * 32, regex=c.regex)  # RuleError if malformed
        elif isinstance(c, Forget):
            if c.session_id is None and c.last_s is None:
                raise UsageError("forget: name a session, or a span of time (--last)")
            if c.last_s is not None and not c.last_s > 0:
                raise UsageError(f"forget: --last must be a positive duration, not {c.last_s}")


def encode_change(c: Change) -> dict[str, Any]:
    args = dataclasses.asdict(c)
    if isinstance(c, DropEvents):
        args["event_ids"] = list(c.event_ids)
    return {"name": _BY_RECORD[type(c)].name, "args": args}


def decode_change(item: Any) -> Change:
    """A change from a request; RequestRefused when it names no operation or bad fields."""
    if not isinstance(item, dict) or item.get("name") not in WRITE_OPS:
        raise RequestRefused(
            f"no write operation {item.get('name') if isinstance(item, dict) else item!r}"
        )
    op = WRITE_OPS[item["name"]]
    args = item.get("args")
    if not isinstance(args, dict) or set(args) - set(op.fields):
        raise RequestRefused(f"{op.name}: unknown or missing arguments")
    for name, kinds in op.fields.items():
        value = args.get(name)
        if name not in args and type(None) in kinds:
            continue
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise RequestRefused(f"{op.name}: {name} has the wrong type")
    if op.record is DropEvents:
        ids = args.get("event_ids") or []
        if not all(isinstance(i, str) for i in ids):
            raise RequestRefused("drop_events: event_ids must be strings")
        args = {**args, "event_ids": tuple(ids)}
    if op.record is MarkExported:
        ids, hashes = list(args["session_ids"]), list(args["content_hashes"])
        if len(ids) != len(hashes) or not all(isinstance(v, str) for v in ids + hashes):
            raise RequestRefused("mark_exported: as many session ids as hashes, all strings")
        args = {**args, "session_ids": tuple(ids), "content_hashes": tuple(hashes)}
    return op.record(**args)


def decode_changes(items: Any) -> list[Change]:
    if not isinstance(items, list):
        raise RequestRefused("apply: changes must be a list")
    changes = [decode_change(item) for item in items]
    check_changes(changes)
    return changes


def encode_results(results: Sequence[ChangeResult]) -> list[dict[str, Any]]:
    return [{"rows_changed": r.rows_changed, "detail": r.detail} for r in results]


def decode_results(changes: Sequence[Change], items: list[dict]) -> list[ChangeResult]:
    return [
        ChangeResult(c, int(item["rows_changed"]), str(item["detail"]))
        for c, item in zip(changes, items, strict=True)
    ]


def apply_in_store(store: Store, lay, config, changes: Sequence[Change]):
    """Apply ``changes`` in one transaction on the writer's ``store``; then make removals
    real on disk. Returns the results and whether the rules for every session changed."""
    ctx = EditContext(store, lay, config, _utcnow(), TxLog(store))
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        results = [_BY_RECORD[type(c)].run(ctx, c) for c in changes]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for step in ctx.after_commit:
        step()
    if ctx.compact or any(r.rows_changed for r in results):
        compact(store)
    return results, ctx.rules_changed


# -- making it real --------------------------------------------------------------------


def _delete_events(ctx: EditContext, where: str, params: list) -> int:
    """Delete the events ``where`` selects, and the snapshots only they referred to."""
    hashes = [
        r[0]
        for r in ctx.con.execute(
            f"SELECT DISTINCT h FROM (SELECT hash_before AS h FROM events WHERE {where}"
            f" UNION ALL SELECT hash_after FROM events WHERE {where}) WHERE h IS NOT NULL",
            params + params,
        ).fetchall()
    ]
    removed = ctx.con.execute(f"DELETE FROM events WHERE {where}", params).fetchone()[0]
    if hashes:
        ctx.con.execute(
            "DELETE FROM blobs WHERE list_contains(?, hash) AND hash NOT IN ("
            " SELECT hash_before FROM events WHERE hash_before IS NOT NULL"
            " UNION SELECT hash_after FROM events WHERE hash_after IS NOT NULL)",
            [hashes],
        )
    if removed:
        ctx.compact = True
    return int(removed)


def _rewrite_events(ctx: EditContext, session_id: str, redactor) -> int:
    import pyarrow.compute as pc

    from recorder.redact_columns import redact_table

    table = to_arrow(ctx.con.sql("SELECT * FROM events WHERE session_id = ?", params=[session_id]))
    if not table.num_rows:
        return 0
    redacted = redact_table(redactor, table, TEXT_COLUMNS)
    changed = None
    for name in TEXT_COLUMNS:
        before, after = table.column(name).cast("string"), redacted.column(name)
        diff = pc.fill_null(pc.not_equal(before, after), False)
        changed = diff if changed is None else pc.or_(changed, diff)
    rows = redacted.filter(changed)
    if not rows.num_rows:
        return 0
    ctx.con.register("review_redacted_rows", rows)
    try:
        ctx.con.execute(
            "DELETE FROM events WHERE session_id = ? AND event_id IN "
            "(SELECT event_id FROM review_redacted_rows)",
            [session_id],
        )
        ctx.con.execute("INSERT INTO events SELECT * FROM review_redacted_rows")
    finally:
        ctx.con.unregister("review_redacted_rows")
    return rows.num_rows


def _rewrite_session(ctx: EditContext, session_id: str, redactor) -> int:
    name, extra = ctx.con.execute(
        "SELECT name, CAST(extra AS VARCHAR) FROM sessions WHERE session_id = ?", [session_id]
    ).fetchone()
    new_name = redactor.redact(name).text if name else name
    new_extra = redactor.redact(extra).text if extra else extra
    if (new_name, new_extra) == (name, extra):
        return 0
    ctx.con.execute(
        "UPDATE sessions SET name = ?, extra = ? WHERE session_id = ?",
        [new_name, new_extra, session_id],
    )
    if name != new_name:
        ctx.after_commit.append(lambda: _rewrite_active_name(ctx.lay, session_id, redactor))
    return 1


def _rewrite_blobs(ctx: EditContext, sessions: list[str] | None, redactor) -> int:
    """Rewrite the file snapshots of ``sessions`` (all when None) the redactor changes.
    A snapshot keeps its hash (that of the file as it was): only its content changes."""
    from recorder.collectors.snapshots import redact_bytes, unpack_blob

    sql = "SELECT hash, compression, data FROM blobs"
    params: list = []
    if sessions is not None:
        sql += (
            " WHERE hash IN (SELECT hash_before FROM events WHERE list_contains(?, session_id)"
            " UNION SELECT hash_after FROM events WHERE list_contains(?, session_id))"
        )
        params = [sessions, sessions]
    changed = 0
    for digest, compression, data in ctx.con.execute(sql, params).fetchall():
        content = unpack_blob(compression, data)
        redacted = redact_bytes(content, redactor)
        if redacted != content:
            ctx.con.execute(
                "UPDATE blobs SET size = ?, compression = 'zlib', data = ? WHERE hash = ?",
                [len(redacted), zlib.compress(redacted, 6), digest],
            )
            changed += 1
    if changed:
        ctx.compact = True
    return changed


def _rewrite_pending(ctx: EditContext, session_id: str | None, redactor) -> None:
    rows = ctx.con.execute("SELECT rowid, line FROM pending_lines").fetchall()
    for rowid, line in rows:
        if session_id is not None and session_id not in line:
            continue
        new = redactor.redact(line).text
        if new != line:
            ctx.con.execute("UPDATE pending_lines SET line = ? WHERE rowid = ?", [new, rowid])


def _rewrite_quarantine(lay, redactor) -> None:
    """Quarantined lines (kept redacted) are redacted again with the new rule."""
    import os

    for path in sorted(lay.quarantine.glob("*")) if lay.quarantine.exists() else []:
        if not path.is_file() or path.is_symlink():
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        new = redactor.redact(text).text
        if new != text:
            tmp = path.with_name(f".{path.name}.review")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(new)
            os.replace(tmp, path)


def _rewrite_active_name(lay, session_id: str, redactor) -> None:
    """``state/session.json`` holds the recording session's (redacted) name: redact it too."""
    import json
    import os

    path = lay.state / "session.json"
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if state.get("session_id") != session_id or not state.get("name"):
        return
    state["name"] = redactor.redact(state["name"]).text
    tmp = path.with_name(".session.json.review")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(state, fh)
    os.replace(tmp, path)


# -- episodes as the export numbers them ----------------------------------------------


def _session_export(ctx: EditContext, session_id: str, keep=None):
    from exporters.redaction import build_export_redactor
    from exporters.session import export_rows
    from recorder.review.approval import session_info

    row = session_row(ctx.reader, session_id)
    redactor = build_export_redactor(ctx.lay, ctx.config)
    info = session_info(row, ctx.config)
    return export_rows(ctx.lay, ctx.config, info, ctx.reader, redactor, keep)


def _episode_count(ctx: EditContext, session_id: str) -> int:
    return _session_export(ctx, session_id).episodes


def _episode_event_ids(ctx: EditContext, session_id: str, episode: int) -> list[str]:
    from exporters.sink import KeptTables

    keep = KeptTables(("steps",))
    out = _session_export(ctx, session_id, keep)
    if episode >= out.episodes:
        raise UsageError(
            f"session {session_id} has {out.episodes} episode(s) (from 0), not {episode}"
        )
    wanted = f"{session_id}-e{episode:04d}"
    ids: list[str] = []
    for table in keep.tables.get("steps", []):
        for row in table.select(["episode_id", "source_event_ids"]).to_pylist():
            if row["episode_id"] == wanted:
                ids += row["source_event_ids"] or []
    return list(dict.fromkeys(ids))


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _iso_us(us: int | None) -> str:
    if us is None:
        return "-"
    return dt.datetime.fromtimestamp(us / 1e6, dt.UTC).replace(tzinfo=None).isoformat() + "Z"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
