"""Terminal output -> per-command text: OSC 133 marks, escape stripping, capping.

The shell hooks print two marks into a tmux pane around each recorded command:

* ``ESC ] 133 ; C ; recorder=<shell_id>:<n> BEL`` when the command starts (its
  output follows), and
* ``ESC ] 133 ; D ; <exit> ; recorder=<shell_id>:<n> ; cmd=<program> BEL`` when
  it has ended (before the next prompt is drawn).

:class:`PaneStream` is fed the raw bytes of one pane (from ``pipe-pane``) in
chunks of any size and returns a :class:`CommandOutput` for every C..D pair
with matching ids. Between the marks the bytes are turned into plain text:
escape sequences are removed, ``\\r\\n`` becomes ``\\n``, a lone ``\\r`` or a
backspace rewrites the current line as a terminal would, and whatever a
full-screen program draws on the alternate screen is dropped (the output is
flagged ``fullscreen`` instead). Text is capped per command, keeping its head
and tail. Output outside a C..D pair (prompts, typed input, commands that were
not recorded) is discarded.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# Marks printed by our hooks; other OSC 133 marks (other shell integrations) are ignored.
_MARK = re.compile(rb"\x1b\]133;([CD]);([^\x07\x1b]*)(?:\x07|\x1b\\)")
_RECORDER_ID = re.compile(rb"recorder=([^;:]+):(\d+)")
_CMD_WORD = re.compile(rb"cmd=([A-Za-z0-9._+-]*)")

# One token: an escape sequence, or a control character that changes the text.
_TOKEN = re.compile(
    rb"\x1b\[([0-?]*)[ -/]*([@-~])"  # CSI: params, final byte
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC ... BEL or ST
    rb"|\x1b[PX^_].*?\x1b\\"  # DCS, SOS, PM, APC ... ST
    rb"|\x1b[ -/]*[0-~]"  # other escapes: ESC 7, ESC ( B, ESC =, ...
    rb"|\r\n|\r|\n|\x08|[\x00-\x07\x0b-\x1a\x1c-\x1f\x7f]",
    re.DOTALL,
)
_ALT_SCREEN = {b"?1049", b"?1047", b"?47"}
# Escape sequences longer than this are not held back waiting for their end.
_MAX_PENDING = 64 * 1024


@dataclass
class CommandOutput:
    shell_id: str
    n: int
    output: str
    truncated: bool
    output_bytes: int
    extra: dict[str, Any] = field(default_factory=dict)


class CappedText:
    """Plain text of one command: keeps the first and last ``cap // 2`` bytes."""

    MARKER = "\n[... {omitted} bytes omitted ...]\n"

    def __init__(self, cap: int):
        self.cap = max(cap, 0)
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_len = 0
        self.line = bytearray()  # the current line, still open to \r and backspace
        self.total = 0

    def write(self, data: bytes) -> None:
        self.line += data

    def carriage_return(self) -> None:
        self.line.clear()

    def backspace(self) -> None:
        if self.line:
            del self.line[-1]

    def newline(self) -> None:
        self.line += b"\n"
        self._commit()

    def _commit(self) -> None:
        data = bytes(self.line)
        self.line.clear()
        self.total += len(data)
        room = self.cap // 2 - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail.append(data)
            self.tail_len += len(data)
            keep = self.cap - self.cap // 2
            while self.tail and self.tail_len - len(self.tail[0]) >= keep:
                self.tail_len -= len(self.tail.popleft())

    def result(self) -> tuple[str, bool, int]:
        """(text, truncated, bytes before capping)."""
        if self.line:
            self._commit()
        tail = b"".join(self.tail)
        if self.total <= self.cap:
            return (bytes(self.head) + tail).decode("utf-8", "backslashreplace"), False, self.total
        marker = self.MARKER.format(omitted=self.total - len(self.head) - len(tail)).encode()
        keep = max(self.cap - len(self.head) - len(marker), 0)
        tail = tail[len(tail) - keep :] if keep else b""
        text = bytes(self.head) + marker + tail
        return text[: self.cap].decode("utf-8", "backslashreplace"), True, self.total


