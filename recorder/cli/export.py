"""``recorder export``: recorded sessions -> a trajectory dataset (Parquet or JSON Lines),
chat conversations for SFT (``--format chat``) or ATIF trajectories (``--format atif``).

A thin layer over :func:`exporters.pipeline.export`: parses the options, shows a
progress bar on stderr while it runs (on a terminal) and a summary at the end.
"""

from __future__ import annotations

from pathlib import Path

import click

from recorder.cli.common import home


@click.command("export")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="Directory to write the dataset to (new or empty).",
)
@click.option(
    "--session",
    "-s",
    "sessions",
    multiple=True,
    metavar="S",
    help="Export only this session (id, id prefix, name or `last`); repeatable.",
)
@click.option(
    "--since",
    metavar="DATE",
    help="Only sessions started at or after DATE (YYYY-MM-DD, local time).",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["parquet", "jsonl", "chat", "atif"]),
    default="parquet",
    show_default=True,
    help="parquet for training; jsonl for a human-readable dump; chat for OpenAI-style "
    "conversations with tool calls (Parquet, or JSON Lines with --jsonl); atif for one "
    "ATIF-v1.4 trajectory JSON file per episode.",
)
@click.option("--jsonl", is_flag=True, help="With --format chat: JSON Lines instead of Parquet.")
@click.option(
    "--min-steps",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="chat/atif: leave out episodes with fewer tool calls.",
)
@click.option("--success-only", is_flag=True, help="chat/atif: only successful episodes.")
@click.option(
    "--drop-failed-tail",
    is_flag=True,
    help="chat/atif: end each episode at its last successful command, dropping the failed "
    "steps after it.",
)
@click.option(
    "--max-output-chars",
    type=click.IntRange(min=100),
    metavar="N",
    help="chat/atif: cut each command's output in a result to its head and tail, N characters "
    "[default: export.output_chars, 8000].",
)
@click.option(
    "--include-reasoning",
    is_flag=True,
    help="chat/atif: the researcher's notes (`recorder note`) before a call become the "
    "assistant's text.",
)
@click.option(
    "--idle-gap",
    type=click.FloatRange(min=0.1),
    metavar="MINUTES",
    help="Split unmarked work into episodes at pauses this long "
    "[default: episodes.idle_gap_minutes, 10].",
)
@click.option("--overwrite", is_flag=True, help="Replace an earlier export in --out.")
@click.option(
    "--include-unapproved",
    is_flag=True,
    help="Also export sessions nobody approved (by default only approved ones).",
)
@click.option(
    "--task-kind",
    "task_kinds",
    metavar="K[,K...]",
    callback=lambda _ctx, _param, value: _task_kinds(value),
    help="Export only the episodes of these task kinds (implement, debug, deploy_fix, "
    "experiment, monitor, data_inspect, review), with their steps and events.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def export(out: Path, sessions: tuple[str, ...], since: str | None, file_format: str,
           jsonl: bool, min_steps: int, success_only: bool, drop_failed_tail: bool,
           max_output_chars: int | None, include_reasoning: bool, idle_gap: float | None,
           overwrite: bool, include_unapproved: bool, task_kinds: tuple[str, ...],
           quiet: bool) -> None:  # fmt: skip
    """Export recorded sessions as a dataset for imitation learning.

    Writes events, steps and episodes tables (in directories per researcher and
    date), or with --format chat or atif one conversation or trajectory per
    episode, a dataset card (README.md) and meta/info.json. Text is redacted with
    the rules current now and scanned again before anything is written.

    Only approved sessions (`recorder approve`, `recorder review`) are exported:
    each one's rows are checked against the content hash approved, and the export
    refuses if they differ. Skipped sessions are named on stderr.
    """
    from exporters.jobs import ChatOptions, ExportOptions
    from exporters.pipeline import export as run_export
    from exporters.source import parse_since

    if jsonl and file_format != "chat":
        raise click.UsageError("--jsonl goes with --format chat (use --format jsonl for tables)")
    dataset = file_format if file_format in ("chat", "atif") else "tables"
    if dataset == "chat":
        file_format = "jsonl" if jsonl else "parquet"
    chat = ChatOptions(min_steps, success_only, drop_failed_tail, max_output_chars,
                       include_reasoning)  # fmt: skip
    if dataset == "tables" and chat != ChatOptions():
        raise click.UsageError("the chat options go with --format chat or atif")
    options = ExportOptions(
        out=out.expanduser().absolute(),
        sessions=sessions,
        since=parse_since(since) if since else None,
        file_format=file_format,
        dataset=dataset,
        chat=chat,
        idle_gap_minutes=idle_gap,
        overwrite=overwrite,
        include_unapproved=include_unapproved,
        task_kinds=task_kinds,
    )
    with _progress(quiet) as progress:
        result = run_export(home(), options, progress=progress)
    _skipped(result)
    _summary(result)
    from recorder.review.retention import note_export

    warning = note_export(home(), result.export_id, result.approvals)
    if warning:
        click.echo(f"warning: {warning}", err=True)


def _task_kinds(value: str | None) -> tuple[str, ...]:
    from exporters.taskkinds import KIND_NAMES

    if not value:
        return ()
    kinds = tuple(dict.fromkeys(k.strip() for k in value.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in KIND_NAMES]
    if unknown or not kinds:
        raise click.BadParameter(
            f"unknown task kind {', '.join(unknown) or value!r}: use {', '.join(KIND_NAMES)}"
        )
    return kinds


def _skipped(result) -> None:
    for session_id, why in result.skipped:
        click.echo(f"skipped session {session_id}: {why} (not approved)", err=True)


class _progress:
    """A rich progress bar on stderr when it is a terminal; otherwise nothing."""

    def __init__(self, quiet: bool):
        from recorder.cli.common import console

        self.console = console(stderr=True)
        self.enabled = not quiet and self.console.is_terminal
        self.bar = None
        self.task = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )  # fmt: skip

        self.bar = Progress(
            TextColumn("exporting events"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), console=self.console, transient=True,
        )  # fmt: skip
        self.bar.start()
        self.task = self.bar.add_task("export", total=None)
        return self.update

    def update(self, done: int, total: int) -> None:
        self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def _summary(result) -> None:
    c = result.counts
    rate = c.get("events", 0) / result.seconds if result.seconds > 0 else 0.0
    red = result.redaction
    labels = result.labels
    size = sum(f.get("bytes", 0) for f in result.files.values())
    lines = [
        f"exported {result.sessions} session(s) to {result.out}",
        f"  events {c.get('events', 0)}, steps {c.get('steps', 0)}, "
        f"episodes {c.get('episodes', 0)}"
        + "".join(f", {name} {c[name]}" for name in ("conversations", "trajectories") if name in c),
        f"  labels: {labels.get('failures', 0)} failed steps, "
        f"{labels.get('recoveries', 0)} recovered, "
        f"{labels.get('successful_episodes', 0)} successful episodes",
        f"  redaction: rule set {red['ruleset_version']}, "
        f"{red['rows_with_findings']} event(s) with redactions, leak scan passed "
        f"({red['leak_scan']['values_scanned']} values)",
        f"  {sum(f.get('files', 0) for f in result.files.values())} files, "
        f"{size / 1e6:.1f} MB, {result.seconds:.1f} s ({rate:,.0f} events/s), "
        f"export id {result.export_id}",
        f"  approved: {len(result.approvals)} of {result.sessions} session(s)",
    ]
    click.echo("\n".join(lines))
