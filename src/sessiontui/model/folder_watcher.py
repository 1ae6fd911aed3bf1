"""Watch a changing set of folders (non-recursively) for appended or created files of one suffix.

Used for Claude transcripts: the store follows ``<base>/projects/<encoded cwd>/`` folders of its
live sessions (:meth:`~sessiontui.model.transcripts.TranscriptTracker.folders`); an append to a
``*.jsonl`` there is read at once instead of on the next sample tick. A plain class (no
Textual): one watchdog ``Observer`` thread calls ``on_change(path)``; folders that do not exist
yet are retried by :meth:`FolderWatcher.set_folders` at most every ``MISSING_RETRY_S``.
Watching is an accelerator only: the store's periodic refresh stays the source of truth, so a
failed watch is not an error.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import (
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from watchdog.observers.api import BaseObserver, ObservedWatch

__all__ = ["FolderWatcher"]

logger = logging.getLogger(__name__)

#: Only these event kinds are asked for (our own reads cause no events).
_EVENT_FILTER: list[type[FileSystemEvent]] = [FileCreatedEvent, FileModifiedEvent, FileMovedEvent]


#: Seconds between two looks for wanted folders that did not exist (a new project's folder
#: appears with its first transcript; the tracker's own refresh finds that file meanwhile).
MISSING_RETRY_S = 10.0


class _Handler(FileSystemEventHandler):
    def __init__(self, owner: FolderWatcher) -> None:
        self._owner = owner

    def dispatch(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        path = event.dest_path if isinstance(event, FileMovedEvent) else event.src_path
        text = path.decode() if isinstance(path, bytes) else path
        if text.endswith(self._owner.suffix):
            self._owner.on_change(Path(text))


class FolderWatcher:
    """Reports changed ``*<suffix>`` files in a set of folders through ``on_change``.

    Args:
        on_change: Called from the observer thread with the changed file's path.
        suffix: File name suffix to report (``.jsonl``).
    """

    def __init__(self, on_change: Callable[[Path], None], *, suffix: str = ".jsonl") -> None:
        self.on_change = on_change
        self.suffix = suffix
        self._observer: BaseObserver | None = None
        self._watches: dict[Path, ObservedWatch] = {}
        self._wanted: frozenset[Path] = frozenset()
        self._paused: frozenset[Path] = frozenset()
        self._lock = threading.Lock()
        self._closed = False
        self._missing_at = 0.0  # monotonic time of the last look for missing folders

    @property
    def watched(self) -> frozenset[Path]:
        """The folders watched now (the wanted ones that exist)."""
        with self._lock:
            return frozenset(self._watches)

    def start(self) -> None:
        """Start the observer thread (idempotent)."""
        with self._lock:
            if self._observer is not None or self._closed:
                return
            observer = Observer()
            observer.daemon = True
            observer.start()
            self._observer = observer

    def set_folders(self, folders: Iterable[Path]) -> None:
        """Watch exactly ``folders`` (those that exist and are not paused); cheap when unchanged.

        Args:
            folders: The folders to watch, non-recursively.
        """
        wanted = frozenset(folders)
        with self._lock:
            if self._observer is None:
                return
            if wanted == self._wanted and (
                wanted - self._paused == self._watches.keys()
                or time.monotonic() - self._missing_at < MISSING_RETRY_S
            ):
                return
            self._wanted = wanted
            self._missing_at = time.monotonic()
            self._apply(self._observer)

    def pause(self, folders: Iterable[Path]) -> None:
        """Stop watching ``folders`` until a later call leaves them out (the caller reads them).

        For folders whose files are being appended to all the time: their events would cost
        more than reading the files on a timer. Paused folders that are not wanted are ignored.

        Args:
            folders: Every folder to keep paused now (replaces the last call's).
        """
        paused = frozenset(folders)
        with self._lock:
            if paused == self._paused:
                return
            self._paused = paused
            if self._observer is not None:
                self._apply(self._observer)

    def _apply(self, observer: BaseObserver) -> None:
        """Schedule and unschedule watches to match wanted minus paused (lock held)."""
        watch = self._wanted - self._paused
        for folder in [f for f in self._watches if f not in watch]:
            with contextlib.suppress(KeyError, OSError):
                observer.unschedule(self._watches[folder])
            del self._watches[folder]
        for folder in watch - self._watches.keys():
            if not folder.is_dir():
                continue  # retried by a later call
            try:
                self._watches[folder] = observer.schedule(
                    _Handler(self),
                    str(folder),
                    recursive=False,
                    event_filter=_EVENT_FILTER,
                )
            except OSError as error:  # inotify limits: the periodic refresh still works
                logger.debug("cannot watch %s: %s", folder, error)

    def close(self) -> None:
        """Stop the observer thread; idempotent."""
        with self._lock:
            self._closed = True
            observer, self._observer = self._observer, None
            self._watches.clear()
        if observer is not None:
            observer.stop()
            with contextlib.suppress(RuntimeError):
                observer.join(timeout=1.0)
