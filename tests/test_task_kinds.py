"""Task kinds, metrics and alarms (docs/labels.md, "Task kinds"): the rules on hand-built
sequences, the taxonomy's own examples, and the columns of a real export, its
``--task-kind`` filter and its card."""

from __future__ import annotations

import json
import math

import pytest
from sessionkit import SessionScript, export_rows

from exporters.commands import command_key
from exporters.labels import is_failure
from exporters.metrics import alarms, parse_metrics
from exporters.taskkinds import (
    KIND_NAMES,
    STEP_KINDS,
    TASK_KINDS,
    KindStep,
    command_kind,
    episode_kinds,
    file_kind,
)

OOM = "Traceback (most recent call last):\n  File x\ntorch.OutOfMemoryError: CUDA out of memory\n"


def steps_of(actions, outputs=None) -> list[KindStep]:
    """``actions``: (command or "save PATH", exit code); one second apart."""
    steps = []
    for i, (line, code) in enumerate(actions):
        output = (outputs or {}).get(i, "")
        end = (i + 1) * 1_000_000
        if line.startswith("save "):
            steps.append(KindStep(file_kind(line[5:]), None, None, None, end))
        else:
            kind = command_kind(line)
            steps.append(KindStep(kind, command_key(line), line if kind == "launch" else "",
                                  is_failure(code, output), end, parse_metrics(output)))  # fmt: skip
    return steps


def kinds_of(actions, outputs=None) -> list[str]:
    return episode_kinds(steps_of(actions, outputs)).kinds


@pytest.mark.parametrize("kind", TASK_KINDS, ids=lambda k: k.name)
def test_every_kind_of_the_taxonomy_gets_its_examples_and_not_its_confusers(kind):
    for example in kind.examples:
        assert kind.name in kinds_of(example), example
    for example in kind.not_examples:
        assert kind.name not in kinds_of(example), example


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        ("srun -p gpu python train.py --lr 3", "launch"),
        ("sbatch jobs/train.sbatch", "launch"),
        ("torchrun --nproc_per_node 8 pretrain.py", "launch"),
        ("accelerate launch finetune.py", "launch"),
        ("python -m pkg.train --epochs 2", "launch"),
        ("python scripts/train_lm.py 2>&1 | tee logs/run.log", "launch"),
        ("docker run --gpus all img python x.py", "launch"),
        ("python train.py --help", "help"),
        ("tail -f logs/train.log", "monitor"),
        ("tail README.md", "other"),
        ("less CONTRIBUTING.md", "other"),
        ("watch -n 5 squeue -u me", "monitor"),
        ("nvidia-smi", "monitor"),
        ("head -n 3 data/train.jsonl", "data_inspect"),
        ("jq .label x.json", "data_inspect"),
        ("python -c \"import pandas as pd; pd.read_csv('a.csv')\"", "data_inspect"),
        ("head README.md", "other"),
        ("git diff", "review"),
        ("grep -rn forward src/", "review"),
        ("git commit -m x", "vcs"),
        ("vim src/model.py", "edit_code"),
        ("sed -i s/64/32/ configs/base.yaml", "edit_config"),
        ("pip install flash-attn", "env"),
        ("uv pip install x", "env"),
        ("pytest -q tests/a.py", "test"),
        ("make build", "build"),
        ("python tools/export.py", "run"),
        ("ls -la", "other"),
    ],
)
def test_step_kinds(command, kind):
    assert kind in STEP_KINDS
    assert command_kind(command) == kind


def test_oom_fixed_in_the_models_code_is_debug_and_in_the_config_deploy_fix():
    in_code = [("python train.py", 1), ("save src/model.py", None), ("python train.py", 0)]
    in_config = [("python train.py", 1), ("save configs/a.yaml", None), ("python train.py", 0)]
    assert kinds_of(in_code, {0: OOM}) == ["debug"]
    assert kinds_of(in_config, {0: OOM}) == ["deploy_fix"]


