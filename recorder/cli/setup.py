"""Commands that set the recorder up: config, hook, completion, service, doctor."""

from __future__ import annotations

import click

from recorder.cli.common import home


@click.command("config")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def config_cmd(as_json: bool) -> None:
    """Show the effective configuration and where each value came from."""
    import json

    from recorder.config import load_config

    lay = home()
    config = load_config(lay)
    rows = config.rows()
    if as_json:
        click.echo(json.dumps({k: {"value": v, "source": s} for k, v, s in rows}))
        return
    click.echo(f"home: {lay.home}")
    width = max(len(k) for k, _, _ in rows)
    for key, value, source in rows:
        click.echo(f"{key:<{width}}  {json.dumps(value)}  ({source})")


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh"]))
def hook(shell: str) -> None:
    """Print the shell hook; add `eval "$(recorder hook bash)"` to ~/.bashrc."""
    from recorder.collectors.shell import hook_script

    click.echo(hook_script(shell, home().home), nl=False)


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print tab completion for recorder; add `eval "$(recorder completion bash)"` to
    ~/.bashrc (zsh: ~/.zshrc; fish: `recorder completion fish | source` in config.fish)."""
    from click.shell_completion import get_completion_class

    from recorder.cli import cli

    script = get_completion_class(shell)(cli, {}, "recorder", "_RECORDER_COMPLETE")
    click.echo(script.source())


@click.group()
def service() -> None:
    """Record from login: a systemd user unit (a launchd agent on macOS) that runs
    `recorder start --resume --foreground`, so a session survives a reboot."""


@service.command("install")
def service_install() -> None:
    """Write the unit and enable it (or say what to do where there is no systemd)."""
    from recorder.service import install

    report = install(home().home)
    if not report.installed:
        raise click.ClickException(report.detail)
    click.echo(report.detail)


@service.command("uninstall")
def service_uninstall() -> None:
    """Disable the unit and remove it."""
    from recorder.service import uninstall

    click.echo(uninstall().detail)


@service.command("status")
def service_status() -> None:
    """Whether the unit is installed, enabled and running."""
    from recorder.service import status

    click.echo(status().detail)


@click.command()
def doctor() -> None:
    """Check the environment and say what to fix."""
    from recorder.doctor import run_checks

    problems = 0
    for check in run_checks(home()):
        mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[check.level]
        click.echo(f"{mark} {check.name}: {check.message}")
        problems += check.level == "fail"
    if problems:
        raise SystemExit(1)
