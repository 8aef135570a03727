"""Spool -> event log: the daemon's ingest step.

Each cycle reads the new complete lines of every JSONL spool file, parses them
all at once inside DuckDB (``json_transform``: a malformed line or a mistyped
value never stops a batch), redacts the free text, and writes sessions, events,
command endings and the new spool offsets in one transaction. A crash at any
point therefore neither loses nor duplicates a record: the offsets move only
with the rows they cover.

Command endings and outputs whose command is not in the log yet (their start
sits in a later chunk) wait in ``pending_lines`` and are retried every cycle.

A cycle is a :class:`Batch`: its input (chunks of spool bytes, the pending lines),
the DuckDB relations built from it (each made by one step function from the
relations it names, and dropped with the batch) and what it found. Lines that
are not valid records, and pending lines that waited too long, are collected on
the batch and appended to ``spool/quarantine/`` only once its transaction has
committed; the ingester's own counters and offsets change only then too. Just
before COMMIT they are also staged in ``spool/quarantine/.uncommitted.jsonl``,
so that a crash between the COMMIT and the append loses none of them: the next
cycle appends a staged list whose batch committed and drops one whose batch did not.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from recorder import records as R
from recorder.config import CapsSettings
from recorder.paths import Layout, open_private
from recorder.spool import (
    SpoolFile,
    list_spool,
    read_complete_lines,
    remove_if_drained,
    scrub_ingested,
)
from recorder.store import Store
from recorder.store import to_arrow as _to_arrow

log = logging.getLogger("recorder.ingest")

# An ending or output whose command never shows up is quarantined after this long.
PENDING_MAX_AGE = timedelta(hours=1)
_EXPIRED_REASON = f"no command start within {PENDING_MAX_AGE // timedelta(minutes=1)} minutes"
_BATCH_BYTES = CapsSettings.ingest_batch_bytes  # the setting's default (caps.ingest_batch_bytes)
_STAGED = ".uncommitted.jsonl"  # in spool/quarantine/


def _escape_invalid_utf8(err: UnicodeDecodeError):
    # Bytes that are not UTF-8 (a command typed in Latin-1) sit inside JSON strings;
    # keep them visible and the JSON valid as the text "\xNN".
    bad = err.object[err.start : err.end]
    return "".join(f"\\\\x{b:02x}" for b in bad), err.end


codecs.register_error("recorder-json-escape", _escape_invalid_utf8)

_EVENT_TYPES = (R.EVENT, R.CMD_START)


@dataclass
class IngestReport:
    records: int = 0
    events: int = 0
    quarantined: int = 0
    pending: int = 0
    bytes: int = 0
    files: int = 0
    offsets: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """The new complete lines of one spool file, and the offset just after them."""

    spool: SpoolFile
    data: bytes
    new_offset: int


@dataclass(frozen=True)
class PendingLine:
    """An ending or output read back from ``pending_lines``."""

    file: str
    line: str
    first_seen: datetime


@dataclass(frozen=True)
class BadLine:
    """A spool line set aside in ``spool/quarantine/<file>.bad``, and why."""

    file: str
    line: str
    reason: str


@dataclass
class Batch:
    """One ingest transaction: its input, the DuckDB relations made from it, what it found.

    The relations live on the writer's connection (Arrow tables registered as views,
    temporary tables) under the names the steps give them; :meth:`close` drops them all.
    """

    con: object
    chunks: list[Chunk]
    pending: list[PendingLine]  # they come first in the batch: line i is pending[i]
    now: datetime  # one clock reading for the whole batch
    views: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    quarantine: list[BadLine] = field(default_factory=list)  # written after COMMIT
    new_events: dict[str, int] = field(default_factory=dict)  # per session
    pending_after: int = 0  # rows left in pending_lines

    def register(self, name: str, table) -> str:
        """Make an Arrow table readable as the relation ``name``."""
        self.con.register(name, table)
        self.views.append(name)
        return name

    def create(self, name: str, select: str, params: list | None = None) -> str:
        """Create the temporary table ``name`` from a SELECT."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select}", params or [])
        self.tables.append(name)
        return name

    def execute(self, sql: str, params: list | None = None):
        return self.con.execute(sql, params or [])

    def close(self) -> None:
        for name in self.tables:
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
        for name in self.views:
            with contextlib.suppress(Exception):
                self.con.unregister(name)

    @property
    def bytes(self) -> int:
        return sum(len(chunk.data) for chunk in self.chunks)


