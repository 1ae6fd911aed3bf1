"""The one interface the UI and the CLI use to see and act on sessions (the service seam).

:class:`~sessiontui.model.monitor.Monitor` implements it for this machine; a remote host or a
hub of several services can implement it too. Neither the UI nor the CLI touches a multiplexer
or a session source: they read snapshots and call these verbs, from worker threads (every verb
may block on an external program), and show the :class:`~sessiontui.errors.SessiontuiError`
messages the verbs raise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from sessiontui.model.navigation import JumpHistory
    from sessiontui.model.processes import KillReport
    from sessiontui.model.prompts import Answer
    from sessiontui.model.types import Session, Snapshot, SnapshotChange

__all__ = ["AttachPlan", "SessionService"]


@dataclass(frozen=True, slots=True)
class AttachPlan:
    """How to show a session to the user.

    Attributes:
        switched: True when it was done inside tmux: our client switched to the pane, or a
            popup/window opened on it for a Claude background job (nothing left to do).
        argv: Otherwise the command to run in the terminal (the UI suspends itself around it).
        env: Environment for ``argv`` (``TMUX`` removed so a nested attach is allowed).
    """

    switched: bool
    argv: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


class SessionService(Protocol):
    """What the UI and the CLI may ask of the model (SPEC 3, 4, 6).

    Reads (:attr:`snapshot`, :meth:`subscribe`) are safe from any thread; verbs block and
    belong in worker threads. Every verb raises
    :class:`~sessiontui.errors.SessiontuiError` subclasses with messages fit for the user
    (:class:`~sessiontui.errors.TargetNotFound` when the key is gone,
    :class:`~sessiontui.errors.NotApplicable` when the verb does not apply to the row).
    """

    @property
    def snapshot(self) -> Snapshot:
        """The latest published snapshot."""
        ...

    @property
    def previous_key(self) -> str | None:
        """The session attached before the last one (``tab`` goes back to it)."""
        ...

    @property
    def jumps(self) -> JumpHistory:
        """Where the user jumped (``w``, ``tab``, ``1``-``9``): one algorithm for TUI and CLI."""
        ...

    def subscribe(self, callback: Callable[[SnapshotChange], None]) -> None:
        """Call ``callback(change)`` (from a model thread) after every change."""
        ...

    def unsubscribe(self, callback: Callable[[SnapshotChange], None]) -> None:
        """Stop calling ``callback``."""
        ...

    def refresh(self) -> Snapshot:
        """Read every source and server once, synchronously, and publish."""
        ...

    def start(self) -> None:
        """Start watching (threads); :meth:`close` stops."""
        ...

    def close(self) -> None:
        """Stop every thread and child process the service started; idempotent."""
        ...

    def request_rescan(self, *, poll_tmux: bool = False) -> None:
        """Ask for a rescan of the sources (and a poll of every server) soon."""
        ...

    def attach(self, key: str) -> AttachPlan:
        """Show the session to the user (switch our client, or plan a command to run)."""
        ...

    def attach_here(self, key: str) -> AttachPlan:
        """Like :meth:`attach`, but a Claude background job runs in our own terminal."""
        ...

    def detach(self, key: str, *, keep_own: bool = False) -> int:
        """Detach the session's clients (or viewers), ``keep_own``: not ours; return how many."""
        ...

    def detach_takes_own_client(self, key: str) -> bool:
        """True when detaching ``key`` would detach the client sessiontui is shown in."""
        ...

    def rename(self, key: str, name: str) -> None:
        """Rename the session (registry name, names store, its own multiplexer session)."""
        ...

    def kill(
        self, key: str, *, grace_s: float | None = None, delete_data: bool = False
    ) -> KillReport:
        """End the session's process tree (SIGTERM, ``grace_s`` seconds, SIGKILL).

        ``delete_data``: also delete what the multiplexer keeps of a background session
        sessiontui made (see :meth:`leaves_resurrection_data`).
        """
        ...

    def leaves_resurrection_data(self, session: Session) -> bool:
        """True when killing ``session`` leaves resurrection data ``delete_data`` deletes."""
        ...

    def dismiss(self, key: str) -> None:
        """Forget a dead session (delete its ``<pid>.json`` after re-checking it is dead).

        An exited multiplexer session of ours (``mux.exited``) is deleted instead.
        """
        ...

    def new_session(
        self, name: str, command: Sequence[str], cwd: str | None = None, *, mux: str = "tmux"
    ) -> str:
        """Start a detached background session running ``command``; return its id."""
        ...

    def new_session_muxes(self) -> tuple[str, ...]:
        """The multiplexer kinds a new session can go to now (``tmux``, ``zellij``).

        The kind we run inside comes first; empty when none is in view.
        """
        ...

    def preview(self, key: str, lines: int) -> str:
        """The last ``lines`` lines of the session's pane as plain (untrusted) text."""
        ...

    def send(self, key: str, text: str) -> None:
        """Type a one-line reply into the session's own pane, then Enter (key ``s``).

        Refused (nothing sent) while the pane shows a permission box, or when the pane no
        longer holds the session's process.
        """
        ...

    def approve(self, key: str) -> Answer:
        """Choose the "Yes" option of the permission box a fresh capture of the pane shows."""
        ...

    def deny(self, key: str) -> Answer:
        """Choose the "No" option of the permission box a fresh capture of the pane shows."""
        ...

    def interrupt(self, key: str) -> bool:
        """Press the agent's interrupt key (Escape) if its pane shows a running turn.

        Returns True when the turn stopped within a short confirmation time.
        """
        ...

    def leave(self) -> None:
        """Take our own client away from the ``--bg`` monitor's session (back to its last)."""
        ...

    def use_client(self, client_tty: str) -> None:
        """Act for the tmux client on ``client_tty`` (a key binding passed ``#{client_tty}``)."""
        ...

    def next_waiting(self) -> Session | None:
        """The next session waiting for input after the last one jumped to (cycling)."""
        ...
