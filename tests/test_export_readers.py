"""Every reader docs/dataset.md names reads an export exactly as documented there:
pyarrow (``pq.read_table`` and ``ds.dataset``), Hugging Face ``datasets`` (also on an
export with an empty table), DuckDB, Polars, Ray Data and Spark (the last two are slow:
each starts its own runtime in a child process)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from readerkit import hf_env, run_reader
from sessionkit import T0, SessionScript

from exporters.jobs import ExportOptions
from exporters.pipeline import export
from schemas.arrow import EXPORT_TABLES, export_schema


def two_day_session(lay, session="S1", t0=T0) -> SessionScript:
    s = SessionScript(lay, session=session, t0=t0, researcher="r-read")
    s.task("read me")
    s.save("/work/repo/a.py", head="abc1234")
    s.command("pytest", exit=1, output="1 failed\n")
    s.save("/work/repo/a.py")
    s.command("pytest", exit=0, output="1 passed\n")
    s.wait(20 * 3600)  # the next UTC day
    s.command("git push", exit=0)
    return s


@pytest.fixture
def dataset(lay, tmp_path) -> Path:
    two_day_session(lay).end().ingest()
    out = tmp_path / "dataset"
    export(lay, ExportOptions(include_unapproved=True, out=out))
    return out


@pytest.fixture
def sparse_dataset(lay, tmp_path) -> Path:
    """An export whose steps and episodes tables have no rows (only a task mark)."""
    s = SessionScript(lay, researcher="r-read")
    s.task("nothing done yet")
    s.end().ingest()
    out = tmp_path / "sparse"
    result = export(lay, ExportOptions(include_unapproved=True, out=out))
    assert result.counts == {"events": 1, "steps": 0, "episodes": 0}
    return out


def counts(root: Path) -> dict[str, int]:
    return json.loads((root / "meta" / "info.json").read_text())["counts"]


def test_pq_read_table_reads_each_table_of_the_directory(dataset):
    for table in EXPORT_TABLES:
        loaded = pq.read_table(dataset / table)
        assert loaded.num_rows == counts(dataset)[table]
        assert sorted(loaded.column_names) == sorted(export_schema(table).names)
        assert pa.types.is_string(loaded.schema.field("researcher").type)
        assert set(loaded.column("researcher").to_pylist()) == {"r-read"}
    dates = pq.read_table(dataset / "steps").column("date").to_pylist()
    assert sorted(set(dates)) == ["2025-11-24", "2025-11-25"]
    whole = pq.read_table(dataset / "steps")  # as docs/dataset.md shows it, the schema's own
    assert whole.schema.equals(export_schema("steps"), check_metadata=False)


def test_pq_read_table_on_an_export_with_empty_tables(sparse_dataset):
    for table in EXPORT_TABLES:
        loaded = pq.read_table(sparse_dataset / table)
        assert loaded.num_rows == counts(sparse_dataset)[table]
        assert sorted(loaded.column_names) == sorted(export_schema(table).names)


HF_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import datasets
    out = {}
    for config in ("steps", "events", "episodes"):
        try:
            d = datasets.load_dataset(sys.argv[1], config)["train"]
        except ValueError as exc:
            out[config] = {"error": str(exc)}
        else:
            out[config] = {"rows": d.num_rows, "columns": d.column_names}
    d = datasets.load_dataset(sys.argv[1])["train"]
    out["default"] = {"rows": d.num_rows, "columns": d.column_names}
    print(json.dumps(out))
    """
)


def test_hugging_face_datasets_loads_an_export_with_an_empty_table(sparse_dataset, tmp_path):
    loaded = run_reader(HF_SCRIPT, sparse_dataset, hf_env(tmp_path))
    # `datasets` cannot load a split without rows: such a table has no config (as documented).
    assert loaded["events"] == {"rows": 1, "columns": export_schema("events").names}
    assert loaded["default"] == loaded["events"]  # the first table with rows is the default
    for table in ("steps", "episodes"):
        assert f"'{table}' not found" in loaded[table]["error"]


def test_duckdb_reads_date_as_the_string_the_files_hold(dataset):
    con = duckdb.connect()
    for hive in ("", ", hive_partitioning = true"):  # the paths have no key=value parts
        glob = f"read_parquet('{dataset}/steps/**/*.parquet'{hive})"
        query = f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {glob})"
        types = dict(con.sql(query).fetchall())
        assert types["date"] == "VARCHAR" and types["researcher"] == "VARCHAR"
        assert list(types) == export_schema("steps").names
    rows = con.sql(
        f"SELECT date, count(*) FROM read_parquet('{dataset}/steps/**/*.parquet') GROUP BY ALL"
        " ORDER BY ALL"
    ).fetchall()
    assert rows == [("2025-11-24", 4), ("2025-11-25", 1)]


def test_polars_reads_the_files_with_their_partitions(dataset):
    import polars as pl

    frame = pl.scan_parquet(str(dataset / "steps" / "**" / "*.parquet"), hive_partitioning=True)
    collected = frame.collect()
    assert collected.height == counts(dataset)["steps"]
    assert set(collected["researcher"].to_list()) == {"r-read"}


RAY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import ray
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    out = {}
    for table in ("steps", "events", "episodes"):
        data = ray.data.read_parquet(sys.argv[1] + "/" + table)
        out[table] = {"rows": data.count(), "columns": sorted(data.schema().names),
                      "researchers": sorted({r["researcher"] for r in data.take_all()})}
    print(json.dumps(out))
    """
)


@pytest.mark.long
@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray[data] is not installed")
def test_ray_data_reads_each_table(dataset, tmp_path):
    loaded = run_reader(RAY_SCRIPT, dataset, {"RAY_USAGE_STATS_ENABLED": "0", "TMPDIR": "/tmp"})
    for table in EXPORT_TABLES:
        assert loaded[table]["rows"] == counts(dataset)[table]
        assert loaded[table]["columns"] == sorted(export_schema(table).names)
        assert loaded[table]["researchers"] == ["r-read"]


SPARK_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pyspark.sql import SparkSession
    # The JVM's quick compiler only and one shuffle partition: the same read, started in
    # half the CPU time (a JVM's optimising compiler pays off only in long jobs).
    spark = (SparkSession.builder.master("local[1]").appName("export-readers")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
             .config("spark.sql.shuffle.partitions", "1").getOrCreate())
    out = {}
    for table in ("steps", "events", "episodes"):
        frame = spark.read.option("recursiveFileLookup", "true").parquet(sys.argv[1] + "/" + table)
        out[table] = {"rows": frame.count(), "columns": sorted(frame.columns),
                      "types": {f.name: f.dataType.simpleString() for f in frame.schema.fields
                                if f.name in ("researcher", "date")}}
    print(json.dumps(out))
    spark.stop()
    """
)


@pytest.mark.long
@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="pyspark is not installed")
@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a JRE (default-jre-headless)")
def test_spark_reads_each_table_with_date_as_a_string(dataset):
    loaded = run_reader(SPARK_SCRIPT, dataset, timeout=400)
    for table in EXPORT_TABLES:
        assert loaded[table]["rows"] == counts(dataset)[table]
        assert loaded[table]["columns"] == sorted(export_schema(table).names)
        assert loaded[table]["types"]["researcher"] == "string"
    assert loaded["steps"]["types"]["date"] == "string"  # no date=... path for Spark to retype
