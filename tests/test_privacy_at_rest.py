"""Secrets at rest: once a record is in the log its raw bytes are gone from every file
under RECORDER_HOME, and every file the shell hooks create is owner-only from its first byte.

Secrets are planted through every path a researcher's text takes: typed commands (bash and
zsh), what a command prints, a saved file, a file's name, task text and the session's name. Window
titles are not planted: there is no input-activity collector yet to record them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import signal
import stat
import string
import sys
import threading
from pathlib import Path

import pytest
from commandkit import commands, flush, wait_commands, wait_piped
from logkit import log_sql
from spoolkit import open_session_records, shell_spool
from waitkit import wait_until

from recorder.collectors.scratch import ScratchSweeper
from recorder.config import load_config
from recorder.ingest import Ingester
from recorder.redaction.installed import build_redactor
from recorder.spool import scrub_ingested
from recorder.store import WriterLock, compact, open_writer

ROOT = Path(__file__).resolve().parent.parent


def token() -> str:
    """A fresh GitHub-shaped token, which the built-in rules redact."""
    return "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


def leaks(home: Path, planted: list[str]) -> dict[str, list[str]]:
    """Every regular file under ``home`` holding a planted secret's bytes, and which ones."""
    found: dict[str, list[str]] = {}
    for folder, _dirs, files in os.walk(home):
        for name in files:
            path = Path(folder) / name
            if not path.is_file() or path.is_symlink():
                continue
            data = path.read_bytes()
            hits = [s for s in planted if s.encode() in data]
            if hits:
                found[str(path.relative_to(home))] = hits
    return found


def assert_no_leaks(home: Path, planted: list[str]) -> None:
    # The tmux collector frees a raw pane's bytes right after writing their record, so a
    # moment may pass; everything else is erased before the flush that ingested it returns.
    try:
        wait_until(lambda: not leaks(home, planted), timeout=10, what="no planted secret on disk")
    except AssertionError:
        raise AssertionError(f"raw secrets on disk: {leaks(home, planted)}") from None


def hook_files(lay) -> list[Path]:
    return [
        *lay.spool.glob("shell.*.v1.jsonl"),
        *lay.state.glob(".cmd.*"),
        *lay.state.glob("pane.*"),
    ]


