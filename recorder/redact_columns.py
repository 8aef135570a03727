"""Apply the redaction engine to the text columns of an Arrow table.

Used at ingest (spool records, before anything is stored) and at export (event
rows, with the rules current at export time). Each row gets a ``redactions``
JSON object, ``{"column": [{"rule", "category", "start", "end"}]}``: which rule
fired where, never the secret itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence


def redact_table(redactor, table, columns: Sequence[str], findings_column: str = "redactions"):
    """Return ``table`` with ``columns`` redacted and findings merged into ``findings_column``."""
    import pyarrow as pa

    per_row: list[dict[str, list[dict]] | None] = [None] * len(table)
    for name in columns:
        if name not in table.column_names:
            continue
        values = table.column(name).to_pylist()
        if not any(values):
            continue
        results = redactor.redact_many(values)
        cleaned = []
        for i, result in enumerate(results):
            if result is None:
                cleaned.append(values[i])
                continue
            cleaned.append(result.text)
            if result.findings:
                row = per_row[i] if per_row[i] is not None else {}
                row[name] = [_finding(f) for f in result.findings]
                per_row[i] = row
        index = table.column_names.index(name)
        table = table.set_column(index, name, pa.array(cleaned, pa.string()))
    existing = (
        table.column(findings_column).to_pylist()
        if findings_column in table.column_names
        else [None] * len(table)
    )
    merged = [_merge(old, new) for old, new in zip(existing, per_row, strict=True)]
    column = pa.array(merged, pa.string())
    if findings_column in table.column_names:
        return table.set_column(table.column_names.index(findings_column), findings_column, column)
    return table.append_column(findings_column, column)


def _finding(f) -> dict:
    return {"rule": f.rule, "category": f.category, "start": f.start, "end": f.end}


def _merge(old: str | None, new: dict | None) -> str | None:
    if not new:
        return old
    if old:
        base = json.loads(old)
        for key, items in new.items():
            base[key] = items
        new = base
    return json.dumps(new, separators=(",", ":"))
