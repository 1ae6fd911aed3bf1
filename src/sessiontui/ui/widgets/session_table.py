"""The session table: one row per session, keyed by session identity, updated cell by cell."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.measure import Measurement
from rich.text import Text
from textual.geometry import Region
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey
from textual.widgets.data_table import Row as TableRow

from sessiontui.model.ordering import GroupHeader
from sessiontui.ui import render

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.segment import Segment

    from sessiontui.model.types import Session


@dataclass(frozen=True, slots=True)
class Column:
    """One table column: key, header, width (``None`` = auto) and its cell function."""

    key: str
    label: str
    width: int
    cell: Callable[[Session, float], Text]


SPARK_WIDTH = 12
NARROW_SPARK_WIDTH = 10

#: Terminal width from which the wide layout also shows the agent column.
AGENT_COLUMN_MIN_WIDTH = 100
#: Cells of padding DataTable adds per column, plus room for a vertical scrollbar.
_PADDING_PER_COLUMN = 2
_SCROLLBAR = 2


#: Wide-layout columns in display order.
COLUMN_ORDER = ("status", "name", "agent", "where", "cwd", "age", "activity", "ctx", "cpu")
_FIXED_WIDTHS = {"status": 9, "agent": 6, "age": 4, "activity": SPARK_WIDTH, "ctx": 4, "cpu": 4}
#: Shares of the remaining width for the flexible columns.
_FLEX_SHARES = {"name": 7, "where": 6, "cwd": 7}


def _wide_column(key: str, width: int) -> Column:
    """The wide-layout column ``key`` at ``width`` cells."""
    cells: dict[str, Callable[[Session, float], Text]] = {
        "status": lambda s, now: render.session_status_cell(s),
        "name": lambda s, now: render.name_cell(s, width),
        "agent": lambda s, now: render.plain(s.agent),
        "where": lambda s, now: render.plain(render.where(s, exited_mark=False), max_len=width),
        "cwd": lambda s, now: render.plain_tail(render.cwd(s), width),
        "age": lambda s, now: Text(render.age(s, now)),
        "activity": lambda s, now: render.sparkline(s.activity, width),
        "ctx": lambda s, now: Text(render.context_percent(s).rjust(width)),
        "cpu": lambda s, now: Text(f"{s.cpu_percent:.0f}%".rjust(width)),
    }
    return Column(key, key.upper(), width, cells[key])


def wide_columns(width: int, wanted: Sequence[str] | None = None) -> tuple[Column, ...]:
    """The wide layout: ``wanted`` columns (config ``columns``, in its order; default all).

    Name, where and cwd share what the fixed-width columns leave of ``width``. With the
    default set, the agent column is left out below :data:`AGENT_COLUMN_MIN_WIDTH` columns
    (the detail panel still shows it) so the rest stays readable.
    """
    keys = list(COLUMN_ORDER) if wanted is None else [k for k in wanted if k in COLUMN_ORDER]
    if wanted is None and width < AGENT_COLUMN_MIN_WIDTH:
        keys.remove("agent")
    fixed = sum(_FIXED_WIDTHS.get(k, 0) for k in keys) + _MARK_WIDTH
    flex = [k for k in keys if k in _FLEX_SHARES]
    spare = max(8 * len(flex), width - fixed - len(keys) * _PADDING_PER_COLUMN - _SCROLLBAR)
    total_share = sum(_FLEX_SHARES[k] for k in flex) or 1
    widths = {k: spare * _FLEX_SHARES[k] // total_share for k in flex}
    if flex:
        widths[flex[-1]] += spare - sum(widths.values())
    return tuple(_wide_column(k, _FIXED_WIDTHS.get(k) or widths[k]) for k in keys)


def narrow_columns(width: int) -> tuple[Column, ...]:
    """Glyph, name and sparkline; the name takes what the terminal ``width`` leaves."""
    name_width = max(
        8, width - 1 - NARROW_SPARK_WIDTH - 3 * _PADDING_PER_COLUMN - _SCROLLBAR - _MARK_WIDTH
    )
    return (
        Column("status", " ", 1, lambda s, now: render.session_status_cell(s, word=False)),
        Column(
            "name",
            "NAME",
            name_width,
            lambda s, now: render.name_cell(s, name_width),
        ),
        Column(
            "activity",
            "ACTIVITY",
            NARROW_SPARK_WIDTH,
            lambda s, now: render.sparkline(s.activity, NARROW_SPARK_WIDTH),
        ),
    )


#: The one DataTable column; each row is a single pre-formatted line (see SessionTable).
ROW_COLUMN = "row"
#: Spaces between two columns of the line.
_GAP = "  "
#: Space at each end of a line (in the line itself: DataTable's cell padding would wrap every
#: row in a ``Padding`` renderable on each redraw).
_EDGE = " "
#: Marks the pinned sessions (``p``), after their number.
PIN_GLYPH = "\u2605"  # ★
#: Cells before the first column: the ``1``-``9`` number, the pin mark and a space (they
#: take the place of the left edge).
_MARK_WIDTH = 2
#: Folded and unfolded group header marks.
FOLDED, UNFOLDED = "\u25b8", "\u25be"  # ▸ ▾


def _mark(number: int | None, pinned: bool) -> Text:
    """The first cells of a session line: its number (or a space), the pin mark, a space."""
    text = Text(str(number) if number is not None and 1 <= number <= 9 else " ", style="bold")
    text.append(PIN_GLYPH if pinned else " ", style="yellow")
    text.append(_EDGE)
    return text


def row_text(
    columns: Sequence[Column],
    session: Session,
    now: float,
    number: int | None = None,
    *,
    pinned: bool = False,
) -> Text:
    """One table line: number and pin mark, then each column's cell cut or padded to width.

    Columns are separated by a gap.
    """
    parts: list[Text] = []
    for column in columns:
        cell = column.cell(session, now)
        text = cell.copy()
        text.truncate(column.width, overflow="ellipsis", pad=True)
        parts.append(text)
    return Text.assemble(_mark(number, pinned), Text(_GAP).join(parts), _EDGE)


def group_text(columns: Sequence[Column], header: GroupHeader) -> Text:
    """A group header line: fold mark, name, project directory, a count per status.

    The name and directory are untrusted text (plain); the counts use the status glyphs and
    styles of the header line (``◆2 ●1 ○3``).
    """
    width = line_width(columns)
    counts = render.status_counts(header.counts)
    text = Text(f" {FOLDED if header.collapsed else UNFOLDED} ", style="bold")
    text.append_text(render.plain(header.label))
    text.stylize("bold")
    if header.detail and width >= 60:
        text.append("  ")
        text.append_text(render.plain(render.shorten(header.detail), dim=True))
    room = width - counts.cell_len - 2
    text.truncate(max(room, 4), overflow="ellipsis", pad=True)
    text.append(" ")
    text.append_text(counts)
    text.append(" ")
    text.truncate(width, overflow="ellipsis", pad=True)
    return text


def line_width(columns: Sequence[Column]) -> int:
    """Cells of a line laid out by :func:`row_text` (mark, gaps and edge included)."""
    gaps = len(_GAP) * max(len(columns) - 1, 0)
    return sum(c.width for c in columns) + gaps + _MARK_WIDTH + 2 * len(_EDGE)


#: Marks the column the rows are sorted by, in the header line.
SORT_MARK = "\u2193"  # ↓


def header_text(columns: Sequence[Column], sorted_by: Sequence[str] = ()) -> Text:
    """The header line matching :func:`row_text`'s layout.

    Args:
        columns: The column layout.
        sorted_by: Column keys, by preference: the first one shown gets :data:`SORT_MARK`.
    """
    shown = {c.key for c in columns}
    marked = next((key for key in sorted_by if key in shown), None)
    labels = [
        Text(SORT_MARK if c.label.strip() == "" else c.label + SORT_MARK, style="bold")
        if c.key == marked
        else Text(c.label)
        for c in columns
    ]
    for label, column in zip(labels, columns, strict=True):
        label.truncate(column.width, pad=True)
    return Text.assemble(" " * (_MARK_WIDTH + len(_EDGE)), Text(_GAP).join(labels), _EDGE)


if TYPE_CHECKING:
    from typing import TypeAlias

    #: What a row shows: a session or a group's header.
    Row: TypeAlias = Session | GroupHeader
    #: A session row's number (``1``-``9``, or ``None``) and pin.
    Mark: TypeAlias = tuple[int | None, bool]


def _line_text(columns: Sequence[Column], row: Row, now: float, mark: Mark) -> Text:
    if isinstance(row, GroupHeader):
        return group_text(columns, row)
    return row_text(columns, row, now, mark[0], pinned=mark[1])


#: Longest time, in seconds, between two looks of :meth:`SessionTable.tick_ages` at every
#: row: how stale the AGE of a row scrolled into view (not drawn before) may be.
AGE_WALK_MAX_S = 5.0


class RowLine:
    """One table line, formatted only when the table first draws or measures it.

    A DataTable cell may hold any Rich renderable; building the :class:`Text` of 10,000 rows up
    front took over a second, while only the rows on screen are ever drawn. ``plain`` and
    ``str()`` give the line's text like a :class:`Text` cell would.

    Args:
        columns: The column layout.
        session: The session (or group header) shown.
        now: Wall-clock seconds for the age column.
        mark: The row's ``1``-``9`` number (or ``None``) and whether it is pinned.
    """

    __slots__ = ("_columns", "_mark", "_now", "_segments", "_text", "session")

    def __init__(
        self, columns: Sequence[Column], session: Row, now: float, mark: Mark = (None, False)
    ) -> None:
        self._columns = columns
        self._now = now
        self._mark = mark
        self._text: Text | None = None
        self._segments: tuple[int, list[Segment]] | None = None  # (max width, rendered)
        self.session = session

    @property
    def drawn(self) -> bool:
        """True once the line was formatted (drawn or measured); until then it costs nothing."""
        return self._text is not None

    @property
    def text(self) -> Text:
        """The formatted line (built on first use)."""
        if self._text is None:
            self._text = _line_text(self._columns, self.session, self._now, self._mark)
        return self._text

    def retarget(self, session: Row, now: float, mark: Mark = (None, False)) -> bool:
        """Make this line show ``session`` if that needs no repaint; say whether it did.

        A line never drawn yet (off screen) just takes the new session. A drawn line takes it
        only when its text, styles included, comes out the same (e.g. an activity value that
        moves no sparkline bar); otherwise the caller replaces the cell and it is redrawn.

        Returns:
            True when the line now shows ``session``.
        """
        if self._text is None:
            self.session, self._now, self._mark = session, now, mark
            return True
        text = _line_text(self._columns, session, now, mark)
        if text != self._text:
            return False
        self.session, self._now, self._mark = session, now, mark
        return True

    def age_changed(self, now: float) -> bool:
        """Move this line to ``now``; True when it is drawn and its AGE text changes.

        A line never drawn takes the new time for free (it is formatted when first drawn).
        A drawn line whose age reads the same (``12m`` for another minute) keeps its cached
        rendering.
        """
        if self._text is None or isinstance(self.session, GroupHeader):  # a header has no age
            self._now = now
            return False
        if render.age(self.session, now) == render.age(self.session, self._now):
            self._now = now
            return False
        return True

    @property
    def plain(self) -> str:
        """The line as plain text."""
        return self.text.plain

    def __str__(self) -> str:
        return self.text.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Render the formatted line, once per width.

        DataTable draws every visible row again after any update, and most rows did not
        change: their segments are reused.
        """
        cached = self._segments
        if cached is None or cached[0] != options.max_width:
            cached = self._segments = (
                options.max_width,
                list(console.render(self.text, options)),
            )
        yield from cached[1]

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        """The line's width, known from the layout without formatting it."""
        width = line_width(self._columns)
        return Measurement(width, width)


