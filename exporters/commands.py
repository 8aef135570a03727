"""Command keys: what a shell command runs, whatever its options and launchers.

:func:`command_key` reads a command line as ``(program, first argument)``, looking
through schedulers, distributed launchers, wrappers and environment runners
(``srun -p gpu python train.py`` is ``(python, train.py)``) with :data:`PROGRAMS`, a
table of the launchers and of the programs whose options take values, each with
examples a test runs. On keys rest the questions the labels and the step builder
ask of a command: is it the recorder's own (``recorder task``), does it run a
terminal editor, does it run tests or a build. docs/labels.md ("Command key")
defines every rule.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from functools import lru_cache

Key = tuple[str, str | None]


@dataclass(frozen=True)
class Program:
    """How :func:`command_key` reads a command whose program is one of ``names`` (each one
    or more words: ``"accelerate launch"``; a module name is what ``python -m`` runs).

    ``values`` are its options that take a value, space-separated: ``:2`` after one that
    takes two, ``:#`` after one whose value is optional and a number (``make -j 8``), ``:?``
    after one whose value is optional and is not an option; ``--name_*`` stands for every
    option starting ``--name_``. Long options are compared with ``-`` read as ``_``.
    ``runs`` is what the words after its options are: ``""`` its own arguments (the key is
    the program and the first of them), ``"command"`` a command it launches, ``"python"`` a
    Python script it launches. ``then`` counts its own words between its options and what it
    launches (``timeout 60 cmd``). After a ``module`` flag it launches a module
    (``torchrun -m pkg.train``), after a ``plain`` flag a program (``--no_python``). A
    ``key_flags`` option is the key's second element (``cmake --build``). ``skip`` words
    are passed over as a first argument (``npm run build``). ``getopt``: its one-letter
    options cluster and take attached values (``-xk expr``, ``-pgpu``); false where
    single-dash options are words (``mpirun -np 4``). ``examples`` are commands and the keys
    they must give: a test runs every one.
    """

    names: tuple[str, ...]
    examples: tuple[tuple[str, Key | None], ...]
    values: str = ""
    runs: str = ""
    then: int = 0
    module: str = ""
    plain: str = ""
    key_flags: str = ""
    skip: tuple[str, ...] = ()
    getopt: bool = True


_SLURM = (
    "-A --account -b --begin -c --cpus-per-task -C --constraint -d --dependency -D --chdir "
    "-G --gpus -J --job-name -L --licenses -m --distribution -n --ntasks -N --nodes "
    "-p --partition -q --qos -t --time -w --nodelist -x --exclude -S --core-spec --gres "
    "--gpus-per-node --gpus-per-task --cpus-per-gpu --mem --mem-per-cpu --mem-per-gpu "
    "--ntasks-per-node --export --gpu-bind --mail-type --mail-user --comment --reservation "
    "--time-min --tmp --signal --hint --network --container "
)
_MPI = (
    "-n -np --np -c -N -npernode --npernode -npersocket --npersocket -H -host --host "
    "-hostfile --hostfile -machinefile --machinefile -x -wdir --wdir -wd -path --prefix "
    "-map-by --map-by -bind-to --bind-to -rank-by --rank-by -mca:2 --mca:2 -gmca:2 --gmca:2 "
    "-ppn -hosts -f -genv:2 -env:2 -genvlist -envlist -output-filename --output-filename"
)
_PYTEST = (
    "-k -m -p -c -o -n -W -r --rootdir --basetemp --confcutdir --deselect --ignore "
    "--ignore-glob --durations --durations-min --maxfail --tb --log-level --log-cli-level "
    "--log-file --junitxml --junit-xml --cov:? --cov-report --cov-config --cov-fail-under "
    "--timeout --dist --reruns --cache-dir --import-mode --capture --color --override-ini "
    "--config-file --show-capture --doctest-glob"
)
_ACCELERATE = (
    "--config_file --num_processes --num_machines --machine_rank --main_process_ip "
    "--main_process_port --mixed_precision --gpu_ids --num_cpu_threads_per_process "
    "--rdzv_backend --rdzv_conf --max_restarts --monitor_interval --zero_stage "
    "--gradient_accumulation_steps --gradient_clipping --offload_optimizer_device "
    "--offload_param_device --main_training_function --downcast_bf16 --dynamo_backend "
    "--dynamo_mode --deepspeed_* --fsdp_* --megatron_lm_*"
)
_UV = (
    "-w --with --with-editable --with-requirements -p --python --project --directory "
    "--package --extra --group --only-group --no-group --env-file --index --default-index "
    "--index-url --extra-index-url --find-links --cache-dir --config-file"
)
PY, TRAIN = "python", ("python", "train.py")

# What a command runs, for the programs whose own options take values and for those that
# launch other commands (schedulers, distributed launchers, wrappers, environment runners).
PROGRAMS = (
    # -- Slurm: srun and salloc run the command; sbatch only submits a script, so its exit
    #    status is not the job's and its key stays its own.
    Program(("srun",), values=_SLURM + "-e --error -i --input -o --output -W --wait -T "
            "--threads -r --relative --cpu-bind --mpi --het-group --prolog --epilog "
            "--task-prolog --task-epilog", runs="command", examples=(
        ("srun -p gpu python train.py", TRAIN),
        ("srun -N 2 -n 8 -c 4 -t 01:00:00 --gres gpu:4 --mem 64G python train.py --lr 3", TRAIN),
        ("srun --partition=gpu -A proj -J run1 ./train.sh", ("train.sh", None)),
        ("srun -pgpu -N1 --pty bash", ("bash", None)),
        ("srun -p gpu torchrun --nproc_per_node 4 train.py", TRAIN),
    )),
    Program(("salloc",), values=_SLURM, runs="command", examples=(
        ("salloc -N 1 -p gpu srun python train.py", TRAIN),
        ("salloc -N 2 --time 30", ("salloc", None)),
    )),
    Program(("sbatch",), values=_SLURM + "-a --array -e --error -i --input -o --output "
            "--wrap --open-mode", examples=(
        ("sbatch -p gpu --time 4:00:00 job.sh", ("sbatch", "job.sh")),
        ("sbatch --array 0-9 -J sweep sweep.sh 3", ("sbatch", "sweep.sh")),
        ("sbatch --wrap 'python train.py'", ("sbatch", None)),
    )),
    # -- distributed launchers: they run a Python script (or a module, or a program)
    Program(("torchrun", "torch.distributed.run", "torch.distributed.launch"), runs="python",
            values="--nnodes --nproc_per_node --node_rank --master_addr --master_port --rdzv_* "
            "--max_restarts --monitor_interval --start_method --role --log_dir -r --redirects "
            "-t --tee --local_addr --logs_specs --local_ranks_filter --event_log_handler",
            module="-m --module", plain="--no_python", examples=(
        ("torchrun --nproc_per_node 8 train.py", TRAIN),
        ("torchrun --nnodes 2 --nproc-per-node 8 --rdzv_backend c10d --rdzv-endpoint h:29500 "
         "train.py --cfg a.yaml", TRAIN),
        ("torchrun --standalone --nproc_per_node=4 -m pkg.train", ("pkg.train", None)),
        ("torchrun --no_python --nproc_per_node 2 ./run.sh", ("run.sh", None)),
        ("python -m torch.distributed.run --nproc_per_node 2 train.py", TRAIN),
        ("python3 -m torch.distributed.launch --use_env --nproc_per_node 2 train.py", TRAIN),
    )),
    Program(("accelerate launch", "accelerate.commands.launch"), values=_ACCELERATE,
            runs="python", module="-m --module", plain="--no_python", examples=(
        ("accelerate launch train.py", TRAIN),
        ("accelerate launch --num_processes 8 --mixed_precision bf16 --config_file c.yaml "
         "train.py --lr 3e-4", TRAIN),
        ("accelerate launch --multi_gpu --num_processes=2 -m pkg.train", ("pkg.train", None)),
        ("accelerate launch --use_fsdp --fsdp_sharding_strategy 1 train.py", TRAIN),
        ("python -m accelerate.commands.launch --num_processes 2 eval.py", (PY, "eval.py")),
        ("accelerate config", ("accelerate", "config")),  # not a launch
    )),
    Program(("deepspeed",), runs="python", module="--module", plain="--no_python",
            values="--num_gpus --num_nodes -H --hostfile -i --include -e --exclude "
            "--master_port --master_addr --launcher --launcher_args --node_rank "
            "--min_elastic_nodes --max_elastic_nodes --ssh_port --bind_core_list --autotuning",
            examples=(
        ("deepspeed train.py --deepspeed ds.json", TRAIN),
        ("deepspeed --num_gpus 8 --master_port 29501 train.py", TRAIN),
        ("deepspeed -H hosts -i worker-1:0,1 --num_nodes=2 train.py", TRAIN),
        ("deepspeed --no_python --num_gpus 2 ./run.sh", ("run.sh", None)),
    )),
    Program(("mpirun", "mpiexec"), values=_MPI, runs="command", getopt=False, examples=(
        ("mpirun -np 4 python train.py", TRAIN),
        ("mpirun -n 8 -x NCCL_DEBUG=INFO --mca btl ^openib --bind-to none ./a.out 10",
         ("a.out", "10")),
        ("mpiexec -hostfile hosts -ppn 2 python -m pkg.main", ("pkg.main", None)),
    )),
    # -- Python and its tests
    Program((PY,), values="-W -X --check-hash-based-pycs", module="-m", examples=(
        ("python train.py --lr 3", TRAIN),
        ("python3.11 -u train.py", TRAIN),
        (".venv/bin/python -W ignore -X dev train.py", TRAIN),
        ("python -m http.server 8000", ("http.server", "8000")),
        ("python -um pytest", ("pytest", None)),
        ("python -c 'print(1)'", (PY, "print(1)")),
        ("python", (PY, None)),
    )),
    Program(("pytest", "py.test"), values=_PYTEST, examples=(
        ("pytest -k x tests/a.py", ("pytest", "tests/a.py")),
        ("pytest -x -k 'slow and not gpu' -m integration -p no:cacheprovider -n 4 tests/b.py",
         ("pytest", "tests/b.py")),
        ("python -m pytest -q -c ci.ini --rootdir . tests", ("pytest", "tests")),
        ("pytest --cov src --cov-report xml tests/c.py", ("pytest", "tests/c.py")),
        ("pytest --cov -x tests", ("pytest", "tests")),
        ("pytest -xk loader", ("pytest", None)),
        ("py.test --tb short tests", ("py.test", "tests")),
    )),
    # -- wrappers: they run the rest of the line
    Program(("sudo",), runs="command", values="-u --user -g --group -C --close-from -D "
            "--chdir -p --prompt -r --role -t --type -U --other-user -T --command-timeout",
            examples=(
        ("FOO=1 sudo -E make test", ("make", "test")),
        ("sudo -u alice -g gpu python train.py", TRAIN),
    )),
    Program(("env",), runs="command", values="-u --unset -C --chdir -S --split-string",
            examples=(
        ("env CUDA_VISIBLE_DEVICES=0 python train.py", TRAIN),
        ("env -u HOME -C /tmp A=1 B=2 ./run.sh x", ("run.sh", "x")),
    )),
    Program(("time",), runs="command", values="-f --format -o --output", examples=(
        ("time cargo test", ("cargo", "test")),
        ("/usr/bin/time -f %M -o mem.txt python train.py", TRAIN),
    )),
    Program(("nice",), runs="command", values="-n --adjustment", examples=(
        ("nice -n 10 python train.py", TRAIN),
        ("nice -5 make", ("make", None)),
    )),
    Program(("nohup",), runs="command", examples=(
        ("nohup python train.py --epochs 90", TRAIN),
    )),
    Program(("exec", "command", "builtin", "noglob"), runs="command", values="-a", examples=(
        ("exec -a server python serve.py", (PY, "serve.py")),
        ("noglob pytest tests/a.py", ("pytest", "tests/a.py")),
    )),
    Program(("timeout",), runs="command", then=1, values="-s --signal -k --kill-after",
            examples=(
        ("timeout 3600 python train.py", TRAIN),
        ("timeout -s INT -k 10 1h srun -p gpu python train.py", TRAIN),
    )),
    Program(("stdbuf",), runs="command", values="-i --input -o --output -e --error",
            examples=(
        ("stdbuf -oL python train.py", TRAIN),
        ("stdbuf -o 0 -e 0 python eval.py", (PY, "eval.py")),
    )),
    Program(("taskset",), runs="command", then=1, examples=(
        ("taskset -c 0-7 python train.py", TRAIN),
        ("taskset 0x3 ./bench", ("bench", None)),
    )),
    Program(("numactl",), runs="command", values="-N --cpunodebind -m --membind -C "
            "--physcpubind -p --preferred -i --interleave", examples=(
        ("numactl -N 0 -m 0 python train.py", TRAIN),
        ("numactl --cpunodebind=1 --membind=1 python eval.py", (PY, "eval.py")),
    )),
    Program(("ionice",), runs="command", values="-c --class -n --classdata", examples=(
        ("ionice -c 3 make -j 8", ("make", None)),
    )),
    Program(("watch",), runs="command", values="-n --interval", examples=(
        ("watch -n 1 nvidia-smi", ("nvidia-smi", None)),
    )),
    # -- environment runners
    Program(("uv run",), runs="command", values=_UV, examples=(
        ("uv run pytest", ("pytest", None)),
        ("uv run --with torch -p 3.11 python train.py", TRAIN),
        ("uv run --project ../lib -- python -m pkg", ("pkg", None)),
        ("uv run", ("uv", "run")),
    )),
    Program(("uvx",), runs="command", values="--from -w --with --with-editable "
            "--with-requirements -p --python", examples=(
        ("uvx ruff check .", ("ruff", "check")),
        ("uvx --from black==24.1 black src", ("black", "src")),
    )),
    Program(("poetry run",), runs="command", values="-C --directory -P --project", examples=(
        ("poetry run pytest tests", ("pytest", "tests")),
    )),
    Program(("pipenv run",), runs="command", examples=(
        ("pipenv run python manage.py test", (PY, "manage.py")),
    )),
    Program(("pdm run",), runs="command", values="-p --project", examples=(
        ("pdm run -p ../lib pytest", ("pytest", None)),
    )),
    Program(("hatch run",), runs="command", examples=(
        ("hatch run python train.py", TRAIN),
    )),
    Program(("conda run", "mamba run", "micromamba run"), runs="command",
            values="-n --name -p --prefix --cwd", examples=(
        ("conda run -n ml python train.py", TRAIN),
        ("micromamba run --name ml --cwd src --no-capture-output pytest -q", ("pytest", None)),
    )),
    Program(("pixi run",), runs="command", values="-e --environment --manifest-path",
            examples=(
        ("pixi run -e cuda python train.py", TRAIN),
    )),
    Program(("npx", "bunx"), runs="command", values="-p --package", examples=(
        ("npx jest --watch", ("jest", None)),
        ("npx -p typescript tsc src/a.ts", ("tsc", "src/a.ts")),
    )),
    # -- other programs whose options take values
    Program(("npm", "yarn", "pnpm", "bun"), skip=("run", "run-script"),
            values="--prefix -w --workspace --cwd -C --dir -F --filter", examples=(
        ("npm run build", ("npm", "build")),
        ("npm --prefix web run -s test", ("npm", "test")),
        ("pnpm -C web --filter app build", ("pnpm", "build")),
        ("yarn test", ("yarn", "test")),
    )),
    Program(("git",), values="-C -c --git-dir --work-tree --namespace --config-env",
            getopt=False, examples=(
        ("git -C ../lib status", ("git", "status")),
        ('git -c user.name=x commit -m "fix it"', ("git", "commit")),
    )),
    Program(("make",), values="-C --directory -f --file --makefile -I --include-dir -o "
            "--old-file -W --what-if --new-file -j:# --jobs:# -l:# --load-average:#",
            examples=(
        ("make -j 8 test", ("make", "test")),
        ("make -C build -f Makefile.ci all", ("make", "all")),
        ("make -j test", ("make", "test")),
        ("make -j8", ("make", None)),
    )),
    Program(("cmake",), values="-S -B -G -T -A -C -D -U --preset --target -t --config "
            "-j:# --parallel:#", key_flags="--build --install", examples=(
        ("cmake --build build -j 8", ("cmake", "--build")),
        ("cmake -S . -B build -G Ninja", ("cmake", None)),
        ("cmake ..", ("cmake", "..")),
    )),
    Program(("ssh",), values="-b -B -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w",
            examples=(
        ("ssh -p 2222 -i ~/.ssh/id gpu-node nvidia-smi", ("ssh", "gpu-node")),
    )),
    Program(("kubectl",), values="-n --namespace --context --cluster --kubeconfig --user",
            examples=(
        ("kubectl -n ml logs -f job/train", ("kubectl", "logs")),
    )),
)  # fmt: skip

OPTIONAL_NUMBER, OPTIONAL_WORD = -1, -2  # arities of ``:#`` and ``:?`` values


@dataclass(frozen=True)
class _Reader:
    """A :class:`Program` compiled for reading: option -> how many values; flag -> mode."""

    program: Program
    arity: dict[str, int]
    prefixes: tuple[str, ...]
    modes: dict[str, str]


def _long(option: str) -> str:
    return "--" + option[2:].replace("-", "_") if option.startswith("--") else option


def _reader(program: Program) -> _Reader:
    arity, prefixes = {}, []
    for spec in program.values.split():
        name, _, count = spec.partition(":")
        if name.endswith("*"):
            prefixes.append(_long(name[:-1]))
            continue
        codes = {"": 1, "#": OPTIONAL_NUMBER, "?": OPTIONAL_WORD}
        arity[_long(name)] = codes[count] if count in codes else int(count)
    modes = {}
    for mode in ("module", "plain", "key_flags"):
        for flag in getattr(program, mode).split():
            modes[_long(flag)] = mode
    return _Reader(program, arity, tuple(prefixes), modes)


def _readers() -> dict[str, list[tuple[tuple[str, ...], _Reader]]]:
    """First word -> (the name's further words, reader), the longest names first."""
    table: dict[str, list[tuple[tuple[str, ...], _Reader]]] = {}
    for program in PROGRAMS:
        reader = _reader(program)
        for name in program.names:
            first, *rest = name.split()
            table.setdefault(first, []).append((tuple(rest), reader))
    for entries in table.values():
        entries.sort(key=lambda entry: -len(entry[0]))
    return table


_READERS = _readers()
_PYTHON = re.compile(r"python[0-9.]*")  # python3, python3.11: all `python`
# Segments that set the stage rather than do the work: `cd src && pytest` is a pytest run.
_SETUP = {"cd", "pushd", "popd", "source", ".", "export", "set", "unset", "clear", "echo",
          "true", "alias", "ulimit", "umask"}  # fmt: skip
_OPERATORS = {"&&", "||", ";", "|", "|&", "&"}


@lru_cache(maxsize=65536)
def command_key(command: str | None) -> Key | None:
    """What a command runs, ignoring options and their values: ``(program, first
    argument)``, looking through launchers (``srun -p gpu python train.py`` is
    ``(python, train.py)``).

    Two commands with the same key are runs of the same thing (``pytest -x tests/a.py``
    and ``pytest tests/a.py``). See docs/labels.md for every rule.
    """
    if not command or not command.strip():
        return None
    keyed = [k for k in map(_segment_key, _segments(command_words(command))) if k is not None]
    if not keyed:
        return None
    working = [k for k in keyed if k[0] not in _SETUP]
    for key in working:
        if not is_recorder_key(key):
            return key
    return working[0] if working else keyed[0]


def command_words(command: str) -> list[str]:
    """A command line's words as the shell splits them (operators as words of their own)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: fall back to whitespace
        return command.split()


def _segments(words: list[str]) -> list[list[str]]:
    segments: list[list[str]] = [[]]
    for word in words:
        if word in _OPERATORS:
            segments.append([])
        else:
            segments[-1].append(word)
    return [s for s in segments if s]


def _segment_key(words: list[str]) -> Key | None:
    while True:  # each turn reads one program; a launcher hands over what it launches
        words = _drop_assignments(words)
        if not words:
            return None
        program = os.path.basename(words[0])
        if _PYTHON.fullmatch(program):
            program = PY
        reader, start = _lookup(program, words)
        if reader is None:  # unknown options: the first word that is not one
            args = [w for w in words[1:] if not w.startswith("-")]
            return (program, args[0] if args else None)
        at, mode, key_flag = _read_options(words, start, reader)
        runs = reader.program.runs
        if mode is None and runs == "":
            if key_flag is not None:
                return (program, key_flag)
            if at < len(words) and words[at] in reader.program.skip:
                at = _read_options(words, at + 1, reader)[0]
            return (program, words[at] if at < len(words) else None)
        at += reader.program.then
        if at >= len(words):  # a launcher launching nothing
            return (program, words[1] if start > 1 else None)
        words = [PY, *words[at:]] if mode is None and runs == "python" else words[at:]


def _lookup(program: str, words: list[str]) -> tuple[_Reader | None, int]:
    """The reader of the program ``words`` start with, and how many words its name has."""
    for rest, reader in _READERS.get(program, ()):
        if not rest or tuple(words[1 : 1 + len(rest)]) == rest:
            return reader, 1 + len(rest)
    return None, 0


def _read_options(words: list[str], at: int, reader: _Reader) -> tuple[int, str | None, str | None]:
    """Pass over the options from ``words[at]`` and their values: the position of the
    first other word, the mode a flag set (module, plain) and the key flag seen."""
    mode = key_flag = None
    while at < len(words):
        word = words[at]
        if word[:1] != "-" or word == "-":
            break
        at += 1
        if word == "--":
            break
        count, flag = _option(word, reader)
        if flag == "key_flags":
            key_flag = word.partition("=")[0]
        elif flag is not None:
            mode = flag
        if count < 0:
            nxt = words[at] if at < len(words) else ""
            take = nxt.isdigit() if count == OPTIONAL_NUMBER else nxt[:1] not in ("", "-")
            count = 1 if take else 0
        at += count
    return at, mode, key_flag


def _option(word: str, reader: _Reader) -> tuple[int, str | None]:
    """How many of the next words option ``word`` takes as values, and its mode if a flag."""
    if word.startswith("--"):
        name, eq, _ = word.partition("=")
        name = _long(name)
        flag = reader.modes.get(name)
        if eq:
            return 0, flag
        count = reader.arity.get(name)
        if count is None:
            count = 1 if reader.prefixes and name.startswith(reader.prefixes) else 0
        return count, flag
    if word in reader.arity or word in reader.modes:
        return reader.arity.get(word, 0), reader.modes.get(word)
    if not reader.program.getopt:
        return 0, None
    flag = None
    for k in range(1, len(word)):  # -xk: flags then maybe one that takes a value
        letter = "-" + word[k]
        flag = reader.modes.get(letter, flag)
        count = reader.arity.get(letter)
        if count is not None:
            return (count if k == len(word) - 1 else 0), flag  # -pgpu: attached value
    return 0, flag


def _drop_assignments(words: list[str]) -> list[str]:
    """Leading ``NAME=value`` words."""
    i = 0
    while i < len(words) and "=" in words[i] and words[i].split("=", 1)[0].isidentifier():
        i += 1
    return words[i:]


# -- the recorder's own commands, terminal editors ---------------------------------------


def is_recorder_key(key: Key | None) -> bool:
    """The key of a command that runs the recorder (``recorder task``, ``python -m recorder``)."""
    return key is not None and (key[0] == "recorder" or key[0].startswith("recorder."))


def is_recorder_command(command: str | None) -> bool:
    """``command`` runs only the recorder (and set-up such as ``cd``): ``recorder task x``,
    ``~/.local/bin/recorder stop``, ``python -m recorder status``; not ``recorder task x &&
    pytest``."""
    return is_recorder_key(command_key(command))


# Programs whose file changes are the researcher's edits, not the command's outcome.
TERMINAL_EDITORS = {"vi", "vim", "nvim", "view", "nano", "pico", "emacs", "emacsclient", "micro",
                    "hx", "helix", "kak", "joe", "ne", "mcedit", "ed", "jed"}  # fmt: skip


def is_editor(key: Key | None) -> bool:
    """The key of a command that runs a terminal editor (``vim train.py``)."""
    return key is not None and key[0] in TERMINAL_EDITORS


_TEST_PROGRAMS = {"pytest", "py.test", "tox", "nox", "jest", "vitest", "mocha", "ctest",
                  "rspec", "phpunit", "unittest", "nosetests", "ava", "karma"}  # fmt: skip
_BUILD_PROGRAMS = {"make", "ninja", "tsc", "gcc", "g++", "clang", "clang++", "cc", "c++",
                   "javac", "rustc", "meson", "scons", "msbuild"}  # fmt: skip
_TEST_OR_BUILD_SUBCOMMANDS = {
    "cargo": {"test", "build", "check", "clippy", "nextest", "bench"},
    "go": {"test", "build", "vet"},
    "npm": {"test", "build", "t"},
    "yarn": {"test", "build"},
    "pnpm": {"test", "build"},
    "bun": {"test", "build"},
    "mvn": {"test", "verify", "package", "install", "compile"},
    "gradle": {"test", "build", "check", "assemble"},
    "gradlew": {"test", "build", "check", "assemble"},
    "dotnet": {"test", "build"},
    "bazel": {"test", "build"},
    "swift": {"test", "build"},
    "mix": {"test", "compile"},
    "cmake": {"--build"},
    "deno": {"test"},
    "stack": {"test", "build"},
    "cabal": {"test", "build"},
    "zig": {"test", "build"},
}


def is_test_or_build(key: Key | None) -> bool:
    if key is None:
        return False
    program, first = key
    if program in _TEST_PROGRAMS or program in _BUILD_PROGRAMS:
        return True
    return first in _TEST_OR_BUILD_SUBCOMMANDS.get(program, ())
