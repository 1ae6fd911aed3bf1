"""Coalesce waiting sessions into desktop notifications: one per session per minute, bursts summed.

The policy only; the bytes and programs that deliver a notification are in
:mod:`sessiontui.desktop`. The UI feeds it the sessions :class:`~sessiontui.model.notify.
WaitingNotifier` says are due (so the configured delay and the "never for the focused session"
rule apply first) and asks it, now and at :meth:`DesktopNotifier.next_deadline`, for the notice
to send.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sessiontui.model.text import strip_controls

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable

    from sessiontui.model.types import Session

#: Seconds during which a session is not announced again on the desktop.
PER_SESSION_S: float = 60.0

#: Seconds the first due session waits for others to join its summary.
BURST_S: float = 1.5

#: Longest name shown in a notification, characters.
NAME_MAX_CHARS: int = 60

#: Longest notification body, characters.
BODY_MAX_CHARS: int = 240

#: Names listed in a summary; more are counted, not named.
SUMMARY_MAX_NAMES: int = 5

#: The notification title.
TITLE: str = "Waiting for you"


@dataclass(frozen=True, slots=True)
class DesktopNotice:
    """One desktop notification to send.

    Attributes:
        title: Short title, control characters already removed.
        body: The text, control characters already removed, at most :data:`BODY_MAX_CHARS`.
        keys: The session keys it announces, in the order they became due.
    """

    title: str
    body: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Pending:
    key: str
    name: str
    why: str


class DesktopNotifier:
    """Rate-limits and batches due sessions into :class:`DesktopNotice` values.

    A session offered while it was announced less than ``per_session_s`` ago is dropped. The
    first accepted session opens a window of ``burst_s``; everything accepted until it closes
    goes into the same notice ("3 sessions are waiting: a, b, c"). At flush, sessions that are
    no longer waiting, or that the user is now looking at, are left out.

    Args:
        clock: Monotonic clock, seconds (tests inject a fake one).
        per_session_s: Minimum seconds between two notices naming the same session.
        burst_s: Seconds a batch stays open after its first session, ``>= 0``.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        per_session_s: float = PER_SESSION_S,
        burst_s: float = BURST_S,
    ) -> None:
        self.clock = clock
        self.per_session_s = per_session_s
        self.burst_s = burst_s
        self._pending: list[_Pending] = []
        self._opened_at: float | None = None
        self._last_sent: dict[str, float] = {}

    def offer(self, sessions: Iterable[Session]) -> None:
        """Queue sessions that just became due (already past the waiting delay)."""
        now = self.clock()
        for key in [k for k, t in self._last_sent.items() if now - t >= self.per_session_s]:
            del self._last_sent[key]
        queued = {p.key for p in self._pending}
        for session in sessions:
            if session.key in queued or session.key in self._last_sent:
                continue
            if self._opened_at is None:
                self._opened_at = now
            name = strip_controls(session.name, max_len=NAME_MAX_CHARS) or "a session"
            if session.host is not None:  # remote rows name their host (SPEC 2.7)
                name = f"{name} on {strip_controls(session.host, max_len=NAME_MAX_CHARS)}"
            why = strip_controls(session.waiting_for or "", max_len=NAME_MAX_CHARS)
            self._pending.append(_Pending(session.key, name, why))
            queued.add(session.key)

    def flush(
        self, focused_key: str | None = None, waiting_keys: Collection[str] | None = None
    ) -> DesktopNotice | None:
        """The notice to send now, once the batch window has closed; else ``None``.

        Args:
            focused_key: The session on the user's screen; left out of the notice.
            waiting_keys: Sessions waiting now (``None``: do not check); others are left out.

        Returns:
            The notice (its sessions are then rate-limited for ``per_session_s``), or ``None``
            while the window is open, when nothing is queued, or when nobody is left.
        """
        if self._opened_at is None:
            return None
        now = self.clock()
        if now < self._opened_at + self.burst_s:
            return None
        batch = [
            p
            for p in self._pending
            if p.key != focused_key and (waiting_keys is None or p.key in waiting_keys)
        ]
        self._pending = []
        self._opened_at = None
        if not batch:
            return None
        for item in batch:
            self._last_sent[item.key] = now
        return DesktopNotice(TITLE, _body(batch), tuple(p.key for p in batch))

    def next_deadline(self) -> float | None:
        """When the open batch closes (clock seconds), or ``None`` when nothing is queued."""
        return None if self._opened_at is None else self._opened_at + self.burst_s


def _body(batch: list[_Pending]) -> str:
    """``"a is waiting (why)"`` for one session, ``"3 sessions are waiting: a, b, c"`` else."""
    if len(batch) == 1:
        item = batch[0]
        text = f"{item.name} is waiting" + (f" ({item.why})" if item.why else "")
    else:
        names = ", ".join(p.name for p in batch[:SUMMARY_MAX_NAMES])
        more = len(batch) - SUMMARY_MAX_NAMES
        text = f"{len(batch)} sessions are waiting: {names}" + (
            f" and {more} more" if more > 0 else ""
        )
    return strip_controls(text, max_len=BODY_MAX_CHARS)
