"""Coalescing raw file-system events into settled paths.

Editors save in bursts of events (create, write, close, rename, delete of
temporaries). The watcher only marks paths as touched here; a path *settles*
once it has seen no event for the debounce window, and the collector then
compares what is on disk with its last snapshot. Many events on one path thus
become one comparison, and the comparison, not the event sequence, decides
what happened. Moves are kept (source, destination) so that a rename can be
told from an atomic save; both ends of a move settle together.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class Batch:
    """Settled paths: path -> wall time of its last event; directories gone; moves."""

    paths: dict[str, float] = field(default_factory=dict)
    trees: dict[str, float] = field(default_factory=dict)
    moves: list[tuple[str, str, float]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.paths or self.trees or self.moves)


class ChangeQueue:
    """Touched paths waiting to settle. ``touch``/``move`` come from the watcher thread."""

    def __init__(self, debounce_s: float):
        self.debounce_s = debounce_s
        self._cond = threading.Condition()
        # path -> (monotonic time of last event, wall time of last event, is a directory tree)
        self._pending: dict[str, tuple[float, float, bool]] = {}
        self._moves: list[tuple[str, str, float]] = []
        self._last_event = 0.0
        self._woken = False
        self.raw_events = 0

    # -- producers -----------------------------------------------------------------------

    def touch(self, path: str, tree: bool = False, delay: float = 0.0) -> None:
        now = time.monotonic()
        wall = time.time()
        with self._cond:
            old = self._pending.get(path)
            self._pending[path] = (now + delay, wall, tree or (old is not None and old[2]))
            self._last_event = max(self._last_event, now)
            self.raw_events += 1
            self._cond.notify()

    def move(self, src: str, dest: str) -> None:
        now = time.monotonic()
        wall = time.time()
        with self._cond:
            self._pending[src] = (now, wall, False)
            self._pending[dest] = (now, wall, False)
            self._moves.append((src, dest, wall))
            self._last_event = now
            self.raw_events += 1
            self._cond.notify()

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    # -- consumer ------------------------------------------------------------------------

    def wait(self, timeout: float) -> Batch:
        """The paths that have settled, waiting up to ``timeout`` for some to do so."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                batch = self._take(now - self.debounce_s)
                if batch or self._woken or now >= deadline:
                    self._woken = False
                    return batch
                if self._pending:
                    soonest = min(t for t, _, _ in self._pending.values()) + self.debounce_s
                    wait_s = max(0.005, min(deadline, soonest) - now)
                else:
                    wait_s = deadline - now
                self._cond.wait(wait_s)

    def take_all(self) -> Batch:
        with self._cond:
            return self._take(float("inf"))

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def quiet_for(self) -> float:
        """Seconds since the last event."""
        with self._cond:
            return time.monotonic() - self._last_event

    def _take(self, settled_before: float) -> Batch:
        batch = Batch()
        if not self._pending:
            return batch
        for path, (mono, wall, tree) in list(self._pending.items()):
            if mono <= settled_before:
                del self._pending[path]
                (batch.trees if tree else batch.paths)[path] = wall
        if batch.paths and self._moves:
            keep = []
            for move in self._moves:
                if move[1] in batch.paths or move[0] in batch.paths:
                    batch.moves.append(move)
                else:
                    keep.append(move)
            self._moves = keep
        return batch
