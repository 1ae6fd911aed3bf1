"""The one action table: footer, help, palette and keymap are all made from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.content import Content

from sessiontui import config
from sessiontui.config import Config
from sessiontui.model.monitor import Monitor
from sessiontui.ui import actions
from sessiontui.ui.app import MainTable, SessionTUI, make_app
from sessiontui.ui.messages import SnapshotChanged
from sessiontui.ui.screens.help import HelpScreen, action_rows
from tests.ui.fixed_data import NOW, fixed_snapshot


def fixed_app(tmp_path: Path, conf: Config | None = None) -> SessionTUI:
    monitor = Monitor(sessions_dir=tmp_path / "sessions")
    return make_app(monitor, clock=lambda: NOW, watch=False, config=conf)


def test_every_action_has_a_method_and_unique_ids() -> None:
    for entry in actions.ACTIONS:
        assert callable(getattr(SessionTUI, f"action_{entry.action}", None)), entry
    ids = [entry.id for entry in actions.ACTIONS if entry.id]
    assert len(ids) == len(set(ids))
    assert tuple(ids) == actions.BINDING_IDS


def test_bindings_come_from_the_table() -> None:
    table = [b for b in MainTable.BINDINGS if isinstance(b, Binding)]
    app = [b for b in SessionTUI.BINDINGS if isinstance(b, Binding)]
    assert {b.id for b in (*table, *app) if b.id} == set(actions.BINDING_IDS)
    assert [b.key for b in table if b.action.startswith("app.jump(")] == list("123456789")
    assert all(b.action.startswith("app.") for b in table)
    by_id = {b.id: b for b in (*table, *app) if b.id}
    for entry in actions.ACTIONS:
        if entry.id:
            assert by_id[entry.id].key == entry.keys
            assert by_id[entry.id].show == entry.show


def test_help_rows_follow_the_table_and_the_keymap() -> None:
    rows = {desc: keys for keys, desc in action_rows(str, {"attach": "o,enter"})}
    assert rows["Attach: jump to the session's tmux pane"] == "o, enter"
    jump = "Attach to the n-th session (the number shown at the left of its row)"
    assert rows[jump] == "1 … 9"
    assert rows[actions.BY_ACTION["cycle_sort"].description] == "o"
    assert rows[actions.BY_ACTION["toggle_pin"].description] == "p"
    quit_row = actions.BY_ACTION["leave"].description
    assert rows[quit_row] == "q, ctrl+c"


def test_key_conflicts() -> None:
    assert actions.key_conflicts({}) == []
    assert actions.key_conflicts({"quit": "q,Q"}) == []
    # A remapped key that another action still has by default runs two actions: a conflict.
    assert actions.key_conflicts({"quit": "q,ctrl+q"}) == [("ctrl+q", "quit", "quit_bg")]
    assert actions.key_conflicts({"attach": "d"}) == [("d", "attach", "detach")]
    assert actions.key_conflicts({"attach": "d", "detach": "e"}) == []  # moved out of the way
    assert actions.key_conflicts({"help": "1"}) == [("1", "jump", "help")]  # a fixed key
    assert actions.key_conflicts({"attach": "l,enter", "detach": "d,l"}) == [
        ("l", "attach", "detach")
    ]


def test_keymap_conflict_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[keymap]\nattach = "o"\ndetach = "o"\n', encoding="utf-8")
    with pytest.raises(config.ConfigError, match=r":3: keymap: key 'o' would run both"):
        config.load_config(path)


def test_keymap_key_taken_from_another_actions_default_is_a_config_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('theme = "dark"\n[keymap]\nattach = "enter,d"\n', encoding="utf-8")
    with pytest.raises(config.ConfigError) as info:
        config.load_config(path)
    assert str(info.value) == (
        f"{path}:3: keymap: key 'd' would run both 'attach' and 'detach' (its default key); "
        "give one of them another key"
    )


async def test_palette_lists_every_table_action(tmp_path: Path) -> None:
    app = fixed_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        pilot.app.post_message(SnapshotChanged(fixed_snapshot()))
        await pilot.pause()
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {entry.title for entry in actions.palette()} <= titles
        assert "Next waiting" in titles
        assert "Attach to session 1: api-refactor" in titles  # keys 1-9, as numbered
        assert "Attach to session 7: old-spike" in titles
        assert not any(t.startswith("Attach to session 8") for t in titles)
        hostile = next(t for t in titles if t.startswith("Attach to session 5"))
        shown = Content.from_markup(hostile).plain  # as the palette shows it
        assert shown == "Attach to session 5: evil\\x1b]0;pwned\\x07[bold red]markup[/]"


async def test_footer_dims_from_the_table(tmp_path: Path) -> None:
    app = fixed_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        pilot.app.post_message(SnapshotChanged(fixed_snapshot()))
        await pilot.pause()
        bindings = app.screen.active_bindings
        assert bindings["w"].enabled is True  # the fixed data has waiting sessions
        assert bindings["tab"].enabled is False  # no earlier jump
        assert app.check_action("filter", ()) is True


async def test_help_screen_shows_remapped_keys(tmp_path: Path) -> None:
    app = fixed_app(tmp_path, Config(keymap={"jump_waiting": "W"}))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = {desc: keys for keys, desc in app.screen.keys}
        assert rows["Attach the next session waiting for input (cycles)"] == "W"


README = Path(__file__).resolve().parents[2] / "README.md"
#: How the README writes Textual key names.
README_KEYS = {"slash": "/", "question_mark": "?"}


def test_readme_lists_every_binding_id_and_default_key() -> None:
    text = README.read_text(encoding="utf-8")
    listed = re.search(r"^Binding ids: `([^`]*)`", text, flags=re.MULTILINE)
    assert listed is not None
    assert tuple(listed[1].split()) == actions.BINDING_IDS
    table = "\n".join(line for line in text.splitlines() if line.startswith("| `"))
    for entry in actions.ACTIONS:
        if entry.id is None:
            continue
        for key in entry.keys.split(","):
            assert f"`{README_KEYS.get(key, key)}`" in table, (entry.id, key)


def test_reply_keys_apply_by_the_row() -> None:
    from sessiontui.model.types import MuxLocation, Session, Snapshot, Status

    pane = MuxLocation("tmux", "/tmp/tmux-0/default", "$1", "work", "0", "%3")
    job = Session("claude:7:1", 7, "claude", "nightly", Status.IDLE, job_id="abcd1234", kind="bg")
    codex_busy = Session("codex:8:1", 8, "codex", "fetch", Status.BUSY, mux=pane)
    asking = Session(
        "claude:9:1", 9, "claude", "api", Status.WAITING, mux=pane, waiting_for="permission prompt"
    )
    dialog = Session(
        "claude:10:1", 10, "claude", "docs", Status.WAITING, mux=pane, waiting_for="dialog open"
    )
    dead = Session("claude:11:1", 11, "claude", "old", Status.DEAD, alive=False, mux=pane)

    def ctx(session: Session | None) -> actions.ActionContext:
        return actions.ActionContext(session=session, snapshot=Snapshot(), can_go_back=False)

    assert actions.send_blocker(ctx(job)) is None  # through a hidden claude attach
    assert "background job" in (actions.answer_blocker(ctx(job)) or "")
    assert "background job" in (actions.interrupt_blocker(ctx(job)) or "")
    waiting_job = Session(
        "claude:7:1", 7, "claude", "nightly", Status.WAITING, job_id="abcd1234",
        waiting_for="permission prompt",
    )  # fmt: skip
    assert "attach (enter)" in (actions.send_blocker(ctx(waiting_job)) or "")
    assert actions.interrupt_blocker(ctx(codex_busy)) is None
    assert actions.answer_blocker(ctx(codex_busy)) == "fetch is busy, not waiting for a permission"
    assert actions.answer_blocker(ctx(asking)) is None
    assert "approve (a) or deny (A)" in (actions.send_blocker(ctx(asking)) or "")
    assert actions.answer_blocker(ctx(dialog)) == "docs waits for dialog open, not for a permission"
    assert actions.send_blocker(ctx(dialog)) is None
    for blocker in (actions.send_blocker, actions.answer_blocker, actions.interrupt_blocker):
        assert blocker(ctx(dead)) == "old has ended"
        assert blocker(ctx(None)) == "no session is selected"
