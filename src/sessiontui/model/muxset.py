"""Every multiplexer server in view: which ones, one poll over all, routing by server (SPEC 2.4).

The model knows servers only as :class:`~sessiontui.mux.base.Multiplexer` values; the
composition root decides which exist (the server in ``$TMUX``, the default socket, ``-L``/``-S``,
the config's ``tmux_sockets``) and hands in a ``factory`` and a ``discover`` function for the
servers found later in the user's socket directory.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sessiontui.errors import MuxUnavailable, NotApplicable, SessiontuiError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from sessiontui.model.types import PaneInfo
    from sessiontui.mux.base import ChangeTrigger, Multiplexer

__all__ = ["MuxPoll", "MuxSet"]

_log = logging.getLogger(__name__)

#: Health note of a server that stopped answering (its rows keep their last-known place).
UNREACHABLE = "server unreachable"


@functools.lru_cache(maxsize=256)
def server_key(server: str) -> str:
    """The canonical form of a server identity (a socket path with symlinks resolved).

    Cached: it is asked for every pane on every snapshot build, and a socket directory's
    symlinks do not move under a running server.
    """
    with contextlib.suppress(OSError, ValueError):
        return os.path.realpath(server)
    return server


@dataclass(slots=True)
class _Entry:
    """One server and what the last poll learned of it (scheduler thread only)."""

    mux: Multiplexer
    named: bool
    """Named by the user or our own environment (kept when not running) vs. discovered."""
    required: bool
    """Named explicitly (``-L``/``-S``/config): "not running" is worth telling the user."""
    panes: tuple[PaneInfo, ...] = ()
    health: str | None = None
    reached: bool = False
    trigger: ChangeTrigger | None = None


@dataclass(frozen=True, slots=True)
class MuxPoll:
    """The result of one poll over every server.

    Attributes:
        panes: Every pane of every server (an unreachable server's last-known panes).
        health: ``server -> problem`` for servers with a problem worth showing.
        unreachable: Servers whose panes are last-known, not fresh.
    """

    panes: tuple[PaneInfo, ...] = ()
    health: dict[str, str] = field(default_factory=dict)
    unreachable: frozenset[str] = frozenset()


class MuxSet:
    """Holds every multiplexer server in view and routes each action to the row's server.

    Thread use: :meth:`poll`, :meth:`refresh_servers`, :meth:`start` and :meth:`close` run on
    the monitor's scheduler thread (or once before it starts); :meth:`get`, :meth:`inside`,
    :meth:`servers` and :meth:`locate` may be called from action workers too (they only read).

    Args:
        named: Servers always in view, the one we run inside first (if any).
        required: Identities among ``named`` given explicitly by the user, whose absence is
            reported (the default socket's absence is normal and silent).
        factory: Builds the multiplexer of a discovered server identity (a socket path).
        discover: Returns the identities of the live servers found now (cheap: a directory
            listing and a connect per socket); ``None`` turns discovery off.
        trigger_factory: Builds a change trigger for a server (tmux control mode), given
            ``(mux, on_change)``; ``None`` for none.
        on_change: What a trigger calls (the monitor asks for a poll).
        inside: The server our own process runs in (from our ``$TMUX``), if any: its identity
            when it is among ``named``, else the server itself, kept only to act on our own
            client (never polled, its panes not listed: the view is limited to ``named``).
        watch_dir: The directory whose changes mean servers may have come or gone (tmux:
            the user's socket directory); see :meth:`servers_may_have_changed`.
    """

    def __init__(
        self,
        named: Sequence[Multiplexer] = (),
        *,
        required: Iterable[str] = (),
        factory: Callable[[str], Multiplexer] | None = None,
        discover: Callable[[], Iterable[str]] | None = None,
        trigger_factory: Callable[[Multiplexer, Callable[[], None]], ChangeTrigger | None]
        | None = None,
        on_change: Callable[[], None] | None = None,
        inside: str | Multiplexer | None = None,
        watch_dir: Path | None = None,
    ) -> None:
        wanted = {server_key(s) for s in required}
        self._entries: dict[str, _Entry] = {}
        for mux in named:
            key = server_key(mux.server)
            if key not in self._entries:
                self._entries[key] = _Entry(mux=mux, named=True, required=key in wanted)
        self._factory = factory
        self._discover = discover
        self._trigger_factory = trigger_factory
        self.on_change: Callable[[], None] = on_change or (lambda: None)
        self._started = False
        self._lock = threading.Lock()
        self._watch_dir = watch_dir if discover is not None else None
        self._watch_mtime = socket_dir_mtime(self._watch_dir) if self._watch_dir else None
        self._hidden_inside: Multiplexer | None = None
        if inside is not None and not isinstance(inside, str):
            if server_key(inside.server) not in self._entries:
                self._hidden_inside = inside
            inside = inside.server
        self.inside_server: str | None = server_key(inside) if inside else None
        """The server our own process runs in (from our ``$TMUX``), or ``None``."""

    # -- which servers -------------------------------------------------------------------

    def servers(self) -> list[Multiplexer]:
        """Every server in view, the named ones first."""
        with self._lock:
            return [entry.mux for entry in self._entries.values()]

    def get(self, server: str) -> Multiplexer:
        """Return the server with identity ``server``.

        Raises:
            NotApplicable: No such server is in view (it went away).
        """
        with self._lock:
            entry = self._entries.get(server) or self._entries.get(server_key(server))
        if entry is None:
            raise NotApplicable("that tmux server is no longer in view")
        return entry.mux

    def inside(self) -> Multiplexer | None:
        """The server our process runs in, or ``None`` when we run outside every server."""
        if self.inside_server is None:
            return None
        with self._lock:
            entry = self._entries.get(self.inside_server)
        return entry.mux if entry is not None else self._hidden_inside

    def home(self, kind: str) -> Multiplexer | None:
        """Where new sessions of ``kind`` (``tmux``/``zellij``) go.

        The server we run inside if it is of that kind, else the first in view of that kind,
        else ``None``.
        """
        inside = self.inside()
        if inside is not None and inside.type == kind:
            return inside
        return next((mux for mux in self.servers() if mux.type == kind), None)

    def refresh_servers(self) -> bool:
        """Add newly discovered live servers, drop discovered ones that went away.

        Returns:
            True when the set of servers changed.
        """
        if self._discover is None or self._factory is None:
            return False
        try:
            live = {server_key(s): s for s in self._discover()}
        except OSError as error:
            _log.debug("tmux discovery failed: %s", error)
            return False
        changed = False
        with self._lock:
            for key, path in live.items():
                if key not in self._entries:
                    mux = self._factory(path)
                    self._entries[key] = _Entry(mux=mux, named=False, required=False)
                    changed = True
            gone = [k for k, e in self._entries.items() if not e.named and k not in live]
            removed = [self._entries.pop(k) for k in gone]
        for entry in removed:
            changed = True
            if entry.trigger is not None:
                entry.trigger.close()
        if changed and self._started:
            self._start_triggers()
        return changed

    @property
    def watching(self) -> bool:
        """True when :meth:`servers_may_have_changed` has a directory to look at."""
        return self._watch_dir is not None

    def servers_may_have_changed(self) -> bool:
        """True when the watched directory changed since the last call (one ``stat``).

        A socket created by a new server, or removed by ``kill-server``, changes the
        directory's modification time: a stat every half second finds a new server well
        within a second at no measurable cost, with no thread of its own.
        """
        if self._watch_dir is None:
            return False
        mtime = socket_dir_mtime(self._watch_dir)
        if mtime == self._watch_mtime:
            return False
        self._watch_mtime = mtime
        return True

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start a change trigger for every server (and for servers added later)."""
        self._started = True
        self._start_triggers()

    def close(self) -> None:
        """Stop every change trigger; idempotent."""
        self._started = False
        with self._lock:
            entries = list(self._entries.values())
        for entry in entries:
            if entry.trigger is not None:
                entry.trigger.close()
                entry.trigger = None

    def _start_triggers(self) -> None:
        if self._trigger_factory is None:
            return
        with self._lock:
            entries = [e for e in self._entries.values() if e.trigger is None]
        for entry in entries:
            try:
                entry.trigger = self._trigger_factory(entry.mux, self.on_change)
            except SessiontuiError as error:
                _log.debug("no change trigger for %s: %s", entry.mux.server, error)
                continue
            if entry.trigger is not None:
                entry.trigger.start()

    # -- polling -------------------------------------------------------------------------

    def poll(self) -> MuxPoll:
        """Poll every server once (one cheap ``list-panes`` each).

        A server that does not answer but whose socket still accepts connections (stopped,
        overloaded) keeps its last-known panes with the health note ``server unreachable``;
        one whose socket is dead has no panes (a discovered one is dropped at the next
        :meth:`refresh_servers`).

        Returns:
            The panes and health of every server.
        """
        panes: list[PaneInfo] = []
        health: dict[str, str] = {}
        unreachable: set[str] = set()
        with self._lock:
            entries = list(self._entries.items())
        for key, entry in entries:
            try:
                fresh = tuple(entry.mux.list_panes())
            except MuxUnavailable as error:
                if entry.reached and entry.mux.answers():
                    entry.health = UNREACHABLE
                    unreachable.add(key)
                    panes.extend(entry.panes)
                else:
                    entry.panes = ()
                    was = entry.reached
                    entry.reached = False
                    entry.health = (
                        f"{_kind_label(entry.mux, key)} not running ({error})"
                        if entry.required or was
                        else None
                    )
            except SessiontuiError as error:
                entry.health = f"{_kind_label(entry.mux, key)}: {error}"
                panes.extend(entry.panes)
            else:
                kind = entry.mux.type
                entry.panes = tuple(
                    p if p.server and p.mux_type == kind else _with_server(p, key, kind)
                    for p in fresh
                )
                entry.reached = True
                entry.health = None
                panes.extend(entry.panes)
            if entry.health == UNREACHABLE:
                health[key] = f"{_kind_label(entry.mux, key)} unreachable"
            elif entry.health is not None:
                health[key] = entry.health
        return MuxPoll(panes=tuple(panes), health=health, unreachable=frozenset(unreachable))

    def locate(self, pid: int, panes: Sequence[PaneInfo]) -> PaneInfo | None:
        """Return the pane of any server in which process ``pid`` runs, or ``None``.

        Each server is asked about its own panes only; a process's ``$TMUX`` names at most
        one of them, and pane PIDs and terminals are unique on the machine, so at most one
        server answers.
        """
        by_server: dict[str, list[PaneInfo]] = {}
        for pane in panes:
            by_server.setdefault(server_key(pane.server), []).append(pane)
        with self._lock:
            entries = list(self._entries.items())
        # Zellij first: a Zellij session started from a tmux pane hands that pane's $TMUX and
        # $TMUX_PANE down to every pane process, while a Zellij match needs the process to
        # descend from the Zellij server (the innermost multiplexer wins).
        entries.sort(key=lambda item: item[1].mux.type != "zellij")
        for key, entry in entries:
            own = by_server.get(key)
            if not own:
                continue
            found = entry.mux.locate(pid, own)
            if found is not None:
                return found
        return None


def _kind_label(mux: Multiplexer, server: str) -> str:
    """How messages name a server: ``tmux server work`` or ``zellij``."""
    return "zellij" if mux.type == "zellij" else f"tmux server {_label(server)}"


def _label(server: str) -> str:
    """A short name for a server in messages: the socket's file name."""
    return Path(server).name or server


def _with_server(pane: PaneInfo, server: str, kind: str) -> PaneInfo:
    """``pane`` with its ``server`` and ``mux_type`` filled in (a backend that left them)."""
    from dataclasses import replace

    return replace(pane, server=pane.server or server, mux_type=kind)


def socket_dir_mtime(directory: Path) -> int | None:
    """``st_mtime_ns`` of a socket directory (changes when a socket appears or goes), or None."""
    try:
        return directory.stat().st_mtime_ns
    except OSError:
        return None
