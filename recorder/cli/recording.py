"""Commands that drive a recording: start, stop, status, pause, resume, task, note."""

from __future__ import annotations

import click

from recorder.cli.common import fmt_bytes, home


@click.command()
@click.option("--name", "-n", help="A name for the session, e.g. what you are about to do.")
@click.option(
    "--watch",
    "-w",
    multiple=True,
    metavar="DIR",
    help="A directory tree whose file saves are recorded (repeatable).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Go on with the session that records (restarting its daemon) instead of refusing.",
)
@click.option("--foreground", is_flag=True, help="Run the daemon in this terminal (debugging).")
def start(name: str | None, watch: tuple[str, ...], resume: bool, foreground: bool) -> None:
    """Start recording a session; prints its id and returns at once."""
    from recorder import recording
    from recorder.config import load_config

    lay = home()
    result = recording.start(lay, load_config(lay), name, list(watch), foreground=foreground)
    if not result.created and not resume:
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
                    "database_bytes": st.database_bytes,
                    "oldest_session_at": st.daemon.get("oldest_session_at"),
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
            for line in collector_problems(st.daemon.get("collectors", {})):
                click.echo(line)
    if st.recording or st.backlog_bytes:
        click.echo(f"spool lag: {st.backlog_bytes} bytes not yet in the log")
    if st.quarantined:
        click.echo(f"quarantined: {st.quarantined} bad spool lines (see spool/quarantine/)")
    if st.database_bytes:
        oldest = st.daemon.get("oldest_session_at")
        since = f", oldest session {oldest} UTC" if oldest else ""
        click.echo(f"log: {fmt_bytes(st.database_bytes)}{since}")


def collector_problems(collectors: dict) -> list[str]:
    """One line per collector that failed or warns (status text shows what JSON has)."""
    from recorder.display import safe_line

    lines = []
    for name, info in sorted(collectors.items()):
        if info.get("state") == "failed":
            lines.append(f"{name}: failed: {safe_line(info.get('last_error'))}")
        lines.extend(f"{name}: {safe_line(w)}" for w in info.get("warnings", [])[-3:])
    return lines


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
@click.option(
    "--episode",
    type=int,
    metavar="N",
    help="Instead: set episode N's task text afterwards (numbered from 0 as exported).",
)
@click.option("--session", "-s", "session_ref", default="last", show_default=True,
              help="With --episode: the session (id, id prefix, name or `last`).")  # fmt: skip
def task(description: str, episode: int | None, session_ref: str) -> None:
    """Mark that a new task starts now, and say what it is.

    With --episode N, set the task text of episode N of a recorded session
    instead; the export uses it (task_source "review")."""
    if episode is not None:
        from recorder.cli.curate import set_episode_task

        set_episode_task(session_ref, episode, description)
        return
    from recorder.session import user_event

    session = user_event(home(), "task", description)
    click.echo(f"task marked in session {session.session_id}")


@click.command()
@click.argument("text")
def note(text: str) -> None:
    """Note what you are thinking or about to try (redacted and exported like the rest)."""
    from recorder.session import user_event

    if not text.strip():
        raise click.UsageError("the note is empty")
    session = user_event(home(), "note", text)
    click.echo(f"noted in session {session.session_id}")
