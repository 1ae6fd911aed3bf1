"""Where a jump goes: ``w`` (next waiting), ``tab`` (back), ``1``-``9`` and ``attach --waiting``.

One algorithm for the TUI and the command line. Pure: it reads sessions and remembers keys,
and never calls tmux; the caller attaches the session it returns and reports that with
:meth:`JumpHistory.attached`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sessiontui.model.types import Status

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sessiontui.model.types import Session


def next_waiting(
    sessions: Sequence[Session],
    *,
    shown_pane: tuple[str, str] | None = None,
    last_key: str | None = None,
) -> Session | None:
    """Return the waiting session after the current one, cycling in display order.

    The current one is the waiting session whose pane the user's client shows now
    (``shown_pane``); if none, the one jumped to last (``last_key``) while it still waits;
    if neither, the first waiting session is returned.

    Args:
        sessions: Sessions in display order (e.g. ``Snapshot.sessions``).
        shown_pane: ``(server, %N)``: the pane the user's tmux client shows, or ``None``.
        last_key: Key of the session the previous ``w`` jumped to, or ``None``.

    Returns:
        A waiting session, or ``None`` when no session waits.

    Examples:
        >>> from sessiontui.model.types import Session, Status
        >>> a, b = (Session(key=k, pid=1, agent="claude", name=k, status=Status.WAITING)
        ...         for k in "ab")
        >>> next_waiting([a, b]).key, next_waiting([a, b], last_key="a").key
        ('a', 'b')
        >>> next_waiting([a, b], last_key="b").key
        'a'
    """
    waiting = [s for s in sessions if s.status is Status.WAITING]
    if not waiting:
        return None
    current = next(
        (i for i, s in enumerate(waiting) if shown_pane and s.mux and s.mux.address == shown_pane),
        None,
    )
    if current is None:
        current = next((i for i, s in enumerate(waiting) if s.key == last_key), None)
    return waiting[0] if current is None else waiting[(current + 1) % len(waiting)]


def nth_row(keys: Sequence[str], row: int) -> str | None:
    """Return the key shown in 1-based ``row`` (keys ``1``-``9``), or ``None`` if no such row.

    Examples:
        >>> nth_row(["a", "b"], 2), nth_row(["a", "b"], 3), nth_row(["a"], 0)
        ('b', None, None)
    """
    return keys[row - 1] if 1 <= row <= len(keys) else None


@dataclass(slots=True)
class JumpHistory:
    """The user's recent jumps: what ``tab`` goes back to and where ``w`` cycles from.

    Not thread-safe by itself; one worker at a time jumps (the UI runs jumps in one
    exclusive worker group, the CLI jumps once per process).

    Attributes:
        attached_key: The session most recently attached from here.
        previous_key: The one attached before it (``tab`` goes back to it).
        last_waiting: The session the last ``w`` chose.
    """

    attached_key: str | None = None
    previous_key: str | None = None
    last_waiting: str | None = None

    def attached(self, key: str) -> None:
        """Record that ``key`` was attached (attaching the same one again changes nothing)."""
        if key != self.attached_key:
            self.previous_key, self.attached_key = self.attached_key, key

    def next_waiting(
        self, sessions: Sequence[Session], *, shown_pane: tuple[str, str] | None = None
    ) -> Session | None:
        """:func:`next_waiting` from the last ``w``; remembers the choice for the next one.

        Args:
            sessions: Sessions in display order.
            shown_pane: ``(server, %N)``: the pane the user's client shows now, or ``None``.

        Returns:
            The session to attach, or ``None`` when none waits.
        """
        chosen = next_waiting(sessions, shown_pane=shown_pane, last_key=self.last_waiting)
        if chosen is not None:
            self.last_waiting = chosen.key
        return chosen

    def back(self, sessions: Sequence[Session]) -> Session | None:
        """Return the session ``tab`` goes back to (the one attached before), if it still exists.

        Args:
            sessions: The current sessions.

        Returns:
            That session, or ``None`` (no earlier jump, or it is gone).
        """
        if self.previous_key is None:
            return None
        return next((s for s in sessions if s.key == self.previous_key), None)