class Ingester:
    """Moves spool records into the event log; owned by the one writer process."""

    def __init__(self, store: Store, lay: Layout, redactor=None, git=None):
        self.store = store
        self.lay = lay
        self.redactor = redactor
        self.git = git  # a recorder.gitstate.GitState: command starts get their git state
        self.offsets: dict[str, int] = dict(
            store.execute("SELECT file, ingested_to FROM spool_offsets").fetchall()
        )
        self._scrubbed: dict[str, int] = {}
        self.pending_count: int = store.execute("SELECT count(*) FROM pending_lines").fetchone()[0]
        # Highest seq per session, kept here so that a batch never scans the whole log for it.
        self.max_seq: dict[str, int] = dict(
            store.execute("SELECT session_id, max(seq) FROM events GROUP BY 1").fetchall()
        )
        settle_staged_quarantine(lay, self.offsets)

    # -- public -----------------------------------------------------------------

    def backlog_bytes(self) -> int:
        total = 0
        for spool in list_spool(self.lay.spool):
            if spool.kind != "jsonl":
                continue
            with contextlib.suppress(FileNotFoundError):
                total += max(0, spool.path.stat().st_size - self.offsets.get(spool.name, 0))
        return total

    def drain(self, batch_bytes: int = _BATCH_BYTES) -> IngestReport:
        """Ingest until the spool holds no complete unread line."""
        total = IngestReport()
        while True:
            report = self.run_once(batch_bytes)
            total.records += report.records
            total.events += report.events
            total.quarantined += report.quarantined
            total.bytes += report.bytes
            total.pending = report.pending
            if report.bytes == 0:
                break
        self.cleanup()
        return total

    def run_once(self, batch_bytes: int = _BATCH_BYTES) -> IngestReport:
        """Ingest one batch of about ``batch_bytes`` of new spool lines, in one transaction."""
        chunks = read_chunks(self.lay.spool, self.offsets, batch_bytes)
        report = IngestReport(files=len(chunks), pending=self.pending_count)
        if not chunks:  # pending lines are retried only together with new records
            return report
        settle_staged_quarantine(self.lay, self.offsets)  # left by a crash or a failed append
        pending = read_pending(self.store.con) if self.pending_count else []
        now = datetime.now(UTC).replace(tzinfo=None)
        batch = Batch(self.store.con, chunks, pending, now)
        try:
            records = self._commit(batch)
        finally:
            batch.close()
        # Committed: only now do the counters, the offsets and the quarantine follow.
        for session, count in batch.new_events.items():
            self.max_seq[session] = self.max_seq.get(session, 0) + count
        for chunk in chunks:
            self.offsets[chunk.spool.name] = chunk.new_offset
        self.pending_count = batch.pending_after
        append_to_quarantine(self.lay, batch.quarantine)
        (self.lay.quarantine / _STAGED).unlink(missing_ok=True)
        self._scrub(chunk.spool for chunk in chunks)  # in the log now: off the disk
        report.bytes = batch.bytes
        report.records = records
        report.events = sum(batch.new_events.values())
        report.quarantined = len(batch.quarantine)
        report.pending = batch.pending_after
        return report

    def cleanup(self) -> None:
        """Delete drained spool files of dead producers and erase the ingested bytes of the rest."""
        live = []
        for spool in list_spool(self.lay.spool):
            if spool.kind != "jsonl":
                continue
            if remove_if_drained(spool, self.offsets.get(spool.name, 0)):
                self._forget(spool.name)
            else:
                live.append(spool)
        self._scrub(live)

    def _scrub(self, spools) -> None:
        """Erase exactly the bytes of each spool file that are in the log (see spool.scrub_ingested)."""
        for spool in spools:
            done = self.offsets.get(spool.name, 0)
            self._scrubbed[spool.name] = scrub_ingested(
                spool.path, done, self._scrubbed.get(spool.name, 0)
            )

    def _forget(self, name: str) -> None:
        """A deleted spool file's offset goes too, so a file of the same name starts at 0."""
        self.store.execute("DELETE FROM spool_offsets WHERE file = ?", [name])
        self.offsets.pop(name, None)
        self._scrubbed.pop(name, None)

    # -- one batch --------------------------------------------------------------

    def _commit(self, batch: Batch) -> int:
        """Parse and redact the batch, then write it in one transaction; the new records."""
        raw = batch.register("raw_batch", lines_table(batch.chunks, batch.pending))
        parsed = parse_lines(batch, raw)
        batch.quarantine += invalid_lines(batch, parsed)
        good = batch.register("good", valid_records(batch, parsed, self.redactor, self.git))
        seq_base = batch.register("seq_base", seq_base_table(self.max_seq))
        batch.execute("BEGIN TRANSACTION")
        try:
            write_sessions_and_blobs(batch, good)
            in_batch = endings_in_batch(batch, good)
            batch.new_events = insert_events(batch, good, seq_base)
            matched = complete_earlier_commands(batch, good, in_batch)
            unmatched = unmatched_endings(
                batch, parsed, matched, redacted_endings(batch, good, parsed)
            )
            batch.quarantine += expired_endings(batch, unmatched)
            batch.pending_after = keep_pending(batch, unmatched)
            save_offsets(batch)
            batch.quarantine = redact_bad_lines(self.redactor, batch.quarantine)
            stage_quarantine(self.lay, batch)
            batch.execute("COMMIT")
        except Exception:
            (self.lay.quarantine / _STAGED).unlink(missing_ok=True)
            batch.execute("ROLLBACK")
            raise
        return len(good) - len(batch.pending)


