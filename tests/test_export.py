"""`recorder export`: the dataset loads everywhere, matches schemas/, and is safe to redo."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from readerkit import hf_env, run_reader
from sessionkit import T0, SessionScript, export_rows

from exporters.jobs import ExportOptions
from exporters.pipeline import export
from exporters.redaction import ExportRedaction
from recorder.cli import cli
from recorder.errors import ExportError
from schemas.arrow import EXPORT_TABLES, export_schema, export_spec

TOKEN = "ghp_FAKEfake0123456789FAKEfake0123456789"


def busy_session(lay, session="S1", t0=T0, researcher="r-test") -> SessionScript:
    s = SessionScript(lay, session=session, t0=t0, researcher=researcher)
    s.task("fix the dataloader")
    s.save("/work/repo/loader.py", head="abc1234")
    s.command("pytest tests/test_loader.py", exit=1, output="E   assert 3 == 4\n1 failed\n")
    s.save("/work/repo/loader.py", added=2, removed=1)
    s.command("pytest tests/test_loader.py", exit=0, output="1 passed\n")
    s.command(f"export GITHUB_TOKEN={TOKEN}", exit=0)
    s.wait(20 * 3600)  # the next day (UTC)
    s.command("git push", exit=0, output="done\n")
    return s


def parquet_files(root: Path, table: str) -> list[Path]:
    return sorted((root / table).rglob("*.parquet"))


# -- loading ----------------------------------------------------------------------------------


def test_export_loads_with_pyarrow_duckdb_and_polars(lay, tmp_path):
    busy_session(lay).end().ingest()
    out = tmp_path / "dataset"
    result = export(lay, ExportOptions(include_unapproved=True, out=out))
    assert result.counts == {"events": 7, "steps": 6, "episodes": 1}
    for table in EXPORT_TABLES:
        dataset = ds.dataset(out / table, format="parquet", partitioning="hive")
        loaded = dataset.to_table()
        assert loaded.num_rows == result.counts[table]
        assert loaded.schema.equals(export_schema(table), check_metadata=False)
    dates = ds.dataset(out / "steps", format="parquet", partitioning="hive").to_table()
    assert sorted(set(dates.column("date").to_pylist())) == ["2025-11-24", "2025-11-25"]
    con = duckdb.connect()
    rows = con.sql(
        f"SELECT researcher, date, count(*) FROM read_parquet('{out}/steps/**/*.parquet',"
        " hive_partitioning = true) GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert [(r, str(d), n) for r, d, n in rows] == [
        ("r-test", "2025-11-24", 5), ("r-test", "2025-11-25", 1),
    ]  # fmt: skip
    action = con.execute(
        f"SELECT action.command FROM read_parquet('{out}/steps/**/*.parquet',"
        " hive_partitioning = true) WHERE step_index = 1"
    ).fetchone()[0]
    assert action == "pytest tests/test_loader.py"
    import polars as pl

    frame = pl.scan_parquet(str(out / "episodes" / "**" / "*.parquet"), hive_partitioning=True)
    assert frame.collect()["task"].to_list() == ["fix the dataloader"]


HF_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import datasets
    out = {}
    for config in ("steps", "events", "episodes"):
        d = datasets.load_dataset(sys.argv[1], config)["train"]
        out[config] = {"rows": d.num_rows, "columns": d.column_names, "first": d[0]}
    default = datasets.load_dataset(sys.argv[1])["train"]
    out["default_columns"] = default.column_names
    print(json.dumps(out, default=str))
    """
)


def load_with_hf(path: Path, tmp_path: Path) -> dict:
    return run_reader(HF_SCRIPT, path, hf_env(tmp_path))


@pytest.mark.slow
def test_hugging_face_datasets_loads_each_config_offline(lay, tmp_path):
    busy_session(lay).end().ingest()
    out = tmp_path / "dataset"
    export(lay, ExportOptions(include_unapproved=True, out=out))
    loaded = load_with_hf(out, tmp_path)
    for table in EXPORT_TABLES:
        assert loaded[table]["columns"] == export_schema(table).names
    assert loaded["steps"]["rows"] == 6 and loaded["episodes"]["rows"] == 1
    assert loaded["default_columns"] == export_schema("steps").names  # steps is the default
    first = loaded["steps"]["first"]
    assert first["observation"]["task"] == "fix the dataloader"
    assert first["researcher"] == "r-test"


