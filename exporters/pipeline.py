"""One export from start to end: select sessions, stream their events through redaction,
the step builder and the episode splitter, write the three tables, the card and
meta/info.json, and move the finished dataset into place.

The dataset is written into a hidden staging directory beside ``--out`` and renamed
into place only once complete, so a failed export (a leak found, a full disk)
leaves nothing behind. The export id, which names the files, is a digest of what
was exported and how: exporting the same sessions again gives the same ids,
rows and file names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from exporters import card as card_mod
from exporters.episodes import DEFAULT_MAX_STEPS, EpisodeSplitter
from exporters.redaction import ExportRedaction, build_export_redactor
from exporters.source import (
    PAGE_ROWS,
    ExportError,
    SessionFilter,
    SessionInfo,
    iter_event_pages,
    select_sessions,
)
from exporters.steps import StepBuilder
from exporters.tables import episode_row, episodes_table, events_table, steps_table, utc_date
from schemas.arrow import EXPORT_TABLES

FORMATS = ("parquet", "jsonl")
STEP_BATCH_ROWS = 20_000


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


Progress = Callable[[int, int], None]  # (events done, events in total)


def export(lay, options: ExportOptions, reader=None, progress: Progress | None = None):
    """Run an export; ``reader`` defaults to ``recorder.client.reader(lay)``."""
    from recorder import client
    from recorder.config import load_config

    if options.file_format not in FORMATS:
        raise ExportError(f"unknown format {options.file_format!r}: use parquet or jsonl")
    config = load_config(lay)
    redaction = ExportRedaction(build_export_redactor(lay, config))
    if reader is not None:
        return _Export(lay, config, options, redaction, reader, progress).run()
    with client.reader(lay) as log_reader:
        return _Export(lay, config, options, redaction, log_reader, progress).run()


class _Export:
    def __init__(self, lay, config, options: ExportOptions, redaction, reader, progress):
        self.lay = lay
        self.config = config
        self.options = options
        self.redaction = redaction
        self.reader = reader
        self.progress = progress or (lambda done, total: None)
        gap = options.idle_gap_minutes
        self.idle_gap = float(config.get("episodes.idle_gap_minutes") if gap is None else gap)
        self.counts: Counter = Counter()
        self.kinds: Counter = Counter()
        self.labels: Counter = Counter()
        self.session_rows: list[dict] = []
        self.time_range: list[dt.datetime] = []

    # -- the whole export -----------------------------------------------------------------

    def run(self) -> ExportResult:
        started = time.monotonic()
        sessions = select_sessions(
            self.reader, self.options.sessions, self.options.since,
            default_researcher=self.config.researcher_id, filters=self.options.filters,
        )  # fmt: skip
        if not sessions:
            raise ExportError("no recorded session matches; `recorder sessions` lists them")
        out = self.options.out
        _check_target(out, self.options.overwrite)
        export_id = self._export_id(sessions)
        staging = out.parent / f".{out.name}.partial-{export_id}"
        try:
            if staging.exists():
                shutil.rmtree(staging)
            staging.mkdir(parents=True)
        except OSError as exc:
            raise ExportError(f"cannot write to {out.parent}: {exc.strerror or exc}") from None
        try:
            files = self._write(staging, export_id, sessions)
            _move_into_place(staging, out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return ExportResult(
            out=out, export_id=export_id, sessions=len(sessions), counts=dict(self.counts),
            files=files, redaction=self.redaction.summary.as_dict(), labels=dict(self.labels),
            seconds=time.monotonic() - started,
        )  # fmt: skip

    def _write(self, root: Path, export_id: str, sessions: list[SessionInfo]) -> dict:
        sink = _sink(self.options.file_format, root, export_id)
        total = sum(s.events for s in sessions)
        done = 0
        self.progress(0, total)
        for session in sessions:
            for events in self._session(sink, session):
                done += events
                self.progress(done, total)
        self._write_empty_tables(sink, sessions)
        stats = sink.close()
        files = {n: {"files": s.files, "bytes": s.bytes} for n, s in stats.items()}
        card_mod.write(root, self._facts(export_id, sessions, files))
        return files

    # -- one session ----------------------------------------------------------------------

    def _session(self, sink, session: SessionInfo):
        """Export one session; yields the number of events done after each page."""
        researcher = session.researcher
        steps: list = []
        episodes: list[dict] = []

        def on_episode(episode) -> None:
            steps.extend(episode.steps)
            episodes.append(episode_row(episode))
            self._count_episode(episodes[-1])

        splitter = EpisodeSplitter(
            session.session_id, on_episode, self.idle_gap, self.options.max_steps
        )
        builder = StepBuilder(session.session_id, splitter)
        for page in iter_event_pages(self.reader, session.session_id, self.options.page_rows):
            redacted = self.redaction.redact_events(page)
            table = events_table(redacted, researcher, self.config.output_cap)
            self._emit(sink, "events", table)
            self._note_events(table)
            builder.feed(redacted)
            if len(steps) >= STEP_BATCH_ROWS:
                self._emit(sink, "steps", steps_table(steps, researcher))
                steps.clear()
            yield page.num_rows
        splitter.finish(session_ended=session.ended_at is not None)
        if steps:
            self._emit(sink, "steps", steps_table(steps, researcher))
        if episodes:
            self._emit(sink, "episodes", episodes_table(episodes, researcher))
        self.session_rows.append(self._session_row(session, builder.events, splitter.count))

    def _emit(self, sink, name: str, table) -> None:
        self.redaction.scan(name, table)
        sink.write(name, table)
        self.counts[name] += table.num_rows

    # -- bookkeeping for the card -----------------------------------------------------

    def _note_events(self, table) -> None:
        import pyarrow.compute as pc

        kinds = pc.binary_join_element_wise(
            table.column("source"), table.column("event_type"), "/"
        ).value_counts()
        for item in kinds.to_pylist():
            self.kinds[item["values"]] += item["counts"]
        bounds = pc.min_max(table.column("ts_start")).as_py()
        self.time_range.extend(v for v in bounds.values() if v is not None)

    def _count_episode(self, row: dict) -> None:
        labels = self.labels
        labels["failures"] += row["num_failures"]
        labels["recoveries"] += row["num_recoveries"]
        labels["retries"] += row["num_retries"]
        labels["loop_steps"] += row["num_loop_steps"]
        labels["episodes_with_task"] += row["task"] is not None
        success = row["success"]
        key = {True: "successful_episodes", False: "failed_episodes", None: "unknown_episodes"}
        labels[key[success]] += 1

    def _session_row(self, s: SessionInfo, events: int, episodes: int) -> dict:
        return {
            "session_id": s.session_id,
            "name": self.redaction.redact_text(s.name),
            "researcher": s.researcher,
            "started_at": _iso(s.started_at),
            "ended_at": _iso(s.ended_at),
            "utc_offset_min": s.utc_offset_min,
            "events": events,
            "episodes": episodes,
        }

    def _write_empty_tables(self, sink, sessions: list[SessionInfo]) -> None:
        first = sessions[0]
        date = utc_date(int(first.started_at.replace(tzinfo=dt.UTC).timestamp() * 1_000_000))
        for name in EXPORT_TABLES:
            if not self.counts[name]:
                sink.write_empty(name, {"researcher": first.researcher, "date": date})

    def _facts(self, export_id: str, sessions, files) -> card_mod.CardFacts:
        from recorder import __version__

        names = [row["name"] for row in self.session_rows if row["name"]]
        if names:  # session names are text written to the dataset: scan them too
            import pyarrow as pa

            self.redaction.scan("meta.sessions", pa.table({"name": names}))
        return card_mod.CardFacts(
            export_id=export_id,
            file_format=self.options.file_format,
            recorder_version=__version__,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            researchers=sorted({s.researcher for s in sessions}),
            sessions=self.session_rows,
            counts={name: self.counts[name] for name in EXPORT_TABLES},
            events_by_kind=dict(self.kinds),
            files=files,
            time_range={
                "start": _iso(min(self.time_range)) if self.time_range else None,
                "end": _iso(max(self.time_range)) if self.time_range else None,
            },
            redaction=self.redaction.summary.as_dict(),
            labels=dict(self.labels),
            settings=self._settings(),
        )

    def _settings(self) -> dict:
        from exporters.steps import ATTRIBUTION_SLACK_US, OUTPUT_TAIL_CHARS, TERMINAL_CHARS

        return {
            "idle_gap_minutes": self.idle_gap,
            "max_steps_per_episode": self.options.max_steps,
            "output_cap_chars": self.config.output_cap,
            "terminal_chars": TERMINAL_CHARS,
            "output_tail_chars": OUTPUT_TAIL_CHARS,
            "attribution_slack_ms": ATTRIBUTION_SLACK_US // 1000,
        }

    def _export_id(self, sessions: list[SessionInfo]) -> str:
        from recorder import __version__

        facts = {
            "format": card_mod.FORMAT_VERSION,
            "recorder": __version__,
            "file_format": self.options.file_format,
            "ruleset": self.redaction.summary.ruleset_version,
            "settings": self._settings(),
            "sessions": [[s.session_id, s.events, s.max_seq, _iso(s.ended_at)] for s in sessions],
        }
        text = json.dumps(facts, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _sink(file_format: str, root: Path, export_id: str):
    if file_format == "jsonl":
        from exporters.jsonl import JsonlSink

        return JsonlSink(root, export_id)
    from exporters.parquet import ParquetSink

    return ParquetSink(root, export_id)


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC).isoformat()


def is_dataset(path: Path) -> bool:
    """True if ``path`` holds an export of this recorder (meta/info.json with a format)."""
    try:
        meta = json.loads((path / "meta" / "info.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "format_version" in meta and "export_id" in meta


def _check_target(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a directory")
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise ExportError(f"{out} is not empty; choose a new directory or pass --overwrite")
    if not is_dataset(out):
        raise ExportError(f"{out} is not empty and not a recorder export; not overwriting it")


def _move_into_place(staging: Path, out: Path) -> None:
    if out.exists():
        if any(out.iterdir()):
            shutil.rmtree(out)
        else:
            out.rmdir()
    staging.rename(out)
