"""Real bash and zsh shells in a private tmux server, for the shell-collector tests.

:class:`ShellLab` starts a tmux server on its own socket (killed by ``close``)
and opens interactive shells in it, each with a minimal rc file that sets a
plain prompt and (unless told otherwise) loads the hook exactly as a user
does, from the output of ``recorder hook SHELL``. :class:`Shell` types lines
into its pane and waits for what the pane shows (the next prompt, a continuation
prompt, the program in the foreground), so a test reads like a session and never
sleeps for a fixed time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import libtmux
from waitkit import wait_until

PROMPT = "READY> "
CONTINUATION = "> "  # PS2
# Generous: a loaded machine (other work, a parallel run) is slower, never different.
TIMEOUT = 60.0
SHELLS = ("bash", "zsh")
_hook_cache: dict[str, str] = {}


def hook_text(shell: str) -> str:
    """`recorder hook SHELL`, run once per test session (the home line is per test)."""
    if shell not in _hook_cache:
        exe = shutil.which("recorder")
        assert exe, "the recorder entry point is not installed"
        out = subprocess.run([exe, "hook", shell], capture_output=True, text=True, check=True)
        _hook_cache[shell] = out.stdout.split("\n", 1)[1]
    return _hook_cache[shell]


def write_hook(shell: str, home: Path, target: Path) -> Path:
    quoted = "'" + str(home).replace("'", "'\\''") + "'"
    target.write_text(f"__recorder_default_home={quoted}\n" + hook_text(shell))
    return target


@dataclass
class Shell:
    lab: ShellLab
    kind: str
    pane: libtmux.Pane
    prompts: int = 0
    log: list[str] = field(default_factory=list)

    @property
    def pane_id(self) -> str:
        return self.pane.pane_id

    def screen(self) -> list[str]:
        """Every line of the pane, its history included."""
        return self.pane.capture_pane(start="-", end="-")

    def text(self) -> str:
        return "\n".join(self.screen())

    def visible(self) -> list[str]:
        """The lines on the pane's screen now (a full-screen program's, if one runs)."""
        return self.pane.capture_pane()

    def show(self, fmt: str) -> str:
        """A tmux format of the pane, e.g. ``#{pane_current_command}``."""
        return "".join(self.lab.tmux("display-message", "-p", "-t", self.pane_id, fmt)).strip()

    def cursor_line(self) -> str:
        row = int(self.show("#{cursor_y}"))
        lines = self.visible()
        return lines[row] if row < len(lines) else ""

    def prompt_count(self) -> int:
        mark = PROMPT.rstrip()
        # Type-ahead is echoed before the prompt that reads it, so count prompts anywhere.
        return sum(line.count(mark) for line in self.screen())

    def wait_prompt(self, count: int | None = None, timeout: float = TIMEOUT) -> None:
        want = self.prompts + 1 if count is None else count
        try:
            wait_until(lambda: self.prompt_count() >= want, timeout=timeout, interval=0.05)
        except AssertionError:
            raise AssertionError(
                f"{self.kind} in {self.pane_id}: no prompt #{want}:\n{self.text()}"
            ) from None
        self.prompts = want

    def wait_foreground(self, program: str, timeout: float = TIMEOUT) -> None:
        """Wait until ``program`` is the pane's foreground process (it runs, keys go to it)."""
        try:
            wait_until(
                lambda: self.show("#{pane_current_command}") == program,
                timeout=timeout,
                interval=0.05,
            )
        except AssertionError:
            now = self.show("#{pane_current_command}")
            raise AssertionError(
                f"{self.kind} in {self.pane_id}: {program} not in the foreground ({now}):\n"
                + self.text()
            ) from None

    def wait_visible(self, text: str, timeout: float = TIMEOUT) -> None:
        """Wait until ``text`` is on the pane's screen."""
        try:
            wait_until(
                lambda: any(text in line for line in self.visible()),
                timeout=timeout,
                interval=0.05,
            )
        except AssertionError:
            screen = "\n".join(self.visible())
            raise AssertionError(f"{self.kind} in {self.pane_id}: no {text!r}:\n{screen}") from None

    def wait_continuation(self, timeout: float = TIMEOUT) -> None:
        """Wait until the shell asks for the rest of a command (PS2 at the cursor)."""
        try:
            wait_until(
                lambda: self.cursor_line().rstrip() == CONTINUATION.rstrip(),
                timeout=timeout,
                interval=0.05,
            )
        except AssertionError:
            raise AssertionError(
                f"{self.kind} in {self.pane_id}: no continuation prompt:\n{self.text()}"
            ) from None

    def run(self, line: str, wait: bool = True, timeout: float = TIMEOUT) -> None:
        """Type ``line`` (newlines included) and Enter; wait for the next prompt."""
        self.log.append(line)
        parts = line.split("\n")
        for i, part in enumerate(parts):
            if part:
                self.pane.send_keys(part, enter=False, literal=True)
            self.pane.send_keys("", enter=True)
            if i < len(parts) - 1:
                self.wait_continuation(timeout=timeout)
        if wait:
            self.wait_prompt(timeout=timeout)

    def run_bytes(self, data: bytes, timeout: float = TIMEOUT) -> None:
        """Type raw bytes (e.g. Latin-1), then Enter."""
        self.lab.tmux("send-keys", "-t", self.pane_id, "-H", *[f"{b:02x}" for b in data])
        self.pane.send_keys("", enter=True)
        self.wait_prompt(timeout=timeout)

    def keys(self, *keys: str) -> None:
        self.lab.tmux("send-keys", "-t", self.pane_id, *keys)


