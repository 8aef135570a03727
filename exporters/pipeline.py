"""One export from start to end: select sessions, export each (on several cores when there
are several), assemble their files, write the card and meta/info.json, and move the
finished dataset into place.

The dataset is written into a hidden staging directory beside ``--out`` and renamed
into place only once complete, so a failed export (a leak found, a full disk)
leaves nothing behind. Each session is exported into a work directory of its own
(:mod:`exporters.session`); assembling numbers the files of each partition in
session order, so the result does not depend on how many workers ran. The export
id, which names the files, is a digest of how the export was made (settings, rule
set, schemas, the sessions) and of the bytes of every file it wrote: the same
content always gets the same id, and different content a different one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from exporters import card as card_mod
from exporters.attribution import CTIME_SLACK_US, FOREGROUND_US, SLACK_US
from exporters.jobs import ExportOptions, ExportResult, SessionJob, SessionOutput
from exporters.redaction import ExportRedaction, build_export_redactor
from exporters.session import export_session
from exporters.sink import FORMATS, make_sink
from exporters.source import SessionInfo, select_sessions
from exporters.steps import TERMINAL_CHARS
from exporters.tables import utc_date
from exporters.workers import run_in_workers
from recorder.errors import ExportError
from schemas.arrow import DATASET_TABLES, EXPORT_TABLES, export_spec

# Sessions are exported in worker processes only when there is this much to do.
PARALLEL_MIN_EVENTS = 50_000


Progress = Callable[[int, int], None]  # (events done, events in total)


def export(lay, options: ExportOptions, reader=None, progress: Progress | None = None):
    """Run an export; ``reader`` defaults to ``recorder.eventlog.open_log(lay)``."""
    from recorder.config import load_config
    from recorder.eventlog import open_log

    if options.file_format not in FORMATS:
        raise ExportError(f"unknown format {options.file_format!r}: use parquet or jsonl")
    if options.dataset not in DATASET_TABLES:
        raise ExportError(f"unknown dataset {options.dataset!r}: use tables, chat or atif")
    config = load_config(lay)
    redactor = build_export_redactor(lay, config)
    if reader is not None:
        return _Export(lay, config, options, redactor, reader, progress).run()
    with open_log(lay) as log_reader:
        return _Export(lay, config, options, redactor, log_reader, progress).run()


class _Export:
    def __init__(self, lay, config, options: ExportOptions, redactor, reader, progress):
        self.lay = lay
        self.config = config
        self.options = options
        self.redactor = redactor
        self.redaction = ExportRedaction(redactor)  # the summary of all sessions
        self.reader = reader
        self.progress = progress or (lambda done, total: None)
        gap = options.idle_gap_minutes
        self.idle_gap = float(config.settings.episodes.idle_gap_minutes if gap is None else gap)
        self.tables = DATASET_TABLES[options.dataset]  # the tables the dataset holds
        # Each approved session's content hash, by session id, for the rows that name it
        # (chat, atif): filled by the approval gate.
        self.approval_hashes: dict[str, str] = {}

    # -- the whole export -----------------------------------------------------------------

    def run(self) -> ExportResult:
        started = time.monotonic()
        sessions = select_sessions(
            self.reader, self.options.sessions, self.options.since,
            default_researcher=self.config.researcher_id, filters=self.options.filters,
        )  # fmt: skip
        if not sessions:
            raise ExportError("no recorded session matches; `recorder sessions` lists them")
        sessions, approvals, skipped = self._gate(sessions)
        self.approval_hashes = {sid: a.content_hash for sid, a in approvals.items()}
        out = self.options.out
        _check_target(out, self.options.overwrite)
        work_id = self._export_id(sessions)  # names the files until their content is known
        staging = out.parent / f".{out.name}.partial-{work_id}"
        try:
            if staging.exists():
                shutil.rmtree(staging)
            staging.mkdir(parents=True)
        except OSError as exc:
            raise ExportError(f"cannot write to {out.parent}: {exc.strerror or exc}") from None
        try:
            outputs = self._export_sessions(staging, work_id, sessions)
            self._check_approvals(sessions, outputs, approvals)
            export_id = _content_id(work_id, outputs)
            totals = _merge(outputs, self.redaction, self.tables)
            files = self._assemble(staging, export_id, sessions, totals["counts"])
            facts = self._facts(export_id, sessions, outputs, totals, files)
            facts.approvals = [approvals[s.session_id].as_dict() for s in sessions
                               if s.session_id in approvals]  # fmt: skip
            facts.approval_hashes = [a["content_hash"] for a in facts.approvals]
            card_mod.write(staging, facts)
            _move_into_place(staging, out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return ExportResult(
            out=out, export_id=export_id, sessions=len(sessions), counts=totals["counts"],
            files=files, redaction=self.redaction.summary.as_dict(), labels=totals["labels"],
            seconds=time.monotonic() - started, skipped=skipped, approvals=facts.approvals,
        )  # fmt: skip

    # -- approvals (recorder.review.approval) ----------------------------------------------

    def _gate(self, sessions: list[SessionInfo]):
        """The sessions to export (approved ones, unless --include-unapproved), their
        approvals by id, and the skipped ones with why."""
        from recorder.review.approval import gate

        include = self.options.include_unapproved
        decisions = gate(self.reader, [s.session_id for s in sessions], include)
        approvals = {d.session_id: d.approval for d in decisions if d.approval is not None}
        skipped = [(d.session_id, d.reason) for d in decisions if d.reason]
        kept = [s for s, d in zip(sessions, decisions, strict=True) if not d.reason]
        if not kept:
            named = ", ".join(f"{sid} ({why})" for sid, why in skipped)
            raise ExportError(
                f"no approved session to export: {named}; approve with `recorder approve` "
                "(or `recorder review`), or pass --include-unapproved"
            )
        return kept, approvals, skipped

    def _check_approvals(self, sessions, outputs, approvals) -> None:
        """Fail closed: each approved session's rows, as this export wrote them, must be the
        rows approved (with other episode settings than config.toml's, the hash is
        recomputed with those). Otherwise nothing is written."""
        from recorder.review.approval import session_hash

        default = self._settings_are_default()
        for s, out in zip(sessions, outputs, strict=True):
            approval = approvals.get(s.session_id)
            if approval is None:
                continue
            digest = (
                out.content_hash if default else session_hash(self.lay, self.reader, s.session_id)
            )
            if digest == approval.content_hash:
                continue
            if self.options.include_unapproved:
                del approvals[s.session_id]  # exported, but not as approved
                continue
            changed = approval.ruleset_version != self.redaction.summary.ruleset_version
            why = (
                f"the rule set changed since its approval ({approval.ruleset_version} -> "
                f"{self.redaction.summary.ruleset_version}) and with it the rows"
                if changed
                else "its rows are not the rows approved (the log or the approval was changed)"
            )
            raise ExportError(
                f"session {s.session_id}: {why}; nothing exported. Review it again "
                "(`recorder review`, `recorder approve`)"
            )

    def _settings_are_default(self) -> bool:
        from exporters.episodes import DEFAULT_MAX_STEPS

        configured = float(self.config.settings.episodes.idle_gap_minutes)
        return self.idle_gap == configured and self.options.max_steps == DEFAULT_MAX_STEPS

    def _jobs(self, staging: Path, export_id: str, sessions: list[SessionInfo]):
        return [
            SessionJob(
                home=str(self.lay.home),
                session=s,
                ordinal=i,
                work_dir=str(staging / ".work" / f"{i:06d}"),
                export_id=export_id,
                file_format=self.options.file_format,
                idle_gap_minutes=self.idle_gap,
                max_steps=self.options.max_steps,
                page_rows=self.options.page_rows,
                output_cap=self.config.output_cap,
                output_chars=self.config.settings.export.output_chars,
                dataset=self.options.dataset,
                chat=self.options.chat,
                approval_hash=self.approval_hashes.get(s.session_id),
                task_kinds=tuple(self.options.task_kinds),
            )
            for i, s in enumerate(sessions)
        ]

    def _export_sessions(self, staging: Path, export_id: str, sessions) -> list[SessionOutput]:
        jobs = self._jobs(staging, export_id, sessions)
        total = sum(s.events for s in sessions)
        done = [0]

        def advance(events: int) -> None:
            done[0] += events
            self.progress(done[0], total)

        self.progress(0, total)
        workers = self._workers(sessions, total)
        if workers <= 1:
            return [export_session(job, self.reader, self.redactor, advance) for job in jobs]
        return run_in_workers(jobs, workers, advance)

    def _workers(self, sessions: list[SessionInfo], total: int) -> int:
        if self.options.workers is not None:
            return max(1, min(self.options.workers, len(sessions)))
        if total < PARALLEL_MIN_EVENTS:
            return 1
        return max(1, min(os.cpu_count() or 1, len(sessions)))

    # -- assembling the dataset -------------------------------------------------------------

    def _assemble(self, staging: Path, export_id: str, sessions, counts) -> dict:
        """Move every session's files into the dataset, numbered per partition in session
        order; write an empty file for a table without rows. Returns files and bytes."""
        work = staging / ".work"
        numbers: dict[Path, int] = {}
        files: dict[str, dict[str, int]] = {n: {"files": 0, "bytes": 0} for n in self.tables}
        for session_dir in sorted(work.iterdir()) if work.exists() else []:
            for path in sorted(session_dir.rglob("part-*")):
                relative = path.relative_to(session_dir)
                table, folder = relative.parts[0], staging / relative.parent
                folder.mkdir(parents=True, exist_ok=True)
                n = numbers.get(folder, 0)
                numbers[folder] = n + 1
                target = folder / f"part-{export_id}-{n:05d}{path.suffix}"
                path.rename(target)
                files[table]["files"] += 1
                files[table]["bytes"] += target.stat().st_size
        shutil.rmtree(work, ignore_errors=True)
        empty = [name for name in self.tables if not counts[name]]
        if empty:
            self._write_empty(staging, export_id, sessions, empty, files)
        return files

    def _write_empty(self, staging, export_id, sessions, names, files) -> None:
        first = sessions[0]
        day = utc_date(int(first.started_at.replace(tzinfo=dt.UTC).timestamp() * 1_000_000))
        sink = make_sink(self.options.file_format, staging, export_id)
        for name in names:
            sink.write_empty(name, {"researcher": first.researcher, "date": day})
        for name, stats in sink.close().items():
            files[name]["files"] += stats.files
            files[name]["bytes"] += stats.bytes

    # -- the card -------------------------------------------------------------------------

    def _facts(self, export_id: str, sessions, outputs, totals, files) -> card_mod.CardFacts:
        from recorder import __version__

        rows = [self._session_row(s, o) for s, o in zip(sessions, outputs, strict=True)]
        names = list(dict.fromkeys(row["name"] for row in rows if row["name"]))
        if names:  # session names are text written to the dataset: scan them too
            self.redaction.scan_values("meta.sessions.name", names)
        return card_mod.CardFacts(
            export_id=export_id,
            file_format=self.options.file_format,
            recorder_version=__version__,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            researchers=sorted({s.researcher for s in sessions}),
            sessions=rows,
            counts=totals["counts"],
            events_by_kind=dict(sorted(totals["kinds"].items())),
            files=files,
            time_range={"start": _iso(totals["time_min"]), "end": _iso(totals["time_max"])},
            redaction=self.redaction.summary.as_dict(),
            labels=totals["labels"],
            settings=self._settings(),
            tables=self.tables,
            task_kinds=card_mod.kind_counts(totals["labels"], totals["fix_times"]),
        )

    def _session_row(self, s: SessionInfo, out: SessionOutput) -> dict:
        return {
            "session_id": s.session_id,
            "name": self.redaction.redact_text(s.name),
            "researcher": s.researcher,
            "started_at": _iso(s.started_at),
            "ended_at": _iso(s.ended_at),
            "utc_offset_min": s.utc_offset_min,
            "events": out.events,
            "steps": out.counts["steps"],
            "episodes": out.episodes,
        }

    def _settings(self) -> dict:
        chat = {} if self.options.dataset == "tables" else {"chat": self._chat_settings()}
        return {
            **chat,
            "idle_gap_minutes": self.idle_gap,
            "max_steps_per_episode": self.options.max_steps,
            "output_cap_chars": self.config.output_cap,
            "terminal_chars": TERMINAL_CHARS,
            "output_chars": self.config.settings.export.output_chars,
            "attribution_slack_ms": SLACK_US // 1000,
            "attribution_ctime_slack_ms": CTIME_SLACK_US // 1000,
            "attribution_foreground_ms": FOREGROUND_US // 1000,
            **({"task_kinds": list(self.options.task_kinds)} if self.options.task_kinds else {}),
        }

    def _chat_settings(self) -> dict:
        return {"dataset": self.options.dataset, **dataclasses.asdict(self.options.chat)}

    def _export_id(self, sessions: list[SessionInfo]) -> str:
        """A digest of how the export is made and of what it reads (its work id)."""
        from recorder import __version__

        facts = {
            "format": card_mod.FORMAT_VERSION,
            "recorder": __version__,
            "file_format": self.options.file_format,
            "ruleset": self.redaction.summary.ruleset_version,
            "settings": self._settings(),
            "schemas": [export_spec(name) for name in self.tables],
            "sessions": [[s.session_id, s.events, s.max_seq, _iso(s.ended_at)] for s in sessions],
        }
        text = json.dumps(facts, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _content_id(work_id: str, outputs: list[SessionOutput]) -> str:
    """The export id: the work id and the digests of the files of every session, in order.
    (The files do not hold their own names, so the id can name them afterwards.)"""
    text = ",".join([work_id, *(o.digest for o in outputs)])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _merge(outputs: list[SessionOutput], redaction: ExportRedaction, tables=EXPORT_TABLES) -> dict:
    counts: Counter = Counter()
    kinds: Counter = Counter()
    labels: Counter = Counter()
    fix_times: dict[str, list[float]] = {}
    summary = redaction.summary
    for out in outputs:
        counts.update(out.counts)
        kinds.update(out.kinds)
        labels.update(out.labels)
        summary.findings_by_rule.update(out.findings_by_rule)
        summary.findings_by_category.update(out.findings_by_category)
        summary.rows_with_findings += out.rows_with_findings
        summary.values_scanned += out.values_scanned
        for kind, times in out.fix_times.items():
            fix_times.setdefault(kind, []).extend(times)
    lows = [o.time_min for o in outputs if o.time_min is not None]
    highs = [o.time_max for o in outputs if o.time_max is not None]
    return {
        "counts": {name: counts[name] for name in dict.fromkeys([*EXPORT_TABLES, *tables])},
        "kinds": kinds,
        "labels": dict(labels),
        "fix_times": fix_times,
        "time_min": min(lows) if lows else None,
        "time_max": max(highs) if highs else None,
    }


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
