"""``recorder export --format chat`` and ``--format atif``: conversations in causal order
across panes, the options, the OpenAI chat format, Hugging Face datasets, a chat template
with assistant-only masks, ATIF validated against its vendored schema, and the gates."""

from __future__ import annotations

import json

import pytest
from chatkit import atif_docs, brief, build_tokenizer, chat_rows, validate_atif, validate_chat
from readerkit import hf_env, run_reader
from sessionkit import SessionScript, dataset_files

from exporters.chat import STILL_RUNNING, TOOLS, single_hunk
from exporters.jobs import ChatOptions, ExportOptions
from exporters.pipeline import export

DIFF = "--- a/loader.py\n+++ b/loader.py\n@@ -4,3 +4,3 @@\n def key(batch):\n-    return batch.name\n+    return (batch.name, batch.size)\n \n"
REPO = "/work/repo"
T0_US = 1_764_000_000 * 1_000_000


def concurrent_session(lay) -> SessionScript:
    """A training run in pane sh2 while the researcher fails a test in sh1, notes why,
    edits, passes it; the run ends after that; then one more command."""
    s = SessionScript(lay)
    s.task("speed up the loader")  # t=1
    s.command("python train.py", output="epoch 1 loss=0.5\n", duration=30, shell_id="sh2")
    s.wait(-25)  # the run (3 s .. 33 s) goes on while sh1 works
    s.command("pytest -q", exit=1, output="F\n1 failed\n")  # 10 .. 11
    s.user("note", "the cache key ignores the batch size")  # 12
    s.save(f"{REPO}/loader.py", diff=DIFF, added=1, removed=1, gap=1)  # 13
    s.command("pytest -q", exit=0, output="1 passed\n")  # 15 .. 16
    s.wait(20)
    s.command("git diff --stat", exit=0, output=" loader.py | 2 +-\n", gap=1)  # 37 .. 38
    return s.end().ingest()


def export_chat(lay, out, dataset="chat", file_format="parquet", **chat):
    return export(lay, ExportOptions(out=out, dataset=dataset, file_format=file_format,
                                     chat=ChatOptions(**chat), include_unapproved=True))  # fmt: skip


def test_a_result_appears_when_its_command_ends_and_concurrent_calls_have_their_own_ids(
    lay, tmp_path
):
    concurrent_session(lay)
    export_chat(lay, tmp_path / "chat")
    (row,) = chat_rows(tmp_path / "chat")
    bash = "bash"
    assert brief(row["messages"])[1:] == [
        ("user", "Task: speed up the loader\nWorking directory: /work/repo", None),
        ("assistant", None, ("call_0", bash, {"command": "python train.py"})),
        ("tool", STILL_RUNNING, "call_0"),
        ("assistant", None, ("call_1", bash, {"command": "pytest -q"})),
        ("tool", "exit code: 1\noutput:\nF\n1 failed", "call_1"),
        ("assistant", None, ("call_2", "edit_file", {
            "path": f"{REPO}/loader.py", "old_str": "def key(batch):\n    return batch.name\n",
            "new_str": "def key(batch):\n    return (batch.name, batch.size)\n"})),
        ("tool", f"saved {REPO}/loader.py: +1 -1 lines", "call_2"),
        ("assistant", None, ("call_3", bash, {"command": "pytest -q"})),
        ("tool", "exit code: 0\noutput:\n1 passed", "call_3"),
        ("user", "[the result of call_0, which ran in the background]\n"
                 "exit code: 0\noutput:\nepoch 1 loss=0.5", None),
        ("assistant", None, ("call_4", bash, {"command": "git diff --stat"})),
        ("tool", "exit code: 0\noutput:\n loader.py | 2 +-", "call_4"),
    ]  # fmt: skip
    messages = row["messages"]
    assert messages[0]["content"].startswith(
        "You are a researcher working in the git repository `repo` on Linux, in bash."
    )
    # No message uses the future: each shows at the time it could first be seen.
    seconds = [(m["ts"].timestamp() * 1e6 - T0_US) / 1e6 for m in messages]
    assert seconds == [3, 3, 3, 10, 10, 11, 13, 13, 15, 16, 33, 37, 38]
    assert [m["mask"] for m in messages] == [m["role"] == "assistant" for m in messages]
    assert row["num_calls"] == 5 and row["task"] == "speed up the loader"
    assert row["success"] is True and row["labels"]["num_failures"] == 1
    assert row["approval_hash"] is None  # approvals are not recorded yet
    assert json.loads(row["tools"]) == TOOLS
    validate_chat(messages, TOOLS)


