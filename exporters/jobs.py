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


@dataclass(frozen=True)
class ChatOptions:
    """How episodes become conversations (``--format chat`` and ``atif``): exporters.chat."""

    min_steps: int = 1  # conversations of fewer tool calls are left out
    success_only: bool = False  # only episodes whose success label is true
    drop_failed_tail: bool = False  # cut the steps after the last successful command
    max_output_chars: int | None = None  # tool results' output cut further (head and tail)
    include_reasoning: bool = False  # notes before a call become the assistant's content


@dataclass
class ExportOptions:
    out: Path
    sessions: Sequence[str] = ()
    since: dt.datetime | None = None  # naive UTC
    file_format: str = "parquet"  # parquet or jsonl; atif for --format atif
    dataset: str = "tables"  # tables, chat or atif (schemas.arrow.DATASET_TABLES)
    chat: ChatOptions = field(default_factory=ChatOptions)
    idle_gap_minutes: float | None = None  # None: episodes.idle_gap_minutes from config
    max_steps: int = DEFAULT_MAX_STEPS
    overwrite: bool = False
    page_rows: int = PAGE_ROWS
    workers: int | None = None  # None: one per core for large exports, else in-process
    # Narrow the selection further.
    filters: Sequence[SessionFilter] = ()
    # Export sessions nobody approved (``recorder approve``) too; by default they are skipped.
    include_unapproved: bool = False
    # Export only the episodes of these task kinds (exporters.taskkinds); () exports all.
    task_kinds: Sequence[str] = ()


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
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (session id, why)
    approvals: list[dict] = field(default_factory=list)


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
    dataset: str = "tables"
    chat: ChatOptions = ChatOptions()
    approval_hash: str | None = None  # the session's approval (the chat and ATIF rows name it)
    task_kinds: tuple[str, ...] = ()  # only the episodes of these kinds (--task-kind)


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
    content_hash: str = ""  # of the rows written (exporters.rowdigest): what approvals bind
    # Of every episode (written or not): id, ts_start, ts_end, task_kinds.
    episode_rows: list[dict] = field(default_factory=list)
    fix_times: dict[str, list[float]] = field(default_factory=dict)  # kind -> time_to_fix_s
