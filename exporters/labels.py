"""The labels of steps and episodes, exactly as docs/labels.md defines them.

Per step: ``failed``, ``is_test_or_build``, ``is_retry_of``, ``recovered_by_step``,
``time_to_recovery_ms``, ``in_edit_run_fix_loop`` and ``pause_class``. Per
episode: ``success`` and the counts of failures, recoveries, retries and loop
steps. Everything here is a pure function of an episode's steps, so each label
can be tested on hand-built sequences.
"""

from __future__ import annotations

import bisect
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

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


def is_failure(exit_code: int | None, output: str | None) -> bool | None:
    """True: non-zero exit or a traceback in the output. None: no exit code and no traceback."""
    return failed_label(exit_code, has_traceback(output))


def failed_label(exit_code: int | None, traceback: bool) -> bool | None:
    """``is_failure`` of a command, knowing whether its output has a traceback."""
    if exit_code is not None and exit_code != 0:
        return True
    if traceback:
        return True
    return None if exit_code is None else False


# -- command keys and test/build runs ---------------------------------------------------

# Words that only prepare the real command: `sudo make`, `time pytest`, `uv run pytest`.
_WRAPPERS = {"sudo", "time", "env", "nice", "nohup", "exec", "command", "builtin", "noglob"}
_RUNNERS = {("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"),
            ("hatch", "run"), ("conda", "run"), ("npx", None), ("bunx", None)}  # fmt: skip
# Segments that set the stage rather than do the work: `cd src && pytest` is a pytest run.
_SETUP = {"cd", "pushd", "popd", "source", ".", "export", "set", "unset", "clear", "echo",
          "true", "alias", "ulimit", "umask"}  # fmt: skip
_SCRIPT_RUNNERS = {"npm", "yarn", "pnpm", "bun"}
_OPERATORS = {"&&", "||", ";", "|", "|&", "&"}

Key = tuple[str, str | None]


@lru_cache(maxsize=65536)
def command_key(command: str | None) -> Key | None:
    """What a command runs, ignoring options: ``(program, first argument)``.

    Two commands with the same key are runs of the same thing (``pytest -x tests/a.py``
    and ``pytest tests/a.py``). See docs/labels.md for every rule.
    """
    if not command or not command.strip():
        return None
    words = _words(command)
    segments = _segments(words)
    keyed = [k for k in (_segment_key(s) for s in segments) if k is not None]
    if not keyed:
        return None
    for key in keyed:
        if key[0] not in _SETUP:
            return key
    return keyed[0]