def test_evidence_time_to_fix_launches_and_metric_deltas():
    actions = [("python train.py --lr 1", 1), ("save configs/a.yaml", None),
               ("python train.py --lr 1", 0), ("python train.py --lr 2", 0)]  # fmt: skip
    outputs = {0: OOM, 2: "loss=2.0\nloss=1.5\nacc: 0.5\n", 3: "loss=1.2\nacc: 0.7\n"}
    result = episode_kinds(steps_of(actions, outputs))
    assert result.kinds == ["deploy_fix", "experiment"]
    assert result.evidence == {"deploy_fix": [0, 1, 2], "experiment": [2, 3]}
    assert result.time_to_fix_s == 2.0
    assert result.launches_until_success == 2
    assert result.metric_deltas == [("acc", 0.5, 0.7, pytest.approx(0.2)),
                                    ("loss", 1.5, 1.2, pytest.approx(-0.3))]  # fmt: skip


def test_a_plain_retry_that_passes_is_neither_debug_nor_deploy_fix():
    assert kinds_of([("python train.py", 1), ("python train.py", 0)]) == []


def test_metrics_in_every_common_print():
    text = "\n".join([
        "step 10 loss=2.5 lr=3e-4",
        "Epoch 1: loss: 2.0 - accuracy: 0.61",
        '{"loss": 1.5, "eval_f1": 0.7}',
        "{'eval_loss': 0.41, 'eval_accuracy': 0.86, 'epoch': 1.0}",
        "50%|#####     | 50/100 [00:05<00:05, 9.8it/s, loss=1.25]",
        "Epoch 0: 100%|##| 50/50 [00:03<00:00, v_num=3, train_loss=0.9, val_acc=0.8]",
        "grad_norm=3.0 myloss=9 tokens: 12",
    ])  # fmt: skip
    found = {m.name: m for m in parse_metrics(text)}
    assert set(found) == {"loss", "lr", "accuracy", "eval_f1", "eval_loss", "eval_accuracy",
                          "train_loss", "val_acc"}  # fmt: skip
    loss = found["loss"]
    assert (loss.first, loss.last, loss.min, loss.max, loss.count) == (2.5, 1.25, 1.25, 2.5, 4)
    assert found["lr"].last == 3e-4 and found["eval_loss"].last == 0.41


def test_alarms():
    assert alarms("loss=1.0\nloss=nan\n", 1) == ["nan_loss"]
    assert alarms('{"loss": Infinity}', 0) == ["inf_loss"]
    assert alarms("loss=0.5\nloss=0.4\nloss=6.0\n", 0) == ["loss_spike"]
    assert alarms("loss=8.0\nloss=4.0\nloss=0.9\n", 0) == []  # falling from a high start
    assert alarms("RuntimeError: CUDA out of memory. Tried", 1) == ["oom"]
    assert alarms("RuntimeError: NCCL error in: ../x.cpp, unhandled system error", 1) == [
        "nccl_error"
    ]
    assert alarms("OSError: [Errno 28] No space left on device", 1) == ["disk_full"]
    assert alarms("Killed\n", 137) == ["killed"]
    assert alarms("", 0, pipestatus=[137, 0]) == ["killed"]
    assert math.isnan(parse_metrics("loss=nan")[0].last)


# -- a real export ------------------------------------------------------------------------


def _research_session(lay) -> None:
    """Three episodes with neutral task texts: debug, deploy_fix, review."""
    s = SessionScript(lay)
    s.task("episode one")
    s.command("pytest tests/test_a.py", exit=1, output="FAILED tests/test_a.py::t - assert\n")
    s.save("/work/repo/src/a.py")
    s.command("pytest tests/test_a.py", exit=0, output="3 passed\n", gap=10)
    s.task("episode two")
    s.command("python train.py --bsz 64", exit=137, output="step 1 loss=2.0\nKilled\n")
    s.command("python train.py --bsz 8", exit=0, output="step 1 loss=2.0\nstep 2 loss=1.0\n")
    s.task("episode three")
    s.command("git log --oneline", exit=0, output="a1 x\n")
    s.command("git blame src/a.py", exit=0, output="a1 line\n")
    s.end().ingest()


