"""Read, validate and rewrite the Claude Code session registry (``<base>/sessions/<pid>.json``).

The format is described in SPEC 2.1. Claude Code rewrites these files with a plain
truncate-and-write, so a reader can see an empty or half-written file: :class:`RegistryReader`
keeps the last good value and reports a problem only when reads keep failing. File contents
are untrusted: every field is type-checked, and nothing but ``<pid>.json`` files is ever
modified or deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import time
import types
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import msgspec

from sessiontui.errors import InvalidName, SessiontuiError
from sessiontui.model.files import UnreadableFile, read_small_file
from sessiontui.model.processes import PID_MAX, is_alive
from sessiontui.model.types import REGISTRY_STATUSES, RegistryEntry

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

#: Files larger than this many bytes are not read (real entries are well under 1 KiB).
MAX_FILE_BYTES: int = 1 << 20

#: Longest accepted session name, in characters.
MAX_NAME_CHARS: int = 100

#: How long :func:`write_name` retries a file that reads as empty or half-written, in seconds.
WRITE_RETRY_S: float = 0.2

_SESSION_FILE = re.compile(r"\d+\.json", re.ASCII)
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# A file modified this recently may be rewritten again within the same timestamp tick
# (coarse file-system clocks), so its (mtime, size, inode) cannot prove it is unchanged.
_RACY_NS = 2_000_000_000

_STR_FIELDS: dict[str, str] = {
    "sessionId": "session_id",
    "cwd": "cwd",
    "procStart": "proc_start",
    "version": "version",
    "kind": "kind",
    "entrypoint": "entrypoint",
    "name": "name",
    "nameSource": "name_source",
    "waitingFor": "waiting_for",
    "jobId": "job_id",
    "parkedJobId": "parked_job_id",
}
_INT_FIELDS: dict[str, str] = {
    "startedAt": "started_at_ms",
    "updatedAt": "updated_at_ms",
    "statusUpdatedAt": "status_updated_at_ms",
}
_STR, _TIME, _OTHER = 0, 1, 2
#: Every known key → how it is checked (the rest goes into ``extra``).
_FIELD_KINDS: dict[str, int] = {
    **dict.fromkeys(_STR_FIELDS, _STR),
    **dict.fromkeys(_INT_FIELDS, _TIME),
    **dict.fromkeys(("pid", "status", "tmux", "spare", "formerNames"), _OTHER),
}

#: Largest accepted time field: 9999-12-31T23:59:59.999Z in ms since the epoch.
MAX_TIME_MS = 253_402_300_799_999

_TimeMs = Annotated[int, msgspec.Meta(ge=0, le=MAX_TIME_MS)]


class _KnownFields(msgspec.Struct, frozen=True, gc=False):
    """The known keys of a ``<pid>.json`` with the types :func:`parse_entry` accepts.

    Converting a decoded entry into it checks every type and range in C (unknown keys are
    skipped; 10,000 files are read at start-up: about 5x faster than a Python loop over the
    keys). A value of another type (which the entry keeps as ``None``) fails the conversion,
    and the object is then checked field by field (:func:`_parse_object`), with the same
    result.
    """

    pid: int | msgspec.UnsetType = msgspec.UNSET
    sessionId: str | None = None
    cwd: str | None = None
    startedAt: _TimeMs | None = None
    procStart: str | None = None
    version: str | None = None
    kind: str | None = None
    entrypoint: str | None = None
    name: str | None = None
    nameSource: str | None = None
    status: str | None = None
    waitingFor: str | None = None
    updatedAt: _TimeMs | None = None
    statusUpdatedAt: _TimeMs | None = None
    jobId: str | None = None
    tmux: str | None = None
    spare: bool | None = None
    parkedJobId: str | None = None
    formerNames: list[str] | None = None


#: The ``tmux`` field's only accepted form (SPEC 2.1): ``session:@window.%pane``.
_TMUX_FIELD = re.compile(r"[A-Za-z0-9_.-]{1,64}:@?[0-9]{1,6}\.%?[0-9]{1,6}", re.ASCII)

#: At most this many ``formerNames`` are kept (each cut to :data:`MAX_NAME_CHARS` characters).
MAX_FORMER_NAMES = 20


class RegistryParseError(SessiontuiError):
    """A registry file could not be read or parsed; the message is a short reason."""


def default_sessions_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return the registry directory: ``$CLAUDE_CONFIG_DIR/sessions`` or ``~/.claude/sessions``.

    ``CLAUDE_CONFIG_DIR`` replaces the ``~/.claude`` base (nothing is appended to it).

    Args:
        environ: Environment to read (default :data:`os.environ`); ``HOME`` in it gives ``~``.

    Returns:
        The directory (it may not exist).
    """
    env = os.environ if environ is None else environ
    base = env.get("CLAUDE_CONFIG_DIR")
    if base:
        return Path(base) / "sessions"
    home = env.get("HOME")
    home_dir = Path(home) if home else Path("~").expanduser()
    return home_dir / ".claude" / "sessions"


