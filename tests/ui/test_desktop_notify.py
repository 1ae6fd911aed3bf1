"""Desktop notifications from the running app, received by a real ``notify-send`` on PATH."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sessiontui.config import Config
from sessiontui.model.monitor import Monitor
from sessiontui.mux.tmux import TmuxBackend
from sessiontui.ui.app import make_app
from tests.helpers import write_entry
from tests.test_desktop import install_receiver, received
from tests.ui.world import FAST, World, wait_for

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from sessiontui.ui.app import SessionTUI


def desktop_app(world: World, config: Config) -> SessionTUI:
    tmux = TmuxBackend(socket_name=world.server.socket_name, environ={})
    monitor = Monitor(sessions_dir=world.registry, tmux=tmux, timing=FAST, grace_s=1.0)
    return make_app(monitor, config=config)


async def test_burst_summary_then_one_per_session_per_minute(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = install_receiver(tmp_path / "bin")
    monkeypatch.setenv("NOTIFY_RECORD", str(record))
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    names = ["api", "web", "docs"]
    pids = {name: world.agent(name, status="busy") for name in names}
    config = Config(
        notify=("toast", "desktop"), desktop_method="notify-send", waiting_notify_delay_s=0.2
    )
    app = desktop_app(world, config)
    async with app.run_test(size=(120, 30)) as pilot:

        def toasts() -> list[str]:
            return [n.message for n in app._notifications if "waiting" in n.message]

        await wait_for(pilot, lambda: len(app.snapshot.sessions) == 3)
        for name in names:  # three sessions start waiting together: one summary
            write_entry(world.registry, pids[name], name=name, status="waiting")
        await wait_for(pilot, lambda: received(record), timeout_s=10)
        ((dashdash, title, body),) = received(record)
        assert (dashdash, title) == ("--", "Waiting for you")
        assert body.startswith("3 sessions are waiting: ")
        assert sorted(body.removeprefix("3 sessions are waiting: ").split(", ")) == sorted(names)
        assert len(toasts()) == 3  # the toasts are unchanged: one each

        # "api" stops and waits again within the minute: a toast, no second desktop notice.
        write_entry(world.registry, pids["api"], name="api", status="busy")
        await wait_for(pilot, lambda: not any(s.name == "api" for s in app.snapshot.waiting()))
        write_entry(world.registry, pids["api"], name="api", status="waiting")
        await wait_for(pilot, lambda: len(toasts()) == 4)
        await pilot.pause(2.5)  # longer than the burst window
        assert len(received(record)) == 1


async def test_desktop_is_off_by_default(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = install_receiver(tmp_path / "bin")
    monkeypatch.setenv("NOTIFY_RECORD", str(record))
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    pid = world.agent("solo", status="busy")
    app = desktop_app(world, Config(waiting_notify_delay_s=0.1))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.snapshot.sessions) == 1)
        write_entry(world.registry, pid, name="solo", status="waiting")
        await wait_for(
            pilot, lambda: any("solo is waiting" in n.message for n in app._notifications)
        )
        await pilot.pause(2.0)
        assert received(record) == []
