"""Every key and modal, driven with Textual's Pilot against real tmux, processes and files."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import psutil
from rich.console import Console
from textual.widgets import Static

from sessiontui.model.monitor import Monitor
from sessiontui.model.types import Status
from sessiontui.mux.tmux import TmuxBackend
from sessiontui.ui.app import MainTable, make_app
from sessiontui.ui.screens.confirm import ConfirmScreen
from sessiontui.ui.screens.help import HelpScreen
from sessiontui.ui.screens.rename import RenameScreen
from sessiontui.ui.widgets.session_table import ROW_COLUMN
from tests.helpers import client_sessions, write_entry
from tests.ui.world import FAST, World, dead_pid, select, spawn_sleep, wait_for

if TYPE_CHECKING:
    from sessiontui.ui.app import SessionTUI


def app_for(world: World, environ: dict[str, str] | None = None) -> SessionTUI:
    tmux = TmuxBackend(socket_name=world.server.socket_name, environ=environ or {})
    monitor = Monitor(sessions_dir=world.registry, tmux=tmux, timing=FAST, grace_s=1.0)
    return make_app(monitor)


async def test_status_write_reaches_the_table(world):
    pid = world.agent("alpha", status="idle")
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "alpha")
        write_entry(world.registry, pid, name="alpha", status="waiting", waitingFor="dialog open")
        await wait_for(
            pilot, lambda: app.selected is not None and app.selected.status is Status.WAITING
        )
        table = app.query_one(MainTable)
        assert "waiting" in str(table.get_cell(app.selected.key, ROW_COLUMN))
        assert app.selected.mux is not None
        assert app.selected.mux.session == "alpha"


async def test_rename_writes_registry_and_the_tmux_session_sessiontui_made(world):
    pid = world.agent("alpha", tmux_kind="bg", status="idle", nameSource="derived", futureKey=1)
    world.agent("beta", status="busy")
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "alpha")
        key = app.selected.key  # type: ignore[union-attr]
        await pilot.press("r")
        assert isinstance(app.screen, RenameScreen)
        await pilot.press("ctrl+a", "ctrl+k", *"renamed")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: app.snapshot.get(key) and app.snapshot.get(key).name == "renamed"
        )
        data = json.loads((world.registry / f"{pid}.json").read_text())
        assert data["name"] == "renamed"
        assert "nameSource" not in data
        assert data["futureKey"] == 1
        assert world.server.has_session("renamed")
        assert not world.server.has_session("alpha")
        assert app.query_one(MainTable).selected_key == key


async def test_rename_keeps_a_tmux_session_the_user_made(world):
    pid = world.agent("solo", status="idle", nameSource="derived")
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "solo")
        key = app.selected.key  # type: ignore[union-attr]
        await pilot.press("r", "ctrl+a", "ctrl+k", *"alpha", "enter")
        await wait_for(
            pilot, lambda: app.snapshot.get(key) and app.snapshot.get(key).name == "alpha"
        )
        assert json.loads((world.registry / f"{pid}.json").read_text())["name"] == "alpha"
        await pilot.pause(0.6)  # a tmux poll
        assert world.server.has_session("solo")
        assert not world.server.has_session("alpha")


async def test_rename_inside_claude_renames_the_tmux_session_sessiontui_made(world):
    pid = world.agent("nightly", tmux_kind="bg", status="idle", nameSource="derived")
    mine = world.agent("mine", status="idle", nameSource="derived")
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "mine")
        # What Claude's /rename writes: a new name and no nameSource.
        write_entry(world.registry, pid, cwd="/work/nightly", name="renamed", status="idle")
        write_entry(world.registry, mine, cwd="/work/mine", name="mine2", status="idle")
        await wait_for(pilot, lambda: world.server.has_session("renamed"))
        assert not world.server.has_session("nightly")
        await wait_for(pilot, lambda: any(s.name == "mine2" for s in app.snapshot.sessions))
        await pilot.pause(0.6)
        assert world.server.has_session("mine")  # the user's own tmux session keeps its name


async def test_rename_taken_tmux_name_changes_nothing(world):
    pid = world.agent("alpha", tmux_kind="bg", status="idle")
    world.agent("beta", status="idle")
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "alpha")
        await pilot.press("r", "ctrl+a", "ctrl+k", *"beta", "enter")
        await wait_for(pilot, lambda: any("already named" in n.message for n in app._notifications))
        assert json.loads((world.registry / f"{pid}.json").read_text())["name"] == "alpha"
        assert world.server.has_session("alpha")


async def test_rename_rejects_invalid_names_in_the_modal(world):
    world.agent("alpha", status="idle")
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "alpha")
        await pilot.press("r", "ctrl+a", "ctrl+k", "enter")
        assert isinstance(app.screen, RenameScreen)
        assert "empty" in str(app.screen.query_one("#message").render()).lower()
        await pilot.press(*("x" * 101), "enter")
        assert isinstance(app.screen, RenameScreen)
        assert "100" in str(app.screen.query_one("#message").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, RenameScreen)


async def test_kill_asks_first_and_cancel_keeps_it(world):
    pid = world.agent("alpha", status="idle")
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "alpha")
        await pilot.press("K")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.pause(0.3)
        assert psutil.pid_exists(pid)
        await pilot.press("K", "y")
        await wait_for(
            pilot,
            lambda: (
                not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
            ),
        )
        await wait_for(
            pilot, lambda: app.selected is not None and app.selected.status is Status.DEAD
        )


async def test_x_on_interactive_asks_to_kill(world):
    pid = world.agent("alpha", status="idle", kind="interactive")
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "alpha")
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        assert psutil.pid_exists(pid)


async def test_x_on_bg_detaches_and_keeps_it_running(world):
    pid = world.agent("nightly", status="busy", kind="bg")
    client = world.client("=nightly")
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "nightly")
        await pilot.press("x")
        assert not isinstance(app.screen, ConfirmScreen)
        await wait_for(pilot, lambda: client.poll() is not None)
        assert client_sessions(world.server.cmd) == []
        assert world.server.has_session("nightly")
        assert psutil.pid_exists(pid)


async def test_d_detaches_every_client_but_never_control_clients(world):
    pid = world.agent("alpha", status="busy")
    first, second = world.client("=alpha"), world.client("=alpha")
    control = world.control_client("=alpha")
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "alpha")
        await pilot.press("d")
        assert not isinstance(app.screen, ConfirmScreen)
        await wait_for(pilot, lambda: first.poll() is not None and second.poll() is not None)
        assert world.server.has_session("alpha")
        assert psutil.pid_exists(pid)
        assert control.poll() is None
        modes = world.server.cmd("list-clients", "-F", "#{client_control_mode}").stdout
        assert modes == ["1"]


def inside_home(world: World) -> tuple[dict[str, str], str]:
    """Environment of a sessiontui in a pane of session ``home`` (shown by a real client)."""
    home = world.server.new_session("home")
    pane = home.active_window.active_pane
    assert pane is not None
    world.client("=home")
    socket = world.server.cmd("display-message", "-p", "#{socket_path}").stdout[0]
    return {"TMUX": f"{socket},1,0", "TMUX_PANE": pane.pane_id or ""}, pane.pane_id or ""


async def test_d_asks_first_when_it_would_detach_our_own_client(world):
    environ, our_pane = inside_home(world)
    # The agent shares the session on the user's screen (e.g. beside a sessiontui side pane).
    agent_pane = world.server.cmd(
        "split-window", "-d", "-P", "-F", "#{pane_id}", "-t", our_pane, "sleep 300"
    ).stdout[0]
    pid = int(world.server.cmd("display-message", "-p", "-t", agent_pane, "#{pane_pid}").stdout[0])
    write_entry(world.registry, pid, name="beside", status="idle", cwd="/work/beside")
    other = world.client("=home")
    app = app_for(world, environ)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "beside")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause(0.3)
        assert client_sessions(world.server.cmd) == ["home", "home"]
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: client_sessions(world.server.cmd) == [])
        assert other.poll() is not None or other.wait(5) is not None
        assert psutil.pid_exists(pid)


async def test_d_on_another_session_does_not_ask(world):
    environ, _ = inside_home(world)
    world.agent("elsewhere", status="idle")
    client = world.client("=elsewhere")
    app = app_for(world, environ)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "elsewhere")
        await pilot.press("d")
        await wait_for(pilot, lambda: client.poll() is not None)
        assert not isinstance(app.screen, ConfirmScreen)
        assert client_sessions(world.server.cmd) == ["home"]


async def test_enter_inside_tmux_switches_our_client(world):
    world.agent("target", status="waiting")
    environ = world.home_environ()
    app = app_for(world, environ)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "target")
        await pilot.press("enter")
        await wait_for(pilot, lambda: client_sessions(world.server.cmd) == ["target"])


async def test_dismiss_removes_only_verified_dead_entries(world):
    world.agent("alpha", status="idle")
    gone = dead_pid()
    dead_path = write_entry(world.registry, gone, name="ghost", procStart="1")
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "alpha")
        await pilot.press("D")  # not applicable to a live session: nothing happens
        await pilot.pause(0.2)
        assert (world.registry / f"{world.pids['alpha']}.json").exists()
        await select(pilot, "ghost")
        assert app.selected is not None
        assert app.selected.status is Status.DEAD
        await pilot.press("D")
        await wait_for(pilot, lambda: not dead_path.exists())
        await wait_for(pilot, lambda: all(s.name != "ghost" for s in app.snapshot.sessions))


async def test_footer_dims_keys_that_do_not_apply(world):
    world.agent("alpha", status="idle")
    outside = spawn_sleep()
    try:
        write_entry(world.registry, outside.pid, name="no-pane", status="idle")
        app = app_for(world)
        async with app.run_test(size=(120, 30)) as pilot:
            await select(pilot, "no-pane")
            bindings = app.screen.active_bindings
            assert bindings["enter"].enabled is False
            assert bindings["d"].enabled is False
            assert bindings["r"].enabled is True
            await select(pilot, "alpha")
            assert app.screen.active_bindings["enter"].enabled is True
    finally:
        outside.kill()
        outside.wait()


async def test_filter_help_and_quit(world):
    world.agent("alpha", status="idle")
    world.agent("beta", status="busy")
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.snapshot.sessions) == 2)
        table = app.query_one(MainTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        await pilot.press("slash", *"bet")
        assert table.row_count == 1
        assert table.session_at_cursor().name == "beta"  # type: ignore[union-attr]
        await pilot.press("escape")
        assert table.row_count == 2
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")
    assert app.return_code == 0


async def test_cursor_follows_its_session_when_rows_reorder(world):
    world.agent("alpha", status="idle")
    beta = world.agent("beta", status="idle")
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "alpha")
        key = app.selected.key  # type: ignore[union-attr]
        write_entry(world.registry, beta, name="beta", status="waiting")
        await wait_for(pilot, lambda: app.snapshot.sessions[0].name == "beta")
        assert app.query_one(MainTable).selected_key == key


async def test_markup_and_escapes_in_registry_fields_render_as_text(world):
    path = world.registry / "4000000.json"
    path.write_text('{"pid":4000000,"procStart":"[/x]\\u001b]0;t\\u0007","name":"[bold]n[/]"}')
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "[bold]n[/]")
        await pilot.pause(0.2)
        console = Console(width=120, file=io.StringIO(), color_system=None)
        console.print(app.query_one("#detail-fields", Static).content)
        shown = console.file.getvalue()  # type: ignore[attr-defined]
        assert "[/x]\\x1b]0;t\\x07" in shown
        assert "\x1b" not in shown
