"""The daemon's socket protocol, shared by the server (daemon.py) and client (client.py).

One request per connection: the client sends one JSON line ``{"op": ..., ...}``;
the daemon answers with one JSON line ``{"ok": true, ...}`` or
``{"ok": false, "error": "...", "kind": "<RecorderError subclass>"}``. The operations:

    ping                      the daemon's pid
    status                    the session, events by source, backlog, collectors
    flush                     ingest everything spooled so far
    stop  [session=…]         stop the collectors, drain the spool, exit; with a session,
                              also that session's event count once drained
    read  name=… args={…}     one named read of the event log (``recorder.eventlog``);
                              the header is followed by an Arrow IPC stream
    apply changes=[{name, args}, …]
                              the review's changes, each a named write operation of
                              ``recorder.review.edits.WRITE_OPS`` with its fields, in one
                              transaction; answers their results

Anything else is refused. No request carries SQL.
"""

from __future__ import annotations

import json
from typing import Any

MAX_REQUEST = 1 << 20


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, default=str, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object")
    return message
