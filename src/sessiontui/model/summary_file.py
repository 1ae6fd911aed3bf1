"""The status summary a running monitor publishes for ``sessiontui status`` (issue 9).

A status bar runs ``sessiontui status`` every second or so. Reading every source afresh costs a
Python process ~130-190 ms here, most of it importing psutil and the model. A running monitor
(the TUI, ``sessiontui --bg``) already holds the live snapshot, so it publishes the summary's
fields (:func:`sessiontui.model.summary.summary_fields`) in a small file, and ``status`` renders
them with the same :func:`~sessiontui.model.summary.render_fields`, importing only ``os``,
``json``, ``zlib`` and the summary module.

The file, ``<runtime dir>/status-<crc32 of the scope, 8 hex>.json``, mode 0600, written
atomically (a temporary file renamed over it) and only when a field changed, is JSON::

    {"version": 1, "pid": 4242, "start": "123456", "generation": 3,
     "written_at_ms": 1795271276089, "scope": "...",
     "config": {"path": "/home/u/.config/sessiontui/config.toml", "stat": [ino, size, mtime_ns]},
     "fields": {"waiting": 1, "busy": 2, ..., "total": 5, "first_waiting": "api-3f"}}

``pid`` and ``start`` (field 22 of ``/proc/<pid>/stat``) name the publishing process;
``generation`` counts its writes (1 for the first) and ``written_at_ms`` is when it wrote
(milliseconds since the Unix epoch; for people and scripts, no reader depends on it); ``scope``
says which sessions it counts (:func:`scope_key`); ``config`` is the configuration file it read
(``stat`` ``null`` when there was none). A reader trusts the file only when the same user owns it
and its directory (mode 0700, no symlink), the scope is its own, the configuration file is
unchanged, and the publisher still runs (same start time, not stopped, not a zombie); otherwise
it reads the sources itself. The reader never writes. That is what "fresh" means here: the
monitor's loop outlives any failed batch of work and publishes every change, so a running,
unstopped publisher's file is current; a monitor thread that hangs is not detected.

The runtime directory is ``$XDG_RUNTIME_DIR/sessiontui`` when ``$XDG_RUNTIME_DIR`` is an
absolute path to a directory of ours with mode 0700 (what the XDG base directory specification
requires), else ``${TMPDIR:-/tmp}/sessiontui-<uid>`` (as tmux keeps ``/tmp/tmux-<uid>``).
platformdirs is not used here: importing it alone takes ~15 ms, a quarter of ``status``'s budget.
"""

from __future__ import annotations

import json
import os
import stat
import time
import zlib

from sessiontui.model.procstat import proc_stat
from sessiontui.model.summary import FIELDS, NAME_MAX

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~5 ms at start-up)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from sessiontui.model.types import Snapshot, SnapshotChange

__all__ = [
    "SCOPE_ENV_VARS",
    "VERSION",
    "SummaryPublisher",
    "read_summary",
    "runtime_dir",
    "scope_key",
    "summary_path",
]

#: Format version of the file; a reader ignores any other.
VERSION = 1

#: Environment variables that change which sessions ``status`` counts or how it names them:
#: the registries (``HOME``, ``CLAUDE_CONFIG_DIR``), the configuration file
#: (``SESSIONTUI_CONFIG``, ``XDG_CONFIG_HOME``) and the names file (``XDG_STATE_HOME``).
SCOPE_ENV_VARS: tuple[str, ...] = (
    "HOME",
    "CLAUDE_CONFIG_DIR",
    "SESSIONTUI_CONFIG",
    "XDG_CONFIG_HOME",
    "XDG_STATE_HOME",
)

#: Largest file a reader accepts, in bytes (a summary is a few hundred).
MAX_BYTES = 16384

#: ``/proc/<pid>/stat`` states of a process that does not run: stopped, traced, zombie, dead.
_NOT_RUNNING = frozenset({"T", "t", "Z", "X", "x"})


