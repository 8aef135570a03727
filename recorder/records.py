"""Spool records: what collectors write and the daemon reads.

A record is one JSON object per line. ``type`` says what it is; the other keys
are the union below, every one optional. The shell hooks write these keys by
hand (see ``collectors/hooks/``); Python producers build them with
:func:`record`. ``schemas/spool_record.json`` is the JSON Schema of a record.

Timestamps ``t`` and ``t_end`` are Unix seconds (a number, or a string as the
shell writes ``$EPOCHREALTIME``, whose decimal separator follows the locale);
``tz`` is the producer's UTC offset in minutes.
"""

from __future__ import annotations

import time
from typing import Any

# Record types and what the daemon does with each.
SESSION_START = "session.start"  # opens a session (sessions table)
SESSION_END = "session.end"  # closes it
EVENT = "event"  # one event row, columns taken from the keys below
CMD_START = "cmd.start"  # a shell command began: an event row with no end yet
CMD_END = "cmd.end"  # the same command ended: fills ts_end, exit_code, pipestatus
CMD_OUTPUT = "cmd.output"  # what a command printed (from the tmux collector)
BLOB = "blob"  # a file snapshot for the content-addressed blob table (already redacted)

RECORD_TYPES = (SESSION_START, SESSION_END, EVENT, CMD_START, CMD_END, CMD_OUTPUT, BLOB)

# Record key -> DuckDB type used to parse it (json_transform: a mistyped value becomes NULL).
RECORD_FIELDS: dict[str, str] = {
    "v": "INTEGER",
    "type": "VARCHAR",
    "session": "VARCHAR",
    "t": "VARCHAR",
    "t_end": "VARCHAR",
    "tz": "INTEGER",
    "source": "VARCHAR",
    "event": "VARCHAR",
    "cwd": "VARCHAR",
    "name": "VARCHAR",
    "text": "VARCHAR",
    "shell_id": "VARCHAR",
    "n": "BIGINT",
    "cmd": "VARCHAR",
    "exit": "INTEGER",
    "pipestatus": "VARCHAR",
    "shell": "VARCHAR",
    "pid": "BIGINT",
    "host": "VARCHAR",
    "user": "VARCHAR",
    "pane": "VARCHAR",
    "output": "VARCHAR",
    "truncated": "BOOLEAN",
    "output_bytes": "BIGINT",
    "path": "VARCHAR",
    "repo": "VARCHAR",
    "old_path": "VARCHAR",
    "diff": "VARCHAR",
    "added": "INTEGER",
    "removed": "INTEGER",
    "hash_before": "VARCHAR",
    "hash_after": "VARCHAR",
    "branch": "VARCHAR",
    "head": "VARCHAR",
    "size": "BIGINT",
    "data": "VARCHAR",
    "compression": "VARCHAR",
    "extra": "JSON",
    # Set by ingest only: the findings of a line it keeps in pending_lines already redacted.
    "redactions": "JSON",
}

# Free-text keys that the redaction engine scrubs before anything is stored; JSON_FIELDS
# among them hold a JSON document, whose every string is redacted (it stays JSON).
JSON_FIELDS = ("extra",)
TEXT_FIELDS = (
    "cmd", "output", "diff", "text", "name", "cwd", "path", "old_path", "repo", "branch",
    *JSON_FIELDS,
)  # fmt: skip
# Blob records carry a hash of ``hash_after``, base64 ``data`` (compressed per ``compression``:
# "none" or "zlib") and the uncompressed ``size``. Their producer redacts the content first.


def local_offset_minutes(ts: float | None = None) -> int:
    tm = time.localtime(ts)
    return int(tm.tm_gmtoff // 60)


def typed_text(value: str) -> str:
    """Text from a command line (a session name, a task, a note) as valid Unicode: Python
    reads arguments that are not UTF-8 as lone surrogates, which no file can hold; their
    bytes are kept visible as ``\\xNN``, as the shell hooks keep such commands."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return value


def record(type_: str, session: str | None = None, **fields: Any) -> dict[str, Any]:
    """A spool record stamped with the current time and UTC offset unless given."""
    now = time.time()
    rec: dict[str, Any] = {"v": 1, "type": type_}
    if session is not None:
        rec["session"] = session
    rec.setdefault("t", fields.pop("t", now))
    rec["tz"] = fields.pop("tz", local_offset_minutes(rec["t"]))
    for key, value in fields.items():
        if key not in RECORD_FIELDS:
            raise KeyError(f"unknown spool record key {key!r}")
        if value is not None:
            rec[key] = value
    return rec
