"""Cutting redacted text to a tail, or a head and a tail, without creating new matches for
the redaction rules.

A cut in the middle of a line or of a placeholder (``<SECRET:github-token:957bdf>``)
can leave text that a rule matches although the whole never did: ``token:957bdf>``
reads like ``token: value``. :func:`clean_tail` therefore starts a tail at a line
boundary when one is near, and otherwise never inside a placeholder;
:func:`clean_head` ends a head the same way, and :func:`head_and_tail` joins the two
around a line saying how much was left out.
"""

from __future__ import annotations

import re

# The engine's placeholders (recorder.redaction.engine.PLACEHOLDER_PATTERN).
_PLACEHOLDER = re.compile(r"<(?:SECRET|PII):[A-Za-z0-9_.\-]+:[0-9a-f]{6}>")
_PLACEHOLDER_MAX = 96  # "<SECRET:" + a rule name of at most 64 characters + ":xxxxxx>"
LINE_SEARCH = 512  # how far into the tail to look for the start of a line


def clean_tail(text: str, limit: int) -> str:
    """At most ``limit`` characters from the end of ``text``, starting at a line start when
    one is within the first ``LINE_SEARCH`` characters, else right after any placeholder cut."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    newline = text.find("\n", cut - 1, cut + min(LINE_SEARCH, limit // 2))
    if newline >= 0:
        return text[newline + 1 :]
    start = max(0, cut - _PLACEHOLDER_MAX)
    for match in _PLACEHOLDER.finditer(text, start, cut + _PLACEHOLDER_MAX):
        if match.start() < cut < match.end():
            cut = match.end()
            break
    return text[cut:]


OMITTED = "[... {count} characters omitted ...]\n"


def clean_head(text: str, limit: int) -> str:
    """At most ``limit`` characters from the start of ``text``, ending at a line end when one
    is within the last ``LINE_SEARCH`` characters, else right before any placeholder cut."""
    if len(text) <= limit:
        return text
    newline = text.rfind("\n", max(0, limit - min(LINE_SEARCH, limit // 2)), limit)
    if newline >= 0:
        return text[: newline + 1]
    cut = limit
    for match in _PLACEHOLDER.finditer(
        text, max(0, cut - _PLACEHOLDER_MAX), cut + _PLACEHOLDER_MAX
    ):
        if match.start() < cut < match.end():
            cut = match.start()
            break
    return text[:cut]


def head_and_tail(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters; else its head (about half of
    ``limit``) and its tail (the rest), each cut cleanly, around the line
    ``[... N characters omitted ...]`` (on a line of its own)."""
    if len(text) <= limit:
        return text
    head = clean_head(text, limit // 2)
    tail = clean_tail(text, limit - len(head))
    omitted = OMITTED.format(count=len(text) - len(head) - len(tail))
    return head + ("" if head.endswith("\n") or not head else "\n") + omitted + tail