# -- reading ------------------------------------------------------------------


def read_chunks(spool_dir: Path, offsets: dict[str, int], budget: int) -> list[Chunk]:
    """The complete lines after each JSONL spool file's offset, ``budget`` bytes in all."""
    chunks = []
    for spool in list_spool(spool_dir):
        if spool.kind != "jsonl" or budget <= 0:
            continue
        offset = offsets.get(spool.name, 0)
        try:
            if spool.path.stat().st_size <= offset:
                continue
            data, new_offset = read_complete_lines(spool.path, offset, budget)
        except FileNotFoundError:
            continue
        if data:
            chunks.append(Chunk(spool, data, new_offset))
            budget -= len(data)
    return chunks


def read_pending(con) -> list[PendingLine]:
    rows = con.execute("SELECT file, line, first_seen FROM pending_lines ORDER BY rowid")
    return [PendingLine(*row) for row in rows.fetchall()]


def lines_table(chunks: list[Chunk], pending: list[PendingLine]):
    """One Arrow table (ord, file, line) of the pending lines, then each chunk's lines."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lines = [pa.array([p.line for p in pending], pa.large_string())]
    files = [pa.array([p.file for p in pending], pa.string())]
    for chunk in chunks:
        text = chunk.data[:-1].decode("utf-8", "recorder-json-escape")  # drop the final newline
        part = pc.split_pattern(pa.array([text], pa.large_string()), "\n").flatten()
        lines.append(part)
        files.append(pa.repeat(chunk.spool.name, len(part)).cast(pa.string()))
    line = pa.chunked_array(lines, pa.large_string())
    return pa.table(
        {
            "ord": pa.array(range(len(line)), pa.int64()),
            "file": pa.chunked_array(files, pa.string()),
            "line": line,
        }
    )


# -- steps before the transaction ---------------------------------------------


def parse_lines(batch: Batch, raw: str) -> str:
    """``raw``'s lines as records: every field, a timestamp, and why it is invalid (or NULL)."""
    return batch.create("parsed", _PARSE_SQL.format(raw=raw))


