"""Remote rows in the TUI (SPEC 2.7): the host in WHERE, an unreachable host, notifications.

Fixed data and a frozen clock (the snapshot is independent of $HOME and the time); the
live path (a Hub over the real ``serve --stdio``) is tested in tests/remote/test_hub_tui.py.
"""

from __future__ import annotations

import io
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from rich.console import Console
from textual.widgets import Static

from sessiontui.config import Config
from sessiontui.model.monitor import Monitor
from sessiontui.model.types import (
    HOST_UNREACHABLE,
    MuxLocation,
    Session,
    Snapshot,
    Status,
    StatusSource,
)
from sessiontui.ui import render
from sessiontui.ui.app import MainTable, make_app
from sessiontui.ui.messages import SnapshotChanged
from tests.ui.fixed_data import HOME, NOW

if TYPE_CHECKING:
    from pathlib import Path

    from textual.pilot import Pilot

    from sessiontui.ui.app import SessionTUI


def _mux(session: str) -> MuxLocation:
    return MuxLocation(
        type="tmux", socket="/tmp/tmux-1000/default", session_id="$3", session=session,
        window="1", pane="%7",
    )  # fmt: skip


def remote_snapshot(*, waiting: bool = False) -> Snapshot:
    """A local row, a live remote one, and one of a host that cannot be reached."""
    sessions = (
        Session(
            key="build/claude:301:1", pid=301, agent="claude", name="ci-fix",
            status=Status.WAITING if waiting else Status.BUSY,
            status_source=StatusSource.REGISTRY, cwd="/home/dev/ci",
            waiting_for="permission prompt" if waiting else None, started_at=NOW - 300,
            status_changed_at=NOW - 1, mux=_mux("ci"), host="build",
        ),
        Session(
            key="gpu/codex:302:1", pid=302, agent="codex", name="train[bold]\x1b]0;x\x07",
            status=Status.BUSY, status_source=StatusSource.TRANSCRIPT, cwd="/data/train",
            started_at=NOW - 4000, status_changed_at=NOW - 120, mux=_mux("train"),
            host="gpu", health=HOST_UNREACHABLE,
        ),
        Session(
            key="claude:101:1", pid=101, agent="claude", name="local-api", status=Status.IDLE,
            status_source=StatusSource.REGISTRY, cwd=f"{HOME}/src/api", started_at=NOW - 900,
            status_changed_at=NOW - 60, mux=_mux("api"),
        ),
    )  # fmt: skip
    return Snapshot(
        sessions=sessions,
        taken_at=NOW,
        messages=("host:gpu: unreachable (ssh: connect to host gpu port 22: Connection refused)",),
    )


@pytest.fixture(autouse=True)
def fixed_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "HOME", HOME)


def remote_app(tmp_path: Path, config: Config | None = None) -> SessionTUI:
    return make_app(
        Monitor(sessions_dir=tmp_path / "sessions"), clock=lambda: NOW, watch=False, config=config
    )


async def show_remote(pilot: Pilot[None]) -> None:
    pilot.app.post_message(SnapshotChanged(remote_snapshot()))
    await pilot.pause()


async def test_g_groups_by_host_when_remote_rows_show(tmp_path: Path) -> None:
    """``g`` reaches host grouping (this machine, then each host, with counts) only then."""
    from sessiontui.model.ordering import THIS_MACHINE, GroupHeader, GroupMode

    app = remote_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await show_remote(pilot)
        for _ in range(3):  # none -> project -> mux -> host
            await pilot.press("g")
        await pilot.pause()
        assert app.group_mode is GroupMode.HOST
        table = app.query_one(MainTable)
        headers = [row for row in table._shown.values() if isinstance(row, GroupHeader)]
        assert sorted(h.group for h in headers) == sorted([THIS_MACHINE, "build", "gpu"])
        assert all(h.size == 1 for h in headers)
        await pilot.press("g")
        assert app.group_mode is GroupMode.NONE
        # With only this machine's rows, g skips host grouping.
        local = remote_snapshot()
        app.post_message(
            SnapshotChanged(replace(local, sessions=tuple(s for s in local.sessions if not s.host)))
        )
        await pilot.pause()
        for _ in range(3):
            await pilot.press("g")
        assert app.group_mode is GroupMode.NONE


def test_remote_rows_snapshot(snap_compare, tmp_path):
    assert snap_compare(remote_app(tmp_path), terminal_size=(120, 16), run_before=show_remote)


async def test_remote_rows_name_their_host_and_unreachable_ones_say_so(tmp_path: Path) -> None:
    app = remote_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await show_remote(pilot)
        table = app.query_one(MainTable)
        rows = {key: str(table.get_row_at(i)[0]) for i, key in enumerate(table.row_keys)}
        widths = {len(row) for row in rows.values()}
        assert len(widths) == 1, rows  # every cell keeps its column
        assert "build:tmux:ci:1" in rows["build/claude:301:1"]
        assert "gpu unreachable" in rows["gpu/codex:302:1"]
        assert "busy" in rows["gpu/codex:302:1"]  # last-known status, never dead
        assert "tmux:api:1" in rows["claude:101:1"]
        assert "build" not in rows["claude:101:1"]
        assert "\x1b" not in rows["gpu/codex:302:1"]
        await pilot.press("down")
        await pilot.pause()
        assert table.selected_key == "gpu/codex:302:1"
        console = Console(width=120, file=io.StringIO(), color_system=None)
        console.print(app.query_one("#detail-fields", Static).content)
        shown: str = console.file.getvalue()  # type: ignore[attr-defined]
        assert "host    gpu" in shown
        assert "health  host unreachable" in shown


async def test_a_remote_wait_is_announced_with_its_host(tmp_path: Path) -> None:
    app = remote_app(tmp_path, Config(waiting_notify_delay_s=0.0, notify=("toast",)))
    async with app.run_test(size=(120, 30)) as pilot:
        await show_remote(pilot)
        app.post_message(SnapshotChanged(remote_snapshot(waiting=True)))
        await pilot.pause(0.3)
        notes = [n.message for n in app._notifications if "waiting" in n.message]
        assert notes == ["ci-fix on build is waiting (permission prompt)"]


def test_the_header_counts_rows_per_host_only_when_remote_rows_show() -> None:
    counts = render.host_counts(remote_snapshot())
    assert counts.plain == "  here 1 · build 1 · gpu 1"
    gpu = counts.plain.index("gpu")
    muted = render.current_theme().muted
    assert any(span.style == muted and span.start <= gpu < span.end for span in counts.spans)
    local_only = Snapshot(sessions=remote_snapshot().sessions[2:], taken_at=NOW)
    assert render.host_counts(local_only).plain == ""


def test_help_lists_problems_snapshot(snap_compare, tmp_path):
    """The header cuts the warning with ``…``; the help screen shows it whole, first."""

    async def run_before(pilot: Pilot[None]) -> None:
        await show_remote(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(remote_app(tmp_path), terminal_size=(80, 30), run_before=run_before)
