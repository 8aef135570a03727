"""Speed and peak memory of redacting a file whole (what ``recorder scrub`` does) beside
``Redactor.redact_stream``, on real code (this interpreter's standard library) and on
secret-dense text (the labelled corpus, repeated), each run in its own process.

Prints MB/s (wall time of the redaction, best of 2) and the process's peak RSS.
Run: ``python benchmarks/redaction_scrub_bench.py [--size-mb 20]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import io, resource, sys, time
sys.path.insert(0, {root!r})
from benchmarks.redaction_bench import make_redactor
mode, path = sys.argv[1], sys.argv[2]
best = float("inf")
for _ in range(2):
    redactor = make_redactor()
    t0 = time.perf_counter()
    if mode == "whole":
        data = open(path, "rb").read().decode("utf-8", "replace")
        sink = len(redactor.redact(data).text)
    else:
        with open(path, "rb") as f:
            sink = sum(len(piece) for piece in redactor.redact_stream(f))
    best = min(best, time.perf_counter() - t0)
    data = None
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{{best:.3f}} {{peak:.0f}}")
"""


def real_code(limit: int) -> str:
    parts, size = [], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
        parts.append(path.read_text(encoding="utf-8", errors="replace"))
        size += len(parts[-1])
        if size >= limit:
            break
    return "\n".join(parts)


def dense(limit: int) -> str:
    sys.path.insert(0, str(ROOT))
    from benchmarks.redaction_corpus import build_corpus

    text = "\n".join(s.text for s in build_corpus(1)) + "\n"
    return text * max(1, limit // len(text))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=20.0)
    args = parser.parse_args(argv)
    limit = int(args.size_mb * 1e6)
    child = _CHILD.format(root=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        for label, make in (("real code", real_code), ("secret-dense text", dense)):
            path = Path(tmp) / "input.txt"
            path.write_text(make(limit))
            mb = path.stat().st_size / 1e6
            row = []
            for mode in ("whole", "stream"):
                out = subprocess.run(
                    [sys.executable, "-c", child, mode, str(path)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.split()
                seconds, peak = float(out[0]), float(out[1])
                row.append(f"{mode} {mb / seconds:6.1f} MB/s, peak {peak:5.0f} MB")
            print(f"{label:<18} ({mb:.0f} MB): " + ";  ".join(row))


if __name__ == "__main__":
    main()
