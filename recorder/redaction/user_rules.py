"""The user's own rules: literal strings and named regular expressions.

They come from config.toml's ``[redaction]`` table (``literals``, ``rules``)
and from the command line, and are checked here: a valid name, a pattern RE2
accepts that cannot match empty text, and an example it catches. Patterns run
in multi-line mode (``^`` and ``$`` match at every line); ``\\A`` and ``\\z`` are
refused because text is redacted in batches. A group named ``secret`` marks the
part to redact; otherwise the whole match is. Their hash joins the rule set
version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

import re2

from recorder.errors import RuleError
from recorder.redaction.matcher import compile_pattern, rule_catches
from recorder.redaction.rules import Rule, literal_rule

_NAME_CHARS = re2.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


def user_rules_from(literals: Sequence[str], user_rules: Sequence[Mapping]) -> list[Rule]:
    """Rules of category ``user`` from literal strings and ``{name, pattern, example}`` items."""
    rules: list[Rule] = []
    words = []
    for literal in literals:
        if not isinstance(literal, str):
            raise RuleError(f"redaction literal {literal!r} is not a string")
        if literal.strip():
            words.append(literal.strip())
    if words:
        rules.append(literal_rule("user-literal", "user", words))
    rules += [_user_rule(item) for item in user_rules]
    return rules


def _user_rule(item: Mapping) -> Rule:
    if not isinstance(item, Mapping):
        raise RuleError(f"redaction rule {item!r} must be a table with name and pattern")
    name, pattern, example = item.get("name"), item.get("pattern"), item.get("example") or ""
    if not isinstance(name, str) or not _NAME_CHARS.fullmatch(name):
        raise RuleError(
            f"redaction rule name {name!r} must be letters, digits, '.', '_' or '-' (max 64)"
        )
    if not isinstance(pattern, str) or not pattern:
        raise RuleError(f"redaction rule {name!r} needs a pattern (a regular expression)")
    if not isinstance(example, str):
        raise RuleError(f"redaction rule {name!r}: example must be a string")
    if "\\A" in pattern or "\\z" in pattern:
        raise RuleError(f"redaction rule {name!r}: use ^ and $ instead of \\A and \\z")
    try:
        regex = compile_pattern("(?m)" + pattern)
    except RuleError as exc:
        raise RuleError(f"redaction rule {name!r}: invalid regular expression: {exc}") from None
    if regex.search(b"") is not None:
        raise RuleError(f"redaction rule {name!r}: pattern matches empty text")
    rule = Rule(name, "user", "(?m)" + pattern, example, multiline=True)
    if example and not rule_catches(rule, example):
        raise RuleError(f"redaction rule {name!r}: pattern does not match its example")
    return rule


def user_rules_digest(literals: Sequence[str], user_rules: Sequence[Mapping]) -> str:
    """A short hash of the user's rules, appended to the rule set version."""
    words = sorted(str(w).strip() for w in literals if str(w).strip())
    pats = sorted([str(r.get("name")), str(r.get("pattern"))] for r in user_rules)
    blob = json.dumps([words, pats], separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:6]
