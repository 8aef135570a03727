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

from recorder.errors import RuleError
from recorder.redaction.checks import CHECKS, Check
from recorder.redaction.rules import CATEGORIES, Rule

_VALUE_GROUP = re2.compile(r"secret\d*")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_BEFORE = 256
_ANCHOR = getattr(re2, "_Anchor", None)
UNANCHORED = None if _ANCHOR is None else _ANCHOR.UNANCHORED


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
    match: Callable[[Any, bytes, int, int], list[tuple[int, int]]]  # see ``raw_matcher``
    # Lines without a match of ``gate`` hold no value of this rule (see ``_GATES``).
    gate: Callable[[bytes, int, int], list[tuple[int, int]] | None] | None = None


def _options(max_mem: int = 0):
    options = re2.Options()
    options.log_errors = False
    if max_mem:
        options.max_mem = max_mem
    return options


def compile_pattern(pattern: str, max_mem: int = 0):
    """An RE2 regex; ``RuleError`` with RE2's message when the pattern is invalid.
    ``max_mem`` raises RE2's memory budget (a large alternation of literals needs it)."""
    try:
        return re2.compile(pattern, _options(max_mem))
    except re2.error as exc:
        raise _rule_error(exc) from None


def compile_uncached(pattern: str, max_mem: int = 0):
    """``compile_pattern`` outside ``re2``'s cache of compiled patterns, which keeps the
    last 128 alive (with their DFA memory): for patterns replaced often, such as the
    known values' search, whose memory must go with the last reference."""
    make = getattr(re2, "_Regexp", None)
    if make is None:
        return compile_pattern(pattern, max_mem)
    try:
        return make(pattern, _options(max_mem))
    except re2.error as exc:
        raise _rule_error(exc) from None


def _rule_error(exc: Exception) -> RuleError:
    message = exc.args[0] if exc.args else exc
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return RuleError(str(message))


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


# Gates: for a line-local rule (no match, widening or check looks past its line) whose
# pattern hits far more often than its check passes, an RE2 pattern that every line with a
# kept value matches. Lines without a gate hit are skipped, so the rule's own per-match
# Python work runs only where it can succeed; the values found are the same (a test
# compares both ways on random text).
#
# ipv6 matches every ``::`` (``tests/test_x.py::test_y``, ``std::vector``, ``Foo::bar``).
# Its check keeps a value only when no hex digit, ``:`` or ``.`` is next to it on either
# side (so, widened left over hex digits and colons, it is a whole run of them), with at
# least three non-empty groups. Such a run holds a ``::`` next to, or one group away from,
# three consecutive groups: the gate is those four shapes.
_HEX = "[0-9A-Fa-f]"
_IPV6_PATTERN = r"(?P<secret>::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?)"
_IPV6_GATE = "|".join(
    (
        f"{_HEX}::+{_HEX}+:+{_HEX}",
        f"{_HEX}:+{_HEX}+::+{_HEX}",
        f"::{_HEX}+:+{_HEX}+:+{_HEX}",
        f"{_HEX}:+{_HEX}+:+{_HEX}+::",
    )
)
_GATES = {("ipv6", _IPV6_PATTERN, "ipv6", "0-9A-Fa-f:", False, False): _IPV6_GATE}


def _gate_for(rule: Rule) -> str | None:
    key = (rule.name, rule.pattern, rule.check, rule.extend_left, rule.word_start)
    return _GATES.get((*key, rule.multiline))


def compile_rule(rule: Rule, *, gated: bool = True) -> CompiledRule:
    regex = compile_pattern(rule.pattern)
    gate = _gate_for(rule) if gated else None
    index = regex.groupindex
    groups = tuple(index[g] for g in sorted(index, key=index.get) if _VALUE_GROUP.fullmatch(g))
    keywords = "|".join(re2.escape(k) for k in rule.keywords)
    return CompiledRule(
        rule=rule,
        regex=regex,
        trigger=gate or (f"(?i:{keywords})" if keywords else rule.pattern),
        value_groups=groups,
        name_group=index.get("name", 0),
        check=CHECKS[rule.check] if rule.check else None,
        rank=CATEGORIES.index(rule.category),
        extend=char_set(rule.extend_left),
        search=searcher(regex),
        match=raw_matcher(regex),
        gate=searcher(compile_pattern(gate)) if gate else None,
    )


def searcher(regex) -> Callable[[bytes, int, int], list[tuple[int, int]] | None]:
    """``search(data, pos, end)`` giving the spans of every group, or None when nothing matches."""
    match = raw_matcher(regex)

    def search(data: bytes, pos: int, end: int):
        spans = match(UNANCHORED, data, pos, end)
        return None if spans[0][0] < 0 else spans

    return search


