"""The file collector: saves in the watched trees as events with exact diffs.

One worker thread owns everything but the watches: at start it recovers the
last snapshot of every file from the event log, puts inotify watches on the
watched trees (``watcher.py``), reconciles the trees with the recovered
snapshots (changes made while no daemon ran) and then turns settled paths
(``debounce.py``) into changes (``changes.py``) and changes into spool records
(``fileevents.py``). Changes close together form an *episode*; an episode with
more changes than ``record.burst_files`` is written as one ``burst`` summary
linked to the shell command that was running, the others as one event per
file. See ``docs/files.md``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from recorder.collectors.changes import Change, Tracker, coalesce
from recorder.collectors.debounce import ChangeQueue
from recorder.collectors.fileevents import EventBuilder, command_at, manifest_bytes
from recorder.collectors.filters import PathRules
from recorder.collectors.recovery import recover_index, wait_for_backlog
from recorder.collectors.roots import WatchedRoots
from recorder.collectors.snapshots import TEXT, BlobCache, Snapshot, blob_record, hash_bytes
from recorder.collectors.watcher import (
    EVENT_FILTER,
    PrunedObserver,
    QueueHandler,
    WatchHooks,
    is_watch_limit,
    unsupported_watchdog_message,
    watch_limit_message,
)
from recorder.errors import SpoolError
from recorder.gitinfo import RepoFinder
from recorder.ids import uuid7
from recorder.spool import SpoolWriter, spool_name

log = logging.getLogger("recorder.files")

# An episode is written after this long even while changes keep coming (a long build).
MAX_EPISODE_S = 10.0
# A burst is over after this long without events (a build or checkout may pause briefly).
BURST_QUIET_S = 1.0
ROOT_CHECK_S = 5.0
# Snapshots are written in groups of this many (a first scan takes thousands).
BLOB_BATCH = 500
STOP_QUIET_S = 1.0


def make_collector(ctx):
    if not ctx.watch:
        return None
    return FileCollector(ctx)


@dataclass
class Episode:
    """Changes close together in time, written at once."""

    changes: list[Change] = field(default_factory=list)
    started: float | None = None  # monotonic

    def add(self, changes: list[Change], keep_content: int) -> None:
        if not changes:
            return
        if self.started is None:
            self.started = time.monotonic()
        self.changes.extend(changes)
        if len(self.changes) > keep_content:
            for change in self.changes:
                change.content = None  # a burst: diffs are rebuilt from the blobs instead

    @property
    def age(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started


class FileCollector:
    name = "files"

    def __init__(self, ctx):
        self.ctx = ctx
        record = ctx.config.settings.record
        self.debounce_s = record.debounce_ms / 1000.0
        self.burst_files = record.burst_files
        self.roots = [str(p) for p in ctx.watch]
        keyed_id = ctx.redactor.keyed_id if ctx.redactor is not None else None
        self.named_roots = WatchedRoots(self.roots, keyed_id)
        self.rules = PathRules(record.exclude_paths)
        self.repos = RepoFinder(self.roots)
        self.queue = ChangeQueue(self.debounce_s)
        self.blobs = BlobCache(ctx.log)
        self.tracker = Tracker(
            self.rules,
            self.repos,
            ctx.config.file_cap,
            ctx.redactor,
            self._snapshot_taken,
            delete_grace_s=max(0.2, 3 * self.debounce_s),
        )
        self.builder = EventBuilder(ctx.session_id, self.blobs, self.named_roots)
        ident = f"{os.getpid()}-{time.time_ns() // 1_000_000}"
        self.writer = SpoolWriter(ctx.lay.spool / spool_name("files", ident))
        self.hooks = WatchHooks(prune=self.tracker.prune, overflow=self._overflowed)
        self.episode = Episode()
        self.observer: PrunedObserver | None = None
        self.watches: dict[str, Any] = {}
        self._blob_records: list[dict] = []
        self._stored: set[str] = set()
        self._manifest_roots: set[str] = set()
        self._gone: set[str] = set()
        self._rescan: set[str] = set()
        self._flag_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_root_check = 0.0
        self.state = "new"
        self.warnings: list[str] = []
        self.last_error: str | None = None
        self.counts = {"events": 0, "bursts": 0, "blobs": 0, "reconciled": 0}
        self.timings: dict[str, float] = {}

    # -- Collector protocol ---------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="files", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Record what is pending, stop watching, close the spool file. Idempotent."""
        self._stop.set()
        self.queue.wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=120)

    def status(self) -> dict[str, Any]:
        observer = self.observer
        return {
            "state": self.state,
            "roots": self.roots,
            "watched_dirs": observer.watch_count() if observer else 0,
            "unwatched_dirs": self.hooks.limit_errors,
            "unwatched_examples": list(self.hooks.unwatched[:5]),
            "tracked_files": len(self.tracker.index),
            "pending_paths": self.queue.pending,
            "raw_events": self.queue.raw_events,
            **self.counts,
            **{f"{k}_s": round(v, 3) for k, v in self.timings.items()},
            "unreadable": len(self.tracker.unreadable),
            "warnings": list(self.warnings),
            "last_error": self.last_error,
        }

    # -- the worker -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self.state = "recovering"
            self._recover()
            self.state = "watching"
            self._watch_all()
            self.state = "scanning"
            self._reconcile_all()
            self.state = "ready"
            self._loop()
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.state = "failed"
            log.exception("file collector failed")
        finally:
            self._finish()

    def _recover(self) -> None:
        started = time.monotonic()
        wait_for_backlog(self.ctx.log, self.ctx.lay.spool, self.writer.path.name, 60.0)
        try:
            index, roots = recover_index(self.ctx.log, self.named_roots, self.blobs)
        except Exception as exc:
            log.warning("cannot recover file snapshots from the log (%s); starting afresh", exc)
            index, roots = {}, set()
        self.tracker.index.update(index)
        self._manifest_roots = roots
        self.timings["recover"] = time.monotonic() - started

    def _watch_all(self) -> None:
        started = time.monotonic()
        self.observer = PrunedObserver(self.hooks)
        self.observer.start()
        for root in self.roots:
            self._watch(root)
        self.timings["watch_setup"] = time.monotonic() - started

    def _watch(self, root: str) -> bool:
        refused_before = self.hooks.limit_errors
        watched_before = self.observer.watch_count()
        handler = QueueHandler(self.queue, self._root_event)
        try:
            self.watches[root] = self.observer.schedule(
                handler, root, recursive=True, event_filter=EVENT_FILTER
            )
        except OSError as exc:
            if is_watch_limit(exc):
                self._warn(watch_limit_message(root, 1, [root]))
            else:
                self._warn(f"cannot watch {root}: {exc.strerror or exc}")
            with self._flag_lock:
                self._gone.add(root)
            return False
        refused = self.hooks.limit_errors - refused_before
        if refused:
            self._warn(watch_limit_message(root, refused, self.hooks.unwatched))
        elif self.observer.watch_count() == watched_before:
            self._warn(unsupported_watchdog_message(root))
        return True

    def _reconcile_all(self) -> None:
        started = time.monotonic()
        for root in self.roots:
            if self._stop.is_set():
                break
            if os.path.isdir(root):
                self._reconcile(root, baseline=root not in self._manifest_roots)
        self.timings["scan"] = time.monotonic() - started

    def _reconcile(self, root: str, baseline: bool) -> None:
        """Compare a tree with the last snapshots; record what changed and a new manifest."""
        t = time.time()
        changes = self.tracker.scan(
            root,
            t,
            report=not baseline,
            keep_content=self.burst_files,
            cancelled=self._stop.is_set,
        )
        self._write_blobs()
        if self._stop.is_set():
            return  # incomplete: no manifest, the next start scans again
        manifest = manifest_bytes(root, self.named_roots.id_of(root), self.tracker.index)
        digest = hash_bytes(manifest)
        self._write([blob_record(digest, manifest)])
        reconcile_id = uuid7()
        listed = len(changes) > self.burst_files
        records = []
        if not listed:
            self.builder.new_flush()
            extra = {"offline": True, "reconcile_id": reconcile_id}
            records = [self.builder.change_event(c, extra) for c in changes]
        files = sum(1 for p in self.tracker.index if p.startswith(root.rstrip(os.sep) + os.sep))
        records.append(
            self.builder.reconcile_event(
                root, changes, digest, files, reconcile_id, baseline, listed, time.time()
            )
        )
        self._write(records)
        self._manifest_roots.add(root)
        self.counts["reconciled"] += len(changes)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:  # keep recording: one bad batch must not end the collector
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("file collector step failed; going on")
                time.sleep(0.5)

    def _step(self) -> None:
        """Settle what is due, rescan what lost events, write a finished episode."""
        batch = self.queue.wait(0.05 if self.episode.changes else 2.0)
        if batch:
            changes, recheck = self.tracker.settle(batch)
            for path in recheck:
                self.queue.touch(path, delay=self.tracker.delete_grace_s)
            self._write_blobs()
            self.episode.add(changes, self.burst_files)
        self._rescan_requested()
        if self.episode.changes and (self._episode_over() or self.episode.age > MAX_EPISODE_S):
            self._flush_episode()
        if time.monotonic() >= self._next_root_check:
            self._check_roots()

    def _episode_over(self) -> bool:
        """Nothing pending and quiet long enough (longer for a burst, which may pause)."""
        if self.queue.pending:
            return False
        burst = len(self.episode.changes) > self.burst_files
        needed = BURST_QUIET_S if burst else 2 * self.debounce_s
        return self.queue.quiet_for() >= needed

    def _finish(self) -> None:
        """On stop: take in the last events, settle everything, write, close."""
        try:
            if self.observer is not None:
                deadline = time.monotonic() + STOP_QUIET_S
                # Until the kernel's queue is read (a loaded machine may not have run the
                # reader thread yet) and no event came for two settling periods.
                while time.monotonic() < deadline and (
                    self.observer.unread() or self.queue.quiet_for() < 2 * self.debounce_s
                ):
                    time.sleep(0.02)
                self.observer.stop()
                self.observer.join(timeout=10)
            if self.state == "ready":
                batch = self.queue.take_all()
                changes, recheck = self.tracker.settle(batch)
                for path in recheck:
                    change = self.tracker.update(path, time.time(), grace=False)
                    if change is not None:
                        changes.append(change)
                self._write_blobs()
                self.episode.add(changes, self.burst_files)
                self._flush_episode()
        except Exception:
            log.exception("file collector: final flush failed")
        finally:
            self.state = "stopped"
            try:
                self.writer.flush()
            except SpoolError as exc:
                log.error("%s", exc)
            self.writer.close()

    # -- episodes -------------------------------------------------------------------------

    def _flush_episode(self) -> None:
        changes = self.episode.changes
        self.episode = Episode()
        if not changes:
            return
        self.builder.new_flush()
        if len(changes) > self.burst_files:
            changes = coalesce(changes)
            first = min(c.t for c in changes)
            last = max(c.t for c in changes)
            command = command_at(self.ctx.log, self.ctx.session_id, first)
            record = self.builder.burst_event(changes, uuid7(), first, last, command)
            self._write([record])
            self.counts["bursts"] += 1
        else:
            self._write([self.builder.change_event(c) for c in changes])
            self.counts["events"] += len(changes)

    # -- snapshots and the spool ----------------------------------------------------------

    def _snapshot_taken(self, snap: Snapshot) -> None:
        state = snap.state
        if state.kind != TEXT or snap.content is None or state.hash is None:
            return
        self.blobs.put(state.hash, snap.content)
        if state.hash not in self._stored:
            self._stored.add(state.hash)
            self._blob_records.append(blob_record(state.hash, snap.content))
            if len(self._blob_records) >= BLOB_BATCH:
                self._write_blobs()

    def _write_blobs(self) -> None:
        if self._blob_records:
            records, self._blob_records = self._blob_records, []
            self.counts["blobs"] += len(records)
            self._write(records)

    def _write(self, records: list[dict]) -> None:
        try:
            self.writer.append(records)
        except SpoolError as exc:  # kept pending in memory; retried with the next append
            self.last_error = str(exc)
            log.error("%s", exc)

    # -- trees that go, come back, or lost events -----------------------------------------

    def _root_event(self, path: str) -> None:
        if path in self.roots:
            with self._flag_lock:
                self._gone.add(path)
            self._warn(f"watched directory {path} disappeared; watching for it to come back")

    def _overflowed(self, root: str) -> None:
        with self._flag_lock:
            self._rescan.add(root)
        self.queue.wake()

    def _rescan_requested(self) -> None:
        with self._flag_lock:
            roots, self._rescan = self._rescan, set()
        for root in roots:
            log.warning("inotify dropped events under %s; rescanning it", root)
            changes = self.tracker.scan(root, time.time(), report=True, keep_content=0)
            for change in changes:
                change.extra["rescan"] = True
            self._write_blobs()
            self.episode.add(changes, self.burst_files)

    def _check_roots(self) -> None:
        self._next_root_check = time.monotonic() + ROOT_CHECK_S
        with self._flag_lock:
            gone = [root for root in self._gone if os.path.isdir(root)]
        for root in gone:
            watch = self.watches.pop(root, None)
            if watch is not None:
                with contextlib.suppress(KeyError, RuntimeError):
                    self.observer.unschedule(watch)
            with self._flag_lock:
                self._gone.discard(root)
            self.repos.forget(root)
            if self._watch(root):
                log.info("watched directory %s is back", root)
                with self._flag_lock:
                    self._rescan.add(root)

    def _warn(self, message: str) -> None:
        log.error("%s", message)
        if message not in self.warnings:
            self.warnings.append(message)
        del self.warnings[:-10]
