"""SVG snapshots of the main view (40/80/120 columns), the modals and the help screen."""

from __future__ import annotations

from contextlib import chdir
from typing import TYPE_CHECKING

import pytest

from sessiontui.config import Config
from sessiontui.model.monitor import Monitor
from sessiontui.model.muxset import MuxSet
from sessiontui.mux.zellij import ZellijServer
from sessiontui.ui import render
from sessiontui.ui.app import make_app
from sessiontui.ui.messages import SnapshotChanged
from sessiontui.ui.widgets.detail import DetailPanel
from tests.ui.fixed_data import HOME, NOW, ZELLIJ_SERVER, fixed_snapshot, zellij_snapshot

if TYPE_CHECKING:
    from pathlib import Path

    from textual.pilot import Pilot

    from sessiontui.ui.app import SessionTUI


@pytest.fixture(autouse=True)
def fixed_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorten paths (``~``) against the fixed data's home, not the ``$HOME`` of this run."""
    monkeypatch.setattr(render, "HOME", HOME)


#: No bell, toast or desktop notice for waiting sessions (see :func:`fixed_app`).
QUIET = Config(notify_waiting=False)


def fixed_app(tmp_path: Path) -> SessionTUI:
    """The app on fixed data: a monitor that is never started, a frozen clock, no toasts.

    No toasts: a waiting session is announced after a delay measured on the real clock,
    so whether its toast is in the picture would depend on the machine's speed.
    """
    monitor = Monitor(sessions_dir=tmp_path / "sessions")
    return make_app(monitor, clock=lambda: NOW, watch=False, config=QUIET)


async def show_fixed(pilot: Pilot[None]) -> None:
    pilot.app.post_message(SnapshotChanged(fixed_snapshot()))
    await pilot.pause()


@pytest.mark.parametrize("width", [40, 80, 120])
def test_main_view(snap_compare, tmp_path, width):
    assert snap_compare(fixed_app(tmp_path), terminal_size=(width, 30), run_before=show_fixed)


def test_rename_modal(snap_compare, tmp_path):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot)
        await pilot.press("r")
        await pilot.pause()

    assert snap_compare(fixed_app(tmp_path), terminal_size=(80, 30), run_before=run_before)


def test_rename_modal_rejects_empty_name(snap_compare, tmp_path):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot)
        await pilot.press("r", "ctrl+a", "ctrl+k")
        await pilot.pause()

    assert snap_compare(fixed_app(tmp_path), terminal_size=(80, 30), run_before=run_before)


def test_confirm_kill_modal(snap_compare, tmp_path):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot)
        await pilot.press("K")
        await pilot.pause()

    assert snap_compare(fixed_app(tmp_path), terminal_size=(80, 30), run_before=run_before)


def test_help_screen(snap_compare, tmp_path):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(fixed_app(tmp_path), terminal_size=(100, 34), run_before=run_before)


def test_new_session_modal(snap_compare, tmp_path):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot)
        await pilot.press("n", *"nightly")
        await pilot.pause()

    app = fixed_app(tmp_path)
    with chdir("/"):
        assert snap_compare(app, terminal_size=(80, 30), run_before=run_before)


@pytest.mark.parametrize("width", [40, 120])
def test_filter(snap_compare, tmp_path, width):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot)
        await pilot.press("slash", *"s:busy")
        await pilot.pause()

    assert snap_compare(fixed_app(tmp_path), terminal_size=(width, 30), run_before=run_before)


@pytest.mark.parametrize("width", [40, 120])
def test_detail_panel_with_preview(snap_compare, tmp_path, width):
    async def run_before(pilot: Pilot[None]) -> None:
        await show_fixed(pilot)
        await pilot.press("down")
        pilot.app.query_one(DetailPanel).show_preview(PREVIEW)
        await pilot.pause()

    assert snap_compare(fixed_app(tmp_path), terminal_size=(width, 40), run_before=run_before)


PREVIEW = "● Running pytest -q\n  212 passed, 1 failed\n\x1b[31m● Fixing tests/test_api.py\n> "


def test_configured_columns(snap_compare, tmp_path):
    monitor = Monitor(sessions_dir=tmp_path / "sessions")
    config = Config(columns=("name", "status", "activity"), registry_dirs=(tmp_path,))
    app = make_app(monitor, clock=lambda: NOW, watch=False, config=config)
    assert snap_compare(app, terminal_size=(80, 24), run_before=show_fixed)


def zellij_app(tmp_path: Path) -> SessionTUI:
    """The app on fixed Zellij rows; its monitor knows the (never started) Zellij server."""
    zellij = ZellijServer(
        binary=str(tmp_path / "no-zellij"), environ={"ZELLIJ_SOCKET_DIR": "/run/user/0/zellij"}
    )
    assert zellij.server == ZELLIJ_SERVER
    monitor = Monitor(sessions_dir=tmp_path / "sessions", muxes=MuxSet([zellij]))
    return make_app(monitor, clock=lambda: NOW, watch=False, config=QUIET)


async def show_zellij(pilot: Pilot[None]) -> None:
    pilot.app.post_message(SnapshotChanged(zellij_snapshot()))
    await pilot.pause()


@pytest.mark.parametrize("width", [50, 120])
def test_zellij_rows(snap_compare, tmp_path, width):
    """WHERE of Zellij panes (``zellij:<session>:<tab>.<pane>``) and of an exited session.

    The exited session (dead, last) is selected: the detail panel shows it.
    """

    async def run_before(pilot: Pilot[None]) -> None:
        await show_zellij(pilot)
        await pilot.press("down", "down", "down")
        await pilot.pause()

    assert snap_compare(zellij_app(tmp_path), terminal_size=(width, 24), run_before=run_before)


def test_confirm_kill_zellij_modal(snap_compare, tmp_path):
    """K on a Zellij session sessiontui made: also deleting it is offered, unticked."""

    async def run_before(pilot: Pilot[None]) -> None:
        await show_zellij(pilot)
        await pilot.press("down", "K")
        await pilot.pause()

    assert snap_compare(zellij_app(tmp_path), terminal_size=(80, 24), run_before=run_before)


def test_confirm_delete_exited_zellij_modal(snap_compare, tmp_path):
    """D on an exited Zellij session asks before deleting its resurrection data."""

    async def run_before(pilot: Pilot[None]) -> None:
        await show_zellij(pilot)
        await pilot.press("down", "down", "down", "D")
        await pilot.pause()

    assert snap_compare(zellij_app(tmp_path), terminal_size=(80, 24), run_before=run_before)
