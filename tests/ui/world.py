"""A real tmux world for Pilot tests: agent-like processes in panes, registry files, clients."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import psutil

from sessiontui.model.monitor import MonitorTiming
from sessiontui.ui.app import MainTable
from tests.helpers import attach_client, client_sessions, wait_until, write_entry

if TYPE_CHECKING:
    from pathlib import Path

    import libtmux
    from textual.pilot import Pilot

    from sessiontui.ui.app import SessionTUI

FAST = MonitorTiming(debounce_s=0.005, rescan_s=0.5, sample_s=0.5, tmux_poll_s=0.5)


class World:
    """A real tmux server with agent-like processes in panes and their registry files."""

    def __init__(self, server: libtmux.Server, registry: Path) -> None:
        self.server = server
        self.registry = registry
        self.clients: list[subprocess.Popen[bytes]] = []
        self.pids: dict[str, int] = {}

    def agent(self, session_name: str, *, tmux_kind: str | None = None, **fields: object) -> int:
        """A ``sleep`` in its own tmux session, with a registry entry.

        ``tmux_kind`` marks the tmux session ``@sessiontui-kind`` as sessiontui does for the
        sessions it creates (``None``: a session the user made).
        """
        session = self.server.new_session(session_name, window_command="sleep 300")
        if tmux_kind is not None:
            self.server.cmd("set-option", "-t", f"={session_name}:", "@sessiontui-kind", tmux_kind)
        pane = session.active_window.active_pane
        assert pane is not None
        pid = int(pane.pane_pid or 0)
        wait_until(lambda: psutil.Process(pid).name() == "sleep")
        fields.setdefault("name", session_name)
        write_entry(self.registry, pid, cwd=f"/work/{session_name}", **fields)
        self.pids[session_name] = pid
        return pid

    def client(self, target: str) -> subprocess.Popen[bytes]:
        before = len(client_sessions(self.server.cmd))
        proc = attach_client(self.server.socket_name or "", target)
        self.clients.append(proc)
        wait_until(lambda: len(client_sessions(self.server.cmd)) > before)
        return proc

    def home_environ(self) -> dict[str, str]:
        """A session ``home`` with a client on it; the environment of a program in its pane.

        Returns:
            ``TMUX`` (socket path, pid, session) and ``TMUX_PANE`` as tmux gives them to the
            pane's processes, for a TUI that runs "in" that pane.
        """
        home = self.server.new_session("home")
        pane = home.active_window.active_pane
        assert pane is not None
        self.client("=home")
        socket = self.server.cmd("display-message", "-p", "#{socket_path}").stdout[0]
        return {"TMUX": f"{socket},1,0", "TMUX_PANE": pane.pane_id or ""}

    def control_client(self, target: str) -> subprocess.Popen[bytes]:
        """A control-mode client (``tmux -C``) attached to ``target``, as a program uses one."""
        before = len(self.server.cmd("list-clients", "-F", "#{client_name}").stdout)
        proc = subprocess.Popen(
            ["tmux", "-L", self.server.socket_name or "", "-C", "attach-session", "-t", target],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.clients.append(proc)
        wait_until(
            lambda: len(self.server.cmd("list-clients", "-F", "#{client_name}").stdout) > before
        )
        return proc

    def close(self) -> None:
        for proc in self.clients:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def spawn_sleep() -> subprocess.Popen[bytes]:
    """A live process outside tmux."""
    return subprocess.Popen(["sleep", "300"])


async def wait_for(pilot: Pilot[None], predicate, timeout_s: float = 10.0) -> None:
    """Let the app run until ``predicate()`` holds."""
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


async def select(pilot: Pilot[None], name: str) -> None:
    """Put the cursor on the row whose session is called ``name`` (as a click would)."""
    app: SessionTUI = pilot.app  # type: ignore[assignment]
    table = app.query_one(MainTable)

    def row_index() -> int | None:
        for index in range(table.row_count):
            table_key = table.coordinate_to_cell_key((index, 0)).row_key.value
            session = app.snapshot.get(table_key or "")
            if session is not None and session.name == name:
                return index
        return None

    await wait_for(pilot, lambda: row_index() is not None)
    table.move_cursor(row=row_index())
    await pilot.pause()
    assert table.session_at_cursor() is not None
    assert table.session_at_cursor().name == name  # type: ignore[union-attr]
