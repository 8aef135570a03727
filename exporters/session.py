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
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from exporters.attribution import SLACK_US
from exporters.episodes import EpisodeSplitter
from exporters.jobs import SessionJob, SessionOutput
from exporters.redaction import STEP_COPIES, ExportRedaction, build_export_redactor
from exporters.rowdigest import RowDigest
from exporters.sink import KeptTables, make_sink
from exporters.source import as_of_end
from exporters.stepbuffer import StepBuffer
from exporters.steps import StepBuilder
from exporters.tables import episode_row, episodes_table, events_table, steps_table
from schemas.arrow import DATASET_TABLES

STEP_BATCH_ROWS = 10_000  # steps are written in batches of about this many rows


def export_session(job: SessionJob, reader, redactor, progress: Callable[[int], None],
                   keep: KeptTables | None = None):  # fmt: skip
    """Export ``job.session`` reading with ``reader`` and redacting with the engine
    ``redactor``; ``progress(n)`` after each page of ``n`` events. With ``keep`` (and
    ``job.file_format == "none"``), the rows go to it instead of files: the review step
    hashes and inspects a session's export this way (``recorder.review.approval``)."""
    # Steps hold no reference cycles, so reference counting frees them; the cyclic
    # collector would only walk the many live steps again and again (a third of the time).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _export_session(job, reader, redactor, progress, keep)
    finally:
        if enabled:
            gc.enable()


def _export_session(job: SessionJob, reader, redactor, progress: Callable[[int], None], keep):
    if job.task_kinds:
        return _export_kinds(job, reader, redactor, progress)
    return _export_pass(job, reader, redactor, progress, keep)


def _export_kinds(job: SessionJob, reader, redactor, progress: Callable[[int], None]):
    """``--task-kind``: only the episodes of those kinds, with their steps and the events
    of their time spans. A first pass, which writes nothing, finds them (and the content
    hash of the whole session, which is what an approval binds); the second writes them."""
    full = _export_pass(replace(job, file_format="none", task_kinds=()), reader, redactor,
                        lambda _n: None, None)  # fmt: skip
    wanted = set(job.task_kinds)
    kept = [row for row in full.episode_rows if wanted & set(row["task_kinds"])]
    selection = _Selection(
        {row["episode_id"] for row in kept},
        [(row["ts_start"], row["ts_end"] + SLACK_US) for row in kept],
    )
    out = _export_pass(job, reader, redactor, progress, None, selection)
    out.content_hash = full.content_hash
    return out


class _Selection:
    """The episodes a ``--task-kind`` export keeps, and the time spans of their events
    (from an episode's first action to its end, and the attribution slack after it)."""

    def __init__(self, episode_ids: set[str], spans: list[tuple[int, int]]):
        self.episode_ids = episode_ids
        merged: list[list[int]] = []
        for low, high in sorted(spans):
            if merged and low <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], high)
            else:
                merged.append([low, high])
        self.lows = [low for low, _ in merged]
        self.highs = [high for _, high in merged]

    def event_mask(self, table):
        import numpy as np
        import pyarrow as pa

        ts = table.column("ts_start").cast(pa.timestamp("us")).cast(pa.int64()).to_numpy()
        if not self.lows:
            return pa.array(np.zeros(len(ts), dtype=bool))
        at = np.searchsorted(np.array(self.lows), ts, side="right") - 1
        inside = (at >= 0) & (ts <= np.array(self.highs)[np.maximum(at, 0)])
        return pa.array(inside)

    def step_mask(self, table):
        import pyarrow as pa
        import pyarrow.compute as pc

        return pc.is_in(table.column("episode_id"), pa.array(sorted(self.episode_ids)))


def _export_pass(job: SessionJob, reader, redactor, progress: Callable[[int], None], keep,
                 selection: _Selection | None = None):  # fmt: skip
    session = job.session
    researcher = session.researcher
    out = SessionOutput(job.ordinal)
    if job.file_format == "none":
        sink = keep if keep is not None else KeptTables(())
    else:
        sink = make_sink(job.file_format, Path(job.work_dir), job.export_id)
    redaction = ExportRedaction(redactor)
    steps = StepBuffer(session.session_id)
    episodes: list[dict] = []
    # The content hash covers the events, steps and episodes whatever the format: an
    # approval binds them, and the chat and ATIF documents are made from them.
    row_digest = RowDigest()
    written = DATASET_TABLES[job.dataset]  # the others are built (the card counts them)
    chat = _ChatOutput(job, researcher) if job.dataset != "tables" else None

    def emit(name: str, table, skip=(), rows=None, distinct=None) -> None:
        row_digest.add(name, table)
        if name in written:
            redaction.scan(name, table, skip=skip, rows=rows, distinct=distinct)
            sink.write(name, table)
        out.counts[name] += table.num_rows

    def on_episode(episode) -> None:
        row = episode_row(episode, steps)
        out.episode_rows.append(_brief(row))
        if chat is not None:
            chat.episodes[row["episode_id"]] = row
        if selection is None or row["episode_id"] in selection.episode_ids:
            episodes.append(row)
            _count_episode(out, row)

    def emit_steps() -> None:
        """Write the steps of the episodes closed so far (or their conversations)."""
        closed = splitter.current.start
        distinct: dict = {}
        every = steps_table(steps, closed, researcher, distinct)
        table = every if selection is None else every.filter(selection.step_mask(every))
        emit("steps", table, skip=STEP_COPIES, distinct=distinct)
        if chat is not None:  # made from every step (aligned with the buffer), then selected
            kept = None if selection is None else selection.episode_ids
            for name, made, scanned in chat.tables(every, steps, closed, kept):
                redaction.scan(name, scanned, distinct=chat.distinct())
                sink.write(name, made)
                out.counts[name] += made.num_rows
        steps.release(closed)

    splitter = EpisodeSplitter(
        session.session_id, steps, on_episode, job.idle_gap_minutes, job.max_steps,
        task_overrides=_task_overrides(reader, session.session_id, redaction),
    )  # fmt: skip
    builder = StepBuilder(steps, splitter, output_chars=job.output_chars)
    for page in reader.event_pages(session.session_id, job.page_rows):
        page = as_of_end(page, session.ended_at)
        redacted = redaction.redact_events(page)
        table = events_table(redacted, researcher, job.output_cap)
        changed = redaction.changed_rows(page, table)
        if selection is not None:
            mask = selection.event_mask(table)
            table, changed = table.filter(mask), {k: v.filter(mask) for k, v in changed.items()}
        emit("events", table, rows=changed)
        if table.num_rows:
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
    out.digest = _digest(Path(job.work_dir)) if job.work_dir else ""
    out.content_hash = row_digest.hexdigest()
    out.events = builder.events
    out.episodes = len(episodes)
    summary = redaction.summary
    out.findings_by_rule = summary.findings_by_rule
    out.findings_by_category = summary.findings_by_category
    out.rows_with_findings = summary.rows_with_findings
    out.values_scanned = summary.values_scanned
    return out


