"""Which paths the file collector reads, records without content, or ignores.

Every path under a watched tree gets one :class:`Verdict`:

- ``IGNORED``: never read and never recorded: ``.git/``, virtualenvs, ``node_modules``,
  build outputs, compiled files and whatever the repository's ``.gitignore`` files
  (and ``.git/info/exclude``) ignore, evaluated with pathspec's gitignore semantics.
- ``TEMP``: an editor's or tool's temporary, swap, lock or backup file (``.swp``,
  ``~``, ``#...#``, ``.#...``, ``.tmp``, sed's and JetBrains' temporaries). Not an
  event of its own; a move from it onto a real file is that file's save.
- ``SECRET``: secret-bearing files (``.env*``, keys, ``.netrc``, ``~/.ssh`` ...) and the
  user's ``record.exclude_paths``: never opened; a save is recorded with no content.
- ``TRACKED``: everything else: read, snapshotted and diffed.

Directories get the same treatment through :meth:`PathRules.prune_dir`, so that
ignored trees are neither walked nor watched.
"""

from __future__ import annotations

import enum
import fnmatch
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path

import pathspec


class Verdict(enum.Enum):
    IGNORED = "ignored"
    TEMP = "temp"
    SECRET = "secret"
    TRACKED = "tracked"


# Directory names never walked, watched or read (tools' state, dependencies, build outputs).
IGNORED_DIR_NAMES = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".jj",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        ".ipynb_checkpoints",
        ".eggs",
        "build",
        "dist",
        "target",
        ".gradle",
        ".next",
        ".parcel-cache",
        ".terraform",
        "site-packages",
        "__pypackages__",
        ".cache",
    }
)
IGNORED_DIR_SUFFIXES = (".egg-info", ".dist-info")
# A directory holding this file is a virtualenv, whatever its name.
VENV_MARKER = "pyvenv.cfg"

# Compiled or generated files: never interesting as edits.
IGNORED_FILE_PATTERNS = ("*.pyc", "*.pyo", "*.o", "*.so", "*.a", "*.class", "*.obj", ".DS_Store")

TEMP_FILE_PATTERNS = (
    "*.swp",
    "*.swo",
    "*.swx",
    "*.swpx",
    "*~",
    "#*#",
    ".#*",
    "*.tmp",
    "*.temp",
    "*.bak",
    "4913",
    "*.___jb_tmp___",
    "*.___jb_old___",
    ".goutputstream-*",
    "*.kate-swp",
    "*.crswap",
    ".~lock.*#",
    "*.part",
    "*.orig.tmp",
)
# sed -i writes "sed" + 6 random characters next to the file, then renames it.
_SED_TEMP = re.compile(r"^sed[A-Za-z0-9]{6}$")

SECRET_FILE_PATTERNS = (
    ".env*",
    "*.pem",
    "*.key",
    ".netrc",
    ".pypirc",
    "credentials*",
    ".git-credentials",
    "*.p12",
    "*.pfx",
    "*.keystore",
    "*.jks",
)
# ssh keys: id_rsa, id_ed25519, id_rsa.pub ... but not source files such as id_utils.py.
_SSH_KEY = re.compile(r"^id_[A-Za-z0-9_-]+(\.pub|\.key|\.pem)?$")
SECRET_DIRS = ("~/.ssh", "~/.aws", "~/.config/gcloud", "~/.gnupg", "~/.kube", "~/.docker")


def _spec(patterns: Iterable[str]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(list(patterns))


def _name_regex(patterns: Iterable[str], *extra: re.Pattern) -> re.Pattern:
    """One regex for glob patterns on a bare file name (no slash: glob and gitignore agree)."""
    parts = [fnmatch.translate(p) for p in patterns] + [e.pattern for e in extra]
    return re.compile("|".join(f"(?:{p})" for p in parts))


_IGNORED_FILES = _name_regex(IGNORED_FILE_PATTERNS)
_TEMP_FILES = _name_regex(TEMP_FILE_PATTERNS, _SED_TEMP)
_SECRET_FILES = _name_regex(SECRET_FILE_PATTERNS, _SSH_KEY)


def is_temp_name(name: str) -> bool:
    return _TEMP_FILES.match(name) is not None


def is_secret_name(name: str) -> bool:
    return _SECRET_FILES.match(name) is not None


def is_ignored_dir_name(name: str) -> bool:
    return name in IGNORED_DIR_NAMES or name.endswith(IGNORED_DIR_SUFFIXES)


class GitIgnore:
    """The ignore rules of one repository: nested ``.gitignore`` files and ``info/exclude``.

    Deeper files override shallower ones; inside one file the last matching
    pattern wins (negations included), as git does. A directory that is ignored
    hides everything below it.
    """

    def __init__(self, root: Path, git_dir: Path | None):
        self.root = root
        self.git_dir = git_dir
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}
        self._dirs: dict[str, bool] = {}

    def invalidate(self) -> None:
        self._specs.clear()
        self._dirs.clear()

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        """Is the repository-relative path ``rel`` ignored?"""
        parent, _, _ = rel.rpartition("/")
        if parent and self.dir_ignored(parent):
            return True
        return self._match(rel, is_dir)

    def dir_ignored(self, rel_dir: str) -> bool:
        if not rel_dir:
            return False
        cached = self._dirs.get(rel_dir)
        if cached is None:
            parent, _, _ = rel_dir.rpartition("/")
            cached = (bool(parent) and self.dir_ignored(parent)) or self._match(rel_dir, True)
            self._dirs[rel_dir] = cached
        return cached

    def _match(self, rel: str, is_dir: bool) -> bool:
        verdict = None
        candidate = rel + "/" if is_dir else rel
        exclude = self._spec_for("", info_exclude=True)
        if exclude is not None:
            verdict = _decide(exclude, candidate, verdict)
        parts = rel.split("/")
        for depth in range(len(parts)):
            base = "/".join(parts[:depth])
            spec = self._spec_for(base)
            if spec is not None:
                sub = candidate[len(base) + 1 :] if base else candidate
                verdict = _decide(spec, sub, verdict)
        return bool(verdict)

    def _spec_for(self, rel_dir: str, info_exclude: bool = False) -> pathspec.GitIgnoreSpec | None:
        key = "\0exclude" if info_exclude else rel_dir
        if key not in self._specs:
            if info_exclude:
                path = self.git_dir / "info" / "exclude" if self.git_dir else None
            else:
                path = self.root / rel_dir / ".gitignore"
            self._specs[key] = _load_spec(path) if path is not None else None
        return self._specs[key]


