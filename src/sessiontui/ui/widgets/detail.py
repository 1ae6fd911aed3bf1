"""The detail panel: every field of the selected session, its pane and what it asks."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.cells import cell_len, get_character_cell_size
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

from sessiontui.model.text import format_age, printable
from sessiontui.model.types import StatusSource, with_changes
from sessiontui.ui import render

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from textual.app import ComposeResult
    from textual.timer import Timer

    from sessiontui.model.types import Session


#: Shortest time between two updates of the fields of one session in one status, seconds
#: (a growing transcript changes its counters several times a second).
FIELDS_MIN_INTERVAL_S = 1.0

#: Unknown registry keys shown in the panel (the rest stay in the file, untouched).
EXTRA_KEYS_SHOWN = 6
#: An option line of a question (``2. Yes, and …``).
_OPTION_LINE = re.compile(r"^\d{1,2}\. ")
#: Lines of a waiting agent's question shown at most (its permission box or dialog): the
#: last ones, which hold the question and its options.
QUESTION_LINES = 12


def _when(seconds: float | None, now: float) -> str:
    """``2026-11-21 14:03:07Z (5m ago)`` for an epoch time in seconds."""
    if seconds is None:
        return ""
    try:
        stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return "?"
    return f"{stamp} ({format_age(now - seconds)} ago)"


class DetailPanel(Vertical):
    """Shows one session in full; empty text when nothing is selected."""

    def compose(self) -> ComposeResult:
        """Sparkline (last 30 minutes), the question a waiting agent asks, preview and fields."""
        yield Sparkline([], id="detail-spark")
        yield Static(id="detail-question")
        with Horizontal(id="detail-body"):
            yield Static(id="detail-preview")
            yield Static(id="detail-fields")

    _shown: tuple[Session | None, int] | None = None
    _fields: tuple[Session, int] | None = None
    _fields_size: tuple[int, int | None] | None = None  # (width, lines) of the last fields
    _updated_at: float = 0.0  # monotonic time of the last update of the fields
    _deferred: tuple[Session, float] | None = None
    _defer_timer: Timer | None = None
    _preview: str | None = None
    _question: str | None = None

    def show(self, session: Session | None, now: float) -> None:
        """Render ``session`` (or a hint when ``None``); ``now`` is epoch seconds.

        Does nothing when the same session state was shown in the same 10-second window (the
        ages it prints move no faster), so frequent snapshots cost no re-layout; when only the
        activity series moved, only the sparkline is updated.
        """
        shown = (session, int(now // 10))
        if shown == self._shown:
            return
        last = self._shown[0] if self._shown is not None else None
        wait = self._updated_at + FIELDS_MIN_INTERVAL_S - time.monotonic()
        if (
            session is not None
            and last is not None
            and (session.key, session.status) == (last.key, last.status)
            and wait > 0
        ):
            # Counters of the same session (tokens, context, activity) move with every
            # transcript record: shown at most every FIELDS_MIN_INTERVAL_S, the last one kept.
            self._deferred = (session, now)
            if self._defer_timer is None:
                self._defer_timer = self.set_timer(wait, self._show_deferred)
            return
        self._deferred = None
        self._updated_at = time.monotonic()
        self._shown = shown
        if session is None or last is None or session.key != last.key:
            # Another session (or none): what the pane showed belongs to the last one.
            self.show_preview(None)
            self.show_question(None)
        fields = self.query_one("#detail-fields", Static)
        spark = self.query_one("#detail-spark", Sparkline)
        if session is None:
            self._fields = self._fields_size = None
            fields.update(Text("No session selected.", style=render.muted()))
            spark.data = []
            return
        spark.data = render.quantize(session.activity)
        state = (with_changes(session, activity=()), int(now // 10))
        if state == self._fields:
            return  # the fields would read the same: no update, no re-layout of the screen
        self._fields = state
        status = render.status_cell(session.status)
        if session.waiting_for:
            status.append(f" — {printable(session.waiting_for)}")
        rows: list[tuple[str, Text | str]] = [
            ("name", render.plain(session.name)),
            ("status", status),
            ("why", status_reason(session, now)),
            ("where", render.plain(render.where(session))),
            ("cwd", render.plain(session.cwd)),
            *activity_rows(session, now),
            *job_rows(session),
            (
                "pid",
                render.plain(
                    f"{session.pid}  start {session.proc_start or '?'}"
                    f"  cpu {session.cpu_percent:.0f}%"
                ),
            ),
            ("kind", render.plain(session.kind or "")),
            ("session", render.plain(session.session_id or "")),
            ("started", _when(session.started_at, now)),
            ("changed", _when(session.status_changed_at, now)),
            ("registry", render.plain(str(session.registry_path or ""))),
        ]
        if session.health:
            rows.insert(
                3,
                (
                    "health",
                    Text(printable(session.health), style=f"bold {render.current_theme().error}"),
                ),
            )
        if session.host is not None:  # the place below is on that host, not here
            rows.insert(3, ("host", render.plain(session.host)))
        if session.mux is not None and session.mux.show_server:
            rows.append(("server", render.plain(session.mux.socket)))
        if session.job_id:
            rows.append(("job", render.plain(session.job_id)))
        if session.mux is not None:
            rows.append(("clients", f"{session.mux.attached_clients} attached"))
        if session.version:
            rows.append(("version", render.plain(session.version)))
        if session.transcript_path is not None:
            rows.append(("transcript", render.plain(str(session.transcript_path))))
        for key in sorted(session.extra)[:EXTRA_KEYS_SHOWN]:
            rows.append(
                (printable(key, max_len=12), render.plain(str(session.extra[key]), max_len=80))
            )
        if session.unreadable:
            rows.append(
                (
                    "problem",
                    Text(printable(session.unreadable), style=render.current_theme().warning),
                )
            )
        shown_fields = Fields(rows, PATH_FIELDS)
        # The fields' height is ``auto``: when it stays the same, the new fields are drawn
        # without re-laying out the whole screen (the costly part of an update, done once a
        # second while a transcript grows).
        width = fields.content_size.width
        size = (width, shown_fields.height(self.app.console, width))
        fields.update(shown_fields, layout=size[1] is None or size != self._fields_size)
        self._fields_size = size

    @property
    def question(self) -> str | None:
        """The question shown now (as read from the pane), or ``None`` when hidden."""
        return self._question or None

    def show_question(self, text: str | None) -> None:
        """Show what a waiting agent asks (its permission box or dialog, untrusted), or hide.

        Args:
            text: Plain text read from the pane; control characters are made visible and
                Rich markup is never interpreted. ``None`` or empty hides the question.
        """
        if text == self._question:
            return
        self._question = text
        question = self.query_one("#detail-question", Static)
        if not text:
            question.display = False
            return
        lines = [printable(line) for line in text.rstrip("\n").splitlines()][-QUESTION_LINES:]
        split = len(lines)
        while split > 0 and _OPTION_LINE.match(lines[split - 1]):
            split -= 1
        # The options take one row each (cut with an ellipsis), so they stay in view.
        parts = [Text("\n".join(lines[:split]), overflow="fold")] if split else []
        if split < len(lines):
            parts.append(Text("\n".join(lines[split:]), no_wrap=True, overflow="ellipsis"))
        question.update(Group(*parts))
        question.display = True

    def _show_deferred(self) -> None:
        """Show the last state held back by :meth:`show` (timer callback)."""
        self._defer_timer = None
        deferred, self._deferred = self._deferred, None
        if deferred is not None:
            self._updated_at = 0.0
            self.show(*deferred)

    def show_preview(self, text: str | None) -> None:
        """Show the last lines of the session's pane (untrusted: made printable), or hide."""
        if text == self._preview:
            return
        self._preview = text
        preview = self.query_one("#detail-preview", Static)
        if not text:
            preview.display = False
            return
        lines = [printable(line) for line in text.rstrip("\n").splitlines()]
        preview.update(
            Text("\n".join(lines), style=render.muted(), no_wrap=True, overflow="ellipsis")
        )
        preview.display = True


