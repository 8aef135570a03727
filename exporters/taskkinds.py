"""What each episode teaches: the kind of each step's action and the task kinds of the
episode, with the outcome signals that reward them.

:data:`TASK_KINDS` is the taxonomy, kept as data (a definition, the evidence used, the
confusers, and example episodes a test runs), and :data:`STEP_KINDS` the kinds of a
single action. :func:`command_kind` and :func:`file_kind` give a step its kind;
:func:`episode_kinds` decides an episode's kinds from its steps (multi-label, each with
the step indexes that decided it) and :func:`outcome_signals` its ``time_to_fix_s``,
``launches_until_success`` and ``metric_deltas``. Kinds come from the actions alone:
the task text is not read, so an episode called "episode four" gets its kind too.
Everything here is a pure function of steps. docs/labels.md ("Task kinds") is the
reference.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from exporters.commands import TERMINAL_EDITORS, command_key, command_words, is_test_or_build
from exporters.metrics import Metric

# -- the taxonomy -------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskKind:
    """One task kind: what it is, what decides it, what it must not be taken for, and
    example episodes (each a list of ``(command or "save PATH", exit code)``) that must get
    it (``examples``) or must not (``not_examples``); a test runs them all."""

    name: str
    definition: str
    evidence: str
    confusers: str
    examples: tuple[tuple[tuple[str, int | None], ...], ...]
    not_examples: tuple[tuple[tuple[str, int | None], ...], ...] = ()


# fmt: off
TASK_KINDS = (
    TaskKind(
        "implement",
        "Code edits, then a run that exercises the edited code, with no failure first.",
        "A code edit with no failed run before it, and the first run after it passes "
        "(evidence: the edit and that run).",
        "A run that fails after the edit makes it debug; edits of config only are not code.",
        (
            (("save src/model.py", None), ("pytest tests/test_model.py", 0)),
            (("git diff", 0), ("vim src/data.py", 0), ("python scripts/smoke.py", 0)),
        ),
        ((("save configs/a.yaml", None), ("pytest", 0)), (("save src/a.py", None), ("pytest", 1))),
    ),
    TaskKind(
        "debug",
        "A failure (a traceback, a failing test), then edits to code, then the same command "
        "passes.",
        "A failed run, a code edit after it, and a later run with the same command key that "
        "passes (evidence: the failure, the edits between, the passing run).",
        "An OOM fixed by editing the model's code is debug, not deploy_fix; a failure fixed "
        "without touching code is not debug.",
        (
            (("pytest tests/t.py", 1), ("save src/a.py", None), ("pytest tests/t.py", 0)),
            (("python train.py", 1), ("vim model.py", 0), ("python train.py", 0)),
        ),
        ((("python train.py", 1), ("save configs/a.yaml", None), ("python train.py", 0)),),
    ),
    TaskKind(
        "deploy_fix",
        "A launch (srun, sbatch, torchrun, accelerate, deepspeed, docker, a training script) "
        "fails for reasons of environment or configuration (OOM, a missing file or module, a "
        "bad flag, a scheduler refusal); then config, environment, arguments or data paths "
        "change, not the model's code; then the launch succeeds.",
        "A failed launch, a later launch with the same command key that passes, no code edit "
        "between them and some change: a config edit, an environment command (pip install, "
        "export, mkdir, ln ...) or other arguments (evidence: the failure, the changes, the "
        "passing launch).",
        "A code edit between the failure and the success makes it debug; a plain retry "
        "that passes with nothing changed is neither.",
        (
            (("sbatch -p big job.sh", 1), ("sbatch -p gpu job.sh", 0)),
            (("torchrun train.py", 1), ("pip install flash-attn", 0), ("torchrun train.py", 0)),
            (("python train.py", 1), ("save configs/a.yaml", None), ("python train.py", 0)),
        ),
        (
            (("python train.py", 1), ("save src/model.py", None), ("python train.py", 0)),
            (("python train.py", 1), ("python train.py", 0)),
        ),
    ),
    TaskKind(
        "experiment",
        "Launches of training or evaluation, with the arguments or config changed between "
        "launches.",
        "Two or more launches that did not fail, whose command lines differ or with a config "
        "edit between them (evidence: those launches).",
        "`python train.py --help` is no launch; one launch is no experiment; a failed "
        "launch and its fix are deploy_fix.",
        (
            (("python train.py --lr 1e-3", 0), ("python train.py --lr 3e-4", 0)),
            (("sbatch job.sh", 0), ("save configs/a.yaml", None), ("sbatch job.sh", 0)),
        ),
        ((("python train.py --help", 0), ("python train.py -h", 0)), (("python train.py", 0),)),
    ),
    TaskKind(
        "monitor",
        "Watching jobs and logs: tail, watch, squeue, sacct, nvidia-smi, htop, tensorboard "
        "and wandb commands, less on logs.",
        "Monitoring steps: two or more, or at least half of the episode's substantive "
        "commands (evidence: those steps).",
        "`tail README.md` reads a document, not a log; one glance at nvidia-smi in other "
        "work is not monitoring.",
        ((("squeue -u me", 0), ("tail -f logs/train.log", 130)), (("watch -n 5 nvidia-smi", 130),)),
        ((("tail README.md", 0), ("less CONTRIBUTING.md", 0)),),
    ),
    TaskKind(
        "data_inspect",
        "Looking at data files: head, wc, jq, duckdb, sqlite3, python -c or scripts that "
        "read them.",
        "Data-inspection steps: two or more, or at least half of the episode's substantive "
        "commands (evidence: those steps).",
        "head or wc on code or documents is not data inspection.",
        (
            (("head -n 5 data/train.jsonl", 0), ("wc -l data/train.jsonl", 0)),
            (("duckdb -c \"select count(*) from 'x.parquet'\"", 0),),
        ),
        ((("head README.md", 0), ("wc -l src/model.py", 0)),),
    ),
    TaskKind(
        "review",
        "Reading code and history before changing it: git log, git diff, git show, git "
        "blame and grep over code, with no edits.",
        "Review steps (two or more, or at least half of the substantive commands) and no "
        "edit in the episode (evidence: the review steps).",
        "`git diff` followed by an edit is not pure review; grep over a log is monitoring.",
        (
            (("git log --oneline", 0), ("git blame src/a.py", 0)),
            (("grep -rn forward src/", 0), ("git show HEAD~1", 0)),
        ),
        ((("git diff", 0), ("git log", 0), ("save src/a.py", None), ("pytest", 0)),),
    ),
)
# fmt: on
KIND_NAMES = tuple(k.name for k in TASK_KINDS)

# The kind of one step's action (steps.step_kind).
STEP_KINDS = {
    "edit_code": "a save of a code file, or a terminal editor or sed -i on one",
    "edit_config": "the same for any other file: config, job script, data, docs",
    "launch": "a training or evaluation launch: srun, sbatch, torchrun, accelerate, deepspeed, "
    "mpirun, docker run, or a script named for training or evaluation",
    "test": "a test run (pytest, cargo test, npm test ...)",
    "build": "a build (make, cargo build, gcc ...)",
    "run": "any other script or program run (python tool.py, ./script.sh)",
    "monitor": "a look at jobs, logs or devices",
    "data_inspect": "a look at data files",
    "review": "a read of code or its history",
    "env": "a change to the environment: install, export, module load, mkdir, ln, cp, mv",
    "vcs": "other git commands (status, add, commit, checkout ...)",
    "help": "a program's --help or -h",
    "other": "anything else (ls, cd, echo ...)",
}
RUN_KINDS = frozenset({"launch", "test", "build", "run"})
EDIT_KINDS = frozenset({"edit_code", "edit_config"})
# Kinds that say nothing of the task (left out of "substantive commands").
TRIVIAL_KINDS = frozenset({"other", "vcs"})

# -- step kinds -----------------------------------------------------------------------------

CODE_EXTENSIONS = frozenset(
    [
        ".py",
        ".pyx",
        ".pxd",
        ".ipynb",
        ".c",
        ".cc",
        ".cpp",
        ".cxx",
        ".h",
        ".hh",
        ".hpp",
        ".cu",
        ".cuh",
        ".rs",
        ".go",
        ".js",
        ".mjs",
        ".ts",
        ".tsx",
        ".jsx",
        ".java",
        ".kt",
        ".scala",
        ".jl",
        ".r",
        ".lua",
        ".rb",
        ".php",
        ".swift",
        ".m",
        ".mm",
        ".hs",
        ".ml",
        ".ex",
        ".exs",
        ".cs",
        ".f90",
        ".sql",
    ]
)
DATA_EXTENSIONS = frozenset(
    [
        ".csv",
        ".tsv",
        ".jsonl",
        ".ndjson",
        ".json",
        ".parquet",
        ".arrow",
        ".feather",
        ".npy",
        ".npz",
        ".h5",
        ".hdf5",
        ".pkl",
        ".pickle",
        ".db",
        ".sqlite",
        ".sqlite3",
        ".duckdb",
        ".tfrecord",
        ".avro",
        ".orc",
        ".xlsx",
        ".txt.gz",
        ".csv.gz",
        ".jsonl.gz",
        ".zst",
        ".mat",
        ".pt",
        ".safetensors",
    ]
)
LOG_EXTENSIONS = frozenset([".log", ".out", ".err"])
_DATA_DIRS = ("data/", "datasets/", "dataset/", "corpus/", "raw/")
_LOG_DIRS = ("logs/", "log/", "runs/", "outputs/", "wandb/", "lightning_logs/")

LAUNCHERS = frozenset({"srun", "sbatch", "salloc", "torchrun", "deepspeed", "mpirun", "mpiexec",
                       "qsub", "bsub"})  # fmt: skip
_LAUNCH_NAME = re.compile(r"(?:^|[_\-/])(?:train|training|finetune|fine_tune|pretrain|eval|"
                          r"evaluate|evaluation|sweep|launch|infer|inference|benchmark)")  # fmt: skip
MONITORS = frozenset({"squeue", "sacct", "sinfo", "sstat", "scontrol", "qstat", "bjobs",
                      "nvidia-smi", "nvtop", "gpustat", "htop", "top", "btop", "glances",
                      "tensorboard", "wandb", "mlflow", "aim", "journalctl", "dmesg", "ps",
                      "watch"})  # fmt: skip
DATA_TOOLS = frozenset({"jq", "duckdb", "sqlite3", "csvlook", "csvstat", "csvcut", "xsv", "qsv",
                        "mlr", "parquet-tools", "parquet", "h5ls", "h5dump", "visidata", "vd",
                        "datamash"})  # fmt: skip
READERS = frozenset({"head", "tail", "wc", "cat", "less", "more", "bat", "zcat", "zless", "cut",
                     "sort", "uniq", "awk", "column", "file", "stat", "od", "xxd", "hexdump",
                     "grep", "rg", "ag", "ack", "zgrep", "view"})  # fmt: skip
REVIEW_GIT = frozenset({"log", "diff", "show", "blame", "grep", "shortlog", "reflog", "annotate",
                        "whatchanged", "range-diff"})  # fmt: skip
ENV_PROGRAMS = frozenset({"pip", "pip3", "conda", "mamba", "micromamba", "module", "ml", "export",
                          "mkdir", "ln", "cp", "mv", "rm", "chmod", "chown", "rsync", "scp",
                          "unset", "source", "spack", "apt", "apt-get", "brew", "npm", "yarn",
                          "huggingface-cli", "wget", "curl", "tar", "unzip", "poetry",
                          "virtualenv", "direnv"})  # fmt: skip
_ENV_SUBCOMMANDS = {"uv": {"pip", "add", "sync", "venv", "lock"}, "python": {"pip", "venv"}}
_PY = re.compile(r"^python[0-9.]*$")
_TEST_FIRST = frozenset({"test", "nextest", "t", "verify", "check", "vet", "clippy", "bench"})
_SEGMENT_BREAKS = frozenset({"&&", "||", ";", "|", "|&", "&"})
_WRAPPERS = frozenset({"sudo", "env", "time", "nice", "nohup", "exec", "command", "builtin",
                       "noglob", "timeout", "stdbuf", "taskset", "numactl", "ionice"})  # fmt: skip


@lru_cache(maxsize=65536)
def file_kind(path: str | None) -> str:
    """A file step's kind: ``edit_code`` for a code file, else ``edit_config``."""
    return "edit_code" if is_code_path(path) else "edit_config"


