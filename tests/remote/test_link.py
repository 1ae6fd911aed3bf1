"""HostLink against a scripted peer process: keys, clock offset, calls, drops and reconnects."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest
from tests.helpers import is_gone, wait_until

from sessiontui.errors import SessiontuiError, TargetNotFound
from sessiontui.model.types import Session, Status
from sessiontui.model.wire import session_json
from sessiontui.remote.hosts import HostSpec
from sessiontui.remote.link import UNREACHABLE, HostLink, HostUnreachable, SshTransport

if TYPE_CHECKING:
    from collections.abc import Iterator

HERE = Path(__file__).parent
LOCAL_SSH = (sys.executable, str(HERE / "local_ssh.py"))
STARTED = 1_800_000_000.0


def state_file(tmp_path: Path, **state: object) -> Path:
    sessions = [
        session_json(
            Session(
                key="claude:4242:99",
                pid=4242,
                agent="claude",
                name="fix-bug \x1b[31m[bold]",
                status=Status.WAITING,
                waiting_for="permission prompt",
                started_at=STARTED,
                status_changed_at=STARTED + 60,
            )
        )
    ]
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"sessions": sessions, **state}), encoding="utf-8")
    return path


def make_link(state: Path, name: str = "box", **kwargs: object) -> HostLink:
    host = HostSpec(
        name=name,
        ssh="box.invalid",
        command=(sys.executable, str(HERE / "script_server.py"), str(state)),
    )
    return HostLink(host, transport=SshTransport(ssh=LOCAL_SSH), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def link(tmp_path: Path) -> Iterator[HostLink]:
    link = make_link(state_file(tmp_path, clock_skew_s=1000.0))
    link.start()
    yield link
    link.close()


def test_sessions_arrive_prefixed_with_the_host_and_in_local_time(link: HostLink) -> None:
    assert link.wait_snapshot(15.0), link.problem
    (session,) = link.sessions
    assert session.key == "box/claude:4242:99"
    assert session.host == "box"
    assert session.name == "fix-bug \x1b[31m[bold]"  # untrusted text kept as is (plain)
    assert session.status is Status.WAITING
    assert session.health is None
    # The host's clock runs 1000 s ahead: its times are moved back into ours.
    assert session.started_at == pytest.approx(STARTED - 1000.0, abs=1.0)
    assert session.status_changed_at == pytest.approx(STARTED + 60 - 1000.0, abs=1.0)
    assert link.clock_offset_s == pytest.approx(-1000.0, abs=1.0)
    assert link.connected
    assert link.problem is None


def test_calls_get_results_and_typed_errors(link: HostLink) -> None:
    assert link.wait_snapshot(15.0), link.problem
    assert link.call("attach_plan", "box/claude:4242:99")["argv"] == [
        "tmux",
        "attach",
        "-t",
        "=a b",
    ]
    assert link.call("detach", "box/claude:4242:99")["detached"] == 2
    changes: list[str] = []
    link.on_change = lambda: changes.append(link.sessions[0].name)
    link.call("rename", "box/claude:4242:99", {"name": "renamed"})
    wait_until(lambda: link.sessions[0].name == "renamed", 5.0, "the change after a rename")
    assert "renamed" in changes
    with pytest.raises(TargetNotFound, match=r"^box: no session claude:4242:99$"):
        link.call("kill", "box/claude:4242:99")
    with pytest.raises(TargetNotFound):
        link.call("kill", "other/claude:1:2")  # not this host's key: never sent


def test_a_dropped_link_keeps_rows_unreachable_then_comes_back(link: HostLink) -> None:
    assert link.wait_snapshot(15.0), link.problem
    first = link.transport_pid
    assert first is not None
    link.kill_transport()
    wait_until(lambda: not link.connected, 5.0, "the link to notice the drop")
    (session,) = link.sessions
    assert session.health == UNREACHABLE
    assert session.status is Status.WAITING  # last known, never dead
    assert session.alive
    assert link.problem is not None
    with pytest.raises(HostUnreachable):
        link.call("detach", session.key)
    dropped = time.monotonic()
    wait_until(lambda: link.connected and link.sessions[0].health is None, 5.0, "reconnect")
    assert time.monotonic() - dropped < 5.0
    assert link.transport_pid not in (None, first)


def test_garbage_from_the_peer_drops_the_link_and_reconnects(link: HostLink) -> None:
    assert link.wait_snapshot(15.0), link.problem
    with pytest.raises(HostUnreachable):
        link.call("preview", "box/garbage", timeout_s=5.0)
    wait_until(lambda: link.connected, 5.0, "reconnect after garbage")


def test_another_protocol_version_is_refused(tmp_path: Path) -> None:
    link = make_link(state_file(tmp_path, version=99))
    link.start()
    try:
        assert not link.wait_snapshot(15.0)
        assert link.sessions == ()
        assert "protocol version 99" in (link.problem or "")
    finally:
        link.close()


def test_an_unreachable_host_reports_why_and_close_ends_the_transport(tmp_path: Path) -> None:
    host = HostSpec(name="gone", ssh="gone.invalid", command=("sh", "-c", "echo nope >&2; exit 3"))
    link = HostLink(host, transport=SshTransport(ssh=LOCAL_SSH), backoff_first_s=0.2)
    link.start()
    try:
        assert not link.wait_snapshot(15.0)
        assert link.problem == "nope"
        assert not link.connected
    finally:
        link.close()
    assert link.transport_pid is None


def test_close_kills_the_transport_process(link: HostLink) -> None:
    assert link.wait_snapshot(15.0), link.problem
    pid = link.transport_pid
    assert pid is not None
    proc = psutil.Process(pid)
    link.close()
    wait_until(lambda: is_gone(proc), 5.0, "the transport to end")


def test_unknown_error_names_become_the_base_class(tmp_path: Path) -> None:
    # A result naming no class of sessiontui.errors (or a non-error one) is a plain error.
    link = make_link(state_file(tmp_path))
    link.start()
    try:
        assert link.wait_snapshot(15.0), link.problem
        with pytest.raises(SessiontuiError):
            link.call("send", "box/claude:4242:99", {"text": "hi"})
    finally:
        link.close()


def test_a_silent_host_is_taken_for_dead_and_reconnected(tmp_path: Path) -> None:
    # The scripted peer never pings: with a 1 s stall limit the link ends it and reconnects.
    link = make_link(state_file(tmp_path), stall_s=1.0, backoff_first_s=0.2)
    problems: list[str | None] = []
    link.on_change = lambda: problems.append(link.problem)
    link.start()
    try:
        assert link.wait_snapshot(15.0), link.problem
        first = link.transport_pid
        wait_until(lambda: "no message for 1 s" in problems, 10.0, "the stall to be noticed")
        wait_until(lambda: link.connected and link.transport_pid != first, 10.0, "reconnect")
    finally:
        link.close()


def test_a_one_shot_wait_settles_over_a_snapshot_continued_in_changes(tmp_path: Path) -> None:
    extra = session_json(
        Session(key="claude:5151:1", pid=5151, agent="claude", name="late", status=Status.IDLE)
    )
    link = make_link(state_file(tmp_path, continued=[extra]))
    link.start()
    try:
        assert link.wait_snapshot(15.0, settle_s=0.5), link.problem
        assert sorted(s.name for s in link.sessions) == ["fix-bug \x1b[31m[bold]", "late"]
    finally:
        link.close()


def test_a_malformed_row_costs_that_row_only(tmp_path: Path) -> None:
    path = state_file(tmp_path)
    state = json.loads(path.read_text())
    state["sessions"].append({"key": 5, "name": ["not", "text"]})
    state["sessions"].append("not an object")
    path.write_text(json.dumps(state))
    link = make_link(path)
    link.start()
    try:
        assert link.wait_snapshot(15.0), link.problem
        assert [s.key for s in link.sessions] == ["box/claude:4242:99"]
        assert link.connected
        assert any("malformed session object" in note for note in link.remote_health)
    finally:
        link.close()


def test_pings_keep_the_link_alive_without_telling_anyone(tmp_path: Path) -> None:
    """A ping is not a change: no ``on_change`` call (the hub does not merge, nothing repaints)."""
    state = state_file(tmp_path)
    data = json.loads(state.read_text())
    renamed = {**data["sessions"][0], "name": "after-pings"}
    state.write_text(json.dumps({**data, "pings": 20, "after_pings": [renamed]}))
    calls: list[float] = []
    link = make_link(state, on_change=lambda: calls.append(time.monotonic()))
    link.start()
    try:
        wait_until(
            lambda: [s.name for s in link.sessions] == ["after-pings"], 15.0, "the last change"
        )
        assert len(calls) == 2, calls  # the snapshot and the change after 20 pings
    finally:
        link.close()
