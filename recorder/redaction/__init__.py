"""The redaction engine: secrets and personal data never leave the machine.

Public API: :class:`Redactor` (redact, redact_many, redact_dirty, scan, check_no_leaks),
:class:`Finding`, :class:`RedactionResult`,
:data:`RULESET_VERSION` and :func:`load_or_create_key`. The rule table is in
:mod:`recorder.redaction.rules`; ``docs/redaction.md`` describes it.
"""

from recorder.redaction.engine import Finding, RedactionResult, Redactor
from recorder.redaction.key import load_or_create_key
from recorder.redaction.personal import PersonalInfo
from recorder.redaction.rules import RULES, RULESET_VERSION, Rule

__all__ = [
    "RULES",
    "RULESET_VERSION",
    "Finding",
    "PersonalInfo",
    "RedactionResult",
    "Redactor",
    "Rule",
    "load_or_create_key",
]