def is_code_path(path: str | None) -> bool:
    return bool(path) and os.path.splitext(path)[1].lower() in CODE_EXTENSIONS


def is_data_path(word: str) -> bool:
    low = word.lower().strip("'\"")
    if any(low.endswith(ext) for ext in DATA_EXTENSIONS):
        return not low.endswith(("package.json", "tsconfig.json"))
    return low.startswith(_DATA_DIRS) or any("/" + d in low for d in _DATA_DIRS)


def is_log_path(word: str) -> bool:
    low = word.lower()
    return (
        os.path.splitext(low)[1] in LOG_EXTENSIONS or low.startswith(_LOG_DIRS) or ("slurm-" in low)
    )


@lru_cache(maxsize=65536)
def command_kind(command: str | None) -> str:
    """The kind of a command step's action (:data:`STEP_KINDS`), from its words alone."""
    if not command or not command.strip():
        return "other"
    words = command_words(command)
    segments = _segments(words)
    kinds = [_segment_kind(seg) for seg in segments]
    for preferred in ("help", "launch", "edit_code", "edit_config", "test", "build", "run",
                      "monitor", "data_inspect", "review", "env", "vcs"):  # fmt: skip
        if preferred in kinds:
            return preferred
    return "other"


def _segments(words: list[str]) -> list[list[str]]:
    segments: list[list[str]] = [[]]
    for word in words:
        if word in _SEGMENT_BREAKS:
            segments.append([])
        elif not (segments[-1] == [] and "=" in word and word.split("=", 1)[0].isidentifier()):
            segments[-1].append(word)
    return [s for s in segments if s]


