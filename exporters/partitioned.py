"""Writing exported tables into directories per researcher and date, whatever the file format.

``<root>/<table>/<researcher>/<date>/part-<export-id>-NNNNN.<ext>`` (episodes have
no date level). The directories are plain names, not hive ``key=value`` ones: the
partition values are columns of every file, and a reader that took them from the
paths too would see each twice (``pq.read_table`` then fails: string in the file,
dictionary from the path) or retype them (``date`` as a DATE in DuckDB and Spark). A :class:`PartitionedSink` splits each Arrow table it is given by
its partition columns and appends the pieces to one open file per partition,
starting a new file when a partition's file is full or was closed to keep the
number of open files bounded. Subclasses provide the file format
(:mod:`exporters.parquet`, :mod:`exporters.jsonl`); :func:`exporters.sink.make_sink`
picks one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from schemas.arrow import export_schema, export_spec

MAX_OPEN_FILES = 32


@dataclass
class TableStats:
    rows: int = 0
    files: int = 0
    bytes: int = 0
    paths: list[str] = field(default_factory=list)


class PartitionedSink:
    suffix = ""
    max_rows_per_file = 1_000_000

    def __init__(self, root: Path, export_id: str):
        self.root = root
        self.export_id = export_id
        self.stats: dict[str, TableStats] = {}
        self._open: dict[tuple, tuple[object, Path, int]] = {}  # key -> (handle, path, rows)
        self._counters: dict[tuple, int] = {}

    # -- format hooks -------------------------------------------------------------------

    def _open_file(self, path: Path, schema):  # pragma: no cover - abstract
        raise NotImplementedError

    def _append(self, handle, table) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _close_file(self, handle) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- writing --------------------------------------------------------------------------

    def write(self, name: str, table) -> None:
        """Append ``table`` (in the ``name`` schema) to its partitions."""
        if table.num_rows == 0:
            return
        keys = export_spec(name)["partitioning"]
        for values, part in _split(table, keys):
            self._write_part(name, tuple(zip(keys, values, strict=True)), part)

    def write_empty(self, name: str, partition: dict[str, str]) -> None:
        """One zero-row file, so that readers of a table with no rows still find its schema."""
        keys = export_spec(name)["partitioning"]
        key = (name, tuple((k, partition[k]) for k in keys))
        schema = export_schema(name)
        handle, path = self._new_file(key, schema)
        self._close_file(handle)
        self._record(name, path)

    def close(self) -> dict[str, TableStats]:
        for key in list(self._open):
            self._finish(key)
        return self.stats

    def _write_part(self, name: str, partition: tuple, table) -> None:
        key = (name, partition)
        offset = 0
        while offset < table.num_rows:
            entry = self._open.pop(key, None)
            if entry is None:
                self._make_room()
                handle, path = self._new_file(key, table.schema)
                rows = 0
            else:
                handle, path, rows = entry
            piece = table.slice(offset, self.max_rows_per_file - rows)
            self._append(handle, piece)
            rows += piece.num_rows
            offset += piece.num_rows
            self._open[key] = (handle, path, rows)  # re-inserted: most recently used last
            self.stats.setdefault(name, TableStats()).rows += piece.num_rows
            if rows >= self.max_rows_per_file:
                self._finish(key)

    def _new_file(self, key: tuple, schema):
        name, partition = key
        folder = self.root / name
        for _, value in partition:
            folder = folder / quote(str(value), safe="-_.")
        folder.mkdir(parents=True, exist_ok=True)
        n = self._counters.get(key, 0)
        self._counters[key] = n + 1
        path = folder / f"part-{self.export_id}-{n:05d}{self.suffix}"
        return self._open_file(path, schema), path

    def _make_room(self) -> None:
        while len(self._open) >= MAX_OPEN_FILES:
            self._finish(next(iter(self._open)))  # the least recently used

    def _finish(self, key: tuple) -> None:
        handle, path, _ = self._open.pop(key)
        self._close_file(handle)
        self._record(key[0], path)

    def _record(self, name: str, path: Path) -> None:
        stats = self.stats.setdefault(name, TableStats())
        stats.files += 1
        stats.bytes += path.stat().st_size
        stats.paths.append(str(path.relative_to(self.root)))


def _split(table, keys: list[str]):
    """(partition values, rows) pairs of ``table``, in order of first appearance."""
    import pyarrow.compute as pc

    if not keys:
        yield (), table
        return
    combined = table.column(keys[0])
    for k in keys[1:]:
        combined = pc.binary_join_element_wise(combined, table.column(k), "\x00")
    uniques = pc.unique(combined)
    if len(uniques) == 1:
        yield tuple(table.column(k)[0].as_py() for k in keys), table
        return
    runs = _runs(pc, combined)
    if len(runs) == len(uniques):  # each partition's rows are one run (rows in time order)
        for value, start, stop in runs:
            yield tuple(value.split("\x00")), table.slice(start, stop - start)
        return
    for value in uniques.to_pylist():
        part = table.filter(pc.equal(combined, value))
        yield tuple(value.split("\x00")), part


def _runs(pc, values) -> list[tuple[str, int, int]]:
    """(value, start, stop) of each run of equal consecutive ``values``."""
    values = values.combine_chunks() if hasattr(values, "combine_chunks") else values
    n = len(values)
    changes = pc.not_equal(values.slice(1), values.slice(0, n - 1))
    starts = [0, *(i + 1 for i in pc.indices_nonzero(changes).to_pylist())]
    stops = [*starts[1:], n]
    return [(values[a].as_py(), a, b) for a, b in zip(starts, stops, strict=True)]