# -- schemas, files, card -------------------------------------------------------------------


def test_every_file_has_every_column_of_its_schema_and_is_zstd(lay, tmp_path):
    busy_session(lay).end().ingest()
    out = tmp_path / "dataset"
    result = export(lay, ExportOptions(include_unapproved=True, out=out))
    for table in EXPORT_TABLES:
        files = parquet_files(out, table)
        assert files and all(f.name.startswith(f"part-{result.export_id}-") for f in files)
        for path in files:
            meta = pq.ParquetFile(path)
            assert meta.schema_arrow.equals(export_schema(table), check_metadata=False)
            column = meta.metadata.row_group(0).column(0)
            assert column.compression == "ZSTD"
    assert (out / "episodes" / "r-test").is_dir() and (out / "steps" / "r-test").is_dir()
    assert all(
        len(p.relative_to(out / "episodes").parts) == 2 for p in parquet_files(out, "episodes")
    )


BANNED = (pa.types.is_map, pa.types.is_union, pa.types.is_duration, pa.types.is_large_list)


def all_types(t):
    yield t
    if pa.types.is_struct(t):
        for i in range(t.num_fields):
            yield from all_types(t.field(i).type)
    elif pa.types.is_list(t):
        yield from all_types(t.value_type)


def test_schemas_come_from_the_json_files():
    for table in EXPORT_TABLES:
        spec = export_spec(table)
        schema = export_schema(table)
        assert schema.names == [f["name"] for f in spec["fields"]]
        assert {"researcher"} <= set(schema.names)
        for field in schema:
            assert not any(check(t) for t in all_types(field.type) for check in BANNED), field


def test_card_and_info(lay, tmp_path):
    import yaml

    busy_session(lay).end().ingest()
    out = tmp_path / "dataset"
    result = export(lay, ExportOptions(include_unapproved=True, out=out))
    card = (out / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    configs = {c["config_name"]: c for c in header["configs"]}
    assert set(configs) == {"steps", "events", "episodes"}
    assert configs["steps"]["default"] is True
    assert configs["events"]["data_files"][0]["path"] == "events/**/*.parquet"
    assert "r-test" in card and "2026.11" in card
    info = json.loads((out / "meta" / "info.json").read_text())
    version = [int(x) for x in info["format_version"].split(".")]
    assert len(version) == 3 and version[0] >= 1
    assert info["export_id"] == result.export_id
    assert info["approval_hashes"] == []
    assert info["counts"] == {"events": 7, "steps": 6, "episodes": 1}
    assert info["tables"]["steps"]["schema"] == export_spec("steps")
    assert info["redaction"]["ruleset_version"].startswith("2026.")
    assert info["redaction"]["findings_by_rule"] == {"github-token": 1}
    assert info["time_range"]["start"].startswith("2025-11-24T16:00")
    assert info["sessions"][0]["researcher"] == "r-test"
    assert TOKEN not in card and TOKEN not in json.dumps(info)


# -- redaction -------------------------------------------------------------------------------


def test_text_is_redacted_with_the_rules_current_at_export(lay, tmp_path):
    s = busy_session(lay)
    s.command("deploy --to project-bluebird", exit=0, output="deployed project-bluebird\n")
    s.end().ingest()
    # A rule added after recording: the export applies it to the old session.
    lay.config.write_text(
        lay.config.read_text() + '\n[redaction]\nliterals = ["project-bluebird"]\n'
    )
    out = tmp_path / "dataset"
    export(lay, ExportOptions(include_unapproved=True, out=out))
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"project-bluebird" not in data, path
            assert TOKEN.encode() not in data, path
    info = json.loads((out / "meta" / "info.json").read_text())
    assert "+u" in info["redaction"]["ruleset_version"]  # user rules are part of the version
    events = export_rows(lay, tmp_path / "again")["events"]
    deploy = next(e for e in events if (e["command"] or "").startswith("deploy"))
    assert "<SECRET:" in deploy["command"]
    assert "command" in json.loads(deploy["redactions"])


def test_leak_scan_stops_on_any_text_a_rule_matches(lay):
    import pyarrow as pa

    from exporters.redaction import build_export_redactor
    from recorder.config import load_config

    redaction = ExportRedaction(build_export_redactor(lay, load_config(lay)))
    clean = pa.table({"observation": [{"terminal": "all good", "files": ["a.py"]}]})
    redaction.scan("steps", clean)
    leaky = pa.table({"observation": [{"terminal": "ok", "files": ["a.py", f"key={TOKEN}"]}]})
    with pytest.raises(ExportError) as caught:
        redaction.scan("steps", leaky)
    message = str(caught.value)
    assert "steps.observation.files[]" in message and "github-token" in message
    assert TOKEN not in message


# -- idempotence and edge cases ----------------------------------------------------------------


def test_exporting_again_gives_the_same_rows_and_files(lay, tmp_path):
    busy_session(lay).end().ingest()
    first = export_rows(lay, tmp_path / "one")
    second = export_rows(lay, tmp_path / "two")
    assert first == second
    names = lambda root: sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))  # noqa: E731
    assert names(tmp_path / "one") == names(tmp_path / "two")
    export(lay, ExportOptions(include_unapproved=True, out=tmp_path / "one", overwrite=True))
    table = ds.dataset(tmp_path / "one" / "events", partitioning="hive").to_table()
    ids = table.column("event_id").to_pylist()
    assert len(ids) == len(set(ids)) == 7
    assert not list(tmp_path.glob(".*partial*"))


