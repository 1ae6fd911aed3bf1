"""The header line at every width: the filter's value stays in view, warnings end with ``…``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from rich.text import Text
from textual.widgets import Static

from sessiontui.ui import render
from sessiontui.ui.screens.help import HelpScreen
from tests.ui.fixed_data import HOME
from tests.ui.test_layout import fixed_app, show_fixed
from tests.ui.test_remote_rows import remote_app, show_remote
from tests.ui.world import wait_for

if TYPE_CHECKING:
    from sessiontui.ui.app import SessionTUI

COUNTS = " ◆1 ●3 ○1 ◐1 \u00d71"  # the dead glyph is a multiplication sign
WARNING = "  ⚠ host:gpu: unreachable (ssh: connect to host gpu port 22: Connection refused)"


@pytest.fixture(autouse=True)
def fixed_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "HOME", HOME)


def header(app: SessionTUI) -> str:
    content = app.query_one("#summary", Static).content
    assert isinstance(content, Text)
    return content.plain


def line(filter_text: str, width: int, warnings: str = "") -> str:
    return render.header_line(
        Text(" sessiontui "), Text(COUNTS), filter_text, Text(warnings),
        "sort: urgency", width,
    ).plain  # fmt: skip


def test_a_wide_line_shows_everything():
    assert line("s:busy", 80) == f" sessiontui {COUNTS}  filter: s:busy  sort: urgency"


def test_a_narrow_line_keeps_the_filter_value_in_a_short_chip():
    assert line("s:busy", 40) == f" sessiontui {COUNTS}  /s:busy"


def test_a_filter_too_long_for_the_line_ends_with_an_ellipsis():
    shown = line("a-very-long-filter-text", 40)
    assert len(shown) == 40
    assert shown.startswith(f" sessiontui {COUNTS}  /a-very")
    assert shown.endswith("…")


@pytest.mark.parametrize("width", [40, 80, 120, 160])
def test_warnings_are_cut_with_an_ellipsis_after_the_filter(width):
    shown = line("s:busy", width, WARNING)
    assert len(shown) <= width
    assert "s:busy" in shown
    if len(f" sessiontui {COUNTS}  /s:busy") + len(WARNING) > width:
        assert shown.endswith("…")
        assert len(shown) == width
    else:
        assert "Connection refused)" in shown
        assert "…" not in shown


async def test_header_at_40_columns_shows_the_filter_value(tmp_path):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(40, 30)) as pilot:
        await show_fixed(pilot)
        await pilot.press("slash", *"s:busy")
        await wait_for(pilot, lambda: header(app).endswith("/s:busy"))
        assert len(header(app)) <= 40


async def test_a_cut_warning_is_whole_on_the_help_screen(tmp_path):
    app = remote_app(tmp_path)
    async with app.run_test(size=(80, 30)) as pilot:
        await show_remote(pilot)
        shown = header(app)
        assert len(shown) == 80
        assert shown.endswith("…")
        assert "⚠ host" in shown
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        problems = app.screen.query_one("#help-problems", Static).content
        assert "port 22: Connection refused" in str(problems.rows)  # type: ignore[attr-defined]