def invalid_lines(batch: Batch, parsed: str) -> list[BadLine]:
    rows = batch.execute(
        f"SELECT file, line, reason FROM {parsed} WHERE reason IS NOT NULL ORDER BY ord"
    ).fetchall()
    return [BadLine(*row) for row in rows]


def valid_records(batch: Batch, parsed: str, redactor, git=None):
    """The valid records as Arrow, with each new event's place in its session, the command
    starts' git state (from their raw cwd) and text redacted."""
    good = _to_arrow(batch.con.sql(f"SELECT * FROM {parsed} WHERE reason IS NULL ORDER BY ord"))
    good = good.append_column("seq_offset", _seq_offsets(good))
    if git is not None:
        good = with_git_state(good, git)
    if redactor is None:  # (the parsed ``redactions``: those of a line kept in pending_lines)
        return good
    from recorder.redact_columns import redact_table

    return redact_table(redactor, good, R.TEXT_FIELDS, json_columns=R.JSON_FIELDS)


def with_git_state(good, git):
    """Command starts get the repository, branch and HEAD of their cwd at their start time
    (``recorder.gitstate``); a value a record carries itself is kept."""
    import pyarrow as pa
    import pyarrow.compute as pc

    is_start = pc.fill_null(pc.equal(good.column("type"), R.CMD_START), False)
    if not pc.any(is_start).as_py():
        return good
    cwds = pc.if_else(is_start, good.column("cwd"), pa.scalar(None, pa.string()))
    times = good.column("ts").cast(pa.timestamp("us")).cast(pa.int64())
    for column, values in zip(("repo", "branch", "head"), git.columns_at(cwds, times), strict=True):
        filled = pc.coalesce(good.column(column), values.cast(good.schema.field(column).type))
        good = good.set_column(good.schema.get_field_index(column), column, filled)
    return good


def seq_base_table(max_seq: dict[str, int]):
    """The highest seq of each session in the log, as Arrow (session_id, max_seq)."""
    import pyarrow as pa

    return pa.table(
        {
            "session_id": pa.array(list(max_seq), pa.string()),
            "max_seq": pa.array(list(max_seq.values()), pa.int64()),
        }
    )


# -- steps inside the transaction ---------------------------------------------


def write_sessions_and_blobs(batch: Batch, good: str) -> None:
    batch.execute(_SESSION_START_SQL.format(good=good))
    batch.execute(_BLOBS_SQL.format(good=good))
    batch.execute(_SESSION_END_SQL.format(good=good))


def endings_in_batch(batch: Batch, good: str) -> str:
    """The ords of endings and outputs whose command starts in the same batch."""
    return batch.create("in_batch", _IN_BATCH_SQL.format(good=good))


def insert_events(batch: Batch, good: str, seq_base: str) -> dict[str, int]:
    """Insert the new events (commands joined with their endings); their count per session."""
    batch.execute(_INSERT_EVENTS_SQL.format(good=good, seq_base=seq_base), [batch.now])
    return dict(batch.execute(_NEW_PER_SESSION_SQL.format(good=good)).fetchall())


def complete_earlier_commands(batch: Batch, good: str, in_batch: str) -> str:
    """Write endings and outputs into commands already in the log; all matched ords."""
    names = {"good": good, "in_batch": in_batch}
    if not batch.execute(_LATE_COUNT_SQL.format(**names)).fetchone()[0]:
        return batch.create("matched", f"SELECT ord FROM {in_batch}")
    matched = batch.create("matched", _MATCHED_SQL.format(**names))
    batch.execute(_UPDATE_END_SQL.format(**names))
    batch.execute(_UPDATE_OUTPUT_SQL.format(**names))
    return matched


def redacted_endings(batch: Batch, good: str, parsed: str) -> str:
    """Endings and outputs whose text redaction changed, as lines of their redacted record.

    Such a line waits in ``pending_lines`` (in the database file) in this form, with its
    findings in ``redactions``, rather than as the raw spool line; lines with nothing to
    redact keep their exact text.
    """
    return batch.create("redacted_endings", _REDACTED_ENDINGS_SQL.format(good=good, parsed=parsed))


