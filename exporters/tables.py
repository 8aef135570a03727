"""Arrow tables in the exported schemas (``schemas/export/*.json``).

``events_table`` shapes a page of (redacted) event-log rows; ``steps_table`` turns
the built steps of a :class:`~exporters.stepbuffer.StepBuffer` into columns, and
``episodes_table`` the rows of closed episodes (:func:`episode_row`). Every table
gets the ``researcher`` and ``date`` columns that also name its directories,
and exactly the columns of its schema, in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate, chain

from exporters.labels import episode_exit_status
from exporters.stepbuffer import StepBuffer
from exporters.textcut import clean_tail
from schemas.arrow import export_schema

_DAY_US = 86_400_000_000


def events_table(page, researcher: str, output_cap: int):
    """The events table for a page of redacted log rows (columns of ``eventlog.EXPORT_COLUMNS``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = export_schema("events")
    n = page.num_rows
    ts = page.column("ts_start").cast(pa.timestamp("us")).combine_chunks()
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
        "date": _utc_dates(pa, ts),
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


def steps_table(steps: StepBuffer, stop: int, researcher: str, distinct: dict | None = None):
    """The steps table of the steps held in ``steps`` before position ``stop`` (their
    episodes closed). ``distinct``, if given, receives the distinct strings of the list
    column built from shared strings (``observation.terminal[]``), so that the leak scan
    need not find them again in the flattened column."""
    import pyarrow as pa

    schema = export_schema("steps")
    c = steps.columns(stop)
    n = stop - steps.base
    texts = steps.rows.take(c["ref"])
    ts = pa.array(c["ts"], pa.int64()).cast(pa.timestamp("us"))
    columns = {
        "researcher": pa.array([researcher] * n, pa.string()),
        "date": _utc_dates(pa, ts),
        "episode_id": c["episode_id"],
        "session_id": pa.array([steps.session_id] * n, pa.string()),
        "step_index": c["index"],
        "ts": ts,
        "utc_offset_min": c["offset"],
        "is_first": c["is_first"],
        "is_last": c["is_last"],
        "is_terminal": c["is_terminal"],
        "observation": _observation(pa, schema, c, steps, texts, distinct),
        **_action_and_outcome(pa, schema, c, texts, _diffs(pa, schema, steps, c)),
        "source_event_ids": _source_event_ids(pa, steps, c, texts["event_id"]),
        "failed": c["failed"],
        "interrupted": c["interrupted"],
        "is_test_or_build": c["test_or_build"],
        "is_retry_of": c["is_retry_of"],
        "recovered_by_step": c["recovered_by_step"],
        "time_to_recovery_ms": c["time_to_recovery_ms"],
        "in_edit_run_fix_loop": c["in_loop"],
        "pause_class": c["pause_class"],
        "step_kind": c["kind"],
        "metrics": _metrics(pa, schema.field("metrics").type, c["metrics"]),
        "alarms": [a or [] for a in c["alarms"]],
    }
    return _table(pa, schema, columns)


def _metrics(pa, metrics_t, per_step: list):
    """steps.metrics: each step's metrics (exporters.metrics.Metric), [] without any."""
    sizes = [len(m) if m else 0 for m in per_step]
    flat = [m for ms in per_step if ms for m in ms]
    fields = list(metrics_t.value_type)
    children = [pa.array([getattr(m, f.name) for m in flat], f.type) for f in fields]
    entries = pa.StructArray.from_arrays(children, fields=fields)
    offsets = pa.array([0, *accumulate(sizes)], pa.int32())
    return pa.ListArray.from_arrays(offsets, entries, type=metrics_t)


def _observation(pa, schema, c: dict, steps: StepBuffer, texts: dict, distinct: dict | None):
    import pyarrow.compute as pc

    obs_t = schema.field("observation").type
    prev_t = obs_t.field("previous_outcome").type
    prev = c["prev"]
    unknown = (None,) * prev_t.num_fields  # the first step of an episode has no previous
    fields = zip(*[p or unknown for p in prev], strict=True)
    prev_cols = [pa.array(values, f.type) for values, f in zip(fields, prev_t, strict=True)]
    prev_missing = pa.array([p is None for p in prev])
    is_command = pa.array([a == "command" for a in c["action"]], pa.bool_())
    return _struct(pa, obs_t, {
        "cwd": c["cwd"],
        "shell_id": pc.if_else(is_command, texts["shell_id"], pa.scalar(None, pa.string())),
        "repository": c["repo"],
        "git_head": c["head"],
        "git_branch": c["branch"],
        "terminal": _screens(pa, steps, c["screen_lo"], c["screen_hi"], distinct),
        "files_changed": _string_lists(pa, c["files_before"]),
        "previous_outcome": pa.StructArray.from_arrays(
            prev_cols, fields=list(prev_t), mask=prev_missing
        ),
        "ms_since_previous_step": c["gap_ms"],
        "task": c["task"],
    })  # fmt: skip


def _action_and_outcome(pa, schema, c: dict, texts: dict, diffs) -> dict:
    """The action and outcome columns; ``texts`` holds the steps' own events' texts,
    ``diffs`` the outcome.diffs column."""
    import pyarrow.compute as pc

    is_command = pa.array([a == "command" for a in c["action"]], pa.bool_())
    is_file = pc.invert(is_command)
    none = pa.scalar(None, pa.string())
    action = _struct(pa, schema.field("action").type, {
        "type": c["action"],
        "command": pc.if_else(is_command, texts["command"], none),
        "path": pc.if_else(is_file, texts["path"], none),
        "old_path": pc.if_else(is_file, texts["old_path"], none),
        "diff": pc.if_else(is_file, texts["diff"], none),
    })  # fmt: skip
    outcome = _struct(pa, schema.field("outcome").type, {
        "exit_code": c["exit_code"],
        "output": pc.if_else(is_command, texts["step_output"], none),
        "duration_ms": c["duration_ms"],
        "lines_added": c["lines_added"],
        "lines_removed": c["lines_removed"],
        "files_changed": _string_lists(pa, c["files_after"]),
        "diffs": diffs,
    })  # fmt: skip
    return {"action": action, "outcome": outcome}


def _diffs(pa, schema, steps: StepBuffer, c: dict):
    """outcome.diffs: the path and diff of each file event a command owns, in time order."""
    diff_t = schema.field("outcome").type.field("diffs").type
    extra_refs = c["extra_refs"]
    sizes = [len(refs) if refs else 0 for refs in extra_refs]
    offsets = pa.array([0, *accumulate(sizes)], pa.int32())
    flat = [ref for refs in extra_refs if refs for ref in refs]
    if flat:
        taken = steps.rows.take(flat, ["path", "diff"])
        children = [taken["path"], taken["diff"]]
    else:
        children = [pa.array([], pa.string()), pa.array([], pa.string())]
    entries = pa.StructArray.from_arrays(children, fields=list(diff_t.value_type))
    return pa.ListArray.from_arrays(offsets, entries, type=diff_t)


def episodes_table(rows: Sequence[dict], researcher: str):
    """The episodes table from :func:`episode_row` dicts."""
    import pyarrow as pa

    schema = export_schema("episodes")
    columns = {name: [r[name] for r in rows] for name in schema.names if name != "researcher"}
    columns["researcher"] = [researcher] * len(rows)
    return _table(pa, schema, columns)


def episode_row(e, steps: StepBuffer) -> dict:
    """One episode's row (without ``researcher``), computed as soon as it closes."""
    records = steps.records[e.start - steps.base : e.stop - steps.base]
    first = records[0]
    end = max(s.end for s in records)
    commands = [s for s in records if s.action == "command"]
    exit_status = episode_exit_status([s.key for s in commands], [s.exit_code for s in commands])
    labels = e.labels
    return {
        "episode_id": e.episode_id,
        "session_id": e.session_id,
        "episode_index": e.index,
        "task": e.task,
        "task_source": "review" if e.reviewed else ("mark" if e.marked and e.task else None),
        "repository": e.repo,
        "start_commit": e.start_commit,
        "end_commit": e.end_commit or e.start_commit,
        "ts_start": first.ts,
        "ts_end": end,
        "utc_offset_min": first.offset,
        "duration_ms": (end - first.ts) // 1000,
        "num_steps": len(records),
        "num_commands": len(commands),
        "num_edits": len(records) - len(commands),
        "end_reason": e.end_reason,
        "exit_status": exit_status,
        "success": labels.success,
        "num_failures": labels.failures,
        "num_recoveries": labels.recoveries,
        "num_retries": labels.retries,
        "num_loop_steps": labels.loop_steps,
        "num_test_runs": labels.test_runs,
        **_kind_columns(e.kinds),
    }


def _kind_columns(kinds) -> dict:
    """An episode's task kinds and outcome signals (exporters.taskkinds.EpisodeKinds)."""
    return {
        "task_kinds": kinds.kinds,
        "task_kind_evidence": [{"kind": k, "steps": kinds.evidence[k]} for k in kinds.kinds],
        "time_to_fix_s": kinds.time_to_fix_s,
        "launches_until_success": kinds.launches_until_success,
        "metric_deltas": [
            {"name": n, "first": a, "last": b, "delta": d} for n, a, b, d in kinds.metric_deltas
        ],
    }


def _screens(pa, steps: StepBuffer, los: Sequence[int], his: Sequence[int], distinct):
    """observation.terminal: each step's range of ``steps.transcripts``, each transcript
    converted once. Those on some screen go to ``distinct`` if it is given."""
    first = los[0]
    start = first - steps.transcripts_base
    strings = pa.array(steps.transcripts[start : start + his[-1] - first], pa.string())
    if distinct is not None:
        distinct["observation.terminal[]"] = _shown(pa, strings, first, los, his)
    starts = [lo - first for lo in los]
    sizes = [hi - lo for lo, hi in zip(los, his, strict=True)]
    return _overlapping_lists(pa, starts, sizes, strings)


def _shown(pa, strings, first: int, los: list, his: list):
    """The transcripts on some screen. Screens only move forward, so the others are those
    between a screen's end and the next screen's start (after a burst of output)."""
    gaps = [(hi, lo) for hi, lo in zip(his, los[1:], strict=False) if lo > hi]
    if not gaps:
        return strings.slice(los[0] - first)
    kept: list[int] = []
    start = los[0]
    for gap_start, gap_end in gaps:
        kept.extend(range(start - first, gap_start - first))
        start = gap_end
    kept.extend(range(start - first, his[-1] - first))
    return strings.take(pa.array(kept, pa.int64()))


def _string_lists(pa, lists: list):
    """A list<string> array from sequences of strings."""
    offsets = [0, *accumulate(map(len, lists))]
    values = pa.array(list(chain.from_iterable(lists)), pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _source_event_ids(pa, steps: StepBuffer, c: dict, own_ids):
    """Each step's own event id (``own_ids``), then those of the file events its command
    owns."""
    refs, extra_refs = c["ref"], c["extra_refs"]
    owners = [k for k, extra in enumerate(extra_refs) if extra]
    if not owners:
        return pa.ListArray.from_arrays(pa.array(range(len(refs) + 1), pa.int32()), own_ids)
    # One id per step, except the owners': theirs follow the others.
    flat = list(refs)
    offsets = list(range(len(refs)))
    sizes = [1] * len(refs)
    for k in owners:
        offsets[k] = len(flat)
        sizes[k] = 1 + len(extra_refs[k])
        flat.append(refs[k])
        flat.extend(extra_refs[k])
    ids = steps.rows.take(flat, ["event_id"])["event_id"]
    return _overlapping_lists(pa, offsets, sizes, ids)


def _overlapping_lists(pa, starts: list[int], sizes: list[int], values):
    """A list array whose k-th list is ``values[starts[k]:][:sizes[k]]``: lists may share
    values (a list view), written out as plain lists. (Flattened rather than cast: pyarrow
    26 casts a list view to a list with too short an offsets buffer.)"""
    import pyarrow.compute as pc

    sizes_array = pa.array(sizes, pa.int32())
    views = pa.ListViewArray.from_arrays(pa.array(starts, pa.int32()), sizes_array, values)
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.cumulative_sum(sizes_array)])
    return pa.ListArray.from_arrays(offsets, views.flatten())


