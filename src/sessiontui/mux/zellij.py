"""Zellij backend: socket discovery, pure CLI-output parsers, PID-to-pane mapping, verbs (SPEC 2.5).

One :class:`ZellijServer` stands for every Zellij session of the user: Zellij runs one server
process per session, all listening in one socket directory, and that directory is the
server identity (``Multiplexer.server``). Sessions are found without calling ``zellij``:
the sockets that answer a ``connect(2)`` are live (``SO_PEERCRED`` names each one's server
PID, which maps a pane process to its session even after a rename), and a
``session_info/<name>/`` cache directory holding a layout but no live socket is an exited,
resurrectable session. ``zellij list-sessions -n`` is only a slow safety poll.

Every ``zellij`` call is a child process with a timeout; a missing, hanging, crashing or
garbage-printing binary raises :class:`~sessiontui.errors.MuxUnavailable` ("unknown",
never "dead"). Call the methods from worker threads, never from the UI thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from sessiontui.errors import InvalidName, MuxError, MuxUnavailable, NameTaken, NotApplicable
from sessiontui.model.processes import parent_chain
from sessiontui.model.types import PaneInfo
from sessiontui.mux.base import KEY_ENTER, KEY_ESCAPE, CommandResult, check_key, check_text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from watchdog.observers.api import BaseObserver, ObservedWatch

__all__ = [
    "ListedSession",
    "ZellijChangeTrigger",
    "ZellijClient",
    "ZellijDiscovery",
    "ZellijPane",
    "ZellijServer",
    "ZellijSession",
    "ZellijTooOld",
    "cache_dir",
    "child_env",
    "find_zellij",
    "parse_list_clients",
    "parse_list_panes",
    "parse_list_sessions",
    "parse_version",
    "probe_socket",
    "socket_dir",
    "socket_server_pid",
    "strip_escapes",
]

logger = logging.getLogger(__name__)

#: Variables Zellij sets in every pane (SPEC 2.5). A ``zellij`` call about another session
#: must not carry them: the CLI client sends ``$ZELLIJ_PANE_ID`` to the server as the pane
#: the action comes from (zellij-client ``cli_client.rs``).
ZELLIJ_ENV_VARS: tuple[str, ...] = ("ZELLIJ", "ZELLIJ_SESSION_NAME", "ZELLIJ_PANE_ID")

#: The socket and cache sub-directory of Zellij 0.44+ (``CLIENT_SERVER_CONTRACT_VERSION`` 1).
CONTRACT_DIR = "contract_version_1"

#: A socket of the Zellij web server, not a session (zellij-utils ``consts.rs``).
WEB_SERVER_BUS = "web_server_bus"

#: Linux ``sockaddr_un.sun_path`` size: Zellij refuses longer socket paths.
MAX_SOCKET_PATH_BYTES = 108

#: First version with ``action list-panes`` and ``contract_version_1`` directories.
SUPPORTED_SINCE: tuple[int, int, int] = (0, 44, 0)
#: First version with ``action focus-pane-id``.
FOCUS_PANE_SINCE: tuple[int, int, int] = (0, 44, 1)

_PANE_ID = re.compile(r"terminal_(\d+)")
_VERSION = re.compile(r"zellij (\d+)\.(\d+)\.(\d+)(\S*)")
_LIST_SESSIONS = re.compile(r"^(?P<name>.+?) \[Created (?P<age>.+?) ago\] ?(?P<suffix>.*)$")
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, ended by BEL or ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CLIENT_ROW = re.compile(r"(?P<id>\d+) +(?P<pane>(?:terminal|plugin)_\d+|N/A) +(?P<command>.*)")
_SUFFIX_CURRENT = "(current)"
_SUFFIX_EXITED = "(EXITED - attach to resurrect)"
_MAX_CACHED_PROCESSES = 1024
#: Zellij's ``send-keys`` names of the keys of :data:`~sessiontui.mux.base.KEY_NAMES`.
_ZELLIJ_KEYS: dict[str, str] = {KEY_ENTER: "Enter", KEY_ESCAPE: "Esc"}
_SO_PEERCRED = getattr(socket, "SO_PEERCRED", 17)


class ZellijTooOld(NotApplicable):
    """The installed Zellij predates the feature an action needs (0.44+ is supported)."""


# ---------------------------------------------------------------------------------- paths


def _absolute_env(environ: Mapping[str, str], name: str) -> str | None:
    """``environ[name]`` when it is an absolute path (the ``directories`` crate's rule)."""
    value = environ.get(name, "")
    return value if value.startswith("/") else None


def socket_base(environ: Mapping[str, str] | None = None, *, uid: int | None = None) -> Path:
    """Return Zellij's socket base directory, before the contract/version sub-directory.

    ``$ZELLIJ_SOCKET_DIR``, else ``$XDG_RUNTIME_DIR/zellij`` (when absolute), else
    ``$TMPDIR/zellij-<uid>`` (``TMPDIR`` default ``/tmp``). Source: zellij-utils
    ``consts.rs`` (``ZELLIJ_SOCK_DIR``) and ``envs.rs`` (``ZELLIJ_SOCKET_DIR``). An empty
    ``ZELLIJ_SOCKET_DIR`` counts as unset.

    Args:
        environ: The environment (default ``os.environ``).
        uid: The user id (default ours).

    Returns:
        The directory (it may not exist).
    """
    env = os.environ if environ is None else environ
    if env.get("ZELLIJ_SOCKET_DIR"):
        return Path(env["ZELLIJ_SOCKET_DIR"])
    runtime = _absolute_env(env, "XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime, "zellij")
    tmp = env.get("TMPDIR") or "/tmp"  # Rust's std::env::temp_dir()
    return Path(tmp, f"zellij-{os.getuid() if uid is None else uid}")


def socket_dir(
    environ: Mapping[str, str] | None = None, *, version: tuple[int, int, int] | str | None = None
) -> Path:
    """Return the directory holding one socket per live session.

    Args:
        environ: The environment (default ``os.environ``).
        version: The Zellij version; before 0.44 the sub-directory is the version string
            (``0.43.1``), from 0.44 on (and when ``None``) it is ``contract_version_1``.

    Returns:
        ``<socket base>/contract_version_1`` (or ``/<version>``).
    """
    return socket_base(environ) / _versioned_dir(version)


def _versioned_dir(version: tuple[int, int, int] | str | None) -> str:
    if version is None:
        return CONTRACT_DIR
    if isinstance(version, str):
        parsed = _VERSION.match(f"zellij {version}")
        if parsed is None:
            return CONTRACT_DIR
        triple = (int(parsed[1]), int(parsed[2]), int(parsed[3]))
        return version if triple < SUPPORTED_SINCE else CONTRACT_DIR
    return ".".join(map(str, version)) if version < SUPPORTED_SINCE else CONTRACT_DIR


def cache_dir(
    environ: Mapping[str, str] | None = None, *, version: tuple[int, int, int] | str | None = None
) -> Path:
    """Return Zellij's ``session_info`` directory (one sub-directory per session).

    ``${XDG_CACHE_HOME:-~/.cache}/zellij/contract_version_1/session_info`` (zellij-utils
    ``consts.rs``: ``ZELLIJ_SESSION_INFO_CACHE_DIR``; before 0.44 the version string
    replaces ``contract_version_1``). Each ``<session>/`` holds ``session-metadata.kdl``
    (live sessions, rewritten within about a second of a change) and
    ``session-layout.kdl`` (resurrection data).

    Args:
        environ: The environment (default ``os.environ``).
        version: As for :func:`socket_dir`.

    Returns:
        The directory (it may not exist).
    """
    env = os.environ if environ is None else environ
    base = _absolute_env(env, "XDG_CACHE_HOME")
    root = Path(base) if base else Path(env.get("HOME") or str(Path.home()), ".cache")
    return root / "zellij" / _versioned_dir(version) / "session_info"


def find_zellij(environ: Mapping[str, str] | None = None) -> str | None:
    """Find the ``zellij`` binary: ``$SESSIONTUI_ZELLIJ_BIN``, then ``PATH``, then the CI cache.

    Args:
        environ: The environment (default ``os.environ``).

    Returns:
        An executable path, or ``None``.
    """
    env = os.environ if environ is None else environ
    explicit = env.get("SESSIONTUI_ZELLIJ_BIN")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) and Path(explicit).is_file() else None
    found = shutil.which("zellij", path=env.get("PATH"))
    if found:
        return found
    home = env.get("HOME") or str(Path.home())
    cached = Path(home, ".cache", "sessiontui-ci", "zellij", "bin", "zellij")
    return str(cached) if os.access(cached, os.X_OK) else None


def child_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a copy of ``environ`` (default ``os.environ``) without Zellij's pane variables.

    Use it for ``zellij attach`` run from sessiontui, and for every ``zellij`` call about a
    session other than our own.
    """
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if k not in ZELLIJ_ENV_VARS}


# ---------------------------------------------------------------------------------- parsers


@dataclass(frozen=True, slots=True)
class ListedSession:
    """One line of ``zellij list-sessions --no-formatting``.

    Attributes:
        name: The session name (untrusted text).
        age: Zellij's human age, e.g. ``"5s"`` or ``"1h 2m 3s"``.
        exited: ``(EXITED - attach to resurrect)``: resurrectable, no server.
        current: ``(current)``: the session the calling process runs in.
    """

    name: str
    age: str
    exited: bool
    current: bool


def parse_list_sessions(stdout: str) -> list[ListedSession]:
    """Parse ``zellij list-sessions --no-formatting`` (``ls -n``; zellij-utils ``sessions.rs``).

    One line per session, oldest first: ``NAME [Created AGE ago] SUFFIX``; SUFFIX is
    ``(current)``, ``(EXITED - attach to resurrect)`` or empty (the line then ends with one
    space). No sessions: empty stdout (and a message on stderr, exit 1).

    Args:
        stdout: The command's standard output.

    Returns:
        The sessions in output order.

    Raises:
        ValueError: A non-empty line that does not have this shape.
    """
    sessions: list[ListedSession] = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        match = _LIST_SESSIONS.match(line)
        if match is None:
            raise ValueError(f"not a zellij list-sessions line: {line[:80]!r}")
        suffix = match["suffix"].strip()
        if suffix not in ("", _SUFFIX_CURRENT, _SUFFIX_EXITED):
            raise ValueError(f"unknown zellij list-sessions suffix: {suffix[:80]!r}")
        sessions.append(
            ListedSession(
                name=match["name"],
                age=match["age"],
                exited=suffix == _SUFFIX_EXITED,
                current=suffix == _SUFFIX_CURRENT,
            )
        )
    return sessions


@dataclass(frozen=True, slots=True)
class ZellijPane:
    """One pane of ``zellij action list-panes --json`` (zellij-utils ``PaneListEntry``).

    Attributes:
        pane_id: ``terminal_<n>`` or ``plugin_<n>``.
        number: The ``<n>`` (``$ZELLIJ_PANE_ID`` of a terminal pane's processes).
        is_plugin: A plugin pane (tab bar, status bar, ...), not a terminal.
        title: The pane title (untrusted text).
        tab_id: Zellij's stable tab id.
        tab_position: The tab's position, 0 first.
        tab_name: The tab's name (untrusted text).
        is_focused: Focused in its tab.
        is_floating: A floating pane.
        exited: The pane's command has exited (the pane is held open).
        exit_status: Its exit status, when exited.
        terminal_command: The command the pane was started with, if any.
        pane_command: The pane's running foreground command, when Zellij could tell.
        pane_cwd: The pane's working directory, when Zellij could tell.
    """

    pane_id: str
    number: int
    is_plugin: bool
    title: str
    tab_id: int
    tab_position: int
    tab_name: str
    is_focused: bool = False
    is_floating: bool = False
    exited: bool = False
    exit_status: int | None = None
    terminal_command: str | None = None
    pane_command: str | None = None
    pane_cwd: str | None = None


def _int(obj: Mapping[str, object], key: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"list-panes field {key!r} is not an integer")
    return value


def _str(obj: Mapping[str, object], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ValueError(f"list-panes field {key!r} is not a string")
    return value


def _opt_int(obj: Mapping[str, object], key: str) -> int | None:
    return None if obj.get(key) is None else _int(obj, key)


def _opt_str(obj: Mapping[str, object], key: str) -> str | None:
    return None if obj.get(key) is None else _str(obj, key)


def _bool(obj: Mapping[str, object], key: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"list-panes field {key!r} is not a boolean")
    return value


def parse_list_panes(stdout: str) -> list[ZellijPane]:
    """Parse ``zellij action list-panes --json`` (zellij-server ``route.rs``).

    A JSON array (pretty-printed) of objects with, among others, ``id`` (int),
    ``is_plugin``, ``is_focused``, ``is_floating``, ``title``, ``exited``,
    ``exit_status``, ``terminal_command``, ``tab_id``, ``tab_position``, ``tab_name`` and,
    when Zellij could read them within 100 ms, ``pane_command`` and ``pane_cwd``. No PID.

    Args:
        stdout: The command's standard output.

    Returns:
        The panes in output order.

    Raises:
        ValueError: Not JSON, not an array of objects, or a field of the wrong type.
    """
    try:
        data = json.loads(stdout)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"zellij list-panes printed no JSON: {exc}") from None
    if not isinstance(data, list):
        raise ValueError("zellij list-panes printed JSON that is not an array")
    panes: list[ZellijPane] = []
    for item in data:
        if not isinstance(item, dict):
            raise ValueError("zellij list-panes printed an array item that is not an object")
        number = _int(item, "id")
        is_plugin = _bool(item, "is_plugin")
        panes.append(
            ZellijPane(
                pane_id=f"{'plugin' if is_plugin else 'terminal'}_{number}",
                number=number,
                is_plugin=is_plugin,
                title=_str(item, "title"),
                tab_id=_int(item, "tab_id"),
                tab_position=_int(item, "tab_position"),
                tab_name=_str(item, "tab_name"),
                is_focused=_bool(item, "is_focused"),
                is_floating=_bool(item, "is_floating"),
                exited=_bool(item, "exited"),
                exit_status=_opt_int(item, "exit_status"),
                terminal_command=_opt_str(item, "terminal_command"),
                pane_command=_opt_str(item, "pane_command"),
                pane_cwd=_opt_str(item, "pane_cwd"),
            )
        )
    return panes


@dataclass(frozen=True, slots=True)
class ZellijClient:
    """One row of ``zellij action list-clients``.

    Attributes:
        client_id: Zellij's client id.
        pane_id: The pane the client has focused (``terminal_<n>``/``plugin_<n>``), or
            ``None`` (``N/A``).
        command: What runs in that pane (``N/A`` when unknown; untrusted text).
    """

    client_id: int
    pane_id: str | None
    command: str


def parse_list_clients(stdout: str) -> list[ZellijClient]:
    """Parse ``zellij action list-clients`` (zellij-server ``session_layout_metadata.rs``).

    A header ``CLIENT_ID ZELLIJ_PANE_ID RUNNING_COMMAND``, then one row per client with the
    columns left-aligned and padded to 9, 14 and 15 characters, single spaces between. The
    command is printed verbatim: one with newlines continues on the following lines.

    Args:
        stdout: The command's standard output.

    Returns:
        The clients in output order.

    Raises:
        ValueError: No header, or a row that does not start with a client id.
    """
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return []
    if lines[0].split() != ["CLIENT_ID", "ZELLIJ_PANE_ID", "RUNNING_COMMAND"]:
        raise ValueError(f"not a zellij list-clients header: {lines[0][:80]!r}")
    clients: list[ZellijClient] = []
    for line in lines[1:]:
        row = _CLIENT_ROW.match(line)
        if row is None:
            if not clients:
                raise ValueError(f"not a zellij list-clients row: {line[:80]!r}")
            # A running command with newlines (``sh -c 'a\nb'``) continues on the next lines.
            last = clients[-1]
            clients[-1] = ZellijClient(last.client_id, last.pane_id, f"{last.command}\n{line}")
            continue
        pane = row["pane"]
        clients.append(
            ZellijClient(
                client_id=int(row["id"]),
                pane_id=None if pane == "N/A" else pane,
                command=row["command"].rstrip(),
            )
        )
    return clients


def parse_version(stdout: str) -> tuple[int, int, int]:
    """Parse ``zellij --version`` (``zellij 0.45.0``; clap's version line).

    Args:
        stdout: The command's standard output.

    Returns:
        ``(major, minor, patch)``.

    Raises:
        ValueError: No ``zellij X.Y.Z`` at the start of the output.
    """
    match = _VERSION.match(stdout.strip())
    if match is None:
        raise ValueError(f"not a zellij version: {stdout.strip()[:80]!r}")
    return int(match[1]), int(match[2]), int(match[3])


def strip_escapes(text: str) -> str:
    r"""Remove terminal escape sequences and other control characters from pane text.

    ``dump-screen`` prints plain text without ``--ansi``, but a pane's content is untrusted:
    any CSI/OSC/DCS sequence and any control or format character other than ``\n`` and
    ``\t`` is dropped (``\r`` too).

    >>> strip_escapes("a\x1b[31mb\x1b]0;title\x07c\u202ed")
    'abcd'
    """
    text = _ANSI.sub("", text)
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf")
    )


# ---------------------------------------------------------------------------------- discovery


def probe_socket(path: str | os.PathLike[str], timeout_s: float = 0.5) -> int | None:
    """Return the PID of the Zellij server listening on ``path``, or ``None`` (not live).

    A ``connect(2)`` to a listening Unix socket succeeds while its server lives; after a
    SIGKILL (or ``kill-session``: Zellij 0.45.0 leaves the file) the file lingers and
    ``connect`` is refused. ``SO_PEERCRED`` on the connected socket gives the PID of the
    process that listens (Linux ``unix(7)``). The connection is closed at once without a
    message: the server sees a client that left (as after ``zellij ls``'s own probe).

    Args:
        path: The socket file.
        timeout_s: Longest wait for the connection, in seconds.

    Returns:
        The server PID (``0`` when the platform cannot tell it), or ``None`` when the
        socket refuses connections, is missing or is not a socket.

    Raises:
        TimeoutError: No answer within ``timeout_s`` (a stopped or overloaded server:
            unknown, not dead).
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout_s)
        try:
            sock.connect(os.fspath(path))
        except TimeoutError:
            raise
        except BlockingIOError as exc:  # a full backlog on a non-blocking connect
            raise TimeoutError(f"no answer on {os.fspath(path)!r}") from exc
        except OSError:
            return None  # refused, missing, not a socket, no permission
        try:
            cred = sock.getsockopt(socket.SOL_SOCKET, _SO_PEERCRED, struct.calcsize("3i"))
            pid, _uid, _gid = struct.unpack("3i", cred)
        except OSError:
            return 0
        return int(pid)
    finally:
        sock.close()


#: A socket younger than this, whose session has no metadata file yet, is never connected
#: to: Zellij 0.45.0's server panics (``lib.rs:1454``, ``Option::unwrap()`` on ``None``) when
#: a client leaves before the first client finished connecting, so a probe during start-up
#: kills the new session (observed: 4 of 8 starts probed every 2 ms died).
STARTING_S = 5.0


def socket_server_pid(
    path: str | os.PathLike[str], session_info: Path | None = None, timeout_s: float = 0.5
) -> int | None:
    """Return the PID of the server of a session socket without harming a starting server.

    A session that has written ``session-metadata.kdl``, or whose socket is older than
    :data:`STARTING_S`, is asked with :func:`probe_socket`. A younger one is looked up
    instead among the processes: the one whose argv is ``zellij --server <path>``.

    Args:
        path: The socket file.
        session_info: The session's ``session_info/<name>/`` directory, if known.
        timeout_s: Longest wait for :func:`probe_socket`, in seconds.

    Returns:
        The server PID (``0`` when it does not answer in time or cannot be told), or
        ``None`` when no server serves the socket.
    """
    try:
        age_s = time.time() - Path(path).lstat().st_ctime
    except OSError:
        return None
    settled = session_info is not None and (session_info / "session-metadata.kdl").exists()
    if not settled and age_s < STARTING_S:
        return _argv_server(os.fspath(path))
    try:
        return probe_socket(path, timeout_s)
    except TimeoutError:
        return 0  # does not answer in time: unknown, so kept as live


def _argv_server(path: str) -> int | None:
    """The newest process whose argv is ``... --server <path>`` (read from ``/proc``)."""
    wanted = b"--server\0" + os.fsencode(path) + b"\0"
    best: tuple[float, int] | None = None
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as handle:  # noqa: PTH123
                cmdline = handle.read(8192)
        except OSError:
            continue
        if wanted in cmdline:
            try:
                started = entry.stat().st_mtime
            except OSError:
                continue
            if best is None or started > best[0]:
                best = (started, int(entry.name))
    return None if best is None else best[1]


@dataclass(frozen=True, slots=True)
class ZellijSession:
    """A Zellij session as the socket and cache directories show it.

    Attributes:
        name: The session name (= its socket file name; untrusted text).
        live: A server answers on its socket.
        server_pid: The server's PID (live sessions; ``0`` if unknown), else ``None``.
        socket_path: The socket file (live sessions), else ``None``.
        metadata_path: ``session-metadata.kdl``, when it exists.
        layout_path: ``session-layout.kdl`` (resurrection data), when it exists.
    """

    name: str
    live: bool
    server_pid: int | None = None
    socket_path: str | None = None
    metadata_path: str | None = None
    layout_path: str | None = None


@dataclass(frozen=True, slots=True)
class ZellijDiscovery:
    """What one look at the socket and cache directories found.

    Attributes:
        live: Live sessions by name.
        exited: Exited, resurrectable sessions by name (a layout, no live socket).
        stale_sockets: Socket files nobody answers on (a server killed by SIGKILL).
    """

    live: dict[str, ZellijSession] = field(default_factory=dict)
    exited: dict[str, ZellijSession] = field(default_factory=dict)
    stale_sockets: tuple[str, ...] = ()


def discover(sockets: Path, session_info: Path, *, timeout_s: float = 0.5) -> ZellijDiscovery:
    """List live and exited sessions from the directories alone (no ``zellij`` call).

    Live: socket files in ``sockets`` (not ``web_server_bus``) with a server, as told by
    :func:`socket_server_pid` (one that does not answer in time is kept, with PID ``0``).
    Exited: sub-directories of ``session_info`` holding ``session-layout.kdl`` whose name
    has no live socket (zellij-utils ``sessions.rs`` ``get_resurrectable_sessions``).
    Nothing is written or removed.

    Args:
        sockets: :func:`socket_dir`.
        session_info: :func:`cache_dir`.
        timeout_s: Longest wait per socket, in seconds.

    Returns:
        The sessions found (empty when the directories do not exist).
    """
    live: dict[str, ZellijSession] = {}
    stale: list[str] = []
    try:
        entries = list(os.scandir(sockets))
    except OSError:
        entries = []
    for entry in entries:
        if entry.name == WEB_SERVER_BUS:
            continue
        try:
            if not stat.S_ISSOCK(entry.stat(follow_symlinks=False).st_mode):
                continue
        except OSError:
            continue
        pid = socket_server_pid(entry.path, session_info / entry.name, timeout_s)
        if pid is None:
            stale.append(entry.name)
            continue
        info = session_info / entry.name
        metadata = info / "session-metadata.kdl"
        layout = info / "session-layout.kdl"
        live[entry.name] = ZellijSession(
            name=entry.name,
            live=True,
            server_pid=pid,
            socket_path=entry.path,
            metadata_path=str(metadata) if metadata.exists() else None,
            layout_path=str(layout) if layout.exists() else None,
        )
    exited: dict[str, ZellijSession] = {}
    try:
        folders = list(os.scandir(session_info))
    except OSError:
        folders = []
    for folder in folders:
        if folder.name in live:
            continue
        with contextlib.suppress(OSError):
            if not folder.is_dir(follow_symlinks=False):
                continue
        layout = Path(folder.path, "session-layout.kdl")
        if layout.exists():
            exited[folder.name] = ZellijSession(
                name=folder.name, live=False, layout_path=str(layout)
            )
    return ZellijDiscovery(live=live, exited=exited, stale_sockets=tuple(sorted(stale)))


def _server_socket(pid: int) -> str | None:
    """The socket path of ``zellij --server <path>`` when process ``pid`` is such a server.

    Read from ``/proc/<pid>/cmdline`` (the argv keeps the session's original name after a
    rename: zellij-client ``lib.rs`` ``spawn_server``).
    """
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    argv = raw.split(b"\0")
    for i, arg in enumerate(argv[:-1]):
        if arg == b"--server" and argv[i + 1]:
            return os.fsdecode(argv[i + 1])
    return None


def check_session_name(name: str, sockets: Path | None = None) -> str:
    """Refuse a session name Zellij could not use as a file name (``InvalidName``).

    Names are socket and directory names: no ``/``, no NUL or other control characters, not
    ``.``/``..``/``web_server_bus``, and ``<socket dir>/<name>`` must fit in 108 bytes.

    Args:
        name: The name.
        sockets: :func:`socket_dir`, to check the length (skipped when ``None``).

    Returns:
        ``name``.

    Raises:
        InvalidName: The name is not usable.
    """
    if not name:
        raise InvalidName("the name is empty")
    if "/" in name or name in (".", "..", WEB_SERVER_BUS):
        raise InvalidName(f"Zellij cannot use {name!r} as a session name")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") for ch in name):
        raise InvalidName("Zellij session names cannot hold control characters")
    if sockets is not None and len(os.fsencode(sockets / name)) >= MAX_SOCKET_PATH_BYTES:
        raise InvalidName(f"the name {name!r} is too long for a Zellij socket path")
    return name


# ---------------------------------------------------------------------------------- the server


@dataclass(frozen=True, slots=True)
class _ProcFacts:
    """What cannot change during a process's life, for :meth:`ZellijServer.locate`.

    Attributes:
        env_pane: ``$ZELLIJ_PANE_ID`` as a number, if any.
        server_pid: The nearest ancestor that is a ``zellij --server`` of our socket dir.
        server_socket: That server's ``--server`` argument (its original socket path).
        pane_pid: The ancestor that is a direct child of the server (the pane process).
    """

    env_pane: int | None
    server_pid: int | None
    server_socket: str | None
    pane_pid: int | None


@dataclass
class _PaneCache:
    """``list-panes`` output of one session, valid while its metadata file is unchanged."""

    key: bytes
    at: float
    panes: list[ZellijPane]


class ZellijServer:
    """Every Zellij session of the user (one socket directory), driven by ``zellij`` calls.

    Implements :class:`~sessiontui.mux.base.Multiplexer` where it fits. Zellij pane ids
    (``terminal_<n>``) are unique only within a session, so verbs on a pane also take the
    session name (keyword ``session``); :class:`~sessiontui.model.types.PaneInfo` rows carry
    it as ``session_id`` and ``session_name``. A "client" of this backend is a Zellij
    session name plus our pane (Zellij has no client ttys): see :meth:`own_client`.

    Args:
        binary: The ``zellij`` executable (default :func:`find_zellij`).
        environ: The environment (default ``os.environ``): the socket and cache directories
            are derived from it, ``zellij`` children get it (minus :data:`ZELLIJ_ENV_VARS`
            except for actions on our own client), and ``ZELLIJ``/``ZELLIJ_PANE_ID``/
            ``ZELLIJ_SESSION_NAME`` tell whether we run inside Zellij.
        timeout_s: Longest wait for one ``zellij`` call, in seconds.
        list_sessions_ttl_s: How long a ``list-sessions`` answer is reused, in seconds.
        panes_ttl_s: How long a session's ``list-panes`` answer is reused while its
            ``session-metadata.kdl`` is unchanged, in seconds. Longer than the monitor's
            30 s safety poll: a change of tabs, panes or titles rewrites the metadata within
            about a second (and triggers a poll); what it does not show (a pane's current
            command and cwd) is refreshed every ``panes_ttl_s``. With 10 idle sessions,
            asking each one every 30 s was most of the monitor's idle CPU.
        kinds_path: sessiontui's state file of the sessions it made (JSON ``{"version": 1,
            "kinds": {name: kind}}``; Zellij has no session options to mark them), or
            ``None`` to remember nothing. Their panes get ``session_kind``.
    """

    type = "zellij"
    capabilities: frozenset[str] = frozenset(
        {"capture", "detach", "switch", "new_session", "resurrect", "send_keys"}
    )

    def __init__(
        self,
        *,
        binary: str | None = None,
        environ: Mapping[str, str] | None = None,
        timeout_s: float = 3.0,
        list_sessions_ttl_s: float = 10.0,
        panes_ttl_s: float = 120.0,
        kinds_path: Path | None = None,
    ) -> None:
        self._kinds_path = kinds_path
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._binary = binary
        self._timeout_s = timeout_s
        self._ls_ttl_s = list_sessions_ttl_s
        self._panes_ttl_s = panes_ttl_s
        self._lock = threading.Lock()
        self._version: tuple[int, int, int] | None = None
        self._version_asked = False
        self._listed: tuple[float, list[ListedSession]] | None = None
        self._pane_cache: dict[str, _PaneCache] = {}
        self._facts: dict[tuple[int, float], _ProcFacts] = {}
        self._pane_pids: dict[tuple[int, float], int | None] = {}
        self._names_by_pid: dict[int, str] = {}
        self._details: dict[tuple[str, str], ZellijPane] = {}
        self._unanswered: dict[str, str] = {}

    # ------------------------------------------------------------------ our sessions

    def kinds(self) -> dict[str, str]:
        """The sessions sessiontui made, ``{name: kind}`` (empty when unknown or unreadable)."""
        if self._kinds_path is None:
            return {}
        try:
            with self._kinds_path.open("rb") as handle:
                data = json.loads(handle.read(1 << 20))
        except (OSError, ValueError):
            return {}
        kinds = data.get("kinds") if isinstance(data, dict) else None
        if not isinstance(kinds, dict):
            return {}
        return {k: v for k, v in kinds.items() if isinstance(k, str) and isinstance(v, str)}

    def _set_kind(self, name: str, kind: str | None, *, old: str | None = None) -> None:
        """Remember (or forget, ``kind=None``) a session we made; ``old``: its former name.

        Names that are neither live nor exited any more (deleted outside sessiontui) are
        forgotten at the same time, so a session the user later makes under such a name is
        not taken for ours. Only actions write the file, never a poll (listing writes
        nothing).
        """
        if self._kinds_path is None:
            return
        found = self.discover()
        present = {*found.live, *found.exited}
        with self._lock:
            kinds = {k: v for k, v in self.kinds().items() if k in present or k == old}
            if old is not None:
                kind = kinds.pop(old, None) if kind is None else kind
            if kind is None:
                kinds.pop(name, None)
            else:
                kinds[name] = kind
            self._kinds_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._kinds_path.with_name(f".{self._kinds_path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": 1, "kinds": kinds}))
            tmp.replace(self._kinds_path)

    # ------------------------------------------------------------------ plumbing

    @property
    def server(self) -> str:
        """The socket directory (``…/contract_version_1``): this backend's identity."""
        return str(self.socket_dir)

    @property
    def socket_dir(self) -> Path:
        """The directory of the session sockets (see :func:`socket_dir`).

        Depends on the version (0.43 and older use a version-named directory), which is
        asked once; while ``zellij`` cannot tell it, the 0.44+ directory is assumed.
        """
        return socket_dir(self._environ, version=self._known_version())

    @property
    def cache_dir(self) -> Path:
        """The ``session_info`` directory (see :func:`cache_dir`)."""
        return cache_dir(self._environ, version=self._known_version())

    def _known_version(self) -> tuple[int, int, int] | None:
        """The version if known; asks ``zellij --version`` once (never raises)."""
        if self._version is None and not self._version_asked:
            self._version_asked = True
            with contextlib.suppress(MuxUnavailable):
                self.version()
        return self._version

    def _zellij(self) -> str:
        binary = self._binary or find_zellij(self._environ)
        if binary is None:
            raise MuxUnavailable(
                "zellij is not installed (not on PATH; set SESSIONTUI_ZELLIJ_BIN to its path)"
            )
        return binary

    def _env(self, *, own: bool) -> dict[str, str]:
        return dict(self._environ) if own else child_env(self._environ)

    def _run(
        self,
        *args: str,
        session: str | None = None,
        own: bool = False,
        timeout_s: float | None = None,
        what: str | None = None,
    ) -> CommandResult:
        """Run ``zellij [-s SESSION] ARGS`` with the timeout.

        The child runs in its own process group with stdin closed; on timeout the group is
        killed. Output goes to pipes only for short-lived clients; see
        :meth:`_create_background` for the one call that starts a server.

        Args:
            *args: The zellij arguments.
            session: ``-s SESSION`` (exact: Zellij matches session names exactly).
            own: Keep ``$ZELLIJ_PANE_ID`` and friends (actions on our own client).
            timeout_s: Override of the server's timeout, in seconds.
            what: The command's name for messages (default ``args[0]``).

        Returns:
            The decoded result (UTF-8, invalid bytes replaced); any exit status.

        Raises:
            MuxUnavailable: zellij missing, not executable, killed by a signal, or no
                answer within the timeout.
        """
        argv = [self._zellij(), *(["-s", session] if session is not None else []), *args]
        label = what or " ".join(args[:2])
        limit = self._timeout_s if timeout_s is None else timeout_s
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._env(own=own),
                start_new_session=True,
            )
        except OSError as exc:
            raise MuxUnavailable(f"cannot run zellij: {exc}") from exc
        try:
            out, err = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise MuxUnavailable(f"zellij did not answer within {limit:g} s ({label})") from None
        result = CommandResult(
            stdout=out.decode("utf-8", "replace"),
            stderr=err.decode("utf-8", "replace"),
            returncode=proc.returncode,
        )
        if result.returncode < 0:
            raise MuxUnavailable(
                f"zellij was killed by signal {-result.returncode} ({label}): {result.message}"
            )
        return result

    def version(self) -> tuple[int, int, int]:
        """Return the installed Zellij's version (``zellij --version``, asked once).

        Raises:
            MuxUnavailable: zellij missing, hanging, failing, or printing no version.
        """
        if self._version is None:
            result = self._run("--version")
            try:
                if result.returncode != 0:
                    raise ValueError(result.message)
                self._version = parse_version(result.stdout)
            except ValueError as exc:
                raise MuxUnavailable(f"zellij --version failed: {exc}") from None
        return self._version

    def _require(self, since: tuple[int, int, int], what: str) -> None:
        """Raise :class:`ZellijTooOld` when the installed Zellij predates ``since``."""
        version = self.version()
        if version < since:
            have = ".".join(map(str, version))
            need = ".".join(map(str, since))
            raise ZellijTooOld(f"Zellij {have} cannot {what} (needs Zellij {need} or newer)")

    # ------------------------------------------------------------------ discovery

    def discover(self) -> ZellijDiscovery:
        """Look at the socket and cache directories (no ``zellij`` call; see :func:`discover`).

        Also records which server PID serves which session name (for :meth:`locate`).
        """
        found = discover(self.socket_dir, self.cache_dir, timeout_s=min(0.5, self._timeout_s))
        with self._lock:
            self._names_by_pid = {
                s.server_pid: name for name, s in found.live.items() if s.server_pid
            }
        return found

    def list_sessions(self, *, max_age_s: float | None = None) -> list[ListedSession]:
        """Return ``zellij list-sessions -n``, reused for ``list_sessions_ttl_s`` (safety poll).

        Args:
            max_age_s: Accept a cached answer at most this old (default the TTL).

        Returns:
            The sessions, oldest first; ``[]`` when there are none.

        Raises:
            MuxUnavailable: zellij missing, hanging, failing or printing garbage.
        """
        ttl = self._ls_ttl_s if max_age_s is None else max_age_s
        now = time.monotonic()
        with self._lock:
            cached = self._listed
        if cached is not None and now - cached[0] <= ttl:
            return list(cached[1])
        result = self._run("list-sessions", "--no-formatting")
        if result.returncode != 0:
            if not result.stdout.strip() and "No active zellij sessions" in result.stderr:
                sessions: list[ListedSession] = []
            else:
                raise MuxUnavailable(f"zellij list-sessions failed: {result.message}")
        else:
            try:
                sessions = parse_list_sessions(result.stdout)
            except ValueError as exc:
                raise MuxUnavailable(f"zellij list-sessions printed garbage: {exc}") from None
        with self._lock:
            self._listed = (time.monotonic(), sessions)
        return list(sessions)

    def is_live(self, name: str) -> bool:
        """True when a server serves the socket of session ``name`` (no ``zellij`` call).

        See :func:`socket_server_pid`: safe to call while the session starts; a server that
        does not answer in time counts as live ("unknown", never "gone").
        """
        if not name or "/" in name or name in (".", ".."):
            return False
        path = self.socket_dir / name
        try:
            if not stat.S_ISSOCK(path.lstat().st_mode):
                return False
        except OSError:
            return False
        pid = socket_server_pid(path, self.cache_dir / name, min(0.5, self._timeout_s))
        return pid is not None

    def has_session(self, name: str) -> bool:
        """True when a live or exited (resurrectable) session is named exactly ``name``.

        Both block the name: Zellij refuses to rename a session to a resurrectable one's
        name. No ``zellij`` call.
        """
        if self.is_live(name):
            return True
        if not name or "/" in name or name in (".", ".."):
            return False
        return (self.cache_dir / name / "session-layout.kdl").exists()

    def panes(self, session: str, *, fresh: bool = False) -> list[ZellijPane]:
        """Return the panes of a live session (``-s NAME action list-panes --json --all``).

        Reused while the session's ``session-metadata.kdl`` (rewritten by Zellij within
        about a second of a change) has the same content, for at most ``panes_ttl_s``.

        Args:
            session: The session name.
            fresh: Ignore the cache.

        Returns:
            Every pane, plugins included.

        Raises:
            ZellijTooOld: Zellij before 0.44 (no ``list-panes``).
            MuxUnavailable: zellij missing, hanging, failing or printing garbage.
            MuxError: The session does not exist.
        """
        self._require(SUPPORTED_SINCE, "list panes")
        key = self._metadata_key(session)
        now = time.monotonic()
        with self._lock:
            cached = self._pane_cache.get(session)
        if key is None:  # being rewritten right now: as good as unchanged
            key = cached.key if cached is not None else b""
        if (
            not fresh
            and cached is not None
            and cached.key == key
            and key
            and now - cached.at <= self._panes_ttl_s
        ):
            return list(cached.panes)
        for attempt in range(3):
            result = self._run("action", "list-panes", "--json", "--all", session=session)
            if result.returncode != 0:
                raise self._error(result, session)
            if result.stdout.strip():
                break
            # Exit 0 and nothing printed: the session's screen thread did not answer the
            # server within its own 1 s (zellij-server route.rs; seen right after a start
            # and after a SIGCONT). Ask again.
            time.sleep(0.1 * (attempt + 1))
        else:
            raise MuxUnavailable(f"Zellij session {session!r} did not list its panes")
        try:
            panes = parse_list_panes(result.stdout)
        except ValueError as exc:
            raise MuxUnavailable(
                f"zellij list-panes printed garbage: {exc} (output: {result.stdout[:60]!r})"
            ) from None
        with self._lock:
            self._pane_cache[session] = _PaneCache(key=key, at=now, panes=panes)
        return list(panes)

    def _metadata_key(self, session: str) -> bytes | None:
        """:func:`_metadata_digest` of the session's metadata file.

        Its mtime cannot tell a real change: Zellij rewrites it after every client
        connection, our own ``list-panes`` included (and our socket probes: a poll's own
        probes make every session rewrite it within about a second).

        Returns:
            The digest; ``b""`` when the file cannot be read; ``None`` when it is empty
            (Zellij truncates it before writing it again: caught between the two).
        """
        try:
            with (self.cache_dir / session / "session-metadata.kdl").open("rb") as handle:
                data = handle.read(1 << 20)
        except OSError:
            return b""
        return _metadata_digest(data) if data else None

    def _error(self, result: CommandResult, session: str | None = None) -> MuxError:
        text = result.message or f"zellij exited with status {result.returncode}"
        if session is not None and ("not found" in text or "There is no active session" in text):
            return MuxError(f"no live Zellij session named {session!r}")
        return MuxError(text)

    def list_panes(self) -> list[PaneInfo]:
        """Return every terminal pane of every live session (``PaneInfo.server`` set).

        One :meth:`discover` plus one ``list-panes`` call per live session whose metadata
        changed. A session that vanishes meanwhile is skipped. ``pane_pid`` is the pane
        process (the server's child whose ``$ZELLIJ_PANE_ID`` is the pane's number), ``0``
        when not found; ``window_index`` is the tab position, ``window_id`` the tab id,
        ``pane_index`` the pane's rank in its tab; ``session_attached`` and ``clients`` count
        the session's clients (from its metadata when readable). A session that does not
        answer keeps its last known rows and is named in :attr:`unanswered`; only when no
        live session answers is :class:`~sessiontui.errors.MuxUnavailable` raised.

        An exited (resurrectable) session that sessiontui made (see :meth:`kinds`) comes
        last, as one row with ``exited`` set and no pane; the user's own exited sessions
        hold no agent and are not listed.

        Returns:
            The panes, live sessions in name order, then exited ones.

        Raises:
            ZellijTooOld: Zellij before 0.44.
            MuxUnavailable: zellij missing, hanging, failing or printing garbage.
        """
        self.version()  # a missing or broken binary fails the whole poll
        found = self.discover()
        unanswered: dict[str, str] = {}
        children: dict[int, list[psutil.Process]] = {}
        if found.live:
            children = _children_of({s.server_pid or 0 for s in found.live.values()})
        rows: list[PaneInfo] = []
        details: dict[tuple[str, str], ZellijPane] = {}
        kinds = self.kinds()
        for name in sorted(found.live):
            session = found.live[name]
            if session.metadata_path is None and _age_s(session.socket_path) < STARTING_S:
                # Still starting: asking it now could crash it (STARTING_S). Its pane
                # processes are known already (its server's children, by their
                # ZELLIJ_PANE_ID): provisional rows in its first tab until its metadata
                # appears (about 1 s after the start; the trigger then asks for a poll).
                rows.extend(self._starting_rows(session, children, kinds.get(name)))
                continue
            try:
                panes = self.panes(name)
            except MuxUnavailable as exc:
                # One session not answering (stopped, overloaded): its last known panes,
                # listed in ``unanswered`` ("unknown", never "dead").
                unanswered[name] = str(exc)
                with self._lock:
                    cached = self._pane_cache.get(name)
                if cached is None:
                    continue
                panes = cached.panes
            except MuxError:
                if not self.is_live(name):
                    continue
                raise
            pids = self._pane_processes(session.server_pid or 0, children)
            clients = _connected_clients(session.metadata_path)
            rank: dict[int, int] = {}
            for pane in panes:
                if pane.is_plugin:
                    continue
                index = rank.get(pane.tab_id, 0)
                rank[pane.tab_id] = index + 1
                details[(name, pane.pane_id)] = pane
                rows.append(
                    PaneInfo(
                        pane_id=pane.pane_id,
                        pane_pid=pids.get(pane.number, 0),
                        pane_tty="",
                        session_id=name,
                        session_name=name,
                        window_index=str(pane.tab_position),
                        window_id=str(pane.tab_id),
                        pane_index=str(index),
                        current_command=pane.pane_command or pane.terminal_command or "",
                        session_attached=clients or 0,
                        server=self.server,
                        clients=clients,
                        session_kind=kinds.get(name),
                        mux_type="zellij",
                    )
                )
        for name in sorted(found.exited):
            if name in kinds:  # one of ours, ended: listed until its data is deleted
                rows.append(_exited_row(name, kinds[name], self.server))
        with self._lock:
            self._details = details
            self._unanswered = unanswered
        if unanswered and len(unanswered) == len(found.live):
            raise MuxUnavailable(next(iter(unanswered.values())))
        return rows

    def _starting_rows(
        self,
        session: ZellijSession,
        children: dict[int, list[psutil.Process]],
        kind: str | None,
    ) -> list[PaneInfo]:
        """Provisional rows of a starting session, from its processes alone (no call)."""
        pids = self._pane_processes(session.server_pid or 0, children)
        return [
            PaneInfo(
                pane_id=f"terminal_{number}",
                pane_pid=pids[number],
                pane_tty="",
                session_id=session.name,
                session_name=session.name,
                window_index="0",
                window_id="0",
                pane_index=str(rank),
                current_command="",
                session_attached=0,
                server=self.server,
                clients=None,
                session_kind=kind,
                mux_type="zellij",
            )
            for rank, number in enumerate(sorted(pids))
        ]

    @property
    def unanswered(self) -> dict[str, str]:
        """Sessions whose panes the last :meth:`list_panes` could not ask for, with why.

        Their rows (when shown) are the last known ones.
        """
        with self._lock:
            return dict(self._unanswered)

    def pane_detail(self, session: str, pane_id: str) -> ZellijPane | None:
        """The ``list-panes`` row (tab name, pane title, ...) behind a :meth:`list_panes` row."""
        with self._lock:
            return self._details.get((session, pane_id))

    def _pane_processes(
        self, server_pid: int, children_of: dict[int, list[psutil.Process]]
    ) -> dict[int, int]:
        """Map pane number → PID of the server's children (read from their environment)."""
        out: dict[int, int] = {}
        for child in children_of.get(server_pid, []) if server_pid > 0 else []:
            try:
                key = (child.pid, child.create_time())
            except psutil.Error:
                continue
            with self._lock:
                known = key in self._pane_pids
                number = self._pane_pids.get(key)
            if not known:
                number = _env_pane(child.pid)
                with self._lock:
                    if len(self._pane_pids) >= _MAX_CACHED_PROCESSES:
                        self._pane_pids.clear()
                    self._pane_pids[key] = number
            if number is not None:
                out[number] = child.pid
        return out

    # ------------------------------------------------------------------ locating

    def names_server(self, environ_server: str) -> bool:
        """True when a socket path from a process's environment or argv is in our directory.

        Args:
            environ_server: A Zellij socket path (a ``zellij --server`` argument) or the
                socket directory itself.
        """
        ours = self.socket_dir
        path = Path(environ_server)
        return _same_path(path, ours) or _same_path(path.parent, ours)

    def _facts_for(self, pid: int) -> _ProcFacts | None:
        try:
            proc = psutil.Process(pid)
            key = (pid, proc.create_time())
        except psutil.Error:
            return None
        with self._lock:
            cached = self._facts.get(key)
        if cached is not None:
            return cached
        env_pane = _env_pane(pid)
        lineage = [pid, *parent_chain(pid)]
        server_pid: int | None = None
        server_socket: str | None = None
        pane_pid: int | None = None
        for i, ancestor in enumerate(lineage):
            if ancestor <= 1:
                break
            path = _server_socket(ancestor)
            if path is not None and self.names_server(path):
                server_pid, server_socket = ancestor, path
                pane_pid = lineage[i - 1] if i > 0 else None
                break
        if env_pane is None and pane_pid is not None:
            env_pane = _env_pane(pane_pid)
        facts = _ProcFacts(
            env_pane=env_pane, server_pid=server_pid, server_socket=server_socket, pane_pid=pane_pid
        )
        with self._lock:
            if len(self._facts) >= _MAX_CACHED_PROCESSES:
                del self._facts[next(iter(self._facts))]
            self._facts[key] = facts
        return facts

    def locate(self, pid: int, panes: Sequence[PaneInfo]) -> PaneInfo | None:
        """Return the pane among ``panes`` in which process ``pid`` runs, or ``None``.

        The process's nearest ``zellij --server <socket dir>/<name>`` ancestor gives the
        server; the server's PID gives the session's *current* name (from the last
        :meth:`discover`, via ``SO_PEERCRED``), so a rename does not break the mapping
        (the argv and the panes' ``$ZELLIJ_SESSION_NAME`` keep the old name). The pane is
        ``terminal_<$ZELLIJ_PANE_ID>`` (from the process's environment, else from the pane
        process's, the server's direct child). Facts are cached per ``(pid, create_time)``.

        Args:
            pid: The process to place.
            panes: The current panes, from :meth:`list_panes`.

        Returns:
            One of ``panes``, or ``None`` (process gone, not under one of our servers).
        """
        facts = self._facts_for(pid)
        if facts is None or facts.server_pid is None or facts.env_pane is None:
            return None
        with self._lock:
            name = self._names_by_pid.get(facts.server_pid)
        if name is None:
            self.discover()
            with self._lock:
                name = self._names_by_pid.get(facts.server_pid)
        if name is None:
            return None
        wanted = f"terminal_{facts.env_pane}"
        for pane in panes:
            if pane.session_name == name and pane.pane_id == wanted:
                return pane
        return None

    def session_of_server(self, server_pid: int) -> str | None:
        """The current name of the session served by ``server_pid`` (from :meth:`discover`)."""
        with self._lock:
            name = self._names_by_pid.get(server_pid)
        if name is None:
            self.discover()
            with self._lock:
                name = self._names_by_pid.get(server_pid)
        return name

    # ------------------------------------------------------------------ our own client

    def _own_location(self) -> tuple[str, str] | None:
        """``(session name, terminal_<n>)`` of our own pane when we run inside this server.

        The session is found from our ``zellij --server`` ancestor's PID (our own
        ``$ZELLIJ_SESSION_NAME`` is stale after a rename), else from that variable.
        """
        if "ZELLIJ" not in self._environ:
            return None
        raw = self._environ.get("ZELLIJ_PANE_ID", "").strip()
        if not raw.isdigit():
            return None
        facts = self._facts_for(os.getpid()) if self._environ is os.environ else None
        name: str | None = None
        if facts is not None and facts.server_pid is not None:
            name = self.session_of_server(facts.server_pid)
        if name is None:
            candidate = self._environ.get("ZELLIJ_SESSION_NAME", "")
            name = candidate if candidate and self.is_live(candidate) else None
        return None if name is None else (name, f"terminal_{int(raw)}")

    def own_client(self) -> str | None:
        """Our own "client" when we run inside a live session of this server, else ``None``.

        Zellij has no client ttys: the value is our session's name, which is what
        :meth:`switch_client` and :meth:`detach_client` accept (the action then goes to the
        client that shows our pane).
        """
        own = self._own_location()
        return None if own is None else own[0]

    def answers(self) -> bool:
        """True while the socket directory exists (each session answers for itself)."""
        return self.socket_dir.is_dir()

    def client_session(self, client_tty: str) -> str | None:
        """The session our own "client" shows: :meth:`own_client`'s value is that name."""
        own = self._own_location()
        return own[0] if own is not None and own[0] == client_tty else None

    def switch_client_back(self, client_tty: str, *, leaving: str | None = None) -> str | None:
        """Not offered by Zellij's CLI: always ``None`` (the caller detaches instead)."""
        return None

    def own_pane(self) -> PaneInfo | None:
        """Our own pane when we run inside this server (one :meth:`list_panes`), else ``None``."""
        own = self._own_location()
        if own is None:
            return None
        session, pane_id = own
        return next(
            (p for p in self.list_panes() if p.session_name == session and p.pane_id == pane_id),
            None,
        )

    def last_client_pane(self, client_tty: str) -> str | None:
        """The pane our own client has focused (``list-clients`` of our session), or ``None``.

        Args:
            client_tty: :meth:`own_client`'s value (our session name).
        """
        own = self._own_location()
        if own is None or own[0] != client_tty:
            return None
        for client in self.list_clients(client_tty):
            if client.pane_id == own[1]:
                return client.pane_id
        return own[1]

    def list_clients(self, session: str) -> list[ZellijClient]:
        """Return the clients attached to a live session (``action list-clients``).

        Raises:
            MuxUnavailable: zellij missing, hanging, failing or printing garbage.
            MuxError: No such session.
        """
        for attempt in range(3):
            result = self._run("action", "list-clients", session=session)
            if result.returncode != 0:
                raise self._error(result, session)
            if result.stdout.strip():
                break
            # Not even the header: the server did not answer in time (as for list-panes).
            time.sleep(0.1 * (attempt + 1))
        else:
            raise MuxUnavailable(f"Zellij session {session!r} did not list its clients")
        try:
            return parse_list_clients(result.stdout)
        except ValueError as exc:
            raise MuxUnavailable(f"zellij list-clients printed garbage: {exc}") from None

    def switch_client(self, client_tty: str, pane_id: str, *, session: str | None = None) -> None:
        """Make our own client show pane ``pane_id`` of ``session`` (we run inside Zellij).

        Another session: ``action switch-session NAME --pane-id terminal_<n>``; our own
        session: ``action focus-pane-id terminal_<n>`` (0.44.1+). Both run with our pane's
        environment so the action applies to the client showing our pane.

        Args:
            client_tty: :meth:`own_client`'s value (our session's name).
            pane_id: ``terminal_<n>``.
            session: The session holding the pane (required: pane ids are per session).

        Raises:
            ValueError: No ``session`` or not a terminal pane id.
            NotApplicable: We do not run inside this Zellij server.
            ZellijTooOld: Zellij before 0.44.1 for a focus in our own session.
            MuxUnavailable: zellij missing, hanging or failing.
            MuxError: The session or pane does not exist.
        """
        pane = _check_pane(pane_id)
        if session is None:
            raise ValueError("a Zellij pane id needs its session")
        own = self._own_location()
        if own is None:
            raise NotApplicable("sessiontui does not run inside Zellij")
        if not self.is_live(session):
            raise MuxError(f"no live Zellij session named {session!r}")
        if session == own[0]:
            self._require(FOCUS_PANE_SINCE, "focus a pane")
            result = self._run("action", "focus-pane-id", pane, own=True, session=own[0])
        else:
            result = self._run(
                "action", "switch-session", session, "--pane-id", pane, own=True, session=own[0]
            )
        if result.returncode != 0:
            raise self._error(result, session)

    def detach_client(self, client_tty: str) -> None:
        """Detach our own Zellij client (``action detach`` with our pane's environment).

        Args:
            client_tty: :meth:`own_client`'s value.

        Raises:
            NotApplicable: We do not run inside this Zellij server.
            MuxUnavailable: zellij missing, hanging or failing.
        """
        own = self._own_location()
        if own is None or own[0] != client_tty:
            raise NotApplicable("sessiontui does not run inside this Zellij session")
        result = self._run("action", "detach", own=True, session=own[0])
        if result.returncode != 0:
            raise self._error(result, own[0])

    # ------------------------------------------------------------------ verbs

    def attach_argv(self, pane_id: str, *, session: str | None = None) -> list[str]:
        """Return ``[zellij, "attach", SESSION]``: attaches a terminal outside this Zellij.

        Prefixed with ``env ZELLIJ_SOCKET_DIR=…`` when this server's socket directory is not
        the one our own environment names. Run it with :func:`child_env` as the
        environment; it returns when the user detaches.
        Zellij has no "attach to a pane"; the session opens on its focused pane.

        Args:
            pane_id: ``terminal_<n>`` (or, when ``session`` is ``None``, the session name).
            session: The session to attach.

        Raises:
            MuxUnavailable: zellij is not installed.
        """
        argv = [self._zellij(), "attach", session if session is not None else pane_id]
        ours = self._environ.get("ZELLIJ_SOCKET_DIR")
        if ours and ours != os.environ.get("ZELLIJ_SOCKET_DIR"):
            argv = ["env", f"ZELLIJ_SOCKET_DIR={ours}", *argv]  # this server's sessions
        return argv

    def detach_session(self, session_id: str, *, keep_client: str | None = None) -> int:
        """Detach every client of a session from outside; the session keeps running.

        First ``-s NAME action detach``. In Zellij 0.45.0 a CLI action applies to the
        session's *last active* client (the last to send a keystroke; zellij-server
        ``route.rs``), and that mark is cleared when it leaves, so this detaches at most one
        client. The others are then hung up: each ``zellij attach NAME`` /
        ``zellij -s NAME`` client process of this user whose environment names our socket
        directory gets SIGHUP, as when its terminal closes (the client exits, the session
        stays; observed on 0.45.0). A client started under another name (before a rename,
        or ``zellij`` with a generated name) cannot be told apart and stays.

        Args:
            session_id: The session name.
            keep_client: :meth:`own_client`'s value: when it names this session, nothing is
                detached and :class:`NotApplicable` is raised (Zellij cannot spare our own
                client).

        Returns:
            How many clients were detached (``list-clients`` before minus after).

        Raises:
            NotApplicable: ``keep_client`` is attached to this session.
            MuxUnavailable: zellij missing, hanging or failing.
            MuxError: No such session.
        """
        if keep_client is not None and keep_client == session_id:
            raise NotApplicable("our own Zellij client is attached to this session")
        before = len(self.list_clients(session_id))
        if before == 0:
            return 0
        result = self._run("action", "detach", session=session_id)
        if result.returncode != 0:
            raise self._error(result, session_id)
        _wait(lambda: len(self.list_clients(session_id)) < before, 1.0, interval_s=0.05)
        if self.list_clients(session_id):
            for pid in self._client_processes(session_id):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGHUP)
            _wait(lambda: not self.list_clients(session_id), self._timeout_s, interval_s=0.05)
        return before - len(self.list_clients(session_id))

    def _client_processes(self, session: str) -> list[int]:
        """PIDs of this user's ``zellij`` client processes attached to ``session`` by name.

        Read from ``/proc``: argv ``zellij [globals] attach|a [options] NAME`` or
        ``zellij -s NAME`` (no subcommand), and an environment whose socket directory is
        ours. Never our own process or its ancestors.
        """
        ours = self.socket_dir
        protected = {os.getpid(), *parent_chain(os.getpid())}
        found: list[int] = []
        try:
            entries = list(os.scandir("/proc"))
        except OSError:
            return []
        for entry in entries:
            if not entry.name.isdigit() or int(entry.name) in protected:
                continue
            try:
                if entry.stat().st_uid != os.getuid():
                    continue
                with open(f"/proc/{entry.name}/cmdline", "rb") as handle:  # noqa: PTH123
                    argv = [os.fsdecode(a) for a in handle.read(65536).split(b"\0")[:-1]]
            except OSError:
                continue
            if not argv or Path(argv[0]).name != "zellij" or _client_session(argv) != session:
                continue
            environ = _proc_environ(int(entry.name))
            if environ is not None and _same_path(socket_dir(environ), ours):
                found.append(int(entry.name))
        return found

    def rename_session(self, session_id: str, new_name: str) -> None:
        """Rename a live session (``-s OLD action rename-session NEW``).

        Zellij exits 0 on an unknown session when several run, and only refuses a taken name
        it already knows about, so both are checked first.

        Args:
            session_id: The current name.
            new_name: The new name (see :func:`check_session_name`).

        Raises:
            InvalidName: Zellij could not use the name.
            NameTaken: A live or resurrectable session has that name (nothing changed).
            MuxUnavailable: zellij missing, hanging or failing.
            MuxError: No live session ``session_id``, or the rename did not happen.
        """
        check_session_name(new_name, self.socket_dir)
        if not self.is_live(session_id):
            raise MuxError(f"no live Zellij session named {session_id!r}")
        if new_name == session_id:
            return
        if self.has_session(new_name):
            raise NameTaken(f"a Zellij session is already named {new_name!r}")
        result = self._run("action", "rename-session", new_name, session=session_id)
        text = result.stderr + result.stdout
        if "already exists" in text or "resurrectable session by this name" in text:
            raise NameTaken(f"a Zellij session is already named {new_name!r}")
        if result.returncode != 0:
            raise self._error(result, session_id)
        if not _wait(lambda: self.is_live(new_name), self._timeout_s):
            raise MuxError(f"Zellij did not rename {session_id!r} to {new_name!r}")
        with self._lock:
            self._pane_cache.pop(session_id, None)
        self._set_kind(new_name, None, old=session_id)

    def kill_session(self, session_id: str) -> None:
        """End a live session and its pane processes (``kill-session NAME``).

        Waits (up to the timeout) for its socket to stop answering. The resurrection data
        stays: the session is then exited (see :meth:`delete_session`); one sessiontui
        made stays remembered, so :meth:`list_panes` lists it as exited until then.

        Raises:
            MuxUnavailable: zellij missing, hanging or failing.
            MuxError: No live session of that name (``No session named "NAME" found.``).
        """
        result = self._run("kill-session", session_id)
        if result.returncode != 0:
            if "No session named" in result.message:
                raise MuxError(f"no live Zellij session named {session_id!r}")
            raise self._error(result, session_id)
        if not _wait(lambda: not self.is_live(session_id), self._timeout_s):
            raise MuxError(f"Zellij session {session_id!r} did not end")
        with self._lock:
            self._pane_cache.pop(session_id, None)

    def delete_session(self, session_id: str, *, force: bool = False) -> None:
        """Delete an exited session's resurrection data (``delete-session NAME [--force]``).

        Zellij answers ``Session: "NAME" not found.`` (exit 2) when nothing is kept under
        that name: nothing is left to delete, so that is not an error. The session is no
        longer remembered as one sessiontui made.

        Args:
            session_id: The session name.
            force: Kill it first when it is live.

        Raises:
            MuxUnavailable: zellij missing, hanging or failing.
            MuxError: Zellij refused (the session is live and ``force`` is false:
                ``... exists and is active, use --force to delete it.``).
        """
        args = ["delete-session", session_id, *(["--force"] if force else [])]
        result = self._run(*args)
        if result.returncode != 0 and "not found" not in result.message:
            if "is active" in result.message:
                raise MuxError(f"Zellij session {session_id!r} is running; end it first")
            raise self._error(result)
        self._set_kind(session_id, None)

    def capture_pane(self, pane_id: str, lines: int = 20, *, session: str | None = None) -> str:
        r"""Return the last ``lines`` lines of a pane as plain text.

        ``-s NAME action dump-screen --pane-id terminal_<n>`` (the viewport, no ``--ansi``),
        escapes and control characters stripped (:func:`strip_escapes`), blank lines at the
        end dropped.

        Args:
            pane_id: ``terminal_<n>``.
            lines: How many lines at most.
            session: The session holding the pane (required).

        Returns:
            The lines joined with ``\n``; ``""`` for ``lines <= 0``.

        Raises:
            ValueError: No ``session``, or not a terminal pane id.
            MuxUnavailable: zellij missing, hanging or failing.
            MuxError: No such session or pane.
        """
        pane = _check_pane(pane_id)
        if session is None:
            raise ValueError("a Zellij pane id needs its session")
        if lines <= 0:
            return ""
        result = self._run("action", "dump-screen", "--pane-id", pane, session=session)
        if result.returncode != 0:
            raise self._error(result, session)
        text = strip_escapes(result.stdout).splitlines()
        while text and not text[-1].strip():
            text.pop()
        return "\n".join(text[-lines:])

    def send_text(self, pane_id: str, text: str, *, session: str | None = None) -> None:
        """Type ``text`` into a pane literally (``action write-chars --pane-id P -- TEXT``).

        No Enter is added; ``--`` keeps a leading ``-`` from reading as an option.

        Args:
            pane_id: ``terminal_<n>``.
            text: One line of printable text (see :func:`~sessiontui.mux.base.check_text`).
            session: The session holding the pane (required).

        Raises:
            ValueError: No ``session``, not a terminal pane id, or control characters.
            MuxUnavailable: zellij missing, hanging or failing.
            MuxError: No such session or pane.
        """
        pane = _check_pane(pane_id)
        check_text(text)
        if session is None:
            raise ValueError("a Zellij pane id needs its session")
        if not text:
            return
        result = self._run("action", "write-chars", "--pane-id", pane, "--", text, session=session)
        if result.returncode != 0:
            raise self._error(result, session)

    def send_keys(self, pane_id: str, keys: Sequence[str], *, session: str | None = None) -> None:
        """Press keys in a pane: ``action send-keys`` for Enter and Esc, ``write-chars`` else.

        One call per key, in order.

        Args:
            pane_id: ``terminal_<n>``.
            keys: ``Enter``, ``Escape`` or one printable ASCII character each.
            session: The session holding the pane (required).

        Raises:
            ValueError: No ``session``, a bad pane id or key (checked before sending).
            MuxUnavailable: zellij missing, hanging or failing.
            MuxError: No such session or pane.
        """
        pane = _check_pane(pane_id)
        if session is None:
            raise ValueError("a Zellij pane id needs its session")
        checked = [check_key(key) for key in keys]
        for key in checked:
            name = _ZELLIJ_KEYS.get(key)
            if name is not None:
                args = ["action", "send-keys", "--pane-id", pane, name]
            else:  # one printable character, typed as itself
                args = ["action", "write-chars", "--pane-id", pane, "--", key]
            result = self._run(*args, session=session)
            if result.returncode != 0:
                raise self._error(result, session)

    # ------------------------------------------------------------------ new sessions

    def new_session(
        self,
        name: str,
        *,
        command: Sequence[str],
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        kind: str = "bg",
    ) -> str:
        """Create a detached session ``name`` whose only terminal pane runs ``command``.

        ``attach --create-background NAME`` (a 50x50 session with no client and one shell
        pane), then ``-s NAME run --cwd D -- env K=V… CMD…`` (prints ``terminal_<n>``); the
        original shell pane is then closed so the command's pane is the only one. Zellij
        has no session options: ``kind`` is remembered in the state file ``kinds_path``;
        ``env`` is passed with ``env(1)``.

        Args:
            name: The session name (see :func:`check_session_name`).
            command: The argv to run.
            cwd: Working directory (default: ours).
            env: Extra environment variables for the command.
            kind: What sessiontui made it for (``bg``), remembered by name.

        Returns:
            The session name.

        Raises:
            InvalidName: Zellij could not use the name.
            NameTaken: A live or resurrectable session has that name.
            ValueError: Empty command, or a bad variable name.
            MuxError: ``cwd`` is not a directory, or Zellij failed (the half-made session
                is killed and deleted).
            MuxUnavailable: zellij missing, hanging or failing.
        """
        check_session_name(name, self.socket_dir)
        argv = list(command)
        if not argv:
            raise ValueError("the command is empty")
        directory = Path(cwd).absolute() if cwd is not None else Path.cwd()
        if not directory.is_dir():
            raise MuxError(f"cannot start in {str(directory)!r}: not a directory")
        assignments: list[str] = []
        for key, value in (env or {}).items():
            if not key or "=" in key or "\0" in key or "\0" in value:
                raise ValueError(f"not an environment variable: {key!r}")
            assignments.append(f"{key}={value}")
        self._require((0, 40, 0), "create background sessions")
        if self.has_session(name):
            raise NameTaken(f"a Zellij session is already named {name!r}")
        result = self._run("attach", "--create-background", name, what="attach -b")
        if result.returncode != 0:
            raise self._error(result)
        # No zellij call may reach the server before it is up (see STARTING_S): its
        # metadata file is the sign (about 1.2 s after the start on 0.45.0).
        metadata = self.cache_dir / name / "session-metadata.kdl"
        settled = _wait(metadata.exists, max(self._timeout_s, STARTING_S), interval_s=0.05)
        if not settled and not self.is_live(name):
            raise MuxError(f"Zellij did not start session {name!r}")
        try:
            self._start_command(name, [*assignments, *argv], directory)
        except BaseException:
            with contextlib.suppress(MuxError):
                self._run("kill-session", name)
                _wait(lambda: not self.is_live(name), self._timeout_s)
                self._run("delete-session", name)
            raise
        self._set_kind(name, kind)
        return name

    def _start_command(self, name: str, words: list[str], directory: Path) -> str:
        """Run ``env WORDS`` in a new pane of ``name``; leave it the only terminal pane.

        A ``run`` sent before the new session has applied its layout gets ``terminal_0``
        and the layout's shell pane is added after it (observed on 0.45.0), so the run
        waits for the first terminal pane. Every other terminal pane (that shell, and the
        stray "Waiting to run" copy of the command that Zellij #5088 can leave in a
        background session) is then closed, until two looks 0.3 s apart find none.

        Returns:
            The command's pane id.
        """

        def terminals() -> set[str]:
            return {p.pane_id for p in self.panes(name, fresh=True) if not p.is_plugin}

        _wait(lambda: bool(terminals()), self._timeout_s, interval_s=0.05)
        before = terminals()
        result = self._run(
            "run", "--cwd", str(directory), "--", "env", *words, session=name, what="run"
        )
        if result.returncode != 0:
            raise self._error(result, name)
        created = result.stdout.strip().splitlines()
        new_pane = created[-1].strip() if created else ""
        if not _PANE_ID.fullmatch(new_pane):
            # Exit 0 without the id happens when the server answers late; the pane that
            # appears is ours (nothing else adds panes to a session nobody sees yet).
            found: set[str] = set()

            def appeared() -> bool:
                found.update(terminals() - before)
                return bool(found)

            _wait(appeared, self._timeout_s)
            if len(found) != 1:
                raise MuxError(f"zellij run printed no pane id: {result.message!r}")
            new_pane = found.pop()
        quiet = 0
        deadline = time.monotonic() + self._timeout_s
        while quiet < 2:
            now = terminals()
            if new_pane not in now:
                raise MuxError(f"the command's pane {new_pane} vanished from {name!r}")
            others = sorted(now - {new_pane})
            for pane_id in others:
                closed = self._run("action", "close-pane", "--pane-id", pane_id, session=name)
                if closed.returncode != 0:
                    raise self._error(closed, name)
            quiet = 0 if others else quiet + 1
            if time.monotonic() > deadline:
                raise MuxError(f"Zellij kept extra panes in {name!r}")
            time.sleep(0.3)
        return new_pane

    def new_window(
        self,
        session_id: str,
        command: Sequence[str],
        *,
        name: str | None = None,
        select: bool = True,
        cwd: str | None = None,
    ) -> str:
        """Not offered by this backend: Zellij tabs are opened by the user."""
        del session_id, command, name, select, cwd
        raise NotApplicable("opening a tab in a Zellij session is not supported")

    def display_popup(
        self,
        client_tty: str,
        command: Sequence[str],
        *,
        title: str | None = None,
        cwd: str | None = None,
    ) -> None:
        """Not offered by this backend (no ``popup`` capability)."""
        del client_tty, command, title, cwd
        raise NotApplicable("popups are not supported in Zellij")


