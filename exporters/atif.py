"""Chat conversations -> ATIF trajectories (Harbor's Agent Trajectory Interchange Format).

One trajectory per episode, mapped from its conversation (:mod:`exporters.chat`), so
both formats say the same thing in the same order: the system and task messages are
a ``system`` and a ``user`` step; each assistant turn is an ``agent`` step holding its
tool call and, in ``observation.results``, its tool message (the researcher's notes,
with ``--include-reasoning``, in ``reasoning_content``); the result of a command that
ran in the background is a ``system`` step with that result as its observation, its
call named in ``extra.result_of``. The target version is :data:`SCHEMA_VERSION`;
``schemas/atif/`` holds its JSON Schema and :func:`check_trajectory` the rules a JSON
Schema cannot state.
"""

from __future__ import annotations

import datetime as dt
import json

from exporters.chat import TOOLS, Conversation

SCHEMA_VERSION = "ATIF-v1.4"
SCHEMA_FILE = "atif/atif-v1.4.schema.json"
AGENT_NAME = "recorder"
NOTES = (
    "Recorded from a human researcher at work by recorder: the agent steps are the "
    "researcher's own commands and file changes, not a model's."
)


def trajectory(conv: Conversation, recorder_version: str, approval_hash: str | None) -> dict:
    """The ATIF document of one conversation."""
    facts = conv.facts
    steps: list[dict] = []
    messages = conv.messages
    k = 0
    while k < len(messages):
        msg = messages[k]
        step = {"step_id": len(steps) + 1, "timestamp": _iso(msg.ts)}
        if msg.role == "assistant":
            call_id, name, arguments = msg.call
            step.update(source="agent", message="")
            if msg.content:
                step["reasoning_content"] = msg.content
            step["tool_calls"] = [
                {"tool_call_id": call_id, "function_name": name, "arguments": json.loads(arguments)}
            ]
            results = []
            while k + 1 < len(messages) and messages[k + 1].role == "tool":
                k += 1
                results.append({"source_call_id": messages[k].tool_call_id,
                                "content": messages[k].content})  # fmt: skip
            step["observation"] = {"results": results}
        elif msg.result_of is not None:  # a background command's result
            head, _, result = (msg.content or "").partition("\n")
            step.update(source="system", message=head,
                        observation={"results": [{"source_call_id": None, "content": result}]},
                        extra={"result_of": msg.result_of})  # fmt: skip
        else:
            step.update(source=msg.role, message=msg.content or "")
        steps.append(step)
        k += 1
    return {
        "schema_version": SCHEMA_VERSION,
        "session_id": facts.episode_id,
        "agent": {
            "name": AGENT_NAME,
            "version": recorder_version,
            "extra": {"actor": "human researcher", "tools": TOOLS},
        },
        "notes": NOTES,
        "steps": steps,
        "final_metrics": {"total_steps": len(steps)},
        "extra": {
            "recording_session_id": facts.session_id,
            "task": facts.task,
            "success": facts.success,
            "labels": facts.labels,
            "task_kinds": list(facts.task_kinds),
            "alarms": list(facts.alarms),
            "metric_deltas": list(facts.metric_deltas),
            "approval_hash": approval_hash,
        },
    }


def dumps(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


AGENT_ONLY = ("model_name", "reasoning_effort", "reasoning_content", "tool_calls", "metrics")


def check_trajectory(doc: dict) -> list[str]:
    """The problems of an ATIF document that its JSON Schema cannot see (none: valid)."""
    problems = []
    for n, step in enumerate(doc.get("steps", []), start=1):
        if step.get("step_id") != n:
            problems.append(f"step {n}: step_id is {step.get('step_id')}")
        if step.get("source") != "agent":
            problems += [f"step {n}: {key} on a {step.get('source')} step"
                         for key in AGENT_ONLY if key in step]  # fmt: skip
        calls = {c["tool_call_id"] for c in step.get("tool_calls", [])}
        for result in step.get("observation", {}).get("results", []):
            source = result.get("source_call_id")
            if source is not None and source not in calls:
                problems.append(f"step {n}: result of {source}, not a call of this step")
    return problems


def _iso(ts_us: int) -> str:
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=ts_us)
    return moment.isoformat().replace("+00:00", "Z")
