"""Tests for the registry watcher: real files in tmp_path, real watchdog (inotify) threads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import sessiontui
from sessiontui.model.watcher import RegistryWatcher, is_session_file_name

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

Paths = frozenset[Path] | None


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Poll ``predicate`` every few ms until it is true or ``timeout_s`` has passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)


class Recorder:
    """Thread-safe ``on_change`` callback that remembers every call and its thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Paths] = []
        self.threads: set[threading.Thread] = set()

    def __call__(self, paths: Paths) -> None:
        with self._lock:
            self._calls.append(paths)
            self.threads.add(threading.current_thread())

    @property
    def calls(self) -> list[Paths]:
        with self._lock:
            return list(self._calls)

    def mark(self) -> int:
        """Index to pass to the ``*_since`` helpers: only calls after this moment count."""
        return len(self.calls)

    def saw_path_since(self, mark: int, path: Path) -> bool:
        return any(c is not None and path in c for c in self.calls[mark:])

    def saw_none_since(self, mark: int) -> bool:
        return any(c is None for c in self.calls[mark:])

    def paths(self) -> set[Path]:
        return {p for c in self.calls if c is not None for p in c}


@pytest.fixture
def make_watcher() -> Iterator[Callable[..., tuple[RegistryWatcher, Recorder]]]:
    """Factory that starts a watcher with a recorder; every watcher is closed at teardown."""
    made: list[RegistryWatcher] = []

    def make(directory: Path, **kwargs: float) -> tuple[RegistryWatcher, Recorder]:
        recorder = Recorder()
        kwargs.setdefault("rescan_s", 60.0)  # no periodic None unless a test asks for it
        watcher = RegistryWatcher(directory, recorder, **kwargs)
        made.append(watcher)
        watcher.start()
        return watcher, recorder

    yield make
    for watcher in made:
        watcher.close()


def write(path: Path, text: str = '{"pid": 1}') -> None:
    """Truncate-and-write, the way Claude Code updates its registry files."""
    with path.open("w") as f:
        f.write(text)


def write_until_reported(rec: Recorder, path: Path, timeout_s: float = 5.0) -> bool:
    """Rewrite ``path`` until a call names it.

    For watchers with a short ``rescan_s``: a periodic ``None`` supersedes the paths pending at
    that moment (the caller rescans everything), so a single write may never be named.
    """
    mark = rec.mark()

    def attempt() -> bool:
        write(path)
        return wait_until(lambda: rec.saw_path_since(mark, path), timeout_s=0.05)

    return wait_until(attempt, timeout_s=timeout_s)


def test_session_file_names() -> None:
    assert is_session_file_name("123.json")
    assert is_session_file_name("0.json")
    for name in (
        "notes.txt",
        ".fleetview-heartbeat",
        "123.json.tmp",
        ".123.json",
        "123.JSON",
        "12a.json",
        "\u0661\u0662.json",
        "123.json\n",
        ".json",
        "-1.json",
        " 1.json",
    ):
        assert not is_session_file_name(name), name


def test_create_modify_delete_reported(make_watcher, registry: Path) -> None:
    watcher, rec = make_watcher(registry)
    assert watcher.degraded is None
    target = registry / "123.json"

    mark = rec.mark()
    write(target)
    assert wait_until(lambda: rec.saw_path_since(mark, target))

    mark = rec.mark()
    write(target, '{"pid": 123, "status": "busy"}')
    assert wait_until(lambda: rec.saw_path_since(mark, target))

    mark = rec.mark()
    target.unlink()
    assert wait_until(lambda: rec.saw_path_since(mark, target))

    assert rec.threads
    assert threading.main_thread() not in rec.threads
    assert None not in rec.calls  # no directory change, no periodic rescan yet


def test_rename_into_place_and_move_out_reported(
    make_watcher, registry: Path, tmp_path: Path
) -> None:
    _watcher, rec = make_watcher(registry)
    target = registry / "55.json"

    mark = rec.mark()
    tmp = registry / ".55.json.tmp"
    write(tmp)
    tmp.replace(target)  # atomic rewrite: IN_MOVED_TO for 55.json
    assert wait_until(lambda: rec.saw_path_since(mark, target))

    mark = rec.mark()
    target.replace(tmp_path / "elsewhere.json")  # moved out: reported as deleted
    assert wait_until(lambda: rec.saw_path_since(mark, target))
    assert rec.paths() == {target}


