"""The dataset's self-description: ``README.md`` (a Hugging Face dataset card) and
``meta/info.json`` (machine-readable: format version, schemas, counts, redaction).

The card's YAML header declares a config for each of ``steps`` (the default),
``events`` and ``episodes`` that has rows, so ``datasets.load_dataset(path, "steps")``
works on the directory as it is (``datasets`` cannot load a split without rows, so a
table without rows has no config; its empty file still gives other readers its schema). Neither file names a person: researchers appear by pseudonymous id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.arrow import EXPORT_TABLES, export_spec

# Version of the dataset layout and schemas (semver): a major bump breaks readers.
FORMAT_VERSION = "2.0.0"


@dataclass
class CardFacts:
    """Everything the card and info.json say about one export."""

    export_id: str
    file_format: str  # parquet or jsonl
    recorder_version: str
    created_at: str
    researchers: list[str]
    sessions: list[dict[str, Any]]
    counts: dict[str, int]
    events_by_kind: dict[str, int]
    files: dict[str, dict[str, int]]
    time_range: dict[str, str | None]
    redaction: dict[str, Any]
    labels: dict[str, Any]
    settings: dict[str, Any]
    approval_hashes: list[str] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)  # recorder.review.approval
    tables: tuple[str, ...] = EXPORT_TABLES  # the tables the dataset holds
    task_kinds: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind_counts()


def kind_counts(labels: dict, fix_times: dict[str, list[float]]) -> dict[str, dict[str, Any]]:
    """Per task kind (exporters.taskkinds): its episodes and, for debug and deploy_fix,
    the median time to fix in seconds."""
    from statistics import median

    from exporters.taskkinds import KIND_NAMES

    out = {}
    for kind in KIND_NAMES:
        entry: dict[str, Any] = {"episodes": labels.get(f"kind.{kind}", 0)}
        if kind in ("debug", "deploy_fix"):
            times = fix_times.get(kind)
            entry["median_time_to_fix_s"] = round(median(times), 3) if times else None
        out[kind] = entry
    return out


def _kinds_table(f: CardFacts) -> str:
    rows = []
    for kind, entry in f.task_kinds.items():
        fix = entry.get("median_time_to_fix_s")
        rows.append(f"| {kind} | {entry['episodes']} | {'-' if fix is None else fix} |")
    return "\n".join(rows) or "| - | 0 | - |"


def info(facts: CardFacts) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "recorder_version": facts.recorder_version,
        "export_id": facts.export_id,
        "created_at": facts.created_at,
        "file_format": facts.file_format,
        "tables": {
            name: {
                "path": f"{name}/",
                "partitioning": export_spec(name)["partitioning"],
                "rows": facts.counts.get(name, 0),
                "files": facts.files.get(name, {}).get("files", 0),
                "bytes": facts.files.get(name, {}).get("bytes", 0),
                "schema": export_spec(name),
            }
            for name in facts.tables
        },
        "researchers": facts.researchers,
        "sessions": facts.sessions,
        "counts": facts.counts,
        "events_by_kind": facts.events_by_kind,
        "time_range": facts.time_range,
        "redaction": facts.redaction,
        "labels": facts.labels,
        "task_kinds": facts.task_kinds,
        "settings": facts.settings,
        "approval_hashes": facts.approval_hashes,
        "approvals": facts.approvals,
    }


def write(root: Path, facts: CardFacts) -> None:
    (root / "meta").mkdir(parents=True, exist_ok=True)
    text = json.dumps(info(facts), indent=2, sort_keys=False, default=str) + "\n"
    (root / "meta" / "info.json").write_text(text, encoding="utf-8")
    (root / "README.md").write_text(readme(facts), encoding="utf-8")


def readme(facts: CardFacts) -> str:
    return "\n".join([_header(_ext(facts), facts.counts, facts.tables), _body(facts)])


def _header(ext: str, counts: dict[str, int], tables=EXPORT_TABLES) -> str:
    lines = [
        "---",
        "pretty_name: Researcher action trajectories",
        "tags:",
        "- imitation-learning",
        "- trajectories",
        "- rlds",
        "- shell",
        "- code-editing",
        *(["- sft", "- tool-use"] if tables != EXPORT_TABLES else []),
        "configs:",
    ]
    loadable = ("steps", "events", "episodes", "conversations")  # (not ATIF's documents)
    configs = [name for name in loadable if name in tables and counts.get(name)]
    for name in configs:
        lines.append(f"- config_name: {name}")
        if name == configs[0]:
            lines.append("  default: true")
        lines += ["  data_files:", "  - split: train", f'    path: "{name}/**/*.{ext}"']
    if not configs:
        lines.remove("configs:")
    lines.append("---")
    return "\n".join(lines) + "\n"


def _approvals(f: CardFacts) -> str:
    if not f.approvals:
        return "No session of this export was approved: it was made with `--include-unapproved`."
    rows = "\n".join(
        f"| {a['session_id']} | {a['researcher_id'] or '-'} | {a['approved_at']} | "
        f"{a['ruleset_version']} | `{a['content_hash'][:16]}` |"
        for a in f.approvals
    )
    unapproved = len(f.sessions) - len(f.approvals)
    note = f"\n\n{unapproved} session(s) were exported without approval." if unapproved else ""
    return (
        "Each session was approved by its researcher, who reviewed exactly these rows: the\n"
        "content hash covers every row exported for the session, and the export checked it\n"
        "before writing (`meta/info.json` lists them whole).\n\n"
        "| session | approved by | at (UTC) | rule set | content hash |\n"
        "| --- | --- | --- | --- | --- |\n" + rows + note
    )


def _body(f: CardFacts) -> str:
    c = f.counts
    start, end = f.time_range.get("start") or "-", f.time_range.get("end") or "-"
    kinds = "\n".join(f"| {k} | {v} |" for k, v in sorted(f.events_by_kind.items())) or "| - | 0 |"
    red = f.redaction
    rules = ", ".join(f"{k} ({v})" for k, v in red.get("findings_by_rule", {}).items()) or "none"
    labels = f.labels
    out = f"""# Researcher action trajectories

