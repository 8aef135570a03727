"""A value identified as a secret in one daemon run is redacted, with the same placeholder,
when it appears alone in a later run; only keyed hashes of it are on disk, never its bytes.
End to end: the installed CLI, two daemons one after the other, a real bash through tmux."""

from __future__ import annotations

import re
import stat

import pytest
from commandkit import commands, wait_commands, wait_piped
from test_privacy_at_rest import leaks

from recorder.redaction.remembered import FILE

pytestmark = pytest.mark.slow

VALUE = "Xk7qP2v9LmZwR4"  # a password no rule can tell from a word when it stands alone


def test_a_secret_of_an_earlier_run_keeps_its_placeholder_after_a_restart(
    lab, run_cli, lay, tmp_path
):
    printed = tmp_path / "pw.txt"
    printed.write_text(VALUE + "\n")
    run_cli("start", "--name", "first run")
    first_pid = lay.pid_file.read_text()
    bash = lab.spawn("bash")
    wait_piped(lay, bash)
    bash.run(f"export DB_PASSWORD={VALUE}")
    wait_commands(lay, 1)
    run_cli("stop")
    (first,) = commands(lay)
    (placeholder,) = re.findall(r"<SECRET:[a-z-]+:[0-9a-f]{6}>", first["command"])

    run_cli("start", "--name", "second run")
    assert lay.pid_file.read_text() != first_pid  # another daemon, with an empty memory
    again = lab.spawn("bash")
    wait_piped(lay, again)
    again.run(f"cat {printed}")
    rows = wait_commands(lay, 2, with_output=True)
    assert rows[-1]["command"] == f"cat {printed}"
    assert rows[-1]["output"].strip() == placeholder
    run_cli("stop")

    assert leaks(lay.home, [VALUE]) == {}  # every byte under RECORDER_HOME
    remembered = lay.home / FILE
    assert remembered.stat().st_size > 0 and stat.S_IMODE(remembered.stat().st_mode) == 0o600
