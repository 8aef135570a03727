"""A database created at an older schema version is upgraded in place."""

from __future__ import annotations

import duckdb

from recorder.migrations import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version
from recorder.store import WriterLock, open_writer


def test_version_one_database_is_migrated_keeping_its_rows(lay):
    con = duckdb.connect(str(lay.database))
    migrate(con, upto=1)
    assert schema_version(con) == 1
    con.execute(
        "INSERT INTO sessions VALUES ('S1', 'old', 'r-1', 'h', TIMESTAMP '2026-01-01', NULL, 0, NULL)"
    )
    con.execute(
        "INSERT INTO events (event_id, session_id, seq, ts_start, source, event_type, command, "
        "ingested_at) VALUES ('e1', 'S1', 1, TIMESTAMP '2026-01-01', 'shell', 'command', 'ls', "
        "TIMESTAMP '2026-01-01')"
    )
    con.close()

    lock = WriterLock(lay.writer_lock)
    assert lock.acquire()
    store = open_writer(lay)
    try:
        assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
        columns = {r[0] for r in store.execute("DESCRIBE events").fetchall()}
        assert {"key_count", "click_count", "idle_ms", "window_title"} <= columns
        assert store.execute("SELECT command, key_count FROM events").fetchall() == [("ls", None)]
        assert store.execute("SELECT name FROM sessions").fetchall() == [("old",)]
    finally:
        store.close()
        lock.release()


def test_migrating_twice_applies_nothing(lay):
    con = duckdb.connect(str(lay.database))
    assert len(migrate(con)) == SCHEMA_VERSION
    assert migrate(con) == []
    con.close()
