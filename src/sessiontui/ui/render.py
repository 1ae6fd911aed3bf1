"""Turn model values into plain-text cells: glyphs, words, sparklines, ages (no markup)."""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import TYPE_CHECKING

from rich.color import Color
from rich.console import Console
from rich.text import Text
from textual.renderables.sparkline import Sparkline

from sessiontui.model.summary import GLYPHS  # one table for the TUI and ``sessiontui status``
from sessiontui.model.text import format_age, printable, shorten_home
from sessiontui.model.types import HOST_UNREACHABLE, Status

if TYPE_CHECKING:
    from sessiontui.model.types import Session, Snapshot

STYLES: dict[Status, str] = {
    Status.WAITING: "bold black on yellow",
    Status.BUSY: "bold green",
    Status.SHELL: "cyan",
    Status.IDLE: "",
    Status.UNKNOWN: "dim",
    Status.DEAD: "dim red",
}

_CONSOLE = Console(file=io.StringIO(), width=200, color_system="truecolor", force_terminal=True)
_SPARK_MIN = Color.parse("#3a3a3a")
_SPARK_MAX = Color.parse("#5fd75f")
HOME = str(Path.home())


def status_cell(status: Status, *, word: bool = True) -> Text:
    """Glyph (and word) for a status; ``waiting`` stands out."""
    label = f"{GLYPHS[status]} {status.value}" if word else GLYPHS[status]
    return Text(label, style=STYLES[status])


def plain(text: str | None, *, max_len: int | None = None, dim: bool = False) -> Text:
    """Untrusted text as a plain :class:`Text` (escapes made visible, never markup)."""
    return Text(printable(text or "", max_len=max_len), style="dim" if dim else "")


#: Marks the number of subagents a session runs, after its name (``api ↳3``). An arrow that
#: common monospace fonts have (U+2442 ⑂ is missing from most of them).
SUBAGENT_MARK = "\u21b3"


def name_cell(session: Session, max_len: int) -> Text:
    """The NAME cell: the name (plain, dim when dead), then ``↳N`` for ``N`` running subagents.

    The badge is kept whole: the name is cut to leave room for it within ``max_len`` cells.
    """
    badge = f" {SUBAGENT_MARK}{session.subagents}" if session.subagents else ""
    room = max(1, max_len - len(badge))
    text = plain(session.name, max_len=room, dim=not session.alive)
    if badge:
        text.append(badge, style="bold magenta")
    return text


def plain_tail(text: str, max_len: int) -> Text:
    """Like :func:`plain` but cut from the left (``…/projects/api``): a path's tail matters."""
    safe = printable(text)
    if len(safe) > max_len:
        safe = "…" + safe[len(safe) - max_len + 1 :]
    return Text(safe)


def quantize(values: tuple[float, ...]) -> list[float]:
    """Round activity to eighths so noise below one bar step draws as a flat line."""
    return [round(v * 8) / 8 for v in values]


def sparkline(values: tuple[float, ...], width: int) -> Text:
    """A session's activity drawn by Textual's sparkline renderable, ``width`` cells wide.

    The renderable's output is kept as :class:`Text` per distinct (quantized) series and
    width: most rows repeat the same series, and a table cell that is plain text redraws
    several times faster than one that renders a sparkline on every frame. No values
    (an exited session: no history) draw a flat line, as all-zero ones do (a single value
    would fill every cell).
    """
    return _sparkline_text(tuple(quantize(values)) or (0.0, 0.0), width)


@functools.lru_cache(maxsize=2048)
def _sparkline_text(data: tuple[float, ...], width: int) -> Text:
    """Render the sparkline once and keep its segments as styled text."""
    renderable = Sparkline(list(data), width=width, min_color=_SPARK_MIN, max_color=_SPARK_MAX)
    text = Text(no_wrap=True, overflow="crop")
    for segment in _CONSOLE.render(renderable, _CONSOLE.options.update_width(width)):
        if segment.text and segment.text != "\n":
            text.append(segment.text, segment.style)
    return text


