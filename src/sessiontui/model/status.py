"""The :class:`Status` of a session (SPEC 3), apart from the dataclass model.

:mod:`sessiontui.model.types` re-exports it; it lives here so that a reader that must start
fast (``sessiontui status`` answered from a running monitor's summary) needs only ``enum``.
"""

from __future__ import annotations

import enum

__all__ = ["Status"]


class Status(enum.StrEnum):
    """What a session is doing (SPEC 3). The string values are the ``ls --json`` values."""

    WAITING = "waiting"
    BUSY = "busy"
    SHELL = "shell"
    IDLE = "idle"
    UNKNOWN = "unknown"
    DEAD = "dead"

    @property
    def sort_rank(self) -> int:
        """Position in the table: waiting first, then busy, idle (and shell), unknown, dead."""
        return _SORT_RANK[self]


_SORT_RANK: dict[Status, int] = {
    Status.WAITING: 0,
    Status.BUSY: 1,
    Status.SHELL: 2,
    Status.IDLE: 2,
    Status.UNKNOWN: 3,
    Status.DEAD: 4,
}
