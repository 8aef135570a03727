"""Dates typed on the command line (``--since``, ``--until``), read as naive UTC."""

from __future__ import annotations

import datetime as dt

from recorder.errors import UsageError


def parse_date(text: str, option: str = "--since") -> dt.datetime:
    """``YYYY-MM-DD`` or an ISO date-time; naive values are local time. Returns naive UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    if value.tzinfo is None:
        value = value.astimezone()  # interpret as this machine's local time
    return value.astimezone(dt.UTC).replace(tzinfo=None)
