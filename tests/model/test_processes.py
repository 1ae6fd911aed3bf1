"""Tests for sessiontui.model.processes on real process trees."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import psutil
import pytest
from tests.helpers import wait_until

from sessiontui.errors import KillRefused
from sessiontui.model.processes import (
    KillReport,
    ProcessTable,
    check_signallable,
    environ_of,
    is_alive,
    kill_tree,
    parent_chain,
    read_proc_start,
    tty_of,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

LINUX = sys.platform.startswith("linux")
IGNORE_TERM = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(300)\n"
)


def gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (absent or a zombie)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def children_of(pid: int, count: int) -> list[int]:
    """Wait until ``pid`` has ``count`` descendants and return their PIDs."""
    proc = psutil.Process(pid)
    wait_until(lambda: len(proc.children(recursive=True)) >= count)
    return [p.pid for p in proc.children(recursive=True)]


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start processes (new session each, so their trees can be cleaned up) and reap them."""
    started: list[subprocess.Popen[str]] = []

    def _spawn(args: list[str], **kwargs: object) -> subprocess.Popen[str]:
        kwargs.setdefault("start_new_session", True)
        proc = subprocess.Popen(args, text=True, **kwargs)  # type: ignore[call-overload]
        started.append(proc)
        return proc  # type: ignore[no-any-return]

    yield _spawn
    for proc in started:
        try:
            tree = [proc.pid, *(p.pid for p in psutil.Process(proc.pid).children(recursive=True))]
        except psutil.Error:
            tree = [proc.pid]
        for pid in tree:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        proc.wait(timeout=5)


def sleeper(spawn: Callable[..., subprocess.Popen[str]]) -> subprocess.Popen[str]:
    proc = spawn(["sleep", "300"])
    wait_until(lambda: read_proc_start(proc.pid) is not None)
    return proc


# --- read_proc_start / is_alive ---------------------------------------------------------


@pytest.mark.skipif(not LINUX, reason="/proc/<pid>/stat is Linux-only")
def test_read_proc_start_matches_psutil_create_time(spawn: Callable[..., subprocess.Popen[str]]):
    proc = sleeper(spawn)
    start = read_proc_start(proc.pid)
    assert start is not None
    assert start.isdigit()
    boot = psutil.boot_time()
    ticks = os.sysconf("SC_CLK_TCK")
    assert abs(boot + int(start) / ticks - psutil.Process(proc.pid).create_time()) < 1.0


