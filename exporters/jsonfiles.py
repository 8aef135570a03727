"""One JSON file per row, for ``recorder export --format atif``: each row of the
trajectories table is written as its ``trajectory`` text alone (an ATIF document), in the
same per-researcher and per-date directories and file names as the other formats."""

from __future__ import annotations

from pathlib import Path

from exporters.partitioned import PartitionedSink


class JsonFilesSink(PartitionedSink):
    suffix = ".json"
    max_rows_per_file = 1  # each document is a file of its own

    def _open_file(self, path: Path, schema):
        return path.open("w", encoding="utf-8")

    def _append(self, handle, table) -> None:
        (text,) = table.column("trajectory").to_pylist()
        handle.write(text)

    def _close_file(self, handle) -> None:
        handle.close()
