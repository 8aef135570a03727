"""`recorder completion`: tab completion of commands, options and sessions in real shells."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from shellkit import SHELLS
from waitkit import wait_until

# zsh's completion system must be loaded before click's script registers itself with it.
SETUP = {
    "bash": 'eval "$(recorder completion bash)"',
    "zsh": 'autoload -Uz compinit && compinit -u && eval "$(recorder completion zsh)"',
}


def completions(words: str, env: dict[str, str] | None = None) -> list[str]:
    """What the installed CLI offers for the last of ``words`` (click's bash protocol)."""
    parts = words.split(" ")
    proc = subprocess.run(
        ["recorder"],
        env={
            **os.environ,
            **(env or {}),
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
            "_RECORDER_COMPLETE": "bash_complete",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines()]


def typed_line(sh) -> str:
    return sh.cursor_line().removeprefix("READY> ").strip()


@pytest.mark.slow
@pytest.mark.parametrize("kind", SHELLS)
def test_tab_completes_commands_and_sessions_in_the_shell(kind, lab, run_cli):
    session_id = run_cli("start", "--name", "dataloader-bug").stdout.strip()
    run_cli("stop")
    sh = lab.spawn(kind, after=SETUP[kind])
    sh.keys("recorder expo", "Tab")
    wait_until(lambda: typed_line(sh) == "recorder export", what=f"{kind}: the command")
    sh.keys("C-u", "recorder show dataloa", "Tab")
    wait_until(lambda: typed_line(sh) == "recorder show dataloader-bug", what=f"{kind}: the name")
    sh.keys("C-u", f"recorder approve {session_id[:20]}", "Tab")
    wait_until(lambda: typed_line(sh) == f"recorder approve {session_id}", what=f"{kind}: the id")


def test_a_session_name_that_could_reach_the_terminal_as_control_is_not_offered(run_cli):
    plain = run_cli("start", "--name", "plain-name").stdout.strip()
    run_cli("stop")
    odd = run_cli("start", "--name", "x\x1b]0;owned\x07").stdout.strip()
    run_cli("stop")
    offered = completions("recorder show ")
    assert offered[0] == "last"
    assert {plain, odd, "plain-name"} <= set(offered)
    assert not [v for v in offered if not v.isprintable()]
    assert completions("recorder export --fo") == ["--format"]


def test_completion_without_a_home_offers_commands_and_fails_silently(tmp_path):
    env = {"RECORDER_HOME": str(tmp_path / "nowhere")}
    assert completions("recorder sta", env) == ["start", "status"]
    assert completions("recorder show ", env) == ["last"]
    assert not (tmp_path / "nowhere").exists()  # completing creates no home


def test_every_shell_gets_a_script_that_calls_back_into_recorder(run_cli):
    for shell in ("bash", "zsh", "fish"):
        script = run_cli("completion", shell).stdout
        assert "_RECORDER_COMPLETE" in script and f"{shell}_complete" in script
    proc = run_cli("completion", "tcsh", check=False)
    assert proc.returncode == 2 and "tcsh" in proc.stderr
    assert json.loads(run_cli("status", "--json").stdout)["recording"] is False
