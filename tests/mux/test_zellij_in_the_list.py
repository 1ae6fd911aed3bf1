"""Zellij beside tmux in one list, through the real composition root and the real Zellij."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import psutil
from tests.helpers import run_cli, wait_until, write_entry
from tests.mux.test_zellij import ZELLIJ, ZellijEnv, needs_zellij, run_agent, zenv  # noqa: F401

from sessiontui.cli import make_muxset, parse_args
from sessiontui.config import Config
from sessiontui.model.monitor import Monitor, MonitorTiming
from sessiontui.mux.zellij import ZellijServer

if TYPE_CHECKING:
    from pathlib import Path

    import libtmux
    import pytest


def use_world(monkeypatch: pytest.MonkeyPatch, world: ZellijEnv) -> None:
    """Make this process (and the CLI it starts) see the test's Zellij world."""
    assert ZELLIJ is not None
    for key in ("ZELLIJ_SOCKET_DIR", "ZELLIJ_CONFIG_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(key, world.environ[key])
    monkeypatch.setenv("SESSIONTUI_ZELLIJ_BIN", ZELLIJ)


@needs_zellij
def test_a_zellij_agent_and_a_tmux_agent_in_one_list(
    zenv: ZellijEnv,  # noqa: F811
    server: libtmux.Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_world(monkeypatch, zenv)
    registry = tmp_path / "sessions"
    zenv.start("zwork")
    z_pane, z_pid = run_agent(zenv, "zwork", tmp_path / "agent.pid")
    write_entry(registry, z_pid, name="in-zellij", status="waiting", waitingFor="permission prompt")
    t_session = server.new_session("twork", window_command="sleep 300")
    t_pid = int(t_session.cmd("display-message", "-p", "#{pane_pid}").stdout[0])
    write_entry(registry, t_pid, name="in-tmux", status="idle")

    result = run_cli(
        "ls", "--json", "--sessions-dir", str(registry), "-L", server.socket_name or ""
    )
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["in-zellij"]["mux"]["type"] == "zellij"
    assert rows["in-zellij"]["mux"]["session"] == "zwork"
    assert rows["in-zellij"]["mux"]["pane"] == z_pane
    assert rows["in-tmux"]["mux"]["type"] == "tmux"

    listing = run_cli("ls", "--sessions-dir", str(registry), "-L", server.socket_name or "")
    assert "zellij:zwork:" in listing.stdout

    # --no-zellij turns it off.
    off = run_cli("ls", "--json", "--no-zellij", "--sessions-dir", str(registry))
    assert {r["name"]: r["mux"] for r in json.loads(off.stdout)}["in-zellij"] is None


@needs_zellij
def test_monitor_previews_and_finds_new_zellij_sessions_without_polling(
    zenv: ZellijEnv,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_world(monkeypatch, zenv)
    registry = tmp_path / "sessions"
    registry.mkdir()
    muxes = make_muxset(parse_args(["ls", "--no-discover", "-L", "sessiontui-none"]), Config())
    monitor = Monitor(sessions_dir=registry, muxes=muxes, timing=MonitorTiming(tmux_poll_s=300.0))
    with monitor:
        monitor.refresh()
        monitor.start()
        zenv.start("later")
        _, pid = run_agent(zenv, "later", tmp_path / "agent.pid")
        write_entry(registry, pid, name="late-agent", status="busy")

        def row():  # type: ignore[no-untyped-def]
            return next((s for s in monitor.snapshot.sessions if s.name == "late-agent"), None)

        wait_until(lambda: (s := row()) is not None and s.mux is not None, 15, "its Zellij pane")
        session = row()
        assert session.mux.type == "zellij"
        assert session.mux.label.startswith("zellij:later:")
        text = wait_until(lambda: monitor.preview(session.key, 20), 15, "a preview")
        assert "\x1b" not in text


@needs_zellij
def test_new_zellij_session_is_ours_renamed_and_killed_with_its_agent(
    zenv: ZellijEnv,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_world(monkeypatch, zenv)
    registry = tmp_path / "sessions"
    registry.mkdir()
    pid_file = tmp_path / "agent.pid"
    agent = f"import os, pathlib, time; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); time.sleep(600)"  # noqa: E501
    created = run_cli(
        "new", "--mux", "zellij", "--name", "zjob", "--cwd", str(tmp_path), "--no-discover",
        "-L", "sessiontui-none", "--", sys.executable, "-c", agent,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("zjob\t")
    pid = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), 15, "agent pid"))
    write_entry(registry, pid, name="zjob", status="idle")

    muxes = make_muxset(parse_args(["ls", "--no-discover", "-L", "sessiontui-none"]), Config())
    monitor = Monitor(sessions_dir=registry, muxes=muxes, grace_s=1.0)
    with monitor:
        monitor.refresh()
        session = next(s for s in monitor.snapshot.sessions if s.pid == pid)
        assert session.mux is not None
        assert session.mux.type == "zellij"
        assert session.is_background  # made by sessiontui, remembered in its state file
        assert session.kind == "bg"
        # Rename: the Zellij session follows (it is ours).
        monitor.rename(session.key, "zjob2")
        assert zenv.server().is_live("zjob2")
        monitor.refresh()
        session = next(s for s in monitor.snapshot.sessions if s.pid == pid)
        assert session.mux is not None
        assert session.mux.session == "zjob2"
        assert session.is_background
        # Kill: the agent's process tree, then its Zellij session.
        monitor.kill(session.key, grace_s=1.0)
        wait_until(lambda: not psutil.pid_exists(pid), 10, "the agent to end")
        wait_until(lambda: not zenv.server().is_live("zjob2"), 10, "the session to end")


def _zjob(tmp_path: Path, name: str) -> int:
    """``sessiontui new --mux zellij`` running a stand-in agent; return its PID."""
    pid_file = tmp_path / f"{name}.pid"
    agent = f"import os, pathlib, time; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); time.sleep(600)"  # noqa: E501
    created = run_cli(
        "new", "--mux", "zellij", "--name", name, "--cwd", str(tmp_path), "--no-discover",
        "-L", "sessiontui-none", "--", sys.executable, "-c", agent,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), 15, "agent pid"))