def _segment_kind(words: list[str]) -> str:
    program = os.path.basename(words[0])
    args = words[1:]
    if program in _WRAPPERS and args:
        rest = [w for w in args if not w.startswith("-") and not w.replace(".", "").isdigit()]
        if rest:
            return _segment_kind(words[words.index(rest[0]) :])
    if "--help" in args or ("-h" in args and program not in ("head", "tail", "sort")):
        return "help"
    first = next((w for w in args if not w.startswith("-")), None)
    if program in LAUNCHERS or (program == "accelerate" and first == "launch"):
        return "launch"
    if program in ("docker", "podman", "singularity", "apptainer", "enroot") and first in (
        "run", "exec", "compose",
    ):  # fmt: skip
        return "launch"
    if program in TERMINAL_EDITORS or program in ("code", "subl", "gedit"):
        return _edit_of(args)
    if program in ("sed", "perl") and any(w.startswith(("-i", "-pi")) for w in args):
        return _edit_of(args[1:])
    if program == "git":
        return "review" if first in REVIEW_GIT else "vcs"
    if program in MONITORS:
        return "monitor"
    if program in DATA_TOOLS:
        return "data_inspect"
    if program in READERS:
        return _reader_kind(program, args)
    key = command_key(" ".join(words))
    if key is not None and is_test_or_build(key):
        return "test" if _is_test(key) else "build"
    if program in ENV_PROGRAMS or first in _ENV_SUBCOMMANDS.get(_PY.sub("python", program), ()):
        return "env"
    if program.startswith("python") or program in ("uv", "poetry", "pipenv", "pdm"):
        return _python_kind(words, key)
    if program in ("bash", "sh", "zsh") and first:
        return "launch" if _LAUNCH_NAME.search(os.path.basename(first)) else "run"
    if words[0].startswith(("./", "/", "~/")) or program.endswith((".sh", ".py")):
        return "launch" if _LAUNCH_NAME.search(program) else "run"
    if program in ("node", "ruby", "java", "Rscript", "julia", "go", "cargo", "deno", "bun"):
        return "run"
    return "other"


