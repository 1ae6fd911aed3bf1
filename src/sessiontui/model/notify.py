"""Decide when a session that waits for input deserves a bell and a notification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sessiontui.model.types import Session, Snapshot


@dataclass(slots=True)
class _Wait:
    """One continuous wait of one session."""

    since: float
    notified: bool = False


class WaitingNotifier:
    """Tracks waits and says, once per wait, which sessions have waited ``delay_s`` seconds.

    A wait starts when a session is first seen ``waiting`` and ends when it is seen in any
    other status (or disappears); a new wait may then notify again. The session the user is
    looking at (``focused_key``) is never announced, and a wait that started while it was
    focused is treated as seen.

    Args:
        delay_s: How long a session must stay waiting before it is announced, seconds.
    """

    def __init__(self, delay_s: float = 2.0) -> None:
        self.delay_s = delay_s
        self._waits: dict[str, _Wait] = {}

    def observe(self, snapshot: Snapshot, now: float, focused_key: str | None = None) -> None:
        """Update the waits from a snapshot taken at ``now`` (seconds, any monotonic clock)."""
        waiting = {s.key for s in snapshot.waiting()}
        for key in [k for k in self._waits if k not in waiting]:
            del self._waits[key]
        for key in waiting:
            if key not in self._waits:
                self._waits[key] = _Wait(since=now, notified=key == focused_key)

    def due(self, snapshot: Snapshot, now: float, focused_key: str | None = None) -> list[Session]:
        """Sessions to announce now; each is marked notified so it is never returned twice."""
        out: list[Session] = []
        for session in snapshot.waiting():
            wait = self._waits.get(session.key)
            if wait is None or wait.notified:
                continue
            if session.key == focused_key:
                wait.notified = True
                continue
            if now - wait.since >= self.delay_s:
                wait.notified = True
                out.append(session)
        return out

    def next_deadline(self) -> float | None:
        """The earliest time a pending wait becomes due, or ``None``."""
        pending = [w.since + self.delay_s for w in self._waits.values() if not w.notified]
        return min(pending) if pending else None
