"""The shipped hooks are clean: shellcheck for bash, zsh's own parser for zsh."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from recorder.collectors.shell import hook_source


def test_bash_hook_passes_shellcheck(tmp_path):
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (make test installs it)")
    script = tmp_path / "recorder.bash"
    script.write_text(hook_source("bash"))
    proc = subprocess.run(
        ["shellcheck", "--shell=bash", "--severity=style", str(script)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_hook_parses(shell, tmp_path):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed (make test installs it)")
    script = tmp_path / f"recorder.{shell}"
    script.write_text(hook_source(shell))
    proc = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
