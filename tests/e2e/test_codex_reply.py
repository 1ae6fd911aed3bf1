"""End-to-end: approve, deny, interrupt and reply to the real Codex CLI (0.171.0) from sessiontui.

Codex runs in a tmux pane against the loopback fake Responses API (the fixtures of
``test_codex_tui``). An escalated ``exec_command`` makes it show its approval box ("Would you
like to run the following command?", options ``1. Yes, proceed (y)`` … ``3. No, and tell Codex
what to do differently (esc)``); sessiontui's monitor chooses the box's own option by its number.
Escape stops a running turn (observed on 0.171.0: ``turn_aborted`` with reason
``interrupted``); a reply typed into the composer arrives as the next request's user input.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING

import pytest
from tests.e2e.test_codex_tui import (
    MODEL,
    CodexPane,
    codex_bin,
    codex_pane,
    codex_world,
    monitor_row,
)
from tests.fakes.openai_responses import TextTurn, ToolTurn, Usage, exec_command
from tests.helpers import wait_until

from sessiontui.errors import NotApplicable
from sessiontui.model.codex import CodexSource
from sessiontui.model.monitor import Monitor, MonitorTiming
from sessiontui.model.types import Status
from sessiontui.mux.tmux import TmuxBackend

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["MODEL", "codex_bin", "codex_pane", "codex_world"]  # fixtures, imported to be used

pytestmark = pytest.mark.codex


@contextlib.contextmanager
def watching(codex: CodexPane, tmp_path: Path) -> Iterator[Monitor]:
    """The product's monitor on the pane's tmux server with a Codex source (started)."""
    (tmp_path / "sessions").mkdir()
    monitor = Monitor(
        sessions_dir=tmp_path / "sessions",
        tmux=TmuxBackend(socket_name=codex.server.socket_name, environ={}),
        timing=MonitorTiming(rescan_s=1.0, sample_s=0.3, tmux_poll_s=0.5),
        codex=CodexSource(),
    )
    monitor.refresh()
    monitor.start()
    try:
        yield monitor
    finally:
        monitor.close()


def ask_approval(codex: CodexPane, marker: Path, *, then: str | None = None) -> None:
    """Script an escalated command that creates ``marker`` (and a final answer ``then``)."""
    codex.world.fake.add(
        ToolTurn(
            "exec_command",
            exec_command(f"touch {marker}", escalated=True, justification="Create it?"),
            Usage(1500, 0, 40),
        ),
        *([TextTurn(then, Usage(1700, 100, 20))] if then else []),
    )
    codex.type(f"create {marker.name}")
    wait_until(
        lambda: "Would you like to run the following command?" in codex.screen(), 30.0, "the box"
    )


def test_codex_approve_deny_interrupt_and_reply(codex_pane: CodexPane, tmp_path: Path) -> None:
    codex = codex_pane
    fake = codex.world.fake
    with watching(codex, tmp_path) as monitor:
        first = codex.wait(lambda s: s.kind == "interactive", "the TUI")
        row = monitor_row(monitor, lambda r: r.pid == first.pid and r.mux is not None, "the row")
        key = row.key

        # Not waiting: approve refuses before any key.
        with pytest.raises(NotApplicable, match="idle"):
            monitor.approve(key)

        # Approve: the box's "1. Yes, proceed (y)"; the command runs.
        approved = codex.world.project / "codex-approved"
        ask_approval(codex, approved, then="Command finished.")
        monitor_row(monitor, lambda r: r.key == key and r.status is Status.WAITING, "waiting")
        answer = monitor.approve(key)
        assert (answer.decision, str(answer.option)) == ("approved", "1. Yes, proceed (y)")
        wait_until(approved.exists, 15.0, "the approved command's file")
        wait_until(lambda: "Command finished." in codex.screen(), 15.0, "the final answer")

        # Deny: the box's own "3. No, …"; the command never runs.
        denied = codex.world.project / "codex-denied"
        ask_approval(codex, denied)
        monitor_row(monitor, lambda r: r.key == key and r.status is Status.WAITING, "waiting")
        answer = monitor.deny(key)
        assert answer.option.number == 3
        assert answer.option.label.startswith("No, and tell Codex what to do differently")
        monitor_row(monitor, lambda r: r.key == key and r.status is Status.IDLE, "idle")
        assert not denied.exists()

        # Interrupt: Escape during a slowly streamed answer; the turn is aborted.
        fake.add(TextTurn("A slow answer. " * 20, Usage(2000, 0, 300), delay_s=20.0))
        codex.type("something slow")
        busy = monitor_row(monitor, lambda r: r.key == key and r.status is Status.BUSY, "busy")
        wait_until(lambda: (codex.title() or "")[:1] >= "\u2801", 10.0, "the spinner title")
        assert monitor.interrupt(busy.key) is True
        rollout = wait_until(lambda: codex.session() and codex.session().rollout_path, 5.0, "x")
        wait_until(
            lambda: '"reason":"interrupted"' in rollout.read_text().replace(" ", ""),
            10.0,
            "turn_aborted (interrupted) in the rollout",
        )
        monitor_row(monitor, lambda r: r.key == key and r.status is Status.IDLE, "idle again")
        with pytest.raises(NotApplicable, match="idle"):
            monitor.interrupt(key)

        # Reply: typed into the composer, sent with Enter, received as the next user input.
        before = len(fake.responses_requests())
        fake.add(TextTurn("Got it."))
        monitor.send(key, "reply from sessiontui")
        wait_until(lambda: len(fake.responses_requests()) > before, 15.0, "the next request")
        assert "reply from sessiontui" in json.dumps(fake.responses_requests()[-1].body)
