"""Speed and peak memory of ``recorder scrub``, beside a same-run baseline.

For each input (real code: this interpreter's standard library; real logs: this machine's
``/var/log`` text files; secret-dense text: the labelled corpus), repeated to each size
(20 MB and 100 MB by default), three runs, each in its own process:

- ``baseline``: copying the file through Python in the same 1 MB blocks, decoded and
  encoded again, with no redaction: the floor any streaming scrub stands on;
- ``whole``: redacting the file read whole in one ``Redactor.redact`` call, which is what
  ``recorder scrub`` did before it streamed (skipped above ``--whole-max-mb``: its memory
  grows with the input);
- ``scrub``: the installed ``recorder scrub FILE`` writing to /dev/null (a temporary
  RECORDER_HOME), which streams (``recorder.redaction.scrubbing``).

Prints MB/s (wall time, best of ``--repeat``; for ``scrub`` also by its CPU time), the
ratio of ``scrub`` to the baseline, and each process's peak RSS. Run: ``python benchmarks/redaction_scrub_bench.py
[--sizes 20,100] [--only dense]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_WHOLE = """
import sys
sys.path.insert(0, {root!r})
from benchmarks.redaction_bench import make_redactor
redactor = make_redactor()
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
sys.stdout.buffer.write(redactor.redact(data).text.encode("utf-8", "replace"))
"""

_COPY = """
import sys
with open(sys.argv[1], "rb") as f:
    while block := f.read(1 << 20):
        sys.stdout.buffer.write(block.decode("utf-8", "replace").encode("utf-8", "replace"))
"""


def real_code() -> str:
    parts, size = [], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
        parts.append(path.read_text(encoding="utf-8", errors="replace"))
        size += len(parts[-1])
        if size >= 20e6:
            break
    return "\n".join(parts)


def real_logs() -> str:
    parts = []
    for path in sorted(Path("/var/log").rglob("*")):
        try:
            if path.is_file() and path.suffix != ".gz":
                data = path.read_bytes()
                if data and b"\0" not in data[:4096]:
                    parts.append(data.decode("utf-8", "replace"))
        except OSError:
            continue
    return "\n".join(parts) or real_code()


def dense() -> str:
    sys.path.insert(0, str(ROOT))
    from benchmarks.redaction_corpus import build_corpus

    return "\n".join(s.text for s in build_corpus(1)) + "\n"


INPUTS = {"code": ("real code", real_code), "logs": ("real logs", real_logs),
          "dense": ("secret-dense text", dense)}  # fmt: skip


# Runs a command and reports its peak RSS. A small process of its own starts it: a child
# forked from this one would count the pages of this process (the inputs it built) as its own.
_RUN = """
import os, resource, subprocess, sys, time
t0 = time.perf_counter()
with open(os.devnull, "wb") as sink:
    code = subprocess.run(sys.argv[1:], stdout=sink).returncode
seconds = time.perf_counter() - t0
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(code, seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)
"""


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds of ``cmd`` run with its output to
    /dev/null (CPU time is the steadier figure on a machine others are using)."""
    out = subprocess.run(
        [sys.executable, "-c", _RUN, *cmd], capture_output=True, text=True, env=env, check=True
    )
    code, seconds, peak, cpu = out.stdout.split()
    if code != "0":
        raise SystemExit(f"{cmd[:3]} failed: {out.stderr[-500:]}")
    return float(seconds), float(peak), float(cpu)


def best(cmd: list[str], repeat: int, env: dict | None = None) -> tuple[float, float, float]:
    runs = [timed(cmd, env) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs), min(r[2] for r in runs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,100", help="input sizes in MB, comma-separated")
    parser.add_argument("--only", choices=sorted(INPUTS), action="append")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--whole-max-mb", type=float, default=25.0)
    args = parser.parse_args(argv)
    exe = shutil.which("recorder")
    if exe is None:
        raise SystemExit("the recorder entry point is not installed (pip install -e .)")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RECORDER_HOME": str(Path(tmp) / "home")}
        for key in args.only or list(INPUTS):
            label, make = INPUTS[key]
            unit = make()
            for size in (float(s) for s in args.sizes.split(",")):
                path = Path(tmp) / "input.txt"
                with path.open("w", encoding="utf-8") as fh:
                    for _ in range(max(1, int(size * 1e6) // len(unit))):
                        fh.write(unit)
                mb = path.stat().st_size / 1e6
                base = best([sys.executable, "-c", _COPY, str(path)], args.repeat)
                ours = best([exe, "scrub", str(path)], args.repeat, env)
                row = [
                    f"baseline {mb / base[0]:6.1f} MB/s {base[1]:4.0f} MB",
                    f"scrub {mb / ours[0]:5.1f} MB/s (cpu {mb / ours[2]:5.1f}) {ours[1]:4.0f} MB "
                    f"({ours[0] / base[0]:.1f}x baseline time)",
                ]
                if mb <= args.whole_max_mb:
                    whole_code = _WHOLE.format(root=str(ROOT))
                    whole = best([sys.executable, "-c", whole_code, str(path)], args.repeat)
                    row.append(f"whole (before) {mb / whole[0]:5.1f} MB/s {whole[1]:4.0f} MB")
                print(f"{label:<18} {mb:4.0f} MB: " + ";  ".join(row), flush=True)
                path.unlink()


if __name__ == "__main__":
    main()
