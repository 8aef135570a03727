"""Task kinds end to end: one episode of every kind, typed in real bash and zsh in tmux
with neutral task texts, exported for real; metrics and alarms from the runs' output."""

from __future__ import annotations

import pytest
from commandkit import wait_commands
from filekit import make_repo
from sessionkit import export_rows
from shellkit import SHELLS

pytestmark = pytest.mark.slow

TRAIN = """\
import argparse
p = argparse.ArgumentParser()
p.add_argument("--data")
p.add_argument("--lr", type=float, default=0.1)
a = p.parse_args()
open(a.data).read()
for k in range(3):
    print(f"step {k} loss={1.0 / (k + 1) / a.lr / 10:.3f} lr={a.lr}")
if a.lr > 1:
    print("step 3 loss=nan")
"""
TOOL = "value = 1\nraise ValueError('broken')\n"
FILES = {
    "train.py": TRAIN,
    "tool.py": TOOL,
    "lib.py": "def one():\n    return 1\n",
    "check.py": "import lib\nprint('ok', lib.one())\n",
    "data/sample.csv": "id,label\n1,a\n2,b\n",
    "logs/train.log": "step 1 loss=0.3\nstep 2 loss=0.2\n",
    "README.md": "# demo\nNothing to see.\n",
}
# (neutral task text, commands, the kinds its episode must get)
EPISODES = [
    ("episode one", ["sed -i 's/return 1/return 2/' lib.py", "python3 check.py"], ["implement"]),
    (
        "episode two",
        ["python3 tool.py", "sed -i 's/^raise.*/print(value)/' tool.py", "python3 tool.py"],
        ["debug"],
    ),
    (
        "episode three",
        [
            "python3 train.py --data data/missing.csv",
            "cp data/sample.csv data/missing.csv",
            "python3 train.py --data data/missing.csv",
        ],
        ["deploy_fix"],
    ),
    (
        "episode four",
        [
            "python3 train.py --data data/sample.csv --lr 0.1",
            "python3 train.py --data data/sample.csv --lr 2",
        ],
        ["experiment"],
    ),
    (
        "episode five",
        ["tail -n 1 logs/train.log", "ps -o pid,comm", "tail -n 2 logs/train.log"],
        ["monitor"],
    ),
    ("episode six", ["head -n 2 data/sample.csv", "wc -l data/sample.csv"], ["data_inspect"]),
    (
        "episode seven",
        ["git log --oneline", "grep -n def lib.py", "git show --stat HEAD"],
        ["review"],
    ),
    ("episode eight", ["tail README.md", "python3 train.py --help", "ls"], []),
]


@pytest.mark.parametrize("shell", SHELLS)
def test_every_kind_typed_in_a_real_shell(shell, lab, run_cli, lay, tmp_path):
    repo = make_repo(tmp_path / "proj", FILES)
    run_cli("start")
    sh = lab.spawn(shell)
    typed = 0
    for n, (task, commands, _) in enumerate(EPISODES):
        sh.run(f'recorder task "{task}"')
        for command in [f"cd {repo}", *commands] if n == 0 else commands:
            sh.run(command)
            typed += 1
        typed += 1
    wait_commands(lay, typed)
    sh.run("recorder stop")
    tables = export_rows(lay, tmp_path / "out")
    episodes = tables["episodes"]
    assert [e["task"] for e in episodes] == [task for task, _, _ in EPISODES]
    assert [e["task_kinds"] for e in episodes] == [kinds for _, _, kinds in EPISODES]
    by_task = {e["task"]: e for e in episodes}
    assert by_task["episode three"]["launches_until_success"] == 2
    assert by_task["episode three"]["time_to_fix_s"] > 0
    deltas = {d["name"]: d for d in by_task["episode four"]["metric_deltas"]}
    assert deltas["lr"]["first"] == 0.1 and deltas["lr"]["last"] == 2.0
    assert deltas["loss"]["first"] == pytest.approx(0.333)  # the first run's last loss
    steps = {s["action"]["command"]: s for s in tables["steps"] if s["action"]["command"]}
    diverged = steps["python3 train.py --data data/sample.csv --lr 2"]
    assert diverged["alarms"] == ["nan_loss"] and diverged["step_kind"] == "launch"
    loss = next(m for m in diverged["metrics"] if m["name"] == "loss")
    assert loss["count"] == 4 and loss["first"] == 0.05 and loss["min"] == pytest.approx(0.017)
    assert steps["python3 train.py --help"]["step_kind"] == "help"
    assert steps["tail README.md"]["step_kind"] == "other"
    assert steps["tail -n 1 logs/train.log"]["step_kind"] == "monitor"
