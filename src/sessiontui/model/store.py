"""Merges the registry, process and tmux sources into immutable snapshots and diffs them."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import psutil

from sessiontui.errors import SessiontuiError
from sessiontui.model.activity import ActivityTracker
from sessiontui.model.muxset import UNREACHABLE, server_key
from sessiontui.model.processes import ProcessTable, is_alive, read_proc_start
from sessiontui.model.registry import RegistryReader, write_name
from sessiontui.model.types import (
    MuxLocation,
    PaneInfo,
    RegistryEntry,
    Session,
    Snapshot,
    SnapshotChange,
    Status,
    StatusSource,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from pathlib import Path

    from sessiontui.model.names import NameStore

#: CPU use (percent of one core) above which a session without a registry status is busy.
CPU_BUSY_PERCENT = 5.0


@dataclass(slots=True)
class _Row:
    """Mutable per-file state kept between snapshots (worker thread only)."""

    path: Path
    file_pid: int
    key: str
    proc_start: str | None
    alive: bool
    cpu_percent: float = 0.0
    pane: PaneInfo | None = None
    status: Status = Status.UNKNOWN
    status_changed_at: float | None = None
    pane_polled: bool = False
    session_id: str | None = None
    last_pane_id: tuple[str, str] | None = None
    """``(server, %N)`` of the pane the row was last seen in."""


def session_key(agent: str, pid: int, proc_start: str | None) -> str:
    """Return the stable identity ``"<agent>:<pid>:<start>"`` of an agent process.

    ``proc_start`` is the process start time in the registry's ``procStart`` format, or the one
    read from ``/proc`` when the registry has none; ``"-"`` when unknown.
    """
    return f"{agent}:{pid}:{proc_start or '-'}"


def registry_status(entry: RegistryEntry | None) -> Status | None:
    """Return the registry's ``status`` as a :class:`Status`, or ``None`` when absent."""
    if entry is None or entry.status is None:
        return None
    return Status(entry.status)


