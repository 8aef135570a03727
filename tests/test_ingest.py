"""Spool -> event log: parsing, quarantine, pairing, exactly-once offsets."""

from __future__ import annotations

import duckdb
import pytest
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


# A batch that fails for real: another transaction holds the spool_offsets row the batch must
# update, so DuckDB refuses the batch's write with a write-write conflict and it rolls back.


def open_ingester(lay):
    lock = WriterLock(lay.writer_lock)
    assert lock.acquire()
    store = open_writer(lay)
    return lock, store, Ingester(store, lay)


def hold_offset_row(store, spool):
    """An open transaction on the same database that has updated ``spool``'s offset row."""
    other = store.con.cursor()
    other.execute("BEGIN TRANSACTION")
    other.execute(
        "UPDATE spool_offsets SET updated_at = updated_at + INTERVAL 1 SECOND WHERE file = ?",
        [spool.name],
    )
    return other


def pending_in_table(store) -> int:
    return store.execute("SELECT count(*) FROM pending_lines").fetchone()[0]


def offsets_in_table(store) -> dict[str, int]:
    return dict(store.execute("SELECT file, ingested_to FROM spool_offsets").fetchall())


def quarantined_lines(lay) -> list[str]:
    return [
        line
        for path in sorted(lay.quarantine.glob("*.bad"))
        for line in path.read_text().splitlines()
    ]


def test_a_failed_batch_quarantines_nothing_and_its_retry_quarantines_once(lay):
    open_session_records(lay, "S1")
    lines = command_lines("S1", 2).split(b"\n")
    spool = shell_spool(lay, "a")
    spool.write_bytes(lines[3] + b"\n")  # an ending whose start never comes
    lock, store, ingester = open_ingester(lay)
    try:
        ingester.run_once()  # (not drain: its cleanup would delete the drained spool file)
        store.execute("UPDATE pending_lines SET first_seen = first_seen - INTERVAL 2 HOUR")
        with spool.open("ab") as fh:  # garbage, then a command, after the ending
            fh.write(b"{not json\n" + lines[0] + b"\n" + lines[1] + b"\n")
        other = hold_offset_row(store, spool)
        with pytest.raises(duckdb.Error):
            ingester.run_once()
        assert quarantined_lines(lay) == []
        assert ingester.offsets == offsets_in_table(store)
        with pytest.raises(duckdb.Error):  # a second failure writes nothing either
            ingester.run_once()
        assert quarantined_lines(lay) == []
        other.execute("ROLLBACK")
        other.close()
        report = ingester.run_once()
        assert report.quarantined == 2
        assert sorted(quarantined_lines(lay)) == sorted(["{not json", lines[3].decode()])
        assert ingester.offsets == offsets_in_table(store)
        assert ingester.run_once().records == 0
        assert len(quarantined_lines(lay)) == 2
        commands = store.execute("SELECT cmd_seq, exit_code FROM events").fetchall()
        assert commands == [(1, 1)]
    finally:
        store.close()
        lock.release()


def test_pending_count_matches_the_table_after_a_failed_and_a_successful_batch(lay):
    open_session_records(lay, "S1")
    start, end = command_lines("S1", 1).split(b"\n")[:2]
    ending_first = shell_spool(lay, "a")
    ending_first.write_bytes(end + b"\n")
    lock, store, ingester = open_ingester(lay)
    try:
        ingester.run_once()  # (not drain: its cleanup would delete the drained spool file)
        assert ingester.pending_count == pending_in_table(store) == 1
        shell_spool(lay, "b").write_bytes(start + b"\n")  # the start: the ending would match
        with ending_first.open("ab") as fh:
            fh.write(command_lines("S1", 1, shell_id="other"))
        other = hold_offset_row(store, ending_first)
        with pytest.raises(duckdb.Error):
            ingester.run_once()
        assert ingester.pending_count == pending_in_table(store) == 1
        assert ingester.offsets == offsets_in_table(store)
        other.execute("ROLLBACK")
        other.close()
        report = ingester.run_once()
        assert report.pending == ingester.pending_count == pending_in_table(store) == 0
        assert ingester.offsets == offsets_in_table(store)
        exits = store.execute("SELECT shell_id, exit_code FROM events ORDER BY 1").fetchall()
        assert exits == [("other", 1), ("sh1", 1)]
    finally:
        store.close()
        lock.release()


def test_quarantine_lines_survive_a_failure_between_commit_and_append(lay):
    open_session_records(lay, "S1")
    spool = shell_spool(lay)
    spool.write_bytes(b"{not json\n" + command_lines("S1", 1))
    # A directory where the quarantine file goes: the append after COMMIT fails for real.
    blocker = lay.quarantine / f"{spool.name}.bad"
    blocker.mkdir(parents=True)
    lock, store, ingester = open_ingester(lay)
    try:
        with pytest.raises(IsADirectoryError):
            ingester.run_once()
        assert store.execute("SELECT count(*) FROM events").fetchone()[0] == 1  # committed
        assert ingester.offsets == offsets_in_table(store)
        blocker.rmdir()
        Ingester(store, lay)  # as a restarted writer would: the staged lines are appended
        assert quarantined_lines(lay) == ["{not json"]
        with spool.open("ab") as fh:
            fh.write(command_lines("S1", 1, shell_id="other"))
        assert ingester.run_once().quarantined == 0
        assert quarantined_lines(lay) == ["{not json"]
        assert not list(lay.quarantine.glob(".*"))
    finally:
        store.close()
        lock.release()
