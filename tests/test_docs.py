"""The docs stay true: the command reference matches --help, and README's commands exist."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_matches_help_text():
    render = runpy.run_path(str(ROOT / "scripts" / "update_cli_docs.py"))["render"]
    assert (ROOT / "docs" / "cli.md").read_text() == render(), (
        "docs/cli.md is stale: run python scripts/update_cli_docs.py"
    )


def test_every_command_is_documented_in_the_reference():
    from recorder.cli import cli

    text = (ROOT / "docs" / "cli.md").read_text()
    for name in cli.commands:
        assert f"## recorder {name}\n" in text


def test_readme_names_the_two_setup_commands_and_they_exist():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
