"""Session names that stick: a small state file keyed by sessionId (SPEC 3).

A name set in sessiontui is written into the Claude registry file *and* kept here, so it can
be re-applied when Claude rewrites the registry with a derived name again (after
``--resume``, ``/clear`` or a restart of sessiontui). A name the user gave in Claude itself
(``/rename``: ``name`` present and no ``nameSource``) always wins and is adopted here.

The file (``<user state dir>/names.json``, format defined here) is::

    {"version": 1, "names": {"<sessionId>": {"name": "<name>", "set_at_ms": 1795271260638}}}

It is untrusted on read: a file that is not of this shape, or has invalid entries (hostile
names, odd ids), is a *problem*; its valid entries are used, and the file is moved aside to
``names.json.corrupt-<ms>`` before it would be overwritten, so nothing is lost silently.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from typing import TYPE_CHECKING

import platformdirs

from sessiontui.errors import InvalidName, SessiontuiError
from sessiontui.model.files import UnreadableFile, read_small_file
from sessiontui.model.registry import validate_name

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

#: Format version written to, and accepted from, the state file.
FORMAT_VERSION: int = 1

#: At most this many names are kept; the oldest (by ``set_at_ms``) are dropped beyond it.
MAX_ENTRIES: int = 2000

#: A state file larger than this many bytes is not read (2,000 entries are about 250 KB).
MAX_FILE_BYTES: int = 4 << 20

#: Longest accepted session id, in characters (real ones are 36-character UUIDs).
MAX_SESSION_ID_CHARS: int = 200

# Largest accepted ``set_at_ms`` (year 2255); also rejects absurd integers from the file.
_MAX_MS = 1 << 53


class NameStoreError(SessiontuiError):
    """The names state file could not be written; the message says why."""


def default_names_path() -> Path:
    """Return the state file path: ``platformdirs.user_state_path("sessiontui")/names.json``.

    On Linux this is ``$XDG_STATE_HOME/sessiontui/names.json`` (default
    ``~/.local/state/sessiontui/names.json``).
    """
    return platformdirs.user_state_path("sessiontui") / "names.json"


def _is_automatic(registry_name: str | None, name_source: str | None) -> bool:
    """True when the registry's name was not chosen by a person (absent or ``derived``)."""
    return not registry_name or name_source == "derived"


def name_to_apply(
    registry_name: str | None, name_source: str | None, stored: str | None
) -> str | None:
    """Decide whether a stored name should be (re)written into a registry entry.

    When ``stored`` is not ``None`` and differs from ``registry_name``:

    - registry name absent or empty: ``stored`` (any ``nameSource``);
    - registry name present, ``nameSource == "derived"``: ``stored`` (automatic name);
    - registry name present, no ``nameSource``: ``None``, the user set it in Claude
      (``/rename``); the caller adopts it instead, see :func:`adopt_user_name`;
    - registry name present, another ``nameSource``: ``None`` (unknown source: left alone).

    Args:
        registry_name: The entry's ``name`` field, or ``None``.
        name_source: The entry's ``nameSource`` field, or ``None``.
        stored: The name kept in the state file for the entry's sessionId, or ``None``.

    Returns:
        ``stored`` when the caller should write it into the registry, else ``None`` (no
        stored name, already equal, or the registry's name must not be overwritten).
    """
    if stored is None or registry_name == stored:
        return None
    if _is_automatic(registry_name, name_source):
        return stored
    return None


#: ``nameSource`` values of a name the user chose: none (``/rename`` in 2.1.197) or ``user``
#: (``--name`` or ``/rename`` in 2.1.3xx, SPEC 2.1). ``derived`` and ``peer`` are automatic.
USER_NAME_SOURCES: frozenset[str | None] = frozenset({None, "user"})


def is_user_name(registry_name: str | None, name_source: str | None) -> bool:
    """True when the registry ``name`` was set by the user in Claude (see USER_NAME_SOURCES)."""
    return bool(registry_name) and name_source in USER_NAME_SOURCES


