"""Events -> steps: the researcher's actions with what they saw before and what followed.

A step is one action, aligned as in RLDS: the action is taken on the observation,
and the outcome follows it. Actions are shell commands and file changes made
outside any running command (saves in an editor). A file change recorded while a
command runs (``black .``, a build, ``git checkout``) is that command's outcome
instead, and shows up in the next step's ``files_changed``; terminal editors
(``vim x.py``) are the exception: saves inside them are edit steps.

:class:`StepBuilder` reads a session's events in time order, page by page, and
hands each new step to an :class:`exporters.episodes.EpisodeSplitter`, which
groups steps into episodes. Everything is causal: an observation holds only what
was known when the action was taken. docs/dataset.md describes every field.
"""

from __future__ import annotations

import os
from typing import Any

from exporters.labels import command_key, is_failure, is_test_or_build

TERMINAL_CHARS = 2000  # observation.terminal: the tail of the recent terminal transcript
OUTPUT_TAIL_CHARS = 1000  # outcome.output_tail
# A file change up to this long after a command's end still counts as that command's doing
# (the file watcher reports changes a little after they happen).
ATTRIBUTION_SLACK_US = 500_000
# Programs whose file changes are the researcher's edits, not the command's outcome.
TERMINAL_EDITORS = {"vi", "vim", "nvim", "view", "nano", "pico", "emacs", "emacsclient", "micro",
                    "hx", "helix", "kak", "joe", "ne", "mcedit", "ed", "jed"}  # fmt: skip
# File event type -> action type of the step it makes.
FILE_ACTIONS = {"save": "edit", "modify": "edit", "create": "create", "delete": "delete",
                "rename": "rename", "burst": "burst"}  # fmt: skip

# Event columns the builder reads, converted to Python lists once per page.
_COLUMNS = ("event_id", "source", "event_type", "cwd", "repo", "git_head", "git_branch",
            "command", "exit_code", "duration_ms", "output", "path", "old_path", "diff",
            "lines_added", "lines_removed", "text", "utc_offset_min")  # fmt: skip


class Step:
    """One step while it is built; episodes.py numbers it and labels.py labels it."""

    __slots__ = (
        "action_type", "branch", "closed", "command", "cwd", "diff", "duration_ms", "end",
        "episode_id", "event_id", "exit_code", "failed", "files_after", "files_before",
        "gap_ms", "head", "in_loop", "index", "is_first", "is_last", "is_retry_of",
        "is_terminal", "key", "kind", "lines_added", "lines_removed", "offset", "old_path",
        "output_tail", "path", "pause_class", "prev", "recovered_by_step", "repo",
        "session_id", "source_ids", "task", "terminal", "test_or_build",
        "time_to_recovery_ms", "ts",
    )  # fmt: skip

    def __init__(self, session_id: str, event_id: str, ts: int, offset: int | None):
        self.session_id = session_id
        self.event_id = event_id
        self.ts = ts
        self.end = ts
        self.offset = offset
        self.kind = "command"
        self.action_type = "command"
        self.key = None
        self.test_or_build = False
        self.cwd = self.repo = self.head = self.branch = self.terminal = None
        self.files_before: list[str] = []
        self.task = None
        self.prev: tuple | None = None
        self.gap_ms: int | None = None
        self.pause_class: str | None = None
        self.command = self.path = self.old_path = self.diff = None
        self.exit_code = self.output_tail = self.duration_ms = None
        self.lines_added: int | None = None
        self.lines_removed: int | None = None
        self.files_after: list[str] = []
        self.source_ids = [event_id]
        self.failed: bool | None = None
        self.episode_id = None
        self.index = 0
        self.is_first = self.is_last = self.is_terminal = False
        self.is_retry_of = self.recovered_by_step = self.time_to_recovery_ms = None
        self.in_loop = False
        self.closed = False

    def outcome_at(self, ts: int) -> tuple:
        """This step's outcome as known at ``ts`` (a command still running has no exit code)."""
        done = self.end <= ts
        return (
            self.action_type,
            self.exit_code if done else None,
            self.failed if done else None,
            self.duration_ms if done else None,
            self.lines_added,
            self.lines_removed,
        )


