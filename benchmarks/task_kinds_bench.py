"""Benchmark: per-kind precision and recall of the task kinds on a held-out labelled set.

The set is ``benchmarks/task_kinds_heldout.py`` (seeded, written before the rules, not
used to tune them). Each episode's actions become steps as the export makes them (step
kind, command key, failed label, end time, metrics) and go through
``exporters.taskkinds.episode_kinds``; the kinds found are compared with the set's.

    python benchmarks/task_kinds_bench.py [--seed 17] [--show-errors]

Target: precision and recall >= 0.9 for every kind.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.task_kinds_heldout import KINDS, Command, episodes
from exporters.commands import command_key
from exporters.labels import is_failure
from exporters.metrics import parse_metrics
from exporters.taskkinds import KindStep, command_kind, episode_kinds, file_kind


def as_steps(actions) -> list[KindStep]:
    now, steps = 0, []
    for action in actions:
        now += 5_000_000
        if isinstance(action, Command):
            now += int(action.seconds * 1e6)
            steps.append(KindStep(
                command_kind(action.line), command_key(action.line), action.line,
                is_failure(action.exit, action.output), now, parse_metrics(action.output),
            ))  # fmt: skip
        else:
            steps.append(KindStep(file_kind(action.path), None, None, None, now))
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args(argv)
    data = episodes(args.seed)
    tp = dict.fromkeys(KINDS, 0)
    fp = dict.fromkeys(KINDS, 0)
    fn = dict.fromkeys(KINDS, 0)
    errors = []
    for episode in data:
        found = set(episode_kinds(as_steps(episode.actions)).kinds)
        for kind in KINDS:
            truth, got = kind in episode.kinds, kind in found
            tp[kind] += truth and got
            fp[kind] += got and not truth
            fn[kind] += truth and not got
        if found != episode.kinds:
            errors.append((episode, found))
    print(f"{len(data)} labelled episodes (seed {args.seed})")
    print(f"{'kind':<14}{'episodes':>9}{'precision':>11}{'recall':>8}")
    worst = 1.0
    for kind in KINDS:
        p = tp[kind] / (tp[kind] + fp[kind]) if tp[kind] + fp[kind] else 1.0
        r = tp[kind] / (tp[kind] + fn[kind]) if tp[kind] + fn[kind] else 1.0
        worst = min(worst, p, r)
        print(f"{kind:<14}{tp[kind] + fn[kind]:>9}{p:>11.2f}{r:>8.2f}")
    print(f"episodes with exactly the right kinds: {len(data) - len(errors)} of {len(data)}")
    print(f"lowest precision or recall: {worst:.2f} (target >= 0.90)")
    if args.show_errors:
        for episode, found in errors:
            print(f"\n{episode.name}: truth {sorted(episode.kinds)}, found {sorted(found)}")
            for action in episode.actions:
                print("   ", action)
    return 0


if __name__ == "__main__":
    sys.exit(main())
