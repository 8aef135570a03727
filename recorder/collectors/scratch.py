"""The bash hook's scratch files (``state/.cmd.<shell id>.<k>``): erasing what the hook has read.

The bash hook gets each command's text from ``history 1``, which it writes to its
scratch file through one descriptor and reads back at once through another
(``recorder.bash``). Both descriptors stay open and only move forward, so every byte
before the read descriptor's position has been read and is never read again. The
daemon erases exactly those bytes (a punched hole, or zeros), taking the position
from ``/proc/<pid>/fdinfo``; a truncation by another process, by contrast, could land
between the hook's write and its read and make it read nothing. The hook never writes
a scratch file again from offset 0: when it must empty one (a command it does not
record), it empties it and moves to a new one, so a position read here is never stale.

Files of shells that are gone, and files a live shell no longer holds open, are deleted.
Without ``/proc`` (or without access to the shell's descriptors) nothing is erased.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from recorder.paths import Layout
from recorder.spool import erase_range, producer_alive

log = logging.getLogger("recorder.scratch")

PREFIX = ".cmd."


class ScratchSweeper:
    """Erases the read part of every scratch file in a home; skips files unchanged since."""

    def __init__(self, lay: Layout):
        self.lay = lay
        self._done: dict[str, tuple[int, int]] = {}  # name -> (size, mtime_ns) after erasing

    def sweep(self) -> None:
        seen = set()
        for path in self.lay.state.glob(PREFIX + "*"):
            seen.add(path.name)
            pid = _shell_pid(path)
            if pid is None:
                continue
            if not producer_alive(pid):
                path.unlink(missing_ok=True)
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if self._done.get(path.name) == (st.st_size, st.st_mtime_ns):
                continue
            self._erase_read_part(path, pid, st)
        for name in set(self._done) - seen:
            del self._done[name]

    def _erase_read_part(self, path: Path, pid: int, st: os.stat_result) -> None:
        holders = _descriptors_on(pid, st)
        if holders is None:
            return
        if not holders:  # the shell moved on to another scratch file (or exec'd)
            path.unlink(missing_ok=True)
            return
        read_to = min((pos for readable, pos in holders if readable), default=0)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if _same_file(os.fstat(fd), st):
                erase_range(fd, 0, read_to)
                after = os.fstat(fd)
                if read_to >= after.st_size:  # else the hook is between a write and its read
                    self._done[path.name] = (after.st_size, after.st_mtime_ns)
        except OSError as exc:
            log.debug("cannot erase %s: %s", path, exc)
        finally:
            os.close(fd)


def _shell_pid(path: Path) -> int | None:
    head = path.name[len(PREFIX) :].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _descriptors_on(pid: int, st: os.stat_result) -> list[tuple[bool, int]] | None:
    """(opened for reading only, position) of each descriptor of ``pid`` open on the file
    ``st``; None when this process may not look at them."""
    fd_dir = f"/proc/{pid}/fd"
    try:
        numbers = os.listdir(fd_dir)
    except OSError:
        return None
    found = []
    for number in numbers:
        with contextlib.suppress(OSError, ValueError):
            if not _same_file(os.stat(f"{fd_dir}/{number}"), st):
                continue
            info = dict(
                line.split(":", 1)
                for line in Path(f"/proc/{pid}/fdinfo/{number}").read_text().splitlines()
                if ":" in line
            )
            flags = int(info["flags"].strip(), 8)
            found.append((flags & os.O_ACCMODE == os.O_RDONLY, int(info["pos"].strip())))
    return found


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
