"""This installation's redaction engine: its HMAC key and the user's rules from config.toml.

The daemon's ingest, ``recorder stop``'s drain, the exporters and ``recorder scrub``
all build their engine here, so each sees the same key and the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from recorder.redaction.engine import Redactor
from recorder.redaction.key import load_or_create_key
from recorder.redaction.personal import PersonalInfo

if TYPE_CHECKING:
    from recorder.config import Config
    from recorder.paths import Layout


def build_redactor(
    lay: Layout,
    config: Config,
    extra_literals: Sequence[str] = (),
    extra_rules: Sequence[dict] = (),
    personal: bool | PersonalInfo = True,
) -> Redactor:
    """The engine with this installation's key, config.toml's ``[redaction]`` literals and
    rules, and any given on top (``recorder scrub --literal/--rule``). ``personal``: the
    personal data to hide besides the built-in rules' (True: read from this machine)."""
    rules = config.settings.redaction
    return Redactor(
        load_or_create_key(lay.home),
        literals=[*rules.literals, *extra_literals],
        user_rules=[*rules.rules, *extra_rules],
        personal=personal,
    )
