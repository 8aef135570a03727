"""`make demo`: record a scripted demonstration session and show what was captured.

A private tmux server runs bash with the recorder's hook; the script types a
short debugging session into it (a failing run, a fix in a watched repository,
a passing run, a secret that must not survive), stops the recording, prints the
timeline, exports the session to a Parquet dataset and loads it back with
Hugging Face `datasets` to show a few training steps. Everything lives under
`.demo/` in the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".demo"
PROMPT = "demo$ "

TRAIN_PY = """\
import sys

batch_size = 0
samples = 64
print(f"training on {samples} samples")
steps = samples // batch_size
print(f"{steps} steps per epoch: ok")
"""

SCRIPT = [
    "cd project",
    'recorder task "make train.py run"',
    "python3 train.py",
    "sed -i 's/batch_size = 0/batch_size = 8/' train.py",
    "python3 train.py",
    "export WANDB_API_KEY=0123456789abcdef0123456789abcdef01234567",
    "git add -A && git commit -qm 'fix the batch size' && git log --oneline | head -1",
]


def sh(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, text=True, **kw)


def prepare(env: dict[str, str]) -> Path:
    shutil.rmtree(DEMO, ignore_errors=True)
    project = DEMO / "project"
    project.mkdir(parents=True)
    (project / "train.py").write_text(TRAIN_PY)
    git = ["git", "-C", str(project), "-c", "user.name=Demo", "-c", "user.email=demo@example.org"]
    sh(*git, "init", "-q")
    sh(*git, "add", "-A")
    sh(*git, "commit", "-qm", "initial")
    rc = DEMO / "bashrc"
    rc.write_text(f"PS1='{PROMPT}'\neval \"$(recorder hook bash)\"\n")
    return project


def wait_for_prompts(pane, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = pane.capture_pane(start=-2000)  # trailing spaces are stripped
        if sum(line.startswith(PROMPT.strip()) for line in lines) >= count:
            return
        time.sleep(0.1)
    raise RuntimeError("the demo shell did not come back to its prompt")


def run_session(env: dict[str, str]) -> None:
    import libtmux

    server = libtmux.Server(socket_name=f"recorder-demo-{os.getpid()}")
    try:
        session = server.new_session(
            session_name="demo",
            start_directory=str(DEMO),
            environment=env,
            window_command=f"bash --noprofile --rcfile {DEMO / 'bashrc'} -i",
            x=160,
            y=50,
        )
        pane = session.active_window.active_pane
        wait_for_prompts(pane, 1)
        for i, command in enumerate(SCRIPT, start=2):
            print(f"  {PROMPT}{command}")
            pane.send_keys(command, enter=True)
            wait_for_prompts(pane, i)
            time.sleep(0.2)
        pane.send_keys("exit", enter=True)
        time.sleep(0.5)
    finally:
        if server.is_alive():
            server.kill()


def main() -> int:
    env = {**os.environ, "RECORDER_HOME": str(DEMO / "home")}
    os.environ.update(env)
    recorder = shutil.which("recorder")
    if recorder is None:
        print("recorder is not installed: run `make demo`", file=sys.stderr)
        return 1
    project = prepare(env)
    print("== recording a demonstration session in a private tmux server")
    session_id = sh(
        recorder,
        "start",
        "--name",
        "demo: fix train.py",
        "--watch",
        str(project),
        capture_output=True,
    ).stdout.strip()
    print(f"  session {session_id}")
    try:
        run_session(env)
    finally:
        sh(recorder, "stop")
    print("\n== recorder sessions")
    sh(recorder, "sessions")
    print("\n== recorder show last")
    sh(recorder, "show", "last")
    export_and_load(recorder)
    print(f"\nEverything is under {DEMO}; RECORDER_HOME={DEMO / 'home'} recorder show last")
    return 0


def export_and_load(recorder: str) -> None:
    """Approve the session, export it and load its steps back with Hugging Face datasets."""
    from recorder.cli import cli

    if "export" not in cli.commands:
        return
    out = DEMO / "dataset"
    if "approve" in cli.commands:  # what a user does: review, approve, then export
        print("\n== recorder approve last")
        sh(recorder, "approve", "last")
    print("\n== recorder export")
    sh(recorder, "export", "--out", str(out))
    print("\n== loading the steps with datasets")
    code = (
        "import datasets, json\n"
        f"steps = datasets.load_dataset({str(out)!r}, 'steps', split='train')\n"
        "print(steps)\n"
        "for row in steps.select(range(min(4, len(steps)))):\n"
        "    a, o = row['action'], row['outcome']\n"
        "    print('episode', int(row['episode_id'].rsplit('-e', 1)[1]), 'step', row['step_index'], a['type'],"
        " (a['command'] or a['path'] or '')[:60], '-> exit', o['exit_code'])\n"
    )
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(DEMO / "hf")}
    sh(sys.executable, "-c", code, env=env)


if __name__ == "__main__":
    sys.exit(main())
