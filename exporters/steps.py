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

from exporters.labels import command_key, is_failure, is_test_or_build
from exporters.textcut import clean_tail

TERMINAL_CHARS = 2000  # observation.terminal: this many characters of recent transcripts,
TERMINAL_COMMANDS = 10  # of at most this many commands
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

# The event columns the builder reads, in the order of the row tuples it walks.
COLUMNS = ("event_id", "source", "event_type", "ts_start", "ts_end", "utc_offset_min", "cwd",
           "repo", "git_head", "git_branch", "command", "exit_code", "duration_ms", "output",
           "path", "old_path", "diff", "lines_added", "lines_removed", "text")  # fmt: skip
(ID, SOURCE, TYPE, TS, TS_END, OFFSET, CWD, REPO, HEAD, BRANCH, COMMAND, EXIT, DURATION,
 OUTPUT, PATH, OLD_PATH, DIFF, ADDED, REMOVED, TEXT) = range(len(COLUMNS))  # fmt: skip


class Step:
    """One step while it is built; episodes.py numbers it and labels.py labels it.

    Slots rather than an instance dict: a batch of steps is read column by column
    when its table is built, and slots keep that fast and the steps small.
    """

    __slots__ = (
        "action_type",
        "branch",
        "closed",  # its episode has been handed on
        "command",
        "cwd",
        "diff",
        "duration_ms",
        "end",
        "episode_id",
        "event_id",
        "exit_code",
        "failed",
        "files_after",
        "files_before",
        "gap_ms",
        "head",
        "in_loop",
        "index",
        "is_first",
        "is_last",
        "is_retry_of",
        "is_terminal",
        "key",  # command_key() of a command
        "kind",  # "command" or the file action type
        "lines_added",
        "lines_removed",
        "offset",
        "old_path",
        "output_tail",
        "path",
        "pause_class",
        "prev",  # the previous step's outcome as known at this step's time
        "recovered_by_step",
        "repo",
        "session_id",
        "source_ids",
        "task",
        "terminal",
        "test_or_build",
        "time_to_recovery_ms",
        "ts",
    )  # fmt: skip

    def __init__(self, session_id: str, event_id: str, ts: int, offset: int | None):
        self.session_id = session_id
        self.event_id = event_id
        self.ts = ts
        self.end = ts
        self.offset = offset
        self.source_ids = [event_id]
        self.kind = self.action_type = "command"
        self.test_or_build = False
        self.terminal: tuple[str, ...] = ()
        self.files_before: tuple[str, ...] = ()
        self.files_after: list[str] | tuple[str, ...] = ()
        self.key = self.cwd = self.repo = self.head = self.branch = self.task = None
        self.prev: tuple | None = None
        self.gap_ms: int | None = None
        self.pause_class: str | None = None
        self.command = self.path = self.old_path = self.diff = None
        self.exit_code = self.output_tail = self.duration_ms = None
        self.lines_added: int | None = None
        self.lines_removed: int | None = None
        self.failed: bool | None = None
        self.episode_id = None
        self.index = 0
        self.is_first = self.is_last = self.is_terminal = False
        self.is_retry_of = self.recovered_by_step = self.time_to_recovery_ms = None
        self.in_loop = False
        self.closed = False

    def outcome_at(self, ts: int) -> tuple:
        """This step's outcome as known at ``ts`` (a command still running has no exit code)."""
        if self.end <= ts:
            return (self.action_type, self.exit_code, self.failed, self.duration_ms,
                    self.lines_added, self.lines_removed)  # fmt: skip
        return (self.action_type, None, None, None, self.lines_added, self.lines_removed)


