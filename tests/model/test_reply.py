"""Reply, approve, deny and interrupt on real tmux panes, checked by what the pane received.

Each pane runs the key recorder (``tests.helpers.KEY_RECORDER``): it shows a screen captured
from a real agent (``tests/model/fixtures/panes/``) and records every byte typed into it, without
echo, so its screen never changes. A registry entry written for its PID makes it a Claude row of
the monitor. That is what sessiontui must never type blind into: a pane that does not show what
the action answers gets nothing at all.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.helpers import recorded, recorder_argv, spawn_in_pane, wait_until, write_entry

from sessiontui.errors import NotApplicable, PromptNotShown, SessiontuiError
from sessiontui.model.monitor import Monitor
from sessiontui.model.reply import ReplyTiming, answer_prompt
from sessiontui.model.types import Status, with_changes
from sessiontui.mux.tmux import TmuxBackend

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from libtmux import Server

    from sessiontui.model.types import Session

PANES = Path(__file__).parent / "fixtures" / "panes"
QUICK = ReplyTiming(confirm_s=1.2, settle_s=0.3, retry_s=0.4)


@dataclasses.dataclass
class Stage:
    """A recorder pane with a registry entry, and the monitor that sees it."""

    monitor: Monitor
    record: Path
    pid: int
    pane: str
    server: Server
    registry: Path

    def session(self) -> Session:
        found = next((s for s in self.monitor.snapshot.sessions if s.pid == self.pid), None)
        assert found is not None, self.monitor.snapshot.sessions
        return found

    def screen(self) -> str:
        return "\n".join(self.server.cmd("capture-pane", "-p", "-t", self.pane).stdout)

    def set_registry(self, **fields: object) -> None:
        write_entry(self.registry, self.pid, cwd="/tmp", name="stage", **fields)
        self.monitor.refresh()


@pytest.fixture
def stage(server: Server, registry: Path, tmp_path: Path) -> Iterator[Callable[..., Stage]]:
    """Builds a stage: ``stage_for(screen fixture name or None, **registry fields)``."""
    monitors: list[Monitor] = []

    def build(screen: str | None, **fields: object) -> Stage:
        record = tmp_path / f"keys-{len(monitors)}"
        argv = recorder_argv(record, PANES / screen if screen else None)
        pane, pid = spawn_in_pane(server, f"stage{len(monitors)}", tmp_path, argv)
        wait_until(lambda: Path(f"{record}.ready").exists(), 10.0, "the recorder")
        monitor = Monitor(
            sessions_dir=registry, tmux=TmuxBackend(socket_name=server.socket_name, environ={})
        )
        monitor.reply_timing = QUICK
        monitors.append(monitor)
        assert pane.pane_id is not None
        built = Stage(monitor, record, pid, pane.pane_id, server, registry)
        built.set_registry(**fields)
        wait_until(lambda: built.session().mux is not None, 5.0, "the row in its pane")
        return built

    yield build
    for monitor in monitors:
        monitor.close()


WAITING = {"status": "waiting", "waitingFor": "permission prompt", "statusUpdatedAt": 1}


def test_approve_types_the_yes_digit_then_confirms_once_with_enter(stage) -> None:
    """The box stays (as when Claude 2.1.332 ignores an early digit): Enter once, then give up."""
    s = stage("claude-332-permission-120x40.txt", **WAITING)
    before = s.screen()

    with pytest.raises(SessiontuiError, match="still shows its permission prompt"):
        s.monitor.approve(s.session().key)

    # "1" (the box's "Yes"), then, with the cursor resting on it, one Enter; nothing else.
    assert recorded(s.record) == b"1\r"
    assert s.screen() == before


def test_deny_types_the_no_digit_of_that_version(stage) -> None:
    """2.1.332's "No" is 4 (2.1.197's is 3): read from the box, typed again while ignored."""
    s = stage("claude-332-permission-120x40.txt", **WAITING)

    with pytest.raises(SessiontuiError, match="still shows"):
        s.monitor.deny(s.session().key)

    keys = recorded(s.record)
    assert keys, "nothing was typed"
    assert set(keys) == {ord("4")}  # only the "No" digit, retried; never Enter on option 1


def test_codex_box_gets_its_digit_once(stage) -> None:
    s = stage("codex-0171-approval-120x40.txt", status="idle")
    # A Codex row: the agent and the wait come from its rollout; here they are set directly.
    codex = with_changes(s.session(), agent="codex", status=Status.WAITING, waiting_for="approval")

    with pytest.raises(SessiontuiError, match="still shows"):
        answer_prompt(s.monitor.muxes, codex, approve=False, timing=QUICK)

    assert recorded(s.record) == b"3"  # "3. No, and tell Codex what to do differently (esc)"


def test_a_new_wait_is_never_answered_with_the_old_answer(stage) -> None:
    """When the registry shows another wait, no further key goes to the identical box."""
    s = stage("claude-332-permission-120x40.txt", **WAITING)

    def move_on() -> None:
        time.sleep(0.1)
        write_entry(
            s.registry, s.pid, status="waiting", waitingFor="permission prompt", statusUpdatedAt=2
        )

    threading.Thread(target=move_on).start()
    answer = s.monitor.deny(s.session().key)

    assert answer.decision == "denied"
    assert str(answer.option) == "4. No"
    assert recorded(s.record) == b"4"


@pytest.mark.parametrize(
    "screen",
    [
        None,  # another program entirely
        "claude-197-idle-120x40.txt",  # Claude at its prompt
        "claude-197-help-dialog-120x40.txt",  # a dialog, not a permission box
        "claude-332-busy-120x40.txt",
    ],
)
def test_approve_and_deny_refuse_a_pane_without_the_box(stage, screen: str | None) -> None:
    s = stage(screen, **WAITING)
    before = s.screen()

    for verb in (s.monitor.approve, s.monitor.deny):
        with pytest.raises(PromptNotShown, match="nothing was sent"):
            verb(s.session().key)

    time.sleep(0.2)
    assert recorded(s.record) == b""
    assert s.screen() == before


def test_approve_refuses_unless_the_registry_says_permission_prompt(stage) -> None:
    s = stage("claude-197-permission-120x40.txt", status="waiting", waitingFor="dialog open")
    with pytest.raises(NotApplicable, match="dialog open"):
        s.monitor.approve(s.session().key)
    s.set_registry(status="busy")
    with pytest.raises(NotApplicable, match="busy"):
        s.monitor.approve(s.session().key)
    assert recorded(s.record) == b""


def test_approve_rereads_the_registry_before_sending(stage) -> None:
    """The snapshot still says waiting, the file no longer does: nothing is sent."""
    s = stage("claude-197-permission-120x40.txt", **WAITING)
    key = s.session().key
    write_entry(s.registry, s.pid, cwd="/tmp", name="stage", status="busy")
    with pytest.raises(NotApplicable, match="no longer waits"):
        s.monitor.approve(key)
    assert recorded(s.record) == b""


def test_keys_go_only_to_the_pane_of_the_verified_process(stage) -> None:
    s = stage("claude-197-permission-120x40.txt", **WAITING)
    session = s.session()
    assert session.mux is not None
    other = stage(None, status="idle")
    elsewhere = with_changes(session, mux=dataclasses.replace(session.mux, pane=other.pane))
    with pytest.raises(NotApplicable, match="no longer runs in pane"):
        answer_prompt(s.monitor.muxes, elsewhere, approve=True, timing=QUICK)
    reused = with_changes(session, proc_start="1")  # the PID now belongs to another
    with pytest.raises(NotApplicable, match="not running"):
        answer_prompt(s.monitor.muxes, reused, approve=True, timing=QUICK)
    assert recorded(s.record) == b""
    assert recorded(other.record) == b""


def test_send_types_the_reply_then_enter(stage) -> None:
    s = stage("claude-197-idle-120x40.txt", status="idle")
    s.monitor.send(s.session().key, "yes, go on; use `ls` #{x} $HOME")
    expected = b"yes, go on; use `ls` #{x} $HOME\r"
    wait_until(lambda: recorded(s.record) == expected, 5.0, "the reply")


def test_send_refuses_while_a_permission_box_is_shown(stage) -> None:
    s = stage("claude-197-permission-120x40.txt", status="idle")
    with pytest.raises(PromptNotShown, match="approve"):
        s.monitor.send(s.session().key, "1")
    for bad in ("", "   ", "two\nlines", "esc\x1b"):
        with pytest.raises(NotApplicable):
            s.monitor.send(s.session().key, bad)
    time.sleep(0.2)
    assert recorded(s.record) == b""


def test_interrupt_sends_one_escape_only_when_a_turn_shows(stage) -> None:
    idle = stage("claude-197-idle-120x40.txt", status="busy")
    with pytest.raises(PromptNotShown, match="running turn"):
        idle.monitor.interrupt(idle.session().key)
    assert recorded(idle.record) == b""

    busy = stage("claude-332-busy-120x40.txt", status="busy")
    # The recorder's screen keeps showing the running turn: one Escape, never a second.
    assert busy.monitor.interrupt(busy.session().key) is False
    assert recorded(busy.record) == b"\x1b"

    busy.set_registry(status="idle")
    with pytest.raises(NotApplicable, match="idle"):
        busy.monitor.interrupt(busy.session().key)
    assert recorded(busy.record) == b"\x1b"
