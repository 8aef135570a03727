"""JSON Schemas of spool records and event kinds, and Arrow schemas of exported tables.

This package is the source of truth for every record that crosses a boundary:
``spool_record.json`` (collector -> daemon), ``events/<source>.<event_type>.json``
(one per event kind in the log, e.g. ``events/shell.command.json``) and
``export/<table>.json`` (the exported tables, turned into Arrow schemas by
``arrow.py``). Load them with :func:`load`; they ship in the wheel.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """A schema by its path inside this package, e.g. ``events/shell.command.json``."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


def event_kinds() -> list[str]:
    """Names of the event kinds that have a schema (``source/event_type``, file stems)."""
    folder = resources.files(__name__).joinpath("events")
    return sorted(
        p.name[: -len(".json")]
        for p in folder.iterdir()
        if p.name.endswith(".json") and not p.name.startswith("_")
    )
