"""When to capture the selected session's pane for the preview: often while it changes."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Seconds between captures of a pane whose text is changing or whose agent is busy (a new
#: selection or a status change is captured at the next tick of the preview timer).
PREVIEW_INTERVAL_S = 5.0
#: Longest wait between captures of a quiet pane (its text unchanged, its agent not busy).
PREVIEW_MAX_INTERVAL_S = 60.0


@dataclass(slots=True)
class PreviewPacer:
    """Backs off the pane captures of a quiet session, doubling up to ``max_s``.

    The preview is a ``capture-pane`` (or Zellij ``dump-screen``) every few seconds, the
    largest share of an idle sessiontui's tmux commands. A pane whose text did not change
    since the last capture is asked again after twice the last wait (5, 10, 20, 40, 60 s); a new
    selection, a status change, a busy agent or a changed text go back to ``base_s``.

    Args:
        base_s: Shortest wait between captures, seconds.
        max_s: Longest wait, seconds.
    """

    base_s: float = PREVIEW_INTERVAL_S
    max_s: float = PREVIEW_MAX_INTERVAL_S
    _state: tuple[object, ...] | None = field(default=None, init=False)
    _due: float = field(default=0.0, init=False)
    _wait: float = field(default=0.0, init=False)
    _text: str | None = field(default=None, init=False)

    def due(self, state: tuple[object, ...], now: float, *, busy: bool) -> bool:
        """True when the pane should be captured now.

        Args:
            state: What identifies the shown pane and its session's state, e.g.
                ``(key, status)``; any change makes a capture due at once.
            now: Monotonic seconds.
            busy: The agent is working: capture at every ``base_s``.
        """
        if state != self._state:
            self._state, self._wait, self._due = state, self.base_s, now
        if busy:
            self._wait = self.base_s
            return True
        return now >= self._due

    def captured(self, text: str | None, now: float) -> None:
        """Record a capture's text taken at ``now`` (monotonic seconds); set the next one."""
        if text == self._text:
            self._wait = min(self.max_s, max(self.base_s, self._wait * 2))
        else:
            self._text, self._wait = text, self.base_s
        self._due = now + self._wait
