"""A seeded, labelled set of episodes for the task-kind benchmark (issue 17).

Written from the definitions of the issue before the rules of ``exporters.taskkinds``
were, with its own vocabulary (programs, flags, file names, error texts, metric
prints), and not used to tune them: generate, measure, report. Every episode says
which kinds it truly shows (a set: composites have two; the plain confusers none).

Kinds: implement, debug, deploy_fix, experiment, monitor, data_inspect, review; each
gets at least 12 episodes of its own, plus composites (an experiment watched with
squeue and tail -f; data looked at, then the loader changed and tested) and the
confusers of the issue: ``tail README.md`` is not monitoring, ``python train.py
--help`` is not an experiment, an OOM fixed by editing the model's code is debug, not
deploy_fix, and ``git diff`` followed by an edit is not pure review.

An action is a :class:`Command` (a line, its exit code, its output, how long it ran)
or a :class:`Save` (a file saved in an editor or an IDE outside the shell).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

KINDS = ("implement", "debug", "deploy_fix", "experiment", "monitor", "data_inspect", "review")


@dataclass(frozen=True)
class Command:
    line: str
    exit: int | None = 0
    output: str = ""
    seconds: float = 1.0


@dataclass(frozen=True)
class Save:
    path: str
    added: int = 3
    removed: int = 1


@dataclass
class Episode:
    name: str
    kinds: frozenset[str]
    actions: list[Command | Save] = field(default_factory=list)


# -- vocabulary ---------------------------------------------------------------------------

MODULES = ["src/model.py", "src/data.py", "src/losses.py", "lib/encoder.py", "nets/attn.py",
           "pkg/trainer.py", "src/utils/metrics.py", "model/heads.py"]  # fmt: skip
TESTS = ["tests/test_model.py", "tests/test_data.py", "tests/unit/test_losses.py",
         "test/test_attn.py"]  # fmt: skip
CONFIGS = ["configs/base.yaml", "conf/train.yml", "configs/exp/sweep.toml", "cfg/model.json",
           "jobs/train.sbatch", "scripts/launch.sh"]  # fmt: skip
DATA = ["data/train.jsonl", "data/val.csv", "datasets/reviews.parquet", "data/raw/labels.tsv",
        "corpus/dev.json", "data/images/meta.csv"]  # fmt: skip
LOGS = ["logs/train.log", "runs/exp3/stdout.txt", "slurm-48213.out", "outputs/run.err",
        "logs/eval-2.log"]  # fmt: skip
TRAIN_SCRIPTS = ["train.py", "scripts/train_lm.py", "finetune.py", "pretrain.py",
                 "tools/train_net.py"]  # fmt: skip
EVAL_SCRIPTS = ["eval.py", "scripts/evaluate.py", "evaluate_model.py"]


def _pick(rng: random.Random, items):
    return items[rng.randrange(len(items))]


def _lr(rng) -> str:
    return _pick(rng, ["1e-3", "3e-4", "5e-5", "0.01", "2e-4"])


def _metrics_output(rng: random.Random, steps: int = 4) -> str:
    """A training run's output printing its loss in one of the common ways."""
    style = rng.randrange(6)
    loss = rng.uniform(2.0, 4.0)
    lines = []
    for k in range(steps):
        loss *= rng.uniform(0.6, 0.9)
        acc = min(0.99, 0.4 + 0.1 * k + rng.uniform(0, 0.05))
        if style == 0:
            lines.append(f"step {k * 100} loss={loss:.4f} lr=0.0003")
        elif style == 1:
            lines.append(f"Epoch {k}: loss: {loss:.4f} - accuracy: {acc:.3f}")
        elif style == 2:
            lines.append(f'{{"step": {k * 50}, "loss": {loss:.5f}, "acc": {acc:.4f}}}')
        elif style == 3:
            lines.append(f"{{'loss': {loss:.4f}, 'learning_rate': 4.5e-05, 'epoch': {k + 1}.0}}")
        elif style == 4:
            lines.append(
                f"{k * 25}%|####      | {k * 25}/100 [00:0{k}<00:10, 9.8it/s, loss={loss:.3f}]"
            )
        else:
            lines.append(
                f"Epoch {k}: 100%|##########| 50/50 [00:03<00:00, 14.2it/s, v_num=3, "
                f"train_loss={loss:.3f}, val_acc={acc:.3f}]"
            )
    if rng.random() < 0.5:
        lines.append(f"{{'eval_loss': {loss * 1.1:.4f}, 'eval_accuracy': {acc:.4f}}}")
    return "\n".join(lines) + "\n"