def test_the_export_carries_kinds_metrics_and_alarms(lay, tmp_path):
    _research_session(lay)
    tables = export_rows(lay, tmp_path / "out")
    episodes = tables["episodes"]
    assert [e["task_kinds"] for e in episodes] == [["debug"], ["deploy_fix"], ["review"]]
    debug, deploy, review = episodes
    assert debug["task_kind_evidence"] == [{"kind": "debug", "steps": [0, 1, 2]}]
    assert debug["time_to_fix_s"] == pytest.approx(13.0)  # save 2 s, then 10 s, then 1 s of run
    assert deploy["launches_until_success"] == 2
    assert deploy["metric_deltas"] == [{"name": "loss", "first": 2.0, "last": 1.0, "delta": -1.0}]
    assert review["time_to_fix_s"] is None
    steps = {s["action"]["command"] or s["action"]["path"]: s for s in tables["steps"]}
    killed = steps["python train.py --bsz 64"]
    assert killed["alarms"] == ["killed"] and killed["step_kind"] == "launch"
    assert killed["metrics"] == [
        {"name": "loss", "first": 2.0, "last": 2.0, "min": 2.0, "max": 2.0, "count": 1}
    ]
    assert steps["/work/repo/src/a.py"]["step_kind"] == "edit_code"
    assert (
        steps["git blame src/a.py"]["metrics"] == [] and steps["git log --oneline"]["alarms"] == []
    )


def test_task_kind_filter_and_card(lay, tmp_path, run_cli):
    _research_session(lay)
    out = tmp_path / "only"
    run_cli("export", "--include-unapproved", "--quiet", "--out", str(out),
            "--task-kind", "deploy_fix,review")  # fmt: skip
    tables = export_rows(lay, tmp_path / "all")  # the whole session, for comparison
    import pyarrow.dataset as ds

    def read(name):
        return ds.dataset(out / name, format="parquet").to_table().to_pylist()

    kept = read("episodes")
    assert sorted(e["task"] for e in kept) == ["episode three", "episode two"]
    assert {s["episode_id"] for s in read("steps")} == {e["episode_id"] for e in kept}
    commands = {e["command"] for e in read("events") if e["event_type"] == "command"}
    assert "python train.py --bsz 8" in commands and "git blame src/a.py" in commands
    assert not commands & {"pytest tests/test_a.py"}
    assert len(read("events")) < len(tables["events"])
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["task_kinds"]["deploy_fix"] == {"episodes": 1, "median_time_to_fix_s": 3.0}
    assert info["task_kinds"]["debug"]["episodes"] == 0
    card = (out / "README.md").read_text()
    assert "| deploy_fix | 1 | 3.0 |" in card and "| review | 1 | - |" in card
    whole = json.loads((tmp_path / "all" / "meta" / "info.json").read_text())
    assert whole["task_kinds"]["debug"] == {"episodes": 1, "median_time_to_fix_s": 13.0}
    assert set(whole["task_kinds"]) == set(KIND_NAMES)


def test_an_unknown_task_kind_is_one_clear_error(run_cli, tmp_path):
    proc = run_cli("export", "--out", str(tmp_path / "x"), "--task-kind", "cooking", check=False)
    assert proc.returncode != 0
    assert "unknown task kind" in proc.stderr and "Traceback" not in proc.stderr


def test_the_documented_taxonomy_is_the_data():
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "labels.md").read_text()
    for kind in TASK_KINDS:
        row = f"| `{kind.name}` | {kind.definition} | {kind.evidence} | {kind.confusers} |"
        assert row in doc, kind.name
    for name, what in STEP_KINDS.items():
        assert f"| `{name}` | {what} |" in doc, name
