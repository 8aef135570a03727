"""The labels of steps and episodes, exactly as docs/labels.md defines them.

Per step: ``failed``, ``interrupted``, ``is_retry_of``, ``recovered_by_step``,
``time_to_recovery_ms``, ``in_edit_run_fix_loop`` and ``pause_class``. Per
episode: ``success``, ``exit_status`` and the counts of failures, recoveries,
retries and loop steps. Retries and recoveries compare commands by their key
(:mod:`exporters.commands`, which also says which commands are the recorder's
own, which run a terminal editor and which run tests or a build). Everything
here is a pure function of an episode's steps, so each label can be tested on
hand-built sequences.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from exporters.commands import Key, is_editor, is_recorder_key

# -- failed -------------------------------------------------------------------------------

# Substrings that mark a crash report in a command's output (a traceback), whatever the
# exit code: Python, Java/JVM, Rust, Go.
TRACEBACK_MARKERS = (
    "Traceback (most recent call last):",
    'Exception in thread "',
    "' panicked at ",
    "\ngoroutine 1 [",
)


def has_traceback(output: str | None) -> bool:
    return bool(output) and any(marker in output for marker in TRACEBACK_MARKERS)


def traceback_rows(outputs: Sequence[str | None]) -> set[int]:
    """The indices of the ``outputs`` that ``has_traceback``: one search of their joined
    text per marker (a page of outputs rarely holds any)."""
    texts = [output or "" for output in outputs]
    joined = "\x00".join(texts)  # no marker holds a NUL: a match is inside one output
    found = [marker for marker in TRACEBACK_MARKERS if marker in joined]
    if not found:
        return set()
    starts = list(accumulate(map((1).__add__, map(len, texts)), initial=0))  # (+ the NUL)
    rows = set()
    for marker in found:
        at = joined.find(marker)
        while at >= 0:
            k = bisect.bisect_right(starts, at) - 1
            rows.add(k)
            at = joined.find(marker, starts[k + 1])
    return rows


# Exit statuses of a command the researcher (or a scheduler) stopped: 128 + SIGINT (Ctrl-C)
# and 128 + SIGTERM (kill, scancel).
INTERRUPT_STATUSES = frozenset({130, 143})
SIGPIPE_STATUS = 141  # 128 + SIGPIPE: `yes | head`, normal for a command that feeds a pipe


def is_failure(
    exit_code: int | None, output: str | None, pipestatus: Sequence[int | None] | None = None
) -> bool | None:
    """True: non-zero exit (of any command of the pipeline) or a traceback in the output.
    None: no exit code and no traceback, or interrupted."""
    return failed_label(exit_code, has_traceback(output), pipestatus=pipestatus)


def failed_label(
    exit_code: int | None, traceback: bool, pipestatus: Sequence[int | None] | None = None
) -> bool | None:
    """``is_failure`` of a command, knowing whether its output has a traceback."""
    if exit_code in INTERRUPT_STATUSES:
        return None
    statuses = pipeline_statuses(exit_code, pipestatus)
    if statuses is not None:
        if any(s in INTERRUPT_STATUSES for s in statuses):
            return None
        last = len(statuses) - 1
        if any(s and not (s == SIGPIPE_STATUS and k < last) for k, s in enumerate(statuses)):
            return True
        return traceback  # (the exit code is the 141 of a SIGPIPE under pipefail, or 0)
    if exit_code is not None and exit_code != 0:
        return True
    if traceback:
        return True
    return None if exit_code is None else False


def is_interrupted(exit_code: int | None, pipestatus: Sequence[int | None] | None = None) -> bool:
    """The command (or a command of its pipeline) was stopped by SIGINT or SIGTERM."""
    if exit_code in INTERRUPT_STATUSES:
        return True
    statuses = pipeline_statuses(exit_code, pipestatus)
    return statuses is not None and any(s in INTERRUPT_STATUSES for s in statuses)


def pipeline_statuses(
    exit_code: int | None, pipestatus: Sequence[int | None] | None
) -> Sequence[int | None] | None:
    """``pipestatus`` if it describes the pipeline whose status ``exit_code`` is: two or more
    known statuses, of which ``exit_code`` is the last (or, under ``set -o pipefail``, the
    last non-zero one). Else None: trust the exit code (``! cmd``, ``if cmd; then``)."""
    if exit_code is None or not pipestatus or len(pipestatus) < 2 or None in pipestatus:
        return None
    if exit_code == pipestatus[-1]:
        return pipestatus
    failing = [s for s in pipestatus if s]
    return pipestatus if failing and exit_code == failing[-1] else None


# -- pauses -------------------------------------------------------------------------------

PAUSE_SHORT_MS = 5_000
PAUSE_LONG_MS = 60_000


def pause_class(gap_ms: int | None, paused: bool, idle_gap_ms: int) -> str | None:
    """The pause before a step: paused (the researcher paused recording), none (< 5 s),
    short (< 1 min), long (< the idle gap), break (longer); None on an episode's first step."""
    if gap_ms is None:
        return None
    if paused:
        return "paused"
    if gap_ms < PAUSE_SHORT_MS:
        return "none"
    if gap_ms < PAUSE_LONG_MS:
        return "short"
    if gap_ms < idle_gap_ms:
        return "long"
    return "break"


# -- per-episode labels -----------------------------------------------------------------


