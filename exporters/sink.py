"""The sink of an export's file format: :func:`make_sink` picks the
:class:`~exporters.partitioned.PartitionedSink` that writes ``parquet`` or ``jsonl``."""

from __future__ import annotations

from pathlib import Path

from exporters.partitioned import PartitionedSink

FORMATS = ("parquet", "jsonl")


def make_sink(file_format: str, root: Path, export_id: str) -> PartitionedSink:
    """A sink writing ``file_format`` files under ``root``, named after ``export_id``."""
    if file_format == "jsonl":
        from exporters.jsonl import JsonlSink

        return JsonlSink(root, export_id)
    from exporters.parquet import ParquetSink

    return ParquetSink(root, export_id)
