"""Apply the redaction engine to the text columns of an Arrow table.

Used at ingest (spool records, before anything is stored) and at export (event
rows, with the rules current at export time). Each row gets a ``redactions``
JSON object, ``{"column": [{"rule", "category", "start", "end"}]}``: which rule
fired where, never the secret itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence


def redact_table(
    redactor,
    table,
    columns: Sequence[str],
    findings_column: str = "redactions",
    json_columns: Sequence[str] = (),
):
    """Return ``table`` with ``columns`` redacted and findings merged into ``findings_column``.

    Columns also named in ``json_columns`` hold JSON documents: every string in them, keys
    too, is redacted and each stays JSON (``Redactor.redact_json``).

    Each distinct value of a column is redacted once (the engine's result depends on the
    text alone, and a batch repeats its directories, paths and outputs many times); a
    column that no rule changed keeps its Arrow buffers.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    per_row: dict[int, dict[str, list[dict]]] = {}
    for name in columns:
        if name not in table.column_names:
            continue
        column = table.column(name)
        if column.null_count == len(column):
            continue
        encoded = column.combine_chunks().cast(pa.string()).dictionary_encode()
        distinct = encoded.dictionary.to_pylist()
        if not any(distinct):  # nothing but empty strings (redact_table skips it too)
            continue
        redact = redactor.redact_json_dirty if name in json_columns else redactor.redact_dirty
        changed = {
            k: result
            for k, result in redact(distinct).items()
            if result.findings or result.text != distinct[k]
        }
        if not changed:
            index = table.column_names.index(name)
            table = table.set_column(index, name, column.cast(pa.string()))
            continue
        texts = [r.text if (r := changed.get(k)) is not None else v for k, v in enumerate(distinct)]
        indices = encoded.indices
        redacted = pa.array(texts, pa.string()).take(indices)
        with_findings = [k for k, r in changed.items() if r.findings]
        if with_findings:
            rows = pc.indices_nonzero(pc.is_in(indices, pa.array(with_findings, indices.type)))
            for i in rows.to_pylist():
                found = changed[indices[i].as_py()].findings
                per_row.setdefault(i, {})[name] = [_finding(f) for f in found]
        index = table.column_names.index(name)
        table = table.set_column(index, name, redacted)
    if findings_column in table.column_names:
        existing = table.column(findings_column)
        if not per_row:
            index = table.column_names.index(findings_column)
            return table.set_column(index, findings_column, existing.cast(pa.string()))
        merged = existing.to_pylist()
    else:
        merged = [None] * len(table)
    for i, new in sorted(per_row.items()):
        merged[i] = _merge_findings(merged[i], new)
    column = pa.array(merged, pa.string())
    if findings_column in table.column_names:
        return table.set_column(table.column_names.index(findings_column), findings_column, column)
    return table.append_column(findings_column, column)


def _finding(f) -> dict:
    return {"rule": f.rule, "category": f.category, "start": f.start, "end": f.end}


def _merge_findings(old: str | None, new: dict) -> str | None:
    """The row's new findings merged into its old ``redactions`` JSON."""
    if old:
        base = json.loads(old)
        for key, items in new.items():
            base[key] = items
        new = base
    return json.dumps(new, separators=(",", ":"))
