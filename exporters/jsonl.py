"""JSON Lines files for ``recorder export --format jsonl``: the same tables and layout as
Parquet, one object per line, timestamps in ISO 8601, for reading with a text editor."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from exporters.partitioned import PartitionedSink


class JsonlSink(PartitionedSink):
    suffix = ".jsonl"
    max_rows_per_file = 1_000_000

    def _open_file(self, path: Path, schema):
        return path.open("w", encoding="utf-8")

    def _append(self, handle, table) -> None:
        for row in table.to_pylist():
            handle.write(json.dumps(row, ensure_ascii=False, default=_default) + "\n")

    def _close_file(self, handle) -> None:
        handle.close()


def _default(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
