"""Commands of the review step: approve, drop, redact, forget, prune (and ``task --episode``).

Each builds one change of ``recorder.review.changes`` and applies it; the daemon
applies it when one runs. What they print names rules and ids, never the text removed.
"""

from __future__ import annotations

import datetime as dt

import click

from recorder.cli.common import complete_session, fmt_local, home, to_json
from recorder.errors import UsageError
from recorder.review.spans import parse_duration, time_us


def _session_id(ref: str) -> str:
    """The session ``ref`` names, once a running daemon has ingested what is spooled (a
    session started a moment ago is then in the log)."""
    from recorder.eventlog import open_log
    from recorder.recording import wait_until_ingested

    wait_until_ingested(home())
    with open_log(home()) as log:
        return log.resolve_session(ref)["session_id"]


def _apply(*changes):
    from recorder.review.changes import apply_changes

    results = apply_changes(home(), list(changes))
    for result in results:
        click.echo(result.detail)
    return results


@click.command()
@click.argument("session", shell_complete=complete_session)
@click.option("--json", "as_json", is_flag=True, help="Print the approval as JSON.")
def approve(session: str, as_json: bool) -> None:
    """Approve SESSION for export: binds your researcher id, the time, the rule set and a
    hash of exactly the rows the export will write. Any later change voids it."""
    from recorder.eventlog import open_log
    from recorder.review.approval import latest_approval
    from recorder.review.changes import Approve, apply_changes

    sid = _session_id(session)
    (result,) = apply_changes(home(), [Approve(sid)])
    if not as_json:
        click.echo(result.detail)
        return
    with open_log(home()) as log:
        click.echo(to_json(latest_approval(log, sid).as_dict()))


@click.command()
@click.argument("session", shell_complete=complete_session)
@click.option("--event", "event_ids", multiple=True, metavar="ID", help="An event id (repeatable).")
@click.option("--from", "start", metavar="T", help="Drop events starting at or after T ...")
@click.option("--to", "end", metavar="T", help="... and before T (YYYY-MM-DDTHH:MM[:SS] or HH:MM[:SS] on the session's day, local time).")  # fmt: skip
@click.option("--episode", type=int, metavar="N", help="Every event of episode N (from 0).")
def drop(session: str, event_ids: tuple[str, ...], start: str | None, end: str | None,
         episode: int | None) -> None:  # fmt: skip
    """Remove events from SESSION for good: by id, a time window, or an episode."""
    from recorder.review.changes import DropEvents

    sid = _session_id(session)
    start_us = end_us = None
    if start is not None or end is not None:
        if start is None or end is None:
            raise UsageError("drop: --from and --to go together")
        day = _session_day(sid)
        start_us, end_us = time_us(start, day), time_us(end, day)
    _apply(DropEvents(sid, tuple(event_ids), start_us, end_us, episode))


@click.command()
@click.argument("session", required=False, shell_complete=complete_session)
@click.option("--literal", metavar="TEXT", help="Redact TEXT wherever it appears (any case); "
              "`-` asks for it (hidden), so it stays out of your shell's history.")  # fmt: skip
@click.option("--regex", metavar="R", help="Redact what the RE2 regular expression R matches.")
@click.option(
    "--all-sessions",
    is_flag=True,
    help="In every session, and as a rule for all future recording and exports.",
)
def redact(session: str | None, literal: str | None, regex: str | None,
           all_sessions: bool) -> None:  # fmt: skip
    """Replace a secret the redactor missed by a placeholder, for good (in the event log,
    file snapshots and pending lines; the file is compacted). A literal is kept as its
    keyed hash only, never written down."""
    from recorder.review.changes import RedactText

    if session is None and not all_sessions:
        raise UsageError("redact: name a SESSION, or pass --all-sessions")
    sid = _session_id(session) if session is not None else None
    if literal == "-":
        literal = _ask_literal()
    _apply(RedactText(sid, literal, regex, all_sessions))


def _ask_literal() -> str:
    import sys

    if sys.stdin.isatty():
        return click.prompt("text to redact", hide_input=True)
    return sys.stdin.readline().rstrip("\n")


@click.command()
@click.argument("session", required=False, shell_complete=complete_session)
@click.option("--last", "last", metavar="DURATION", help="Every event of the last DURATION "
              "(such as 10m, 90s, 2h), in every session unless SESSION is given.")  # fmt: skip
def forget(session: str | None, last: str | None) -> None:
    """Delete a whole SESSION, or everything recorded in the last DURATION, for good."""
    from recorder.review.changes import Forget

    if session is None and last is None:
        raise UsageError("forget: name a SESSION, or a span of time with --last")
    sid = _session_id(session) if session is not None else None
    _apply(Forget(sid, parse_duration(last) if last is not None else None))


@click.command()
@click.option("--before", help="Sessions that ended before this date (YYYY-MM-DD or "
              "YYYY-MM-DDTHH:MM, local time); default: record.retention_days ago.")  # fmt: skip
@click.option("--exported", is_flag=True, help="Only sessions an export wrote as approved "
              "(whenever they ended, unless --before is given).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="List the sessions; delete nothing.")
def prune(before: str | None, exported: bool, dry_run: bool) -> None:
    """Delete for good every session that ended before a date, or was exported, as
    forget does."""
    from recorder.config import load_config
    from recorder.dates import parse_date
    from recorder.eventlog import open_log
    from recorder.recording import wait_until_ingested
    from recorder.review import retention

    lay = home()
    days = load_config(lay).settings.record.retention_days
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    given = parse_date(before, "--before") if before else None
    cut = retention.cutoff(given, days, now, exported)
    if not dry_run:
        _apply(retention.prune_change(cut, exported))
        return
    wait_until_ingested(lay)
    with open_log(lay) as log:
        sessions = retention.prunable(log, cut, exported)
    for s in sessions:
        click.echo(f"{s['session_id']}  ended {fmt_local(s['ended_at'])}  {s['events']} events")
    which = "exported " if exported else ""
    when = f" ended before {fmt_local(cut)}" if cut is not None else ""
    click.echo(f"would prune {len(sessions)} {which}session(s){when}")


def set_episode_task(session_ref: str, episode: int, text: str) -> None:
    """``recorder task --episode N TEXT``."""
    from recorder.review.changes import SetTask

    _apply(SetTask(_session_id(session_ref), episode, text))


def _session_day(session_id: str) -> dt.date:
    from recorder.eventlog import open_log

    with open_log(home()) as log:
        started = log.resolve_session(session_id)["started_at"]
    return started.replace(tzinfo=dt.UTC).astimezone().date()
