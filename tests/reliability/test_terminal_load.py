"""Terminal load, behind ``-m soak``: 100 hooked panes at once, and one command printing
1 GB. Every command keeps its output (capped, head and tail), the raw pane bytes do not
pile up on disk, and the daemon's memory stays bounded."""

from __future__ import annotations

import json
import os

import pytest
from commandkit import commands, wait_commands
from waitkit import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.soak, pytest.mark.alone]

PANES = 100
STREAM_BYTES = int(os.environ.get("RECORDER_TEST_STREAM_BYTES", 1024**3))
LINE = "0123456789abcdef" * 4  # yes adds the newline: 65-byte lines


def daemon_rss_mb(lay) -> float:
    pid = int(lay.pid_file.read_text())
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmRSS:"))


def test_a_hundred_panes_each_keep_their_output(lab, lay, run_cli):
    shells = [lab.spawn("bash") for _ in range(PANES)]
    run_cli("start")
    try:
        for k, sh in enumerate(shells):
            sh.run(f"echo pane-$(( {k} * 2 ))", wait=False)
        for sh in shells:
            sh.wait_prompt()
        rows = wait_commands(lay, PANES, with_output=True)
        outputs = {r["command"]: r["output"] for r in rows}
        assert outputs == {f"echo pane-$(( {k} * 2 ))": f"pane-{k * 2}\n" for k in range(PANES)}
        status = json.loads(run_cli("status", "--json").stdout)
        assert len(status["collectors"]["tmux"]["panes"]) == PANES
    finally:
        run_cli("stop")
    assert not list(lay.spool.glob("tmux.pane-*.raw"))


def test_a_gigabyte_of_output_is_capped_and_leaves_nothing_behind(lab, lay, run_cli):
    sh = lab.spawn("bash")
    run_cli("start")
    try:
        before = daemon_rss_mb(lay)
        # 1 GiB of 64-byte lines between a first and a last line to find again. Its prompt
        # scrolls out of the pane's history, so the log, not the screen, says it ended.
        sh.run(f"echo FIRST-LINE; yes {LINE} | head -c {STREAM_BYTES}; echo LAST-LINE", wait=False)
        [row] = wait_until(
            lambda: [
                r
                for r in commands(lay)
                if "FIRST" in (r["command"] or "") and r["ts_end"] and r["output"]
            ],
            timeout=1800,
            interval=1.0,
            what="the command's end and output",
        )
        assert row["output"].startswith("FIRST-LINE\n") and row["output"].endswith("LAST-LINE\n")
        assert row["output_truncated"] is True and row["output_bytes"] > STREAM_BYTES
        assert len(row["output"].encode()) < 2 * 65536
        assert daemon_rss_mb(lay) < before + 200
        raw = sum(p.stat().st_blocks * 512 for p in lay.spool.glob("tmux.pane-*.raw"))
        assert raw < 64 * 1024 * 1024  # parsed bytes are punched out as they go
    finally:
        run_cli("stop")
    assert len(commands(lay)) == 1
