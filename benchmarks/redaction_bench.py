"""Benchmark of the redaction engine: speed against baselines, quality on a labelled corpus.

Prints, from one run on this machine:

* throughput (MB/s of text) of ``Redactor.redact`` on large text, of
  ``redact_many`` on 100k short strings, of ``redact`` on ``pytest -v`` output (``::`` in
  most lines) beside the same text without them, of Python ``re`` running the same
  patterns (no prefilter), and of detect-secrets (``pip install detect-secrets``);
* recall per category (and per provider) and precision, for the engine and for
  detect-secrets on the same corpus (``benchmarks/redaction_corpus.py``).

A label is *covered* when findings span every character of it (the engine's
target), and *hit* when some finding overlaps it; detect-secrets reports a
value per line, which is widened to its whitespace-delimited token before
scoring, so it is judged by *hit*. Run: ``python benchmarks/redaction_bench.py``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import sysconfig
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.redaction_corpus import (
    CATEGORIES,
    PROFILE,
    Sample,
    background,
    build_corpus,
    heldout_corpus,
)
from recorder.redaction import PersonalInfo, Redactor

Span = tuple[int, int, str]
Finder = Callable[[Sample], list[Span]]
EXTENSIONS = {"command": ".sh", "output": ".txt", "diff": ".diff", "config": ".cfg", "code": ".py"}


def make_redactor() -> Redactor:
    info = PersonalInfo(
        usernames=(PROFILE["user"],),
        names=(PROFILE["name"],),
        hostnames=(PROFILE["host"],),
        home_dirs=(PROFILE["home"],),
        emails=(PROFILE["email"],),
    )
    return Redactor(bytes(range(32)), personal=info)


# -- quality -------------------------------------------------------------------------------


def covered(spans: list[Span], start: int, end: int) -> bool:
    need = start
    for s, e, _ in sorted(spans):
        if s <= need < e:
            need = e
        if need >= end:
            return True
    return need >= end


def overlaps(spans: list[Span], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e, _ in spans)


def score(samples: list[Sample], finder: Finder) -> dict:
    """Recall per category/kind (covered and hit), precision, and false positives by tag."""
    covered_n: Counter = Counter()
    hit_n: Counter = Counter()
    total: Counter = Counter()
    tp = fp = 0
    fp_tags: Counter = Counter()
    misses: dict[str, list[str]] = defaultdict(list)
    for s in samples:
        spans = finder(s)
        for lb in s.labels:
            keys = [lb.category, "all"]
            if lb.category != "personal":
                keys.append("secrets (all but personal)")
            if lb.category == "provider-token":
                keys.append(f"provider:{lb.kind}")
            is_cov = covered(spans, lb.start, lb.end)
            is_hit = is_cov or overlaps(spans, lb.start, lb.end)
            for k in keys:
                total[k] += 1
                covered_n[k] += is_cov
                hit_n[k] += is_hit
            if not is_cov and len(misses[lb.category]) < 5:
                misses[lb.category].append(s.text[max(0, lb.start - 40) : lb.end + 20])
        for start, end, tag in spans:
            if any(lb.start < end and start < lb.end for lb in s.labels):
                tp += 1
            else:
                fp += 1
                fp_tags[tag] += 1
    return {
        "total": total,
        "covered": covered_n,
        "hit": hit_n,
        "tp": tp,
        "fp": fp,
        "fp_tags": fp_tags,
        "misses": misses,
    }


def engine_finder(redactor: Redactor) -> Finder:
    def find(s: Sample) -> list[Span]:
        return [(f.start, f.end, f.rule) for f in redactor.scan(s.text)]

    return find


def detect_secrets_finder(workdir: Path) -> Finder | None:
    try:
        from detect_secrets.core.scan import scan_file
        from detect_secrets.settings import default_settings
    except ImportError:
        return None
    counter = iter(range(10**9))

    def find(s: Sample) -> list[Span]:
        path = workdir / f"s{next(counter)}{EXTENSIONS[s.context]}"
        path.write_text(s.text)
        with default_settings():
            found = list(scan_file(str(path)))
        path.unlink()
        return _ds_spans(s.text, found)

    return find


def _ds_spans(text: str, found) -> list[Span]:
    """detect-secrets reports (line, value): widen each to its token on that line."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    spans: list[Span] = []
    for secret in found:
        n = secret.line_number - 1
        if not 0 <= n < len(lines) or not secret.secret_value:
            continue
        line = lines[n]
        at = line.find(secret.secret_value)
        if at < 0:
            continue
        start, end = at, at + len(secret.secret_value)
        while start > 0 and not line[start - 1].isspace() and line[start - 1] not in "'\"":
            start -= 1
        while end < len(line) and not line[end].isspace() and line[end] not in "'\"":
            end += 1
        spans.append((offsets[n] + start, offsets[n] + end, secret.type))
    return spans


