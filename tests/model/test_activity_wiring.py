"""Transcripts and Codex rollouts wired into the monitor: real files, real processes, real tmux.

Claude rows: a real process (``sleep``) with a registry entry and a transcript written the way
Claude Code 2.1.197 writes one (records from ``test_transcripts``); the monitor's snapshot must
show the tokens, context, model, prompt and token sparkline, and the transcript's status when
the registry has none. Codex rows: copies of bash named ``codex`` (as in ``test_codex``) holding
a real rollout written by Codex CLI 0.171.0 open.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest
from tests.helpers import wait_until, write_entry
from tests.model.test_transcripts import (
    CWD,
    SID,
    append,
    assistant,
    lines,
    tool_result,
    tool_use,
    usage,
    user,
)

from sessiontui.model.codex import CodexSource
from sessiontui.model.monitor import Monitor, MonitorTiming
from sessiontui.model.names import NameStore
from sessiontui.model.transcripts import TranscriptTracker, encode_project_dir
from sessiontui.model.types import Session, Status, StatusSource

if TYPE_CHECKING:
    from collections.abc import Iterator

    from libtmux import Server

FAST = MonitorTiming(debounce_s=0.005, rescan_s=0.3, sample_s=0.2, tmux_poll_s=60.0)
#: Rescans and samples far apart: only the transcript watcher (or a held flush) can show a change.
SLOW = MonitorTiming(debounce_s=0.005, rescan_s=60.0, sample_s=60.0, tmux_poll_s=60.0)
FIXTURES = Path(__file__).parent / "fixtures" / "codex"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A Claude base directory with ``sessions/`` and ``projects/``."""
    (tmp_path / "claude" / "sessions").mkdir(parents=True)
    (tmp_path / "claude" / "projects").mkdir()
    return tmp_path / "claude"


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "300"])
    yield proc
    proc.kill()
    proc.wait()


def transcript_file(base: Path) -> Path:
    folder = base / "projects" / encode_project_dir(CWD)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{SID}.jsonl"


def claude_monitor(base: Path, *, timing: MonitorTiming = FAST, **kw: Any) -> Monitor:
    registry = base / "sessions"
    return Monitor(
        sessions_dir=registry,
        timing=timing,
        transcripts={registry: TranscriptTracker(base / "projects")},
        **kw,
    )


def only(monitor: Monitor, pid: int) -> Session | None:
    return next((s for s in monitor.snapshot.sessions if s.pid == pid), None)


def test_transcript_appends_reach_the_snapshot(base, sleeper):
    now = time.time()
    path = transcript_file(base)
    path.write_bytes(lines(user("fix the retry\nplease", now - 5)))
    write_entry(
        base / "sessions",
        sleeper.pid,
        sessionId=SID,
        cwd=CWD,
        startedAt=int((now - 60) * 1000),
        status="busy",
    )
    with claude_monitor(base) as monitor:
        monitor.refresh()
        monitor.start()
        first = wait_until(lambda: only(monitor, sleeper.pid), what="the row")
        assert first.transcript_path == path
        assert first.context_used is None
        assert first.last_prompt == "fix the retry please"
        assert first.turns == 1
        # Claude splits one API message into several records repeating its usage.
        use = usage(inp=1000, out=300, read=20_000, create=500)
        append(
            path,
            lines(
                assistant(now - 1, msg="msg_a", req="req_a", use=use, stop=None),
                assistant(
                    now - 1,
                    msg="msg_a",
                    req="req_a",
                    use=use,
                    content=[tool_use()],
                    stop="tool_use",
                ),
            ),
        )

        def tokens() -> Session | None:
            session = only(monitor, sleeper.pid)
            return session if session and session.tokens_output == 300 else None

        session = wait_until(tokens, what="the appended usage in the snapshot")
    assert session.context_used == 1000 + 20_000 + 500 + 300
    assert session.context_window == 200_000
    assert session.model == "claude-opus-4-8"
    assert session.activity_scale == 300
    # One bucket holds the call (the last or, across a minute boundary, the one before).
    assert max(session.activity) == 1.0
    assert [v for v in session.activity if v] == [1.0]
    assert session.last_activity_at == pytest.approx(now - 1, abs=0.01)
    # The registry status wins over the transcript's.
    assert (session.status, session.status_source) == (Status.BUSY, StatusSource.REGISTRY)
    assert session.status_why is None


