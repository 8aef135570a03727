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
from typing import Protocol

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


def is_failure(exit_code: int | None, output: str | None) -> bool | None:
    """True: non-zero exit or a traceback in the output. None: no exit code and no traceback."""
    if exit_code is not None and exit_code != 0:
        return True
    if has_traceback(output):
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


class LabelledStep(Protocol):
    """What the episode labels read from a step and write back onto it."""

    kind: str  # "command" or a file step type
    key: Key | None
    failed: bool | None
    test_or_build: bool
    ts: int  # action time, microseconds
    end: int  # end time (a command's end, else ts), microseconds
    is_retry_of: int | None
    recovered_by_step: int | None
    time_to_recovery_ms: int | None
    in_loop: bool


@dataclass
class EpisodeLabels:
    success: bool | None
    failures: int
    recoveries: int
    retries: int
    loop_steps: int
    test_runs: int


def label_episode(steps: Sequence[LabelledStep]) -> EpisodeLabels:
    """Set every step's retry, recovery and loop labels; return the episode's labels."""
    _retries_and_recoveries(steps)
    _edit_run_fix_loops(steps)
    tests = [s for s in steps if s.kind == "command" and s.test_or_build]
    return EpisodeLabels(
        success=_success(tests),
        failures=sum(1 for s in steps if s.failed),
        recoveries=sum(1 for s in steps if s.recovered_by_step is not None),
        retries=sum(1 for s in steps if s.is_retry_of is not None),
        loop_steps=sum(1 for s in steps if s.in_loop),
        test_runs=len(tests),
    )


def _retries_and_recoveries(steps: Sequence[LabelledStep]) -> None:
    previous: dict[Key, int] = {}  # key -> index of the last command step with that key
    open_failures: dict[Key, list[int]] = {}  # key -> failed steps not yet recovered
    for i, step in enumerate(steps):
        if step.kind != "command" or step.key is None:
            continue
        key = step.key
        before = previous.get(key)
        if before is not None and steps[before].failed:
            step.is_retry_of = before
        previous[key] = i
        if step.failed:
            open_failures.setdefault(key, []).append(i)
        elif step.failed is False:
            for j in open_failures.pop(key, []):
                failed = steps[j]
                failed.recovered_by_step = i
                failed.time_to_recovery_ms = max(0, (step.end - failed.end) // 1000)


def _edit_run_fix_loops(steps: Sequence[LabelledStep]) -> None:
    """Mark [last edit before R1 .. R2] for each retry R2 of a failed R1 with edits on both
    sides of R1: save, run, fail, save, run."""
    edits = [i for i, s in enumerate(steps) if s.kind != "command"]
    if not edits:
        return
    previous_same: dict[int, int] = {}  # command step -> previous command step with its key
    last_by_key: dict[Key, int] = {}
    for i, step in enumerate(steps):
        if step.kind == "command" and step.key is not None:
            if step.key in last_by_key:
                previous_same[i] = last_by_key[step.key]
            last_by_key[step.key] = i
    for r2, step in enumerate(steps):
        r1 = step.is_retry_of
        if r1 is None:
            continue
        after = bisect.bisect_right(edits, r1)
        if after >= len(edits) or edits[after] >= r2:
            continue  # no edit between the failed run and its retry
        floor = previous_same.get(r1, -1)
        before = bisect.bisect_left(edits, r1) - 1
        if before < 0 or edits[before] <= floor:
            continue  # no edit before the failed run (since the previous run of it)
        for k in range(edits[before], r2 + 1):
            steps[k].in_loop = True


def _success(tests: Sequence[LabelledStep]) -> bool | None:
    """The last test or build run passed, or a failing test run was later recovered."""
    known = [s for s in tests if s.failed is not None]
    if not known:
        return None
    if known[-1].failed is False:
        return True
    return any(s.failed and s.recovered_by_step is not None for s in known)