def _utc_dates(pa, ts):
    """``YYYY-MM-DD`` of each (naive UTC) timestamp; each distinct day is formatted once."""
    days = ts.cast(pa.date32()).dictionary_encode()
    return days.dictionary.cast(pa.string()).take(days.indices)


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


def conversations_table(conversations: Sequence, researcher: str, approval_hash: str | None):
    """The conversations table of :class:`exporters.chat.Conversation` objects, built column
    by column (a list of dicts per message would take several times longer)."""
    import pyarrow as pa

    from exporters.chat import TOOLS_JSON

    schema = export_schema("conversations")
    message_t = schema.field("messages").type.value_type
    call_t = message_t.field("tool_calls").type
    function_t = call_t.value_type.field("function").type
    m: dict[str, list] = {name: [] for name in ("role", "content", "tool_call_id", "name",
                                                "mask", "ts")}  # fmt: skip
    call_offsets, call_missing, call_ids, call_names, call_args = [0], [], [], [], []
    message_offsets = [0]
    for conv in conversations:
        for msg in conv.messages:
            m["role"].append(msg.role)
            m["content"].append(msg.content)
            m["tool_call_id"].append(msg.tool_call_id)
            m["name"].append(msg.name)
            m["mask"].append(msg.role == "assistant")
            m["ts"].append(msg.ts)
            if msg.call is None:
                call_missing.append(True)
            else:
                call_missing.append(False)
                call_ids.append(msg.call[0])
                call_names.append(msg.call[1])
                call_args.append(msg.call[2])
            call_offsets.append(len(call_ids))
        message_offsets.append(len(m["role"]))
    n_calls = len(call_ids)
    function = pa.StructArray.from_arrays(
        [pa.array(call_names, pa.string()), pa.array(call_args, pa.string())],
        fields=list(function_t),
    )
    calls = pa.StructArray.from_arrays(
        [pa.array(call_ids, pa.string()), pa.array(["function"] * n_calls, pa.string()), function],
        fields=list(call_t.value_type),
    )
    tool_calls = pa.ListArray.from_arrays(
        pa.array(call_offsets, pa.int32()), calls, type=call_t, mask=pa.array(call_missing)
    )
    children = {
        **{name: pa.array(values, message_t.field(name).type) for name, values in m.items()
           if name != "ts"},
        "ts": pa.array(m["ts"], pa.int64()).cast(message_t.field("ts").type),
        "tool_calls": tool_calls,
    }  # fmt: skip
    messages = pa.StructArray.from_arrays(
        [children[f.name] for f in message_t], fields=list(message_t)
    )
    n = len(conversations)
    firsts = pa.array([c.messages[0].ts for c in conversations], pa.int64())
    columns = {
        "researcher": [researcher] * n,
        "date": _utc_dates(pa, firsts.cast(pa.timestamp("us"))),
        "episode_id": [c.facts.episode_id for c in conversations],
        "session_id": [c.facts.session_id for c in conversations],
        "task": [c.facts.task for c in conversations],
        "success": [c.facts.success for c in conversations],
        "labels": [c.facts.labels for c in conversations],
        "task_kinds": [list(c.facts.task_kinds) for c in conversations],
        "alarms": [list(c.facts.alarms) for c in conversations],
        "metric_deltas": [list(c.facts.metric_deltas) for c in conversations],
        "approval_hash": [approval_hash] * n,
        "num_calls": [c.num_calls for c in conversations],
        "tools": [TOOLS_JSON] * n,
        "messages": pa.ListArray.from_arrays(
            pa.array(message_offsets, pa.int32()), messages, type=schema.field("messages").type
        ),
    }
    return _table(pa, schema, columns)


def trajectories_table(conversations: Sequence, researcher: str, approval_hash: str | None,
                       recorder_version: str):  # fmt: skip
    """The trajectories table: each conversation's ATIF document (exporters.atif), as text."""
    import pyarrow as pa

    from exporters import atif

    firsts = pa.array([c.messages[0].ts for c in conversations], pa.int64())
    columns = {
        "researcher": [researcher] * len(conversations),
        "date": _utc_dates(pa, firsts.cast(pa.timestamp("us"))),
        "episode_id": [c.facts.episode_id for c in conversations],
        "trajectory": [
            atif.dumps(atif.trajectory(c, recorder_version, approval_hash)) for c in conversations
        ],
    }
    return _table(pa, export_schema("trajectories"), columns)
