"""Arrow tables in the exported schemas (``schemas/export/*.json``).

``events_table`` shapes a page of (redacted) event-log rows; ``steps_table`` and
``episodes_table`` turn built :class:`~exporters.steps.Step` and
:class:`~exporters.episodes.Episode` objects into columns. Every table gets the
``researcher`` and ``date`` columns that are also its hive partition keys, and
exactly the columns of its schema, in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from operator import attrgetter

from exporters.textcut import clean_tail
from schemas.arrow import export_schema

_DAY_US = 86_400_000_000


def events_table(page, researcher: str, output_cap: int):
    """The events table for a page of redacted log rows (columns of ``source.EVENT_COLUMNS``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = export_schema("events")
    n = page.num_rows
    ts = page.column("ts_start").cast(pa.timestamp("us"))
    output = page.column("output")
    too_long = pc.fill_null(pc.greater(pc.utf8_length(output), output_cap), False)
    if pc.any(too_long).as_py():
        values = output.to_pylist()
        for i in pc.indices_nonzero(too_long).to_pylist():
            values[i] = clean_tail(values[i], output_cap)
        output = pa.array(values, pa.string())
    truncated = pc.or_kleene(page.column("output_truncated"), pc.if_else(too_long, True, None))
    columns = {
        "researcher": pa.array([researcher] * n, pa.string()),
        "date": pc.strftime(ts, format="%Y-%m-%d"),
        "output": output,
        "output_truncated": truncated,
    }
    arrays = []
    for field in schema:
        column = columns[field.name] if field.name in columns else page.column(field.name)
        arrays.append(column.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def utc_date(ts_us: int) -> str:
    """``YYYY-MM-DD`` of a UTC timestamp in microseconds."""
    return _day(ts_us // _DAY_US)


@lru_cache(maxsize=4096)
def _day(day: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


def steps_table(steps: Sequence, researcher: str, distinct: dict | None = None):
    """The steps table of built steps. ``distinct``, if given, receives the distinct
    strings of list columns built from shared strings (``observation.terminal[]``), so
    that the leak scan need not find them again in the flattened column."""
    import pyarrow as pa

    schema = export_schema("steps")
    t = {f.name: f.type for f in schema}
    obs_t = t["observation"]
    prev_t = obs_t.field("previous_outcome").type

    def col(name: str) -> list:
        return list(map(attrgetter(name), steps))

    prev = col("prev")
    prev_cols = [
        pa.array([p[k] if p is not None else None for p in prev], prev_t.field(k).type)
        for k in range(prev_t.num_fields)
    ]
    prev_missing = pa.array([p is None for p in prev])
    observation = _struct(pa, obs_t, {
        "cwd": col("cwd"),
        "repository": col("repo"),
        "git_head": col("head"),
        "git_branch": col("branch"),
        "terminal": _shared_string_lists(pa, col("terminal"), distinct, "observation.terminal[]"),
        "files_changed": col("files_before"),
        "previous_outcome": pa.StructArray.from_arrays(
            prev_cols, fields=list(prev_t), mask=prev_missing
        ),
        "ms_since_previous_step": col("gap_ms"),
        "task": col("task"),
    })  # fmt: skip
    action = _struct(pa, t["action"], {
        "type": col("action_type"),
        "command": col("command"),
        "path": col("path"),
        "old_path": col("old_path"),
        "diff": col("diff"),
    })  # fmt: skip
    outcome = _struct(pa, t["outcome"], {
        "exit_code": col("exit_code"),
        "output_tail": col("output_tail"),
        "duration_ms": col("duration_ms"),
        "lines_added": col("lines_added"),
        "lines_removed": col("lines_removed"),
        "files_changed": col("files_after"),
    })  # fmt: skip
    ts = col("ts")
    commands = [s.kind == "command" for s in steps]
    columns = {
        "researcher": [researcher] * len(steps),
        "date": list(map(utc_date, ts)),
        "episode_id": col("episode_id"),
        "session_id": col("session_id"),
        "step_index": col("index"),
        "ts": ts,
        "utc_offset_min": col("offset"),
        "is_first": col("is_first"),
        "is_last": col("is_last"),
        "is_terminal": col("is_terminal"),
        "observation": observation,
        "action": action,
        "outcome": outcome,
        "source_event_ids": col("source_ids"),
        "failed": col("failed"),
        "is_test_or_build": [
            tb if cmd else None for tb, cmd in zip(col("test_or_build"), commands, strict=True)
        ],
        "is_retry_of": col("is_retry_of"),
        "recovered_by_step": col("recovered_by_step"),
        "time_to_recovery_ms": col("time_to_recovery_ms"),
        "in_edit_run_fix_loop": col("in_loop"),
        "pause_class": col("pause_class"),
    }
    return _table(pa, schema, columns)


def episodes_table(rows: Sequence[dict], researcher: str):
    """The episodes table from :func:`episode_row` dicts."""
    import pyarrow as pa

    schema = export_schema("episodes")
    columns = {name: [r[name] for r in rows] for name in schema.names if name != "researcher"}
    columns["researcher"] = [researcher] * len(rows)
    return _table(pa, schema, columns)


def episode_row(e) -> dict:
    """One episode's row (without ``researcher``), computed as soon as it closes."""
    first = e.steps[0]
    end = max(s.end for s in e.steps)
    commands = [s for s in e.steps if s.kind == "command"]
    labels = e.labels
    return {
        "episode_id": e.episode_id,
        "session_id": e.session_id,
        "episode_index": e.index,
        "task": e.task,
        "task_source": "mark" if e.marked and e.task else None,
        "repository": e.repo,
        "start_commit": e.start_commit,
        "end_commit": e.end_commit or e.start_commit,
        "ts_start": first.ts,
        "ts_end": end,
        "utc_offset_min": first.offset,
        "duration_ms": (end - first.ts) // 1000,
        "num_steps": len(e.steps),
        "num_commands": len(commands),
        "num_edits": len(e.steps) - len(commands),
        "end_reason": e.end_reason,
        "exit_status": commands[-1].exit_code if commands else None,
        "success": labels.success,
        "num_failures": labels.failures,
        "num_recoveries": labels.recoveries,
        "num_retries": labels.retries,
        "num_loop_steps": labels.loop_steps,
        "num_test_runs": labels.test_runs,
    }


def _shared_string_lists(pa, lists: list, distinct: dict | None = None, path: str = ""):
    """A list<string> array from sequences that share their string objects (the terminal
    transcripts of consecutive steps): each distinct string is converted once. The
    strings, in order of first use, go to ``distinct[path]`` if ``distinct`` is given."""
    index: dict[int, int] = {}
    uniques: list[str] = []
    flat: list[int] = []
    offsets = [0]
    previous: object = None
    for items in lists:
        if items is previous:  # the same screen as the step before (no command ended)
            flat.extend(flat[offsets[-2] : offsets[-1]])
        else:
            for text in items:
                position = index.get(id(text))
                if position is None:
                    position = index[id(text)] = len(uniques)
                    uniques.append(text)
                flat.append(position)
            previous = items
        offsets.append(len(flat))
    strings = pa.array(uniques, pa.string())
    if distinct is not None:
        distinct[path] = strings
    values = strings.take(pa.array(flat, pa.int32()))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _struct(pa, struct_type, children: dict):
    arrays = []
    for f in struct_type:
        value = children[f.name]
        arrays.append(value if isinstance(value, pa.Array) else pa.array(value, f.type))
    return pa.StructArray.from_arrays(arrays, fields=list(struct_type))


def _table(pa, schema, columns: dict):
    arrays = []
    for f in schema:
        value = columns[f.name]
        if f.name in ("ts", "ts_start", "ts_end") and not isinstance(value, pa.Array):
            value = pa.array(value, pa.int64()).cast(f.type)
        elif not isinstance(value, pa.Array):
            value = pa.array(value, f.type)
        arrays.append(value)
    return pa.Table.from_arrays(arrays, schema=schema)