def print_quality(name: str, result: dict, strict: bool) -> None:
    total, covered_n, hit_n = result["total"], result["covered"], result["hit"]
    tp, fp = result["tp"], result["fp"]
    precision = tp / (tp + fp) if tp + fp else 1.0
    print(f"\n== quality: {name} ==")
    print(f"{'category':<34}{'labels':>7}{'covered':>10}{'hit':>9}")
    keys = [c for c in CATEGORIES if total[c]] + ["secrets (all but personal)", "all"]
    for k in (k for k in keys if total[k]):
        print(f"{k:<34}{total[k]:>7}{covered_n[k] / total[k]:>10.3f}{hit_n[k] / total[k]:>9.3f}")
    worst = sorted(
        (k for k in total if k.startswith("provider:")), key=lambda k: covered_n[k] / total[k]
    )
    shown = [k for k in worst if (covered_n if strict else hit_n)[k] < total[k]][:8]
    for k in shown:
        print(f"  {k:<32}{total[k]:>7}{covered_n[k] / total[k]:>10.3f}{hit_n[k] / total[k]:>9.3f}")
    print(f"findings: {tp + fp}  true: {tp}  false: {fp}  precision: {precision:.3f}")
    if result["fp_tags"]:
        top = ", ".join(f"{t} {n}" for t, n in result["fp_tags"].most_common(6))
        print(f"false positives by rule: {top}")


# -- speed -----------------------------------------------------------------------------------


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best CPU time of ``repeat`` runs (CPU time: other work on the machine skews less)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def python_re_patterns(redactor: Redactor) -> list[re.Pattern]:
    """The engine's patterns compiled by Python's ``re`` (same syntax for these rules)."""
    return [re.compile(c.rule.pattern) for c in redactor._rules]


def stdlib_text(limit: int) -> str:
    """Real code for a throughput figure: this interpreter's own standard library."""
    root = Path(sysconfig.get_paths()["stdlib"])
    parts, size = [], 0
    for path in sorted(root.glob("*.py")):
        parts.append(path.read_text(encoding="utf-8", errors="replace"))
        size += len(parts[-1])
        if size >= limit:
            break
    return "\n".join(parts)


def pytest_output(seed: int, size: int, sep: str = "::") -> str:
    """``pytest -v`` output: node ids with ``::`` (``sep``) on most lines
    (``tests/test_x.py::test_y``, ``TestA::test_b[...]``), failure summaries, tracebacks,
    and a few real IPv6 addresses."""
    rng = random.Random(seed)
    words = ("parse", "export", "ingest", "redact", "shell", "files", "cafe", "add", "db", "be")
    outcomes = ("PASSED", "PASSED", "PASSED", "FAILED", "SKIPPED", "XFAIL")
    lines: list[str] = []
    total = 0
    while total < size:
        module = f"tests/test_{rng.choice(words)}_{rng.choice(words)}.py"
        test = f"test_{rng.choice(words)}_{rng.choice(words)}"
        roll = rng.random()
        if roll < 0.6:
            if rng.random() < 0.3:
                test = f"Test{rng.choice(words).title()}{sep}{test}"
            if rng.random() < 0.3:
                test += f"[{rng.choice(words)}-{rng.randint(0, 99)}]"
            line = f"{module}{sep}{test} {rng.choice(outcomes)} [{rng.randint(0, 100):3d}%]"
        elif roll < 0.75:
            line = f"FAILED {module}{sep}{test} - AssertionError: assert {rng.randint(0, 9)} == 0"
        elif roll < 0.999:
            line = f"{module}:{rng.randint(1, 400)}: in {test}"
        else:
            groups = ":".join(f"{rng.randint(1, 0xFFFF):x}" for _ in range(3))
            line = f"E   ConnectionError: [2a02:6b8::{groups}]:443 refused"
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


