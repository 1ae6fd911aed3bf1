"""The Textual application: renders monitor snapshots and sends the user's actions back."""

from __future__ import annotations

import contextlib
import gc
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
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from sessiontui.config import Config
from sessiontui.errors import SessiontuiError
from sessiontui.model.filters import SessionFilter
from sessiontui.model.notify import WaitingNotifier
from sessiontui.model.text import printable
from sessiontui.model.types import Session, Snapshot, SnapshotChange, Status
from sessiontui.ui import render
from sessiontui.ui.messages import SnapshotChanged
from sessiontui.ui.screens.confirm import ConfirmScreen
from sessiontui.ui.screens.help import HelpScreen
from sessiontui.ui.screens.new_session import NewSessionRequest, NewSessionScreen
from sessiontui.ui.screens.rename import RenameScreen
from sessiontui.ui.widgets.detail import DetailPanel
from sessiontui.ui.widgets.session_table import SessionTable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from textual.app import ComposeResult
    from textual.events import Resize
    from textual.screen import Screen
    from textual.timer import Timer

    from sessiontui.model.monitor import AttachPlan, Monitor

#: Below this many columns the table shows glyph, name and sparkline only.
NARROW_WIDTH = 60
#: Seconds between ``capture-pane`` previews of the selected session (also taken at once
#: when the selection changes).
PREVIEW_INTERVAL_S = 5.0
#: Lines of the pane shown in the preview.
PREVIEW_LINES = 8


