"""The Redactor: finds secrets and personal data in text and replaces each value.

Text is encoded to UTF-8 once and scanned with RE2 (linear time). One pass of
an RE2 set over every rule's literal keywords (the prefilter) says which rules
can match at all; only those run. Overlapping findings are settled by category
(provider tokens first, personal data last), then by length. Each value becomes
``<SECRET:rule:xxxxxx>`` or ``<PII:rule:xxxxxx>``, where ``xxxxxx`` starts the
HMAC-SHA256 of the value under the installation key; the home directory
becomes ``~``. Text inside an existing placeholder is never matched again, so
redacting twice changes nothing.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import re2

from recorder.redaction.checks import CHECKS, Check
from recorder.redaction.personal import PersonalInfo, personal_rules, word_bounded
from recorder.redaction.rules import CATEGORIES, RULES, RULESET_VERSION, Rule

PLACEHOLDER_PATTERN = r"<(?:SECRET|PII):[A-Za-z0-9_.\-]+:[0-9a-f]{6}>"
HOME_PLACEHOLDER = "~"
_BATCH_SEPARATOR = b"\n\x00\n"
_BATCH_BYTES = 4 << 20
_NAME_CHARS = re2.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_VALUE_GROUP = re2.compile(r"secret\d*")


@dataclass(frozen=True, slots=True)
class Finding:
    """One redacted value: which rule, and where its placeholder (or, from scan, it) sits."""

    rule: str
    category: str
    start: int
    end: int
    placeholder: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "category": self.category,
            "start": self.start,
            "end": self.end,
            "placeholder": self.placeholder,
        }


@dataclass(frozen=True, slots=True)
class RedactionResult:
    text: str
    findings: list[Finding]


class LeakFound(Exception):
    """A rule still matches text that should already be redacted."""

    def __init__(self, rules: Iterable[str], count: int = 0):
        self.rules = tuple(sorted(set(rules)))
        self.count = count or len(self.rules)
        super().__init__(
            f"leak scan failed: {self.count} finding(s) from rule(s) {', '.join(self.rules)}"
        )


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    regex: Any
    trigger: str
    value_groups: tuple[int, ...]
    name_group: int
    check: Check | None
    rank: int


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


def _compile(rule: Rule) -> _Compiled:
    regex = compile_pattern(rule.pattern)
    index = regex.groupindex
    groups = tuple(index[g] for g in sorted(index, key=index.get) if _VALUE_GROUP.fullmatch(g))
    keywords = "|".join(re2.escape(k) for k in rule.keywords)
    return _Compiled(
        rule=rule,
        regex=regex,
        trigger=f"(?i:{keywords})" if keywords else rule.pattern,
        value_groups=groups,
        name_group=index.get("name", 0),
        check=CHECKS[rule.check] if rule.check else None,
        rank=CATEGORIES.index(rule.category),
    )


def _next_char(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos] & 0xC0 == 0x80:
        pos += 1
    return pos


def _value_span(c: _Compiled, m) -> tuple[int, int] | None:
    if not c.value_groups:
        return m.span()
    for group in c.value_groups:
        span = m.span(group)
        if span[0] >= 0:
            return span
    return None


def _passes(c: _Compiled, m, data: bytes, start: int, end: int) -> bool:
    if c.check is None:
        return True
    value = data[start:end].decode("utf-8", "replace")
    name = m.group(c.name_group).decode("utf-8", "replace") if c.name_group else ""
    before = data[max(0, start - 16) : start].decode("utf-8", "replace")
    after = data[end : end + 2].decode("utf-8", "replace")
    return c.check(value, name, before, after)


def rule_spans(c: _Compiled, data: bytes) -> list[tuple[int, int]]:
    """Byte spans of the values that one compiled rule finds in ``data``."""
    out = []
    pos = 0
    while pos <= len(data):
        m = c.regex.search(data, pos)
        if m is None:
            break
        span = _value_span(c, m)
        if span and span[1] > span[0] and _passes(c, m, data, *span):
            out.append(span)
        end = span[1] if span else m.end()
        pos = _next_char(data, max(end, m.start() + 1))
    return out


def rule_catches(rule: Rule, text: str) -> list[str]:
    """The values ``rule`` alone finds in ``text`` (used to test rules against examples)."""
    c = _compile(rule)
    data = text.encode("utf-8", "replace")
    return [data[s:e].decode() for s, e in rule_spans(c, data)]


def user_rules_from(literals: Sequence[str], user_rules: Sequence[Mapping]) -> list[Rule]:
    """Rules of category ``user`` from literal strings and ``{name, pattern, example}`` items."""
    rules: list[Rule] = []
    words = []
    for literal in literals:
        if not isinstance(literal, str):
            raise ValueError(f"redaction literal {literal!r} is not a string")
        if literal.strip():
            words.append(literal.strip())
    if words:
        words = sorted(set(words), key=len, reverse=True)
        body = "|".join(word_bounded(w, re2.escape(w)) for w in words)
        rules.append(
            Rule("user-literal", "user", f"(?i)(?P<secret>{body})", words[0], tuple(words))
        )
    for item in user_rules:
        rules.append(_user_rule(item))
    return rules


def _user_rule(item: Mapping) -> Rule:
    if not isinstance(item, Mapping):
        raise ValueError(f"redaction rule {item!r} must be a table with name and pattern")
    name, pattern, example = item.get("name"), item.get("pattern"), item.get("example") or ""
    if not isinstance(name, str) or not _NAME_CHARS.fullmatch(name):
        raise ValueError(
            f"redaction rule name {name!r} must be letters, digits, '.', '_' or '-' (max 64)"
        )
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"redaction rule {name!r} needs a pattern (a regular expression)")
    if not isinstance(example, str):
        raise ValueError(f"redaction rule {name!r}: example must be a string")
    try:
        regex = compile_pattern(pattern)
    except ValueError as exc:
        raise ValueError(f"redaction rule {name!r}: invalid regular expression: {exc}") from None
    if regex.search(b"") is not None:
        raise ValueError(f"redaction rule {name!r}: pattern matches empty text")
    rule = Rule(name, "user", pattern, example)
    if example and not rule_catches(rule, example):
        raise ValueError(f"redaction rule {name!r}: pattern does not match its example")
    return rule


def user_rules_digest(literals: Sequence[str], user_rules: Sequence[Mapping]) -> str:
    """A short hash of the user's rules, appended to the rule set version."""
    rows = sorted(str(w) for w in literals if str(w).strip())
    pats = sorted([str(r.get("name")), str(r.get("pattern"))] for r in user_rules)
    blob = json.dumps([rows, pats], separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:6]


