"""``enter``, ``x``, ``K`` and ``D`` on Zellij rows: the real app over a real monitor and Zellij.

Agents are real processes in real Zellij panes (isolated worlds, see ``tests/mux/test_zellij``);
clients are real ``zellij attach`` (and tmux) clients on pseudo-terminals. "Our" client is set
up as the app tests do for tmux: the backend's environment says which pane sessiontui runs in
(``TMUX``/``TMUX_PANE``, or ``ZELLIJ``/``ZELLIJ_PANE_ID``/``ZELLIJ_SESSION_NAME``), and a real
client shows that pane.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import psutil
from textual.widgets import Checkbox

from sessiontui.errors import SessiontuiError
from sessiontui.model.monitor import Monitor
from sessiontui.model.muxset import MuxSet
from sessiontui.model.types import Status
from sessiontui.mux.tmux import TmuxBackend
from sessiontui.mux.zellij import ZellijServer
from sessiontui.ui.app import make_app
from sessiontui.ui.screens.confirm import ConfirmScreen
from tests.helpers import client_sessions, is_gone, wait_until, write_entry
from tests.mux.test_zellij import (  # noqa: F401
    AGENT,
    ZELLIJ,
    ZellijEnv,
    attach_client,
    needs_zellij,
    run_agent,
    stop,
    zenv,
)
from tests.ui.world import FAST, World, select, wait_for

if TYPE_CHECKING:
    from pathlib import Path

    from sessiontui.mux.base import Multiplexer
    from sessiontui.ui.app import SessionTUI

pytestmark = needs_zellij


def zellij_server(world: ZellijEnv, tmp_path: Path, **inside: str) -> ZellijServer:
    """The world's Zellij as sessiontui sees it, remembering the sessions it makes.

    ``inside``: the ``ZELLIJ*`` variables of the pane sessiontui runs in, if any.
    """
    assert ZELLIJ is not None
    return ZellijServer(
        binary=ZELLIJ, environ={**world.environ, **inside}, kinds_path=tmp_path / "kinds.json"
    )


def app_over(
    registry: Path, servers: list[Multiplexer], inside: Multiplexer | None = None
) -> SessionTUI:
    monitor = Monitor(
        sessions_dir=registry,
        muxes=MuxSet(servers, inside=inside),
        timing=FAST,
        grace_s=1.0,
    )
    return make_app(monitor)


def agent_in_new_session(server: ZellijServer, name: str, tmp_path: Path) -> int:
    """A background Zellij session made by sessiontui running a stand-in agent; its PID."""
    pid_file = tmp_path / f"{name}.pid"
    server.new_session(name, command=[sys.executable, "-c", AGENT, str(pid_file)])
    return int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), 15, "agent pid"))


def client_panes(server: ZellijServer, session: str) -> list[str] | None:
    """Panes of ``session``'s clients; ``None`` while Zellij cannot tell.

    Mid-switch, ``zellij list-clients`` once printed its session list instead (CI).
    """
    try:
        return [c.pane_id for c in server.list_clients(session)]
    except SessiontuiError:
        return None


def gone(pid: int) -> bool:
    try:
        return is_gone(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return True


async def test_enter_inside_tmux_opens_zellij_attach_in_a_popup(
    world: World,
    zenv: ZellijEnv,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Our tmux client cannot switch to a Zellij pane: ``zellij attach`` opens in a popup."""
    zenv.start("zwork")
    _, pid = run_agent(zenv, "zwork", tmp_path / "agent.pid")
    write_entry(world.registry, pid, name="in-zellij", status="waiting")
    environ = world.home_environ()
    tmux = TmuxBackend(socket_name=world.server.socket_name, environ=environ)
    zellij = zellij_server(zenv, tmp_path)
    app = app_over(world.registry, [tmux, zellij], inside=tmux)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "in-zellij")
        assert app.selected is not None
        assert app.selected.mux is not None
        assert app.selected.mux.type == "zellij"
        assert zellij.list_clients("zwork") == []
        await pilot.press("enter")
        # The popup's `zellij attach zwork` is a real client of the session.
        await wait_for(pilot, lambda: len(zellij.list_clients("zwork")) == 1, 20)
        assert client_sessions(world.server.cmd) == ["home"]  # our client stays on home
        assert zellij.detach_session("zwork") == 1  # closes the popup


async def test_enter_inside_zellij_switches_our_client(
    world: World,
    zenv: ZellijEnv,  # noqa: F811
    tmp_path: Path,
) -> None:
    """From a pane of ``home`` (shown by a real client), enter moves that client to the agent."""
    zenv.start("home")
    zenv.start("zwork")
    agent_pane, pid = run_agent(zenv, "zwork", tmp_path / "agent.pid")
    write_entry(world.registry, pid, name="in-zellij", status="idle")
    probe = zellij_server(zenv, tmp_path)
    our_pane = next(p.pane_id for p in probe.list_panes() if p.session_name == "home")
    client = attach_client(zenv, "home")
    try:
        wait_until(lambda: probe.list_clients("home"), 15, "our client on home")
        zellij = zellij_server(
            zenv,
            tmp_path,
            ZELLIJ="0",
            ZELLIJ_SESSION_NAME="home",
            ZELLIJ_PANE_ID=our_pane.removeprefix("terminal_"),
        )
        assert zellij.own_client() == "home"
        app = app_over(world.registry, [zellij], inside=zellij)
        async with app.run_test(size=(120, 30)) as pilot:
            await select(pilot, "in-zellij")
            await pilot.press("enter")
            await wait_for(pilot, lambda: client_panes(probe, "zwork") == [agent_pane], 20)
            assert probe.list_clients("home") == []
            assert client.poll() is None  # switched, not detached
    finally:
        stop(client)


