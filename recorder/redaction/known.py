"""Known values: a secret any rule found once is redacted wherever it appears again.

A password set as ``DB_PASSWORD=…`` in ``.env`` and later printed bare by a program
has no key name beside it the second time; no pattern can see it then. So each value
a secret rule (or a rule that finds another machine's name) keeps is remembered, in
memory only, for as long as the Redactor lives (the daemon's lifetime), and every
later text is searched for those values as literals (one RE2 pass; the newest few
in a second small pattern, so that learning one is cheap): a match is redacted by the rule
that first found the value, so it gets the same placeholder. Nothing of it is written
to disk. At most ``LIMIT`` values are kept (the oldest are forgotten first).
"""

from __future__ import annotations

from collections.abc import Sequence

from recorder.redaction.checks import TRIVIAL
from recorder.redaction.matcher import CompiledRule, compile_pattern, searcher
from recorder.redaction.rules import REMOTE_HOST_RULES, escape_literal

LIMIT = 256
MIN_SECRET = 8
MIN_HOST = 5
MAX_VALUE = 512
_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")

_FRESH = 32

Hit = tuple[int, int, int]


def _search_for(values: Sequence[bytes]):
    """One RE2 pass finding any of ``values`` (longest first)."""
    body = "|".join(escape_literal(v.decode()) for v in sorted(values, key=len, reverse=True))
    return searcher(compile_pattern(f"(?:{body})", max_mem=_MAX_MEM))


_MAX_MEM = 16 << 20


def _learnable(c: CompiledRule) -> bool:
    rule = c.rule
    if rule.multiline or rule.category == "user":
        return False
    return rule.category != "personal" or rule.name in REMOTE_HOST_RULES


class KnownValues:
    """The values found so far (bytes -> the index of the rule that found each)."""

    def __init__(self, rules: Sequence[CompiledRule]):
        self._learnable = [_learnable(c) for c in rules]
        self._hosts = [c.rule.category == "personal" for c in rules]
        self._values: dict[bytes, int] = {}
        # Two searches: the settled values, and the newest few (cheap to recompile when
        # one is added; folded into the settled ones every ``_FRESH`` values).
        self._settled: set[bytes] = set()
        self._searches: list = []

    def __bool__(self) -> bool:
        return bool(self._values)

    def rule_of(self, value: bytes, found_by: int) -> int:
        """The rule that names ``value``: the one that found it first, if it is known."""
        return self._values.get(value, found_by) if self._learnable[found_by] else found_by

    def learn(self, data: bytes, hits: Sequence[Hit], ranks: Sequence[int]) -> None:
        """Remember the values of ``hits``; a value's rule is the best-ranked of those that
        found its first occurrence (so the name does not depend on how text was cut)."""
        added = False
        for s, e, i in sorted(hits, key=lambda h: (h[0], ranks[h[2]], h[0] - h[1], h[2])):
            if not self._learnable[i]:
                continue
            value = data[s:e]
            if value in self._values or not self._worth(value, self._hosts[i]):
                continue
            self._values[value] = i
            added = True
        if added:
            self._recompile()

    def _recompile(self) -> None:
        if len(self._values) > LIMIT:  # forget the oldest quarter at once
            for value in list(self._values)[: len(self._values) - LIMIT * 3 // 4]:
                del self._values[value]
            self._settled = set()
        fresh = [v for v in self._values if v not in self._settled]
        if len(fresh) > _FRESH or not self._settled:
            self._settled = set(self._values)
            self._searches = [_search_for(list(self._values))]
        else:
            self._searches = [self._searches[0], _search_for(fresh)]

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
        out: list[Hit] = []
        for search in self._searches:
            out += self._find(data, search)
        return out

    def _find(self, data: bytes, search) -> list[Hit]:
        out: list[Hit] = []
        pos, size, values = 0, len(data), self._values
        while pos < size:
            spans = search(data, pos, size)
            if spans is None:
                break
            s, e = spans[0]
            value = data[s:e]
            inside = (s > 0 and data[s - 1] in _WORD and value[0] in _WORD) or (
                e < size and data[e] in _WORD and value[-1] in _WORD
            )
            if not inside and value in values:
                out.append((s, e, values[value]))
            pos = e if e > s else s + 1
        return out
