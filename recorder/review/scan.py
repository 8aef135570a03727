"""One pass over a review snapshot: its episodes as the export numbers them, and its findings.

The review shows a session's first screen before this pass ends (it runs in a worker):
:func:`scan_session` reads the snapshot in large pages, redacts each as the export does
(:class:`~recorder.review.view.ExportView`), and feeds it to the export's own step builder
and episode splitter (``exporters.steps``, ``exporters.episodes``, with the export's
settings), so episodes are numbered and split exactly as the export will. It keeps only
what the review needs, never the rows: each episode's task and bounds, the positions of the
rows with findings, and counts by source and by rule.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

SCAN_ROWS = 5000  # rows per page of the pass


@dataclass(frozen=True, slots=True)
class EpisodeInfo:
    index: int  # episode_index, as the export numbers it (from 0)
    task: str | None  # redacted, as exported
    marked: bool  # the task comes from a task mark
    start: int  # the position of its first event in the snapshot
    num_steps: int
    end_reason: str | None
    kinds: tuple[str, ...] = ()  # its task kinds, as the export labels them


@dataclass
class SessionIndex:
    """What the pass found: episodes (by start position), findings, counts."""

    episodes: list[EpisodeInfo] = field(default_factory=list)
    finding_rows: list[int] = field(default_factory=list)  # positions, in order
    by_source: Counter = field(default_factory=Counter)
    by_rule: Counter = field(default_factory=Counter)
    rows: int = 0

    def episode_at(self, position: int) -> EpisodeInfo | None:
        """The episode that the event at ``position`` belongs to."""
        import bisect

        starts = [e.start for e in self.episodes]
        k = bisect.bisect_right(starts, position) - 1
        return self.episodes[k] if k >= 0 else None


def scan_session(view, idle_gap_minutes: float, max_steps: int, output_chars: int,
                 progress: Callable[[int], None] | None = None) -> SessionIndex:  # fmt: skip
    """The pass over ``view`` (an ExportView); ``progress(rows so far)`` after each page."""
    import pyarrow.compute as pc

    from exporters.episodes import EpisodeSplitter
    from exporters.stepbuffer import StepBuffer
    from exporters.steps import StepBuilder

    snap = view.snapshot
    index = SessionIndex()
    last_ts: list[int] = []  # of each closed episode's last step

    def on_episode(episode) -> None:
        records = steps.records[episode.start - steps.base : episode.stop - steps.base]
        last_ts.append(records[-1].ts)
        start = snap.first_after(last_ts[-2]) if len(last_ts) > 1 else 0
        index.episodes.append(
            EpisodeInfo(
                episode.index,
                episode.task,
                episode.marked,
                start,
                episode.num_steps,
                episode.end_reason,
                tuple(episode.kinds.kinds) if episode.kinds is not None else (),
            )
        )

    steps = StepBuffer(snap.session_id)
    overrides = {  # task texts set at review, redacted again as the export does
        k: view.redaction.redact_text(text)
        for k, text in view.log.task_overrides(snap.session_id).items()
    }
    splitter = EpisodeSplitter(
        snap.session_id, steps, on_episode, idle_gap_minutes, max_steps, overrides
    )
    builder = StepBuilder(steps, splitter, output_chars=output_chars)
    for lo in range(0, len(snap), SCAN_ROWS):
        table = view.exported_table(lo, min(lo + SCAN_ROWS, len(snap)))
        builder.feed(table)
        steps.release(splitter.current.start)
        for item in pc.value_counts(table.column("source")).to_pylist():
            index.by_source[item["values"]] += item["counts"]
        _note_findings(index, table.column("redactions").to_pylist(), lo)
        index.rows = lo + table.num_rows
        if progress is not None:
            progress(index.rows)
    splitter.finish(session_ended=not snap.live)
    return index


def _note_findings(index: SessionIndex, redactions: list, first: int) -> None:
    for i, value in enumerate(redactions):
        if not value or value == "{}":
            continue
        found = json.loads(value)
        if not any(found.values()):
            continue
        index.finding_rows.append(first + i)
        for items in found.values():
            for item in items:
                index.by_rule[item.get("rule", "?")] += 1
