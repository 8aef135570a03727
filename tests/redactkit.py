"""The key and the person the redaction tests redact with (tests/test_redaction_*.py)."""

from __future__ import annotations

from recorder.redaction import PersonalInfo

KEY = bytes(range(32))
PERSON = PersonalInfo(
    usernames=("jdoe42",),
    names=("Jane Doe",),
    hostnames=("jdoe-laptop",),
    home_dirs=("/home/jdoe42",),
    emails=("jane.doe@example.org",),
    addresses=("10.11.12.13",),
)
