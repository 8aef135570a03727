"""What ``recorder scrub`` does to a byte stream, in memory bounded by the block size
whatever the input's length: the redacted text written to a sink, or each finding with
its line and column in the input (never the value).

The stream is cut as ``Redactor.redact_stream`` cuts it (:func:`engine.stream_blocks`),
so a value that spans lines, a netrc entry or a private key, is redacted whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from recorder.redaction.engine import STREAM_BLOCK, Finding, Redactor, stream_blocks


class Located(NamedTuple):
    """A finding of :func:`explain`: its line and column (from 1) and character offsets
    in the whole input."""

    line: int
    column: int
    start: int
    end: int
    finding: Finding


def scrub(redactor: Redactor, source: BinaryIO, sink: BinaryIO, block: int = STREAM_BLOCK) -> None:
    """Write ``source`` to ``sink`` with every finding replaced (UTF-8; bytes that are not
    UTF-8 become replacement characters)."""
    for piece in stream_blocks(source, block):
        sink.write(redactor.redact_bytes(_valid_utf8(piece)))


def _valid_utf8(piece: bytes) -> bytes:
    """``piece``, with what is not UTF-8 as replacement characters."""
    if piece.isascii():
        return piece
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return piece.decode("utf-8", "replace").encode("utf-8")
    return piece


def explain(redactor: Redactor, source: BinaryIO, block: int = STREAM_BLOCK) -> Iterator[Located]:
    """Every finding of ``source``, in order, with where it is."""
    line, offset = 1, 0  # the line at the start of the piece, the characters before it
    for piece in stream_blocks(source, block):
        text = piece.decode("utf-8", "replace")
        counted = 0
        for f in redactor.scan(text):
            line += text.count("\n", counted, f.start)
            counted = f.start
            column = f.start - text.rfind("\n", 0, f.start)
            yield Located(line, column, offset + f.start, offset + f.end, f)
        line += text.count("\n", counted)
        offset += len(text)
