"""The store at scale and with duplicate files: unique keys, cached liveness, no needless work."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import TYPE_CHECKING

import psutil
from tests.helpers import write_entry

from sessiontui.model import registry as registry_module
from sessiontui.model import store as store_module
from sessiontui.model.monitor import Monitor
from sessiontui.model.names import NameStore
from sessiontui.model.processes import running_pids
from sessiontui.model.store import SessionStore
from sessiontui.model.types import Status, with_changes

if TYPE_CHECKING:
    from pathlib import Path


def make_old(path: Path) -> None:
    """Backdate a file so its stat can be trusted (no same-tick rewrite possible)."""
    old = time.time_ns() - 3600 * 10**9
    os.utime(path, ns=(old, old))


def test_two_files_for_one_pid_are_two_rows_with_unique_keys(registry, sleeper):
    canonical = write_entry(registry, sleeper.pid, name="canonical", status="idle")
    other = registry / f"0{sleeper.pid}.json"
    other.write_bytes(canonical.read_bytes().replace(b"canonical", b"zero-padded"))
    with Monitor(sessions_dir=registry) as monitor:
        snapshot = monitor.refresh()
    by_name = {s.name: s for s in snapshot.sessions}
    assert set(by_name) == {"canonical", "zero-padded"}
    keys = [s.key for s in snapshot.sessions]
    assert len(set(keys)) == 2
    # The canonical <pid>.json keeps the plain identity; the other spelling is told apart.
    assert by_name["canonical"].key == f"claude:{sleeper.pid}:{by_name['canonical'].proc_start}"
    assert by_name["zero-padded"].key == f"{by_name['canonical'].key}@{other.name}"
    assert by_name["zero-padded"].registry_path == other
    assert all(s.pid == sleeper.pid and s.alive for s in snapshot.sessions)


def test_dead_pid_with_proc_start_is_checked_once(registry, monkeypatch):
    for pid in range(40_000, 40_050):
        make_old(write_entry(registry, pid, procStart="99999999999", status="idle"))
    calls: list[int] = []
    real = store_module.is_alive

    def counting(pid: int, proc_start: str | None) -> bool:
        calls.append(pid)
        return real(pid, proc_start)

    monkeypatch.setattr(store_module, "is_alive", counting)
    store = SessionStore(registry, clock=time.time)
    store.rescan()
    store.sample()
    store.publish()
    assert len(calls) == 50
    assert all(s.status is Status.DEAD for s in store.snapshot.sessions)
    for _ in range(3):
        store.rescan()
        store.sample()
        store.publish()
    assert len(calls) == 50  # a dead (pid, procStart) stays dead: never asked again


def test_rescan_of_unchanged_files_reads_nothing_and_reuses_sessions(registry, sleeper):
    for pid in range(40_000, 40_200):
        make_old(write_entry(registry, pid, procStart="99999999999", status="idle"))
    live = write_entry(registry, sleeper.pid, name="live", status="idle")
    make_old(live)
    registry_mtime = time.time_ns() - 3600 * 10**9
    os.utime(registry, ns=(registry_mtime, registry_mtime))
    store = SessionStore(registry, clock=time.time)
    store.rescan()
    first = store.publish().snapshot
    reads = store.reader.reads
    store.rescan()
    store.publish()
    assert store.reader.reads == reads
    # A status rewrite is one read and one rebuilt session; the 200 others are the same objects.
    live.write_text(json.dumps({"pid": sleeper.pid, "name": "live", "status": "busy"}))
    store.rescan()
    change = store.publish()
    assert store.reader.reads == reads + 1
    (key,) = change.changed
    assert change.snapshot.get(key).status is Status.BUSY  # type: ignore[union-attr]
    old_by_key = {s.key: s for s in first.sessions}
    reused = [s for s in change.snapshot.sessions if old_by_key.get(s.key) is s]
    assert len(reused) == 200


def test_read_only_store_shows_sticky_name_and_writes_nothing(registry, sleeper, tmp_path):
    session_id = "534ded02-9aa5-4594-8426-d954ad357ae6"
    path = write_entry(
        registry, sleeper.pid, sessionId=session_id, name="proj-3f", nameSource="derived"
    )
    names = NameStore(tmp_path / "names.json")
    names.set(session_id, "sticky")
    before = path.read_bytes(), (tmp_path / "names.json").read_bytes()
    store = SessionStore(registry, clock=time.time, names=names, read_only=True)
    store.rescan()
    (session,) = store.publish().snapshot.sessions
    assert session.name == "sticky"
    assert (path.read_bytes(), (tmp_path / "names.json").read_bytes()) == before
    # The same store writable writes the sticky name into the registry (the TUI's job).
    writer = SessionStore(registry, clock=time.time, names=names)
    writer.rescan()
    assert json.loads(path.read_bytes())["name"] == "sticky"


def test_settled_files_are_restated_once_every_few_rescans(registry, monkeypatch):
    # utime() sets the directory's ctime to now; trust listings at once instead of after 2 s.
    monkeypatch.setattr(registry_module, "_RACY_NS", 0)
    paths = [
        write_entry(registry, pid, procStart="99999999999", status="idle", name=f"s{pid}")
        for pid in range(40_000, 40_020)
    ]
    for path in paths:
        make_old(path)
    old = time.time_ns() - 3600 * 10**9
    os.utime(registry, ns=(old, old))
    store = SessionStore(registry, clock=time.time)
    store.rescan()
    store.publish()
    reads = store.reader.reads
    # Rewritten in place without a watcher event (a missed event): same inode, old mtime.
    edited = paths[3]
    edited.write_text(edited.read_text().replace('"s40003"', '"renamed"'))
    os.utime(edited, ns=(old + 10**9, old + 10**9))
    store.rescan()
    assert store.reader.reads == reads  # a dead process's file is not even lstat-ed …
    for _ in range(store_module.SETTLED_RESTAT_EVERY):
        store.rescan()
    assert store.reader.reads == reads + 1  # … but the safety net catches it within a minute
    assert {s.name for s in store.publish().snapshot.sessions} >= {"renamed"}
    # A watcher event is handled at once.
    edited.write_text(edited.read_text().replace('"renamed"', '"again"'))
    store.refresh_paths([edited])
    assert {s.name for s in store.publish().snapshot.sessions} >= {"again"}


def _comparable(store: SessionStore) -> dict[str, object]:
    """The store's sessions by key, without the times the store's clock stamped."""
    return {
        s.key: with_changes(s, status_changed_at=None)
        for s in store.snapshot.sessions  # the clocks of two stores differ
    }


def test_stale_rows_added_in_bulk_are_what_a_full_sync_makes(registry, sleeper, monkeypatch):
    """Many new files (one /proc listing, no change tracking) are synced as a few are.

    A few new files take every step of a sync and a ``kill(pid, 0)`` each; the rows agree.
    """
    pids = [pid for pid in range(40_000, 40_400) if not psutil.pid_exists(pid)][:90]
    for pid in pids[:80]:
        write_entry(registry, pid, procStart="99999999999", status="idle", sessionId=f"s{pid}")
    for pid in pids[80:85]:
        write_entry(registry, pid, status="busy", name="no procStart")
    for pid in pids[85:88]:
        write_entry(registry, pid, pidDomain="linux:other-machine:pid:[4026531836]")
    (registry / f"{pids[88]}.json").write_bytes(b"{not json")
    write_entry(registry, sleeper.pid, status="waiting", name="live")
    bulk = SessionStore(registry, clock=time.time)
    bulk.rescan()
    bulk.publish()
    monkeypatch.setattr(store_module, "RUNNING_PIDS_AFTER", 10**9)
    one_by_one = SessionStore(registry, clock=time.time)
    one_by_one.rescan()
    one_by_one.publish()
    assert len(bulk.snapshot.sessions) == 90
    assert _comparable(bulk) == _comparable(one_by_one)
    statuses = {s.status for s in bulk.snapshot.sessions}
    assert statuses == {Status.DEAD, Status.UNKNOWN, Status.WAITING}


def test_running_pids_lists_this_process_and_not_a_reaped_child() -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    running = running_pids()
    assert running is not None  # Linux with its own /proc
    assert {1, os.getpid()} <= running
    assert child.pid not in running