Recorded with `recorder` {f.recorder_version} and exported as `{f.file_format}`
(export `{f.export_id}`, format version {FORMAT_VERSION}). Each step is one action of a
researcher at work (a shell command or a file edit) with what they saw before it and
what followed, grouped into episodes: stretches of work on one task.

## What was recorded

- Researchers (pseudonymous ids): {", ".join(f.researchers) or "-"}
- Sessions: {len(f.sessions)}, from {start} to {end} (UTC)
- Events: {c.get("events", 0)}; steps: {c.get("steps", 0)}; episodes: {c.get("episodes", 0)}

| source/event type | events |
| --- | --- |
{kinds}

## Labels

- Failed steps: {labels.get("failures", 0)}; recovered: {labels.get("recoveries", 0)};
  retries: {labels.get("retries", 0)}; steps in edit-run-fix loops: {labels.get("loop_steps", 0)}
- Episodes with a task from the researcher: {labels.get("episodes_with_task", 0)};
  successful: {labels.get("successful_episodes", 0)}; failed: {labels.get("failed_episodes", 0)};
  unknown: {labels.get("unknown_episodes", 0)}

Task kinds (an episode may have several; median time to fix from the failing run's end
to the passing run's end):

| task kind | episodes | median time to fix (s) |
| --- | --- | --- |
{_kinds_table(f)}

Every label is defined in the recorder's `docs/labels.md`.

## Redaction

Every text value was redacted with rule set `{red.get("ruleset_version")}` at export time,
then checked: no rule matches any text in this dataset (the leak scan read
{red.get("leak_scan", {}).get("values_scanned", 0)} distinct values; the rest are values the
redaction had just read unchanged, or verbatim copies of them).
Rows with redactions: {red.get("rows_with_findings", 0)}. Rules that fired: {rules}.
The `redactions` column of `events` says which rule replaced what, never the secret.

## Approvals

{_approvals(f)}

## Layout

```
README.md                 this card
meta/info.json            format version, schemas, counts, time range, redaction summary
events/<researcher>/<date>/part-{f.export_id}-NNNNN.{_ext(f)}
steps/<researcher>/<date>/part-{f.export_id}-NNNNN.{_ext(f)}
episodes/<researcher>/part-{f.export_id}-NNNNN.{_ext(f)}
```

`researcher` and `date` (UTC, a `YYYY-MM-DD` string) are columns of every file; the
directories are named after them but are not hive `key=value` partitions.
Timestamps are UTC; `utc_offset_min` gives the recording machine's offset.

## Loading

```python
import datasets
steps = datasets.load_dataset("path/to/this/dir", "steps")["train"]

import pyarrow.parquet as pq
table = pq.read_table("path/to/this/dir/steps")

import duckdb
duckdb.sql("SELECT * FROM read_parquet('steps/**/*.parquet')")
```
"""
    if f.tables != EXPORT_TABLES:  # conversations or trajectories, in a layout of their own
        out = out[: out.index("## Layout")] + _layout(f).rstrip("\n") + "\n"
    return out


def _ext(f: CardFacts) -> str:
    return {"parquet": "parquet", "atif": "json"}.get(f.file_format, "jsonl")


def _layout(f: CardFacts) -> str:
    """The layout and loading of a chat or ATIF dataset (they replace the tables' own)."""
    c = f.counts
    built = (f"Built from {c.get('events', 0)} events, {c.get('steps', 0)} steps and "
             f"{c.get('episodes', 0)} episodes; settings in meta/info.json.")  # fmt: skip
    if "conversations" in f.tables:
        return f"""## Conversations

One OpenAI-style chat conversation per episode ({c.get("conversations", 0)} in all): the
researcher's commands and file changes are the assistant's tool calls, their results the tool
messages, in the order the researcher could see them. {built}

```
conversations/<researcher>/<date>/part-{f.export_id}-NNNNN.{_ext(f)}
```

```python
import datasets, json
rows = datasets.load_dataset("path/to/this/dir", "conversations")["train"]
row = rows[0]
tokenizer.apply_chat_template(row["messages"], tools=json.loads(row["tools"]))
```

"""
    return f"""## Trajectories

One ATIF-v1.4 trajectory (Harbor's Agent Trajectory Interchange Format) per episode
({c.get("trajectories", 0)} in all), each a JSON file. {built}

```
trajectories/<researcher>/<date>/part-{f.export_id}-NNNNN.json
```

"""