def redact_speed(redactor: Redactor, label: str, text: str) -> None:
    mb = len(text.encode()) / 1e6
    t = timed(lambda: redactor.redact(text))
    print(f"engine redact, {label:<30} {mb / t:8.1f} MB/s  ({mb:.1f} MB)")


def throughput(redactor: Redactor, label: str, text: str) -> None:
    redact_speed(redactor, label, text)
    lines = text.split("\n")[:100_000]
    lines_mb = sum(len(x.encode()) for x in lines) / 1e6
    t = timed(lambda: redactor.redact_many(lines))
    print(
        f"engine redact_many, {len(lines)} lines of it {lines_mb / t:8.1f} MB/s  "
        f"({t / len(lines) * 1e6:.1f} us per line)"
    )


def speed(redactor: Redactor, texts: list[str], corpus_text: str, ds_workdir: Path) -> None:
    big = "\n".join(texts)
    print("\n== speed (CPU time, best of 3) ==")
    throughput(redactor, "synthetic traffic (1% secrets)", big)
    throughput(redactor, "real code (Python stdlib)", stdlib_text(len(big)))
    redact_speed(redactor, "pytest -v output (`::` ids)", pytest_output(1, 4 << 20))
    redact_speed(redactor, "the same, `__` for `::` in ids", pytest_output(1, 4 << 20, "__"))
    corpus_mb = len(corpus_text.encode()) / 1e6
    t = timed(lambda: redactor.redact(corpus_text))
    print(f"engine redact, labelled corpus (~half positive) {corpus_mb / t:5.1f} MB/s")
    sample = big[: 1 << 20]
    patterns = python_re_patterns(redactor)
    t = timed(lambda: [list(p.finditer(sample)) for p in patterns], repeat=1)
    print(
        f"python re, same {len(patterns)} patterns, no prefilter {len(sample) / 1e6 / t:8.2f} MB/s"
    )
    ds_speed(big[:200_000], ds_workdir)


def ds_speed(text: str, workdir: Path) -> None:
    try:
        from detect_secrets.core.scan import scan_file
        from detect_secrets.settings import default_settings
    except ImportError:
        print("detect-secrets                            not installed")
        return
    path = workdir / "speed.txt"
    path.write_text(text)
    with default_settings():
        t = timed(lambda: list(scan_file(str(path))), repeat=1)
    print(f"detect-secrets 1.5 scan_file              {len(text) / 1e6 / t:8.2f} MB/s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--size-mb", type=float, default=8.0, help="throughput text size")
    parser.add_argument("--no-detect-secrets", action="store_true")
    parser.add_argument("--misses", action="store_true", help="print a few missed labels")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    redactor = make_redactor()
    print(f"rule set {redactor.ruleset_version}: {len(redactor.rules)} rules")
    corpus = build_corpus(args.seed)
    labels = sum(len(s.labels) for s in corpus)
    negatives = sum(1 for s in corpus if not s.labels)
    size = sum(len(s.text) for s in corpus) / 1e6
    print(f"corpus: {len(corpus)} samples ({negatives} negative), {labels} labels, {size:.2f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        result = score(corpus, engine_finder(redactor))
        print_quality("recorder engine", result, strict=True)
        if args.misses:
            for category, texts in result["misses"].items():
                for text in texts:
                    print(f"  miss [{category}] {text!r}")
        finder = None if args.no_detect_secrets else detect_secrets_finder(workdir)
        if finder is not None:
            print_quality("detect-secrets 1.5 (default plugins)", score(corpus, finder), False)
        for which in (1, 2):
            held = heldout_corpus(args.seed, which=which)
            print(f"\nheld-out set {which}: {len(held)} samples from templates the rules were")
            print("not written against (set 1 was measured before rules were added for it)")
            held_result = score(held, engine_finder(redactor))
            print_quality(f"recorder engine, held-out set {which}", held_result, strict=True)
            if args.misses:
                for category, texts in held_result["misses"].items():
                    for text in texts:
                        print(f"  miss [{category}] {text!r}")
            if finder is not None:
                print_quality(f"detect-secrets, held-out set {which}", score(held, finder), False)
        texts = background(args.seed, int(args.size_mb * (1 << 20)))
        speed(redactor, texts, "\n".join(s.text for s in corpus), workdir)
    print(f"\ntotal benchmark time {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
