"""The real Claude Code in a tmux session made by ``sessiontui new`` (caller's env, /rename).

The caller's environment reaches it (not the tmux server's), and Claude's own ``/rename``
renames that tmux session.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from tests.e2e.conftest import OFFLINE_ENV, SCRUBBED_ENV
from tests.helpers import wait_until
from tests.ui.world import FAST

from sessiontui.model.monitor import Monitor
from sessiontui.mux.tmux import TmuxBackend

if TYPE_CHECKING:
    import libtmux
    from tests.e2e.conftest import ClaudeHome

pytestmark = pytest.mark.claude


def registry_of(claude_home: ClaudeHome) -> dict[str, Any] | None:
    """The one registry entry of this Claude user, or ``None``."""
    for path in claude_home.sessions_dir.glob("*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            return data
    return None


def test_new_claude_gets_callers_env_and_rename_inside_renames_its_tmux_session(
    claude_home: ClaudeHome, server: libtmux.Server
) -> None:
    # The user's tmux server runs with another environment than the caller's: only the
    # offline settings are global; HOME and CLAUDE_CONFIG_DIR must come from the caller.
    server.new_session("already-running")
    for key, value in OFFLINE_ENV.items():
        if not key.lower().endswith("proxy"):
            server.cmd("set-environment", "-g", key, value)
    for key in SCRUBBED_ENV:
        server.cmd("set-environment", "-gu", key)
    elsewhere = claude_home.home.parent / "server-user"
    server.cmd("set-environment", "-g", "HOME", str(elsewhere))
    server.cmd("set-environment", "-g", "CLAUDE_CONFIG_DIR", str(elsewhere / ".claude"))
    result = subprocess.run(
        [
            sys.executable, "-m", "sessiontui", "new", "--name", "nightly",
            "--cwd", str(claude_home.project), "-L", server.socket_name or "",
            "--", str(claude_home.claude_bin),
        ],
        env=claude_home.full_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    pane = "=nightly:"

    def screen() -> str:
        return "\n".join(server.cmd("capture-pane", "-p", "-t", pane).stdout)

    try:
        entry = wait_until(lambda: registry_of(claude_home), 30.0, "Claude's registry entry")
    except AssertionError as error:
        raise AssertionError(f"{error}; screen:\n{screen()}") from None
    assert entry["cwd"] == str(claude_home.project)  # it used the caller's CLAUDE_CONFIG_DIR
    wait_until(lambda: (registry_of(claude_home) or {}).get("status") == "idle", 30.0)

    tmux = TmuxBackend(socket_name=server.socket_name, environ={})
    with Monitor(sessions_dir=claude_home.sessions_dir, tmux=tmux, timing=FAST) as monitor:
        monitor.refresh()
        monitor.start()
        wait_until(
            lambda: any(
                s.mux is not None and s.mux.session == "nightly" for s in monitor.snapshot.sessions
            ),
            15.0,
            "the monitor to place Claude in tmux session nightly",
        )
        server.cmd("send-keys", "-t", pane, "-l", "/rename from-claude")
        server.cmd("send-keys", "-t", pane, "Enter")
        try:
            wait_until(lambda: server.has_session("from-claude"), 30.0, "the tmux rename")
        except AssertionError as error:
            raise AssertionError(
                f"{error}; registry: {registry_of(claude_home)}; screen:\n{screen()}"
            ) from None
    assert not server.has_session("nightly")
    data = registry_of(claude_home)
    assert data is not None
    assert data["name"] == "from-claude"
    server.cmd("kill-session", "-t", "=from-claude")