class StepBuilder:
    """Turns one session's events (in time order) into steps, fed to ``splitter``."""

    def __init__(self, session_id: str, splitter, terminal_chars: int = TERMINAL_CHARS):
        self.session_id = session_id
        self.splitter = splitter
        self.terminal_chars = terminal_chars
        self.terminal = ""
        self.pending_output: list[tuple[int, int, str]] = []  # (end, order, transcript piece)
        self.order = 0
        self.running: list[Step] = []  # commands whose file changes are their outcome
        self.files_since_step: list[str] = []
        self.last_cwd: str | None = None
        self.repos: set[str] = set()
        self.repo_of_cwd: dict[str, str | None] = {}
        self.heads: dict[str | None, tuple[str | None, str | None]] = {}
        self.events = 0

    # -- input --------------------------------------------------------------------------

    def feed(self, page) -> None:
        """Consume a page of events (an Arrow table ordered by ts_start, seq)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        cols: dict[str, list[Any]] = {name: page.column(name).to_pylist() for name in _COLUMNS}
        cols["ts"] = _micros(pa, pc, page.column("ts_start"))
        cols["ts_end"] = _micros(pa, pc, page.column("ts_end"))
        for i in range(page.num_rows):
            self._event(cols, i)
        self.events += page.num_rows

    def _event(self, c: dict[str, list[Any]], i: int) -> None:
        source, event_type = c["source"][i], c["event_type"][i]
        if source == "shell" and event_type == "command":
            self._command(c, i)
        elif source == "file":
            self._file(c, i)
        elif source == "user":
            if event_type == "task":
                self.splitter.task_mark(c["text"][i])
            elif event_type == "pause":
                self.splitter.pause_mark()

    # -- commands ---------------------------------------------------------------------

    def _command(self, c, i: int) -> None:
        ts = c["ts"][i]
        step = Step(self.session_id, c["event_id"][i], ts, c["utc_offset_min"][i])
        command = c["command"][i]
        cwd = c["cwd"][i] or self.last_cwd
        self.last_cwd = cwd
        self._learn_repo(c["repo"][i])
        step.repo = c["repo"][i] or self._repo_for(cwd)
        self._observe(step, cwd, c["git_head"][i], c["git_branch"][i])
        output = c["output"][i]
        end = c["ts_end"][i]
        step.command = command
        step.key = command_key(command)
        step.test_or_build = is_test_or_build(step.key)
        step.exit_code = c["exit_code"][i]
        step.failed = is_failure(step.exit_code, output)
        step.duration_ms = c["duration_ms"][i]
        step.output_tail = output[-OUTPUT_TAIL_CHARS:] if output else output
        step.lines_added = step.lines_removed = 0
        step.end = end if end is not None else ts
        self.splitter.add(step)
        piece = f"$ {command or ''}\n"
        if output:
            piece += output[-self.terminal_chars :]
            piece += "" if output.endswith("\n") else "\n"
        self.pending_output.append((step.end, self.order, piece))
        self.order += 1
        if end is not None and (step.key is None or step.key[0] not in TERMINAL_EDITORS):
            self.running.append(step)

    # -- files ----------------------------------------------------------------------------

    def _file(self, c, i: int) -> None:
        ts = c["ts"][i]
        path = c["path"][i]
        repo = c["repo"][i]
        self._learn_repo(repo)
        repo = repo or self._repo_for(path)
        if c["git_head"][i] or c["git_branch"][i]:
            self.heads[repo] = (c["git_head"][i], c["git_branch"][i])
            self.splitter.note_head(repo, c["git_head"][i])
        owner = self._running_at(ts)
        if owner is not None:
            self._attribute(owner, c, i, path)
            return
        step = Step(self.session_id, c["event_id"][i], ts, c["utc_offset_min"][i])
        step.kind = step.action_type = FILE_ACTIONS.get(c["event_type"][i], c["event_type"][i])
        step.repo = repo
        self._observe(step, self.last_cwd, None, None)
        step.path = path
        step.old_path = c["old_path"][i]
        step.diff = c["diff"][i]
        step.lines_added = c["lines_added"][i]
        step.lines_removed = c["lines_removed"][i]
        step.files_after = [path] if path else []
        self.splitter.add(step)

    def _running_at(self, ts: int) -> Step | None:
        """The latest-started command running at ``ts`` whose episode is still open."""
        keep = [s for s in self.running if s.end + ATTRIBUTION_SLACK_US >= ts]
        self.running = keep
        for step in reversed(keep):
            if step.ts <= ts:
                return step
        return None

    def _attribute(self, owner: Step, c, i: int, path: str | None) -> None:
        if path:
            self.files_since_step.append(path)
        if owner.closed:  # its episode is already written: only the next observation sees it
            return
        owner.source_ids.append(c["event_id"][i])
        owner.lines_added += c["lines_added"][i] or 0
        owner.lines_removed += c["lines_removed"][i] or 0
        if path and path not in owner.files_after:
            owner.files_after.append(path)

    # -- observation -----------------------------------------------------------------------

    def _observe(self, step: Step, cwd: str | None, head: str | None, branch: str | None) -> None:
        """Fill what the researcher saw before ``step``'s action."""
        step.cwd = cwd
        if head or branch:
            self.heads[step.repo] = (head, branch)
            self.splitter.note_head(step.repo, head)
        step.head, step.branch = self.heads.get(step.repo, (None, None))
        self._release_output(step.ts)
        step.terminal = self.terminal or None
        step.files_before = _unique(self.files_since_step)
        self.files_since_step = []

    def _release_output(self, ts: int) -> None:
        """Move the transcript of commands that ended by ``ts`` into the terminal."""
        if not self.pending_output:
            return
        ready = sorted(p for p in self.pending_output if p[0] <= ts)
        if not ready:
            return
        self.pending_output = [p for p in self.pending_output if p[0] > ts]
        text = self.terminal + "".join(piece for _, _, piece in ready)
        self.terminal = text[-self.terminal_chars :]

    # -- repositories ---------------------------------------------------------------------

    def _learn_repo(self, repo: str | None) -> None:
        if repo and repo not in self.repos:
            self.repos.add(repo)
            self.repo_of_cwd.clear()

    def _repo_for(self, path: str | None) -> str | None:
        """The longest known repository root containing ``path``."""
        if not path or not self.repos:
            return None
        if path in self.repo_of_cwd:
            return self.repo_of_cwd[path]
        best = None
        for repo in self.repos:
            root = repo.rstrip(os.sep)
            if (path == root or path.startswith(root + os.sep)) and (
                best is None or len(root) > len(best)
            ):
                best = repo
        self.repo_of_cwd[path] = best
        return best


def _micros(pa, pc, column) -> list[int | None]:
    """A timestamp column as integer microseconds."""
    return pc.cast(column.cast(pa.timestamp("us")), pa.int64()).to_pylist()


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
