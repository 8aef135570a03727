"""Commands that drive a recording: start, stop, status, pause, resume, task."""

from __future__ import annotations

import click

from recorder.cli.common import home


@click.command()
@click.option("--name", "-n", help="A name for the session, e.g. what you are about to do.")
@click.option(
    "--watch",
    "-w",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A directory tree whose file saves are recorded (repeatable).",
)
@click.option("--foreground", is_flag=True, help="Run the daemon in this terminal (debugging).")
def start(name: str | None, watch: tuple[str, ...], foreground: bool) -> None:
    """Start recording a session; prints its id and returns at once."""
    from recorder import recording
    from recorder.config import load_config

    lay = home()
    result = recording.start(lay, load_config(lay), name, list(watch), foreground=foreground)
    if not result.created:
        note = " (the daemon had stopped; restarted it)" if result.daemon_restarted else ""
        raise click.ClickException(
            f"already recording session {result.session.session_id} "
            f"since {result.session.started_iso}{note}"
        )
    click.echo(result.session.session_id)


@click.command()
def stop() -> None:
    """Stop recording: flush everything into the event log and end the session."""
    from recorder import recording

    result = recording.stop(home())
    click.echo(f"stopped session {result.session.session_id}: {result.events} events recorded")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Recording? Since when, which collectors, events so far, spool lag."""
    import json

    from recorder import recording

    st = recording.status(home())
    if as_json:
        click.echo(
            json.dumps(
                {
                    "recording": st.recording,
                    "session": st.session.session_id if st.session else None,
                    "name": st.session.name if st.session else None,
                    "since": st.since,
                    "paused": st.paused,
                    "daemon_pid": st.daemon_pid,
                    "events_by_source": st.daemon.get("events_by_source", {}),
                    "collectors": st.daemon.get("collectors", {}),
                    "backlog_bytes": st.backlog_bytes,
                    "quarantined": st.quarantined,
                }
            )
        )
        return
    if not st.recording:
        click.echo("not recording")
    else:
        label = f" ({st.session.name})" if st.session.name else ""
        click.echo(
            f"recording session {st.session.session_id}{label} since {st.since}"
            + (" [paused]" if st.paused else "")
        )
        if st.daemon_pid is None:
            click.echo(
                "daemon: not running; shells keep spooling. Run `recorder start` to restart it."
            )
        else:
            click.echo(f"daemon: pid {st.daemon_pid}")
            counts = st.daemon.get("events_by_source", {})
            total = sum(counts.values())
            detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            click.echo(f"events: {total}" + (f" ({detail})" if detail else ""))
            collectors = ["shell (hook)", *st.daemon.get("collectors", {})]
            click.echo("collectors: " + ", ".join(collectors))
    click.echo(f"spool lag: {st.backlog_bytes} bytes not yet in the log")
    if st.quarantined:
        click.echo(f"quarantined: {st.quarantined} bad spool lines (see spool/quarantine/)")


@click.command()
def pause() -> None:
    """Pause recording in every shell until `recorder resume`."""
    from recorder.session import set_paused

    set_paused(home(), True)
    click.echo("paused")


@click.command()
def resume() -> None:
    """Resume recording after `recorder pause`."""
    from recorder.session import set_paused

    set_paused(home(), False)
    click.echo("resumed")


@click.command()
@click.argument("description")
def task(description: str) -> None:
    """Mark that a new task starts now, and say what it is."""
    from recorder.session import user_event

    session = user_event(home(), "task", description)
    click.echo(f"task marked in session {session.session_id}")


COMMANDS = [start, stop, status, pause, resume, task]