def unmatched_endings(batch: Batch, parsed: str, matched: str, redacted: str) -> str:
    """Endings and outputs with no command yet, each with when it was first seen."""
    import pyarrow as pa

    seen = batch.register(
        "pending_seen",
        pa.table(
            {
                "ord": pa.array(range(len(batch.pending)), pa.int64()),
                "first_seen": pa.array([p.first_seen for p in batch.pending], pa.timestamp("us")),
            }
        ),
    )
    sql = _UNMATCHED_SQL.format(parsed=parsed, matched=matched, seen=seen, redacted=redacted)
    return batch.create("unmatched", sql, [batch.now])


def expired_endings(batch: Batch, unmatched: str) -> list[BadLine]:
    rows = batch.execute(
        f"SELECT file, line FROM {unmatched} WHERE first_seen < ? ORDER BY ord",
        [batch.now - PENDING_MAX_AGE],
    ).fetchall()
    return [BadLine(file, line, _EXPIRED_REASON) for file, line in rows]


def keep_pending(batch: Batch, unmatched: str) -> int:
    """Replace ``pending_lines`` with the unmatched lines not expired; how many there are."""
    batch.execute("DELETE FROM pending_lines")
    batch.execute(
        f"INSERT INTO pending_lines SELECT file, line, first_seen FROM {unmatched} "
        "WHERE first_seen >= ? ORDER BY ord",
        [batch.now - PENDING_MAX_AGE],
    )
    return batch.execute("SELECT count(*) FROM pending_lines").fetchone()[0]


def save_offsets(batch: Batch) -> None:
    for chunk in batch.chunks:
        batch.execute(
            """INSERT INTO spool_offsets VALUES (?, ?, ?)
               ON CONFLICT (file) DO UPDATE SET ingested_to = excluded.ingested_to,
                                               updated_at = excluded.updated_at""",
            [chunk.spool.name, chunk.new_offset, batch.now],
        )


# -- quarantine -----------------------------------------------------------------


def redact_bad_lines(redactor, bad: list[BadLine]) -> list[BadLine]:
    """Quarantined lines with their text redacted as a whole (a bad line may not even be
    JSON), so that what is kept for the user to inspect holds no secret in plain text."""
    if redactor is None or not bad:
        return bad
    results = redactor.redact_many([item.line for item in bad])
    return [BadLine(item.file, r.text, item.reason) for item, r in zip(bad, results, strict=True)]


def stage_quarantine(lay: Layout, batch: Batch) -> None:
    """Keep the batch's quarantine lines, and how to tell later whether the batch committed:
    the new offset of its first chunk, which only its transaction moves that far."""
    path = lay.quarantine / _STAGED
    if not batch.quarantine:
        path.unlink(missing_ok=True)
        return
    first = batch.chunks[0]
    marker = {"file": first.spool.name, "offset": first.new_offset}
    rows = [marker, *map(asdict, batch.quarantine)]
    text = "".join(json.dumps(row) + "\n" for row in rows)
    with os.fdopen(open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), "w") as fh:
        fh.write(text)


def settle_staged_quarantine(lay: Layout, offsets: dict[str, int]) -> None:
    """Append a staged quarantine list if its batch committed; drop it either way."""
    path = lay.quarantine / _STAGED
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    except FileNotFoundError:
        return
    except ValueError:  # cut short by a crash while it was written, so before the COMMIT
        rows = []
    if rows and offsets.get(rows[0]["file"], 0) >= rows[0]["offset"]:
        append_to_quarantine(lay, [BadLine(**row) for row in rows[1:]])
    path.unlink(missing_ok=True)


def append_to_quarantine(lay: Layout, bad: list[BadLine]) -> None:
    by_file: dict[str, list[str]] = {}
    for item in bad:
        by_file.setdefault(item.file, []).append(item.line)
        log.warning("quarantined a line of %s: %s", item.file, item.reason)
    for file, lines in by_file.items():
        target: Path = lay.quarantine / f"{file}.bad"
        with os.fdopen(open_private(target), "a", encoding="utf-8", errors="surrogateescape") as fh:
            fh.write("\n".join(lines) + "\n")