# ---------------------------------------------------------------------------------- trigger


class _TriggerHandler(FileSystemEventHandler):
    """Watchdog events of the socket or ``session_info`` directory → the trigger."""

    def __init__(self, owner: ZellijChangeTrigger) -> None:
        super().__init__()
        self._owner = owner

    def dispatch(self, event: FileSystemEvent) -> None:
        """Forward the paths of one event (runs on watchdog's observer thread)."""
        paths = [os.fsdecode(event.src_path)]
        if event.dest_path:
            paths.append(os.fsdecode(event.dest_path))
        self._owner._event(paths, event.event_type, is_directory=event.is_directory)


#: The events the trigger asks inotify for (watchdog narrows the watch mask to them): things
#: that appear, vanish or are renamed, and files closed after writing. Not reads: Zellij's
#: servers open each other's ``session-metadata.kdl`` and ``session-layout.kdl`` every
#: second (20-70 ``IN_OPEN``/``IN_CLOSE_NOWRITE`` a second with 10 sessions, each one a
#: wake-up of the observer thread); not ``IN_MODIFY`` (a rewrite truncates the file first,
#: so a read then finds it empty or cut: a false change); not ``IN_ATTRIB`` (every
#: ``zellij`` call chmods the socket directory).
_TRIGGER_EVENTS: tuple[type[FileSystemEvent], ...] = (
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
)

