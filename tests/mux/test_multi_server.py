"""Several real tmux servers in one list: discovery, routing, control mode, unreachable servers.

Every test has its own ``TMUX_TMPDIR`` (tests/conftest.py), so discovery sees only the
servers the test starts. The monitor is built by the real composition root (``make_muxset``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import uuid
from typing import TYPE_CHECKING

import libtmux
import psutil
import pytest
from tests.helpers import attach_client, run_cli, wait_until, write_entry

from sessiontui.cli import make_muxset, parse_args
from sessiontui.config import Config
from sessiontui.model.monitor import Monitor, MonitorTiming
from sessiontui.model.muxset import UNREACHABLE
from sessiontui.mux.tmux import discover_sockets, socket_dir

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sessiontui.model.types import Session


@pytest.fixture
def servers() -> Iterator[Callable[[str], libtmux.Server]]:
    """Start named tmux servers in the test's socket directory; all are killed at teardown."""
    started: list[libtmux.Server] = []

    def start(label: str) -> libtmux.Server:
        server = libtmux.Server(
            socket_name=f"{label}-{uuid.uuid4().hex[:6]}", config_file="/dev/null"
        )
        started.append(server)
        return server

    yield start
    for server in started:
        with contextlib.suppress(Exception):
            server.kill()


def agent_pane(server: libtmux.Server, session: str, text: str) -> tuple[str, int]:
    """A session whose only pane prints ``text`` and sleeps; returns ``(%N, pane_pid)``."""
    out = server.cmd(
        "new-session", "-d", "-P", "-F", "#{pane_id} #{pane_pid}", "-s", session,
        "-x", "80", "-y", "24", f"echo {text}; exec sleep 300",
    ).stdout  # fmt: skip
    pane, pid = out[0].split()
    return pane, int(pid)


def monitor_for(args: list[str], sessions_dir: Path, **timing: float) -> Monitor:
    """A monitor built like the CLI builds it, with a slow safety poll unless told."""
    muxes = make_muxset(parse_args(["ls", *args]), Config())
    return Monitor(
        sessions_dir=sessions_dir,
        muxes=muxes,
        timing=MonitorTiming(**({"tmux_poll_s": 300.0} | timing)),
        grace_s=1.0,
    )


def by_pid(monitor: Monitor, pid: int) -> Session | None:
    return next((s for s in monitor.snapshot.sessions if s.pid == pid), None)


def test_three_servers_colliding_pane_ids_each_action_on_its_own_server(
    servers: Callable[[str], libtmux.Server], tmp_path: Path
) -> None:
    registry = tmp_path / "sessions"
    work, build, found = servers("work"), servers("build"), servers("found")
    placed = {}
    for server, text in ((work, "on-work"), (build, "on-build"), (found, "on-found")):
        pane, pid = agent_pane(server, "main", text)
        write_entry(registry, pid, name=f"agent-{text}", status="idle")
        placed[pid] = (server, pane, text)
    # The same pane id on every server: ids are unique only within one server.
    assert len({pane for _, pane, _ in placed.values()}) == 1

    monitor = monitor_for(["-L", work.socket_name or "", "-L", build.socket_name or ""], registry)
    with monitor:
        snapshot = monitor.refresh()
        assert len(snapshot.sessions) == 3
        assert len({s.key for s in snapshot.sessions}) == 3
        for pid, (server, pane, text) in placed.items():
            session = by_pid(monitor, pid)
            assert session is not None
            assert session.mux is not None
            assert session.mux.pane == pane
            assert session.mux.socket.endswith("/" + (server.socket_name or ""))
            # Several servers in view: WHERE names the server.
            assert session.mux.label == f"{server.socket_name}:main:0.0"
            # Preview reads the row's own server.
            wait_until(lambda k=session.key, t=text: t in monitor.preview(k, 5), what="preview")

        # Kill the agent on the discovered server: only that process ends.
        found_pid = next(p for p, v in placed.items() if v[0] is found)
        report = monitor.kill(by_pid(monitor, found_pid).key, grace_s=1.0)  # type: ignore[union-attr]
        assert found_pid in report.terminated or found_pid in report.killed
        for pid in placed:
            assert psutil.pid_exists(pid) == (pid != found_pid) or pid == found_pid

        # Rename a sessiontui-made session on the second server: that server's session only.
        build.cmd("set-option", "-t", "=main:", "@sessiontui-kind", "bg")
        monitor.refresh()
        build_pid = next(p for p, v in placed.items() if v[0] is build)
        monitor.rename(by_pid(monitor, build_pid).key, "renamed")  # type: ignore[union-attr]
        assert build.cmd("has-session", "-t", "=renamed").returncode == 0
        assert work.cmd("has-session", "-t", "=main").returncode == 0
        assert work.cmd("has-session", "-t", "=renamed").returncode != 0