def test_no_registry_status_falls_back_to_the_transcript(base, sleeper):
    now = time.time()
    path = transcript_file(base)
    path.write_bytes(
        lines(
            user("list files", now - 3),
            assistant(now - 2, content=[tool_use()], stop="tool_use"),
        )
    )
    # An older build: no status field.
    write_entry(base / "sessions", sleeper.pid, sessionId=SID, cwd=CWD)
    with claude_monitor(base) as monitor:
        monitor.refresh()
        monitor.start()
        busy = wait_until(lambda: only(monitor, sleeper.pid), what="the row")
        assert (busy.status, busy.status_source) == (Status.BUSY, StatusSource.TRANSCRIPT)
        assert busy.status_why is not None
        assert busy.status_why.startswith("transcript")
        append(path, lines(tool_result(now - 1), assistant(now, msg="msg_2", req="req_2")))

        def idle() -> Session | None:
            session = only(monitor, sleeper.pid)
            return session if session and session.status is Status.IDLE else None

        session = wait_until(idle, what="the transcript's idle status")
    assert session.status_source is StatusSource.TRANSCRIPT
    assert session.status_why is not None
    assert "end_turn" in session.status_why or "idle" in session.status_why


def test_dead_rows_get_no_tracker_and_a_dying_row_loses_it(base, sleeper):
    gone = subprocess.Popen(["true"])
    gone.wait()
    transcript_file(base).write_bytes(lines(assistant(time.time() - 1)))
    other = "0f0f0f0f-9aa5-4594-8426-d954ad357ae6"  # not SID: that would collapse as an orphan
    write_entry(base / "sessions", gone.pid, procStart="1", sessionId=other, cwd=CWD)
    write_entry(base / "sessions", sleeper.pid, sessionId=SID, cwd=CWD, status="idle")
    with claude_monitor(base) as monitor:
        monitor.refresh()
        tracker = monitor.store.transcripts[base / "sessions"]
        live = only(monitor, sleeper.pid)
        assert live is not None
        assert list(tracker.keys()) == [live.key]
        dead = only(monitor, gone.pid)
        assert dead is not None
        assert dead.tokens_output is None
        assert dead.transcript_path is None
        sleeper.kill()
        sleeper.wait()
        monitor.start()
        wait_until(
            lambda: only(monitor, sleeper.pid) and only(monitor, sleeper.pid).status is Status.DEAD,
            what="the row to die",
        )
        assert list(tracker.keys()) == []


# -- Codex ------------------------------------------------------------------------------------


def fake_codex(tmp_path: Path, rollout_name: str = "approved.jsonl") -> tuple[Path, Path, str]:
    """A ``CODEX_HOME`` with a rollout written by the real Codex, and a bash named ``codex``.

    Returns:
        ``(codex home, rollout path, path of the codex executable)``.
    """
    home = tmp_path / "codex-home"
    folder = home / "sessions" / "2026" / "12" / "01"
    folder.mkdir(parents=True)
    rollout = folder / "rollout-2026-12-01T16-35-24-01a23276-0100-7152-a617-661ebd73a864.jsonl"
    shutil.copy(FIXTURES / rollout_name, rollout)
    exe = tmp_path / "npm" / "codex"
    exe.parent.mkdir()
    shutil.copy("/bin/bash", exe)
    return home, rollout, str(exe)


