"""Issue-3 behaviour through the UI: jumping, background sessions, notifications, names, keymap."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import psutil

from sessiontui.config import Config
from sessiontui.model.monitor import Monitor
from sessiontui.model.names import NameStore
from sessiontui.model.types import Status
from sessiontui.mux.tmux import TmuxBackend
from sessiontui.ui.app import MainTable, make_app
from sessiontui.ui.screens.confirm import ConfirmScreen
from sessiontui.ui.screens.new_session import NewSessionScreen
from tests.helpers import client_sessions, wait_until, write_entry
from tests.ui.world import FAST, World, select, spawn_sleep, wait_for

if TYPE_CHECKING:
    from sessiontui.ui.app import SessionTUI


def inside_tmux_app(
    world: World, *, config: Config | None = None, names: NameStore | None = None
) -> SessionTUI:
    """The app as if run in a pane of session ``home`` of the world's server, with a client."""
    environ = world.home_environ()
    tmux = TmuxBackend(socket_name=world.server.socket_name, environ=environ)
    monitor = Monitor(sessions_dir=world.registry, tmux=tmux, timing=FAST, grace_s=1.0, names=names)
    return make_app(monitor, config=config)


async def test_w_cycles_waiting_sessions_and_tab_goes_back(world):
    world.agent("one", status="waiting")
    world.agent("two", status="waiting")
    world.agent("calm", status="idle")
    app = inside_tmux_app(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.snapshot.counts().get(Status.WAITING) == 2)
        await pilot.press("w")
        await wait_for(pilot, lambda: client_sessions(world.server.cmd) in (["one"], ["two"]))
        first = client_sessions(world.server.cmd)[0]
        await pilot.press("w")
        other = "two" if first == "one" else "one"
        await wait_for(pilot, lambda: client_sessions(world.server.cmd) == [other])
        await pilot.press("tab")
        await wait_for(pilot, lambda: client_sessions(world.server.cmd) == [first])


async def test_number_keys_attach_that_row(world):
    world.agent("alpha", status="waiting")
    world.agent("beta", status="idle")
    app = inside_tmux_app(world)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(MainTable)
        await wait_for(pilot, lambda: len(table.row_keys) == 2)
        await pilot.press("2")
        await wait_for(pilot, lambda: client_sessions(world.server.cmd) == ["beta"])
        await pilot.press("1")
        await wait_for(pilot, lambda: client_sessions(world.server.cmd) == ["alpha"])


async def test_n_creates_a_marked_tmux_bg_session(world, tmp_path):
    app = inside_tmux_app(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("n")
        assert isinstance(app.screen, NewSessionScreen)
        await pilot.press(*"nightly")
        await pilot.press("tab", "ctrl+a", "ctrl+k", *str(tmp_path))
        await pilot.press("tab", "ctrl+a", "ctrl+k", *"sleep 300")
        await pilot.press("enter")
        await wait_for(pilot, lambda: world.server.has_session("nightly"))
        session = world.server.sessions.get(session_name="nightly")
        kind = world.server.cmd("show-options", "-qv", "-t", session.session_id, "@sessiontui-kind")
        assert kind.stdout == ["bg"]
        await wait_for(pilot, lambda: any(s.name == "nightly" for s in app.snapshot.sessions))
        row = next(s for s in app.snapshot.sessions if s.name == "nightly")
        assert row.kind == "bg"
        assert row.is_background
        pid = row.pid
        env = psutil.Process(pid).environ()
        assert env["CLAUDE_CODE_SESSION_KIND"] == "bg"
        assert env["CLAUDE_CODE_SESSION_NAME"] == "nightly"
        # a duplicate name is refused with a clear message, nothing else is created
        await pilot.press("n", *"nightly", "enter")
        await wait_for(pilot, lambda: any("already named" in n.message for n in app._notifications))
        assert len([s for s in world.server.sessions if s.session_name == "nightly"]) == 1


async def test_tmux_bg_without_registry_detach_then_kill(world):
    session = world.server.new_session("job", window_command="bash -c 'sleep 300 & wait'")
    world.server.cmd("set-option", "-t", session.session_id, "@sessiontui-kind", "bg")
    client = world.client("=job")
    app = inside_tmux_app(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "job")
        row = app.selected
        assert row is not None
        assert row.kind == "bg"
        assert row.registry_path is None
        shell = psutil.Process(row.pid)
        kids = shell.children(recursive=True)
        await pilot.press("x")  # a background session is detached, not ended
        assert not isinstance(app.screen, ConfirmScreen)
        await wait_for(pilot, lambda: client.poll() is not None)
        assert world.server.has_session("job")
        await pilot.press("K")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: not world.server.has_session("job"))
        for proc in [shell, *kids]:
            wait_until(lambda p=proc: not p.is_running() or p.status() == psutil.STATUS_ZOMBIE)


