"""End-to-end: the real Claude Code CLI, offline in a pane of a real headless Zellij session.

The monitor is built as the CLI builds it (:func:`sessiontui.cli.make_muxset` with the test's
Zellij world in the environment). Claude runs as ``exec``'d by ``env`` in a pane made by
``zellij -s S run``: the pane process is Claude, a direct child of the session's server, with
``ZELLIJ_PANE_ID`` in its environment (SPEC 2.5). Keys reach it through ``action write-chars``
and ``action send-keys`` (the real Zellij input path). Skips when either binary is absent.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psutil
import pytest
from tests.helpers import is_gone, wait_until
from tests.mux.test_zellij import ZellijEnv, attach_client, stop, zenv  # noqa: F401
from tests.mux.test_zellij_in_the_list import use_world

from sessiontui.cli import make_muxset, parse_args
from sessiontui.config import Config
from sessiontui.errors import MuxError
from sessiontui.model.monitor import Monitor, MonitorTiming

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from conftest import ClaudeHome  # type: ignore[import-not-found,unused-ignore]
    from sessiontui.model.types import Session

pytestmark = pytest.mark.claude

SESSION = "claudez"


@dataclass
class ClaudeInZellij:
    """A live interactive Claude Code in a pane of an isolated headless Zellij session.

    Attributes:
        world: The isolated Zellij world.
        home: The temporary Claude user.
        session: The Zellij session name (changes on rename).
        pane: ``terminal_<n>``.
        pid: Claude's PID (the pane process; its registry file is ``<pid>.json``).
    """

    world: ZellijEnv
    home: ClaudeHome
    session: str
    pane: str
    pid: int

    def read_registry(self) -> dict[str, Any] | None:
        """Return ``<pid>.json`` as a dict, or None when missing or half-written."""
        try:
            data = json.loads((self.home.sessions_dir / f"{self.pid}.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def action(self, *args: str) -> None:
        """Run ``zellij -s SESSION action ARGS`` (must exit 0)."""
        result = self.world.zellij("-s", self.session, "action", *args)
        assert result.returncode == 0, f"action {args}: {result.stdout}{result.stderr}"

    def type(self, text: str) -> None:
        """Type ``text`` into Claude's pane, then Enter (a separate key, as a user would)."""
        self.action("write-chars", "--pane-id", self.pane, text)
        self.action("send-keys", "--pane-id", self.pane, "Enter")

    def press(self, key: str) -> None:
        """Press one Zellij key name (``Esc``, ``Enter``) in Claude's pane."""
        self.action("send-keys", "--pane-id", self.pane, key)

    def screen(self) -> str:
        """Claude's pane as plain text (diagnostics)."""
        result = self.world.zellij(
            "-s", self.session, "action", "dump-screen", "--pane-id", self.pane
        )
        return result.stdout if result.returncode == 0 else f"<no screen: {result.stderr}>"


def _registry_pids(sessions_dir: Path) -> list[int]:
    """PIDs named by the registry files present now."""
    if not sessions_dir.is_dir():
        return []
    return [int(p.stem) for p in sessions_dir.glob("*.json") if p.stem.isdigit()]


@pytest.fixture
def claude_in_zellij(
    zenv: ZellijEnv,  # noqa: F811
    claude_home: ClaudeHome,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ClaudeInZellij]:
    """Claude in its own pane of a headless Zellij session, registered and idle."""
    use_world(monkeypatch, zenv)
    zenv.start(SESSION)
    command = claude_home.command()  # ``env ... claude``: env execs Claude in the pane
    result = zenv.zellij("-s", SESSION, "run", "--cwd", str(claude_home.project), "--", *command)
    assert result.returncode == 0, result.stderr
    pane = result.stdout.strip()
    assert re.fullmatch(r"terminal_\d+", pane), pane
    pids = wait_until(lambda: _registry_pids(claude_home.sessions_dir), 45, "Claude's registry")
    assert len(pids) == 1, pids
    claude = ClaudeInZellij(world=zenv, home=claude_home, session=SESSION, pane=pane, pid=pids[0])
    try:
        wait_until(
            lambda: (claude.read_registry() or {}).get("status") == "idle",
            20,
            "Claude idle",
        )
        yield claude
    finally:
        with contextlib.suppress(psutil.Error, AssertionError):
            proc = psutil.Process(claude.pid)
            proc.terminate()
            wait_until(lambda: is_gone(proc), 5.0, f"claude {claude.pid} to exit")


def _monitor(claude: ClaudeInZellij) -> Monitor:
    """The monitor as ``sessiontui`` builds it, on Claude's registry (no tmux server)."""
    muxes = make_muxset(parse_args(["ls", "--no-discover", "-L", "sessiontui-none"]), Config())
    return Monitor(
        sessions_dir=claude.home.sessions_dir,
        muxes=muxes,
        timing=MonitorTiming(tmux_poll_s=300.0),
        grace_s=2.0,
    )


def _row(monitor: Monitor, pid: int) -> Session | None:
    return next((s for s in monitor.snapshot.sessions if s.pid == pid), None)


