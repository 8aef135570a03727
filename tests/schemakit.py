"""Validate captured events and spool records against the JSON Schemas in schemas/."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

import schemas
from recorder.cli.common import to_json


def _registry() -> Registry:
    resources = [
        ("spool_record.json", schemas.load("spool_record.json")),
        ("events/_common.json", schemas.load("events/_common.json")),
    ]
    resources += [
        (f"events/{k}.json", schemas.load(f"events/{k}.json")) for k in schemas.event_kinds()
    ]
    return Registry().with_resources(
        (name, Resource.from_contents(body)) for name, body in resources
    )


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """The row as `recorder show --json` prints it."""
    return json.loads(to_json(row))


def validate_event(row: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless the row matches its kind's schema."""
    kind = f"{row['source']}.{row['event_type']}"
    assert kind in schemas.event_kinds(), f"no schema for event kind {kind}"
    schema = schemas.load(f"events/{kind}.json")
    Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker()).validate(
        _jsonable(row)
    )


def validate_spool_record(record: dict[str, Any]) -> None:
    Draft202012Validator(schemas.load("spool_record.json")).validate(record)
