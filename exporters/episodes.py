"""Steps -> episodes: where one stretch of work on one task ends and the next begins.

The researcher's task marks (``recorder task "..."``) are authoritative: a mark
ends the current episode and starts one with that task, which then runs until
the next mark or the end of the session, across breaks and repositories. Steps
before a session's first mark are split heuristically instead: at idle gaps
(``episodes.idle_gap_minutes``, default 10) and where the repository changes.
Any episode is also cut after ``max_steps`` steps so memory stays bounded.

:class:`EpisodeSplitter` receives steps in time order, numbers them, fills the
parts of their observation that depend on the episode, and hands each finished
episode, labelled, to a callback. docs/labels.md defines all of this exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from exporters.labels import EpisodeLabels, label_episode, pause_class
from exporters.steps import Step

DEFAULT_IDLE_GAP_MINUTES = 10
DEFAULT_MAX_STEPS = 10_000

# How an episode ended; the first three end the work on a task (is_terminal).
TERMINAL_REASONS = ("task_mark", "repo_change", "session_end")
CUT_REASONS = ("idle_gap", "max_steps", "recording")


@dataclass
class Episode:
    session_id: str
    index: int
    task: str | None
    marked: bool  # the task comes from a task mark
    steps: list[Step] = field(default_factory=list)
    repo: str | None = None
    start_commit: str | None = None
    end_commit: str | None = None
    latest_end: int = 0  # latest end of any step so far, microseconds
    end_reason: str | None = None
    labels: EpisodeLabels | None = None

    @property
    def episode_id(self) -> str:
        return f"{self.session_id}-e{self.index:04d}"


class EpisodeSplitter:
    def __init__(
        self,
        session_id: str,
        on_episode: Callable[[Episode], None],
        idle_gap_minutes: float = DEFAULT_IDLE_GAP_MINUTES,
        max_steps: int = DEFAULT_MAX_STEPS,
    ):
        self.session_id = session_id
        self.on_episode = on_episode
        self.idle_gap_us = int(idle_gap_minutes * 60_000_000)
        self.idle_gap_ms = self.idle_gap_us // 1000
        self.max_steps = max_steps
        self.count = 0
        self.current = Episode(session_id, 0, None, False)
        self.paused = False  # a pause mark since the last step

    # -- marks from the researcher --------------------------------------------------------

    def task_mark(self, text: str | None) -> None:
        task = (text or "").strip() or None
        if self.current.steps:
            self._close("task_mark", task, next_marked=True)
        else:
            self.current.task, self.current.marked = task, True

    def pause_mark(self) -> None:
        self.paused = True

    def note_head(self, repo: str | None, head: str | None) -> None:
        """A git head seen in the session (the episode's end commit, if its repository)."""
        episode = self.current
        if head and episode.steps and (episode.repo is None or repo in (None, episode.repo)):
            episode.end_commit = head

    # -- steps ----------------------------------------------------------------------------

    def add(self, step: Step) -> None:
        if self.current.steps:  # (an empty episode is never split)
            reason = self._split_reason(step)
            if reason is not None:
                self._close(reason, self.current.task, self.current.marked)
        episode = self.current
        steps = episode.steps
        step.index = len(steps)
        step.task = episode.task
        if steps:
            prev = steps[-1]
            ts = step.ts
            step.prev = prev.outcome_at(ts)
            gap_ms = step.gap_ms = max(0, ts - prev.end) // 1000
            step.pause_class = pause_class(gap_ms, self.paused, self.idle_gap_ms)
        self.paused = False
        if episode.repo is None and step.repo:
            episode.repo = step.repo
        if step.head:
            episode.start_commit = episode.start_commit or step.head
            episode.end_commit = step.head
        if step.end > episode.latest_end:
            episode.latest_end = step.end
        steps.append(step)

    def _split_reason(self, step: Step) -> str | None:
        episode = self.current
        if not episode.steps:
            return None
        if len(episode.steps) >= self.max_steps:
            return "max_steps"
        if episode.marked:
            return None
        if step.ts - episode.latest_end >= self.idle_gap_us:
            return "idle_gap"
        if step.repo and episode.repo and step.repo != episode.repo:
            return "repo_change"
        return None

    def finish(self, session_ended: bool) -> None:
        """The session's events are over: close the last episode."""
        if self.current.steps:
            self._close("session_end" if session_ended else "recording", None, False)

    def _close(self, reason: str, next_task: str | None, next_marked: bool) -> None:
        episode = self.current
        episode.end_reason = reason
        steps = episode.steps
        episode.labels = label_episode(steps)
        episode_id = episode.episode_id
        for step in steps:
            step.episode_id = episode_id
            step.closed = True
        steps[0].is_first = True
        steps[-1].is_last = True
        steps[-1].is_terminal = reason in TERMINAL_REASONS
        self.on_episode(episode)
        self.count += 1
        self.current = Episode(self.session_id, self.count, next_task, next_marked)
