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
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from recorder.errors import DaemonError, StoreError
from recorder.migrations import SCHEMA_VERSION, migrate, schema_version, unknown_migrations
from recorder.paths import Layout, open_private

_LOCK_RETRY_S = 15.0
# Another command's held_elsewhere() probe holds the writer lock for an instant; a writer
# that meets one tries again for this long before it takes the lock as really taken.
_PROBE_PATIENCE_S = 2.0


class WriterLock:
    """The exclusive right to write the database, as an flock on ``writer.lock``."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self, wait: bool = False) -> bool:
        """Take the lock; without ``wait``, False if another process holds it."""
        fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def acquire_past_probes(self) -> bool:
        """Take the lock unless a writer holds it: a probe's instant hold is waited out."""
        deadline = time.monotonic() + _PROBE_PATIENCE_S
        while not self.acquire():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
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


class SwapGate:
    """Reads (through cursors) run side by side; :func:`compact`, which closes the
    connection and opens one to the rewritten file, waits for them and holds new ones
    back until the new connection is in place, so that no read meets a closed one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._swapping = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            while self._swapping:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def swapping(self) -> Iterator[None]:
        with self._cond:
            while self._swapping:
                self._cond.wait()
            self._swapping = True
            while self._readers:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._swapping = False
                self._cond.notify_all()


class Store:
    """A DuckDB connection to the event log."""

    def __init__(self, con, path: Path, read_only: bool):
        self.con = con
        self.path = path
        self.read_only = read_only
        self.gate = SwapGate()

    def arrow(self, sql: str, params: list[Any] | None = None):
        """Run a query and return a pyarrow Table (using a cursor, safe across threads)."""
        with self.gate.reading():
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
    with store.gate.swapping():
        _compact(store)


def _compact(store: Store) -> None:
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
    con = _checked_connection(lay.database, read_only=False)
    os.chmod(lay.database, 0o600)
    return Store(con, lay.database, read_only=False)


@contextmanager
def writing(lay: Layout) -> Iterator[Store]:
    """The event log opened for writing by this process, when no daemon runs: the writer
    lock taken (DaemonError if another process holds it) and released after."""
    lock = WriterLock(lay.writer_lock)
    if not lock.acquire_past_probes():
        raise DaemonError("another recorder process is writing the event log; try again")
    try:
        store = open_writer(lay)
        try:
            yield store
        finally:
            store.close()
    finally:
        lock.release()


def open_reader(lay: Layout) -> Store | None:
    """Open the database read-only, or None if it does not exist yet."""
    if not lay.database.exists():
        return None
    return Store(_checked_connection(lay.database, read_only=True), lay.database, read_only=True)


def _checked_connection(path: Path, read_only: bool):
    """A connection to a log this recorder can use (migrated when writing); StoreError
    for a damaged or newer one, which is left as it is."""
    import duckdb

    con = _connect(path, read_only=read_only)
    try:
        _refuse_newer(con, path)
        if not read_only:
            migrate(con)
    except duckdb.Error as exc:
        con.close()
        raise StoreError(_damaged(path)) from exc
    except StoreError:
        con.close()
        raise
    return con


def _refuse_newer(con, path: Path) -> None:
    """StoreError if the log holds migrations this recorder does not know (a newer one wrote it)."""
    unknown = unknown_migrations(con)
    if unknown:
        raise StoreError(
            f"{path} was written by a newer recorder ({len(unknown)} schema migrations this "
            f"one, at version {SCHEMA_VERSION}, does not know); upgrade the recorder to use it"
        )


def _damaged(path: Path) -> str:
    return (
        f"{path} cannot be read: it is damaged or not a recorder event log; it was left "
        "as it is (move it aside to start a new one)"
    )


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
            if "lock" not in str(exc).lower():
                raise StoreError(_damaged(path)) from exc
            if time.monotonic() > deadline:
                raise StoreError(f"{path} is held by another process; try again") from exc
            time.sleep(0.05)
        except duckdb.Error as exc:
            raise StoreError(_damaged(path)) from exc
