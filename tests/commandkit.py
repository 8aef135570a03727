"""The log's command events, read back for the shell tests (tests/test_shell_*.py).

The tests type into real shells (:mod:`shellkit`); these helpers flush the daemon
and wait until what was typed is in the event log, then return it as rows.
"""

from __future__ import annotations

from typing import Any

from logkit import log_sql
from waitkit import wait_until

from recorder import client
from recorder.paths import Layout


def flush(lay: Layout) -> None:
    client.call(lay, "flush", timeout=60)


def commands(lay: Layout, shell_id: str | None = None) -> list[dict[str, Any]]:
    """Command events (oldest first), optionally of one shell."""
    sql = (
        "SELECT command, exit_code, pipestatus, cwd, duration_ms, shell, shell_pid, shell_id,"
        " cmd_seq, host, username, tmux_pane, output, output_truncated, output_bytes, extra,"
        " ts_start, ts_end, session_id FROM events WHERE event_type = 'command'"
    )
    params: list[Any] = []
    if shell_id is not None:
        sql += " AND shell_id = ?"
        params.append(shell_id)
    return log_sql(lay, sql + " ORDER BY ts_start, cmd_seq", params)


def shell_ids(lay: Layout) -> list[str]:
    rows = log_sql(lay, "SELECT DISTINCT shell_id FROM events WHERE shell_id IS NOT NULL")
    return [r["shell_id"] for r in rows]


def wait_piped(lay: Layout, shell) -> None:
    """Wait until the tmux collector captures the shell's pane (it registers at a prompt)."""

    def piped():
        status = client.call(lay, "status", timeout=30)
        panes = status.get("collectors", {}).get("tmux", {}).get("panes", [])
        return any(p.endswith(f":{shell.pane_id}") and shell.lab.socket_name in p for p in panes)

    try:
        wait_until(piped, timeout=60, what=f"pane {shell.pane_id} to be piped")
    except AssertionError:
        status = client.call(lay, "status", timeout=30)
        regs = sorted(p.name for p in lay.state.glob("pane.*"))
        raise AssertionError(
            f"pane {shell.pane_id} not piped; registrations {regs}; status {status}\n{shell.text()}"
        ) from None


def wait_commands(
    lay: Layout,
    count: int,
    shell_id: str | None = None,
    ended: bool = True,
    with_output: bool = False,
):
    """Flush until at least ``count`` commands (ended ones, if ``ended``) are in the log,
    and, if ``with_output``, until each has its output."""

    seen: list[dict[str, Any]] = []

    def enough():
        flush(lay)
        rows = commands(lay, shell_id)
        if ended:
            rows = [r for r in rows if r["ts_end"] is not None]
        seen[:] = rows
        if with_output and any(r["output"] is None for r in rows):
            return None  # the tmux collector's records lag the shell's a little
        return rows if len(rows) >= count else None

    try:
        return wait_until(enough, timeout=60, interval=0.2, what=f"{count} commands")
    except AssertionError:
        got = [(r["command"], r["exit_code"]) for r in seen]
        raise AssertionError(f"wanted {count} commands, the log has {len(got)}: {got}") from None
