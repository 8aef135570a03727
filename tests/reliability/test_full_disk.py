"""A full disk: what the disk accepted whole is kept, and a partial record never
corrupts the next one. The spool sits on a real 64 KiB tmpfs (``tiny_spool``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time

import pytest
from logkit import log_sql
from spoolkit import command_lines, shell_spool
from waitkit import wait_until

from recorder import client
from recorder.errors import SpoolError
from recorder.paths import layout
from recorder.spool import SpoolWriter


def fill(directory, leave: int = 0) -> None:
    """Fill the filesystem of ``directory``, then free ``leave`` bytes' worth of pages."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    with contextlib.suppress(OSError):
        while True:
            os.write(fd, b"x" * 4096)
    os.close(fd)
    if leave:
        filler = directory / "filler"
        os.truncate(filler, max(0, filler.stat().st_size - leave))


def records(n: int, start: int = 0) -> list[dict]:
    return [{"v": 1, "type": "event", "n": start + i, "pad": "p" * 300} for i in range(n)]


def lines_of(path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_a_write_cut_short_by_a_full_disk_leaves_no_half_record(tiny_spool):
    fill(tiny_spool, leave=4096)
    writer = SpoolWriter(tiny_spool / "python.1.v1.jsonl")
    written = 0
    with pytest.raises(SpoolError, match="No space left on device"):
        for start in range(0, 100, 5):
            writer.append(records(5, start))
            written = start + 5
    # Every line on disk is a whole record, and those not written are still pending.
    on_disk = lines_of(writer.path)
    assert [r["n"] for r in on_disk] == list(range(len(on_disk)))
    assert len(on_disk) >= written
    assert writer.pending > 0
    (tiny_spool / "filler").unlink()
    writer.append(records(1, 1000))
    numbers = [r["n"] for r in lines_of(writer.path)]
    assert numbers[-1] == 1000
    assert numbers[:-1] == list(range(len(numbers) - 1))  # none lost, none twice
    writer.close()


def ingest_failures() -> int:
    return client.call(layout(), "status")["ingest_failures"]


@pytest.mark.slow
def test_the_daemon_backs_off_on_a_full_disk_and_loses_nothing(tiny_home, run_cli):
    session = run_cli("start").stdout.strip()
    lay = layout()
    # Records the disk accepted whole, which the database has no room to take in.
    lines = command_lines(session, 40)
    fill(tiny_home, leave=len(lines) + 2 * 4096)
    shell_spool(lay, "full").write_bytes(lines)
    wait_until(lambda: ingest_failures() >= 1, timeout=30, what="an ingest to fail")
    first = ingest_failures()
    time.sleep(15)
    # 1, 2, 4, 8 s apart: backing off, not once a second (or once per poll).
    assert ingest_failures() - first <= 5
    (tiny_home / "filler").unlink()
    run_cli("stop")
    commands = [
        e["command"] for e in log_sql(lay, "SELECT command FROM events WHERE source = 'shell'")
    ]
    assert sorted(commands) == sorted(f"echo {n}" for n in range(1, 41))
