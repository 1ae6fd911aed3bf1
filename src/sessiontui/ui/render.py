"""Turn model values into plain-text cells: glyphs, words, sparklines, ages (no markup)."""

from __future__ import annotations

import functools
import io
import operator
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.color import Color
from rich.console import Console
from rich.text import Text
from textual.renderables.sparkline import Sparkline

from sessiontui.model.summary import GLYPHS  # one table for the TUI and ``sessiontui status``
from sessiontui.model.text import age_label_lasts, format_age, printable, shorten_home
from sessiontui.model.types import HOST_UNREACHABLE, Status
from sessiontui.ui.themes import DEFAULT_THEME, THEMES

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sessiontui.model.types import Session, Snapshot
    from sessiontui.ui.themes import UiTheme

#: Rich style of each status word and glyph in the current theme (see :func:`use_theme`).
STYLES: dict[Status, str] = dict(THEMES[DEFAULT_THEME].status)

_CONSOLE = Console(file=io.StringIO(), width=200, color_system="truecolor", force_terminal=True)
_current: UiTheme = THEMES[DEFAULT_THEME]


def use_theme(theme: UiTheme) -> None:
    """Make every cell rendered from now on use ``theme``'s styles (the app calls it on mount).

    Cells already rendered keep their styles; the app renders the table again after this.
    """
    global _current
    _current = theme
    STYLES.clear()
    STYLES.update(theme.status)
    _sparkline_text.cache_clear()


def current_theme() -> UiTheme:
    """The theme cells are rendered with (the dark one until :func:`use_theme`)."""
    return _current


def muted() -> str:
    """Rich style of secondary text in the current theme (not ``dim``: it keeps 4.5:1)."""
    return _current.muted


HOME = str(Path.home())


def status_cell(status: Status, *, word: bool = True) -> Text:
    """Glyph (and word) for a status; ``waiting`` stands out."""
    label = f"{GLYPHS[status]} {status.value}" if word else GLYPHS[status]
    return Text(label, style=STYLES[status])


def plain(text: str | None, *, max_len: int | None = None, dim: bool = False) -> Text:
    """Untrusted text as a plain :class:`Text` (escapes made visible, never markup)."""
    return Text(printable(text or "", max_len=max_len), style=_current.muted if dim else "")


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
        text.append(badge, style=_current.badge)
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
    renderable = Sparkline(
        list(data),
        width=width,
        min_color=Color.parse(_current.spark_min),
        max_color=Color.parse(_current.spark_max),
    )
    text = Text(no_wrap=True, overflow="crop")
    for segment in _CONSOLE.render(renderable, _CONSOLE.options.update_width(width)):
        if segment.text and segment.text != "\n":
            text.append(segment.text, segment.style)
    return text


def where(session: Session, *, exited_mark: bool = True) -> str:
    """``tmux:work:2.1``, or ``-`` when the session is not in a multiplexer pane.

    A remote session's place starts with its host (``box:tmux:work:2.1``, ``box:-``); while
    the host cannot be reached it reads ``box unreachable`` (the row is last-known). An
    exited Zellij session reads ``zellij:nightly (exited)``, or ``zellij:nightly`` with
    ``exited_mark=False`` (the table, whose STATUS cell says ``exited``).
    """
    mux = session.mux
    if mux is None:
        place = "-"
    elif mux.exited and not exited_mark:
        place = printable(f"{mux.type}:{mux.session}")
    else:
        place = printable(mux.label)
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


#: The STATUS word of an exited multiplexer session kept for resurrection (a dead row).
EXITED_WORD = "exited"


def session_status_cell(session: Session, *, word: bool = True) -> Text:
    """:func:`status_cell` of a session: dimmed while it is only last-known (host unreachable).

    An exited Zellij session (``mux.exited``, status dead) reads ``exited`` after the dead glyph.
    """
    cell = status_cell(session.status, word=word)
    if word and session.mux is not None and session.mux.exited:
        cell = Text(f"{GLYPHS[session.status]} {EXITED_WORD}", style=STYLES[session.status])
    if session.health == HOST_UNREACHABLE:
        cell.stylize(_current.muted)
    return cell


def age(session: Session, now: float) -> str:
    """Time since the session started (``""`` when unknown)."""
    return format_age(now - session.started_at if session.started_at else None)


def age_due(session: Session, now: float) -> float:
    """Wall-clock seconds when :func:`age` of ``session`` next reads differently (inf: never)."""
    if not session.started_at:
        return float("inf")
    return now + age_label_lasts(now - session.started_at)


