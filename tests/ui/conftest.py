"""Fixtures for the UI tests."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import pytest
from textual.widgets import Input

from tests.ui.world import World

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    import libtmux
    from textual.app import App
    from textual.pilot import Pilot


@pytest.fixture
def world(server: libtmux.Server, tmp_path: Path) -> Iterator[World]:
    """A real tmux server plus a registry directory; clients started in it are killed after."""
    w = World(server, tmp_path / "sessions")
    w.registry.mkdir()
    yield w
    w.close()


@pytest.fixture
def snap_compare(snap_compare: Callable[..., bool]) -> Callable[..., bool]:
    """pytest-textual-snapshot's ``snap_compare`` with every input's cursor held steady.

    An input's cursor blinks on a 0.5 s timer: on a loaded machine the picture could be
    taken with it off. After the test's own ``run_before``, blinking is turned off (which
    shows the cursor) on every input of the screen.
    """

    def compare(app: App[Any], *args: Any, run_before: Any = None, **kwargs: Any) -> bool:
        async def steady(pilot: Pilot[Any]) -> None:
            if run_before is not None:
                result = run_before(pilot)
                if inspect.isawaitable(result):
                    await result
            for box in pilot.app.screen.query(Input):
                box.cursor_blink = False
            await pilot.pause()

        return snap_compare(app, *args, run_before=steady, **kwargs)

    return compare
