"""Checks of exported chat conversations (no tests in this module): a validator of the
OpenAI chat format with tool calls, a tokenizer built here (no download) whose chat
template renders tool calls and ``{% generation %}`` blocks, and the ATIF validator."""

from __future__ import annotations

import json
from pathlib import Path

import schemas

# A chat template in the style of the common ones: tools listed first, assistant turns in
# {% generation %} blocks (for assistant-only masks), tool calls with their arguments.
CHAT_TEMPLATE = (
    "{% if tools %}<tools> {% for tool in tools %}{{ tool.function.name }} {% endfor %}"
    "</tools>\n{% endif %}"
    "{% for message in messages %}"
    "{% if message.role == 'assistant' %}<assistant> {% generation %}"
    "{% if message.content %}{{ message.content }} {% endif %}"
    "{% for call in message.tool_calls or [] %}<call> {{ call.function.name }} "
    "{% if call.function.arguments is string %}{{ call.function.arguments }}"
    "{% else %}{{ call.function.arguments | tojson }}{% endif %} </call> {% endfor %}"
    "<end>{% endgeneration %}\n"
    "{% elif message.role == 'tool' %}<tool> {{ message.tool_call_id }} {{ message.content }}"
    " <end>\n"
    "{% else %}<{{ message.role }}> {{ message.content }} <end>\n{% endif %}"
    "{% endfor %}"
)
SPECIALS = ["[UNK]", "[PAD]", "<end>"]


def validate_chat(messages: list[dict], tools: list[dict]) -> None:
    """Raise AssertionError unless ``messages`` is a valid OpenAI-style conversation with
    tool calls: a system message, then a user message; each assistant turn's calls answered
    by exactly one tool message each, right after it, carrying its id; tool messages only
    there; arguments JSON objects in strings naming a tool's parameters; ids unique."""
    names = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    assert [m["role"] for m in messages[:2]] == ["system", "user"], messages[:2]
    answered: set[str] = set()
    waiting: list[str] = []  # ids of the last assistant turn not yet answered
    previous = None
    for k, m in enumerate(messages):
        role = m["role"]
        assert role in ("system", "user", "assistant", "tool"), m
        assert role != "system" or k == 0, f"message {k}: a system message after the first"
        if role == "tool":
            assert waiting, f"message {k}: a tool message that answers no call"
            assert m["tool_call_id"] == waiting[0], (k, m["tool_call_id"], waiting)
            assert m["tool_call_id"] not in answered
            answered.add(waiting.pop(0))
            assert isinstance(m["content"], str) and m["content"], m
            previous = role
            continue
        assert not waiting, f"message {k} ({role}) before the results of {waiting}"
        if role == "assistant":
            assert previous != "assistant", f"message {k}: two assistant turns in a row"
            calls = m.get("tool_calls") or []
            assert calls or m.get("content"), f"message {k}: an empty assistant turn"
            for call in calls:
                assert call["type"] == "function"
                assert call["id"] not in answered and call["id"] not in waiting, call
                function = call["function"]
                assert function["name"] in names, function
                assert isinstance(function["arguments"], str)
                arguments = json.loads(function["arguments"])
                assert isinstance(arguments, dict)
                parameters = names[function["name"]]
                assert set(arguments) <= set(parameters["properties"]), arguments
                assert set(parameters["required"]) <= set(arguments), arguments
                waiting.append(call["id"])
        else:
            assert not m.get("tool_calls"), f"message {k}: tool calls on a {role} message"
            assert isinstance(m["content"], str) and m["content"], m
        previous = role
    assert not waiting, f"calls never answered: {waiting}"


def build_tokenizer(rows: list[dict]):
    """A word-level tokenizer knowing every word of the conversations ``rows`` as
    :data:`CHAT_TEMPLATE` renders them (its vocabulary is read from that rendering)."""
    first = _tokenizer(set())
    words = set()
    for row in rows:
        text = first.apply_chat_template(row["messages"], tools=json.loads(row["tools"]),
                                         tokenize=False)  # fmt: skip
        words.update(text.replace("<end>", " <end> ").split())  # (a special token splits words)
    return _tokenizer(words)


def _tokenizer(words: set[str]):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate([*SPECIALS, *sorted(words - set(SPECIALS))])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="[UNK]", pad_token="[PAD]", eos_token="<end>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def validate_atif(doc: dict) -> None:
    """Raise unless ``doc`` is valid against the vendored ATIF JSON Schema and the rules
    beside it (exporters.atif.check_trajectory)."""
    from jsonschema import Draft202012Validator, FormatChecker

    from exporters.atif import SCHEMA_FILE, check_trajectory

    schema = schemas.load(SCHEMA_FILE)
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(doc)
    assert check_trajectory(doc) == [], check_trajectory(doc)


def chat_rows(out: Path) -> list[dict]:
    """Every conversation of a chat export (Parquet or JSON Lines), by episode id."""
    import pyarrow.dataset as ds

    parquet = sorted((out / "conversations").rglob("*.parquet"))
    if parquet:
        rows = ds.dataset(parquet, format="parquet").to_table().to_pylist()
    else:
        rows = [
            json.loads(line)
            for path in sorted((out / "conversations").rglob("*.jsonl"))
            for line in path.read_text().splitlines()
        ]
    return sorted(rows, key=lambda r: r["episode_id"])


def atif_docs(out: Path) -> list[dict]:
    docs = [json.loads(p.read_text()) for p in sorted((out / "trajectories").rglob("*.json"))]
    return sorted(docs, key=lambda d: d["session_id"])


def brief(messages: list[dict]) -> list[tuple]:
    """(role, content, call) of each message, the call as (id, name, arguments dict)."""
    out = []
    for m in messages:
        calls = m.get("tool_calls") or []
        call = None
        if calls:
            (c,) = calls
            call = (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
        out.append((m["role"], m["content"], call or m.get("tool_call_id")))
    return out
