"""The git state of a shell command: its cwd's repository, branch and HEAD when it started.

The shell hooks record only a command's cwd and start time; ingest asks
:meth:`GitState.states_at` for the rest. The repository of a directory is the
nearest ancestor with a ``.git`` (``recorder.gitinfo``; worktrees and submodules
included), and no ``git`` process is ever spawned.

Ingest runs up to a poll interval after a command starts, when the command may
already have moved HEAD (``git checkout -b x``), so reading ``.git`` then is not
enough. Each repository seen has a *timeline*: its states (branch, commit), each
with the moment it became current, and a command gets the last state that became
current at or before its start. States are read when the repository is first
seen, whenever an inotify watch (watchdog) on its ``HEAD``, ``packed-refs`` and
``refs/heads/`` reports a change, and again at lookup if the last read is older
than ``REREAD_S`` (in case the watch lags).

The moment a state became current is taken from the files it was read from
(``HEAD``, the branch's ref): their mtime plus the file clock's granularity (the
kernel stamps files with a coarse clock), and never later than the read itself.
So it does not depend on when the daemon looked, and a state read for the first
time applies to earlier commands too if its files were written before them. A
command that started before the oldest known state (typically the first command
seen in a repository, when that command itself moved HEAD before it was
ingested) gets its repository with branch and HEAD unknown (NULL).

Memory is bounded: ``HISTORY`` states per repository, ``MAX_REPOS`` repositories
(the least recently used forgotten first, and any unused for ``FORGET_AFTER_S``),
``MAX_WATCHED`` of them watched (the others are read at lookup only).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from recorder.gitinfo import Head, common_dir, find_git_dir, read_head_written

log = logging.getLogger("recorder.gitstate")

HISTORY = 64  # states kept per repository
MAX_REPOS = 256  # repositories with a timeline
MAX_WATCHED = 16  # of which watched by inotify (3 watches and emitter threads at most each)
FORGET_AFTER_S = 15 * 60.0  # a repository not looked up for this long is forgotten
DIR_TTL_S = 0.2  # a directory's repository is looked up again after this long
MAX_DIRS = 4096  # directories whose repository is remembered
REREAD_S = 0.2  # at lookup, a repository's HEAD is read again if its last read is older


def _file_clock_us() -> int:
    """How far a file's mtime may lag the write (the coarse clock's tick), in microseconds."""
    try:
        return max(1, int(time.clock_getres(time.CLOCK_REALTIME_COARSE) * 1e6))
    except (AttributeError, OSError):
        return 10_000


FILE_CLOCK_US = _file_clock_us()


@dataclass(frozen=True)
class GitAt:
    """A command's git state: its repository's work tree, and its branch and HEAD then."""

    repo: str
    branch: str | None  # None when detached or unknown
    head: str | None  # None for an unborn branch, or unknown


@dataclass
class Timeline:
    """The states of one repository, oldest first, with the moment (µs) each became current."""

    root: str  # the work tree
    git_dir: str
    common_dir: str
    times: list[int] = field(default_factory=list)
    states: list[Head] = field(default_factory=list)
    read_at: float = 0.0  # monotonic time of the last read
    used_at: float = 0.0  # monotonic time of the last lookup

    def read(self) -> None:
        """Read HEAD and, if it changed, add the new state."""
        self.read_at = time.monotonic()
        head, written_ns = read_head_written(Path(self.git_dir))
        if written_ns is None or (self.states and self.states[-1] == head):
            return
        became = min(time.time_ns() // 1000, written_ns // 1000 + FILE_CLOCK_US)
        if self.times:
            became = max(became, self.times[-1])
        self.times.append(became)
        self.states.append(head)
        if len(self.times) > HISTORY:
            del self.times[0], self.states[0]

    def at(self, t_us: int) -> Head | None:
        i = bisect_right(self.times, t_us) - 1
        return self.states[i] if i >= 0 else None

    def covers(self, path: str) -> bool:
        return path.startswith((self.git_dir + os.sep, self.common_dir + os.sep))


class GitState:
    """Repositories and their timelines; ``watch=False`` reads ``.git`` at lookup only
    (for a process that drains the spool once).

    :meth:`states_at` is called by one thread at a time (the ingester's); the watches
    call back from watchdog's thread. watchdog holds its own lock while it calls back,
    so watches are added and removed only while this object's lock is not held."""

    def __init__(self, watch: bool = True, max_watched: int = MAX_WATCHED):
        self._lock = threading.Lock()  # the timelines, and which repositories have one
        # cwd -> (looked up at, (work tree, git directory) or None)
        self._dirs: dict[str, tuple[float, tuple[str, Path] | None]] = {}
        self._repos: OrderedDict[str, Timeline] = OrderedDict()  # least recently used first
        self._watches = GitWatches(self._changed, max_watched) if watch else None

    def states_at(self, cwds: list[str | None], times_us: list[int]) -> list[GitAt | None]:
        """The git state of each (cwd, start time in Unix µs); None outside any repository."""
        import pyarrow as pa

        columns = self.columns_at(pa.array(cwds, pa.string()), pa.array(times_us, pa.int64()))
        rows = zip(*(c.to_pylist() for c in columns), strict=True)
        return [GitAt(repo, branch, head) if repo else None for repo, branch, head in rows]

    def columns_at(self, cwds, times_us):
        """:meth:`states_at` over Arrow arrays (cwd strings, int64 Unix µs): the arrays
        (repo, branch, head), null outside any repository and where unknown. Vectorised:
        Python work per distinct cwd and per state, not per row."""
        import pyarrow as pa
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(_array(cwds))
        now = time.monotonic()
        repos = [self._repo_of(cwd, now) if cwd else None for cwd in encoded.dictionary.to_pylist()]
        self._track(dict(r for r in repos if r), now)
        with self._lock:  # copies: the watch may add states meanwhile
            timelines = {
                r[0]: (list(t.times), list(t.states))
                for r in repos
                if r and (t := self._repos.get(r[0]))
            }
        # Every (repo, branch, head) the rows may get, and per row its number: 0 is none.
        choices: list[tuple] = [(None, None, None)]
        number_of_root: dict[str, int] = {}
        for root, (_, states) in timelines.items():
            number_of_root[root] = len(choices)  # unknown: before the oldest state
            choices.append((root, None, None))
            choices += [(root, h.branch, h.commit) for h in states]
        first_of_cwd = pa.array(
            [number_of_root.get(r[0], 0) if r else 0 for r in repos], pa.int32()
        )
        first = pc.fill_null(pc.take(first_of_cwd, encoded.indices), 0)
        times = pc.fill_null(_array(times_us), 0)
        number = first
        for root, (starts, _) in timelines.items():
            mine = pc.equal(first, number_of_root[root])
            later = first
            for became in starts:  # the states that became current by then
                later = pc.add(later, pc.cast(pc.greater_equal(times, became), pa.int32()))
            number = pc.if_else(mine, later, number)
        return tuple(
            pc.take(pa.array([c[i] for c in choices], pa.string()), number) for i in range(3)
        )

    def history(self, root: str) -> list[tuple[int, Head]]:
        """The states known of the repository at ``root``, oldest first, with the moment
        (Unix µs) each became current."""
        with self._lock:
            timeline = self._repos.get(root)
            return list(zip(timeline.times, timeline.states, strict=True)) if timeline else []

    def watched(self) -> int:
        """How many repositories are watched."""
        return self._watches.count() if self._watches else 0

    def close(self) -> None:
        if self._watches is not None:
            self._watches.stop()

    # -- repositories -----------------------------------------------------------------

    def _repo_of(self, cwd: str, now: float) -> tuple[str, Path] | None:
        known = self._dirs.get(cwd)
        if known is None or now - known[0] > DIR_TTL_S:
            if len(self._dirs) >= MAX_DIRS:
                self._dirs.clear()
            known = self._dirs[cwd] = (now, find_git_dir(cwd))
        return known[1]

    def _track(self, repos: dict[str, Path], now: float) -> None:
        """Give new repositories a timeline (watched first, then read), read again the
        others if their last read is old, and forget the unused ones."""
        for root, git_dir in repos.items():
            if root not in self._repos:
                self._add(root, git_dir)
        with self._lock:
            for root in repos:
                timeline = self._repos[root]
                timeline.used_at = now
                self._repos.move_to_end(root)
                if now - timeline.read_at > REREAD_S:
                    timeline.read()
            unused = [r for r, t in self._repos.items() if now - t.used_at > FORGET_AFTER_S]
            while len(self._repos) - len(unused) > MAX_REPOS:
                unused.append(next(r for r in self._repos if r not in unused))
        for root in unused:
            self._drop(root)

    def _add(self, root: str, git_dir: Path) -> None:
        git = os.path.abspath(git_dir)
        timeline = Timeline(root, git, os.path.abspath(common_dir(Path(git))))
        if self._watches is not None:  # watched before the first read: no change slips between
            self._watches.add(timeline)
        with self._lock:
            timeline.read()
            self._repos[root] = timeline

    def _drop(self, root: str) -> None:
        with self._lock:
            self._repos.pop(root, None)
        if self._watches is not None:
            self._watches.remove(root)

    def _changed(self, path: str) -> None:
        """A watch saw ``path`` change (in watchdog's thread)."""
        with self._lock:
            for timeline in self._repos.values():
                if timeline.covers(path):
                    timeline.read()


def _array(values):
    return values.combine_chunks() if hasattr(values, "combine_chunks") else values


def _relevant(path: str) -> bool:
    """A change to this file can move a HEAD: HEAD, packed-refs or a branch (not locks)."""
    if path.endswith(".lock"):
        return False
    name = os.path.basename(path)
    return name in ("HEAD", "packed-refs") or f"{os.sep}refs{os.sep}heads{os.sep}" in path


class GitWatches:
    """inotify watches on the watched repositories' git directories (one watchdog observer).

    Per repository: its git directory and its common directory (``HEAD``, ``packed-refs``;
    not recursive) and the common directory's ``refs/heads`` (recursive). Watches shared
    by worktrees of one repository are set once. Beyond ``max_watched`` repositories, the
    least recently added stops being watched."""

    def __init__(self, on_change, max_watched: int):
        self.on_change = on_change
        self.max_watched = max_watched
        self._observer = None
        self._handler = None
        self._by_repo: OrderedDict[str, list[tuple[str, bool]]] = OrderedDict()
        self._scheduled: dict[tuple[str, bool], tuple[object, set[str]]] = {}
        self._failed = False

    def count(self) -> int:
        return len(self._by_repo)

    def add(self, timeline: Timeline) -> None:
        if self._failed or not self._start():
            return
        if len(self._by_repo) >= self.max_watched:
            self.remove(next(iter(self._by_repo)))
        wanted = [(timeline.git_dir, False), (timeline.common_dir, False)]
        wanted.append((os.path.join(timeline.common_dir, "refs", "heads"), True))
        kept = []
        for key in dict.fromkeys(wanted):
            if self._schedule(key, timeline.root):
                kept.append(key)
        self._by_repo[timeline.root] = kept

    def remove(self, root: str) -> None:
        for key in self._by_repo.pop(root, []):
            watch, users = self._scheduled[key]
            users.discard(root)
            if not users:
                del self._scheduled[key]
                try:
                    self._observer.unschedule(watch)
                except Exception:  # its directory may be gone already
                    log.debug("unscheduling %s failed", key[0], exc_info=True)

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        self._by_repo.clear()
        self._scheduled.clear()

    def _start(self) -> bool:
        if self._observer is not None:
            return True
        try:
            from watchdog.observers.inotify import InotifyObserver

            self._handler = _Handler(self.on_change)
            self._observer = InotifyObserver()
            self._observer.daemon = True
            self._observer.start()
        except Exception as exc:  # no inotify (instances exhausted ...): read at lookup only
            log.warning("git state: no inotify watches (%s); HEAD is read at ingest only", exc)
            self._failed = True
            return False
        return True

    def _schedule(self, key: tuple[str, bool], root: str) -> bool:
        if key in self._scheduled:
            self._scheduled[key][1].add(root)
            return True
        path, recursive = key
        try:
            watch = self._observer.schedule(self._handler, path, recursive=recursive)
        except Exception as exc:  # gone, or the inotify watch limit
            log.warning("git state: cannot watch %s (%s); it is read at ingest only", path, exc)
            return False
        self._scheduled[key] = (watch, {root})
        return True


class _Handler:
    """watchdog's handler interface, reduced to what matters: which file changed."""

    def __init__(self, on_change):
        self.on_change = on_change

    def dispatch(self, event) -> None:
        for raw in (getattr(event, "dest_path", ""), event.src_path):
            path = os.fsdecode(raw) if raw else ""
            if path and _relevant(path):
                self.on_change(path)
                return
