"""The chat export of a session recorded from a real shell in tmux: a failing run, a note,
an edit saved from outside the shell (as an IDE does), a passing run; the conversation,
message by message."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from chatkit import brief, chat_rows, validate_chat
from commandkit import commands, flush, wait_commands, wait_piped
from filekit import wait_for_events
from researchkit import watched_project
from waitkit import wait_until

from exporters.chat import TOOLS

pytestmark = pytest.mark.slow  # end to end: a real shell in tmux, a daemon

CALC = "# demo\ndef add(a, b):\n    return a - b\n"
CHECK = "from calc import add\n\nassert add(2, 3) == 5, 'add is wrong'\nprint('ok')\n"
FIX = "import sys; p = sys.argv[1]; t = open(p).read(); open(p, 'w').write(t.replace('a - b', 'a + b'))"


def test_a_fail_edit_pass_session_gives_the_expected_conversation(lab, run_cli, lay, tmp_path):
    repo, _ = watched_project(tmp_path, run_cli, {"calc.py": CALC, "check.py": CHECK})
    sid = json.loads(run_cli("status", "--json").stdout)["session"]
    # The fix keeps calc.py's size, and a .pyc is trusted on size and mtime in whole seconds:
    # an edit within the second of the first run would run the old code again.
    sh = lab.spawn("bash", env={"PYTHONDONTWRITEBYTECODE": "1"})
    wait_piped(lay, sh)  # the pane's output is recorded from here on
    sh.run(f"cd {repo}")
    sh.run('recorder task "make check.py pass"')
    sh.run("python3 check.py")
    sh.run('recorder note "add subtracts instead of adding"')
    subprocess.run([sys.executable, "-c", FIX, str(repo / "calc.py")], check=True)  # an IDE
    wait_for_events(lambda rows: any(r["path"] == "calc.py" for r in rows))
    sh.run("python3 check.py")
    wait_commands(lay, 5)
    # Outputs come from the tmux collector, a little after the commands' ends.
    wait_until(
        lambda: flush(lay) or all(c["output"] for c in commands(lay)[1:]),
        what="the outputs",
    )
    sh.run("recorder stop")
    approval = json.loads(run_cli("approve", sid, "--json").stdout)
    out = tmp_path / "chat"
    run_cli("export", "--format", "chat", "--jsonl", "--include-reasoning", "--out", str(out),
            "--quiet")  # fmt: skip
    rows = [r for r in chat_rows(out) if r["task"] == "make check.py pass"]
    (row,) = rows
    messages = row["messages"]
    validate_chat(messages, TOOLS)
    traceback = (
        "Traceback (most recent call last):\n"
        f'  File "{repo}/check.py", line 3, in <module>\n'
        "    assert add(2, 3) == 5, 'add is wrong'\n"
        "           ^^^^^^^^^^^^^^\n"
        "AssertionError: add is wrong"
    )
    assert brief(messages) == [
        ("system", "You are a researcher working in the git repository `proj` on Linux, in "
                   "bash. You act through tools: bash runs a command line; edit_file, "
                   "delete_file and rename_file change files. A command's result arrives when "
                   "it ends; one still running when you act again reports back later.", None),
        ("user", f"Task: make check.py pass\nWorking directory: {repo}\nBranch: main\n"
                 f"Recent terminal output:\n$ cd {repo}\n$ recorder task \"make check.py pass\"\n"
                 f"task marked in session {sid}", None),
        ("assistant", None, ("call_0", "bash", {"command": "python3 check.py"})),
        ("tool", f"exit code: 1\noutput:\n{traceback}", "call_0"),
        ("assistant", "add subtracts instead of adding", ("call_1", "edit_file", {
            "path": "calc.py", "old_str": "# demo\ndef add(a, b):\n    return a - b",
            "new_str": "# demo\ndef add(a, b):\n    return a + b"})),
        ("tool", "saved calc.py: +1 -1 lines", "call_1"),
        ("assistant", None, ("call_2", "bash", {"command": "python3 check.py"})),
        ("tool", "exit code: 0\noutput:\nok", "call_2"),
    ]  # fmt: skip
    assert row["success"] is True and row["num_calls"] == 3
    assert row["approval_hash"] == approval["content_hash"]  # exported because approved
    assert row["labels"]["num_failures"] == 1 and row["labels"]["num_recoveries"] == 1
    # The note is an event like any other: in the log, as the researcher typed it.
    notes = [e for e in lay_events(run_cli, sid) if e["event_type"] == "note"]
    assert [n["text"] for n in notes] == ["add subtracts instead of adding"]


def lay_events(run_cli, sid: str) -> list[dict]:
    proc = run_cli("show", sid, "--json")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