def raw_matcher(regex) -> Callable[[Any, bytes, int, int], list[tuple[int, int]]]:
    """``match(UNANCHORED, data, pos, end)``: the spans of every group, the first one
    (-1, -1) when nothing matches. RE2's own call when the binding allows it (twice as
    fast as its ``search``, and no Python frame per match)."""
    raw = getattr(regex, "_regexp", None)
    if raw is not None and UNANCHORED is not None and hasattr(raw, "Match"):
        return raw.Match
    groups = regex.groups

    def portable(_anchor, data: bytes, pos: int, end: int):
        m = regex.search(data, pos, end)
        return [(-1, -1)] if m is None else [m.span(g) for g in range(groups + 1)]

    return portable


@functools.lru_cache(maxsize=8192)
def _decide(check: str, value: bytes, name: bytes, before: bytes, after: bytes) -> bool:
    """The check's verdict, remembered: recorded text repeats the same lines a lot."""
    texts = [part.decode("utf-8", "replace") for part in (value, name, before, after)]
    try:
        return CHECKS[check](*texts)
    except Exception:  # a validator's bug must not let a secret through: redact
        return True


def rule_spans(
    c: CompiledRule,
    data: bytes,
    raw: list[tuple[int, int]] | None = None,
    lo: int = 0,
    hi: int | None = None,
) -> list[tuple[int, int]]:
    """Byte spans of the values ``c`` finds in ``data[lo:hi]`` (the rest is context only);
    the span of every match, kept or not, goes to ``raw`` (a gated rule's matches never
    leave their line, so only those of lines that pass its gate)."""
    hi = len(data) if hi is None else hi
    if c.gate is None:
        return _spans(c, data, raw, lo, hi)
    out: list[tuple[int, int]] = []
    gate = c.gate
    pos = data.rfind(b"\n", 0, lo) + 1  # whole lines: a value may begin before ``lo``
    stop = data.find(b"\n", max(lo, hi - 1))
    stop = len(data) if stop < 0 else stop
    while pos < stop and pos < hi:
        hit = gate(data, pos, stop)
        if hit is None:
            break
        end = data.find(b"\n", hit[0][1], stop)
        end = stop if end < 0 else end
        start = data.rfind(b"\n", pos, hit[0][0]) + 1 or pos
        if start < hi and end > lo:
            out += _spans(c, data, raw, max(lo, start), min(hi, end))
        pos = end + 1
    return out


def _spans(
    c: CompiledRule, data: bytes, raw: list[tuple[int, int]] | None, lo: int, hi: int
) -> list[tuple[int, int]]:
    """The loop of ``rule_spans``, all inline: it runs once per match, often thousands of
    times per batch, mostly for matches that a check then rejects."""
    out: list[tuple[int, int]] = []
    pos = lo
    match, anchor = c.match, UNANCHORED
    groups = c.value_groups
    extend = c.extend
    word_start = c.rule.word_start
    check = c.rule.check if c.check is not None else ""
    name_group = c.name_group
    size = len(data)
    while pos <= hi:
        spans = match(anchor, data, pos, hi)
        whole = spans[0]
        if whole[0] < 0:
            break
        if raw is not None:
            raw.append(whole)
        span = whole
        for group in groups:
            span = spans[group]
            if span[0] >= 0:
                break
        start, end = span
        if start < 0 or end <= start:
            end = whole[1]
        else:
            while extend and start > 0 and data[start - 1] in extend:
                start -= 1
            if word_start and start > 0 and data[start - 1] in _WORD_BYTES:
                end = whole[1]
            elif not check:
                out.append((start, end))
            else:
                floor = start - _BEFORE if start > _BEFORE else 0
                line_start = data.rfind(b"\n", floor, start) + 1 or floor
                name = b""
                if name_group and spans[name_group][0] >= 0:
                    name = data[spans[name_group][0] : spans[name_group][1]]
                after = data[end : end + 2].split(b"\n", 1)[0]
                if _decide(check, data[start:end], name, data[line_start:start], after):
                    out.append((start, end))
        pos = end if end > whole[0] else whole[0] + 1
        while pos < size and data[pos] & 0xC0 == 0x80:
            pos += 1
    return out


def rule_catches(rule: Rule, text: str) -> list[str]:
    """The values ``rule`` alone finds in ``text`` (used to test rules against examples)."""
    c = compile_rule(rule)
    data = text.encode("utf-8", "replace")
    return [data[s:e].decode() for s, e in rule_spans(c, data)]
