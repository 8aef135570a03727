"""Episodes -> chat conversations: the researcher as the assistant of an OpenAI-style chat.

One conversation per episode, as pure functions of its steps (rows of the steps
table, redacted) and its episode row: a system message describing the environment,
a user message with the task and the first observation, then each action as an
assistant turn with one tool call (``bash`` for a command, ``edit_file``,
``delete_file``, ``rename_file`` for a file step) and each result as a ``tool``
message. :data:`TOOLS` holds the tools' JSON Schemas.

Causal order across panes: a result appears where the researcher could first have
seen it, at its command's end. A command still running when the next action comes
gets the tool message ``still running`` there (the researcher acted without its
result), and its result follows as a user message naming its call once it has
ended and a message may be placed (never before its end). So no message holds
anything that was not known at its time (``Message.ts``). docs/dataset.md
describes the format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from exporters.textcut import head_and_tail

OS_NAME = "Linux"  # the recorder records on Linux only (tmux, inotify)


def _tool(name: str, description: str, properties: dict, required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


def _string(description: str) -> dict:
    return {"type": "string", "description": description}


TOOLS = [
    _tool("bash", "Run a command line in the shell; returns its exit code and output.",
          {"command": _string("The command line, as typed.")}, ["command"]),
    _tool("edit_file", "Change or create a file: replace old_str by new_str (one change), or "
          "apply a unified diff.", {
              "path": _string("The file."),
              "old_str": _string("The text to replace (with its surrounding lines)."),
              "new_str": _string("The text that replaces it."),
              "diff": _string("A unified diff of the change."),
          }, ["path"]),
    _tool("delete_file", "Delete a file.", {"path": _string("The file.")}, ["path"]),
    _tool("rename_file", "Rename or move a file.",
          {"old_path": _string("The file."), "path": _string("Its new path.")},
          ["old_path", "path"]),
]  # fmt: skip
TOOLS_JSON = json.dumps(TOOLS, separators=(",", ":"))
FILE_TOOLS = {"edit": "edit_file", "create": "edit_file", "burst": "edit_file",
              "delete": "delete_file", "rename": "rename_file"}  # fmt: skip

STILL_RUNNING = "still running: the next action came before it ended; its result follows later"


@dataclass(slots=True)
class ChatStep:
    """What a conversation needs of one step (a row of the steps table)."""

    index: int
    ts: int  # microseconds
    end: int  # a command's end (its result is visible), else ts
    action: str
    command: str | None
    path: str | None
    old_path: str | None
    diff: str | None
    exit_code: int | None
    output: str | None
    files_changed: Sequence[str]
    lines_added: int | None
    lines_removed: int | None
    failed: bool | None
    interrupted: bool | None
    notes: Sequence[str] = ()


@dataclass(slots=True)
class EpisodeFacts:
    """What a conversation says of its episode besides its steps."""

    episode_id: str
    session_id: str
    task: str | None
    success: bool | None
    labels: dict
    repository: str | None
    cwd: str | None
    branch: str | None
    screen: Sequence[str]  # the first step's observation.terminal
    shells: Sequence[str]  # the shells of its commands, in order of first use
    task_kinds: Sequence[str] = ()  # exporters.taskkinds, as the episodes table has them
    alarms: Sequence[str] = ()  # its steps' alarms, each once
    metric_deltas: Sequence[dict] = ()


@dataclass(slots=True)
class Message:
    role: str
    content: str | None
    ts: int
    call: tuple[str, str, str] | None = None  # an assistant turn's (id, tool, arguments JSON)
    tool_call_id: str | None = None
    name: str | None = None
    result_of: str | None = None  # a notice's call (the result of a background command)

    @property
    def mask(self) -> bool:
        return self.role == "assistant"


@dataclass(slots=True)
class Conversation:
    facts: EpisodeFacts
    messages: list[Message]
    num_calls: int
    arguments: list[str] = field(default_factory=list)  # the calls' argument values, raw


# -- one conversation --------------------------------------------------------------------


def conversation(facts: EpisodeFacts, steps: Sequence[ChatStep], options) -> Conversation | None:
    """The conversation of an episode (``steps`` in order), or None if ``options``
    (:class:`exporters.jobs.ChatOptions`) leave it out."""
    if options.success_only and facts.success is not True:
        return None
    if options.drop_failed_tail:
        steps = without_failed_tail(steps)
    if not steps or len(steps) < options.min_steps:
        return None
    start = steps[0].ts
    messages = [Message("system", system_text(facts), start),
                Message("user", task_text(facts), start)]  # fmt: skip
    chat = _Builder(messages, options)
    for step in steps:
        chat.act(step)
    chat.finish()
    return Conversation(facts, messages, len(steps), chat.arguments)


def without_failed_tail(steps: Sequence[ChatStep]) -> Sequence[ChatStep]:
    """``steps`` without those after the last command that did not fail, if any of them
    failed (the episode then ends on its last success); none if no command succeeded."""
    last_ok = max((k for k, s in enumerate(steps) if s.action == "command" and s.failed is False),
                  default=-1)  # fmt: skip
    tail = steps[last_ok + 1 :]
    return steps[: last_ok + 1] if any(s.failed for s in tail) else steps


class _Builder:
    """Places the messages of one conversation in causal order."""

    def __init__(self, messages: list[Message], options):
        self.messages = messages
        self.options = options
        self.open: ChatStep | None = None  # the last call, whose tool message is not yet out
        self.background: list[ChatStep] = []  # calls answered "still running", by end
        self.arguments: list[str] = []

    def act(self, step: ChatStep) -> None:
        now = step.ts
        if self.open is not None:
            if self.open.end <= now:
                self._result(self.open)
            else:
                self._add(Message("tool", STILL_RUNNING, now, tool_call_id=call_id(self.open),
                                  name=tool_name(self.open)))  # fmt: skip
                self.background.append(self.open)
            self.open = None
        self._notices(now)
        name, arguments = tool_call(step)
        self.arguments.extend(v for v in arguments.values() if isinstance(v, str))
        reasoning = "\n\n".join(step.notes) if self.options.include_reasoning else ""
        self._add(Message("assistant", reasoning or None, now,
                          call=(call_id(step), name, json.dumps(arguments, ensure_ascii=False))))  # fmt: skip
        if step.end <= now:
            self._result(step)
        else:
            self.open = step

    def finish(self) -> None:
        if self.open is not None:
            self._result(self.open)
            self.open = None
        self._notices(None)

    def _result(self, step: ChatStep) -> None:
        text = result_text(step, self.options.max_output_chars)
        self._add(Message("tool", text, step.end, tool_call_id=call_id(step), name=tool_name(step)))

    def _notices(self, now: int | None) -> None:
        """The results of background calls that ended by ``now`` (all if None)."""
        if not self.background:
            return
        ready = [s for s in self.background if now is None or s.end <= now]
        if not ready:
            return
        self.background = [s for s in self.background if not (now is None or s.end <= now)]
        for step in sorted(ready, key=lambda s: (s.end, s.index)):
            head = f"[the result of {call_id(step)}, which ran in the background]\n"
            text = head + result_text(step, self.options.max_output_chars)
            self._add(Message("user", text, step.end, result_of=call_id(step)))

    def _add(self, message: Message) -> None:
        last = self.messages[-1].ts
        if message.ts < last:  # placed later than it became visible: it shows then
            message.ts = last
        self.messages.append(message)


# -- the texts ---------------------------------------------------------------------------


def call_id(step: ChatStep) -> str:
    return f"call_{step.index}"


def tool_name(step: ChatStep) -> str:
    return "bash" if step.action == "command" else FILE_TOOLS[step.action]


def system_text(facts: EpisodeFacts) -> str:
    shells = " and ".join(facts.shells) if facts.shells else "a shell"
    where = (
        f"the git repository `{repo_name(facts.repository)}`" if facts.repository else "a project"
    )
    return (
        f"You are a researcher working in {where} on {OS_NAME}, in {shells}. You act through "
        "tools: bash runs a command line; edit_file, delete_file and rename_file change files. "
        "A command's result arrives when it ends; one still running when you act again "
        "reports back later."
    )


def repo_name(repository: str | None) -> str:
    """The last component of a repository's path: its name, not where it lives."""
    return (repository or "").rstrip("/").rpartition("/")[2] or "repository"


