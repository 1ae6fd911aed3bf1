"""Keys ``s``, ``a``, ``A`` and ``i`` through the real app (Pilot), real tmux and real processes.

Each agent stand-in is the key recorder (``tests.helpers.KEY_RECORDER``) in a tmux pane: it shows
a screen captured from a real agent (``tests/model/fixtures/panes/``), records every byte typed
into it, and (when asked) shows another screen once a key arrives, as an agent closes its box.
The real Claude Code goes through the same keys in ``tests/e2e/test_claude_reply.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.widgets import Input, Static

from sessiontui.model.monitor import Monitor
from sessiontui.mux.tmux import TmuxBackend
from sessiontui.ui.app import MainTable, make_app
from sessiontui.ui.widgets.detail import DetailPanel
from tests.helpers import recorded, recorder_argv, spawn_in_pane, wait_until, write_entry
from tests.ui.world import FAST, select, wait_for

if TYPE_CHECKING:
    from sessiontui.ui.app import SessionTUI
    from tests.ui.world import World

PANES = Path(__file__).parent.parent / "model" / "fixtures" / "panes"


def stand_in(
    world: World,
    name: str,
    screen: str | None,
    *,
    after: str | None = None,
    **fields: object,
) -> Path:
    """A recorder pane showing ``screen`` with a registry entry; returns its record file."""
    record = world.registry.parent / f"{name}.keys"
    argv = recorder_argv(
        record, PANES / screen if screen else None, PANES / after if after else None
    )
    _, pid = spawn_in_pane(world.server, name, world.registry.parent, argv)
    wait_until(lambda: Path(f"{record}.ready").exists(), 10.0, "the recorder")
    write_entry(world.registry, pid, name=name, cwd=f"/work/{name}", **fields)
    return record


def app_for(world: World) -> SessionTUI:
    tmux = TmuxBackend(socket_name=world.server.socket_name, environ={})
    return make_app(Monitor(sessions_dir=world.registry, tmux=tmux, timing=FAST))


def messages(app: SessionTUI) -> list[str]:
    return [n.message for n in app._notifications]


async def test_s_opens_a_reply_under_the_preview_and_enter_sends_it(world: World) -> None:
    record = stand_in(world, "alpha", "claude-197-idle-120x40.txt", status="idle")
    stand_in(world, "beta", None, status="idle")
    app = app_for(world)
    async with app.run_test(size=(140, 45)) as pilot:
        await select(pilot, "alpha")
        reply = app.query_one("#reply", Input)
        assert not reply.display

        await pilot.press("s")
        assert reply.display
        assert reply.has_focus
        assert "reply to alpha" in reply.placeholder
        await select_while_typing(pilot, app)
        await pilot.press(*"go on, [bold]x")
        await pilot.press("enter")

        assert not reply.display
        assert app.query_one(MainTable).has_focus
        await wait_for(pilot, lambda: recorded(record) == b"go on, [bold]x\r")
        await wait_for(pilot, lambda: "sent to alpha: go on, [bold]x" in messages(app))


async def select_while_typing(pilot, app: SessionTUI) -> None:
    """The reply stays addressed to the row it was opened on, whatever the cursor does."""
    key = app.reply_key
    app.query_one(MainTable).move_cursor(row=1)
    await pilot.pause()
    assert app.reply_key == key
    app.query_one("#reply", Input).focus()


async def test_escape_cancels_the_reply_and_sends_nothing(world: World) -> None:
    record = stand_in(world, "alpha", "claude-197-idle-120x40.txt", status="idle")
    app = app_for(world)
    async with app.run_test(size=(140, 45)) as pilot:
        await select(pilot, "alpha")
        await pilot.press("s", *"never sent", "escape")
        assert not app.query_one("#reply", Input).display
        assert app.reply_key is None
        await pilot.press("s")  # opens empty again
        assert app.query_one("#reply", Input).value == ""
        await pilot.press("enter")  # an empty reply sends nothing
        await pilot.pause(0.5)
    assert recorded(record) == b""


async def test_a_approves_with_the_box_own_yes_and_echoes_it(world: World) -> None:
    record = stand_in(
        world,
        "alpha",
        "claude-332-permission-120x40.txt",
        after="claude-332-busy-120x40.txt",
        status="waiting",
        waitingFor="permission prompt",
    )
    app = app_for(world)
    async with app.run_test(size=(140, 45)) as pilot:
        await select(pilot, "alpha")
        panel = app.query_one(DetailPanel)
        await wait_for(pilot, lambda: panel.question is not None)
        assert app.query_one("#detail-question", Static).display
        shown = panel.question or ""
        assert "Do you want to proceed?\n1. Yes\n" in shown
        assert shown.endswith("\n4. No")
        assert "sleep 1 && touch x1" in shown

        await pilot.press("a")

        await wait_for(pilot, lambda: "approved alpha: 1. Yes" in messages(app))
        # Once that answer is done, the key answers again: the box is gone, so it is refused.
        await pilot.press("a")
        await wait_for(pilot, lambda: any("does not show" in m for m in messages(app)))
    assert recorded(record) == b"1"


async def test_shift_a_denies_with_that_version_s_no(world: World) -> None:
    record = stand_in(
        world,
        "alpha",
        "claude-197-permission-60x30.txt",
        after="claude-197-after-interrupt-120x40.txt",
        status="waiting",
        waitingFor="permission prompt",
    )
    app = app_for(world)
    async with app.run_test(size=(140, 45)) as pilot:
        await select(pilot, "alpha")
        await pilot.press("A")
        await wait_for(pilot, lambda: "denied alpha: 3. No" in messages(app))
    assert recorded(record) == b"3"


async def test_dimmed_keys_say_why_and_send_nothing(world: World) -> None:
    record = stand_in(world, "alpha", "claude-197-permission-120x40.txt", status="idle")
    app = app_for(world)
    async with app.run_test(size=(140, 45)) as pilot:
        await select(pilot, "alpha")
        bindings = app.screen.active_bindings
        assert bindings["a"].enabled is False
        assert bindings["A"].enabled is False
        assert bindings["i"].enabled is False
        assert bindings["s"].enabled is True

        await pilot.press("a")
        await wait_for(
            pilot, lambda: "alpha is idle, not waiting for a permission" in messages(app)
        )
        await pilot.press("i")
        await wait_for(pilot, lambda: any("only a running turn" in m for m in messages(app)))
        # s applies (the registry says idle), but the pane shows a box: refused, nothing sent.
        await pilot.press("s", *"1", "enter")
        await wait_for(pilot, lambda: any("approve (a) or deny (A)" in m for m in messages(app)))
        assert app.query_one(DetailPanel).question is None  # not waiting
        assert not app.query_one("#detail-question", Static).display
    assert recorded(record) == b""


async def test_a_on_a_pane_that_does_not_show_the_box_is_refused(world: World) -> None:
    record = stand_in(
        world,
        "alpha",
        "claude-197-help-dialog-120x40.txt",
        status="waiting",
        waitingFor="permission prompt",
    )
    app = app_for(world)
    async with app.run_test(size=(140, 45)) as pilot:
        await select(pilot, "alpha")
        assert app.screen.active_bindings["a"].enabled is True  # the registry says so …
        await pilot.press("a")
        await wait_for(  # … the pane does not
            pilot, lambda: any("does not show a permission prompt" in m for m in messages(app))
        )
        panel = app.query_one(DetailPanel)
        await wait_for(pilot, lambda: panel.question is not None)
        assert (panel.question or "").startswith("Help")  # what it shows instead
    assert recorded(record) == b""


async def test_i_interrupts_a_running_turn_with_one_escape(world: World) -> None:
    record = stand_in(
        world,
        "alpha",
        "claude-197-busy-120x40.txt",
        after="claude-197-after-interrupt-120x40.txt",
        status="busy",
    )
    app = app_for(world)
    async with app.run_test(size=(140, 45)) as pilot:
        await select(pilot, "alpha")
        await pilot.press("i")
        await wait_for(pilot, lambda: "interrupted alpha" in messages(app))
    assert recorded(record) == b"\x1b"
