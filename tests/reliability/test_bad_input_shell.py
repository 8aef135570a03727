"""Bad input typed into real shells: a 1 MB command line and binary output. The hook
records the command, the terminal collector the output, and neither blocks the shell,
crashes a collector or lets a control byte through to `recorder show`."""

from __future__ import annotations

import json
import re

import pytest
from commandkit import wait_commands, wait_piped
from shellkit import SHELLS

pytestmark = pytest.mark.slow

BIG = 1 << 20
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@pytest.mark.parametrize("kind", SHELLS)
def test_a_megabyte_command_line_and_binary_output(kind, lab, session, lay, run_cli, tmp_path):
    sh = lab.spawn(kind)
    wait_piped(lay, sh)
    line = ": " + "A" * BIG + " ; echo END-$((6*7))"
    pasted = tmp_path / "line.txt"
    pasted.write_text(line)
    lab.tmux("load-buffer", str(pasted))
    lab.tmux("paste-buffer", "-p", "-t", sh.pane_id)
    sh.run("", timeout=300)
    sh.wait_visible("END-42", timeout=300)
    sh.run("sleep 0.2; head -c 65536 /dev/urandom; echo", wait=False)
    wait_commands(lay, 2)
    # The random bytes may switch the terminal's character set or answer a query into the
    # line editor: the screen no longer shows prompts to count, so the log is watched, and
    # Ctrl-C empties whatever the terminal typed back.
    sh.keys("C-c")
    sh.run("echo after-binary", wait=False)

    rows = wait_commands(lay, 3, with_output=True)
    big, binary, after = rows[-3:]
    assert big["command"] == line and big["exit_code"] == 0
    assert "END-42" in big["output"]
    assert binary["command"] == "sleep 0.2; head -c 65536 /dev/urandom; echo"
    assert binary["exit_code"] == 0 and binary["output"] is not None
    assert after["command"] == "echo after-binary" and after["output"].strip() == "after-binary"

    shown = run_cli("show", "last").stdout
    assert "after-binary" in shown
    assert not CONTROL.search(shown.replace("\n", "").replace("\t", ""))
    status = json.loads(run_cli("status", "--json").stdout)
    assert status["daemon_pid"] is not None and status["quarantined"] == 0, status
    assert status["collectors"]["tmux"]["last_error"] is None, status["collectors"]