def _words(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: fall back to whitespace
        return command.split()


def _segments(words: list[str]) -> list[list[str]]:
    segments: list[list[str]] = [[]]
    for word in words:
        if word in _OPERATORS:
            segments.append([])
        else:
            segments[-1].append(word)
    return [s for s in segments if s]


def _segment_key(words: list[str]) -> Key | None:
    words = _drop_assignments(words)
    while words:
        head = os.path.basename(words[0])
        if head in _WRAPPERS:
            words = _drop_assignments(_drop_options(words[1:]))
            continue
        nxt = words[1] if len(words) > 1 else None
        if (head, nxt) in _RUNNERS:
            words = words[2:]
            continue
        if (head, None) in _RUNNERS:
            words = _drop_options(words[1:])
            continue
        if head.startswith("python") and nxt == "-m" and len(words) > 2:
            words = words[2:]
            continue
        break
    if not words:
        return None
    program = os.path.basename(words[0])
    args = [w for w in words[1:] if not w.startswith("-")]
    if program in _SCRIPT_RUNNERS and args[:1] == ["run"]:
        args = args[1:]
    return (program, args[0] if args else None)


def _drop_assignments(words: list[str]) -> list[str]:
    """Leading ``NAME=value`` words."""
    i = 0
    while i < len(words) and "=" in words[i] and words[i].split("=", 1)[0].isidentifier():
        i += 1
    return words[i:]


def _drop_options(words: list[str]) -> list[str]:
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 1
    return words[i:]


_TEST_PROGRAMS = {"pytest", "py.test", "tox", "nox", "jest", "vitest", "mocha", "ctest",
                  "rspec", "phpunit", "unittest", "nosetests", "ava", "karma"}  # fmt: skip
_BUILD_PROGRAMS = {"make", "ninja", "tsc", "gcc", "g++", "clang", "clang++", "cc", "c++",
                   "javac", "rustc", "meson", "scons", "msbuild"}  # fmt: skip
_TEST_OR_BUILD_SUBCOMMANDS = {
    "cargo": {"test", "build", "check", "clippy", "nextest", "bench"},
    "go": {"test", "build", "vet"},
    "npm": {"test", "build", "t"},
    "yarn": {"test", "build"},
    "pnpm": {"test", "build"},
    "bun": {"test", "build"},
    "mvn": {"test", "verify", "package", "install", "compile"},
    "gradle": {"test", "build", "check", "assemble"},
    "gradlew": {"test", "build", "check", "assemble"},
    "dotnet": {"test", "build"},
    "bazel": {"test", "build"},
    "swift": {"test", "build"},
    "mix": {"test", "compile"},
    "cmake": {"--build"},
    "deno": {"test"},
    "stack": {"test", "build"},
    "cabal": {"test", "build"},
    "zig": {"test", "build"},
}


def is_test_or_build(key: Key | None) -> bool:
    if key is None:
        return False
    program, first = key
    if program in _TEST_PROGRAMS or program in _BUILD_PROGRAMS:
        return True
    return first in _TEST_OR_BUILD_SUBCOMMANDS.get(program, ())


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
) -> tuple[StepLabels, EpisodeLabels]:
    """The labels of an episode's steps and of the episode, from its steps' kinds
    ("command" or a file step type), command keys, failed labels, test-or-build flags and
    end times (a command's end, else the action time; microseconds), each a list."""
    n = len(kinds)
    labels = StepLabels([None] * n, [None] * n, [None] * n, [False] * n)
    previous_runs = _retries_and_recoveries(kinds, keys, failed, ends, labels)
    _edit_run_fix_loops(kinds, previous_runs, labels)
    tests = [i for i, tb in enumerate(test_or_build) if tb and kinds[i] == "command"]
    episode = EpisodeLabels(
        success=_success(tests, failed, labels.recovered_by_step),
        failures=failed.count(True),
        recoveries=n - labels.recovered_by_step.count(None),
        retries=n - labels.is_retry_of.count(None),
        loop_steps=labels.in_loop.count(True),
        test_runs=len(tests),
    )
    return labels, episode


def _retries_and_recoveries(kinds, keys, failed, ends, labels: StepLabels) -> dict[int, int]:
    """Set the retry and recovery labels; return each command step's previous run (the
    command step before it with the same key), for those that have one."""
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
        last_run[key] = i
        if failed[i]:
            open_failures.setdefault(key, []).append(i)
        elif failed[i] is False:
            for j in open_failures.pop(key, []):
                labels.recovered_by_step[j] = i
                labels.time_to_recovery_ms[j] = max(0, (ends[i] - ends[j]) // 1000)
    return previous_runs


def _edit_run_fix_loops(kinds, previous_runs: dict[int, int], labels: StepLabels) -> None:
    """Mark [last edit before R1 .. R2] for each retry R2 of a failed R1 with edits on both
    sides of R1: save, run, fail, save, run."""
    retries = [(r2, r1) for r2, r1 in enumerate(labels.is_retry_of) if r1 is not None]
    if not retries:
        return
    edits = [i for i, kind in enumerate(kinds) if kind != "command"]
    in_loop = labels.in_loop
    for r2, r1 in retries:
        after = bisect.bisect_right(edits, r1)
        if after >= len(edits) or edits[after] >= r2:
            continue  # no edit between the failed run and its retry
        floor = previous_runs.get(r1, -1)
        before = bisect.bisect_left(edits, r1) - 1
        if before < 0 or edits[before] <= floor:
            continue  # no edit before the failed run (since the previous run of it)
        for k in range(edits[before], r2 + 1):
            in_loop[k] = True


def _success(tests: Sequence[int], failed, recovered_by_step) -> bool | None:
    """The last test or build run passed, or a failing test run was later recovered."""
    known = [i for i in tests if failed[i] is not None]
    if not known:
        return None
    if failed[known[-1]] is False:
        return True
    return any(failed[i] and recovered_by_step[i] is not None for i in known)
