"""Helpers shared by the command modules: the home layout and small formatters."""

from __future__ import annotations

import datetime as dt
import re

from recorder.paths import Layout, layout, private_umask

# A session name offered for completion: nothing the terminal could read as a control.
SAFE_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,80}")


def home() -> Layout:
    private_umask()
    return layout()


def fmt_duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def fmt_bytes(n: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as du -h --si)."""
    if n < 1000:
        return f"{int(n)} bytes"
    for unit in ("KB", "MB", "GB"):
        n /= 1000
        if n < 1000 or unit == "GB":
            break
    return f"{n:.1f} {unit}"


def fmt_local(ts: dt.datetime | None, offset_min: int | None = None) -> str:
    """A UTC timestamp from the log shown in its recorded (or this machine's) offset."""
    if ts is None:
        return "-"
    utc = ts.replace(tzinfo=dt.UTC)
    if offset_min is None:
        return utc.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return utc.astimezone(dt.timezone(dt.timedelta(minutes=offset_min))).strftime(
        "%Y-%m-%d %H:%M:%S"
    )


def console(stderr: bool = False):
    """A rich console; piped output gets a wide page instead of rich's 80 columns."""
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)


def json_value(value):
    """JSON for values from the log: naive timestamps there are UTC, so they get a Z."""
    if isinstance(value, dt.datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def to_json(row) -> str:
    import json

    return json.dumps(row, default=json_value, ensure_ascii=False)


def complete_session(ctx, param, incomplete: str) -> list:
    """Tab completion of a SESSION argument: ``last``, then ids and plain names, newest
    first. Names go to the terminal, so only those of word characters are offered (a
    recorded name may hold escape sequences); completion never fails out loud."""
    from click.shell_completion import CompletionItem

    from recorder.eventlog import sessions_if_any

    offered = ["last"]
    for row in sessions_if_any():
        offered.append(row["session_id"])
        name = row["name"] or ""
        if SAFE_NAME.fullmatch(name):
            offered.append(name)
    return [CompletionItem(v) for v in dict.fromkeys(offered) if v.startswith(incomplete)]
