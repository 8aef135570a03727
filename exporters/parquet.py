"""Parquet files for the export: zstd-compressed, one row group per batch written.

Rows arrive in Arrow batches (a page of events, a flush of steps) and go straight
to the open file of their partition, so memory stays bounded by the batch size.

Encoding choices (they change the files' size and the time to write them, never
what they hold): column statistics (min/max, by which readers skip row groups)
are written for the columns queries select rows by (time, ids, partition keys),
not for free text where they cost time and say nothing; columns with a new value
in almost every row (ids, times) are not dictionary-encoded.
"""

from __future__ import annotations

from pathlib import Path

from exporters.partitioned import PartitionedSink

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1
# A dictionary page may grow this large before a column falls back to plain encoding: the
# terminal transcripts of a batch of steps repeat (each is on several screens) and exceed
# the default 1 MB, and compressing them plain costs more than the dictionary.
DICTIONARY_PAGE_BYTES = 8 << 20
STATISTICS_COLUMNS = {
    "events": ["researcher", "date", "event_id", "session_id", "seq", "ts_start", "ts_end",
               "source", "event_type"],
    "steps": ["researcher", "date", "episode_id", "session_id", "step_index", "ts"],
}  # fmt: skip
UNIQUE_COLUMNS = {
    "events": {"event_id", "seq", "ts_start", "ts_end"},
    "steps": {"source_event_ids.list.element", "ts"},
}


class ParquetSink(PartitionedSink):
    suffix = ".parquet"
    max_rows_per_file = 1_000_000

    def _open_file(self, path: Path, schema):
        import pyarrow.parquet as pq

        table = (schema.metadata or {}).get(b"table", b"").decode()  # see schemas.arrow
        unique = UNIQUE_COLUMNS.get(table, set())
        return pq.ParquetWriter(
            str(path),
            schema,
            compression=COMPRESSION,
            compression_level=COMPRESSION_LEVEL,
            use_dictionary=[c for c in _leaf_columns(schema) if c not in unique],
            dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES,
            write_statistics=STATISTICS_COLUMNS.get(table, True),
        )

    def _append(self, handle, table) -> None:
        handle.write_table(table)

    def _close_file(self, handle) -> None:
        handle.close()


def _leaf_columns(schema) -> list[str]:
    """The Parquet column paths of an Arrow schema (``a.b`` in structs, ``c.list.element``)."""
    import pyarrow as pa

    def leaves(name: str, kind) -> list[str]:
        if pa.types.is_struct(kind):
            return [p for f in kind for p in leaves(f"{name}.{f.name}", f.type)]
        if pa.types.is_list(kind):
            return leaves(f"{name}.list.element", kind.value_type)
        return [name]

    return [p for f in schema for p in leaves(f.name, f.type)]