def _wait_row(monitor: Monitor, claude: ClaudeInZellij, what: str, check: Any) -> Session:
    def found() -> Session | None:
        row = _row(monitor, claude.pid)
        return row if row is not None and check(row) else None

    try:
        result: Session = wait_until(found, 15, what)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}; row: {_row(monitor, claude.pid)!r}; registry: {claude.read_registry()!r}; "
            f"screen:\n{claude.screen()}"
        ) from None
    return result


def _where(claude: ClaudeInZellij) -> str:
    """``zellij:<session>:<tab>.<pane>`` of Claude's pane, from ``list-panes --json``."""
    result = claude.world.zellij("-s", claude.session, "action", "list-panes", "--json")
    assert result.returncode == 0, result.stderr
    panes = [p for p in json.loads(result.stdout) if not p["is_plugin"]]
    ours = next(p for p in panes if f"terminal_{p['id']}" == claude.pane)
    rank = [p["id"] for p in panes if p["tab_id"] == ours["tab_id"]].index(ours["id"])
    return f"zellij:{claude.session}:{ours['tab_position']}.{rank}"


def test_claude_in_a_zellij_pane_mapped_renamed_statuses_preview_and_kill(
    claude_in_zellij: ClaudeInZellij,
) -> None:
    claude = claude_in_zellij
    with _monitor(claude) as monitor:
        monitor.refresh()
        monitor.start()
        row = _wait_row(monitor, claude, "the Zellij row", lambda s: s.mux is not None)
        assert row.mux is not None
        assert row.mux.type == "zellij"
        assert row.mux.pane == claude.pane
        assert row.mux.session == SESSION
        assert row.mux.label == _where(claude)
        assert row.agent == "claude"

        # The session is renamed under it: the pane's ZELLIJ_SESSION_NAME is now stale, the
        # row follows the server process.
        claude.action("rename-session", "claudez2")
        claude.session = "claudez2"
        row = _wait_row(
            monitor, claude, "the renamed session", lambda s: s.mux and s.mux.session == "claudez2"
        )
        assert row.mux is not None
        assert row.mux.type == "zellij"
        assert row.mux.pane == claude.pane
        assert row.mux.label == _where(claude)
        env = psutil.Process(claude.pid).environ()
        assert env.get("ZELLIJ_SESSION_NAME") == SESSION  # stale, as SPEC 2.5 says

        # /help opens a dialog: waiting; Escape closes it: idle (SPEC Appendix A).
        claude.type("/help")
        row = _wait_row(monitor, claude, "waiting", lambda s: s.status.value == "waiting")
        claude.press("Esc")
        row = _wait_row(monitor, claude, "idle", lambda s: s.status.value == "idle")

        # The preview is Claude's own screen (what Zellij itself dumps), plain text. Compared
        # with a direct dump rather than with a banner: Claude Code versions draw differently.
        def previewed() -> str | None:
            text = monitor.preview(row.key, 40)
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            direct = claude.screen()
            return text if lines and all(line in direct for line in lines[-3:]) else None

        text = wait_until(previewed, 15, "Claude's screen in the preview")
        assert "\x1b" not in text

        # K: the process tree ends; the row turns dead or goes with its registry file.
        report = monitor.kill(row.key, grace_s=3.0)
        assert report.pid == claude.pid
        wait_until(lambda: not psutil.pid_exists(claude.pid), 10, "Claude to end")
        _wait_row_gone_or_dead(monitor, claude)
        assert claude.world.server().is_live("claudez2")  # not ours: the session stays


def _wait_row_gone_or_dead(monitor: Monitor, claude: ClaudeInZellij) -> None:
    def done() -> bool:
        row = _row(monitor, claude.pid)
        return row is None or row.status.value == "dead"

    wait_until(done, 15, "the row to turn dead or go")


def test_claude_in_zellij_detach_a_real_client_keeps_it_running(
    claude_in_zellij: ClaudeInZellij,
) -> None:
    claude = claude_in_zellij
    server = claude.world.server()
    client = attach_client(claude.world, SESSION)
    try:

        def attached() -> bool:
            # While the client attaches, Zellij can briefly not list the session as live.
            try:
                return len(server.list_clients(SESSION)) == 1
            except MuxError:
                return False

        wait_until(attached, 15, "the attached client")
        with _monitor(claude) as monitor:
            monitor.refresh()
            row = _wait_row(monitor, claude, "the Zellij row", lambda s: s.mux is not None)
            assert not monitor.detach_takes_own_client(row.key)
            assert monitor.detach(row.key) == 1
            assert client.wait(timeout=10) is not None  # the `zellij attach` returned
            wait_until(lambda: server.list_clients(SESSION) == [], 10, "no client left")
            assert server.is_live(SESSION)
            assert psutil.pid_exists(claude.pid)
            assert (claude.read_registry() or {}).get("status") == "idle"
            monitor.refresh()
            row = _wait_row(monitor, claude, "the row after detach", lambda s: s.mux is not None)
            assert row.status.value == "idle"
    finally:
        stop(client)
