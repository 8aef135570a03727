"""Helpers shared by the command modules: the home layout and small formatters."""

from __future__ import annotations

import datetime as dt

from recorder.paths import Layout, layout, private_umask


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
