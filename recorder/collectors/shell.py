"""The shell collector: the bash and zsh hooks shipped in ``hooks/``.

The hooks run inside the user's shell and append ``cmd.start`` / ``cmd.end``
records (see ``recorder.records``) to a spool file of their own, using shell
builtins only. This module only prints them, with the home directory filled in.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from recorder.errors import UsageError

SHELLS = ("bash", "zsh")


def hook_source(shell: str) -> str:
    if shell not in SHELLS:
        raise UsageError(f"no hook for {shell!r}; choose one of {', '.join(SHELLS)}")
    return resources.files("recorder.collectors.hooks").joinpath(f"recorder.{shell}").read_text()


def hook_script(shell: str, home: Path) -> str:
    """The snippet `recorder hook SHELL` prints: the default home, then the hook."""
    quoted = "'" + str(home).replace("'", "'\\''") + "'"
    return f"__recorder_default_home={quoted}\n" + hook_source(shell)
