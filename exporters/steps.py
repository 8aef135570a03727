"""Events -> steps: the researcher's actions with what they saw before and what followed.

A step is one action, aligned as in RLDS: the action is taken on the observation,
and the outcome follows it. Actions are shell commands and the file changes no
command made (saves in an editor or an IDE). A file change a running command made
(``black .``, a build, ``git checkout``, a run's checkpoint: ``exporters.attribution``
decides) is that command's outcome instead, and shows up in the next step's
``files_changed``.

:class:`StepBuilder` reads a session's events in time order, page by page, makes
each new step (a :class:`~exporters.stepbuffer.Step`) and hands it to an
:class:`exporters.episodes.EpisodeSplitter`, which groups steps into episodes.
Everything is causal: an observation holds only what was known when the action
was taken. docs/dataset.md describes every field.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

from exporters.attribution import SLACK_US, Change, Running, owner
from exporters.commands import command_key, is_editor, is_recorder_key, is_test_or_build
from exporters.labels import failed_label, is_interrupted, traceback_rows
from exporters.metrics import exit_alarms, ordered_alarms, page_signals
from exporters.stepbuffer import Step, StepBuffer, attribute
from exporters.taskkinds import command_kind, file_kind
from exporters.textcut import clean_tail, head_and_tail

TERMINAL_CHARS = 2000  # observation.terminal: this many characters of recent transcripts,
TERMINAL_COMMANDS = 10  # of at most this many commands
OUTPUT_CHARS = 8000  # outcome.output (the setting export.output_chars; this is its default)
# File event type -> action type of the step it makes.
FILE_ACTIONS = {"save": "edit", "modify": "edit", "create": "create", "delete": "delete",
                "rename": "rename", "burst": "burst"}  # fmt: skip

NO_GIT = (None, None)  # (head, branch) of a repository not seen yet


def changed_us(extra: str | None) -> int | None:
    """The ctime (microseconds) a file event's ``extra.stat`` holds: when the file was
    written, by the kernel's clock. None for a deletion, or an event without one."""
    if not extra or '"stat"' not in extra:
        return None
    try:
        stat = json.loads(extra)["stat"]
        return int(stat[2]) // 1000
    except (ValueError, TypeError, KeyError, IndexError):
        return None


def _new_step() -> Step:
    """A :class:`Step` whose fields the builder then sets by name, every one of them (a
    field left out fails when read). Calling ``Step(ref=..., ...)`` with its twenty-odd
    keywords would build a dict per step and cost an export a few percent of its time."""
    return object.__new__(Step)


# The event columns the builder reads, in the order of the row tuples it walks (the text a
# step only copies, such as diffs, stays in Arrow: see exporters.stepbuffer).
COLUMNS = ("source", "event_type", "ts_start", "ts_end", "utc_offset_min", "cwd", "repo",
           "git_head", "git_branch", "command", "exit_code", "pipestatus", "duration_ms",
           "output", "path", "lines_added", "lines_removed", "text")  # fmt: skip
(SOURCE, TYPE, TS, TS_END, OFFSET, CWD, REPO, HEAD, BRANCH, COMMAND, EXIT, PIPESTATUS, DURATION,
 OUTPUT, PATH, ADDED, REMOVED, TEXT) = range(len(COLUMNS))  # fmt: skip


