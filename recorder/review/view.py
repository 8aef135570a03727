"""A session as it will be exported, for review: a snapshot of its rows, read a page at a time.

:func:`open_snapshot` fixes what the review sees when it opens: the session's events up to
its highest ``seq`` then, and their order (``(ts_start, seq)``, the export's) as a narrow
index of keys. Events the daemon ingests later stay out of the snapshot, so the view does
not move under the reviewer. :class:`ExportView` reads the snapshot's rows a page at a time
(``LogReader.event_window``), each page as the export makes it: as of the session's end
(``exporters.source.as_of_end``), redacted with the export's current rules
(``exporters.redaction.ExportRedaction``) and output cut to the export's cap. It keeps a
few pages, so scrolling a long session never loads all of it. :meth:`ExportView.find`
searches the exported text page by page.

:func:`waiting_sessions` lists the sessions for the review list with their review state.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from recorder.eventlog import HomeLog

PAGE_ROWS = 200  # rows per page the view reads and keeps
KEPT_PAGES = 24  # pages kept in memory at once
PLACEHOLDER = re.compile(r"<(SECRET|PII):([A-Za-z0-9_.\-]+):([0-9a-f]{6})>")
# The text of an event the review shows and searches, in the order it shows them.
TEXT_FIELDS = ("command", "output", "diff", "path", "old_path", "text", "window_title", "cwd")


@dataclass(frozen=True, slots=True)
class Finding:
    """One redaction of a row's column: which rule, of which category."""

    column: str
    rule: str
    category: str


@dataclass(frozen=True, slots=True)
class Row:
    """One event as the export writes it (the fields the review shows)."""

    position: int  # in the snapshot's time order, from 0
    event_id: str
    seq: int
    ts_start: dt.datetime
    utc_offset_min: int | None
    source: str
    event_type: str
    cwd: str | None
    command: str | None
    exit_code: int | None
    duration_ms: int | None
    output: str | None
    output_truncated: bool | None
    path: str | None
    old_path: str | None
    diff: str | None
    lines_added: int | None
    lines_removed: int | None
    text: str | None
    window_title: str | None
    findings: tuple[Finding, ...]

    def texts(self) -> Iterator[tuple[str, str]]:
        """(field, value) of each text the row has, in :data:`TEXT_FIELDS` order."""
        for name in TEXT_FIELDS:
            value = getattr(self, name)
            if value:
                yield name, value


@dataclass(frozen=True)
class SessionSnapshot:
    """A session's events as they were when the review opened: up to ``max_seq``, in the
    export's order (``seqs[i]``, ``times[i]``: the key of position ``i``)."""

    session: dict[str, Any]
    max_seq: int
    seqs: list[int]
    times: list[int]  # ts_start, microseconds

    @property
    def session_id(self) -> str:
        return self.session["session_id"]

    @property
    def live(self) -> bool:
        """Still recording (it cannot be approved)."""
        return self.session["ended_at"] is None

    def __len__(self) -> int:
        return len(self.seqs)

    def key(self, position: int) -> tuple[int, int]:
        return self.times[position], self.seqs[position]

    def first_after(self, t_us: int) -> int:
        """The position of the first event whose ts_start is after ``t_us``."""
        return bisect.bisect_right(self.times, t_us)


def open_snapshot(log, ref: str) -> SessionSnapshot:
    """The snapshot of the session ``ref`` (id, id prefix, name or ``last``) as of now."""
    session = log.resolve_session(ref)
    max_seq = int(session["max_seq"] or 0)
    keys = log.event_keys(session["session_id"], max_seq)
    return SessionSnapshot(
        session, max_seq, keys.column("seq").to_pylist(), keys.column("t").to_pylist()
    )


