"""Every text field is redacted at ingest: a secret and the home directory planted in a
session's name, a task's text, a watched file's path, a git branch name and the JSON
``extra`` of the session and of a burst summary (which list absolute paths) reach the log
only as placeholders and ``~``. Recorded end to end: the installed CLI, a real bash through
its hook, the real inotify file collector and a real git repository under ``$HOME``."""

from __future__ import annotations

import json

import pytest
from commandkit import wait_commands
from filekit import git, make_repo, wait_for_events, wait_ready, widen_debounce
from test_privacy_at_rest import token

from recorder.paths import layout
from recorder.store import open_reader

pytestmark = pytest.mark.slow

BURST = 60  # more files at once than record.burst_files (50): one summary event


def test_every_text_field_is_redacted_before_it_is_stored(tmp_path, run_cli, lab, monkeypatch):
    home = tmp_path / "me"
    monkeypatch.setenv("HOME", str(home))  # the daemon's personal data: this is the home
    named, tasked, in_path, in_branch = (token() for _ in range(4))
    repo = make_repo(home / "proj", {"README.md": "# demo\n"})
    git(repo, "checkout", "-q", "-b", f"fix/{in_branch}")
    widen_debounce(run_cli)  # the 60 files below settle as one burst however loaded we are
    run_cli("start", "--name", f"deploy {named}", "--watch", str(repo))
    wait_ready()
    bash = lab.spawn("bash")
    bash.run(f"cd {repo}")
    bash.run("true")  # its start's git state: the branch of its cwd
    wait_commands(layout(), 2)
    run_cli("task", f"rotate {tasked}")
    (repo / f"notes-{in_path}.txt").write_text("hello\n")
    wait_for_events(lambda rows: any("notes-" in (r["path"] or "") for r in rows))
    for i in range(BURST):
        (repo / f"gen{i:02d}.txt").write_text(f"{i}\n")
    wait_for_events(lambda rows: any(r["event_type"] == "burst" for r in rows))
    run_cli("stop")

    lay = layout()
    store = open_reader(lay)  # stopped: the file itself, every table
    try:
        sessions = store.arrow("SELECT * FROM sessions").to_pylist()
        events = store.arrow("SELECT * FROM events ORDER BY seq").to_pylist()
    finally:
        store.close()
    stored = json.dumps([sessions, events], default=str)
    kinds = {e["event_type"] for e in events}
    assert {"command", "task", "burst"} <= kinds, kinds
    raw = {
        what: _where(planted, sessions + events)
        for what, planted in [
            ("session name", named),
            ("task text", tasked),
            ("file path", in_path),
            ("branch name", in_branch),
            ("home path", str(home)),
        ]
        if planted in stored
    }
    assert raw == {}
    # What replaced them is still there, in the same places.
    assert sessions[0]["name"].startswith("deploy <SECRET:github-token:")
    assert json.loads(sessions[0]["extra"])["watch"] == ["~/proj"]
    burst = next(e for e in events if e["event_type"] == "burst")
    extra = json.loads(burst["extra"])
    assert extra["repos"] == ["~/proj"] and {c["repo"] for c in extra["changes"]} == {"~/proj"}
    assert burst["git_branch"].startswith("fix/<SECRET:github-token:")
    command = [e for e in events if e["event_type"] == "command"][-1]
    assert command["git_branch"].startswith("fix/<SECRET:github-token:")
    assert {"extra", "branch"} <= set(json.loads(burst["redactions"]))


def _where(planted: str, rows: list[dict]) -> list[str]:
    """Which columns of which rows hold ``planted`` (for the failure message)."""
    return [
        f"{row.get('event_type', 'session')}.{column}"
        for row in rows
        for column, value in row.items()
        if planted in str(value)
    ]