def test_burst_of_writes_coalesces(make_watcher, registry: Path) -> None:
    _watcher, rec = make_watcher(registry)
    target = registry / "7.json"
    writes = 50
    for i in range(writes):
        write(target, json.dumps({"pid": 7, "n": i}))
    # Barrier: events arrive in order and 7.json's deadline is not later than 8.json's, so once
    # 8.json is reported every call about the burst has been made.
    barrier = registry / "8.json"
    write(barrier)
    assert wait_until(lambda: rec.saw_path_since(0, barrier))
    burst_calls = [c for c in rec.calls if c is not None and target in c]
    assert burst_calls, "the burst was never reported"
    assert len(burst_calls) < writes


def test_non_session_files_never_reported(make_watcher, registry: Path) -> None:
    _watcher, rec = make_watcher(registry)
    for name in (
        "notes.txt",
        ".fleetview-heartbeat",
        "123.json.tmp",
        ".123.json",
        "123.JSON",
        "12a.json",
        "\u0661\u0662\u0663.json",
        "123.json~",
    ):
        write(registry / name)
    (registry / "notes.txt").replace(registry / "notes.old")
    (registry / "subdir").mkdir()
    write(registry / "subdir" / "9.json")  # not the watched directory (non-recursive)
    (registry / ".fleetview-heartbeat").unlink()
    barrier = registry / "1.json"
    write(barrier)
    assert wait_until(lambda: rec.saw_path_since(0, barrier))
    assert rec.calls == [frozenset({barrier})]


def test_missing_directory_created_deleted_recreated(make_watcher, tmp_path: Path) -> None:
    directory = tmp_path / "claude-base" / "sessions"  # neither level exists yet
    watcher, rec = make_watcher(directory)
    assert watcher.degraded is None

    mark = rec.mark()
    directory.mkdir(parents=True)
    assert wait_until(lambda: rec.saw_none_since(mark)), "no None when the directory appeared"
    first = directory / "1.json"
    mark = rec.mark()
    write(first)
    assert wait_until(lambda: rec.saw_path_since(mark, first))

    mark = rec.mark()
    shutil.rmtree(directory)
    assert wait_until(lambda: rec.saw_none_since(mark)), "no None when the directory vanished"

    mark = rec.mark()
    directory.mkdir()
    assert wait_until(lambda: rec.saw_none_since(mark)), "no None when the directory came back"
    second = directory / "2.json"
    mark = rec.mark()
    write(second)
    assert wait_until(lambda: rec.saw_path_since(mark, second))
    assert watcher.degraded is None


