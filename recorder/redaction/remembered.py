"""Known values across daemon restarts: keyed hashes on disk, never the values.

The daemon's known values (``known.py``) live in memory. So that a secret identified in
one run is still redacted after a restart, each value it learns is also written to
``known-values.v1`` in the recorder's home (0600) as one line: the first 16 bytes of
HMAC-SHA256 under the installation key (``key.py``) of the value, in hex; the value's
length in bytes; and the name of the rule that found it. The plaintext is never written.

A later run reads the file; while some of its hashes have no value in memory, every text
is cut into candidate tokens (runs between blanks, quotes, brackets and ``=``, and their
pieces around ``:``, ``@`` and ``/``), and each token of a remembered length is hashed.
A token whose hash is remembered is a known value again: it goes back into memory, named
by its old rule (so it gets the same placeholder), and from then on the fast literal
search of ``known.py`` finds it anywhere, and no token needs hashing for it any more.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from pathlib import Path

import re2

FILE = "known-values.v1"
LIMIT = 4096  # lines kept (the newest)
_PURPOSE = b"known-value\0"
_DIGEST_BYTES = 16
_TOKENS = re2.compile(rb"[^\s\x00\"'`<>()\[\]{},;=]+")
_SPLIT = re2.compile(rb"[^:@/]+")
_TRAILING = b".,:!?"


class RememberedValues:
    """The hashes of known values on disk, and those not yet found again in this run."""

    def __init__(self, path: Path, key: bytes):
        self.path = Path(path)
        self._key = key
        self._lines: dict[bytes, tuple[int, str]] = {}  # digest -> (length, rule), on disk
        self._pending: dict[bytes, str] = {}  # digests with no value in memory
        self._lengths: set[int] = set()
        self._load()

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def digest(self, value: bytes) -> bytes:
        return hmac.digest(self._key, _PURPOSE + value, "sha256")[:_DIGEST_BYTES]

    def remember(self, value: bytes, rule: str) -> None:
        """Keep ``value``'s hash on disk (once); it is in memory, so it is not pending."""
        digest = self.digest(value)
        self._pending.pop(digest, None)
        if digest in self._lines:
            return
        self._lines[digest] = (len(value), rule)
        line = f"{digest.hex()}\t{len(value)}\t{rule}\n".encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line)  # one short write: appends from two processes never mix
        finally:
            os.close(fd)

    def forgotten(self, value: bytes) -> None:
        """Memory let ``value`` go: look for it among the tokens again."""
        digest = self.digest(value)
        if digest in self._lines:
            self._pending[digest] = self._lines[digest][1]
            self._lengths.add(len(value))

    def find(self, data: bytes) -> Iterator[tuple[bytes, str]]:
        """The pending values among the candidate tokens of ``data``, with their rule's
        name; each is no longer pending once found."""
        lengths = self._lengths
        for token in _candidates(data, lengths):
            digest = self.digest(token)
            rule = self._pending.pop(digest, None)
            if rule is not None:
                yield token, rule
                if not self._pending:
                    return

    def _load(self) -> None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        if data and not data.endswith(b"\n"):  # cut short by a crash: end it, skip it
            with self.path.open("ab") as fh:
                fh.write(b"\n")
        lines = data.splitlines()
        for line in lines[-LIMIT:]:
            parts = line.split(b"\t")
            if len(parts) != 3 or len(parts[0]) != 2 * _DIGEST_BYTES or not parts[1].isdigit():
                continue  # a line cut short by a crash
            try:
                digest = bytes.fromhex(parts[0].decode())
            except ValueError:
                continue
            length, rule = int(parts[1]), parts[2].decode("utf-8", "replace")
            self._lines[digest] = (length, rule)
            self._pending[digest] = rule
            self._lengths.add(length)
        if len(lines) > LIMIT:
            self._rewrite()

    def _rewrite(self) -> None:
        """The newest ``LIMIT`` lines only (atomically, owner-only)."""
        body = "".join(f"{d.hex()}\t{n}\t{r}\n" for d, (n, r) in self._lines.items())
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(body)
        os.replace(tmp, self.path)


def _candidates(data: bytes, lengths: set[int]) -> Iterator[bytes]:
    """Tokens of ``data`` (and their pieces) whose length is one of ``lengths``."""
    if not lengths:
        return
    shortest = min(lengths)
    for token in _TOKENS.findall(data):
        size = len(token)
        if size < shortest:
            continue
        if size in lengths:
            yield token
        stripped = token.rstrip(_TRAILING)
        if len(stripped) != size and len(stripped) in lengths:
            yield stripped
        if size > shortest and (b":" in token or b"@" in token or b"/" in token):
            for piece in _SPLIT.findall(token):
                if len(piece) in lengths and len(piece) != size:
                    yield piece
