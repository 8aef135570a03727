"""The review app (``recorder review``): a keyboard-first Textual app over a session as it
will be exported.

    ReviewApp
    ├── SessionsScreen   the sessions and their review state; enter opens one
    └── ReviewScreen     one session: Timeline (a virtual list, one line per event and per
                         episode, drawn line by line from ExportView's pages), the detail
                         pane (the row's full text; select in it to redact), the summary
                         panel; RedactScreen and TaskScreen ask what ``r`` and ``t`` mean

The model is :mod:`recorder.review.view` (the snapshot, its pages) and
:mod:`recorder.review.scan` (episodes and findings, counted in a worker thread after the
first screen shows); keys queue changes in a :class:`~recorder.review.queue.ChangeQueue`,
and ``w`` (apply) or ``a`` (approve) hands them to
``recorder.review.changes.apply_changes`` in a worker, then reopens the snapshot. Recorded
text is drawn by :mod:`recorder.review.lines`: rich ``Text`` objects, never markup.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import DataTable, Footer, Input, Static, TextArea

from recorder.display import safe_text
from recorder.errors import RecorderError
from recorder.review import lines
from recorder.review.approval import review_state
from recorder.review.queue import ChangeQueue, describe
from recorder.review.scan import SessionIndex, scan_session
from recorder.review.view import BriefLog, ExportView, open_snapshot, waiting_sessions

FINDINGS = "findings"  # what n/N step through until a search is made


@dataclass(frozen=True)
class Settings:
    """What the review needs of the configuration, read once (the export's settings)."""

    output_cap: int
    idle_gap_minutes: float
    output_chars: int


def load_settings(lay) -> Settings:
    from recorder.config import load_config

    config = load_config(lay)
    return Settings(
        config.output_cap,
        float(config.settings.episodes.idle_gap_minutes),
        config.settings.export.output_chars,
    )


def export_redactor(lay):
    from exporters.redaction import build_export_redactor
    from recorder.config import load_config

    return build_export_redactor(lay, load_config(lay))


class LineMap:
    """The timeline's lines: each episode's header before its first event, then events."""

    def __init__(self, events: int, index: SessionIndex | None):
        self.events = events
        self.starts = [e.start for e in index.episodes] if index else []
        self.header_lines = [start + k for k, start in enumerate(self.starts)]

    def __len__(self) -> int:
        return self.events + len(self.starts)

    def item(self, line: int) -> tuple[str, int]:
        """("episode", index) or ("event", position) at ``line``."""
        k = bisect.bisect_right(self.header_lines, line) - 1
        if k >= 0 and self.header_lines[k] == line:
            return "episode", k
        return "event", line - (k + 1)

    def line_of(self, position: int) -> int:
        return position + bisect.bisect_right(self.starts, position)


class Timeline(ScrollView, can_focus=True):
    """The session's lines, drawn on demand: only the rows on screen are read."""

    BINDINGS: ClassVar = [
        Binding("j,down", "move(1)", "down", show=False),
        Binding("k,up", "move(-1)", "up", show=False),
        Binding("ctrl+d", "half(1)", show=False),
        Binding("ctrl+u", "half(-1)", show=False),
        Binding("space,pagedown,ctrl+f", "page(1)", show=False),
        Binding("b,pageup,ctrl+b", "page(-1)", show=False),
        Binding("g,home", "jump(0)", "top", show=False),
        Binding("G,end", "jump(-1)", "end", show=False),
    ]
    DEFAULT_CSS = "Timeline { width: 3fr; border: round $primary; overflow-x: hidden; }"

    class Moved(Message):
        pass

    def __init__(self, screen: ReviewScreen):
        super().__init__(id="timeline")
        self.review = screen
        self.cursor = 0
        self.painted = False  # set once the first rows are drawn

    @property
    def map(self) -> LineMap:
        return self.review.map

    def resize_lines(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.map))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        line = scroll_y + y
        width = self.scrollable_content_region.width
        if line >= len(self.map):
            return Strip.blank(width, self.rich_style)
        text = self.review.line_text(line)
        strip = Strip(list(text.render(self.app.console, end="")), text.cell_len)
        if line == self.cursor:
            strip = strip.apply_style(self.app.console.get_style("reverse"))
        self.painted = True
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def go(self, line: int) -> None:
        count = len(self.map)
        if count == 0:
            return
        self.cursor = max(0, min(line, count - 1))
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Moved())

    def action_move(self, delta: int) -> None:
        self.go(self.cursor + delta)

    def action_half(self, direction: int) -> None:
        self.go(self.cursor + direction * max(1, self.scrollable_content_region.height // 2))

    def action_page(self, direction: int) -> None:
        self.go(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, where: int) -> None:
        self.go(len(self.map) - 1 if where < 0 else where)


class DetailPane(TextArea):
    """The row under the cursor in full, as exported; select text here, then ``r``."""

    DEFAULT_CSS = "DetailPane { height: 2fr; border: round $secondary; }"

    def __init__(self):
        super().__init__("", read_only=True, soft_wrap=True, id="detail", show_line_numbers=False)


class RedactScreen(ModalScreen[str | None]):
    """``r``: redact the selected text in this session, or as a rule for every session."""

    BINDINGS: ClassVar = [
        Binding("s", "choose('session')", "this session"),
        Binding("e", "choose('all')", "every session"),
        Binding("escape", "choose('')", "cancel"),
    ]
    DEFAULT_CSS = """
    RedactScreen { align: center middle; }
    RedactScreen > Vertical { width: 70; height: auto; border: thick $warning; padding: 1 2;
                              background: $surface; }
    """

    def __init__(self, literal: str):
        super().__init__()
        self.literal = literal

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Redact this text:", style="bold"))
            yield Static(Text(safe_text(self.literal), style=lines.QUEUED_STYLE))
            yield Static(
                Text(
                    "\ns  in this session\ne  in every session (a rule, also for sessions to come)"
                    "\nesc  cancel"
                )
            )

    def action_choose(self, where: str) -> None:
        self.dismiss(where or None)


class TaskScreen(ModalScreen[str | None]):
    """``t``: the task text of the episode under the cursor."""

    BINDINGS: ClassVar = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = """
    TaskScreen { align: center middle; }
    TaskScreen > Vertical { width: 80; height: auto; border: thick $accent; padding: 1 2;
                            background: $surface; }
    """

    def __init__(self, episode: int, task: str | None):
        super().__init__()
        self.episode, self.current = episode, task

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Task of episode {self.episode} (enter to queue, esc to cancel)"))
            yield Input(value=self.current or "", id="task-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReviewScreen(Screen):
    """One session as it will be exported; changes queue here until applied."""

    BINDINGS: ClassVar = [
        Binding("slash", "search", "search"),
        Binding("n", "next(1)", "next"),
        Binding("N", "next(-1)", "previous", key_display="N"),
        Binding("x", "drop", "drop"),
        Binding("r", "redact", "redact selection"),
        Binding("u", "undo", "undo"),
        Binding("t", "task", "task text"),
        Binding("w", "apply", "apply"),
        Binding("a", "approve", "approve"),
        Binding("tab", "focus_other", "detail/timeline", show=False),
        Binding("escape", "escape", show=False),
        Binding("q", "leave", "quit"),
    ]
    DEFAULT_CSS = """
    #title { height: 1; background: $boost; }
    #side { width: 2fr; }
    #summary { height: 1fr; border: round $accent; overflow-y: auto; }
    #search { dock: bottom; display: none; }
    #search.open { display: block; }
    """

    def __init__(self, lay, ref: str, settings: Settings):
        super().__init__()
        self.lay, self.settings = lay, settings
        self.reader = BriefLog(lay)
        self.snapshot = open_snapshot(self.reader, ref)
        self.view = ExportView(
            self.reader, self.snapshot, export_redactor(lay), settings.output_cap
        )
        self.state = review_state(self.reader, self.session_id, lay)
        self.index: SessionIndex | None = None
        self.map = LineMap(len(self.view), None)
        self.queue = ChangeQueue()
        self.needle: str | None = None  # the search n/N follow; None: the findings
        self.scanned = 0
        self.busy = threading.Lock()  # held while a worker reads or applies
        self.applied: list[str] = []  # what was applied in this review, one line each

    @property
    def session_id(self) -> str:
        return self.snapshot.session_id

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        with Horizontal():
            yield Timeline(self)
            with Vertical(id="side"):
                yield DetailPane()
                yield Static(id="summary")
        yield Input(placeholder="search the exported text", id="search")
        yield Footer()

    def on_mount(self) -> None:
        self.timeline.resize_lines()
        self.timeline.focus()
        self.refresh_panels()
        self.call_after_refresh(self.scan)  # the first screen first

    @property
    def timeline(self) -> Timeline:
        return self.query_one(Timeline)

    # -- drawing ------------------------------------------------------------------------

    def line_text(self, line: int) -> Text:
        kind, k = self.map.item(line)
        if kind == "episode":
            episode = self.index.episodes[k]
            task = self.queue.task_texts().get(k, episode.task)
            dropped = k in self.queue.dropped_episodes()
            return lines.header_line(k, task, episode.num_steps, dropped, episode.kinds)
        row = self.view.row(k)
        dropped = row.event_id in self.queue.dropped_events()
        return lines.row_line(row, dropped, self.queue.redactions())

    def on_timeline_moved(self, _message: Timeline.Moved) -> None:
        self.refresh_panels()

    def refresh_panels(self) -> None:
        self.query_one("#title", Static).update(self.title_text())
        self.query_one(DetailPane).load_text(self.detail())
        self.query_one("#summary", Static).update(self.summary())

    def title_text(self) -> Text:
        session = self.snapshot.session
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {session['session_id']} ", "bold")
        text.append(safe_text(session["name"] or ""))
        style = {"approved": "bold green", "needs review": "bold yellow"}.get(self.state, "red")
        shown = "recording (cannot be approved)" if self.state == "recording" else self.state
        text.append(f"  ● {shown}", style)
        text.append(f"  {len(self.view):,} events")
        if self.index is None:
            text.append(f"  counting episodes… {self.scanned:,}", "dim")
        follows = f"search {safe_text(self.needle)!s}" if self.needle else FINDINGS
        text.append(f"  n/N: {follows}", "dim")
        if self.queue:
            text.append(f"  {len(self.queue)} queued (w applies, u undoes)", "bold yellow")
        return text

    def detail(self) -> str:
        if not len(self.map):
            return "(no events)"
        kind, k = self.map.item(self.timeline.cursor)
        if kind == "episode":
            episode = self.index.episodes[k]
            task = self.queue.task_texts().get(k, episode.task)
            return (
                f"episode {k}: {episode.num_steps} steps, ended by {episode.end_reason}\n"
                f"task: {lines.safe_lines(task) if task else '(none)'}"
                f"{' (from a task mark)' if episode.marked else ''}"
            )
        return lines.detail_text(self.view.row(k))

    def summary(self) -> Text:
        text = Text()
        index = self.index
        text.append("events by source\n", "bold")
        if index is None:
            text.append(f"  counting… {self.scanned:,} of {len(self.view):,}\n", "dim")
        else:
            for source, n in sorted(index.by_source.items()):
                text.append(f"  {safe_text(source)} {n:,}\n")
            text.append(f"episodes {len(index.episodes)}\n", "bold")
            text.append("redactions by rule\n", "bold")
            for rule, n in sorted(index.by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
                text.append(f"  {safe_text(rule)} {n:,}\n")
            if not index.by_rule:
                text.append("  none\n", "dim")
        text.append("queued\n", "bold")
        for change in self.queue.changes:
            text.append(f"  {describe(change)}\n", "yellow")
        if not self.queue:
            text.append("  nothing\n", "dim")
        text.append("applied\n", "bold")
        for line in self.applied:
            text.append(f"  {safe_text(line)}\n", "green")
        if not self.applied:
            text.append("  nothing\n", "dim")
        return text

    def redraw(self) -> None:
        self.timeline.refresh()
        self.refresh_panels()

    # -- the pass over the session ----------------------------------------------------

    @work(thread=True, exclusive=True, group="scan")
    def scan(self) -> None:
        with self.busy:
            view = ExportView(
                BriefLog(self.lay), self.snapshot, export_redactor(self.lay),
                self.settings.output_cap,
            )  # fmt: skip
            index = scan_session(
                view, self.settings.idle_gap_minutes, 10_000, self.settings.output_chars,
                progress=lambda n: self.app.call_from_thread(self.show_scan_progress, n),
            )  # fmt: skip
        self.app.call_from_thread(self.after_scan, index)

    def show_scan_progress(self, rows: int) -> None:
        self.scanned = rows
        self.query_one("#title", Static).update(self.title_text())

    def after_scan(self, index: SessionIndex) -> None:
        kind, k = self.map.item(self.timeline.cursor) if len(self.map) else ("event", 0)
        self.index = index
        self.map = LineMap(len(self.view), index)
        self.timeline.resize_lines()
        if kind == "event":
            self.timeline.go(self.map.line_of(k))
        self.redraw()

    # -- moving -----------------------------------------------------------------------

    def action_focus_other(self) -> None:
        detail = self.query_one(DetailPane)
        (self.timeline if detail.has_focus else detail).focus()

    def action_escape(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_class("open"):
            search.remove_class("open")
        elif self.needle:
            self.needle = None
        self.timeline.focus()
        self.refresh_panels()

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("open")
        search.value = ""
        search.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "search":
            return
        event.input.remove_class("open")
        self.timeline.focus()
        self.needle = event.value or None
        if self.needle:
            self.find(self.needle, self.current_position(), 1)
        self.refresh_panels()

    def current_position(self) -> int:
        kind, k = self.map.item(self.timeline.cursor)
        return self.index.episodes[k].start if kind == "episode" else k

    def action_next(self, direction: int) -> None:
        start = self.current_position() + direction
        if self.needle:
            self.find(self.needle, start, direction)
            return
        if self.index is None:
            self.notify("findings are still being counted", severity="warning")
            return
        rows = self.index.finding_rows
        if not rows:
            self.notify("no findings in this session")
            return
        here = self.current_position()
        if direction > 0:
            k = bisect.bisect_right(rows, here)
            target = rows[k % len(rows)]
        else:
            k = bisect.bisect_left(rows, here) - 1
            target = rows[k]
        self.timeline.go(self.map.line_of(target))

    @work(thread=True, exclusive=True, group="find")
    def find(self, needle: str, start: int, direction: int) -> None:
        view = ExportView(
            BriefLog(self.lay), self.snapshot, self.view.redaction.redactor,
            self.settings.output_cap,
        )  # fmt: skip
        found = view.find(needle, start % max(1, len(view)), direction > 0)
        self.app.call_from_thread(self.show_found, needle, found)

    def show_found(self, needle: str, position: int | None) -> None:
        if position is None:
            self.notify(f"not found: {safe_text(needle)}", severity="warning", markup=False)
            return
        self.timeline.go(self.map.line_of(position))

    # -- queueing changes -------------------------------------------------------------

    def action_drop(self) -> None:
        from recorder.review.changes import DropEvents

        kind, k = self.map.item(self.timeline.cursor)
        if kind == "episode":
            change = DropEvents(self.session_id, episode=self.index.episodes[k].index)
        else:
            change = DropEvents(self.session_id, event_ids=(self.view.row(k).event_id,))
        if change in self.queue.changes:  # x again takes it back
            self.queue.changes.remove(change)
        else:
            self.queue.add(change)
            if kind == "event":
                self.timeline.action_move(1)
        self.redraw()

    def action_redact(self) -> None:
        selected = self.query_one(DetailPane).selected_text
        if not selected.strip():
            self.notify("select text in the detail pane first (tab, then shift+arrows)")
            return
        self.app.push_screen(
            RedactScreen(selected), lambda where: self.queue_redaction(selected, where)
        )

    def queue_redaction(self, literal: str, where: str | None) -> None:
        from recorder.review.changes import RedactText

        if where is None:
            return
        every = where == "all"
        self.queue.add(RedactText(self.session_id, literal=literal, all_sessions=every))
        self.timeline.focus()
        self.redraw()

    def action_task(self) -> None:
        if self.index is None or not self.index.episodes:
            self.notify("no episodes (yet): they are still being counted, or there are none")
            return
        kind, k = self.map.item(self.timeline.cursor)
        episode = self.index.episodes[k] if kind == "episode" else self.index.episode_at(k)
        if episode is None:
            episode = self.index.episodes[0]
        task = self.queue.task_texts().get(episode.index, episode.task)
        self.app.push_screen(
            TaskScreen(episode.index, task), lambda text: self.queue_task(episode.index, text)
        )

    def queue_task(self, episode: int, text: str | None) -> None:
        from recorder.review.changes import SetTask

        if text is None:
            return
        self.queue.add(SetTask(self.session_id, episode, text))
        self.redraw()

    def action_undo(self) -> None:
        change = self.queue.undo()
        self.notify(f"undone: {describe(change)}" if change else "nothing to undo")
        self.redraw()

    # -- applying ---------------------------------------------------------------------

    def action_apply(self) -> None:
        if not self.queue:
            self.notify("nothing queued")
            return
        self.apply(list(self.queue.changes))

    def action_approve(self) -> None:
        from recorder.review.changes import Approve

        if self.snapshot.live:
            self.notify(
                "this session is still recording: stop it (`recorder stop`) before approving",
                severity="error",
            )
            return
        self.apply([*self.queue.changes, Approve(self.session_id)])

    @work(thread=True, exclusive=True, group="apply")
    def apply(self, changes: list) -> None:
        from recorder.review.changes import apply_changes

        with self.busy:  # after the pass in flight: the change rewrites what it reads
            try:
                results = apply_changes(self.lay, changes)
            except RecorderError as exc:
                self.app.call_from_thread(self.show_failure, str(exc))
                return
            reader = BriefLog(self.lay)
            snapshot = open_snapshot(reader, self.session_id)
            redactor = export_redactor(self.lay)
            state = review_state(reader, self.session_id, self.lay)
        self.app.call_from_thread(self.after_apply, results, snapshot, redactor, state)

    def show_failure(self, message: str) -> None:
        self.notify(message, severity="error", title="not applied", markup=False)

    def after_apply(self, results, snapshot, redactor, state: str) -> None:
        self.state = state
        for result in results:
            self.applied.append(result.detail or describe(result.change))
        self.queue.clear()
        self.snapshot = snapshot
        self.view = ExportView(self.reader, snapshot, redactor, self.settings.output_cap)
        self.index = None
        self.map = LineMap(len(self.view), None)
        self.timeline.resize_lines()
        self.timeline.go(min(self.timeline.cursor, max(0, len(self.map) - 1)))
        self.notify(f"applied {len(results)} change{'s' * (len(results) != 1)}")
        self.redraw()
        self.scan()

    def action_leave(self) -> None:
        if self.queue:
            self.notify("changes are queued: w applies them, u undoes them, Q quits anyway")
            return
        self.app.leave_review()


class SessionsScreen(Screen):
    """The sessions, those waiting for review first; enter reviews one."""

    BINDINGS: ClassVar = [
        Binding("j", "cursor(1)", show=False),
        Binding("k", "cursor(-1)", show=False),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(self, lay):
        super().__init__()
        self.lay = lay

    def compose(self) -> ComposeResult:
        yield Static(Text(" sessions waiting for review (enter: review)", style="bold"))
        yield DataTable(cursor_type="row", id="sessions")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for column in ("state", "session", "name", "started", "events"):
            table.add_column(column)
        for entry in waiting_sessions(BriefLog(self.lay), self.lay):
            state_style = {"approved": "green", "needs review": "bold yellow"}.get(entry.state)
            table.add_row(
                Text(entry.state, style=state_style or ""),
                Text(entry.session_id),
                Text(safe_text(entry.name or "")),
                Text(entry.started_at.strftime("%Y-%m-%d %H:%M")),
                Text(f"{entry.events:,}"),
                key=entry.session_id,
            )
        table.focus()

    def action_cursor(self, delta: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=table.cursor_row + delta)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.app.open_review(event.row_key.value)


class ReviewApp(App):
    """``recorder review [SESSION]``."""

    TITLE = "recorder review"
    BINDINGS: ClassVar = [Binding("Q", "quit", "quit", show=False)]

    def __init__(self, lay, ref: str | None = None):
        super().__init__()
        self.lay, self.ref = lay, ref
        self.settings = load_settings(lay)
        self.listing = ref is None

    def on_mount(self) -> None:
        if self.ref is None:
            self.push_screen(SessionsScreen(self.lay))
        else:
            self.open_review(self.ref)

    def open_review(self, ref: str) -> None:
        self.push_screen(ReviewScreen(self.lay, ref, self.settings))

    def leave_review(self) -> None:
        if self.listing:
            self.pop_screen()
        else:
            self.exit()


def run(lay, ref: str | None) -> None:
    """Run the app in this terminal until the reviewer quits."""
    if ref is not None:  # an unknown session is one line on stderr, before the screen opens
        BriefLog(lay).resolve_session(ref)
    ReviewApp(lay, ref).run()
