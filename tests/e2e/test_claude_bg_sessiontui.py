"""Claude Code's own background jobs through sessiontui: listed, stopped, attached in a popup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tests.helpers import attach_client, client_sessions, wait_until
from tests.ui.world import FAST, select, wait_for

from sessiontui.model.claude_jobs import ClaudeJobs
from sessiontui.model.monitor import Monitor
from sessiontui.mux.tmux import TmuxBackend
from sessiontui.ui.app import make_app
from sessiontui.ui.screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    import libtmux
    from tests.e2e.conftest import ClaudeBgJob

pytestmark = pytest.mark.claude


def user_env(job: ClaudeBgJob) -> dict[str, str]:
    """The environment of a user whose Claude is ``job.home`` (claude on PATH)."""
    env = job.home.full_env()
    env["PATH"] = f"{Path(job.home.claude_bin).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def sessiontui(job: ClaudeBgJob, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sessiontui", *args, "--sessions-dir", str(job.home.sessions_dir)],
        capture_output=True,
        text=True,
        env=user_env(job),
        timeout=60,
        check=False,
    )


def listed(job: ClaudeBgJob) -> dict[str, Any] | None:
    rows = json.loads(sessiontui(job, "ls", "--json").stdout)
    return next((r for r in rows if r["pid"] == job.pid), None)


def jobs_for(job: ClaudeBgJob) -> ClaudeJobs:
    return ClaudeJobs(str(job.home.claude_bin), environ=user_env(job))


def test_bg_job_listed_then_killed_from_the_cli(claude_bg_job):
    row = wait_until(listed_alive(claude_bg_job), 20.0)
    assert row["kind"] == "bg"
    assert row["job_id"] == claude_bg_job.job_id
    assert row["mux"] is None
    result = sessiontui(claude_bg_job, "kill", claude_bg_job.job_id, "--force")
    assert result.returncode == 0, result.stderr
    wait_until(lambda: not claude_bg_job.registry_path.exists(), 20.0)
    assert claude_bg_job.agent_entry() is None


def listed_alive(job: ClaudeBgJob):
    def check() -> dict[str, Any] | None:
        row = listed(job)
        return row if row is not None and row["alive"] else None

    return check


async def test_K_stops_the_job(claude_bg_job):
    monitor = Monitor(
        sessions_dir=claude_bg_job.home.sessions_dir, timing=FAST, claude=jobs_for(claude_bg_job)
    )
    app = make_app(monitor)
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, claude_bg_job.name)
        assert app.selected is not None
        assert app.selected.is_background
        await pilot.press("K")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: not claude_bg_job.registry_path.exists(), 30.0)
    assert claude_bg_job.agent_entry() is None


def test_attach_opens_a_popup_and_left_arrow_leaves(claude_bg_job, server: libtmux.Server):
    for key, value in user_env(claude_bg_job).items():  # the popup runs in tmux's environment
        if key in ("HOME", "PATH") or key.startswith(("HTTP", "DISABLE", "CLAUDE")):
            server.cmd("set-environment", "-g", key, value)
    home = server.new_session("home")
    pane = home.active_window.active_pane
    assert pane is not None
    client = attach_client(server.socket_name or "", "=home")
    try:
        wait_until(lambda: client_sessions(server.cmd) == ["home"])
        socket = server.cmd("display-message", "-p", "#{socket_path}").stdout[0]
        environ = {"TMUX": f"{socket},1,0", "TMUX_PANE": pane.pane_id or ""}
        jobs = jobs_for(claude_bg_job)
        with Monitor(
            sessions_dir=claude_bg_job.home.sessions_dir,
            tmux=TmuxBackend(socket_name=server.socket_name, environ=environ),
            timing=FAST,
            claude=jobs,
        ) as monitor:
            snapshot = monitor.refresh()
            session = next(s for s in snapshot.sessions if s.job_id == claude_bg_job.job_id)
            plan = monitor.attach(session.key)
            assert plan.switched  # shown in a popup of our client; the monitor stays visible
            viewers = wait_until(lambda: jobs.viewers(claude_bg_job.job_id), 20.0)
            assert len(viewers) == 1  # type: ignore[arg-type]
            # leave with ← at the empty prompt, typed into the client's terminal
            for _ in range(40):
                if not jobs.viewers(claude_bg_job.job_id):
                    break
                assert client.stdin is not None
                client.stdin.write(b"\x1b[D")
                client.stdin.flush()
                try:
                    wait_until(lambda: not jobs.viewers(claude_bg_job.job_id), 0.5)
                except AssertionError:
                    continue
            assert jobs.viewers(claude_bg_job.job_id) == []
        assert claude_bg_job.registry_path.exists()  # leaving detaches; the job keeps running
        assert claude_bg_job.agent_entry() is not None
    finally:
        client.kill()
        client.wait()