async def test_x_detaches_a_zellij_background_session_and_asks_before_killing_others(
    world: World,
    zenv: ZellijEnv,  # noqa: F811
    tmp_path: Path,
) -> None:
    zellij = zellij_server(zenv, tmp_path)
    bg_pid = agent_in_new_session(zellij, "zjob", tmp_path)
    write_entry(world.registry, bg_pid, name="zjob", status="busy")
    zenv.start("theirs")
    _, user_pid = run_agent(zenv, "theirs", tmp_path / "theirs.pid")
    write_entry(world.registry, user_pid, name="theirs", status="idle")
    client = attach_client(zenv, "zjob")
    try:
        wait_until(lambda: zellij.list_clients("zjob"), 15, "a client on zjob")
        app = app_over(world.registry, [zellij])
        async with app.run_test(size=(120, 30)) as pilot:
            await select(pilot, "zjob")
            assert app.selected is not None
            assert app.selected.is_background
            await pilot.press("x")
            assert not isinstance(app.screen, ConfirmScreen)
            await wait_for(pilot, lambda: client.poll() is not None, 20)
            assert zellij.list_clients("zjob") == []
            assert zellij.is_live("zjob")
            assert psutil.pid_exists(bg_pid)

            await select(pilot, "theirs")  # the user's own session: x means kill, asked
            await pilot.press("x")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert not app.screen.query(Checkbox)  # nothing of ours to delete
            await pilot.press("escape")
            await pilot.pause(0.3)
            assert psutil.pid_exists(user_pid)
    finally:
        stop(client)


async def test_k_on_zellij_rows_kills_and_deletes_only_when_asked(
    world: World,
    zenv: ZellijEnv,  # noqa: F811
    tmp_path: Path,
) -> None:
    """K ends the agent, then a session of ours; its resurrection data only when asked.

    The dialog's box (unticked by default) deletes the resurrection data too. Untouched,
    the session is listed as exited until D deletes it (asked first). K on the user's own
    session ends the agent only.
    """
    zellij = zellij_server(zenv, tmp_path)
    kept = agent_in_new_session(zellij, "kept", tmp_path)
    gone_too = agent_in_new_session(zellij, "deleted", tmp_path)
    write_entry(world.registry, kept, name="kept", status="idle")
    write_entry(world.registry, gone_too, name="deleted", status="idle")
    zenv.start("theirs")
    _, user_pid = run_agent(zenv, "theirs", tmp_path / "theirs.pid")
    write_entry(world.registry, user_pid, name="theirs", status="idle")
    app = app_over(world.registry, [zellij])
    async with app.run_test(size=(120, 30)) as pilot:
        # Unticked (the default): the session is kept for resurrection and listed as exited.
        await select(pilot, "kept")
        await pilot.press("K")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.query_one("#option", Checkbox).value is False
        await pilot.press("y")
        await wait_for(pilot, lambda: gone(kept), 15)
        await wait_for(pilot, lambda: not zellij.is_live("kept"), 15)

        def exited_row():  # type: ignore[no-untyped-def]
            return next(
                (s for s in app.snapshot.sessions if s.mux is not None and s.mux.exited), None
            )

        await wait_for(pilot, lambda: exited_row() is not None, 15)
        row = exited_row()
        assert row.name == "kept"
        assert row.status is Status.DEAD
        assert "kept" in zellij.discover().exited
        app._select_key(row.key)  # the agent's own (dead) row is called "kept" too
        await wait_for(pilot, lambda: app.selected is not None and app.selected.key == row.key)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # cancelled: nothing deleted
        await pilot.pause(0.5)
        assert "kept" in zellij.discover().exited
        await pilot.press("D", "y")
        await wait_for(pilot, lambda: exited_row() is None, 15)
        assert not zellij.has_session("kept")

        # Ticked with d: nothing is left, no exited row.
        await select(pilot, "deleted")
        await pilot.press("K")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("d")
        assert app.screen.query_one("#option", Checkbox).value is True
        await pilot.press("y")
        await wait_for(pilot, lambda: gone(gone_too), 15)
        await wait_for(pilot, lambda: not zellij.has_session("deleted"), 15)
        await pilot.pause(1.0)  # a few polls
        assert exited_row() is None
        assert zellij.kinds() == {}

        # The user's own session: no box, the agent ends, the session stays.
        await select(pilot, "theirs")
        await pilot.press("K")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert not app.screen.query(Checkbox)
        await pilot.press("y")
        await wait_for(pilot, lambda: gone(user_pid), 15)
        assert zellij.is_live("theirs")
