"""Running a reader of exported datasets (Hugging Face datasets, Ray, Spark) in a child
process, as a lab's data engineer would, and taking the JSON it prints last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HF_OFFLINE = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def hf_env(tmp_path: Path) -> dict[str, str]:
    """Offline Hugging Face, with a cache of the test's own."""
    return {**HF_OFFLINE, "HF_HOME": str(tmp_path / "hf-home")}


def run_reader(script: str, dataset: Path, env: dict[str, str] | None = None,
               timeout: float = 300) -> dict:  # fmt: skip
    """Run ``script`` on ``dataset`` with this Python; the JSON of its last output line."""
    proc = subprocess.run(
        [sys.executable, "-c", script, str(dataset)],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
