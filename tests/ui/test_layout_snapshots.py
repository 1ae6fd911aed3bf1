"""SVG snapshots of every view at 40x30, 80x24 and 160x45, and of the light and ansi themes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from sessiontui.config import Config
from sessiontui.model.monitor import Monitor
from sessiontui.ui import render
from sessiontui.ui.app import make_app
from sessiontui.ui.messages import SnapshotChanged
from sessiontui.ui.themes import THEMES
from sessiontui.ui.widgets.detail import DetailPanel
from tests.ui.fixed_data import HOME, NOW, fixed_snapshot

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from textual.pilot import Pilot

    from sessiontui.ui.app import SessionTUI

SIZES = [(40, 30), (80, 24), (160, 45)]
PREVIEW = "● Running pytest -q\n  212 passed, 1 failed\n● Fixing tests/test_api.py\n> "


@pytest.fixture(autouse=True)
def fixed_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Paths shortened against the fixed data's home; the dark theme restored after."""
    monkeypatch.setattr(render, "HOME", HOME)
    yield
    render.use_theme(THEMES["dark"])


def fixed_app(tmp_path: Path, theme: str | None = None) -> SessionTUI:
    """The app on fixed data: a monitor that is never started, a frozen clock, no toasts."""
    monitor = Monitor(sessions_dir=tmp_path / "sessions")
    config = Config(notify_waiting=False, theme=theme)
    return make_app(monitor, clock=lambda: NOW, watch=False, config=config)


async def show_fixed(pilot: Pilot[None], *keys: str) -> None:
    pilot.app.post_message(SnapshotChanged(fixed_snapshot()))
    await pilot.pause()
    await pilot.press(*keys)
    await pilot.pause()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_main(snap_compare, tmp_path, width, height):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot)

    assert snap_compare(fixed_app(tmp_path), terminal_size=(width, height), run_before=run_before)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_detail_with_preview(snap_compare, tmp_path, width, height):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot, "down")
        pilot.app.query_one(DetailPanel).show_preview(PREVIEW)
        await pilot.pause()

    assert snap_compare(fixed_app(tmp_path), terminal_size=(width, height), run_before=run_before)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_dead_row(snap_compare, tmp_path, width, height):
    """The dead session selected: the footer shows D (dismiss); dimmed keys make room."""

    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot, *["down"] * 6)

    assert snap_compare(fixed_app(tmp_path), terminal_size=(width, height), run_before=run_before)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_help(snap_compare, tmp_path, width, height):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot, "question_mark")

    assert snap_compare(fixed_app(tmp_path), terminal_size=(width, height), run_before=run_before)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_kill_confirm(snap_compare, tmp_path, width, height):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot, "down", "K")

    assert snap_compare(fixed_app(tmp_path), terminal_size=(width, height), run_before=run_before)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_rename(snap_compare, tmp_path, width, height):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot, "down", "r")

    assert snap_compare(fixed_app(tmp_path), terminal_size=(width, height), run_before=run_before)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_reply_input(snap_compare, tmp_path, width, height):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot, "down", "s", *"run only the failing test")

    assert snap_compare(fixed_app(tmp_path), terminal_size=(width, height), run_before=run_before)


@pytest.mark.parametrize("theme", ["light", "ansi"])
def test_theme(snap_compare, tmp_path, theme):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot, "down")
        pilot.app.query_one(DetailPanel).show_preview(PREVIEW)
        await pilot.pause()

    app = fixed_app(tmp_path, theme)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
