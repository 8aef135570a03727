"""The home is owner-only and the recorder writes nothing through a planted symlink.

It refuses a home that others can write, or one that others can read and that it
did not make (whose mode it never changes); it closes up one of its own. Symlinks
planted where it keeps its spool, state and logs are never followed when it writes.
"""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from recorder.paths import Layout, layout

pytestmark = pytest.mark.slow


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize("open_mode", [0o777, 0o775, 0o755, 0o750])
def test_a_home_the_user_made_open_to_others_is_refused_and_left_alone(
    run_cli, recorder_home, open_mode
):
    recorder_home.mkdir()
    os.chmod(recorder_home, open_mode)
    proc = run_cli("start", check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot use ")
    assert "chmod 700" in lines[0]
    assert mode(recorder_home) == open_mode  # never chmodded
    assert list(recorder_home.iterdir()) == []  # nothing written into it


@pytest.mark.parametrize("command", [["start"], ["status"], ["sessions"]])
def test_a_directory_holding_another_tools_files_is_not_taken_as_the_home(
    run_cli, recorder_home, command
):
    recorder_home.mkdir(mode=0o700)
    (recorder_home / "notes.txt").write_text("mine\n")
    (recorder_home / "cache").mkdir()
    proc = run_cli(*command, check=False)
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"Error: cannot use {recorder_home} as the recorder's home: ")
    assert "notes.txt" in line or "cache" in line
    assert sorted(p.name for p in recorder_home.iterdir()) == ["cache", "notes.txt"]


def test_an_empty_directory_becomes_the_home(run_cli, recorder_home):
    recorder_home.mkdir(mode=0o700)
    run_cli("start")
    run_cli("stop")
    assert (recorder_home / "state").is_dir() and (recorder_home / "recorder.duckdb").exists()


def test_a_home_of_its_own_opened_to_readers_is_closed_again(run_cli, recorder_home):
    run_cli("config")
    os.chmod(recorder_home, 0o755)
    run_cli("start")
    assert mode(recorder_home) == 0o700
    run_cli("stop")


def test_a_home_of_its_own_that_others_can_write_is_refused(run_cli, recorder_home):
    run_cli("config")
    os.chmod(recorder_home, 0o757)
    proc = run_cli("start", check=False)
    assert proc.returncode == 1 and "others can write" in proc.stderr
    assert mode(recorder_home) == 0o757


def test_every_file_and_directory_of_the_home_is_owner_only(run_cli, recorder_home, lab):
    run_cli("start")
    shell = lab.spawn("bash")
    shell.run("echo hello")
    run_cli("task", "check modes")
    run_cli("stop")
    for path in [recorder_home, *recorder_home.rglob("*")]:
        st = os.lstat(path)
        assert st.st_uid == os.getuid(), path
        assert stat.S_IMODE(st.st_mode) & 0o077 == 0, (path, oct(st.st_mode))


def test_the_socket_cannot_be_reached_by_another_user(run_cli):
    run_cli("start")
    sock = layout().socket
    assert mode(sock.parent) == 0o700
    probe = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX)\n"
        "try:\n    s.connect(sys.argv[1]); print('connected')\n"
        "except OSError as e:\n    print('refused', e.errno)\n"
    )
    nobody = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "python3", "-c", probe,
         str(sock)],
        capture_output=True, text=True,
    )  # fmt: skip
    if nobody.returncode != 0 and "setpriv" in nobody.stderr:
        pytest.skip("setpriv cannot change user here")
    assert nobody.stdout.startswith("refused"), nobody.stdout + nobody.stderr
    run_cli("stop")


def test_symlinks_planted_in_the_home_are_not_followed(run_cli, recorder_home, tmp_path):
    run_cli("config")  # the home exists, made by the recorder
    lay = Layout(recorder_home).ensure()
    victims = {}
    for planted in (lay.daemon_log, lay.cli_log, lay.pid_file, lay.spool / "control.v1.jsonl"):
        victim = tmp_path / f"victim-{planted.name}"
        victim.write_text("untouched\n")
        os.symlink(victim, planted)
        victims[planted] = victim
    proc = run_cli("start", check=False)
    run_cli("task", "a mark", check=False)
    run_cli("stop", check=False)
    for planted, victim in victims.items():
        assert victim.read_text() == "untouched\n", (planted, proc.stderr)
    assert "Traceback" not in proc.stderr
