"""GitState on a real repository with real inotify watches: states dated when git wrote them.

The lookups are made only after all the changes, so a state in between can come only
from the watch. Each time looked up is taken after the state was read (a state is never
dated later than its read), so no test depends on how fast git or the machine is.
"""

from __future__ import annotations

import time

from filekit import git, make_repo
from waitkit import wait_until

from recorder.gitinfo import Head
from recorder.gitstate import GitAt, GitState


def now_us() -> int:
    return time.time_ns() // 1000


def head_of(repo) -> Head:
    branch = git(repo, "branch", "--show-current").strip() or None
    return Head(branch, git(repo, "rev-parse", "HEAD").strip())


def test_every_state_between_lookups_is_kept_and_dated(tmp_path):
    repo = make_repo(tmp_path / "proj", {"f": "a\n"})
    root = str(repo)
    state = GitState()
    try:
        state.states_at([root], [now_us()])  # seen: watched, and its state read
        first = now_us()
        assert state.states_at([root], [first]) == [GitAt(root, "main", head_of(repo).commit)]
        assert state.watched() == 1
        git(repo, "pack-refs", "--all")  # main is now in packed-refs only
        changes = [
            ["checkout", "-q", "-b", "user/topic"],  # a new directory under refs/heads
            ["commit", "-q", "--allow-empty", "-m", "two"],  # moves the ref, not HEAD
            ["checkout", "-q", "--detach", "HEAD~1"],
            ["checkout", "-q", "main"],  # read from packed-refs
        ]
        looked_up = [(first, head_of(repo))]
        for args in changes:
            git(repo, *args)
            want = head_of(repo)
            wait_until(lambda w=want: state.history(root)[-1][1] == w, what=f"{want} seen")
            looked_up.append((now_us(), want))
        got = state.states_at([root] * len(looked_up), [t for t, _ in looked_up])
        assert got == [GitAt(root, h.branch, h.commit) for _, h in looked_up]
        assert [h for _, h in looked_up][2:4] == [
            Head("user/topic", looked_up[2][1].commit),
            Head(None, looked_up[0][1].commit),
        ]
        # Before the oldest state known: unknown, never a later state.
        before = state.history(root)[0][0] - 1
        assert state.states_at([root], [before]) == [GitAt(root, None, None)]
    finally:
        state.close()


def test_worktrees_subdirectories_and_the_watch_cap(tmp_path):
    repo = make_repo(tmp_path / "proj", {"src/f": "a\n"})
    other = make_repo(tmp_path / "other", {"g": "b\n"})
    git(repo, "branch", "side")
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt), "side")
    state = GitState(max_watched=1)
    try:
        cwds = [str(repo / "src"), str(wt), str(other), str(tmp_path)]
        state.states_at(cwds, [now_us()] * len(cwds))  # seen and read
        t = now_us()
        got = state.states_at(cwds, [t] * len(cwds))
        commit = head_of(repo).commit
        assert got == [
            GitAt(str(repo), "main", commit),
            GitAt(str(wt), "side", commit),
            GitAt(str(other), "main", head_of(other).commit),
            None,
        ]
        assert state.watched() == 1  # the others are read at lookup only
    finally:
        state.close()
