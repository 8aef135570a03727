"""How the review draws recorded text: rich ``Text`` objects, never markup.

Every recorded string passes through ``recorder.display.safe_text`` (escape sequences and
control characters made visible) and goes into a ``rich.text.Text`` as plain text, so
nothing in the data is read as markup or emoji. Styles are applied by position: each
placeholder (``<SECRET:rule:xxxxxx>``, ``<PII:rule:xxxxxx>``) is highlighted, its rule
brighter; text a queued redaction will hide, and rows a queued drop removes, are marked.
"""

from __future__ import annotations

import re

from rich.text import Text

from recorder.display import safe_text
from recorder.review.view import PLACEHOLDER, Row

PLACEHOLDER_STYLE = "bold black on yellow"
RULE_STYLE = "bold black on bright_yellow underline"
QUEUED_STYLE = "bold white on red"
DROPPED_STYLE = "strike dim"
HEADER_STYLE = "bold cyan"


def one_line(value: str | None, limit: int = 400) -> str:
    """The first line of ``value``, made safe, with ``⏎…`` if more lines follow."""
    if not value:
        return ""
    first, _, rest = value.partition("\n")
    text = safe_text(first[:limit])
    return text + (" ⏎…" if rest.strip() else "")


def safe_lines(value: str) -> str:
    """``value`` made safe line by line (its line breaks kept as line breaks)."""
    return "\n".join(safe_text(line) for line in value.split("\n"))


def highlight(text: Text, queued: list | None = None) -> Text:
    """Style ``text``'s placeholders and what the queued redactions will hide, in place."""
    plain = text.plain
    for match in PLACEHOLDER.finditer(plain):
        text.stylize(PLACEHOLDER_STYLE, match.start(), match.end())
        text.stylize(RULE_STYLE, match.start(2), match.end(2))
    for change in queued or ():
        for start, end in queued_spans(plain, change):
            text.stylize(QUEUED_STYLE, start, end)
    return text


def queued_spans(plain: str, change) -> list[tuple[int, int]]:
    """Where the queued redaction ``change`` (a RedactText) matches ``plain``."""
    if change.literal:
        spans, at = [], plain.find(change.literal)
        while at >= 0:
            spans.append((at, at + len(change.literal)))
            at = plain.find(change.literal, at + len(change.literal))
        return spans
    try:
        return [m.span() for m in re.finditer(change.regex or "", plain) if m.end() > m.start()]
    except re.error:  # RE2 syntax Python does not read: shown unmarked, applied all the same
        return []


def clock(row: Row) -> str:
    """HH:MM:SS of the row, in the session's local time."""
    import datetime as dt

    offset = dt.timedelta(minutes=row.utc_offset_min or 0)
    return (row.ts_start + offset).strftime("%H:%M:%S")


def row_line(row: Row, dropped: bool, queued: list | None = None) -> Text:
    """The timeline's line for ``row``: time, kind, what happened, exit code, findings."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{clock(row)} ", "dim")
    text.append("✗ " if dropped else "  ", "bold red")
    text.append(f"{row.source}/{row.event_type}".ljust(15)[:15] + " ", "cyan")
    body_start = len(text)
    text.append(summary(row))
    if row.event_type == "command":
        status = "running" if row.exit_code is None else f"exit {row.exit_code}"
        text.append(f"  [{status}]", "green" if row.exit_code == 0 else "bold red")
    if row.findings:
        text.append(f"  ⚑{len(row.findings)}", "bold yellow")
    highlight(text, queued)
    if dropped:
        text.stylize(DROPPED_STYLE, body_start)
    return text


def summary(row: Row) -> str:
    """The one-line gist of an event (safe text)."""
    if row.event_type == "command":
        return "$ " + one_line(row.command)
    if row.source == "file" and row.path:
        moved = f" <- {one_line(row.old_path)}" if row.old_path else ""
        delta = ""
        if row.lines_added is not None:
            delta = f" (+{row.lines_added} -{row.lines_removed or 0})"
        return one_line(row.path) + moved + delta
    if row.source == "user":
        return f"{row.event_type}: {one_line(row.text)}".rstrip(": ")
    return one_line(row.text or row.window_title or row.path or row.cwd)


def header_line(index: int, task: str | None, steps: int, dropped: bool,
                kinds: tuple[str, ...] = ()) -> Text:  # fmt: skip
    """The timeline's line that starts an episode."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"── episode {index} ", HEADER_STYLE)
    text.append(f"({steps} step{'s' * (steps != 1)}) ", "dim")
    if kinds:
        text.append(f"[{', '.join(kinds)}] ", "cyan")
    text.append(one_line(task) if task else "(no task)", "italic")
    highlight(text)
    if dropped:
        text.stylize(DROPPED_STYLE)
        text.append("  ✗ queued drop", "bold red")
    return text


def detail_text(row: Row) -> str:
    """Everything the export writes of ``row``, as plain safe text for the detail pane."""
    when = row.ts_start.strftime("%Y-%m-%d %H:%M:%S")
    head = [f"{row.source}/{row.event_type}  {when} UTC  seq {row.seq}  {row.event_id}"]
    if row.event_type == "command":
        status = "running" if row.exit_code is None else f"exit {row.exit_code}"
        took = "" if row.duration_ms is None else f"  {row.duration_ms / 1000:.1f} s"
        head.append(status + took + ("  (output cut)" if row.output_truncated else ""))
    for finding in row.findings:
        head.append(f"⚑ {finding.column}: {finding.rule} ({finding.category})")
    parts = ["\n".join(head)]
    labels = {"command": "$ ", "cwd": "cwd: ", "path": "path: ", "old_path": "from: "}
    for name, value in row.texts():
        if name in labels:
            parts.append(labels[name] + safe_lines(value))
        else:
            parts.append(f"── {name} ──\n" + safe_lines(value))
    return "\n".join(parts)
