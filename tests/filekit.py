"""The file collector tests' helpers: a watched git repository and the log's file events.

Each test runs the installed CLI (`recorder start --watch DIR`) in the test's own
RECORDER_HOME, changes real files, stops (which drains) and reads the events
through the log's named reads (``tests/logkit.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from logkit import log_sql
from waitkit import wait_until

from recorder import client
from recorder.paths import layout

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",
}

FILE_COLUMNS = (
    "seq, ts_start, ts_end, event_type, path, repo, old_path, diff, lines_added, lines_removed, "
    "hash_before, hash_after, git_branch, git_head, size_bytes, extra, ingested_at"
)


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.parent)}
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout


def make_repo(path: Path, files: dict[str, str | bytes]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "init")
    return path


def collector_status() -> dict:
    return client.call(layout(), "status")["collectors"].get("files", {})


def wait_ready(timeout: float = 60.0) -> dict:
    """Wait until the file collector has recovered, watched and scanned its roots."""
    seen: dict = {}

    def ready() -> dict | None:
        seen.update(collector_status())
        assert seen.get("state") != "failed", seen
        return dict(seen) if seen.get("state") == "ready" else None

    try:
        return wait_until(ready, timeout=timeout, what="the file collector to get ready")
    except AssertionError:
        raise AssertionError(f"the file collector did not get ready: {seen}") from None


def file_events(kinds: tuple[str, ...] | None = None) -> list[dict]:
    """The file events of the log, in order; ``extra`` parsed."""
    sql = f"SELECT {FILE_COLUMNS} FROM events WHERE source = 'file'"
    if kinds:
        sql += " AND event_type IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"
    rows = log_sql(layout(), sql + " ORDER BY ts_start, seq")
    for row in rows:
        row["extra"] = json.loads(row["extra"]) if row["extra"] else {}
    return rows


def wait_for_events(predicate, timeout: float = 60.0, kinds=None) -> list[dict]:
    """Flush the running daemon until the file events satisfy ``predicate``."""
    rows: list[dict] = []

    def satisfied() -> bool:
        client.call(layout(), "flush")
        rows[:] = file_events(kinds)
        return bool(predicate(rows))

    try:
        wait_until(satisfied, timeout=timeout, interval=0.1, what="file events")
    except AssertionError:
        raise AssertionError(
            f"timed out; file events so far: {[_brief(r) for r in rows]}"
        ) from None
    return rows


def _brief(row: dict) -> tuple:
    return (row["event_type"], row["path"], row["old_path"])


def changes_of(rows: list[dict]) -> list[tuple]:
    """(event, path, old_path) of the per-file events, reconcile summaries left out."""
    return [_brief(r) for r in rows if r["event_type"] not in ("reconcile", "burst")]


def widen_debounce(run_cli, ms: int = 1000) -> None:
    """Set record.debounce_ms for this home before its start. A test that writes many files
    in a tight loop needs it when what it checks is that they settle together: a loaded
    machine may pause the loop for longer than the default 100 ms window."""
    from recorder.paths import layout

    run_cli("config")  # creates config.toml with the researcher id
    config = layout().config
    config.write_text(config.read_text() + f"[record]\ndebounce_ms = {ms}\n")


class WatchedRepo:
    """A git repository with f.py (a, b, c) and README.md, to be watched by a recorder."""

    def __init__(self, tmp_path: Path, run_cli):
        self.repo = make_repo(tmp_path / "repo", {"f.py": "a\nb\nc\n", "README.md": "# demo\n"})
        self.run_cli = run_cli

    def write(self, name: str, content: str | bytes) -> Path:
        target = self.repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        return target

    def start(self, *args: str) -> dict:
        self.run_cli("start", "--watch", str(self.repo), *args)
        return wait_ready()

    def stop(self) -> list[dict]:
        """Stop the recorder (which records what is pending) and return the file events."""
        self.run_cli("stop")
        return file_events()
