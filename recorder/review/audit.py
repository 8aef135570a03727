"""The audit of the review step: one row per change, never the text it removed.

A row says when, which session (none for a rule over every session), the action
(``drop``, ``redact``, ``forget``, ``task``, ``approve``, ``rule``), its target (event
ids, a time window, an episode, ``literal``/``regex`` and its scope), the rule (a rule
name, or for a literal the keyed-hash id it is known by) and how many rows it changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Actions that change what an export of the session writes (and so void an approval).
CHANGING_ACTIONS = frozenset({"drop", "redact", "forget", "task"})


@dataclass(frozen=True, slots=True)
class AuditRow:
    session_id: str | None
    action: str
    target: str
    rule: str | None
    rows_affected: int


def record(con, row: AuditRow, at: dt.datetime) -> None:
    con.execute(
        "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?)",
        [at, row.session_id, row.action, row.target, row.rule, row.rows_affected],
    )


def voids(row: dict, approved_at: dt.datetime) -> bool:
    """Whether an audit row (as read back) changed the session after ``approved_at``."""
    return (
        row["action"] in CHANGING_ACTIONS and row["rows_affected"] > 0 and row["at"] > approved_at
    )