def task_text(facts: EpisodeFacts) -> str:
    lines = [f"Task: {facts.task}" if facts.task else "Task: not stated; carry on with the work."]
    if facts.cwd:
        lines.append(f"Working directory: {facts.cwd}")
    if facts.branch:
        lines.append(f"Branch: {facts.branch}")
    screen = "".join(facts.screen)
    if screen:
        lines += ["Recent terminal output:", screen.rstrip("\n")]
    return "\n".join(lines)


def tool_call(step: ChatStep) -> tuple[str, dict]:
    """The tool and arguments of a step's action."""
    if step.action == "command":
        return "bash", {"command": step.command or ""}
    path = step.path or ""
    if step.action == "delete":
        return "delete_file", {"path": path}
    if step.action == "rename":
        return "rename_file", {"old_path": step.old_path or "", "path": path}
    if step.diff is None:
        return "edit_file", {"path": path}
    if step.action == "edit":
        hunk = single_hunk(step.diff)
        if hunk is not None:
            return "edit_file", {"path": path, "old_str": hunk[0], "new_str": hunk[1]}
    return "edit_file", {"path": path, "diff": step.diff}


def single_hunk(diff: str) -> tuple[str, str] | None:
    """(old text, new text) of a unified diff of exactly one hunk, else None."""
    lines = diff.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    hunks = [k for k, line in enumerate(lines) if line.startswith("@@")]
    if len(hunks) != 1:
        return None
    old, new = [], []
    for line in lines[hunks[0] + 1 :]:
        mark, text = line[:1], line[1:]
        if mark == "\\":  # "\ No newline at end of file"
            continue
        if mark in (" ", ""):
            old.append(text)
            new.append(text)
        elif mark == "-":
            old.append(text)
        elif mark == "+":
            new.append(text)
        else:
            return None
    old_str, new_str = "\n".join(old), "\n".join(new)
    return None if old_str == new_str else (old_str, new_str)