class StepBuilder:
    """Turns one session's events (in time order) into steps, each handed to ``splitter``
    (which keeps them in ``steps``) as soon as it is made."""

    def __init__(self, steps: StepBuffer, splitter, terminal_chars: int = TERMINAL_CHARS,
                 output_chars: int = OUTPUT_CHARS):  # fmt: skip
        self.steps = steps
        self.splitter = splitter
        self.terminal_chars = terminal_chars
        self.output_chars = output_chars
        # The screen: steps.transcripts[lo:hi] (positions), screen_chars characters in all.
        self.screen_lo = self.screen_hi = 0
        self.screen_chars = 0
        self.pending_output: list[tuple[int, int, str]] = []  # (end, order, transcript)
        self.order = 0
        # (ts, end, episode, step) of the commands whose file changes are their outcome.
        self.running: list[tuple] = []
        self.files_since_step: list[str] = []
        self.last_cwd: str | None = None
        self.repos: set[str] = set()
        self.repo_of_path: dict[str, str | None] = {}
        self.heads: dict[str | None, tuple[str | None, str | None]] = {}
        self.events = 0
        self.notes: list[str] = []  # the researcher's notes since the last step
        self._kept: list[int] = []  # rows of the current page to keep in steps.rows
        self._kept_base = 0  # the position there of the first of them
        self._tracebacks: set[int] = set()  # rows of the current page with a traceback
        self._metrics: dict = {}  # row of the current page -> the metrics its output printed
        self._alarms: dict = {}  # row -> the alarms its output raised

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
        self._extras = page.column("extra")
        self._tracebacks = traceback_rows(columns[OUTPUT])
        self._metrics, self._alarms = page_signals(columns[OUTPUT])
        self._kept, self._kept_base = [], self.steps.rows.size
        command, file, user = self._command, self._file, self._user
        for i, row in enumerate(zip(*columns, strict=True)):
            source = row[SOURCE]
            if source == "shell":
                if row[TYPE] == "command":
                    command(row, i)
            elif source == "file":
                action = FILE_ACTIONS.get(row[TYPE])
                if action is not None:  # else bookkeeping (reconcile manifests)
                    file(row, i, action)
            elif source == "user":
                user(row)
        outputs = step_outputs(page.column("output"), columns[OUTPUT], self.output_chars)
        self.steps.rows.keep(page.append_column("step_output", outputs), self._kept)
        self.events += page.num_rows

    def _keep(self, i: int) -> int:
        """Keep row ``i`` of the page for the steps table; its position in steps.rows."""
        self._kept.append(i)
        return self._kept_base + len(self._kept) - 1

    def _user(self, row: tuple) -> None:
        if row[TYPE] == "task":
            self.splitter.task_mark(row[TEXT])
        elif row[TYPE] == "pause":
            self.splitter.pause_mark()
        elif row[TYPE] == "note" and row[TEXT]:
            self.notes.append(row[TEXT])

    def _add(self, step: Step) -> None:
        """Hand ``step`` to the splitter, with the notes made since the step before."""
        self.splitter.add(step)
        if self.notes:
            steps = self.steps
            steps.notes[steps.base + len(steps.records) - 1] = self.notes
            self.notes = []

    # -- commands ---------------------------------------------------------------------

    def _command(self, row: tuple, i: int) -> None:
        ts = row[TS]
        cwd = row[CWD] or self.last_cwd
        self.last_cwd = cwd
        repo = self._repo(row[REPO], cwd)
        if row[HEAD] or row[BRANCH]:
            self._learn_head(repo, row[HEAD], row[BRANCH])
        command, output, exit_code, ended = row[COMMAND], row[OUTPUT], row[EXIT], row[TS_END]
        key, test_or_build, editor, own, kind = _command_facts(command)
        end = ts if ended is None else ended
        transcript = (end, self.order, self._transcript(command, output))
        self.order += 1
        if own:  # the recorder's own command: on the screen, but neither a step nor an owner
            self.pending_output.append(transcript)
            return
        head, branch = self.heads.get(repo, NO_GIT)
        if self.pending_output:
            self._release_output(ts)
        files_before = self._files_before() if self.files_since_step else ()
        pipestatus = row[PIPESTATUS]
        step = _new_step()
        step.ref, step.ts, step.end, step.offset = self._keep(i), ts, end, row[OFFSET]
        step.action, step.key, step.test_or_build = "command", key, test_or_build
        step.cwd, step.repo, step.head, step.branch = cwd, repo, head, branch
        step.screen_lo, step.screen_hi = self.screen_lo, self.screen_hi
        step.files_before, step.files_after = files_before, []
        step.exit_code = exit_code
        step.failed = failed_label(exit_code, i in self._tracebacks, pipestatus=pipestatus)
        step.interrupted = is_interrupted(exit_code, pipestatus)
        step.duration_ms, step.lines_added, step.lines_removed = row[DURATION], 0, 0
        step.kind, step.line = kind, command if kind == "launch" else ""
        step.metrics = self._metrics.get(i)
        raised = self._alarms.get(i)
        if exit_code == 137 or pipestatus:
            raised = (raised or set()) | exit_alarms(exit_code, pipestatus)
        step.alarms = ordered_alarms(raised) if raised else None
        step.extra_refs = step.prev = step.gap_ms = step.pause_class = None
        self._add(step)
        self.pending_output.append(transcript)
        self._track(step, ended, editor, command)

    def _transcript(self, command: str | None, output: str | None) -> str:
        """What a command leaves on the screen: ``$ command``, then its output's tail."""
        text = f"$ {command or ''}\n"
        if output:
            text += clean_tail(output, self.terminal_chars)
            if not output.endswith("\n"):
                text += "\n"
        return text

    # -- files ----------------------------------------------------------------------------

    def _file(self, row: tuple, i: int, action: str) -> None:
        ts = row[TS]
        path = row[PATH]
        repo = self._repo(row[REPO], path)
        if row[HEAD] or row[BRANCH]:
            self._learn_head(repo, row[HEAD], row[BRANCH])
        if self.running and self._attributed(row, i, path):
            return
        head, branch = self.heads.get(repo, NO_GIT)
        if self.pending_output:
            self._release_output(ts)
        files_before = self._files_before() if self.files_since_step else ()
        step = _new_step()
        step.ref, step.ts, step.end, step.offset = self._keep(i), ts, ts, row[OFFSET]
        step.action, step.key, step.test_or_build = action, None, None
        step.cwd, step.repo, step.head, step.branch = self.last_cwd, repo, head, branch
        step.screen_lo, step.screen_hi = self.screen_lo, self.screen_hi
        step.files_before, step.files_after = files_before, (path,) if path else ()
        step.exit_code = step.failed = step.interrupted = step.duration_ms = None
        step.lines_added, step.lines_removed = row[ADDED], row[REMOVED]
        step.kind, step.line, step.metrics, step.alarms = file_kind(path), None, None, None
        step.extra_refs = step.prev = step.gap_ms = step.pause_class = None
        self._add(step)

    # -- attribution: which file changes are a command's outcome ------------------------------
    # (The whole rule lives in _track and _attributed; everything else only calls them.)

    def _track(self, step: Step, ended: int | None, editor: bool, command: str | None) -> None:
        """A new command step, which may own the file changes made while it runs
        (``exporters.attribution``). A command that never ended owns nothing."""
        if ended is not None:
            running = Running(step.ts, step.end, step.key, command, step.cwd, editor)
            self.running.append((running, self.splitter.current, step))

    def _attributed(self, row: tuple, i: int, path: str | None) -> bool:
        """If a running command made the file event ``row`` (``attribution.owner``), record
        it as that command's outcome: True. Else it is a step of its own."""
        change = Change(
            row[TS],
            row[TYPE],
            os.path.join(row[REPO], path) if row[REPO] and path else path,
            row[ADDED] is not None,
            bool(row[REMOVED]),
            changed_us(self._extras[i].as_py()),
        )
        at = change.at_us
        self.running = [r for r in self.running if r[0].end_us + SLACK_US >= at]
        found = owner(change, [r[0] for r in self.running])
        if found is None:
            return False
        if path:
            self.files_since_step.append(path)
        _, episode, step = self.running[found]
        if episode is self.splitter.current:  # (else its episode is closed, maybe written:
            # only the next observation sees the change)
            attribute(step, self._keep(i), row[ADDED] or 0, row[REMOVED] or 0, path)
        return True

    # -- (end of attribution) -----------------------------------------------------------------

    # -- observation -----------------------------------------------------------------------

    def _learn_head(self, repo: str | None, head: str | None, branch: str | None) -> None:
        self.heads[repo] = (head, branch)
        self.splitter.note_head(repo, head)

    def _files_before(self) -> tuple[str, ...]:
        """The files changed since the previous step (by commands), each once."""
        files = tuple(dict.fromkeys(self.files_since_step))
        self.files_since_step = []
        return files

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
        transcripts = self.steps.transcripts
        base = self.steps.transcripts_base
        for _, _, text in ready:
            transcripts.append(text)
            self.screen_chars += len(text)
        lo, hi = self.screen_lo, base + len(transcripts)
        while hi - lo > 1 and (
            self.screen_chars > self.terminal_chars or hi - lo > TERMINAL_COMMANDS
        ):
            self.screen_chars -= len(transcripts[lo - base])
            lo += 1
        self.screen_lo, self.screen_hi = lo, hi

    # -- repositories ---------------------------------------------------------------------

    def _repo(self, repo: str | None, path: str | None) -> str | None:
        """The event's repository (learnt), else the one containing its ``path``."""
        if repo:
            if repo not in self.repos:
                self.repos.add(repo)
                self.repo_of_path.clear()
            return repo
        if not path or not self.repos:
            return None
        if path in self.repo_of_path:
            return self.repo_of_path[path]
        return self._repo_for(path)

    def _repo_for(self, path: str) -> str | None:
        """The longest known repository root containing ``path``."""
        best = None
        for repo in self.repos:
            root = repo.rstrip(os.sep)
            if (path == root or path.startswith(root + os.sep)) and (
                best is None or len(root) > len(best)
            ):
                best = repo
        self.repo_of_path[path] = best
        return best


@lru_cache(maxsize=65536)
def _command_facts(command: str | None) -> tuple:
    """A command's key, whether it is a test or build run, whether it is a terminal editor
    (whose file changes are the researcher's edits), whether it is the recorder's own, and
    its step kind (exporters.taskkinds)."""
    key = command_key(command)
    return key, is_test_or_build(key), is_editor(key), is_recorder_key(key), command_kind(command)


def step_outputs(outputs, texts: list, limit: int):
    """``outputs`` (an Arrow string column, ``texts`` its values) with the values longer
    than ``limit`` cut to their head and tail: outcome.output."""
    import pyarrow as pa
    import pyarrow.compute as pc

    outputs = outputs.combine_chunks().cast(pa.string())
    long = pc.fill_null(pc.greater(pc.utf8_length(outputs), limit), False)
    if not pc.any(long).as_py():
        return outputs
    cut = [head_and_tail(texts[i], limit) for i in pc.indices_nonzero(long).to_pylist()]
    return pc.replace_with_mask(outputs, long, pa.array(cut, pa.string()))