class MainTable(SessionTable):
    """The session table with the session keys; its bindings call the app's actions."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "app.attach", "Attach", id="attach"),
        Binding("d", "app.detach", "Detach", id="detach"),
        Binding("r", "app.rename", "Rename", id="rename"),
        Binding("x", "app.end", "End", id="end"),
        Binding("K", "app.kill", "Kill", id="kill"),
        Binding("D", "app.dismiss", "Dismiss", id="dismiss", show=False),
        Binding("w", "app.jump_waiting", "Waiting", id="jump_waiting"),
        Binding("tab", "app.jump_back", "Back", id="jump_back", show=False),
        Binding("n", "app.new_session", "New", id="new"),
        *(Binding(str(n), f"app.jump({n})", f"Jump to row {n}", show=False) for n in range(1, 10)),
    ]


class SessionTUI(App[None]):
    """sessiontui's app. Build it with :func:`make_app`.

    Args:
        monitor: The model façade (started on mount unless ``watch`` is false).
        clock: Wall clock for ages, seconds since the epoch (tests freeze it).
        watch: Start the monitor's watcher threads (false for fixed-data snapshot tests).
        title: Text at the left of the header line.
    """

    CSS_PATH = "sessiontui.tcss"
    TITLE = "sessiontui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "leave", "Quit", id="quit"),
        Binding("ctrl+c", "leave", "Quit", show=False, priority=True),
        Binding("ctrl+q", "really_quit", "Quit", show=False, id="quit_bg", priority=True),
    ]

    def __init__(
        self,
        monitor: Monitor,
        *,
        clock: Callable[[], float] = time.time,
        watch: bool = True,
        title: str = "sessiontui",
        config: Config | None = None,
        background: bool = False,
    ) -> None:
        super().__init__()
        self.config = config or Config()
        self.background = background
        """Running as the ``--bg`` monitor: ``q``/``ctrl+c`` detach instead of quitting."""
        self.notifier = WaitingNotifier(self.config.waiting_notify_delay_s)
        self._notify_timer: Timer | None = None
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
        self._header: Text | None = None
        self.focused_key: str | None = None
        """The session whose pane our tmux client shows now (never announced)."""

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Header line, table, filter input, detail panel, footer."""
        yield Static(id="summary")
        yield MainTable(id="sessions")
        yield Input(
            placeholder="filter: text, s:waiting a:claude k:bg w:tmux (escape clears)", id="filter"
        )
        yield DetailPanel(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        """Lay out for the terminal width, show the first snapshot, start the monitor."""
        if self.config.keymap:
            self.set_keymap(dict(self.config.keymap))
        if self.config.theme:
            with contextlib.suppress(Exception):
                self.theme = self.config.theme
        self.set_interval(PREVIEW_INTERVAL_S, self._refresh_preview)
        table = self.query_one(MainTable)
        table.wanted_columns = self.config.columns
        table.set_layout(narrow=self.size.width < NARROW_WIDTH, width=self.size.width)
        for warning in self.config.warnings():
            self.notify(warning, title="Configuration", severity="warning", markup=False)
        self.set_class(self.size.width < NARROW_WIDTH, "-narrow")
        table.focus()
        self.monitor.subscribe(self._on_change)
        self._show()
        self.set_interval(30.0, self._show)
        if self.start_monitor:
            self._start_monitor()

    @work(thread=True, exit_on_error=False)
    def _start_monitor(self) -> None:
        """First full read and the watcher threads, off the UI thread.

        A failed first read (it should not happen; hostile files are handled in the model)
        is reported, and the watcher starts anyway so later changes still arrive.
        """
        try:
            self.monitor.refresh()
        except Exception as error:
            self._report(f"first read failed: {error}", error=True)
        self.monitor.start()
        self.call_from_thread(self._freeze_startup_objects)

    def _freeze_startup_objects(self) -> None:
        """Move everything alive after start-up out of the collector's way (``gc.freeze``).

        The app allocates a large, long-lived object graph while starting (Textual, Rich,
        the first table); without this, every full collection walks it again, and those
        pauses were the slowest status updates (p95) in ``benchmarks/status_latency.py``.
        """
        gc.collect()
        gc.freeze()

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
        focused = message.snapshot.focused_pane
        self.focused_key = next(
            (s.key for s in message.snapshot.sessions if s.mux and s.mux.pane == focused), None
        )
        self.notifier.observe(self.snapshot, time.monotonic(), self.focused_key)
        self._announce_waiting()
        self._show()

    def _announce_waiting(self) -> None:
        """Ring and notify for sessions that have waited long enough; re-arm the timer."""
        if not self.config.notify_waiting:
            return
        for session in self.notifier.due(self.snapshot, time.monotonic(), self.focused_key):
            if self.config.bell_on_waiting:
                self.bell()
            why = f" ({printable(session.waiting_for)})" if session.waiting_for else ""
            self.notify(
                f"{printable(session.name)} is waiting{why}", title="Waiting for you", markup=False
            )
        if self._notify_timer is not None:
            self._notify_timer.stop()
            self._notify_timer = None
        deadline = self.notifier.next_deadline()
        if deadline is not None:
            delay = max(0.0, deadline - time.monotonic())
            self._notify_timer = self.set_timer(delay, self._announce_waiting)

    def _visible(self) -> list[Session]:
        """The snapshot's sessions that pass the filter, in display order."""
        if self._filter.empty:
            return list(self.snapshot.sessions)
        return [s for s in self.snapshot.sessions if self._filter.matches(s)]

    def _show(self) -> None:
        """Render header, table and detail from the current snapshot."""
        now = self.clock()
        try:
            table = self.query_one(MainTable)
        except NoMatches:  # a snapshot that arrives while the app shuts down
            return
        with self.batch_update():
            table.show(self._visible(), now)
            title = "sessiontui" if table.narrow else printable(self.header_title)
            header = Text(f" {title} ", style="bold reverse")
            header.append_text(render.summary(self.snapshot, compact=table.narrow))
            if self.filter_text:
                header.append(f"  filter: {printable(self.filter_text)}", style="italic")
            if header != self._header:  # only on change, and without a re-layout of the
                self._header = header  # screen: the line's size is fixed (height 1, full width)
                self.query_one("#summary", Static).update(header, layout=False)
            self.query_one(DetailPanel).show(table.session_at_cursor(), now)
        self._refresh_bindings_if_changed()

    def _refresh_bindings_if_changed(self) -> None:
        """Refresh the footer only when what decides it changed (it re-mounts its keys)."""
        session = self.selected
        state = (
            session.key if session else None,
            session.alive if session else None,
            session.status is Status.DEAD if session else None,
            bool(session and (session.mux or session.job_id)),
            bool(session and session.registry_path),
            bool(self.snapshot.counts().get(Status.WAITING)),
            self.monitor.previous_key is not None,
        )
        if state != self._bindings_state:
            self._bindings_state = state
            self.refresh_bindings()

    def _refresh_preview(self) -> None:
        """Every PREVIEW_INTERVAL_S: capture the selected session's pane for the detail panel."""
        session = self.selected
        if session is not None and session.mux is not None and session.alive:
            self._preview_worker(session.key, session.mux.pane)
        else:
            self.query_one(DetailPanel).show_preview(None)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def _preview_worker(self, key: str, pane: str) -> None:
        """``capture-pane`` in a worker thread (plain text only)."""
        tmux = self.monitor.tmux
        if tmux is None:
            return
        try:
            text = tmux.capture_pane(pane, lines=PREVIEW_LINES)
        except SessiontuiError:
            text = None
        self.call_from_thread(self._show_preview, key, text)

    def _show_preview(self, key: str, text: str | None) -> None:
        """Show a captured preview if the same session is still selected."""
        session = self.selected
        if session is not None and session.key == key:
            self.query_one(DetailPanel).show_preview(text)

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
        """Dim (``None``) footer keys that do not apply to the selected session."""
        session_actions = {"attach", "detach", "rename", "end", "kill", "dismiss"}
        if action == "jump_back":
            return True if self.monitor.previous_key else None
        if action == "jump_waiting":
            return True if self.snapshot.counts().get(Status.WAITING) else None
        if action not in session_actions:
            return True
        session = self.selected
        if session is None:
            return None
        reachable = session.alive and (session.mux is not None or session.job_id is not None)
        applies = {
            "attach": reachable,
            "detach": reachable,
            "rename": session.alive
            and (session.registry_path is not None or session.mux is not None),
            "end": session.alive,
            "kill": session.alive,
            "dismiss": session.status is Status.DEAD,
        }[action]
        return True if applies else None

    # -- actions ------------------------------------------------------------------------

    def _report(self, message: str, *, error: bool = False) -> None:
        """Show a notification (callable from worker threads)."""
        severity = "error" if error else "information"
        self.call_from_thread(self.notify, printable(message), severity=severity, markup=False)

    def action_attach(self) -> None:
        """``enter``: jump to the session's pane."""
        if (session := self.selected) is not None:
            self._attach_worker(session.key)

    @work(thread=True, exclusive=True, group="attach", exit_on_error=False)
    def _attach_worker(self, key: str) -> None:
        """Switch our tmux client, or suspend and run ``tmux attach`` in the terminal."""
        self._attach_worker_body(key)

    def _attach_worker_body(self, key: str) -> None:
        """Attach ``key`` (worker thread)."""
        try:
            plan = self.monitor.attach(key)
        except SessiontuiError as error:
            self._report(str(error), error=True)
            return
        if not plan.switched:
            self.call_from_thread(self._attach_in_terminal, plan)
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
        """Keys ``1`` to ``9``: attach the n-th row."""
        table = self.query_one(MainTable)
        keys = table.row_keys
        if 1 <= row <= len(keys):
            table.move_cursor(row=row - 1)
            self._attach_worker(keys[row - 1])

    def action_jump_back(self) -> None:
        """``tab``: attach the session attached before the last one."""
        key = self.monitor.previous_key
        if key is None or self.snapshot.get(key) is None:
            self.notify("no previous session to go back to")
            return
        self._select_key(key)
        self._attach_worker(key)

    def _select_key(self, key: str) -> None:
        """Move the cursor onto ``key``'s row if it is shown."""
        table = self.query_one(MainTable)
        if key in table.row_keys:
            table.move_cursor(row=table.row_keys.index(key))

    def action_new_session(self) -> None:
        """``n``: ask for name, directory and command, then start a tmux background session."""

        def done(request: NewSessionRequest | None) -> None:
            if request is not None:
                self._new_session_worker(request)

        self.push_screen(NewSessionScreen(cwd=str(Path.cwd())), done)

    @work(thread=True, exit_on_error=False)
    def _new_session_worker(self, request: NewSessionRequest) -> None:
        """Create the session in a worker thread and report."""
        try:
            self.monitor.new_session(request.name, request.command, cwd=request.cwd)
        except SessiontuiError as error:
            self._report(str(error), error=True)
            return
        self._report(f"started {request.name} (tmux session, detached)")

    def action_leave(self) -> None:
        """``q``/``ctrl+c``: quit, or as the ``--bg`` monitor detach our client (keep running)."""
        if not self.background:
            self.exit()
            return
        self._detach_self_worker()

    @work(thread=True, exit_on_error=False)
    def _detach_self_worker(self) -> None:
        """Detach our own tmux client from the monitor's session."""
        try:
            tmux = self.monitor.tmux
            client = self.monitor.own_client()
            if tmux is None or client is None:
                self._report("not inside tmux; ctrl+q quits", error=True)
                return
            tmux.detach_client(client)
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
        for title, help_text, action in _PALETTE:
            yield SystemCommand(title, help_text, partial(self.run_action, action))

    def action_detach(self) -> None:
        """``d``: detach every client from the selected session; it keeps running."""
        if (session := self.selected) is not None:
            self._detach_worker(session.key, session.name)

    @work(thread=True, exit_on_error=False)
    def _detach_worker(self, key: str, name: str) -> None:
        """Detach in a worker thread and report."""
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
            self._detach_worker(session.key, session.name)
        else:
            self.action_kill()

    def action_kill(self) -> None:
        """``K``: confirm, then SIGTERM the session's processes, SIGKILL after the grace period."""
        session = self.selected
        if session is None or not session.alive:
            return
        key, label = session.key, f"{printable(session.name)} (pid {session.pid})"

        def done(yes: bool | None) -> None:
            if yes:
                self._kill_worker(key, label)

        question = f"Kill {label} and its child processes?"
        if session.is_background:
            question += " It is a background session."
        self.push_screen(ConfirmScreen(question, yes_label="Kill"), done)

    @work(thread=True, exit_on_error=False)
    def _kill_worker(self, key: str, label: str) -> None:
        """Kill in a worker thread and report."""
        try:
            report = self.monitor.kill(key)
        except SessiontuiError as error:
            self._report(str(error), error=True)
            return
        if report.already_gone:
            self._report(f"{label} had already ended")
        elif report.killed:
            self._report(f"{label}: {len(report.killed)} process(es) needed SIGKILL")
        else:
            self._report(f"{label} ended")

    def action_dismiss(self) -> None:
        """``D``: forget a dead session (its registry file is removed once verified dead)."""
        if (session := self.selected) is not None:
            self._dismiss_worker(session.key)

    @work(thread=True, exit_on_error=False)
    def _dismiss_worker(self, key: str) -> None:
        """Dismiss in a worker thread."""
        try:
            self.monitor.dismiss(key)
        except SessiontuiError as error:
            self._report(str(error), error=True)

    def action_help(self) -> None:
        """``?``: the help screen, listing the keys as currently bound."""
        keys = [("↑ ↓ pgup pgdn", "Move the selection"), ("1 … 9", "Attach the n-th row")]
        bindings = [
            b
            for b in (*MainTable.BINDINGS, *self.BINDINGS)
            if isinstance(b, Binding) and b.action in _HELP
        ]
        by_action: dict[str, list[str]] = {}
        for binding in bindings:
            by_action.setdefault(binding.action, []).append(self.get_key_display(binding))
        keys += [(", ".join(shown), _HELP[action]) for action, shown in by_action.items()]
        keys.append(("ctrl+p", "Command palette"))
        self.push_screen(HelpScreen(keys))

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
        """Enter keeps the filter and returns to the table."""
        if event.input.id == "filter":
            if not event.value.strip():
                event.input.remove_class("-shown")
            self.query_one(MainTable).focus()

    def on_key(self, event: object) -> None:
        """Escape in the filter clears it and returns to the table."""
        from textual.events import Key

        if isinstance(event, Key) and event.key == "escape":
            box = self.query_one("#filter", Input)
            if box.has_focus:
                box.value = ""
                box.remove_class("-shown")
                self.query_one(MainTable).focus()
                event.stop()


_HELP = {
    "app.attach": "Attach: jump to the session's tmux pane",
    "app.detach": "Detach every client from the session's tmux session (it keeps running)",
    "app.rename": "Rename the session (and its own tmux session)",
    "app.end": "End: detach a background session; confirm a kill for others",
    "app.kill": "Kill, confirmed: SIGTERM, grace period, then SIGKILL",
    "app.dismiss": "Dismiss a dead session (removes its registry file once verified dead)",
    "app.jump_waiting": "Attach the next session waiting for input (cycles)",
    "app.jump_back": "Back to the session attached before",
    "app.new_session": "New background session in tmux (name, directory, command)",
    "leave": "Quit (the --bg monitor detaches instead and keeps running)",
    "really_quit": "Quit, also the --bg monitor (asks first)",
    "filter": "Filter: text in name or cwd; s:waiting a:claude k:bg w:tmux:work (escape clears)",
    "help": "This help",
}

_PALETTE: tuple[tuple[str, str, str], ...] = (
    ("Attach", "Jump to the selected session", "attach"),
    ("Detach", "Detach every client from the selected session", "detach"),
    ("Rename", "Rename the selected session", "rename"),
    ("End", "Detach a background session, or kill others after confirming", "end"),
    ("Kill", "Kill the selected session after confirming", "kill"),
    ("Dismiss", "Forget the selected dead session", "dismiss"),
    ("Next waiting", "Attach the next session waiting for input", "jump_waiting"),
    ("Back", "Attach the session attached before", "jump_back"),
    ("New background session", "Start a command in a new detached tmux session", "new_session"),
    ("Filter", "Filter the list (s: a: k: w: qualifiers)", "filter"),
)


def make_app(
    monitor: Monitor,
    *,
    clock: Callable[[], float] = time.time,
    watch: bool = True,
    title: str = "sessiontui",
    config: Config | None = None,
    background: bool = False,
) -> SessionTUI:
    """Build the app; the one factory shared by the CLI, the tests and the benchmarks."""
    return SessionTUI(
        monitor, clock=clock, watch=watch, title=title, config=config, background=background
    )
