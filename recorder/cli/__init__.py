"""The ``recorder`` command line: a thin layer over the core.

Commands live in the modules of this package, grouped by what they are for;
each turns its arguments into a call of a core function and prints the result.
Core errors (``recorder.errors.RecorderError``) and OS errors become one line
on stderr and exit status 1; heavy libraries are imported inside the commands
so that ``recorder --help`` starts fast.
"""

from __future__ import annotations

import errno
import sys

import click

from recorder import __version__
from recorder.errors import RecorderError


class RecorderGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RecorderError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise click.ClickException(f"disk full: {exc.filename or ''}".strip()) from None
            where = f" {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}:{where}") from None


HELP_OPTIONS = ["-h", "--help"]


@click.group(cls=RecorderGroup, context_settings={"help_option_names": HELP_OPTIONS})
@click.version_option(__version__, prog_name="recorder")
def cli() -> None:
    """Record how you work (shell commands, file edits, terminal output) and
    turn it into imitation-learning datasets, with secrets redacted."""


def _register() -> None:
    from recorder.cli import browse, export, recording, scrub, setup

    for module in (recording, browse, setup, scrub, export):
        for command in module.COMMANDS:
            # -h everywhere, also when a command is invoked on its own (as tests do).
            command.context_settings.setdefault("help_option_names", HELP_OPTIONS)
            cli.add_command(command)


_register()


def main() -> None:
    try:
        cli.main(prog_name="recorder")
    except KeyboardInterrupt:
        sys.exit(130)
