"""Known values: a secret any rule found once is redacted wherever it appears again.

A password set as ``DB_PASSWORD=…`` in ``.env`` and later printed bare by a program
has no key name beside it the second time; no pattern can see it then. So each value
a secret rule (or a rule that finds another machine's name) keeps is remembered, in
memory, for as long as the Redactor lives (the daemon's lifetime), and every later text
is searched for those values: a match is redacted by the rule that first found the
value, so it gets the same placeholder. The values themselves are never written to disk
(the daemon keeps keyed hashes of them, ``remembered.py``, to know them again after a
restart). At most ``LIMIT`` values are kept (the oldest quarter is forgotten at once).

Two searches, by how many values are known:

- up to ``REGEX_MAX``, one RE2 alternation of the values (the newest few in a second
  small one, so that learning one is cheap), compiled when the values have changed and
  a text is searched, outside ``re2``'s own cache of patterns (which would keep every
  superseded one, and its DFA, alive);
- beyond, a hash lookup: each value is filed under its longest run of word characters
  (its *anchor*). Where a value is found, not inside a longer word, its anchor is a
  whole word of the text, so the text's words (cut at every other byte, a few KB of
  lines at a time) are looked up among the anchors, and only the anchors present are
  located and their values compared. The cost grows with the text, not with the number
  of values (an RE2 alternation of a thousand literals outgrows its DFA budget and
  falls back to a search a thousand times slower).
"""

from __future__ import annotations

from collections.abc import Sequence

from recorder.redaction.checks import TRIVIAL
from recorder.redaction.matcher import CompiledRule, compile_uncached, searcher
from recorder.redaction.rules import REMOTE_HOST_RULES, escape_literal

LIMIT = 4096
REGEX_MAX = 128
MIN_SECRET = 8
MIN_HOST = 5
MAX_VALUE = 512
_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_SPACED = bytes(b if b in _WORD else 0x20 for b in range(256))  # words apart, for split()
_MIN_ANCHOR = 4  # a value with no longer word is compared wherever it appears
_LINES = 4 << 10  # the words of about this many bytes of lines are looked up at a time
_FRESH = 32
_MAX_MEM = 16 << 20

Hit = tuple[int, int, int]


def _search_for(values: Sequence[bytes]):
    """One RE2 pass finding any of ``values`` (longest first)."""
    body = "|".join(escape_literal(v.decode()) for v in sorted(values, key=len, reverse=True))
    return searcher(compile_uncached(f"(?:{body})", max_mem=_MAX_MEM))


def _learnable(c: CompiledRule) -> bool:
    rule = c.rule
    if rule.multiline or rule.category == "user":
        return False
    return rule.category != "personal" or rule.name in REMOTE_HOST_RULES


def _anchor(value: bytes) -> tuple[bytes, int]:
    """The longest run of word characters in ``value`` (the first of equals), and where."""
    best, at, start = b"", 0, -1
    for k, byte in enumerate(value + b" "):
        if byte in _WORD:
            if start < 0:
                start = k
        elif start >= 0:
            if k - start > len(best):
                best, at = value[start:k], start
            start = -1
    return best, at


