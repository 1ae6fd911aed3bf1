"""Immutable value types shared by the model, the multiplexer backends and the UI.

Everything here is frozen: the store builds new values and publishes them in a
:class:`Snapshot`; nobody mutates a published value.
"""

from __future__ import annotations

import enum
import itertools
import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from sessiontui.model.status import Status as Status

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path


#: Registry ``status`` strings that map onto a :class:`Status` (SPEC 2.1).
REGISTRY_STATUSES: frozenset[str] = frozenset({"busy", "idle", "waiting", "shell"})


class StatusSource(enum.StrEnum):
    """Which source decided a session's status (SPEC 3 precedence)."""

    PROCESS = "process"  # dead: the PID is gone or reused
    REGISTRY = "registry"  # the <pid>.json ``status`` field
    TRANSCRIPT = "transcript"  # no registry status: the transcript's tail (SPEC 2.2)
    ROLLOUT = "rollout"  # a Codex session: its rollout events and pane title (SPEC 2.3)
    CPU = "cpu"  # no registry status: guessed from CPU use
    NONE = "none"


class RegistryEntry(msgspec.Struct, frozen=True, gc=False):
    """One parsed ``<pid>.json`` file of the Claude Code session registry (SPEC 2.1).

    Field types are already validated: a field of the wrong type in the file is ``None`` here.
    Times are milliseconds since the Unix epoch, as in the file.

    Attributes:
        path: The file, ``<registry dir>/<pid>.json``.
        pid: The ``pid`` field (the file name's PID when the field is absent or invalid).
        file_pid: The PID in the file name.
        session_id: ``sessionId`` (a hint: it changes on ``--resume`` and ``/clear``).
        cwd: ``cwd``.
        started_at_ms: ``startedAt``, ms since the epoch.
        proc_start: ``procStart``: on Linux field 22 of ``/proc/<pid>/stat`` as a string.
        version: ``version`` of Claude Code.
        kind: ``kind``: ``interactive``, ``bg``, ``daemon``, ``daemon-worker`` or another string.
        entrypoint: ``entrypoint``.
        name: ``name``.
        name_source: ``nameSource`` (``derived`` while the name is automatic).
        status: ``status`` when it is one of :data:`REGISTRY_STATUSES`, else ``None``.
        waiting_for: ``waitingFor``.
        updated_at_ms: ``updatedAt``, ms since the epoch.
        status_updated_at_ms: ``statusUpdatedAt``, ms since the epoch.
        job_id: ``jobId`` (Claude Code's own background jobs).
        extra: Every other key, kept so a rewrite preserves it.
        tmux: ``tmux`` (``session:@window.%pane``, newer builds) when it matches the strict
            form of SPEC 2.1, else ``None``. A hint to find the pane, never trusted alone.
        spare: ``spare`` is ``true``: a pre-warmed background worker, hidden from listings.
        parked_job_id: ``parkedJobId``: the session was parked as this background job.
        former_names: ``formerNames``: earlier names, the strings of the list (untrusted).
    """

    path: Path
    pid: int
    file_pid: int
    session_id: str | None = None
    cwd: str | None = None
    started_at_ms: int | None = None
    proc_start: str | None = None
    version: str | None = None
    kind: str | None = None
    entrypoint: str | None = None
    name: str | None = None
    name_source: str | None = None
    status: str | None = None
    waiting_for: str | None = None
    updated_at_ms: int | None = None
    status_updated_at_ms: int | None = None
    job_id: str | None = None
    extra: Mapping[str, object] = msgspec.field(default_factory=dict)
    tmux: str | None = None
    spare: bool = False
    parked_job_id: str | None = None
    former_names: tuple[str, ...] = ()

    @property
    def tmux_pane(self) -> str | None:
        """The ``%N`` pane id named by :attr:`tmux` (``work:@0.%3`` → ``%3``), or ``None``."""
        if self.tmux is None:
            return None
        pane = self.tmux.rsplit(".", 1)[-1]
        return pane if pane.startswith("%") else f"%{pane}"