def _traceback(rng: random.Random, error: str) -> str:
    where = _pick(rng, MODULES)
    return (
        "Traceback (most recent call last):\n"
        f'  File "{where}", line {rng.randrange(10, 300)}, in forward\n'
        f"    out = self.proj(x)\n{error}\n"
    )


def _noise(rng: random.Random) -> Command:
    return _pick(rng, [
        Command("ls"), Command("ls -la"), Command("pwd", output="/home/r/proj\n"),
        Command("git status", output="On branch main\nnothing to commit\n"),
        Command("clear"), Command("which python", output="/opt/venv/bin/python\n"),
        Command("echo $CUDA_VISIBLE_DEVICES", output="0,1\n"),
    ])  # fmt: skip


def _maybe_noise(rng: random.Random, actions: list, p: float = 0.4) -> None:
    if rng.random() < p:
        actions.append(_noise(rng))


def _code_edit(rng: random.Random, path: str | None = None) -> list:
    path = path or _pick(rng, MODULES)
    if rng.random() < 0.6:
        return [Save(path, rng.randrange(1, 30), rng.randrange(0, 8))]
    editor = _pick(rng, ["vim", "nvim", "nano", "emacs -nw"])
    return [Command(f"{editor} {path}", seconds=rng.uniform(20, 200)), Save(path)]


def _launch_line(rng: random.Random, script: str | None = None, args: str = "") -> str:
    script = script or _pick(rng, TRAIN_SCRIPTS)
    form = rng.randrange(7)
    if form == 0:
        return f"python {script} {args}".strip()
    if form == 1:
        return f"CUDA_VISIBLE_DEVICES=0 python3 {script} {args}".strip()
    if form == 2:
        return f"srun -p gpu --gres=gpu:1 python {script} {args}".strip()
    if form == 3:
        return f"torchrun --nproc_per_node 4 {script} {args}".strip()
    if form == 4:
        return f"accelerate launch --num_processes 2 {script} {args}".strip()
    if form == 5:
        return f"deepspeed --num_gpus 2 {script} {args}".strip()
    return f"python {script} {args} 2>&1 | tee logs/run.log".strip()


def _passing_tests(rng: random.Random, path: str | None = None) -> Command:
    path = path or _pick(rng, TESTS)
    n = rng.randrange(3, 40)
    form = _pick(rng, ["pytest {p}", "pytest -q {p}", "python -m pytest {p} -x"])
    return Command(form.format(p=path), 0, f"{'.' * n}\n{n} passed in 1.{n}s\n", 3.0)


def _failing_tests(rng: random.Random, path: str | None = None) -> Command:
    path = path or _pick(rng, TESTS)
    form = _pick(rng, ["pytest {p}", "pytest -q {p}", "python -m pytest {p} -x"])
    out = f"..F.\nFAILED {path}::test_shapes - AssertionError: assert 3 == 4\n1 failed, 3 passed\n"
    return Command(form.format(p=path), 1, out, 3.0)


# -- one episode per kind -------------------------------------------------------------------


def implement(rng: random.Random) -> list:
    actions: list = []
    _maybe_noise(rng, actions)
    module = _pick(rng, MODULES)
    for _ in range(rng.randrange(1, 4)):
        actions += _code_edit(rng, module if rng.random() < 0.7 else None)
    if rng.random() < 0.5:
        actions.append(_passing_tests(rng))
    else:
        runner = _pick(rng, ["python scripts/smoke.py", "python -m pkg.cli --dry-run",
                             "python examples/demo.py", "./run_checks.sh"])  # fmt: skip
        actions.append(Command(runner, 0, "ok\n", 2.0))
    if rng.random() < 0.5:
        actions += [Command("git add -A"), Command('git commit -m "add feature"')]
    return actions