def adopt_user_name(registry_name: str | None, name_source: str | None, stored: str | None) -> bool:
    """Decide whether the state file should take over a name the user set in Claude.

    When :func:`name_to_apply` returns ``None`` because the registry name was set by the user
    with Claude's own ``/rename`` (``name`` present, no ``nameSource``, or ``nameSource:
    "user"`` in 2.1.3xx), that name becomes
    the one that sticks: the caller stores it (``NameStore.set``) instead of overwriting it.
    :meth:`NameStore.reconcile` does both steps.

    Args:
        registry_name: The entry's ``name`` field, or ``None``.
        name_source: The entry's ``nameSource`` field, or ``None``.
        stored: The name kept in the state file for the entry's sessionId, or ``None``.

    Returns:
        True when the registry name is present, set by the user (:func:`is_user_name`), a valid
        name
        (:func:`~sessiontui.model.registry.validate_name`; hostile text is never adopted)
        and differs from ``stored``.
    """
    if registry_name is None or not is_user_name(registry_name, name_source):
        return False
    try:
        clean = validate_name(registry_name)
    except InvalidName:
        return False
    return clean != stored


def _check_session_id(session_id: str) -> str:
    """Return ``session_id`` if it is 1-200 printable ASCII characters without spaces.

    Raises:
        ValueError: Anything else (session ids come from untrusted files).
    """
    if (
        not isinstance(session_id, str)
        or not 0 < len(session_id) <= MAX_SESSION_ID_CHARS
        or not all("!" <= ch <= "~" for ch in session_id)
    ):
        raise ValueError(f"invalid session id: {session_id!r:.60}")
    return session_id


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not allowed")


class _Corrupt(Exception):
    """The state file exists but is not a valid store; the message is a short reason."""


_Entries = dict[str, tuple[str, int]]
_Signature = tuple[int, int, int, int]  # (st_dev, st_ino, st_size, st_mtime_ns)


def _signature(st: os.stat_result) -> _Signature:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _parse(data: bytes) -> tuple[_Entries, int]:
    """Parse the state file's bytes into ``{session_id: (name, set_at_ms)}``.

    Returns:
        The valid entries and the number of invalid entries skipped.

    Raises:
        _Corrupt: Not UTF-8 JSON with ``version`` 1 and a ``names`` object.
    """
    try:
        obj = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError …
        raise _Corrupt(f"not valid JSON ({type(error).__name__})") from None
    if not isinstance(obj, dict):
        raise _Corrupt("not a JSON object")
    if obj.get("version") != FORMAT_VERSION or isinstance(obj.get("version"), bool):
        raise _Corrupt(f"unsupported version {obj.get('version')!r:.20}")
    names = obj.get("names")
    if not isinstance(names, dict):
        raise _Corrupt("'names' is not an object")
    entries: _Entries = {}
    skipped = 0
    for key, value in names.items():
        entry = _parse_entry(key, value)
        if entry is None:
            skipped += 1
        else:
            entries[key] = entry
    return entries, skipped


def _parse_entry(key: str, value: object) -> tuple[str, int] | None:
    """Return ``(name, set_at_ms)`` for a valid entry, else ``None``."""
    try:
        _check_session_id(key)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    name, set_at_ms = value.get("name"), value.get("set_at_ms")
    if not isinstance(name, str) or not isinstance(set_at_ms, int) or isinstance(set_at_ms, bool):
        return None
    if not 0 <= set_at_ms <= _MAX_MS:
        return None
    try:
        return validate_name(name), set_at_ms
    except InvalidName:
        return None