async def test_waiting_notification_after_delay_once(world):
    pid = world.agent("slow", status="busy")
    config = Config(waiting_notify_delay_s=0.3)
    app = inside_tmux_app(world, config=config)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "slow")

        def notes() -> list[str]:
            return [n.message for n in app._notifications if "waiting" in n.message]

        write_entry(
            world.registry, pid, name="slow", status="waiting", waitingFor="permission prompt"
        )
        await wait_for(pilot, lambda: notes())
        assert notes() == ["slow is waiting (permission prompt)"]
        write_entry(
            world.registry, pid, name="slow", status="waiting", waitingFor="permission prompt"
        )
        await pilot.pause(0.6)
        assert len(notes()) == 1  # never twice for the same wait


async def test_no_notification_for_the_session_on_screen(world):
    pid = world.agent("watched", status="busy")
    config = Config(waiting_notify_delay_s=0.2)
    app = inside_tmux_app(world, config=config)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "watched")
        await pilot.press("enter")  # our client now shows that session's pane
        await wait_for(pilot, lambda: client_sessions(world.server.cmd) == ["watched"])
        await wait_for(pilot, lambda: app.focused_key is not None)
        write_entry(world.registry, pid, name="watched", status="waiting")
        await wait_for(
            pilot, lambda: app.selected is not None and app.selected.status is Status.WAITING
        )
        await pilot.pause(0.6)
        assert not [n for n in app._notifications if "waiting" in n.message]


async def test_keymap_from_config_rebinds_attach(world):
    world.agent("alpha", status="idle")
    config = Config(keymap={"attach": "o"})
    app = inside_tmux_app(world, config=config)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "alpha")
        await pilot.press("o")
        await wait_for(pilot, lambda: client_sessions(world.server.cmd) == ["alpha"])


async def test_filter_qualifiers_in_the_table(world):
    world.agent("api", status="waiting")
    world.agent("docs", status="idle", kind="bg")
    app = inside_tmux_app(world)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(MainTable)
        await wait_for(pilot, lambda: len(table.row_keys) == 2)
        await pilot.press("slash", *"k:bg")
        assert [app.snapshot.get(k).name for k in table.row_keys] == ["docs"]  # type: ignore[union-attr]
        await pilot.press("ctrl+a", "ctrl+k", *"s:wait")
        assert [app.snapshot.get(k).name for k in table.row_keys] == ["api"]  # type: ignore[union-attr]


async def test_names_stick_across_a_new_session_id_and_a_new_process(world, tmp_path):
    names = NameStore(tmp_path / "names.json")
    pid = world.agent("proj", status="idle", sessionId="11111111-aaaa", nameSource="derived")
    app = inside_tmux_app(world, names=names)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "proj")
        await pilot.press("r", "ctrl+a", "ctrl+k", *"my-name", "enter")
        await wait_for(pilot, lambda: names.get("11111111-aaaa") == "my-name")
        # /clear: same process, new sessionId, Claude writes a derived name again
        write_entry(
            world.registry, pid, sessionId="22222222-bbbb", name="proj-2", nameSource="derived"
        )
        path = world.registry / f"{pid}.json"
        await wait_for(pilot, lambda: json.loads(path.read_text()).get("name") == "my-name")
        # a restart with --resume: a new process with the old sessionId and a derived name
        other = spawn_sleep()
        try:
            write_entry(
                world.registry, other.pid, sessionId="11111111-aaaa", name="x", nameSource="derived"
            )
            other_path = world.registry / f"{other.pid}.json"
            await wait_for(
                pilot, lambda: json.loads(other_path.read_text()).get("name") == "my-name"
            )
            # a name set in Claude with /rename (no nameSource) is never overwritten, and kept
            write_entry(world.registry, other.pid, sessionId="11111111-aaaa", name="from-claude")
            await wait_for(pilot, lambda: names.get("11111111-aaaa") == "from-claude")
            assert json.loads(other_path.read_text())["name"] == "from-claude"
        finally:
            other.kill()
            other.wait()


def test_names_survive_a_restart(tmp_path):
    NameStore(tmp_path / "n.json").set("abc-1", "kept")
    assert NameStore(tmp_path / "n.json").get("abc-1") == "kept"
