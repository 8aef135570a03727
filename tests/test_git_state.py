"""Each shell command carries its repository, branch and HEAD as they were when it started.

Real bash and zsh in tmux run git commands in a real repository (and a worktree of it)
under a recording daemon; after every command the test asks git itself (``rev-parse``)
what the next command should see. The export's episodes then start and end at the
commits the researcher was really on.
"""

from __future__ import annotations

import pytest
from commandkit import wait_commands, wait_piped
from filekit import GIT_ENV, git, make_repo
from logkit import log_sql
from sessionkit import export_rows
from shellkit import SHELLS

pytestmark = pytest.mark.slow  # end to end: real shells in tmux, a daemon

SHELL_ENV = {**GIT_ENV, "GIT_CONFIG_GLOBAL": "/dev/null"}
NO_GIT = (None, None, None)


def git_state(repo) -> tuple[str, str | None, str]:
    """(work tree, branch or None when detached, HEAD), as git itself says."""
    branch = git(repo, "branch", "--show-current").strip() or None
    return str(repo), branch, git(repo, "rev-parse", "HEAD").strip()


def recorded_states(lay) -> list[tuple]:
    rows = log_sql(
        lay,
        "SELECT command, repo, git_branch, git_head FROM events"
        " WHERE event_type = 'command' ORDER BY ts_start, cmd_seq",
    )
    return [(r["command"], (r["repo"], r["git_branch"], r["git_head"])) for r in rows]


@pytest.mark.parametrize("kind", SHELLS)
def test_commands_carry_the_git_state_at_their_start(kind, lab, session, lay, run_cli, tmp_path):
    work = tmp_path / "work"
    repo = make_repo(work / "proj", {"f": "a\n"})
    sub = repo / "sub"
    sub.mkdir()
    wt = work / "wt"
    sh = lab.spawn(kind, env=SHELL_ENV)
    wait_piped(lay, sh)
    expected = []

    def run(line: str, state: tuple) -> None:
        expected.append((line, state))
        sh.run(line)

    run(f"cd '{sub}'", NO_GIT)  # it starts in work/, outside any repository
    run("echo one", git_state(repo))
    # The daemon sees the repository when it ingests this first command, and watches it from
    # then on; commands before (within the ingest delay) only get states already current
    # then (test_a_command_never_carries_its_own_effect).
    wait_commands(lay, len(expected))
    run("git checkout -q -b feature", git_state(repo))  # still main when it starts
    run("echo two", git_state(repo))
    run("echo x >> ../f && git commit -qam m", git_state(repo))
    run("echo three", git_state(repo))
    run("recorder task second", git_state(repo))
    run("git checkout -q --detach HEAD~1", git_state(repo))
    run("echo four", git_state(repo))
    run(f"git worktree add -q '{wt}' feature", git_state(repo))
    run(f"cd '{wt}'", git_state(repo))
    run("echo five", git_state(wt))
    wait_commands(lay, len(expected))

    states = [state for _, state in expected]
    assert states[2][1:] == ("main", states[1][2])
    assert states[3][1] == "feature" and states[5][1:] != states[3][1:]  # the commit moved it
    assert states[8][1] is None  # detached
    assert recorded_states(lay) == expected

    run_cli("stop")
    episodes = export_rows(lay, tmp_path / "out")["episodes"]
    first, second = episodes
    assert first["repository"] == second["repository"] == str(repo)
    assert (first["start_commit"], first["end_commit"]) == (states[1][2], states[6][2])
    # The second ends in the worktree, at another commit: its own repository's HEAD counts.
    assert states[11][2] != states[8][2]
    assert (second["start_commit"], second["end_commit"]) == (states[7][2], states[8][2])


def test_a_command_never_carries_its_own_effect(lab, session, lay, tmp_path):
    """The first command seen in a repository moves HEAD before ingest reads it: it gets
    the state before, or none (unknown), never the new branch; the next one is exact."""
    repo = make_repo(tmp_path / "work" / "proj", {"f": "a\n"})
    sh = lab.spawn("bash", env=SHELL_ENV)
    wait_piped(lay, sh)
    sh.run(f"cd '{repo}'")
    before = git_state(repo)
    sh.run("git checkout -q -b feature")
    after = git_state(repo)
    sh.run("echo done")
    wait_commands(lay, 3)
    states = dict(recorded_states(lay))
    assert states["git checkout -q -b feature"] in (before, (str(repo), None, None))
    assert states["echo done"] == after == (str(repo), "feature", before[2])
