"""The matcher's fast paths find exactly what the plain loop finds: gated rules
(``matcher._GATES``) the same values as without their gate, and the inlined match loop
the same values as a straightforward reference (the loop as first written)."""

from __future__ import annotations

import random

import pytest
from redactkit import KEY

from recorder.redaction import RULES, PersonalInfo, Redactor
from recorder.redaction.matcher import _BEFORE, _WORD_BYTES, _decide, compile_rule, rule_spans

GATED = [r for r in RULES if compile_rule(r).gate is not None]
PIECES = (
    *("::", ":", ":::", ".", "\n", " ", "\t", "/", "_", "-", "é", "[", "]", "%", "x", "py"),
    *("0", "1", "a", "F", "db8", "2001", "2a02", "6b8", "85a3", "8a2e", "ffff", "fe80"),
    *("2001:db8::1", "2a02:6b8:85a3::8a2e:370:7334", "::1", "fe80::1:2:3", "1:2:3::"),
    *("a:b:c:d:e:f:0:1", "tests/test_x.py::test_y", "std::vector", "::ffff:10.1.2.3"),
)


def test_the_ipv6_rule_is_gated():
    assert [r.name for r in GATED] == ["ipv6"]


@pytest.mark.parametrize("rule", GATED, ids=[r.name for r in GATED])
def test_gate_changes_no_value(rule):
    gated, plain = compile_rule(rule), compile_rule(rule, gated=False)
    rng = random.Random(20261125)
    found = 0
    for _ in range(4000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 40)))
        data = text.encode()
        lo = rng.choice([0, rng.randint(0, len(data))])
        hi = rng.choice([len(data), rng.randint(lo, len(data))])
        want = rule_spans(plain, data, None, lo, hi)
        assert rule_spans(gated, data, None, lo, hi) == want, text
        found += bool(want)
    assert found > 200  # the random text does hold addresses


def test_pytest_node_ids_are_not_addresses_but_addresses_next_to_them_are():
    redactor = Redactor(KEY, personal=PersonalInfo())
    text = "tests/test_x.py::test_y PASSED\nTestA::test_cafe[a:b:c] 2a02:6b8:85a3::8a2e:370:7334\n"
    result = redactor.redact(text * 3)
    assert result.text.count("tests/test_x.py::test_y PASSED") == 3
    assert "2a02:6b8:85a3::8a2e:370:7334" not in result.text
    assert [f.rule for f in result.findings] == ["ipv6"] * 3


def _reference_spans(c, data: bytes, lo: int = 0, hi: int | None = None):
    """The match loop as first written, helper by helper."""

    def value_span(spans):
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

    def passes(spans, start, end):
        if c.check is None:
            return True
        floor = max(0, start - _BEFORE)
        line_start = data.rfind(b"\n", floor, start) + 1 or floor
        name = b""
        if c.name_group and spans[c.name_group][0] >= 0:
            name = data[spans[c.name_group][0] : spans[c.name_group][1]]
        after = data[end : end + 2].split(b"\n", 1)[0]
        return _decide(c.rule.check, data[start:end], name, data[line_start:start], after)

    out = []
    hi = len(data) if hi is None else hi
    pos = lo
    while pos <= hi:
        spans = c.search(data, pos, hi)
        if spans is None:
            break
        span = value_span(spans)
        if span and passes(spans, *span):
            out.append(span)
        pos = max(span[1] if span else spans[0][1], spans[0][0] + 1)
        while pos < len(data) and data[pos] & 0xC0 == 0x80:
            pos += 1
    return out


def test_the_inlined_loop_matches_the_reference():
    rules = [compile_rule(r, gated=False) for r in RULES]
    examples = [r.example for r in RULES]
    noise = [" ", "\n", "=", ":", "'", '"', "-", "$X", "é", "x" * 300, "token", "@"]
    rng = random.Random(7)
    found = 0
    for _ in range(150):
        text = "".join(rng.choice(examples + noise) for _ in range(rng.randint(1, 12)))
        data = text.encode()
        for c in rules:
            want = _reference_spans(c, data)
            assert rule_spans(c, data) == want, (c.rule.name, text)
            found += len(want)
    assert found > 500
