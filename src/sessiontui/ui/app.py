"""The Textual application: renders monitor snapshots and sends the user's actions back."""

from __future__ import annotations

import gc
import os
import subprocess
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, SuspendNotSupported, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.markup import escape as escape_markup
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from sessiontui.config import Config
from sessiontui.desktop import Transport, choose_transport
from sessiontui.errors import SessiontuiError
from sessiontui.model.desktop import DesktopNotice, DesktopNotifier
from sessiontui.model.filters import SessionFilter
from sessiontui.model.notify import WaitingNotifier
from sessiontui.model.ordering import (
    NO_PROJECT,
    GroupMode,
    ProjectRoots,
    SortMode,
    StableNumbers,
    group_of,
    group_rows,
    header_key,
    is_header_key,
    sort_sessions,
)
from sessiontui.model.pins import PinStore, PinStoreError
from sessiontui.model.prompts import question_text
from sessiontui.model.text import printable
from sessiontui.model.types import Status
from sessiontui.ui import actions, render
from sessiontui.ui.messages import SnapshotChanged
from sessiontui.ui.preview import PREVIEW_INTERVAL_S, PreviewPacer
from sessiontui.ui.screens.confirm import ConfirmScreen
from sessiontui.ui.screens.help import HelpScreen, action_rows
from sessiontui.ui.screens.new_session import NewSessionRequest, NewSessionScreen
from sessiontui.ui.screens.rename import RenameScreen
from sessiontui.ui.themes import THEME_VARIABLE_DEFAULTS, theme_named
from sessiontui.ui.widgets.detail import DetailPanel
from sessiontui.ui.widgets.footer import InputKey, SessionFooter
from sessiontui.ui.widgets.session_table import AGE_WALK_MAX_S, SessionTable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from textual.app import ComposeResult
    from textual.driver import Driver
    from textual.events import Resize
    from textual.notifications import SeverityLevel
    from textual.screen import Screen
    from textual.timer import Timer

    from sessiontui.model.service import AttachPlan, SessionService
    from sessiontui.model.types import Session, Snapshot, SnapshotChange

#: Columns whose header gets the sort mark, by preference, per sort order.
SORTED_COLUMNS: dict[SortMode, tuple[str, ...]] = {
    SortMode.URGENCY: ("status",),
    SortMode.PROJECT: ("cwd", "where", "name"),
    SortMode.ACTIVITY: ("activity",),
}

#: Below this many columns the table shows glyph, name and sparkline only.
NARROW_WIDTH = 60
#: Lines of the pane shown in the preview.
PREVIEW_LINES = 8
#: Lines captured from a waiting agent's pane to find its question (a whole screen).
QUESTION_CAPTURE_LINES = 60
#: Shortest wait between two updates of the AGE column, seconds (it shows whole seconds at
#: first); rows whose ages read ``3h`` wait for the next label change, up to AGE_MAX_WAIT_S.
AGE_TICK_S = 1.0
#: Longest wait between two AGE updates, seconds: how stale a row scrolled into view may
#: show its age (rows not drawn do not arm the timer), and a wall-clock jump (a resume).
AGE_MAX_WAIT_S = AGE_WALK_MAX_S
#: Longest reply the input takes, in characters (what a multiplexer types at once).
REPLY_MAX_CHARS = 4096


#: What the footer shows while the filter or the reply input has focus (see ``on_key`` and
#: ``on_input_submitted``): ``ctrl+c`` quits from anywhere (a priority binding), and ``/``,
#: ``?`` and ``q`` would be typed into the input.
INPUT_KEYS: dict[str, tuple[InputKey, ...]] = {
    "filter": (("enter", "Apply"), ("escape", "Clear"), ("ctrl+c", "Quit")),
    "reply": (("enter", "Send"), ("escape", "Cancel"), ("ctrl+c", "Quit")),
}


class MainTable(SessionTable):
    """The session table with the session keys; its bindings call the app's actions."""

    BINDINGS: ClassVar[list[BindingType]] = actions.bindings("table")