class ShellLab:
    """A private tmux server holding hooked shells."""

    def __init__(self, home: Path, workdir: Path):
        self.home = home
        self.workdir = workdir
        self.socket_name = f"recorder-test-{uuid.uuid4().hex[:12]}"
        conf = workdir / "tmux.conf"
        # Prompts are counted in the pane's history, so long outputs must not scroll them away.
        conf.write_text("set -g history-limit 200000\n")
        self.server = libtmux.Server(socket_name=self.socket_name, config_file=str(conf))
        self.session: libtmux.Session | None = None
        self.shells: list[Shell] = []

    def tmux(self, *args: str) -> list[str]:
        result = self.server.cmd(*args)
        if result.stderr:
            raise RuntimeError(f"tmux {' '.join(args)}: {result.stderr}")
        return result.stdout

    def rc(self, kind: str, before: str = "", after: str = "", hooked: bool = True) -> Path:
        """An rc file: ``before``, the hook (if ``hooked``), ``after``."""
        name = uuid.uuid4().hex[:8]
        hook = write_hook(kind, self.home, self.workdir / f"hook-{name}.{kind}")
        lines = [f"PS1='{PROMPT}'", "PS2='> '", before]
        if hooked:
            lines.append(f"source {hook}")
        lines.append(after)
        if kind == "bash":
            rc = self.workdir / f"rc-{name}.bash"
            rc.write_text("\n".join(lines) + "\n")
            return rc
        zdot = self.workdir / f"zdot-{name}"
        zdot.mkdir()
        (zdot / ".zshrc").write_text("unsetopt prompt_sp\n" + "\n".join(lines) + "\n")
        return zdot

    def spawn(
        self,
        kind: str,
        before: str = "",
        after: str = "",
        hooked: bool = True,
        env: dict[str, str] | None = None,
    ) -> Shell:
        rc = self.rc(kind, before, after, hooked)
        command = f"bash --noprofile --rcfile {rc} -i" if kind == "bash" else f"ZDOTDIR={rc} zsh -i"
        environment = {
            "RECORDER_HOME": str(self.home),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "HISTFILE": str(self.workdir / f"history-{uuid.uuid4().hex[:8]}"),
            "TERM": "xterm-256color",
            **(env or {}),
        }
        exports = " ".join(f"{k}={_sh_quote(v)}" for k, v in environment.items())
        # The pane's shell is started through env so that it sees only what we set.
        full = f"env {exports} {command}"
        if self.session is None:
            self.session = self.server.new_session(
                session_name="lab",
                window_command=full,
                x=200,
                y=50,
                start_directory=str(self.workdir),
            )
            window = self.session.active_window
        else:
            window = self.session.new_window(window_shell=full, start_directory=str(self.workdir))
        shell = Shell(self, kind, window.active_pane)
        self.shells.append(shell)
        shell.wait_prompt(1)
        return shell

    def close(self) -> None:
        try:
            if self.server.is_alive():
                self.server.kill()
        except Exception:
            pass
        sock = Path(f"/tmp/tmux-{os.getuid()}") / self.socket_name
        sock.unlink(missing_ok=True)


def _sh_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"
