"""Every tmux key binding the README shows, pressed on a real client (README and test never drift).

The bindings are read out of README.md's ```tmux block and loaded with ``source-file`` into the
test's tmux server (the user's tmux). A real client of that server runs in a pane of a second
server (a pane is a terminal); keys are typed into that pane with ``send-keys``, so tmux sees the
prefix and the key exactly as from a keyboard. ``sessiontui`` on ``PATH`` is a wrapper that runs
the code under test.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import stat
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import libtmux
import psutil
import pytest
from tests.helpers import wait_until, write_entry

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

README = Path(__file__).resolve().parents[2] / "README.md"
PREFIX = "C-b"  # tmux's default; the test HOME has no ~/.tmux.conf changing it


def readme_bindings() -> dict[str, str]:
    """``key -> bind-key line`` for every binding in the README's ```tmux block."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```tmux\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    assert blocks, "README.md has no ```tmux block"
    found: dict[str, str] = {}
    for block in blocks:
        for line in block.splitlines():
            if line.startswith("bind-key "):
                found[line.split()[1]] = line
    return found


class Desk:
    """The user's tmux (``server``) with one real client, typed into through an outer pane."""

    def __init__(self, server: libtmux.Server, outer: libtmux.Server, registry: Path) -> None:
        self.server = server
        self.outer = outer
        self.registry = registry
        self.pane = ""

    def start_client(self, session: str) -> None:
        """A real client of the user's server on ``session``, in a pane of the outer server."""
        command = (
            f"env -u TMUX -u TMUX_PANE TERM=xterm-256color "
            f"tmux -L {shlex.quote(self.server.socket_name or '')} attach-session -t ={session}"
        )
        created = self.outer.new_session("desk", window_command=command, x=140, y=40)
        pane = created.active_window.active_pane
        assert pane is not None
        self.pane = pane.pane_id or ""
        wait_until(lambda: self.client_session() == session, 10, "the client to attach")

    def clients(self) -> list[tuple[str, str, str]]:
        """``(tty, session name, control mode)`` of every client of the user's server."""
        fmt = "#{client_tty}\t#{client_session}\t#{client_control_mode}"
        lines = self.server.cmd("list-clients", "-F", fmt).stdout
        return [tuple(line.split("\t")) for line in lines]  # type: ignore[misc]

    def client_session(self) -> str | None:
        """The session the (one ordinary) client shows, or ``None`` when it is gone."""
        ordinary = [c for c in self.clients() if c[2] == "0"]
        return ordinary[0][1] if len(ordinary) == 1 else None

    def press(self, *keys: str) -> None:
        """Type keys on the client (tmux key names), one ``send-keys`` each."""
        for key in keys:
            self.outer.cmd("send-keys", "-t", self.pane, key)

    def screen(self) -> str:
        """What the client's terminal shows (popups included)."""
        return "\n".join(self.outer.cmd("capture-pane", "-p", "-t", self.pane).stdout)

    def agent(self, session: str, status: str) -> int:
        """A ``sleep`` in its own session of the user's server, with a registry entry."""
        created = self.server.new_session(session, window_command="sleep 300")
        pane = created.active_window.active_pane
        assert pane is not None
        pid = int(pane.pane_pid or 0)
        wait_until(lambda: psutil.Process(pid).name() == "sleep")
        write_entry(self.registry, pid, name=session, status=status, cwd=f"/work/{session}")
        return pid


def sessiontui_processes(flag: str = "") -> list[psutil.Process]:
    """Running ``python -m sessiontui`` processes (with ``flag`` in their argv, if given)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        argv = proc.info["cmdline"] or []
        if argv[1:3] == ["-m", "sessiontui"] and (not flag or flag in argv):
            found.append(proc)
    return found


@pytest.fixture
def desk(server: libtmux.Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    """The user's tmux with the README's bindings, ``sessiontui`` on PATH and one client."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "sessiontui"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m sessiontui "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    registry = Path(os.environ["CLAUDE_CONFIG_DIR"]) / "sessions"
    registry.mkdir(parents=True)
    # The user's server starts now, with this environment (PATH, HOME, CLAUDE_CONFIG_DIR...).
    server.new_session("home", window_command="cat", x=140, y=40)
    conf = tmp_path / "bindings.conf"
    conf.write_text("\n".join(readme_bindings().values()) + "\n", encoding="utf-8")
    loaded = server.cmd("source-file", str(conf))
    assert loaded.returncode == 0, loaded.stderr
    outer = libtmux.Server(socket_name=f"sessiontui-outer-{uuid.uuid4().hex[:8]}")
    desk = Desk(server, outer, registry)
    try:
        yield desk
    finally:
        for proc in sessiontui_processes():
            with contextlib.suppress(psutil.Error):  # it may exit meanwhile
                if os.environ["PATH"].split(os.pathsep)[0] in proc.environ().get("PATH", ""):
                    proc.kill()
        if outer.is_alive():
            outer.kill()


