"""The inotify side of the file collector: watchdog's inotify observer, pruned.

watchdog's ``InotifyObserver`` puts one inotify watch on every directory of a
recursive tree. This module subclasses its watch group so that

- ignored directories (``.git``, ``node_modules``, virtualenvs, gitignored
  trees ...) are neither walked nor watched, which keeps ``git`` and package
  managers from flooding the collector and saves inotify watches;
- a directory that cannot be watched because ``fs.inotify.max_user_watches`` is
  reached is counted and reported instead of silently skipped, and the rest of
  the tree keeps being watched;
- a kernel queue overflow (events lost) is reported so that the collector can
  rescan the tree.

Only the events that can change content are requested from the kernel (create,
modify, attribute, close-after-write, move, delete): read-only opens produce
nothing at all. The handler only marks paths in the :class:`ChangeQueue`.

Relies on the internals of watchdog 7.1.1's ``InotifyWatchGroup`` (its tree of
``DirNode`` by watch descriptor) and ``InotifyFD``; they changed in a patch release
(7.1.0 kept two flat dictionaries), so pyproject.toml pins watchdog exactly, and the
collector reports a tree it could not watch at all (``watched_dirs`` 0) as failed.
"""

from __future__ import annotations

import array
import errno
import fcntl
import logging
import os
import termios
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import DEFAULT_OBSERVER_TIMEOUT, BaseObserver
from watchdog.observers.inotify import (
    _INVALID_WD,
    InotifyEmitter,
    InotifyObserver,
    InotifyWatchGroup,
)
from watchdog.observers.inotify_c import InotifyConstants, InotifyEvent, InotifyFD, Mask

from recorder.collectors.debounce import ChangeQueue
from recorder.collectors.walk import walk_tree

log = logging.getLogger("recorder.files")

WATCH_LIMIT_SYSCTL = "fs.inotify.max_user_watches"
EVENT_FILTER = [
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]


def max_user_watches() -> int | None:
    """The inotify watch limit in force (the namespace's own, when lower than the sysctl)."""
    values = []
    for path in ("/proc/sys/fs/inotify/max_user_watches", "/proc/sys/user/max_inotify_watches"):
        try:
            with open(path) as fh:
                values.append(int(fh.read().strip()))
        except (OSError, ValueError):
            pass
    return min(values) if values else None


@dataclass
class WatchHooks:
    """What the watch groups ask of, and tell, the collector."""

    prune: Callable[[str], bool]  # True: do not watch this directory nor anything below
    overflow: Callable[[str], None]  # the kernel dropped events for this watched root
    unwatched: list[str] = field(default_factory=list)  # directories refused by the limit
    limit_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refused(self, path: str) -> None:
        with self.lock:
            self.limit_errors += 1
            if len(self.unwatched) < 20:
                self.unwatched.append(path)


@dataclass
class PrunedWatchGroup(InotifyWatchGroup):
    """A recursive watch group that skips pruned directories and counts refused watches."""

    hooks: WatchHooks | None = None

    def _pruned(self, path: bytes) -> bool:
        if self.hooks is None or path == self.path:
            return False
        return os.path.islink(path) or self.hooks.prune(os.fsdecode(path))

    def _add_all_callbacks(self, path: bytes) -> None:
        if self._pruned(path):
            return
        self._add_callback(path)
        if not (self.is_recursive and os.path.isdir(path)):
            return
        for root, dirnames, _ in walk_tree(path):
            kept = [d for d in dirnames if not self._pruned(os.path.join(root, d))]
            dirnames[:] = kept
            for dirname in kept:
                self._add_callback(os.path.join(root, dirname))

    def _add_callback(self, path: bytes) -> None:
        # watchdog's own version logs and forgets a refused watch; this one counts it.
        existing = self._find_node_by_path(path)
        if existing is not None and existing.wd != _INVALID_WD:
            return
        try:
            wd = self._inotify_fd.add_callback(path, self.event_mask, self._callback, self._id)
        except OSError as exc:
            if exc.errno == errno.ENOSPC and self.hooks is not None:
                self.hooks.refused(os.fsdecode(path))
            if path == self.path:
                raise
            return
        if self._insert_node(path, wd) is None:
            self._inotify_fd.remove_callbacks([(wd, self._id)])

    def _recursive_simulate(self, src_path: bytes) -> list[InotifyEvent]:
        # Creations inside a directory that appeared (mkdir -p a/b; a copy; a checkout), for the
        # watched part of it only. Walks the watch tree beside the directory tree, so that each
        # level costs one dictionary lookup, not a path resolution.
        start = self._find_node_by_path(src_path)
        if start is None or start.wd == _INVALID_WD:
            return []
        nodes = {src_path: start}
        events = []
        for root, dirnames, filenames in walk_tree(src_path):
            node = nodes.pop(root, None)
            if node is None:
                dirnames[:] = []
                continue
            kept = []
            for dirname in dirnames:
                child = node.children.get(dirname)
                if child is not None and child.wd != _INVALID_WD:
                    kept.append(dirname)
                    nodes[os.path.join(root, dirname)] = child
            dirnames[:] = kept
            for dirname in kept:
                mask = Mask(InotifyConstants.IN_CREATE | InotifyConstants.IN_ISDIR)
                events.append(InotifyEvent(node.wd, mask, 0, dirname))
            for filename in filenames:
                events.append(InotifyEvent(node.wd, InotifyConstants.IN_CREATE, 0, filename))
        return events

    def on_queue_overflow(self) -> None:
        super().on_queue_overflow()
        if self.hooks is not None:
            self.hooks.overflow(os.fsdecode(self.path))

    @property
    def watch_count(self) -> int:
        return len(self._nodes_by_wd)


