"""The spool: durable, append-only, line-framed queues between collectors and the daemon.

Every producer appends JSON lines to a file of its own in ``<home>/spool``. The
file name carries the producer and the format version, ``<producer>.<id>.v1.jsonl``,
so that a newer recorder can change the format without misreading old files.
Files survive a stopped daemon; the daemon ingests them, remembers how far it
got in the same transaction as the events, then erases exactly the ingested
bytes (so raw text is on disk only until it is in the log) and deletes a file
once its producer is gone.

A file name is never reused: a new producer (a shell, a CLI command, a
daemon) starts a new file. Producers that nevertheless share one take an
exclusive ``flock`` around each append (``shared=True``), and the daemon takes
the same lock before deleting, so that no append lands in an unlinked file.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recorder.errors import SpoolError
from recorder.paths import open_private

FORMAT_VERSION = 1
JSONL_SUFFIX = f".v{FORMAT_VERSION}.jsonl"
RAW_SUFFIX = f".v{FORMAT_VERSION}.raw"


def spool_name(producer: str, ident: str | int | None = None, suffix: str = JSONL_SUFFIX) -> str:
    """``shell.4242-1764100000`` + ``.v1.jsonl``; ident carries the producer pid first."""
    return f"{producer}.{ident}{suffix}" if ident is not None else f"{producer}{suffix}"


@dataclass(frozen=True)
class SpoolFile:
    path: Path
    producer: str
    ident: str | None
    kind: str  # "jsonl" or "raw"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def producer_pid(self) -> int | None:
        """The pid encoded first in the ident (``4242-...``), if any."""
        if not self.ident:
            return None
        head = self.ident.split("-", 1)[0]
        return int(head) if head.isdigit() else None


def parse_name(path: Path) -> SpoolFile | None:
    """A spool file of this format version, or None for anything else."""
    name = path.name
    for suffix, kind in ((JSONL_SUFFIX, "jsonl"), (RAW_SUFFIX, "raw")):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            producer, _, ident = stem.partition(".")
            if producer:
                return SpoolFile(path, producer, ident or None, kind)
    return None


def list_spool(spool_dir: Path) -> list[SpoolFile]:
    files = []
    try:
        entries = sorted(spool_dir.iterdir())
    except FileNotFoundError:
        return []
    for entry in entries:
        parsed = parse_name(entry)
        if parsed is not None and not entry.is_symlink():  # never read through a planted link
            files.append(parsed)
    return files


def encode_record(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


class SpoolWriter:
    """Appends records to one spool file; keeps them in memory while the disk is full."""

    def __init__(self, path: Path, shared: bool = False):
        self.path = path
        self.shared = shared
        self._pending: list[bytes] = []
        self._fd: int | None = None
        self._torn = False  # the file may end in a fragment this writer could not remove

    def append(self, records: Iterable[Mapping[str, Any]]) -> None:
        self._pending.extend(encode_record(r) for r in records)
        self.flush()

    def flush(self) -> None:
        """Write what is pending; raise SpoolError (keeping it pending) if the disk refuses.

        A write the disk cuts short keeps the whole records it took, and takes back the
        part of the next one (truncating the file to the last newline written): a partial
        record never runs into the record written after it.
        """
        if not self._pending:
            return
        data = b"".join(self._pending)
        try:
            fd = self._open()
            if self.shared:
                fcntl.flock(fd, fcntl.LOCK_EX)
                fd = self._reopen_if_unlinked(fd)
            try:
                self._write(fd, data)
            finally:
                if self.shared:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError as exc:
            raise SpoolError(f"cannot write to spool {self.path}: {exc.strerror}") from exc
        self._pending.clear()

    def _write(self, fd: int, data: bytes) -> None:
        if self._torn:
            data = b"\n" + data  # a fragment could not be taken back: start on a fresh line
        start = os.fstat(fd).st_size  # where O_APPEND writes: this writer holds the file
        written, error = _write_prefix(fd, data)
        if error is None:
            self._torn = False
            return
        whole = data.rfind(b"\n", 0, written) + 1
        self._keep_unwritten(data[whole:])
        if written > whole:
            try:
                os.ftruncate(fd, start + whole)
                self._torn = False
            except OSError:
                self._torn = True
        raise error

    def _keep_unwritten(self, rest: bytes) -> None:
        rest = rest.removeprefix(b"\n")
        self._pending = [line + b"\n" for line in rest.split(b"\n")[:-1]]

    @property
    def pending(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> int:
        if self._fd is None:
            self._fd = open_private(self.path)
        return self._fd

    def _reopen_if_unlinked(self, fd: int) -> int:
        if os.fstat(fd).st_nlink > 0:
            return fd
        fcntl.flock(fd, fcntl.LOCK_UN)
        self.close()
        fd = self._open()
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd


def _write_prefix(fd: int, data: bytes) -> tuple[int, OSError | None]:
    """Write ``data``; the bytes written, and the error that stopped it short, if one did."""
    view = memoryview(data)
    done = 0
    while done < len(data):
        try:
            done += os.write(fd, view[done:])
        except OSError as exc:
            return done, exc
    return done, None


def append_records(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """One locked append of records to a spool file, then close it."""
    writer = SpoolWriter(path, shared=True)
    try:
        writer.append(records)
    finally:
        writer.close()


def read_complete_lines(path: Path, offset: int, max_bytes: int) -> tuple[bytes, int]:
    """Bytes from ``offset`` up to the last newline within ``max_bytes``, and the new offset.

    A trailing line without its newline is left for later: its writer may be mid-write.
    A single line longer than ``max_bytes`` is read whole.
    """
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read(max_bytes)
        end = data.rfind(b"\n")
        while end < 0 and len(data) == max_bytes:
            more = fh.read(max_bytes)
            if not more:
                break
            data += more
            end = data.rfind(b"\n")
    if end < 0:
        return b"", offset
    return data[: end + 1], offset + end + 1


def producer_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_if_drained(spool: SpoolFile, ingested_to: int, min_age_s: float = 2.0) -> bool:
    """Delete a file fully ingested whose producer is gone. True if deleted."""
    path = spool.path
    try:
        st = path.stat()
    except FileNotFoundError:
        return True
    if st.st_size != ingested_to or time.time() - st.st_mtime < min_age_s:
        return False
    if producer_alive(spool.producer_pid):
        return False
    with path.open("rb") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        if os.fstat(fh.fileno()).st_size != ingested_to:
            return False
        path.unlink()
    return True


_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02
_libc = None


def scrub_ingested(path: Path, upto: int, already: int) -> int:
    """Erase the bytes [already, upto) of a spool file so ingested text does not linger.

    The exact range is freed (a punched hole: partial blocks at its ends are zeroed),
    or overwritten with zeros where the file system cannot punch. Either keeps the
    file's size and every offset valid for its writer, which appends with O_APPEND
    past the range. Returns the new scrubbed offset (``already`` if the file is gone).
    """
    if upto <= already:
        return already
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return already
    try:
        erase_range(fd, already, upto - already)
    except OSError:
        return already
    finally:
        os.close(fd)
    return upto


def erase_range(fd: int, start: int, length: int) -> None:
    """Punch a hole over [start, start + length) of ``fd``, or write zeros over it."""
    global _libc
    if length <= 0:
        return
    if _libc is None:
        import ctypes  # here: loading ctypes costs every CLI run ~5 ms
        import ctypes.util

        _libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        _libc.fallocate.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_longlong,
            ctypes.c_longlong,
        ]
    mode = _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE
    if _libc.fallocate(fd, mode, start, length) == 0:
        return
    zeros = bytes(min(length, 1 << 20))
    done = 0
    while done < length:
        done += os.pwrite(fd, zeros[: length - done], start + done)
