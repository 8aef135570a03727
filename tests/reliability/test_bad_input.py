"""Bad input on disk: a corrupt, truncated or future event log, a corrupt config.toml,
a spool file of a future format. Each is refused with one clear line, a non-zero
exit and no traceback, and left exactly as it was (never overwritten).
"""

from __future__ import annotations

import hashlib

import pytest
from logkit import log_sql
from spoolkit import command_lines

from recorder.paths import layout

pytestmark = pytest.mark.slow

INTERNAL = ("Traceback", "IO Error", "Binder Error", "Catalog Error", "DuckDB", "Exception")


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_one_clear_line(proc, *expected: str) -> None:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: "), lines
    assert not any(word in lines[0] for word in INTERNAL), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]


def recorded_home(run_cli) -> None:
    run_cli("start")
    run_cli("task", "something to keep")
    run_cli("stop")


COMMANDS = (("start",), ("sessions",), ("show", "last"), ("export", "-o", "OUT"), ("stop",))


def run_each(run_cli, tmp_path):
    for args in COMMANDS:
        args = tuple(str(tmp_path / "out") if a == "OUT" else a for a in args)
        yield args, run_cli(*args, check=False)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_event_log_is_refused_and_left_as_it_was(run_cli, tmp_path, damage):
    lay = layout()
    if damage == "garbage":
        lay.ensure()
        lay.database.write_bytes(b"this is not a database\n" * 100)
    else:
        recorded_home(run_cli)
        data = lay.database.read_bytes()
        lay.database.write_bytes(data[: len(data) // 3])
    before = digest(lay.database)
    for args, proc in run_each(run_cli, tmp_path):
        if args == ("stop",):
            continue  # nothing records: "not recording" is the right answer
        assert_one_clear_line(proc, str(lay.database))
        assert digest(lay.database) == before, args


def test_an_event_log_from_a_newer_recorder_is_refused(run_cli, tmp_path):
    import duckdb

    recorded_home(run_cli)
    lay = layout()
    con = duckdb.connect(str(lay.database))
    con.execute("INSERT INTO _migrations VALUES ('m999_from_the_future', now())")
    con.close()
    before = digest(lay.database)
    for args, proc in run_each(run_cli, tmp_path):
        if args == ("stop",):
            continue
        assert_one_clear_line(proc, "newer")
        assert digest(lay.database) == before, args


def test_a_corrupt_config_is_refused_and_left_as_it_was(run_cli):
    lay = layout().ensure()
    lay.config.write_text("[redaction\nliterals = [\n")
    before = digest(lay.config)
    assert_one_clear_line(run_cli("start", check=False), "config.toml")
    assert digest(lay.config) == before


def test_a_spool_file_of_a_future_format_is_kept_aside(run_cli):
    session = run_cli("start").stdout.strip()
    lay = layout()
    future = lay.spool / "shell.999999-1.v9.jsonl"
    records = command_lines(session, 3)
    future.write_bytes(records)
    run_cli("stop")
    assert future.read_bytes() == records  # not read, not erased, not deleted
    assert log_sql(lay, "SELECT count(*) AS n FROM events WHERE source = 'shell'")[0]["n"] == 0


@pytest.mark.parametrize("cause", ["bad rule", "damaged log"])
def test_a_start_that_fails_leaves_nothing_recording(run_cli, cause):
    lay = layout().ensure()
    if cause == "bad rule":
        lay.config.write_text(
            '[redaction]\nrules = [{name = "bad", pattern = "(", example = "x"}]\n'
        )
    else:
        lay.database.write_bytes(b"not a database\n")
    assert_one_clear_line(run_cli("start", check=False))
    assert not lay.recording_marker.exists()  # the hooks see no session: nothing spools
    assert not (lay.state / "session.json").exists()
    assert not list(lay.state.glob("active.*"))
