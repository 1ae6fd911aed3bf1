"""Watch the Claude Code session registry with watchdog; report debounced, coalesced changes."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType
    from typing import Self

    from watchdog.observers.api import BaseObserver, ObservedWatch

__all__ = ["RegistryWatcher", "is_session_file_name"]

logger = logging.getLogger(__name__)

#: Session file names (SPEC 2.1): ``^\d+\.json$`` with ASCII digits only.
_SESSION_NAME = re.compile(r"[0-9]+\.json", re.ASCII)

#: Event kinds we ask watchdog for. This keeps IN_OPEN / IN_CLOSE_NOWRITE / IN_ACCESS out of
#: the inotify mask, so our own reads of ``<pid>.json`` never trigger events.
_EVENT_FILTER: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]

#: Upper bound of watch (re)establishment attempts while the path keeps changing under us.
_MAX_ESTABLISH_ATTEMPTS = 64

#: How long :meth:`RegistryWatcher.close` waits for each thread, in seconds.
_JOIN_TIMEOUT_S = 1.0


def is_session_file_name(name: str) -> bool:
    r"""Return True when ``name`` is a registry session file name, ``<pid>.json`` (SPEC 2.1).

    Args:
        name: A bare file name (no directory part).

    Returns:
        True for names matching ``^[0-9]+\.json$`` (ASCII digits; no trailing newline).
    """
    return _SESSION_NAME.fullmatch(name) is not None


def _identity(path: str) -> tuple[int, int] | None:
    """Return ``(st_dev, st_ino)`` of ``path`` (following symlinks), or None if it is gone."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


@dataclass(frozen=True, slots=True)
class _Watched:
    """What is being watched right now.

    Attributes:
        path: Absolute path of the watched directory (the registry or an ancestor).
        next_path: ``None`` when ``path`` is the registry directory itself; else the child of
            ``path`` on the way to it (its creation means we should move closer).
        identity: ``(st_dev, st_ino)`` of ``path`` when the watch was set up.
        watch: watchdog's handle, for ``unschedule``.
    """

    path: str
    next_path: str | None
    identity: tuple[int, int] | None
    watch: ObservedWatch

    @property
    def is_registry(self) -> bool:
        """True when the registry directory itself is watched (not an ancestor)."""
        return self.next_path is None


class _Handler(FileSystemEventHandler):
    """Turns watchdog events of one watch into calls on its :class:`RegistryWatcher`.

    Runs on watchdog's observer thread; only takes the watcher's condition lock briefly.
    """

    def __init__(self, owner: RegistryWatcher, watched: str, next_path: str | None) -> None:
        super().__init__()
        self._owner = owner
        self._watched = watched
        self._next_path = next_path

    def dispatch(self, event: FileSystemEvent) -> None:
        """Handle one event: note session-file names, or ask for the watch to be re-established."""
        paths = [os.fsdecode(event.src_path)]
        if event.dest_path:
            paths.append(os.fsdecode(event.dest_path))
        if self._next_path is not None:
            # Waiting for the registry directory: only the next path component or the
            # deletion of the watched ancestor itself matter.
            if any(p in (self._watched, self._next_path) for p in paths):
                self._owner._request_reestablish()
            return
        names: list[str] = []
        for path in paths:
            if path == self._watched:
                self._owner._request_reestablish()  # the registry directory itself went away
                continue
            head, name = os.path.split(path)
            if head == self._watched and is_session_file_name(name):
                names.append(name)
        if names:
            self._owner._note_names(names)


