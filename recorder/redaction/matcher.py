"""One rule against UTF-8 bytes: compile it for RE2 and list the values it finds.

A match gives a value span (its ``secret`` group, or the whole match), which is
widened by ``extend_left``, refused when ``word_start`` is set and a word
character precedes it, and finally put to the rule's check with the text
before it on its line and two characters after it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import re2

from recorder.redaction.checks import CHECKS, Check
from recorder.redaction.rules import CATEGORIES, Rule

_VALUE_GROUP = re2.compile(r"secret\d*")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_BEFORE = 256


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    regex: Any
    trigger: str
    value_groups: tuple[int, ...]
    name_group: int
    check: Check | None
    rank: int
    extend: frozenset[int]
    search: Callable[[bytes, int, int], list[tuple[int, int]] | None]


def _options():
    options = re2.Options()
    options.log_errors = False
    return options


def compile_pattern(pattern: str):
    """An RE2 regex; ``ValueError`` with RE2's message when the pattern is invalid."""
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        message = exc.args[0] if exc.args else exc
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        raise ValueError(str(message)) from None


def char_set(spec: str) -> frozenset[int]:
    """Bytes named by a character-class body such as ``A-Za-z0-9._%+-``."""
    out: set[int] = set()
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out.update(range(ord(spec[i]), ord(spec[i + 2]) + 1))
            i += 3
        else:
            out.add(ord(spec[i]))
            i += 1
    return frozenset(out)


def compile_rule(rule: Rule) -> CompiledRule:
    regex = compile_pattern(rule.pattern)
    index = regex.groupindex
    groups = tuple(index[g] for g in sorted(index, key=index.get) if _VALUE_GROUP.fullmatch(g))
    keywords = "|".join(re2.escape(k) for k in rule.keywords)
    return CompiledRule(
        rule=rule,
        regex=regex,
        trigger=f"(?i:{keywords})" if keywords else rule.pattern,
        value_groups=groups,
        name_group=index.get("name", 0),
        check=CHECKS[rule.check] if rule.check else None,
        rank=CATEGORIES.index(rule.category),
        extend=char_set(rule.extend_left),
        search=searcher(regex),
    )


def searcher(regex) -> Callable[[bytes, int, int], list[tuple[int, int]] | None]:
    """``search(data, pos, end)`` giving the spans of every group, or None when nothing matches.

    Calls RE2 directly when the binding allows it (twice as fast as its ``search``)."""
    raw = getattr(regex, "_regexp", None)
    anchor = getattr(re2, "_Anchor", None)
    if raw is not None and anchor is not None and hasattr(raw, "Match"):
        match, unanchored = raw.Match, anchor.UNANCHORED

        def fast(data: bytes, pos: int, end: int):
            spans = match(unanchored, data, pos, end)
            return None if spans[0][0] < 0 else spans

        return fast
    groups = regex.groups

    def portable(data: bytes, pos: int, end: int):
        m = regex.search(data, pos, end)
        return None if m is None else [m.span(g) for g in range(groups + 1)]

    return portable


def _value_span(c: CompiledRule, spans, data: bytes) -> tuple[int, int] | None:
    span = spans[0]
    for group in c.value_groups:
        span = spans[group]
        if span[0] >= 0:
            break
    start, end = span
    if start < 0 or end <= start:
        return None
    while c.extend and start > 0 and data[start - 1] in c.extend:
        start -= 1
    if c.rule.word_start and start > 0 and data[start - 1] in _WORD_BYTES:
        return None
    return start, end


def _passes(c: CompiledRule, spans, data: bytes, start: int, end: int) -> bool:
    if c.check is None:
        return True
    line_start = data.rfind(b"\n", max(0, start - _BEFORE), start) + 1 or max(0, start - _BEFORE)
    name = b""
    if c.name_group and spans[c.name_group][0] >= 0:
        name = data[spans[c.name_group][0] : spans[c.name_group][1]]
    after = data[end : end + 2].split(b"\n", 1)[0]
    return _decide(c.rule.check, data[start:end], name, data[line_start:start], after)


@functools.lru_cache(maxsize=8192)
def _decide(check: str, value: bytes, name: bytes, before: bytes, after: bytes) -> bool:
    """The check's verdict, remembered: recorded text repeats the same lines a lot."""
    texts = [part.decode("utf-8", "replace") for part in (value, name, before, after)]
    try:
        return CHECKS[check](*texts)
    except Exception:  # a validator's bug must not let a secret through: redact
        return True


def _next_char(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos] & 0xC0 == 0x80:
        pos += 1
    return pos


def rule_spans(
    c: CompiledRule,
    data: bytes,
    raw: list[tuple[int, int]] | None = None,
    lo: int = 0,
    hi: int | None = None,
) -> list[tuple[int, int]]:
    """Byte spans of the values ``c`` finds in ``data[lo:hi]`` (the rest is context only);
    the span of every match, kept or not, goes to ``raw``."""
    out = []
    hi = len(data) if hi is None else hi
    pos = lo
    search = c.search
    while pos <= hi:
        spans = search(data, pos, hi)
        if spans is None:
            break
        if raw is not None:
            raw.append(spans[0])
        span = _value_span(c, spans, data)
        if span and _passes(c, spans, data, *span):
            out.append(span)
        end = span[1] if span else spans[0][1]
        pos = _next_char(data, max(end, spans[0][0] + 1))
    return out


def rule_catches(rule: Rule, text: str) -> list[str]:
    """The values ``rule`` alone finds in ``text`` (used to test rules against examples)."""
    c = compile_rule(rule)
    data = text.encode("utf-8", "replace")
    return [data[s:e].decode() for s, e in rule_spans(c, data)]
