"""Showing recorded text safely: never as markup, emoji or terminal control.

Recorded text is data. ``safe_text`` makes every control character visible instead
of letting it act: ESC becomes ``␛`` (so ``ESC ] 52`` clipboard writes, ``ESC ] 8``
links and ``ESC [ 2 J`` clears show as text), other C0 and C1 controls and DEL become
``\\xNN``, and the bidirectional overrides and isolates (which reorder what follows)
become ``\\u202e`` and the like; newlines and tabs stay. ``plain`` wraps the result in a
``rich.text.Text``, which rich never parses for markup or emoji; ``echo`` prints lines
that way, to a terminal or a pipe alike. Every command that shows recorded text (``show``,
``sessions``, error messages, the review TUI) goes through here.
"""

from __future__ import annotations

from typing import Any

ESCAPE_SHOWN = "\u241b"  # ␛
_BIDI = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A)) | {0x200E, 0x200F}


def _shown(code: int) -> str:
    if code == 0x1B:
        return ESCAPE_SHOWN
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


# str.translate table: every character to hide, and what shows instead.
_TABLE = {
    code: _shown(code)
    for code in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *_BIDI]
    if code not in (0x09, 0x0A)
}


def safe_text(value: Any) -> str:
    """``value`` as text with every control character made visible (see the module)."""
    if value is None:
        return ""
    return str(value).translate(_TABLE)


def safe_line(value: Any) -> str:
    """``safe_text`` on one line: newlines and tabs shown as ``\\n`` and ``\\t`` too."""
    return safe_text(value).replace("\n", "\\n").replace("\t", "\\t")


def plain(value: Any):
    """A ``rich.text.Text`` of ``safe_text(value)``: rich reads no markup or emoji in it."""
    from rich.text import Text

    return Text(safe_text(value))


def echo(console, value: Any) -> None:
    """Print recorded text on a rich console: no markup, emoji or highlighting."""
    console.print(plain(value), markup=False, emoji=False, highlight=False)
