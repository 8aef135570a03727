"""``recorder scrub``: redact any text by hand (a log, a notebook, a bug report).

Runs the recorder's own redaction engine, with the installation key and the
rules from config.toml plus those given on the command line, so placeholders
match the ones in recorded data. Nothing is sent anywhere. The engine (and
RE2) is imported inside the command to keep ``recorder --help`` fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

STDIN = Path("-")


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--explain", is_flag=True, help="List each finding's rule and position instead.")
@click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="NAME=REGEX",
    help="Also redact what REGEX (RE2 syntax) matches, as NAME. Repeatable.",
)
@click.option(
    "--literal",
    "literals",
    multiple=True,
    metavar="TEXT",
    help="Also redact TEXT wherever it appears, ignoring case. Repeatable.",
)
def scrub(
    files: tuple[Path, ...], explain: bool, rules: tuple[str, ...], literals: tuple[str, ...]
):
    """Write FILEs (standard input when none) with secrets and personal data redacted.

    Each secret becomes a placeholder such as <SECRET:github-token:3f2a9c>, the
    same for the same value; personal data becomes <PII:kind:xxxxxx> and the
    home directory ~. With --explain, print where each finding is and which
    rule found it, never the value.
    """
    redactor = _redactor(rules, literals)
    total = 0
    for path in files or (STDIN,):
        text = _read(path)
        if explain:
            total += _explain(redactor, "-" if path == STDIN else str(path), text)
        else:
            _write(redactor.redact(text).text)
    if explain:
        click.echo(f"{total} finding(s)", err=True)


def _redactor(rules: tuple[str, ...], literals: tuple[str, ...]):
    from recorder.cli.common import home
    from recorder.config import load_config
    from recorder.redaction.installed import build_redactor

    extra_rules = [_parse_rule(spec) for spec in rules]
    if any(not literal.strip() for literal in literals):
        raise click.ClickException("--literal needs a non-empty TEXT")
    lay = home()
    return build_redactor(lay, load_config(lay), literals, extra_rules)


def _parse_rule(spec: str) -> dict[str, str]:
    name, sep, pattern = spec.partition("=")
    if not sep or not name.strip() or not pattern:
        raise click.ClickException(f"--rule must be NAME=REGEX, not {spec!r}")
    return {"name": name.strip(), "pattern": pattern}


def _read(path: Path) -> str:
    data = sys.stdin.buffer.read() if path == STDIN else path.read_bytes()
    return data.decode("utf-8", errors="replace")


def _write(text: str) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", errors="replace"))
    sys.stdout.buffer.flush()


def _explain(redactor, source: str, text: str) -> int:
    """One line per finding: source:line:column, offsets, rule, category, placeholder."""
    findings = redactor.scan(text)
    line, counted = 1, 0
    for f in findings:
        line += text.count("\n", counted, f.start)
        counted = f.start
        column = f.start - text.rfind("\n", 0, f.start)
        click.echo(
            f"{source}:{line}:{column}: {f.rule} ({f.category}) "
            f"chars {f.start}-{f.end} -> {f.placeholder}"
        )
    return len(findings)


COMMANDS = [scrub]
