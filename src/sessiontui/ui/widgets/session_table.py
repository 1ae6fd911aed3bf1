"""The session table: one row per session, keyed by session identity, updated cell by cell."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.widgets import DataTable

from sessiontui.ui import render

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

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
COLUMN_ORDER = ("status", "name", "agent", "where", "cwd", "age", "activity", "cpu")
_FIXED_WIDTHS = {"status": 9, "agent": 6, "age": 4, "activity": SPARK_WIDTH, "cpu": 4}
#: Shares of the remaining width for the flexible columns.
_FLEX_SHARES = {"name": 7, "where": 6, "cwd": 7}


def _wide_column(key: str, width: int) -> Column:
    """The wide-layout column ``key`` at ``width`` cells."""
    cells: dict[str, Callable[[Session, float], Text]] = {
        "status": lambda s, now: render.status_cell(s.status),
        "name": lambda s, now: render.plain(s.name, max_len=width, dim=not s.alive),
        "agent": lambda s, now: render.plain(s.agent),
        "where": lambda s, now: render.plain(render.where(s), max_len=width),
        "cwd": lambda s, now: render.plain_tail(render.cwd(s), width),
        "age": lambda s, now: Text(render.age(s, now)),
        "activity": lambda s, now: render.sparkline(s.activity, width),
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
    fixed = sum(_FIXED_WIDTHS.get(k, 0) for k in keys)
    flex = [k for k in keys if k in _FLEX_SHARES]
    spare = max(8 * len(flex), width - fixed - len(keys) * _PADDING_PER_COLUMN - _SCROLLBAR)
    total_share = sum(_FLEX_SHARES[k] for k in flex) or 1
    widths = {k: spare * _FLEX_SHARES[k] // total_share for k in flex}
    if flex:
        widths[flex[-1]] += spare - sum(widths.values())
    return tuple(_wide_column(k, _FIXED_WIDTHS.get(k) or widths[k]) for k in keys)


def narrow_columns(width: int) -> tuple[Column, ...]:
    """Glyph, name and sparkline; the name takes what the terminal ``width`` leaves."""
    name_width = max(8, width - 1 - NARROW_SPARK_WIDTH - 3 * _PADDING_PER_COLUMN - _SCROLLBAR)
    return (
        Column("status", " ", 1, lambda s, now: render.status_cell(s.status, word=False)),
        Column(
            "name",
            "NAME",
            name_width,
            lambda s, now: render.plain(s.name, max_len=name_width, dim=not s.alive),
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
#: Spaces between two columns of the line (DataTable's own padding is one on each side).
_GAP = "  "


def row_text(columns: Sequence[Column], session: Session, now: float) -> Text:
    """One table line: every column's cell cut or padded to its width, separated by a gap."""
    parts: list[Text] = []
    for column in columns:
        cell = column.cell(session, now)
        text = cell.copy()
        text.truncate(column.width, overflow="ellipsis", pad=True)
        parts.append(text)
    return Text(_GAP).join(parts)


def header_text(columns: Sequence[Column]) -> Text:
    """The header line matching :func:`row_text`'s layout."""
    labels = [Text(c.label).copy() for c in columns]
    for label, column in zip(labels, columns, strict=True):
        label.truncate(column.width, pad=True)
    return Text(_GAP).join(labels)


class SessionTable(DataTable[Text]):
    """A :class:`DataTable` that shows a :class:`Snapshot`, one pre-formatted line per row.

    Rows are keyed by :attr:`Session.key`, so a rename or an update never moves the cursor
    off its session; when the order changes (a status change), the rows are re-laid and the
    cursor follows the session it was on. Only changed rows are updated otherwise.

    The table has a single column holding the whole line: DataTable re-renders every
    visible cell after any update, so eight columns of 50 rows cost ~400 Rich renders a
    frame; one column costs 50 (``benchmarks/status_latency.py``).
    """

    DEFAULT_CSS: ClassVar[str] = ""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.narrow = False
        self.wanted_columns: tuple[str, ...] | None = None
        """Wide-layout columns to show (config ``columns``); ``None`` means all."""
        self._columns_spec: tuple[Column, ...] = ()
        self._shown: dict[str, Session] = {}
        self._order: list[str] = []
        self._now = 0.0

    @property
    def row_keys(self) -> list[str]:
        """Session keys of the rows, top to bottom."""
        return list(self._order)

    @property
    def selected_key(self) -> str | None:
        """Key of the session under the cursor, or ``None`` when the table is empty."""
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        return self._order[self.cursor_row]

    def set_layout(self, *, narrow: bool, width: int) -> None:
        """Switch between the wide and the narrow column sets for a terminal ``width``."""
        spec = narrow_columns(width) if narrow else wide_columns(width, self.wanted_columns)
        if self._columns_spec and [c.width for c in spec] == [c.width for c in self._columns_spec]:
            return
        self.narrow = narrow
        self._columns_spec = spec
        selected = self.selected_key
        self.clear(columns=True)
        total = sum(c.width for c in spec) + len(_GAP) * (len(spec) - 1)
        self.add_column(header_text(spec), key=ROW_COLUMN, width=total)
        shown = list(self._shown.values())
        self._shown, self._order = {}, []
        self.show(shown, self._now, keep=selected)

    def show(self, sessions: Sequence[Session], now: float, *, keep: str | None = None) -> None:
        """Make the table show ``sessions`` in that order, touching as little as possible.

        Args:
            sessions: The rows to show, in display order.
            now: Wall-clock seconds for the age column.
            keep: Session key to keep the cursor on (default: the current one).
        """
        keep = keep or self.selected_key
        order = [s.key for s in sessions]
        age_due = int(now // 30) != int(self._now // 30)
        self._now = now
        if order != self._order:
            self._relayout(sessions, now, keep)
            return
        for session in sessions:
            old = self._shown.get(session.key)
            if old is session or (old == session and not age_due):
                continue
            self.update_cell(session.key, ROW_COLUMN, row_text(self._columns_spec, session, now))
            self._shown[session.key] = session

    def _relayout(self, sessions: Sequence[Session], now: float, keep: str | None) -> None:
        """Re-add every row in the new order and put the cursor back on ``keep``."""
        old_row = self.cursor_row
        self.clear(columns=False)
        self._shown = {}
        self._order = []
        for session in sessions:
            self.add_row(row_text(self._columns_spec, session, now), key=session.key)
            self._shown[session.key] = session
            self._order.append(session.key)
        if not self._order:
            return
        if keep is not None and keep in self._shown:
            self.move_cursor(row=self._order.index(keep), animate=False, scroll=True)
        else:
            self.move_cursor(row=min(max(old_row, 0), len(self._order) - 1), animate=False)

    def session_at_cursor(self) -> Session | None:
        """The session under the cursor as last shown."""
        key = self.selected_key
        return self._shown.get(key) if key else None