def binding_s_popup(desk: Desk) -> None:
    """``prefix s``: a popup with the monitor; enter switches the client and closes it."""
    desk.agent("target", "waiting")
    desk.start_client("home")
    desk.press(PREFIX, "s")
    wait_until(lambda: "target" in desk.screen(), 30, "the monitor in the popup")
    popup = wait_until(lambda: sessiontui_processes("--client"), 10, "the popup's sessiontui")
    assert desk.client_session() == "home"
    desk.press("Enter")  # the waiting session is the first row
    wait_until(lambda: desk.client_session() == "target", 15, "the client to switch")
    wait_until(lambda: not any(p.is_running() for p in popup), 15, "the popup's TUI to exit")
    assert "sessiontui" not in desk.screen()  # the popup closed


def binding_S_side_pane(desk: Desk) -> None:
    """``prefix S``: a 40-column side pane with the monitor; enter switches the client."""
    desk.agent("target", "waiting")
    desk.start_client("home")
    desk.press(PREFIX, "S")
    wait_until(lambda: len(desk.server.cmd("list-panes", "-t", "=home:").stdout) == 2, 10)
    widths = desk.server.cmd("list-panes", "-t", "=home:", "-F", "#{pane_width}").stdout
    assert "40" in widths
    wait_until(lambda: "target" in desk.screen(), 30, "the monitor in the side pane")
    desk.press("Enter")
    wait_until(lambda: desk.client_session() == "target", 15, "the client to switch")


def binding_W_next_waiting(desk: Desk) -> None:
    """``prefix W``: the client jumps to the next waiting agent (and on to the next one)."""
    desk.agent("first", "waiting")
    desk.agent("second", "waiting")
    desk.agent("calm", "idle")
    desk.start_client("home")
    desk.press(PREFIX, "W")
    wait_until(lambda: desk.client_session() in ("first", "second"), 20, "a jump")
    landed = desk.client_session()
    desk.press(PREFIX, "W")
    other = "second" if landed == "first" else "first"
    wait_until(lambda: desk.client_session() == other, 20, "the jump to the other one")
    assert "not a terminal" not in desk.screen()


def binding_M_background_monitor(desk: Desk) -> None:
    """``prefix M``: the client goes to the ``--bg`` monitor; ``q`` there brings it back."""
    desk.agent("target", "idle")
    desk.start_client("home")
    desk.press(PREFIX, "M")
    wait_until(lambda: desk.client_session() == "sessiontui", 20, "the monitor session")
    wait_until(lambda: "target" in desk.screen(), 30, "the monitor to list the agent")
    pane_pid = int(
        desk.server.cmd("list-panes", "-t", "=sessiontui:", "-F", "#{pane_pid}").stdout[0]
    )
    env = psutil.Process(pane_pid).environ()
    assert env["CLAUDE_CONFIG_DIR"] == os.environ["CLAUDE_CONFIG_DIR"]
    assert env["HOME"] == os.environ["HOME"]
    desk.press("q")
    wait_until(lambda: desk.client_session() == "home", 15, "the client to return home")
    assert psutil.Process(pane_pid).is_running()  # the monitor keeps running


TESTS: dict[str, Callable[[Desk], None]] = {
    "s": binding_s_popup,
    "S": binding_S_side_pane,
    "W": binding_W_next_waiting,
    "M": binding_M_background_monitor,
}


def test_every_readme_binding_has_a_test() -> None:
    assert set(readme_bindings()) == set(TESTS)


@pytest.mark.parametrize("key", sorted(readme_bindings()))
def test_readme_binding(key: str, desk: Desk) -> None:
    if key not in TESTS:
        pytest.fail(f"README binding prefix+{key} has no test here")
    TESTS[key](desk)