class RegistryWatcher:
    """Watch one registry directory and report changed session files through a callback.

    A plain class (no Textual): watchdog's ``Observer`` (inotify on Linux) watches the directory
    itself, non-recursively; one worker thread debounces events with per-path deadlines and
    calls ``on_change`` from that thread:

    - ``on_change(frozenset_of_paths)``: the ``<pid>.json`` files (``directory / name``) created,
      modified, deleted, moved in or moved out since the last call. Events for one path within
      ``debounce_s`` of its first event are coalesced into one call; paths due together are
      reported together. Other names (dotfiles, temp files, ``notes.txt``) never cause a call.
    - ``on_change(None)``: "rescan the whole directory". Sent when the directory appears,
      disappears or is recreated, when the watch had to be re-established (or recovered from a
      failure), and every ``rescan_s`` seconds as a safety net (missed events, inotify queue
      overflow, a directory renamed away, and PID liveness of SIGKILLed agents). A ``None``
      supersedes every path pending at that moment.

    A missing directory is waited for by watching its nearest existing ancestor. If watching is
    impossible (e.g. the inotify instance or watch limit is reached), the watcher keeps going with
    the periodic rescans only, retries on every rescan, and :attr:`degraded` says why.

    Moves out of the directory are reported about 0.5 s late: watchdog holds ``IN_MOVED_FROM``
    that long to pair it with an ``IN_MOVED_TO``; during that wait later events also queue.

    Example:
        >>> with RegistryWatcher(Path("~/.claude/sessions").expanduser(), print):  # doctest: +SKIP
        ...     ...
    """

    def __init__(
        self,
        directory: Path,
        on_change: Callable[[frozenset[Path] | None], None],
        *,
        debounce_s: float = 0.005,
        rescan_s: float = 2.0,
    ) -> None:
        """Create a watcher; nothing runs until :meth:`start`.

        Args:
            directory: The registry directory (``<claude base>/sessions``); need not exist.
            on_change: Called from the watcher's thread with a frozenset of changed session-file
                paths (each ``directory / "<pid>.json"``), or ``None`` for "rescan everything".
                Exceptions it raises are logged and otherwise ignored.
            debounce_s: Coalescing window per path, in seconds (>= 0).
            rescan_s: Interval of the safety-net ``None``, in seconds (> 0).

        Raises:
            ValueError: If ``debounce_s`` is negative or ``rescan_s`` is not positive.
        """
        if debounce_s < 0:
            raise ValueError(f"debounce_s must be >= 0, got {debounce_s!r}")
        if rescan_s <= 0:
            raise ValueError(f"rescan_s must be > 0, got {rescan_s!r}")
        self._directory = Path(directory)
        self._abs = str(self._directory.absolute())
        self._on_change = on_change
        self._debounce_s = float(debounce_s)
        self._rescan_s = float(rescan_s)

        # State shared with the handler (observer thread) and close(); guarded by _cond.
        self._cond = threading.Condition()
        self._pending: dict[Path, float] = {}  # path -> monotonic deadline
        self._rescan_at: float | None = None  # monotonic deadline of the next None
        self._next_tick = 0.0  # monotonic time of the next safety rescan
        self._reestablish = False
        self._started = False
        self._closed = False

        # Observer and watch; guarded by _watch_lock (never taken while holding _cond).
        self._watch_lock = threading.Lock()
        self._observer: BaseObserver | None = None
        self._watched: _Watched | None = None
        self._degraded: str | None = None

        self._worker: threading.Thread | None = None

    # -- public API ---------------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        """The registry directory, as given."""
        return self._directory

    @property
    def degraded(self) -> str | None:
        """Why file watching is unavailable (rescans only), or ``None`` while it works."""
        return self._degraded

    def start(self) -> None:
        """Set up the watch (synchronously) and start the worker thread.

        Events for writes made after this returns are reported. Never raises for watch
        failures: those set :attr:`degraded`.

        Raises:
            RuntimeError: If called twice or after :meth:`close`.
        """
        with self._cond:
            if self._started or self._closed:
                raise RuntimeError("RegistryWatcher.start() may be called only once")
            self._started = True
            self._next_tick = time.monotonic() + self._rescan_s
        with self._watch_lock:
            self._establish()
        worker = threading.Thread(target=self._run, name="sessiontui-registry-watcher", daemon=True)
        self._worker = worker
        worker.start()

    def close(self) -> None:
        """Stop watching and join the threads (about 1 s at most each); idempotent.

        Safe from any thread, including from inside ``on_change``. Once it has returned (when
        called from another thread), ``on_change`` is not called again.
        """
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()
        with self._watch_lock:
            self._teardown_observer()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=_JOIN_TIMEOUT_S)

    def __enter__(self) -> Self:
        """Start the watcher and return it."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the watcher."""
        self.close()

    # -- called by _Handler on the observer thread --------------------------------------------

    def _note_names(self, names: list[str]) -> None:
        """Record events for session files ``names`` (deadline: first event + debounce)."""
        with self._cond:
            if self._closed:
                return
            deadline = time.monotonic() + self._debounce_s
            added = False
            for name in names:
                path = self._directory / name
                if path not in self._pending:
                    self._pending[path] = deadline
                    added = True
            if added:
                self._cond.notify()

    def _request_reestablish(self) -> None:
        """Ask the worker to re-check what to watch (directory created, deleted, …)."""
        with self._cond:
            if not self._closed:
                self._reestablish = True
                self._cond.notify()

    # -- worker thread ------------------------------------------------------------------------

    def _run(self) -> None:
        """Worker loop: sleep until the next deadline, then deliver or re-establish."""
        while True:
            reestablish = tick = False
            payload: frozenset[Path] | None = None
            with self._cond:
                while True:
                    if self._closed:
                        return
                    now = time.monotonic()
                    tick = now >= self._next_tick
                    if self._reestablish or tick:
                        reestablish = True
                        self._reestablish = False
                        if tick:
                            self._next_tick = now + self._rescan_s
                        break
                    if self._rescan_at is not None and now >= self._rescan_at:
                        # A full rescan supersedes every pending path.
                        self._rescan_at = None
                        self._pending.clear()
                        self._next_tick = now + self._rescan_s
                        payload = None
                        break
                    due = frozenset(p for p, deadline in self._pending.items() if deadline <= now)
                    if due:
                        for path in due:
                            del self._pending[path]
                        payload = due
                        break
                    wake = min([self._next_tick, *self._pending.values()])
                    if self._rescan_at is not None:
                        wake = min(wake, self._rescan_at)
                    self._cond.wait(timeout=max(wake - now, 0.0))
            if reestablish:
                with self._watch_lock:
                    changed = self._establish()
                if changed or tick:
                    self._schedule_rescan(immediately=tick)
            else:
                self._deliver(payload)

    def _schedule_rescan(self, *, immediately: bool) -> None:
        """Arrange for ``on_change(None)`` now or after the debounce window."""
        with self._cond:
            if self._closed:
                return
            at = time.monotonic() + (0.0 if immediately else self._debounce_s)
            if self._rescan_at is None or at < self._rescan_at:
                self._rescan_at = at
            self._cond.notify()

    def _deliver(self, payload: frozenset[Path] | None) -> None:
        """Call ``on_change(payload)`` unless closed; log (never propagate) its exceptions."""
        with self._cond:
            if self._closed:
                return
        try:
            self._on_change(payload)
        except Exception:
            logger.exception("registry watcher callback failed")

    # -- watch management (caller holds _watch_lock) ------------------------------------------

    def _nearest_dir(self) -> tuple[str, str | None]:
        """Return the nearest existing directory on the way to the registry and the next step.

        Returns:
            ``(path, None)`` when the registry directory exists, else ``(ancestor, child)``
            where ``child`` is the ancestor's entry leading to the registry directory.
        """
        path = Path(self._abs)
        child: Path | None = None
        while not path.is_dir() and path.parent != path:  # "/" ends the walk
            child, path = path, path.parent
        return str(path), None if child is None else str(child)

    def _emitter_alive(self, watched: _Watched) -> bool:
        """True if watchdog's emitter for ``watched`` still runs (it stops on IN_DELETE_SELF)."""
        observer = self._observer
        if observer is None:
            return False
        return any(e.watch == watched.watch and e.is_alive() for e in list(observer.emitters))

    def _establish(self) -> bool:
        """Make the watch match the file system: the registry dir, or its nearest ancestor.

        Starts the observer if needed, keeps a healthy watch, replaces a stale one (directory
        deleted, recreated, renamed away) and records or clears :attr:`degraded`.

        Returns:
            True when the caller should send ``None``: the registry directory's watch was
            (re)made or lost, or a failure state changed. Moving from one ancestor to a nearer
            one returns False.
        """
        if self._closed:
            return False
        old = self._watched
        old_degraded = self._degraded
        if self._observer is None and not self._start_observer():
            return old is not None or old_degraded != self._degraded
        observer = self._observer
        assert observer is not None
        for _ in range(_MAX_ESTABLISH_ATTEMPTS):
            path, next_path = self._nearest_dir()
            identity = _identity(path)
            current = self._watched
            if (
                current is not None
                and current.path == path
                and current.next_path == next_path
                and current.identity == identity
                and identity is not None
                and self._emitter_alive(current)
            ):
                self._degraded = None
                return self._made_change(old, current, old_degraded)
            self._unschedule()
            if identity is None:
                continue  # vanished between isdir() and stat()
            if not os.access(path, os.R_OK | os.X_OK):
                # inotify_add_watch needs read access; watchdog ignores EACCES silently.
                self._degraded = f"cannot watch {path}: permission denied; rescanning only"
                return old is not None or old_degraded != self._degraded
            handler = _Handler(self, path, next_path)
            try:
                watch = observer.schedule(
                    handler, path, recursive=False, event_filter=_EVENT_FILTER, follow_symlink=True
                )
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    continue  # raced with a removal: look again
                self._degraded = f"cannot watch {path}: {exc.strerror or exc}; rescanning only"
                logger.warning("registry watcher degraded: %s", self._degraded)
                return old is not None or old_degraded != self._degraded
            self._watched = _Watched(path, next_path, _identity(path), watch)
            # Loop: verify nothing changed while the watch was being set up.
        self._degraded = f"{self._abs} keeps changing; rescanning only"
        return True

    @staticmethod
    def _made_change(old: _Watched | None, new: _Watched, old_degraded: str | None) -> bool:
        """Decide whether going from ``old`` to ``new`` deserves an ``on_change(None)``."""
        if old_degraded is not None:
            return True  # recovered from a failure
        if old is new:
            return False
        if old is None:
            return True
        return old.is_registry or new.is_registry

    def _start_observer(self) -> bool:
        """Create and start watchdog's observer; on failure set :attr:`degraded`, return False."""
        try:
            observer = Observer()
        except Exception as exc:  # e.g. OSError EMFILE: inotify instance limit
            self._degraded = f"file watching unavailable ({exc}); rescanning only"
            logger.warning("registry watcher degraded: %s", self._degraded)
            return False
        try:
            observer.start()
        except Exception as exc:  # e.g. RuntimeError: can't start new thread
            with contextlib.suppress(Exception):
                observer.stop()
            self._degraded = f"file watching unavailable ({exc}); rescanning only"
            logger.warning("registry watcher degraded: %s", self._degraded)
            return False
        self._observer = observer
        return True

    def _unschedule(self) -> None:
        """Drop the current watch, if any."""
        watched, self._watched = self._watched, None
        if watched is None or self._observer is None:
            return
        try:
            self._observer.unschedule(watched.watch)
        except Exception:  # already gone (KeyError) or inotify refused: nothing to undo
            logger.debug("unschedule of %s failed", watched.path, exc_info=True)

    def _teardown_observer(self) -> None:
        """Stop the observer and its threads (emitters, inotify reader)."""
        observer, self._observer = self._observer, None
        self._watched = None
        if observer is None:
            return
        try:
            observer.stop()
        except Exception:
            logger.debug("stopping the watchdog observer failed", exc_info=True)
        if observer.is_alive() and observer is not threading.current_thread():
            observer.join(timeout=_JOIN_TIMEOUT_S)
