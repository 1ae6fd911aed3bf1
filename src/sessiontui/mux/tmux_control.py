"""tmux control mode as a change trigger: one ``tmux -C`` client per server (SPEC 2.4).

A control client prints a line for every notification (``%sessions-changed``,
``%window-add``, ``%layout-change``, ``%unlinked-window-close`` …; tmux 3.3a
``control-notify.c``). They are not a complete source (most cover only the session the control
client is attached to), so each one only asks the model for a cheap ``list-panes`` poll.

The client attaches with ``-f ignore-size,no-output,read-only`` (tmux 3.2+): it never resizes
a window, receives no pane output and cannot change anything. It still counts as an attached
client in ``#{session_attached}``; every client count and "our client" choice in sessiontui
excludes ``#{client_control_mode}`` = 1.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import threading
from typing import TYPE_CHECKING

from sessiontui.mux.tmux import child_env

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["ControlModeTrigger"]

_log = logging.getLogger(__name__)

#: Control-mode lines that are replies to commands, not notifications.
_REPLY_PREFIXES: tuple[bytes, ...] = (
    b"%begin",
    b"%end",
    b"%error",
    b"%output",
    b"%extended-output",
)


class ControlModeTrigger:
    """Runs ``tmux -C attach-session`` on one server and calls ``on_change`` per notification.

    The reader thread restarts the control client with a growing delay (``retry_s`` doubling up
    to ``max_retry_s``) when it ends: the attached session was killed, the server restarted, or
    the server had no session yet. ``on_change`` is called (from the reader thread) for every
    notification line and whenever a client (re)connects; it must be cheap and thread-safe
    (the monitor only sets a flag).

    Args:
        tmux_argv: The tmux executable and its server arguments, e.g.
            ``["/usr/bin/tmux", "-S", "/tmp/tmux-1000/work"]``.
        on_change: Called with no arguments when something may have changed.
        retry_s: First delay before restarting an ended control client, in seconds.
        max_retry_s: Longest such delay, in seconds.
    """

    def __init__(
        self,
        tmux_argv: Sequence[str],
        on_change: Callable[[], None],
        *,
        retry_s: float = 0.5,
        max_retry_s: float = 30.0,
    ) -> None:
        self._argv = [
            *tmux_argv,
            "-C",
            "attach-session",
            "-f",
            "ignore-size,no-output,read-only",
        ]
        self._on_change = on_change
        self._retry_s = retry_s
        self._max_retry_s = max_retry_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.notifications = 0
        """How many notification lines have been read (for tests and benchmarks)."""
        self.connected = threading.Event()
        """Set while a control client is attached."""

    def start(self) -> None:
        """Start the reader thread (idempotent)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name="sessiontui-tmux-control", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop the control client and the reader thread; idempotent."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            proc = self._proc
        if proc is not None:
            with contextlib.suppress(OSError):
                proc.kill()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def kick(self) -> None:
        """Retry a waiting connection at once (e.g. a new session appeared)."""
        self._wake.set()

    def _run(self) -> None:
        """Reader loop: connect, read notifications until EOF, wait, reconnect."""
        delay = self._retry_s
        while not self._stop.is_set():
            read_any = self._session()
            if self._stop.is_set():
                return
            delay = self._retry_s if read_any else min(delay * 2, self._max_retry_s)
            self._wake.wait(delay)
            self._wake.clear()

    def _session(self) -> bool:
        """Run one control client until it ends; True when it attached and read something."""
        try:
            proc = subprocess.Popen(
                self._argv,
                stdin=subprocess.PIPE,  # kept open: EOF on stdin ends a control client
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=child_env(),
                start_new_session=True,
            )
        except OSError as error:
            _log.debug("tmux control mode: cannot start: %s", error)
            return False
        with self._lock:
            self._proc = proc
        if self._stop.is_set():
            proc.kill()
        read_any = False
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if line.startswith(_REPLY_PREFIXES):
                    if not read_any and line.startswith(b"%end"):
                        read_any = True  # the attach itself succeeded
                        self.connected.set()
                        self._on_change()
                    continue
                if line.startswith(b"%exit"):
                    # The client ended. Before any ``%end`` the attach failed (a server
                    # with no session answers ``%begin``/``no sessions``/``%error``/
                    # ``%exit``): not a change, or every retry would ask for a poll.
                    break
                if line.startswith(b"%"):
                    read_any = True
                    self.connected.set()
                    self.notifications += 1
                    self._on_change()
        except (OSError, ValueError):
            pass
        finally:
            self.connected.clear()
            with contextlib.suppress(OSError):
                proc.kill()
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                proc.wait(timeout=2.0)
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            with self._lock:
                self._proc = None
        if read_any:
            self._on_change()  # it ended: the server or session may be gone
        return read_any