_METADATA = "session-metadata.kdl"
_LAYOUT = "session-layout.kdl"


class ZellijChangeTrigger:
    """Asks for a poll when Zellij sessions appear, end, are renamed or change (SPEC 2.5).

    A :class:`~sessiontui.mux.base.ChangeTrigger`, never a source of truth. One watchdog
    observer (inotify) watches the socket directory (a socket created, removed or renamed:
    a session started, ended or was renamed) and, recursively, the ``session_info``
    directory (``session-metadata.kdl`` rewritten within about a second of any change in
    a session). Only :data:`_TRIGGER_EVENTS` are asked of inotify: reads of the files
    (frequent) never reach Python.

    Zellij rewrites the metadata file after every client connection, even our own probes
    and ``zellij`` calls: a rewrite is compared, once closed, with the file's last content
    without what such a connection changes (:func:`_metadata_digest`), or each poll would
    trigger the next. The digests of the files present when the directory is first
    watched are taken at once, so the rewrites caused by the first poll are not news
    either. So a client attaching or detaching alone does not trigger a poll (the next
    poll reads the count). The resurrection layout is rewritten every minute
    (``serialization_interval``): only its creation for a session that has no socket (an
    exited session appearing), or its removal, asks for a poll.

    Directories that do not exist yet (no session ever ran) are looked for after
    ``rearm_s`` seconds, then after twice the last wait up to ``rearm_max_s`` (on a
    machine where Zellij never ran, one look every 5 s instead of every second), and
    watched (with one ``on_change``) once they appear or after they are replaced; while
    both are watched, a replacement is looked for every ``watched_rearm_s`` seconds only (a
    wake-up of a thread is not free on a small machine).

    Args:
        server: The backend whose directories to watch.
        on_change: Called from the trigger's threads when a poll may find something new;
            it must return quickly.
        rearm_s: First wait before missing directories are looked for again, in seconds.
        rearm_max_s: Longest wait between two looks for missing directories, in seconds.
        watched_rearm_s: How often watched directories are checked for a replacement, seconds.
    """

    def __init__(
        self,
        server: ZellijServer,
        on_change: Callable[[], None],
        *,
        rearm_s: float = 1.0,
        rearm_max_s: float = 5.0,
        watched_rearm_s: float = 5.0,
    ) -> None:
        self._server = server
        self._on_change = on_change
        self._rearm_s = rearm_s
        self._watched_rearm_s = watched_rearm_s
        self._rearm_max_s = max(rearm_s, rearm_max_s)
        self._missing_wait_s = 0.0  # the last wait while a directory was missing
        self._lock = threading.Lock()
        self._digests: dict[str, bytes] = {}
        self._watched: dict[str, tuple[int, int]] = {}
        self._observer: BaseObserver | None = None
        self._watches: dict[str, ObservedWatch] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching (idempotent); the directories are armed at once."""
        with self._lock:
            if self._thread is not None:
                return
            self._observer = Observer()
            self._observer.daemon = True
            self._observer.start()
            self._thread = threading.Thread(
                target=self._rearm_loop, name="zellij-trigger", daemon=True
            )
        self._rearm()
        self._thread.start()

    def close(self) -> None:
        """Stop the threads (idempotent)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=2.0)
        observer, self._observer = self._observer, None
        if observer is not None:
            with contextlib.suppress(Exception):
                observer.stop()
                observer.join(timeout=2.0)

    def _rearm_loop(self) -> None:
        while not self._stop.wait(self._next_rearm_s()):
            try:
                self._rearm()
            except Exception:  # never let the trigger thread die
                logger.debug("re-arming the Zellij watches failed", exc_info=True)

    def _next_rearm_s(self) -> float:
        """Seconds until the next :meth:`_rearm`: short while a directory is not watched."""
        with self._lock:
            watching_both = len(self._watched) == 2  # the socket and the cache directories
        if watching_both:
            self._missing_wait_s = 0.0
            return self._watched_rearm_s
        wait = self._rearm_s if not self._missing_wait_s else self._missing_wait_s * 2
        self._missing_wait_s = min(wait, self._rearm_max_s)
        return self._missing_wait_s

    def _rearm(self) -> None:
        """Watch the directories that exist; re-watch replaced ones; fire when one changed."""
        observer = self._observer
        if observer is None:
            return
        changed = False
        for path, recursive in ((self._server.socket_dir, False), (self._server.cache_dir, True)):
            key = str(path)
            try:
                st = path.stat()
                identity: tuple[int, int] | None = (st.st_dev, st.st_ino)
            except OSError:
                identity = None
            with self._lock:
                current = self._watched.get(key)
            if identity == current:
                continue
            old = self._watches.pop(key, None)
            if old is not None:
                with contextlib.suppress(Exception):
                    observer.unschedule(old)
            if identity is not None:
                try:
                    self._watches[key] = observer.schedule(
                        _TriggerHandler(self),
                        key,
                        recursive=recursive,
                        event_filter=list(_TRIGGER_EVENTS),
                    )
                except OSError:
                    identity = None
                else:
                    if recursive:
                        self._remember_metadata(path)
            with self._lock:
                if identity is None:
                    self._watched.pop(key, None)
                else:
                    self._watched[key] = identity
            changed = changed or current is not None or identity is not None
        if changed:
            self._on_change()

    def _remember_metadata(self, session_info: Path) -> None:
        """Take the digest of every session's metadata file as it is now (no trigger)."""
        try:
            folders = list(os.scandir(session_info))
        except OSError:
            return
        for folder in folders:
            self._metadata_changed(os.path.join(folder.path, _METADATA))  # noqa: PTH118

    def _event(self, paths: list[str], kind: str, *, is_directory: bool) -> None:
        """Decide whether one event may change what a poll returns.

        Args:
            paths: The event's path (and its destination, for a move).
            kind: watchdog's event type: ``created``, ``deleted``, ``moved`` or ``closed``
                (a file closed after writing; nothing else is asked of inotify).
            is_directory: The event is about a directory.
        """
        if kind not in ("created", "deleted", "moved", "closed"):
            return  # not asked for (an observer that ignores the filter)
        for path in paths:
            name = Path(path).name
            if is_directory or name not in (_METADATA, _LAYOUT):
                if kind == "closed":
                    continue  # some other file written: not a session appearing or going
                self._on_change()  # a socket or a session directory came, went or moved
                return
            if name == _METADATA:
                if kind == "created":
                    continue  # written next: its close decides
                if kind == "closed" and not self._metadata_changed(path):
                    continue
                if kind != "closed":
                    with self._lock:
                        self._digests.pop(path, None)
                self._on_change()
                return
            if kind == "closed":
                continue  # the resurrection layout rewritten (every minute)
            if kind == "created" and self._has_socket(Path(path).parent.name):
                continue  # a live session's first serialization: nothing to list
            self._on_change()
            return

    def _has_socket(self, session: str) -> bool:
        """True when the socket directory holds a socket named ``session`` (one ``lstat``)."""
        try:
            return stat.S_ISSOCK((self._server.socket_dir / session).lstat().st_mode)
        except (OSError, ValueError):
            return False

    def _metadata_changed(self, path: str) -> bool:
        """True when a metadata file's content (see :func:`_metadata_digest`) is new.

        An empty file is not a change: Zellij truncates before it writes, and the close
        of that write comes as an event of its own. A file that cannot be read is one
        (it went away: a session ended or was renamed).
        """
        try:
            with Path(path).open("rb") as handle:
                data = handle.read(1 << 20)
        except OSError:
            with self._lock:
                self._digests.pop(path, None)
            return True
        if not data:
            return False
        digest = _metadata_digest(data)
        with self._lock:
            if self._digests.get(path) == digest:
                return False
            if len(self._digests) >= _MAX_CACHED_PROCESSES:
                self._digests.clear()
            self._digests[path] = digest
        return True