def test_ls_json_names_the_server_and_discovers_servers(
    servers: Callable[[str], libtmux.Server], tmp_path: Path
) -> None:
    registry = tmp_path / "sessions"
    one, two = servers("one"), servers("two")
    _, pid_one = agent_pane(one, "s", "x")
    _, pid_two = agent_pane(two, "s", "y")
    write_entry(registry, pid_one, name="a1")
    write_entry(registry, pid_two, name="a2")

    result = run_cli("ls", "--json", "--sessions-dir", str(registry))
    assert result.returncode == 0, result.stderr
    rows = {row["pid"]: row for row in json.loads(result.stdout)}
    assert rows[pid_one]["mux"]["server"] == str(socket_dir() / (one.socket_name or ""))
    assert rows[pid_two]["mux"]["server"] == str(socket_dir() / (two.socket_name or ""))

    # --no-discover: only the named server.
    limited = run_cli(
        "ls", "--json", "--no-discover", "-L", one.socket_name or "",
        "--sessions-dir", str(registry),
    )  # fmt: skip
    rows = {row["pid"]: row for row in json.loads(limited.stdout)}
    assert rows[pid_one]["mux"] is not None
    assert rows[pid_two]["mux"] is None


def test_stale_socket_is_ignored_and_kept(servers: Callable[[str], libtmux.Server]) -> None:
    live = servers("live")
    agent_pane(live, "main", "x")
    directory = socket_dir()
    stale = directory / "stale"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(stale))
    sock.close()  # the file stays; nobody listens: a dead server's socket

    found = discover_sockets()
    assert str(directory / (live.socket_name or "")) in found
    assert str(stale) not in found
    assert stale.exists()


def test_new_server_appears_and_control_mode_triggers_polls(
    servers: Callable[[str], libtmux.Server], tmp_path: Path
) -> None:
    registry = tmp_path / "sessions"
    registry.mkdir()
    first = servers("first")
    agent_pane(first, "home", "h")
    monitor = monitor_for([], registry)
    with monitor:
        monitor.refresh()
        monitor.start()
        # A server started later is found by watching the socket directory.
        later = servers("later")
        later.cmd("new-session", "-d", "-s", "job", "-x", "80", "-y", "24", "sleep 300")
        later.cmd("set-option", "-t", "=job:", "@sessiontui-kind", "bg")

        def job() -> Session | None:
            return next((s for s in monitor.snapshot.sessions if s.name == "job"), None)

        wait_until(job, timeout_s=5, what="the later server's bg session")
        # The slow poll is 300 s: a split seen at once came from a control-mode trigger.
        later.cmd("split-window", "-t", "=job:", "sleep 300")
        wait_until(
            lambda: (s := job()) is not None and s.mux is not None and s.mux.panes_in_session == 2,
            timeout_s=5,
            what="the split pane",
        )
        # A session killed on a server: its row goes without waiting for the slow poll.
        later.cmd("kill-session", "-t", "=job")
        wait_until(lambda: job() is None, timeout_s=5, what="the killed session to go")


def test_detach_never_detaches_the_control_client_and_counts_exclude_it(
    servers: Callable[[str], libtmux.Server], tmp_path: Path
) -> None:
    registry = tmp_path / "sessions"
    server = servers("det")
    _, pid = agent_pane(server, "main", "d")
    write_entry(registry, pid, name="agent")
    monitor = monitor_for(["--no-discover", "-L", server.socket_name or ""], registry)
    viewer = attach_client(server.socket_name or "", "=main")
    try:
        with monitor:
            monitor.refresh()
            monitor.start()

            def modes() -> list[str]:
                return list(server.cmd("list-clients", "-F", "#{client_control_mode}").stdout)

            wait_until(lambda: sorted(modes()) == ["0", "1"], what="our client and the control one")
            monitor.request_poll()
            wait_until(
                lambda: (s := by_pid(monitor, pid)) and s.mux and s.mux.attached_clients == 1,
                what="one attached client (the control client not counted)",
            )
            assert monitor.detach(by_pid(monitor, pid).key) == 1  # type: ignore[union-attr]
            wait_until(lambda: modes() == ["1"], what="only the control client left")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(viewer.pid, signal.SIGKILL)
        viewer.wait(timeout=5)