class ExportView:
    """The snapshot's rows as the export writes them, read and redacted a page at a time."""

    def __init__(self, log, snapshot: SessionSnapshot, redactor, output_cap: int):
        from exporters.redaction import ExportRedaction

        self.log = log
        self.snapshot = snapshot
        self.redaction = ExportRedaction(redactor)
        self.output_cap = output_cap
        self._pages: OrderedDict[int, list[Row]] = OrderedDict()

    def __len__(self) -> int:
        return len(self.snapshot)

    def row(self, position: int) -> Row:
        page = self.page(position // PAGE_ROWS)
        return page[position % PAGE_ROWS]

    def page(self, number: int) -> list[Row]:
        """Page ``number`` (rows ``number * PAGE_ROWS`` on), read once and kept a while."""
        rows = self._pages.get(number)
        if rows is not None:
            self._pages.move_to_end(number)
            return rows
        lo = number * PAGE_ROWS
        rows = self.read(lo, min(lo + PAGE_ROWS, len(self)))
        self._pages[number] = rows
        while len(self._pages) > KEPT_PAGES:
            self._pages.popitem(last=False)
        return rows

    def read(self, lo: int, hi: int) -> list[Row]:
        """Rows ``lo`` to ``hi`` (excluded), read from the log now, as the export makes them."""
        table = self.exported_table(lo, hi)
        return rows_of(table, lo)

    def exported_table(self, lo: int, hi: int):
        """Positions ``lo`` to ``hi`` as an Arrow table of export columns, redacted as the
        export redacts them (``redactions`` updated), output cut to the export's cap."""
        from exporters.source import as_of_end

        snap = self.snapshot
        if hi <= lo:
            return None
        after = snap.key(lo - 1) if lo > 0 else None
        page = self.log.event_window(snap.session_id, snap.max_seq, after, snap.key(hi - 1))
        page = as_of_end(page, snap.session["ended_at"])
        table = self.redaction.redact_events(page)
        return _cap_output(table, self.output_cap)

    def find(self, needle: str, start: int, forward: bool = True) -> int | None:
        """The first position from ``start`` on (or back, ``forward=False``), wrapping
        around, whose exported text holds ``needle`` (case-insensitive); None if none."""
        n = len(self)
        if not needle or n == 0:
            return None
        folded = needle.casefold()
        step = 1 if forward else -1
        for k in range(n):
            position = (start + step * k) % n
            if any(folded in value.casefold() for _, value in self.row(position).texts()):
                return position
        return None


def rows_of(table, first: int) -> list[Row]:
    """The rows of an exported events table whose first row is at position ``first``."""
    if table is None:
        return []
    names = [n for n in Row.__slots__ if n not in ("position", "findings")]
    columns = [table.column(name).to_pylist() for name in names]
    redactions = table.column("redactions").to_pylist()
    rows = []
    for i, values in enumerate(zip(*columns, strict=True)):
        fields = dict(zip(names, values, strict=True))
        rows.append(Row(position=first + i, findings=parse_findings(redactions[i]), **fields))
    return rows


def parse_findings(value: str | None) -> tuple[Finding, ...]:
    """The ``redactions`` JSON of a row as findings (never the text they hid)."""
    if not value:
        return ()
    try:
        found = json.loads(value)
    except ValueError:
        return ()
    return tuple(
        Finding(column, item.get("rule", "?"), item.get("category", "?"))
        for column, items in sorted(found.items())
        for item in items
    )


def _cap_output(table, cap: int):
    """The output column cut to the export's cap, as ``exporters.tables.events_table`` does."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from exporters.textcut import clean_tail

    output = table.column("output")
    too_long = pc.fill_null(pc.greater(pc.utf8_length(output), cap), False)
    if not pc.any(too_long).as_py():
        return table
    values = output.to_pylist()
    for i in pc.indices_nonzero(too_long).to_pylist():
        values[i] = clean_tail(values[i], cap)
    index = table.column_names.index("output")
    return table.set_column(index, "output", pa.array(values, pa.string()))


# -- the list of sessions ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionEntry:
    """A session in the review list."""

    session_id: str
    name: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    events: int
    by_source: str | None
    state: str  # one of recorder.review.approval.REVIEW_STATES


def waiting_sessions(log, lay) -> list[SessionEntry]:
    """Every session, newest first, with its review state; those waiting first."""
    from recorder.review.approval import review_states

    states = review_states(log, lay)
    entries = [
        SessionEntry(
            row["session_id"],
            row["name"],
            row["started_at"],
            row["ended_at"],
            int(row["events"]),
            row["by_source"],
            states[row["session_id"]],
        )
        for row in reversed(log.sessions())
    ]
    entries.sort(key=lambda e: e.state == "approved")  # stable: newest first within each
    return entries


class BriefLog(HomeLog):
    """A reader of a home's log that holds the file only while a read runs, so the review,
    open for minutes, never keeps the daemon, ``recorder stop`` or an applied change from
    opening it for writing. One per thread."""

    def _read(self, name: str, args: dict[str, Any]):
        try:
            return super()._read(name, args)
        finally:
            self.close()