def cwd(session: Session) -> str:
    """The working directory with the home directory shown as ``~``."""
    return printable(shorten_home(session.cwd, HOME))


def shorten(path: str) -> str:
    """A path (untrusted) with the home directory shown as ``~``, escapes made visible."""
    return printable(shorten_home(path, HOME))


def status_counts(counts: Iterable[tuple[Status, int]]) -> Text:
    """Compact counts per status in the header line's glyphs and styles: ``◆2 ●1 ○3``."""
    text = Text()
    for status, n in counts:
        if text:
            text.append(" ")
        text.append(f"{GLYPHS[status]}{n}", style=STYLES[status])
    return text


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


def summary(snapshot: Snapshot, *, compact: bool = False, messages: bool = True) -> Text:
    """Header text counting each status, plus any model messages.

    ``compact`` (narrow layout) shows glyphs and counts only; ``messages=False`` leaves the
    model messages (``⚠ …``) out.
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
            style = STYLES[status] if n else _current.muted
            label = f" {GLYPHS[status]}{n}" if compact else f" {GLYPHS[status]} {n} {status.value} "
            text.append(label, style=style)
    if not snapshot.sessions:
        text.append("  no agent sessions", style=_current.muted)
    if not compact:
        text.append_text(host_counts(snapshot))
    if messages:
        text.append_text(warnings(snapshot))
    return text


def warnings(snapshot: Snapshot) -> Text:
    """The model's messages for the header line: ``  ⚠ registry unreadable …`` (untrusted)."""
    text = Text()
    for message in snapshot.messages:
        text.append(f"  ⚠ {printable(message)}", style=_current.warning)
    return text


def header_line(
    title: Text, counts: Text, filter_text: str, warnings: Text, order: str, width: int
) -> Text:
    """The header line, made to fit ``width`` cells with the filter's value kept in view.

    Parts, left to right: the title, the status counts, the filter chip, the warnings and the
    sort order. When they do not all fit, the sort order is left out, the filter chip becomes
    ``/value`` (as typed after ``/``) instead of ``filter: value``, then the warnings are cut
    with ``…`` (their full text is on the help screen); a filter value that still does not
    fit is cut with ``…`` too.

    Args:
        title: The title chip (styled).
        counts: The status (and host) counts, as :func:`summary` makes them without warnings.
        filter_text: The filter as typed (untrusted; ``""``: no filter).
        warnings: The model's messages, as :func:`warnings` makes them (may be empty).
        order: The sort order hint (``sort: urgency``), shown only when everything fits.
        width: The line's width in cells.

    Returns:
        One line of at most ``width`` cells.
    """
    line = title.copy()
    line.append_text(counts)
    chip = Text()
    if filter_text:
        value = printable(filter_text)
        room = width - line.cell_len - cell_len(value) - warnings.cell_len
        chip = Text(f"  filter: {value}" if room >= 10 else f"  /{value}", style="italic")
        if line.cell_len + chip.cell_len > width:
            chip.truncate(max(0, width - line.cell_len), overflow="ellipsis")
    line.append_text(chip)
    if line.cell_len + warnings.cell_len + len(order) + 2 <= width:
        line.append_text(warnings)
        line.append(f"  {order}", style=_current.muted)
    else:
        line.append_text(warnings)
        line.truncate(width, overflow="ellipsis")
    return line


_HOST_OF = operator.attrgetter("host")


def host_counts(snapshot: Snapshot) -> Text:
    """``  here 2 · build 3 · gpu 1`` when remote rows are in view (rows per host), else empty.

    A host whose rows are only last-known (unreachable) is dimmed.
    """
    counts = Counter(map(_HOST_OF, snapshot.sessions))  # in C: called for every snapshot
    text = Text()
    if set(counts) <= {None}:
        return text
    down = {
        s.host for s in snapshot.sessions if s.host is not None and s.health == HOST_UNREACHABLE
    }
    text.append(" ")
    parts = [("here", counts[None], False)] if None in counts else []
    parts += [(host, counts[host], host in down) for host in sorted(h for h in counts if h)]
    for index, (label, count, dim) in enumerate(parts):
        if index:
            text.append(" ·", style=_current.muted)
        style = _current.muted if dim else "bold"
        text.append(f" {printable(label, max_len=20)} {count}", style=style)
    return text
