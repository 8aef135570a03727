"""The review's queued changes: what the reviewer asked for and has not applied yet.

The TUI adds a change (``recorder.review.changes``: a drop, a redaction, a task's text) to
a :class:`ChangeQueue` per key press, ``u`` takes the last one back, and applying hands
the whole list, in order, to ``recorder.review.changes.apply_changes``. Until then nothing
in the log has changed; the view only marks what is queued. :func:`describe` says in one
line what a change does without quoting a redacted text (a literal shows as its length).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recorder.review.changes import Approve, DropEvents, RedactText, SetTask


@dataclass
class ChangeQueue:
    changes: list[Any] = field(default_factory=list)

    def add(self, change) -> None:
        self.changes.append(change)

    def undo(self):
        """Take back the last change queued; None if there is none."""
        return self.changes.pop() if self.changes else None

    def clear(self) -> None:
        self.changes.clear()

    def __len__(self) -> int:
        return len(self.changes)

    def dropped_events(self) -> set[str]:
        return {i for c in self.changes if isinstance(c, DropEvents) for i in c.event_ids}

    def dropped_episodes(self) -> set[int]:
        return {
            c.episode for c in self.changes if isinstance(c, DropEvents) and c.episode is not None
        }

    def redactions(self) -> list:
        return [c for c in self.changes if isinstance(c, RedactText)]

    def task_texts(self) -> dict[int, str]:
        """The episodes whose task text is queued to change, with the new text."""
        return {c.episode: c.text for c in self.changes if isinstance(c, SetTask)}


def describe(change) -> str:
    """One line for the summary panel: what ``change`` does (never the text it hides)."""
    if isinstance(change, DropEvents):
        if change.episode is not None:
            return f"drop episode {change.episode}"
        count = len(change.event_ids)
        return f"drop {count} event{'s' * (count != 1)}"
    if isinstance(change, RedactText):
        what = (
            f"a literal of {len(change.literal)} characters"
            if change.literal is not None
            else f"a regex of {len(change.regex or '')} characters"
        )
        where = "in every session" if change.all_sessions else "in this session"
        return f"redact {what} {where}"
    if isinstance(change, SetTask):
        return f"set episode {change.episode}'s task ({len(change.text)} characters)"
    if isinstance(change, Approve):
        return "approve"
    return type(change).__name__
