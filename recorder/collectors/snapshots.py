"""Content-addressed snapshots of watched files, and the diffs between them.

A text file's content (redacted first, when a redactor is configured) is
identified by its sha256 and stored once as a zlib-compressed ``blob`` record;
the event log's ``blobs`` table therefore holds every state a tracked file has
had, and any diff can be recomputed exactly from two hashes. Binary files and
files over the size cap are recorded as metadata (size, hash of the raw bytes),
secret-bearing files as a path and nothing else (they are never opened).

``read_snapshot`` never blocks and never follows a symlink: it opens with
``O_NOFOLLOW | O_NONBLOCK`` and checks that what it opened is a regular file.
``O_NOFOLLOW`` guards only the last component of a path, so both it and
``lstat_regular`` also check that the file opened is the one at the path asked
for (``/proc/self/fd``): a directory swapped for a symlink (``sub -> /elsewhere``,
``cfg -> ~/.ssh``) leads nowhere. Watched roots are resolved at start, so a
file below one has exactly that path.
"""

from __future__ import annotations

import base64
import difflib
import errno
import hashlib
import os
import stat
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass

from recorder import records as R
from recorder.errors import NotAFile

TEXT = "text"
BINARY = "binary"
LARGE = "large"
SECRET = "secret"

# Bytes inspected for a NUL to call a file binary (git's heuristic).
BINARY_SNIFF = 8000
# Files larger than this are not hashed at all (size only): hashing a huge dataset costs too much.
HASH_LIMIT = 256 * 1024 * 1024
_CHUNK = 1 << 20


@dataclass(slots=True)
class FileState:
    """What the collector knows of one file: enough to tell whether it changed."""

    kind: str  # TEXT, BINARY, LARGE or SECRET
    hash: str | None
    size: int | None
    mtime_ns: int | None
    ctime_ns: int | None = None

    def same_stat(self, st: os.stat_result) -> bool:
        return (
            self.size == st.st_size
            and self.mtime_ns == st.st_mtime_ns
            and (self.ctime_ns is None or self.ctime_ns == st.st_ctime_ns)
        )

    def to_json(self) -> list:
        return [self.kind, self.hash, self.size, self.mtime_ns, self.ctime_ns]

    @classmethod
    def from_json(cls, row: list) -> FileState:
        kind, digest, size, mtime_ns, *rest = row
        return cls(kind, digest, size, mtime_ns, rest[0] if rest else None)