# ---------------------------------------------------------------------------------- helpers


def _children_of(parents: set[int]) -> dict[int, list[psutil.Process]]:
    """The child processes of each of ``parents`` (PIDs; ``0`` is ignored).

    Read from the kernel's per-thread ``/proc/<pid>/task/<tid>/children`` lists (a few
    small reads per server, whichever of its threads started the pane), else, when the
    kernel does not offer them, from one scan of every process.
    """
    parents = {pid for pid in parents if pid > 0}
    out: dict[int, list[psutil.Process]] = {}
    scan = False
    for parent in parents:
        try:
            tasks = os.listdir(f"/proc/{parent}/task")  # noqa: PTH208 (names only)
        except OSError:
            continue  # gone: no children
        pids: set[int] = set()
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children", "rb") as handle:  # noqa: PTH123
                    pids.update(int(word) for word in handle.read().split())
            except FileNotFoundError:
                # The thread ended, or this kernel has no children lists (then scan).
                scan = scan or Path(f"/proc/{parent}/task/{task}").is_dir()
            except (OSError, ValueError):
                continue
        for pid in sorted(pids):
            with contextlib.suppress(psutil.Error):
                out.setdefault(parent, []).append(psutil.Process(pid))
    if not scan:
        return out
    out = {}
    for proc in psutil.process_iter(["ppid"]):  # no children lists: one scan for all
        ppid = proc.info.get("ppid")
        if isinstance(ppid, int) and ppid in parents:
            out.setdefault(ppid, []).append(proc)
    return out


