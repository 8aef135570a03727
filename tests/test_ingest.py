"""Spool -> event log: parsing, quarantine, pairing, exactly-once offsets."""

from __future__ import annotations

from spoolkit import command_lines, open_session_records, shell_spool

from recorder.ingest import Ingester, quarantine_count
from recorder.store import WriterLock, open_writer


def ingest_all(lay):
    lock = WriterLock(lay.writer_lock)
    assert lock.acquire()
    store = open_writer(lay)
    try:
        report = Ingester(store, lay).drain()
        rows = store.arrow(
            "SELECT cmd_seq, command, exit_code, pipestatus, duration_ms FROM events "
            "WHERE event_type = 'command' ORDER BY cmd_seq"
        ).to_pylist()
        return report, rows
    finally:
        store.close()
        lock.release()


def test_commands_are_paired_and_ordered(lay):
    open_session_records(lay, "S1")
    shell_spool(lay).write_bytes(command_lines("S1", 50))
    report, rows = ingest_all(lay)
    assert report.quarantined == 0
    assert [r["cmd_seq"] for r in rows] == list(range(1, 51))
    assert all(r["exit_code"] == r["cmd_seq"] % 3 for r in rows)
    assert all(r["pipestatus"] == [r["cmd_seq"] % 3] for r in rows)
    assert all(r["duration_ms"] == 5 for r in rows)


def test_garbage_line_is_quarantined_and_the_rest_ingests(lay):
    open_session_records(lay, "S1")
    good = command_lines("S1", 3).split(b"\n")
    spool = shell_spool(lay)
    spool.write_bytes(b"\n".join([good[0], b"{not json", good[1], b'["a list"]', *good[2:]]))
    report, rows = ingest_all(lay)
    assert report.quarantined == 2
    assert quarantine_count(lay) == 2
    assert [r["cmd_seq"] for r in rows] == [1, 2, 3]
    bad = (lay.quarantine / f"{spool.name}.bad").read_text().splitlines()
    assert bad == ["{not json", '["a list"]']


def test_partial_trailing_line_waits_for_its_newline(lay):
    open_session_records(lay, "S1")
    lines = command_lines("S1", 2)
    spool = shell_spool(lay)
    spool.write_bytes(lines[:-10])  # the last end line is cut short
    _, rows = ingest_all(lay)
    assert rows[1]["exit_code"] is None
    with spool.open("ab") as fh:
        fh.write(lines[-10:])
    _, rows = ingest_all(lay)
    assert [r["exit_code"] for r in rows] == [1, 2]


def test_end_before_its_start_waits_in_pending(lay):
    open_session_records(lay, "S1")
    lines = command_lines("S1", 1).split(b"\n")
    shell_spool(lay, "a").write_bytes(lines[1] + b"\n")  # the end, in a file read first
    report, rows = ingest_all(lay)
    assert rows == [] and report.pending == 1
    shell_spool(lay, "b").write_bytes(lines[0] + b"\n")
    report, rows = ingest_all(lay)
    assert report.pending == 0
    assert rows[0]["exit_code"] == 1


def test_non_utf8_bytes_are_kept_visible(lay):
    open_session_records(lay, "S1")
    line = (
        b'{"v":1,"type":"cmd.start","session":"S1","t":"1764100000,25","tz":60,'
        b'"shell_id":"s","n":1,"cmd":"echo caf\xe9","cwd":"/tmp"}\n'
    )
    shell_spool(lay).write_bytes(line)
    report, rows = ingest_all(lay)
    assert report.quarantined == 0
    assert rows[0]["command"] == "echo caf\\xe9"


def test_offsets_make_a_second_drain_a_no_op(lay):
    open_session_records(lay, "S1")
    shell_spool(lay).write_bytes(command_lines("S1", 10))
    ingest_all(lay)
    report, rows = ingest_all(lay)
    assert report.records == 0
    assert len(rows) == 10


def test_an_ending_without_its_start_is_quarantined_after_an_hour(lay):
    open_session_records(lay, "S1")
    end = command_lines("S1", 1).split(b"\n")[1]
    shell_spool(lay, "a").write_bytes(end + b"\n")
    report, _ = ingest_all(lay)
    assert report.pending == 1
    lock = WriterLock(lay.writer_lock)
    assert lock.acquire()
    store = open_writer(lay)
    store.execute("UPDATE pending_lines SET first_seen = first_seen - INTERVAL 2 HOUR")
    store.close()
    lock.release()
    shell_spool(lay, "b").write_bytes(command_lines("S1", 1, shell_id="other"))
    report, rows = ingest_all(lay)
    assert report.pending == 0
    assert quarantine_count(lay) == 1
    assert len(rows) == 1  # the other shell's command went in
