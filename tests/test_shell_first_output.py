"""The first command typed after `recorder start` keeps its output, in every pane.

A pane waiting at a prompt drawn before the session started tells the tmux collector
about itself only when its hook next runs, which used to be that first command's start:
its output went by before the pane was piped.
"""

from __future__ import annotations

import pytest
from commandkit import commands, wait_commands
from shellkit import SHELLS
from waitkit import wait_until

pytestmark = pytest.mark.slow  # real shells in tmux, daemons started and stopped


def outputs_of(lay) -> dict[str, str | None]:
    return {c["command"]: c["output"] for c in commands(lay)}


@pytest.mark.parametrize("kind", SHELLS)
def test_a_shell_started_before_any_session_keeps_its_first_output(kind, lab, lay, run_cli):
    sh = lab.spawn(kind)  # idle at its prompt; no session yet
    run_cli("start")

    try:
        sh.run("echo first-$((40 + 2))")
        sh.run("echo second-$((40 + 3))")
        wait_commands(lay, 2)
        wait_until(lambda: all(outputs_of(lay).values()), what="both outputs")
        assert outputs_of(lay) == {"echo first-$((40 + 2))": "first-42\n",
                                   "echo second-$((40 + 3))": "second-43\n"}  # fmt: skip
    finally:
        run_cli("stop")


@pytest.mark.parametrize("kind", SHELLS)
def test_the_next_session_keeps_the_first_output_of_an_idle_pane(kind, lab, lay, run_cli):
    sh = lab.spawn(kind)
    run_cli("start")
    sh.run("echo in-the-first-session")
    wait_commands(lay, 1)
    run_cli("stop")
    run_cli("start")  # the pane sits at the prompt drawn during the first session
    try:
        sh.run("echo next-$((40 + 4))")
        wait_commands(lay, 2)
        wait_until(lambda: outputs_of(lay).get("echo next-$((40 + 4))"), what="the output")
        assert outputs_of(lay)["echo next-$((40 + 4))"] == "next-44\n"
    finally:
        run_cli("stop")