class SessionTUI(App[None]):
    """sessiontui's app. Build it with :func:`make_app`.

    Args:
        monitor: The model façade (started on mount unless ``watch`` is false).
        clock: Wall clock for ages, seconds since the epoch (tests freeze it).
        watch: Start the monitor's watcher threads (false for fixed-data snapshot tests).
        title: Text at the left of the header line.
        config: The user's configuration.
        background: Running as the ``--bg`` monitor (``q`` leaves it running).
        exit_after_attach: Quit once an attach has switched the client (in a
            ``display-popup``: the popup closes and the user sees the session).
        pins: Where pins (``p``) are kept (default: in memory, for this run only).
    """

    CSS_PATH = "sessiontui.tcss"
    TITLE = "sessiontui"
    BINDINGS: ClassVar[list[BindingType]] = actions.bindings("app")

    def __init__(
        self,
        monitor: SessionService,
        *,
        clock: Callable[[], float] = time.time,
        watch: bool = True,
        title: str = "sessiontui",
        config: Config | None = None,
        background: bool = False,
        exit_after_attach: bool = False,
        pins: PinStore | None = None,
    ) -> None:
        super().__init__()
        self.exit_after_attach = exit_after_attach
        """Quit after a successful switch (the TUI runs in a popup over the client)."""
        self.config = config or Config()
        self.background = background
        """Running as the ``--bg`` monitor: ``q``/``ctrl+c`` send the client back, not quit."""
        self.notifier = WaitingNotifier(self.config.waiting_notify_delay_s)
        self._notify_timer: Timer | None = None
        self._age_timer: Timer | None = None
        self._age_tick_at = 0.0  # monotonic time _age_timer fires at
        self.desktop = DesktopNotifier(time.monotonic)
        """Coalesces waiting sessions into desktop notifications (``notify`` has "desktop")."""
        self._transport: Transport | None = None
        self.monitor = monitor
        self.clock = clock
        self.start_monitor = watch
        self.header_title = title
        self.snapshot: Snapshot = monitor.snapshot
        """The latest snapshot received from the monitor."""
        self.filter_text = ""
        """The ``/`` filter as typed ("" shows everything)."""
        self._filter = SessionFilter()
        self._bindings_state: tuple[object, ...] = ()
        self._previewed_key: str | None = None
        self._preview_pacer = PreviewPacer()
        self._header: Text | None = None
        self.focused_key: str | None = None
        """The session whose pane our tmux client shows now (never announced)."""
        self.reply_key: str | None = None
        """The session the open reply input (``s``) sends to; ``None`` while it is closed."""
        self._previewed_state: tuple[object, ...] | None = None
        self._answering: set[str] = set()
        self.pins = pins or PinStore(None)
        """The pinned sessions (``p``)."""
        self.sort_mode = SortMode(self.config.sort)
        """The sort order (``o`` cycles it; for this run only)."""
        self.group_mode = GroupMode(self.config.group)
        """The grouping (``g`` cycles it; for this run only)."""
        self.collapsed: set[str] = set()
        """Ids of the folded groups."""
        self.numbers = StableNumbers()
        """The ``1``-``9`` numbers shown in the rows."""
        self._roots = ProjectRoots()
        self._arranged = 0  # bumped when the user re-arranges the rows (a pin, a fold)
        self._held_notices: list[tuple[str, str, SeverityLevel, float | None, bool]] = []
        self._holding_notices = False

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """Sessiontui's own CSS variables, for any theme that does not set them."""
        return dict(THEME_VARIABLE_DEFAULTS)

    # -- layout -------------------------------------------------------------------------

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, except :class:`~sessiontui.ui.driver.QuietDriver` on POSIX terminals.

        ``$TEXTUAL_DRIVER`` and Windows keep Textual's choice; tests run headless anyway.
        """
        chosen = super().get_driver_class()
        if os.name == "posix" and not os.environ.get("TEXTUAL_DRIVER"):
            from sessiontui.ui.driver import QuietDriver

            return QuietDriver
        return chosen

    def compose(self) -> ComposeResult:
        """Header line, table, filter input, detail panel, reply input (``s``), footer."""
        yield Static(id="summary")
        yield MainTable(id="sessions")
        yield Input(
            placeholder="filter: text, s:waiting a:claude k:bg w:tmux (escape clears)", id="filter"
        )
        yield DetailPanel(id="detail")
        yield Input(id="reply", max_length=REPLY_MAX_CHARS)
        yield SessionFooter(contextual=actions.contextual_actions("table"), input_keys=INPUT_KEYS)

    def on_mount(self) -> None:
        """Lay out for the terminal width, show the first snapshot, start the monitor."""
        if self.config.keymap:
            self.set_keymap(dict(self.config.keymap))
        theme = theme_named(self.config.theme)  # the configuration checked the name
        render.use_theme(theme)
        if theme.textual.name not in self.available_themes:
            self.register_theme(theme.textual)
        self.theme = theme.textual.name
        self.set_interval(PREVIEW_INTERVAL_S, self._refresh_preview)
        table = self.query_one(MainTable)
        table.wanted_columns = self.config.columns
        table.set_layout(narrow=self.size.width < NARROW_WIDTH, width=self.size.width)
        self.pins.pinned(())  # read the pins file now, to report a bad one
        if self.pins.problem:
            self.notify(
                printable(self.pins.problem), title="Pins", severity="warning", markup=False
            )
        for warning in self.config.warnings():
            self.notify(warning, title="Configuration", severity="warning", markup=False)
        if "desktop" in self.config.notify_channels:
            self._resolve_transport()
        self.set_class(self.size.width < NARROW_WIDTH, "-narrow")
        table.focus()
        self.monitor.subscribe(self._on_change)
        self._show()
        self.set_interval(30.0, self._show)
        self._arm_age_tick(AGE_TICK_S)
        if self.start_monitor:
            self._start_monitor()

    @work(thread=True, exit_on_error=False)
    def _start_monitor(self) -> None:
        """First full read and the watcher threads, off the UI thread.

        A failed first read (it should not happen; hostile files are handled in the model)
        is reported, and the watcher starts anyway so later changes still arrive.
        """
        # The first read of a large registry allocates ~11 long-lived objects per file, and
        # the main thread builds the table from them meanwhile: the automatic collector
        # would trace the young heap again and again (0.2-0.6 s of CPU at 10,000 files).
        # It waits for the one full collection of _freeze_startup_objects, after the first
        # frame that shows the table, and is on again afterwards whatever happens.
        collecting = gc.isenabled()
        gc.disable()
        handed_over = False
        try:
            try:
                self.monitor.refresh()
            except Exception as error:
                self._report(f"first read failed: {error}", error=True)
            self.monitor.start()
            self.call_from_thread(self.call_after_refresh, self._freeze_startup_objects, collecting)
            handed_over = True
        finally:
            if collecting and not handed_over:
                gc.enable()

    def _freeze_startup_objects(self, collecting: bool = True) -> None:
        """Move everything alive after start-up out of the collector's way (``gc.freeze``).

        The app allocates a large, long-lived object graph while starting (Textual, Rich,
        the first table); without this, every full collection walks it again, and those
        pauses were the slowest status updates (p95) in ``benchmarks/status_latency.py``.
        Runs after the first frame that shows the table (the collection takes ~0.1 s at
        10,000 rows).

        Args:
            collecting: Turn automatic collection on afterwards (it was on before start-up).
        """
        try:
            gc.collect()
            gc.freeze()
        finally:
            if collecting:
                gc.enable()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Nothing is fatal: a worker that raised becomes an error notification.

        Every worker runs with ``exit_on_error=False``, so the app keeps running; expected
        failures (:class:`SessiontuiError`) are reported by the workers themselves, this
        catches the unexpected ones (a bug, a library raising something undocumented).
        """
        worker: Worker[object] = event.worker
        if event.state is not WorkerState.ERROR or worker.error is None:
            return
        error = worker.error
        what = worker.name or "a background task"
        self.notify(
            printable(f"{what} failed: {type(error).__name__}: {error}"),
            title="Unexpected error",
            severity="error",
            markup=False,
        )

    def on_unmount(self) -> None:
        """Stop the monitor's threads."""
        self.monitor.unsubscribe(self._on_change)
        self.monitor.close()

    def on_resize(self, event: Resize) -> None:
        """Switch to the narrow layout under 60 columns."""
        narrow = event.size.width < NARROW_WIDTH
        self.set_class(narrow, "-narrow")
        self.query_one(MainTable).set_layout(narrow=narrow, width=event.size.width)
        self._show()

    # -- snapshots ----------------------------------------------------------------------

    def _on_change(self, change: SnapshotChange) -> None:
        """Monitor-thread callback: hand the snapshot to the UI thread (coalesced)."""
        self.post_message(SnapshotChanged(change.snapshot))

    def on_snapshot_changed(self, message: SnapshotChanged) -> None:
        """Render a new snapshot and note new waits for the notifier."""
        self.snapshot = message.snapshot
        self.focused_key = message.snapshot.focused_key
        self.notifier.observe(self.snapshot, time.monotonic(), self.focused_key)
        self._announce_waiting()
        self._show()
        try:
            selected = self.selected
        except NoMatches:  # a snapshot that arrives while the app shuts down
            return
        if (
            selected is not None
            and self._previewed_state is not None
            and self._previewed_state[0] == selected.key
            and self._previewed_state != (selected.key, selected.status, selected.waiting_for)
        ):
            self._refresh_preview()  # it started or stopped waiting: its question changed

    def _announce_waiting(self) -> None:
        """Ring, toast and queue desktop notices for sessions that have waited long enough.

        Sends the desktop notice whose batch window has closed, then re-arms the timer for the
        next wait to become due or the next batch to close.
        """
        channels = self.config.notify_channels
        if not channels:
            return
        due = self.notifier.due(self.snapshot, time.monotonic(), self.focused_key)
        for session in due:
            if "bell" in channels:
                self.bell()
            if "toast" in channels:
                why = f" ({printable(session.waiting_for)})" if session.waiting_for else ""
                self.notify(
                    f"{render.who(session)} is waiting{why}",
                    title="Waiting for you",
                    markup=False,
                )
        if "desktop" in channels:
            self.desktop.offer(due)
            waiting = {s.key for s in self.snapshot.waiting()}
            notice = self.desktop.flush(self.focused_key, waiting)
            if notice is not None:
                self._send_desktop(notice)
        if self._notify_timer is not None:
            self._notify_timer.stop()
            self._notify_timer = None
        deadlines = [self.notifier.next_deadline(), self.desktop.next_deadline()]
        deadline = min((d for d in deadlines if d is not None), default=None)
        if deadline is not None:
            delay = max(0.0, deadline - time.monotonic())
            self._notify_timer = self.set_timer(delay, self._announce_waiting)

    @work(thread=True, exit_on_error=False, group="desktop")
    def _resolve_transport(self) -> Transport:
        """Choose how desktop notifications are delivered (may ask tmux); warn if nowhere.

        Runs once, off the UI thread; :meth:`_send_desktop` calls it again when it had not
        finished yet (both give the same answer).
        """
        transport = self._transport
        if transport is None:
            transport = choose_transport(self.config.desktop_method)
            self._transport = transport
            if transport.warning:
                self._report(transport.warning)
        return transport

    @work(thread=True, exit_on_error=False, group="desktop")
    def _send_desktop(self, notice: DesktopNotice) -> None:
        """Deliver one desktop notice (OSC through the driver, or ``notify-send``)."""
        transport = self._transport or choose_transport(self.config.desktop_method)
        self._transport = transport
        try:
            transport.send(
                notice.title,
                notice.body,
                lambda text: self.call_from_thread(self._write_terminal, text),
            )
        except (OSError, subprocess.SubprocessError) as error:
            self._report(f"desktop notification failed: {error}", error=True)

    def _write_terminal(self, text: str) -> None:
        """Write raw text to our terminal, in order with Textual's output (as ``bell`` does)."""
        driver = self._driver
        if not self.is_headless and driver is not None:
            driver.write(text)

    def _visible(self) -> list[Session]:
        """The snapshot's sessions that pass the filter, in display order."""
        if self._filter.empty:
            return list(self.snapshot.sessions)
        return [s for s in self.snapshot.sessions if self._filter.matches(s)]

    def _project_of(self, session: Session) -> str:
        """The project directory of ``session`` (git repository root of its cwd; cached).

        A remote row's cwd is on its host, so it is not looked up here: ``host:cwd``.
        """
        if session.host is not None:
            return f"{session.host}:{session.cwd}" if session.cwd else NO_PROJECT
        return self._roots.root(session.cwd)

    def _group_of(self, session: Session) -> str:
        """The id of the group ``session`` is shown in (with grouping on)."""
        return group_of(session, self.group_mode, self._project_of)

    def _show(self, keep: str | None = None) -> None:
        """Render header, table and detail from the current snapshot.

        Args:
            keep: Row key to put the cursor on (default: where it is).
        """
        now = self.clock()
        try:
            table = self.query_one(MainTable)
        except NoMatches:  # a snapshot that arrives while the app shuts down
            return
        visible = self._visible()
        pinned = self.pins.pinned(visible)
        ordered = sort_sessions(visible, self.sort_mode, pinned=pinned, project_of=self._project_of)
        rows = group_rows(
            ordered, self.group_mode, collapsed=self.collapsed, project_of=self._project_of
        )
        arrangement = (self.sort_mode, self.group_mode, self.filter_text, self._arranged)
        shown = (
            ordered
            if self.group_mode is GroupMode.NONE or not self.collapsed
            else [r for r in rows if not is_header_key(r.key)]
        )
        numbers = self.numbers.update([s.key for s in shown], arrangement)
        with self.batch_update():
            table.show(rows, now, keep=keep, numbers=numbers, pinned=pinned)
            title = "sessiontui" if table.narrow else printable(self.header_title)
            table.mark_sorted(SORTED_COLUMNS[self.sort_mode])
            order = f"sort: {self.sort_mode.value}"
            if self.group_mode is not GroupMode.NONE:
                order += f", by {self.group_mode.value}"
            header = render.header_line(  # without room for the order, only the ↓ says it
                Text(f" {title} ", style="bold reverse"),
                render.summary(self.snapshot, compact=table.narrow, messages=False),
                self.filter_text,
                render.warnings(self.snapshot),
                order,
                self.size.width,
            )
            if header != self._header:  # only on change, and without a re-layout of the
                self._header = header  # screen: the line's size is fixed (height 1, full width)
                self.query_one("#summary", Static).update(header, layout=False)
            self.query_one(DetailPanel).show(table.session_at_cursor(), now)
        self._arm_age_tick(AGE_TICK_S)  # rows may have come whose ages change sooner
        self._refresh_bindings_if_changed()

    def _arm_age_tick(self, delay_s: float) -> None:
        """Run :meth:`_tick_ages` in ``delay_s`` seconds unless it is already due sooner."""
        at = time.monotonic() + delay_s
        if self._age_timer is not None:
            if self._age_tick_at <= at:
                return
            self._age_timer.stop()
        self._age_timer, self._age_tick_at = self.set_timer(delay_s, self._tick_ages), at

    def _tick_ages(self) -> None:
        """Timer: repaint the AGE cells whose text moved, then wait for the next change.

        One-shot, re-armed for the next label change (``45s`` every second, ``3h`` once
        an hour) within AGE_TICK_S..AGE_MAX_WAIT_S: an idle list of old sessions does not
        wake the app every second.
        """
        self._age_timer = None
        now = self.clock()
        try:
            table = self.query_one(MainTable)
        except NoMatches:  # the app is shutting down
            return
        table.tick_ages(now)
        self._arm_age_tick(min(AGE_MAX_WAIT_S, max(AGE_TICK_S, table.age_due - now)))

    def _action_context(self) -> actions.ActionContext:
        """What decides which actions apply now."""
        return actions.ActionContext(
            session=self.selected,
            snapshot=self.snapshot,
            can_go_back=self.monitor.previous_key is not None,
            on_header=self.query_one(MainTable).selected_header is not None,
            grouped=self.group_mode is not GroupMode.NONE,
        )

    def _refresh_bindings_if_changed(self) -> None:
        """Refresh the footer only when what decides it changed (it re-mounts its keys)."""
        state = actions.applicability(self._action_context())
        if state != self._bindings_state:
            self._bindings_state = state
            self.refresh_bindings()

    def _refresh_preview(self) -> None:
        """Capture the selected session's pane for the detail panel when it is due.

        Runs every PREVIEW_INTERVAL_S and on a new selection or a status change (captured at
        once); a quiet pane is captured less often (see :class:`PreviewPacer`). A waiting
        session's whole screen is read, for the question it asks.
        """
        try:  # a worker's late call while the app shuts down finds no widgets
            session = self.selected
            panel = self.query_one(DetailPanel)
        except NoMatches:
            return
        if session is None or session.mux is None or not session.alive:
            self._previewed_state = None
            panel.show_preview(None)
            panel.show_question(None)
            return
        self._previewed_state = (session.key, session.status, session.waiting_for)
        state = (*self._previewed_state, session.mux.address)
        busy = session.status is Status.BUSY
        if self._preview_pacer.due(state, time.monotonic(), busy=busy):
            self._preview_worker(session.key, session.status is Status.WAITING)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def _preview_worker(self, key: str, waiting: bool) -> None:
        """``capture-pane`` on the session's own server in a worker thread (plain text only)."""
        lines = QUESTION_CAPTURE_LINES if waiting else PREVIEW_LINES
        try:
            text: str | None = self.monitor.preview(key, lines=lines)
        except SessiontuiError:
            text = None
        question = question_text(text) if waiting and text else None
        if text is not None:
            text = "\n".join(text.splitlines()[-PREVIEW_LINES:])
        self.call_from_thread(self._show_preview, key, text, question)

    def _show_preview(self, key: str, text: str | None, question: str | None = None) -> None:
        """Show a captured preview (and question) if the same session is still selected."""
        self._preview_pacer.captured(text, time.monotonic())
        try:
            session = self.selected
            panel = self.query_one(DetailPanel)
        except NoMatches:  # the app is shutting down
            return
        if session is not None and session.key == key:
            panel.show_preview(text)
            panel.show_question(question if session.status is Status.WAITING else None)

    def on_data_table_row_highlighted(self) -> None:
        """Follow the cursor in the detail panel and the footer."""
        try:
            session = self.query_one(MainTable).session_at_cursor()
            self.query_one(DetailPanel).show(session, self.clock())
        except NoMatches:
            return
        self._refresh_bindings_if_changed()
        if session is not None and session.key != self._previewed_key:
            self._previewed_key = session.key
            self._refresh_preview()

    # -- selection and footer -----------------------------------------------------------

    @property
    def selected(self) -> Session | None:
        """The session under the cursor, at its newest state."""
        key = self.query_one(MainTable).selected_key
        return self.snapshot.get(key) if key else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim (``None``) footer keys that do not apply now (the action table decides)."""
        if action not in actions.BY_ACTION:
            return True
        return True if actions.applies(action, self._action_context()) else None

    # -- actions ------------------------------------------------------------------------

    def _report(self, message: str, *, error: bool = False) -> None:
        """Show a notification (callable from worker threads)."""
        severity = "error" if error else "information"
        self.call_from_thread(self.notify, printable(message), severity=severity, markup=False)

    def action_attach(self) -> None:
        """``enter``: jump to the session's pane; on a group header, fold or unfold it."""
        if self.query_one(MainTable).selected_header is not None:
            self.action_fold()
        elif (session := self.selected) is not None:
            self._attach_worker(session.key)

    @work(thread=True, exclusive=True, group="attach", exit_on_error=False)
    def _attach_worker(self, key: str) -> None:
        """Switch our tmux client, or suspend and run ``tmux attach`` in the terminal."""
        self._attach_worker_body(key)

    def _attach_worker_body(self, key: str) -> None:
        """Attach ``key`` (worker thread)."""
        try:
            # In a popup a job's viewer runs in the popup itself (tmux allows one popup).
            attach = self.monitor.attach_here if self.exit_after_attach else self.monitor.attach
            plan = attach(key)
        except SessiontuiError as error:
            self._report(str(error), error=True)
            return
        if not plan.switched:
            self.call_from_thread(self._attach_in_terminal, plan)
        elif self.exit_after_attach:
            self.call_from_thread(self.exit)
            return
        else:
            self.monitor.request_rescan(poll_tmux=True)
        self.call_from_thread(self._refresh_bindings_if_changed)

    def _attach_in_terminal(self, plan: AttachPlan) -> None:
        """Suspend the TUI, run the attach command, resume when the user detaches."""
        try:
            with self.suspend():
                subprocess.call(list(plan.argv), env=dict(plan.env))
        except SuspendNotSupported:
            self.notify("cannot suspend this terminal to attach", severity="error")
        self.monitor.request_rescan(poll_tmux=True)

    def action_jump_waiting(self) -> None:
        """``w``: attach the next session waiting for input (cycling)."""
        self._jump_waiting_worker()

    @work(thread=True, exclusive=True, group="attach", exit_on_error=False)
    def _jump_waiting_worker(self) -> None:
        """Find the next waiting session and attach it."""
        session = self.monitor.next_waiting()
        if session is None:
            self._report("no session is waiting for input")
            return
        self.call_from_thread(self._select_key, session.key)
        self._attach_worker_body(session.key)

    def action_jump(self, row: int) -> None:
        """Keys ``1`` to ``9``: attach the session showing that number in its row."""
        key = self.numbers.key_of(row)
        if key is None or key not in self.query_one(MainTable).row_keys:
            self.notify(f"no session shows the number {row}", markup=False)
            return
        self._select_key(key)
        self._attach_worker(key)

    # -- order and grouping -------------------------------------------------------------

    def action_cycle_sort(self) -> None:
        """``o``: next sort order (urgency, project, last activity)."""
        self.sort_mode = self.sort_mode.next()
        self._show()

    def action_cycle_group(self) -> None:
        """``g``: next grouping (none, project, multiplexer session); the cursor keeps its row.

        On a header when grouping ends, the cursor goes to that group's first session.
        """
        table = self.query_one(MainTable)
        header = table.selected_header
        keep = None
        if header is not None:
            keep = next((s.key for s in self._visible() if self._group_of(s) == header.group), None)
        self.group_mode = self.group_mode.next()
        if self.group_mode is GroupMode.HOST and all(s.host is None for s in self._visible()):
            self.group_mode = self.group_mode.next()  # one machine: nothing to group by host
        self.collapsed.clear()
        self._show(keep=keep)

    def action_toggle_pin(self) -> None:
        """``p``: pin or unpin the selected session (pinned ones come first)."""
        session = self.selected
        if session is None:
            return
        try:
            self.pins.toggle(session)
        except PinStoreError as error:
            self.notify(printable(str(error)), severity="error", markup=False)
        self._arranged += 1
        self._show()

    def action_fold(self) -> None:
        """``space`` (or ``enter``) on a group header: fold or unfold its group."""
        header = self.query_one(MainTable).selected_header
        if header is None:
            return
        if header.group in self.collapsed:
            self.collapsed.discard(header.group)
        else:
            self.collapsed.add(header.group)
        self._arranged += 1
        self._show(keep=header.key)

    def action_collapse(self) -> None:
        """``left``: fold the group under the cursor (from a session: its group's header)."""
        if self.group_mode is GroupMode.NONE:
            return
        header = self.query_one(MainTable).selected_header
        session = self.selected
        group = header.group if header is not None else None
        if group is None and session is not None:
            group = self._group_of(session)
        if group is None or group in self.collapsed:
            return
        self.collapsed.add(group)
        self._arranged += 1
        self._show(keep=header_key(group))

    def action_expand(self) -> None:
        """``right`` on a folded group header: unfold it."""
        header = self.query_one(MainTable).selected_header
        if header is None or header.group not in self.collapsed:
            return
        self.collapsed.discard(header.group)
        self._arranged += 1
        self._show(keep=header.key)

    def action_jump_back(self) -> None:
        """``tab``: attach the session attached before the last one."""
        session = self.monitor.jumps.back(self.snapshot.sessions)
        if session is None:
            self.notify("no previous session to go back to")
            return
        self._select_key(session.key)
        self._attach_worker(session.key)

    def _select_key(self, key: str) -> None:
        """Move the cursor onto ``key``'s row; a folded group holding it is unfolded first."""
        table = self.query_one(MainTable)
        session = self.snapshot.get(key)
        if key not in table.row_keys and session is not None and self.collapsed:
            group = self._group_of(session)
            if self.group_mode is not GroupMode.NONE and group in self.collapsed:
                self.collapsed.discard(group)
                self._arranged += 1
                self._show(keep=key)
        if key in table.row_keys:
            table.move_cursor(row=table.row_keys.index(key))

    def action_new_session(self) -> None:
        """``n``: ask for name, directory and command (and multiplexer), then start it.

        The multiplexer is asked for when more than one kind is in view (tmux, Zellij);
        the one we run inside is offered first.
        """

        def done(request: NewSessionRequest | None) -> None:
            if request is not None:
                self._new_session_worker(request)

        kinds = self.monitor.new_session_muxes() or ("tmux",)
        self.push_screen(NewSessionScreen(cwd=str(Path.cwd()), muxes=kinds), done)

    @work(thread=True, exit_on_error=False)
    def _new_session_worker(self, request: NewSessionRequest) -> None:
        """Create the session in a worker thread and report."""
        try:
            self.monitor.new_session(
                request.name, request.command, cwd=request.cwd, mux=request.mux
            )
        except SessiontuiError as error:
            self._report(str(error), error=True)
            return
        self._report(f"started {request.name} ({request.mux} session, detached)")

    def action_leave(self) -> None:
        """``q``/``ctrl+c``: quit; the ``--bg`` monitor keeps running and sends our client back."""
        if not self.background:
            self.exit()
            return
        self._detach_self_worker()

    @work(thread=True, exit_on_error=False)
    def _detach_self_worker(self) -> None:
        """Send our tmux client back to the session it came from (detach if there is none)."""
        try:
            self.monitor.leave()
        except SessiontuiError as error:
            self._report(str(error), error=True)

    def action_really_quit(self) -> None:
        """``ctrl+q``: quit; the ``--bg`` monitor asks first (its history is lost)."""
        if not self.background:
            self.exit()
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.exit()

        question = "Quit the background monitor? Its history and sparklines are lost."
        self.push_screen(ConfirmScreen(question, yes_label="Quit"), done)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Command palette entries for every session action."""
        yield from super().get_system_commands(screen)
        for entry in actions.palette():
            assert entry.title is not None
            run = partial(self.run_action, entry.action)
            yield SystemCommand(entry.title, entry.description, run)
        jump = actions.BY_ACTION["jump"]
        for number in range(1, 10):  # keys 1-9: the sessions showing a number now
            key = self.numbers.key_of(number)
            session = self.snapshot.get(key) if key is not None else None
            if session is not None:
                # The palette reads titles as markup: the untrusted name is escaped.
                title = f"Attach to session {number}: {escape_markup(printable(session.name))}"
                yield SystemCommand(title, jump.description, partial(self.action_jump, number))

    def action_detach(self) -> None:
        """``d``: detach every client from the selected session; it keeps running.

        When that would also detach the client sessiontui is shown in (the agent runs in
        the tmux session on the user's screen), the user is asked first.
        """
        if (session := self.selected) is not None:
            self._detach_check_worker(session.key, session.name)

    @work(thread=True, exit_on_error=False)
    def _detach_check_worker(self, key: str, name: str) -> None:
        """Ask first if our own client would go, else detach at once (worker thread)."""
        try:
            ours = self.monitor.detach_takes_own_client(key)
        except SessiontuiError:
            ours = False
        if ours:
            self.call_from_thread(self._confirm_detach, key, name)
        else:
            self._detach_body(key, name)

    def _confirm_detach(self, key: str, name: str) -> None:
        """The confirmation for a detach that takes the user's own terminal away too."""

        def done(yes: bool | None) -> None:
            if yes:
                self._detach_worker(key, name)

        question = (
            f"{printable(name)} runs in the tmux session this sessiontui is shown in: "
            "detaching it detaches your own terminal too. Detach?"
        )
        self.push_screen(ConfirmScreen(question, yes_label="Detach"), done)

    @work(thread=True, exit_on_error=False)
    def _detach_worker(self, key: str, name: str) -> None:
        """Detach in a worker thread and report."""
        self._detach_body(key, name)

    def _detach_body(self, key: str, name: str) -> None:
        """Detach ``key`` and report (worker thread)."""
        try:
            count = self.monitor.detach(key)
        except SessiontuiError as error:
            self._report(str(error), error=True)
            return
        self._report(
            f"detached {count} client(s) from {name}"
            if count
            else f"{name}: no client was attached"
        )

    def action_rename(self) -> None:
        """``r``: ask for a new name, then rename."""
        session = self.selected
        if session is None:
            return
        key = session.key

        def done(name: str | None) -> None:
            if name is not None:
                self._rename_worker(key, name)

        self.push_screen(RenameScreen(session.name), done)

    @work(thread=True, exit_on_error=False)
    def _rename_worker(self, key: str, name: str) -> None:
        """Rename in a worker thread and report failures."""
        try:
            self.monitor.rename(key, name)
        except SessiontuiError as error:
            self._report(str(error), error=True)

    def action_end(self) -> None:
        """``x``: a background session is detached (kept running); others: confirm a kill."""
        session = self.selected
        if session is None:
            return
        if session.is_background:
            self._detach_check_worker(session.key, session.name)
        else:
            self.action_kill()

    def action_kill(self) -> None:
        """``K``: confirm, then SIGTERM the session's processes, SIGKILL after the grace period.

        For a background session whose multiplexer keeps ended sessions (Zellij), the
        dialog also offers, unticked, to delete what is kept (it cannot be resurrected).
        """
        session = self.selected
        if session is None or not session.alive:
            return
        key, label = session.key, f"{printable(session.name)} (pid {session.pid})"
        option = None
        question = f"Kill {label} and its child processes?"
        if self.monitor.leaves_resurrection_data(session):
            assert session.mux is not None
            option = "Delete its resurrection data too"
            question += (
                f" It is a background session: its {session.mux.type} session ends too, and"
                " is kept to be resurrected unless its data is deleted."
            )
        elif session.is_background:
            question += " It is a background session."
        screen = ConfirmScreen(question, yes_label="Kill", option=option)

        def done(yes: bool | None) -> None:
            if yes:
                self._kill_worker(key, label, delete_data=screen.option_chosen)

        self.push_screen(screen, done)

    @work(thread=True, exit_on_error=False)
    def _kill_worker(self, key: str, label: str, *, delete_data: bool = False) -> None:
        """Kill in a worker thread and report."""
        try:
            report = self.monitor.kill(key, delete_data=delete_data)
        except SessiontuiError as error:
            self._report(str(error), error=True)
            return
        deleted = " (its resurrection data deleted)" if delete_data else ""
        if report.already_gone:
            self._report(f"{label} had already ended{deleted}")
        elif report.killed:
            self._report(f"{label}: {len(report.killed)} process(es) needed SIGKILL{deleted}")
        else:
            self._report(f"{label} ended{deleted}")

    def action_dismiss(self) -> None:
        """``D``: forget a dead session (its registry file is removed once verified dead).

        An exited multiplexer session (Zellij, kept for resurrection) is deleted, after
        asking: it cannot be resurrected afterwards.
        """
        session = self.selected
        if session is None:
            return
        key = session.key
        if session.mux is None or not session.mux.exited:
            self._dismiss_worker(key)
            return

        def done(yes: bool | None) -> None:
            if yes:
                self._dismiss_worker(key)

        question = (
            f"Delete the exited {session.mux.type} session {printable(session.mux.session)}? "
            "Its resurrection data is removed; it cannot be resurrected afterwards."
        )
        self.push_screen(ConfirmScreen(question, yes_label="Delete"), done)

    @work(thread=True, exit_on_error=False)
    def _dismiss_worker(self, key: str) -> None:
        """Dismiss in a worker thread."""
        try:
            self.monitor.dismiss(key)
        except SessiontuiError as error:
            self._report(str(error), error=True)

    def action_send(self) -> None:
        """``s``: open the one-line reply input under the preview (enter sends, escape cancels).

        The reply goes to the session selected now, even if the cursor moves meanwhile.
        """
        session = self.selected
        if session is None:
            return
        self.reply_key = session.key
        box = self.query_one("#reply", Input)
        name = printable(session.name)
        box.placeholder = f"reply to {name} (enter sends, escape cancels)"
        box.border_title = Text(f"reply to {name}")  # Text: the name is never markup
        box.value = ""
        box.add_class("-shown")
        box.focus()

    def _close_reply(self) -> None:
        """Hide the reply input and give the keys back to the table."""
        box = self.query_one("#reply", Input)
        box.value = ""
        box.remove_class("-shown")
        self.reply_key = None
        self.query_one(MainTable).focus()

    @work(thread=True, exit_on_error=False)
    def _send_worker(self, key: str, name: str, text: str) -> None:
        """Type the reply into the session's pane in a worker thread and report."""
        try:
            self.monitor.send(key, text)
        except SessiontuiError as error:
            self._report(str(error), error=True)
            return
        self._report(f"sent to {name}: {text}")
        self.call_from_thread(self._refresh_preview)

    def action_approve(self) -> None:
        """``a``: choose the "Yes" option of the permission prompt the pane shows."""
        self._answer(approve=True)

    def action_deny(self) -> None:
        """``A``: choose the "No" option of the permission prompt the pane shows."""
        self._answer(approve=False)

    def _answer(self, *, approve: bool) -> None:
        """Approve or deny the selected session's prompt, once at a time per session."""
        session = self.selected
        if session is None or session.key in self._answering:
            return
        self._answering.add(session.key)
        self._answer_worker(session.key, session.name, approve)

    @work(thread=True, exit_on_error=False)
    def _answer_worker(self, key: str, name: str, approve: bool) -> None:
        """Answer in a worker thread (it checks a fresh capture first) and echo the decision."""
        try:
            verb = self.monitor.approve if approve else self.monitor.deny
            answer = verb(key)
        except SessiontuiError as error:
            message, failed = str(error), True
        else:
            message, failed = f"{answer.decision} {name}: {answer.option}", False
        finally:
            # The keys answer again before the echo shows: a key pressed on seeing it acts.
            self.call_from_thread(self._answered, key)
        self._report(message, error=failed)
        self.call_from_thread(self._refresh_preview)

    def _answered(self, key: str) -> None:
        """An approve or deny of ``key`` has finished: the keys may answer it again."""
        self._answering.discard(key)

    def action_interrupt(self) -> None:
        """``i``: interrupt the running turn with the agent's own key (Escape)."""
        if (session := self.selected) is not None:
            self._interrupt_worker(session.key, session.name)

    @work(thread=True, exit_on_error=False)
    def _interrupt_worker(self, key: str, name: str) -> None:
        """Interrupt in a worker thread and report."""
        try:
            stopped = self.monitor.interrupt(key)
        except SessiontuiError as error:
            self._report(str(error), error=True)
            return
        if stopped:
            self._report(f"interrupted {name}")
        else:
            self._report(f"sent Escape to {name}, but it still shows a running turn (K kills)")
        self.call_from_thread(self._refresh_preview)

    def action_help(self) -> None:
        """``?``: the help screen, listing the keys as currently bound.

        Notifications on screen and those that arrive while it is shown are held and shown
        again when it closes (they would cover its text).
        """

        def display(key: str) -> str:
            return self.get_key_display(Binding(key, ""))

        shown = list(getattr(self, "_notifications", ()))  # Textual's live notifications
        self.clear_notifications()
        self._holding_notices = True
        self._held_notices += [(n.message, n.title, n.severity, n.timeout, n.markup) for n in shown]
        help_screen = HelpScreen(action_rows(display, self.config.keymap), self.snapshot.messages)
        self.push_screen(help_screen, self._release)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a notification (Textual's ``App.notify``); held while the help screen is up."""
        if self._holding_notices:
            self._held_notices.append((message, title, severity, timeout, markup))
            return
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _release(self, _result: object = None) -> None:
        """Show the notifications held while the help screen was up, in order."""
        self._holding_notices = False
        self.call_after_refresh(self._show_held)  # once the main screen is back on top

    def _show_held(self) -> None:
        """Show the held notifications (see :meth:`_release`)."""
        held, self._held_notices = self._held_notices, []
        for message, title, severity, timeout, markup in held:
            self.notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def action_filter(self) -> None:
        """``/``: show and focus the filter input."""
        box = self.query_one("#filter", Input)
        box.add_class("-shown")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Filter as the user types."""
        if event.input.id == "filter":
            self.filter_text = event.value.strip()
            self._filter = SessionFilter.parse(self.filter_text)
            self._show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter keeps the filter, or sends the reply; both return to the table."""
        if event.input.id == "reply":
            key, text = self.reply_key, event.value
            self._close_reply()
            session = self.snapshot.get(key) if key else None
            if key is not None and text.strip():
                self._send_worker(key, session.name if session else "the session", text)
            return
        if event.input.id == "filter":
            if not event.value.strip():
                event.input.remove_class("-shown")
            self.query_one(MainTable).focus()

    def on_key(self, event: object) -> None:
        """Escape in the filter clears it, in the reply input cancels it; a dimmed key says why.

        Runs before the key's binding: a table key whose action does not apply now (dimmed
        in the footer) does nothing, so its reason is shown instead.
        """
        from textual.events import Key

        if not isinstance(event, Key):
            return
        if event.key == "escape":
            reply = self.query_one("#reply", Input)
            if reply.has_focus:
                self._close_reply()
                event.stop()
                return
            box = self.query_one("#filter", Input)
            if box.has_focus:
                box.value = ""
                box.remove_class("-shown")
                self.query_one(MainTable).focus()
                event.stop()
            return
        if not self.query_one(MainTable).has_focus:
            return
        active = self.screen.active_bindings.get(event.key)
        if active is None or active.enabled:
            return
        action = active.binding.action.removeprefix("app.")
        context = self._action_context()
        reason = actions.why_not(action, context)
        if context.on_header and action not in ("fold", "collapse", "expand"):
            reason = "a group header: enter or space folds it; move to a session for that key"
        if reason:
            self.notify(printable(reason), severity="warning", markup=False)


def make_app(
    monitor: SessionService,
    *,
    clock: Callable[[], float] = time.time,
    watch: bool = True,
    title: str = "sessiontui",
    config: Config | None = None,
    background: bool = False,
    exit_after_attach: bool = False,
    pins: PinStore | None = None,
) -> SessionTUI:
    """Build the app; the one factory shared by the CLI, the tests and the benchmarks."""
    return SessionTUI(
        monitor,
        clock=clock,
        watch=watch,
        title=title,
        config=config,
        background=background,
        exit_after_attach=exit_after_attach,
        pins=pins,
    )