@dataclass
class EpisodeLabels:
    success: bool | None
    failures: int
    recoveries: int
    retries: int
    loop_steps: int
    test_runs: int


@dataclass
class StepLabels:
    """Per step of an episode, in order (indices are step indices in the episode)."""

    is_retry_of: list[int | None]
    recovered_by_step: list[int | None]
    time_to_recovery_ms: list[int | None]
    in_loop: list[bool]


def label_episode(
    kinds: Sequence[str],
    keys: Sequence[Key | None],
    failed: Sequence[bool | None],
    test_or_build: Sequence[bool | None],
    ends: Sequence[int],
    interrupted: Sequence[bool] | None = None,
) -> tuple[StepLabels, EpisodeLabels]:
    """The labels of an episode's steps and of the episode, from its steps' kinds
    ("command" or a file step type), command keys, failed labels, test-or-build flags and
    end times (a command's end, else the action time; microseconds), each a list.

    ``interrupted`` (``is_interrupted`` of each step, False for file steps) makes an
    interrupted run count as no run for retries and loops: the next run of its command is a
    retry of the failure before it. Without it, an interrupted run only has no result
    (``failed_label`` gives None), and the next run retries nothing."""
    n = len(kinds)
    if interrupted is not None:
        failed = [None if stopped else f for f, stopped in zip(failed, interrupted, strict=True)]
    labels = StepLabels([None] * n, [None] * n, [None] * n, [False] * n)
    previous_runs = _retries_and_recoveries(kinds, keys, failed, ends, interrupted, labels)
    _edit_run_fix_loops(kinds, keys, previous_runs, labels)
    tests = [i for i, tb in enumerate(test_or_build) if tb and kinds[i] == "command"]
    episode = EpisodeLabels(
        success=_success(tests, kinds, keys, failed, labels.recovered_by_step),
        failures=failed.count(True),
        recoveries=n - labels.recovered_by_step.count(None),
        retries=n - labels.is_retry_of.count(None),
        loop_steps=labels.in_loop.count(True),
        test_runs=len(tests),
    )
    return labels, episode


def _retries_and_recoveries(
    kinds, keys, failed, ends, interrupted, labels: StepLabels
) -> dict[int, int]:
    """Set the retry and recovery labels; return each command step's previous run (the
    command step before it with the same key, not interrupted), for those that have one."""
    previous_runs: dict[int, int] = {}
    last_run: dict[Key, int] = {}  # key -> index of the last command step with that key
    open_failures: dict[Key, list[int]] = {}  # key -> failed steps not yet recovered
    for i, key in enumerate(keys):
        if key is None or kinds[i] != "command":
            continue
        before = last_run.get(key)
        if before is not None:
            previous_runs[i] = before
            if failed[before]:
                labels.is_retry_of[i] = before
        if interrupted is None or not interrupted[i]:
            last_run[key] = i
        if failed[i]:
            open_failures.setdefault(key, []).append(i)
        elif failed[i] is False:
            for j in open_failures.pop(key, []):
                labels.recovered_by_step[j] = i
                labels.time_to_recovery_ms[j] = max(0, (ends[i] - ends[j]) // 1000)
    return previous_runs


def _edit_run_fix_loops(kinds, keys, previous_runs: dict[int, int], labels: StepLabels) -> None:
    """Mark the loop of each retry R2 of a failed R1 with an edit between them (run, fail,
    edit, run): from the last edit before R1 since R1's previous run, else from R1, to R2."""
    retries = [(r2, r1) for r2, r1 in enumerate(labels.is_retry_of) if r1 is not None]
    if not retries:
        return
    edits = [i for i, kind in enumerate(kinds) if kind != "command" or is_editor(keys[i])]
    in_loop = labels.in_loop
    for r2, r1 in retries:
        after = bisect.bisect_right(edits, r1)
        if after >= len(edits) or edits[after] >= r2:
            continue  # no edit between the failed run and its retry
        start = r1
        before = bisect.bisect_left(edits, r1) - 1
        if before >= 0 and edits[before] > previous_runs.get(r1, -1):
            start = edits[before]  # the edit that R1 was run to try
        for k in range(start, r2 + 1):
            in_loop[k] = True


def _success(tests: Sequence[int], kinds, keys, failed, recovered_by_step) -> bool | None:
    """With test or build runs of known result: the last one passed, or a failing one was
    later recovered. Without: the last run (not the recorder's, not an editor) of known
    result passed and every failed run was recovered (True), or it failed (False)."""
    known = [i for i in tests if failed[i] is not None]
    if known:
        if failed[known[-1]] is False:
            return True
        return any(failed[i] and recovered_by_step[i] is not None for i in known)
    runs = [
        i
        for i, kind in enumerate(kinds)
        if kind == "command" and not is_recorder_key(keys[i]) and not is_editor(keys[i])
    ]
    known = [i for i in runs if failed[i] is not None]
    if not known:
        return None
    if failed[known[-1]]:
        return False
    return None if any(failed[i] and recovered_by_step[i] is None for i in runs) else True


def episode_exit_status(keys: Sequence[Key | None], exit_codes: Sequence[int | None]) -> int | None:
    """The exit code of the last of an episode's commands (given by their keys) that is not
    the recorder's own (``recorder task``, ``recorder stop``); None without one."""
    for key, code in zip(reversed(keys), reversed(exit_codes), strict=True):
        if not is_recorder_key(key):
            return code
    return None