def test_small_pages_give_the_same_export(lay, tmp_path):
    s = SessionScript(lay)
    for i in range(7):  # commands and saves at the very same instant: pages split ties
        s.command(f"echo {i}", gap=0.0, duration=0.0)
        s.file(f"/work/repo/f{i}.py", at=s.now)
    s.end().ingest()
    whole = export_rows(lay, tmp_path / "whole")
    paged = export_rows(lay, tmp_path / "paged", page_rows=3)
    assert paged == whole
    assert len(whole["events"]) == 14


def test_an_empty_session_exports_empty_tables(lay, tmp_path):
    SessionScript(lay).end().ingest()
    out = tmp_path / "dataset"
    result = export(lay, ExportOptions(include_unapproved=True, out=out))
    assert result.counts == {"events": 0, "steps": 0, "episodes": 0}
    for table in EXPORT_TABLES:
        loaded = ds.dataset(out / table, format="parquet", partitioning="hive").to_table()
        assert loaded.num_rows == 0
        assert loaded.schema.equals(export_schema(table), check_metadata=False)
    count = (
        duckdb.connect()
        .execute(
            f"SELECT count(*) FROM read_parquet('{out}/steps/**/*.parquet', hive_partitioning=1)"
        )
        .fetchone()[0]
    )
    assert count == 0


def test_a_session_with_only_file_events(lay, tmp_path):
    s = SessionScript(lay)
    s.save("/work/repo/a.py")
    s.save("/work/repo/b.py")
    s.save("/work/repo/a.py", gap=15 * 60)
    s.end().ingest()
    tables = export_rows(lay, tmp_path / "out")
    assert [x["action"]["type"] for x in tables["steps"]] == ["edit"] * 3
    assert [e["num_steps"] for e in tables["episodes"]] == [2, 1]
    assert all(e["success"] is None and e["exit_status"] is None for e in tables["episodes"])
    assert all(x["observation"]["terminal"] == [] for x in tables["steps"])


def test_jsonl_format_has_the_same_rows(lay, tmp_path):
    busy_session(lay).end().ingest()
    export(lay, ExportOptions(include_unapproved=True, out=tmp_path / "j", file_format="jsonl"))
    parquet = export_rows(lay, tmp_path / "p")
    for table in EXPORT_TABLES:
        files = sorted((tmp_path / "j" / table).rglob("*.jsonl"))
        rows = [json.loads(line) for f in files for line in f.read_text().splitlines()]
        assert len(rows) == len(parquet[table])
        assert list(rows[0]) == export_schema(table).names
    card = (tmp_path / "j" / "README.md").read_text()
    assert 'path: "steps/**/*.jsonl"' in card


