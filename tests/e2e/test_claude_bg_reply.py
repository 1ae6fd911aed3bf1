"""End-to-end: ``sessiontui send`` to a real Claude Code background job (``claude --bg``).

A job has no pane: the reply goes through ``claude attach <jobId>`` on a hidden pseudo-terminal,
which sessiontui leaves the way a user does (``←``, and ``Esc`` on 2.1.3xx). The job talks to the
loopback fake Messages API (its host does not pass ``ANTHROPIC_BASE_URL`` on from the shell, so
the user's ``settings.json`` ``env`` carries it); the reply must arrive as its next user message,
and no viewer may be left behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from tests.e2e.conftest import find_bg_registry
from tests.e2e.test_claude_transcripts import claude_home, fake_api
from tests.fakes.anthropic_api import Turn
from tests.helpers import wait_until

from sessiontui.model.claude_jobs import ClaudeJobs

if TYPE_CHECKING:
    from tests.e2e.conftest import ClaudeHome
    from tests.fakes.anthropic_api import FakeAnthropicAPI

__all__ = ["claude_home", "fake_api"]  # fixtures, imported to be used here

pytestmark = pytest.mark.claude


def last_user_text(request: object) -> str:
    body = getattr(request, "body", None) or {}
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return json.dumps(users[-1]["content"]) if users else ""


def test_send_reaches_a_background_job_as_its_next_message(
    claude_home: ClaudeHome, fake_api: FakeAnthropicAPI
) -> None:
    settings = claude_home.config_dir / "settings.json"
    settings.write_text(json.dumps({"env": {"ANTHROPIC_BASE_URL": fake_api.base_url}}))
    fake_api.add(Turn(text="First answer."), Turn(text="Second answer."))
    started = claude_home.run_claude("--bg", "--name", "e2e-reply", "hi there")
    assert started.returncode == 0, started.stdout + started.stderr
    path, data = wait_until(
        lambda: find_bg_registry(claude_home.sessions_dir, "e2e-reply"), 30.0, "the job's entry"
    )
    job_id = data["jobId"]
    wait_until(lambda: len(fake_api.main_requests()) == 1, 30.0, "the job's first turn")
    wait_until(
        lambda: json.loads(path.read_text() or "{}").get("status") == "idle", 30.0, "idle job"
    )

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sessiontui",
            "send",
            "e2e-reply",
            "second message from sessiontui",
            "--sessions-dir",
            str(claude_home.sessions_dir),
            "-S",
            str(claude_home.home / "no-tmux"),
            "--no-zellij",
            "--no-codex",
        ],
        env={**claude_home.full_env(), "PATH": f"{claude_home.claude_bin.parent}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    wait_until(lambda: len(fake_api.main_requests()) == 2, 30.0, "the job's second turn")
    assert "second message from sessiontui" in last_user_text(fake_api.main_requests()[1])
    jobs = ClaudeJobs(str(claude_home.claude_bin), environ=claude_home.full_env())
    assert jobs.viewers(job_id) == []  # the hidden viewer left
    assert path.exists()  # the job runs on
    wait_until(
        lambda: json.loads(path.read_text() or "{}").get("status") == "idle", 30.0, "idle again"
    )