def _read(path: Path) -> tuple[_Entries, int, _Signature] | None:
    """Read the state file without following a symbolic link or blocking on a FIFO.

    Returns:
        The valid entries, the number of invalid entries skipped, and the file's signature;
        ``None`` when the file does not exist.

    Raises:
        _Corrupt: The file exists but cannot be read or is not a valid store.
    """
    try:
        data, st = read_small_file(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        return None
    except UnreadableFile as error:
        raise _Corrupt(str(error)) from None
    entries, skipped = _parse(data)
    return entries, skipped, _signature(st)


def _bounded(entries: _Entries) -> _Entries:
    """Keep the newest :data:`MAX_ENTRIES` entries (by ``set_at_ms``, then insertion order)."""
    if len(entries) <= MAX_ENTRIES:
        return entries
    order = sorted(enumerate(entries.items()), key=lambda item: (item[1][1][1], item[0]))
    return dict(item for _index, item in order[-MAX_ENTRIES:])


def _makedirs_private(directory: Path) -> None:
    """Create ``directory`` and any missing parents with mode 0700 (existing ones untouched)."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)


class NameStore:
    """Persistent ``sessionId -> name`` map, safe to share between threads.

    Loaded lazily on first use. A missing file is an empty store. A file that exists but is
    unreadable, too large, not a regular file or not of the documented shape leaves the
    store empty, sets :attr:`problem`, and is renamed to ``names.json.corrupt-<ms>`` before
    the first save (never overwritten). Every change is saved at once, atomically (a 0600
    temp file in the same directory, fsynced, then ``os.replace``); missing parent
    directories are created with mode 0700. If another sessiontui process changed the file
    since we last read or wrote it, its entries are merged in before saving (the newer
    ``set_at_ms`` wins). At most :data:`MAX_ENTRIES` names are kept.

    Args:
        path: The state file, usually :func:`default_names_path`.
        clock_ms: Wall clock in milliseconds since the epoch (injectable for tests).
    """

    def __init__(self, path: Path, *, clock_ms: Callable[[], int] = _wall_ms) -> None:
        self._path = path
        self._clock_ms = clock_ms
        self._lock = threading.RLock()
        self._loaded = False
        self._entries: _Entries = {}
        self._signature: _Signature | None = None  # of the file as last read or written
        self._corrupt = False  # the file at _signature must be moved aside before saving
        self._forgotten: set[str] = set()  # forgotten since the last save (not re-merged)
        self._load_problem: str | None = None  # the file was unusable
        self._save_problem: str | None = None  # the last save failed

    @property
    def path(self) -> Path:
        """The state file."""
        return self._path

    @property
    def problem(self) -> str | None:
        """A message for the user when the file was unreadable or could not be saved."""
        with self._lock:
            self._ensure_loaded()
            return self._save_problem or self._load_problem

    def __len__(self) -> int:
        """Number of stored names."""
        with self._lock:
            self._ensure_loaded()
            return len(self._entries)

    def get(self, session_id: str) -> str | None:
        """Return the stored name for ``session_id``, or ``None`` (also for an invalid id)."""
        with self._lock:
            self._ensure_loaded()
            entry = self._entries.get(session_id)
            return entry[0] if entry else None

    def set(self, session_id: str, name: str) -> None:
        """Store ``name`` for ``session_id`` and save.

        Args:
            session_id: The conversation id (``sessionId``).
            name: The name; stored as cleaned by
                :func:`~sessiontui.model.registry.validate_name`.

        Raises:
            InvalidName: The name is rejected.
            ValueError: The session id is not 1-200 printable ASCII characters.
            NameStoreError: The file could not be saved (the name is still kept in memory
                for this run).
        """
        clean = validate_name(name)
        _check_session_id(session_id)
        with self._lock:
            self._ensure_loaded()
            entry = self._entries.get(session_id)
            if entry is not None and entry[0] == clean:
                return
            self._put(session_id, clean)
            self._save()

    def alias(self, old_session_id: str, new_session_id: str) -> None:
        """Copy the name of ``old_session_id`` to ``new_session_id`` and save.

        Used when a live process's sessionId changes (``/clear``, ``/resume``): the process
        keeps its name. The old entry stays. Nothing happens when the old id has no name or
        the new id already has the same name; a different name under the new id is replaced.

        Raises:
            ValueError: ``new_session_id`` is not 1-200 printable ASCII characters.
            NameStoreError: The file could not be saved.
        """
        _check_session_id(new_session_id)
        with self._lock:
            self._ensure_loaded()
            old = self._entries.get(old_session_id)
            if old is None or old_session_id == new_session_id:
                return
            current = self._entries.get(new_session_id)
            if current is not None and current[0] == old[0]:
                return
            self._put(new_session_id, old[0])
            self._save()

    def forget(self, session_id: str) -> None:
        """Remove the name of ``session_id`` (if any) and save.

        Raises:
            NameStoreError: The file could not be saved.
        """
        with self._lock:
            self._ensure_loaded()
            if self._entries.pop(session_id, None) is None:
                return
            self._forgotten.add(session_id)
            self._save()

    def reconcile(
        self, session_id: str, registry_name: str | None, name_source: str | None
    ) -> str | None:
        """Apply the rules of :func:`name_to_apply` and :func:`adopt_user_name` to one entry.

        Args:
            session_id: The registry entry's ``sessionId``.
            registry_name: Its ``name``.
            name_source: Its ``nameSource``.

        Returns:
            The stored name to write into the registry file, or ``None`` when nothing is to
            be written. A name the user set in Claude is adopted into the store instead.

        Raises:
            NameStoreError: Adopting a name could not be saved.
        """
        with self._lock:
            stored = self.get(session_id)
            if registry_name and adopt_user_name(registry_name, name_source, stored):
                with contextlib.suppress(ValueError):  # an invalid session id: nothing to store
                    self.set(session_id, registry_name)
                return None
            return name_to_apply(registry_name, name_source, stored)

    # -- internals (called with the lock held) -------------------------------------------

    def _put(self, session_id: str, name: str) -> None:
        self._entries.pop(session_id, None)  # re-insert: insertion order breaks ties
        self._entries[session_id] = (name, max(0, min(self._clock_ms(), _MAX_MS)))
        self._forgotten.discard(session_id)
        self._entries = _bounded(self._entries)

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        try:
            result = _read(self._path)
        except _Corrupt as error:
            self._mark_corrupt(str(error))
            return
        if result is not None:
            entries, skipped, self._signature = result
            self._entries = _bounded(entries)
            if skipped:
                self._mark_corrupt(f"{skipped} invalid entries skipped")

    def _mark_corrupt(self, reason: str) -> None:
        self._corrupt = True
        with contextlib.suppress(OSError):
            self._signature = _signature(self._path.lstat())
        self._load_problem = f"{self._path} is unusable ({reason}); it will be moved aside"

    def _current_signature(self) -> _Signature | None:
        try:
            return _signature(self._path.lstat())
        except FileNotFoundError:
            return None
        except OSError as error:
            raise NameStoreError(f"cannot save names: {error.strerror}") from None

    def _sync_with_disk(self) -> None:
        """Merge changes another process saved, or move a corrupt file aside."""
        now = self._current_signature()
        if now is None:
            self._corrupt = False
            return
        if now != self._signature:
            self._corrupt = False
            try:
                result = _read(self._path)
            except _Corrupt as error:
                self._mark_corrupt(str(error))
            else:
                if result is not None:
                    if result[1]:
                        self._mark_corrupt(f"{result[1]} invalid entries skipped")
                    for session_id, (name, set_at_ms) in result[0].items():
                        mine = self._entries.get(session_id)
                        if session_id in self._forgotten:
                            continue
                        if mine is None or mine[1] < set_at_ms:
                            self._entries[session_id] = (name, set_at_ms)
                    self._entries = _bounded(self._entries)
        if self._corrupt:
            self._move_aside()

    def _move_aside(self) -> None:
        stamp = self._clock_ms()
        for attempt in range(100):
            suffix = f".corrupt-{stamp}" + (f"-{attempt}" if attempt else "")
            target = self._path.with_name(self._path.name + suffix)
            if target.exists() or target.is_symlink():
                continue
            try:
                self._path.rename(target)
            except FileNotFoundError:
                break
            except OSError as error:
                raise NameStoreError(
                    f"cannot move the unusable {self._path} aside: {error.strerror}"
                ) from None
            self._load_problem = f"{self._path} was unusable; moved to {target.name}"
            break
        else:
            raise NameStoreError(f"cannot move the unusable {self._path} aside")
        self._corrupt = False

    def _save(self) -> None:
        try:
            self._sync_with_disk()
            directory = self._path.parent
            _makedirs_private(directory)
            data = json.dumps(
                {
                    "version": FORMAT_VERSION,
                    "names": {
                        sid: {"name": name, "set_at_ms": ms}
                        for sid, (name, ms) in self._entries.items()
                    },
                },
                ensure_ascii=False,
                indent=1,
            ).encode("utf-8")
            import secrets  # only writes need it (hmac, hashlib): one-shot reads skip it

            tmp = directory / f".{self._path.name}.{secrets.token_hex(8)}.tmp"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            fd = os.open(tmp, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
            try:
                try:
                    os.fchmod(fd, 0o600)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                finally:
                    os.close(fd)
                tmp.replace(self._path)
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink()
            self._signature = _signature(self._path.lstat())
            self._forgotten.clear()
        except OSError as error:
            self._save_problem = f"cannot save names to {self._path}: {error.strerror or error}"
            raise NameStoreError(self._save_problem) from None
        except NameStoreError as error:
            self._save_problem = str(error)
            raise
        self._save_problem = None
        with contextlib.suppress(OSError):
            fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
