"""``recorder export``: recorded sessions -> a trajectory dataset (Parquet or JSON Lines).

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
    type=click.Choice(["parquet", "jsonl"]),
    default="parquet",
    show_default=True,
    help="parquet for training; jsonl for a human-readable dump.",
)
@click.option(
    "--idle-gap",
    type=click.FloatRange(min=0.1),
    metavar="MINUTES",
    help="Split unmarked work into episodes at pauses this long "
    "[default: episodes.idle_gap_minutes, 10].",
)
@click.option("--overwrite", is_flag=True, help="Replace an earlier export in --out.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def export(out: Path, sessions: tuple[str, ...], since: str | None, file_format: str,
           idle_gap: float | None, overwrite: bool, quiet: bool) -> None:  # fmt: skip
    """Export recorded sessions as a dataset for imitation learning.

    Writes events, steps and episodes tables (in directories per researcher and
    date), a dataset card (README.md) and meta/info.json. Text is redacted with
    the rules current now and scanned again before anything is written.
    """
    from exporters.jobs import ExportOptions
    from exporters.pipeline import export as run_export
    from exporters.source import parse_since

    options = ExportOptions(
        out=out.expanduser().absolute(),
        sessions=sessions,
        since=parse_since(since) if since else None,
        file_format=file_format,
        idle_gap_minutes=idle_gap,
        overwrite=overwrite,
    )
    with _progress(quiet) as progress:
        result = run_export(home(), options, progress=progress)
    _summary(result)


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
        f"episodes {c.get('episodes', 0)}",
        f"  labels: {labels.get('failures', 0)} failed steps, "
        f"{labels.get('recoveries', 0)} recovered, "
        f"{labels.get('successful_episodes', 0)} successful episodes",
        f"  redaction: rule set {red['ruleset_version']}, "
        f"{red['rows_with_findings']} event(s) with redactions, leak scan passed "
        f"({red['leak_scan']['values_scanned']} values)",
        f"  {sum(f.get('files', 0) for f in result.files.values())} files, "
        f"{size / 1e6:.1f} MB, {result.seconds:.1f} s ({rate:,.0f} events/s), "
        f"export id {result.export_id}",
    ]
    click.echo("\n".join(lines))


COMMANDS = [export]
