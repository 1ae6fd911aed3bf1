"""``sessiontui --bg`` as a user runs it: q detaches (the monitor keeps running), ctrl+q quits."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import psutil
import pytest
from tests.helpers import wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import libtmux


def start_client(socket: str, registry: Path) -> subprocess.Popen[bytes]:
    """``sessiontui --bg`` in a real terminal (``script``), outside tmux."""
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    env["TERM"] = "xterm-256color"
    command = (
        "stty cols 100 rows 30; "
        f"{sys.executable} -m sessiontui --bg -L {socket} --sessions-dir {registry}"
    )
    return subprocess.Popen(
        ["script", "-qfec", command, "/dev/null"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )


@pytest.fixture
def clients() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def screen(server: libtmux.Server) -> str:
    return "\n".join(server.cmd("capture-pane", "-p", "-t", "=sessiontui:").stdout)


def monitor_sessions(server: libtmux.Server) -> list[str]:
    result = server.cmd("list-sessions", "-F", "#{session_name}")
    return [name for name in result.stdout if name == "sessiontui"]


def test_bg_monitor_detaches_on_q_and_quits_on_ctrl_q(server, tmp_path, clients):
    registry = tmp_path / "sessions"
    registry.mkdir()
    socket = server.socket_name or ""
    clients.append(start_client(socket, registry))
    wait_until(lambda: monitor_sessions(server) == ["sessiontui"], 20)
    wait_until(lambda: "no agent sessions" in screen(server), 20)
    pane_pid = int(server.cmd("list-panes", "-t", "=sessiontui:", "-F", "#{pane_pid}").stdout[0])
    app = psutil.Process(pane_pid)
    wait_until(lambda: server.cmd("list-clients", "-F", "#{client_tty}").stdout, 10)

    server.cmd("send-keys", "-t", "=sessiontui:", "q")
    wait_until(lambda: clients[0].poll() is not None, 10)  # the client detached...
    assert monitor_sessions(server) == ["sessiontui"]  # ...the monitor kept running
    assert app.is_running()
    assert server.cmd("list-clients", "-F", "#{client_tty}").stdout == []

    clients.append(start_client(socket, registry))  # --bg again re-attaches, no second monitor
    wait_until(lambda: server.cmd("list-clients", "-F", "#{client_tty}").stdout, 10)
    assert monitor_sessions(server) == ["sessiontui"]
    assert app.is_running()

    server.cmd("send-keys", "-t", "=sessiontui:", "C-q")
    wait_until(lambda: "Quit the background monitor?" in screen(server), 10)
    server.cmd("send-keys", "-t", "=sessiontui:", "y")
    wait_until(lambda: monitor_sessions(server) == [], 15)
    wait_until(lambda: not app.is_running() or app.status() == psutil.STATUS_ZOMBIE, 10)