def quarantine_count(lay: Layout) -> int:
    total = 0
    for path in lay.quarantine.glob("*.bad"):
        with path.open("rb") as fh:
            total += sum(1 for _ in fh)
    return total


def _seq_offsets(good):
    """1, 2, 3... per session over the records that become events (a sort-free row_number)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    is_event = pc.fill_null(pc.is_in(good.column("type"), pa.array(_EVENT_TYPES)), False)
    sessions = good.column("session")
    offsets = None
    for session in pc.unique(pc.filter(sessions, is_event)).to_pylist():
        mine = pc.and_(is_event, pc.fill_null(pc.equal(sessions, session), False))
        counted = pc.cumulative_sum(pc.cast(mine, pa.int64()))
        part = pc.if_else(mine, counted, pa.scalar(None, pa.int64()))
        offsets = part if offsets is None else pc.coalesce(offsets, part)
    if offsets is None:
        return pa.nulls(len(good), pa.int64())
    return offsets


# -- SQL ------------------------------------------------------------------------
# Each statement is a str.format template over the relation names its step is given.

_TS = "make_timestamp(CAST(round(TRY_CAST(replace({col}, ',', '.') AS DOUBLE) * 1e6) AS BIGINT))"
# json_transform's structure, as a SQL literal with the braces escaped for str.format.
_TRANSFORM = json.dumps(R.RECORD_FIELDS).replace("'", "''").replace("{", "{{").replace("}", "}}")
_KNOWN = ", ".join(f"'{t}'" for t in R.RECORD_TYPES)
_NEEDS_SESSION = ", ".join(f"'{t}'" for t in (R.SESSION_START, R.SESSION_END, *_EVENT_TYPES))

_PARSE_SQL = f"""
WITH j AS (
    SELECT ord, file, line::VARCHAR AS line,
           CASE WHEN starts_with(ltrim(line), '{{{{') THEN TRY(json_transform(line, '{_TRANSFORM}'))
           END AS r
    FROM {{raw}}
), u AS (
    SELECT ord, file, line, r IS NULL AS not_object, r.*,
           {_TS.format(col="r.t")} AS ts,
           {_TS.format(col="r.t_end")} AS ts_end
    FROM j
)
SELECT * EXCLUDE (not_object, line),
       CASE
         WHEN not_object THEN 'not a JSON object'
         WHEN type IS NULL OR type NOT IN ({_KNOWN}) THEN 'unknown record type'
         WHEN type IN ({_NEEDS_SESSION}) AND session IS NULL THEN 'no session'
         WHEN type IN ({_NEEDS_SESSION}) AND ts IS NULL THEN 'no valid timestamp'
         WHEN type = '{R.EVENT}' AND (source IS NULL OR event IS NULL)
              THEN 'event without source or event type'
         WHEN type IN ('{R.CMD_START}', '{R.CMD_END}', '{R.CMD_OUTPUT}')
              AND (shell_id IS NULL OR n IS NULL) THEN 'command record without shell_id or n'
         WHEN type = '{R.BLOB}' AND (hash_after IS NULL OR TRY(from_base64(data)) IS NULL)
              THEN 'blob without hash_after or base64 data'
       END AS reason,
       -- the raw line is kept only where it may be needed again: quarantine and pending updates
       CASE WHEN reason IS NOT NULL OR type IN ('{R.CMD_END}', '{R.CMD_OUTPUT}') THEN line END
           AS line
FROM u
"""

# Both are upserts: a session's end may be ingested before its start (another spool file).
_SESSION_START_SQL = f"""
INSERT INTO sessions
SELECT DISTINCT ON (session) session, name, json_extract_string(extra, '$.researcher_id'), host,
       ts, NULL, tz, extra
