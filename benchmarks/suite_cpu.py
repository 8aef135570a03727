"""The CPU time of a test run and of everything it starts, beside its wall time.

On a shared machine the suite's wall time says more about the neighbours than about the
suite; its CPU time much less. The daemons, tmux servers and JVMs that the tests start
detach from pytest, so ``time`` would miss them: this script makes itself their
subreaper (Linux ``PR_SET_CHILD_SUBREAPER``), reaps each as it ends, and adds up the
user and system time of them all.

    python benchmarks/suite_cpu.py -- -q -n 2 tests/test_cli_lifecycle.py
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit("cannot become a subreaper (Linux only)")
    start = time.monotonic()
    load = os.getloadavg()[0]
    proc = subprocess.Popen([sys.executable, "-m", "pytest", *args])
    status = None
    while status is None:
        pid, code = os.wait()
        if pid == proc.pid:
            status = os.waitstatus_to_exitcode(code)
    wall = time.monotonic() - start
    left = _reap_the_rest(timeout=30.0)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    print(
        f"wall {wall:.1f} s  cpu {cpu:.1f} s (user {usage.ru_utime:.1f}, sys"
        f" {usage.ru_stime:.1f})  load average at start {load:.1f}, at end"
        f" {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
    )
    if left:
        print(f"{left} processes the run started were still running", file=sys.stderr)
    return status


def _reap_the_rest(timeout: float) -> int:
    """Reap what the run left behind as it ends; how many still run after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 0
        if pid == 0:
            time.sleep(0.1)
    return _children()


def _children() -> int:
    me = str(os.getpid())
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    count += fh.read().rsplit(")", 1)[1].split()[1] == me
            except OSError:
                pass
    return count


if __name__ == "__main__":
    sys.exit(main())