def is_session_file(name: str) -> bool:
    """True for names of the form ``<ASCII digits>.json`` (the only files we may touch)."""
    return _SESSION_FILE.fullmatch(name) is not None


def _file_pid(path: Path) -> int:
    if not is_session_file(path.name):
        raise RegistryParseError("not a session file name")
    pid = int(path.name[: -len(".json")])
    if not 0 < pid <= PID_MAX:
        raise RegistryParseError("invalid pid")
    return pid


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


#: One strict decoder for every file (``json.loads`` with options builds a new one per call).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
#: msgspec's decoder, tried first: about three times faster (10,000 files are read at start-up).
_FAST_DECODER = msgspec.json.Decoder()


def _decode(data: bytes) -> object:
    """Decode strict JSON (no NaN/Infinity); raise RegistryParseError with a short reason.

    The result is what :data:`_DECODER` gives: what msgspec refuses (a lone surrogate escape,
    a number beyond the double range, ``NaN``, a byte-order mark) is decided by it.
    """
    if not data.strip():
        raise RegistryParseError("empty file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RegistryParseError("invalid UTF-8") from None
    try:
        return _FAST_DECODER.decode(data)
    except (msgspec.MsgspecError, RecursionError):
        pass
    try:
        return _DECODER.decode(text)
    except (ValueError, RecursionError):
        raise RegistryParseError("not JSON") from None


def decode_json_object(data: bytes) -> dict[str, object]:
    """Decode an untrusted file's bytes as one strict JSON object (no NaN or Infinity).

    Shared by every reader of Claude's small JSON files (registry entries, job states).

    Args:
        data: The bytes.

    Returns:
        The object.

    Raises:
        RegistryParseError: "empty file", "invalid UTF-8", "not JSON" (also for nesting too
            deep to parse) or "not a JSON object".
    """
    obj = _decode(data)
    if not isinstance(obj, dict):
        raise RegistryParseError("not a JSON object")
    return obj


_decode_object = decode_json_object


def parse_entry(path: Path, data: bytes, *, file_pid: int | None = None) -> RegistryEntry:
    """Parse the bytes of a ``<pid>.json`` file.

    Optional fields of the wrong type become ``None`` (the file is still accepted); ``bool``
    is not an int; ``status`` is kept only when it is one of :data:`REGISTRY_STATUSES`; unknown
    keys go into a read-only ``extra`` mapping. Strings are kept verbatim (untrusted text).
    ``tmux`` is kept only in its strict form (:func:`parse_tmux_field`); ``spare`` only when
    it is ``true``; ``formerNames`` only its strings.

    Args:
        path: The file; its name gives ``file_pid``.
        data: The file's bytes.
        file_pid: The PID of the file's name when the caller has already checked the name
            (the reader's listing has); ``None`` to check it here.

    Returns:
        The entry.

    Raises:
        RegistryParseError: "empty file", "invalid UTF-8", "not JSON", "not a JSON object",
            "invalid pid" (file name or ``pid`` field not in 1..:data:`PID_MAX`), or
            "pid field N disagrees with file name M".
    """
    if file_pid is None:
        file_pid = _file_pid(path)
    obj = _decode_object(data)
    try:
        known = msgspec.convert(obj, _KnownFields)  # the object already parsed, not the bytes
    except (msgspec.MsgspecError, RecursionError):
        return _parse_object(path, file_pid, obj)  # a known field of another type or range
    if known.pid is not msgspec.UNSET:
        if not 0 < known.pid <= PID_MAX:
            raise RegistryParseError("invalid pid")
        if known.pid != file_pid:
            raise RegistryParseError(f"pid field {known.pid} disagrees with file name {file_pid}")
    status = known.status
    return RegistryEntry(
        path,
        file_pid,
        file_pid,
        known.sessionId,
        known.cwd,
        known.startedAt,
        known.procStart,
        known.version,
        known.kind,
        known.entrypoint,
        known.name,
        known.nameSource,
        status if status is None or status in REGISTRY_STATUSES else None,
        known.waitingFor,
        known.updatedAt,
        known.statusUpdatedAt,
        known.jobId,
        types.MappingProxyType({k: v for k, v in obj.items() if k not in _FIELD_KINDS}),
        None if known.tmux is None else parse_tmux_field(known.tmux),
        known.spare is True,
        known.parkedJobId,
        () if known.formerNames is None else _former_names(known.formerNames),
    )


def _parse_object(path: Path, file_pid: int, obj: dict[str, object]) -> RegistryEntry:
    """:func:`parse_entry` for an object whose known fields msgspec's schema refused.

    Field by field, with the same rules: a value of the wrong type or range becomes ``None``.
    """
    pid = file_pid
    fields: dict[str, object] = {}
    extra: dict[str, object] = {}
    # One pass over the object's keys (a typical entry has a dozen): 10,000 stale files are
    # parsed at start-up, and a lookup per known field per file cost more than the JSON.
    for key, value in obj.items():
        kind = _FIELD_KINDS.get(key)
        if kind is None:
            extra[key] = value
        elif kind == _STR:
            if type(value) is str:  # JSON gives no str subclasses
                fields[_STR_FIELDS[key]] = value
        elif kind == _TIME:
            # Times are ms since the epoch; anything outside 1970..9999 is hostile or broken
            # and would overflow date arithmetic later, so it is treated like a wrong type.
            if type(value) is int and 0 <= value <= MAX_TIME_MS:
                fields[_INT_FIELDS[key]] = value
        elif key == "pid":
            if type(value) is not int or not 0 < value <= PID_MAX:
                raise RegistryParseError("invalid pid")
            if value != file_pid:
                raise RegistryParseError(f"pid field {value} disagrees with file name {file_pid}")
        elif key == "status":
            if type(value) is str and value in REGISTRY_STATUSES:
                fields["status"] = value
        elif key == "tmux":
            fields["tmux"] = parse_tmux_field(value)
        elif key == "spare":
            fields["spare"] = value is True
        else:  # formerNames
            fields["former_names"] = _former_names(value)
    return RegistryEntry(
        path=path,
        pid=pid,
        file_pid=file_pid,
        extra=types.MappingProxyType(extra),
        **fields,  # type: ignore[arg-type]
    )


def parse_tmux_field(value: object) -> str | None:
    """Validate the registry's ``tmux`` field strictly (SPEC 2.1).

    Args:
        value: The field's JSON value.

    Returns:
        ``value`` when it is a string of the form ``session:@window.%pane`` (session name of
        1-64 ASCII letters, digits, ``_``, ``.``, ``-``; window and pane of 1-6 digits, the
        ``@`` and ``%`` optional), else ``None``.
    """
    if isinstance(value, str) and _TMUX_FIELD.fullmatch(value) is not None:
        return value
    return None


def _former_names(value: object) -> tuple[str, ...]:
    """The strings of a ``formerNames`` list, at most :data:`MAX_FORMER_NAMES`, each cut."""
    if not isinstance(value, list):
        return ()
    names = [item[:MAX_NAME_CHARS] for item in value if isinstance(item, str)]
    return tuple(names[:MAX_FORMER_NAMES])


def _read_bytes(path: Path, max_bytes: int) -> tuple[bytes, os.stat_result]:
    """Read a regular file without following symlinks; return its bytes and its fstat.

    Raises:
        FileNotFoundError: The file is gone.
        RegistryParseError: Symlink, not a regular file, too large, permission denied, or
            another I/O error.
    """
    try:
        return read_small_file(path, max_bytes)
    except UnreadableFile as error:
        raise RegistryParseError(str(error)) from None


def read_entry(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> RegistryEntry:
    """Read and parse one ``<pid>.json`` file, never following a symbolic link.

    Args:
        path: The file.
        max_bytes: Larger files are rejected; at most ``max_bytes + 1`` bytes are read.

    Returns:
        The entry.

    Raises:
        FileNotFoundError: The file is gone (not an error: the caller drops the entry).
        RegistryParseError: "symbolic link ignored", "not a regular file", "too large (… MB)",
            "permission denied", or any :func:`parse_entry` reason.
    """
    data, _ = _read_bytes(path, max_bytes)
    return parse_entry(path, data)


def child_path_maker(directory: Path) -> Callable[[str], Path]:
    """A function giving ``directory / name`` for a plain file name, made cheaply.

    ``/`` parses its argument as a path; a 10,000-file listing spent a fifth of its time
    there. pathlib's own child constructor for names from a directory listing (what
    ``Path.iterdir`` uses; private, CPython 3.11-3.13) is used when it exists and gives the
    same path as ``/``; otherwise ``/``.

    Args:
        directory: The directory.

    Returns:
        ``name`` → the path; ``name`` must be a single file name (no ``/``), as listings give.
    """
    make = getattr(directory, "_make_child_relpath", None)
    if callable(make):
        with contextlib.suppress(Exception):
            probe = make("0.json")
            if (
                isinstance(probe, Path)
                and probe == directory / "0.json"
                and str(probe) == str(directory / "0.json")
            ):
                return make  # type: ignore[no-any-return]
    return directory.joinpath


def _stat_key(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass(slots=True)
class _FileState:
    """What the reader knows about one session file."""

    spath: str  # the path as a string (for cheap lstat calls)
    file_pid: int | None  # the PID its name gives; None when out of range (parse_entry says so)
    entry: RegistryEntry | None = None  # the last good entry
    key: tuple[int, int, int] | None = None  # stat key of the last good read, if trustworthy
    error: str | None = None  # the last failure, while reads keep failing
    failing_since: float | None = None  # clock() of the first failure in the current run
    reported: str | None = None  # the problem last reported as a change


class RegistryReader:
    """The state of one registry directory: the last good entry of every session file.

    Not thread-safe: use it from one thread. Paths are always ``directory / name``.

    Args:
        directory: The registry directory (see :func:`default_sessions_dir`).
        clock: Monotonic clock in seconds, used to time how long reads have failed.
        unreadable_after_s: A file's :meth:`problem` shows only after its reads have failed
            continuously for longer than this.
        max_bytes: Larger files are rejected unread.
    """

    def __init__(
        self,
        directory: Path,
        *,
        clock: Callable[[], float] = time.monotonic,
        unreadable_after_s: float = 2.0,
        max_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        self.directory = directory
        self._clock = clock
        self._unreadable_after_s = unreadable_after_s
        self._max_bytes = max_bytes
        self._files: dict[Path, _FileState] = {}
        self._entries: dict[Path, RegistryEntry] = {}
        self._directory_problem: str | None = None
        self._dir_key: tuple[int, int, int, int, int] | None = None  # the trusted last listing
        self._paths: dict[str, Path] = {}  # file name -> path, so scans build no new Paths
        self._child = child_path_maker(directory)
        self._failing: set[Path] = set()  # files whose last read failed
        self._quiet: set[Path] = set()  # files nobody is expected to write (set_quiet)
        #: Number of file reads performed so far (diagnostics and benchmarks).
        self.reads = 0

    @property
    def entries(self) -> Mapping[Path, RegistryEntry]:
        """The last good entry of every session file that has one (a live read-only view)."""
        return types.MappingProxyType(self._entries)

    def entry(self, path: Path) -> RegistryEntry | None:
        """The last good entry of the session file ``path``, or ``None`` (no view is built)."""
        return self._entries.get(path)

    @property
    def directory_problem(self) -> str | None:
        """Why the directory could not be listed on the last scan, or ``None``."""
        return self._directory_problem

    def set_quiet(self, path: Path, quiet: bool) -> None:
        """Mark a known file as one nobody is expected to write (e.g. its process is dead).

        ``scan(skip_quiet=True)`` does not ``lstat`` quiet files of an unchanged directory.
        """
        state = self._files.get(path)
        if state is not None and quiet and state.key is not None:
            self._quiet.add(path)  # only a file whose stat can be trusted
        else:
            self._quiet.discard(path)

    @property
    def file_count(self) -> int:
        """Number of known session files, readable or failing."""
        return len(self._files)

    def failing(self) -> frozenset[Path]:
        """The files whose last read failed (their :meth:`problem` may show with time)."""
        return frozenset(self._failing)

    def paths(self) -> set[Path]:
        """Every known session file, readable or failing."""
        return set(self._files)

    def problem(self, path: Path) -> str | None:
        """Return the read failure of ``path`` once it has lasted over ``unreadable_after_s``.

        Returns:
            A short reason (e.g. ``"not JSON"``), or ``None`` while the file reads fine or has
            failed only briefly (Claude Code's non-atomic rewrites).
        """
        state = self._files.get(path)
        return None if state is None else self._visible_problem(state)

    def _visible_problem(self, state: _FileState) -> str | None:
        if state.failing_since is None or state.error is None:
            return None
        if self._clock() - state.failing_since > self._unreadable_after_s:
            return state.error
        return None

    def scan(self, *, skip_quiet: bool = False) -> set[Path]:
        """List the directory and refresh every session file; forget files that are gone.

        Non-session names and symbolic links are ignored entirely. A missing directory leaves
        no entries; a directory that cannot be listed keeps the last entries. Either way
        :attr:`directory_problem` says why. Unchanged files (same mtime, size and inode as at
        the last good read) are not re-read. When the directory itself is unchanged (same
        device, inode, mtime, ctime and mode as at the last listing, and that listing was not
        within a timestamp tick of a change) it is not listed again: the known files are only
        ``lstat``-ed, so a rescan of 10,000 unchanged files reads none of them.

        Args:
            skip_quiet: Do not ``lstat`` files marked quiet (:meth:`set_quiet`: files nobody
                is expected to write, e.g. those of dead processes) when the directory is
                unchanged. A full listing, after any change of the directory, covers them.

        Returns:
            The paths whose entry or visible problem changed, including forgotten ones.
        """
        try:
            dst = self.directory.stat()
        except FileNotFoundError:
            self._dir_key = None
            self._directory_problem = f"{self.directory} does not exist"
            return self._forget_all()
        except NotADirectoryError:
            self._dir_key = None
            self._directory_problem = f"{self.directory} is not a directory"
            return self._forget_all()
        except OSError as error:
            self._dir_key = None
            self._directory_problem = f"cannot list {self.directory}: {error.strerror}"
            return set()
        if not stat.S_ISDIR(dst.st_mode):
            self._dir_key = None
            self._directory_problem = f"{self.directory} is not a directory"
            return self._forget_all()
        dir_key = (dst.st_dev, dst.st_ino, dst.st_mtime_ns, dst.st_ctime_ns, dst.st_mode)
        if dir_key == self._dir_key and self._directory_problem is None:
            return self._restat(skip_quiet)
        listed_at_ns = time.time_ns()
        changed = self._list()
        newest = max(dst.st_mtime_ns, dst.st_ctime_ns)
        trusted = self._directory_problem is None and listed_at_ns - newest >= _RACY_NS
        self._dir_key = dir_key if trusted else None
        return changed

    def _list(self) -> set[Path]:
        """Full scan: list the directory and refresh every session file in it."""
        changed: set[Path] = set()
        seen: set[Path] = set()
        try:
            with os.scandir(self.directory) as it:
                listing = list(it)
        except FileNotFoundError:
            self._directory_problem = f"{self.directory} does not exist"
            return self._forget_all()
        except NotADirectoryError:
            self._directory_problem = f"{self.directory} is not a directory"
            return self._forget_all()
        except OSError as error:
            self._directory_problem = f"cannot list {self.directory}: {error.strerror}"
            return changed
        self._directory_problem = None
        session_file = _SESSION_FILE.fullmatch
        paths, files, refresh = self._paths, self._files, self._refresh
        for dir_entry in listing:
            name = dir_entry.name
            if session_file(name) is None:
                continue
            path = paths.get(name)
            if path is None:
                path = paths[name] = self._child(name)
            try:
                if dir_entry.is_symlink():
                    continue
                # A file seen for the first time is read whatever its stat says (the read's
                # own fstat keys it), so it costs no lstat here.
                st = dir_entry.stat(follow_symlinks=False) if path in files else None
            except FileNotFoundError:
                continue
            except OSError:
                st = None
            seen.add(path)
            if refresh(path, st):
                changed.add(path)
        for path in set(self._files) - seen:
            self._forget(path)
            changed.add(path)
        return changed

    def _restat(self, skip_quiet: bool) -> set[Path]:
        """Quick scan of an unchanged directory: ``lstat`` each known file, re-read changed ones."""
        changed: set[Path] = set()
        # A set difference over cached hashes: 10,000 quiet files cost no Python-level loop.
        paths = self._files.keys() - self._quiet if skip_quiet else list(self._files)
        for path in paths:
            state = self._files[path]
            try:
                st: os.stat_result | None = os.lstat(state.spath)
            except FileNotFoundError:
                self._forget(path)
                changed.add(path)
                continue
            except OSError:
                st = None
            if st is not None:
                if stat.S_ISLNK(st.st_mode):
                    self._forget(path)
                    changed.add(path)
                    continue
                if state.key is not None and state.key == (st.st_mtime_ns, st.st_size, st.st_ino):
                    continue
            if self._refresh(path, st):
                changed.add(path)
        return changed

    def refresh(self, path: Path) -> bool:
        """Re-read one file (e.g. after a file-system event).

        A path outside the directory or not named ``<pid>.json`` is ignored; a file that is
        gone or has become a symbolic link is forgotten.

        Returns:
            True when its entry or visible problem changed (or it was forgotten).
        """
        if path.parent != self.directory or not is_session_file(path.name):
            return False
        try:
            st: os.stat_result | None = path.stat(follow_symlinks=False)
        except FileNotFoundError:
            return self._forget(path)
        except OSError:
            st = None
        if st is not None and stat.S_ISLNK(st.st_mode):
            return self._forget(path)
        return self._refresh(path, st)

    def _forget(self, path: Path) -> bool:
        self._entries.pop(path, None)
        self._paths.pop(path.name, None)
        self._failing.discard(path)
        self._quiet.discard(path)
        return self._files.pop(path, None) is not None

    def _forget_all(self) -> set[Path]:
        gone = set(self._files)
        self._files.clear()
        self._paths.clear()
        self._failing.clear()
        self._quiet.clear()
        self._entries.clear()
        return gone

    def _refresh(self, path: Path, st: os.stat_result | None) -> bool:
        state = self._files.get(path)
        known = state is not None
        if state is None:
            spath = str(path)
            pid = int(spath[spath.rindex("/") + 1 : -len(".json")])  # a session file's name
            state = self._files[path] = _FileState(spath, pid if 0 < pid <= PID_MAX else None)
        elif st is not None and state.key is not None and state.key == _stat_key(st):
            return False
        old_entry = state.entry
        self.reads += 1
        try:
            read_start_ns = time.time_ns()
            data, fst = _read_bytes(path, self._max_bytes)
            entry = parse_entry(path, data, file_pid=state.file_pid)
        except FileNotFoundError:
            self._forget(path)
            return known
        except RegistryParseError as error:
            state.key = None
            self._failing.add(path)
            if state.failing_since is None:
                state.failing_since = self._clock()
            state.error = str(error)
        else:
            racy = read_start_ns - fst.st_mtime_ns < _RACY_NS
            state.key = None if racy else _stat_key(fst)
            state.entry = self._entries[path] = entry
            if state.failing_since is not None or state.error is not None:
                state.error = state.failing_since = None
                self._failing.discard(path)
        visible = self._visible_problem(state)
        problem_changed = visible != state.reported
        state.reported = visible
        if state.entry is old_entry:
            return problem_changed
        return problem_changed or old_entry is None or state.entry != old_entry


def validate_name(name: str) -> str:
    """Clean and check a session name typed by the user.

    Args:
        name: The raw name.

    Returns:
        The name without surrounding whitespace.

    Raises:
        InvalidName: Empty, contains a control or format character (Unicode categories Cc,
            Cf, e.g. ESC, newline, DEL, bidi overrides; also line/paragraph separators and
            lone surrogates), or longer than :data:`MAX_NAME_CHARS` characters.
    """
    clean = name.strip()
    if not clean:
        raise InvalidName("the name is empty")
    if any(unicodedata.category(ch) in _CONTROL_CATEGORIES for ch in clean):
        raise InvalidName("the name contains control characters")
    if len(clean) > MAX_NAME_CHARS:
        raise InvalidName(f"the name is longer than {MAX_NAME_CHARS} characters")
    return clean


def _read_object_retrying(path: Path) -> tuple[bytes, dict[str, object], os.stat_result]:
    """Read a JSON object, retrying for :data:`WRITE_RETRY_S` while it looks half-written.

    Returns:
        The bytes read, the object, and the file's fstat.
    """
    deadline = time.monotonic() + WRITE_RETRY_S
    while True:
        data, st = _read_bytes(path, MAX_FILE_BYTES)
        try:
            return data, _decode_object(data), st
        except RegistryParseError as error:
            if str(error) == "not a JSON object" or time.monotonic() >= deadline:
                raise
        time.sleep(0.02)


def _dump(obj: dict[str, object]) -> bytes:
    """Compact JSON as Claude Code writes it (non-ASCII kept; escaped if not encodable)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from \\udXXX escapes
        return json.dumps(obj, separators=(",", ":")).encode("ascii")


def _write_temp(directory: Path, file_pid: int, data: bytes, mode: int) -> Path:
    """Write ``data`` to a new fsynced ``.<pid>.json.<random>.tmp`` (never a session name)."""
    import secrets  # only rewrites need it (hmac and hashlib: ~5 ms a one-shot read saves)

    tmp = directory / f".{file_pid}.json.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, mode)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_name(path: Path, name: str) -> None:
    """Set a session's ``name`` in its registry file, atomically, keeping everything else.

    Reads the current object (retrying briefly while Claude Code's truncate-and-write leaves
    it empty or half-written), sets ``name``, drops ``nameSource`` (the name is no longer
    derived), keeps every other key in order, writes compact JSON to a temp file in the same
    directory with the original's mode, fsyncs it and renames it over ``path``. If the file
    changes while this runs, the update is redone on the new content.

    Args:
        path: A ``<pid>.json`` file.
        name: The new name (checked with :func:`validate_name`).

    Raises:
        InvalidName: The name is rejected.
        FileNotFoundError: The file is gone.
        RegistryParseError: Not a ``<pid>.json`` file, a symlink, not a JSON object, still
            unparseable after retrying, or unreadable.
        OSError: The temp file could not be written or renamed (none is left behind).
    """
    clean = validate_name(name)
    file_pid = _file_pid(path)
    for _attempt in range(5):
        data, obj, st = _read_object_retrying(path)
        obj["name"] = clean
        obj.pop("nameSource", None)
        tmp = _write_temp(path.parent, file_pid, _dump(obj), stat.S_IMODE(st.st_mode))
        try:
            try:
                now, _ = _read_bytes(path, MAX_FILE_BYTES)
            except RegistryParseError:
                now = b""
            if now != data:
                continue  # rewritten meanwhile: redo on the new content
            tmp.replace(path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        _fsync_dir(path.parent)
        return
    raise RegistryParseError("the file keeps changing; name not written")


def remove_dead_entry(path: Path, proc_start: str | None) -> None:
    """Delete the ``<pid>.json`` of a dead session ("dismiss").

    Re-checks right before unlinking that the process is dead, both with the caller's
    ``proc_start`` and with the ``procStart`` the file holds now (a new process with the same
    PID may have rewritten it). Never touches any other file.

    Args:
        path: A ``<pid>.json`` file (not a symbolic link).
        proc_start: The ``procStart`` the caller knows for this entry, or ``None``.

    Raises:
        FileNotFoundError: The file is already gone.
        SessiontuiError: Not a session file, not a regular file, or "process N is still
            alive; not removed".
    """
    if not is_session_file(path.name):
        raise SessiontuiError(f"{path.name!r} is not a session file; not removed")
    st = path.stat(follow_symlinks=False)
    if not stat.S_ISREG(st.st_mode):
        raise SessiontuiError(f"{path.name!r} is not a regular file; not removed")
    pid = _file_pid(path)
    starts = {proc_start}
    with contextlib.suppress(RegistryParseError):
        current = read_entry(path).proc_start
        if current is not None:
            starts.add(current)
    if any(is_alive(pid, start) for start in starts):
        raise SessiontuiError(f"process {pid} is still alive; not removed")
    path.unlink()
