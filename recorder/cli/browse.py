"""Commands that read the event log: sessions, show."""

from __future__ import annotations

import click

from recorder.cli.common import console, fmt_duration, fmt_local, home, to_json


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (JSON lines).")
def sessions(as_json: bool) -> None:
    """List recorded sessions: id, name, start, end, duration, events by source."""
    from recorder.eventlog import open_log

    with open_log(home()) as log:
        rows = log.sessions()[::-1]  # newest first
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
    for column in ("name", "start", "end", "duration", "events"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["session_id"],
            row["name"] or "",
            fmt_local(row["started_at"]),
            fmt_local(row["ended_at"]) if row["ended_at"] else "recording",
            fmt_duration(row["duration_ms"]),
            row["by_source"] or "0",
        )
    console().print(table)


@click.command()
@click.argument("session", default="last")
@click.option("--limit", type=int, default=None, help="Show at most this many events.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (JSON lines).")
def show(session: str, limit: int | None, as_json: bool) -> None:
    """Show a session's timeline (SESSION: an id, id prefix, name, or `last`)."""
    from recorder.eventlog import open_log

    with open_log(home()) as log:
        found = log.resolve_session(session)
        events = log.timeline(found["session_id"], limit)
    if as_json:
        for event in events:
            click.echo(to_json(event))
        return
    out = console()
    title = found["name"] or ""
    out.print(f"session {found['session_id']} {title}".rstrip())
    out.print(
        f"  {fmt_local(found['started_at'])} -> "
        f"{fmt_local(found['ended_at']) if found['ended_at'] else 'recording'}"
    )
    for event in events:
        out.print(_timeline_line(event), markup=False)


def _timeline_line(event: dict) -> str:
    when = fmt_local(event["ts_start"], event["utc_offset_min"])[11:]
    kind = f"{event['source']}/{event['event_type']}"
    if event["event_type"] == "command":
        status = "…" if event["exit_code"] is None else f"exit {event['exit_code']}"
        head = f"{when} {kind:<16} $ {event['command']}  [{status}, {fmt_duration(event['duration_ms'])}]"
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
    return f"{when} {kind:<16} {event['text'] or ''}"


COMMANDS = [sessions, show]