def test_session_selection_and_researcher_partitions(lay, tmp_path):
    busy_session(lay, "S1", researcher="r-one").end().ingest()
    day2 = T0 + 3 * 86400
    busy_session(lay, "S2", t0=day2, researcher="r-two").end().ingest()
    both = export(lay, ExportOptions(include_unapproved=True, out=tmp_path / "both"))
    assert both.sessions == 2
    researchers = sorted(p.name for p in (tmp_path / "both" / "steps").iterdir())
    assert researchers == ["r-one", "r-two"]
    only = export(
        lay, ExportOptions(include_unapproved=True, out=tmp_path / "only", sessions=["S2"])
    )
    assert only.sessions == 1 and only.counts["events"] == 7
    since = export_since(lay, tmp_path / "since", "2025-11-26")
    assert since.sessions == 1
    assert since.export_id == only.export_id  # the same sessions: the same export


def export_since(lay, out, text):
    from exporters.source import parse_since

    return export(lay, ExportOptions(include_unapproved=True, out=out, since=parse_since(text)))


# -- the command -----------------------------------------------------------------------------


def run_export_command(*args: str):
    return CliRunner().invoke(cli, ["export", "--include-unapproved", *args])


def test_command_writes_a_dataset_and_a_summary(lay, tmp_path):
    busy_session(lay).end().ingest()
    result = run_export_command("--out", str(tmp_path / "d"), "--session", "S1")
    assert result.exit_code == 0, result.output
    assert "events 7, steps 6, episodes 1" in result.output
    assert "leak scan passed" in result.output
    assert (tmp_path / "d" / "meta" / "info.json").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last tuesday"], "is not a date"),
        (["--session", "no-such-session"], "no session matches"),
        (["--format", "csv"], "Invalid value for '--format'"),
    ],
)
def test_command_errors_are_one_line(lay, tmp_path, args, message):
    busy_session(lay).end().ingest()
    result = run_export_command("--out", str(tmp_path / "d"), *args)
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "d").exists()


def test_output_directory_must_be_new_empty_or_an_earlier_export(lay, tmp_path):
    busy_session(lay).end().ingest()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    result = run_export_command("--out", str(busy))
    assert result.exit_code == 1 and "is not empty" in result.output
    result = run_export_command("--out", str(busy), "--overwrite")
    assert result.exit_code == 1 and "not a recorder export" in result.output
    assert (busy / "notes.txt").read_text() == "mine"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_export_command("--out", str(blocker / "sub"))
    assert result.exit_code == 1 and result.output.startswith("Error: cannot write to")
    assert len(result.output.strip().splitlines()) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_export_command("--out", str(empty)).exit_code == 0


@pytest.mark.slow
def test_export_while_recording_reads_through_the_daemon(run_cli, lay, tmp_path):
    session = run_cli("start", "--name", "live").stdout.strip()
    try:
        run_cli("task", "live task")
        # Commands of the live session, spooled as the shell hook would (its session.start
        # record is a no-op: the session exists).
        s = SessionScript(lay, session=session, t0=time.time())
        s.command("make test", exit=2, output="boom\n")
        s.command("make test", exit=0)
        from recorder.recording import wait_until_ingested

        assert wait_until_ingested(lay)
        from recorder import client

        assert client.daemon_pid(lay) is not None
        tables = export_rows(lay, tmp_path / "live", sessions=[session])
    finally:
        run_cli("stop")
    steps = tables["steps"]
    assert [x["action"]["command"] for x in steps] == ["make test", "make test"]
    assert steps[0]["recovered_by_step"] == 1
    assert steps[0]["observation"]["task"] == "live task"
    assert tables["episodes"][0]["end_reason"] == "recording"


def test_worker_processes_give_the_same_dataset(lay, tmp_path):
    busy_session(lay, "S1").end().ingest()
    busy_session(lay, "S2", t0=T0 + 86400).end().ingest()
    busy_session(lay, "S3", t0=T0 + 2 * 86400).end().ingest()
    one = export_rows(lay, tmp_path / "one", workers=1)
    two = export_rows(lay, tmp_path / "two", workers=2)
    assert one == two
    files = lambda root: sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))  # noqa: E731
    assert files(tmp_path / "one") == files(tmp_path / "two")
    info = json.loads((tmp_path / "two" / "meta" / "info.json").read_text())
    assert [s["session_id"] for s in info["sessions"]] == ["S1", "S2", "S3"]
    assert info["counts"]["events"] == 21
    assert info["redaction"]["findings_by_rule"] == {"github-token": 3}
