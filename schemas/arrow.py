"""Arrow schemas of the exported tables, built from ``schemas/export/<table>.json``.

The JSON files are the source of truth: each lists its fields with a type
(``string``, ``bool``, ``int32``, ``int64``, ``float64``, ``timestamp[us, UTC]``,
``list`` with ``items``, ``struct`` with ``fields``) and a description. Every
field is nullable. Map, union and duration types are never used: Hugging Face
``datasets`` and DuckDB handle them badly, so durations are int64 ``*_ms``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from schemas import load

EXPORT_TABLES = ("events", "steps", "episodes")  # the tables of a parquet or jsonl export
# The tables each kind of dataset writes: the trajectory tables, or conversations for chat
# training (``--format chat``), or ATIF trajectories (``--format atif``).
DATASET_TABLES = {"tables": EXPORT_TABLES, "chat": ("conversations",), "atif": ("trajectories",)}
ALL_TABLES = tuple(name for names in DATASET_TABLES.values() for name in names)

_SCALARS = {
    "string": "string",
    "bool": "bool_",
    "int32": "int32",
    "int64": "int64",
    "float64": "float64",
}


def export_spec(table: str) -> dict[str, Any]:
    """The JSON description of an exported table."""
    if table not in ALL_TABLES:
        raise KeyError(f"no exported table {table!r}")
    return load(f"export/{table}.json")


@cache
def export_schema(table: str):
    """The ``pyarrow.Schema`` of an exported table, with each field's description as metadata."""
    import pyarrow as pa

    fields = [_field(pa, spec) for spec in export_spec(table)["fields"]]
    return pa.schema(fields, metadata={"table": table, "version": export_spec(table)["version"]})


def column_names(table: str) -> list[str]:
    return [f["name"] for f in export_spec(table)["fields"]]


def _field(pa, spec: dict[str, Any]):
    meta = {"description": spec["description"]} if spec.get("description") else None
    return pa.field(spec["name"], _type(pa, spec), nullable=True, metadata=meta)


def _type(pa, spec: dict[str, Any]):
    kind = spec["type"]
    if kind in _SCALARS:
        return getattr(pa, _SCALARS[kind])()
    if kind == "timestamp[us, UTC]":
        return pa.timestamp("us", tz="UTC")
    if kind == "list":
        return pa.list_(_type(pa, spec["items"]))
    if kind == "struct":
        return pa.struct([_field(pa, child) for child in spec["fields"]])
    raise ValueError(f"unsupported type {kind!r} in an export schema")