def test_stopped_server_rows_are_unreachable_not_dead_and_come_back(
    servers: Callable[[str], libtmux.Server], tmp_path: Path
) -> None:
    registry = tmp_path / "sessions"
    server = servers("stop")
    _, pid = agent_pane(server, "main", "s")
    write_entry(registry, pid, name="agent", status="idle")
    monitor = monitor_for(["--no-discover", "-L", server.socket_name or ""], registry)
    server_pid = int(server.cmd("display-message", "-p", "#{pid}").stdout[0])
    with monitor:
        monitor.refresh()
        os.kill(server_pid, signal.SIGSTOP)
        try:
            snapshot = monitor.refresh()  # the poll times out (2 s)
            session = by_pid(monitor, pid)
            assert session is not None
            assert session.alive
            assert session.mux is not None  # its last-known place
            assert session.health == UNREACHABLE
            assert any("unreachable" in m or "not running" in m for m in snapshot.messages) or (
                session.health == UNREACHABLE
            )
        finally:
            os.kill(server_pid, signal.SIGCONT)
        monitor.refresh()
        session = by_pid(monitor, pid)
        assert session is not None
        assert session.health is None
        assert session.mux is not None


def test_killed_server_restarted_comes_back(
    servers: Callable[[str], libtmux.Server], tmp_path: Path
) -> None:
    registry = tmp_path / "sessions"
    registry.mkdir()
    server = servers("again")
    server.cmd("new-session", "-d", "-s", "job", "sleep 300")
    server.cmd("set-option", "-t", "=job:", "@sessiontui-kind", "bg")
    monitor = monitor_for([], registry)
    with monitor:
        monitor.refresh()
        monitor.start()

        def names() -> set[str]:
            return {s.name for s in monitor.snapshot.sessions}

        wait_until(lambda: "job" in names(), what="the bg session")
        server.kill()
        wait_until(lambda: "job" not in names(), timeout_s=5, what="the session to go")
        subprocess.run(
            ["tmux", "-L", server.socket_name or "", "-f", "/dev/null", "new-session", "-d",
             "-s", "job2", "sleep 300"],
            check=True,
        )  # fmt: skip
        server.cmd("set-option", "-t", "=job2:", "@sessiontui-kind", "bg")
        wait_until(lambda: "job2" in names(), timeout_s=5, what="the restarted server's session")


def test_control_mode_on_a_server_with_no_session_asks_for_no_poll(
    servers: Callable[[str], libtmux.Server],
) -> None:
    """``tmux -C attach`` where no session runs answers ``%begin``/``%error``/``%exit``.

    That failed attach is not a change: before, every retry (each 0.5 s) asked the monitor for
    a full poll of every multiplexer (seen in benchmarks/zellij.py: ~2 polls a second with a
    ``-L`` server that was not running). Once a session exists, the trigger works.
    """
    import shutil
    import time

    from sessiontui.mux.tmux_control import ControlModeTrigger

    server = servers("empty")  # not started yet
    label = server.socket_name or ""
    fired: list[float] = []
    tmux = shutil.which("tmux") or "tmux"
    trigger = ControlModeTrigger(
        [tmux, "-L", label, "-f", "/dev/null"], lambda: fired.append(time.monotonic()), retry_s=0.05
    )
    trigger.start()
    try:
        time.sleep(1.5)  # retries at 0.05, 0.1, 0.2, 0.4, 0.8 s: five failed attaches
        assert fired == []
        assert not trigger.connected.is_set()
        server.cmd("new-session", "-d", "-s", "now", "sleep 300")
        trigger.kick()
        wait_until(lambda: fired, timeout_s=5, what="a trigger once a session exists")
        assert trigger.connected.wait(5)
    finally:
        trigger.close()