class PrunedEmitter(InotifyEmitter):
    def __init__(self, event_queue, watch, *, hooks: WatchHooks, **kwargs):
        super().__init__(event_queue, watch, **kwargs)
        self.hooks = hooks

    def on_thread_start(self) -> None:
        self._inotify = PrunedWatchGroup(
            self._inotify_fd,
            os.fsencode(self.watch.path),
            event_mask=self.get_event_mask_from_filter(),
            is_recursive=self.watch.is_recursive,
            follow_symlink=False,
            hooks=self.hooks,
        )

    @property
    def watch_count(self) -> int:
        group = self._inotify
        return group.watch_count if isinstance(group, PrunedWatchGroup) else 0


class PrunedObserver(InotifyObserver):
    """An inotify observer whose emitters prune ignored directories."""

    def __init__(self, hooks: WatchHooks, timeout: float = DEFAULT_OBSERVER_TIMEOUT):
        self._inotify_fd = InotifyFD()
        self._inotify_fd.start()
        BaseObserver.__init__(
            self, PrunedEmitter, timeout=timeout, inotify_fd=self._inotify_fd, hooks=hooks
        )

    def watch_count(self) -> int:
        return sum(getattr(e, "watch_count", 0) for e in list(self.emitters))

    def unread(self) -> bool:
        """Whether inotify events wait in the kernel, or between watchdog's reader and
        dispatcher threads (``InotifyFD``'s raw queue): not yet seen by the handler."""
        reader = self._inotify_fd
        waiting = array.array("i", [0])
        try:
            fcntl.ioctl(reader._inotify_fd, termios.FIONREAD, waiting)
        except OSError:
            return False
        return waiting[0] > 0 or not reader._raw_queue.empty()


class QueueHandler(FileSystemEventHandler):
    """Turns watchdog events into touched paths; runs in the observer's thread."""

    def __init__(self, queue: ChangeQueue, root_gone: Callable[[str], None]):
        self.queue = queue
        self.root_gone = root_gone

    def dispatch(self, event: FileSystemEvent) -> None:
        src = os.fsdecode(event.src_path)
        if isinstance(event, FileMovedEvent):
            dest = os.fsdecode(event.dest_path)
            if src and dest:
                self.queue.move(src, dest)
            elif dest:
                self.queue.touch(dest)
            elif src:
                self.queue.touch(src)
        elif isinstance(event, DirMovedEvent):
            self.queue.touch(src, tree=True)
        elif isinstance(event, DirDeletedEvent):
            self.queue.touch(src, tree=True)
            self.root_gone(src)
        elif isinstance(event, DirCreatedEvent):
            return  # its content arrives as creations of its own
        elif src:
            self.queue.touch(src)


def watch_limit_message(root: str, refused: int, examples: list[str]) -> str:
    limit = max_user_watches()
    shown = f" (e.g. {examples[0]})" if examples else ""
    return (
        f"inotify watch limit reached: {refused} directories under {root} are not watched"
        f"{shown}; sysctl {WATCH_LIMIT_SYSCTL} = {limit}. Raise it with "
        f"`sudo sysctl {WATCH_LIMIT_SYSCTL}=524288` (and in /etc/sysctl.d/ to keep it); "
        "the rest of the tree is still recorded, and saves in the unwatched directories "
        "are found at the next start."
    )


def unsupported_watchdog_message(root: str) -> str:
    from importlib.metadata import version

    return (
        f"no directory under {root} could be watched with watchdog {version('watchdog')}: "
        "this recorder is built against watchdog 7.1.1 (pyproject.toml pins it); saves are "
        "found only when a session starts. Run `pip install watchdog==7.1.1`."
    )


def is_watch_limit(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC
