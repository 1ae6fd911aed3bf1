"""Pinned sessions (``p``): kept by sessionId in a small state file, by key for the others.

The file (``<user state dir>/pins.json``, beside ``names.json``; format defined here) is::

    {"version": 1, "pins": {"<sessionId>": 1795271260638}}

mapping each pinned conversation id to when it was pinned (milliseconds since the epoch). A
session without a sessionId (a Codex session not yet identified, a plain process) is pinned
by its row key for the life of the app only.

The file is untrusted on read: a file that is not of this shape is ignored (nothing is
pinned) and :attr:`PinStore.problem` says why; it is moved aside to
``pins.json.corrupt-<ms>`` before the first save, so nothing is lost silently. Invalid
entries are skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
from typing import TYPE_CHECKING

import platformdirs

from sessiontui.errors import SessiontuiError
from sessiontui.model.files import UnreadableFile, read_small_file

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from sessiontui.model.types import Session

#: Format version written to, and accepted from, the state file.
FORMAT_VERSION: int = 1
#: At most this many pins are kept; the oldest are dropped beyond it.
MAX_PINS: int = 500
#: A state file larger than this many bytes is not read.
MAX_FILE_BYTES: int = 1 << 20
#: Longest accepted session id, in characters (real ones are 36-character UUIDs).
MAX_SESSION_ID_CHARS: int = 200


class PinStoreError(SessiontuiError):
    """The pins file could not be written; the message says why."""


def default_pins_path() -> Path:
    """Return ``platformdirs.user_state_path("sessiontui")/pins.json``.

    On Linux ``$XDG_STATE_HOME/sessiontui/pins.json`` (default
    ``~/.local/state/sessiontui/pins.json``), beside the names file.
    """
    return platformdirs.user_state_path("sessiontui") / "pins.json"


def _valid_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_SESSION_ID_CHARS
        and all("!" <= ch <= "~" for ch in value)
    )


def _parse(data: bytes) -> dict[str, int]:
    """The valid ``sessionId -> pinned_at_ms`` entries of the file's bytes.

    Raises:
        ValueError: Not UTF-8 JSON of the documented shape (the message says why).
    """
    try:
        obj = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise ValueError(f"not valid JSON ({type(error).__name__})") from None
    if not isinstance(obj, dict) or obj.get("version") != FORMAT_VERSION:
        raise ValueError("not a version 1 pins file")
    pins = obj.get("pins")
    if not isinstance(pins, dict):
        raise ValueError("'pins' is not an object")
    return {
        sid: ms
        for sid, ms in pins.items()
        if _valid_id(sid) and type(ms) is int and 0 <= ms < (1 << 53)
    }


class PinStore:
    """Which sessions are pinned; persistent for sessions with a sessionId; thread-safe.

    Args:
        path: The state file (usually :func:`default_pins_path`), or ``None`` to keep
            every pin in memory only (tests, the demo).
        clock_ms: Wall clock in milliseconds since the epoch.
    """

    def __init__(
        self, path: Path | None, *, clock_ms: Callable[[], int] = lambda: time.time_ns() // 10**6
    ) -> None:
        self._path = path
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        self._ids: dict[str, int] | None = None  # loaded lazily
        self._keys: set[str] = set()
        self._corrupt = False
        self.problem: str | None = None
        """Why the file was ignored or could not be saved, or ``None``."""

    def _load(self) -> dict[str, int]:
        if self._ids is not None:
            return self._ids
        self._ids = {}
        if self._path is None:
            return self._ids
        try:
            data, _st = read_small_file(self._path, MAX_FILE_BYTES)
            self._ids = _parse(data)
        except FileNotFoundError:
            pass
        except (UnreadableFile, ValueError) as error:
            self._corrupt = True
            self.problem = f"{self._path} ignored: {error}"
        return self._ids

    def is_pinned(self, session: Session) -> bool:
        """True when ``session`` is pinned (by its sessionId, else by its key)."""
        with self._lock:
            if session.session_id is not None and session.session_id in self._load():
                return True
            return session.key in self._keys

    def pinned(self, sessions: Iterable[Session]) -> frozenset[str]:
        """Keys of the pinned sessions among ``sessions``."""
        with self._lock:
            ids = self._load()
            if not ids and not self._keys:
                return frozenset()  # the usual case: no pass over every session
            return frozenset(
                s.key
                for s in sessions
                if s.key in self._keys or (s.session_id is not None and s.session_id in ids)
            )

    def toggle(self, session: Session) -> bool:
        """Pin ``session``, or unpin it if it is pinned; return whether it is pinned now.

        A session with a valid sessionId is saved to the file at once (atomically).

        Raises:
            PinStoreError: The file could not be written (the pin still holds in memory).
        """
        with self._lock:
            ids = self._load()
            sid = session.session_id
            if sid is None or not _valid_id(sid):
                if session.key in self._keys:
                    self._keys.discard(session.key)
                    return False
                self._keys.add(session.key)
                return True
            self._keys.discard(session.key)
            if sid in ids:
                del ids[sid]
                now = False
            else:
                ids[sid] = self._clock_ms()
                now = True
            if len(ids) > MAX_PINS:
                for old in sorted(ids, key=ids.__getitem__)[: len(ids) - MAX_PINS]:
                    del ids[old]
            self._save(ids)
            return now

    def _save(self, ids: dict[str, int]) -> None:
        path = self._path
        if path is None:
            return
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self._corrupt:
                with contextlib.suppress(FileNotFoundError):
                    path.rename(path.with_name(f"{path.name}.corrupt-{self._clock_ms()}"))
                self._corrupt = False
            data = json.dumps({"version": FORMAT_VERSION, "pins": ids}, indent=1).encode()
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                tmp.replace(path)
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink()
        except OSError as error:
            self.problem = f"cannot save pins to {path}: {error.strerror or error}"
            raise PinStoreError(self.problem) from None
        self.problem = None