@dataclass(frozen=True, slots=True)
class JobTask:
    """One entry of a background job's ``fan[]``: a subagent or background task (SPEC 2.1).

    Attributes:
        id: ``id`` (untrusted text).
        kind: ``kind`` (untrusted text), e.g. a subagent or a shell task.
        label: ``label`` (untrusted text): what it does.
        started_at_ms: ``startedAt``, ms since the epoch, or ``None``.
        done_at_ms: ``doneAt``, ms since the epoch, or ``None`` while it runs.
        failed: ``failed`` is ``true``.
    """

    id: str = ""
    kind: str = ""
    label: str = ""
    started_at_ms: int | None = None
    done_at_ms: int | None = None
    failed: bool = False

    @property
    def running(self) -> bool:
        """True while the task has neither finished nor failed."""
        return self.done_at_ms is None and not self.failed


@dataclass(frozen=True, slots=True)
class JobState:
    """What a Claude background job's ``jobs/<id>/state.json`` says (a hint, SPEC 2.1).

    Attributes:
        path: The ``state.json`` file.
        state: ``state`` (``working``, ``blocked``, ``done``, ``failed``, ``stopped``,
            ``crashed`` or another string; untrusted text), or ``None``.
        detail: ``detail`` (untrusted text), or ``None``.
        fan: The valid entries of ``fan[]``, in file order.
        tokens: ``tokens``: ``(("total", n),)`` for a number, the integer items of an object
            (``(("input", 10), ("output", 5))``), else ``()``.
        problem: Why the file cannot be read (``"not JSON"``, ``"too large (…)"``), or
            ``None``; the other fields are then empty.
    """

    path: Path
    state: str | None = None
    detail: str | None = None
    fan: tuple[JobTask, ...] = ()
    tokens: tuple[tuple[str, int], ...] = ()
    problem: str | None = None

    @property
    def running_tasks(self) -> int:
        """How many ``fan[]`` entries still run."""
        return sum(1 for task in self.fan if task.running)


@dataclass(frozen=True, slots=True)
class PaneInfo:
    """One tmux pane as reported by a single ``list-panes -a -F`` poll (SPEC 2.4).

    Attributes:
        pane_id: ``%N``, an exact target.
        pane_pid: PID of the pane's first process (usually a shell).
        pane_tty: The pane's terminal, e.g. ``/dev/pts/3``.
        session_id: ``$N``, an exact target.
        session_name: The tmux session name (untrusted text).
        window_index: The window's index, as tmux prints it.
        window_id: ``@N``.
        pane_index: The pane's index in its window.
        current_command: ``pane_current_command``.
        session_attached: Number of clients attached to the session.
        session_kind: The tmux user option ``@sessiontui-kind`` of the session, or ``None``.
        server: The server holding the pane (tmux: its socket path); ids are unique only
            within one server.
        clients: Ordinary (non-control-mode) clients attached to the session, or ``None``
            when the poll did not count them (then ``session_attached`` is used).
        mux_type: ``"tmux"`` or ``"zellij"``: which kind of multiplexer holds the pane.
        title: The pane's title (tmux ``#{pane_title}``, set by OSC 0/2; untrusted text),
            ``""`` when unknown. Codex shows ``[ . ] Action Required`` there (SPEC 2.3).
        exited: Not a pane but an exited session the multiplexer keeps for resurrection
            (Zellij): no process runs there (``pane_pid`` 0, ``pane_id`` empty).
    """

    pane_id: str
    pane_pid: int
    pane_tty: str
    session_id: str
    session_name: str
    window_index: str
    window_id: str
    pane_index: str
    current_command: str
    session_attached: int
    session_kind: str | None = None
    server: str = ""
    clients: int | None = None
    mux_type: str = "tmux"
    title: str = ""
    exited: bool = False


def pane_key(mux_type: str, session_id: str, pane: str) -> str:
    """A pane's id unique within its server: tmux ``%N``; Zellij ``<session>/terminal_N``."""
    return pane if mux_type == "tmux" else f"{session_id}/{pane}"


@dataclass(frozen=True, slots=True)
class MuxLocation:
    """Where a session runs in a terminal multiplexer.

    Attributes:
        type: ``"tmux"`` (``"zellij"`` later).
        socket: The server's socket path.
        session_id: Exact session target (``$N``).
        session: Session name (untrusted text).
        window: Window index.
        pane: Exact pane target (``%N``).
        pane_index: Pane index in its window.
        attached_clients: Clients attached to the tmux session.
        panes_in_session: Number of panes in that tmux session.
        session_kind: The ``@sessiontui-kind`` user option of the tmux session, if set.
        show_server: Several servers are in view, so :attr:`label` names the server.
        exited: The session has ended and is kept for resurrection (Zellij): no window or
            pane, nothing runs; dismissing the row deletes what is kept.
    """

    type: str
    socket: str
    session_id: str
    session: str
    window: str
    pane: str
    pane_index: str = "0"
    attached_clients: int = 0
    panes_in_session: int = 1
    session_kind: str | None = None
    show_server: bool = False
    exited: bool = False

    @property
    def label(self) -> str:
        """Short "where" text: ``tmux:work:2.1``, or :attr:`server_where` with ``show_server``.

        An exited session has no window or pane: ``zellij:work (exited)``.
        """
        if self.exited:
            return f"{self.type}:{self.session} (exited)"
        if self.show_server:
            return self.server_where
        return f"{self.type}:{self.session}:{self.window}.{self.pane_index}"

    @property
    def server_label(self) -> str:
        """The server's short name: the tmux socket's file name (``default``, ``work-srv``).

        Zellij is one server per user: its short name is ``zellij``.
        """
        if self.type != "tmux":
            return self.type
        return self.socket.rstrip("/").rsplit("/", 1)[-1] or self.type

    @property
    def server_where(self) -> str:
        """The place, naming the server, for when several are in view: ``work-srv:main:1.0``."""
        return f"{self.server_label}:{self.session}:{self.window}.{self.pane_index}"

    @property
    def address(self) -> tuple[str, str]:
        """``(server, pane)``: the pane's identity across every server.

        Zellij pane ids are unique only within a session: there the pane part is
        ``<session>/<pane>``.
        """
        return (self.socket, pane_key(self.type, self.session_id, self.pane))


#: ``Session.health`` of a remote session whose host cannot be reached now: its row is the
#: last-known state (a remote agent is never "dead" because the link is down; SPEC 2.7).
HOST_UNREACHABLE = "host unreachable"


class Session(msgspec.Struct, frozen=True):
    """Everything the sources say about one agent process (SPEC 3).

    A frozen :class:`msgspec.Struct` (10,000 are built at start-up, about ten times faster
    than a frozen dataclass); copy one with changes by :func:`with_changes`.

    Attributes:
        key: Stable identity for the lifetime of the process: ``"<agent>:<pid>:<start>"``.
            Never the name, so a rename keeps the table row.
        pid: The agent's PID.
        proc_start: The process start time in the registry's ``procStart`` format (on Linux
            clock ticks since boot, as a decimal string), or ``None`` when unknown.
        agent: ``"claude"`` or ``"codex"``.
        name: Display name (untrusted text; render as plain text).
        status: Current :class:`Status`.
        status_source: Which source decided ``status``.
        alive: ``False`` when the PID is gone or reused.
        session_id: The agent's conversation id, if known.
        kind: Registry ``kind`` (``interactive``, ``bg`` …) or ``None``.
        cwd: Working directory.
        waiting_for: What a waiting session waits for.
        started_at: Start time, seconds since the epoch (float), or ``None``.
        updated_at: Last registry update, seconds since the epoch, or ``None``.
        status_changed_at: Last status change, seconds since the epoch, or ``None``.
        cpu_percent: CPU use of the process tree in percent of one core (0.0 before the
            second sample).
        activity: Sparkline values, oldest first, one per bucket, each in ``[0.0, 1.0]``:
            output tokens per bucket over :attr:`activity_scale` when a transcript or rollout
            is known, else the busy-time/CPU series.
        mux: Where it runs in tmux, or ``None``.
        registry_path: The ``<pid>.json`` file.
        version: Agent version.
        job_id: Claude Code background job id.
        unreadable: A message when the registry file has been unreadable for a while.
        extra: Unknown registry keys (display only).
        proc_start: The process start time (see above).
        health: A problem with the source or server behind the row (e.g. ``"server
            unreachable"``: its place is last-known, the agent is not dead), or ``None``.
        status_why: How a transcript or rollout decided ``status`` (e.g. ``"transcript:
            tool_use Bash, quiet 42 s"``), or ``None`` for the other sources.
        activity_scale: Output tokens of a full sparkline bar (the largest bucket) when
            :attr:`activity` comes from a transcript or rollout; ``None`` when it is the
            CPU/status fallback series.
        tokens_output: Output tokens of the session so far (of the part read), or ``None``.
        context_used: Context used by the last model call, tokens, or ``None``.
        context_window: The model's context window, tokens, or ``None``.
        model: The model of the last call (``claude-opus-4-8``, ``gpt-5-codex``), or ``None``.
        last_activity_at: Time of the newest transcript/rollout record, seconds since the
            epoch, or ``None``.
        last_prompt: The latest user prompt, one line of plain text, or ``None``.
        turns: User prompts (Claude) or turns started (Codex) seen, or ``None``.
        transcript_path: The transcript (Claude) or rollout (Codex) file, or ``None``.
        subagents: Subagents and background tasks still running for the session (its
            background job's ``fan[]``), or ``None`` when no job state is known.
        spare: A pre-warmed background worker (registry ``spare: true``); the store leaves
            such rows out unless asked to include them.
        parked_job_id: Registry ``parkedJobId``: parked as this background job, or ``None``.
        former_names: Registry ``formerNames`` (untrusted text; render as plain text).
        job: The background job's ``state.json``, or ``None`` when there is none.
        host: The host the session runs on (a ``[[hosts]]`` name or ssh destination), or
            ``None`` for this machine. A remote session's :attr:`key` is ``"<host>/<key>"``.
    """

    key: str
    pid: int
    agent: str
    name: str
    status: Status
    status_source: StatusSource = StatusSource.NONE
    alive: bool = True
    session_id: str | None = None
    kind: str | None = None
    cwd: str | None = None
    waiting_for: str | None = None
    started_at: float | None = None
    updated_at: float | None = None
    status_changed_at: float | None = None
    cpu_percent: float = 0.0
    activity: tuple[float, ...] = ()
    mux: MuxLocation | None = None
    registry_path: Path | None = None
    version: str | None = None
    job_id: str | None = None
    unreadable: str | None = None
    extra: Mapping[str, object] = msgspec.field(default_factory=dict)
    proc_start: str | None = None
    health: str | None = None
    status_why: str | None = None
    activity_scale: int | None = None
    tokens_output: int | None = None
    context_used: int | None = None
    context_window: int | None = None
    model: str | None = None
    last_activity_at: float | None = None
    last_prompt: str | None = None
    turns: int | None = None
    transcript_path: Path | None = None
    subagents: int | None = None
    spare: bool = False
    parked_job_id: str | None = None
    former_names: tuple[str, ...] = ()
    job: JobState | None = None
    host: str | None = None

    @property
    def context_percent(self) -> float | None:
        """``context_used`` in percent of ``context_window`` (may exceed 100), or ``None``."""
        if self.context_used is None or not self.context_window:
            return None
        return 100.0 * self.context_used / self.context_window

    @property
    def is_background(self) -> bool:
        """True for ``bg`` sessions, which are detached, never ended, when the user leaves."""
        return self.kind == "bg" or (self.mux is not None and self.mux.session_kind == "bg")


def with_changes(session: Session, **changes: object) -> Session:
    """A copy of ``session`` with the given fields changed (``dataclasses.replace`` for it).

    Raises:
        TypeError: A name in ``changes`` is not a field.
    """
    return msgspec.structs.replace(session, **changes)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole model at one instant; published to subscribers, never mutated.

    Attributes:
        sessions: Every session, in the stable display order (waiting, busy, idle, dead).
        taken_at: Wall-clock time of the snapshot, seconds since the epoch.
        tmux_ok: ``False`` when the tmux server could not be reached on the last poll.
        messages: Human-readable problems worth showing (registry unreadable, tmux gone …).
        focused_pane: ``(server, %N)``: the pane our own tmux client showed at the last poll,
            or ``None`` outside tmux; the session in it is the one the user is looking at.
    """

    sessions: tuple[Session, ...] = ()
    taken_at: float = 0.0
    tmux_ok: bool = True
    messages: tuple[str, ...] = ()
    focused_pane: tuple[str, str] | None = None

    _by_key: dict[str, Session] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )
    _counts: dict[Status, int] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )
    _waiting: tuple[Session, ...] | None = field(
        init=False, repr=False, compare=False, hash=False, default=None
    )
    _focused: tuple[str | None] | None = field(
        init=False, repr=False, compare=False, hash=False, default=None
    )

    def waiting(self) -> tuple[Session, ...]:
        """The sessions whose status is ``waiting``, in display order (found once)."""
        if self._waiting is None:
            # In C (no Python-level loop over 10,000 sessions for every snapshot).
            statuses = map(_STATUS_OF, self.sessions)
            waiting = map(operator.is_, statuses, itertools.repeat(Status.WAITING))
            found = tuple(itertools.compress(self.sessions, waiting))
            object.__setattr__(self, "_waiting", found)
            return found
        return self._waiting

    @property
    def focused_key(self) -> str | None:
        """Key of the session in :attr:`focused_pane` (the one on our screen), or ``None``."""
        if self._focused is None:
            focused = self.focused_pane
            key = None
            if focused is not None:
                key = next(
                    (
                        s.key
                        for s in self.sessions
                        if s.mux and s.host is None and s.mux.address == focused
                    ),
                    None,
                )
            object.__setattr__(self, "_focused", (key,))
            return key
        return self._focused[0]

    def get(self, key: str) -> Session | None:
        """Return the session with ``key``, or ``None`` (a dictionary look-up)."""
        if not self._by_key and self.sessions:
            # The first session of a key wins; built in C (10,000 sessions: about 1 ms).
            index = {session.key: session for session in reversed(self.sessions)}
            object.__setattr__(self, "_by_key", index)
        return self._by_key.get(key)

    def counts(self) -> dict[Status, int]:
        """Number of sessions per status (statuses with none are absent); counted once."""
        if not self._counts and self.sessions:
            object.__setattr__(self, "_counts", Counter(map(_STATUS_OF, self.sessions)))
        return dict(self._counts)


_STATUS_OF = operator.attrgetter("status")


@dataclass(frozen=True, slots=True)
class SnapshotChange:
    """What changed between two snapshots; what subscribers receive.

    Attributes:
        snapshot: The new snapshot.
        added: Keys of sessions new in ``snapshot``.
        changed: Keys of sessions present in both whose value differs.
        removed: Keys of sessions that are gone.
    """

    snapshot: Snapshot
    added: frozenset[str] = frozenset()
    changed: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        """True when nothing about any session changed."""
        return not (self.added or self.changed or self.removed)