def _edit_of(args: list[str]) -> str:
    files = [w for w in args if not w.startswith(("-", "+"))]
    return "edit_code" if any(is_code_path(f) for f in files) else "edit_config"


def _reader_kind(program: str, args: list[str]) -> str:
    files = [w for w in args if not w.startswith("-")]
    if program in ("tail", "less") and ("-f" in args or "-F" in args or "+F" in args):
        return "monitor"
    if any(is_log_path(f) for f in files):
        return "monitor"
    if any(is_data_path(f) for f in files):
        return "data_inspect"
    if program in ("grep", "rg", "ag", "ack") or any(is_code_path(f) for f in files):
        return "review"
    return "other"


def _is_test(key) -> bool:
    program, first = key
    return program in ("pytest", "py.test", "tox", "nox", "jest", "vitest", "mocha", "ctest",
                       "rspec", "phpunit", "unittest", "nosetests", "ava", "karma") or (
        first in _TEST_FIRST
    )  # fmt: skip


def _python_kind(words: list[str], key) -> str:
    if "-c" in words:
        code = words[words.index("-c") + 1] if words.index("-c") + 1 < len(words) else ""
        return "data_inspect" if _reads_data(code) else "run"
    if key is None:
        return "other"
    program, first = key
    if program == "python" and first is None:
        return "other"  # an interactive interpreter
    if program in ("pip", "venv", "uv"):
        return "env"
    if _LAUNCH_NAME.search(_script_name(first if program == "python" else program)):
        return "launch"
    if any(is_data_path(w) for w in _operands(words[2:])):
        return "data_inspect"
    return "run"