#: Detail rows whose values are file paths (broken after a ``/`` when too long).
PATH_FIELDS = frozenset({"cwd", "registry", "transcript", "server"})

#: Narrowest value column :class:`Fields` lays out itself (a narrower one uses a Rich grid).
_MIN_VALUE_WIDTH = 8


class Fields:
    """The panel's ``label  value`` lines: a Rich renderable, formatted once per width.

    Looks exactly like a Rich ``Table.grid(padding=(0, 1))`` with a bold, unwrapped label
    column and a folding value column, which it replaces because rendering that grid costs
    several milliseconds, paid once a second while a transcript grows (and once more to learn
    its height). Values are plain :class:`Text` (a ``str`` is never read as markup); rows with
    an empty value are left out. Below :data:`_MIN_VALUE_WIDTH` cells for the values it falls
    back to the grid.

    The values of the rows labelled in ``paths`` are file paths: a long one is broken after
    a ``/`` (see :func:`fold_path`) rather than in the middle of a name.

    Args:
        rows: ``(label, value)`` pairs in display order.
        paths: Labels of the rows whose values are paths.
    """

    __slots__ = ("_cache", "_paths", "_rows")

    def __init__(
        self, rows: list[tuple[str, Text | str]], paths: frozenset[str] = frozenset()
    ) -> None:
        self._rows = [(label, Text(v) if isinstance(v, str) else v) for label, v in rows if v]
        self._paths = paths
        self._cache: tuple[int, Text | None] | None = None

    def _lines(self, console: Console, width: int) -> Text | None:
        """The rows laid out in ``width`` cells, or None when too narrow (or empty)."""
        if self._cache is not None and self._cache[0] == width:
            return self._cache[1]
        label_width = max((cell_len(label) for label, _ in self._rows), default=0)
        value_width = width - label_width - 1
        out: Text | None = None
        if self._rows and value_width >= _MIN_VALUE_WIDTH:
            column = min(value_width, max(value.cell_len for _, value in self._rows))
            out = Text()
            first = True
            for label, value in self._rows:
                if label in self._paths and value.cell_len > value_width:
                    lines: list[Text] = fold_path(value, value_width)
                else:
                    lines = list(value.wrap(console, value_width, overflow="fold"))
                for index, line in enumerate(lines):
                    if not first:
                        out.append("\n")
                    first = False
                    out.append((label if index == 0 else "").ljust(label_width) + " ", "bold")
                    line.pad_right(column - line.cell_len)
                    out.append_text(line)
        self._cache = (width, out)
        return out

    def height(self, console: Console, width: int) -> int | None:
        """Lines the fields take in ``width`` cells; None when unknown (then lay out again)."""
        lines = self._lines(console, width) if width > 0 else None
        return None if lines is None else lines.plain.count("\n") + 1

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Render at the width given (the grid below :data:`_MIN_VALUE_WIDTH` value cells)."""
        lines = self._lines(console, options.max_width)
        if lines is not None:
            # Already cut to the width: its segments, without Text's own wrapping pass.
            yield from lines.render(console, end="\n")
            return
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value in self._rows:
            grid.add_row(label, value)
        yield grid


def fold_path(path: Text, width: int) -> list[Text]:
    """Cut a path into lines of at most ``width`` cells, each ending after a ``/`` if it can.

    A line is cut after its last ``/`` when that keeps at least a third of the line (so
    ``/root/.claude/sessions/`` and ``105.json``); a name longer than that is folded at the
    width. Nothing is lost: the lines joined give the path back.

    Args:
        path: The path as shown (plain, one line).
        width: Cells per line (at least 1).

    Returns:
        The lines, in order (one line when the path fits).
    """
    plain = path.plain
    cuts: list[int] = []
    start = used = 0
    after_slash = -1  # offset just after the last "/" of the current line
    for offset, char in enumerate(plain):
        size = get_character_cell_size(char)
        if used + size > width and offset > start:
            cut = after_slash if after_slash - start >= max(1, width // 3) else offset
            cuts.append(cut)
            start = cut
            used = cell_len(plain[cut:offset])
            after_slash = -1
            if used + size > width:  # what was carried over leaves no room: fold here too
                cuts.append(offset)
                start, used = offset, 0
        used += size
        if char == "/":
            after_slash = offset + 1
    return list(path.divide(cuts)) if cuts else [path]


def activity_rows(session: Session, now: float) -> list[tuple[str, Text | str]]:
    """Rows about what the agent did (transcript or rollout): model, context, tokens, prompt.

    Args:
        session: The session shown.
        now: Wall-clock seconds since the epoch (for "last activity").

    Returns:
        ``(label, value)`` pairs; empty values are left out by the caller.
    """
    context = ""
    if session.context_used is not None:
        window = f" / {render.tokens(session.context_window)}" if session.context_window else ""
        percent = render.context_percent(session)
        context = f"{render.tokens(session.context_used)}{window} ({percent})"
    output = ""
    if session.tokens_output is not None:
        output = f"{render.tokens(session.tokens_output)} output tokens"
        if session.turns is not None:
            output += f", {session.turns} turns"
    scale = ""
    if session.activity_scale is not None:
        scale = f"full bar = {render.tokens(session.activity_scale)} output tokens per bucket"
    elif session.activity:
        scale = "busy time and CPU (no transcript)"
    return [
        ("model", render.plain(session.model or "")),
        ("context", context),
        ("tokens", output),
        ("prompt", render.plain(session.last_prompt or "", max_len=200)),
        ("activity", _when(session.last_activity_at, now)),
        ("sparkline", scale),
        ("subagents", str(session.subagents) if session.subagents else ""),
    ]


#: At most this many ``fan[]`` entries of a job are listed in the panel.
FAN_SHOWN = 8


def job_rows(session: Session) -> list[tuple[str, Text | str]]:
    """Rows about earlier names and the background job (``state.json``): state, tasks, tokens.

    Args:
        session: The session shown.

    Returns:
        ``(label, value)`` pairs (none without a job state); every text from the file is
        rendered plain.
    """
    rows: list[tuple[str, Text | str]] = []
    if session.former_names:
        former = ", ".join(printable(name, max_len=40) for name in session.former_names)
        rows.append(("was named", render.plain(former, max_len=200)))
    if session.parked_job_id:
        rows.append(("parked as", render.plain(session.parked_job_id)))
    job = session.job
    if job is None:
        return rows
    if job.problem is not None:
        problem = Text(
            f"unreadable: {printable(job.problem)}", style=render.current_theme().warning
        )
        return [*rows, ("job state", problem)]
    state = printable(job.state or "?", max_len=40)
    if job.detail:
        state += f" — {printable(job.detail, max_len=160)}"
    rows.append(("job state", render.plain(state)))
    if job.tokens:
        rows.append(
            (
                "job tokens",
                render.plain(", ".join(f"{k} {render.tokens(v)}" for k, v in job.tokens)),
            )
        )
    for index, task in enumerate(job.fan[:FAN_SHOWN]):
        mark = "running" if task.running else "failed" if task.failed else "done"
        what = " ".join(part for part in (task.kind, task.label or task.id) if part)
        label = "tasks" if index == 0 else ""
        rows.append((label, render.plain(f"{mark}: {what}", max_len=120)))
    if len(job.fan) > FAN_SHOWN:
        rows.append(("", f"… and {len(job.fan) - FAN_SHOWN} more"))
    return rows


#: ``waitingFor`` values that need saying in the "why" row (the others read plainly in the
#: status row): newer Claude Code builds wait for an MCP server's elicitation dialog.
WAITING_REASONS: dict[str, str] = {
    "elicitation": "an elicitation dialog (an MCP server asks the user for input)",
}


def status_reason(session: Session, now: float) -> str:
    """Why the status is what it is: which source decided it and how fresh that is."""
    source = session.status_source
    if session.mux is not None and session.mux.exited:
        return (
            f"the {session.mux.type} session has ended; it is kept to be resurrected (D deletes it)"
        )
    if session.status_why and source in (StatusSource.TRANSCRIPT, StatusSource.ROLLOUT):
        prefix = "no registry status; " if source is StatusSource.TRANSCRIPT else ""
        return f"{prefix}{printable(session.status_why)}"
    if source is StatusSource.PROCESS:
        return "the process is gone (or its PID now belongs to another program)"
    if source is StatusSource.REGISTRY:
        fresh = (
            f", file updated {format_age(now - session.updated_at)} ago"
            if session.updated_at
            else ""
        )
        known = WAITING_REASONS.get(session.waiting_for or "")
        waits = f": waits for {known}" if known else ""
        return f"registry status{waits}{fresh}"
    if source is StatusSource.CPU:
        return f"no registry status; CPU {session.cpu_percent:.0f}% of one core"
    return "no information yet"
