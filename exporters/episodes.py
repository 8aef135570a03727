"""Steps -> episodes: where one stretch of work on one task ends and the next begins.

The researcher's task marks (``recorder task "..."``) are authoritative: a mark
ends the current episode and starts one with that task (the mark itself, like the
``recorder`` command that made it, is no step of either), which then runs until
the next mark or the end of the session, across breaks and repositories. A task text set at review
(``recorder task --episode N``) replaces episode N's when it closes. Steps
before a session's first mark are split heuristically instead: at idle gaps
(the setting ``episodes.idle_gap_minutes``, passed in) and where the repository
changes. Any episode is also cut after ``max_steps`` steps so memory stays bounded.

:class:`EpisodeSplitter` receives steps in time order
(:class:`~exporters.stepbuffer.Step`), fills the parts of their observation that
depend on the episode, keeps them in a :class:`~exporters.stepbuffer.StepBuffer`,
numbers and labels them when their episode closes, and hands each finished episode
to a callback. docs/labels.md defines all of this exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from exporters.labels import EpisodeLabels, label_episode, pause_class
from exporters.stepbuffer import Step, StepBuffer
from exporters.taskkinds import EpisodeKinds, KindStep, episode_kinds

DEFAULT_MAX_STEPS = 10_000  # the export's default (ExportOptions.max_steps)

# How an episode ended, of the reasons that end the work on a task (is_terminal); the
# others (idle_gap, max_steps, recording) only cut it.
TERMINAL_REASONS = ("task_mark", "repo_change", "session_end")


@dataclass(slots=True)
class Episode:
    session_id: str
    index: int
    task: str | None
    marked: bool  # the task comes from a task mark
    start: int  # position of its first step
    stop: int  # position after its last step (start while it has none)
    repo: str | None = None
    start_commit: str | None = None
    end_commit: str | None = None
    latest_end: int = 0  # latest end of any step so far, microseconds
    end_reason: str | None = None
    labels: EpisodeLabels | None = None
    kinds: EpisodeKinds | None = None  # its task kinds and outcome signals
    reviewed: bool = False  # the task text was set at review (``recorder task --episode``)

    @property
    def episode_id(self) -> str:
        return f"{self.session_id}-e{self.index:04d}"

    @property
    def num_steps(self) -> int:
        return self.stop - self.start


class EpisodeSplitter:
    def __init__(
        self,
        session_id: str,
        steps: StepBuffer,
        on_episode: Callable[[Episode], None],
        idle_gap_minutes: float,
        max_steps: int,
        task_overrides: dict[int, str] | None = None,
    ):
        self.session_id = session_id
        self.steps = steps
        self.on_episode = on_episode
        self.idle_gap_us = int(idle_gap_minutes * 60_000_000)
        self.idle_gap_ms = self.idle_gap_us // 1000
        self.max_steps = max_steps
        self.task_overrides = task_overrides or {}
        self.count = 0
        self.current = Episode(session_id, 0, None, False, 0, 0)
        self.paused = False  # a pause mark since the last step

    # -- marks from the researcher --------------------------------------------------------

    def task_mark(self, text: str | None) -> None:
        task = (text or "").strip() or None
        if self.current.num_steps:
            self._close("task_mark", task, next_marked=True)
        else:
            self.current.task, self.current.marked = task, True

    def pause_mark(self) -> None:
        self.paused = True

    def note_head(self, repo: str | None, head: str | None) -> None:
        """A git head seen in the session (the episode's end commit, if its repository)."""
        episode = self.current
        has_steps = episode.stop > episode.start
        if head and has_steps and (episode.repo is None or repo in (None, episode.repo)):
            episode.end_commit = head

    # -- steps ----------------------------------------------------------------------------

    def add(self, step: Step) -> None:
        """``step`` (the builder's newest) joins an episode and the buffer."""
        episode = self.current
        if episode.stop > episode.start:  # (an empty episode is never split)
            reason = self._split_reason(step)
            if reason is None:
                self._follow(step, self.steps.records[-1])
            else:
                self._close(reason, episode.task, episode.marked)
                episode = self.current
        self.paused = False
        if episode.repo is None and step.repo:
            episode.repo = step.repo
        if step.head and step.repo in (None, episode.repo):  # not another repository's
            episode.start_commit = episode.start_commit or step.head
            episode.end_commit = step.head
        if step.end > episode.latest_end:
            episode.latest_end = step.end
        self.steps.records.append(step)
        episode.stop += 1

    def _follow(self, step: Step, previous: Step) -> None:
        """Fill what ``step`` knows of ``previous``, the step before it in the episode: its
        outcome as known at ``step``'s time (a command still running has no exit code)."""
        ts = step.ts
        ended = previous.end <= ts
        step.prev = (
            previous.action,
            previous.exit_code if ended else None,
            previous.failed if ended else None,
            previous.duration_ms if ended else None,
            previous.lines_added,
            previous.lines_removed,
        )
        gap = ts - previous.end
        gap_ms = step.gap_ms = gap // 1000 if gap > 0 else 0  # (faster than max() here)
        step.pause_class = pause_class(gap_ms, self.paused, self.idle_gap_ms)

    def _split_reason(self, step: Step) -> str | None:
        episode = self.current
        if episode.stop - episode.start >= self.max_steps:
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
        if self.current.num_steps:
            self._close("session_end" if session_ended else "recording", None, False)

    def _close(self, reason: str, next_task: str | None, next_marked: bool) -> None:
        episode = self.current
        episode.end_reason = reason
        if episode.index in self.task_overrides:
            episode.task, episode.reviewed = self.task_overrides[episode.index], True
        records = self.steps.records[episode.start - self.steps.base :]
        step_labels, episode.labels = label_episode(
            [s.action for s in records], [s.key for s in records], [s.failed for s in records],
            [s.test_or_build for s in records], [s.end for s in records],
            interrupted=[s.interrupted is True for s in records],
        )  # fmt: skip
        episode.kinds = episode_kinds([
            KindStep(s.kind, s.key, s.line, s.failed, s.end, s.metrics or ()) for s in records
        ])  # fmt: skip
        self.steps.close(
            len(records), episode.episode_id, episode.task, reason in TERMINAL_REASONS,
            step_labels,
        )  # fmt: skip
        self.on_episode(episode)
        self.count += 1
        self.current = Episode(
            self.session_id, self.count, next_task, next_marked, episode.stop, episode.stop
        )
