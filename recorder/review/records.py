"""The change records of the review step (defined once; ``changes.py`` gives them out with
``apply_changes``, and the writer's operations in ``edits.py`` take them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DropEvents:
    """Remove events: by id, those starting in ``[start_us, end_us)``, or one episode."""

    session_id: str
    event_ids: tuple[str, ...] = ()
    start_us: int | None = None  # µs since the epoch, UTC, on ts_start
    end_us: int | None = None
    episode: int | None = None  # episode_index as the export numbers it (from 0)


@dataclass(frozen=True, slots=True)
class RedactText:
    """Replace a literal or what an RE2 regex matches by a placeholder; with
    ``all_sessions`` in every session, and as a rule for future ingest and exports."""

    session_id: str | None  # None only with all_sessions=True
    literal: str | None = None
    regex: str | None = None
    all_sessions: bool = False


@dataclass(frozen=True, slots=True)
class Forget:
    """Delete for good: a whole session, or every event of the last ``last_s`` seconds
    (of one session when both are given)."""

    session_id: str | None = None
    last_s: float | None = None


@dataclass(frozen=True, slots=True)
class Prune:
    """Delete for good every session that ended before ``before_us`` (µs since the epoch,
    UTC; None: whenever), or with ``exported_only`` every such one that an export wrote as
    approved: ``recorder prune``, and ``record.retention_days``."""

    before_us: int | None
    exported_only: bool = False


@dataclass(frozen=True, slots=True)
class MarkExported:
    """Note that export ``export_id`` wrote these sessions' rows, of these content hashes."""

    export_id: str
    session_ids: tuple[str, ...]
    content_hashes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SetTask:
    """Set an episode's task text afterwards (the exporter applies it)."""

    session_id: str
    episode: int
    text: str


@dataclass(frozen=True, slots=True)
class Approve:
    session_id: str


Change = DropEvents | RedactText | Forget | Prune | MarkExported | SetTask | Approve


@dataclass(frozen=True, slots=True)
class ChangeResult:
    change: Change
    rows_changed: int  # events removed or rewritten (0 for Approve)
    detail: str  # one line for the user, never the secret itself