class StepBuilder:
    """Turns one session's events (in time order) into steps, fed to ``splitter``."""

    def __init__(self, session_id: str, splitter, terminal_chars: int = TERMINAL_CHARS):
        self.session_id = session_id
        self.splitter = splitter
        self.terminal_chars = terminal_chars
        self.terminal: tuple[str, ...] = ()  # transcripts on screen, oldest first
        self.terminal_len = 0
        self.pending_output: list[tuple[int, int, str]] = []  # (end, order, transcript)
        self.order = 0
        self.running: list[Step] = []  # commands whose file changes are their outcome
        self.files_since_step: list[str] = []
        self.last_cwd: str | None = None
        self.repos: set[str] = set()
        self.repo_of_path: dict[str, str | None] = {}
        self.heads: dict[str | None, tuple[str | None, str | None]] = {}
        self.events = 0

    # -- input --------------------------------------------------------------------------

    def feed(self, page) -> None:
        """Consume a page of events (an Arrow table ordered by ts_start, seq)."""
        import pyarrow as pa

        columns = []
        for name in COLUMNS:
            column = page.column(name)
            if name in ("ts_start", "ts_end"):  # integer microseconds
                column = column.cast(pa.timestamp("us")).cast(pa.int64())
            columns.append(column.to_pylist())
        command, file, user = self._command, self._file, self._user
        for row in zip(*columns, strict=True):
            source = row[SOURCE]
            if source == "shell":
                if row[TYPE] == "command":
                    command(row)
            elif source == "file":
                file(row)
            elif source == "user":
                user(row)
        self.events += page.num_rows

    def _user(self, row: tuple) -> None:
        if row[TYPE] == "task":
            self.splitter.task_mark(row[TEXT])
        elif row[TYPE] == "pause":
            self.splitter.pause_mark()

    # -- commands ---------------------------------------------------------------------

    def _command(self, row: tuple) -> None:
        ts = row[TS]
        step = Step(self.session_id, row[ID], ts, row[OFFSET])
        command = row[COMMAND]
        cwd = row[CWD] or self.last_cwd
        self.last_cwd = cwd
        repo = row[REPO]
        if repo:
            self._learn_repo(repo)
        step.repo = repo or self._repo_for(cwd)
        self._observe(step, cwd, row[HEAD], row[BRANCH])
        output = row[OUTPUT]
        end = row[TS_END]
        step.command = command
        step.key = key = command_key(command)
        step.test_or_build = is_test_or_build(key)
        step.exit_code = row[EXIT]
        step.failed = is_failure(step.exit_code, output)
        step.duration_ms = row[DURATION]
        step.lines_added = step.lines_removed = 0
        step.files_after = []
        if output:
            step.output_tail = clean_tail(output, OUTPUT_TAIL_CHARS)
        elif output is not None:
            step.output_tail = output
        step.end = end if end is not None else ts
        self.splitter.add(step)
        self.pending_output.append((step.end, self.order, self._transcript(command, output)))
        self.order += 1
        if end is not None and (key is None or key[0] not in TERMINAL_EDITORS):
            self.running.append(step)

    def _transcript(self, command: str | None, output: str | None) -> str:
        """What a command leaves on the screen: ``$ command``, then its output's tail."""
        text = f"$ {command or ''}\n"
        if output:
            text += clean_tail(output, self.terminal_chars)
            if not output.endswith("\n"):
                text += "\n"
        return text

    # -- files ----------------------------------------------------------------------------

    def _file(self, row: tuple) -> None:
        if row[TYPE] not in FILE_ACTIONS:
            return  # bookkeeping (reconcile manifests), not something the researcher did
        ts = row[TS]
        path = row[PATH]
        repo = row[REPO]
        if repo:
            self._learn_repo(repo)
        else:
            repo = self._repo_for(path)
        if row[HEAD] or row[BRANCH]:
            self.heads[repo] = (row[HEAD], row[BRANCH])
            self.splitter.note_head(repo, row[HEAD])
        owner = self._running_at(ts) if self.running else None
        if owner is not None:
            self._attribute(owner, row, path)
            return
        step = Step(self.session_id, row[ID], ts, row[OFFSET])
        step.kind = step.action_type = FILE_ACTIONS.get(row[TYPE], row[TYPE])
        step.repo = repo
        self._observe(step, self.last_cwd, None, None)
        step.path = path
        step.old_path = row[OLD_PATH]
        step.diff = row[DIFF]
        step.lines_added = row[ADDED]
        step.lines_removed = row[REMOVED]
        if path:
            step.files_after = (path,)
        self.splitter.add(step)

    def _running_at(self, ts: int) -> Step | None:
        """The latest-started command running at ``ts`` (its end plus the slack)."""
        keep = [s for s in self.running if s.end + ATTRIBUTION_SLACK_US >= ts]
        self.running = keep
        for step in reversed(keep):
            if step.ts <= ts:
                return step
        return None

    def _attribute(self, owner: Step, row: tuple, path: str | None) -> None:
        if path:
            self.files_since_step.append(path)
        if owner.closed:  # its episode is already written: only the next observation sees it
            return
        owner.source_ids.append(row[ID])
        owner.lines_added += row[ADDED] or 0
        owner.lines_removed += row[REMOVED] or 0
        if path and path not in owner.files_after:
            owner.files_after.append(path)

    # -- observation -----------------------------------------------------------------------

    def _observe(self, step: Step, cwd: str | None, head: str | None, branch: str | None) -> None:
        """Fill what the researcher saw before ``step``'s action."""
        step.cwd = cwd
        if head or branch:
            self.heads[step.repo] = (head, branch)
            self.splitter.note_head(step.repo, head)
        known = self.heads.get(step.repo)
        if known is not None:
            step.head, step.branch = known
        if self.pending_output:
            self._release_output(step.ts)
        step.terminal = self.terminal
        if self.files_since_step:
            step.files_before = tuple(dict.fromkeys(self.files_since_step))
            self.files_since_step = []

    def _release_output(self, ts: int) -> None:
        """Put the transcripts of commands that ended by ``ts`` on the screen, keeping the
        newest ones within ``terminal_chars`` and ``TERMINAL_COMMANDS`` (the newest always)."""
        pending = self.pending_output
        if len(pending) == 1:
            if pending[0][0] > ts:
                return
            ready, self.pending_output = pending, []
        else:
            ready = sorted(p for p in pending if p[0] <= ts)
            if not ready:
                return
            self.pending_output = [p for p in pending if p[0] > ts]
        pieces = list(self.terminal)
        total = self.terminal_len
        for _, _, text in ready:
            pieces.append(text)
            total += len(text)
        drop = 0
        while len(pieces) - drop > 1 and (
            total > self.terminal_chars or len(pieces) - drop > TERMINAL_COMMANDS
        ):
            total -= len(pieces[drop])
            drop += 1
        self.terminal = tuple(pieces[drop:])
        self.terminal_len = total

    # -- repositories ---------------------------------------------------------------------

    def _learn_repo(self, repo: str) -> None:
        if repo not in self.repos:
            self.repos.add(repo)
            self.repo_of_path.clear()

    def _repo_for(self, path: str | None) -> str | None:
        """The longest known repository root containing ``path``."""
        if not path or not self.repos:
            return None
        if path in self.repo_of_path:
            return self.repo_of_path[path]
        best = None
        for repo in self.repos:
            root = repo.rstrip(os.sep)
            if (path == root or path.startswith(root + os.sep)) and (
                best is None or len(root) > len(best)
            ):
                best = repo
        self.repo_of_path[path] = best
        return best