FROM {{good}} WHERE type = '{R.SESSION_START}'
ORDER BY session, ord
ON CONFLICT (session_id) DO UPDATE SET
    name = excluded.name, researcher_id = excluded.researcher_id, host = excluded.host,
    started_at = excluded.started_at, utc_offset_min = excluded.utc_offset_min,
    extra = excluded.extra
"""

_BLOBS_SQL = f"""
INSERT INTO blobs
SELECT DISTINCT ON (hash_after) hash_after, coalesce(size, 0), coalesce(compression, 'none'),
       from_base64(data)
FROM {{good}} WHERE type = '{R.BLOB}'
ON CONFLICT (hash) DO NOTHING
"""

_SESSION_END_SQL = f"""
INSERT INTO sessions (session_id, started_at, ended_at)
SELECT session, max(ts), max(ts) FROM {{good}} WHERE type = '{R.SESSION_END}' GROUP BY 1
ON CONFLICT (session_id) DO UPDATE SET ended_at = excluded.ended_at
"""

# Endings and outputs whose command starts in the same batch are joined into its row at
# insert time; only the others become UPDATEs of rows already in the log.
_IN_BATCH_SQL = f"""
SELECT u.ord FROM {{good}} u
JOIN {{good}} s ON s.type = '{R.CMD_START}' AND s.shell_id = u.shell_id AND s.n = u.n
WHERE u.type IN ('{R.CMD_END}', '{R.CMD_OUTPUT}')
"""

_PIPESTATUS = "list_transform(string_split(trim({col}), ' '), lambda x: TRY_CAST(x AS INTEGER))"

_INSERT_EVENTS_SQL = f"""
INSERT INTO events BY NAME
WITH ends AS (
    SELECT DISTINCT ON (shell_id, n) * FROM {{good}} WHERE type = '{R.CMD_END}'
    ORDER BY shell_id, n, ord
), outs AS (
    SELECT DISTINCT ON (shell_id, n) * FROM {{good}} WHERE type = '{R.CMD_OUTPUT}'
    ORDER BY shell_id, n, ord DESC
)
SELECT
    uuidv7()::VARCHAR AS event_id,
    g.session AS session_id,
    coalesce(m.max_seq, 0) + g.seq_offset AS seq,
    g.ts AS ts_start,
    coalesce(g.ts_end, e.ts) AS ts_end,
    g.tz AS utc_offset_min,
    CASE WHEN g.type = '{R.CMD_START}' THEN 'shell' ELSE g.source END AS source,
    CASE WHEN g.type = '{R.CMD_START}' THEN 'command' ELSE g.event END AS event_type,
    g.cwd, g.cmd AS command, coalesce(g.exit, e.exit) AS exit_code,
    {_PIPESTATUS.format(col="coalesce(g.pipestatus, e.pipestatus)")} AS pipestatus,
    (epoch_us(coalesce(g.ts_end, e.ts)) - epoch_us(g.ts)) // 1000 AS duration_ms,
    g.shell, g.pid AS shell_pid, g.shell_id, g.n AS cmd_seq, g.host, g.user AS username,
    g.pane AS tmux_pane,
    coalesce(g.output, o.output) AS output,
    coalesce(g.truncated, o.truncated) AS output_truncated,
    coalesce(g.output_bytes, o.output_bytes) AS output_bytes,
    g.path, g.repo, g.old_path, g.diff, g.added AS lines_added, g.removed AS lines_removed,
    g.hash_before, g.hash_after, g.branch AS git_branch, g.head AS git_head, g.size AS size_bytes,
    g.text,
    CASE WHEN o.redactions IS NULL THEN g.redactions
         WHEN g.redactions IS NULL THEN o.redactions
         ELSE json_merge_patch(g.redactions, o.redactions) END AS redactions,
    CASE WHEN o.extra IS NULL THEN g.extra
         WHEN g.extra IS NULL THEN o.extra
         ELSE json_merge_patch(g.extra, o.extra) END AS extra,
    ?::TIMESTAMP AS ingested_at