@pytest.mark.skipif(not LINUX, reason="/proc/<pid>/stat is Linux-only")
def test_read_proc_start_survives_parentheses_and_spaces_in_comm(
    spawn: Callable[..., subprocess.Popen[str]],
):
    # comm is the program name: make it contain ") (" and spaces (prctl PR_SET_NAME = 15).
    code = (
        "import ctypes, time; "
        "ctypes.CDLL(None).prctl(15, b'a) b (c 1 2', 0, 0, 0); print('ok', flush=True); "
        "time.sleep(300)"
    )
    weird = spawn([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert weird.stdout is not None
    assert weird.stdout.readline().strip() == "ok"
    assert "(" in psutil.Process(weird.pid).name()
    start = read_proc_start(weird.pid)
    assert start == read_proc_start(weird.pid)
    assert start is not None
    assert start.isdigit()
    assert is_alive(weird.pid, start)


def test_read_proc_start_of_missing_process_is_none(spawn: Callable[..., subprocess.Popen[str]]):
    proc = spawn(["true"])
    proc.wait()
    assert read_proc_start(proc.pid) is None
    assert read_proc_start(0) is None
    assert read_proc_start(-3) is None


def test_is_alive_for_live_process(spawn: Callable[..., subprocess.Popen[str]]):
    proc = sleeper(spawn)
    assert is_alive(proc.pid, None)
    assert is_alive(proc.pid, read_proc_start(proc.pid))


def test_is_alive_false_for_wrong_proc_start(spawn: Callable[..., subprocess.Popen[str]]):
    proc = sleeper(spawn)
    start = read_proc_start(proc.pid)
    assert start is not None
    assert not is_alive(proc.pid, str(int(start) + 1))
    assert not is_alive(proc.pid, "not-a-start-time")


def test_is_alive_false_for_reaped_process(spawn: Callable[..., subprocess.Popen[str]]):
    proc = sleeper(spawn)
    start = read_proc_start(proc.pid)
    proc.kill()
    proc.wait()
    assert not is_alive(proc.pid, None)
    assert not is_alive(proc.pid, start)


def test_is_alive_false_for_zombie(spawn: Callable[..., subprocess.Popen[str]]):
    proc = sleeper(spawn)
    os.kill(proc.pid, signal.SIGKILL)
    wait_until(lambda: psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE)
    assert not is_alive(proc.pid, None)  # not reaped yet, but it is dead
    proc.wait()


@pytest.mark.parametrize("pid", [0, -1, -12345, 4_194_305, 10**12, 2**63])
def test_is_alive_false_for_impossible_pids(pid: int):
    assert not is_alive(pid, None)


def test_is_alive_for_init_and_ourselves():
    # PID 1 exists and (unless we are root) belongs to someone else: alive all the same.
    assert is_alive(1, None)
    assert is_alive(os.getpid(), read_proc_start(os.getpid()) if LINUX else None)


# --- ProcessTable ---------------------------------------------------------------------------


def test_cpu_percent_of_busy_process(spawn: Callable[..., subprocess.Popen[str]]):
    busy = spawn([sys.executable, "-c", "while True: pass"])
    table = ProcessTable()
    assert table.cpu_percent(busy.pid) == 0.0  # first call for this identity
    samples: list[float] = []

    def busy_seen() -> bool:
        time.sleep(0.05)
        samples.append(table.cpu_percent(busy.pid))
        return samples[-1] > 0.0

    wait_until(busy_seen)
    assert samples[-1] > 0.0


def test_cpu_percent_includes_descendants(spawn: Callable[..., subprocess.Popen[str]]):
    code = "while True: pass"
    parent = spawn(["bash", "-c", f'"{sys.executable}" -c "{code}" & wait'])
    children_of(parent.pid, 1)
    table = ProcessTable(tree_ttl_s=0.0)
    table.cpu_percent(parent.pid)
    samples: list[float] = []

    def busy_seen() -> bool:
        time.sleep(0.05)
        samples.append(table.cpu_percent(parent.pid))
        return samples[-1] > 0.0

    wait_until(busy_seen)
    # bash itself only waits: the CPU comes from its child.
    assert psutil.Process(parent.pid).cpu_times().user < 0.5
    assert samples[-1] > 0.0


def test_cpu_percent_of_missing_process_is_zero(spawn: Callable[..., subprocess.Popen[str]]):
    proc = spawn(["true"])
    proc.wait()
    table = ProcessTable()
    assert table.cpu_percent(proc.pid) == 0.0
    assert table.get(proc.pid) is None
    assert table.cpu_percent(-1) == 0.0


def test_table_keeps_one_process_object_per_identity(spawn: Callable[..., subprocess.Popen[str]]):
    proc = sleeper(spawn)
    other = sleeper(spawn)
    table = ProcessTable()
    first = table.get(proc.pid)
    assert first is not None
    assert first.pid == proc.pid
    assert table.get(proc.pid) is first
    table.get(other.pid)
    table.prune([other.pid])
    again = table.get(proc.pid)
    assert again is not None
    assert again is not first  # forgotten by prune
    assert again == first  # same identity


# --- environ / tty / parents ---------------------------------------------------------------


def test_environ_of(spawn: Callable[..., subprocess.Popen[str]]):
    proc = spawn(["sleep", "300"], env={**os.environ, "SESSIONTUI_PROBE": "x y"})
    wait_until(lambda: (environ_of(proc.pid) or {}).get("SESSIONTUI_PROBE") == "x y")


def test_environ_tty_parents_of_missing_process(spawn: Callable[..., subprocess.Popen[str]]):
    proc = spawn(["true"])
    proc.wait()
    assert environ_of(proc.pid) is None
    assert tty_of(proc.pid) is None
    assert parent_chain(proc.pid) == []


def test_tty_of(spawn: Callable[..., subprocess.Popen[str]]):
    leader, follower = os.openpty()
    try:
        code = (
            "import fcntl, sys, termios, time\n"
            "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
            "print('ready', flush=True)\n"
            "time.sleep(300)\n"
        )
        proc = spawn([sys.executable, "-c", code], stdin=follower, stdout=subprocess.PIPE)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        assert tty_of(proc.pid) == os.ttyname(follower)
        no_tty = spawn(["sleep", "300"], stdin=subprocess.DEVNULL)
        assert tty_of(no_tty.pid) is None
    finally:
        os.close(leader)
        os.close(follower)


def test_parent_chain(spawn: Callable[..., subprocess.Popen[str]]):
    parent = spawn(["bash", "-c", "sleep 300 & wait"])
    (child,) = children_of(parent.pid, 1)
    chain = parent_chain(child)
    assert chain[:2] == [parent.pid, os.getpid()]
    assert chain[2] == os.getppid()
    assert len(chain) == len(set(chain))
    assert 0 not in chain
    if 1 in chain:
        assert chain[-1] == 1


# --- check_signallable ----------------------------------------------------------------------


@pytest.mark.parametrize("pid", [1, 0, -1])
def test_refuses_low_pids(pid: int):
    with pytest.raises(KillRefused):
        check_signallable(pid)
    with pytest.raises(KillRefused):
        kill_tree(pid)


def test_refuses_ourselves_and_ancestors():
    for pid in (os.getpid(), os.getppid(), *parent_chain(os.getpid())):
        with pytest.raises(KillRefused):
            check_signallable(pid)
        with pytest.raises(KillRefused):
            kill_tree(pid, grace_s=0.1)
    assert is_alive(os.getppid(), None)


def test_allows_own_child(spawn: Callable[..., subprocess.Popen[str]]):
    proc = sleeper(spawn)
    check_signallable(proc.pid)  # does not raise


@pytest.fixture
def other_users_process(spawn: Callable[..., subprocess.Popen[str]]) -> int:
    """PID of a live process owned by another user (started as ``nobody`` when we are root)."""
    if os.geteuid() == 0:
        proc = spawn(["sleep", "300"], user=65534, group=65534)
        wait_until(lambda: psutil.Process(proc.pid).uids().real == 65534)
        return proc.pid
    for other in psutil.process_iter(["uids"]):
        uids = other.info.get("uids")
        if other.pid > 1 and uids is not None and uids.real != os.getuid():
            return other.pid
    pytest.skip("no process of another user to test with")


def test_refuses_other_users_process(other_users_process: int):
    with pytest.raises(KillRefused, match="another user"):
        check_signallable(other_users_process)
    with pytest.raises(KillRefused, match="another user"):
        kill_tree(other_users_process, grace_s=0.1)
    assert is_alive(other_users_process, None)


# --- kill_tree ------------------------------------------------------------------------------


def test_kill_tree_terminates_process_and_descendants(
    spawn: Callable[..., subprocess.Popen[str]],
):
    parent = spawn(["bash", "-c", "sleep 300 & sleep 300 & wait"])
    kids = children_of(parent.pid, 2)
    report = kill_tree(parent.pid, grace_s=5.0, proc_start=read_proc_start(parent.pid))
    assert isinstance(report, KillReport)
    assert report.pid == parent.pid
    assert not report.already_gone
    assert report.terminated[0] == parent.pid
    assert sorted(report.terminated) == sorted([parent.pid, *kids])
    assert report.killed == ()
    for pid in (parent.pid, *kids):
        assert gone(pid)
        assert not is_alive(pid, None)


def test_kill_tree_sigkills_survivors_after_grace(spawn: Callable[..., subprocess.Popen[str]]):
    stubborn = spawn([sys.executable, "-c", IGNORE_TERM], stdout=subprocess.PIPE)
    assert stubborn.stdout is not None
    assert stubborn.stdout.readline().strip() == "ready"
    report = kill_tree(stubborn.pid, grace_s=0.3)
    assert report.terminated == ()
    assert report.killed == (stubborn.pid,)
    assert stubborn.wait(timeout=5) == -signal.SIGKILL


def test_kill_tree_mixed_tree(spawn: Callable[..., subprocess.Popen[str]]):
    parent = spawn(
        ["bash", "-c", f'"{sys.executable}" -c "$0" & sleep 300 & wait', IGNORE_TERM],
        stdout=subprocess.PIPE,
    )
    assert parent.stdout is not None
    assert parent.stdout.readline().strip() == "ready"
    kids = children_of(parent.pid, 2)
    wait_until(lambda: sorted(psutil.Process(pid).name() == "sleep" for pid in kids) == [0, 1])
    stubborn = next(pid for pid in kids if psutil.Process(pid).name() != "sleep")
    report = kill_tree(parent.pid, grace_s=0.3)
    assert report.killed == (stubborn,)
    assert sorted(report.terminated) == sorted(
        pid for pid in [parent.pid, *kids] if pid != stubborn
    )
    wait_until(lambda: all(gone(pid) for pid in [parent.pid, *kids]))


def test_kill_tree_refuses_reused_pid(spawn: Callable[..., subprocess.Popen[str]]):
    proc = sleeper(spawn)
    start = read_proc_start(proc.pid)
    wrong = "1" if start != "1" else "2"
    with pytest.raises(KillRefused, match="reused"):
        kill_tree(proc.pid, grace_s=0.1, proc_start=wrong)
    assert is_alive(proc.pid, start)
    assert proc.poll() is None


def test_kill_tree_already_gone(spawn: Callable[..., subprocess.Popen[str]]):
    proc = sleeper(spawn)
    start = read_proc_start(proc.pid)
    proc.kill()
    proc.wait()
    report = kill_tree(proc.pid, grace_s=0.1, proc_start=start)
    assert report == KillReport(pid=proc.pid, terminated=(), killed=(), already_gone=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start another user's process")
def test_kill_tree_skips_other_users_descendants(spawn: Callable[..., subprocess.Popen[str]]):
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setgid(65534); os.setuid(65534); time.sleep(300); os._exit(0)\n"
        "time.sleep(300)\n"
    )
    parent = spawn([sys.executable, "-c", code])
    (child,) = children_of(parent.pid, 1)
    wait_until(lambda: psutil.Process(child).uids().real == 65534)
    try:
        report = kill_tree(parent.pid, grace_s=1.0)
        assert report.terminated == (parent.pid,)
        assert report.killed == ()
        assert is_alive(child, None)  # another user's process is never signalled
    finally:
        os.kill(child, signal.SIGKILL)
    wait_until(lambda: gone(child))
