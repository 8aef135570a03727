"""Parquet files for the export: zstd-compressed, one row group per batch written.

Rows arrive in Arrow batches (a page of events, a flush of steps) and go straight
to the open file of their partition, so memory stays bounded by the batch size.
"""

from __future__ import annotations

from pathlib import Path

from exporters.sink import PartitionedSink

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1


class ParquetSink(PartitionedSink):
    suffix = ".parquet"
    max_rows_per_file = 1_000_000

    def _open_file(self, path: Path, schema):
        import pyarrow.parquet as pq

        return pq.ParquetWriter(
            str(path),
            schema,
            compression=COMPRESSION,
            compression_level=COMPRESSION_LEVEL,
            write_statistics=True,
        )

    def _append(self, handle, table) -> None:
        handle.write_table(table)

    def _close_file(self, handle) -> None:
        handle.close()
