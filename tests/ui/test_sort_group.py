"""Order and grouping keys (``o``, ``g``, ``p``, folds, ``1``-``9``) with Pilot on real tmux."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from textual.widgets import Static
from textual.widgets.data_table import ColumnKey

from sessiontui.config import Config
from sessiontui.model.monitor import Monitor
from sessiontui.model.ordering import GroupHeader, is_header_key
from sessiontui.model.pins import PinStore
from sessiontui.mux.tmux import TmuxBackend
from sessiontui.ui.app import MainTable, make_app
from sessiontui.ui.screens.confirm import ConfirmScreen
from sessiontui.ui.widgets.session_table import PIN_GLYPH, ROW_COLUMN
from tests.helpers import client_sessions, write_entry
from tests.ui.world import FAST, World, select, wait_for

if TYPE_CHECKING:
    from pathlib import Path

    from textual.pilot import Pilot

    from sessiontui.ui.app import SessionTUI


def app_for(
    world: World, *, environ: dict[str, str] | None = None, pins: PinStore | None = None
) -> SessionTUI:
    tmux = TmuxBackend(socket_name=world.server.socket_name, environ=environ or {})
    monitor = Monitor(sessions_dir=world.registry, tmux=tmux, timing=FAST, grace_s=1.0)
    return make_app(monitor, pins=pins)


def projects(tmp_path: Path) -> dict[str, Path]:
    """Two git repositories (one a worktree: ``.git`` is a file) and a plain directory."""
    api, web, scratch = tmp_path / "api", tmp_path / "web", tmp_path / "scratch"
    (api / ".git").mkdir(parents=True)
    (api / "src").mkdir()
    web.mkdir()
    (web / ".git").write_text("gitdir: /elsewhere\n")
    scratch.mkdir()
    return {"api": api, "api-src": api / "src", "web": web, "scratch": scratch}


def agents(world: World, tmp_path: Path) -> None:
    """Four agents: two in the api repository, one in web, one in a plain directory."""
    dirs = projects(tmp_path)
    spec = [
        ("w1", "waiting", dirs["web"], 400),
        ("a1", "busy", dirs["api"], 100),
        ("s1", "idle", dirs["scratch"], 300),
        ("a2", "idle", dirs["api-src"], 200),
    ]
    for name, status, cwd, activity in spec:
        pid = world.agent(name, status=status)
        write_entry(
            world.registry,
            pid,
            name=name,
            status=status,
            cwd=str(cwd),
            sessionId=f"sid-{name}",
            updatedAt=int(activity * 1000),
            statusUpdatedAt=int(activity * 1000),
        )


def names(app: SessionTUI) -> list[str]:
    """The rows top to bottom: session names, and ``[label]`` for group headers."""
    table = app.query_one(MainTable)
    out = []
    for key in table.row_keys:
        line = table.get_cell(key, ROW_COLUMN)
        row = line.session
        out.append(f"[{row.label}]" if isinstance(row, GroupHeader) else row.name)
    return out


def line(app: SessionTUI, name: str) -> str:
    table = app.query_one(MainTable)
    for key in table.row_keys:
        cell = table.get_cell(key, ROW_COLUMN)
        if not is_header_key(key) and cell.session.name == name:
            return cell.plain
    raise AssertionError(f"no row {name}")


def header_line(app: SessionTUI) -> str:
    return str(app.query_one("#summary", Static).render())


async def ready(pilot: Pilot[None], count: int) -> None:
    app: SessionTUI = pilot.app  # type: ignore[assignment]
    await wait_for(pilot, lambda: len(app.query_one(MainTable).row_keys) == count)


async def test_o_cycles_the_sort_order_and_shows_it(world, tmp_path):
    agents(world, tmp_path)
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot, 4)
        assert names(app)[:2] == ["w1", "a1"]  # urgency: waiting, busy, then idle
        assert "sort: urgency" in header_line(app)
        await pilot.press("o")
        assert names(app) == ["a1", "a2", "s1", "w1"]  # project name, then urgency
        assert "sort: project" in header_line(app)
        columns = str(app.query_one(MainTable).columns[ColumnKey(ROW_COLUMN)].label)
        assert "CWD↓" in columns
        assert "STATUS↓" not in columns
        await pilot.press("o")
        assert names(app) == ["w1", "s1", "a2", "a1"]  # most recent activity first
        assert "sort: activity" in header_line(app)
        await pilot.press("o")
        assert names(app)[:2] == ["w1", "a1"]


async def test_g_groups_with_headers_that_count_and_fold(world, tmp_path):
    agents(world, tmp_path)
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot, 4)
        table = app.query_one(MainTable)
        await pilot.press("g")
        assert names(app) == ["[web]", "w1", "[api]", "a1", "a2", "[scratch]", "s1"]
        assert "sort: urgency, by project" in header_line(app)
        api = table.get_cell(table.row_keys[2], ROW_COLUMN).plain
        assert "▾ api" in api
        assert api.rstrip().endswith("●1 ○1")
        # the cursor on a header: verbs do nothing harmful and say why
        table.move_cursor(row=2)
        await pilot.pause()
        assert app.selected is None
        await pilot.press("K", "d", "p")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("group header" in n.message for n in app._notifications)
        # space folds, the header still counts its sessions, enter unfolds
        await pilot.press("space")
        assert names(app) == ["[web]", "w1", "[api]", "[scratch]", "s1"]
        assert table.selected_key == table.row_keys[2]
        folded = table.get_cell(table.row_keys[2], ROW_COLUMN).plain
        assert "▸ api" in folded
        assert folded.rstrip().endswith("●1 ○1")
        await pilot.press("enter")
        assert names(app) == ["[web]", "w1", "[api]", "a1", "a2", "[scratch]", "s1"]
        # left on a session folds its group and puts the cursor on the header; right unfolds
        await select(pilot, "a2")
        await pilot.press("left")
        assert names(app)[2:4] == ["[api]", "[scratch]"]
        assert table.selected_key == table.row_keys[2]
        await pilot.press("right")
        assert names(app)[3:5] == ["a1", "a2"]
        # by multiplexer session, then no grouping again
        await pilot.press("g")
        assert "[tmux:w1]" in names(app)
        assert names(app).count("[tmux:a1]") == 1
        await pilot.press("g")
        assert not any(n.startswith("[") for n in names(app))


async def test_a_status_change_keeps_folds_and_counts(world, tmp_path):
    agents(world, tmp_path)
    app = app_for(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot, 4)
        await pilot.press("g")
        table = app.query_one(MainTable)
        table.move_cursor(row=2)
        await pilot.press("space")
        write_entry(
            world.registry,
            world.pids["a2"],
            name="a2",
            status="waiting",
            cwd=str(tmp_path / "api" / "src"),
        )
        await wait_for(pilot, lambda: names(app)[0] == "[api]")
        assert table.get_cell(table.row_keys[0], ROW_COLUMN).plain.rstrip().endswith("◆1 ●1")
        # the api group now holds the most urgent session: it comes first, still folded
        assert names(app) == ["[api]", "[web]", "w1", "[scratch]", "s1"]
        assert table.selected_key == table.row_keys[0]  # the cursor stayed on its header


async def test_p_pins_first_in_every_order_and_across_restarts(world, tmp_path):
    agents(world, tmp_path)
    path = tmp_path / "state" / "pins.json"
    app = app_for(world, pins=PinStore(path))
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot, 4)
        await select(pilot, "s1")
        await pilot.press("p")
        assert names(app)[0] == "s1"
        assert line(app, "s1")[1] == PIN_GLYPH
        assert line(app, "w1")[1] == " "
        assert app.query_one(MainTable).selected_key == app.selected.key  # type: ignore[union-attr]
        for _ in range(2):
            await pilot.press("o")
            assert names(app)[0] == "s1"
        await pilot.press("g")
        assert names(app)[:2] == ["[scratch]", "s1"]
    assert json.loads(path.read_text())["pins"].keys() == {"sid-s1"}
    again = app_for(world, pins=PinStore(path))
    async with again.run_test(size=(120, 30)) as pilot:
        await ready(pilot, 4)
        assert names(again)[0] == "s1"
        await select(pilot, "s1")
        await pilot.press("p")
        assert names(again)[:2] == ["w1", "a1"]
    assert json.loads(path.read_text())["pins"] == {}


async def test_numbers_stay_with_their_sessions_and_attach(world, tmp_path):
    agents(world, tmp_path)
    environ = world.home_environ()
    app = app_for(world, environ=environ)
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot, 4)
        assert [line(app, n)[0] for n in names(app)] == ["1", "2", "3", "4"]
        numbered = {n: line(app, n)[0] for n in names(app)}
        last = names(app)[-1]
        write_entry(
            world.registry,
            world.pids[last],
            name=last,
            status="waiting",
            cwd=str(tmp_path / "scratch"),
        )
        await wait_for(pilot, lambda: names(app)[0] == last)
        # the row moved to the top; every session kept its number
        assert {n: line(app, n)[0] for n in names(app)} == numbered
        assert line(app, last)[0] == "4"
        await pilot.press("4")
        await wait_for(pilot, lambda: client_sessions(world.server.cmd) == [last])
        assert app.selected is not None
        assert app.selected.name == last
        await pilot.press("9")  # nobody shows 9
        await pilot.pause()
        assert any("number 9" in n.message for n in app._notifications)
        await pilot.press("o")  # a new order numbers the rows again from the top
        assert [line(app, n)[0] for n in names(app)] == ["1", "2", "3", "4"]
        # w into a folded group unfolds it and puts the cursor on the waiting session
        await pilot.press("g")
        await select(pilot, "w1")
        await pilot.press("left")
        assert "w1" not in names(app)
        await pilot.press("w")
        await wait_for(pilot, lambda: client_sessions(world.server.cmd) in (["w1"], [last]))
        waiting = client_sessions(world.server.cmd)[0]
        if waiting != "w1":  # w cycles: the other waiting session first
            await pilot.press("w")
            await wait_for(pilot, lambda: client_sessions(world.server.cmd) == ["w1"])
        await wait_for(pilot, lambda: "w1" in names(app))
        assert app.selected is not None
        assert app.selected.name == "w1"


async def test_order_keys_are_remappable_in_the_config(world, tmp_path):
    agents(world, tmp_path)
    tmux = TmuxBackend(socket_name=world.server.socket_name, environ={})
    monitor = Monitor(sessions_dir=world.registry, tmux=tmux, timing=FAST, grace_s=1.0)
    config = Config(keymap={"sort": "O", "group": "G", "pin": "P"}, sort="activity")
    app = make_app(monitor, config=config)
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot, 4)
        assert names(app) == ["w1", "s1", "a2", "a1"]  # the configured order at start
        await pilot.press("o", "g")  # no longer bound
        assert names(app) == ["w1", "s1", "a2", "a1"]
        await pilot.press("O")
        assert "sort: urgency" in header_line(app)
        await pilot.press("G")
        assert names(app)[0] == "[web]"


async def test_a_bad_pins_file_is_reported_and_kept(tmp_path):
    path = tmp_path / "pins.json"
    path.write_text("[bold]not json", encoding="utf-8")
    monitor = Monitor(sessions_dir=tmp_path / "sessions")
    app = make_app(monitor, watch=False, pins=PinStore(path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("pins.json ignored: not valid JSON" in m for m in messages)
    assert path.read_text(encoding="utf-8") == "[bold]not json"  # nothing lost
