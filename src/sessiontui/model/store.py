"""Merges the registry, process, tmux, transcript and Codex sources into snapshots; diffs them."""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from sessiontui.errors import SessiontuiError
from sessiontui.model.activity import ActivityTracker
from sessiontui.model.codex import BUCKET_S as CODEX_BUCKET_S
from sessiontui.model.job_state import JobStateReader, state_path
from sessiontui.model.muxset import UNREACHABLE, server_key
from sessiontui.model.names import name_to_apply
from sessiontui.model.processes import (
    ProcessTable,
    foreign_pid_domain,
    is_alive,
    parent_chain,
    read_proc_start,
    running_pids,
)
from sessiontui.model.registries import RegistrySet
from sessiontui.model.registry import RegistryReader, write_name
from sessiontui.model.types import (
    JobState,
    MuxLocation,
    PaneInfo,
    RegistryEntry,
    Session,
    Snapshot,
    SnapshotChange,
    Status,
    StatusSource,
    with_changes,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from sessiontui.model.codex import CodexSession, CodexSource
    from sessiontui.model.exits import ExitWatcher
    from sessiontui.model.names import NameStore
    from sessiontui.model.transcripts import TranscriptFacts, TranscriptTracker

#: Health note and status reason of a row whose ``pidDomain`` is not this machine's PID
#: namespace (SPEC 2.1): its PID is not looked at here.
FOREIGN_PID = "written on another machine or in another PID namespace: its PID is not checked"

#: CPU use (percent of one core) above which a session without a registry status is busy.
CPU_BUSY_PERCENT = 5.0

#: Idle rows (not busy, CPU under :data:`CPU_BUSY_PERCENT`, status from the registry, exit
#: watched by a pidfd) are sampled only on every this many samples (30 s at the default 2 s,
#: 60 s while every row is idle and the monitor samples every 4 s: an idle row's CPU column
#: lags; its status comes from the registry); busy rows, and rows whose status or liveness
#: depends on sampling, on every sample.
IDLE_SAMPLE_EVERY = 15

#: A sync that adds more new rows than this lists ``/proc`` once (:func:`running_pids`)
#: instead of asking the kernel about each PID (10,000 stale files at start-up).
RUNNING_PIDS_AFTER = 64

#: On an unchanged registry directory, files of settled (dead) rows are ``lstat``-ed only on
#: every this many rescans (two minutes at the default 10 s); watcher events cover them anyway.
SETTLED_RESTAT_EVERY = 12

#: Seconds a session's transcript facts stay unshown when only their slow part changed (output
#: totals, activity buckets, last activity; not :attr:`TranscriptFacts.headline`): an agent at
#: work writes records many times a second, and each shown change costs a snapshot and a repaint.
TRANSCRIPT_SLOW_S = 2.0


@dataclass(eq=False, init=False)
class _Row:
    """Mutable per-file state kept between snapshots (worker thread only).

    Assigning a different value to any field sets ``dirty`` and adds the row's path to
    ``sink`` (the store's set of touched rows): the next :meth:`SessionStore.build` rebuilds
    this row's :class:`Session`; untouched rows reuse the last one, and untouched settled rows
    (dead from the start) are not even visited.

    No ``__slots__``: the defaults stay class attributes, so a new row (10,000 are made at
    start-up) stores only what differs from them, in one ``__dict__`` update.
    """

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
    last_pane_id: tuple[str, str] | None = None  # (server, %N) of the pane it was last seen in
    entry: RegistryEntry | None = None  # the registry entry the row was last synced with
    name_override: str | None = None  # a sticky name shown but not written (read-only mode)
    transcript: TranscriptFacts | None = None  # the transcript's facts (live rows only)
    job: JobState | None = None  # the background job's state.json (jobId or parkedJobId)
    foreign: str | None = None  # its pidDomain when another machine's or PID namespace's
    dirty: bool = True
    sink: set[Path] | None = field(default=None, repr=False)

    def __init__(
        self, *, path: Path, file_pid: int, key: str, proc_start: str | None, alive: bool
    ) -> None:
        # Bypasses __setattr__: a new row is dirty anyway, and it is not cheap.
        self.__dict__.update(
            path=path, file_pid=file_pid, key=key, proc_start=proc_start, alive=alive
        )

    def __setattr__(self, name: str, value: object) -> None:
        # A dirty row is already in its sink (build() cleans what it takes from the sink).
        if not self.dirty and name not in ("dirty", "sink") and getattr(self, name) != value:
            object.__setattr__(self, "dirty", True)
            if self.sink is not None:
                self.sink.add(self.path)
        object.__setattr__(self, name, value)


def session_key(agent: str, pid: int, proc_start: str | None) -> str:
    """Return the stable identity ``"<agent>:<pid>:<start>"`` of an agent process.

    ``proc_start`` is the process start time in the registry's ``procStart`` format, or the one
    read from ``/proc`` when the registry has none; ``"-"`` when unknown.
    """
    return f"{agent}:{pid}:{proc_start or '-'}"


def row_key(path: Path, file_pid: int, proc_start: str | None) -> str:
    """Return the session key of the registry file ``path``: unique per file.

    The canonical ``<pid>.json`` gets :func:`session_key`; any other spelling of the same
    PID (``050001.json`` beside ``50001.json``, SPEC 8) gets that key plus ``"@<file name>"``,
    so two files for one process are two rows, never two rows with one key.
    """
    key = session_key("claude", file_pid, proc_start)
    return key if path.name == f"{file_pid}.json" else f"{key}@{path.name}"


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
        sessions_dir: The registry directory (``<claude base>/sessions``), or several (read as
            one by a :class:`~sessiontui.model.registries.RegistrySet`).
        clock: Wall-clock time in seconds since the epoch (injected so tests can freeze it).
        activity: Activity tracker (injected for custom bucket sizes).
        names: Names set in sessiontui, re-applied to entries whose name is automatic.
        read_only: Never write a file (one-shot listings, SPEC 3 "listing never writes"): a
            stored name is shown instead of being written into an entry with an automatic
            name, and names the user set in Claude are not adopted into the names file.
        transcripts: Registry directory → the :class:`TranscriptTracker` of its Claude base
            (``<base>/sessions`` → ``<base>/projects``); live Claude rows of a directory with
            a tracker get tokens, context, activity and a fallback status from their
            transcript (SPEC 2.2). Dead and settled rows are never tracked.
        codex: The Codex source (SPEC 2.3), scanned on every :meth:`sample`; ``None``: no
            Codex rows.
        exits: Reports the exit of live agents at once (pidfds); the owner passes the PIDs
            it reports to :meth:`processes_exited`. ``None``: liveness is only polled (each
            :meth:`sample` then checks every live row).
    """

    def __init__(
        self,
        sessions_dir: Path | Sequence[Path],
        *,
        clock: Callable[[], float],
        activity: ActivityTracker | None = None,
        names: NameStore | None = None,
        read_only: bool = False,
        transcripts: Mapping[Path, TranscriptTracker] | None = None,
        codex: CodexSource | None = None,
        exits: ExitWatcher | None = None,
    ) -> None:
        dirs = [sessions_dir] if isinstance(sessions_dir, Path) else list(sessions_dir)
        self.sessions_dir = dirs[0]
        self.read_only = read_only
        self._clock = clock
        self.reader: RegistryReader | RegistrySet = (
            RegistryReader(dirs[0]) if len(dirs) == 1 else RegistrySet(dirs)
        )
        # Off Linux the parent→children map scans every process on the machine; rebuilding it
        # every 10 s (not every sample) keeps idle CPU low; new children count within 10 s.
        self.processes = ProcessTable(tree_ttl_s=10.0)
        self.activity = activity or ActivityTracker()
        self.names = names
        self._rows: dict[Path, _Row] = {}
        # (pid, procStart) pairs seen dead: a process that ended never comes back, so 10,000
        # stale files cost one liveness check each, not one per rescan.
        self._dead: set[tuple[int, str]] = set()
        # Incremental build (see build()): rows touched since the last build, rows that must
        # be looked at in every build (alive, in a pane, with history, failing reads), and
        # the settled rest (dead since first seen) kept pre-sorted.
        self._touched: set[Path] = set()
        self._active: set[Path] = set()
        self._built: dict[Path, Session] = {}  # the last Session built per row
        self._settled: dict[Path, Session] = {}
        self._tail: list[Session] = []  # settled sessions, sorted, orphans left out
        self._tail_keys: list[tuple[int, float, str]] = []
        self._orphans: set[Path] = set()
        self._orphan_basis: tuple[frozenset[tuple[str, str]], frozenset[str]] | None = None
        self._rescans = 0
        # (tail, head length) of the last built snapshot when it is "head + settled tail",
        # letting publish() diff only the heads when the tail is the same list.
        self._shape: tuple[list[Session], int] | None = None
        self._published_shape: tuple[list[Session], int] | None = None
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
        self.transcripts: dict[Path, TranscriptTracker] = dict(transcripts or {})
        """Registry directory → its transcript tracker."""
        self.transcript_slow_s = TRANSCRIPT_SLOW_S
        """Seconds slow-only transcript changes of one session are held (see
        :meth:`refresh_transcript`)."""
        self._facts_shown_at: dict[str, float] = {}  # row key -> monotonic s facts were shown
        self._facts_held: set[str] = set()  # row keys whose newer (slow-only) facts wait
        self.codex = codex
        self._codex_sessions: tuple[CodexSession, ...] = ()
        self.codex_sessions: dict[str, CodexSession] = {}
        """Codex sessions of the last scan, by session key (kill uses their targets)."""
        self._codex_status: dict[str, tuple[Status, float]] = {}  # key -> (status, changed at)
        self._codex_problem: str | None = None
        self._names_revision = 0
        self.exits = exits
        self._samples = 0
        self.job_states = JobStateReader()
        """Reads background jobs' ``state.json`` (SPEC 2.1) for rows with a job id."""
        self.include_spare = False
        """Also list pre-warmed workers (registry ``spare: true``); ``ls --all`` sets it."""

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
        """Re-scan the registry directory; re-sync changed files and every possibly live row.

        Rows of files that did not change and whose process is known dead are left alone:
        a dead ``(pid, procStart)`` stays dead.
        """
        self._rescans += 1
        # Settled files (dead processes) are only lstat-ed on every SETTLED_RESTAT_EVERY-th
        # rescan when the directory is unchanged; events still report their changes at once.
        full = self._rescans % SETTLED_RESTAT_EVERY == 0
        changed = self.reader.scan(skip_quiet=not full)
        recheck = self._active | self._touched
        if self.reader.file_count != len(self._rows) or not changed <= self._rows.keys():
            self._sync_rows(self.reader.paths(), only=changed | recheck)
        else:
            self._sync_known(changed | recheck)

    def _alive(self, pid: int, proc_start: str | None) -> bool:
        """:func:`is_alive`, remembering dead ``(pid, procStart)`` pairs."""
        if proc_start and (pid, proc_start) in self._dead:
            return False
        alive = is_alive(pid, proc_start)
        if not alive and proc_start:
            self._dead.add((pid, proc_start))
        return alive

    def refresh_paths(self, paths: Iterable[Path]) -> None:
        """Re-read the given registry files (from watcher events)."""
        wanted = set(paths)
        for path in wanted:
            self.reader.refresh(path)
        if self.reader.file_count != len(self._rows) or not wanted <= self._rows.keys():
            self._sync_rows(self.reader.paths(), only=wanted)
        else:
            self._sync_known(wanted)

    def _sync_known(self, paths: set[Path]) -> None:
        """:meth:`_sync_rows` for known paths only (no file appeared or went away)."""
        self._sync_rows(paths, only=paths, drop=False)

    def sample(self) -> None:
        """Sample CPU for live sessions and feed the activity history (every few seconds).

        Also polls the transcripts of live Claude rows (new lines, late files, quiet
        ``tool_use`` tails turning ``waiting``) and scans the Codex source.
        """
        now = self._clock()
        self._samples += 1
        every = self._samples % IDLE_SAMPLE_EVERY == 1  # the first sample visits every row
        changed: set[str] = set()
        for tracker in self.transcripts.values():
            changed |= tracker.refresh()
        self.scan_codex()
        for path in self._active | self._touched:
            row = self._rows.get(path)
            if row is None or (not row.alive and not self.activity.knows(row.key)):
                continue  # dead since first seen: nothing to sample, no history to extend
            if row.alive and row.entry is not None:
                row.job = self._job_state(row)  # one lstat when unchanged
            if not every and not self._needs_sampling(row) and row.key not in changed:
                continue  # idle, exit watched: its CPU is read every IDLE_SAMPLE_EVERY samples
            if row.alive and not self._alive(row.file_pid, row.proc_start):
                row.alive, row.pane = False, None  # SIGKILLed: seen here, not at the rescan
                self._untrack(row)
            if row.alive and row.key in changed and (follower := self._tracker(row)):
                self._take_facts(row, follower.facts(row.key))
            if row.alive:
                row.cpu_percent = round(self.processes.cpu_percent(row.file_pid))
            else:
                row.cpu_percent = 0.0
            self._update_status(row, now)
            self.activity.record(row.key, now, row.status, row.cpu_percent)
        panes = [pane for pane in self._bg_panes() if not pane.exited]  # exited: nothing runs
        self._bg_cpu = {
            p.pane_pid: self._bg_cpu[p.pane_pid] for p in panes if p.pane_pid in self._bg_cpu
        }
        for pane in panes:
            if not every and self._bg_cpu.get(pane.pane_pid, 0.0) < CPU_BUSY_PERCENT:
                continue  # an idle background pane: tmux reports its end, CPU every 30 s
            cpu = float(round(self.processes.cpu_percent(pane.pane_pid)))
            self._bg_cpu[pane.pane_pid] = cpu
            key = _bg_key(pane)
            status = Status.BUSY if cpu >= CPU_BUSY_PERCENT else Status.IDLE
            self.activity.record(key, now, status, cpu)
        if every:
            keep = [row.file_pid for row in self._live_rows()]
            self.processes.prune([*keep, *(pane.pane_pid for pane in panes)])

    def wants_fast_sampling(self) -> bool:
        """True while a sample every ``sample_s`` matters (else the monitor samples less often).

        That is while a live row needs sampling (:meth:`_needs_sampling`: busy, using CPU,
        status or liveness from sampling), a background pane is busy, or a Codex session is
        listed (its status comes from rollout lines read at each scan).
        """
        if self._codex_sessions or any(c >= CPU_BUSY_PERCENT for c in self._bg_cpu.values()):
            return True
        return any(self._needs_sampling(row) for row in self._live_rows())

    def _needs_sampling(self, row: _Row) -> bool:
        """True for a row sampled on every :meth:`sample`, not only every IDLE_SAMPLE_EVERY.

        That is a row that is busy or uses CPU, whose status comes from sampling (no registry
        status), or whose exit is not reported by :attr:`exits` (liveness is polled).
        """
        if not row.alive:
            return False
        if row.status is Status.BUSY or row.cpu_percent >= CPU_BUSY_PERCENT:
            return True
        if registry_status(self.reader.entry(row.path)) is None:
            return True
        return self.exits is None or not self.exits.watch(row.file_pid, row.proc_start)

    def watch_exits(self) -> None:
        """Ask :attr:`exits` to report the exit of every live row (once it runs)."""
        if self.exits is not None:
            for row in self._live_rows():
                self.exits.watch(row.file_pid, row.proc_start)

    def processes_exited(self, pids: Iterable[int]) -> None:
        """Mark the live rows of processes that ended (reported by :attr:`exits`) dead now.

        Each row's liveness is checked again (the report is a hint, never trusted alone).
        """
        ended = set(pids)
        now = self._clock()
        for row in self._live_rows():
            if row.file_pid in ended and not self._alive(row.file_pid, row.proc_start):
                row.alive, row.pane, row.cpu_percent = False, None, 0.0
                self._untrack(row)
                self._update_status(row, now)
                self.activity.record(row.key, now, row.status, 0.0)

    def refresh_transcript(self, path: Path) -> bool:
        """Read a transcript after a watcher event; return True when a row's facts changed.

        A change of the facts' :attr:`~TranscriptFacts.headline` (status, context percent,
        model, ...) reaches the row at once; a change of only the rest at most once every
        :attr:`transcript_slow_s` per session (the first one at once, later ones are held until
        :meth:`flush_transcripts`).
        """
        return self._refresh_transcript(path, {})[0]

    def refresh_transcripts(self, paths: Iterable[Path]) -> dict[Path, bool]:
        """Read several transcripts like :meth:`refresh_transcript` (one batch of work).

        Returns:
            For each path some session follows (after the read): whether the read consumed
            new bytes (the file grew, or was rewritten and read again). Paths no session
            follows are left out.
        """
        rows: dict[str, _Row] = {}
        return {
            path: grew
            for path in paths
            if (grew := self._refresh_transcript(path, rows)[1]) is not None
        }

    def _refresh_transcript(self, path: Path, rows: dict[str, _Row]) -> tuple[bool, bool | None]:
        """Read ``path``; return (a row's facts changed, the read moved the offset or None).

        Args:
            path: The transcript.
            rows: Live rows by key, filled on first need (shared by one batch of reads).
        """
        changed = False
        grew: bool | None = None
        for tracker in self.transcripts.values():
            before = tracker.offset(path)
            updated = tracker.update(path)
            after = tracker.offset(path)
            if after is not None:
                grew = bool(grew) or after != before
            if not updated:
                continue
            if not rows:
                rows.update((row.key, row) for row in self._live_rows())
            for key in tracker.keys_for(path):
                row = rows.get(key)
                if row is not None:
                    changed = self._take_facts(row, tracker.facts(key)) or changed
        return changed, grew

    def transcripts_held_s(self) -> float | None:
        """Seconds until held transcript facts are due (0.0: now), or None when none are held.

        The monitor's worker waits at most this long before calling :meth:`flush_transcripts`.
        """
        if not self._facts_held:
            return None
        due = min(self._facts_shown_at.get(key, 0.0) for key in self._facts_held)
        return max(0.0, due + self.transcript_slow_s - time.monotonic())

    def flush_transcripts(self) -> bool:
        """Show the held transcript facts that are due; return True when a row changed."""
        if not self._facts_held:
            return False
        now = time.monotonic()
        due = {
            key
            for key in self._facts_held
            if now >= self._facts_shown_at.get(key, 0.0) + self.transcript_slow_s
        }
        if not due:
            return False
        self._facts_held -= due
        changed = False
        for row in self._live_rows():
            if row.key in due and (tracker := self._tracker(row)) is not None:
                self._show_facts(row, tracker.facts(row.key))
                changed = True
        return changed

    def _take_facts(self, row: _Row, facts: TranscriptFacts | None) -> bool:
        """Show ``facts`` on ``row`` now, or hold them (see :meth:`refresh_transcript`).

        Returns:
            True when the row now shows them.
        """
        shown = row.transcript
        if (
            shown is not None
            and facts is not None
            and shown.headline == facts.headline
            and time.monotonic() < self._facts_shown_at.get(row.key, 0.0) + self.transcript_slow_s
        ):
            self._facts_held.add(row.key)
            return False
        self._show_facts(row, facts)
        return True

    def _show_facts(self, row: _Row, facts: TranscriptFacts | None) -> None:
        """Give ``row`` the transcript ``facts`` (its status follows) and note when."""
        self._facts_held.discard(row.key)
        if facts is None:
            self._facts_shown_at.pop(row.key, None)
        else:
            self._facts_shown_at[row.key] = time.monotonic()
        row.transcript = facts
        self._update_status(row, self._clock())

    def transcript_folders(self) -> set[Path]:
        """Project folders of every followed transcript (to watch for ``*.jsonl`` changes)."""
        out: set[Path] = set()
        for tracker in self.transcripts.values():
            out |= tracker.folders()
        return out

    def transcript_paths_in(self, folder: Path) -> set[Path] | None:
        """The followed transcripts in project folder ``folder``.

        Returns:
            Their paths, or None when a session of that folder has no transcript yet.
        """
        out: set[Path] = set()
        for tracker in self.transcripts.values():
            paths = tracker.paths_in(folder)
            if paths is None:
                return None
            out |= paths
        return out

    def names_changed(self) -> None:
        """Note that the names file changed (a Codex rename): rebuild the rows that read it.

        Safe from any thread: the next publish sees a new revision (an int store).
        """
        self._names_revision += 1

    def scan_codex(self) -> None:
        """Scan the Codex source (processes, new rollout lines); problems become a message."""
        if self.codex is None:
            return
        try:
            found = tuple(self.codex.scan())
        except (OSError, psutil.Error) as error:
            self._codex_problem = f"Codex: scan failed: {error}"
            return
        self._codex_problem = None
        if found != self._codex_sessions:
            self._codex_sessions = found
            self.codex_sessions = {s.key: s for s in found}

    def _live_rows(self) -> list[_Row]:
        """The rows whose process is alive (they are never settled)."""
        rows = (self._rows.get(path) for path in self._active | self._touched)
        return [row for row in rows if row is not None and row.alive]

    def take_new_unmapped(self) -> bool:
        """True once for each batch of new live sessions that have no pane yet.

        A new agent in a new tmux pane is not in the last poll's pane list; the caller then
        polls tmux once instead of waiting for the periodic poll. Sessions outside tmux are
        asked about only once, so they never cause repeated polls.
        """
        found = False
        for row in self._live_rows():
            if row.pane is None and not row.pane_polled:
                row.pane_polled = True
                found = True
        return found and self._locate is not None

    # -- merging ------------------------------------------------------------------------

    def _sync_rows(
        self, paths: set[Path], only: set[Path] | None = None, *, drop: bool = True
    ) -> None:
        """Create, drop and refresh rows so they match the reader's known ``paths``.

        With ``only``, rows of other paths that already exist are left as they are (only new
        paths are added besides), so a watcher event costs its own files, not every row.
        """
        if drop:
            for path in [p for p in self._rows if p not in paths]:
                self._untrack(self._rows.pop(path))
                self._touched.add(path)
        rows = self._rows
        # Not ``paths - rows.keys()``: that makes a set of every row's path (10,000 hashes).
        todo = paths if only is None else (only & paths) | {p for p in paths if p not in rows}
        now = self._clock()
        # Taken after the reads: an agent whose file was read, if alive, is in it.
        running = running_pids() if len(todo) - len(rows) > RUNNING_PIDS_AFTER else None
        for path in todo:
            entry = self.reader.entry(path)
            row = self._rows.get(path)
            file_pid = entry.file_pid if entry is not None else int(path.name[: -len(".json")])
            proc_start = entry.proc_start if entry is not None else None
            if row is None:
                start = proc_start or read_proc_start(file_pid)
                row = _Row(
                    path=path,
                    file_pid=file_pid,
                    key=row_key(path, file_pid, start),
                    proc_start=start,
                    alive=False,
                )
                self._touched.add(path)
                self._rows[path] = row
                if self._add_stale(row, entry, now, running):
                    continue
                row.sink = self._touched
            elif proc_start is not None and proc_start != row.proc_start:
                # The file now names another process start: a new identity.
                self._untrack(row)
                row.proc_start = proc_start
                row.key = row_key(path, file_pid, proc_start)
            row.entry = entry
            was_alive = row.alive
            row.foreign = foreign_pid_domain(entry.extra) if entry is not None else None
            # A foreign PID means nothing here: never checked (nor watched, nor signalled).
            row.alive = row.foreign is None and self._alive(file_pid, row.proc_start)
            if self.exits is not None and row.alive:
                self.exits.watch(file_pid, row.proc_start)
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
            row.job = self._job_state(row)
            self._track(row, entry)
            self._update_status(row, now)

    def _add_stale(
        self, row: _Row, entry: RegistryEntry | None, now: float, running: frozenset[int] | None
    ) -> bool:
        """Fill in a new row whose process is verifiably dead (a stale file); else do nothing.

        The start-up path for thousands of stale files: what :meth:`_sync_rows` would set,
        stored without the change tracking a new (dirty) row does not need.

        Args:
            row: The new row.
            entry: Its registry entry, or ``None`` (unreadable).
            now: The store's clock.
            running: :func:`running_pids` taken after the file was read, or ``None``: a PID
                not in it is dead without asking the kernel.

        Returns:
            True when the row was filled in (dead, not foreign); False to sync it in full.
        """
        if entry is not None and foreign_pid_domain(entry.extra) is not None:
            return False
        if running is not None and row.file_pid not in running:
            if row.proc_start:
                self._dead.add((row.file_pid, row.proc_start))
        elif self._alive(row.file_pid, row.proc_start):
            return False
        fields = row.__dict__  # no change tracking: the new row is dirty
        fields.update(entry=entry, status=Status.DEAD, status_changed_at=now, sink=self._touched)
        if entry is not None and entry.session_id:
            fields["session_id"] = entry.session_id
        fields["job"] = self._job_state(row)
        return True

    def _tracker(self, row: _Row) -> TranscriptTracker | None:
        """The transcript tracker of the row's registry directory, if any."""
        return self.transcripts.get(row.path.parent) if self.transcripts else None

    def _track(self, row: _Row, entry: RegistryEntry | None) -> None:
        """Follow a live row's transcript (cheap when unchanged); stop for a dead one."""
        tracker = self._tracker(row)
        if tracker is None:
            return
        if not row.alive or entry is None:
            self._untrack(row)
            return
        tracker.track(
            row.key,
            cwd=entry.cwd,
            session_id=entry.session_id,
            started_at_ms=entry.started_at_ms,
        )
        facts = tracker.facts(row.key)
        if facts is not row.transcript or row.key in self._facts_held:
            self._show_facts(row, facts)

    def _untrack(self, row: _Row) -> None:
        """Stop following the row's transcript and drop its facts."""
        tracker = self._tracker(row)
        if tracker is not None:
            tracker.forget(row.key)
        self._facts_held.discard(row.key)
        self._facts_shown_at.pop(row.key, None)
        row.transcript = None

    def _sticky_name(self, row: _Row, entry: RegistryEntry) -> None:
        """Keep names set in sessiontui across ``--resume``, ``/clear`` and restarts.

        A new sessionId in the same process inherits the old one's name (when it has none of
        its own); a stored name is written into an entry whose name is automatic; a name the
        user set in Claude (``/rename``: no ``nameSource``) is adopted, never overwritten.
        """
        if self.names is None or not entry.session_id:
            return
        if self.read_only:  # show what would stick, write nothing
            stored = self.names.get(entry.session_id)
            row.name_override = name_to_apply(entry.name, entry.name_source, stored)
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

    def _job_state(self, row: _Row) -> JobState | None:
        """The ``state.json`` of the row's background job (``jobId``, else ``parkedJobId``).

        Read from ``<base>/jobs/<id>/`` beside the row's registry directory; ``None`` when
        the entry names no valid job id or the file does not exist.
        """
        entry = row.entry
        job_id = entry.job_id or entry.parked_job_id if entry is not None else None
        if not job_id:
            return None
        path = state_path(row.path.parent.parent, job_id)
        return None if path is None else self.job_states.read(path)

    def _find_pane(self, row: _Row) -> PaneInfo | None:
        """Map a live row to its pane: the registry's ``tmux`` hint first, then locate.

        The hint (``session:@window.%pane``, Claude Code 2.1.3xx) names no server and is
        never trusted alone: a pane with that id is taken only when its ``pane_pid`` is the
        agent or its nearest ancestor that holds a pane (pane PIDs are unique on the
        machine, so this also picks the server; see :meth:`_hinted_pane`). Otherwise the
        backend's locate function decides (SPEC 2.4).
        """
        if not self._panes:
            return None
        hinted = self._hinted_pane(row)
        if hinted is not None:
            return hinted
        if self._locate is None:
            return None
        return self._locate(row.file_pid, self._panes)

    def _hinted_pane(self, row: _Row) -> PaneInfo | None:
        """The pane the entry's ``tmux`` field names, if the agent verifiably runs in it.

        Verified: walking from the agent up its parents, the first process that is the
        ``pane_pid`` of any pane in the poll (tmux or Zellij) is that pane's. So a Zellij
        session started from a tmux pane (its agents inherit ``TMUX``/``TMUX_PANE``, and so
        Claude's ``tmux`` field names the outer pane) is left to locate: the innermost
        multiplexer wins, as in :meth:`~sessiontui.model.muxset.MuxSet.locate`.
        """
        pane_id = row.entry.tmux_pane if row.entry is not None else None
        if pane_id is None:
            return None
        hinted = [
            pane
            for pane in self._panes
            if pane.mux_type == "tmux" and pane.pane_id == pane_id and not pane.exited
        ]
        if not hinted:
            return None
        by_pid = {pane.pane_pid: pane for pane in self._panes if pane.pane_pid > 0}
        for pid in (row.file_pid, *parent_chain(row.file_pid)):
            nearest = by_pid.get(pid)
            if nearest is not None:
                return nearest if nearest in hinted else None
        return None

    def _update_status(self, row: _Row, now: float) -> None:
        """Apply SPEC 3 precedence: dead > registry status > transcript tail > CPU."""
        entry = self.reader.entry(row.path)
        if row.foreign is not None:
            status = Status.UNKNOWN  # neither alive nor dead as far as this machine can tell
        elif not row.alive:
            status = Status.DEAD
        elif (reg := registry_status(entry)) is not None:
            status = reg
        elif row.transcript is not None and row.transcript.status is not None:
            status = row.transcript.status
        elif row.cpu_percent >= CPU_BUSY_PERCENT:
            status = Status.BUSY
        else:
            status = Status.IDLE if row.cpu_percent or entry is not None else Status.UNKNOWN
        if status is not row.status:
            row.status = status
            row.status_changed_at = now

    def _session(self, row: _Row, now: float) -> Session:
        """Build the immutable :class:`Session` for one row."""
        entry = self.reader.entry(row.path)
        unreadable = self.reader.problem(row.path)
        if row.foreign is not None:
            source = StatusSource.NONE
        elif not row.alive:
            source = StatusSource.PROCESS
        elif registry_status(entry) is not None:
            source = StatusSource.REGISTRY
        elif row.transcript is not None and row.transcript.status is not None:
            source = StatusSource.TRANSCRIPT
        elif entry is not None or row.cpu_percent:
            source = StatusSource.CPU
        else:
            source = StatusSource.NONE
        mux = self._location(row.pane) if row.pane is not None else None
        kind = entry.kind if entry else None
        if mux is not None and mux.session_kind == "bg":
            kind = "bg"  # a tmux-hosted background session (SPEC 5)
        status_changed = row.status_changed_at
        if (
            entry is not None
            and entry.status_updated_at_ms
            and row.status is not Status.DEAD
            and source is StatusSource.REGISTRY
        ):
            status_changed = entry.status_updated_at_ms / 1000.0
        facts = row.transcript
        series = activity = self.activity.series(row.key, now)
        scale: int | None = None
        if facts is not None and facts.exists:
            activity, scale = normalize(facts.series(now, len(activity) or None))
        session = Session(
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
            activity=series,
            mux=mux,
            registry_path=row.path,
            version=entry.version if entry else None,
            job_id=entry.job_id if entry else None,
            unreadable=unreadable if entry is None or unreadable else None,
            extra=entry.extra if entry else {},
            proc_start=row.proc_start,
            health=FOREIGN_PID if row.foreign is not None else self._pane_health(row.pane),
            status_why=FOREIGN_PID if row.foreign is not None else None,
            spare=entry.spare if entry else False,
            parked_job_id=entry.parked_job_id if entry else None,
            former_names=entry.former_names if entry else (),
            job=row.job,
            subagents=row.job.running_tasks if row.job and row.job.problem is None else None,
        )
        if facts is None:
            return session
        return with_changes(
            session,
            status_why=facts.status_reason if source is StatusSource.TRANSCRIPT else None,
            activity=activity,
            activity_scale=scale,
            tokens_output=facts.output_tokens,
            context_used=facts.context_used,
            context_window=facts.context_window,
            model=facts.model,
            last_activity_at=facts.last_activity_at,
            last_prompt=facts.last_prompt,
            turns=facts.turns,
            transcript_path=facts.path,
        )

    def _location(self, pane: PaneInfo) -> MuxLocation:
        """The :class:`MuxLocation` of a tmux pane from the last poll."""
        return MuxLocation(
            type=pane.mux_type,
            socket=pane.server,
            session_id=pane.session_id,
            session=pane.session_name,
            window=pane.window_index,
            pane=pane.pane_id,
            pane_index=pane.pane_index,
            attached_clients=pane.session_attached if pane.clients is None else pane.clients,
            panes_in_session=self._pane_counts.get((pane.server, pane.session_id), 1),
            session_kind=pane.session_kind,
            exited=pane.exited,
        )

    def _bg_panes(self) -> list[PaneInfo]:
        """First pane of each background session sessiontui made, with no agent row.

        (tmux: marked ``@sessiontui-kind bg``; Zellij: remembered in its state file.) Such
        a session is listed even when its command writes no registry file; when an agent in
        it does, the agent's row stands for it instead (merged, SPEC 5). An exited Zellij
        session of ours comes as one pane-less ``exited`` entry: a dead row.
        """
        with_agents = {
            (row.pane.server, row.pane.session_id)
            for row in self._rows.values()
            if row.pane and row.alive
        }
        for codex in self._codex_sessions:
            pane = self._codex_pane(codex)
            if pane is not None:
                with_agents.add((pane.server, pane.session_id))
        first: dict[tuple[str, str], PaneInfo] = {}
        for pane in self._panes:
            where = (pane.server, pane.session_id)
            if pane.session_kind != "bg" or where in with_agents:
                continue
            first.setdefault(where, pane)
        return list(first.values())

    def _bg_session(self, pane: PaneInfo, now: float) -> Session:
        """A row for a tmux-hosted background session that has no registry entry.

        A Zellij session of ours that has exited (kept for resurrection) is a dead row
        with its place and no process.
        """
        key = _bg_key(pane)
        if pane.exited:
            return Session(
                key=key,
                pid=0,
                agent=pane.mux_type,
                name=pane.session_name,
                status=Status.DEAD,
                status_source=StatusSource.NONE,
                alive=False,
                kind="bg",
                mux=self._location(pane),
                health=self._pane_health(pane),
            )
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

    def _codex_pane(self, codex: CodexSession) -> PaneInfo | None:
        """The pane the Codex TUI runs in (by its PID, like any agent), or ``None``."""
        if codex.pid is None or self._locate is None or not self._panes:
            return None
        return self._locate(codex.pid, self._panes)

    def _codex_rows(self, now: float) -> list[Session]:
        """One :class:`Session` per Codex session of the last scan (SPEC 2.3)."""
        out: list[Session] = []
        seen: set[str] = set()
        for codex in self._codex_sessions:
            seen.add(codex.key)
            pane = self._codex_pane(codex)
            decided = codex.status(pane.title if pane is not None else None)
            status = Status(decided.status)
            last = self._codex_status.get(codex.key)
            if last is None or last[0] is not status:
                facts_at = codex.facts.status_changed_at if codex.facts else None
                last = (status, facts_at if last is None and facts_at else now)
                self._codex_status[codex.key] = last
            facts = codex.facts
            activity: tuple[float, ...] = self.activity.series(codex.key, now)
            scale: int | None = None
            if facts is not None:
                # The window ends with the bucket holding ``now`` (as for transcripts): a bucket
                # counts from its start, not only once its middle is past.
                end = (now // CODEX_BUCKET_S + 1) * CODEX_BUCKET_S
                series = facts.activity(end, buckets=len(activity) or 30)
                activity, scale = normalize(series)
            name = codex.name
            if self.names is not None and codex.session_id:
                with contextlib.suppress(ValueError, SessiontuiError):
                    name = self.names.get(codex.session_id) or name
            out.append(
                Session(
                    key=codex.key,
                    pid=codex.pid or 0,
                    agent="codex",
                    name=name,
                    status=status,
                    status_source=StatusSource.ROLLOUT,
                    alive=True,
                    session_id=codex.session_id,
                    kind=codex.kind,
                    cwd=codex.cwd,
                    waiting_for=decided.waiting_for,
                    started_at=codex.started_at,
                    status_changed_at=last[1],
                    activity=activity,
                    mux=self._location(pane) if pane is not None else None,
                    version=facts.cli_version if facts else None,
                    proc_start=codex.proc_start,
                    health=self._pane_health(pane),
                    status_why=decided.why,
                    activity_scale=scale,
                    tokens_output=facts.output_tokens if facts else None,
                    context_used=facts.context_tokens if facts else None,
                    context_window=facts.context_window if facts else None,
                    model=codex.model,
                    last_activity_at=codex.last_activity_at,
                    last_prompt=facts.last_prompt if facts else None,
                    turns=facts.turns if facts else None,
                    transcript_path=codex.rollout_path,
                )
            )
        for key in [k for k in self._codex_status if k not in seen]:
            del self._codex_status[key]
        return out

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

    def _update_orphans(self, consider: set[Path]) -> bool:
        """Keep :attr:`_orphans` (paths of rows :meth:`_resume_orphans` collapses) up to date.

        Recomputed over every row only when the live rows' panes or sessionIds changed;
        otherwise only the rows in ``consider`` can have changed their own standing.

        Returns:
            True when a settled row joined or left the orphans (the tail must be re-sorted).
        """
        live = self._live_rows()
        basis = (
            frozenset((row.pane.server, row.pane.pane_id) for row in live if row.pane is not None),
            frozenset(row.session_id for row in live if row.session_id),
        )
        before = set(self._orphans)
        if basis != self._orphan_basis:
            self._orphan_basis = basis
            self._orphans = {row.path for row in self._resume_orphans()}
        else:
            live_panes, live_ids = basis
            for path in consider:
                row = self._rows.get(path)
                if row is not None and (
                    not row.alive
                    and (
                        (row.last_pane_id is not None and row.last_pane_id in live_panes)
                        or (row.session_id is not None and row.session_id in live_ids)
                    )
                ):
                    self._orphans.add(path)
                else:
                    self._orphans.discard(path)
        return any(path in self._settled for path in before ^ self._orphans)

    def _fingerprint(self) -> tuple[object, ...]:
        """Everything a snapshot is built from, cheaply; equal means nothing to rebuild.

        The first element says whether any row changed since the last build (rows report
        their own changes, see :class:`_Row`), so 10,000 unchanged rows cost nothing here.
        """
        now = self._clock()
        failing = self.reader.failing()
        return (
            bool(self._touched),
            len(self._rows),
            tuple(sorted((str(p), self.reader.problem(p)) for p in failing)),
            self._panes,
            tuple(sorted(self._health.items())),
            self._unreachable,
            tuple(sorted(self._bg_cpu.items())),
            self.focused_pane,
            self.reader.directory_problem,
            self._codex_sessions,
            self._codex_problem,
            self._names_revision,
            self.activity.revision,
            self.activity.bucket(now),
            int(now // 30),  # ages shown in the UI move on
        )

    def build(self) -> Snapshot:
        """Build a new snapshot from the current state (sorted, orphans collapsed).

        Incremental: only rows touched since the last build and *active* rows (alive, in a
        pane, with an activity history, failing reads, unknown start) are looked at; a row
        that did not change (not dirty, same activity series, no pane, no failing read)
        reuses its last :class:`Session` object. The other rows are *settled* (dead since
        first seen, nothing left to change): their sessions stay in a pre-sorted tail, so a
        registry of 10,000 stale files costs a build of a few rows.
        """
        now = self._clock()
        failing = self.reader.failing()
        consider = self._touched | self._active | failing
        self._touched.clear()
        tail_changed = self._update_orphans(consider)
        active: set[Path] = set()
        for path in consider:
            row = self._rows.get(path)
            if row is None:
                self._built.pop(path, None)
                tail_changed |= self._settled.pop(path, None) is not None
                continue
            session = self._built.get(path)
            if (
                session is None
                or row.dirty
                or row.pane is not None
                or row.transcript is not None
                or path in failing
                or not _same_series(session.activity, self.activity.series(row.key, now))
            ):
                session = self._built[path] = self._session(row, now)
                row.dirty = False
            settled = (
                not row.alive
                and row.proc_start is not None
                and row.pane is None
                and path not in failing
                and not self.activity.knows(row.key)
            )
            if settled:
                if self._settled.get(path) is not session:
                    self._settled[path] = session
                    self.reader.set_quiet(path, True)
                    tail_changed = True
            else:
                if self._settled.pop(path, None) is not None:
                    self.reader.set_quiet(path, False)
                    tail_changed = True
                active.add(path)
        self._active = active
        if tail_changed:
            keyed = sorted(
                (
                    (_sort_key(s), s)
                    for p, s in self._settled.items()
                    if p not in self._orphans and (self.include_spare or not s.spare)
                ),
                key=_first,
            )
            self._tail_keys = [key for key, _ in keyed]
            self._tail = [session for _, session in keyed]
        sessions = [self._built[p] for p in active if p not in self._orphans]
        if not self.include_spare:  # pre-warmed workers are no sessions of the user's
            sessions = [s for s in sessions if not s.spare]
        sessions += [self._bg_session(pane, now) for pane in self._bg_panes()]
        sessions += self._codex_rows(now)
        if len({s.mux.socket for s in sessions if s.mux is not None and s.mux.type == "tmux"}) > 1:
            sessions = [  # several tmux servers in view: WHERE names the server
                with_changes(s, mux=replace(s.mux, show_server=True)) if s.mux is not None else s
                for s in sessions
            ]
        self.activity.forget({s.key for s in sessions})  # settled rows have no history
        sessions.sort(key=_sort_key)
        dead = [s for s in sessions if s.status is Status.DEAD]
        if dead:  # merge the few active dead rows into the (long) settled tail
            sessions = [s for s in sessions if s.status is not Status.DEAD]
            tail, keys = list(self._tail), list(self._tail_keys)
            for session in dead:
                key = _sort_key(session)
                index = bisect.bisect_right(keys, key)
                keys.insert(index, key)
                tail.insert(index, session)
            sessions += tail
            self._shape = None
        else:
            self._shape = (self._tail, len(sessions))
            sessions += self._tail
        messages = []
        if self.reader.directory_problem:
            messages.append(self.reader.directory_problem)
        messages += [self._health[server] for server in sorted(self._health)]
        if self._codex_problem:
            messages.append(self._codex_problem)
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
        new = self.build()
        self._last_fingerprint = (False, *fingerprint[1:])  # build() took every touched row
        old, before, after = self._snapshot, self._published_shape, self._shape
        if before is not None and after is not None and before[0] is after[0]:
            # The same settled tail: only the heads (active rows) can differ.
            heads = diff(
                Snapshot(sessions=old.sessions[: before[1]]),
                Snapshot(sessions=new.sessions[: after[1]]),
            )
            change = SnapshotChange(new, heads.added, heads.changed, heads.removed)
            same_order = before[1] == after[1] and _same_order(
                Snapshot(sessions=old.sessions[: before[1]]),
                Snapshot(sessions=new.sessions[: after[1]]),
            )
        else:
            change = diff(old, new)
            same_order = _same_order(new, old)
        meta_changed = (new.messages, new.tmux_ok, new.focused_pane) != (
            old.messages,
            old.tmux_ok,
            old.focused_pane,
        )
        if change.empty and not meta_changed and same_order:
            return change
        self._snapshot = new
        self._published_shape = after
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            callback(change)
        return change


def normalize(series: Sequence[int]) -> tuple[tuple[float, ...], int | None]:
    """Scale token counts per bucket to ``[0, 1]`` by the largest one.

    Args:
        series: Output tokens per bucket, oldest first.

    Returns:
        ``(values, scale)``: the values in ``[0.0, 1.0]`` and the largest count (tokens of a
        full bar), ``None`` when every bucket is empty (then every value is 0.0).
    """
    scale = max(series, default=0)
    if scale <= 0:
        return (0.0,) * len(series), None
    return tuple(value / scale for value in series), scale


def _bg_key(pane: PaneInfo) -> str:
    """Identity of a background session row: multiplexer, server, session and pane PID.

    An exited Zellij session's row (no process: PID 0) is a new row, not the live one's.
    """
    return f"{pane.mux_type}:{pane.server}:{pane.session_id}:{pane.pane_pid}"


def _first(pair: tuple[tuple[int, float, str], Session]) -> tuple[int, float, str]:
    return pair[0]


def _same_series(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a is b or a == b


def _same_order(a: Snapshot, b: Snapshot) -> bool:
    return len(a.sessions) == len(b.sessions) and all(
        x.key == y.key for x, y in zip(a.sessions, b.sessions, strict=True)
    )


def _display_name(entry: RegistryEntry | None, row: _Row) -> str:
    """The name to show.

    A sticky name shown but not written (read-only mode), else the registry ``name``, else the
    cwd's last part, else the file name.
    """
    if row.name_override:
        return row.name_override
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
        key
        for key in new_by_key.keys() & old_by_key.keys()
        if new_by_key[key] is not old_by_key[key] and new_by_key[key] != old_by_key[key]
    )
    return SnapshotChange(snapshot=new, added=added, changed=changed, removed=removed)