#: Above this many removed rows a full re-layout is cheaper (DataTable's ``remove_row`` is
#: linear in the number of rows).
_MAX_REMOVALS = 64


class SessionTable(DataTable[RowLine]):
    """A :class:`DataTable` that shows a :class:`Snapshot`, one pre-formatted line per row.

    Rows are keyed by :attr:`Session.key`, so a rename or an update never moves the cursor
    off its session. Only changed rows are updated; a change of order (a status change) only
    re-sorts the existing rows by their new positions (no clear, nothing re-added) and the
    cursor follows the session it was on. Lines are formatted lazily (:class:`RowLine`), so
    10,000 rows cost only the ones on screen.

    The table has a single column holding the whole line: DataTable re-renders every
    visible cell after any update, so eight columns of 50 rows cost ~400 Rich renders a
    frame; one column costs 50 (``benchmarks/status_latency.py``).
    """

    DEFAULT_CSS: ClassVar[str] = ""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=0)
        self.narrow = False
        self.wanted_columns: tuple[str, ...] | None = None
        """Wide-layout columns to show (config ``columns``); ``None`` means all."""
        self._columns_spec: tuple[Column, ...] = ()
        self._shown: dict[str, Row] = {}
        self._lines: dict[str, RowLine] = {}
        self._order: list[str] = []
        self._now = 0.0
        self._age_due = float("-inf")  # no AGE text changes before this time (wall clock, s)
        self._walked_at = float("-inf")  # when tick_ages last looked at every row
        self._numbers: Mapping[str, int] = {}
        self._pinned: Collection[str] = frozenset()
        self._sorted_by: tuple[str, ...] = ()

    @property
    def row_keys(self) -> list[str]:
        """Session keys of the rows, top to bottom."""
        return list(self._order)

    @property
    def selected_key(self) -> str | None:
        """Key of the row under the cursor (a session or a group header), or ``None``."""
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        return self._order[self.cursor_row]

    @property
    def selected_header(self) -> GroupHeader | None:
        """The group header under the cursor, or ``None`` (a session row, or no row)."""
        key = self.selected_key
        row = self._shown.get(key) if key is not None else None
        return row if isinstance(row, GroupHeader) else None

    def _mark_of(self, key: str) -> Mark:
        return (self._numbers.get(key), key in self._pinned)

    def set_layout(self, *, narrow: bool, width: int) -> None:
        """Switch between the wide and the narrow column sets for a terminal ``width``."""
        spec = narrow_columns(width) if narrow else wide_columns(width, self.wanted_columns)
        if self._columns_spec and [c.width for c in spec] == [c.width for c in self._columns_spec]:
            return
        self.narrow = narrow
        self._columns_spec = spec
        selected = self.selected_key
        self.clear(columns=True)
        self.add_column(header_text(spec, self._sorted_by), key=ROW_COLUMN, width=line_width(spec))
        shown = [self._shown[key] for key in self._order]
        self._shown, self._lines, self._order = {}, {}, []
        self.show(shown, self._now, keep=selected, numbers=self._numbers, pinned=self._pinned)

    def mark_sorted(self, sorted_by: Sequence[str]) -> None:
        """Mark the column the rows are sorted by (the first of ``sorted_by`` shown)."""
        if tuple(sorted_by) == self._sorted_by:
            return
        self._sorted_by = tuple(sorted_by)
        column = self.columns.get(ColumnKey(ROW_COLUMN))
        if column is not None:
            column.label = header_text(self._columns_spec, self._sorted_by)
            self._update_count += 1  # DataTable's header caches are keyed by it
            self.refresh()

    def show(
        self,
        sessions: Sequence[Row],
        now: float,
        *,
        keep: str | None = None,
        numbers: Mapping[str, int] | None = None,
        pinned: Collection[str] = frozenset(),
    ) -> None:
        """Make the table show ``sessions`` in that order, touching as little as possible.

        New rows are added, gone rows removed, changed rows updated in place (or not at all
        when they would draw the same); rows that moved get their new positions. A session key
        given twice is shown once (the first), so a bad snapshot can never crash the table.

        Args:
            sessions: The rows to show (sessions and group headers), in display order.
            now: Wall-clock seconds for the age column.
            keep: Row key to keep the cursor on (default: the current one).
            numbers: Session key -> the ``1``-``9`` number shown in its row.
            pinned: Keys of the pinned sessions (marked with :data:`PIN_GLYPH`).
        """
        keep = keep or self.selected_key
        self._age_due = float("-inf")  # rows may have changed: the next tick walks them all
        old_row = self.cursor_row
        old_marks = {k: self._mark_of(k) for k in {*self._numbers, *self._pinned}}
        self._numbers, self._pinned = numbers or {}, pinned
        remarked = {
            k
            for k in {*old_marks, *self._numbers, *pinned}
            if old_marks.get(k, (None, False)) != self._mark_of(k)
        }
        unique: dict[str, Row] = {}
        for session in sessions:
            unique.setdefault(session.key, session)
        order = list(unique)
        age_due = int(now // 30) != int(self._now // 30)
        self._now = now
        removed = [key for key in self._shown if key not in unique]
        if not self._order or len(removed) > _MAX_REMOVALS:
            self._refill(unique, now)
        else:
            gone = set(removed)
            for key in removed:
                self.remove_row(key)
                del self._shown[key], self._lines[key]
            current = [key for key in self._order if key not in gone]
            for key, session in unique.items():
                old = self._shown.get(key)
                if old is None:
                    self._add(session, now)
                    current.append(key)
                    continue
                if (old is session or old == session) and not age_due and key not in remarked:
                    continue
                self._shown[key] = session
                line = self._lines[key]
                mark = self._mark_of(key)
                if line.retarget(session, now, mark):
                    continue  # never drawn, or it would draw the same: nothing to repaint
                line = self._lines[key] = RowLine(self._columns_spec, session, now, mark)
                self._replace_line(key, line)
            if order != current:
                self._reorder(current, order)
        moved = order != self._order
        self._order = order
        if not order or not moved:
            return
        if keep is not None and keep in unique:
            index = order.index(keep)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False, scroll=True)
        else:
            self.move_cursor(row=min(max(old_row, 0), len(order) - 1), animate=False)

    @property
    def age_due(self) -> float:
        """Wall-clock seconds of the next AGE label change (``-inf``: unknown until a tick)."""
        return self._age_due

    def tick_ages(self, now: float) -> int:
        """Show the AGE column at ``now`` (wall-clock seconds): repaint only rows it changes.

        Costs one age formatting per drawn row; rows never drawn just take the new time.
        The changed rows go through the same one-row patch as any other update. Until the
        first drawn row's label changes (:attr:`age_due`), a tick does nothing; rows not drawn
        yet do not count (at 10,000 rows one of them turns a day older every few seconds):
        every row is looked at again after :data:`AGE_WALK_MAX_S` at the latest.

        Returns:
            How many rows were repainted.
        """
        if not any(column.key == "age" for column in self._columns_spec):
            self._age_due = float("inf")  # until the layout (or the rows) change
            return 0
        if now < min(self._age_due, self._walked_at + AGE_WALK_MAX_S):
            self._now = now  # no drawn row's label changes yet: skip the walk over every row
            return 0
        self._now = self._walked_at = now
        repainted = 0
        due = float("inf")
        for key, line in self._lines.items():
            if line.age_changed(now):
                fresh = self._lines[key] = RowLine(
                    self._columns_spec, line.session, now, self._mark_of(key)
                )
                self._replace_line(key, fresh)
                repainted += 1
            if line.drawn and not isinstance(line.session, GroupHeader):
                due = min(due, render.age_due(line.session, now))
        self._age_due = due
        return repainted

    def _reorder(self, current: list[str], order: list[str]) -> None:
        """Move the rows from the ``current`` order to ``order`` (the same keys).

        Only the window between the first and the last differing position is re-assigned,
        the way ``DataTable.sort`` assigns row positions (a status change usually moves a
        few rows near the top; sorting all 10,000 rows took longer than everything else).
        Falls back to ``sort`` if DataTable's internals ever differ.
        """
        locations = getattr(self, "_row_locations", None)
        if not hasattr(locations, "get_key") or not hasattr(self, "_update_count"):
            position = {id(self._lines[key]): index for index, key in enumerate(order)}
            self.sort(key=lambda cells: position[id(cells[0])])
            return
        assert locations is not None
        first = next(i for i, (a, b) in enumerate(zip(current, order, strict=True)) if a != b)
        last = len(order) - next(
            i
            for i, (a, b) in enumerate(zip(reversed(current), reversed(order), strict=True))
            if a != b
        )
        keys = [RowKey(order[index]) for index in range(first, last)]
        for index, row_key in enumerate(keys, start=first):
            locations[row_key] = index
        if not self._patch_order(first, keys):
            self._update_count += 1  # DataTable recomputes its row order and offsets
            self.refresh()

    def _patch_order(self, first: int, keys: list[RowKey]) -> bool:
        """Move rows in DataTable's cached row order and line offsets; repaint the window.

        Recomputing them is O(rows) per frame (30 ms at 10,000 rows), and every row is one
        line here, so the rows at positions ``first …`` are simply the rows of ``keys``.
        Returns False (the caller invalidates everything) when a row is taller than one line
        or DataTable's caches are not what this expects.
        """
        rows = getattr(self, "rows", None)
        ordered_cache = getattr(self, "_ordered_row_cache", None)
        offset_cache = getattr(self, "_offset_cache", None)
        caches = self._render_caches()
        if not isinstance(rows, dict) or ordered_cache is None or offset_cache is None:
            return False
        if caches is None or any(getattr(rows.get(key), "height", 0) != 1 for key in keys):
            return False
        ordered = ordered_cache.get((self.row_count, self._update_count))
        offsets = offset_cache.get(self._update_count)
        if ordered is not None and len(ordered) != self.row_count:
            return False
        if offsets is not None and len(offsets) != self.row_count:
            return False
        for index, row_key in enumerate(keys, start=first):
            if ordered is not None:
                ordered[index] = rows[row_key]
            if offsets is not None:
                offsets[index] = (row_key, 0)
        for cache in caches:
            cache.clear()
        top = first + (self.header_height if self.show_header else 0)
        width = max(self.size.width, self.virtual_size.width)
        self._refresh_region(Region(0, top, width, len(keys)))
        return True

    def _render_caches(self) -> list[Any] | None:
        """DataTable's caches of rendered rows, cells, lines and row renderables (or None)."""
        caches = [
            getattr(self, name, None)
            for name in (
                "_row_render_cache",
                "_cell_render_cache",
                "_line_cache",
                "_row_renderable_cache",
            )
        ]
        return caches if all(hasattr(cache, "clear") for cache in caches) else None

    def _replace_line(self, key: str, line: RowLine) -> None:
        """Put ``line`` in the row of ``key`` and repaint that row only.

        ``update_cell`` would make DataTable recompute the order and the offsets of every row
        (O(rows): 30 ms a frame at 10,000 rows) and redraw every visible one; a line of the
        same height at the same place needs neither. Its render caches are dropped (they are
        keyed by an update count that is not moved here). Falls back to ``update_cell`` if
        DataTable's internals ever differ.
        """
        data = getattr(self, "_data", None)
        caches = self._render_caches()
        row_key = RowKey(key)
        if not isinstance(data, dict) or row_key not in data or caches is None:
            self.update_cell(key, ROW_COLUMN, line)
            return
        data[row_key][ColumnKey(ROW_COLUMN)] = line
        for cache in caches:
            cache.clear()
        self.refresh_row(self.get_row_index(key))

    def _add(self, session: Row, now: float) -> None:
        """Append a row for ``session``."""
        mark = self._mark_of(session.key)
        line = self._lines[session.key] = RowLine(self._columns_spec, session, now, mark)
        self.add_row(line, key=session.key)
        self._shown[session.key] = session

    def _refill(self, sessions: dict[str, Row], now: float) -> None:
        """Clear the rows and add every session again (first show, or a mass removal)."""
        self.clear(columns=False)
        self._shown, self._lines = {}, {}
        if not self._append(sessions.values(), now):
            for session in sessions.values():
                self._add(session, now)

    def _append(self, sessions: Iterable[Row], now: float) -> bool:
        """Append a row per session in one operation, as ``add_row`` would one by one.

        ``add_row`` does per row what is needed once per batch: it re-sets the cursor (a
        reactive), queues the row to be measured when the table is next idle and moves the
        update count; at 10,000 rows that was half a second. Every row here is one line of a
        fixed-width column, so measuring rows can change nothing: they are not queued; the
        table's size is recomputed once. The caller guarantees unique keys not yet in the
        table (:meth:`show` removes duplicates, :meth:`_refill` clears first).

        Returns:
            False, having added nothing, when DataTable's internals are not what this
            expects (the caller then uses ``add_row``).
        """
        data = getattr(self, "_data", None)
        rows = getattr(self, "rows", None)
        locations = getattr(self, "_row_locations", None)
        if (
            not isinstance(data, dict)
            or not isinstance(rows, dict)
            or not hasattr(locations, "get_key")
            or not hasattr(self, "_update_count")
            or not hasattr(self, "_require_update_dimensions")
            or list(self.columns) != [ColumnKey(ROW_COLUMN)]
            or self.columns[ColumnKey(ROW_COLUMN)].auto_width
        ):
            return False
        assert locations is not None
        column = ColumnKey(ROW_COLUMN)
        spec = self._columns_spec
        index = start = self.row_count
        for session in sessions:
            key = session.key
            line = self._lines[key] = RowLine(spec, session, now, self._mark_of(key))
            self._shown[key] = session
            row_key = RowKey(key)
            locations[row_key] = index
            data[row_key] = {column: line}
            rows[row_key] = TableRow(row_key, 1)
            index += 1
        if index == start:
            return True
        self._require_update_dimensions = True  # the virtual size, once
        self.cursor_coordinate = self.cursor_coordinate  # clamped, once
        if start == 0 and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()  # a row is highlighted now (as add_row announces it)
        self._update_count += 1
        self.check_idle()
        return True

    def session_at_cursor(self) -> Session | None:
        """The session under the cursor as last shown (``None`` on a group header)."""
        key = self.selected_key
        row = self._shown.get(key) if key else None
        return None if row is None or isinstance(row, GroupHeader) else row
