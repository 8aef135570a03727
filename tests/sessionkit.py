"""Hand-built sessions for the export and label tests (no tests in this module).

:class:`SessionScript` writes spool records the way the collectors do (shell
commands, file events, the researcher's marks) on a clock the test controls,
then ingests them with the real ingest path (``drain_without_daemon``), so the
exporter reads a real DuckDB event log.
"""

from __future__ import annotations

import json
from pathlib import Path

from spoolkit import DEAD_PID

from recorder import records as R
from recorder.paths import Layout
from recorder.recording import drain_without_daemon
from recorder.spool import SpoolWriter, spool_name

T0 = 1_764_000_000.0  # 2025-11-24 16:00:00 UTC


class SessionScript:
    """A session written event by event; ``now`` is seconds since ``t0``."""

    def __init__(self, lay: Layout, session: str = "S1", t0: float = T0, tz: int = 60,
                 researcher: str = "r-test", name: str | None = "demo"):  # fmt: skip
        self.lay = lay
        self.session = session
        self.t0 = t0
        self.tz = tz
        self.now = 0.0
        self.n = 0
        self.control = SpoolWriter(lay.spool / spool_name("control"), shared=True)
        self.shell = SpoolWriter(lay.spool / spool_name("shell", f"{DEAD_PID}-{session}"))
        self.files = SpoolWriter(lay.spool / spool_name("files", f"{DEAD_PID}-{session}"))
        extra = {"researcher_id": researcher, "watch": []}
        self.control.append([self._rec(R.SESSION_START, name=name, host="h", extra=extra)])

    def _rec(self, type_: str, at: float | None = None, **fields):
        t = self.t0 + (self.now if at is None else at)
        return R.record(type_, self.session, t=t, tz=self.tz, **fields)

    def wait(self, seconds: float) -> SessionScript:
        self.now += seconds
        return self

    def command(self, cmd: str, exit: int | None = 0, output: str | None = None,
                duration: float = 1.0, cwd: str = "/work/repo", shell_id: str = "sh1",
                gap: float = 2.0, pipestatus: str | None = None) -> SessionScript:  # fmt: skip
        """A command typed ``gap`` s after the last thing; it runs ``duration`` s."""
        self.now += gap
        self.n += 1
        records = [self._rec(R.CMD_START, shell_id=shell_id, n=self.n, cmd=cmd, cwd=cwd,
                             shell="bash", pid=DEAD_PID)]  # fmt: skip
        if output is not None:
            records.append(self._rec(R.CMD_OUTPUT, at=self.now + duration, shell_id=shell_id,
                                     n=self.n, output=output, truncated=False,
                                     output_bytes=len(output.encode())))  # fmt: skip
        if exit is not None:
            records.append(self._rec(R.CMD_END, at=self.now + duration, shell_id=shell_id,
                                     n=self.n, exit=exit,
                                     pipestatus=pipestatus or str(exit)))  # fmt: skip
        self.shell.append(records)
        self.now += duration
        return self

    def file(self, path: str, event: str = "save", added: int = 1, removed: int = 0,
             diff: str | None = None, repo: str | None = "/work/repo", head: str | None = None,
             gap: float = 2.0, at: float | None = None, old_path: str | None = None
             ) -> SessionScript:  # fmt: skip
        """A file event ``gap`` s after the last thing (or at ``at`` without moving the clock)."""
        if at is None:
            self.now += gap
        diff = diff if diff is not None else f"--- a/{path}\n+++ b/{path}\n+line\n"
        self.files.append([self._rec(R.EVENT, at=at, source="file", event=event, path=path,
                                     repo=repo, diff=diff, added=added, removed=removed,
                                     head=head, old_path=old_path)])  # fmt: skip
        return self

    def save(self, path: str, **kw) -> SessionScript:
        return self.file(path, "save", **kw)

    def user(self, event: str, text: str | None = None, gap: float = 1.0) -> SessionScript:
        self.now += gap
        self.control.append([self._rec(R.EVENT, source="user", event=event, text=text)])
        return self

    def task(self, text: str, gap: float = 1.0) -> SessionScript:
        return self.user("task", text, gap)

    def end(self, gap: float = 1.0) -> SessionScript:
        self.now += gap
        self.control.append([self._rec(R.SESSION_END)])
        return self

    def ingest(self) -> SessionScript:
        for writer in (self.control, self.shell, self.files):
            writer.close()
        drain_without_daemon(self.lay)
        return self


def export_rows(lay: Layout, out, **options) -> dict[str, list[dict]]:
    """Export with the real pipeline into ``out``; every table's rows in a stable order."""
    import pyarrow.dataset as ds

    from exporters.jobs import ExportOptions
    from exporters.pipeline import export

    options.setdefault("include_unapproved", True)  # these tests check rows, not approvals
    export(lay, ExportOptions(out=out, **options))
    tables = {}
    order = {
        "events": ["session_id", "ts_start", "seq"],
        "steps": ["session_id", "episode_id", "step_index"],
        "episodes": ["session_id", "episode_index"],
    }
    for name, keys in order.items():
        table = ds.dataset(out / name, format="parquet", partitioning="hive").to_table()
        table = table.sort_by([(k, "ascending") for k in keys])
        tables[name] = table.to_pylist()
    return tables


def commands_of(steps: list[dict]) -> list[str]:
    return [x["action"]["command"] for x in steps if x["action"]["type"] == "command"]


def dataset_files(root: Path) -> dict[str, bytes]:
    """Every file of an export, meta/info.json without the time it was made."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == "info.json":
                info = json.loads(data)
                info.pop("created_at")
                data = json.dumps(info, sort_keys=True).encode()
            files[str(path.relative_to(root))] = data
    return files
