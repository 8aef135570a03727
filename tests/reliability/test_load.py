"""Load: shells writing commands at a steady rate while the daemon ingests
(benchmarks/load_bench.py), and the daemon SIGKILLed again and again meanwhile. Briefly
in every run; for 60 s at 1,000 commands/s behind ``-m soak``. Nothing is lost or doubled, and the backlog and the daemon's memory stay
bounded; the figures (lag, RSS) are the benchmark's to print, not the test's to time."""

from __future__ import annotations

import pytest

from benchmarks.load_bench import run_load


def check(report, rate: float) -> None:
    assert report.commands >= rate * report.seconds * 0.5  # the writers kept up with it
    assert (report.lost, report.duplicates) == (0, 0)
    assert max(report.backlog_bytes) < 64 * 1024 * 1024  # never more than one ingest batch
    assert report.rss_mb and max(report.rss_mb) < 2 * report.rss_mb[0] + 64


# They load the machine on purpose: alone, so that no other test runs beside them.
pytestmark = pytest.mark.alone


@pytest.mark.slow
def test_a_short_load_is_ingested_exactly_once(tmp_path):
    check(run_load(tmp_path / "home", rate=200, seconds=3, shells=4), 200)


@pytest.mark.slow
@pytest.mark.soak
def test_a_thousand_commands_a_second_for_a_minute(tmp_path):
    check(run_load(tmp_path / "home", rate=1000, seconds=60, shells=10), 1000)


@pytest.mark.slow
def test_the_daemon_killed_again_and_again_under_load_loses_nothing(tmp_path):
    report = run_load(tmp_path / "home", rate=200, seconds=6, shells=4, kill_every_s=2)
    assert report.kills == 3
    check(report, 200)


@pytest.mark.slow
@pytest.mark.soak
def test_a_minute_of_load_with_a_crash_every_ten_seconds(tmp_path):
    report = run_load(tmp_path / "home", rate=1000, seconds=60, shells=10, kill_every_s=10)
    assert report.kills == 6
    check(report, 1000)
