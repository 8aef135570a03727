"""Spool records of the file collector: per-file events, burst and reconcile summaries.

Every change becomes an ``event`` record of source ``file`` (see
``docs/files.md``): ``save``, ``create``, ``delete`` or ``rename``, with the path
relative to its repository, the repository, the unified diff against the last
snapshot, line counts, both hashes, the branch and HEAD. A burst (more changes
at once than ``record.burst_files``) becomes one ``burst`` event listing every
file with its hashes instead; the diffs stay computable from the blobs. A
``reconcile`` event closes the scan made at start: it names the manifest (a
blob mapping every tracked file of the root to its last snapshot) from which
the next start recovers.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from recorder import records as R
from recorder.collectors.changes import CREATE, DELETE, Change
from recorder.collectors.roots import WatchedRoots
from recorder.collectors.snapshots import (
    SECRET,
    TEXT,
    BlobCache,
    FileState,
    encode_path_key,
    path_text,
    unified_diff,
)
from recorder.gitinfo import Head, read_head

SOURCE = "file"
MANIFEST_VERSION = 1


class EventBuilder:
    def __init__(self, session_id: str, blobs: BlobCache, roots: WatchedRoots):
        self.session_id = session_id
        self.blobs = blobs
        self.roots = roots
        self._heads: dict[str, Head] = {}

    def new_flush(self) -> None:
        """Forget cached HEADs: read them again for the next group of events."""
        self._heads.clear()

    def head(self, change: Change) -> Head:
        root = change.repo.root
        if root not in self._heads:
            self._heads[root] = read_head(change.repo.git_dir)
        return self._heads[root]

    # -- one change ---------------------------------------------------------------------

    def change_event(self, change: Change, extra: dict | None = None) -> dict:
        rel, old_rel = _rel(change.path, change), _rel(change.old_path, change)
        diff = self._diff(change, rel, old_rel)
        after, before = change.after, change.before
        head = self.head(change)
        fields = {
            "source": SOURCE,
            "event": change.kind,
            "path": path_text(rel),
            "repo": path_text(change.repo.root),
            "old_path": path_text(old_rel) if old_rel is not None else None,
            "hash_before": before.hash if before else None,
            "hash_after": after.hash if after else None,
            "branch": head.branch,
            "head": head.commit,
            "size": after.size if after and after.kind != SECRET else None,
            "extra": {**self._extra(change), **(extra or {})},
        }
        if diff is not None:
            fields.update(diff=diff.text, added=diff.added, removed=diff.removed)
        return R.record(R.EVENT, self.session_id, t=change.t, **fields)

    def _diff(self, change: Change, rel: str, old_rel: str | None):
        before = self._content(change.before)
        after = change.content if change.content is not None else self._content(change.after)
        if change.kind == CREATE:
            before = b"" if change.after and change.after.kind == TEXT else None
        if change.kind == DELETE:
            after = b"" if change.before and change.before.kind == TEXT else None
        if before is None or after is None:
            return None
        old_name = None if change.kind == CREATE else (old_rel or rel)
        new_name = None if change.kind == DELETE else rel
        return unified_diff(
            before,
            after,
            path_text(old_name) if old_name else None,
            path_text(new_name) if new_name else None,
        )

    def _content(self, state: FileState | None) -> bytes | None:
        if state is None or state.kind != TEXT or state.hash is None:
            return None
        return self.blobs.get(state.hash)

    def _extra(self, change: Change) -> dict:
        extra = dict(change.extra)
        state = change.after or change.before
        if state is not None:
            extra["content"] = state.kind
        if change.after is not None:
            extra["stat"] = [change.after.size, change.after.mtime_ns, change.after.ctime_ns]
        extra.update(self._names(change))
        if change.kind == CREATE and change.after and change.after.kind != TEXT:
            extra.setdefault("note", f"{change.after.kind} file: metadata only")
        return extra

    # -- summaries ----------------------------------------------------------------------

    def entry(self, change: Change) -> dict:
        """One file of a burst or reconcile summary (no diff: it is rebuilt from the blobs)."""
        entry = {
            "event": change.kind,
            "path": path_text(_rel(change.path, change)),
            "repo": path_text(change.repo.root),
            "hash_before": change.before.hash if change.before else None,
            "hash_after": change.after.hash if change.after else None,
            "content": (change.after or change.before).kind,
        }
        if change.old_path is not None:
            entry["old_path"] = path_text(_rel(change.old_path, change))
        if change.after is not None:
            entry["stat"] = [change.after.size, change.after.mtime_ns, change.after.ctime_ns]
        entry.update(self._names(change))
        return entry

    def _names(self, change: Change) -> dict:
        """``root_id`` and ``rel`` (and ``old_rel``): the file as start-up recovery finds
        it again (``roots.py``), whatever redaction does to ``repo`` and ``path``."""
        names = {}
        named = self.roots.name(change.path)
        if named is not None:
            names["root_id"], names["rel"] = named
        if change.old_path is not None:
            old = self.roots.name(change.old_path)
            if old is not None:
                names["old_rel"] = old[1]
        return names

    def burst_event(
        self, changes: list[Change], burst_id: str, t: float, t_end: float, command: dict | None
    ) -> dict:
        repos = sorted({c.repo.root for c in changes})
        head = self.head(changes[0]) if len(repos) == 1 else Head(None, None)
        extra = {
            "burst_id": burst_id,
            "files": len(changes),
            "counts": _counts(changes),
            "repos": [path_text(r) for r in repos],
            "command_event_id": command.get("event_id") if command else None,
            "command": command.get("command") if command else None,
            "changes": [self.entry(c) for c in changes],
        }
        return R.record(
            R.EVENT,
            self.session_id,
            t=t,
            t_end=t_end,
            source=SOURCE,
            event="burst",
            repo=path_text(repos[0]) if len(repos) == 1 else None,
            branch=head.branch,
            head=head.commit,
            extra=extra,
        )

    def reconcile_event(
        self,
        root: str,
        changes: list[Change],
        manifest_hash: str | None,
        files: int,
        reconcile_id: str,
        baseline: bool,
        listed: bool,
        t: float,
    ) -> dict:
        extra = {
            "root_id": self.roots.id_of(root),
            "reconcile_id": reconcile_id,
            "baseline": baseline,
            "files": files,
            "counts": _counts(changes),
            "manifest": manifest_hash,
        }
        if listed:
            extra["changes"] = [self.entry(c) for c in changes]
        return R.record(
            R.EVENT,
            self.session_id,
            t=t,
            source=SOURCE,
            event="reconcile",
            hash_after=manifest_hash,
            extra=extra,
        )


def manifest_bytes(root: str, root_id: str, index: dict[str, FileState]) -> bytes:
    """Every tracked file under ``root`` with its last snapshot, as JSON (keys relative;
    the root itself only by its id)."""
    prefix = root.rstrip(os.sep) + os.sep
    files = {
        encode_path_key(path[len(prefix) :]): state.to_json()
        for path, state in sorted(index.items())
        if path.startswith(prefix)
    }
    doc = {"v": MANIFEST_VERSION, "root_id": root_id, "files": files}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=True).encode()


def command_at(log, session_id: str, t: float) -> dict | None:
    """The shell command of the session running at time ``t``, from the event log."""
    if log is None:
        return None
    return log.command_at(session_id, datetime.fromtimestamp(t, UTC))


def _counts(changes: list[Change]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.kind] = counts.get(change.kind, 0) + 1
    return counts


def _rel(path: str | None, change: Change) -> str | None:
    if path is None:
        return None
    root = change.repo.root.rstrip(os.sep) + os.sep
    return path[len(root) :] if path.startswith(root) else path
