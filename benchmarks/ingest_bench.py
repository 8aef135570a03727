"""Spool -> DuckDB ingest throughput, beside a same-run baseline.

Writes N synthetic commands (a cmd.start and a cmd.end line each, as the shell
hook does: N events, 2N spool records) to a spool file in a temporary home,
then times ``Ingester.drain`` with and without the redaction engine. The
baseline is DuckDB's own ``read_json`` loading the same file into a table: the
speed of a bare load with no pairing, offsets, quarantine or redaction.

    python benchmarks/ingest_bench.py [--events 1000000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recorder.ingest import Ingester  # noqa: E402
from recorder.paths import Layout  # noqa: E402
from recorder.store import WriterLock, open_writer  # noqa: E402
from tests.spoolkit import command_lines, open_session_records, shell_spool  # noqa: E402


def make_home(root: Path, events: int) -> Layout:
    lay = Layout(root).ensure()
    open_session_records(lay, "S1")
    spool = shell_spool(lay)
    with spool.open("wb") as fh:
        step = 100_000
        for start in range(0, events, step):
            count = min(step, events - start)
            fh.write(command_lines("S1", count, shell_id=f"sh{start}", t0=1.7e9 + start))
    return lay


def time_ingest(lay: Layout, redact: bool) -> tuple[float, int]:
    lock = WriterLock(lay.writer_lock)
    lock.acquire()
    store = open_writer(lay)
    redactor = None
    if redact:
        from recorder.config import load_config
        from recorder.daemon import build_redactor

        redactor = build_redactor(lay, load_config(lay))
    start = time.perf_counter()
    Ingester(store, lay, redactor).drain()
    elapsed = time.perf_counter() - start
    count = store.execute("SELECT count(*) FROM events WHERE exit_code IS NOT NULL").fetchone()[0]
    store.close()
    lock.release()
    return elapsed, count


def time_baseline(lay: Layout) -> float:
    import duckdb

    con = duckdb.connect(str(lay.home / "baseline.duckdb"))
    start = time.perf_counter()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM read_json(?, format='newline_delimited')",
        [str(shell_spool(lay))],
    )
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.events
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for redact in (False, True):
            lay = make_home(Path(tmp) / f"home-{redact}", n)
            size = shell_spool(lay).stat().st_size
            baseline = time_baseline(lay)
            elapsed, count = time_ingest(lay, redact)
            assert count == n, f"ingested {count} of {n} commands"
            results[redact] = elapsed
            label = "with redaction" if redact else "no redaction  "
            print(
                f"ingest {label}: {n:,} events ({2 * n:,} records, {size / 1e6:.0f} MB) "
                f"in {elapsed:.2f} s = {n / elapsed:,.0f} events/s; "
                f"baseline read_json {baseline:.2f} s; ratio ingest/baseline {elapsed / baseline:.2f}"
            )
        print(f"cpu count: {os.cpu_count()}")


if __name__ == "__main__":
    main()