def debug(rng: random.Random) -> list:
    actions: list = []
    _maybe_noise(rng, actions)
    module = _pick(rng, MODULES)
    choice = rng.randrange(3)
    if choice == 0:
        failing = _failing_tests(rng)
        passing = Command(failing.line, 0, "12 passed in 1.20s\n", 3.0)
    elif choice == 1:
        script = _pick(rng, ["scripts/preprocess.py", "tools/export.py", "src/cli.py"])
        err = _pick(rng, ["KeyError: 'label'", "TypeError: unsupported operand",
                          "IndexError: list index out of range"])  # fmt: skip
        failing = Command(f"python {script}", 1, _traceback(rng, err), 2.0)
        passing = Command(f"python {script}", 0, "wrote 1200 rows\n", 2.0)
    else:
        line = _launch_line(rng)
        err = _pick(
            rng,
            [
                "RuntimeError: mat1 and mat2 shapes cannot be multiplied (4x3 and 5x6)",
                "ValueError: Expected input batch_size (32) to match target (16)",
            ],
        )
        failing = Command(line, 1, _traceback(rng, err), 40.0)
        passing = Command(line, 0, _metrics_output(rng), 600.0)
    actions.append(failing)
    if rng.random() < 0.4:
        actions.append(_pick(rng, [Command("git diff"), Command(f"grep -n forward {module}")]))
    actions += _code_edit(rng, module)
    if rng.random() < 0.3:
        actions.append(failing)
        actions += _code_edit(rng, module)
    actions.append(passing)
    return actions


_DEPLOY_ERRORS = [
    ("oom", "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"),
    ("path", "FileNotFoundError: [Errno 2] No such file or directory: '/scratch/data/train'"),
    ("module", "ModuleNotFoundError: No module named 'flash_attn'"),
    ("flag", "usage: train.py [-h]\ntrain.py: error: unrecognized arguments: --bsz 64"),
    ("disk", "OSError: [Errno 28] No space left on device"),
]


def deploy_fix(rng: random.Random) -> list:
    actions: list = []
    _maybe_noise(rng, actions)
    if rng.random() < 0.25:  # a scheduler refusal
        job = _pick(rng, ["jobs/train.sbatch", "run.slurm", "submit.sh"])
        actions.append(Command(f"sbatch -p gpu-long {job}", 1,
                               "sbatch: error: invalid partition specified: gpu-long\n"
                               "sbatch: error: Batch job submission failed\n", 0.5))  # fmt: skip
        if rng.random() < 0.5:
            actions.append(Command("sinfo -s", 0, "PARTITION AVAIL\ngpu up\n"))
        actions.append(Command(f"sbatch -p gpu {job}", 0, "Submitted batch job 48213\n", 0.5))
        return actions
    reason, error = _pick(rng, _DEPLOY_ERRORS)
    script = _pick(rng, TRAIN_SCRIPTS)
    config = _pick(rng, CONFIGS[:4])
    before = f"--config {config} --bsz 64" if reason == "flag" else f"--config {config}"
    line = _launch_line(rng, script, before)
    exit_code = 137 if reason == "oom" and rng.random() < 0.3 else 1
    out = "Killed\n" if exit_code == 137 else _traceback(rng, error)
    actions.append(Command(line, exit_code, out, rng.uniform(5, 90)))
    after = line
    if reason == "oom":
        if rng.random() < 0.5:
            actions.append(Save(config, 1, 1))  # batch size down
        else:
            after = line.replace(before, before + " --batch-size 8")
    elif reason == "path":
        fix = _pick(
            rng,
            [
                "ln -s /data/shared/train /scratch/data/train",
                "mkdir -p /scratch/data && cp -r /data/shared/train /scratch/data/",
            ],
        )
        actions.append(Command(fix))
    elif reason == "module":
        actions.append(Command(_pick(rng, ["pip install flash-attn", "uv pip install flash_attn",
                                           "conda install -y flash-attn"]), 0, "Successfully installed\n", 30))  # fmt: skip
    elif reason == "flag":
        after = line.replace("--bsz 64", "--batch_size 64")
    else:
        actions.append(Command("rm -rf checkpoints/old_*"))
        actions.append(Command("export TMPDIR=/scratch/tmp"))
    if rng.random() < 0.3:
        actions.append(_noise(rng))
    actions.append(Command(after, 0, _metrics_output(rng), rng.uniform(300, 3000)))
    return actions


