"""``sessiontui --bg`` inside Zellij, as a user runs it, with a real ``zellij attach`` client.

The user's client (``zellij attach work`` under ``script``) shows session ``work``; in a pane
of it ``sessiontui --bg`` makes the Zellij session ``sessiontui`` running the monitor and
switches that client to it. ``q`` in the monitor detaches the client; the monitor keeps
running; ``--bg`` again goes back to the same monitor.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import psutil
import pytest
from tests.helpers import wait_until
from tests.mux.test_zellij import ZELLIJ, ZellijEnv, attach_client, stop, zenv  # noqa: F401

from sessiontui.errors import MuxUnavailable

if TYPE_CHECKING:
    from pathlib import Path

    from sessiontui.mux.zellij import ZellijServer


def clients_of(server: ZellijServer, session: str) -> int:
    """How many clients show ``session`` (0 when it is not live, -1 when it did not answer).

    Right after a client connects, ``action list-clients`` was seen printing the session
    list instead (colored ``list-sessions`` output): the backend calls that garbage.
    """
    if not server.is_live(session):
        return 0
    if not (server.cache_dir / session / "session-metadata.kdl").exists():
        return -1  # still starting: a client connecting now could crash it (STARTING_S)
    try:
        return len(server.list_clients(session))
    except MuxUnavailable:
        return -1


def typing_client(world: ZellijEnv, session: str) -> subprocess.Popen[bytes]:
    """A real ``zellij attach`` on a pseudo-terminal whose keyboard is this process (stdin).

    Keys must come from the client itself: Zellij 0.45.0 applies a CLI ``action detach``
    to the session's last active client (the last to send a keystroke), so a key sent with
    ``action write-chars`` would leave no client to detach.
    """
    assert ZELLIJ is not None
    env = dict(world.environ, TERM="xterm-256color")
    return subprocess.Popen(
        [
            shutil.which("script") or "script",
            "-qfec",
            f"stty rows 40 cols 120; exec {shlex.quote(ZELLIJ)} attach {shlex.quote(session)}",
            "/dev/null",
        ],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def press(client: subprocess.Popen[bytes], keys: bytes) -> None:
    """Type ``keys`` on the client's terminal."""
    assert client.stdin is not None
    client.stdin.write(keys)
    client.stdin.flush()


def type_bg(client: subprocess.Popen[bytes], registry: Path, log: Path) -> None:
    """Type ``sessiontui --bg`` + Enter in the shell our client shows (as a user does).

    Typed on the client, not run with ``zellij run``: Zellij applies CLI actions (our
    ``switch-session``) to the session's last active client, the one that typed.
    """
    assert ZELLIJ is not None
    command = (
        f"SESSIONTUI_ZELLIJ_BIN={shlex.quote(ZELLIJ)} "
        f"{shlex.quote(sys.executable)} -m sessiontui --bg --no-discover -L sessiontui-none "
        f"--sessions-dir {shlex.quote(str(registry))} >{shlex.quote(str(log))} 2>&1\r"
    )
    press(client, command.encode())


# Zellij 0.45.0 applies CLI actions to the "last active client" and a new client may drop the
# first keys typed at it; under load this end-to-end run (a real client typing) fails about one
# run in five at varying steps, so it gets two more tries. Its failures are not hidden: a third
# failure in a row fails the build.
@pytest.mark.flaky(reruns=2)
def test_bg_inside_zellij_switches_our_client_and_q_detaches_it(
    zenv: ZellijEnv,  # noqa: F811
    tmp_path: Path,
) -> None:
    registry = tmp_path / "sessions"
    registry.mkdir()
    server = zenv.server()
    zenv.start("work")
    if shutil.which("script") is None:
        pytest.skip("util-linux `script` is not installed")
    client = typing_client(zenv, "work")
    second = None
    log = tmp_path / "bg.log"
    try:
        wait_until(lambda: clients_of(server, "work") == 1, 15, "our client on work")
        type_bg(client, registry, log)
        wait_until(lambda: server.is_live("sessiontui"), 30, "the monitor's session")
        wait_until(
            lambda: clients_of(server, "sessiontui") == 1 and clients_of(server, "work") == 0,
            20,
            "our client switched to the monitor",
        )
        panes = [p for p in server.list_panes() if p.session_name == "sessiontui"]
        assert len(panes) == 1, panes  # the monitor alone, no stray pane
        monitor = psutil.Process(panes[0].pane_pid)
        assert "sessiontui" in " ".join(monitor.cmdline())
        assert monitor.environ().get("SESSIONTUI_BG") == "1"
        pane = panes[0].pane_id
        wait_until(
            lambda: "no agent sessions" in server.capture_pane(pane, 40, session="sessiontui"),
            30,
            "the monitor on screen",
        )

        # q, typed on our client: it is detached (its `zellij attach` returns); the monitor
        # keeps running.
        press(client, b"q")
        try:
            client.wait(timeout=15)
        except subprocess.TimeoutExpired:
            screen = server.capture_pane(pane, 40, session="sessiontui")
            message = f"q did not detach our client; the monitor shows:\n{screen}"
            raise AssertionError(message) from None
        assert server.is_live("sessiontui")
        assert monitor.is_running()
        assert server.is_live("work")

        # --bg again from work: back to the same monitor, no second one.
        second = typing_client(zenv, "work")
        wait_until(lambda: clients_of(server, "work") == 1, 15, "a new client on work")

        # A freshly attached client may drop keys typed before its shell is drawn (seen once
        # in ~10 runs under load: nothing ran); --bg is idempotent, so it is typed again then.
        def back_on_monitor() -> bool:
            return clients_of(server, "sessiontui") == 1 and clients_of(server, "work") == 0

        for attempt in range(3):
            type_bg(second, registry, log)
            try:
                wait_until(back_on_monitor, 10, "the client back on the monitor")
                break
            except AssertionError:
                if attempt == 2 or (log.exists() and log.read_text()):
                    raise  # it ran and still did not switch: a real failure
        assert [p.pane_pid for p in server.list_panes() if p.session_name == "sessiontui"] == [
            monitor.pid
        ]
    finally:
        if log.exists():
            print(f"--bg printed: {log.read_text()!r}")
        stop(client)
        if second is not None:
            stop(second)


def test_bg_inside_zellij_needs_a_live_session_of_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stale ``ZELLIJ_PANE_ID`` (no such session) is a clear error, not a new monitor."""
    from tests.helpers import run_cli

    monkeypatch.setenv("ZELLIJ", "0")
    monkeypatch.setenv("ZELLIJ_PANE_ID", "3")
    monkeypatch.setenv("ZELLIJ_SESSION_NAME", "gone")
    monkeypatch.setenv("ZELLIJ_SOCKET_DIR", str(tmp_path / "zs"))
    monkeypatch.delenv("TMUX_PANE", raising=False)
    if ZELLIJ is None:
        pytest.skip("the real zellij is not installed")
    monkeypatch.setenv("SESSIONTUI_ZELLIJ_BIN", ZELLIJ)
    result = run_cli("--bg", "--no-discover", "-L", "sessiontui-none")
    assert result.returncode == 1
    assert "Zellij session is not running" in result.stderr
