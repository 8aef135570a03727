"""From settled paths to changes: the file collector's index of last snapshots.

:class:`Tracker` keeps, for every tracked file under the watched roots, the
state of its last snapshot (kind, hash, size, mtime). Given a settled path it
looks at the disk and answers with a :class:`Change` or nothing:

- a file whose content hash equals its last snapshot did not change (a
  read-only open, ``touch``, an editor rewriting the same bytes);
- a file with no snapshot that now exists is a ``create`` (a diff from empty);
- a tracked file that is gone, and stays gone for a short grace period, is a
  ``delete`` (vim and some atomic writers remove the file a moment before
  writing it again);
- a move from a tracked file that is gone onto a tracked path of the same
  repository is a ``rename``; a move from a temporary file is a save of its
  destination.

:meth:`Tracker.scan` walks a tree (pruned like the watches) and compares every
file with the index: the reconciliation at start and the rescan after the
kernel dropped events. New snapshots are handed to ``store`` (the blob writer).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from recorder.collectors.debounce import Batch
from recorder.collectors.filters import PathRules, Verdict, is_ignored_dir_name
from recorder.collectors.snapshots import (
    SECRET,
    FileState,
    Snapshot,
    lstat_regular,
    read_snapshot,
    stat_state,
)
from recorder.collectors.walk import walk_tree
from recorder.errors import NotAFile
from recorder.gitinfo import Repo, RepoFinder

log = logging.getLogger("recorder.files")

SAVE, CREATE, DELETE, RENAME = "save", "create", "delete", "rename"


@dataclass
class Change:
    kind: str  # SAVE, CREATE, DELETE or RENAME
    path: str  # absolute
    repo: Repo
    t: float  # wall time of the change
    before: FileState | None = None
    after: FileState | None = None
    content: bytes | None = None  # the new text content, kept until the diff is made
    old_path: str | None = None  # absolute, for renames
    extra: dict = field(default_factory=dict)


def coalesce(changes: list[Change]) -> list[Change]:
    """One change per file: what a burst summary lists. A file that settled twice in the
    same burst (created, then written again once the debounce had passed) is listed once,
    from its first state to its last; created then deleted, not at all. Renames are kept
    as they are, in order."""
    out: list[Change | None] = []
    at: dict[str, int] = {}  # path -> index in out of its change
    for change in changes:
        k = at.get(change.path)
        if change.kind == RENAME or k is None or out[k] is None or out[k].kind == RENAME:
            at[change.path] = len(out)
            out.append(change)
            continue
        merged = _merged(out[k], change)
        out[k] = merged  # None: nothing happened to the file, all told
    return [c for c in out if c is not None]


def _merged(first: Change, last: Change) -> Change | None:
    if first.kind == CREATE and last.kind == DELETE:
        return None
    kind = first.kind if first.kind == CREATE else last.kind
    if first.kind == DELETE and last.kind != DELETE:
        kind = SAVE  # deleted and written again: the file changed
    return Change(kind, last.path, last.repo, last.t, first.before, last.after, last.content,
                  extra={**first.extra, **last.extra})  # fmt: skip


class Tracker:
    """The index of last snapshots and the comparisons against it (one thread only)."""

    def __init__(
        self,
        rules: PathRules,
        repos: RepoFinder,
        cap: int,
        redactor,
        store: Callable[[Snapshot], None],
        delete_grace_s: float,
    ):
        self.rules = rules
        self.repos = repos
        self.cap = cap
        self.redactor = redactor
        self.store = store
        self.delete_grace_s = delete_grace_s
        self.index: dict[str, FileState] = {}
        self.unreadable: dict[str, str] = {}
        # Paths found gone once, waiting for the grace period: path -> wall time first seen gone.
        self.gone: dict[str, float] = {}

    # -- live changes -------------------------------------------------------------------

    def settle(self, batch: Batch) -> tuple[list[Change], list[str]]:
        """Changes for a settled batch, and the paths to look at again after the grace period."""
        changes: list[Change] = []
        recheck: list[str] = []
        handled: set[str] = set()
        for src, dest, t in batch.moves:
            try:
                change = self._rename(src, dest, t)
            except Exception:
                log.exception("cannot resolve the move %r -> %r", src, dest)
                change = None
            if change is not None:
                changes.append(change)
                handled.update((src, dest))
        paths = dict(batch.paths)
        for tree, t in batch.trees.items():
            paths.setdefault(tree, t)
            for path in self.under(tree):
                paths.setdefault(path, t)
        for path in sorted(paths.keys() - handled):
            change = self.safe_update(path, paths[path])
            if change is None and path in self.gone:
                recheck.append(path)
            elif change is not None:
                changes.append(change)
        return changes, recheck

    def safe_update(self, path: str, t: float, grace: bool = True) -> Change | None:
        """``update``, except that a failure on one path is logged instead of raised."""
        try:
            return self.update(path, t, grace)
        except Exception:
            log.exception("cannot compare %r with its last snapshot; skipped", path)
            return None

    def update(self, path: str, t: float, grace: bool = True) -> Change | None:
        """Compare one path with its last snapshot; update the index; a Change or None."""
        repo = self.repos.repo_of(path)
        verdict = self.rules.verdict(path, repo.root, repo.git_dir)
        self._notice_special(path, repo)
        if verdict in (Verdict.IGNORED, Verdict.TEMP):
            self.gone.pop(path, None)
            self.index.pop(path, None)  # e.g. newly gitignored: forgotten, not "deleted"
            return None
        before = self.index.get(path)
        if verdict is Verdict.SECRET:
            return self._update_secret(path, repo, before, t, grace)
        try:
            st = lstat_regular(path)
            if before is not None and before.same_stat(st) and before.kind != SECRET:
                self.gone.pop(path, None)
                return None
            snap = read_snapshot(path, self.cap, self.redactor)
        except NotAFile as exc:
            return self._not_a_file(path, repo, before, t, exc.reason, grace)
        self.gone.pop(path, None)
        self.unreadable.pop(path, None)
        if before is not None and before.hash == snap.state.hash and before.kind == snap.state.kind:
            self.index[path] = snap.state  # same content; remember the new mtime
            return None
        self.store(snap)
        self.index[path] = snap.state
        kind = SAVE if before is not None else CREATE
        return Change(kind, path, repo, t, before, snap.state, snap.content)

    def _update_secret(self, path, repo, before, t, grace) -> Change | None:
        try:
            st = lstat_regular(path)
        except NotAFile as exc:
            return self._not_a_file(path, repo, before, t, exc.reason, grace)
        self.gone.pop(path, None)
        if before is not None and before.kind == SECRET and before.same_stat(st):
            return None
        state = stat_state(st, SECRET, None)
        self.index[path] = state
        return Change(SAVE if before is not None else CREATE, path, repo, t, before, state)

    def _not_a_file(self, path, repo, before, t, reason, grace) -> Change | None:
        if reason.startswith("unreadable"):
            if self.unreadable.get(path) != reason:
                log.warning("cannot read %s: %s", path, reason)
            self.unreadable[path] = reason
            return None
        if before is None:
            return None
        if grace and path not in self.gone:
            self.gone[path] = t
            return None
        first_gone = self.gone.pop(path, t)
        del self.index[path]
        return Change(DELETE, path, repo, first_gone, before, None)

    def _rename(self, src: str, dest: str, t: float) -> Change | None:
        before = self.index.get(src)
        if before is None or os.path.lexists(src):
            return None
        src_repo, dest_repo = self.repos.repo_of(src), self.repos.repo_of(dest)
        if src_repo.root != dest_repo.root:
            return None
        verdict = self.rules.verdict(dest, dest_repo.root, dest_repo.git_dir)
        if verdict not in (Verdict.TRACKED, Verdict.SECRET):
            return None
        del self.index[src]
        self.gone.pop(src, None)
        self.index.pop(dest, None)
        change = self.update(dest, t)
        if change is None:
            self.index[src] = before  # the destination is not a file we can follow: not a rename
            return None
        change.kind = RENAME
        change.old_path = src
        change.before = before
        return change

    def _notice_special(self, path: str, repo: Repo) -> None:
        name = os.path.basename(path)
        if name == ".gitignore":
            self.rules.forget_gitignores(repo.root)
        elif name == "pyvenv.cfg":
            self.rules.forget_venv(os.path.dirname(path))

    def under(self, directory: str) -> list[str]:
        prefix = directory.rstrip(os.sep) + os.sep
        return [p for p in self.index if p.startswith(prefix)]

    # -- whole trees ----------------------------------------------------------------------

    def scan(
        self, root: str, t: float, report: bool, keep_content: int, cancelled=lambda: False
    ) -> list[Change]:
        """Compare a tree with the index: its Changes if ``report`` (else only snapshots).

        The new content (for diffs) is kept for the first ``keep_content`` changes only.
        """
        seen: set[str] = set()
        changes: list[Change] = []
        for path in self.walk(root):
            if len(seen) % 256 == 0 and cancelled():
                return changes
            seen.add(path)
            change = self.safe_update(path, t, grace=False)
            if change is not None and report:
                changes.append(change)
        for path in self.under(root):
            if path not in seen:
                change = self.safe_update(path, t, grace=False)
                if change is not None and report:
                    changes.append(change)
        if len(changes) > keep_content:
            for change in changes:
                change.content = None
        return changes

    def walk(self, root: str) -> Iterator[str]:
        """Every file below ``root`` that is not in an ignored directory (symlinks not followed)."""
        for directory, dirnames, filenames in walk_tree(root, onerror=_walk_error):
            dirnames[:] = [
                name for name in dirnames if not self.prune(os.path.join(directory, name))
            ]
            for name in filenames:
                yield os.path.join(directory, name)

    def prune(self, directory: str) -> bool:
        """Whether the watcher should skip this directory (called from the watcher thread)."""
        if is_ignored_dir_name(os.path.basename(directory)):
            return True
        repo = self.repos.repo_of_dir(directory)
        return self.rules.prune_dir(directory, repo.root, repo.git_dir)


def _walk_error(exc: OSError) -> None:
    log.warning("cannot list %s: %s", exc.filename, exc.strerror)
