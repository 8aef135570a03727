"""``recorder scrub``: redact any text by hand (a log, a notebook, a bug report).

Runs the recorder's own redaction engine, with the installation key and the
rules from config.toml plus those given on the command line, so placeholders
match the ones in recorded data. Nothing is sent anywhere. Input is streamed
(``recorder.redaction.scrubbing``), so memory stays bounded whatever its size.
The engine (and RE2) is imported inside the command to keep ``recorder --help`` fast.
"""

from __future__ import annotations

import contextlib
import io
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
    from recorder.redaction import scrubbing

    redactor = _redactor(rules, literals)
    total = 0
    for path in files or (STDIN,):
        with _open(path) as opened:
            source = _refuse_binary(opened, path)
            if explain:
                total += _explain(redactor, "-" if path == STDIN else str(path), source)
            else:
                sys.stdout.flush()
                scrubbing.scrub(redactor, source, sys.stdout.buffer)
                sys.stdout.buffer.flush()
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


def _refuse_binary(source, path: Path):
    """``source``, buffered; binary input (a NUL in its first bytes, git's test) is refused,
    not scrubbed: writing it back would send raw bytes, escapes among them, to the terminal."""
    if not hasattr(source, "peek"):
        source = io.BufferedReader(source)
    if b"\0" in source.peek(BINARY_SNIFF)[:BINARY_SNIFF]:
        name = "standard input" if path == STDIN else str(path)
        raise click.ClickException(f"{name} is binary (it holds NUL bytes); not scrubbed")
    return source


BINARY_SNIFF = 8000


def _parse_rule(spec: str) -> dict[str, str]:
    name, sep, pattern = spec.partition("=")
    if not sep or not name.strip() or not pattern:
        raise click.ClickException(f"--rule must be NAME=REGEX, not {spec!r}")
    return {"name": name.strip(), "pattern": pattern}


def _open(path: Path):
    if path == STDIN:
        return contextlib.nullcontext(sys.stdin.buffer)
    return path.open("rb")


def _explain(redactor, name: str, source) -> int:
    """One line per finding: name:line:column, offsets, rule, category, placeholder."""
    from recorder.redaction.scrubbing import explain

    count = 0
    for at in explain(redactor, source):
        f = at.finding
        click.echo(
            f"{name}:{at.line}:{at.column}: {f.rule} ({f.category}) "
            f"chars {at.start}-{at.end} -> {f.placeholder}"
        )
        count += 1
    return count