@needs_zellij
def test_killed_zellij_session_of_ours_is_listed_exited_until_dismissed(
    zenv: ZellijEnv,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """K without deleting leaves a resurrectable session: a dead row; dismissing deletes it.

    K with deleting leaves nothing. A session the user made and ended is never listed.
    """
    use_world(monkeypatch, zenv)
    registry = tmp_path / "sessions"
    registry.mkdir()
    kept, gone = _zjob(tmp_path, "kept"), _zjob(tmp_path, "gone")
    zenv.start("theirs")
    server = zenv.server()
    assert zenv.zellij("-s", "theirs", "action", "save-session").returncode == 0
    assert zenv.zellij("kill-session", "theirs").returncode == 0
    wait_until(lambda: "theirs" in server.discover().exited, 10, "their session exited")

    muxes = make_muxset(parse_args(["ls", "--no-discover", "-L", "sessiontui-none"]), Config())
    monitor = Monitor(sessions_dir=registry, muxes=muxes, grace_s=1.0)
    with monitor:
        monitor.refresh()

        def row(name: str):  # type: ignore[no-untyped-def]
            return next((s for s in monitor.snapshot.sessions if s.name == name), None)

        for name in ("kept", "gone"):
            assert row(name) is not None
            assert row(name).alive
            assert monitor.leaves_resurrection_data(row(name))
        assert row("theirs") is None  # the user's, exited: not an agent's place

        monitor.kill(row("kept").key, grace_s=1.0)
        wait_until(lambda: not psutil.pid_exists(kept), 10, "the agent to end")
        assert not server.is_live("kept")
        exited = wait_until(
            lambda: monitor.refresh() and (r := row("kept")) and r.mux and r.mux.exited and r,
            10,
            "the exited row",
        )
        assert not exited.alive
        assert exited.status.value == "dead"
        assert exited.mux.label == "zellij:kept (exited)"
        assert not monitor.leaves_resurrection_data(exited)
        assert "kept" in server.discover().exited
        listed = run_cli("ls", "--json", "--all", "--no-discover", "-L", "sessiontui-none",
                         "--sessions-dir", str(registry))  # fmt: skip
        assert {r["name"]: r["mux"]["exited"] for r in json.loads(listed.stdout)} == {
            "kept": True,
            "gone": False,
        }

        monitor.dismiss(exited.key)  # deletes the resurrection data
        assert "kept" not in server.discover().exited
        monitor.refresh()
        assert row("kept") is None

        monitor.kill(row("gone").key, grace_s=1.0, delete_data=True)
        wait_until(lambda: not psutil.pid_exists(gone), 10, "the agent to end")
        assert not server.has_session("gone")
        monitor.refresh()
        assert row("gone") is None
        assert "theirs" in server.discover().exited  # untouched
        ours = next(m for m in monitor.muxes.servers() if isinstance(m, ZellijServer))
        assert ours.kinds() == {}  # neither is remembered as ours any more