def test_codex_row_from_a_real_rollout_in_a_tmux_pane(tmp_path, server: Server):
    """A TUI holding its own rollout (``--disable daemon_auto_start``) in a tmux pane."""
    from sessiontui.mux.tmux import TmuxBackend

    home, rollout, exe = fake_codex(tmp_path)
    project = tmp_path / "proj"
    project.mkdir()
    # exec keeps one process: the pane's own process is the "TUI", holding the rollout open.
    hold = f"exec 3<{rollout}; read -r -t 300 line"
    command = f"cd {project} && CODEX_HOME={home} exec {exe} -c '{hold}' codex"
    session = server.new_session("cx", window_command=command)
    pane = session.active_window.active_pane
    assert pane is not None
    registry = tmp_path / "sessions"
    registry.mkdir()
    with Monitor(
        sessions_dir=registry,
        tmux=TmuxBackend(socket_name=server.socket_name),
        timing=FAST,
        codex=CodexSource(),
        names=NameStore(tmp_path / "names.json"),
    ) as monitor:

        def row() -> Session | None:
            monitor.request_poll()
            monitor.refresh()
            return next(
                (
                    s
                    for s in monitor.snapshot.sessions
                    if s.agent == "codex" and s.transcript_path == rollout and s.mux is not None
                ),
                None,
            )

        codex = wait_until(row, 10.0, "the codex row with its pane")
        # Rename: kept in the names file under the thread id (Codex has no registry).
        monitor.rename(codex.key, "my-codex")
        renamed = monitor.refresh().get(codex.key)
        assert renamed is not None
        assert renamed.name == "my-codex"
        assert NameStore(tmp_path / "names.json").get(codex.session_id or "") == "my-codex"
    assert codex.pid == int(pane.pane_pid or 0)
    assert codex.key.startswith(f"codex:{codex.pid}:")
    assert codex.mux is not None
    assert codex.mux.pane == pane.pane_id
    assert codex.kind == "interactive"
    assert codex.status is Status.IDLE
    assert codex.status_source is StatusSource.ROLLOUT
    assert codex.status_why == "rollout: task_complete"
    # Cumulative output 30 + 40 + 20; context = the last response's total (1700 + 20).
    assert (codex.tokens_output, codex.context_used, codex.context_window) == (90, 1720, 258_400)
    assert codex.model == "gpt-5-codex"
    assert codex.version == "0.171.0"
    assert codex.turns == 2
    assert codex.last_prompt == "run the command"
    assert codex.session_id == "01a23276-0100-7152-a617-661ebd73a864"
    assert codex.registry_path is None


def test_codex_kill_ends_the_tui_but_never_the_daemon_it_started(tmp_path):
    """The TUI is the daemon's parent while it lives: kill must spare the daemon (SPEC 2.3)."""
    home, rollout, exe = fake_codex(tmp_path)
    daemon_exe = home / "packages" / "app-server-daemon" / "bin" / "codex"
    daemon_exe.parent.mkdir(parents=True)
    shutil.copy("/bin/bash", daemon_exe)
    script = (
        f"exec 3<{rollout}; "
        f"{daemon_exe} -c 'read -r -t 60 x' app-server --listen unix:// --managed-daemon"
        " </dev/zero & sleep 60 & read -r -t 60 line"
    )
    tui = subprocess.Popen(
        [exe, "-c", script, "codex"],
        stdin=subprocess.PIPE,
        env={**os.environ, "CODEX_HOME": str(home)},
    )
    registry = tmp_path / "sessions"
    registry.mkdir()
    try:

        def two_children() -> list[psutil.Process] | None:
            children = psutil.Process(tui.pid).children()
            # Right after the fork a child still shows bash's argv: wait for the exec.
            execed = any("app-server" in c.cmdline() for c in children)
            return children if len(children) == 2 and execed else None

        children = wait_until(two_children, 5.0, "the TUI's two children")
        daemon = next(c for c in children if "app-server" in c.cmdline())
        sleeper = next(c for c in children if c.pid != daemon.pid)
        with Monitor(sessions_dir=registry, timing=FAST, codex=CodexSource()) as monitor:

            def row() -> Session | None:
                monitor.refresh()
                return next((s for s in monitor.snapshot.sessions if s.pid == tui.pid), None)

            codex = wait_until(row, 5.0, "the codex row")
            assert codex.agent == "codex"
            report = monitor.kill(codex.key, grace_s=2.0)
        assert set(report.terminated) | set(report.killed) == {tui.pid, sleeper.pid}
        tui.wait(5)
        assert daemon.is_running()
        assert daemon.status() != psutil.STATUS_ZOMBIE
    finally:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(tui.pid).children(recursive=True):
                child.kill()
        tui.kill()
        tui.wait(5)
        for proc in psutil.process_iter(["exe"]):
            with contextlib.suppress(psutil.Error):
                if proc.info["exe"] == str(daemon_exe):
                    proc.kill()