class KnownValues:
    """The values found so far (bytes -> the index of the rule that found each)."""

    def __init__(self, rules: Sequence[CompiledRule], *, report_forgotten: bool = False):
        self._learnable = [_learnable(c) for c in rules]
        self._hosts = [c.rule.category == "personal" for c in rules]
        self._values: dict[bytes, int] = {}
        # The hash lookup: anchor -> (value, offset of the anchor in it); values without
        # an anchor of ``_MIN_ANCHOR`` bytes are searched for as they are.
        self._anchors: dict[bytes, list[tuple[bytes, int]]] = {}
        self._bare: dict[bytes, None] = {}
        # The RE2 searches (while at most ``REGEX_MAX`` values): the settled values, and
        # the newest few (folded into the settled ones every ``_FRESH`` values).
        self._settled: set[bytes] = set()
        self._searches: list = []
        self._stale = False
        self._report = report_forgotten
        self.forgotten: list[bytes] = []  # let go since the caller last took them

    def __bool__(self) -> bool:
        return bool(self._values)

    def rule_of(self, value: bytes, found_by: int) -> int:
        """The rule that names ``value``: the one that found it first, if it is known."""
        return self._values.get(value, found_by) if self._learnable[found_by] else found_by

    def learn(
        self, data: bytes, hits: Sequence[Hit], ranks: Sequence[int]
    ) -> list[tuple[bytes, int]]:
        """Remember the values of ``hits``; a value's rule is the best-ranked of those that
        found its first occurrence (so the name does not depend on how text was cut).
        The values new to memory, with their rule."""
        values, learnable = self._values, self._learnable
        new = [h for h in hits if learnable[h[2]] and data[h[0] : h[1]] not in values]
        added = []
        for s, e, i in sorted(new, key=lambda h: (h[0], ranks[h[2]], h[0] - h[1], h[2])):
            value = data[s:e]
            if value in values or not self._worth(value, self._hosts[i]):
                continue
            self._add(value, i)
            added.append((value, i))
        if added:
            self._trim()
        return added

    def adopt(self, value: bytes, i: int) -> None:
        """Know ``value`` again, as found by rule ``i`` (a value remembered from an earlier
        run, ``remembered.py``)."""
        if value not in self._values and self._learnable[i]:
            self._add(value, i)
            self._trim()

    def _add(self, value: bytes, i: int) -> None:
        self._values[value] = i
        anchor, at = _anchor(value)
        if len(anchor) >= _MIN_ANCHOR:
            self._anchors.setdefault(anchor, []).append((value, at))
        else:
            self._bare[value] = None
        self._stale = True

    def _trim(self) -> None:
        if len(self._values) <= LIMIT:
            return
        for value in list(self._values)[: len(self._values) - LIMIT * 3 // 4]:
            del self._values[value]
            anchor, _ = _anchor(value)
            filed = self._anchors.get(anchor, [])
            filed[:] = [entry for entry in filed if entry[0] != value]
            if not filed:
                self._anchors.pop(anchor, None)
            self._bare.pop(value, None)
            if self._report:
                self.forgotten.append(value)
        self._settled = set()

    @staticmethod
    def _worth(value: bytes, host: bool) -> bool:
        """Long and specific enough that finding it again is not a coincidence."""
        if len(value) > MAX_VALUE or b"\n" in value or b"\x00" in value:
            return False
        try:
            value.decode()
        except UnicodeDecodeError:
            return False
        if host:
            return len(value) >= MIN_HOST and any(c in b"0123456789-." for c in value)
        if len(value) < MIN_SECRET or value.lower().decode("utf-8", "replace") in TRIVIAL:
            return False
        return len(value) >= 12 or not value.isalpha()

    def find(self, data: bytes) -> list[Hit]:
        """Every occurrence of a known value in ``data``, not inside a longer word."""
        if len(self._values) > REGEX_MAX:
            self._searches = []
            return self._looked_up(data)
        if self._stale:
            self._recompile()
        out: list[Hit] = []
        for search in self._searches:
            out += self._searched(data, search)
        return out

    def _recompile(self) -> None:
        fresh = [v for v in self._values if v not in self._settled]
        if len(fresh) > _FRESH or not self._settled:
            self._settled = set(self._values)
            self._searches = [_search_for(list(self._values))] if self._values else []
        elif fresh:
            self._searches = [self._searches[0], _search_for(fresh)]
        self._stale = False

    def _searched(self, data: bytes, search) -> list[Hit]:
        out: list[Hit] = []
        pos, size, values = 0, len(data), self._values
        while pos < size:
            spans = search(data, pos, size)
            if spans is None:
                break
            s, e = spans[0]
            value = data[s:e]
            if not _inside(data, s, e) and value in values:
                out.append((s, e, values[value]))
                pos = e
            else:  # another value may start inside this one
                pos = s + 1
        return out

    def _looked_up(self, data: bytes) -> list[Hit]:
        """``find`` by the anchors (see the module docstring); overlapping values are all
        given (the engine settles overlaps)."""
        out: list[Hit] = []
        anchors, values, find = self._anchors, self._values, data.find
        spaced, size, lo = data.translate(_SPACED), len(data), 0
        while lo < size:
            hi = find(b"\n", lo + _LINES) + 1 or size
            for anchor in anchors.keys() & spaced[lo:hi].split():
                width = len(anchor)
                p = find(anchor, lo, hi)
                while p >= 0:
                    end = p + width
                    if (p == 0 or spaced[p - 1] == 0x20) and (end == size or spaced[end] == 0x20):
                        for value, at in anchors[anchor]:
                            s, e = p - at, p - at + len(value)
                            if s >= 0 and data.startswith(value, s) and not _inside(data, s, e):
                                out.append((s, e, values[value]))
                    p = find(anchor, end, hi)
            lo = hi
        for value in self._bare:
            p = find(value)
            while p >= 0:
                if not _inside(data, p, p + len(value)):
                    out.append((p, p + len(value), values[value]))
                p = find(value, p + 1)
        return out


def _inside(data: bytes, s: int, e: int) -> bool:
    """Whether ``data[s:e]`` is part of a longer word (its ends are word characters and
    so are their neighbours)."""
    return (s > 0 and data[s - 1] in _WORD and data[s] in _WORD) or (
        e < len(data) and data[e] in _WORD and data[e - 1] in _WORD
    )
