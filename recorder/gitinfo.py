"""Repositories, and their branch and HEAD, read straight from ``.git``.

No ``git`` process is spawned: the repository of a directory is the nearest
ancestor holding a ``.git`` directory or file (worktrees and submodules point to
their git directory with a ``gitdir:`` line); the branch comes from ``HEAD`` and
the commit from the ref file or ``packed-refs`` (of the common directory, for a
worktree). For the file collector, a directory outside any repository belongs to
the watched root it lies under (:class:`RepoFinder`); the shell commands' git
state (``recorder.gitstate``) uses :func:`find_git_dir` and :func:`read_head_written`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Repo:
    root: str  # absolute path of the work tree (or of the watched root outside a repository)
    git_dir: Path | None  # None outside a repository

    @property
    def is_git(self) -> bool:
        return self.git_dir is not None


@dataclass(frozen=True)
class Head:
    branch: str | None  # None when HEAD is detached or unreadable
    commit: str | None


class RepoFinder:
    """Memoised ``directory -> Repo``; safe to call from several threads."""

    def __init__(self, roots: list[str]):
        self.roots = sorted(roots, key=len, reverse=True)
        self._repos: dict[str, Repo] = {}
        self._lock = threading.Lock()

    def repo_of_dir(self, directory: str) -> Repo:
        with self._lock:
            found = self._lookup(directory)
        if found.is_git:
            return found
        return Repo(self._root_for(directory), None)

    def repo_of(self, path: str) -> Repo:
        return self.repo_of_dir(os.path.dirname(path))

    def forget(self, directory: str) -> None:
        """Drop memoised answers at and below ``directory`` (a repository appeared or went)."""
        prefix = directory.rstrip(os.sep) + os.sep
        with self._lock:
            for key in [k for k in self._repos if k == directory or k.startswith(prefix)]:
                del self._repos[key]

    def _lookup(self, directory: str) -> Repo:
        found = self._repos.get(directory)
        if found is not None:
            return found
        git_dir = git_dir_at(directory)
        if git_dir is not None:
            found = Repo(directory, git_dir)
        else:
            parent = os.path.dirname(directory)
            found = _NO_REPO if parent == directory else self._lookup(parent)
        self._repos[directory] = found
        return found

    def _root_for(self, directory: str) -> str:
        for root in self.roots:
            if directory == root or directory.startswith(root.rstrip(os.sep) + os.sep):
                return root
        return directory


_NO_REPO = Repo("", None)


def find_git_dir(directory: str) -> tuple[str, Path] | None:
    """The work tree and git directory of the repository holding ``directory``, if any."""
    while True:
        git_dir = git_dir_at(directory)
        if git_dir is not None:
            return directory, git_dir
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def git_dir_at(directory: str) -> Path | None:
    """The git directory of a work tree whose top is ``directory`` (None if it is not one)."""
    dot_git = os.path.join(directory, ".git")
    try:
        if os.path.isdir(dot_git):
            return Path(dot_git) if os.path.exists(os.path.join(dot_git, "HEAD")) else None
        if os.path.isfile(dot_git):
            with open(dot_git, encoding="utf-8", errors="replace") as fh:
                line = fh.readline().strip()
            if line.startswith("gitdir:"):
                target = Path(line[len("gitdir:") :].strip())
                return target if target.is_absolute() else Path(directory) / target
    except OSError:
        return None
    return None


def read_head(git_dir: Path | None) -> Head:
    """Branch and commit of a repository's HEAD; ``Head(None, None)`` if unreadable."""
    if git_dir is None:
        return Head(None, None)
    head = _read_text(git_dir / "HEAD")
    if head is None:
        return Head(None, None)
    if not head.startswith("ref:"):
        return Head(None, head or None)
    ref = head[len("ref:") :].strip()
    branch = ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else ref
    return Head(branch, resolve_ref(git_dir, ref))


def resolve_ref(git_dir: Path, ref: str) -> str | None:
    """The commit a ref names, from its loose file or ``packed-refs`` (None for an unborn branch)."""
    common = common_dir(git_dir)
    for base in (git_dir, common):
        value = _read_text(base / ref)
        if value:
            if value.startswith("ref:"):
                return resolve_ref(git_dir, value[len("ref:") :].strip())
            return value
    packed = _read_text(common / "packed-refs", strip=False)
    if packed:
        for line in packed.splitlines():
            if line.endswith(" " + ref) and not line.startswith(("#", "^")):
                return line.split(" ", 1)[0]
    return None


def read_head_written(git_dir: Path) -> tuple[Head, int | None]:
    """:func:`read_head`, and when the files it came from were last written (Unix ns):
    ``HEAD`` and the branch's loose ref, else ``packed-refs`` (None if HEAD is unreadable).

    The files are stat'ed before and after the read, and it is read again if one of
    them changed meanwhile, so the time belongs to the state read."""
    for _ in range(3):
        before = _written_ns(git_dir)
        head = read_head(git_dir)
        after = _written_ns(git_dir)
        if before == after:
            break
    return head, after


def _written_ns(git_dir: Path) -> int | None:
    head_file = git_dir / "HEAD"
    head = _read_text(head_file)
    times = [_mtime_ns(head_file)]
    if head and head.startswith("ref:"):
        ref = head[len("ref:") :].strip()
        common = common_dir(git_dir)
        loose = [t for t in (_mtime_ns(git_dir / ref), _mtime_ns(common / ref)) if t is not None]
        times += loose or [_mtime_ns(common / "packed-refs")]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _mtime_ns(path: Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def common_dir(git_dir: Path) -> Path:
    """Where a worktree's shared refs live (``commondir``); the git directory itself otherwise."""
    common = _read_text(git_dir / "commondir")
    if not common:
        return git_dir
    path = Path(common)
    return path if path.is_absolute() else (git_dir / path)


def _read_text(path: Path, strip: bool = True) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(1 << 20)
    except OSError:
        return None
    return text.strip() if strip else text
