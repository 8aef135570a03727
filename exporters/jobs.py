"""The records that cross between the parts of an export, data only: what an export is
asked to do (:class:`ExportOptions`) and did (:class:`ExportResult`), and one session's
job (:class:`SessionJob`, pickled to a worker) and what it reports back
(:class:`SessionOutput`, pickled back)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from exporters.episodes import DEFAULT_MAX_STEPS
from recorder.eventlog import PAGE_ROWS

if TYPE_CHECKING:
    from exporters.source import SessionFilter, SessionInfo


@dataclass
class ExportOptions:
    out: Path
    sessions: Sequence[str] = ()
    since: dt.datetime | None = None  # naive UTC
    file_format: str = "parquet"
    idle_gap_minutes: float | None = None  # None: episodes.idle_gap_minutes from config
    max_steps: int = DEFAULT_MAX_STEPS
    overwrite: bool = False
    page_rows: int = PAGE_ROWS
    workers: int | None = None  # None: one per core for large exports, else in-process
    # Narrow the selection further (where "only approved sessions" will plug in).
    filters: Sequence[SessionFilter] = ()


@dataclass
class ExportResult:
    out: Path
    export_id: str
    sessions: int
    counts: dict[str, int]
    files: dict[str, dict[str, int]]
    redaction: dict
    labels: dict
    seconds: float


@dataclass(frozen=True)
class SessionJob:
    """Everything a worker needs to export one session (picklable)."""

    home: str
    session: SessionInfo
    ordinal: int  # position of the session in the export: orders its files
    work_dir: str  # where this session's files go before assembly
    export_id: str
    file_format: str
    idle_gap_minutes: float
    max_steps: int
    page_rows: int
    output_cap: int
    output_chars: int  # export.output_chars: outcome.output's length


@dataclass
class SessionOutput:
    ordinal: int
    counts: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    labels: Counter = field(default_factory=Counter)
    time_min: dt.datetime | None = None
    time_max: dt.datetime | None = None
    events: int = 0
    episodes: int = 0
    findings_by_rule: Counter = field(default_factory=Counter)
    findings_by_category: Counter = field(default_factory=Counter)
    rows_with_findings: int = 0
    values_scanned: int = 0
    digest: str = ""  # of the files written (their names in the session and their bytes)
