"""End-to-end: the real Claude Code CLI, offline in a tmux pane, seen through `sessiontui ls`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest
from tests.helpers import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from conftest import ClaudeHome, ClaudePane  # type: ignore[import-not-found,unused-ignore]

pytestmark = pytest.mark.claude

LS_KEYS = {
    "pid",
    "session_id",
    "name",
    "status",
    "waiting_for",
    "kind",
    "agent",
    "cwd",
    "started_at",
    "alive",
    "registry_path",
    "mux",
}


def sessiontui(
    *args: str, sessions_dir: Path, socket_path: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sessiontui ARGS --sessions-dir DIR [-S SOCKET]`` for real."""
    extra = ["--sessions-dir", str(sessions_dir)]
    if socket_path is not None:
        extra += ["-S", socket_path]
    return subprocess.run(
        [sys.executable, "-m", "sessiontui", *args, *extra],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def on_pane(*args: str, claude: ClaudePane) -> subprocess.CompletedProcess[str]:
    """Run ``sessiontui ARGS`` on the pane's registry and tmux server."""
    return sessiontui(*args, sessions_dir=claude.registry_dir, socket_path=claude.socket_path)


def ls_json(claude: ClaudePane) -> list[dict[str, Any]]:
    """Return ``sessiontui ls --json`` for the pane's registry and tmux server (must exit 0)."""
    proc = on_pane("ls", "--json", claude=claude)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert isinstance(rows, list)
    return rows


def ls_entry(claude: ClaudePane, pid: int | None = None) -> dict[str, Any] | None:
    """Return the ``ls --json`` object for ``pid`` (default: the pane's Claude), or None."""
    wanted = claude.pid if pid is None else pid
    return next((row for row in ls_json(claude) if row.get("pid") == wanted), None)


def wait_ls(
    claude: ClaudePane, predicate: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """Poll ``sessiontui ls --json`` until the pane's entry satisfies ``predicate``; return it."""

    def check() -> dict[str, Any] | None:
        entry = ls_entry(claude)
        return entry if entry is not None and predicate(entry) else None

    try:
        result: dict[str, Any] = wait_until(check, 15.0, what)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}; last entry: {ls_entry(claude)!r}; registry: {claude.read_registry()!r}"
            f"; screen:\n{claude.screen()}"
        ) from None
    return result


def test_ls_lists_claude_with_its_tmux_pane(claude_in_tmux: ClaudePane) -> None:
    claude = claude_in_tmux
    registry = claude.wait_for_registry("idle")

    entry = ls_entry(claude)

    assert entry is not None, ls_json(claude)
    assert set(entry) >= LS_KEYS
    assert entry["alive"] is True
    assert entry["agent"] == "claude"
    assert entry["kind"] == "interactive"
    assert entry["status"] == "idle"
    assert entry["waiting_for"] is None
    assert entry["session_id"] == registry["sessionId"]
    assert entry["name"] == registry["name"]
    assert entry["cwd"] == str(claude.home.project)
    assert entry["registry_path"] == str(claude.registry_path)
    started = datetime.fromisoformat(entry["started_at"].replace("Z", "+00:00"))
    assert started.utcoffset() is not None
    assert round(started.timestamp() * 1000) == registry["startedAt"]
    mux = entry["mux"]
    assert mux["type"] == "tmux"
    assert mux["pane"] == claude.pane.pane_id
    assert mux["session"] == "claude-e2e"
    assert mux["socket"] == claude.socket_path


def test_ls_reports_waiting_then_busy(claude_in_tmux: ClaudePane) -> None:
    claude = claude_in_tmux

    claude.type("/help")
    entry = wait_ls(claude, lambda e: e["status"] == "waiting", "status waiting after /help")
    assert entry["waiting_for"] == "dialog open"

    claude.press("Escape")
    entry = wait_ls(claude, lambda e: e["status"] == "idle", "status idle after Escape")
    assert entry["waiting_for"] is None

    # "!" switches the prompt to shell mode only once Claude reads keys again after the
    # dialog; typed blind, the whole line can land as a plain prompt (seen once in CI).
    claude.type("!", enter=False)
    wait_until(lambda: "for shell mode" in claude.screen(), 15.0, "shell mode after '!'")
    claude.type("sleep 4")
    wait_ls(claude, lambda e: e["status"] == "busy", "status busy during ! sleep 4")
    wait_ls(claude, lambda e: e["status"] == "idle", "status idle after the shell command")


