"""Outcome signals in a command's output: the metrics it printed and the alarms it raised.

:func:`parse_metrics` finds loss, accuracy, f1, bleu, perplexity, reward, learning rate
and ``eval_*`` values however a run prints them (``key=value``, ``key: value``, JSON
lines, Python dict prints such as the HF Trainer's, tqdm and Lightning postfixes) and
sums each up as a :class:`Metric` (first, last, min, max, count). :func:`alarms` names
what a watcher should have flagged (:data:`ALARMS`). :func:`page_signals` does both
for a page of outputs with one regular-expression pass over their joined text, which
keeps the export fast (most outputs print no metric). docs/labels.md defines them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

# A metric's name: a known base with an optional split prefix, or any eval_ name. Each
# pattern starts with a literal, so that the search for it is fast; a lookbehind after the
# literal keeps names glued to a longer word out (myloss=, grad_norm=).
_BASES = ("loss", "accuracy", "acc", "f1", "bleu", "perplexity", "ppl", "reward",
          "learning_rate", "lr")  # fmt: skip
_GLUE = r"[a-z0-9_/.\-]"
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)\b"
# After the name (maybe quoted, as in JSON and dict prints): ":" or "=", then the value.
_VALUE = rf"(?![a-z0-9_])['\"]?[ \t]*[:=][ \t]*['\"]?({_NUMBER})"
_PLAIN = {b: re.compile(rf"{b}(?<!{_GLUE}{b}){_VALUE}") for b in _BASES}
_PREFIXES = "train|training|val|valid|validation|test|avg|mean|episode"
_PREFIXED = {
    b: re.compile(rf"(?<!{_GLUE})((?:{_PREFIXES})[_/.\-]|eval[/.\-]){b}{_VALUE}") for b in _BASES
}
_EVAL = re.compile(rf"eval_(?<!{_GLUE}eval_)([a-z0-9_]*[a-z0-9]){_VALUE}")
_SEPARATORS = str.maketrans("/.-", "___")

LOSS_SPIKE_FACTOR = 10.0  # a loss this many times its smallest earlier value is a spike
KILLED_STATUS = 137  # 128 + SIGKILL: the out-of-memory killer, a scheduler's hard limit

# Alarm -> the texts in the output that raise it (nan_loss, inf_loss and loss_spike come
# from the parsed losses, killed from the exit status).
ALARM_MARKERS = {
    "oom": ("CUDA out of memory", "OutOfMemoryError", "out of memory", "MemoryError",
            "oom-kill", "Cannot allocate memory"),
    "nccl_error": ("NCCL error", "ncclInternalError", "ncclSystemError", "ncclUnhandledCudaError",
                   "ncclRemoteError", "NCCL WARN", "ProcessGroupNCCL"),
    "disk_full": ("No space left on device", "ENOSPC", "Disk quota exceeded"),
}  # fmt: skip
ALARMS = ("nan_loss", "inf_loss", "loss_spike", "oom", "nccl_error", "disk_full", "killed")
_MARKERS = tuple(m for ms in ALARM_MARKERS.values() for m in ms)
_ALARM_OF = {m: alarm for alarm, ms in ALARM_MARKERS.items() for m in ms}


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    first: float
    last: float
    min: float
    max: float
    count: int


def metric_name(printed: str) -> str:
    """The name a metric is kept under: lower case, ``/ . -`` read as ``_``
    (``train/loss`` is ``train_loss``)."""
    return printed.lower().translate(_SEPARATORS)


def find_metrics(text: str) -> list[tuple[str, str]]:
    """(name, value as printed) of every metric in ``text``, which must be in lower case:
    by name, each name's values in order."""
    found: list[tuple[str, str]] = []
    for base, plain in _PLAIN.items():
        if base not in text:
            continue
        found += [(base, value) for value in plain.findall(text)]
        if any(sep + base in text for sep in "_/.-"):
            found += [(prefix[:-1] + "_" + base, value)
                      for prefix, value in _PREFIXED[base].findall(text)]  # fmt: skip
    if "eval_" in text:
        found += [("eval_" + name, value) for name, value in _EVAL.findall(text)]
    return found


def parse_metrics(output: str | None) -> list[Metric]:
    """The metrics printed in ``output``, by name."""
    if not output:
        return []
    return _summaries(find_metrics(output.lower()))


def _summaries(found: Sequence[tuple[str, str]]) -> list[Metric]:
    values: dict[str, list[str]] = {}
    for name, value in found:
        values.setdefault(name, []).append(value)
    return [_summary(name, list(map(float, values[name]))) for name in sorted(values)]


def _summary(name: str, values: list[float]) -> Metric:
    known = [v for v in values if not math.isnan(v)]
    low = min(known) if known else math.nan
    high = max(known) if known else math.nan
    return Metric(name, values[0], values[-1], low, high, len(values))


def alarms(
    output: str | None,
    exit_code: int | None,
    pipestatus: Sequence[int | None] | None = None,
) -> list[str]:
    """The alarms of one command, in the order of :data:`ALARMS`."""
    found = exit_alarms(exit_code, pipestatus)
    if output:
        found |= {_ALARM_OF[m] for m in _MARKERS if m in output}
        found |= _loss_alarms(_loss_values(find_metrics(output.lower())))
    return ordered_alarms(found)


def _loss_values(found: Sequence[tuple[str, str]]) -> dict[str, list[float]]:
    losses: dict[str, list[float]] = {}
    for name, value in found:
        if "loss" in name:
            losses.setdefault(name, []).append(float(value))
    return losses


def _loss_alarms(losses: dict[str, list[float]]) -> set[str]:
    found = set()
    for values in losses.values():
        lowest = math.inf
        for v in values:
            if math.isnan(v):
                found.add("nan_loss")
            elif math.isinf(v):
                found.add("inf_loss")
            else:
                if 0 < lowest < math.inf and v >= LOSS_SPIKE_FACTOR * lowest:
                    found.add("loss_spike")
                lowest = min(lowest, v)
    return found


def page_signals(
    outputs: Sequence[str | None],
) -> tuple[dict[int, list[Metric]], dict[int, set[str]]]:
    """For a page of outputs: the metrics of each output that printed any, and the alarms
    raised by their texts (oom, nccl_error, disk_full, and those of their losses), by
    index. ``killed`` depends on the exit status and is left to :func:`exit_alarms`."""
    metrics: dict[int, list[Metric]] = {}
    raised: dict[int, set[str]] = {}
    joined = "\x00".join(o or "" for o in outputs)
    lowered = joined.lower()
    names = [b for b in _BASES if b in lowered] + (["eval_"] if "eval_" in lowered else [])
    markers = [m for m in _MARKERS if m in joined]
    if not names and not markers:
        return metrics, raised
    for row, output in enumerate(outputs):
        if not output:
            continue
        for marker in markers:
            if marker in output:
                raised.setdefault(row, set()).add(_ALARM_OF[marker])
        text = output.lower()
        if not any(name in text for name in names):
            continue
        found = find_metrics(text)
        if found:
            metrics[row] = _summaries(found)
            losses = _loss_alarms(_loss_values(found))
            if losses:
                raised.setdefault(row, set()).update(losses)
    return metrics, raised


def exit_alarms(exit_code: int | None, pipestatus: Sequence[int | None] | None) -> set[str]:
    """``killed`` for a command that exited (or had a pipeline member exit) with 137."""
    if exit_code == KILLED_STATUS or (pipestatus and KILLED_STATUS in pipestatus):
        return {"killed"}
    return set()


def ordered_alarms(raised: set[str]) -> list[str]:
    return [a for a in ALARMS if a in raised]