def experiment(rng: random.Random) -> list:
    actions: list = []
    _maybe_noise(rng, actions)
    script = _pick(rng, TRAIN_SCRIPTS + EVAL_SCRIPTS)
    config = _pick(rng, CONFIGS[:4])
    runs = rng.randrange(2, 5)
    for k in range(runs):
        if k and rng.random() < 0.35:
            actions.append(Save(config, 1, 1))
            args = f"--config {config} --seed {k}"
        else:
            args = f"--config {config} --lr {_lr(rng)} --seed {k}"
        line = _launch_line(rng, script, args)
        actions.append(Command(line, 0, _metrics_output(rng), rng.uniform(200, 4000)))
        if rng.random() < 0.25:
            actions.append(Command("nvidia-smi", 0, "| GPU  Name | 0 A100 |\n"))
    return actions


def monitor(rng: random.Random) -> list:
    watchers = [
        Command("squeue -u $USER", 0, "JOBID PARTITION NAME ST\n48213 gpu train R\n"),
        Command("squeue --me -o '%i %T %M'", 0, "48213 RUNNING 1:02:03\n"),
        Command("sacct -j 48213 --format=JobID,State,Elapsed", 0, "48213 RUNNING 01:02:03\n"),
        Command(f"tail -f {_pick(rng, LOGS)}", 130, "step 300 loss=1.23\n", 120),
        Command(f"tail -n 100 {_pick(rng, LOGS)}", 0, "epoch 2 done\n"),
        Command("watch -n 5 nvidia-smi", 130, "", 60),
        Command("nvidia-smi", 0, "| 0 A100 | 38000MiB / 40960MiB |\n"),
        Command("htop", 0, "", 30),
        Command("tensorboard --logdir runs --port 6006", 130, "TensorBoard 2.16 at http://localhost:6006/\n", 300),
        Command(f"less {_pick(rng, LOGS)}", 0, "", 40),
        Command("gpustat -i 2", 130, "", 20),
        Command("wandb sync --sync-all", 0, "Syncing 1 run\n"),
        Command(f"grep -i error {_pick(rng, LOGS)}", 1, ""),
    ]  # fmt: skip
    actions: list = []
    _maybe_noise(rng, actions, 0.3)
    for _ in range(rng.randrange(2, 6)):
        actions.append(_pick(rng, watchers))
    return actions


def data_inspect(rng: random.Random) -> list:
    path = _pick(rng, DATA)
    looks = [
        Command(f"head -n 20 {path}", 0, "id,text,label\n1,good,1\n"),
        Command(f"wc -l {path}", 0, f"10421 {path}\n"),
        Command(f"jq -c '.label' {_pick(rng, ['data/train.jsonl', 'corpus/dev.json'])} | sort | uniq -c", 0, "  5000 0\n  5421 1\n"),
        Command(f"duckdb -c \"SELECT label, count(*) FROM '{path}' GROUP BY 1\"", 0, "│ 0 │ 5000 │\n"),
        Command("sqlite3 data/annotations.db 'select count(*) from labels'", 0, "8841\n"),
        Command(f"python -c \"import pandas as pd; print(pd.read_csv('{path}').describe())\"", 0, "count 10421\n"),
        Command(f"python scripts/peek.py {path} --n 5", 0, "{'text': 'x', 'label': 1}\n"),
        Command(f"cut -f2 {path} | sort | uniq -c | sort -rn | head", 0, " 900 neg\n"),
        Command(f"cat {path} | head -3", 0, "a\tb\n"),
    ]  # fmt: skip
    actions: list = []
    _maybe_noise(rng, actions, 0.3)
    for _ in range(rng.randrange(2, 5)):
        actions.append(_pick(rng, looks))
    return actions


def review(rng: random.Random) -> list:
    module = _pick(rng, MODULES)
    reads = [
        Command("git log --oneline -20", 0, "a1b2c3 fix loader\n"),
        Command(f"git log -p -- {module}", 0, "commit a1b2c3\n"),
        Command("git show HEAD~3", 0, "commit 9f8e7d\n"),
        Command(f"git blame {module}", 0, "a1b2c3 (ana 2025-01-02) def forward\n"),
        Command("git diff main...feature/attn", 0, "diff --git a/x b/x\n"),
        Command("grep -rn 'def forward' src/", 0, "src/model.py:40: def forward\n"),
        Command("rg scheduler --type py", 0, "src/train.py:12: scheduler\n"),
        Command(f"less {module}", 0, "", 90),
        Command(f"cat {module}", 0, "import torch\n"),
        Command("git grep -n warmup", 0, "src/sched.py:3: warmup\n"),
    ]  # fmt: skip
    actions: list = []
    _maybe_noise(rng, actions, 0.3)
    for _ in range(rng.randrange(2, 6)):
        actions.append(_pick(rng, reads))
    return actions


