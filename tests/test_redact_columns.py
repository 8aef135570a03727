"""Redacting Arrow text columns: every row, repeated values, findings merged per row."""

from __future__ import annotations

import json

import pyarrow as pa

from recorder.redact_columns import redact_table
from recorder.redaction import Redactor

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def test_repeated_values_nulls_and_existing_findings():
    redactor = Redactor(b"k" * 32, personal=False)
    table = pa.table(
        {
            "cmd": [f"export GITHUB_TOKEN={TOKEN}", "ls", None, f"export GITHUB_TOKEN={TOKEN}"],
            "cwd": ["/tmp", "/tmp", "/tmp", "/tmp"],
            "redactions": [None, None, None, json.dumps({"output": [{"rule": "x"}]})],
        }
    )
    out = redact_table(redactor, table, ["cmd", "cwd", "missing"])
    cmds = out.column("cmd").to_pylist()
    assert TOKEN not in "".join(c for c in cmds if c)
    assert cmds[0] == cmds[3] and cmds[0].startswith("export GITHUB_TOKEN=<SECRET:")
    assert cmds[1:3] == ["ls", None]
    assert out.column("cwd").to_pylist() == ["/tmp"] * 4
    found = [json.loads(v) if v else None for v in out.column("redactions").to_pylist()]
    assert found[1] is None and found[2] is None
    assert [f["start"] for f in found[0]["cmd"]] == [len("export GITHUB_TOKEN=")]
    assert set(found[3]) == {"output", "cmd"}  # the old findings are kept


def test_a_json_column_has_every_string_redacted_and_stays_json():
    redactor = Redactor(b"k" * 32, personal=False)
    planted = {"token": TOKEN, "list": [f"x {TOKEN}", 1], f"key {TOKEN}": None}
    table = pa.table(
        {
            "extra": [json.dumps(planted), '{"n": 1}', None, f"not json {TOKEN}"],
            "redactions": [None, None, None, None],
        }
    )
    out = redact_table(redactor, table, ["extra"], json_columns=["extra"])
    values = out.column("extra").to_pylist()
    assert not any(TOKEN in v for v in values if v)
    document = json.loads(values[0])
    assert document["token"].startswith("<SECRET:github-token:") and document["list"][1] == 1
    assert values[1:3] == ['{"n": 1}', None]  # untouched, byte for byte
    assert values[3].startswith("not json <SECRET:github-token:")  # redacted as text
    found = [json.loads(v) if v else None for v in out.column("redactions").to_pylist()]
    assert len(found[0]["extra"]) == 3 and found[1] is None
