"""Exporters: recorded sessions -> a Parquet (or JSON Lines) trajectory dataset.

    source.py      which sessions, and their events in bounded pages (via a log reader)
    redaction.py   redaction with the rules current at export time, and the final leak scan
    textcut.py     cutting redacted text to a tail without creating new matches
    steps.py       events -> steps (observation, action, outcome), causal and streaming
    stepbuffer.py  the steps not yet written: records, and the texts they copy kept in Arrow
    episodes.py    steps -> episodes (task marks, idle gaps, repository changes)
    commands.py    command keys: what a command runs; the recorder's own, editors, tests
    labels.py      failed, interrupted, retries, recoveries, loops, pauses, success
    tables.py      Arrow tables in the schemas of ``schemas/export/``
    partitioned.py files per researcher and date; parquet.py and jsonl.py are the formats
    sink.py        the sink of a format
    jobs.py        the records that cross between the parts (options, jobs, outputs)
    session.py     one session's export, the unit of work
    workers.py     worker processes that export sessions in parallel
    card.py        README.md (dataset card) and meta/info.json
    pipeline.py    one export from start to end

Imports run one way: pipeline -> workers -> session -> (steps, episodes, tables,
sink, ...) -> jobs. Importing this package loads none of them, so a worker loads
only what a session's export needs. Use :func:`exporters.pipeline.export` with
:class:`exporters.jobs.ExportOptions` (the ``recorder export`` command does); the
names below stay reachable here, loaded on first use.
docs/dataset.md describes the dataset and docs/labels.md every label.
"""

from __future__ import annotations

_LAZY = {
    "ExportError": "recorder.errors",
    "ExportOptions": "exporters.jobs",
    "ExportResult": "exporters.jobs",
    "export": "exporters.pipeline",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'exporters' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)