def test_background_codex_row_cannot_be_killed(tmp_path):
    """A rollout held by the daemon with no TUI is a ``bg`` row; kill refuses (no process)."""
    from sessiontui.errors import NotApplicable

    home, rollout, _ = fake_codex(tmp_path, "background.jsonl")
    daemon_exe = home / "packages" / "app-server-daemon" / "bin" / "codex"
    daemon_exe.parent.mkdir(parents=True)
    shutil.copy("/bin/bash", daemon_exe)
    daemon = subprocess.Popen(
        [
            str(daemon_exe),
            "-c",
            f"exec 3<{rollout}; read -r -t 60 x",
            "app-server",
            "--listen",
            "unix://",
            "--managed-daemon",
        ],
        stdin=subprocess.PIPE,
    )
    registry = tmp_path / "sessions"
    registry.mkdir()
    try:
        with Monitor(sessions_dir=registry, timing=FAST, codex=CodexSource()) as monitor:

            def row() -> Session | None:
                monitor.refresh()
                return next(
                    (s for s in monitor.snapshot.sessions if s.transcript_path == rollout), None
                )

            bg = wait_until(row, 5.0, "the background codex row")
            assert (bg.agent, bg.kind, bg.pid, bg.mux) == ("codex", "bg", 0, None)
            assert bg.key.startswith("codex:rollout:")
            with pytest.raises(NotApplicable):
                monitor.kill(bg.key, grace_s=0.5)
        assert daemon.poll() is None
    finally:
        daemon.kill()
        daemon.wait(5)


@contextlib.contextmanager
def watching_monitor(
    base: Path, pid: int, *, status: str, slow_s: float | None = None
) -> Iterator[tuple[Monitor, Path]]:
    """A started monitor and the transcript of session ``pid``, its row shown.

    SLOW timing: changes come through the transcript watcher; the first sample is over.
    """
    path = transcript_file(base)
    path.write_bytes(lines(user("hello", time.time() - 2)))
    write_entry(base / "sessions", pid, sessionId=SID, cwd=CWD, status=status)
    with claude_monitor(base, timing=SLOW) as monitor:
        monitor.refresh()
        if slow_s is not None:
            monitor.store.transcript_slow_s = slow_s
        monitor.start()
        wait_until(lambda: only(monitor, pid), what="the row")
        time.sleep(0.3)  # the first sample tick (at start) is over
        yield monitor, path


def test_an_append_is_read_at_once_not_on_the_sample_timer(base, sleeper):
    """The project folder is watched: an append shows long before the (60 s) sample tick."""
    with watching_monitor(base, sleeper.pid, status="idle") as (monitor, path):
        started = time.monotonic()
        append(path, lines(assistant(time.time(), use=usage(out=77))))
        session = wait_until(
            lambda: (s := only(monitor, sleeper.pid)) and s.tokens_output == 77 and s,
            5.0,
            "the append in the snapshot",
        )
        elapsed = time.monotonic() - started
    assert session.context_used == 100 + 77
    assert elapsed < 2.0  # far below the 60 s sample interval


def _tokens_of(monitor: Monitor, pid: int) -> int | None:
    session = only(monitor, pid)
    return session.tokens_output if session is not None else None


def test_slow_only_transcript_changes_are_held_and_headline_changes_are_not(base, sleeper):
    """Totals-only changes reach the row at most every ``transcript_slow_s``; CTX at once."""
    now = time.time()
    path = transcript_file(base)
    path.write_bytes(lines(user("go", now - 5)))
    write_entry(base / "sessions", sleeper.pid, sessionId=SID, cwd=CWD, status="busy")
    with claude_monitor(base) as monitor:  # not started: this test drives the store itself
        monitor.refresh()
        store = monitor.store
        store.transcript_slow_s = 60.0  # nothing this test holds comes due by itself
        # 10,000 of 200,000 tokens: 5 %.
        append(path, lines(assistant(now - 4, msg="m1", req="r1", use=usage(inp=9990, out=10))))
        assert store.refresh_transcript(path)  # a context appears: at once
        assert store.transcripts_held_s() is None
        assert _tokens_of(monitor, sleeper.pid) == 0  # not published yet
        store.publish()
        assert _tokens_of(monitor, sleeper.pid) == 10
        # Same context percent (5 %), more output tokens: held.
        append(path, lines(assistant(now - 3, msg="m2", req="r2", use=usage(inp=9900, out=20))))
        assert not store.refresh_transcript(path)
        held = store.transcripts_held_s()
        assert held is not None
        assert 0.0 < held <= 60.0
        assert not store.flush_transcripts()  # not due
        store.publish()
        assert _tokens_of(monitor, sleeper.pid) == 10
        # The context moves to 6 %: shown at once, with the held totals.
        append(path, lines(assistant(now - 2, msg="m3", req="r3", use=usage(inp=11_970, out=30))))
        assert store.refresh_transcript(path)
        assert store.transcripts_held_s() is None
        store.publish()
        session = only(monitor, sleeper.pid)
        assert session is not None
        assert (session.tokens_output, session.context_used) == (60, 12_000)
        # Held again, then due: the flush shows the latest facts.
        append(path, lines(assistant(now - 1, msg="m4", req="r4", use=usage(inp=11_960, out=40))))
        assert not store.refresh_transcript(path)
        store.transcript_slow_s = 0.0
        assert store.transcripts_held_s() == 0.0
        assert store.flush_transcripts()
        assert store.transcripts_held_s() is None
        store.publish()
        assert _tokens_of(monitor, sleeper.pid) == 100


