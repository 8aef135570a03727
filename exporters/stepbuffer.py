"""The steps of a session between being built and being written.

A step is a record: a list with one item per name of :data:`FIELDS`, read and
written through the index constants below (a session has hundreds of thousands
of steps, and a list is what Python builds and reads fastest). The step builder
(:mod:`exporters.steps`) makes each record; the episode splitter
(:mod:`exporters.episodes`) fills in the fields that depend on the previous step
and keeps it in a :class:`StepBuffer`, which gets the fields of a whole episode
(:data:`CLOSED_FIELDS`) when it closes; the steps table (:mod:`exporters.tables`)
is made from the buffer column by column.

Text a step copies from its events (event ids, commands, paths, diffs) and its
output's tail do not become Python strings: :class:`EventRows` keeps them in
Arrow, taken from each page for the events that became or joined steps. Transcripts of
commands on the terminal are kept once each, in the order they appeared on the
screen; a step holds the range of them on its screen. Written steps are dropped
from the front (:meth:`StepBuffer.release`), so memory holds only the steps not
yet written.
"""

from __future__ import annotations

from collections.abc import Sequence

FIELDS = (
    "ref",  # EventRows position of the step's own event
    "extra_refs",  # EventRows positions of the file events a command owns, or None
    "ts", "end", "offset",  # action time, end (a command's end, else ts), UTC offset
    "action", "key", "test_or_build",  # action type; a command's key and test/build flag
    "cwd", "repo", "head", "branch", "screen_lo", "screen_hi", "files_before",  # observation
    "files_after", "exit_code", "failed", "duration_ms", "lines_added", "lines_removed",
    "prev", "gap_ms", "pause_class",  # set by the episode splitter
)  # fmt: skip
(REF, EXTRA_REFS, TS, END, OFFSET, ACTION, KEY, TEST_OR_BUILD, CWD, REPO, HEAD, BRANCH,
 SCREEN_LO, SCREEN_HI, FILES_BEFORE, FILES_AFTER, EXIT_CODE, FAILED, DURATION_MS, LINES_ADDED,
 LINES_REMOVED, PREV, GAP_MS, PAUSE_CLASS) = range(len(FIELDS))  # fmt: skip

# Fields of each step set when its episode closes, kept as columns.
CLOSED_FIELDS = (
    "episode_id", "index", "task", "is_first", "is_last", "is_terminal", "is_retry_of",
    "recovered_by_step", "time_to_recovery_ms", "in_loop",
)  # fmt: skip

# Event columns the steps table copies from EventRows (output_tail: exporters.steps).
COPIED_COLUMNS = ("event_id", "command", "path", "old_path", "diff", "output_tail")


def attribute(step: list, ref: int, added: int, removed: int, path: str | None) -> None:
    """A file change (the event kept at ``ref``) made by the command of ``step``."""
    refs = step[EXTRA_REFS]
    if refs is None:
        refs = step[EXTRA_REFS] = []
    refs.append(ref)
    step[LINES_ADDED] += added
    step[LINES_REMOVED] += removed
    if path and path not in step[FILES_AFTER]:
        step[FILES_AFTER].append(path)


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
        self.records: list[list] = []
        self.closed: dict[str, list] = {name: [] for name in CLOSED_FIELDS}
        self.rows = EventRows()
        # Transcripts in the order they appeared on the screen, from position transcripts_base.
        self.transcripts: list[str] = []
        self.transcripts_base = 0

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
        columns = dict(zip(FIELDS, zip(*self.records[:n], strict=True), strict=True))
        columns.update((name, values[:n]) for name, values in self.closed.items())
        return columns

    def release(self, before: int) -> None:
        """Forget the steps before position ``before`` (written), and what only they used."""
        count = before - self.base
        if count <= 0:
            return
        # The screens of the steps still held (or else of the last one written) start here.
        screen_from = self.records[min(count, len(self.records) - 1)][SCREEN_LO]
        del self.records[:count]
        for values in self.closed.values():
            del values[:count]
        self.base = before
        self.rows.release(self.records[0][REF] if self.records else self.rows.size)
        del self.transcripts[: screen_from - self.transcripts_base]
        self.transcripts_base = screen_from
