"""Which transcripts are streaming: appended to at read after read, so read on a timer instead.

A Claude Code session at work appends to its transcript many times a second, and every append
is an inotify event that watchdog's threads hand on one by one. Once a file has grown at
``streak`` reads in a row, each within ``gap_s`` of the one before, it is *streaming*: the
monitor stops watching its folder and reads the folder's transcripts every
:data:`STREAM_POLL_S` instead. A streaming file that has not grown for ``cool_s`` is not
streaming any more (its folder is watched again). Pure bookkeeping: no threads, no I/O.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["STREAM_POLL_S", "StreamingFiles"]

#: Seconds between two reads of the transcripts in a folder that is not watched because one of
#: them is streaming (bounds the extra delay of an append there; the target for an append to
#: reach the screen is 150 ms: p95 129 ms at 0.15 with every transcript streaming, against
#: 2.4 % of a core at 0.1 for ten transcripts growing at 50 KB/s; benchmarks/README.md).
STREAM_POLL_S = 0.15

#: Reads in a row that found new bytes, each within ``gap_s`` of the one before: streaming.
STREAM_STREAK = 3
#: Seconds (monotonic) between two growing reads that still count as one streak.
STREAM_GAP_S = 0.3
#: Seconds (monotonic) without growth after which a streaming file is not streaming any more.
STREAM_COOL_S = 0.5


class StreamingFiles:
    """Tells which files are streaming from the outcome of each read.

    Args:
        streak: Growing reads in a row that make a file streaming.
        gap_s: Most seconds between two growing reads of one streak.
        cool_s: Seconds without growth after which a file stops streaming.
    """

    def __init__(
        self,
        *,
        streak: int = STREAM_STREAK,
        gap_s: float = STREAM_GAP_S,
        cool_s: float = STREAM_COOL_S,
    ) -> None:
        self.streak = streak
        self.gap_s = gap_s
        self.cool_s = cool_s
        self._streaks: dict[Path, tuple[int, float]] = {}  # path → (growing reads, last at)
        self._streaming: dict[Path, float] = {}  # path → last growth (monotonic seconds)

    @property
    def paths(self) -> frozenset[Path]:
        """The files streaming now."""
        return frozenset(self._streaming)

    def note(self, path: Path, *, grew: bool, now: float) -> None:
        """Record one read of ``path``.

        Args:
            path: The file read.
            grew: Whether the read found new bytes (or the file was rewritten).
            now: When, monotonic seconds.
        """
        if grew:
            if path in self._streaming:
                self._streaming[path] = now
                return
            count, last = self._streaks.get(path, (0, -math.inf))
            count = count + 1 if now - last <= self.gap_s else 1
            if count >= self.streak:
                self._streaks.pop(path, None)
                self._streaming[path] = now
            else:
                self._streaks[path] = (count, now)
            return
        self._streaks.pop(path, None)
        last_growth = self._streaming.get(path)
        if last_growth is not None and now - last_growth >= self.cool_s:
            del self._streaming[path]

    def cool(self, now: float) -> None:
        """Forget the files that stopped streaming or whose streak broke off (not read since).

        Args:
            now: Monotonic seconds.
        """
        for path in [p for p, at in self._streaming.items() if now - at >= self.cool_s]:
            del self._streaming[path]
        for path in [p for p, (_, at) in self._streaks.items() if now - at > self.gap_s]:
            del self._streaks[path]

    def forget(self, path: Path) -> None:
        """Drop ``path`` (no session follows it any more)."""
        self._streaks.pop(path, None)
        self._streaming.pop(path, None)
