"""Exporting one session: the unit of work of an export, run in-process or in a worker.

:func:`export_session` streams a session's events page by page through redaction,
the events table, the step builder and the episode splitter, scans and writes
each batch into the session's own work directory, and returns what the dataset
card needs to know (:class:`~exporters.jobs.SessionOutput`). It holds at most one
page of events and the steps of the episodes not yet written, so memory does not
grow with the session. :mod:`exporters.pipeline` runs one job per session, on several cores
when there are several sessions, and assembles their files.
"""

from __future__ import annotations

import gc
import hashlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from exporters.episodes import EpisodeSplitter
from exporters.jobs import SessionJob, SessionOutput
from exporters.redaction import STEP_COPIES, ExportRedaction, build_export_redactor
from exporters.sink import make_sink
from exporters.source import as_of_end
from exporters.stepbuffer import StepBuffer
from exporters.steps import StepBuilder
from exporters.tables import episode_row, episodes_table, events_table, steps_table

STEP_BATCH_ROWS = 10_000  # steps are written in batches of about this many rows


def export_session(job: SessionJob, reader, redactor, progress: Callable[[int], None]):
    """Export ``job.session`` reading with ``reader`` and redacting with the engine
    ``redactor``; ``progress(n)`` after each page of ``n`` events."""
    # Steps hold no reference cycles, so reference counting frees them; the cyclic
    # collector would only walk the many live steps again and again (a third of the time).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _export_session(job, reader, redactor, progress)
    finally:
        if enabled:
            gc.enable()


def _export_session(job: SessionJob, reader, redactor, progress: Callable[[int], None]):
    session = job.session
    researcher = session.researcher
    out = SessionOutput(job.ordinal)
    sink = make_sink(job.file_format, Path(job.work_dir), job.export_id)
    redaction = ExportRedaction(redactor)
    steps = StepBuffer(session.session_id)
    episodes: list[dict] = []

    def emit(name: str, table, skip=(), rows=None, distinct=None) -> None:
        redaction.scan(name, table, skip=skip, rows=rows, distinct=distinct)
        sink.write(name, table)
        out.counts[name] += table.num_rows

    def on_episode(episode) -> None:
        episodes.append(episode_row(episode, steps))
        _count_episode(out.labels, episodes[-1])

    def emit_steps() -> None:
        """Write the steps of the episodes closed so far."""
        closed = splitter.current.start
        distinct: dict = {}
        table = steps_table(steps, closed, researcher, distinct)
        emit("steps", table, skip=STEP_COPIES, distinct=distinct)
        steps.release(closed)

    splitter = EpisodeSplitter(
        session.session_id, steps, on_episode, job.idle_gap_minutes, job.max_steps
    )
    builder = StepBuilder(steps, splitter, output_chars=job.output_chars)
    for page in reader.event_pages(session.session_id, job.page_rows):
        page = as_of_end(page, session.ended_at)
        redacted = redaction.redact_events(page)
        table = events_table(redacted, researcher, job.output_cap)
        emit("events", table, rows=redaction.changed_rows(page, table))
        _note_events(out, table)
        builder.feed(redacted)
        if splitter.current.start - steps.base >= STEP_BATCH_ROWS:
            emit_steps()
        progress(page.num_rows)
    splitter.finish(session_ended=session.ended_at is not None)
    if splitter.current.start > steps.base:
        emit_steps()
    if episodes:
        emit("episodes", episodes_table(episodes, researcher))
    sink.close()
    out.digest = _digest(Path(job.work_dir))
    out.events = builder.events
    out.episodes = splitter.count
    summary = redaction.summary
    out.findings_by_rule = summary.findings_by_rule
    out.findings_by_category = summary.findings_by_category
    out.rows_with_findings = summary.rows_with_findings
    out.values_scanned = summary.values_scanned
    return out


def run_job(job: SessionJob, progress: Callable[[int], None]) -> SessionOutput:
    """A worker process's entry point: its own log reader and redaction engine."""
    from recorder.config import load_config
    from recorder.eventlog import open_log
    from recorder.paths import Layout

    lay = Layout(Path(job.home))
    redactor = build_export_redactor(lay, load_config(lay))
    with open_log(lay) as reader:
        return export_session(job, reader, redactor, progress)


def _digest(work_dir: Path) -> str:
    """A digest of the files a session's export wrote: what its export id depends on."""
    digest = hashlib.sha256()
    for path in sorted(work_dir.rglob("part-*")) if work_dir.exists() else []:
        digest.update(str(path.relative_to(work_dir)).encode() + b"\0")
        with path.open("rb") as fh:
            digest.update(hashlib.file_digest(fh, "sha256").digest())
    return digest.hexdigest()


# -- bookkeeping for the card -----------------------------------------------------------


def _note_events(out: SessionOutput, table) -> None:
    import pyarrow.compute as pc

    kinds = pc.binary_join_element_wise(
        table.column("source"), table.column("event_type"), "/"
    ).value_counts()
    for item in kinds.to_pylist():
        out.kinds[item["values"]] += item["counts"]
    bounds = pc.min_max(table.column("ts_start")).as_py()
    low, high = bounds["min"], bounds["max"]
    if low is not None:
        out.time_min = low if out.time_min is None else min(out.time_min, low)
        out.time_max = high if out.time_max is None else max(out.time_max, high)


def _count_episode(labels: Counter, row: dict) -> None:
    labels["failures"] += row["num_failures"]
    labels["recoveries"] += row["num_recoveries"]
    labels["retries"] += row["num_retries"]
    labels["loop_steps"] += row["num_loop_steps"]
    labels["episodes_with_task"] += row["task"] is not None
    key = {True: "successful_episodes", False: "failed_episodes", None: "unknown_episodes"}
    labels[key[row["success"]]] += 1