def test_rename_survives_claude_status_writes(claude_in_tmux: ClaudePane) -> None:
    claude = claude_in_tmux
    before = claude.wait_for_registry("idle")
    new_name = "e2e renamed"
    assert before["name"] != new_name

    proc = on_pane("rename", str(claude.pid), new_name, claude=claude)

    assert proc.returncode == 0, proc.stderr
    renamed = claude.read_registry()
    assert renamed is not None
    assert renamed["name"] == new_name
    # Claude's next status writes re-read the file before patching it: the name stays.
    claude.type("/help")
    waiting = claude.wait_for_registry("waiting", waiting_for="dialog open")
    assert waiting["name"] == new_name
    assert waiting["statusUpdatedAt"] > before["statusUpdatedAt"]
    claude.press("Escape")
    idle = claude.wait_for_registry("idle")
    assert idle["name"] == new_name
    assert idle["sessionId"] == before["sessionId"]
    entry = ls_entry(claude)
    assert entry is not None
    assert entry["name"] == new_name
    assert entry["status"] == "idle"


def test_ls_lists_claude_background_session(claude_home: ClaudeHome, tmp_path: Path) -> None:
    no_tmux = str(tmp_path / "no-tmux-server")  # hosted by Claude's daemon, not by tmux
    started = claude_home.run_claude("--bg", "--name", "e2e-bg", "hi")
    assert started.returncode == 0, started.stderr
    assert "e2e-bg" in started.stdout

    def bg_entry() -> dict[str, Any] | None:
        proc = sessiontui(
            "ls", "--json", sessions_dir=claude_home.sessions_dir, socket_path=no_tmux
        )
        assert proc.returncode == 0, proc.stderr
        rows = json.loads(proc.stdout)
        return next((row for row in rows if row.get("name") == "e2e-bg"), None)

    entry = wait_until(bg_entry, 20.0, "the bg session in sessiontui ls --json")
    assert entry["kind"] == "bg"
    assert entry["alive"] is True
    assert entry["agent"] == "claude"
    assert entry["cwd"] == str(claude_home.project)
    assert entry["mux"] is None
    registry = json.loads((claude_home.sessions_dir / f"{entry['pid']}.json").read_text())
    job_id = registry["jobId"]
    assert registry["kind"] == "bg"
    assert registry["sessionId"].startswith(job_id)

    stopped = claude_home.run_claude("stop", job_id, timeout_s=30.0)

    assert stopped.returncode == 0, stopped.stderr
    wait_until(lambda: bg_entry() is None, 15.0, "the stopped bg session to leave ls")


def test_newer_registry_fields_of_the_real_claude(claude_in_tmux: ClaudePane) -> None:
    """2.1.332's ``tmux``, ``pidDomain`` and ``<pid>.<hex>.key`` on a real file (SPEC 2.1).

    On 2.1.197, which writes none of them, this checks that nothing else changes.
    """
    from sessiontui.model.processes import local_pid_domain

    claude = claude_in_tmux
    registry = claude.wait_for_registry("idle")
    version = tuple(int(part) for part in str(registry["version"]).split(".")[:3])
    newer = version >= (2, 1, 332)
    keys = sorted(p.name for p in claude.registry_dir.glob("*.key"))
    if newer:
        assert "tmux" in registry, registry
        assert "pidDomain" in registry, registry
        assert keys, "no <pid>.<hex>.key beside the .json"
        assert all(k.startswith(f"{claude.pid}.") for k in keys), keys
    if "pidDomain" in registry:  # this machine's: the PID is judged here as usual
        assert registry["pidDomain"] == local_pid_domain()
    if "tmux" in registry:  # "session:@window.%pane" of the pane Claude runs in
        window = claude.pane.window
        expected = f"claude-e2e:{window.window_id}.{claude.pane.pane_id}"
        assert registry["tmux"] == expected

    rows = [row for row in ls_json(claude) if row.get("pid") == claude.pid]

    assert len(rows) == 1, rows  # the .key sibling is not a session
    (entry,) = rows
    assert entry["alive"] is True
    assert entry["health"] is None
    assert entry["mux"]["pane"] == claude.pane.pane_id
    assert sorted(p.name for p in claude.registry_dir.glob("*.key")) == keys  # left alone
