"""Test helpers that write spool records the way the collectors do."""

from __future__ import annotations

import json
import time
from pathlib import Path

from recorder import records as R
from recorder.paths import Layout
from recorder.spool import append_records, spool_name

DEAD_PID = 999_999  # above the default pid_max: never a live process


def shell_spool(lay: Layout, ident: str = "1") -> Path:
    return lay.spool / spool_name("shell", f"{DEAD_PID}-{ident}")


def open_session_records(lay: Layout, session: str, name: str = "test") -> None:
    append_records(
        lay.spool / spool_name("control"),
        [
            R.record(
                R.SESSION_START, session, name=name, host="host", extra={"researcher_id": "r-test"}
            )
        ],
    )


def command_lines(
    session: str, count: int, shell_id: str = "sh1", t0: float | None = None
) -> bytes:
    """``count`` commands as a shell hook writes them: a start and an end line each."""
    t0 = time.time() if t0 is None else t0
    out = []
    for n in range(1, count + 1):
        start = t0 + n * 0.01
        out.append(
            json.dumps(
                {
                    "v": 1,
                    "type": "cmd.start",
                    "session": session,
                    "t": f"{start:.6f}",
                    "tz": 0,
                    "shell_id": shell_id,
                    "n": n,
                    "cmd": f"echo {n}",
                    "cwd": "/tmp",
                    "shell": "bash",
                    "pid": 1,
                }
            )
        )
        out.append(
            json.dumps(
                {
                    "v": 1,
                    "type": "cmd.end",
                    "session": session,
                    "t": f"{start + 0.005:.6f}",
                    "shell_id": shell_id,
                    "n": n,
                    "exit": n % 3,
                    "pipestatus": f"{n % 3}",
                }
            )
        )
    return ("\n".join(out) + "\n").encode()
