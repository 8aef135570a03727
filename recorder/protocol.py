"""The daemon's socket protocol, shared by the server (daemon.py) and client (client.py).

One request per connection: the client sends one JSON line ``{"op": ..., ...}``;
the daemon answers with one JSON line ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``, and for ``query`` the header is followed by
an Arrow IPC stream of the result.
"""

from __future__ import annotations

import json
from typing import Any

OPS = ("ping", "status", "query", "flush", "stop")
MAX_REQUEST = 1 << 20


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, default=str, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object")
    return message


_READ_ONLY_STARTS = ("select", "with", "from", "describe", "summarize", "show")


def is_read_only_sql(sql: str) -> bool:
    """Queries served over the socket must be a single read-only statement."""
    stripped = sql.strip().rstrip(";").strip()
    return ";" not in stripped and stripped.lower().startswith(_READ_ONLY_STARTS)
