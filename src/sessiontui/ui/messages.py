"""Messages the UI posts to itself from the monitor thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from sessiontui.model.types import Snapshot


class SnapshotChanged(Message):
    """A new model snapshot is available; a newer one replaces a queued older one.

    The table diffs against what it shows, so dropping an intermediate snapshot loses nothing.
    """

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        """Coalesce a burst: a queued older snapshot is superseded by this one."""
        return isinstance(message, SnapshotChanged)
