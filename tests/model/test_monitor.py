"""The monitor end to end on real files and processes: snapshots, diffs, liveness, hostile input."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import TYPE_CHECKING

import pytest
from tests.helpers import wait_until, write_entry

from sessiontui.model.monitor import Monitor, MonitorTiming
from sessiontui.model.store import diff
from sessiontui.model.types import Snapshot, SnapshotChange, Status, StatusSource

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

FAST = MonitorTiming(debounce_s=0.005, rescan_s=0.3, sample_s=0.3, tmux_poll_s=60.0)


class Recorder:
    """Thread-safe list of received changes."""

    def __init__(self) -> None:
        self.changes: list[SnapshotChange] = []
        self.lock = threading.Lock()

    def __call__(self, change: SnapshotChange) -> None:
        with self.lock:
            self.changes.append(change)


@pytest.fixture
def monitor(registry: Path) -> Iterator[Monitor]:
    m = Monitor(sessions_dir=registry, timing=FAST)
    m.refresh()
    m.start()
    yield m
    m.close()


def by_pid(snapshot: Snapshot, pid: int):
    return next((s for s in snapshot.sessions if s.pid == pid), None)


def test_write_is_published_with_only_the_change(registry, sleepers, monitor):
    a, b = sleepers[0].pid, sleepers[1].pid
    write_entry(registry, a, name="a", status="idle")
    write_entry(registry, b, name="b", status="idle")
    wait_until(lambda: len(monitor.snapshot.sessions) == 2)
    recorder = Recorder()
    monitor.subscribe(recorder)
    write_entry(registry, a, name="a", status="waiting", waitingFor="permission prompt")
    wait_until(lambda: by_pid(monitor.snapshot, a).status is Status.WAITING)
    with recorder.lock:
        last = next(c for c in reversed(recorder.changes) if c.changed)
    key_a = by_pid(last.snapshot, a).key
    assert key_a in last.changed
    assert by_pid(last.snapshot, b).key not in last.changed
    session = by_pid(monitor.snapshot, a)
    assert session.waiting_for == "permission prompt"
    assert session.status_source is StatusSource.REGISTRY
    assert monitor.snapshot.sessions[0].pid == a  # waiting sorts first


def test_sigkilled_agent_turns_dead_by_the_safety_rescan(registry, monitor):
    proc = subprocess.Popen(["sleep", "300"])
    write_entry(registry, proc.pid, name="victim", status="busy")
    wait_until(lambda: by_pid(monitor.snapshot, proc.pid) is not None)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    wait_until(lambda: by_pid(monitor.snapshot, proc.pid).status is Status.DEAD)
    dead = by_pid(monitor.snapshot, proc.pid)
    assert dead.alive is False
    assert dead.status_source is StatusSource.PROCESS
    assert (registry / f"{proc.pid}.json").exists()  # never deleted by the monitor


def test_reused_pid_is_dead(registry, sleepers, monitor):
    pid = sleepers[0].pid
    write_entry(registry, pid, name="reused", procStart="1", status="busy")
    wait_until(lambda: by_pid(monitor.snapshot, pid) is not None)
    assert by_pid(monitor.snapshot, pid).status is Status.DEAD


def test_half_written_file_keeps_last_good_value(registry, sleepers, monitor):
    pid = sleepers[0].pid
    path = write_entry(registry, pid, name="steady", status="busy")
    wait_until(lambda: by_pid(monitor.snapshot, pid) is not None)
    path.write_text('{"pid":')
    write_entry(registry, sleepers[1].pid, name="marker")  # a later event as a barrier
    wait_until(lambda: by_pid(monitor.snapshot, sleepers[1].pid) is not None)
    session = by_pid(monitor.snapshot, pid)
    assert session.name == "steady"
    assert session.status is Status.BUSY
    assert session.unreadable is None


def test_older_builds_without_status_fall_back_to_cpu(registry, monitor):
    busy = subprocess.Popen(["python3", "-c", "while True: pass"])
    try:
        path = registry / f"{busy.pid}.json"
        path.write_text(f'{{"pid":{busy.pid},"sessionId":"s","cwd":"/tmp","startedAt":1}}')
        wait_until(lambda: (s := by_pid(monitor.snapshot, busy.pid)) and s.status is Status.BUSY)
        assert by_pid(monitor.snapshot, busy.pid).status_source is StatusSource.CPU
    finally:
        busy.kill()
        busy.wait()


def test_directory_deleted_and_recreated(tmp_path, sleepers):
    registry = tmp_path / "later" / "sessions"
    with Monitor(sessions_dir=registry, timing=FAST) as monitor:
        monitor.refresh()
        monitor.start()
        assert monitor.snapshot.sessions == ()
        assert any("does not exist" in m for m in monitor.snapshot.messages)
        write_entry(registry, sleepers[0].pid, name="first")
        wait_until(lambda: by_pid(monitor.snapshot, sleepers[0].pid) is not None)
        for path in registry.iterdir():
            path.unlink()
        registry.rmdir()
        wait_until(lambda: monitor.snapshot.sessions == ())
        write_entry(registry, sleepers[1].pid, name="second")
        wait_until(lambda: by_pid(monitor.snapshot, sleepers[1].pid) is not None)


HOSTILE: dict[str, bytes] = {
    "empty": b"",
    "half": b'{"pid":12',
    "not-json": b"hello",
    "array": b"[1,2,3]",
    "wrong-types": b'{"status":5,"name":[],"startedAt":"x","cwd":{}}',
    "invalid-utf8": b'{"name":"\xff\xfe"}',
    "escapes": b'{"name":"\\u001b]0;pwned\\u0007[bold]x[/bold]"}',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_file_never_crashes_and_good_entries_still_show(registry, sleepers, kind):
    good = sleepers[0].pid
    write_entry(registry, good, name="good", status="idle")
    (registry / f"{sleepers[1].pid}.json").write_bytes(HOSTILE[kind])
    (registry / "notes.txt").write_text("keep me")
    with Monitor(sessions_dir=registry, timing=FAST) as monitor:
        snapshot = monitor.refresh()
        assert by_pid(snapshot, good).name == "good"
        hostile = by_pid(snapshot, sleepers[1].pid)
        assert hostile is not None  # shown (unreadable or with what parsed), never dropped
    assert (registry / f"{sleepers[1].pid}.json").read_bytes() == HOSTILE[kind]
    assert (registry / "notes.txt").read_text() == "keep me"


def test_bad_pids_and_mismatch_are_shown_not_trusted(registry, sleepers):
    (registry / "0.json").write_text('{"pid":0}')
    (registry / "99999999999.json").write_text('{"pid":99999999999}')
    (registry / f"{sleepers[0].pid}.json").write_text('{"pid":1,"name":"liar"}')
    (registry / "-5.json").write_text('{"pid":-5}')  # not a session file name at all
    with Monitor(sessions_dir=registry, timing=FAST) as monitor:
        snapshot = monitor.refresh()
    pids = {s.pid for s in snapshot.sessions}
    assert -5 not in pids
    liar = by_pid(snapshot, sleepers[0].pid)
    assert liar is not None
    assert liar.name != "liar"  # the disagreeing entry is not trusted
    assert all(s.status is Status.DEAD for s in snapshot.sessions if s.pid in (0, 99999999999))
    assert (registry / "-5.json").exists()


def test_symlink_in_registry_is_ignored(registry, sleepers, tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text(f'{{"pid":{sleepers[0].pid},"name":"linked"}}')
    (registry / f"{sleepers[0].pid}.json").symlink_to(target)
    with Monitor(sessions_dir=registry, timing=FAST) as monitor:
        snapshot = monitor.refresh()
    assert all(s.name != "linked" for s in snapshot.sessions)
    assert target.exists()


def test_huge_file_is_unreadable_not_loaded(registry, sleepers):
    huge = registry / f"{sleepers[0].pid}.json"
    with huge.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    with Monitor(sessions_dir=registry, timing=FAST) as monitor:
        snapshot = monitor.refresh()
    assert by_pid(snapshot, sleepers[0].pid) is not None
    assert huge.stat().st_size == 50 * 1024 * 1024


def test_dismiss_deletes_only_verified_dead(registry, sleepers):
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead_path = write_entry(registry, gone.pid, procStart="1", name="dead")
    live_path = write_entry(registry, sleepers[0].pid, name="live")
    with Monitor(sessions_dir=registry, timing=FAST) as monitor:
        snapshot = monitor.refresh()
        live = by_pid(snapshot, sleepers[0].pid)
        with pytest.raises(Exception, match="not dead"):
            monitor.dismiss(live.key)
        monitor.dismiss(by_pid(snapshot, gone.pid).key)
    assert not dead_path.exists()
    assert live_path.exists()


def test_diff_reports_added_changed_removed():
    from sessiontui.model.types import Session

    a = Session(key="a", pid=1, agent="claude", name="a", status=Status.IDLE)
    b = Session(key="b", pid=2, agent="claude", name="b", status=Status.IDLE)
    c = Session(key="c", pid=3, agent="claude", name="c", status=Status.IDLE)
    b2 = Session(key="b", pid=2, agent="claude", name="b2", status=Status.IDLE)
    change = diff(Snapshot(sessions=(a, b)), Snapshot(sessions=(b2, c)))
    assert change.added == {"c"}
    assert change.removed == {"a"}
    assert change.changed == {"b"}


@pytest.mark.parametrize(
    "payload",
    [
        b'{"startedAt":' + b"9" * 400 + b',"updatedAt":5,"statusUpdatedAt":' + b"9" * 400 + b"}",
        b'{"startedAt":100000000000000000000,"updatedAt":-5}',
        b'{"startedAt":1e400}',
    ],
)
def test_absurd_times_are_ignored_not_fatal(registry, sleepers, payload):
    good = sleepers[0].pid
    write_entry(registry, good, name="good", status="idle")
    (registry / f"{sleepers[1].pid}.json").write_bytes(payload)
    with Monitor(sessions_dir=registry, timing=FAST) as monitor:
        snapshot = monitor.refresh()
    hostile = by_pid(snapshot, sleepers[1].pid)
    assert hostile is not None
    assert hostile.started_at is None
    assert by_pid(snapshot, good).name == "good"


def test_two_live_agents_in_one_pane_are_both_listed(registry, server):
    session = server.new_session("shared", window_command="bash -c 'sleep 300 & sleep 300 & wait'")
    pane = session.active_window.active_pane
    assert pane is not None
    shell = int(pane.pane_pid or 0)
    import psutil

    kids = wait_until(lambda: [p.pid for p in psutil.Process(shell).children()] or None)
    for pid in kids:  # type: ignore[union-attr]
        write_entry(registry, pid, name=f"agent-{pid}", status="idle")
    from sessiontui.mux.tmux import TmuxBackend

    with Monitor(
        sessions_dir=registry, tmux=TmuxBackend(socket_name=server.socket_name), timing=FAST
    ) as monitor:
        snapshot = monitor.refresh()
    assert sorted(s.pid for s in snapshot.sessions) == sorted(kids)  # type: ignore[arg-type]
    assert all(s.mux is not None and s.mux.pane == pane.pane_id for s in snapshot.sessions)


def test_resume_orphan_collapses_into_the_live_session(registry, sleepers):
    gone = subprocess.Popen(["true"])
    gone.wait()
    write_entry(registry, gone.pid, procStart="1", name="old", sessionId="same-conv-1")
    write_entry(registry, sleepers[0].pid, name="resumed", sessionId="same-conv-1")
    write_entry(registry, sleepers[1].pid, name="other", sessionId="other-conv")
    with Monitor(sessions_dir=registry, timing=FAST) as monitor:
        snapshot = monitor.refresh()
    assert sorted(s.name for s in snapshot.sessions) == ["other", "resumed"]
    assert (registry / f"{gone.pid}.json").exists()  # hidden, never deleted


def test_attach_here_runs_a_job_viewer_in_our_own_terminal(registry, sleepers, tmp_path):
    from sessiontui.model.claude_jobs import ClaudeJobs

    job = sleepers[0]
    write_entry(registry, job.pid, name="job", kind="bg", jobId="abcd1234", status="idle")
    config_dir = str(tmp_path / "their-claude")
    claude = ClaudeJobs("/usr/bin/true", environ={"CLAUDE_CONFIG_DIR": config_dir})
    with Monitor(sessions_dir=registry, claude=claude) as monitor:
        (session,) = monitor.refresh().sessions
        plan = monitor.attach_here(session.key)
        assert not plan.switched
        assert plan.argv == ("/usr/bin/true", "attach", "abcd1234")
        assert plan.env["CLAUDE_CONFIG_DIR"] == config_dir
        assert "TMUX" not in plan.env
        assert monitor.attached_key == session.key
