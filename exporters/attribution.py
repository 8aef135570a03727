"""Who made a file change: a running command (its outcome) or the researcher (an edit step).

inotify does not say which process wrote a file, so the exporter decides from what
the log does say: which commands were running, for how long, what they name, and
what the change looks like. The rule, in order (docs/labels.md, "Attribution"):

1. A running command whose arguments name the file, or a directory holding it
   (``sed -i x.py``, ``black src/``, ``protoc --python_out=gen``), made it.
2. Otherwise, if a command started at most ``FOREGROUND_US`` before the change, the
   latest-started such command made it (``git checkout``, ``python gen.py``, a build),
   unless that command is a terminal editor: then the change is an edit step.
3. Otherwise only long-running commands are running (a training run, jupyter,
   tensorboard). While a terminal editor runs in any shell, a change is the
   researcher's edit. A save of an existing text file that replaces lines is an edit
   too (made in an editor or IDE outside the recorded shells), unless a running
   command is a tool that rewrites files. Anything else (a new, deleted or renamed
   file, a binary or large file, an append to a log) is the latest-started
   command's outcome: checkpoints, logs, generated files.

A command "runs" from its start to its end, give or take a clock tick, for a change whose
file's ctime is known (the kernel's time of the write); for a deletion, which leaves no
ctime, until ``SLACK_US`` after its end, as the watcher's own time is a little late.

Limits: a long job that rewrites, not appends to, an existing text file it does not
name (a metrics table) gets that save recorded as an edit step; a save made within
``FOREGROUND_US`` of a command's start is that command's.

Everything here is a pure function of hand-built values, tested on its own.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from exporters.commands import Key, command_words

# A file change the watcher reported up to this long after a command's end still counts as
# that command's doing (the watcher reports changes a little after they happen) ...
SLACK_US = 500_000
# ... unless the file's ctime says when it was written: the kernel's time of the change,
# which no program can set. It comes from a coarse clock, up to a tick (1-10 ms) early.
CTIME_SLACK_US = 20_000
# A command this young is what the researcher just launched and is waiting on.
FOREGROUND_US = 3_000_000

# Programs whose nature is to rewrite existing files, whatever they name.
REWRITERS = frozenset({
    "git", "make", "cmake", "ninja", "sed", "perl", "patch", "black", "ruff", "isort",
    "autopep8", "yapf", "prettier", "eslint", "clang-format", "gofmt", "rustfmt", "cargo",
    "pre-commit", "jupyter", "nbstripout", "2to3", "pyupgrade", "terraform",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Running:
    """A command of the session, known from its start to its end."""

    start_us: int
    end_us: int
    key: Key | None
    command: str | None
    cwd: str | None
    editor: bool


@dataclass(frozen=True, slots=True)
class Change:
    """A file event: ``path`` absolute as the log stores it (the repository joined with the
    path); ``replaces_lines`` when its diff removes lines (None: no diff, not text)."""

    ts_us: int
    kind: str  # save, create, delete, rename, burst
    path: str | None
    text_diff: bool
    replaces_lines: bool
    changed_us: int | None = None  # the file's ctime after the change (None: a deletion)

    @property
    def at_us(self) -> int:
        """When the change happened, as best known."""
        if self.changed_us is None:
            return self.ts_us
        return min(self.ts_us, self.changed_us)


def owner(change: Change, running: Sequence[Running]) -> int | None:
    """The index in ``running`` of the command whose outcome ``change`` is, or None when it
    is an edit step of its own. ``running`` is in start order."""
    active = [i for i, c in enumerate(running) if _running_at(c, change)]
    if not active:
        return None
    named = [i for i in active if not running[i].editor and _names(running[i], change.path)]
    if named:
        return named[-1]
    young = [i for i in active if change.at_us - running[i].start_us <= FOREGROUND_US]
    if young:
        latest = young[-1]
        return None if running[latest].editor else latest
    if any(running[i].editor for i in active):
        return None
    jobs = [i for i in active if not running[i].editor]
    if _looks_hand_made(change) and not any(_rewrites(running[i]) for i in jobs):
        return None
    return jobs[-1] if jobs else None


def _running_at(command: Running, change: Change) -> bool:
    if change.changed_us is None:
        return command.start_us <= change.ts_us <= command.end_us + SLACK_US
    at = change.at_us
    return command.start_us - CTIME_SLACK_US <= at <= command.end_us + CTIME_SLACK_US


def _looks_hand_made(change: Change) -> bool:
    return change.kind == "save" and change.text_diff and change.replaces_lines


def _rewrites(command: Running) -> bool:
    return command.key is not None and command.key[0] in REWRITERS


def _names(command: Running, path: str | None) -> bool:
    """Whether an argument of ``command`` is ``path`` or a directory above it (not the
    working directory itself: ``python train.py --data .`` names no file)."""
    if not path or not command.command:
        return False
    for target in _targets(command.command, command.cwd):
        if path == target or path.startswith(target.rstrip(os.sep) + os.sep):
            return True
    return False


@lru_cache(maxsize=4096)
def _targets(command: str, cwd: str | None) -> tuple[str, ...]:
    """The paths a command's arguments name, made absolute against ``cwd``."""
    found = []
    for word in command_words(command)[1:]:
        value = word.split("=", 1)[1] if word.startswith("-") and "=" in word else word
        if not value or value.startswith("-") or value in (".", "./"):
            continue
        if not os.path.isabs(value):
            if cwd is None:
                continue
            value = os.path.join(cwd, value)
        value = os.path.normpath(value)
        if value != os.path.normpath(cwd or ""):
            found.append(value)
    return tuple(found)