@dataclass(slots=True)
class Snapshot:
    """A file as read now: its state and, for text, the (redacted) content."""

    state: FileState
    content: bytes | None  # None unless kind == TEXT


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stat_state(st: os.stat_result, kind: str, digest: str | None) -> FileState:
    return FileState(kind, digest, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def lstat_regular(path: str) -> os.stat_result:
    """``lstat`` of a regular file; NotAFile for anything else (absent, symlink, fifo, dir,
    or reached through a symlinked directory)."""
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotAFile("absent") from None
    except OSError as exc:
        if exc.errno in (errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP):
            raise NotAFile("absent") from None
        raise NotAFile(f"unreadable: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotAFile("symlink" if stat.S_ISLNK(st.st_mode) else "not a regular file")
        _check_opened_at(fd, path)
    finally:
        os.close(fd)
    return st


def _check_opened_at(fd: int, path: str) -> None:
    """NotAFile unless ``fd`` is the file at ``path`` itself, not one a symlinked parent led to."""
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        raise NotAFile("absent") from None
    if opened != path:
        raise NotAFile("outside the watched tree")


def read_snapshot(path: str, cap: int, redactor=None) -> Snapshot:
    """Read a regular file as a snapshot; raises NotAFile."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise NotAFile("absent") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotAFile("symlink") from None
        raise NotAFile(f"unreadable: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotAFile("not a regular file")
        _check_opened_at(fd, path)
        if st.st_size > cap:
            return Snapshot(stat_state(st, LARGE, _hash_fd(fd, st.st_size)), None)
        try:
            data = _read_all(fd, cap + 1)
        except OSError as exc:
            raise NotAFile(f"unreadable: {exc.strerror}") from None
        if len(data) > cap:
            return Snapshot(stat_state(st, LARGE, _hash_rest(fd, data)), None)
    finally:
        os.close(fd)
    if b"\0" in data[:BINARY_SNIFF]:
        return Snapshot(stat_state(st, BINARY, hash_bytes(data)), None)
    content = redact_bytes(data, redactor)
    return Snapshot(stat_state(st, TEXT, hash_bytes(content)), content)


def _read_all(fd: int, limit: int) -> bytes:
    parts = []
    total = 0
    while total < limit:
        chunk = os.read(fd, min(_CHUNK, limit - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def _hash_fd(fd: int, size: int) -> str | None:
    if size > HASH_LIMIT:
        return None
    try:
        return _hash_rest(fd, b"")
    except OSError:
        return None


def _hash_rest(fd: int, head: bytes) -> str | None:
    digest = hashlib.sha256(head)
    total = len(head)
    while True:
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            return digest.hexdigest()
        total += len(chunk)
        if total > HASH_LIMIT:
            return None
        digest.update(chunk)


def redact_bytes(data: bytes, redactor) -> bytes:
    """File content with secrets replaced, as bytes; unchanged when there is no redactor.

    UTF-8 text is redacted as such; other text is read as Latin-1 so that every byte
    survives the round trip.
    """
    if redactor is None:
        return data
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
    redacted = redactor.redact(text).text
    if redacted == text:
        return data
    try:
        return redacted.encode(encoding)
    except UnicodeEncodeError:
        return redacted.encode("utf-8", "backslashreplace")


def as_text(data: bytes) -> str:
    """Bytes shown as text: invalid UTF-8 appears as ``\\xNN``."""
    return data.decode("utf-8", "backslashreplace")


def path_text(path: str) -> str:
    """A file-system path as JSON-safe text (undecodable bytes as ``\\xNN``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def path_is_clean(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def encode_path_key(path: str) -> str:
    """Manifest key for a path: itself, or ``b64:`` + its raw bytes when not UTF-8."""
    if path_is_clean(path) and not path.startswith("b64:"):
        return path
    return "b64:" + base64.b64encode(os.fsencode(path)).decode()


def decode_path_key(key: str) -> str:
    if key.startswith("b64:"):
        return os.fsdecode(base64.b64decode(key[4:]))
    return key


# -- blobs -------------------------------------------------------------------------------


def blob_record(digest: str, content: bytes) -> dict:
    """The spool record storing one snapshot in the ``blobs`` table."""
    packed = zlib.compress(content, 6)
    return R.record(
        R.BLOB,
        None,
        hash_after=digest,
        size=len(content),
        compression="zlib",
        data=base64.b64encode(packed).decode("ascii"),
    )


def unpack_blob(compression: str, data: bytes) -> bytes:
    if compression == "zlib":
        return zlib.decompress(data)
    if compression == "none":
        return bytes(data)
    raise ValueError(f"unknown blob compression {compression!r}")


def fetch_blob(log, digest: str) -> bytes | None:
    """A snapshot's content from the event log (None if it is not there)."""
    found = log.blob(digest)
    return None if found is None else unpack_blob(*found)


class BlobCache:
    """Recent snapshot contents by hash (LRU bounded in bytes), falling back to the log."""

    def __init__(self, log=None, max_bytes: int = 64 * 1024 * 1024):
        self.log = log
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, digest: str, content: bytes) -> None:
        with self._lock:
            if digest in self._items:
                self._items.move_to_end(digest)
                return
            self._items[digest] = content
            self._bytes += len(content)
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= len(old)

    def get(self, digest: str) -> bytes | None:
        with self._lock:
            found = self._items.get(digest)
            if found is not None:
                self._items.move_to_end(digest)
                return found
        if self.log is None:
            return None
        try:
            found = fetch_blob(self.log, digest)
        except Exception:
            return None
        if found is not None:
            self.put(digest, found)
        return found


# -- diffs -------------------------------------------------------------------------------

NO_NEWLINE = "\\ No newline at end of file\n"


@dataclass(frozen=True)
class Diff:
    text: str
    added: int
    removed: int


def unified_diff(before: bytes, after: bytes, old_name: str | None, new_name: str | None) -> Diff:
    """A git-style unified diff (3 lines of context); ``None`` names mean /dev/null."""
    a = split_lines(as_text(before))
    b = split_lines(as_text(after))
    added = removed = 0
    out: list[str] = []
    lines = difflib.unified_diff(
        a,
        b,
        fromfile=f"a/{old_name}" if old_name is not None else "/dev/null",
        tofile=f"b/{new_name}" if new_name is not None else "/dev/null",
        n=3,
    )
    for i, line in enumerate(lines):
        if i >= 2:
            if line.startswith("+"):
                added += 1
            elif line.startswith("-"):
                removed += 1
        if i < 2:
            line = line.rstrip("\n") + "\n"  # difflib may add a date field separator
        if not line.endswith("\n"):
            line += "\n" + NO_NEWLINE
        out.append(line)
    return Diff("".join(out), added, removed)


def diff_from_log(
    log,
    hash_before: str | None,
    hash_after: str | None,
    old_name: str | None,
    new_name: str | None,
) -> Diff | None:
    """The diff between two snapshots of the log (None for an unknown or non-text one).

    How the per-file diffs of a ``burst`` event are rebuilt: its ``extra.changes``
    lists every file with ``hash_before`` and ``hash_after``.
    """
    before = fetch_blob(log, hash_before) if hash_before else b""
    after = fetch_blob(log, hash_after) if hash_after else b""
    if before is None or after is None:
        return None
    return unified_diff(
        before, after, old_name if hash_before else None, new_name if hash_after else None
    )


def split_lines(text: str) -> list[str]:
    """Lines split on ``\n`` only (as git does), each keeping its newline."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines
