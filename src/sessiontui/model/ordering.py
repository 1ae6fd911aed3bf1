"""Display order of the session list: sort modes, pins, groups and stable ``1``-``9`` numbers.

Pure functions on :class:`~sessiontui.model.types.Session` tuples (plus one small cache of
git repository roots): the UI calls :func:`arrange` with the snapshot's sessions, which are
already in urgency order (waiting, busy, idle, dead; most recent status change first, see
``store._sort_key``), and renders the rows it returns.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

    from sessiontui.model.types import Session, Status


class SortMode(enum.StrEnum):
    """How sessions are ordered (``o`` cycles; config ``sort``)."""

    URGENCY = "urgency"  # waiting, busy, idle, dead; then the most recent status change
    PROJECT = "project"  # project name (repository root, else cwd), then urgency
    ACTIVITY = "activity"  # most recent activity first

    def next(self) -> SortMode:
        """The mode ``o`` switches to after this one (cycles)."""
        modes = list(SortMode)
        return modes[(modes.index(self) + 1) % len(modes)]


class GroupMode(enum.StrEnum):
    """How sessions are grouped under headers (``g`` cycles; config ``group``)."""

    NONE = "none"
    PROJECT = "project"  # git repository root of the cwd, else the cwd
    MUX = "mux"  # multiplexer session (``tmux:work``), background jobs, no multiplexer
    HOST = "host"  # the machine: this one, or a remote host (SPEC 2.7)

    def next(self) -> GroupMode:
        """The mode ``g`` switches to after this one (cycles)."""
        modes = list(GroupMode)
        return modes[(modes.index(self) + 1) % len(modes)]


#: Accepted values of the config keys ``sort`` and ``group``.
SORT_MODES: tuple[str, ...] = tuple(m.value for m in SortMode)
GROUP_MODES: tuple[str, ...] = tuple(m.value for m in GroupMode)

#: Group of sessions with no working directory (project grouping).
NO_PROJECT = "(no directory)"
#: Group of Claude background jobs (multiplexer grouping).
JOBS_GROUP = "claude background jobs"
#: Group of sessions that run in no multiplexer (multiplexer grouping).
NO_MUX_GROUP = "no multiplexer"
#: Group of the sessions of this machine (host grouping; remote hosts are named by theirs).
THIS_MACHINE = "(this machine)"

#: Most cwds remembered by :class:`ProjectRoots` (beyond it the cache starts again).
MAX_CACHED_ROOTS = 10_000
#: Most directories walked up from a cwd looking for ``.git``.
MAX_WALK_DEPTH = 64


class ProjectRoots:
    """The git repository root of a cwd: the nearest directory up holding ``.git``.

    ``.git`` may be a directory or a file (a worktree or a submodule). A cwd in no
    repository is its own project. Each cwd is looked up once (a few ``stat`` calls) and
    cached for the life of the object; git itself is never run. A directory that cannot be
    read counts as having no ``.git``.

    Args:
        exists: ``path -> bool``, whether ``path`` exists (default :func:`os.path.lexists`).
    """

    def __init__(self, exists: Callable[[str], bool] = os.path.lexists) -> None:
        self._exists = exists
        self._cache: dict[str, str] = {}

    def root(self, cwd: str | None) -> str:
        """Return the project directory of ``cwd`` (:data:`NO_PROJECT` when ``cwd`` is None)."""
        if not cwd:
            return NO_PROJECT
        found = self._cache.get(cwd)
        if found is None:
            if len(self._cache) >= MAX_CACHED_ROOTS:
                self._cache.clear()
            found = self._cache[cwd] = self._find(cwd)
        return found

    def _find(self, cwd: str) -> str:
        path = PurePosixPath(cwd)
        if not path.is_absolute():
            return cwd
        for depth, directory in enumerate((path, *path.parents)):
            if depth >= MAX_WALK_DEPTH:
                break
            try:
                if self._exists(str(directory / ".git")):
                    return str(directory)
            except (OSError, ValueError):  # an unreadable directory, a NUL in the path
                return cwd
        return cwd


def project_name(root: str) -> str:
    """Short name of a project directory: its last path component (``/src/api`` -> ``api``)."""
    name = PurePosixPath(root).name
    return name or root


def activity_time(session: Session) -> float:
    """When ``session`` last did something, seconds since the epoch (0.0 when unknown).

    The newest of the transcript's last record, the registry's last update and the last
    status change; the start time when none is known.
    """
    times = (session.last_activity_at, session.updated_at, session.status_changed_at)
    known = [t for t in times if t is not None]
    if known:
        return max(known)
    return session.started_at or 0.0


def sort_sessions(
    sessions: Sequence[Session],
    mode: SortMode,
    *,
    pinned: Collection[str] = (),
    project_of: Callable[[Session], str] = lambda s: s.cwd or NO_PROJECT,
) -> list[Session]:
    """Order ``sessions`` for display: pinned ones first, then by ``mode``.

    Args:
        sessions: Sessions in urgency order (``Snapshot.sessions``); every sort is stable,
            so urgency breaks the ties of the other modes.
        mode: The sort mode.
        pinned: Keys of the pinned sessions.
        project_of: The project directory of a session (e.g. :meth:`ProjectRoots.root` of
            its cwd).

    Returns:
        A new list with the same sessions.
    """
    if mode is SortMode.PROJECT:
        by_cwd: dict[str | None, tuple[str, str]] = {}  # one look-up per cwd, not per session

        def by_project(s: Session) -> tuple[str, str]:
            found = by_cwd.get(s.cwd)
            if found is None:
                root = project_of(s)
                found = by_cwd[s.cwd] = (project_name(root).casefold(), root)
            return found

        ordered = sorted(sessions, key=by_project)
    elif mode is SortMode.ACTIVITY:
        ordered = sorted(sessions, key=lambda s: -activity_time(s))
    else:
        ordered = list(sessions)
    if pinned:
        ordered.sort(key=lambda s: s.key not in pinned)
    return ordered


def host_group(session: Session) -> str:
    """The host group of ``session``: its remote host's name, or :data:`THIS_MACHINE`."""
    return THIS_MACHINE if session.host is None else session.host


def group_of(session: Session, mode: GroupMode, project_of: Callable[[Session], str]) -> str:
    """The id of the group ``session`` is shown under with grouping ``mode`` (not NONE).

    Args:
        session: The session.
        mode: PROJECT, MUX or HOST.
        project_of: The project directory of a session (PROJECT only).
    """
    if mode is GroupMode.PROJECT:
        return project_of(session)
    if mode is GroupMode.HOST:
        return host_group(session)
    return mux_group(session)


def mux_group(session: Session) -> str:
    """The multiplexer group of ``session``: ``tmux:work``, ``zellij:main``, jobs or none.

    With several tmux servers in view the server's name is used (``work-srv:main``).
    """
    mux = session.mux
    if mux is not None:
        server = mux.server_label if mux.show_server else mux.type
        return f"{server}:{mux.session}"
    if session.job_id:
        return JOBS_GROUP
    return NO_MUX_GROUP


@dataclass(frozen=True, slots=True)
class GroupHeader:
    r"""A group's header row.

    Attributes:
        key: Row key, unique among rows and never a session key (``"group\\x1f<id>"``).
        group: The group's id: a project directory or a multiplexer group name.
        label: Short name to show (untrusted text: render as plain text).
        detail: Longer text to show after the label (the project directory), or ``""``.
        counts: ``(status, number)`` for each status present, collapsed rows included,
            in urgency order.
        size: Sessions in the group.
        collapsed: The group's sessions are hidden.
    """

    key: str
    group: str
    label: str
    detail: str
    counts: tuple[tuple[Status, int], ...]
    size: int
    collapsed: bool


#: Prefix of header row keys (session keys start with the agent's name).
HEADER_PREFIX = "group\x1f"


def header_key(group: str) -> str:
    """The row key of the header of ``group``."""
    return HEADER_PREFIX + group


def is_header_key(key: str | None) -> bool:
    """True when ``key`` is a group header's row key."""
    return key is not None and key.startswith(HEADER_PREFIX)


def _counts(members: Iterable[Session]) -> tuple[tuple[Status, int], ...]:
    tally: dict[Status, int] = {}
    for session in members:
        tally[session.status] = tally.get(session.status, 0) + 1
    return tuple(sorted(tally.items(), key=lambda item: item[0].sort_rank))


def group_rows(
    ordered: Sequence[Session],
    mode: GroupMode,
    *,
    collapsed: Collection[str] = (),
    project_of: Callable[[Session], str] = lambda s: s.cwd or NO_PROJECT,
) -> list[Session | GroupHeader]:
    """The table's rows: ``ordered`` under one header per group, or as is without grouping.

    Groups come in the order of their first session in ``ordered`` (so the group holding
    a pinned or the most urgent session comes first); sessions keep their order within
    their group. A collapsed group shows its header only (its counts still include every
    session).

    Args:
        ordered: Sessions in display order (see :func:`sort_sessions`).
        mode: The grouping.
        collapsed: Ids (:attr:`GroupHeader.group`) of the collapsed groups.
        project_of: The project directory of a session.

    Returns:
        Headers and sessions, top to bottom.
    """
    if mode is GroupMode.NONE:
        return list(ordered)
    groups: dict[str, list[Session]] = {}
    if mode is GroupMode.PROJECT:
        by_cwd: dict[str | None, list[Session]] = {}  # one look-up per cwd, not per session
        for session in ordered:
            members = by_cwd.get(session.cwd)
            if members is None:
                members = by_cwd[session.cwd] = groups.setdefault(project_of(session), [])
            members.append(session)
    else:
        for session in ordered:
            groups.setdefault(group_of(session, mode, project_of), []).append(session)
    rows: list[Session | GroupHeader] = []
    for group, members in groups.items():
        folded = group in collapsed
        project = mode is GroupMode.PROJECT and group != NO_PROJECT
        rows.append(
            GroupHeader(
                key=header_key(group),
                group=group,
                label=project_name(group) if project else group,
                detail=group if project and project_name(group) != group else "",
                counts=_counts(members),
                size=len(members),
                collapsed=folded,
            )
        )
        if not folded:
            rows.extend(members)
    return rows


class StableNumbers:
    """The ``1``-``9`` numbers shown in the rows, kept with their sessions.

    The rule: numbers are given to the first nine sessions of the display order when the
    view is re-arranged by the user (sort, grouping, filter, a fold or a pin: a new
    ``arrangement`` value) or when a numbered session leaves the view; otherwise every
    session keeps its number while rows move (a status change never renumbers), and a
    session that appears takes the lowest free number, if any is free.
    """

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._arrangement: object = None

    def update(self, shown: Sequence[str], arrangement: object) -> Mapping[str, int]:
        """Number the sessions of ``shown`` (keys in display order); return key -> number.

        Args:
            shown: Keys of the session rows shown, top to bottom (no header rows).
            arrangement: Any value that changes when the user re-arranges the view.

        Returns:
            Key -> number in ``1``-``9``; at most nine sessions are numbered.
        """
        present = set(shown)
        if arrangement != self._arrangement or any(k not in present for k in self._numbers):
            self._arrangement = arrangement
            self._numbers = {key: n for n, key in enumerate(shown[:9], start=1)}
            return dict(self._numbers)
        free = sorted(set(range(1, 10)) - set(self._numbers.values()))
        if free:
            for key in shown:
                if not free:
                    break
                if key not in self._numbers:
                    self._numbers[key] = free.pop(0)
        return dict(self._numbers)

    def key_of(self, number: int) -> str | None:
        """The key of the session showing ``number``, or ``None``."""
        return next((k for k, n in self._numbers.items() if n == number), None)