def test_ancestor_deleted_while_waiting(make_watcher, tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    directory = base / "sessions"
    _watcher, rec = make_watcher(directory)
    shutil.rmtree(base)  # the watched ancestor itself goes away
    mark = rec.mark()
    directory.mkdir(parents=True)
    assert wait_until(lambda: rec.saw_none_since(mark))
    target = directory / "3.json"
    mark = rec.mark()
    write(target)
    assert wait_until(lambda: rec.saw_path_since(mark, target))


def test_directory_renamed_away_is_rewatched_by_the_safety_rescan(
    make_watcher, registry: Path
) -> None:
    _watcher, rec = make_watcher(registry, rescan_s=0.1)
    old = registry.with_name("sessions.old")
    registry.rename(old)  # inotify reports no event the watcher can see for this
    registry.mkdir()
    new_file = registry / "4.json"
    # Rewrite until the watch on the new directory picks it up (after a safety rescan).
    assert write_until_reported(rec, new_file)
    write(old / "5.json")
    assert write_until_reported(rec, registry / "6.json")  # barrier: events arrive in order
    assert old / "5.json" not in rec.paths()
    assert registry / "5.json" not in rec.paths()


def test_periodic_rescan(make_watcher, registry: Path) -> None:
    _watcher, rec = make_watcher(registry, rescan_s=0.2)
    assert wait_until(lambda: rec.calls.count(None) >= 3)
    assert all(c is None for c in rec.calls)


def test_close_stops_threads_and_callbacks(make_watcher, registry: Path) -> None:
    baseline = set(threading.enumerate())
    rec = Recorder()
    watcher = RegistryWatcher(registry, rec, rescan_s=0.05)
    watcher.start()
    assert len(threading.enumerate()) > len(baseline)
    assert write_until_reported(rec, registry / "1.json")

    watcher.close()
    watcher.close()  # idempotent
    assert wait_until(lambda: set(threading.enumerate()) <= baseline, timeout_s=2.0)
    calls_at_close = rec.mark()

    # A second, live watcher proves time passed and events flowed after the close.
    _other, other_rec = make_watcher(registry, rescan_s=0.05)
    assert write_until_reported(other_rec, registry / "2.json")
    assert wait_until(lambda: other_rec.calls.count(None) >= 3)
    assert rec.mark() == calls_at_close
    with pytest.raises(RuntimeError):
        watcher.start()


def test_close_from_inside_the_callback(registry: Path) -> None:
    baseline = set(threading.enumerate())
    calls: list[Paths] = []
    holder: list[RegistryWatcher] = []

    def on_change(paths: Paths) -> None:
        calls.append(paths)
        holder[0].close()

    watcher = RegistryWatcher(registry, on_change, rescan_s=0.05)
    holder.append(watcher)
    watcher.start()
    assert wait_until(lambda: set(threading.enumerate()) <= baseline, timeout_s=3.0)
    assert len(calls) == 1
    watcher.close()


def test_context_manager(registry: Path) -> None:
    baseline = set(threading.enumerate())
    rec = Recorder()
    target = registry / "11.json"
    with RegistryWatcher(registry, rec) as watcher:
        assert watcher.directory == registry
        write(target)
        assert wait_until(lambda: rec.saw_path_since(0, target))
    assert wait_until(lambda: set(threading.enumerate()) <= baseline, timeout_s=2.0)


def test_callback_exception_does_not_stop_the_watcher(make_watcher, registry: Path) -> None:
    seen: list[Paths] = []

    def flaky(paths: Paths) -> None:
        seen.append(paths)
        raise RuntimeError("boom")

    watcher = RegistryWatcher(registry, flaky, rescan_s=60)
    try:
        watcher.start()
        write(registry / "1.json")
        assert wait_until(lambda: any(p and registry / "1.json" in p for p in seen))
        write(registry / "2.json")
        assert wait_until(lambda: any(p and registry / "2.json" in p for p in seen))
    finally:
        watcher.close()


def test_invalid_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rescan_s"):
        RegistryWatcher(tmp_path, print, rescan_s=0)
    with pytest.raises(ValueError, match="debounce_s"):
        RegistryWatcher(tmp_path, print, debounce_s=-1)


_DEGRADED_SCRIPT = r"""
import json, os, resource, sys, threading, time
from pathlib import Path
from sessiontui.model.watcher import RegistryWatcher

directory = Path(sys.argv[1])
lock = threading.Lock()
calls = []

def on_change(paths):
    with lock:
        calls.append(None if paths is None else sorted(p.name for p in paths))

def wait_until(predicate, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True

# Exhaust file descriptors so inotify_init() fails with EMFILE: a real start failure.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
fillers = []
while True:
    try:
        fillers.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        break
watcher = RegistryWatcher(directory, on_change, rescan_s=0.1)
watcher.start()
out = {"degraded": watcher.degraded}
out["rescans_while_degraded"] = wait_until(lambda: calls.count(None) >= 2)
for fd in fillers:
    os.close(fd)
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
out["recovered"] = wait_until(lambda: watcher.degraded is None)
mark = len(calls)

def attempt():
    # Rewrite until named: a periodic None supersedes the paths pending at that moment.
    (directory / "1.json").write_text("{}")
    return wait_until(lambda: ["1.json"] in calls[mark:], timeout_s=0.05)

out["reported_after_recovery"] = wait_until(attempt)
watcher.close()
print(json.dumps(out))
"""


def test_observer_start_failure_degrades_to_rescans(registry: Path) -> None:
    src = str(Path(sessiontui.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", _DEGRADED_SCRIPT, str(registry)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["degraded"], out
    assert "rescanning only" in out["degraded"]
    assert out["rescans_while_degraded"], out
    assert out["recovered"], out
    assert out["reported_after_recovery"], out