def _check_pane(pane_id: str) -> str:
    if not _PANE_ID.fullmatch(pane_id):
        raise ValueError(f"not a Zellij terminal pane id (terminal_<n>): {pane_id!r}")
    return pane_id


def _env_pane(pid: int) -> int | None:
    """``$ZELLIJ_PANE_ID`` of a process as a number, or ``None``."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        try:
            value: str | None = psutil.Process(pid).environ().get("ZELLIJ_PANE_ID")
        except (psutil.Error, OSError):
            return None
    else:
        value = None
        for item in raw.split(b"\0"):
            if item.startswith(b"ZELLIJ_PANE_ID="):
                value = item[len(b"ZELLIJ_PANE_ID=") :].decode("ascii", "replace")
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def _connected_clients(metadata_path: str | None) -> int | None:
    """``connected_clients N`` of a ``session-metadata.kdl``, or ``None`` when unreadable."""
    if metadata_path is None:
        return None
    try:
        with Path(metadata_path).open("rb") as handle:
            head = handle.read(65536)
    except OSError:
        return None
    match = re.search(rb"^\s*connected_clients\s+(\d+)", head, re.MULTILINE)
    return int(match[1]) if match else None


#: zellij global options that take a value (zellij-utils ``cli.rs`` ``CliArgs``).
_GLOBAL_VALUE_OPTIONS = frozenset(
    {"-s", "--session", "-l", "--layout", "-c", "--config", "--config-dir", "--data-dir",
     "--max-panes", "-n", "--new-session-with-layout", "--layout-string"}
)  # fmt: skip


def _client_session(argv: list[str]) -> str | None:
    """The session a ``zellij`` argv attaches to as a client, or ``None`` (not a client).

    ``zellij [globals] attach|a [options] NAME`` or ``zellij -s NAME [globals]``; servers
    (``--server``) and every other subcommand (``action``, ``run``, ``ls``, ...) are not.
    """
    session: str | None = None
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--server":
            return None
        if arg in ("-s", "--session") and i + 1 < len(argv):
            session = argv[i + 1]
        if arg in _GLOBAL_VALUE_OPTIONS:
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        if arg in ("attach", "a"):
            rest = argv[i + 1 :]
            j = 0
            while j < len(rest):
                if rest[j] == "--index":
                    return None
                if not rest[j].startswith("-"):
                    return rest[j]
                j += 1
            return None
        return None  # another subcommand: not a long-lived client
    return session


def _proc_environ(pid: int) -> dict[str, str] | None:
    """A process's environment from ``/proc/<pid>/environ`` (``None`` when unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    out: dict[str, str] = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            out[os.fsdecode(key)] = os.fsdecode(value)
    return out