class SessionStore:
    """The model's state: registry entries, liveness, CPU, panes; builds and diffs snapshots.

    Not thread-safe by itself: :class:`~sessiontui.model.monitor.Monitor` drives it from one
    worker thread. Only :meth:`subscribe`, :meth:`unsubscribe` and :attr:`snapshot` may be
    used from other threads.

    Args:
        sessions_dir: The registry directory (``<claude base>/sessions``).
        clock: Wall-clock time in seconds since the epoch (injected so tests can freeze it).
        activity: Activity tracker (injected for custom bucket sizes).
        names: Names set in sessiontui, re-applied to entries whose name is automatic.
    """

    def __init__(
        self,
        sessions_dir: Path,
        *,
        clock: Callable[[], float],
        activity: ActivityTracker | None = None,
        names: NameStore | None = None,
    ) -> None:
        self.sessions_dir = sessions_dir
        self._clock = clock
        self.reader = RegistryReader(sessions_dir)
        # The parent→children map scans every process on the machine; rebuilding it every
        # 10 s (not every sample) keeps idle CPU low; new children count within 10 s.
        self.processes = ProcessTable(tree_ttl_s=10.0)
        self.activity = activity or ActivityTracker()
        self.names = names
        self._rows: dict[Path, _Row] = {}
        self._panes: tuple[PaneInfo, ...] = ()
        self._pane_counts: dict[tuple[str, str], int] = {}
        self._bg_cpu: dict[int, float] = {}
        self._last_fingerprint: tuple[object, ...] | None = None
        self.focused_pane: tuple[str, str] | None = None
        """``(server, %N)``: the pane our own tmux client shows (set by the monitor's poll)."""
        self._health: dict[str, str] = {}
        self._unreachable: frozenset[str] = frozenset()
        self._locate: Callable[[int, Sequence[PaneInfo]], PaneInfo | None] | None = None
        self._snapshot = Snapshot(taken_at=clock())
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[SnapshotChange], None]] = []
        self._messages: tuple[str, ...] = ()

    # -- subscribers (any thread) -------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        """The latest published snapshot."""
        return self._snapshot

    def subscribe(self, callback: Callable[[SnapshotChange], None]) -> None:
        """Call ``callback(change)`` from the worker thread after every non-empty change."""
        with self._lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[SnapshotChange], None]) -> None:
        """Stop calling ``callback``; unknown callbacks are ignored."""
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    # -- inputs (worker thread) ---------------------------------------------------------

    def set_locator(
        self, locate: Callable[[int, Sequence[PaneInfo]], PaneInfo | None] | None
    ) -> None:
        """Set the PID → pane mapping function (over every multiplexer server)."""
        self._locate = locate

    def set_panes(
        self,
        panes: Sequence[PaneInfo],
        *,
        health: Mapping[str, str] | None = None,
        unreachable: frozenset[str] = frozenset(),
    ) -> None:
        """Record the result of one poll over every multiplexer server.

        Args:
            panes: Every pane of every server (last-known ones for unreachable servers).
            health: ``server -> problem`` for servers with a problem worth showing.
            unreachable: Servers whose panes are last-known (their rows say so).
        """
        panes = tuple(panes)
        health = dict(health or {})
        if (panes, health, unreachable) == (self._panes, self._health, self._unreachable):
            return  # nothing moved: keep every row's pane
        self._health = health
        self._unreachable = unreachable
        if panes == self._panes:
            return
        self._panes = panes
        self._pane_counts = {}
        for pane in self._panes:
            where = (pane.server, pane.session_id)
            self._pane_counts[where] = self._pane_counts.get(where, 0) + 1
        for row in self._rows.values():
            row.pane = self._find_pane(row) if row.alive else None
            if row.pane is not None:
                row.last_pane_id = (row.pane.server, row.pane.pane_id)

    def rescan(self) -> None:
        """Re-list the registry directory and re-check the liveness of every entry."""
        self.reader.scan()
        self._sync_rows(self.reader.paths())

    def refresh_paths(self, paths: Iterable[Path]) -> None:
        """Re-read the given registry files (from watcher events)."""
        for path in paths:
            self.reader.refresh(path)
        self._sync_rows(self.reader.paths(), only=set(paths))

    def sample(self) -> None:
        """Sample CPU for live sessions and feed the activity history (every few seconds)."""
        now = self._clock()
        for row in self._rows.values():
            if row.alive and not is_alive(row.file_pid, row.proc_start):
                row.alive, row.pane = False, None  # SIGKILLed: seen here, not at the rescan
            if row.alive:
                row.cpu_percent = round(self.processes.cpu_percent(row.file_pid))
            else:
                row.cpu_percent = 0.0
            self._update_status(row, now)
            self.activity.record(row.key, now, row.status, row.cpu_percent)
        self._bg_cpu = {}
        for pane in self._bg_panes():
            cpu = float(round(self.processes.cpu_percent(pane.pane_pid)))
            self._bg_cpu[pane.pane_pid] = cpu
            key = _bg_key(pane)
            status = Status.BUSY if cpu >= CPU_BUSY_PERCENT else Status.IDLE
            self.activity.record(key, now, status, cpu)
        keep = [row.file_pid for row in self._rows.values() if row.alive]
        self.processes.prune([*keep, *self._bg_cpu])

    def take_new_unmapped(self) -> bool:
        """True once for each batch of new live sessions that have no pane yet.

        A new agent in a new tmux pane is not in the last poll's pane list; the caller then
        polls tmux once instead of waiting for the periodic poll. Sessions outside tmux are
        asked about only once, so they never cause repeated polls.
        """
        found = False
        for row in self._rows.values():
            if row.alive and row.pane is None and not row.pane_polled:
                row.pane_polled = True
                found = True
        return found and self._locate is not None

    # -- merging ------------------------------------------------------------------------

    def _sync_rows(self, paths: set[Path], only: set[Path] | None = None) -> None:
        """Create, drop and refresh rows so they match the reader's known ``paths``."""
        for path in [p for p in self._rows if p not in paths]:
            del self._rows[path]
        for path in paths:
            if only is not None and path not in only and path in self._rows:
                continue
            entry = self.reader.entries.get(path)
            row = self._rows.get(path)
            file_pid = int(path.stem)
            proc_start = entry.proc_start if entry is not None else None
            if row is None:
                start = proc_start or read_proc_start(file_pid)
                row = _Row(
                    path=path,
                    file_pid=file_pid,
                    key=session_key("claude", file_pid, start),
                    proc_start=start,
                    alive=False,
                )
                self._rows[path] = row
            elif proc_start is not None and proc_start != row.proc_start:
                # The file now names another process start: a new identity.
                row.proc_start = proc_start
                row.key = session_key("claude", file_pid, proc_start)
            was_alive = row.alive
            row.alive = is_alive(file_pid, row.proc_start)
            if not row.alive:
                row.pane = None
            elif row.pane is None or not was_alive:
                row.pane = self._find_pane(row)
            if row.pane is not None:
                row.last_pane_id = (row.pane.server, row.pane.pane_id)
            if entry is not None and entry.session_id:
                row.session_id = row.session_id or entry.session_id
            if entry is not None and row.alive:
                self._sticky_name(row, entry)
            self._update_status(row, self._clock())

    def _sticky_name(self, row: _Row, entry: RegistryEntry) -> None:
        """Keep names set in sessiontui across ``--resume``, ``/clear`` and restarts.

        A new sessionId in the same process inherits the old one's name (when it has none of
        its own); a stored name is written into an entry whose name is automatic; a name the
        user set in Claude (``/rename``: no ``nameSource``) is adopted, never overwritten.
        """
        if self.names is None or not entry.session_id:
            return
        try:
            changed = row.session_id and row.session_id != entry.session_id
            if changed and self.names.get(entry.session_id) is None:
                assert row.session_id is not None
                self.names.alias(row.session_id, entry.session_id)
            row.session_id = entry.session_id
            wanted = self.names.reconcile(entry.session_id, entry.name, entry.name_source)
            if wanted is not None:
                write_name(row.path, wanted)
        except (ValueError, OSError, SessiontuiError):
            return  # a bad id or an unwritable file: the entry keeps its own name

    def _find_pane(self, row: _Row) -> PaneInfo | None:
        """Map a live row to its tmux pane with the backend's locate function."""
        if self._locate is None or not self._panes:
            return None
        return self._locate(row.file_pid, self._panes)

    def _update_status(self, row: _Row, now: float) -> None:
        """Apply SPEC 3 precedence: dead > registry status > CPU."""
        entry = self.reader.entries.get(row.path)
        if not row.alive:
            status = Status.DEAD
        elif (reg := registry_status(entry)) is not None:
            status = reg
        elif row.cpu_percent >= CPU_BUSY_PERCENT:
            status = Status.BUSY
        else:
            status = Status.IDLE if row.cpu_percent or entry is not None else Status.UNKNOWN
        if status is not row.status:
            row.status = status
            row.status_changed_at = now

    def _session(self, row: _Row, now: float) -> Session:
        """Build the immutable :class:`Session` for one row."""
        entry = self.reader.entries.get(row.path)
        unreadable = self.reader.problem(row.path)
        if not row.alive:
            source = StatusSource.PROCESS
        elif registry_status(entry) is not None:
            source = StatusSource.REGISTRY
        elif entry is not None or row.cpu_percent:
            source = StatusSource.CPU
        else:
            source = StatusSource.NONE
        mux = self._location(row.pane) if row.pane is not None else None
        kind = entry.kind if entry else None
        if mux is not None and mux.session_kind == "bg":
            kind = "bg"  # a tmux-hosted background session (SPEC 5)
        status_changed = row.status_changed_at
        if entry is not None and entry.status_updated_at_ms and row.status is not Status.DEAD:
            status_changed = entry.status_updated_at_ms / 1000.0
        return Session(
            key=row.key,
            pid=row.file_pid,
            agent="claude",
            name=_display_name(entry, row),
            status=row.status,
            status_source=source,
            alive=row.alive,
            session_id=entry.session_id if entry else None,
            kind=kind,
            cwd=entry.cwd if entry else None,
            waiting_for=entry.waiting_for if entry and row.status is Status.WAITING else None,
            started_at=entry.started_at_ms / 1000.0 if entry and entry.started_at_ms else None,
            updated_at=entry.updated_at_ms / 1000.0 if entry and entry.updated_at_ms else None,
            status_changed_at=status_changed,
            cpu_percent=row.cpu_percent,
            activity=self.activity.series(row.key, now),
            mux=mux,
            registry_path=row.path,
            version=entry.version if entry else None,
            job_id=entry.job_id if entry else None,
            unreadable=unreadable if entry is None or unreadable else None,
            extra=entry.extra if entry else {},
            proc_start=row.proc_start,
            health=self._pane_health(row.pane),
        )

    def _location(self, pane: PaneInfo) -> MuxLocation:
        """The :class:`MuxLocation` of a tmux pane from the last poll."""
        return MuxLocation(
            type="tmux",
            socket=pane.server,
            session_id=pane.session_id,
            session=pane.session_name,
            window=pane.window_index,
            pane=pane.pane_id,
            pane_index=pane.pane_index,
            attached_clients=pane.session_attached if pane.clients is None else pane.clients,
            panes_in_session=self._pane_counts.get((pane.server, pane.session_id), 1),
            session_kind=pane.session_kind,
        )

    def _bg_panes(self) -> list[PaneInfo]:
        """First pane of each tmux session marked ``@sessiontui-kind bg`` with no agent row.

        Such a session is listed even when its command writes no registry file; when an
        agent in it does, the agent's row stands for it instead (merged, SPEC 5).
        """
        with_agents = {
            (row.pane.server, row.pane.session_id)
            for row in self._rows.values()
            if row.pane and row.alive
        }
        first: dict[tuple[str, str], PaneInfo] = {}
        for pane in self._panes:
            where = (pane.server, pane.session_id)
            if pane.session_kind != "bg" or where in with_agents:
                continue
            first.setdefault(where, pane)
        return list(first.values())

    def _bg_session(self, pane: PaneInfo, now: float) -> Session:
        """A row for a tmux-hosted background session that has no registry entry."""
        key = _bg_key(pane)
        cpu = self._bg_cpu.get(pane.pane_pid, 0.0)
        status = Status.BUSY if cpu >= CPU_BUSY_PERCENT else Status.IDLE
        facts = self.processes.get(pane.pane_pid)
        started = cwd = None
        if facts is not None:
            with contextlib.suppress(psutil.Error, OSError):
                started = facts.create_time()
                cwd = facts.cwd()
        return Session(
            key=key,
            pid=pane.pane_pid,
            agent=pane.current_command or "tmux",
            name=pane.session_name,
            status=status,
            status_source=StatusSource.CPU,
            kind="bg",
            cwd=cwd,
            started_at=started,
            cpu_percent=cpu,
            activity=self.activity.series(key, now),
            mux=self._location(pane),
            health=self._pane_health(pane),
        )

    def _pane_health(self, pane: PaneInfo | None) -> str | None:
        """The health note of the server holding ``pane`` (``None`` when it answers)."""
        if pane is None or server_key(pane.server) not in self._unreachable:
            return None
        return UNREACHABLE

    def _resume_orphans(self) -> list[_Row]:
        """Dead rows that a live row replaced (a ``--resume`` orphan), to collapse (SPEC 3).

        A dead entry is collapsed into a live one when both claim the same pane (the dead one
        by the pane it was last seen in) or the same sessionId. Live rows are never hidden:
        two live agents in one pane (one suspended with ``ctrl+z``) are both shown.
        """
        live = [row for row in self._rows.values() if row.alive]
        live_panes = {(row.pane.server, row.pane.pane_id) for row in live if row.pane is not None}
        live_ids = {row.session_id for row in live if row.session_id}
        return [
            row
            for row in self._rows.values()
            if not row.alive
            and (
                (row.last_pane_id is not None and row.last_pane_id in live_panes)
                or (row.session_id is not None and row.session_id in live_ids)
            )
        ]

    def _fingerprint(self) -> tuple[object, ...]:
        """Everything a snapshot is built from, cheaply; equal means nothing to rebuild."""
        now = self._clock()
        rows = tuple(
            (
                row.key,
                row.alive,
                row.status,
                row.cpu_percent,
                row.pane,
                self.reader.entries.get(row.path),
                self.reader.problem(row.path),
            )
            for row in self._rows.values()
        )
        return (
            rows,
            self._panes,
            tuple(sorted(self._health.items())),
            self._unreachable,
            tuple(sorted(self._bg_cpu.items())),
            self.focused_pane,
            self.reader.directory_problem,
            self.activity.revision,
            self.activity.bucket(now),
            int(now // 30),  # ages shown in the UI move on
        )

    def build(self) -> Snapshot:
        """Build a new snapshot from the current state (sorted, orphans collapsed)."""
        now = self._clock()
        orphans = self._resume_orphans()
        sessions = [self._session(row, now) for row in self._rows.values() if row not in orphans]
        sessions += [self._bg_session(pane, now) for pane in self._bg_panes()]
        sessions.sort(key=_sort_key)
        if len({s.mux.socket for s in sessions if s.mux is not None}) > 1:
            sessions = [
                replace(s, mux=replace(s.mux, show_server=True)) if s.mux is not None else s
                for s in sessions
            ]
        messages = []
        if self.reader.directory_problem:
            messages.append(self.reader.directory_problem)
        messages += [self._health[server] for server in sorted(self._health)]
        self.activity.forget({s.key for s in sessions})
        return Snapshot(
            sessions=tuple(sessions),
            taken_at=now,
            tmux_ok=not self._health,
            messages=tuple(messages),
            focused_pane=self.focused_pane,
        )

    def publish(self) -> SnapshotChange:
        """Build a snapshot, diff it against the last one and notify subscribers if changed.

        Returns:
            The change (possibly empty; subscribers are not called for an empty change unless
            the messages or tmux state changed).
        """
        fingerprint = self._fingerprint()
        if fingerprint == self._last_fingerprint:
            return SnapshotChange(snapshot=self._snapshot)
        self._last_fingerprint = fingerprint
        new = self.build()
        change = diff(self._snapshot, new)
        meta_changed = (new.messages, new.tmux_ok, new.focused_pane) != (
            self._snapshot.messages,
            self._snapshot.tmux_ok,
            self._snapshot.focused_pane,
        )
        order_changed = [s.key for s in new.sessions] != [s.key for s in self._snapshot.sessions]
        if change.empty and not meta_changed and not order_changed:
            return change
        self._snapshot = new
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            callback(change)
        return change


def _bg_key(pane: PaneInfo) -> str:
    """Identity of a tmux-hosted background session row: server, session and pane PID."""
    return f"tmux:{pane.server}:{pane.session_id}:{pane.pane_pid}"


def _display_name(entry: RegistryEntry | None, row: _Row) -> str:
    """The name to show: the registry ``name``, else the cwd's last part, else the file name."""
    if entry is not None and entry.name:
        return entry.name
    if entry is not None and entry.cwd:
        return entry.cwd.rstrip("/").rsplit("/", 1)[-1] or entry.cwd
    return row.path.name


def _sort_key(session: Session) -> tuple[int, float, str]:
    """Waiting → busy → idle → unknown → dead; within a status the latest change first."""
    return (session.status.sort_rank, -(session.status_changed_at or 0.0), session.key)


def diff(old: Snapshot, new: Snapshot) -> SnapshotChange:
    """Return what changed from ``old`` to ``new`` (keys added, changed, removed)."""
    old_by_key = {s.key: s for s in old.sessions}
    new_by_key = {s.key: s for s in new.sessions}
    added = frozenset(new_by_key.keys() - old_by_key.keys())
    removed = frozenset(old_by_key.keys() - new_by_key.keys())
    changed = frozenset(
        key for key in new_by_key.keys() & old_by_key.keys() if new_by_key[key] != old_by_key[key]
    )
    return SnapshotChange(snapshot=new, added=added, changed=changed, removed=removed)