def _script_name(target: str | None) -> str:
    """``scripts/train_lm.py`` -> ``train_lm``; a module ``pkg.train`` -> ``train``."""
    if not target:
        return ""
    base = os.path.basename(target)
    stem, ext = os.path.splitext(base)
    return stem if ext in (".py", ".sh") else base.rpartition(".")[2]


def _operands(words: list[str]) -> list[str]:
    """The words that are not options nor the value of a config option (``--config
    x.json`` names a config, not data)."""
    kept, skip = [], False
    for w in words:
        if skip:
            skip = False
        elif w.startswith("-"):
            skip = "config" in w or "cfg" in w
        else:
            kept.append(w)
    return kept


_DATA_READS = re.compile(
    r"read_(?:csv|json|parquet|table|excel|feather)|load_dataset|json\.load|np\.load|"
    r"pq\.read|duckdb|sqlite3|open\(|torch\.load|datasets"
)


def _reads_data(code: str) -> bool:
    return bool(_DATA_READS.search(code)) or any(is_data_path(w) for w in code.split("'"))


# -- episode kinds ----------------------------------------------------------------------


@dataclass(frozen=True)
class KindStep:
    """What the task-kind rules read of a step."""

    kind: str  # its step kind
    key: tuple | None  # a command's key (exporters.commands.command_key)
    command: str | None  # the command line (None for file steps)
    failed: bool | None
    end: int  # a command's end, else its time; microseconds
    metrics: Sequence[Metric] = ()


@dataclass
class EpisodeKinds:
    kinds: list[str]  # in the order of KIND_NAMES
    evidence: dict[str, list[int]]  # kind -> the step indexes that decided it
    time_to_fix_s: float | None
    launches_until_success: int | None
    metric_deltas: list[tuple[str, float, float, float]]  # (name, first, last, last - first)


LOOK_MIN_STEPS = 2  # a looking kind needs this many of its steps,
LOOK_MIN_SHARE = 0.5  # or this share of the substantive commands


def episode_kinds(steps: Sequence[KindStep]) -> EpisodeKinds:
    """An episode's task kinds, with their evidence, and its outcome signals."""
    evidence: dict[str, list[int]] = {}
    for name, rule in _RULES:
        found = rule(steps)
        if found:
            evidence[name] = found
    fixes = [evidence[k] for k in ("debug", "deploy_fix") if k in evidence]
    time_to_fix = None
    if fixes:
        first = min(fixes, key=lambda ev: ev[0])
        time_to_fix = max(0, steps[first[-1]].end - steps[first[0]].end) / 1e6
    return EpisodeKinds(
        kinds=[k for k in KIND_NAMES if k in evidence],
        evidence=evidence,
        time_to_fix_s=time_to_fix,
        launches_until_success=launches_until_success(steps),
        metric_deltas=metric_deltas(steps),
    )


