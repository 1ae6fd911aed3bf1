"""End-to-end: reply, approve, deny and interrupt the real Claude Code from sessiontui.

Claude runs offline in a tmux pane against the loopback fake Messages API (the fixtures of
``test_claude_transcripts``; 2.1.3xx starts with ``--permission-mode manual``). A scripted Bash
``tool_use`` that writes a file makes it ask permission; the keys go through the real app (Textual
Pilot on ``make_app`` with a started monitor) or the real ``sessiontui`` command line, and what
Claude did is checked where Claude leaves it: the file the tool creates, the registry, the
transcript, and the requests the fake server received.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tests.e2e.test_claude_transcripts import claude_home, claude_pane, fake_api
from tests.fakes.anthropic_api import FakeAnthropicAPI, Turn, bash_turn
from tests.helpers import wait_until

from sessiontui.model.monitor import Monitor, MonitorTiming
from sessiontui.model.prompts import dialog_text
from sessiontui.model.transcripts import TranscriptTracker
from sessiontui.mux.tmux import TmuxBackend
from sessiontui.ui.app import MainTable, make_app

if TYPE_CHECKING:
    from tests.e2e.conftest import ClaudePane
    from textual.pilot import Pilot

    from sessiontui.ui.app import SessionTUI

__all__ = ["claude_home", "claude_pane", "fake_api"]  # fixtures, imported to be used here

pytestmark = pytest.mark.claude

FAST = MonitorTiming(debounce_s=0.005, rescan_s=0.5, sample_s=0.5, tmux_poll_s=1.0)
BOX = "Do you want to proceed?"


def app_on(claude: ClaudePane) -> SessionTUI:
    """The real app on the pane's registry, tmux server and transcripts."""
    monitor = Monitor(
        sessions_dir=claude.registry_dir,
        tmux=TmuxBackend(socket_path=claude.socket_path, environ={}),
        timing=FAST,
        transcripts={claude.registry_dir: TranscriptTracker(claude.home.config_dir / "projects")},
    )
    return make_app(monitor)


async def until(pilot: Pilot[None], predicate: Any, what: str, timeout_s: float = 20.0) -> Any:
    """Let the app run until ``predicate()`` is truthy; return its value."""
    for _ in range(int(timeout_s / 0.05)):
        value = predicate()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


async def select_claude(pilot: Pilot[None], claude: ClaudePane, status: str) -> None:
    """Put the cursor on Claude's row once the app shows it with ``status``."""
    app: SessionTUI = pilot.app  # type: ignore[assignment]
    table = app.query_one(MainTable)

    def row() -> int | None:
        for index, key in enumerate(table.row_keys):
            session = app.snapshot.get(key)
            if session is not None and session.pid == claude.pid and session.mux is not None:
                return index if session.status.value == status else None
        return None

    index = await until(pilot, lambda: row() is not None and (row() or 0) + 1, f"row {status}")
    table.move_cursor(row=index - 1)
    await pilot.pause()


def messages(app: SessionTUI) -> list[str]:
    return [n.message for n in app._notifications]


def ask_permission(claude: ClaudePane, fake: FakeAnthropicAPI, marker: Path) -> None:
    """Script a Bash call that creates ``marker``, prompt Claude, wait for its permission box."""
    fake.add(bash_turn(f"sleep 1 && touch {marker.name}", text="I'll run it."), Turn(text="Done."))
    claude.type(f"create {marker.name}")
    claude.wait_for_registry("waiting", waiting_for="permission prompt", timeout_s=30.0)
    wait_until(lambda: BOX in claude.screen(), 10.0, "the permission box")


def tool_result_sent(fake: FakeAnthropicAPI) -> str:
    """The last message of the second main request (after the tool ran or was refused)."""
    main = fake.main_requests()
    assert len(main) == 2, [(r.path, r.kind) for r in fake.log]
    return json.dumps(main[1].body["messages"][-1])


async def test_a_approves_in_the_app_and_the_tool_runs(
    claude_pane: ClaudePane, fake_api: FakeAnthropicAPI
) -> None:
    claude = claude_pane
    marker = claude.home.project / "approved-by-a"
    ask_permission(claude, fake_api, marker)
    app = app_on(claude)
    async with app.run_test(size=(140, 45)) as pilot:
        await select_claude(pilot, claude, "waiting")
        panel_question = await until(
            pilot, lambda: app.query_one("#detail-question").display, "the question shown"
        )
        assert panel_question
        assert app.screen.active_bindings["a"].enabled

        await pilot.press("a")

        await until(pilot, lambda: any(m.startswith("approved ") for m in messages(app)), "echo")
        echo = next(m for m in messages(app) if m.startswith("approved "))
        assert echo.endswith(": 1. Yes")
        await until(pilot, marker.exists, "the file the approved tool creates", 30.0)
    claude.wait_for_registry("idle", timeout_s=30.0)
    assert "tool_result" in tool_result_sent(fake_api)


