"""QuietDriver in a real terminal (a tmux pane): keys, a lone Escape, suspend, quit, no polling."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest
from textual.drivers.linux_driver import LinuxDriver

from sessiontui.model.monitor import Monitor
from sessiontui.mux.tmux import TmuxBackend
from sessiontui.ui.app import make_app
from sessiontui.ui.driver import QuietDriver
from tests.helpers import wait_until

if TYPE_CHECKING:
    import libtmux

    from tests.ui.world import World

# A tiny app on QuietDriver: shows each key it gets; "s" suspends and resumes, "q" quits.
KEY_APP = textwrap.dedent(
    """
    import os, sys
    from textual.app import App
    from textual.widgets import Static
    from sessiontui.ui.driver import QuietDriver

    class Keys(App):
        def compose(self):
            yield Static("ready", id="out")
        def on_key(self, event):
            if event.key == "q":
                self.exit()
            elif event.key == "s":
                with self.suspend():
                    os.system("true")
                self.query_one("#out").update("resumed")
            else:
                self.query_one("#out").update(f"key={event.key}")

    Keys(driver_class=QuietDriver).run()
    print("app exited", flush=True)
    os.system("sleep 30")
    """
)


def voluntary_switches(proc: psutil.Process) -> int:
    """Voluntary context switches of every thread of ``proc`` (from /proc/PID/task/*/status)."""
    total = 0
    for thread in proc.threads():
        status = Path(f"/proc/{proc.pid}/task/{thread.id}/status").read_text()
        for line in status.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


@pytest.fixture
def key_app(server: libtmux.Server, tmp_path: Path) -> tuple[libtmux.Pane, psutil.Process]:
    script = tmp_path / "keys.py"
    script.write_text(KEY_APP)
    # pytest exports LINES/COLUMNS (80x24); Textual would trust them over the pane's size.
    command = f"env -u LINES -u COLUMNS {sys.executable} {script}"
    session = server.new_session("keys", window_command=command, x=80, y=10)
    pane = session.active_window.active_pane
    assert pane is not None
    try:
        wait_until(lambda: "ready" in screen(pane), 20.0, "the app on screen")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; screen:\n{screen(pane)}") from None
    return pane, psutil.Process(int(pane.pane_pid or 0))  # env execs python: same PID


def screen(pane: libtmux.Pane) -> str:
    return "\n".join(pane.capture_pane())


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc task status")
def test_keys_escape_suspend_and_quit_work_and_an_idle_app_does_not_poll(
    key_app: tuple[libtmux.Pane, psutil.Process],
) -> None:
    pane, proc = key_app

    pane.send_keys("x", enter=False)
    wait_until(lambda: "key=x" in screen(pane), 5.0, "key=x")

    # Idle: Textual's driver wakes 10 times a second; ours sleeps until input.
    time.sleep(1.5)  # past the tick window after the last key
    before = voluntary_switches(proc)
    time.sleep(2.0)
    woke = voluntary_switches(proc) - before
    assert woke < 6, f"{woke} wake-ups in 2 s while idle"

    # A lone Escape is only known once nothing follows it: the parser's timeout must fire
    # although nothing else arrives.
    pane.send_keys("Escape", enter=False)
    wait_until(lambda: "key=escape" in screen(pane), 5.0, "key=escape")

    pane.send_keys("s", enter=False)
    wait_until(lambda: "resumed" in screen(pane), 10.0, "resumed after suspend")
    pane.send_keys("y", enter=False)
    wait_until(lambda: "key=y" in screen(pane), 5.0, "input after resume")

    started = time.monotonic()
    pane.send_keys("q", enter=False)
    wait_until(lambda: "app exited" in screen(pane), 5.0, "the app to exit")
    assert time.monotonic() - started < 2.0


def test_sessiontui_runs_on_quiet_driver_unless_textual_driver_is_set(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor = Monitor(sessions_dir=world.registry, tmux=TmuxBackend(socket_name="none"))
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    assert make_app(monitor).driver_class is QuietDriver
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.linux_driver:LinuxDriver")
    assert make_app(monitor).driver_class is LinuxDriver
