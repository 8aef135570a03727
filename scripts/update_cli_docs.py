"""Regenerate docs/cli.md from the commands' --help text (tests/test_docs.py checks it)."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
HEADER = """# Command reference

Generated from each command's `--help` by `python scripts/update_cli_docs.py`;
`tests/test_docs.py` fails when this page and the code disagree.
"""


def render() -> str:
    from recorder.cli import cli

    runner = CliRunner()
    parts = [HEADER]
    commands = [[]] + [[name] for name in sorted(cli.commands)]
    for args in commands:
        result = runner.invoke(cli, [*args, "--help"], prog_name="recorder", terminal_width=88)
        title = " ".join(["recorder", *args])
        parts.append(f"\n## {title}\n\n```\n{result.output.rstrip()}\n```\n")
    return "".join(parts)


if __name__ == "__main__":
    DOC.write_text(render())
    sys.stdout.write(f"wrote {DOC}\n")