def export_rows(lay, config, session, reader, redactor, keep: KeptTables | None = None):
    """``session`` exported with the default options (config.toml's settings), into memory:
    nothing is written but to ``keep``. Its ``content_hash`` is what an export with those
    options writes for the session, which is what an approval binds."""
    from exporters.episodes import DEFAULT_MAX_STEPS
    from recorder.eventlog import PAGE_ROWS

    job = SessionJob(
        home=str(lay.home), session=session, ordinal=0, work_dir="", export_id="review",
        file_format="none", idle_gap_minutes=float(config.settings.episodes.idle_gap_minutes),
        max_steps=DEFAULT_MAX_STEPS, page_rows=PAGE_ROWS, output_cap=config.output_cap,
        output_chars=config.settings.export.output_chars,
    )  # fmt: skip
    return export_session(job, reader, redactor, lambda _n: None, keep)


def _task_overrides(reader, session_id: str, redaction: ExportRedaction) -> dict[int, str]:
    """Episodes' task texts set at review (``recorder task --episode``), redacted again."""
    found = reader.task_overrides(session_id)
    return {i: redaction.redact_text(text) for i, text in found.items()}


class _ChatOutput:
    """Conversations (``--format chat``) or ATIF trajectories (``--format atif``) of the
    episodes closed so far, from their steps table (exporters.chat, exporters.atif)."""

    def __init__(self, job: SessionJob, researcher: str):
        from recorder import __version__

        self.job = job
        self.researcher = researcher
        self.version = __version__
        self.episodes: dict[str, dict] = {}  # rows of the episodes not yet written, by id
        self.approval_hash = job.approval_hash
        self.arguments: list[str] = []

    def tables(self, table, steps: StepBuffer, closed: int, kept: set[str] | None = None):
        """(table name, table to write, table to scan) of the conversations of the steps in
        ``table`` (of the episodes in ``kept`` when given): an ATIF document holds the texts
        of its conversation, JSON-encoded, so the leak scan reads the conversation."""
        from exporters.chat import conversations_of_table
        from exporters.tables import conversations_table, trajectories_table

        n = closed - steps.base
        records = steps.records[:n]
        shells = steps.rows.take([s.ref for s in records], ["shell"])["shell"].to_pylist()
        notes = {k - steps.base: v for k, v in steps.notes.items() if k < closed}
        convs = conversations_of_table(
            table, [s.end for s in records], shells, notes, self.episodes, self.job.chat
        )
        for episode_id in dict.fromkeys(table.column("episode_id").to_pylist()):
            self.episodes.pop(episode_id, None)
        if kept is not None:
            convs = [c for c in convs if c.facts.episode_id in kept]
        if not convs:
            return []
        self.arguments = [value for c in convs for value in c.arguments]
        chats = conversations_table(convs, self.researcher, self.approval_hash)
        if self.job.dataset == "chat":
            return [("conversations", chats, chats)]
        trajectories = trajectories_table(convs, self.researcher, self.approval_hash, self.version)
        return [("trajectories", trajectories, chats)]

    def distinct(self) -> dict:
        """The leak scan reads the calls' argument values themselves, not their JSON text."""
        import pyarrow as pa

        values = pa.array(list(dict.fromkeys(self.arguments)), pa.string())
        return {"messages[].tool_calls[].function.arguments": values}


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


def _brief(row: dict) -> dict:
    """What a ``--task-kind`` selection needs of an episode row."""
    return {k: row[k] for k in ("episode_id", "ts_start", "ts_end", "task_kinds")}


def _count_episode(out: SessionOutput, row: dict) -> None:
    labels = out.labels
    for kind in row["task_kinds"]:
        labels[f"kind.{kind}"] += 1
        if row["time_to_fix_s"] is not None and kind in ("debug", "deploy_fix"):
            out.fix_times.setdefault(kind, []).append(row["time_to_fix_s"])
    labels["failures"] += row["num_failures"]
    labels["recoveries"] += row["num_recoveries"]
    labels["retries"] += row["num_retries"]
    labels["loop_steps"] += row["num_loop_steps"]
    labels["episodes_with_task"] += row["task"] is not None
    key = {True: "successful_episodes", False: "failed_episodes", None: "unknown_episodes"}
    labels[key[row["success"]]] += 1