def test_sessiontui_approve_from_a_shell(
    claude_pane: ClaudePane, fake_api: FakeAnthropicAPI
) -> None:
    claude = claude_pane
    marker = claude.home.project / "approved-by-cli"
    ask_permission(claude, fake_api, marker)

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sessiontui",
            "approve",
            str(claude.pid),
            "--sessions-dir",
            str(claude.registry_dir),
            "-S",
            claude.socket_path,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    decision, option, _name = proc.stdout.strip().split("\t")
    assert (decision, option) == ("approved", "1. Yes")
    wait_until(marker.exists, 30.0, "the file the approved tool creates")
    claude.wait_for_registry("idle", timeout_s=30.0)
    assert "tool_result" in tool_result_sent(fake_api)


async def test_shift_a_denies_with_the_box_own_no(
    claude_pane: ClaudePane, fake_api: FakeAnthropicAPI
) -> None:
    claude = claude_pane
    marker = claude.home.project / "denied-by-A"
    ask_permission(claude, fake_api, marker)
    no = re.search(r"(\d)\. No\b", claude.screen())
    assert no is not None  # 3 on 2.1.197, 4 on 2.1.332
    app = app_on(claude)
    async with app.run_test(size=(140, 45)) as pilot:
        await select_claude(pilot, claude, "waiting")
        await pilot.press("A")
        await until(
            pilot, lambda: f"denied {claude_name(claude)}: {no[1]}. No" in messages(app), "echo"
        )
    claude.wait_for_registry("idle", timeout_s=15.0)
    assert not marker.exists()
    assert len(fake_api.main_requests()) == 1  # the turn ended at the refusal


def claude_name(claude: ClaudePane) -> str:
    registry = claude.read_registry()
    assert registry is not None
    return str(registry["name"])


async def test_s_sends_a_reply_claude_receives_as_its_next_message(
    claude_pane: ClaudePane, fake_api: FakeAnthropicAPI
) -> None:
    claude = claude_pane
    fake_api.add(Turn(text="Hello back."))
    reply = "please say hello; use `echo` #{not-a-format} $HOME"
    app = app_on(claude)
    async with app.run_test(size=(140, 45)) as pilot:
        await select_claude(pilot, claude, "idle")
        await pilot.press("s")
        app.query_one("#reply").value = reply  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: fake_api.main_requests(), "Claude's request", 30.0)
        await until(
            pilot, lambda: f"sent to {claude_name(claude)}: {reply}" in messages(app), "echo"
        )
    main = fake_api.main_requests()
    assert len(main) == 1
    users = [m for m in main[0].body["messages"] if m.get("role") == "user"]
    assert users, json.dumps(main[0].body["messages"])[:2000]
    assert reply in json.dumps(users[-1]["content"]), json.dumps(main[0].body["messages"])[:3000]
    claude.wait_for_registry("idle", timeout_s=30.0)


async def test_i_interrupts_a_long_streamed_answer(
    claude_pane: ClaudePane, fake_api: FakeAnthropicAPI
) -> None:
    claude = claude_pane
    story = " ".join(f"word{n}" for n in range(400))
    fake_api.add(Turn(text=story, chunks=200, chunk_delay_s=0.1))  # ~20 s of streaming
    claude.type("tell me a long story")
    claude.wait_for_registry("busy", timeout_s=20.0)
    wait_until(lambda: "word1" in claude.screen(), 15.0, "the answer to stream")
    app = app_on(claude)
    async with app.run_test(size=(140, 45)) as pilot:
        await select_claude(pilot, claude, "busy")
        await pilot.press("i")
        await until(pilot, lambda: f"interrupted {claude_name(claude)}" in messages(app), "echo")
    registry = claude.wait_for_registry("idle", timeout_s=5.0)
    assert "word399" not in claude.screen()
    transcript = transcript_of(claude, registry)
    wait_until(
        lambda: "[Request interrupted by user" in transcript.read_text(encoding="utf-8"),
        10.0,
        "the interrupted marker in the transcript",
    )


def transcript_of(claude: ClaudePane, registry: dict[str, Any]) -> Path:
    """The session's transcript file (SPEC 2.2)."""
    from sessiontui.model.transcripts import find_transcript

    found = wait_until(
        lambda: find_transcript(
            claude.home.config_dir / "projects",
            registry["cwd"],
            registry["sessionId"],
            registry.get("startedAt"),
        ),
        10.0,
        "the transcript",
    )
    assert isinstance(found, Path)
    return found


def test_approve_is_refused_when_the_pane_shows_a_dialog(claude_pane: ClaudePane) -> None:
    """Claude waits on /help, not on a permission: nothing is typed, the dialog stays."""
    claude = claude_pane
    claude.type("/help")
    claude.wait_for_registry("waiting", waiting_for="dialog open")
    wait_until(lambda: "Esc to c" in claude.screen(), 10.0, "the help dialog")
    # The dialog below Claude's rule (2.1.332 animates its banner above it).
    before = dialog_text(claude.screen())
    assert before is not None
    assert "Esc to c" in before

    for verb in ("approve", "deny", "interrupt"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "sessiontui",
                verb,
                str(claude.pid),
                "--sessions-dir",
                str(claude.registry_dir),
                "-S",
                claude.socket_path,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 1, (verb, proc.stdout, proc.stderr)
        assert "dialog open" in proc.stderr or "waiting" in proc.stderr, proc.stderr

    assert dialog_text(claude.screen()) == before
    assert claude.read_registry()["waitingFor"] == "dialog open"  # type: ignore[index]
    claude.press("Escape")