FROM {{good}} g
LEFT JOIN ends e ON g.type = '{R.CMD_START}' AND e.shell_id = g.shell_id AND e.n = g.n
LEFT JOIN outs o ON g.type = '{R.CMD_START}' AND o.shell_id = g.shell_id AND o.n = g.n
LEFT JOIN {{seq_base}} m ON m.session_id = g.session
WHERE g.type IN ('{R.EVENT}', '{R.CMD_START}')
"""

_NEW_PER_SESSION_SQL = f"""
SELECT session, count(*) FROM {{good}} WHERE type IN ('{R.EVENT}', '{R.CMD_START}') GROUP BY 1
"""

_LATE_COUNT_SQL = f"""
SELECT count(*) FROM {{good}}
WHERE type IN ('{R.CMD_END}', '{R.CMD_OUTPUT}') AND ord NOT IN (SELECT ord FROM {{in_batch}})
"""

_UNMATCHED_SQL = f"""
SELECT p.ord, p.file, coalesce(r.line, p.line) AS line,
       coalesce(s.first_seen, ?::TIMESTAMP) AS first_seen
FROM {{parsed}} p LEFT JOIN {{seen}} s USING (ord) LEFT JOIN {{redacted}} r USING (ord)
WHERE p.reason IS NULL AND p.type IN ('{R.CMD_END}', '{R.CMD_OUTPUT}')
  AND p.ord NOT IN (SELECT ord FROM {{matched}})
"""

_JSON_FIELDS = ("extra", "redactions")
_REDACTED_RECORD = ", ".join(
    f"{k} := g.{k}::JSON" if k in _JSON_FIELDS else f"{k} := g.{k}" for k in R.RECORD_FIELDS
)
_TEXT_CHANGED = " OR ".join(f"g.{k} IS DISTINCT FROM p.{k}" for k in R.TEXT_FIELDS)
_REDACTED_ENDINGS_SQL = f"""
SELECT g.ord, to_json(struct_pack({_REDACTED_RECORD}))::VARCHAR AS line
FROM {{good}} g JOIN {{parsed}} p USING (ord)
WHERE g.type IN ('{R.CMD_END}', '{R.CMD_OUTPUT}') AND (g.redactions IS NOT NULL OR {_TEXT_CHANGED})
"""

_LATE = "SELECT * FROM {{good}} WHERE type = '{type}' AND ord NOT IN (SELECT ord FROM {{in_batch}})"

_MATCHED_SQL = f"""
SELECT ord FROM {{in_batch}}
UNION
SELECT g.ord FROM {{good}} g
JOIN events ev ON ev.shell_id = g.shell_id AND ev.cmd_seq = g.n AND ev.event_type = 'command'
WHERE g.type IN ('{R.CMD_END}', '{R.CMD_OUTPUT}') AND g.ord NOT IN (SELECT ord FROM {{in_batch}})
"""

_UPDATE_END_SQL = f"""
UPDATE events SET
    ts_end = e.ts,
    exit_code = e.exit,
    pipestatus = {_PIPESTATUS.format(col="e.pipestatus")},
    duration_ms = (epoch_us(e.ts) - epoch_us(events.ts_start)) // 1000
FROM ({_LATE.format(type=R.CMD_END)}) e
WHERE events.shell_id = e.shell_id AND events.cmd_seq = e.n AND events.event_type = 'command'
"""

_UPDATE_OUTPUT_SQL = f"""
UPDATE events SET
    output = e.output,
    output_truncated = e.truncated,
    output_bytes = e.output_bytes,
    extra = CASE WHEN e.extra IS NULL THEN events.extra
                 WHEN events.extra IS NULL THEN e.extra
                 ELSE json_merge_patch(events.extra, e.extra) END,
    redactions = CASE WHEN e.redactions IS NULL THEN events.redactions
                      WHEN events.redactions IS NULL THEN e.redactions
                      ELSE json_merge_patch(events.redactions, e.redactions) END
FROM ({_LATE.format(type=R.CMD_OUTPUT)}) e
WHERE events.shell_id = e.shell_id AND events.cmd_seq = e.n AND events.event_type = 'command'
"""