def result_text(step: ChatStep, max_output_chars: int | None) -> str:
    """What the researcher saw of a step's result."""
    if step.action != "command":
        return _file_result(step)
    if step.exit_code is None:
        status = "exit code: unknown (its end was not recorded)"
    else:
        status = f"exit code: {step.exit_code}" + (" (interrupted)" if step.interrupted else "")
    lines = [status]
    output = step.output
    if output and max_output_chars is not None:
        output = head_and_tail(output, max_output_chars)
    lines.append(f"output:\n{output.rstrip(chr(10))}" if output else "no output")
    if step.files_changed:
        lines.append("files changed: " + ", ".join(step.files_changed))
    return "\n".join(lines)


def _file_result(step: ChatStep) -> str:
    path = step.path or "?"
    if step.action == "delete":
        return f"deleted {path}"
    if step.action == "rename":
        return f"renamed {step.old_path or '?'} to {path}"
    verb = {"create": "created", "burst": "changed"}.get(step.action, "saved")
    return f"{verb} {path}: +{step.lines_added or 0} -{step.lines_removed or 0} lines"


# -- from the steps table ------------------------------------------------------------------


def steps_of_table(table, ends: Sequence[int], notes: dict[int, list[str]]) -> list[ChatStep]:
    """A :class:`ChatStep` per row of a steps table; ``ends`` gives each row's end
    (microseconds) and ``notes`` the notes before a row, by row number."""
    import pyarrow as pa

    def column(struct: str | None, name: str) -> list:
        array = table.column(struct or name).combine_chunks()
        if struct is not None:
            array = array.field(name)
        return array.to_pylist()

    ts = table.column("ts").combine_chunks().cast(pa.int64()).to_pylist()
    columns = [
        column(None, "step_index"), ts, ends, column("action", "type"),
        column("action", "command"), column("action", "path"), column("action", "old_path"),
        column("action", "diff"), column("outcome", "exit_code"), column("outcome", "output"),
        column("outcome", "files_changed"), column("outcome", "lines_added"),
        column("outcome", "lines_removed"), column(None, "failed"), column(None, "interrupted"),
    ]  # fmt: skip
    steps = [ChatStep(*row) for row in zip(*columns, strict=True)]
    for row, texts in notes.items():
        steps[row].notes = texts
    return steps


def conversations_of_table(table, ends: Sequence[int], shells: Sequence[str | None],
                           notes: dict[int, list[str]], episodes: dict[str, dict],
                           options) -> list[Conversation]:  # fmt: skip
    """The conversations of the whole episodes of a steps table (rows in episode order);
    ``episodes`` holds their rows (exporters.tables.episode_row) by id, ``shells`` each
    row's shell (None for file steps)."""
    steps = steps_of_table(table, ends, notes)
    ids = table.column("episode_id").to_pylist()
    observation = table.column("observation").combine_chunks()
    cwds = observation.field("cwd")
    branches = observation.field("git_branch")
    screens = observation.field("terminal")
    alarms = table.column("alarms").to_pylist()
    found = []
    start = 0
    for stop in [*(k for k in range(1, len(ids)) if ids[k] != ids[k - 1]), len(ids)]:
        row = episodes[ids[start]]
        facts = EpisodeFacts(
            episode_id=row["episode_id"], session_id=row["session_id"], task=row["task"],
            success=row["success"], labels=episode_labels(row), repository=row["repository"],
            cwd=cwds[start].as_py(), branch=branches[start].as_py(),
            screen=screens[start].as_py() or (),
            shells=tuple(dict.fromkeys(s for s in shells[start:stop] if s)),
            task_kinds=tuple(row.get("task_kinds") or ()),
            alarms=tuple(dict.fromkeys(a for step in alarms[start:stop] for a in step or ())),
            metric_deltas=tuple(row.get("metric_deltas") or ()),
        )  # fmt: skip
        made = conversation(facts, steps[start:stop], options)
        if made is not None:
            found.append(made)
        start = stop
    return found


def episode_labels(row: dict) -> dict:
    """The labels struct of a conversation, from its episode row."""
    return {
        "num_steps": row["num_steps"], "num_failures": row["num_failures"],
        "num_recoveries": row["num_recoveries"], "num_retries": row["num_retries"],
        "num_loop_steps": row["num_loop_steps"], "num_test_runs": row["num_test_runs"],
        "exit_status": row["exit_status"], "end_reason": row["end_reason"],
    }  # fmt: skip
