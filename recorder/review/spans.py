"""Spans of time as the review commands take them: durations (``10m``) and times."""

from __future__ import annotations

import datetime as dt

from recorder.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``10m``, ``90s``, ``2h``, ``1d`` (a bare number is seconds) -> seconds."""
    value = text.strip().lower()
    unit = value[-1:] if value[-1:] in _UNITS else "s"
    number = value[:-1] if value[-1:] in _UNITS else value
    try:
        seconds = float(number) * _UNITS[unit]
    except ValueError:
        raise UsageError(f"--last {text!r} is not a duration: use e.g. 10m, 90s, 2h") from None
    if not seconds > 0:
        raise UsageError(f"--last must be more than nothing, not {text!r}")
    return seconds


def time_us(text: str, day: dt.date) -> int:
    """An ISO date-time, or a time of ``day``; naive values are this machine's local time."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            value = dt.datetime.combine(day, dt.time.fromisoformat(text.strip()))
        except ValueError:
            raise UsageError(
                f"{text!r} is not a time: use YYYY-MM-DDTHH:MM[:SS] or HH:MM[:SS]"
            ) from None
    if value.tzinfo is None:
        value = value.astimezone()
    return int(value.timestamp() * 1_000_000)