def _decide(spec: pathspec.GitIgnoreSpec, rel: str, verdict: bool | None) -> bool | None:
    result = spec.check_file(rel)
    return verdict if result.include is None else result.include


def _load_spec(path: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    return _spec(lines) if lines else None


class PathRules:
    """The verdict for any absolute path, given the repositories it lies in."""

    def __init__(self, exclude_paths: Iterable[str] = (), home: Path | None = None):
        self._user = _spec(exclude_paths) if exclude_paths else None
        home = home or Path.home()
        self._secret_dirs = tuple(
            str(Path(d.replace("~", str(home), 1))) + os.sep for d in SECRET_DIRS
        )
        self._gitignores: dict[str, GitIgnore] = {}
        self._venv_dirs: dict[str, bool] = {}
        self._in_venv_dirs: dict[tuple[str, str], bool] = {}
        # Used by the collector's worker and by the watcher thread (new directories).
        self._lock = threading.RLock()

    # -- repositories -------------------------------------------------------------------

    def gitignore(self, repo_root: str, git_dir: Path | None) -> GitIgnore:
        rules = self._gitignores.get(repo_root)
        if rules is None:
            rules = GitIgnore(Path(repo_root), git_dir)
            self._gitignores[repo_root] = rules
        return rules

    def forget_gitignores(self, repo_root: str) -> None:
        with self._lock:
            rules = self._gitignores.get(repo_root)
            if rules is not None:
                rules.invalidate()

    def forget_venv(self, directory: str) -> None:
        with self._lock:
            self._venv_dirs.pop(directory, None)
            self._in_venv_dirs.clear()

    # -- verdicts -----------------------------------------------------------------------

    def prune_dir(self, path: str, repo_root: str, git_dir: Path | None) -> bool:
        """True if the directory ``path`` (absolute) is neither walked nor watched."""
        with self._lock:
            return self._prune_dir(_matchable(path), _matchable(repo_root), git_dir)

    def verdict(self, path: str, repo_root: str, git_dir: Path | None) -> Verdict:
        """The verdict for the file ``path`` (absolute) of the repository at ``repo_root``."""
        with self._lock:
            return self._verdict(_matchable(path), _matchable(repo_root), git_dir)

    def _prune_dir(self, path: str, repo_root: str, git_dir: Path | None) -> bool:
        name = os.path.basename(path)
        if is_ignored_dir_name(name) or self._is_venv(path):
            return True
        rel = _relative(path, repo_root)
        if rel is None or rel == "":
            return False
        if self._user is not None and self._user.match_file(rel + "/"):
            return False  # walked: the files inside are recorded without content
        return self.gitignore(repo_root, git_dir).dir_ignored(rel)

    def _verdict(self, path: str, repo_root: str, git_dir: Path | None) -> Verdict:
        rel = _relative(path, repo_root)
        if rel is None:
            return Verdict.IGNORED
        parts = rel.split("/")
        for part in parts[:-1]:
            if is_ignored_dir_name(part):
                return Verdict.IGNORED
        name = parts[-1]
        if self._in_secret_dir(path) or is_secret_name(name):
            return Verdict.SECRET
        if self._user is not None and self._user.match_file(rel):
            return Verdict.SECRET
        if is_temp_name(name):
            return Verdict.TEMP
        if _IGNORED_FILES.match(name):
            return Verdict.IGNORED
        if self._in_venv(os.path.dirname(path), repo_root):
            return Verdict.IGNORED
        if self.gitignore(repo_root, git_dir).ignored(rel):
            return Verdict.IGNORED
        return Verdict.TRACKED

    def _in_secret_dir(self, path: str) -> bool:
        return any(path.startswith(d) or path + os.sep == d for d in self._secret_dirs)

    def _is_venv(self, directory: str) -> bool:
        known = self._venv_dirs.get(directory)
        if known is None:
            known = os.path.exists(os.path.join(directory, VENV_MARKER))
            self._venv_dirs[directory] = known
        return known

    def _in_venv(self, directory: str, repo_root: str) -> bool:
        """Is ``directory`` a virtualenv or inside one (below ``repo_root``)? Memoised."""
        if len(directory) <= len(repo_root):
            return False
        key = (directory, repo_root)
        known = self._in_venv_dirs.get(key)
        if known is None:
            known = self._is_venv(directory) or self._in_venv(os.path.dirname(directory), repo_root)
            self._in_venv_dirs[key] = known
        return known


def _matchable(path: str) -> str:
    """A path the pattern engines accept: undecodable bytes (surrogates) shown as ``\\xNN``."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


def _relative(path: str, root: str) -> str | None:
    if path == root:
        return ""
    prefix = root.rstrip(os.sep) + os.sep
    if not path.startswith(prefix):
        return None
    return path[len(prefix) :]