class Redactor:
    """Redacts secrets and personal data; see the module docstring."""

    def __init__(
        self,
        key: bytes,
        *,
        literals: Sequence[str] = (),
        user_rules: Sequence[Mapping] = (),
        personal: bool | PersonalInfo = True,
    ):
        if not isinstance(key, bytes | bytearray) or len(key) < 16:
            raise ValueError("the redaction key must be at least 16 bytes")
        self._key = bytes(key)
        table = self._table(personal) + user_rules_from(literals, user_rules)
        names = [r.name for r in table]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"redaction rule name(s) used twice: {', '.join(duplicates)}")
        self._rules = [_compile(rule) for rule in table]
        self._set, self._set_owner = self._build_set()
        self._triggers: dict[int, Any] = {}
        self._placeholders = re2.compile(PLACEHOLDER_PATTERN)
        self.ruleset_version = RULESET_VERSION
        if literals or user_rules:
            self.ruleset_version += "+u" + user_rules_digest(literals, user_rules)

    @staticmethod
    def _table(personal: bool | PersonalInfo) -> list[Rule]:
        if personal is False:
            return [r for r in RULES if r.category != "personal"]
        info = PersonalInfo.from_machine() if personal is True else personal
        return list(RULES) + list(personal_rules(info))

    def _build_set(self):
        rule_set = re2.Set.SearchSet(_options())
        owner = []
        for i, c in enumerate(self._rules):
            rule_set.Add(c.trigger)
            owner.append(i)
        rule_set.Compile()
        return rule_set, owner

    @property
    def rules(self) -> list[tuple[str, str]]:
        """(name, category) of every rule in force, in table order."""
        return [(c.rule.name, c.rule.category) for c in self._rules]

    # -- finding -----------------------------------------------------------------

    def _hits(self, data: bytes) -> list[tuple[int, int, int]]:
        matched = self._set.Match(data)
        if not matched:
            return []
        hits = []
        for i in sorted({self._set_owner[m] for m in matched}):
            hits.extend((s, e, i) for s, e in rule_spans(self._rules[i], data))
        return self._resolve(hits, data) if hits else []

    def _resolve(self, hits, data: bytes) -> list[tuple[int, int, int]]:
        """Non-overlapping hits, preferring category order, then longer, then earlier."""
        starts: list[int] = []
        ends: list[int] = []
        if b"<SECRET:" in data or b"<PII:" in data:
            for m in self._placeholders.finditer(data):
                starts.append(m.start())
                ends.append(m.end())
        kept = []
        rules = self._rules
        for s, e, i in sorted(hits, key=lambda h: (rules[h[2]].rank, h[0] - h[1], h[0], h[2])):
            at = bisect.bisect_right(starts, s)
            if (at and ends[at - 1] > s) or (at < len(starts) and starts[at] < e):
                continue
            starts.insert(at, s)
            ends.insert(at, e)
            kept.append((s, e, i))
        kept.sort()
        return kept

    def _placeholder(self, i: int, value: bytes) -> str:
        rule = self._rules[i].rule
        if rule.name == "home-dir":
            return HOME_PLACEHOLDER
        if rule.category == "personal":
            value = value.decode("utf-8", "replace").lower().encode()
        digest = hmac.new(self._key, value, hashlib.sha256).hexdigest()[:6]
        kind = "PII" if rule.category == "personal" else "SECRET"
        return f"<{kind}:{rule.name}:{digest}>"

    def _finding(self, i: int, start: int, end: int, placeholder: str) -> Finding:
        rule = self._rules[i].rule
        return Finding(rule.name, rule.category, start, end, placeholder)

    # -- public API ----------------------------------------------------------------

    def redact(self, text: str) -> RedactionResult:
        """``text`` with every finding replaced; positions are in the redacted text."""
        if not text:
            return RedactionResult(text, [])
        return self._redact_data(text, text.encode("utf-8", "replace"))

    def _redact_data(self, text: str, data: bytes) -> RedactionResult:
        hits = self._hits(data)
        if not hits:
            return RedactionResult(text, [])
        pieces: list[str] = []
        findings: list[Finding] = []
        prev = 0
        at = 0
        for s, e, i in hits:
            before = data[prev:s].decode("utf-8", "replace")
            placeholder = self._placeholder(i, data[s:e])
            at += len(before)
            findings.append(self._finding(i, at, at + len(placeholder), placeholder))
            at += len(placeholder)
            pieces += (before, placeholder)
            prev = e
        pieces.append(data[prev:].decode("utf-8", "replace"))
        return RedactionResult("".join(pieces), findings)

    def redact_many(self, texts: Sequence[str | None]) -> list[RedactionResult | None]:
        """``redact`` over a batch, one prefilter pass per few megabytes; None stays None."""
        results: list[RedactionResult | None] = [None] * len(texts)
        batch: list[int] = []
        size = 0
        for i, text in enumerate(texts):
            if text is None:
                continue
            if not text:
                results[i] = RedactionResult(text, [])
                continue
            batch.append(i)
            size += len(text)
            if size >= _BATCH_BYTES:
                self._redact_batch(texts, batch, results)
                batch, size = [], 0
        if batch:
            self._redact_batch(texts, batch, results)
        return results

    def _redact_batch(self, texts, batch: list[int], results: list) -> None:
        parts = [texts[i].encode("utf-8", "replace") for i in batch]
        data = _BATCH_SEPARATOR.join(parts)
        matched = self._set.Match(data)
        dirty: set[int] = set()
        if matched:
            starts = []
            offset = 0
            for part in parts:
                starts.append(offset)
                offset += len(part) + len(_BATCH_SEPARATOR)
            for rule_index in {self._set_owner[m] for m in matched}:
                dirty.update(self._dirty_items(rule_index, data, starts))
        for k, i in enumerate(batch):
            if k in dirty:
                results[i] = self._redact_data(texts[i], parts[k])
            else:
                results[i] = RedactionResult(texts[i], [])

    def _dirty_items(self, rule_index: int, data: bytes, starts: list[int]) -> set[int]:
        trigger = self._triggers.get(rule_index)
        if trigger is None:
            trigger = self._triggers[rule_index] = compile_pattern(self._rules[rule_index].trigger)
        found: set[int] = set()
        for m in trigger.finditer(data):
            first = bisect.bisect_right(starts, m.start()) - 1
            last = bisect.bisect_right(starts, max(m.end() - 1, m.start())) - 1
            found.update(range(first, last + 1))
        return found

    def scan(self, text: str) -> list[Finding]:
        """Findings without replacing; positions are in ``text`` itself."""
        if not text:
            return []
        data = text.encode("utf-8", "replace")
        hits = self._hits(data)
        ascii_only = len(data) == len(text)
        findings = []
        prev_byte = prev_char = 0
        for s, e, i in hits:
            if ascii_only:
                start, end = s, e
            else:
                start = prev_char + len(data[prev_byte:s].decode("utf-8", "replace"))
                end = start + len(data[s:e].decode("utf-8", "replace"))
                prev_byte, prev_char = e, end
            findings.append(self._finding(i, start, end, self._placeholder(i, data[s:e])))
        return findings

    def check_no_leaks(self, text: str) -> None:
        """Raise :class:`LeakFound` (naming rules, never values) if any rule matches ``text``."""
        findings = self.scan(text)
        if findings:
            raise LeakFound([f.rule for f in findings], len(findings))
