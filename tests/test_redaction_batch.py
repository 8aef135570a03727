"""redact_many redacts each distinct text once; every copy still gets its own result."""

from __future__ import annotations

import pytest
from redactkit import KEY

from recorder.redaction import PersonalInfo, Redactor, engine

GHP = "ghp_" + "FAKEfake0123456789FAKEfake0123456789"


@pytest.mark.parametrize("copies", [1, 30])  # a short batch, and one worth deduplicating
def test_repeated_texts_get_equal_but_separate_results(copies):
    redactor = Redactor(KEY, personal=PersonalInfo())
    dirty = f"export GITHUB_TOKEN={GHP}"
    texts = [dirty, "ls -la", None, "", dirty, "ls -la", "ssh 2a02:6b8::1:2:3", dirty, None]
    texts *= copies
    results = redactor.redact_many(texts)
    for text, result in zip(texts, results, strict=True):
        if text is None:
            assert result is None
        else:
            assert result == redactor.redact(text)
    assert results[0].findings and results[4].findings and results[6].findings
    lists = [r.findings for r in results if r is not None]
    assert len({id(x) for x in lists}) == len(lists)  # no two results share a list
    results[0].findings.clear()
    assert results[4].findings and results[7].findings


def test_deduplication_is_chosen_only_for_repetitive_batches():
    assert engine._repetitive(["same line"] * 1000)
    assert engine._repetitive([None, ""] * 100)
    assert not engine._repetitive([f"line {i}" for i in range(100_000)])
    assert not engine._repetitive(["same line"] * 64)  # short batches: not worth it


def test_distinct_texts_with_gaps_keep_their_places():
    redactor = Redactor(KEY, personal=False)
    texts = [f"line {i}" if i % 7 else None if i % 2 else "" for i in range(3000)]
    texts[1001] = f"token={GHP}"
    results = redactor.redact_many(texts)
    assert [i for i, r in enumerate(results) if r is not None and r.findings] == [1001]
    assert all((r is None) == (t is None) for t, r in zip(texts, results, strict=True))
    assert all(r.text == t for t, r in zip(texts, results, strict=True) if t and "token" not in t)


def test_a_batch_of_one_repeated_text():
    redactor = Redactor(KEY, personal=False)
    results = redactor.redact_many([f"token={GHP}"] * 1000)
    assert all(r == results[0] and GHP not in r.text for r in results)