def where(session: Session) -> str:
    """``tmux:work:2.1``, or ``-`` when the session is not in a multiplexer pane.

    A remote session's place starts with its host (``box:tmux:work:2.1``, ``box:-``); while
    the host cannot be reached it reads ``box unreachable`` (the row is last-known).
    """
    place = printable(session.mux.label) if session.mux else "-"
    if session.host is None:
        return place
    host = printable(session.host)
    if session.health == HOST_UNREACHABLE:
        return f"{host} unreachable"
    return f"{host}:{place}"


def who(session: Session) -> str:
    """The session's name for a notification: ``api``, or ``api on box`` for a remote one."""
    name = printable(session.name)
    return name if session.host is None else f"{name} on {printable(session.host)}"


def session_status_cell(session: Session, *, word: bool = True) -> Text:
    """:func:`status_cell` of a session: dimmed while it is only last-known (host unreachable)."""
    cell = status_cell(session.status, word=word)
    if session.health == HOST_UNREACHABLE:
        cell.stylize("dim")
    return cell


def age(session: Session, now: float) -> str:
    """Time since the session started (``""`` when unknown)."""
    return format_age(now - session.started_at if session.started_at else None)


def cwd(session: Session) -> str:
    """The working directory with the home directory shown as ``~``."""
    return printable(shorten_home(session.cwd, HOME))


def context_percent(session: Session) -> str:
    """Context used in percent of the model's window (``42%``), ``-`` when unknown."""
    percent = session.context_percent
    return "-" if percent is None else f"{percent:.0f}%"


def tokens(count: int | None) -> str:
    """A token count for people: ``950``, ``12.3k``, ``1.2M`` (``""`` when unknown).

    >>> tokens(950), tokens(12_345), tokens(1_234_567)
    ('950', '12.3k', '1.2M')
    """
    if count is None:
        return ""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"


def summary(snapshot: Snapshot, *, compact: bool = False) -> Text:
    """Header text counting each status, plus any model messages.

    ``compact`` (narrow layout) shows glyphs and counts only.
    """
    counts = snapshot.counts()
    text = Text()
    for status in (
        Status.WAITING,
        Status.BUSY,
        Status.IDLE,
        Status.SHELL,
        Status.UNKNOWN,
        Status.DEAD,
    ):
        n = counts.get(status, 0)
        if n or status in (Status.WAITING, Status.BUSY, Status.IDLE):
            style = STYLES[status] if n else "dim"
            label = f" {GLYPHS[status]}{n}" if compact else f" {GLYPHS[status]} {n} {status.value} "
            text.append(label, style=style)
    if not snapshot.sessions:
        text.append("  no agent sessions", style="dim")
    if not compact:
        text.append_text(host_counts(snapshot))
    for message in snapshot.messages:
        text.append(f"  ⚠ {printable(message)}", style="yellow")
    return text


def host_counts(snapshot: Snapshot) -> Text:
    """``  here 2 · build 3 · gpu 1`` when remote rows are in view (rows per host), else empty.

    A host whose rows are only last-known (unreachable) is dimmed.
    """
    counts: dict[str | None, int] = {}
    down: set[str] = set()
    for session in snapshot.sessions:
        counts[session.host] = counts.get(session.host, 0) + 1
        if session.host is not None and session.health == HOST_UNREACHABLE:
            down.add(session.host)
    text = Text()
    if set(counts) <= {None}:
        return text
    text.append(" ")
    parts = [("here", counts[None], False)] if None in counts else []
    parts += [(host, counts[host], host in down) for host in sorted(h for h in counts if h)]
    for index, (label, count, dim) in enumerate(parts):
        if index:
            text.append(" ·", style="dim")
        text.append(f" {printable(label, max_len=20)} {count}", style="dim" if dim else "bold")
    return text