_VOLATILE_METADATA = re.compile(
    rb"\s*(?:creation_time|connected_clients|active|other_focused_clients"
    rb"|cursor_coordinates_in_pane) "
)

#: The first line of one pane's block in ``session-metadata.kdl`` (``panes { pane { ... } }``).
_PANE_BLOCK = re.compile(rb"^ {4}pane \{$")


def _metadata_digest(data: bytes) -> bytes:
    """Digest of a ``session-metadata.kdl`` without what every client connection changes.

    Zellij 0.45.0 rewrites the file within about a second after any client connects, our
    own socket probes and ``zellij`` calls included, changing ``creation_time`` and, when
    the short-lived client was still counted, ``connected_clients``, the tabs' ``active``
    and ``other_focused_clients`` and the ``tab_history``/``pane_history`` blocks. Those
    are left out, so only tabs and panes (names, titles, ids, states) count. The panes are
    written in no fixed order (observed with 10 idle sessions: a reordering in most
    rewrites, each one asking for a poll and emptying the ``list-panes`` cache), so their
    blocks are compared as a sorted list; the cursor position (it moves with every line an
    agent prints) is left out too.
    """
    head, _, _ = data.partition(b"\ntab_history {")
    kept: list[bytes] = []
    blocks: list[bytes] = []
    block: list[bytes] | None = None
    for line in head.splitlines():
        if not line.strip() or _VOLATILE_METADATA.match(line):
            continue
        if block is None and _PANE_BLOCK.match(line):
            block = [line]
        elif block is not None:
            block.append(line)
            if line == b"    }":
                blocks.append(b"\n".join(block))
                block = None
        else:
            kept.append(line)
    if block is not None:  # a cut-off file: keep what there is
        blocks.append(b"\n".join(block))
    kept.extend(sorted(blocks))
    return hashlib.blake2b(b"\n".join(kept), digest_size=16).digest()


