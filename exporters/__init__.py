"""Exporters: recorded sessions -> a Parquet (or JSON Lines) trajectory dataset.

    source.py     which sessions, and their events in bounded pages (via a log reader)
    redaction.py  redaction with the rules current at export time, and the final leak scan
    textcut.py    cutting redacted text to a tail without creating new matches
    steps.py      events -> steps (observation, action, outcome), causal and streaming
    stepbuffer.py the steps not yet written: records, and the texts they copy kept in Arrow
    episodes.py   steps -> episodes (task marks, idle gaps, repository changes)
    labels.py     failed, retries, recoveries, edit-run-fix loops, pauses, success
    tables.py     Arrow tables in the schemas of ``schemas/export/``
    sink.py       hive-partitioned files; parquet.py and jsonl.py are the formats
    session.py    one session's export, the unit of work
    workers.py    worker processes that export sessions in parallel
    card.py       README.md (dataset card) and meta/info.json
    pipeline.py   one export from start to end

Use :func:`exporters.pipeline.export` (the ``recorder export`` command calls it).
docs/dataset.md describes the dataset and docs/labels.md every label.
"""

from exporters.pipeline import ExportOptions, ExportResult, export
from exporters.source import ExportError

__all__ = ["ExportError", "ExportOptions", "ExportResult", "export"]
