"""The TUI on a Hub over a "remote" host: the host in WHERE, ssh attach, an unreachable row.

The host is the real ``serve --stdio`` behind a local ssh stand-in; ``enter`` on its row opens
the ssh attach in a new window of our real tmux client, and a dropped link leaves the row
unreachable (never dead).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sessiontui.model.monitor import Monitor
from sessiontui.model.types import HOST_UNREACHABLE, Status
from sessiontui.mux.tmux import TmuxBackend
from sessiontui.remote.hosts import HostSpec
from sessiontui.remote.hub import Hub
from sessiontui.remote.link import HostLink, SshTransport
from sessiontui.ui.app import MainTable, make_app
from tests.helpers import client_sessions
from tests.ui.world import FAST, World, select, wait_for

if TYPE_CHECKING:
    from sessiontui.ui.app import SessionTUI

LOCAL_SSH = (sys.executable, str(Path(__file__).parents[1] / "remote" / "local_ssh.py"))


def hub_app(world: World, remote_registry: Path, **link_options: float) -> tuple[Hub, SessionTUI]:
    """The app inside session ``home`` of the world's server, on a Hub with host ``box``."""
    environ = world.home_environ()
    tmux = TmuxBackend(socket_name=world.server.socket_name, environ=environ)
    monitor = Monitor(sessions_dir=world.registry, tmux=tmux, timing=FAST, grace_s=1.0)
    command = (sys.executable, "-m", "sessiontui", "--sessions-dir", str(remote_registry),
               "--no-zellij")  # fmt: skip
    link = HostLink(
        HostSpec(name="box", ssh="box.invalid", command=command),
        transport=SshTransport(ssh=LOCAL_SSH),
        **link_options,  # type: ignore[arg-type]
    )
    hub = Hub(monitor, [link])
    return hub, make_app(hub)


def row_text(app: SessionTUI, key: str) -> str:
    table = app.query_one(MainTable)
    return str(table.get_row_at(table.get_row_index(key))[0])


async def test_enter_on_a_remote_row_runs_ssh_attach_in_a_new_window(
    world: World, tmp_path: Path
) -> None:
    remote = World(world.server, tmp_path / "remote" / "sessions")
    remote.agent("far", status="busy")
    world.agent("near", status="idle")
    hub, app = hub_app(world, remote.registry)
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.snapshot.sessions) == 2, 30.0)
        far = next(s for s in app.snapshot.sessions if s.name == "far")
        assert far.host == "box"
        assert "box:tmux:far:" in row_text(app, far.key)
        near = next(s for s in app.snapshot.sessions if s.host is None)
        assert "box" not in row_text(app, near.key)
        await select(pilot, "far")
        await pilot.press("enter")
        # A new window of our client's session runs "ssh -t box.invalid -- tmux ... attach",
        # which attaches a second client to the remote session "far".
        await wait_for(pilot, lambda: "far" in client_sessions(world.server.cmd), 20.0)
        windows = world.server.cmd("list-windows", "-t", "=home", "-F", "#{window_name}").stdout
        assert "box:far" in windows
        assert client_sessions(world.server.cmd).count("home") == 1  # ours stays
        # Detach goes over the link: the host detaches the client of its session "far".
        assert hub.detach(far.key) == 1
        await wait_for(pilot, lambda: "far" not in client_sessions(world.server.cmd), 10.0)


async def test_a_dropped_link_shows_the_row_unreachable(world: World, tmp_path: Path) -> None:
    remote = World(world.server, tmp_path / "remote" / "sessions")
    remote.agent("far", status="waiting", waitingFor="permission prompt")
    hub, app = hub_app(world, remote.registry, backoff_first_s=60.0)
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.snapshot.sessions) == 1, 30.0)
        (far,) = app.snapshot.sessions
        hub.links[0].kill_transport()
        await wait_for(
            pilot,
            lambda: app.snapshot.get(far.key).health == HOST_UNREACHABLE,  # type: ignore[union-attr]
            10.0,
        )
        await pilot.pause(0.2)
        row = row_text(app, far.key)
        assert "box unreachable" in row
        assert "waiting" in row  # the last-known status, not dead
        assert app.snapshot.get(far.key).status is Status.WAITING  # type: ignore[union-attr]
        assert any(m.startswith("host:box: unreachable") for m in app.snapshot.messages)
