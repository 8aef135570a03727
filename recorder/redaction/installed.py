"""This installation's redaction engine: its HMAC key, the user's rules from config.toml
and the rules added at review for every session (``review_rules.py``).

The daemon's ingest, ``recorder stop``'s drain, the exporters and ``recorder scrub``
all build their engine here, so each sees the same key and the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from recorder.redaction.engine import Redactor
from recorder.redaction.key import load_or_create_key
from recorder.redaction.personal import PersonalInfo
from recorder.redaction.remembered import FILE as REMEMBERED_FILE
from recorder.redaction.remembered import RememberedValues
from recorder.redaction.review_rules import entries_digest, load_entries, rules_from_entries

if TYPE_CHECKING:
    from recorder.config import Config
    from recorder.paths import Layout


def build_redactor(
    lay: Layout,
    config: Config,
    extra_literals: Sequence[str] = (),
    extra_rules: Sequence[dict] = (),
    personal: bool | PersonalInfo = True,
    remember: bool = False,
) -> Redactor:
    """The engine with this installation's key, config.toml's ``[redaction]`` literals and
    rules, and any given on top (``recorder scrub --literal/--rule``). ``personal``: the
    personal data to hide besides the built-in rules' (True: read from this machine).
    ``remember``: known values persist across runs as keyed hashes (``remembered.py``),
    for the writer of the event log (the daemon, or ``recorder stop``'s drain)."""
    rules = config.settings.redaction
    key = load_or_create_key(lay.home)
    remembered = RememberedValues(lay.home / REMEMBERED_FILE, key) if remember else None
    review = load_entries(lay.home)
    return Redactor(
        key,
        literals=[*rules.literals, *extra_literals],
        user_rules=[*rules.rules, *extra_rules],
        personal=personal,
        remembered=remembered,
        review_rules=rules_from_entries(key, review),
        review_digest=entries_digest(review) if review else "",
    )
