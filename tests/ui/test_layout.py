"""The layout at every size: footer, dialogs, help, notifications, preview, AGE (issue 9.6)."""

from __future__ import annotations

import io
import itertools
import re
from typing import TYPE_CHECKING

import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.widgets import Button, Input, Static
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast

from sessiontui.model.monitor import Monitor
from sessiontui.ui import render
from sessiontui.ui.app import MainTable, make_app
from sessiontui.ui.messages import SnapshotChanged
from sessiontui.ui.screens.confirm import ConfirmScreen
from sessiontui.ui.screens.help import STATUS_HELP, HelpScreen, KeyList, action_rows
from sessiontui.ui.widgets.detail import DetailPanel
from sessiontui.ui.widgets.footer import SessionFooter
from tests.ui.fixed_data import HOME, NOW, fixed_snapshot
from tests.ui.world import select, wait_for

if TYPE_CHECKING:
    from pathlib import Path

    from textual.pilot import Pilot

    from sessiontui.ui.app import SessionTUI


@pytest.fixture(autouse=True)
def fixed_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "HOME", HOME)


class Clock:
    """A wall clock the test moves by hand (seconds since the epoch)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def fixed_app(tmp_path: Path, clock: Clock | None = None) -> SessionTUI:
    monitor = Monitor(sessions_dir=tmp_path / "sessions")
    return make_app(monitor, clock=clock or (lambda: NOW), watch=False)


async def show_fixed(pilot: Pilot[None]) -> None:
    pilot.app.post_message(SnapshotChanged(fixed_snapshot()))
    await pilot.pause()


async def show_fixed_on(pilot: Pilot[None], name: str) -> None:
    """The fixed snapshot, with the cursor on the row named ``name``."""
    await show_fixed(pilot)
    await select(pilot, name)
    await pilot.pause()


def footer_keys(app: SessionTUI) -> list[FooterKey]:
    return list(app.screen.query_one(SessionFooter).query(FooterKey))


def messages(app: SessionTUI) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.mark.parametrize(("width", "height"), [(40, 30), (80, 24), (120, 40), (160, 45)])
async def test_footer_shows_help_and_quit_at_every_width(tmp_path, width, height):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(width, height)) as pilot:
        await show_fixed(pilot)
        await pilot.pause()
        keys = footer_keys(app)
        shown = {k.key_display: k for k in keys}
        assert "?" in shown
        assert "q" in shown
        assert shown["?"].description == "Help"
        spans = sorted((k.region.x, k.region.right) for k in keys)
        for (_, right), (left, _) in itertools.pairwise(spans):
            assert right <= left  # no key drawn over another
        assert all(x >= 0 and right <= width for x, right in spans)
        assert shown["⏎"].region.width > 0  # the first key of the table still fits
        if width >= 160:  # everything fits: nothing was left out
            assert {"⏎", "d", "r", "x", "K", "s", "w", "n", "/"} <= set(shown)


async def test_footer_drops_dimmed_keys_before_keys_that_apply(tmp_path):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(60, 24)) as pilot:
        await show_fixed(pilot)
        await select(pilot, "old-spike")  # dead: attach, detach, rename, kill … are dimmed
        await pilot.pause()
        keys = {k.key_display: k for k in footer_keys(app)}
        assert "D" in keys
        assert not keys["D"].has_class("-disabled")
        assert {"?", "q", "w", "n"} <= set(keys)
        assert not any(key.has_class("-disabled") for key in keys.values())  # no room for them


async def test_footer_is_recomposed_only_when_what_it_shows_changed(tmp_path):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await show_fixed_on(pilot, "flaky-tests")
        before = footer_keys(app)
        app.screen.refresh_bindings()  # the screen signals; nothing the footer shows changed
        await pilot.pause()
        await pilot.pause()
        assert footer_keys(app) == before  # the same widgets: not mounted again
        await select(pilot, "old-spike")  # a dead row: D appears, other keys are dimmed
        await wait_for(pilot, lambda: "D" in {k.key_display for k in footer_keys(app)})
        assert footer_keys(app) != before


async def test_footer_keys_follow_the_compact_style_across_a_resize(tmp_path):
    def compact() -> set[bool]:  # the palette key is always compact, as in Textual's Footer
        keys = footer_keys(app)
        return {k.has_class("-compact") for k in keys if not k.has_class("-command-palette")}

    app = fixed_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await show_fixed(pilot)
        assert compact() == {False}
        await pilot.resize_terminal(40, 30)
        await wait_for(pilot, lambda: compact() == {True})
        await pilot.resize_terminal(120, 30)
        await wait_for(pilot, lambda: compact() == {False})


async def test_dismiss_key_is_shown_only_on_dead_rows(tmp_path):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await show_fixed_on(pilot, "flaky-tests")
        assert "D" not in {k.key_display for k in footer_keys(app)}
        await select(pilot, "old-spike")
        await wait_for(pilot, lambda: "D" in {k.key_display for k in footer_keys(app)})


async def test_keys_that_do_not_apply_say_why(tmp_path):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await show_fixed(pilot)
        await select(pilot, "old-spike")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("old-spike has ended" in m for m in messages(app)))
        await pilot.press("K")
        assert not isinstance(app.screen, ConfirmScreen)
        await select(pilot, "flaky-tests")
        await pilot.press("D")
        await wait_for(
            pilot,
            lambda: (
                "flaky-tests is busy: only a dead session is dismissed (K kills)" in messages(app)
            ),
        )


async def test_no_stale_preview_under_no_session_selected(tmp_path):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_fixed(pilot)
        panel = app.query_one(DetailPanel)
        panel.show_preview("● pane of api-refactor")
        await pilot.pause()
        preview = app.query_one("#detail-preview", Static)
        assert preview.display
        await pilot.press("slash", *"no-such-session")
        await wait_for(pilot, lambda: app.query_one(MainTable).row_count == 0)
        await pilot.pause()
        assert not preview.display
        assert "No session selected" in str(app.query_one("#detail-fields", Static).render())


async def test_preview_of_one_session_is_not_shown_under_another(tmp_path):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_fixed(pilot)
        app.query_one(DetailPanel).show_preview("● pane of api-refactor")
        await pilot.pause()
        await pilot.press("down")
        await pilot.pause()
        assert not app.query_one("#detail-preview", Static).display


async def test_age_ticks_while_nothing_else_changes(tmp_path):
    clock = Clock(NOW)
    app = fixed_app(tmp_path, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await show_fixed(pilot)
        table = app.query_one(MainTable)
        key = next(s.key for s in fixed_snapshot().sessions if s.name == "docs-site")
        other = next(s.key for s in fixed_snapshot().sessions if s.name == "api-refactor")
        assert re.search(r"\b50s\b", str(table.get_cell(key, "row")))
        number = str(table.get_cell(key, "row"))[:2]
        assert number.strip().isdigit()  # the row's 1-9 number
        before = table.get_cell(other, "row")
        clock.now = NOW + 3
        await wait_for(pilot, lambda: "53s" in str(table.get_cell(key, "row")))
        assert str(table.get_cell(key, "row"))[:2] == number  # the tick keeps the number
        assert table.get_cell(other, "row") is before  # "3h" still: that row is not touched
        assert table.tick_ages(NOW + 3.5) == 0  # same text: nothing repainted
        # Ticks before the next label change skip the rows; the one after it repaints.
        assert table.tick_ages(NOW + 3.9) == 0
        assert table.tick_ages(NOW + 10.0) >= 1
        assert re.search(r"\b1m\b", str(table.get_cell(key, "row")))


async def test_help_screen_holds_notifications_until_it_closes(tmp_path):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(40, 30), notifications=True) as pilot:
        await show_fixed(pilot)
        app.notify("before the help", markup=False)
        await pilot.pause()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        app.notify("during the help", markup=False)
        await pilot.pause()
        assert not list(app.screen.query(Toast))
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(list(app.screen.query(Toast))) == 2)
        assert messages(app) == ["before the help", "during the help"]
        assert all(toast.region.height > 0 for toast in app.screen.query(Toast))


async def test_toasts_do_not_cover_the_detail_panel(tmp_path):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await show_fixed(pilot)
        app.notify("api-refactor is waiting (permission prompt)", title="Waiting for you")
        await wait_for(pilot, lambda: bool(list(app.screen.query(Toast))))
        await pilot.pause()
        detail = app.query_one(DetailPanel).region
        for toast in app.screen.query(Toast):
            assert not toast.region.overlaps(detail)


async def test_narrow_kill_dialog_shows_whole_button_labels(tmp_path):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(40, 30)) as pilot:
        await show_fixed(pilot)
        await select(pilot, "flaky-tests")
        await pilot.press("K")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.pause()
        dialog = app.screen.query_one("#dialog").region
        for button in app.screen.query(Button):
            label = str(button.label)
            assert button.content_region.width >= len(label), label
            assert dialog.contains_region(button.region)


def rendered_lines(renderable: object, width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    return [
        "".join(segment.text for segment in line).rstrip()
        for line in console.render_lines(renderable, console.options.update_width(width))
    ]


@pytest.mark.parametrize("width", [30, 34, 76])
def test_help_wraps_on_word_boundaries(width):
    rows = action_rows(lambda key: key)
    lines = rendered_lines(KeyList("Keys", rows), width)
    words = {word for key, text in [*rows, *STATUS_HELP] for word in f"{key} {text}".split()}
    words.add("Keys")
    for line in lines:
        assert len(line) <= width
        for word in line.split():
            assert word in words, f"{word!r} is cut in {line!r}"
    text = " ".join(" ".join(lines).split())
    for _key, description in rows:
        assert description in text


@pytest.mark.parametrize("width", [40, 80, 160])
async def test_footer_in_the_filter_shows_keys_that_work_there(tmp_path, width):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(width, 30)) as pilot:
        await show_fixed(pilot)
        await pilot.press("slash", *"s:busy")
        await wait_for(pilot, lambda: "esc" in {k.key_display for k in footer_keys(app)})
        shown = {k.key_display: k.description for k in footer_keys(app)}
        assert shown["⏎"] == "Apply"
        assert shown["esc"] == "Clear"
        assert shown["^c"] == "Quit"
        assert not {"/", "?", "q"} & set(shown)  # the input would type them
        await pilot.press("escape")  # what the footer says escape does
        await wait_for(pilot, lambda: "?" in {k.key_display for k in footer_keys(app)})
        assert app.filter_text == ""


async def test_footer_in_the_reply_input_offers_no_key_it_would_type(tmp_path):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_fixed(pilot)
        await pilot.press("down", "s")
        await wait_for(pilot, lambda: "esc" in {k.key_display for k in footer_keys(app)})
        shown = {k.key_display: k.description for k in footer_keys(app)}
        assert shown == {"⏎": "Send", "esc": "Cancel", "^c": "Quit", "^p": "palette"}
        reply = app.query_one("#reply", Input)
        await pilot.press("slash", "question_mark", "q")  # typed, not run
        assert reply.value == "/?q"
        assert app.filter_text == ""
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("escape")  # what the footer says escape does
        await wait_for(pilot, lambda: "s" in {k.key_display for k in footer_keys(app)})
        assert app.reply_key is None
        await pilot.press("s", "ctrl+p")  # ^p, which the footer offers, works from the input
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))


async def test_ctrl_c_shown_in_the_filter_footer_quits_from_there(tmp_path):
    app = fixed_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_fixed(pilot)
        await pilot.press("slash", "a")
        await wait_for(pilot, lambda: "^c" in {k.key_display for k in footer_keys(app)})
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0