class PaneStream:
    """Incremental parser of one pane's raw output."""

    def __init__(self, cap: int):
        self.cap = cap
        self.pending = b""
        self.current: tuple[str, int] | None = None
        self.text: CappedText | None = None
        self.alt_screen = False
        self.fullscreen = False

    def feed(self, data: bytes) -> list[CommandOutput]:
        data = self.pending + data.replace(b"\x00", b"")  # NULs: punched holes of a re-read file
        cut = _incomplete_tail(data)
        data, self.pending = data[:cut], data[cut:]
        done: list[CommandOutput] = []
        pos = 0
        for mark in _MARK.finditer(data):
            self._text(data[pos : mark.start()])
            pos = mark.end()
            finished = self._mark(mark.group(1), mark.group(2))
            if finished is not None:
                done.append(finished)
        self._text(data[pos:])
        return done

    def _mark(self, kind: bytes, params: bytes) -> CommandOutput | None:
        found = _RECORDER_ID.search(params)
        if found is None:
            return None
        key = (found.group(1).decode("ascii", "replace"), int(found.group(2)))
        if kind == b"C":
            self.current, self.text = key, CappedText(self.cap)
            self.alt_screen = self.fullscreen = False
            return None
        if self.current != key or self.text is None:
            return None
        output, truncated, size = self.text.result()
        extra: dict[str, Any] = {}
        if self.fullscreen:
            word = _CMD_WORD.search(params)
            extra["fullscreen"] = (word.group(1).decode() if word else "") or "unknown"
        self.current, self.text = None, None
        self.alt_screen = self.fullscreen = False
        return CommandOutput(key[0], key[1], output, truncated, size, extra)

    def _text(self, data: bytes) -> None:
        text = self.text
        if text is None or not data:
            return
        pos = 0
        for token in _TOKEN.finditer(data):
            if not self.alt_screen and token.start() > pos:
                text.write(data[pos : token.start()])
            pos = token.end()
            self._control(token, text)
        if not self.alt_screen and pos < len(data):
            text.write(data[pos:])

    def _control(self, token: re.Match, text: CappedText) -> None:
        if token.group(2) in (b"h", b"l") and token.group(1) in _ALT_SCREEN:
            self.alt_screen = token.group(2) == b"h"
            self.fullscreen = self.fullscreen or self.alt_screen
            return
        if self.alt_screen:
            return
        raw = token.group(0)
        if raw == b"\r\n" or raw == b"\n":
            text.newline()
        elif raw == b"\r":
            text.carriage_return()
        elif raw == b"\x08":
            text.backspace()
        elif raw == b"\t":
            text.write(raw)


def _incomplete_tail(data: bytes) -> int:
    """Where an unfinished escape sequence (or a CR that may precede LF) at the end starts."""
    floor = max(len(data) - _MAX_PENDING, 0)
    esc = data.rfind(b"\x1b", floor)
    if esc >= 0 and not _complete_escape(data, esc):
        if esc == len(data) - 1:
            # A lone ESC may be the first half of the ST ending a string begun earlier.
            start = data.rfind(b"\x1b", floor, esc)
            if start >= 0 and _opens_string(data, start, esc):
                return start
        return esc
    if data.endswith(b"\r"):
        return len(data) - 1
    return len(data)


_STRING_INTRODUCERS = (b"]", b"P", b"X", b"^", b"_")


def _opens_string(data: bytes, start: int, end: int) -> bool:
    kind = data[start + 1 : start + 2]
    if kind not in _STRING_INTRODUCERS:
        return False
    return kind != b"]" or b"\x07" not in data[start:end]


def _complete_escape(data: bytes, esc: int) -> bool:
    kind = data[esc + 1 : esc + 2]
    if not kind:
        return False
    if kind == b"[":
        return _CSI.match(data, esc) is not None
    if kind in _STRING_INTRODUCERS:
        end = data.find(b"\x1b\\", esc + 2)
        return end >= 0 or (kind == b"]" and b"\x07" in data[esc:])
    return _SHORT_ESCAPE.match(data, esc) is not None


_CSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]")
_SHORT_ESCAPE = re.compile(rb"\x1b[ -/]*[0-~]")
