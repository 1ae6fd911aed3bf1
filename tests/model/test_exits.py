"""The exit watcher on real processes: pidfds report an exit at once, never a stranger's."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from typing import TYPE_CHECKING

import pytest
from tests.helpers import wait_until, write_entry

from sessiontui.model.exits import ExitWatcher
from sessiontui.model.monitor import Monitor, MonitorTiming
from sessiontui.model.processes import read_proc_start
from sessiontui.model.types import Status, StatusSource

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="no pidfd_open here")


class Ended:
    """Collects the PIDs an :class:`ExitWatcher` reports (from its thread)."""

    def __init__(self) -> None:
        self.pids: set[int] = set()
        self.lock = threading.Lock()

    def __call__(self, pids: set[int]) -> None:
        with self.lock:
            self.pids |= pids

    def __contains__(self, pid: int) -> bool:
        with self.lock:
            return pid in self.pids


@pytest.fixture
def watcher() -> Iterator[tuple[ExitWatcher, Ended]]:
    ended = Ended()
    exits = ExitWatcher(ended)
    exits.start()
    yield exits, ended
    exits.close()


def orphan_sleep() -> int:
    """A ``sleep 300`` that is not our child (its shell exits; it is re-parented)."""
    out = subprocess.run(
        ["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(out.stdout)
    wait_until(lambda: read_proc_start(pid) is not None)
    return pid


def test_a_killed_process_that_is_not_our_child_is_reported_at_once(watcher):
    exits, ended = watcher
    pid = orphan_sleep()
    try:
        assert exits.watch(pid, read_proc_start(pid))
        assert exits.watching(pid)
        time.sleep(0.2)
        assert pid not in ended  # alive: nothing reported
        start = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: pid in ended, timeout_s=5.0, what="the exit report")
        assert time.monotonic() - start < 1.0
        assert not exits.watching(pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_another_start_time_is_never_watched(watcher, sleeper):
    exits, ended = watcher
    assert not exits.watch(sleeper.pid, "1")  # the PID now belongs to another process
    assert not exits.watching(sleeper.pid)
    sleeper.kill()
    sleeper.wait()
    time.sleep(0.3)
    assert sleeper.pid not in ended


def test_gone_unwatched_and_closed_are_not_watched(sleepers):
    ended = Ended()
    exits = ExitWatcher(ended, limit=2)
    a, b, c = sleepers
    assert not exits.watch(a.pid, None)  # not started yet: the caller must poll
    exits.start()
    assert exits.watch(a.pid, None)
    assert exits.watch(a.pid, read_proc_start(a.pid))  # again: still watched
    assert exits.watch(b.pid, None)
    assert not exits.watch(c.pid, None)  # over the limit
    exits.unwatch(b.pid)
    b.kill()
    b.wait()
    time.sleep(0.3)
    assert b.pid not in ended
    exits.close()
    exits.close()  # idempotent
    assert not exits.watch(c.pid, None)
    assert not exits.watch(2**22 + 1, None)  # no such process


def test_a_sigkilled_agent_turns_dead_long_before_the_next_sample(registry: Path):
    slow = MonitorTiming(debounce_s=0.005, rescan_s=60.0, sample_s=60.0, tmux_poll_s=60.0)
    proc = subprocess.Popen(["sleep", "300"])
    try:
        write_entry(registry, proc.pid, name="victim", status="idle")
        with Monitor(sessions_dir=registry, timing=slow) as monitor:
            monitor.refresh()
            monitor.start()
            wait_until(lambda: monitor.exits.watching(proc.pid), what="the agent watched")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            session = wait_until(
                lambda: next(
                    (s for s in monitor.snapshot.sessions if s.status is Status.DEAD), None
                ),
                timeout_s=5.0,
                what="the dead row",
            )
            assert session.pid == proc.pid
            assert session.status_source is StatusSource.PROCESS
    finally:
        proc.kill()
        proc.wait()


def test_the_monitor_samples_less_often_while_every_agent_is_idle(registry: Path):
    timing = MonitorTiming(
        debounce_s=0.005, rescan_s=60.0, sample_s=0.1, idle_sample_s=0.5, tmux_poll_s=60.0
    )
    proc = subprocess.Popen(["sleep", "300"])
    try:
        write_entry(registry, proc.pid, name="agent", status="idle")
        with Monitor(sessions_dir=registry, timing=timing) as monitor:
            samples: list[float] = []
            sample = monitor.store.sample

            def counted() -> None:
                samples.append(time.monotonic())
                sample()

            monitor.store.sample = counted  # type: ignore[method-assign]
            monitor.refresh()
            monitor.start()
            wait_until(lambda: monitor.exits.watching(proc.pid), what="the agent watched")
            time.sleep(0.6)
            idle = len(samples)
            time.sleep(2.0)
            idle = len(samples) - idle
            assert idle <= 5, f"{idle} samples in 2 s while idle (every 0.5 s: 4)"
            assert monitor.store.wants_fast_sampling() is False

            write_entry(registry, proc.pid, name="agent", status="busy")
            wait_until(lambda: monitor.store.wants_fast_sampling(), what="busy: fast samples")
            time.sleep(0.6)
            busy = len(samples)
            time.sleep(2.0)
            busy = len(samples) - busy
            assert busy >= 12, f"{busy} samples in 2 s while busy (every 0.1 s: 20)"
    finally:
        proc.kill()
        proc.wait()
