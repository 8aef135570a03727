"""The known values' two searches (``redaction.known``): the RE2 alternation of a few
values and the anchor lookup of many find the same occurrences, and learning values
leaves nothing behind in ``re2``'s cache of patterns."""

from __future__ import annotations

import random

import pytest
import re2
from redactkit import KEY

from recorder.redaction import RULES, PersonalInfo, Redactor, known
from recorder.redaction.known import KnownValues
from recorder.redaction.matcher import compile_rule

COMPILED = [compile_rule(r) for r in RULES]
SECRET_RULE = next(
    i for i, c in enumerate(COMPILED) if c.rule.category != "personal" and not c.rule.multiline
)
WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
SHAPES = [
    "Zr8#qLm2!vTx",  # anchor in the middle
    "abcd1234",  # all word characters
    "xx-abcd1234",  # holds another value
    "!lead9Kq7w",  # starts with no word character
    "trail9Kq7w.",  # ends with none
    "a#b!c-d.e:f",  # no word of four characters: compared as it is
    "pass word 42!",  # spaces inside
    "Aa1_Bb2_Cc3",
]


def _random_value(rng: random.Random) -> str:
    alphabet = "abcXYZ0189_" * 3 + "#!-.:@/ "
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(8, 20))).strip() + "q7"


def _occurrences(values: dict[bytes, int], data: bytes) -> set[tuple[int, int, int]]:
    """Every occurrence of every value not inside a longer word, the plain way."""
    out = set()
    for value, i in values.items():
        p = data.find(value)
        while p >= 0:
            s, e = p, p + len(value)
            inside = (s > 0 and data[s - 1] in WORD and data[s] in WORD) or (
                e < len(data) and data[e] in WORD and data[e - 1] in WORD
            )
            if not inside:
                out.add((s, e, i))
            p = data.find(value, p + 1)
    return out


@pytest.fixture
def values():
    rng = random.Random(20261204)
    shapes = SHAPES + [_random_value(rng) for _ in range(40)]
    table = KnownValues(COMPILED)
    for value in shapes:
        table.adopt(value.encode(), SECRET_RULE)
    assert len(table._values) == len(set(shapes))
    return table


def _texts(table: KnownValues, count: int):
    rng = random.Random(7)
    pieces = [*table._values, *(v[: len(v) // 2] for v in table._values)]
    pieces += [b"a", b"9", b"_", b" ", b"\n", b"-", b"#", b".", "é".encode(), b"q7"]
    for _ in range(count):
        yield b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 60)))


def test_the_anchor_lookup_finds_every_occurrence(values, monkeypatch):
    monkeypatch.setattr(known, "REGEX_MAX", 0)
    found = 0
    for data in _texts(values, 3000):
        want = _occurrences(values._values, data)
        assert set(values.find(data)) == want, data
        found += len(want)
    assert found > 2000


def test_the_alternation_finds_occurrences_the_lookup_finds(values, monkeypatch):
    """The alternation gives the leftmost longest of overlapping values: each is one the
    lookup gives too, and every occurrence it leaves out overlaps one it gives (no value
    here starts another, where the longer one, inside a word, would hide the shorter)."""
    monkeypatch.setattr(known, "REGEX_MAX", 10**6)
    for data in _texts(values, 2000):
        every = _occurrences(values._values, data)
        given = values.find(data)
        assert set(given) <= every, data
        for s, e, _ in every - set(given):
            assert any(gs < e and s < ge for gs, ge, _ in given), data


def test_many_known_values_are_each_found_bare_with_their_placeholder():
    redactor = Redactor(KEY, personal=PersonalInfo())
    secrets = [f"Q{n:05d}xZ#k9w" for n in range(3 * known.REGEX_MAX)]
    first = {s: redactor.redact(f"export API_TOKEN={s}").findings[0].placeholder for s in secrets}
    assert len(redactor._known._values) > known.REGEX_MAX  # the lookup is in use
    later = redactor.redact(" ".join(secrets) + "\nxQ00001xZ#k9w9 stays\n")
    assert later.text.split("\n")[0] == " ".join(first[s] for s in secrets)
    assert "xQ00001xZ#k9w9 stays" in later.text


def test_learning_values_adds_nothing_to_re2s_cache():
    """Each compiled search goes with its last reference: ``re2`` keeps the last 128
    patterns compiled through it alive, DFA and all, which grew a scrub's memory."""
    redactor = Redactor(KEY, personal=PersonalInfo())
    redactor.redact("warm up: export API_TOKEN=WarmUp12xZ#k9")
    cached = re2._Regexp._make.cache_info().currsize
    for n in range(known.REGEX_MAX):
        redactor.redact(f"export API_TOKEN=Q{n:05d}xZ#k9w\nand then Q{n:05d}xZ#k9w again")
    assert re2._Regexp._make.cache_info().currsize == cached
