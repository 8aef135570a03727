"""The sink of an export's file format: :func:`make_sink` picks the
:class:`~exporters.partitioned.PartitionedSink` that writes ``parquet``, ``jsonl`` or
``atif`` (one JSON document per file)."""

from __future__ import annotations

from pathlib import Path

from exporters.partitioned import PartitionedSink

FORMATS = ("parquet", "jsonl", "atif")


def make_sink(file_format: str, root: Path, export_id: str) -> PartitionedSink:
    """A sink writing ``file_format`` files under ``root``, named after ``export_id``."""
    if file_format == "atif":
        from exporters.jsonfiles import JsonFilesSink

        return JsonFilesSink(root, export_id)
    if file_format == "jsonl":
        from exporters.jsonl import JsonlSink

        return JsonlSink(root, export_id)
    from exporters.parquet import ParquetSink

    return ParquetSink(root, export_id)


class KeptTables:
    """A sink that keeps the tables named in ``names`` in memory and drops the rest (the
    review step's look at a session's export; see ``exporters.session``)."""

    def __init__(self, names):
        self.names = frozenset(names)
        self.tables: dict[str, list] = {}

    def write(self, name: str, table) -> None:
        if name in self.names and table.num_rows:
            self.tables.setdefault(name, []).append(table)

    def close(self) -> dict:
        return {}