def _runs(steps: Sequence[KindStep]) -> list[int]:
    return [i for i, s in enumerate(steps) if s.kind in RUN_KINDS]


def implement_evidence(steps: Sequence[KindStep]) -> list[int]:
    """The first code edit with no failed run before it, if the first run after it passed."""
    for i, s in enumerate(steps):
        if s.kind in RUN_KINDS and s.failed:
            return []  # a failure came first
        if s.kind == "edit_code":
            after = next((j for j in range(i + 1, len(steps)) if steps[j].kind in RUN_KINDS), None)
            if after is not None and steps[after].failed is False:
                return [i, after]
            return []
    return []


def _fixes(steps: Sequence[KindStep]):
    """(failure, success, code edits between, other changes between) for each failed run
    and the first later run with its key that passed."""
    for f, s in enumerate(steps):
        if s.kind not in RUN_KINDS or not s.failed or s.key is None:
            continue
        ok = next((j for j in range(f + 1, len(steps)) if steps[j].key == s.key
                   and steps[j].kind in RUN_KINDS and steps[j].failed is False), None)  # fmt: skip
        if ok is None:
            continue
        between = range(f + 1, ok)
        code = [k for k in between if steps[k].kind == "edit_code"]
        changes = [k for k in between if steps[k].kind in ("edit_config", "env")]
        yield f, ok, code, changes


def debug_evidence(steps: Sequence[KindStep]) -> list[int]:
    for f, ok, code, _ in _fixes(steps):
        if code:
            return [f, *code, ok]
    return []


def deploy_fix_evidence(steps: Sequence[KindStep]) -> list[int]:
    for f, ok, code, changes in _fixes(steps):
        if steps[f].kind != "launch" or code:
            continue
        if changes or _arguments(steps[f].command) != _arguments(steps[ok].command):
            return [f, *changes, ok]
    return []


def experiment_evidence(steps: Sequence[KindStep]) -> list[int]:
    launches = [i for i, s in enumerate(steps) if s.kind == "launch" and s.failed is not True]
    if len(launches) < 2:
        return []
    lines = {_arguments(steps[i].command) for i in launches}
    config_between = any(
        steps[k].kind == "edit_config" for k in range(launches[0] + 1, launches[-1])
    )
    return launches if len(lines) > 1 or config_between else []


def _looking(kind: str):
    def rule(steps: Sequence[KindStep]) -> list[int]:
        mine = [i for i, s in enumerate(steps) if s.kind == kind]
        substantive = sum(1 for s in steps if s.command is not None and s.kind not in TRIVIAL_KINDS)
        if len(mine) >= LOOK_MIN_STEPS or (mine and len(mine) >= LOOK_MIN_SHARE * substantive):
            return mine
        return []

    return rule


def review_evidence(steps: Sequence[KindStep]) -> list[int]:
    if any(s.kind in EDIT_KINDS for s in steps):
        return []
    return _looking("review")(steps)


_RULES = (
    ("implement", implement_evidence),
    ("debug", debug_evidence),
    ("deploy_fix", deploy_fix_evidence),
    ("experiment", experiment_evidence),
    ("monitor", _looking("monitor")),
    ("data_inspect", _looking("data_inspect")),
    ("review", review_evidence),
)


def _arguments(command: str | None) -> str:
    """A command line with its white space normalised: what experiment compares."""
    return " ".join((command or "").split())


# -- outcome signals ------------------------------------------------------------------------


def launches_until_success(steps: Sequence[KindStep]) -> int | None:
    """Launches up to and including the first that passed; None if none passed."""
    count = 0
    for s in steps:
        if s.kind == "launch":
            count += 1
            if s.failed is False:
                return count
    return None


def metric_deltas(steps: Sequence[KindStep]) -> list[tuple[str, float, float, float]]:
    """For each metric printed by two or more launches: its last value in the first launch
    that printed it, in the last one, and the change (by name)."""
    seen: dict[str, list[float]] = {}
    for s in steps:
        if s.kind == "launch":
            for m in s.metrics:
                seen.setdefault(m.name, []).append(m.last)
    return [
        (name, values[0], values[-1], values[-1] - values[0])
        for name, values in sorted(seen.items())
        if len(values) >= 2
    ]
