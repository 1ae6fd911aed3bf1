"""``n`` with a tmux server and the real Zellij in view: the dialog asks which one hosts it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Select

from sessiontui.model.monitor import Monitor
from sessiontui.model.muxset import MuxSet
from sessiontui.mux.tmux import TmuxBackend
from sessiontui.ui.app import make_app
from sessiontui.ui.screens.new_session import NewSessionScreen
from tests.mux.test_zellij import ZellijEnv, needs_zellij, zenv  # noqa: F401
from tests.ui.world import FAST, World, wait_for

if TYPE_CHECKING:
    from pathlib import Path


def both(world: World, zellij_world: ZellijEnv) -> Monitor:
    """A monitor on the world's tmux server and the isolated Zellij, outside both."""
    tmux = TmuxBackend(socket_name=world.server.socket_name, environ={})
    muxes = MuxSet([tmux, zellij_world.server()])
    return Monitor(sessions_dir=world.registry, muxes=muxes, timing=FAST, grace_s=1.0)


@needs_zellij
async def test_n_offers_the_multiplexer_and_starts_a_zellij_session(
    world: World,
    zenv: ZellijEnv,  # noqa: F811
    tmp_path: Path,
) -> None:
    monitor = both(world, zenv)
    assert monitor.new_session_muxes() == ("tmux", "zellij")
    app = make_app(monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        screen = app.screen
        assert isinstance(screen, NewSessionScreen)
        choice = screen.query_one("#mux", Select)
        assert choice.value == "tmux"  # outside both: the first in view
        await pilot.press(*"znightly")
        await pilot.press("tab", "ctrl+a", "ctrl+k", *str(tmp_path))
        await pilot.press("tab", "ctrl+a", "ctrl+k", *"sleep 300")
        await pilot.press("tab")  # the multiplexer
        assert app.focused is choice
        await pilot.press("enter", "down", "enter")
        await pilot.pause()
        assert choice.value == "zellij"
        await pilot.press("shift+tab", "enter")  # enter in a field starts it
        zellij = zenv.server()
        await wait_for(pilot, lambda: zellij.is_live("znightly"), timeout_s=20)
        assert not world.server.has_session("znightly")
        await wait_for(
            pilot,
            lambda: any("znightly (zellij session" in n.message for n in app._notifications),
        )
        panes = [p for p in zellij.list_panes() if p.session_name == "znightly"]
        assert len(panes) == 1  # the command alone, no stray pane
        assert "sleep" in panes[0].current_command


async def test_n_with_tmux_alone_asks_no_multiplexer(world: World) -> None:
    tmux = TmuxBackend(socket_name=world.server.socket_name, environ={})
    monitor = Monitor(sessions_dir=world.registry, muxes=MuxSet([tmux]), timing=FAST)
    assert monitor.new_session_muxes() == ("tmux",)
    app = make_app(monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        assert isinstance(app.screen, NewSessionScreen)
        assert not app.screen.query("#mux")
