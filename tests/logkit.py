"""Reading the event log from tests, through its named reads as every reader does.

``log_sql`` lets a test filter the log with SQL of its own: it takes a snapshot of
every session's events (every column) through ``recorder.eventlog`` (the daemon's
socket while one runs, else the file) and runs the SQL on that snapshot in an
in-memory DuckDB, where the table is called ``events``. Nothing a test writes here
reaches the daemon. ``stored_blobs`` reads the blob table of a stopped recorder's
file directly, to check what is kept on disk.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from recorder.collectors.snapshots import unpack_blob
from recorder.eventlog import open_log
from recorder.paths import Layout
from recorder.store import empty_log, open_reader, to_arrow


def events_snapshot(lay: Layout) -> pa.Table:
    """Every event of every session, every column, as one Arrow table."""
    with open_log(lay) as log:
        tables = [log.events(s["session_id"], columns="all") for s in log.sessions()]
    if not tables:
        store = empty_log()
        try:
            return store.arrow("SELECT * FROM events")
        finally:
            store.close()
    return pa.concat_tables(tables)


def log_sql(lay: Layout, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """A test's SQL over a snapshot of the log's ``events`` (see the module docstring)."""
    events = events_snapshot(lay)
    con = duckdb.connect()
    try:
        con.register("events", events)
        return to_arrow(con.sql(sql, params=params or None)).to_pylist()
    finally:
        con.close()


def stored_blob_hashes(lay: Layout) -> set[str]:
    """The hash of every blob in the log file (the recorder must be stopped)."""
    store = open_reader(lay)
    if store is None:
        return set()
    try:
        return {row["hash"] for row in store.arrow("SELECT hash FROM blobs").to_pylist()}
    finally:
        store.close()


def stored_blobs(lay: Layout) -> list[bytes]:
    """The content of every blob in the log file (the recorder must be stopped)."""
    store = open_reader(lay)
    if store is None:
        return []
    try:
        rows = store.arrow("SELECT compression, data FROM blobs").to_pylist()
    finally:
        store.close()
    return [unpack_blob(r["compression"], r["data"]) for r in rows]
