"""Recovering the last snapshot of every file from the event log, at start.

The newest ``reconcile`` event of a watched root names a manifest blob: every
tracked file under the root with its state (kind, hash, size, mtime) when that
scan ended. The file events recorded after it (``save``, ``create``,
``delete``, ``rename`` and the files listed by ``burst`` events), in log order,
bring each entry up to date. The result is what the files looked like when
the last daemon stopped, so that the next scan can tell what changed while no
daemon ran. Everything here is a named read of ``recorder.eventlog``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from recorder.collectors.roots import WatchedRoots
from recorder.collectors.snapshots import SECRET, BlobCache, FileState, decode_path_key
from recorder.spool import list_spool

log = logging.getLogger("recorder.files")


def recover_index(event_log, roots: WatchedRoots, blobs: BlobCache) -> tuple[dict, set[str]]:
    """(path -> FileState for files under the watched roots, roots that have a manifest)."""
    index: dict[str, FileState] = {}
    if event_log is None:
        return index, set()
    latest: dict[str, dict[str, Any]] = {}
    for row in event_log.reconcile_manifests():
        root = _manifest_root(row, roots)
        if root is not None:
            latest[root] = row  # rows are in log order: the last one wins
    positions = {}
    for root, row in latest.items():
        data = blobs.get(row["hash_after"])
        if data is None:
            log.warning(
                "manifest %s of %s is missing; rescanning from scratch", row["hash_after"], root
            )
            continue
        index.update(_manifest_entries(root, data))
        positions[root] = (row["started_at"], row["session_id"], row["seq"])
    if positions:
        _replay(event_log, roots, index, positions)
    return index, set(positions)


def _manifest_root(row: dict, roots: WatchedRoots) -> str | None:
    """The watched root a manifest is of: by its id (or, in logs written before root ids,
    by the absolute path it carried)."""
    if row["root_id"]:
        return roots.absolute(row["root_id"], ".")
    legacy = decode_path_key(row["root"] or "")
    return legacy if legacy in roots.roots else None


def wait_for_backlog(event_log, spool_dir: Path, own: str, timeout: float) -> bool:
    """Wait until the daemon has ingested what earlier file collectors spooled.

    After a crash, their last events may still sit in the spool: recovering
    before they are in the log would report those changes a second time.
    """
    if event_log is None:
        return True
    deadline = time.monotonic() + timeout
    while True:
        waiting = [
            spool
            for spool in list_spool(spool_dir)
            if spool.producer == "files" and spool.kind == "jsonl" and spool.name != own
        ]
        if not waiting or all(_ingested(event_log, spool.path) for spool in waiting):
            return True
        if time.monotonic() >= deadline:
            log.warning("earlier file events are not ingested yet; recovering without them")
            return False
        time.sleep(0.1)


def _ingested(event_log, path: Path) -> bool:
    try:
        size = _complete_size(path)
    except FileNotFoundError:
        return True
    return event_log.spool_offsets().get(path.name, -1) >= size


def _complete_size(path: Path) -> int:
    """Bytes up to the last newline: a line cut short by a crash is never ingested."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        tail_start = max(0, size - 65536)
        fh.seek(tail_start)
        tail = fh.read()
    end = tail.rfind(b"\n")
    return tail_start + end + 1 if end >= 0 else size


def _manifest_entries(root: str, data: bytes) -> dict[str, FileState]:
    doc = json.loads(data)
    prefix = root.rstrip(os.sep) + os.sep
    return {
        prefix + decode_path_key(key): FileState.from_json(value)
        for key, value in doc.get("files", {}).items()
    }


def _replay(event_log, roots: WatchedRoots, index: dict, positions: dict[str, tuple]) -> None:
    since = min(pos[0] for pos in positions.values())
    prefixes = {root.rstrip(os.sep) + os.sep: pos for root, pos in positions.items()}
    for row in event_log.file_changes_since(since):
        position = (row["started_at"], row["session_id"], row["seq"])
        extra = json.loads(row["extra"]) if row["extra"] else {}
        if row["event_type"] == "burst":
            entries = [(entry["event"], entry) for entry in extra.get("changes", [])]
        else:
            entry = {**extra, "repo": row["repo"], "path": row["path"],
                     "old_path": row["old_path"], "hash_after": row["hash_after"]}  # fmt: skip
            entries = [(row["event_type"], entry)]
        for kind, entry in entries:
            path, old = _paths(entry, roots)
            if path is not None and _after_manifest(path, prefixes, position):
                _apply(index, kind, path, old, entry)


def _paths(entry: dict, roots: WatchedRoots) -> tuple[str | None, str | None]:
    """The absolute path (and old path of a rename) an event names."""
    if entry.get("root_id"):
        path = roots.absolute(entry["root_id"], entry.get("rel"))
        return path, roots.absolute(entry["root_id"], entry.get("old_rel"))
    # Logs written before root ids: the repository joined with the path.
    path = _absolute(entry.get("repo"), entry.get("path"), entry.get("path_raw"))
    return path, _absolute(entry.get("repo"), entry.get("old_path"), entry.get("old_path_raw"))


def _apply(index, kind: str, path: str, old: str | None, entry: dict) -> None:
    if kind == "rename" and old is not None:
        index.pop(old, None)
    if kind == "delete":
        index.pop(path, None)
        return
    size, mtime_ns, ctime_ns = (entry.get("stat") or [None, None, None])[:3]
    content = entry.get("content") or SECRET
    index[path] = FileState(content, entry.get("hash_after"), size, mtime_ns, ctime_ns)


def _after_manifest(path: str, prefixes: dict, position: tuple) -> bool:
    for prefix, manifest_position in prefixes.items():
        if path.startswith(prefix):
            return _later(position, manifest_position)
    return False


def _later(position: tuple, manifest_position: tuple) -> bool:
    started, session, seq = position
    m_started, m_session, m_seq = manifest_position
    if session == m_session:
        return seq > m_seq
    return started > m_started


def _absolute(repo: str | None, path: str | None, raw: str | None) -> str | None:
    if raw:
        return decode_path_key(raw) if os.path.isabs(decode_path_key(raw)) else None
    if repo is None or path is None:
        return None
    return os.path.join(repo, path)
