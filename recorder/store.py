"""The event log: one DuckDB file, opened for writing by one process only.

DuckDB lets a single process write a file and refuses other opens, even
read-only ones, while it does. The process that writes holds ``writer.lock``
(an ``flock`` released by the kernel if it dies): normally the daemon, or a
command such as ``recorder stop`` draining the spool when no daemon runs.
Readers open the file read-only when no writer holds it, and otherwise go
through the daemon (see ``client.py``).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import Any

from recorder.errors import StoreError
from recorder.migrations import migrate, schema_version
from recorder.paths import Layout

_LOCK_RETRY_S = 15.0


class WriterLock:
    """The exclusive right to write the database, as an flock on ``writer.lock``."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self, wait: bool = False) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def held_elsewhere(self) -> bool:
        """True if another process holds the lock right now."""
        if self._fd is not None:
            return False
        if self.acquire():
            self.release()
            return False
        return True


class Store:
    """A DuckDB connection to the event log."""

    def __init__(self, con, path: Path, read_only: bool):
        self.con = con
        self.path = path
        self.read_only = read_only

    def arrow(self, sql: str, params: list[Any] | None = None):
        """Run a query and return a pyarrow Table (using a cursor, safe across threads)."""
        cur = self.con.cursor()
        try:
            return to_arrow(cur.sql(sql, params=params or None))
        finally:
            cur.close()

    def execute(self, sql: str, params: list[Any] | None = None):
        return self.con.execute(sql, params or [])

    @property
    def schema_version(self) -> int:
        return schema_version(self.con) if not self.read_only else _read_version(self.con)

    def close(self) -> None:
        self.con.close()


def compact(store: Store) -> None:
    """Rewrite the database file so that no text deleted or replaced survives in it.

    DuckDB does not clear the blocks it frees: after an UPDATE or a DELETE and a
    checkpoint the old values are still in the file. The review step (a ``recorder
    redact`` or ``drop``) calls this after changing rows: every table is copied into a
    new file, which then replaces the old one (whose blocks go back to the file system,
    as a deleted spool file's do) together with its write-ahead log, and ``store.con``
    becomes a connection to it. The caller holds the writer lock.
    """
    if store.read_only:
        raise StoreError(f"cannot compact {store.path}: opened read-only")
    path = store.path
    fresh = path.with_name(path.name + ".compact")
    _remove_database_files(fresh)
    con = store.con
    con.execute("CHECKPOINT")
    current = con.execute("SELECT current_database()").fetchone()[0]
    quoted = str(fresh).replace("'", "''")
    import duckdb

    con.execute(f"ATTACH '{quoted}' AS recorder_compacted")
    try:
        con.execute(f'COPY FROM DATABASE "{current}" TO recorder_compacted')
    except duckdb.Error as exc:
        con.execute("DETACH recorder_compacted")
        _remove_database_files(fresh)
        raise StoreError(f"cannot compact {path}: {exc}") from exc
    con.execute("DETACH recorder_compacted")
    con.close()
    os.chmod(fresh, 0o600)
    # Copied whole from the connection: the old write-ahead log has nothing the copy lacks.
    Path(f"{path}.wal").unlink(missing_ok=True)
    os.replace(fresh, path)
    store.con = _connect(path, read_only=False)


def _remove_database_files(path: Path) -> None:
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)


def to_arrow(result):
    """A DuckDB relation as a pyarrow Table."""
    # duckdb >= 1.4 names it to_arrow_table(); older releases arrow().
    method = getattr(result, "to_arrow_table", None) or result.arrow
    table = method()
    return table.read_all() if hasattr(table, "read_all") else table


def _read_version(con) -> int:
    try:
        return con.execute("SELECT count(*) FROM _migrations").fetchone()[0]
    except Exception:
        return 0


def open_writer(lay: Layout) -> Store:
    """Open (creating and migrating) the database for writing. The caller holds the writer lock."""
    import duckdb

    con = _connect(lay.database, read_only=False)
    try:
        migrate(con)
    except duckdb.Error as exc:
        con.close()
        raise StoreError(f"cannot migrate {lay.database}: {exc}") from exc
    os.chmod(lay.database, 0o600)
    return Store(con, lay.database, read_only=False)


def open_reader(lay: Layout) -> Store | None:
    """Open the database read-only, or None if it does not exist yet."""
    if not lay.database.exists():
        return None
    return Store(_connect(lay.database, read_only=True), lay.database, read_only=True)


def empty_log() -> Store:
    """An empty, migrated in-memory log: what a home reads before anything is recorded."""
    import duckdb

    con = duckdb.connect()
    migrate(con)
    return Store(con, Path(":memory:"), read_only=False)


def _connect(path: Path, read_only: bool):
    import duckdb

    deadline = time.monotonic() + _LOCK_RETRY_S
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise StoreError(f"cannot open {path}: {exc}") from exc
            time.sleep(0.05)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open {path}: {exc}") from exc
