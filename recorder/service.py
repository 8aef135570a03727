"""Recording from login: the systemd user unit (a launchd agent on macOS) that runs
``recorder start --resume --foreground``.

At login the unit continues the session that was recording when the machine went
down (its spool kept whatever the shells wrote meanwhile), or starts a new one, and
runs the daemon in the service's process. ``recorder stop`` ends the session and the
service with it (exit 0: not restarted) until the next login; a crash restarts it.

Without a systemd user manager (a container, a machine without systemd), installing
writes nothing and says, in one line, what to put in a login script instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from recorder.errors import UsageError
from recorder.paths import open_private

UNIT_NAME = "recorder.service"
AGENT_LABEL = "dev.recorder.recorder"
MANUAL_LINE = "recorder start --resume >/dev/null 2>&1"


@dataclass(frozen=True)
class ServiceReport:
    """What an install, uninstall or status found and did, for the CLI to print."""

    path: Path | None  # the unit (or agent) file
    installed: bool
    manager: str | None  # why the service manager cannot be used, or None when it can
    detail: str


def recorder_command() -> str:
    """The absolute path of the installed entry point (a unit has no PATH of the user's)."""
    found = shutil.which("recorder")
    if found is None:
        raise UsageError("the recorder entry point is not on PATH: install it first")
    return os.path.abspath(found)


def systemd_unit(executable: str, home: Path) -> str:
    """The text of the systemd user unit."""
    quoted_home = str(home).replace("\\", "\\\\").replace('"', '\\"')
    return (
        "[Unit]\n"
        "Description=recorder: shell, file and terminal activity for imitation learning\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f'Environment="RECORDER_HOME={quoted_home}"\n'
        f"ExecStart={_systemd_quote(executable)} start --resume --foreground\n"
        # `recorder stop` ends it with status 0 (not restarted); a crash restarts it.
        "Restart=on-failure\n"
        "RestartSec=5\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def launchd_agent(executable: str, home: Path) -> str:
    """The text of the launchd agent (macOS)."""
    args = "".join(
        f"    <string>{escape(a)}</string>\n"
        for a in (executable, "start", "--resume", "--foreground")
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN"'
        ' "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
        '<plist version="1.0">\n<dict>\n'
        f"  <key>Label</key><string>{AGENT_LABEL}</string>\n"
        f"  <key>ProgramArguments</key>\n  <array>\n{args}  </array>\n"
        "  <key>EnvironmentVariables</key>\n"
        f"  <dict><key>RECORDER_HOME</key><string>{escape(str(home))}</string></dict>\n"
        "  <key>RunAtLoad</key><true/>\n"
        "  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>\n"
        "</dict>\n</plist>\n"
    )


def _systemd_quote(value: str) -> str:
    if all(c.isalnum() or c in "/._-+" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_path() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "LaunchAgents" / f"{AGENT_LABEL}.plist"
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user" / UNIT_NAME


def manager_problem() -> str | None:
    """Why the user's service manager cannot be used here, or None."""
    if sys.platform == "darwin":
        return None if shutil.which("launchctl") else "launchctl is not on PATH"
    if shutil.which("systemctl") is None:
        return "systemctl is not on PATH"
    proc = _systemctl("show-environment")  # answers only through a running user manager
    if proc.returncode != 0:
        first = (proc.stderr or proc.stdout).strip().splitlines()
        return "no systemd user manager here" + (f" ({first[0]})" if first else "")
    return None


def install(home: Path) -> ServiceReport:
    problem = manager_problem()
    if problem is not None:
        return ServiceReport(None, False, problem, _manual(problem))
    path = unit_path()
    executable = recorder_command()
    text = (
        launchd_agent(executable, home)
        if sys.platform == "darwin"
        else systemd_unit(executable, home)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    if sys.platform == "darwin":
        _run(["launchctl", "load", "-w", str(path)])
        return ServiceReport(path, True, None, f"installed {path}; it records from login")
    _run(["systemctl", "--user", "daemon-reload"])
    _run(["systemctl", "--user", "enable", "--now", UNIT_NAME])
    return ServiceReport(path, True, None, f"installed {path}; it records from login")


def uninstall() -> ServiceReport:
    path = unit_path()
    problem = manager_problem()
    if problem is None and path.exists():
        if sys.platform == "darwin":
            _run(["launchctl", "unload", "-w", str(path)], check=False)
        else:
            _run(["systemctl", "--user", "disable", "--now", UNIT_NAME], check=False)
    existed = path.exists()
    path.unlink(missing_ok=True)
    if problem is None and sys.platform != "darwin":
        _run(["systemctl", "--user", "daemon-reload"], check=False)
    detail = f"removed {path}" if existed else f"not installed ({path} does not exist)"
    return ServiceReport(path, False, problem, detail)


def status() -> ServiceReport:
    path = unit_path()
    problem = manager_problem()
    if not path.exists():
        detail = "not installed" + (f"; {_manual(problem)}" if problem else "")
        return ServiceReport(path, False, problem, detail)
    if problem is not None or sys.platform == "darwin":
        return ServiceReport(path, True, problem, f"installed: {path}")
    enabled = _systemctl("is-enabled", UNIT_NAME).stdout.strip() or "unknown"
    active = _systemctl("is-active", UNIT_NAME).stdout.strip() or "unknown"
    return ServiceReport(path, True, None, f"installed: {path} ({enabled}, {active})")


def _manual(problem: str) -> str:
    return f"{problem}: to record from login, add `{MANUAL_LINE}` to ~/.profile"


def _systemctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["systemctl", "--user", *args], capture_output=True, text=True, check=False
    )


def _run(command: list[str], check: bool = True) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip().splitlines()
        raise UsageError(f"{' '.join(command)}: {message[0] if message else 'failed'}")
