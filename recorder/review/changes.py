"""The changes a reviewer makes to recorded data, and ``apply_changes``.

A change is a frozen record (:data:`Change`); the TUI queues them (so they can be
undone) and the CLI makes one at a time. ``apply_changes`` hands a list to the
event log's single writer: over the daemon's socket (``op: apply``, each change as a
named write operation of ``recorder.review.edits.WRITE_OPS`` with its fields, never
SQL) while a daemon runs, else in this process holding ``writer.lock``. Either way
the spool is ingested first (so the change also covers what was recorded until now),
the whole list is applied in one transaction, and the file is then compacted so that
nothing removed survives in its bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from recorder.errors import DaemonUnavailable
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

__all__ = [
    "Approve", "Change", "ChangeResult", "DropEvents", "Forget", "MarkExported", "Prune",
    "RedactText", "SetTask",
    "apply_changes",
]  # fmt: skip

if TYPE_CHECKING:
    from recorder.paths import Layout


def apply_changes(lay: Layout, changes: Sequence[Change]) -> list[ChangeResult]:
    """Apply ``changes`` in order, in one transaction, through the writer (see the module
    docstring). Raises RecorderError subclasses: SessionError when a recording session
    is approved, UnknownSession, RuleError, UsageError, DaemonError."""
    from recorder import client
    from recorder.review.edits import check_changes, decode_results, encode_change

    changes = list(changes)
    check_changes(changes)
    if not changes:
        return []
    if client.daemon_pid(lay) is not None:
        try:
            reply = client.call(
                lay, "apply", timeout=900.0, changes=[encode_change(c) for c in changes]
            )
            return decode_results(changes, reply["results"])
        except DaemonUnavailable:
            pass  # it stopped meanwhile: become the writer
    return _apply_as_writer(lay, changes)


def _apply_as_writer(lay: Layout, changes: list[Change]) -> list[ChangeResult]:
    from recorder.config import load_config
    from recorder.recording import drain_into
    from recorder.review.edits import apply_in_store
    from recorder.store import writing

    with writing(lay) as store:
        config = load_config(lay)
        drain_into(store, lay, config)  # changes apply to everything recorded so far
        results, _rules_changed = apply_in_store(store, lay, config, changes)
        return results
