"""Spool -> event log: the daemon's ingest step.

Each cycle reads the new complete lines of every JSONL spool file, parses them
all at once inside DuckDB (``json_transform``: a malformed line or a mistyped
value never stops a batch), sets aside lines that are not valid records in
``spool/quarantine/``, redacts the free text, and writes sessions, events,
command endings and the new spool offsets in one transaction. A crash at any
point therefore neither loses nor duplicates a record: the offsets move only
with the rows they cover.

Command endings and outputs whose command is not in the log yet (their start
sits in a later chunk) wait in ``pending_lines`` and are retried every cycle.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from recorder import records as R
from recorder.paths import Layout
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

DEFAULT_BATCH_BYTES = 64 * 1024 * 1024
# An ending or output whose command never shows up is quarantined after this long.
PENDING_MAX_AGE = timedelta(hours=1)


def _escape_invalid_utf8(err: UnicodeDecodeError):
    # Bytes that are not UTF-8 (a command typed in Latin-1) sit inside JSON strings;
    # keep them visible and the JSON valid as the text "\xNN".
    bad = err.object[err.start : err.end]
    return "".join(f"\\\\x{b:02x}" for b in bad), err.end


codecs.register_error("recorder-json-escape", _escape_invalid_utf8)

_TRANSFORM = json.dumps(R.RECORD_FIELDS)
_TS = "make_timestamp(CAST(round(TRY_CAST(replace({col}, ',', '.') AS DOUBLE) * 1e6) AS BIGINT))"
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


class Ingester:
    """Moves spool records into the event log; owned by the one writer process."""

    def __init__(self, store: Store, lay: Layout, redactor=None):
        self.store = store
        self.lay = lay
        self.redactor = redactor
        self.offsets: dict[str, int] = dict(
            store.execute("SELECT file, ingested_to FROM spool_offsets").fetchall()
        )
        self._scrubbed: dict[str, int] = {}
        self.pending_count: int = store.execute("SELECT count(*) FROM pending_lines").fetchone()[0]
        # Highest seq per session, kept here so that a batch never scans the whole log for it.
        self.max_seq: dict[str, int] = dict(
            store.execute("SELECT session_id, max(seq) FROM events GROUP BY 1").fetchall()
        )

    # -- public -----------------------------------------------------------------

    def backlog_bytes(self) -> int:
        total = 0
        for spool in list_spool(self.lay.spool):
            if spool.kind != "jsonl":
                continue
            with contextlib.suppress(FileNotFoundError):
                total += max(0, spool.path.stat().st_size - self.offsets.get(spool.name, 0))
        return total

    def drain(self, batch_bytes: int = DEFAULT_BATCH_BYTES) -> IngestReport:
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

    def run_once(self, batch_bytes: int = DEFAULT_BATCH_BYTES) -> IngestReport:
        chunks = self._read_chunks(batch_bytes)
        report = IngestReport(files=len(chunks), pending=self.pending_count)
        if not chunks:  # pending lines are retried only together with new records
            return report
        pending = self._pending_lines() if self.pending_count else []
        batch = self._batch(chunks, pending)
        report.bytes = sum(len(data) for _, data, _ in chunks)
        report.records = len(batch) - len(pending)
        self._ingest_batch(batch, chunks, report)
        for spool, _, new_offset in chunks:
            self.offsets[spool.name] = new_offset
        return report

    def cleanup(self) -> None:
        """Scrub ingested bytes of live spool files and delete drained ones of dead producers."""
        for spool in list_spool(self.lay.spool):
            if spool.kind != "jsonl":
                continue
            done = self.offsets.get(spool.name, 0)
            if remove_if_drained(spool, done):
                self._forget(spool.name)
                continue
            self._scrubbed[spool.name] = scrub_ingested(
                spool.path, done, self._scrubbed.get(spool.name, 0)
            )

    def _forget(self, name: str) -> None:
        """A deleted spool file's offset goes too, so a file of the same name starts at 0."""
        self.store.execute("DELETE FROM spool_offsets WHERE file = ?", [name])
        self.offsets.pop(name, None)
        self._scrubbed.pop(name, None)

    # -- reading ----------------------------------------------------------------

    def _read_chunks(self, budget: int) -> list[tuple[SpoolFile, bytes, int]]:
        chunks = []
        for spool in list_spool(self.lay.spool):
            if spool.kind != "jsonl" or budget <= 0:
                continue
            offset = self.offsets.get(spool.name, 0)
            try:
                if spool.path.stat().st_size <= offset:
                    continue
                data, new_offset = read_complete_lines(spool.path, offset, budget)
            except FileNotFoundError:
                continue
            if data:
                chunks.append((spool, data, new_offset))
                budget -= len(data)
        return chunks

    def _pending_lines(self) -> list[tuple[str, str]]:
        rows = self.store.execute(
            "SELECT file, line, first_seen FROM pending_lines ORDER BY rowid"
        ).fetchall()
        self._pending_seen = [seen for _, _, seen in rows]
        return [(file, line) for file, line, _ in rows]

    @staticmethod
    def _batch(chunks, pending):
        """One Arrow table (ord, file, line) of the pending lines, then each chunk's lines."""
        import pyarrow as pa
        import pyarrow.compute as pc

        lines = [pa.array([line for _, line in pending], pa.large_string())]
        files = [pa.array([file for file, _ in pending], pa.string())]
        for spool, data, _ in chunks:
            text = data[:-1].decode("utf-8", "recorder-json-escape")  # drop the final newline
            part = pc.split_pattern(pa.array([text], pa.large_string()), "\n").flatten()
            lines.append(part)
            files.append(pa.repeat(spool.name, len(part)).cast(pa.string()))
        line = pa.chunked_array(lines, pa.large_string())
        return pa.table(
            {
                "ord": pa.array(range(len(line)), pa.int64()),
                "file": pa.chunked_array(files, pa.string()),
                "line": line,
            }
        )

    # -- writing ----------------------------------------------------------------

    def _ingest_batch(self, batch, chunks, report: IngestReport) -> None:
        con = self.store.con
        con.register("raw_batch", batch)
        try:
            con.execute(_PARSE_SQL.format(transform=_TRANSFORM.replace("'", "''")))
            bad = con.execute(
                "SELECT file, line, reason FROM parsed WHERE reason IS NOT NULL ORDER BY ord"
            ).fetchall()
            report.quarantined = len(bad)
            self._quarantine(bad)
            good = self._redacted(con)
            con.register("good", good)
            con.execute("BEGIN TRANSACTION")
            try:
                new = self._write(con)
                report.pending = self._keep_unmatched(con)
                self.pending_count = report.pending
                self._save_offsets(con, chunks)
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            for session, count in new.items():
                self.max_seq[session] = self.max_seq.get(session, 0) + count
            report.events = sum(new.values())
        finally:
            con.unregister("raw_batch")
            with contextlib.suppress(Exception):
                con.unregister("good")
            con.execute("DROP TABLE IF EXISTS parsed")

    def _redacted(self, con):
        """The valid records as Arrow, text redacted, with each new event's place in its session."""
        good = _to_arrow(con.sql("SELECT * FROM parsed WHERE reason IS NULL ORDER BY ord"))
        good = good.append_column("seq_offset", _seq_offsets(good))
        if self.redactor is None:
            return good.append_column("redactions", _null_json(len(good)))
        from recorder.redact_columns import redact_table

        return redact_table(self.redactor, good, R.TEXT_FIELDS)

    def _write(self, con) -> dict[str, int]:
        """Write the batch; return the number of new events per session."""
        import pyarrow as pa

        now = datetime.now(UTC).replace(tzinfo=None)
        con.execute(_SESSION_START_SQL)
        con.execute(_BLOBS_SQL)
        con.execute(_SESSION_END_SQL)
        con.execute(_IN_BATCH_SQL)
        seq_base = pa.table(
            {
                "session_id": pa.array(list(self.max_seq), pa.string()),
                "max_seq": pa.array(list(self.max_seq.values()), pa.int64()),
            }
        )
        con.register("seq_base", seq_base)
        try:
            con.execute(_INSERT_EVENTS_SQL, [now])
        finally:
            con.unregister("seq_base")
        new = dict(con.execute(_NEW_PER_SESSION_SQL).fetchall())
        late = con.execute(_LATE_COUNT_SQL).fetchone()[0]
        if late:
            con.execute(_MATCHED_SQL)
            con.execute(_UPDATE_END_SQL)
            con.execute(_UPDATE_OUTPUT_SQL)
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE matched AS SELECT ord FROM in_batch")
        return new

    def _keep_unmatched(self, con) -> int:
        """Keep unmatched endings and outputs for later; quarantine those waiting too long."""
        import pyarrow as pa

        seen = getattr(self, "_pending_seen", [])
        self._pending_seen = []
        # Pending lines come first in the batch: ord i < len(seen) was first seen at seen[i].
        con.register(
            "pending_seen",
            pa.table(
                {
                    "ord": pa.array(range(len(seen)), pa.int64()),
                    "first_seen": pa.array(seen, pa.timestamp("us")),
                }
            ),
        )
        try:
            con.execute(_UNMATCHED_SQL, [datetime.now(UTC).replace(tzinfo=None)])
        finally:
            con.unregister("pending_seen")
        expired = con.execute(
            "SELECT file, line, 'no command start within an hour' FROM unmatched "
            "WHERE first_seen < ? ORDER BY ord",
            [datetime.now(UTC).replace(tzinfo=None) - PENDING_MAX_AGE],
        ).fetchall()
        self._quarantine(expired)
        con.execute("DELETE FROM pending_lines")
        con.execute(
            "INSERT INTO pending_lines SELECT file, line, first_seen FROM unmatched "
            "WHERE first_seen >= ? ORDER BY ord",
            [datetime.now(UTC).replace(tzinfo=None) - PENDING_MAX_AGE],
        )
        return con.execute("SELECT count(*) FROM pending_lines").fetchone()[0]

    @staticmethod
    def _save_offsets(con, chunks) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        for spool, _, new_offset in chunks:
            con.execute(
                """INSERT INTO spool_offsets VALUES (?, ?, ?)
                   ON CONFLICT (file) DO UPDATE SET ingested_to = excluded.ingested_to,
                                                   updated_at = excluded.updated_at""",
                [spool.name, new_offset, now],
            )

    def _quarantine(self, bad: list[tuple[str, str, str]]) -> None:
        if not bad:
            return
        by_file: dict[str, list[str]] = {}
        for file, line, reason in bad:
            by_file.setdefault(file, []).append(line)
            log.warning("quarantined a line of %s: %s", file, reason)
        for file, lines in by_file.items():
            target: Path = self.lay.quarantine / f"{file}.bad"
            with target.open("a", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write("\n".join(lines) + "\n")


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


def _null_json(n: int):
    import pyarrow as pa

    return pa.nulls(n, pa.string())


def quarantine_count(lay: Layout) -> int:
    total = 0
    for path in lay.quarantine.glob("*.bad"):
        with path.open("rb") as fh:
            total += sum(1 for _ in fh)
    return total


_KNOWN = ", ".join(f"'{t}'" for t in R.RECORD_TYPES)
_NEEDS_SESSION = ", ".join(f"'{t}'" for t in (R.SESSION_START, R.SESSION_END, *_EVENT_TYPES))

_PARSE_SQL = f"""
CREATE OR REPLACE TEMP TABLE parsed AS
WITH j AS (
    SELECT ord, file, line::VARCHAR AS line,
           CASE WHEN starts_with(ltrim(line), '{{{{') THEN TRY(json_transform(line, '{{transform}}'))
           END AS r
    FROM raw_batch
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
FROM good WHERE type = '{R.SESSION_START}'
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
FROM good WHERE type = '{R.BLOB}'
ON CONFLICT (hash) DO NOTHING
"""

_SESSION_END_SQL = f"""
INSERT INTO sessions (session_id, started_at, ended_at)
SELECT session, max(ts), max(ts) FROM good WHERE type = '{R.SESSION_END}' GROUP BY 1
ON CONFLICT (session_id) DO UPDATE SET ended_at = excluded.ended_at
"""

# Endings and outputs whose command starts in the same batch are joined into its row at
# insert time; only the others become UPDATEs of rows already in the log.
_IN_BATCH_SQL = f"""
CREATE OR REPLACE TEMP TABLE in_batch AS
SELECT u.ord FROM good u
JOIN good s ON s.type = '{R.CMD_START}' AND s.shell_id = u.shell_id AND s.n = u.n
WHERE u.type IN ('{R.CMD_END}', '{R.CMD_OUTPUT}')
"""

_PIPESTATUS = "list_transform(string_split(trim({col}), ' '), lambda x: TRY_CAST(x AS INTEGER))"

_INSERT_EVENTS_SQL = f"""
INSERT INTO events BY NAME
WITH ends AS (
    SELECT DISTINCT ON (shell_id, n) * FROM good WHERE type = '{R.CMD_END}'
    ORDER BY shell_id, n, ord
), outs AS (
    SELECT DISTINCT ON (shell_id, n) * FROM good WHERE type = '{R.CMD_OUTPUT}'
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
FROM good g
LEFT JOIN ends e ON g.type = '{R.CMD_START}' AND e.shell_id = g.shell_id AND e.n = g.n
LEFT JOIN outs o ON g.type = '{R.CMD_START}' AND o.shell_id = g.shell_id AND o.n = g.n
LEFT JOIN seq_base m ON m.session_id = g.session
WHERE g.type IN ('{R.EVENT}', '{R.CMD_START}')
"""

_NEW_PER_SESSION_SQL = f"""
SELECT session, count(*) FROM good WHERE type IN ('{R.EVENT}', '{R.CMD_START}') GROUP BY 1
"""

_LATE_COUNT_SQL = f"""
SELECT count(*) FROM good
WHERE type IN ('{R.CMD_END}', '{R.CMD_OUTPUT}') AND ord NOT IN (SELECT ord FROM in_batch)
"""

_UNMATCHED_SQL = f"""
CREATE OR REPLACE TEMP TABLE unmatched AS
SELECT p.ord, p.file, p.line, coalesce(s.first_seen, ?::TIMESTAMP) AS first_seen
FROM parsed p LEFT JOIN pending_seen s USING (ord)
WHERE p.reason IS NULL AND p.type IN ('{R.CMD_END}', '{R.CMD_OUTPUT}')
  AND p.ord NOT IN (SELECT ord FROM matched)
"""

_LATE = "SELECT * FROM good WHERE type = '{type}' AND ord NOT IN (SELECT ord FROM in_batch)"

_MATCHED_SQL = f"""
CREATE OR REPLACE TEMP TABLE matched AS
SELECT ord FROM in_batch
UNION
SELECT g.ord FROM good g
JOIN events ev ON ev.shell_id = g.shell_id AND ev.cmd_seq = g.n AND ev.event_type = 'command'
WHERE g.type IN ('{R.CMD_END}', '{R.CMD_OUTPUT}') AND g.ord NOT IN (SELECT ord FROM in_batch)
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
