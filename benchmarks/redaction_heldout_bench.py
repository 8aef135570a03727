"""Recall on the held-out set (``benchmarks/redaction_heldout.py``), beside detect-secrets
and secretlint, in one run.

The engine scans the samples in order with one Redactor, as the daemon would (so values
it learned earlier count). A label is *covered* when the engine's findings span all of
it; the other tools, which report a line or a range, are judged by *hit* (a finding
overlaps it). A ``keep`` label is kept when no finding overlaps it. secretlint runs with
its recommended preset from ``/tmp/sl`` (``npm install --prefix /tmp/sl secretlint
@secretlint/secretlint-rule-preset-recommend``), or is skipped with one line.
Run: ``python benchmarks/redaction_heldout_bench.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.redaction_bench import covered, detect_secrets_finder, make_redactor, overlaps
from benchmarks.redaction_heldout import KEEP, heldout_samples

SECRETLINT = Path("/tmp/sl/node_modules/secretlint/bin/secretlint.js")


def secretlint_spans(samples, workdir: Path) -> list[list[tuple[int, int, str]]] | None:
    node = shutil.which("node")
    if node is None or not SECRETLINT.exists():
        print(f"secretlint: skipped (node or {SECRETLINT} missing)")
        return None
    root = workdir / "sl"
    root.mkdir()
    for k, s in enumerate(samples):
        (root / f"s{k:05d}.txt").write_text(s.text)
    config = workdir / "secretlintrc.json"
    config.write_text(
        json.dumps({"rules": [{"id": "@secretlint/secretlint-rule-preset-recommend"}]})
    )
    out = workdir / "secretlint.json"  # node may cut a long stdout short at exit
    command = [node, str(SECRETLINT), "--secretlintrc", str(config), "--format", "json"]
    run = subprocess.run(
        [*command, "--output", str(out), f"{root}/*.txt"],
        capture_output=True,
        text=True,
        cwd="/tmp/sl",
    )
    spans: list[list[tuple[int, int, str]]] = [[] for _ in samples]
    try:
        reports = json.loads(out.read_text() if out.exists() else "[]")
    except json.JSONDecodeError:
        print(f"secretlint: unreadable output: {run.stderr.strip()[:200]}")
        return None
    for report in reports:
        k = int(Path(report["filePath"]).stem[1:])
        for m in report.get("messages", []):
            start, end = m["range"]
            spans[k].append((start, end, m.get("ruleId", "")))
    return spans


def score(samples, spans_of, strict: bool) -> dict[str, tuple[int, int]]:
    hit: Counter = Counter()
    total: Counter = Counter()
    for k, s in enumerate(samples):
        spans = spans_of(k, s)
        for lb in s.labels:
            found = (covered if strict else overlaps)(spans, lb.start, lb.end)
            if lb.category == KEEP:
                keys, good = [KEEP], not overlaps(spans, lb.start, lb.end)
            else:
                keys, good = [lb.category, "all"], found
            for key in keys:
                total[key] += 1
                hit[key] += good
    return {k: (hit[k], total[k]) for k in total}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=424242)
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args(argv)
    samples = heldout_samples(args.seed, args.count)
    redactor = make_redactor()
    print(f"rule set {redactor.ruleset_version}; held-out seed {args.seed}: {len(samples)} samples")
    engine = [[(f.start, f.end, f.rule) for f in redactor.scan(s.text)] for s in samples]
    results = {"recorder engine (covered)": score(samples, lambda k, s: engine[k], True)}
    with tempfile.TemporaryDirectory() as tmp:
        finder = detect_secrets_finder(Path(tmp))
        if finder is None:
            print("detect-secrets: skipped (pip install detect-secrets)")
        else:
            ds = [finder(s) for s in samples]
            results["detect-secrets (hit)"] = score(samples, lambda k, s: ds[k], False)
        sl = secretlint_spans(samples, Path(tmp))
        if sl is not None:
            results["secretlint recommend (hit)"] = score(samples, lambda k, s: sl[k], False)
    keys = sorted({k for r in results.values() for k in r}, key=lambda k: (k in ("all", KEEP), k))
    print(f"{'group':<16}" + "".join(f"{name:>30}" for name in results))
    for key in keys:
        row = ""
        for r in results.values():
            good, total = r.get(key, (0, 0))
            row += f"{(good / total if total else 0):>22.3f} ({good:>3}/{total:>3})"
        print(f"{key if key != KEEP else 'look-alikes kept':<16}{row}")
    if args.misses:
        for k, s in enumerate(samples):
            for lb in s.labels:
                spans = engine[k]
                bad = (
                    overlaps(spans, lb.start, lb.end)
                    if lb.category == KEEP
                    else not covered(spans, lb.start, lb.end)
                )
                if bad:
                    print(f"  miss [{s.group}] {s.text!r} -> {spans}")


if __name__ == "__main__":
    main()
