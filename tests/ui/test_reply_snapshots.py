"""SVG snapshots of a waiting agent's question in the detail panel and of the reply input."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sessiontui.config import Config
from sessiontui.model.monitor import Monitor
from sessiontui.model.prompts import question_text
from sessiontui.ui import render
from sessiontui.ui.app import make_app
from sessiontui.ui.messages import SnapshotChanged
from sessiontui.ui.widgets.detail import DetailPanel
from tests.ui.fixed_data import HOME, NOW, fixed_snapshot

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from sessiontui.ui.app import SessionTUI

PANES = Path(__file__).parent.parent / "model" / "fixtures" / "panes"


@pytest.fixture(autouse=True)
def fixed_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorten paths (``~``) against the fixed data's home, not the ``$HOME`` of this run."""
    monkeypatch.setattr(render, "HOME", HOME)


def fixed_app(tmp_path: Path) -> SessionTUI:
    """The app on fixed data: a monitor that is never started, a frozen clock, no toasts."""
    monitor = Monitor(sessions_dir=tmp_path / "sessions")
    config = Config(notify_waiting=False)
    return make_app(monitor, clock=lambda: NOW, watch=False, config=config)


@pytest.mark.parametrize(("width", "height"), [(40, 45), (120, 40)])
def test_waiting_agent_shows_its_question(snap_compare, tmp_path, width, height):
    """The first row waits for a permission: the box Claude 2.1.332 drew, as plain text."""
    screen = (PANES / "claude-332-permission-60x30.txt").read_text(encoding="utf-8")

    async def run_before(pilot: Pilot[None]) -> None:
        pilot.app.post_message(SnapshotChanged(fixed_snapshot()))
        await pilot.pause()
        panel = pilot.app.query_one(DetailPanel)
        panel.show_question(question_text(screen))
        panel.show_preview("\n".join(screen.rstrip().splitlines()[-4:]))
        await pilot.pause()

    assert snap_compare(fixed_app(tmp_path), terminal_size=(width, height), run_before=run_before)


@pytest.mark.parametrize(("width", "height"), [(40, 30), (80, 24)])
def test_reply_input_under_the_preview(snap_compare, tmp_path, width, height):
    async def run_before(pilot: Pilot[None]) -> None:
        pilot.app.post_message(SnapshotChanged(fixed_snapshot()))
        await pilot.pause()
        await pilot.press("down", "s", *"run only the [bold]failing[/] test")
        await pilot.pause()

    assert snap_compare(fixed_app(tmp_path), terminal_size=(width, height), run_before=run_before)
