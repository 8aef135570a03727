"""Cutting redacted text to a tail without creating new matches for the redaction rules.

A cut in the middle of a line or of a placeholder (``<SECRET:github-token:957bdf>``)
can leave text that a rule matches although the whole never did: ``token:957bdf>``
reads like ``token: value``. :func:`clean_tail` therefore starts a tail at a line
boundary when one is near, and otherwise never inside a placeholder.
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
