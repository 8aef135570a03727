"""``recorder review``: the review app (recorder.review.tui), a thin command."""

from __future__ import annotations

import click

from recorder.cli.common import complete_session, home


@click.command()
@click.argument("session", required=False, shell_complete=complete_session)
def review(session: str | None) -> None:
    """Review what an export will write: with SESSION (an id, id prefix, name, or `last`)
    that session, as exported (redacted with the current rules); without, the sessions
    and their review state. Keys: j/k move, / search, n/N next finding, x drop, r redact
    the selection, t task text, u undo, w apply, a approve, q quit."""
    from recorder.review.tui import run

    run(home(), session)
