"""The steps of a session between being built and being written.

A step is a :class:`Step`, a slotted record read and written by field name. The
step builder (:mod:`exporters.steps`) makes each one; the episode splitter
(:mod:`exporters.episodes`) fills in the fields that depend on the previous step
and keeps it in a :class:`StepBuffer`, which gets the fields of a whole episode
(:data:`CLOSED_FIELDS`) when it closes; the steps table (:mod:`exporters.tables`)
is made from the buffer column by column.

Text a step copies from its events (event ids, commands, paths, diffs, shell ids) and
its output (cut to its head and tail) do not become Python strings: :class:`EventRows` keeps them in
Arrow, taken from each page for the events that became or joined steps. Transcripts of
commands on the terminal are kept once each, in the order they appeared on the
screen; a step holds the range of them on its screen. Written steps are dropped
from the front (:meth:`StepBuffer.release`), so memory holds only the steps not
yet written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields


@dataclass(slots=True)
class Step:
    """One step as the builder makes it (the fields up to ``lines_removed``); the episode
    splitter fills in the last three, which depend on the step before it."""

    ref: int  # EventRows position of the step's own event
    ts: int  # action time, microseconds
    end: int  # a command's end, else ts
    offset: int | None  # UTC offset, minutes
    action: str  # action type
    key: tuple | None  # a command's key (exporters.commands.command_key)
    test_or_build: bool | None  # a command that runs tests or a build
    # The observation:
    cwd: str | None
    repo: str | None
    head: str | None
    branch: str | None
    screen_lo: int  # positions in StepBuffer.transcripts of the screen's transcripts
    screen_hi: int
    files_before: tuple[str, ...]  # changed (by commands) since the previous step
    # The outcome:
    files_after: list[str] | tuple[str, ...]
    exit_code: int | None
    failed: bool | None
    interrupted: bool | None  # stopped by SIGINT or SIGTERM (exporters.labels.is_interrupted)
    duration_ms: int | None
    lines_added: int | None
    lines_removed: int | None
    extra_refs: list[int] | None = None  # EventRows positions of the file events it owns
    # What it teaches (exporters.taskkinds, exporters.metrics):
    kind: str = "other"  # its step kind
    line: str | None = None  # a launch's command line; "" for other commands; None for files
    metrics: list | None = None  # exporters.metrics.Metric, printed in its output
    alarms: list[str] | None = None
    # Set by the episode splitter:
    prev: tuple | None = None  # the previous step's outcome as known at this step's time
    gap_ms: int | None = None
    pause_class: str | None = None


FIELDS = tuple(f.name for f in fields(Step))

# Fields of each step set when its episode closes, kept as columns.
CLOSED_FIELDS = (
    "episode_id", "index", "task", "is_first", "is_last", "is_terminal", "is_retry_of",
    "recovered_by_step", "time_to_recovery_ms", "in_loop",
)  # fmt: skip

# Event columns the steps table copies from EventRows (step_output: the output as a step
# holds it, made by exporters.steps).
COPIED_COLUMNS = ("event_id", "command", "path", "old_path", "diff", "step_output", "shell_id",
                  "shell")  # fmt: skip


def attribute(step: Step, ref: int, added: int, removed: int, path: str | None) -> None:
    """A file change (the event kept at ``ref``) made by the command of ``step``."""
    refs = step.extra_refs
    if refs is None:
        refs = step.extra_refs = []
    refs.append(ref)
    step.lines_added += added
    step.lines_removed += removed
    if path and path not in step.files_after:
        step.files_after.append(path)


class EventRows:
    """Rows of event columns (:data:`COPIED_COLUMNS`) kept for the steps table, each at a
    position numbered from 0 in the order they were kept."""

    def __init__(self):
        self.size = 0  # positions handed out so far
        self._chunks: list[tuple[int, object]] = []  # (first position, Arrow table)

    def keep(self, page, rows: Sequence[int]) -> None:
        """Keep ``rows`` of the event page ``page``, at the next ``len(rows)`` positions."""
        if rows:
            import pyarrow as pa

            chunk = page.select(list(COPIED_COLUMNS)).take(pa.array(rows, pa.int64()))
            self._chunks.append((self.size, chunk))
            self.size += len(rows)

    def take(self, positions: Sequence[int], names: Sequence[str] = COPIED_COLUMNS) -> dict:
        """The kept columns ``names`` at ``positions``, as string arrays by name."""
        import pyarrow as pa
        import pyarrow.compute as pc

        low = min(positions)
        chunks = [(first, chunk) for first, chunk in self._chunks if first + len(chunk) > low]
        base = chunks[0][0]
        table = pa.concat_tables([chunk.select(list(names)) for _, chunk in chunks])
        taken = table.take(pc.subtract(pa.array(positions, pa.int64()), base))
        return {name: taken.column(name).combine_chunks().cast(pa.string()) for name in names}

    def release(self, before: int) -> None:
        """Forget the rows at positions below ``before``."""
        self._chunks = [(first, c) for first, c in self._chunks if first + len(c) > before]


class StepBuffer:
    """The steps of a session from position ``base`` on, in order."""

    def __init__(self, session_id: str):
        self.session_id = session_id
        self.base = 0
        self.records: list[Step] = []
        self.closed: dict[str, list] = {name: [] for name in CLOSED_FIELDS}
        self.rows = EventRows()
        # Transcripts in the order they appeared on the screen, from position transcripts_base.
        self.transcripts: list[str] = []
        self.transcripts_base = 0
        # The researcher's notes (``recorder note``, redacted) made since the step before, by
        # the position of the step they precede (only the steps that have some).
        self.notes: dict[int, list[str]] = {}

    def close(self, n: int, episode_id: str, task: str | None, terminal: bool, labels) -> None:
        """The last ``n`` steps are an episode that just closed (``terminal``: it ended rather
        than was cut), with these ``labels`` (exporters.labels.StepLabels)."""
        closed = self.closed
        closed["episode_id"].extend([episode_id] * n)
        closed["index"].extend(range(n))
        closed["task"].extend([task] * n)
        closed["is_first"].extend([True] + [False] * (n - 1))
        closed["is_last"].extend([False] * (n - 1) + [True])
        closed["is_terminal"].extend([False] * (n - 1) + [terminal])
        closed["is_retry_of"].extend(labels.is_retry_of)
        closed["recovered_by_step"].extend(labels.recovered_by_step)
        closed["time_to_recovery_ms"].extend(labels.time_to_recovery_ms)
        closed["in_loop"].extend(labels.in_loop)

    def columns(self, stop: int) -> dict[str, Sequence]:
        """Every field of the steps before position ``stop`` (their episodes closed), by name."""
        n = stop - self.base
        columns = _columns(self.records[:n])
        columns.update((name, values[:n]) for name, values in self.closed.items())
        return columns

    def release(self, before: int) -> None:
        """Forget the steps before position ``before`` (written), and what only they used."""
        count = before - self.base
        if count <= 0:
            return
        # The screens of the steps still held (or else of the last one written) start here.
        screen_from = self.records[min(count, len(self.records) - 1)].screen_lo
        del self.records[:count]
        for values in self.closed.values():
            del values[:count]
        self.base = before
        if self.notes:
            self.notes = {k: v for k, v in self.notes.items() if k >= before}
        self.rows.release(self.records[0].ref if self.records else self.rows.size)
        del self.transcripts[: screen_from - self.transcripts_base]
        self.transcripts_base = screen_from


def _columns(steps: list[Step]) -> dict[str, list]:
    """Every field of ``steps``, as a list by name (written out: a loop that reads a field
    by its name in the code runs three times faster than ``getattr`` or ``attrgetter``)."""
    return {
        "ref": [s.ref for s in steps],
        "ts": [s.ts for s in steps],
        "end": [s.end for s in steps],
        "offset": [s.offset for s in steps],
        "action": [s.action for s in steps],
        "key": [s.key for s in steps],
        "test_or_build": [s.test_or_build for s in steps],
        "cwd": [s.cwd for s in steps],
        "repo": [s.repo for s in steps],
        "head": [s.head for s in steps],
        "branch": [s.branch for s in steps],
        "screen_lo": [s.screen_lo for s in steps],
        "screen_hi": [s.screen_hi for s in steps],
        "files_before": [s.files_before for s in steps],
        "files_after": [s.files_after for s in steps],
        "exit_code": [s.exit_code for s in steps],
        "failed": [s.failed for s in steps],
        "interrupted": [s.interrupted for s in steps],
        "duration_ms": [s.duration_ms for s in steps],
        "lines_added": [s.lines_added for s in steps],
        "lines_removed": [s.lines_removed for s in steps],
        "extra_refs": [s.extra_refs for s in steps],
        "kind": [s.kind for s in steps],
        "line": [s.line for s in steps],
        "metrics": [s.metrics for s in steps],
        "alarms": [s.alarms for s in steps],
        "prev": [s.prev for s in steps],
        "gap_ms": [s.gap_ms for s in steps],
        "pause_class": [s.pause_class for s in steps],
    }