def test_notes_become_the_assistants_text_with_include_reasoning(lay, tmp_path):
    concurrent_session(lay)
    export_chat(lay, tmp_path / "plain")
    export_chat(lay, tmp_path / "reasoned", include_reasoning=True)
    (plain,) = chat_rows(tmp_path / "plain")
    (reasoned,) = chat_rows(tmp_path / "reasoned")
    contents = [m["content"] for m in reasoned["messages"] if m["role"] == "assistant"]
    assert contents == [None, None, "the cache key ignores the batch size", None, None]
    assert all(m["content"] is None for m in plain["messages"] if m["role"] == "assistant")
    validate_chat(reasoned["messages"], TOOLS)


def mixed_session(lay) -> SessionScript:
    """Several episodes: a failure never fixed, a fixed one, creates, deletes, renames, a
    multi-hunk diff, a long output, a secret, and an episode of a single step."""
    s = SessionScript(lay)
    s.task("first: a failure left as it is")
    s.command("make build", exit=2, output="make: *** [all] Error 2\n")
    s.command("ls", exit=0, output="a\nb\n")
    s.command("make build", exit=2, output="make: *** [all] Error 2\n")
    s.task("second: fix and pass")
    s.command("pytest -q", exit=1, output="x" * 5000 + "\n1 failed\n")
    s.file(f"{REPO}/new.py", "create", added=2,
           diff="--- /dev/null\n+++ b/new.py\n@@ -0,0 +1,2 @@\n+a = 1\n+b = 2\n")  # fmt: skip
    s.save(f"{REPO}/two.py", added=2, removed=2,
           diff="--- a/two.py\n+++ b/two.py\n@@ -1 +1 @@\n-x\n+y\n@@ -9 +9 @@\n-p\n+q\n")  # fmt: skip
    s.file(f"{REPO}/old.py", "delete", added=0, removed=3, diff="")
    s.file(f"{REPO}/c.py", "rename", added=0, removed=0, old_path=f"{REPO}/b.py", diff="")
    s.command("export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789", exit=0)
    s.command("pytest -q", exit=0, output="1 passed\n")
    s.command("pytest -q", exit=1, output="1 failed\n")
    s.task("third: one step")
    s.command("echo done", exit=0, output="done\n")
    return s.end().ingest()


def test_every_conversation_is_valid_chat_and_loads_with_datasets(lay, tmp_path):
    mixed_session(lay)
    for name, file_format in (("parquet", "parquet"), ("jsonl", "jsonl")):
        out = tmp_path / name
        export_chat(lay, out, file_format=file_format)
        rows = chat_rows(out)
        assert [r["task"] for r in rows] == [
            "first: a failure left as it is", "second: fix and pass", "third: one step",
        ]  # fmt: skip
        for row in rows:
            validate_chat(row["messages"], json.loads(row["tools"]))
        loaded = run_reader(LOAD_WITH_DATASETS, out, env=hf_env(tmp_path))
        assert loaded == {"rows": 3, "first_roles": ["system", "user", "assistant", "tool"],
                          "calls": [3, 8, 1]}  # fmt: skip
    second = chat_rows(tmp_path / "parquet")[1]
    calls = {c[0]: c for c in (b[2] for b in brief(second["messages"])) if isinstance(c, tuple)}
    assert calls["call_1"][1:] == ("edit_file", {
        "path": f"{REPO}/new.py",
        "diff": "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1,2 @@\n+a = 1\n+b = 2\n"})  # fmt: skip
    assert calls["call_2"][2]["diff"].count("@@ -") == 2  # two hunks: the diff as it is
    assert calls["call_3"][1:] == ("delete_file", {"path": f"{REPO}/old.py"})
    assert calls["call_4"][1:] == (
        "rename_file",
        {"old_path": f"{REPO}/b.py", "path": f"{REPO}/c.py"},
    )
    # The secret is redacted in the call, and the leak scan passed.
    command = calls["call_5"][2]["command"]
    assert "ghp_" not in command and "<SECRET:" in command