# -- composites and confusers -------------------------------------------------------------


def experiment_watched(rng: random.Random) -> list:
    script = _pick(rng, TRAIN_SCRIPTS)
    job = "jobs/train.sbatch"
    actions = [
        Command(f"sbatch --export=ALL,LR={_lr(rng)} {job}", 0, "Submitted batch job 48213\n")
    ]
    actions += [Command("squeue -u $USER", 0, "48213 gpu R\n"),
                Command("tail -f slurm-48213.out", 130, _metrics_output(rng), 300)]  # fmt: skip
    actions.append(Command(_launch_line(rng, script, f"--lr {_lr(rng)} --seed 2"), 0,
                           _metrics_output(rng), 900))  # fmt: skip
    actions.append(Command(_launch_line(rng, script, f"--lr {_lr(rng)} --seed 3"), 0,
                           _metrics_output(rng), 900))  # fmt: skip
    return actions


def inspect_then_implement(rng: random.Random) -> list:
    path = _pick(rng, DATA)
    actions = [Command(f"head -n 5 {path}", 0, "a,b\n"), Command(f"wc -l {path}", 0, "99\n")]
    actions += _code_edit(rng, "src/data.py")
    actions.append(_passing_tests(rng, "tests/test_data.py"))
    return actions


def readme_and_help(rng: random.Random) -> list:
    """Confusers of monitor and experiment: a README read with tail, a script's help."""
    script = _pick(rng, TRAIN_SCRIPTS)
    actions = [Command("tail README.md", 0, "## License\nMIT\n"),
               Command(f"python {script} --help", 0, "usage: train.py [-h] [--lr LR]\n")]  # fmt: skip
    if rng.random() < 0.5:
        actions.append(Command(f"python {script} -h", 0, "usage: train.py [-h]\n"))
    actions.append(Command("head -n 30 CONTRIBUTING.md", 0, "# Contributing\n"))
    return actions


def oom_fixed_in_code(rng: random.Random) -> list:
    """An OOM fixed by changing the model's code (gradient checkpointing): debug."""
    line = _launch_line(rng, _pick(rng, TRAIN_SCRIPTS), "--config configs/base.yaml")
    oom = _traceback(rng, "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 8.00 GiB")
    actions = [Command(line, 1, oom, 60.0)]
    actions += _code_edit(rng, _pick(rng, ["src/model.py", "nets/attn.py"]))
    actions.append(Command(line, 0, _metrics_output(rng), 1200.0))
    return actions


def diff_then_edit(rng: random.Random) -> list:
    """A review that turns into a change: git diff, git log, then an edit and a test run."""
    module = _pick(rng, MODULES)
    actions = [Command("git diff", 0, "diff --git\n"), Command("git log --oneline -5", 0, "a1\n")]
    actions += _code_edit(rng, module)
    actions.append(_passing_tests(rng))
    return actions


PLAN = (
    ("implement", implement, {"implement"}, 12),
    ("debug", debug, {"debug"}, 12),
    ("deploy_fix", deploy_fix, {"deploy_fix"}, 14),
    ("experiment", experiment, {"experiment"}, 12),
    ("monitor", monitor, {"monitor"}, 12),
    ("data_inspect", data_inspect, {"data_inspect"}, 12),
    ("review", review, {"review"}, 12),
    ("experiment_watched", experiment_watched, {"experiment", "monitor"}, 5),
    ("inspect_then_implement", inspect_then_implement, {"data_inspect", "implement"}, 4),
    ("readme_and_help", readme_and_help, set(), 5),
    ("oom_fixed_in_code", oom_fixed_in_code, {"debug"}, 5),
    ("diff_then_edit", diff_then_edit, {"implement"}, 5),
)


def episodes(seed: int = 17) -> list[Episode]:
    rng = random.Random(seed)
    out = []
    for name, make, kinds, count in PLAN:
        for k in range(count):
            out.append(Episode(f"{name}-{k}", frozenset(kinds), make(rng)))
    return out
