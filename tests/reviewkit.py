"""The review app driven headless (Textual's Pilot), for tests/test_review_tui.py.

``record_review_session`` records a session from a real bash in tmux through the real CLI
and daemon: two tasks, a command with a token the rules find, one with a code name no rule
knows, one whose text looks like markup and emoji, and a task mark holding an escape
sequence. ``Review`` runs :class:`recorder.review.tui.ReviewApp` under ``App.run_test`` and
reads what its timeline draws.
"""

from __future__ import annotations

import os
from pathlib import Path

from commandkit import wait_commands

CODENAME = "zebra42-codename"
OTHER = "aardvark77-project"
TOKEN = "ghp_FAKEfake0123456789FAKEfake0123456789"  # a GitHub token to the built-in rules
MARKUP = "[bold]loud[/bold] :thumbs_up:"
SCREENS = os.environ.get("REVIEW_SCREENS_DIR")  # save the SVG screens there (docs/review)


def record_review_session(lab, run_cli, lay, stop: bool = True) -> str:
    session = run_cli("start", "--name", "review-demo").stdout.strip()
    sh = lab.spawn("bash")
    sh.run('recorder task "tune the learning rate"')
    sh.run("echo alpha-step")
    sh.run(f"export GITHUB_TOKEN={TOKEN}")
    sh.run(f"echo {CODENAME} and {OTHER}")
    sh.run(f"echo '{MARKUP}'")
    sh.run("recorder task \"$(printf 'colour \\033[31mred\\033[0m check')\"")
    sh.run("false")
    wait_commands(lay, 7)
    if stop:
        run_cli("stop")
    return session


class Review:
    """A running review app under Pilot: keys, and the text its panes show."""

    def __init__(self, app, pilot):
        self.app, self.pilot = app, pilot

    @property
    def screen(self):
        return self.app.screen

    async def ready(self) -> None:
        """Wait until the pass over the session (episodes, findings) is done."""
        for _ in range(600):
            await self.pilot.pause(0.05)
            if getattr(self.screen, "index", None) is not None:
                return
        raise AssertionError("the review's pass over the session did not finish")

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)
        await self.pilot.pause()

    def lines(self) -> list[str]:
        """Every line of the timeline as drawn (plain text)."""
        screen = self.screen
        return [screen.line_text(i).plain for i in range(len(screen.map))]

    def cursor_line(self) -> str:
        screen = self.screen
        return screen.line_text(screen.timeline.cursor).plain

    def detail(self) -> str:
        from recorder.review.tui import DetailPane

        return self.screen.query_one(DetailPane).text

    def summary(self) -> str:
        return str(self.screen.query_one("#summary").render())

    async def go_to(self, needle: str) -> None:
        """Search ``needle`` with ``/`` as a user would, and wait for the cursor to land."""
        await self.press("slash", *needle, "enter")
        for _ in range(200):
            if needle in self.cursor_line():
                return
            await self.pilot.pause(0.05)
        raise AssertionError(f"/{needle} did not land on it: {self.cursor_line()!r}")

    async def select_in_detail(self, text: str) -> None:
        """Focus the detail pane (tab) and select ``text`` with shift+right."""
        from recorder.review.tui import DetailPane

        await self.press("tab")
        pane = self.screen.query_one(DetailPane)
        for row, line in enumerate(pane.text.split("\n")):
            col = line.find(text)
            if col >= 0:
                pane.move_cursor((row, col))
                break
        else:
            raise AssertionError(f"{text!r} is not in the detail pane")
        await self.press(*["shift+right"] * len(text))
        assert pane.selected_text == text

    async def wait_applied(self, count: int) -> None:
        for _ in range(600):
            await self.pilot.pause(0.05)
            if len(self.screen.applied) >= count and self.screen.index is not None:
                return
        raise AssertionError(f"not applied: {self.screen.applied}")

    def save(self, name: str, tmp: Path) -> Path:
        folder = Path(SCREENS) if SCREENS else tmp
        folder.mkdir(parents=True, exist_ok=True)
        return Path(self.app.save_screenshot(filename=f"{name}.svg", path=str(folder)))
