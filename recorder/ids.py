"""Identifiers: UUIDv7 for events and sessions, short pseudonymous researcher ids."""

from __future__ import annotations

import os
import secrets
import time
import uuid


def uuid7(ms: int | None = None) -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits."""
    if ms is None:
        ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def researcher_id() -> str:
    """A pseudonymous researcher id: random, carries nothing about the person."""
    return "r-" + secrets.token_hex(6)
