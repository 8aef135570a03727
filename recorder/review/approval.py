"""Approvals: a researcher's sign-off on exactly the rows an export writes for a session.

``content_hash`` runs the export's own code for one session (``exporters.session``,
with config.toml's settings, into memory) and returns the digest of every row it would
write (``exporters.rowdigest``). An approval keeps who (the researcher id), when, the
rule-set version and that hash. The session's review state is then

    recording      it has not ended: it cannot be approved yet
    unreviewed     nobody approved it
    approved       the latest approval still holds
    needs review   since then a change (drop, redaction, forget, task text) touched it,
                   or the rule set changed and with it the rows

``review_state`` is cheap: it reads the approval and the audit, and recomputes the hash
only when the rule set differs from the approval's (given ``lay``). The export does not
trust it: it recomputes every hash right before writing (``export_gate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from recorder.errors import SessionError, UnknownSession
from recorder.review.audit import voids

if TYPE_CHECKING:
    from recorder.eventlog import LogReader
    from recorder.paths import Layout

REVIEW_STATES = ("recording", "unreviewed", "approved", "needs review")


@dataclass(frozen=True, slots=True)
class Approval:
    session_id: str
    researcher_id: str | None
    approved_at: object  # naive UTC datetime
    ruleset_version: str
    content_hash: str

    def as_dict(self) -> dict:
        at = self.approved_at
        return {
            "session_id": self.session_id,
            "researcher_id": self.researcher_id,
            "approved_at": at.isoformat() + "Z" if hasattr(at, "isoformat") else str(at),
            "ruleset_version": self.ruleset_version,
            "content_hash": self.content_hash,
        }


def latest_approval(reader: LogReader, session_id: str) -> Approval | None:
    rows = reader.approvals(session_id)
    return Approval(**rows[-1]) if rows else None


def session_row(reader: LogReader, session_id: str) -> dict:
    for row in reader.sessions():
        if row["session_id"] == session_id:
            return row
    raise UnknownSession(f"no session {session_id!r}; `recorder sessions` lists them")


def review_state(reader: LogReader, session_id: str, lay: Layout | None = None) -> str:
    """One of ``REVIEW_STATES``. With ``lay``, a rule set changed since the approval is
    checked against the rows (the hash recomputed); without, it means "needs review"."""
    return _state(reader, session_row(reader, session_id), lay, {})


def review_states(reader: LogReader, lay: Layout | None = None) -> dict[str, str]:
    """Every session's state, by id (one read of the sessions, approvals and audit)."""
    approvals: dict[str, list[dict]] = {}
    for row in reader.approvals():
        approvals.setdefault(row["session_id"], []).append(row)
    audit: dict[str, list[dict]] = {}
    for row in reader.audit():
        audit.setdefault(row["session_id"], []).append(row)
    cache = {"approvals": approvals, "audit": audit}
    return {row["session_id"]: _state(reader, row, lay, cache) for row in reader.sessions()}


def _state(reader, row: dict, lay, cache: dict) -> str:
    sid = row["session_id"]
    if row["ended_at"] is None:
        return "recording"
    if "approvals" in cache:
        found = cache["approvals"].get(sid, [])
        approval = Approval(**found[-1]) if found else None
        audit = cache["audit"].get(sid, [])
    else:
        approval = latest_approval(reader, sid)
        audit = reader.audit(sid) if approval is not None else []
    if approval is None:
        return "unreviewed"
    if any(voids(a, approval.approved_at) for a in audit):
        return "needs review"
    if lay is None:
        return "approved"
    redactor = cache.get("redactor") or cache.setdefault("redactor", _export_redactor(lay))
    if redactor.ruleset_version == approval.ruleset_version:
        return "approved"
    current = _hash(lay, reader, row, redactor)
    return "approved" if current == approval.content_hash else "needs review"


def content_hash(lay: Layout, session_id: str) -> str:
    """Hex SHA-256 of exactly the rows ``recorder export`` writes for the session."""
    from recorder.eventlog import open_log

    with open_log(lay) as reader:
        return session_hash(lay, reader, session_id)


def session_hash(lay: Layout, reader: LogReader, session_id: str, redactor=None) -> str:
    """``content_hash`` over a given reader (the writer's own, inside its transaction)."""
    return _hash(lay, reader, session_row(reader, session_id), redactor)


def _hash(lay, reader, row: dict, redactor=None) -> str:
    from exporters.session import export_rows

    config = _config(lay)
    redactor = redactor or _export_redactor(lay)
    return export_rows(lay, config, session_info(row, config), reader, redactor).content_hash


def session_info(row: dict, config):
    """The exporter's view of a session row (``exporters.source.SessionInfo``)."""
    from exporters.source import SessionInfo

    return SessionInfo(
        session_id=row["session_id"],
        name=row["name"],
        researcher=row["researcher_id"] or config.researcher_id,
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        utc_offset_min=row["utc_offset_min"],
        events=int(row["events"]),
        max_seq=int(row["max_seq"]),
    )


def _config(lay):
    from recorder.config import load_config

    return load_config(lay)


def _export_redactor(lay):
    from exporters.redaction import build_export_redactor

    return build_export_redactor(lay, _config(lay))


def approvable(row: dict) -> None:
    """SessionError unless the session has ended."""
    if row["ended_at"] is None:
        raise SessionError(
            f"session {row['session_id']} is still recording: stop it (`recorder stop`) "
            "before approving it"
        )


# -- the export's gate ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GateDecision:
    """Whether a session may be exported, and the approval it is checked against."""

    session_id: str
    approval: Approval | None
    reason: str  # why it is skipped ("" when it is exported)


def gate(reader: LogReader, session_ids: list[str], include_unapproved: bool):
    """Each session's decision: approved ones pass (their hash is checked as the export
    writes them); others are skipped with their state as the reason, unless
    ``include_unapproved``."""
    states = review_states(reader)
    out = []
    for sid in session_ids:
        state = states.get(sid, "unreviewed")
        approval = latest_approval(reader, sid) if state == "approved" else None
        reason = "" if state == "approved" or include_unapproved else state
        out.append(GateDecision(sid, approval, reason))
    return out
