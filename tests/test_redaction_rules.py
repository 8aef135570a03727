"""The rule table: every rule catches its own example, and the table is versioned."""

from __future__ import annotations

import pytest

from recorder.redaction import RULES
from recorder.redaction.checks import CHECKS
from recorder.redaction.matcher import rule_catches
from recorder.redaction.rules import CATEGORIES, RULESET_DIGEST, RULESET_VERSION, table_digest


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rule_catches_its_example_alone(rule):
    assert (rule.secret or rule.example) in rule_catches(rule, rule.example)


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_engine_removes_the_secret_of_every_example(rule, redactors):
    result = redactors[rule.category == "personal"].redact(rule.example)
    assert (rule.secret or rule.example) not in result.text
    assert result.findings, rule.name


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_prefilter_keywords_occur_in_the_example(rule):
    # A rule runs only where one of its keywords occurs: its own example must pass.
    if rule.keywords:
        assert any(k.lower() in rule.example.lower() for k in rule.keywords)


def test_rule_names_are_unique_and_categories_known():
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    assert {r.category for r in RULES} <= set(CATEGORIES)
    assert all(r.check in CHECKS for r in RULES if r.check)


def test_the_table_is_pinned_to_its_version():
    assert table_digest() == RULESET_DIGEST, (
        f"the rule table changed: bump RULESET_VERSION and set RULESET_DIGEST to {table_digest()!r}"
    )
    year, month, n = RULESET_VERSION.split(".")
    assert len(year) == 4 and 1 <= int(month) <= 12 and int(n) >= 1


def test_every_rule_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "redaction.md").read_text()
    missing = [r.name for r in RULES if f"`{r.name}`" not in doc]
    assert not missing, f"docs/redaction.md does not name: {missing}"
    assert RULESET_VERSION in doc