LOAD_WITH_DATASETS = """
import json, sys, datasets
rows = datasets.load_dataset(sys.argv[1], "conversations")["train"]
rows = sorted(rows, key=lambda r: r["episode_id"])
print(json.dumps({"rows": len(rows), "first_roles": [m["role"] for m in rows[0]["messages"][:4]],
                  "calls": [r["num_calls"] for r in rows]}))
"""


def test_the_options_select_and_cut_conversations(lay, tmp_path):
    mixed_session(lay)
    export_chat(lay, tmp_path / "min", min_steps=2)
    assert [r["num_calls"] for r in chat_rows(tmp_path / "min")] == [3, 8]
    export_chat(lay, tmp_path / "ok", success_only=True)
    assert [r["task"] for r in chat_rows(tmp_path / "ok")] == [
        "second: fix and pass", "third: one step"]  # fmt: skip
    # --drop-failed-tail: each episode ends on its last successful command (the first on its
    # `ls`, the second on its passing run).
    export_chat(lay, tmp_path / "tail", drop_failed_tail=True)
    rows = chat_rows(tmp_path / "tail")
    assert [r["num_calls"] for r in rows] == [2, 7, 1]
    assert rows[0]["messages"][-1]["content"] == "exit code: 0\noutput:\na\nb"
    assert rows[1]["messages"][-1]["content"] == "exit code: 0\noutput:\n1 passed"
    validate_chat(rows[1]["messages"], TOOLS)
    export_chat(lay, tmp_path / "cut", max_output_chars=300)
    result = chat_rows(tmp_path / "cut")[1]["messages"][3]["content"]
    assert "characters omitted" in result and len(result) < 400
    assert result.endswith("1 failed")


def test_chat_template_renders_every_conversation_with_assistant_only_masks(lay, tmp_path):
    pytest.importorskip("transformers")
    mixed_session(lay)
    concurrent_session_in(lay)
    export_chat(lay, tmp_path / "chat", include_reasoning=True)
    rows = chat_rows(tmp_path / "chat")
    tokenizer = build_tokenizer(rows)
    for row in rows:
        tools = json.loads(row["tools"])
        encoded = tokenizer.apply_chat_template(
            row["messages"], tools=tools, tokenize=True, return_dict=True,
            return_assistant_tokens_mask=True,
        )  # fmt: skip
        ids, mask = encoded["input_ids"], encoded["assistant_masks"]
        assert len(ids) == len(mask)
        assert tokenizer.unk_token_id not in ids, tokenizer.decode(ids[ids.index(0) - 5 :])[:300]
        trained = tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if m])
        calls = [m["tool_calls"][0] for m in row["messages"] if m["role"] == "assistant"]
        # The masked tokens are the assistant turns: every call, and nothing of the results.
        assert trained.count("<call>") == len(calls) == row["num_calls"]
        assert "<tool>" not in trained and "<user>" not in trained
        assert trained.split()[:3] == [
            "<call>",
            "bash",
            calls[0]["function"]["arguments"].split()[0],
        ]


def concurrent_session_in(lay) -> None:
    """The concurrent session again, as a second session of the same log."""
    s = SessionScript(lay, session="S2", t0=1_764_100_000.0)
    s.task("again")
    s.command("python train.py", output="epoch 1\n", duration=30, shell_id="sh2")
    s.wait(-25)
    s.command("pytest -q", exit=1, output="1 failed\n")
    s.user("note", "try the other key")
    s.save(f"{REPO}/loader.py", diff=DIFF, added=1, removed=1, gap=1)
    s.wait(25)  # the run ends (33 s) before the session does
    s.end().ingest()


