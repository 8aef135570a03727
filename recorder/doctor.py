"""`recorder doctor`: checks of the environment, each with what to do about it."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from recorder.collectors.walk import walk_tree
from recorder.config import load_config
from recorder.paths import Layout

MIN_FREE_BYTES = 500 * 1024 * 1024


@dataclass
class Check:
    name: str
    level: str  # ok, warn, fail
    message: str


def run_checks(lay: Layout) -> list[Check]:
    config = load_config(lay)
    return [
        check_home(lay),
        check_hook(),
        check_tmux(),
        check_inotify([Path(p) for p in config.watch]),
        check_disk(lay),
    ]


def check_home(lay: Layout) -> Check:
    mode = lay.home.stat().st_mode & 0o777
    if mode & 0o077:
        return Check("home", "fail", f"{lay.home} is mode {mode:o}; run chmod 700 {lay.home}")
    return Check("home", "ok", f"{lay.home} (owner-only)")


def check_hook() -> Check:
    shell = os.environ.get("RECORDER_HOOK_SHELL")
    hooked_pid = os.environ.get("RECORDER_HOOK_PID")
    if shell and hooked_pid == str(os.getppid()):
        return Check("shell hook", "ok", f"loaded in this {shell} (pid {hooked_pid})")
    current = Path(os.environ.get("SHELL", "bash")).name
    rc = "~/.zshrc" if current == "zsh" else "~/.bashrc"
    shell_name = "zsh" if current == "zsh" else "bash"
    return Check(
        "shell hook",
        "warn",
        f'not loaded in this shell; add `eval "$(recorder hook {shell_name})"` to {rc}',
    )


def check_tmux() -> Check:
    if shutil.which("tmux") is None:
        return Check("tmux", "warn", "tmux not found: commands are recorded without their output")
    if os.environ.get("TMUX"):
        return Check("tmux", "ok", "inside tmux: command output is recorded")
    return Check("tmux", "warn", "not inside tmux: command output is recorded only in tmux panes")


def check_inotify(roots: list[Path]) -> Check:
    try:
        limit = int(Path("/proc/sys/fs/inotify/max_user_watches").read_text())
    except (OSError, ValueError):
        return Check("inotify", "warn", "cannot read fs.inotify.max_user_watches")
    needed = sum(_count_dirs(root) for root in roots)
    if needed > limit * 0.8:
        return Check(
            "inotify",
            "fail",
            f"the watched trees have {needed} directories but fs.inotify.max_user_watches is "
            f"{limit}; raise it: sudo sysctl fs.inotify.max_user_watches={needed * 2}",
        )
    return Check("inotify", "ok", f"{needed} directories to watch, limit {limit}")


def _count_dirs(root: Path, cap: int = 1_000_000) -> int:
    count = 0
    for _dirpath, dirnames, _files in walk_tree(str(root)):
        dirnames[:] = [d for d in dirnames if d not in {".git", "node_modules", ".venv", "venv"}]
        count += 1
        if count >= cap:
            break
    return count


def check_disk(lay: Layout) -> Check:
    free = shutil.disk_usage(lay.home).free
    if free < MIN_FREE_BYTES:
        return Check("disk", "fail", f"only {free // 2**20} MiB free under {lay.home}")
    return Check("disk", "ok", f"{free // 2**30} GiB free under {lay.home}")