def _private_dir(path: str) -> bool:
    """True when ``path`` is a real directory (no symlink) of ours that only we can use."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and stat.S_IMODE(info.st_mode) & 0o077 == 0
    )


def runtime_dir(environ: Mapping[str, str] | None = None) -> str:
    """The directory summaries are published in (it may not exist yet).

    Args:
        environ: Environment to read (default :data:`os.environ`).

    Returns:
        ``$XDG_RUNTIME_DIR/sessiontui`` when ``$XDG_RUNTIME_DIR`` is an absolute path to a
        private directory of ours, else ``${TMPDIR:-/tmp}/sessiontui-<uid>`` (``TMPDIR`` only
        when absolute).
    """
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_RUNTIME_DIR", "")
    if xdg.startswith("/") and _private_dir(xdg):
        return os.path.join(xdg, "sessiontui")
    tmp = env.get("TMPDIR", "")
    base = tmp if tmp.startswith("/") else "/tmp"
    return os.path.join(base, f"sessiontui-{os.getuid()}")


def scope_key(
    *,
    sessions_dir: str | None = None,
    codex: bool = True,
    config: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Which sessions a summary counts: equal keys mean ``status`` would read the same sources.

    Args:
        sessions_dir: ``--sessions-dir`` (made absolute), or ``None``.
        codex: Codex sessions are counted (no ``--no-codex`` and no ``--sessions-dir``).
        config: ``--config`` (made absolute), or ``None``.
        environ: Environment to read (default :data:`os.environ`); only
            :data:`SCOPE_ENV_VARS` count.

    Returns:
        A canonical JSON text (compact, sorted keys).
    """
    env = os.environ if environ is None else environ
    return json.dumps(
        {
            "sessions_dir": os.path.abspath(os.path.expanduser(sessions_dir))
            if sessions_dir
            else None,
            "codex": codex and not sessions_dir,
            "config": os.path.abspath(os.path.expanduser(config)) if config else None,
            "env": {name: env.get(name) for name in SCOPE_ENV_VARS},
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def summary_path(scope: str, environ: Mapping[str, str] | None = None) -> str:
    """The file the summary for ``scope`` (see :func:`scope_key`) is published in."""
    name = f"status-{zlib.crc32(scope.encode('utf-8')):08x}.json"
    return os.path.join(runtime_dir(environ), name)


def _config_stat(path: str | None) -> list[int] | None:
    """``[inode, size, mtime_ns]`` of the configuration file, ``None`` when there is none."""
    if path is None:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_ino, info.st_size, info.st_mtime_ns]


def _valid_fields(fields: object) -> bool:
    """True when ``fields`` has every :data:`FIELDS` name with a value of the right shape."""
    if not isinstance(fields, dict) or set(fields) != set(FIELDS):
        return False
    for name in FIELDS:
        value = fields[name]
        if name == "first_waiting":
            if not isinstance(value, str) or len(value) > NAME_MAX:
                return False
            if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
                return False
        elif type(value) is not int or value < 0:
            return False
    return True


def read_summary(scope: str, environ: Mapping[str, str] | None = None) -> dict[str, object] | None:
    """The published fields for ``scope``, if a running monitor vouches for them.

    Never raises on bad input and never writes: any doubt gives ``None`` (the caller then
    reads the sources itself).

    Args:
        scope: :func:`scope_key` of the caller's options. The configuration file is the one
            the publisher read: the scope holds every input of its path (``--config``,
            ``$SESSIONTUI_CONFIG``, ``$XDG_CONFIG_HOME``, ``$HOME``).
        environ: Environment to read (default :data:`os.environ`).

    Returns:
        Every :data:`~sessiontui.model.summary.FIELDS` name with its value, as
        :func:`~sessiontui.model.summary.summary_fields` gave it to the publisher; ``None``
        when there is no such file, it is not ours or malformed, its scope or the configuration
        file changed since the publisher read it, or its publisher no longer runs.
    """
    path = summary_path(scope, environ)
    if not _private_dir(os.path.dirname(path)):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            return None
        raw = os.read(fd, MAX_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    pid, start, fields = data.get("pid"), data.get("start"), data.get("fields")
    if data.get("scope") != scope or type(pid) is not int or not isinstance(start, str):
        return None
    recorded = data.get("config")
    if not isinstance(recorded, dict):
        return None
    config = recorded.get("path")
    if not (config is None or isinstance(config, str)) or recorded.get("stat") != _config_stat(
        config
    ):
        return None
    if not _valid_fields(fields):
        return None
    facts = proc_stat(pid)
    if facts is None or facts[1] != start or facts[0] in _NOT_RUNNING:
        return None
    return dict(fields)  # type: ignore[arg-type]  # checked by _valid_fields


class SummaryPublisher:
    """Publishes a monitor's summary fields for ``sessiontui status`` (see the module doc).

    Subscribe :meth:`on_change` to the monitor (it runs on the monitor's thread); call
    :meth:`close` when the monitor stops. Only a long-running monitor publishes: ``ls``,
    ``status``, ``watch`` and ``serve`` change no file (SPEC 3).

    Attributes:
        path: The published file.
        problem: The last write failure (``None`` after a good write), for diagnostics;
            writing never raises.
        generation: Number of summaries written (the file's ``generation``).
    """

    def __init__(
        self, scope: str, *, config: str | None, environ: Mapping[str, str] | None = None
    ) -> None:
        """Prepare to publish (nothing is written yet).

        Args:
            scope: :func:`scope_key` of the monitor's options.
            config: The configuration file the monitor read (it need not exist).
            environ: Environment to read for the runtime directory (default ours).
        """
        self.scope = scope
        self.path = summary_path(scope, environ)
        self.problem: str | None = None
        self._config = {"path": config, "stat": _config_stat(config)}
        self._pid = os.getpid()
        self._start = _own_start(self._pid)
        self._last: dict[str, object] | None = None
        self._wrote = False
        self.generation = 0

    def on_change(self, change: SnapshotChange) -> None:
        """A monitor subscriber: publish the new snapshot's summary if it changed."""
        self.publish(change.snapshot)

    def publish(self, snapshot: Snapshot) -> bool:
        """Write the summary of ``snapshot`` unless the file already holds it.

        Called for every published snapshot; costs a ``stat`` when nothing changed.

        Returns:
            ``True`` when the file was written.
        """
        from sessiontui.model.summary import summary_fields

        fields = summary_fields(snapshot)
        if self._start is None:
            return False
        if fields == self._last and os.path.exists(self.path):
            return False  # unchanged (written again if someone removed it, e.g. a tmp cleaner)
        data = {
            "version": VERSION,
            "pid": self._pid,
            "start": self._start,
            "generation": self.generation + 1,
            "written_at_ms": int(time.time() * 1000),
            "scope": self.scope,
            "config": self._config,
            "fields": fields,
        }
        try:
            self._write(json.dumps(data, ensure_ascii=False).encode("utf-8"))
        except OSError as error:
            self.problem = f"cannot publish the status summary in {self.path}: {error}"
            return False
        self.problem = None
        self.generation += 1
        self._last = fields
        self._wrote = True
        return True

    def _write(self, payload: bytes) -> None:
        """Replace the file with ``payload`` atomically, in a private directory of ours."""
        directory = os.path.dirname(self.path)
        try:  # noqa: SIM105 - contextlib is ~3 ms to import; this module must load fast
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        if not _private_dir(directory):
            raise PermissionError(f"{directory} is not a private directory of ours")
        temp = os.path.join(directory, f".status-{self._pid}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, payload)
        finally:
            os.close(fd)
        try:
            os.replace(temp, self.path)
        except OSError:
            os.unlink(temp)
            raise

    def close(self) -> None:
        """Remove the file if it still holds our summary (another monitor may have replaced it)."""
        if not self._wrote:
            return
        self._wrote = False
        self._last = None
        try:
            with open(self.path, "rb") as handle:
                data = json.loads(handle.read(MAX_BYTES + 1))
            if isinstance(data, dict) and data.get("pid") == self._pid:
                os.unlink(self.path)
        except (OSError, ValueError):
            pass


def _own_start(pid: int) -> str | None:
    facts = proc_stat(pid)
    return None if facts is None else facts[1]
