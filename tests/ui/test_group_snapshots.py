"""SVG snapshots of the group view (by multiplexer session, a pin, a folded group)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from sessiontui.config import Config
from sessiontui.model.monitor import Monitor
from sessiontui.model.pins import PinStore
from sessiontui.ui import render
from sessiontui.ui.app import MainTable, make_app
from sessiontui.ui.messages import SnapshotChanged
from tests.ui.fixed_data import HOME, NOW, fixed_snapshot

if TYPE_CHECKING:
    from textual.pilot import Pilot


@pytest.fixture(autouse=True)
def fixed_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorten paths (``~``) against the fixed data's home, not the ``$HOME`` of this run."""
    monkeypatch.setattr(render, "HOME", HOME)


async def group_view(pilot: Pilot[None]) -> None:
    """Group by multiplexer session, pin flaky-tests, fold the nightly-bg group."""
    app = pilot.app
    app.post_message(SnapshotChanged(fixed_snapshot()))
    await pilot.pause()
    await pilot.press("g", "g")  # none -> project -> multiplexer session
    table = app.query_one(MainTable)
    names = [app.snapshot.get(k).name if app.snapshot.get(k) else k for k in table.row_keys]
    table.move_cursor(row=names.index("flaky-tests"))
    await pilot.press("p")
    table.move_cursor(row=table.row_keys.index("group\x1ftmux:nightly-bg"))
    await pilot.press("space", "up")
    await pilot.pause()


@pytest.mark.parametrize("size", [(40, 30), (80, 24), (160, 45)])
def test_group_view(snap_compare, tmp_path, size):
    monitor = Monitor(sessions_dir=tmp_path / "sessions")
    config = Config(notify=())  # no toast over the view, however long the keys take
    app = make_app(monitor, clock=lambda: NOW, watch=False, pins=PinStore(None), config=config)
    assert snap_compare(app, terminal_size=size, run_before=group_view)