def demo_key() -> str:
    """The key `make demo` exports in its recorded shell (scripts/demo.py)."""
    spec = importlib.util.spec_from_file_location("demo_script", ROOT / "scripts" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    (line,) = [c for c in demo.SCRIPT if "WANDB_API_KEY=" in c]
    return line.split("=", 1)[1]


@pytest.mark.slow
def test_no_planted_secret_stays_on_disk_while_recording_or_after_stop(lab, run_cli, lay, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "notes.txt").write_text("nothing yet\n")
    typed_bash, typed_zsh, printed, saved, task, name, path = (token() for _ in range(7))
    planted = [typed_bash, typed_zsh, printed, saved, task, name, path]
    run_cli("start", "--name", f"deploy {name}", "--watch", str(repo))
    bash = lab.spawn("bash", before="umask 022")
    zsh = lab.spawn("zsh", before="umask 022")
    wait_piped(lay, bash)
    wait_piped(lay, zsh)
    bash.run(f"echo typed {typed_bash} >/dev/null")
    zsh.run(f"echo typed {typed_zsh} >/dev/null")
    # The command line holds the token in two parts; only its output holds it whole.
    bash.run(f"printf '%s%s\\n' ghp_ {printed[4:]}")
    bash.run(f"umask > {tmp_path / 'umask-after'}")
    run_cli("task", f"rotate {task}")
    (repo / "notes.txt").write_text(f"TOKEN={saved}\n")
    (repo / f"key-{path}.txt").write_text("in its name\n")
    wait_commands(lay, 4, with_output=True)
    saved_files = "SELECT 1 FROM events WHERE path LIKE 'key-%' OR path LIKE '%notes.txt'"
    wait_until(
        lambda: (flush(lay), len(log_sql(lay, saved_files)) >= 2)[1],
        timeout=30,
        what="both saved files in the log",
    )
    flush(lay)

    # Recorded, with placeholders in the log ...
    rows = commands(lay)
    texts = " ".join(f"{r['command']} {r['output']}" for r in rows)
    assert texts.count("<SECRET:github-token:") >= 3, texts
    # ... and no raw byte left anywhere under the home, while still recording.
    assert_no_leaks(lay.home, planted)
    assert (tmp_path / "umask-after").read_text().strip() == "0022"  # the user's, untouched
    assert list(lay.state.glob(".cmd.*")) and list(lay.state.glob("pane.*"))
    assert len(list(lay.spool.glob("shell.*.v1.jsonl"))) == 2
    for path in hook_files(lay):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    # `make demo`'s order: its shell exports a key and exits, then the recording stops.
    demo = lab.spawn("bash")
    demo.run(f"export WANDB_API_KEY={demo_key()}")
    demo.run("exit", wait=False)
    run_cli("stop")
    assert "WANDB_API_KEY" in " ".join(r["command"] for r in commands(lay))
    assert leaks(lay.home, [*planted, demo_key()]) == {}


@pytest.mark.slow
def test_scratch_file_is_erased_once_ingested_without_the_tmux_collector(
    lab, run_cli, lay, tmp_path
):
    no_tmux = tmp_path / "bin"
    no_tmux.mkdir()
    path = os.pathsep.join([str(Path(sys.executable).parent), str(no_tmux)])
    run_cli("start", "--name", "no-tmux", env={**os.environ, "PATH": path})
    status = json.loads(run_cli("status", "--json").stdout)
    assert status["recording"] and status["daemon_pid"] and "tmux" not in status["collectors"]
    bash = lab.spawn("bash")
    secret = token()
    bash.run(f"echo {secret} >/dev/null")
    wait_commands(lay, 1)
    scratch = list(lay.state.glob(".cmd.*"))
    assert scratch and all(p.stat().st_size > len(secret) for p in scratch)  # erased, not gone
    assert leaks(lay.state, [secret]) == {}
    assert leaks(lay.home, [secret]) == {}
    run_cli("stop")
    assert leaks(lay.home, [secret]) == {}


@pytest.mark.slow
def test_with_the_daemon_gone_the_hook_empties_its_scratch_and_stop_frees_the_panes(
    lab, session, lay, run_cli
):
    bash = lab.spawn("bash")
    wait_piped(lay, bash)
    bash.run("echo warm-up")
    wait_commands(lay, 1, with_output=True)
    os.kill(int(lay.pid_file.read_text()), signal.SIGKILL)
    secret, printed = token(), token()
    bash.run(f" echo {secret} >/dev/null")  # space-prefixed: never recorded
    # The hook emptied its scratch file itself; the pane's raw bytes, which tmux still pipes,
    # wait for a daemon, or for `recorder stop`, to parse and free them.
    assert leaks(lay.state, [secret]) == {}
    assert set(leaks(lay.home, [secret])) == {
        str(p.relative_to(lay.home)) for p in lay.spool.glob("tmux.pane-*.raw")
    }
    bash.run(f"printf '%s%s\\n' ghp_ {printed[4:]}")
    run_cli("stop")
    rows = commands(lay)
    assert len(rows) == 2 and rows[0]["command"] == "echo warm-up"
    assert rows[1]["output"].startswith("<SECRET:github-token:")  # printed while no daemon ran
    assert leaks(lay.home, [secret, printed]) == {}
    assert not list(lay.spool.glob("tmux.pane-*.raw"))
    # The live pane stays registered for the next session: where it is, and no more.
    [registration] = lay.state.glob("pane.*")
    socket, pane, shell_id, pid = registration.read_text().splitlines()
    assert socket.startswith("/") and "recorder-test-" in socket
    assert pane.startswith("%") and pid.isdigit() and shell_id.startswith(pid + "-")


@pytest.mark.slow
def test_erasing_the_scratch_file_while_bash_types_ahead_never_garbles_a_command(lab, session, lay):
    """The sweeper runs in a tight loop beside the daemon's while commands arrive as
    type-ahead: every command must be recorded whole, none empty or cut."""
    bash = lab.spawn("bash")
    stop = threading.Event()
    sweeps = [0]

    def sweep_forever():
        while not stop.is_set():
            ScratchSweeper(lay).sweep()
            sweeps[0] += 1

    thread = threading.Thread(target=sweep_forever, daemon=True)
    thread.start()
    try:
        expected = [f"echo race-{i:03d}-{'x' * (i % 40)} >/dev/null" for i in range(120)]
        for line in expected:
            bash.run(line, wait=False)
        bash.wait_prompt(bash.prompts + len(expected), timeout=120)
        rows = wait_commands(lay, len(expected))
    finally:
        stop.set()
        thread.join()
    assert sweeps[0] > len(expected)
    assert [r["command"] for r in rows] == expected


# -- the pieces, with a real DuckDB file ---------------------------------------------


def _writer(lay):
    lock = WriterLock(lay.writer_lock)
    assert lock.acquire()
    return lock, open_writer(lay)


def _file_bytes(lay) -> bytes:
    wal = Path(f"{lay.database}.wal")
    return lay.database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_an_output_waiting_for_its_command_is_kept_redacted(lay):
    open_session_records(lay, "S1")
    secret = token()
    spool = shell_spool(lay, "p")
    start = (
        '{"v":1,"type":"cmd.start","session":"S1","t":"100.0","shell_id":"sh","n":1,'
        '"cmd":"cat creds","shell":"bash","pid":1}\n'
    )
    output = f'{{"v":1,"type":"cmd.output","shell_id":"sh","n":1,"output":"token {secret}\\n"}}\n'
    spool.write_text(output)
    lock, store = _writer(lay)
    try:
        ingester = Ingester(store, lay, build_redactor(lay, load_config(lay)))
        assert ingester.run_once().pending == 1
        store.execute("CHECKPOINT")
        assert secret.encode() not in _file_bytes(lay)
        assert secret.encode() not in spool.read_bytes()  # erased once in the log
        with spool.open("a") as fh:
            fh.write(start)
        assert ingester.run_once().pending == 0
        out, found = store.execute("SELECT output, redactions FROM events").fetchone()
        assert out.startswith("token <SECRET:github-token:") and secret not in out
        assert "output" in found  # the findings survived the wait
    finally:
        store.close()
        lock.release()


def test_quarantined_lines_are_kept_redacted(lay):
    open_session_records(lay, "S1")
    secret = token()
    spool = shell_spool(lay, "q")
    spool.write_text(f"{{not json {secret}\n")
    lock, store = _writer(lay)
    try:
        report = Ingester(store, lay, build_redactor(lay, load_config(lay))).run_once()
    finally:
        store.close()
        lock.release()
    assert report.quarantined == 1
    (kept,) = (lay.quarantine / f"{spool.name}.bad").read_text().splitlines()
    assert kept.startswith("{not json <SECRET:github-token:")
    assert leaks(lay.home, [secret]) == {}


def test_scrubbing_erases_exactly_the_ingested_bytes_of_a_small_file(tmp_path):
    path = tmp_path / "small.v1.jsonl"
    lines = [b'{"a":"first"}\n', b'{"b":"second"}\n', b'{"c":"third, not yet read"}\n']
    path.write_bytes(b"".join(lines))
    upto = len(lines[0]) + len(lines[1])
    assert scrub_ingested(path, upto, 0) == upto
    data = path.read_bytes()
    assert data == bytes(upto) + lines[2]
    with path.open("ab") as fh:  # the writer goes on appending after the erased range
        fh.write(b'{"d":4}\n')
    assert path.read_bytes().endswith(lines[2] + b'{"d":4}\n')


@pytest.mark.parametrize("change", ["update", "delete"])
def test_compact_leaves_no_copy_of_replaced_or_deleted_text_in_the_file(lay, change):
    secret = token()
    lock, store = _writer(lay)
    try:
        insert = (
            "INSERT INTO events (event_id, session_id, seq, ts_start, source, event_type,"
            " command, ingested_at) SELECT {id}, 'S', {seq}, TIMESTAMP '2025-01-01', 'shell',"
            " 'command', {command}, now() FROM {rows}"
        )
        store.execute(
            insert.format(id="'e' || i", seq="i", command="'make ' || i", rows="range(1, 500) r(i)")
        )
        store.execute(
            insert.format(id="'planted'", seq="1000", command="?", rows="(SELECT 1)"),
            [f"deploy {secret}"],
        )
        store.execute("CHECKPOINT")
        assert secret.encode() in _file_bytes(lay)  # it is there to be found
        if change == "update":
            store.execute(
                "UPDATE events SET command = 'deploy <SECRET>' WHERE event_id = 'planted'"
            )
        else:
            store.execute("DELETE FROM events WHERE event_id = 'planted'")
        store.execute("CHECKPOINT")
        compact(store)
        assert secret.encode() not in _file_bytes(lay)
        assert not list(lay.home.glob("*.compact*"))
        assert stat.S_IMODE(lay.database.stat().st_mode) == 0o600
        count, planted = store.execute(
            "SELECT count(*), max(command) FILTER (event_id = 'planted') FROM events"
        ).fetchone()
        assert count == (500 if change == "update" else 499)
        assert planted == ("deploy <SECRET>" if change == "update" else None)
        store.execute("INSERT INTO spool_offsets VALUES ('x', 1, now())")  # still writable
    finally:
        store.close()
        lock.release()
