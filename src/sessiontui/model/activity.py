"""Per-session activity history for the sparkline: time busy and CPU use per time bucket."""

from __future__ import annotations

from dataclasses import dataclass, field

from sessiontui.model.types import Status

#: Default bucket width, seconds (one minute).
BUCKET_S = 60.0
#: Default number of buckets kept (30 minutes at one minute each).
BUCKETS = 30


@dataclass(slots=True)
class _History:
    """Mutable accumulator for one session (owned by :class:`ActivityTracker`)."""

    values: dict[int, float] = field(default_factory=dict)  # bucket index -> activity 0..1
    last_time: float | None = None
    last_busy: bool = False


class ActivityTracker:
    """Turns status and CPU samples into a fixed-length activity series per session.

    A bucket's value is the larger of (a) the fraction of the bucket during which the session
    was ``busy`` and (b) its CPU use averaged over the samples in the bucket, as a fraction of
    one core, clipped to 1.0. Only what sessiontui has seen since it started is known: earlier
    buckets are 0.0. Transcript-based history comes from a separate source later.

    Not thread-safe: the store calls it from its one worker thread.

    Args:
        bucket_s: Bucket width in seconds.
        buckets: Number of buckets returned by :meth:`series`.
    """

    def __init__(self, *, bucket_s: float = BUCKET_S, buckets: int = BUCKETS) -> None:
        self._bucket_s = bucket_s
        self._buckets = buckets
        self._histories: dict[str, _History] = {}
        self._zeros: tuple[float, ...] = (0.0,) * buckets
        self.revision = 0
        """Incremented whenever a stored value changes (lets callers skip rebuilding)."""

    def record(self, key: str, now: float, status: Status, cpu_percent: float) -> None:
        """Add one sample for session ``key`` taken at ``now`` (seconds since the epoch).

        The time since the previous sample is credited as busy to the buckets it spans when
        the previous sample was busy; ``cpu_percent`` (percent of one core) raises the current
        bucket's value to at least ``cpu_percent / 100``.
        """
        history = self._histories.setdefault(key, _History())
        if history.last_time is not None and history.last_busy and now > history.last_time:
            self._credit_busy(history, history.last_time, now)
        history.last_time = now
        history.last_busy = status is Status.BUSY
        index = int(now // self._bucket_s)
        cpu_share = min(1.0, max(0.0, cpu_percent / 100.0))
        if cpu_share > history.values.get(index, 0.0):
            history.values[index] = cpu_share
            self.revision += 1
        self._trim(history, index)

    def _credit_busy(self, history: _History, start: float, end: float) -> None:
        """Add the busy span ``[start, end)`` (seconds) to the buckets it covers."""
        t = start
        while t < end:
            index = int(t // self._bucket_s)
            bucket_end = (index + 1) * self._bucket_s
            span = min(end, bucket_end) - t
            history.values[index] = min(1.0, history.values.get(index, 0.0) + span / self._bucket_s)
            self.revision += 1
            t = bucket_end

    def _trim(self, history: _History, current: int) -> None:
        """Drop buckets older than the window ending at bucket index ``current``."""
        oldest = current - self._buckets + 1
        for index in [i for i in history.values if i < oldest]:
            del history.values[index]

    def bucket(self, now: float) -> int:
        """Index of the bucket holding ``now``; the series shift when it changes."""
        return int(now // self._bucket_s)

    def series(self, key: str, now: float) -> tuple[float, ...]:
        """Return ``buckets`` values in ``[0, 1]``, oldest first; the last bucket holds ``now``."""
        history = self._histories.get(key)
        if history is None:
            return self._zeros  # one shared tuple: cheap to build and to compare (``is``)
        current = int(now // self._bucket_s)
        return tuple(
            history.values.get(index, 0.0)
            for index in range(current - self._buckets + 1, current + 1)
        )

    def knows(self, key: str) -> bool:
        """True when session ``key`` has a history (it was sampled since it was last forgotten)."""
        return key in self._histories

    def forget(self, keep: set[str]) -> None:
        """Drop the history of every session whose key is not in ``keep``."""
        for key in [k for k in self._histories if k not in keep]:
            del self._histories[key]
