"""`recorder service`: the login unit, and `recorder start --resume --foreground`, the
command it runs, which carries a session across a reboot."""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from spoolkit import command_lines, shell_spool
from waitkit import wait_until

from recorder.service import launchd_agent, systemd_unit


def user_manager_problem() -> str | None:
    if shutil.which("systemctl") is None or shutil.which("systemd-run") is None:
        return "systemctl or systemd-run is not installed"
    proc = subprocess.run(
        ["systemctl", "--user", "show-environment"], capture_output=True, text=True
    )
    if proc.returncode != 0:
        return f"no systemd user manager: {proc.stderr.strip().splitlines()[0]}"
    return None


def test_the_systemd_unit_runs_the_installed_recorder_and_systemd_accepts_it(tmp_path):
    exe = shutil.which("recorder")
    home = tmp_path / "a home" / 'with "quotes"'
    text = systemd_unit(exe, home)
    lines = text.splitlines()
    assert f"ExecStart={exe} start --resume --foreground" in lines
    assert 'Environment="RECORDER_HOME=' + str(home).replace('"', '\\"') + '"' in lines
    assert "Restart=on-failure" in lines and "WantedBy=default.target" in lines
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed: the unit's syntax is not checked")
    unit = tmp_path / "recorder.service"
    unit.write_text(text)
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == ""


def test_the_launchd_agent_is_a_plist_with_the_same_command(tmp_path):
    home = tmp_path / "<home & co>"
    agent = plistlib.loads(launchd_agent("/opt/bin/recorder", home).encode())
    assert agent["ProgramArguments"] == ["/opt/bin/recorder", "start", "--resume", "--foreground"]
    assert agent["EnvironmentVariables"] == {"RECORDER_HOME": str(home)}
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] == {"SuccessfulExit": False}


def test_without_a_user_manager_install_says_what_to_do_in_one_line(run_cli, tmp_path):
    problem = user_manager_problem()
    if problem is None:
        pytest.skip("this machine has a systemd user manager: install would enable the unit")
    config = tmp_path / "xdg-config"
    env = {**os.environ, "XDG_CONFIG_HOME": str(config)}
    proc = run_cli("service", "install", check=False, env=env)
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert "no systemd user manager here" in line
    assert "add `recorder start --resume >/dev/null 2>&1` to ~/.profile" in line
    assert not config.exists()
    assert run_cli("service", "status", env=env).stdout.startswith("not installed")


@pytest.mark.slow
def test_the_services_command_carries_a_session_across_a_reboot(run_cli, lay):
    session = run_cli("start").stdout.strip()
    daemon = int(lay.pid_file.read_text())
    os.kill(daemon, signal.SIGKILL)  # the machine goes down; the session stays "recording"
    wait_until(lambda: not Path(f"/proc/{daemon}").exists(), what="the daemon to die")
    # A shell went on spooling while no daemon ran.
    with open(shell_spool(lay), "ab") as fh:
        fh.write(command_lines(session, 3))
    # At login the unit runs this, and keeps it running.
    service = subprocess.Popen(
        [shutil.which("recorder"), "start", "--resume", "--foreground"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: json.loads(run_cli("status", "--json").stdout)["daemon_pid"] is not None,
            what="the service's daemon",
        )
        status = json.loads(run_cli("status", "--json").stdout)
        assert status["session"] == session  # the same session goes on
        wait_until(lambda: status_events(run_cli) >= 3, what="the spooled commands")
        assert service.poll() is None  # runs in the foreground, as systemd expects
        run_cli("stop")
        assert service.wait(timeout=60) == 0  # a stop is not a failure: not restarted
    finally:
        if service.poll() is None:
            service.kill()
    assert "already recording" not in service.stderr.read()


def status_events(run_cli) -> int:
    return sum(json.loads(run_cli("status", "--json").stdout)["events_by_source"].values())


@pytest.mark.slow
def test_the_unit_runs_under_systemd(run_cli, recorder_home):
    problem = user_manager_problem()
    if problem is not None:
        pytest.skip(f"cannot run the unit for real here ({problem})")
    unit = f"recorder-test-{os.getpid()}-{time.monotonic_ns()}"
    exe = shutil.which("recorder")
    subprocess.run(
        ["systemd-run", "--user", "--unit", unit, "-E", f"RECORDER_HOME={recorder_home}",
         exe, "start", "--resume", "--foreground"],
        check=True,
    )  # fmt: skip
    try:
        wait_until(
            lambda: json.loads(run_cli("status", "--json").stdout)["recording"],
            what="the unit to record",
        )
        run_cli("stop")
        wait_until(
            lambda: (
                subprocess.run(
                    ["systemctl", "--user", "is-active", unit], capture_output=True, text=True
                ).stdout.strip()
                in ("inactive", "unknown")
            ),
            what="the unit to end",
        )
    finally:
        subprocess.run(["systemctl", "--user", "stop", unit], capture_output=True)
