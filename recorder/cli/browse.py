"""Commands that read the event log: sessions, show.

Recorded text is shown through ``recorder.display``: never read as markup or emoji,
control characters and escape sequences made visible.
"""

from __future__ import annotations

import os

import click

from recorder.cli.common import (
    complete_session,
    console,
    fmt_duration,
    fmt_local,
    home,
    to_json,
)
from recorder.display import echo, plain, safe_line


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (JSON lines).")
def sessions(as_json: bool) -> None:
    """List recorded sessions: id, name, start, end, duration, events by source, and
    review state (recording, unreviewed, approved, needs review)."""
    from recorder.eventlog import open_log
    from recorder.review.approval import review_states

    lay = home()
    with open_log(lay) as log:
        rows = log.sessions()[::-1]  # newest first
        states = review_states(log, lay) if rows else {}
    for row in rows:
        row["review"] = states.get(row["session_id"], "unreviewed")
    if as_json:
        for row in rows:
            click.echo(to_json(row))
        return
    if not rows:
        click.echo("no sessions recorded yet; start one with `recorder start`")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    table.add_column("id", no_wrap=True, min_width=36)
    for column in ("name", "start", "end", "duration", "events", "review"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["session_id"],
            plain(safe_line(row["name"] or "")),  # recorded text: never markup
            fmt_local(row["started_at"]),
            fmt_local(row["ended_at"]) if row["ended_at"] else "recording",
            fmt_duration(row["duration_ms"]),
            row["by_source"] or "0",
            row["review"],
        )
    console().print(table)


# As schemas/events/_common.json names them.
SOURCES = click.Choice(["shell", "file", "user", "input", "recorder"])


@click.command()
@click.argument("session", default="last", shell_complete=complete_session)
@click.option("--limit", type=int, default=None, help="Show at most this many events.")
@click.option("--grep", "text", help="Only events holding this text (any case).")
@click.option("--failed", is_flag=True, help="Only commands that exited non-zero.")
@click.option("--source", type=SOURCES, help="Only events from this collector.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (JSON lines).")
def show(
    session: str,
    limit: int | None,
    text: str | None,
    failed: bool,
    source: str | None,
    as_json: bool,
) -> None:
    """Show a session's timeline (SESSION: an id, id prefix, name, or `last`)."""
    from recorder.eventlog import open_log

    with open_log(home()) as log:
        found = log.resolve_session(session)
        events = log.timeline(found["session_id"], limit, text, failed, source)
    if as_json:
        for event in events:
            click.echo(to_json(event))
        return
    out = console()
    title = safe_line(found["name"] or "")
    echo(out, f"session {found['session_id']} {title}".rstrip())
    echo(
        out,
        f"  {fmt_local(found['started_at'])} -> "
        f"{fmt_local(found['ended_at']) if found['ended_at'] else 'recording'}",
    )
    for event in events:
        echo(out, _timeline_line(event))


def _timeline_line(event: dict) -> str:
    when = fmt_local(event["ts_start"], event["utc_offset_min"])[11:]
    kind = f"{event['source']}/{event['event_type']}"
    if event["event_type"] == "command":
        if event["exit_code"] is None:  # running, or its shell ended first (`exit`)
            status = "not ended"
        else:
            status = f"exit {event['exit_code']}, {fmt_duration(event['duration_ms'])}"
        head = f"{when} {kind:<16} $ {event['command']}  [{status}]"
        if event["output"]:
            tail = event["output"].rstrip("\n").splitlines()[-3:]
            head += "".join(f"\n{'':27}| {line}" for line in tail)
        return head
    if event["path"]:
        delta = ""
        if event["lines_added"] is not None:
            delta = f" (+{event['lines_added']} -{event['lines_removed']})"
        moved = f" <- {event['old_path']}" if event["old_path"] else ""
        return f"{when} {kind:<16} {event['path']}{moved}{delta}"
    if kind == "file/reconcile":
        return f"{when} {kind:<16} (the watched files as found at start, for later diffs)"
    return f"{when} {kind:<16} {event['text'] or ''}"


@click.command()
@click.argument("text", required=False)
@click.option("--output", "in_output", is_flag=True, help="Look in commands' outputs too.")
@click.option("--failed", is_flag=True, help="Only commands that exited non-zero.")
@click.option("--exit-code", type=int, help="Only commands that exited with this code.")
@click.option("--cwd", type=click.Path(), help="Only events in this directory or below it.")
@click.option("--repo", type=click.Path(), help="Only events in this git repository.")
@click.option("--source", type=SOURCES, help="Only events from this collector.")
@click.option("--session", shell_complete=complete_session, help="Only this session.")
@click.option("--since", help="From this date (YYYY-MM-DD or YYYY-MM-DDTHH:MM, local time).")
@click.option("--until", help="Before this date.")
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (JSON lines).")
def search(text: str | None, session: str | None, since: str | None, until: str | None,
           as_json: bool, **filters) -> None:  # fmt: skip
    """Find commands, file changes and notes in every session, newest first: the command
    that fixed it last week (TEXT: any part of a command, path or note, in any case)."""
    from recorder.dates import parse_date
    from recorder.eventlog import Search, open_log

    for name in ("cwd", "repo"):
        if filters[name]:
            filters[name] = os.path.abspath(os.path.expanduser(filters[name]))
    with open_log(home()) as log:
        session_id = log.resolve_session(session)["session_id"] if session else None
        query = Search(
            text=text,
            session_id=session_id,
            since=parse_date(since, "--since") if since else None,
            until=parse_date(until, "--until") if until else None,
            **filters,
        )
        events = log.search(query)
    if as_json:
        for event in events:
            click.echo(to_json(event))
        return
    out = console()
    for event in events:
        when = fmt_local(event["ts_start"], event["utc_offset_min"])
        line = _timeline_line(event).split("\n", 1)[0]
        echo(out, f"{when[:10]} {event['session_id'][:8]} {line}")
    if not events:
        click.echo("nothing found", err=True)