def _exited_row(name: str, kind: str, server: str) -> PaneInfo:
    """The :class:`PaneInfo` standing for an exited session sessiontui made (no pane)."""
    return PaneInfo(
        pane_id="",
        pane_pid=0,
        pane_tty="",
        session_id=name,
        session_name=name,
        window_index="",
        window_id="",
        pane_index="",
        current_command="",
        session_attached=0,
        server=server,
        clients=0,
        session_kind=kind,
        mux_type="zellij",
        exited=True,
    )


def _age_s(path: str | None) -> float:
    """Seconds since a file's status last changed (``inf`` when unknown)."""
    if path is None:
        return float("inf")
    try:
        return time.time() - Path(path).lstat().st_ctime
    except OSError:
        return float("inf")


def _same_path(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):
        return False


def _wait(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.02) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` seconds passed; return its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill a timed-out ``zellij`` client and its process group, then reap it."""
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, 9)
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        proc.communicate(timeout=1.0)


if TYPE_CHECKING:
    from sessiontui.mux.base import ChangeTrigger, Multiplexer

    def _is_a_multiplexer(server: ZellijServer) -> Multiplexer:
        """Make mypy prove that :class:`ZellijServer` satisfies the Protocol."""
        return server

    def _is_a_trigger(trigger: ZellijChangeTrigger) -> ChangeTrigger:
        """Make mypy prove that :class:`ZellijChangeTrigger` satisfies the Protocol."""
        return trigger