def test_atif_trajectories_validate_against_the_vendored_schema(lay, tmp_path):
    mixed_session(lay)
    concurrent_session_in(lay)
    export_chat(lay, tmp_path / "chat", include_reasoning=True)
    export_chat(lay, tmp_path / "atif", dataset="atif", file_format="atif", include_reasoning=True)
    docs = atif_docs(tmp_path / "atif")
    rows = {r["episode_id"]: r for r in chat_rows(tmp_path / "chat")}
    assert [d["session_id"] for d in docs] == sorted(rows)
    for doc in docs:
        validate_atif(doc)
        row = rows[doc["session_id"]]
        agent = [s for s in doc["steps"] if s["source"] == "agent"]
        assert len(agent) == row["num_calls"]
        assert [s["source"] for s in doc["steps"][:2]] == ["system", "user"]
        assert doc["extra"]["task"] == row["task"]
    again = docs[-1]
    assert again["steps"][2]["observation"]["results"] == [
        {"source_call_id": "call_0", "content": STILL_RUNNING}]  # fmt: skip
    assert again["steps"][4]["reasoning_content"] == "try the other key"
    background = again["steps"][-1]
    assert background["source"] == "system" and background["extra"] == {"result_of": "call_0"}
    assert background["observation"]["results"][0]["content"] == "exit code: 0\noutput:\nepoch 1"
    # A document that breaks the rules beside the schema is caught.
    broken = json.loads(json.dumps(again))
    broken["steps"][2]["step_id"] = 7
    with pytest.raises(AssertionError):
        validate_atif(broken)
    meta = json.loads((tmp_path / "atif" / "meta" / "info.json").read_text())
    assert list(meta["tables"]) == ["trajectories"] and meta["counts"]["trajectories"] == 4


def test_the_chat_export_is_deterministic_and_has_its_card(lay, tmp_path):
    mixed_session(lay)
    export_chat(lay, tmp_path / "one")
    export_chat(
        lay,
        tmp_path / "two",
    )
    assert dataset_files(tmp_path / "one") == dataset_files(tmp_path / "two")
    names = sorted(dataset_files(tmp_path / "one"))
    assert names[0] == "README.md" and names[-1] == "meta/info.json"
    assert all(n.startswith("conversations/r-test/2025-11-24/") for n in names[1:-1])
    card = (tmp_path / "one" / "README.md").read_text()
    assert "config_name: conversations" in card and "config_name: steps" not in card
    meta = json.loads((tmp_path / "one" / "meta" / "info.json").read_text())
    assert meta["counts"]["conversations"] == 3 and meta["settings"]["chat"]["min_steps"] == 1
    assert meta["redaction"]["leak_scan"]["values_scanned"] > 0


def test_single_hunk():
    assert single_hunk("@@ -1,2 +1,2 @@\n a\n-b\n+c\n") == ("a\nb", "a\nc")
    assert single_hunk("@@ -1 +1 @@\n-b\n+c\n@@ -5 +5 @@\n-d\n+e\n") is None
    assert single_hunk("@@ -1 +1 @@\n a\n") is None  # no change


def test_cli_chat_options(run_cli, lay, tmp_path):
    mixed_session(lay)
    out = tmp_path / "cli"
    proc = run_cli("export", "--format", "chat", "--jsonl", "--min-steps", "2", "--out", str(out),
                   "--quiet", "--include-unapproved")  # fmt: skip
    assert "conversations 2" in proc.stdout
    assert [r["num_calls"] for r in chat_rows(out)] == [3, 8]
    bad = run_cli("export", "--format", "parquet", "--jsonl", "--out", str(tmp_path / "x"),
                  check=False)  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--jsonl" in bad.stderr
    bad = run_cli("export", "--success-only", "--out", str(tmp_path / "y"), check=False)
    assert bad.returncode == 2 and "chat options" in bad.stderr


def test_conversations_and_trajectories_carry_task_kinds_alarms_and_metric_deltas(lay, tmp_path):
    s = SessionScript(lay)
    s.task("episode one")
    s.command("python train.py --lr 0.1", exit=1,
              output="step 10 loss=2.5\nRuntimeError: CUDA out of memory.\n")  # fmt: skip
    s.save(f"{REPO}/config.yaml", diff="--- a/config.yaml\n+++ b/config.yaml\n@@ -1 +1 @@\n-batch: 64\n+batch: 16\n", added=1, removed=1)  # fmt: skip
    s.command("python train.py --lr 0.1", exit=0, output="step 10 loss=2.0\nstep 20 loss=1.2\n")
    s.end().ingest()
    out = tmp_path / "chat"
    export_chat(lay, out)
    [row] = chat_rows(out)
    assert row["task_kinds"] and "deploy_fix" in row["task_kinds"]
    assert row["alarms"] == ["oom"]
    assert [d["name"] for d in row["metric_deltas"]] == ["loss"]
    atif = tmp_path / "atif"
    export_chat(lay, atif, dataset="atif", file_format="atif")
    [doc] = atif_docs(atif)
    assert doc["extra"]["task_kinds"] == row["task_kinds"]
    assert doc["extra"]["alarms"] == ["oom"]
    validate_atif(doc)
