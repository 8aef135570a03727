"""The export of sessions recorded from real shells: the recorder's own commands typed in
a recorded shell, and an export that depends on nothing of whoever runs it."""

from __future__ import annotations

import os

import pytest
from commandkit import wait_commands
from sessionkit import SessionScript, commands_of, dataset_files, export_rows

pytestmark = pytest.mark.slow  # end to end: real shells in tmux, daemons


@pytest.mark.long
def test_recorder_commands_typed_in_a_shell_and_a_later_session(lab, run_cli, lay, tmp_path):
    session = run_cli("start", "--name", "fidelity").stdout.strip()
    sh = lab.spawn("bash")
    sh.run('recorder task "first task"')
    sh.run("echo one")
    sh.run('recorder task "second task"')
    sh.run("false")
    wait_commands(lay, 4)
    sh.run("recorder stop")
    first = tmp_path / "first"
    run_cli("export", "--include-unapproved", "--out", str(first), "--session", session, "--quiet")
    tables = export_rows(lay, tmp_path / "rows", sessions=[session])
    assert commands_of(tables["steps"]) == ["echo one", "false"]
    episodes = tables["episodes"]
    assert [(e["task"], e["num_steps"], e["exit_status"]) for e in episodes] == [
        ("first task", 1, 0), ("second task", 1, 1),
    ]  # fmt: skip
    logged = [e["command"] for e in tables["events"] if e["event_type"] == "command"]
    assert logged[-1] == "recorder stop" and 'recorder task "first task"' in logged
    # A later session ingests what the shell wrote after the stop: the first session's
    # export stays the same, byte for byte.
    run_cli("start", "--name", "later")
    sh.run("echo later")
    run_cli("stop")
    later = tmp_path / "later"
    run_cli("export", "--include-unapproved", "--out", str(later), "--session", session, "--quiet")
    assert dataset_files(first) == dataset_files(later)


def test_an_export_does_not_depend_on_who_runs_it(run_cli, lay, tmp_path):
    other_home = tmp_path / "exporter-home-qx7"
    other_home.mkdir()
    s = SessionScript(lay)
    s.command(f"cat {other_home}/notes.txt", exit=0, output=f"{other_home}/notes.txt: ok\n")
    s.command("whoami", exit=0, output="operator-zq\n")
    s.end().ingest()
    outs = []
    for n, env in enumerate(({"HOME": str(other_home), "USER": "operator-zq"}, {})):
        out = tmp_path / f"export-{n}"
        run_cli(
            "export",
            "--include-unapproved",
            "--out",
            str(out),
            "--quiet",
            env={**os.environ, **env},
        )
        outs.append(dataset_files(out))
    assert outs[0] == outs[1]
