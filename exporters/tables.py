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
        output = pc.if_else(too_long, pc.utf8_slice_codeunits(output, -output_cap), output)
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


@lru_cache(maxsize=4096)
def utc_date(ts_us: int) -> str:
    day = ts_us // _DAY_US
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


def steps_table(steps: Sequence, researcher: str):
    import pyarrow as pa

    schema = export_schema("steps")
    t = {f.name: f.type for f in schema}
    obs_t = t["observation"]
    prev_t = obs_t.field("previous_outcome").type
    ts = [s.ts for s in steps]
    prev = [s.prev for s in steps]
    prev_valid = pa.array([p is not None for p in prev])
    prev_cols = [
        pa.array([p[k] if p is not None else None for p in prev], prev_t.field(k).type)
        for k in range(prev_t.num_fields)
    ]
    observation = _struct(pa, obs_t, {
        "cwd": [s.cwd for s in steps],
        "repository": [s.repo for s in steps],
        "git_head": [s.head for s in steps],
        "git_branch": [s.branch for s in steps],
        "terminal": [s.terminal for s in steps],
        "files_changed": [s.files_before for s in steps],
        "previous_outcome": pa.StructArray.from_arrays(
            prev_cols, fields=list(prev_t), mask=pa.compute.invert(prev_valid)
        ),
        "ms_since_previous_step": [s.gap_ms for s in steps],
        "task": [s.task for s in steps],
    })  # fmt: skip
    action = _struct(pa, t["action"], {
        "type": [s.action_type for s in steps],
        "command": [s.command for s in steps],
        "path": [s.path for s in steps],
        "old_path": [s.old_path for s in steps],
        "diff": [s.diff for s in steps],
    })  # fmt: skip
    outcome = _struct(pa, t["outcome"], {
        "exit_code": [s.exit_code for s in steps],
        "output_tail": [s.output_tail for s in steps],
        "duration_ms": [s.duration_ms for s in steps],
        "lines_added": [s.lines_added for s in steps],
        "lines_removed": [s.lines_removed for s in steps],
        "files_changed": [s.files_after for s in steps],
    })  # fmt: skip
    columns = {
        "researcher": [researcher] * len(steps),
        "date": [utc_date(x) for x in ts],
        "episode_id": [s.episode_id for s in steps],
        "session_id": [s.session_id for s in steps],
        "step_index": [s.index for s in steps],
        "ts": ts,
        "utc_offset_min": [s.offset for s in steps],
        "is_first": [s.is_first for s in steps],
        "is_last": [s.is_last for s in steps],
        "is_terminal": [s.is_terminal for s in steps],
        "observation": observation,
        "action": action,
        "outcome": outcome,
        "source_event_ids": [s.source_ids for s in steps],
        "failed": [s.failed for s in steps],
        "is_test_or_build": [s.test_or_build if s.kind == "command" else None for s in steps],
        "is_retry_of": [s.is_retry_of for s in steps],
        "recovered_by_step": [s.recovered_by_step for s in steps],
        "time_to_recovery_ms": [s.time_to_recovery_ms for s in steps],
        "in_edit_run_fix_loop": [s.in_loop for s in steps],
        "pause_class": [s.pause_class for s in steps],
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
