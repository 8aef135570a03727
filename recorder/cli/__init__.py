"""The ``recorder`` command line: a thin layer over the core.

Commands live in the modules of this package, grouped by what they are for;
each turns its arguments into a call of a core function and prints the result.
:data:`COMMANDS` names each command's module, which is imported only when that
command runs (or a help page lists it), and heavy libraries are imported inside
the commands, so that ``recorder status`` loads neither the exporters nor the
redaction engine. Errors are translated in one place, :class:`RecorderGroup`:
core errors (``recorder.errors.RecorderError``) and OS errors become one line on
stderr and exit status 1, and anything else one line naming the log that holds
its traceback.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
from collections.abc import Iterator, MutableMapping

import click

from recorder import __version__
from recorder.errors import RecorderError


class RecorderGroup(click.Group):
    """Turns every error a command raises into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except RecorderError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            # `recorder scrub big.log | head`: the reader left; stop quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(1) from None
        except OSError as exc:
            raise click.ClickException(_os_error_line(exc)) from None
        except Exception as exc:
            raise click.ClickException(_unexpected(exc)) from None


def _os_error_line(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return f"disk full: {exc.filename or ''}".strip()
    where = f" {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}:{where}"


def _unexpected(exc: Exception) -> str:
    """A bug, not bad input: keep the traceback in the log, show one line."""
    import traceback

    from recorder.paths import layout

    try:
        lay = layout()
        lay.logs.mkdir(parents=True, exist_ok=True)
        with open(lay.cli_log, "a", encoding="utf-8") as fh:
            # Where it failed, not the message: a message may quote recorded text.
            frames = "".join(traceback.format_tb(exc.__traceback__))
            fh.write(f"Traceback (most recent call last):\n{frames}{type(exc).__name__}\n")
        where = f"; details in {lay.cli_log}"
    except Exception:
        where = ""
    return f"internal error ({type(exc).__name__}){where}"


HELP_OPTIONS = ["-h", "--help"]


@click.group(cls=RecorderGroup, context_settings={"help_option_names": HELP_OPTIONS})
@click.version_option(__version__, prog_name="recorder")
def cli() -> None:
    """Record how you work (shell commands, file edits, terminal output) and
    turn it into imitation-learning datasets, with secrets redacted."""


# Every command: its name -> "module:function" in this package. Add a command here.
COMMANDS: dict[str, str] = {
    "start": "recording:start",
    "stop": "recording:stop",
    "status": "recording:status",
    "pause": "recording:pause",
    "resume": "recording:resume",
    "task": "recording:task",
    "note": "recording:note",
    "sessions": "browse:sessions",
    "show": "browse:show",
    "search": "browse:search",
    "config": "setup:config_cmd",
    "hook": "setup:hook",
    "completion": "setup:completion",
    "service": "setup:service",
    "doctor": "setup:doctor",
    "scrub": "scrub:scrub",
    "export": "export:export",
    "review": "review:review",
    "approve": "curate:approve",
    "drop": "curate:drop",
    "redact": "curate:redact",
    "forget": "curate:forget",
    "prune": "curate:prune",
}


class LazyCommands(MutableMapping):
    """``cli.commands``: a command's module is imported the first time it is looked up."""

    def __init__(self, table: dict[str, str]):
        self._table = table
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            if name not in self._table:
                raise KeyError(name)
            module, _, attr = self._table[name].partition(":")
            command = getattr(importlib.import_module(f"recorder.cli.{module}"), attr)
            # -h everywhere, also when a command is invoked on its own (as tests do).
            command.context_settings.setdefault("help_option_names", HELP_OPTIONS)
            self._loaded[name] = command
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._table.pop(name, None)
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._table, *self._loaded]))

    def __len__(self) -> int:
        return len(set(self._table) | set(self._loaded))


cli.commands = LazyCommands(dict(COMMANDS))


def main() -> None:
    """The ``recorder`` entry point."""
    from recorder.nopandas import keep_pandas_out

    keep_pandas_out()
    try:
        cli.main(prog_name="recorder")
    except KeyboardInterrupt:
        sys.exit(130)
