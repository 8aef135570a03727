"""Rules added at review time for every session (``recorder redact --all-sessions``).

They live in ``home/review-rules.json`` (0600) and join the engine wherever it is built
(``installed.build_redactor``: ingest, ``recorder stop``'s drain, exports, ``scrub``).
A literal is never written down: the file keeps its keyed hash (HMAC-SHA256 under the
installation key of the case-folded text) and its *shape*, the class of each character
(letter, digit, blank, other). The rule's RE2 pattern is that shape, bounded like any
literal rule (never inside a longer word); a candidate it finds is redacted only when
its keyed hash is the literal's (the rule's check). A regular expression is a rule, not
a secret, and is kept as written. docs/redaction.md#rules-added-at-review describes it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from pathlib import Path

from recorder.errors import RuleError
from recorder.redaction.checks import CHECKS
from recorder.redaction.rules import Rule, literal_rule
from recorder.redaction.user_rules import user_rules_from

RULES_FILE = "review-rules.json"
_PURPOSE = b"review-literal\0"


def literal_digest(key: bytes, literal: str) -> str:
    """The keyed hash a literal is kept as (and matched by)."""
    return hmac.digest(key, _PURPOSE + literal.casefold().encode(), "sha256").hex()


def literal_name(key: bytes, literal: str) -> str:
    """The rule name of a literal: a keyed-hash id, the same for the same text."""
    return "review-" + literal_digest(key, literal)[:8]


def regex_name(pattern: str) -> str:
    return "review-re-" + hashlib.sha256(pattern.encode()).hexdigest()[:8]


def clean_literal(literal: str | None) -> str:
    text = (literal or "").strip()
    if not text:
        raise RuleError("a literal to redact must not be empty")
    if "\n" in text:
        raise RuleError("a literal to redact must be on one line")
    return text


def shape_of(literal: str) -> str:
    """The RE2 pattern of ``literal``'s character classes, runs counted."""
    parts: list[tuple[str, int]] = []
    for c in literal:
        if c.isalpha():
            cls = r"\pL"
        elif c.isdigit():
            cls = r"\pN"
        elif c.isspace():
            cls = r"\s"
        else:
            cls = r"[^\pL\pN\s]"
        if parts and parts[-1][0] == cls:
            parts[-1] = (cls, parts[-1][1] + 1)
        else:
            parts.append((cls, 1))
    return "".join(cls if n == 1 else f"{cls}{{{n}}}" for cls, n in parts)


def _is_word(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def plain_literal_rule(key: bytes, literal: str) -> Rule:
    """The literal as an ordinary rule (in memory only: it spells the literal out), for
    rewriting what is already recorded."""
    literal = clean_literal(literal)
    return literal_rule(literal_name(key, literal), "user", [literal])


def hashed_literal_rule(key: bytes, digest: str, shape: str, name: str, ends: str) -> Rule:
    """The stored form: ``shape`` found, then kept only if its keyed hash is ``digest``.
    ``ends`` says which ends of the literal are word characters ("", "s", "e" or "se")."""
    check = f"hashed:{digest}"
    if check not in CHECKS:

        def matches(value: str, _name: str = "", _before: str = "", _after: str = "") -> bool:
            return hmac.compare_digest(literal_digest(key, value), digest)

        CHECKS[check] = matches
    end = r"\b" if "e" in ends else ""
    return Rule(name, "user", f"(?P<secret>{shape}){end}", "", (), check, word_start="s" in ends)


def stored_rule(key: bytes, literal: str | None = None, regex: str | None = None) -> dict:
    """What ``review-rules.json`` keeps of a new rule (never the literal itself)."""
    if regex is not None:
        name = regex_name(regex)
        user_rules_from([], [{"name": name, "pattern": regex}])  # RuleError if malformed
        return {"kind": "regex", "name": name, "pattern": regex}
    literal = clean_literal(literal)
    ends = ("s" if _is_word(literal[0]) else "") + ("e" if _is_word(literal[-1]) else "")
    return {
        "kind": "literal",
        "name": literal_name(key, literal),
        "digest": literal_digest(key, literal),
        "shape": shape_of(literal),
        "ends": ends,
    }


def rules_path(home: Path) -> Path:
    return Path(home) / RULES_FILE


def load_entries(home: Path) -> list[dict]:
    path = rules_path(home)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise RuleError(f"{path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleError(f"{path} is damaged: expected an object with a list of rules")
    return data["rules"]


def add_entries(home: Path, entries: Sequence[dict]) -> bool:
    """Add rules (by name, once each); True if the file changed. Written atomically, 0600."""
    current = load_entries(home)
    names = {e.get("name") for e in current}
    fresh = [e for e in entries if e["name"] not in names]
    if not fresh:
        return False
    path = rules_path(home)
    tmp = path.with_name(f".{RULES_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"version": 1, "rules": [*current, *fresh]}, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return True


def rules_from_entries(key: bytes, entries: Sequence[dict]) -> list[Rule]:
    rules: list[Rule] = []
    for e in entries:
        if e.get("kind") == "literal":
            rules.append(hashed_literal_rule(key, e["digest"], e["shape"], e["name"], e["ends"]))
        elif e.get("kind") == "regex":
            rules += user_rules_from([], [{"name": e["name"], "pattern": e["pattern"]}])
        else:
            raise RuleError(f"{RULES_FILE}: unknown rule kind {e.get('kind')!r}")
    return rules


def entries_digest(entries: Sequence[dict]) -> str:
    """A short hash of the stored rules, appended to the rule set version."""
    names = sorted(str(e.get("name")) for e in entries)
    return hashlib.sha256(json.dumps(names).encode()).hexdigest()[:6]