def test_held_transcript_facts_reach_the_snapshot_without_another_event(base, sleeper):
    """The monitor wakes for held facts when they come due (no sample tick, no new append)."""
    with watching_monitor(base, sleeper.pid, status="busy", slow_s=1.5) as (monitor, path):
        append(path, lines(assistant(time.time(), msg="m1", req="r1", use=usage(out=10))))
        wait_until(lambda: _tokens_of(monitor, sleeper.pid) == 10, 5.0, "the first append")
        shown = time.monotonic()
        # Only the totals change (the context stays 0 %): held until 1.5 s after the first.
        append(path, lines(assistant(time.time(), msg="m2", req="r2", use=usage(out=20))))
        wait_until(lambda: _tokens_of(monitor, sleeper.pid) == 30, 10.0, "the held append")
        elapsed = time.monotonic() - shown
    assert elapsed >= 1.5 - 0.2  # held (minus the time the first took to be published)


def test_a_streaming_transcript_is_read_on_a_timer_then_watched_again(base, sleeper):
    """A transcript appended to every 50 ms is read on a timer, then watched again.

    While it streams its folder is not watched (no record is lost); once it stops the folder
    is watched again and an append is read at once.
    """
    folder = transcript_file(base).parent
    with watching_monitor(base, sleeper.pid, status="busy", slow_s=0.0) as (monitor, path):
        polled = False
        for i in range(40):
            append(path, lines(assistant(time.time(), msg=f"m{i}", req=f"r{i}", use=usage(out=1))))
            polled = polled or folder in monitor.polled_transcript_folders
            time.sleep(0.05)
        assert polled
        wait_until(lambda: _tokens_of(monitor, sleeper.pid) == 40, 5.0, "every streamed record")
        wait_until(lambda: not monitor.polled_transcript_folders, 5.0, "the folder watched again")
        started = time.monotonic()
        append(path, lines(assistant(time.time(), msg="last", req="last", use=usage(out=7))))
        wait_until(lambda: _tokens_of(monitor, sleeper.pid) == 47, 5.0, "the append after")
        assert time.monotonic() - started < 2.0  # an event, not the 60 s sample tick


def test_other_work_does_not_postpone_the_streaming_timer(base, sleeper):
    """Registry writes every 30 ms wake the monitor; the streaming file is still read."""
    folder = transcript_file(base).parent
    with watching_monitor(base, sleeper.pid, status="busy", slow_s=0.0) as (monitor, path):
        for i in range(10):
            append(path, lines(assistant(time.time(), msg=f"m{i}", req=f"r{i}", use=usage(out=1))))
            time.sleep(0.05)
        wait_until(lambda: folder in monitor.polled_transcript_folders, 5.0, "streaming")
        for i in range(10, 40):
            append(path, lines(assistant(time.time(), msg=f"m{i}", req=f"r{i}", use=usage(out=1))))
            for status in ("idle", "busy"):  # each write wakes the monitor
                write_entry(base / "sessions", sleeper.pid, sessionId=SID, cwd=CWD, status=status)
                time.sleep(0.03)
        shown = _tokens_of(monitor, sleeper.pid)
        assert shown is not None
        assert shown >= 30  # read while the registry kept the monitor busy (≤ 0.6 s behind)
        wait_until(lambda: _tokens_of(monitor, sleeper.pid) == 40, 5.0, "every record")
