"""Process exit notifications without polling: one pidfd per watched process, one epoll thread.

Linux 5.3+ (``pidfd_open(2)``) lets a process wait for the exit of any process it may see,
child or not: the pidfd turns readable when the process ends. sessiontui watches every live
agent this way, so a SIGKILLed agent turns dead at once instead of at the next CPU sample, and
the samples of idle agents can be rare. Where pidfds are missing (other systems, old kernels,
a seccomp filter) :meth:`ExitWatcher.watch` returns ``False`` and the caller keeps polling.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
from typing import TYPE_CHECKING

from sessiontui.model.processes import read_proc_start

if TYPE_CHECKING:
    from collections.abc import Callable

_log = logging.getLogger(__name__)

#: Most processes watched at once (one file descriptor each); beyond it, callers poll.
MAX_WATCHED: int = 1024


class ExitWatcher:
    """Calls back when watched processes exit (a daemon thread blocked in ``epoll_wait``).

    Args:
        on_exit: Called from the watcher thread with the PIDs that ended, as a set of ints.
            It must be quick and thread-safe (the monitor only records them and wakes up).
        limit: Most processes watched at once.

    Use :meth:`start` once and :meth:`close` at the end; :meth:`watch` and :meth:`unwatch`
    may be called from any thread.
    """

    def __init__(self, on_exit: Callable[[set[int]], None], *, limit: int = MAX_WATCHED) -> None:
        self._on_exit = on_exit
        self._limit = limit
        self._lock = threading.Lock()
        self._fds: dict[int, int] = {}  # pid -> pidfd
        self._pids: dict[int, int] = {}  # pidfd -> pid
        self._epoll: select.epoll | None = None
        self._wake_r = self._wake_w = -1
        self._thread: threading.Thread | None = None
        self._closed = False
        self.supported = hasattr(os, "pidfd_open") and hasattr(select, "epoll")
        """``False`` when this system has no pidfds: :meth:`watch` always returns ``False``."""

    def start(self) -> None:
        """Start the watcher thread (a no-op when pidfds are not supported)."""
        if not self.supported or self._thread is not None:
            return
        try:
            self._epoll = select.epoll()
            self._wake_r, self._wake_w = os.pipe()
            self._epoll.register(self._wake_r, select.EPOLLIN)
        except OSError as error:
            _log.info("exit watcher unavailable: %s", error)
            self.supported = False
            return
        self._thread = threading.Thread(target=self._run, name="sessiontui-exits", daemon=True)
        self._thread.start()

    def watch(self, pid: int, proc_start: str | None) -> bool:
        """Watch ``pid`` for its exit; return whether it is watched now.

        Args:
            pid: Process id.
            proc_start: The start time the process must have (``/proc/<pid>/stat`` field 22
                as a decimal string), checked *after* the pidfd is open so a reused PID is
                never watched in place of the agent; ``None`` skips the check.

        Returns:
            ``True`` when the process is (already) watched; ``False`` when it is gone, is
            another process than ``proc_start`` says, pidfds are unsupported, the thread is
            not running, or :data:`MAX_WATCHED` is reached (the caller must then poll).
        """
        with self._lock:
            if pid in self._fds:
                return True
            if self._epoll is None or self._closed or len(self._fds) >= self._limit:
                return False
            try:
                fd = os.pidfd_open(pid)
            except OSError:
                return False
            actual = read_proc_start(pid)
            if actual is None or (proc_start is not None and actual != proc_start.strip()):
                os.close(fd)
                return False
            try:
                self._epoll.register(fd, select.EPOLLIN)
            except OSError:
                os.close(fd)
                return False
            self._fds[pid] = fd
            self._pids[fd] = pid
            return True

    def unwatch(self, pid: int) -> None:
        """Stop watching ``pid`` (unknown PIDs are ignored)."""
        with self._lock:
            fd = self._fds.pop(pid, None)
            if fd is None:
                return
            self._pids.pop(fd, None)
            self._drop(fd)

    def watching(self, pid: int) -> bool:
        """True while ``pid`` is watched (its exit will be reported)."""
        with self._lock:
            return pid in self._fds

    def close(self) -> None:
        """Stop the thread and close every descriptor (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for fd in self._pids:
                self._drop(fd)
            self._fds.clear()
            self._pids.clear()
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if self._epoll is not None:
            self._epoll.close()

    def _drop(self, fd: int) -> None:
        """Unregister and close one pidfd (lock held)."""
        if self._epoll is not None:
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(fd)
        with contextlib.suppress(OSError):
            os.close(fd)

    def _run(self) -> None:
        """Thread body: wait for pidfds to turn readable; report their PIDs."""
        epoll = self._epoll
        assert epoll is not None
        while True:
            try:
                ready = epoll.poll()
            except InterruptedError:
                continue
            except (OSError, ValueError):  # closed under us
                return
            ended: set[int] = set()
            with self._lock:
                if self._closed:
                    return
                for fd, _mask in ready:
                    pid = self._pids.pop(fd, None)
                    if pid is None:
                        continue  # the wake pipe, or a pidfd unwatched meanwhile
                    self._fds.pop(pid, None)
                    self._drop(fd)
                    ended.add(pid)
            if ended:
                try:
                    self._on_exit(ended)
                except Exception:  # a callback bug must not end exit reporting
                    _log.exception("exit watcher: callback failed")
