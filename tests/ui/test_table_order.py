"""The session table keeps DataTable's row order, its keys and the cursor in step with snapshots."""

from __future__ import annotations

import random
import re

import pyte
from textual._compositor import CompositorUpdate
from textual.app import App, ComposeResult

from sessiontui.model.types import Session, Status, StatusSource, with_changes
from sessiontui.ui.widgets.session_table import SessionTable

STATUSES = (Status.WAITING, Status.BUSY, Status.IDLE, Status.DEAD)


def session(n: int, status: Status, changed: float) -> Session:
    return Session(
        key=f"claude:{n}:1",
        pid=n,
        agent="claude",
        name=f"s{n}",
        status=status,
        status_source=StatusSource.REGISTRY,
        status_changed_at=changed,
    )


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SessionTable()


def table_order(table: SessionTable) -> list[str]:
    return [
        str(table.coordinate_to_cell_key((row, 0)).row_key.value) for row in range(table.row_count)
    ]


async def test_random_reorders_additions_and_removals_keep_order_and_cursor():
    rng = random.Random(3)
    sessions = {n: session(n, rng.choice(STATUSES), float(n)) for n in range(300)}
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(SessionTable)
        table.set_layout(narrow=False, width=100)
        next_n = 300
        for step in range(60):
            for n in rng.sample(sorted(sessions), 5):  # status changes: rows move
                sessions[n] = with_changes(
                    sessions[n], status=rng.choice(STATUSES), status_changed_at=1000.0 + step
                )
            if step % 7 == 3:  # a few come and go
                for n in rng.sample(sorted(sessions), 3):
                    del sessions[n]
                for _ in range(2):
                    sessions[next_n] = session(next_n, Status.BUSY, 2000.0 + step)
                    next_n += 1
            shown = sorted(
                sessions.values(),
                key=lambda s: (s.status.sort_rank, -(s.status_changed_at or 0.0), s.key),
            )
            kept = table.selected_key
            table.show(shown, 0.0)
            await pilot.pause()
            assert table_order(table) == [s.key for s in shown]
            assert table.row_keys == [s.key for s in shown]
            if kept is not None and kept in table.row_keys:
                assert table.selected_key == kept  # the cursor follows its session
            for index in (0, len(shown) // 2, len(shown) - 1):
                assert table.get_cell_at((index, 0)).session is shown[index]
            if step % 5 == 0:
                table.move_cursor(row=rng.randrange(len(shown)))


class Terminal:
    """What a real terminal shows: every frame the app writes, applied to a ``pyte`` screen.

    Frames are partial updates (only the lines Textual found dirty), so a line DataTable
    failed to repaint keeps its old text here, as it would on a user's screen.
    """

    def __init__(self, app: App[None], width: int, height: int) -> None:
        self.screen = pyte.Screen(width, height)
        self.stream = pyte.Stream(self.screen)
        original = app._display

        def display(screen: object, renderable: object) -> None:
            original(screen, renderable)  # type: ignore[arg-type]
            if isinstance(renderable, CompositorUpdate):
                self.stream.feed(renderable.render_segments(app.console))

        app._display = display  # type: ignore[method-assign]

    def names(self) -> list[str]:
        """The session names (``s<n>``) on the screen, top to bottom."""
        out = []
        for line in self.screen.display:
            match = re.search(r"\bs(\d+)\b", line)
            if match:
                out.append(f"s{match.group(1)}")
        return out


def table_sessions(table: SessionTable) -> list[Session]:
    return [table.get_cell_at((row, 0)).session for row in range(table.row_count)]


async def test_the_screen_shows_every_reorder_and_update_painted_in_place():
    """Rows moved and lines replaced without DataTable's full invalidation are repainted."""
    rng = random.Random(5)
    width, height = 100, 30
    sessions = {n: session(n, rng.choice(STATUSES[:3]), float(n)) for n in range(200)}
    app = TableApp()
    terminal = Terminal(app, width, height)
    async with app.run_test(size=(width, height)) as pilot:
        table = app.query_one(SessionTable)
        table.set_layout(narrow=False, width=width)
        for step in range(40):
            top = [s.pid for s in table_sessions(table)[:20]] or [0, 1]
            for n in rng.sample(sorted(sessions), 2) + rng.sample(top, 2):
                if step % 2:  # a status change: the row moves
                    sessions[n] = with_changes(
                        sessions[n], status=rng.choice(STATUSES), status_changed_at=1e3 + step
                    )
                else:  # a line that changes in place (its name)
                    sessions[n] = with_changes(sessions[n], agent=f"a{step}")
            shown = sorted(
                sessions.values(),
                key=lambda s: (s.status.sort_rank, -(s.status_changed_at or 0.0), s.key),
            )
            table.show(shown, 0.0)
            await pilot.pause()
            await pilot.pause()
            visible = [s.name for s in shown[table.scroll_offset.y :]][: len(terminal.names())]
            assert terminal.names() == visible, f"step {step}"
            assert len(visible) >= height - 3
            for s in shown[table.scroll_offset.y :][: len(visible)]:
                line = next(line for line in terminal.screen.display if f" {s.name} " in line)
                assert f" {s.agent} " in line, f"step {step}: {s.name} shows a stale line"


async def test_group_headers_numbers_and_pins_are_painted_through_the_fast_path():
    """Header rows, ``1``-``9`` numbers and pin marks stay right on screen while rows move."""
    from sessiontui.model.ordering import (
        GroupHeader,
        GroupMode,
        SortMode,
        StableNumbers,
        group_rows,
        sort_sessions,
    )
    from sessiontui.ui.widgets.session_table import PIN_GLYPH

    rng = random.Random(11)
    width, height = 100, 40
    sessions = {
        n: with_changes(session(n, rng.choice(STATUSES[:3]), float(n)), cwd=f"/p/g{n % 4}")
        for n in range(24)
    }
    numbers = StableNumbers()
    app = TableApp()
    terminal = Terminal(app, width, height)
    async with app.run_test(size=(width, height)) as pilot:
        table = app.query_one(SessionTable)
        table.set_layout(narrow=False, width=width)
        first: dict[str, int] = {}
        for step in range(30):
            for n in rng.sample(sorted(sessions), 3):
                sessions[n] = with_changes(
                    sessions[n], status=rng.choice(STATUSES[:3]), status_changed_at=1e3 + step
                )
            urgency = sorted(
                sessions.values(),
                key=lambda s: (s.status.sort_rank, -(s.status_changed_at or 0.0), s.key),
            )
            pinned = {"claude:5:1", "claude:17:1"}
            ordered = sort_sessions(urgency, SortMode.URGENCY, pinned=pinned)
            folded = {"/p/g3"} if step >= 15 else set()
            rows = group_rows(ordered, GroupMode.PROJECT, collapsed=folded)
            shown = [r for r in rows if not isinstance(r, GroupHeader)]
            marks = numbers.update([s.key for s in shown], bool(folded))
            if step in (0, 15):
                first = dict(marks)
            assert marks == first  # a status change never renumbers
            table.show(rows, 0.0, numbers=marks, pinned=pinned)
            await pilot.pause()
            await pilot.pause()
            lines = [line for line in terminal.screen.display if line.strip()][1:]  # no header
            assert len(lines) == len(rows), f"step {step}"
            for row, line in zip(rows, lines, strict=True):
                if isinstance(row, GroupHeader):
                    assert row.label in line, f"step {step}"
                    assert ("▸" if row.collapsed else "▾") in line
                    continue
                assert f" {row.name} " in line, f"step {step}"
                number = marks.get(row.key)
                assert line[0] == (str(number) if number else " "), f"step {step}: {line}"
                assert line[1] == (PIN_GLYPH if row.key in pinned else " ")


def test_group_header_shows_untrusted_names_as_plain_text():
    from sessiontui.model.ordering import GroupHeader
    from sessiontui.ui.widgets.session_table import group_text, wide_columns

    header = GroupHeader(
        key="group\x1fx",
        group="/srv/evil\x1b]0;pwned\x07[bold red]x[/]",
        label="evil\x1b]0;pwned\x07[bold red]x[/]",
        detail="/srv/evil\x1b]0;pwned\x07[bold red]x[/]",
        counts=((Status.WAITING, 2), (Status.DEAD, 1)),
        size=3,
        collapsed=True,
    )
    columns = wide_columns(120)
    text = group_text(columns, header)
    assert "\x1b" not in text.plain
    assert "\x07" not in text.plain
    assert "evil\\x1b]0;pwned\\x07[bold red]x[/]" in text.plain
    assert text.plain.startswith(" ▸ evil")
    assert text.plain.rstrip().endswith("◆2 ✕1")
    assert text.cell_len == sum(c.width for c in columns) + 2 * (len(columns) - 1) + 4


class HighlightApp(TableApp):
    def __init__(self) -> None:
        super().__init__()
        self.highlighted: list[str | None] = []

    def on_data_table_row_highlighted(self, event: SessionTable.RowHighlighted) -> None:
        self.highlighted.append(event.row_key.value)


async def test_rows_appended_in_one_go_behave_like_rows_added_one_by_one():
    """The first show (one bulk append) gives what ``add_row`` per row gives.

    Compared with rows added by ``add_row`` later (a session that appears): same keys and
    lines, a scrollable size covering every row, the cursor's row announced, the last row
    reachable and painted.
    """
    width, height = 100, 20
    first = [session(n, Status.DEAD, float(-n)) for n in range(500)]
    app = HighlightApp()
    terminal = Terminal(app, width, height)
    async with app.run_test(size=(width, height)) as pilot:
        table = app.query_one(SessionTable)
        table.set_layout(narrow=False, width=width)
        table.show(first, 0.0)
        await pilot.pause()
        assert table.row_count == 500
        assert table_order(table) == [s.key for s in first]
        assert table.virtual_size.height == 500 + 1  # every row, and the header
        assert app.highlighted == [first[0].key]  # as add_row announces the first row
        assert terminal.names()[:3] == ["s0", "s1", "s2"]
        later = [*first, session(500, Status.DEAD, -500.0)]  # one new row: add_row
        table.show(later, 0.0)
        await pilot.pause()
        assert table.virtual_size.height == 501 + 1
        table.move_cursor(row=500)
        await pilot.pause()
        await pilot.pause()
        assert table.selected_key == later[-1].key
        assert terminal.names()[-2:] == ["s499", "s500"]
        assert table.get_cell_at((499, 0)).session is first[499]


async def test_a_mass_removal_refills_in_one_go_and_keeps_the_cursor():
    sessions = [session(n, Status.IDLE, float(-n)) for n in range(300)]
    app = TableApp()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(SessionTable)
        table.set_layout(narrow=False, width=100)
        table.show(sessions, 0.0)
        table.move_cursor(row=250)
        await pilot.pause()
        kept = sessions[250].key
        rest = [s for s in sessions if s.pid % 3 == 1 or s.key == kept]  # 200 rows go
        table.show(rest, 0.0)
        await pilot.pause()
        assert table_order(table) == [s.key for s in rest]
        assert table.selected_key == kept
        assert table.virtual_size.height == len(rest) + 1
