"""tmux backend: one-call pane polls, PID-to-pane mapping and exact-target actions (SPEC 2.4).

Every tmux command runs as a child process with a timeout (see :class:`TmuxBackend`), so a
hung server costs a worker thread at most ``timeout_s`` seconds. Still, call these methods
from worker threads, never from the UI thread.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shlex
import shutil
import subprocess
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import libtmux
import psutil

from sessiontui.errors import InvalidName, MuxError, MuxUnavailable, NameTaken, NotApplicable
from sessiontui.model.processes import parent_chain
from sessiontui.model.types import PaneInfo
from sessiontui.mux.base import (
    CAP_CAPTURE,
    CAP_CONTROL_MODE,
    CAP_DETACH,
    CAP_NEW_SESSION,
    CAP_POPUP,
    CAP_SEND_KEYS,
    CAP_SWITCH,
    KEY_ENTER,
    KEY_ESCAPE,
    CommandResult,
    check_key,
    check_text,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = ["TmuxBackend", "child_env", "parse_tmux_env"]

#: Variables tmux sets in every pane; a child that should not "be inside" tmux must lose them.
TMUX_ENV_VARS: tuple[str, ...] = ("TMUX", "TMUX_PANE")

_PANE_ID = re.compile(r"%\d+")
_SESSION_ID = re.compile(r"\$\d+")
_SIZE = re.compile(r"[1-9]\d{0,3}%?")

logger = logging.getLogger(__name__)

#: Fragments of tmux client errors meaning "no server to talk to" (tmux 3.3a client.c).
_UNAVAILABLE_MARKERS: tuple[str, ...] = (
    "no server running",
    "error connecting to",
    "failed to connect",
    "server exited unexpectedly",
    "lost server",
)

#: ``list-panes -a -F`` fields, in output order: (PaneInfo attribute or internal key, format).
_PANE_FIELDS: tuple[tuple[str, str], ...] = (
    ("pane_id", "#{pane_id}"),
    ("pane_pid", "#{pane_pid}"),
    ("pane_tty", "#{pane_tty}"),
    ("session_id", "#{session_id}"),
    ("window_index", "#{window_index}"),
    ("window_id", "#{window_id}"),
    ("pane_index", "#{pane_index}"),
    ("session_attached", "#{session_attached}"),
    ("server_pid", "#{pid}"),
    ("socket_path", "#{socket_path}"),
    # Untrusted text: argv[0] of the pane's foreground process and a user option may hold
    # raw tabs and newlines (tmux 3.3a escapes only session names, as ``\t``), so records
    # are framed by a random per-call separator rather than by tabs and newlines alone.
    ("current_command", "#{pane_current_command}"),
    ("session_kind", "#{@sessiontui-kind}"),
    ("session_name", "#{session_name}"),
    ("title", "#{pane_title}"),
)

_MAX_CACHED_PROCESSES = 1024

#: tmux's names of the keys of :data:`~sessiontui.mux.base.KEY_NAMES`.
_TMUX_KEYS: dict[str, str] = {KEY_ENTER: "Enter", KEY_ESCAPE: "Escape"}


def parse_tmux_env(value: str | None) -> tuple[str, int] | None:
    """Parse tmux's ``$TMUX`` value.

    Args:
        value: ``"<socket path>,<server pid>,<session index>"`` as tmux exports it into every
            pane (the path may itself contain commas: split from the right), or ``None``.

    Returns:
        ``(socket_path, server_pid)``, or ``None`` when the value is absent or malformed.

    Examples:
        >>> parse_tmux_env("/tmp/tmux-1000/default,84215,0")
        ('/tmp/tmux-1000/default', 84215)
        >>> parse_tmux_env("garbage") is None
        True
    """
    if not value:
        return None
    parts = value.rsplit(",", 2)
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def child_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a copy of ``environ`` (default ``os.environ``) without ``TMUX`` and ``TMUX_PANE``.

    Use it as the environment of :meth:`TmuxBackend.attach_argv`'s command: a tmux client
    that inherits ``$TMUX`` refuses to attach ("sessions should be nested with care").

    Args:
        environ: The environment to copy.

    Returns:
        A new dict.
    """
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if k not in TMUX_ENV_VARS}


def _controlling_tty(pid: int) -> tuple[int, int] | None:
    """Return the ``(major, minor)`` device of a process's controlling terminal, or ``None``.

    Read from field 7 (``tty_nr``) of ``/proc/<pid>/stat`` (Linux ``proc(5)``; the comm field
    may hold spaces and parentheses, so fields are counted after its last ``)``).
    ``psutil.Process.terminal()`` is not used: psutil 7 memoizes its map of ``/dev/pts/*``
    for the life of our process, so a pty created later (a new pane) would never match.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        tty_nr = int(fields[4])
    except (IndexError, ValueError):
        return None
    if tty_nr == 0:
        return None
    return (tty_nr >> 8) & 0xFFF, (tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00)


def _literal(arg: str) -> str:
    r"""Protect an untrusted argument from tmux's command separator.

    tmux ends a command at any argument that *ends* with ``;`` and turns a trailing ``\;``
    into ``;`` (tmux 3.3a ``cmd_parse_from_arguments``); this maps ``x;`` to ``x\;`` so
    tmux receives exactly ``x;``.
    """
    return arg[:-1] + "\\;" if arg.endswith(";") else arg


def _no_formats(text: str) -> str:
    """Escape ``#`` so tmux's format expansion gives back exactly ``text``.

    tmux 3.3a expands formats (``#{...}``, and ``#(...)``, which runs a shell command) in
    ``new-session -s`` / ``-c``, ``new-window -n`` / ``-c``, ``display-popup -T`` / ``-d`` /
    ``-w`` / ``-h``; ``##`` expands to ``#``. Pass untrusted text there only through this.
    """
    return _literal(text.replace("#", "##"))


def _command_args(command: Sequence[str]) -> list[str]:
    """The tmux arguments that run ``command`` (an argv) exactly, without a shell if possible.

    tmux 3.3a (``spawn.c``, ``job.c``) ``execvp``s a command given as two or more
    arguments directly, but runs a single argument as ``<default-shell> -c <arg>``. So a
    one-element argv is passed as ``shlex.join(command)`` (= ``shlex.quote(command[0])``),
    which a POSIX shell reads back as that one word (a plain word such as ``claude`` is
    unchanged). Each argument is protected from tmux's ``;`` separator.

    Raises:
        ValueError: ``command`` is empty.
    """
    argv = list(command)
    if not argv:
        raise ValueError("the command is empty")
    if len(argv) == 1:
        argv = [shlex.join(argv)]
    return [_literal(arg) for arg in argv]


def _check_new_name(name: str) -> str:
    r"""Refuse a session name that tmux would not store verbatim (so ``=name`` stays exact).

    tmux 3.3a (``session_check_name``) turns ``:`` and ``.`` into ``_`` and escapes control
    characters (C0, DEL, C1), line and paragraph separators, ``\`` and ``$`` with
    backslashes (found by creating a session named after each character up to U+024F).
    """
    if not name:
        raise InvalidName("the name is empty")
    if set(name) & {":", "."}:
        raise InvalidName("tmux session names cannot contain ':' or '.'")
    if set(name) & {"\\", "$"} or any(
        unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs") for ch in name
    ):
        raise InvalidName("tmux would change this name (control characters, '\\' or '$')")
    return name


def _check_pane(pane_id: str) -> str:
    if not _PANE_ID.fullmatch(pane_id):
        raise ValueError(f"not an exact tmux pane target (%N): {pane_id!r}")
    return pane_id


def _check_session(target: str) -> str:
    if _SESSION_ID.fullmatch(target):
        return target
    # tmux reads "=a:b" / "=a.b" as session "a" plus a window / pane: not exact.
    if target.startswith("=") and len(target) > 1 and not set(target) & {":", "."}:
        return _literal(target)
    raise ValueError(f"not an exact tmux session target ($N or =name): {target!r}")


@dataclass(frozen=True, slots=True)
class _ProcFacts:
    """What cannot change during a process's life, for :meth:`TmuxBackend.locate`.

    Attributes:
        env_socket: Socket path from the process's ``$TMUX``, if any.
        env_server_pid: Server PID from ``$TMUX``, if any.
        env_pane: ``$TMUX_PANE`` (``%N``), if any and well formed.
        lineage: The PID itself, then its ancestors' PIDs, nearest first.
        tty_device: Controlling terminal as ``(major, minor)``, or ``None``.
    """

    env_socket: str | None
    env_server_pid: int | None
    env_pane: str | None
    lineage: tuple[int, ...]
    tty_device: tuple[int, int] | None


class TmuxBackend:
    """One tmux server, driven through short-lived ``tmux`` client processes.

    Which server: ``socket_path`` (``-S``) or ``socket_name`` (``-L``) when given; else the
    server named by ``$TMUX`` in ``environ`` (we run inside one of its panes); else tmux's
    default socket (``-L default``, so an unrelated ``$TMUX`` never redirects us).

    The connection is held as a :class:`libtmux.Server` (:attr:`libtmux_server`), but commands do
    not go through ``libtmux.Server.cmd``: that runs ``Popen.communicate()`` without a timeout, so
    a hung server would block the caller forever. Each command is instead ``subprocess.run``
    with the same ``-L``/``-S`` arguments libtmux would pass and ``timeout=timeout_s``; on
    expiry the client is killed and :class:`~sessiontui.errors.MuxUnavailable` is raised.
    tmux children get ``os.environ`` without ``TMUX``/``TMUX_PANE``.

    Methods may be called from several worker threads; the only state is a few small
    caches (guarded by a lock).

    Args:
        socket_name: tmux ``-L`` label.
        socket_path: tmux ``-S`` path (takes precedence over ``socket_name``).
        environ: Our process environment (default ``os.environ``); read for ``TMUX`` and
            ``TMUX_PANE`` (server choice and :meth:`own_client`).
        timeout_s: Longest wait for one tmux command, in seconds.
    """

    type = "tmux"
    capabilities = frozenset(
        {
            CAP_POPUP,
            CAP_CAPTURE,
            CAP_DETACH,
            CAP_SWITCH,
            CAP_CONTROL_MODE,
            CAP_NEW_SESSION,
            CAP_SEND_KEYS,
        }
    )

    def __init__(
        self,
        *,
        socket_name: str | None = None,
        socket_path: str | None = None,
        environ: Mapping[str, str] | None = None,
        timeout_s: float = 2.0,
    ) -> None:
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._timeout_s = timeout_s
        if socket_path:
            self._server = libtmux.Server(socket_path=socket_path)
        elif socket_name:
            self._server = libtmux.Server(socket_name=socket_name)
        else:
            inside = parse_tmux_env(self._environ.get("TMUX"))
            if inside is not None:
                self._server = libtmux.Server(socket_path=inside[0])
            else:
                self._server = libtmux.Server(socket_name="default")
        self._socket_path: str | None = None
        self._server_pid: int | None = None
        self._facts: dict[tuple[int, float], _ProcFacts] = {}
        self._tty_devices: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ plumbing

    @property
    def libtmux_server(self) -> libtmux.Server:
        """The :class:`libtmux.Server` naming this server (for libtmux's richer API).

        Its methods have no timeout: use them from worker threads only.
        """
        return self._server

    def _server_args(self) -> list[str]:
        """The ``-S``/``-L`` arguments, built as ``libtmux.Server.cmd`` builds them."""
        if self._server.socket_path:
            return ["-S", str(self._server.socket_path)]
        return ["-L", str(self._server.socket_name)]

    def _tmux(self) -> str:
        tmux = self._server.tmux_bin or shutil.which("tmux")
        if tmux is None:
            raise MuxUnavailable("tmux is not installed (no tmux on PATH)")
        return tmux

    def _run(self, *args: str, check: bool = True) -> CommandResult:
        """Run ``tmux <server args> <args>`` with the timeout.

        Args:
            *args: tmux command and arguments (``;`` alone separates commands).
            check: Raise on a non-zero exit status.

        Returns:
            The decoded result (UTF-8, invalid bytes replaced).

        Raises:
            MuxUnavailable: tmux missing, no server, or no answer within ``timeout_s``.
            MuxError: ``check`` and the command failed (message: tmux's stderr).
        """
        argv = [self._tmux(), *self._server_args(), *args]
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self._timeout_s,
                env=child_env(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise MuxUnavailable(
                f"tmux did not answer within {self._timeout_s:g} s ({args[0]})"
            ) from None
        except OSError as exc:
            raise MuxUnavailable(f"cannot run tmux: {exc}") from exc
        result = CommandResult(
            stdout=proc.stdout.decode("utf-8", "replace"),
            stderr=proc.stderr.decode("utf-8", "replace"),
            returncode=proc.returncode,
        )
        if check and result.returncode != 0:
            raise self._error(result)
        return result

    def _error(self, result: CommandResult) -> MuxError:
        text = " ".join(result.stderr.split()) or f"tmux exited with status {result.returncode}"
        if any(marker in text.lower() for marker in _UNAVAILABLE_MARKERS):
            self._server_pid = None
            return MuxUnavailable(text)
        return MuxError(text)

    def _computed_socket_path(self) -> str:
        """The path tmux itself derives (tmux 3.3a ``make_label``), without asking the server."""
        if self._server.socket_path:
            return str(self._server.socket_path)
        base = os.environ.get("TMUX_TMPDIR") or "/tmp"  # tmux's own default
        directory = Path(base, f"tmux-{os.getuid()}").resolve()
        return str(directory / str(self._server.socket_name or "default"))

    @property
    def socket_path(self) -> str:
        """The server's socket path, as the server reports it (``#{socket_path}``).

        Resolved once with ``display-message -p`` (or by :meth:`list_panes`) and cached.
        While no server runs, the path tmux would use is computed from ``TMUX_TMPDIR``,
        the uid and the label, and not cached. This is the path found in the ``$TMUX`` of
        the server's panes.
        """
        if self._socket_path is None:
            try:
                lines = self._run("display-message", "-p", "#{socket_path}").lines
            except MuxError:
                return self._computed_socket_path()
            if lines and lines[0]:
                self._socket_path = lines[0]
            else:
                return self._computed_socket_path()
        return self._socket_path

    @property
    def server(self) -> str:
        """This server's identity: its socket path (see :attr:`socket_path`)."""
        return self.socket_path

    @property
    def tmux_bin(self) -> str:
        """The ``tmux`` executable used for this server.

        Raises:
            MuxUnavailable: tmux is not installed.
        """
        return self._tmux()

    def server_args(self) -> list[str]:
        """The ``-S``/``-L`` arguments naming this server on a tmux command line."""
        return self._server_args()

    def answers(self) -> bool:
        """True when the server's socket accepts connections (see :func:`socket_answers`)."""
        return socket_answers(self.socket_path)

    def names_server(self, environ_server: str) -> bool:
        """True when ``environ_server`` (a socket path from a process's ``$TMUX``) is ours."""
        return self._is_our_socket(environ_server)

    def _is_our_socket(self, path: str) -> bool:
        ours = self.socket_path
        if path == ours:
            return True
        try:
            return Path(path).resolve() == Path(ours).resolve()
        except (OSError, RuntimeError):
            return False

    # ------------------------------------------------------------------ polling

    def list_panes(self) -> list[PaneInfo]:
        """Return every pane of every session and window, from one ``list-panes -a`` call.

        Fields are separated by a tab-framed random token chosen per call, so untrusted text
        (session names, ``pane_current_command``, the ``@sessiontui-kind`` option) cannot
        shift columns even when it holds tabs or newlines.

        Returns:
            One :class:`PaneInfo` per pane, in tmux's order (session, window, pane).

        Raises:
            MuxUnavailable: No server is running on the socket (or it did not answer).
            MuxError: Any other tmux failure, or output that does not parse.
        """
        sep = f"\t{secrets.token_hex(16)}\t"
        fmt = sep + sep.join(f for _, f in _PANE_FIELDS) + sep
        mark = f"{secrets.token_hex(16)}\t"
        client_fmt = f"{mark}#{{session_id}}\t#{{client_control_mode}}"
        # One tmux call: the panes, then one line per client (control clients never count).
        output = self._run("list-panes", "-a", "-F", fmt, ";", "list-clients", "-F", client_fmt)
        stdout, _, client_part = output.stdout.partition(mark)
        clients: dict[str, int] = {}
        for line in (mark + client_part).split(mark)[1:] if client_part else ():
            session_id, _, control = line.rstrip("\n").partition("\t")
            if control != "1":
                clients[session_id] = clients.get(session_id, 0) + 1
        if not stdout:
            return []
        parts = stdout.split(sep)
        width = len(_PANE_FIELDS) + 1  # the fields, then the "\n" between records
        if parts[0] != "" or (len(parts) - 1) % width:
            raise MuxError("tmux list-panes printed output that does not parse")
        panes: list[PaneInfo] = []
        for start in range(1, len(parts), width):
            values = parts[start : start + width - 1]
            if parts[start + width - 1] != "\n":
                raise MuxError("tmux list-panes printed output that does not parse")
            row = dict(zip((name for name, _ in _PANE_FIELDS), values, strict=True))
            try:
                panes.append(
                    PaneInfo(
                        pane_id=row["pane_id"],
                        pane_pid=int(row["pane_pid"]),
                        pane_tty=row["pane_tty"],
                        session_id=row["session_id"],
                        session_name=row["session_name"],
                        window_index=row["window_index"],
                        window_id=row["window_id"],
                        pane_index=row["pane_index"],
                        current_command=row["current_command"],
                        session_attached=int(row["session_attached"]),
                        session_kind=row["session_kind"] or None,
                        server=row["socket_path"],
                        clients=clients.get(row["session_id"], 0),
                        title=row["title"],
                    )
                )
                self._server_pid = int(row["server_pid"])
            except ValueError as exc:
                raise MuxError(f"tmux list-panes printed a bad number: {exc}") from exc
            if self._socket_path is None and row["socket_path"]:
                self._socket_path = row["socket_path"]
        return panes

    def has_session(self, name: str) -> bool:
        """Return whether a session is named exactly ``name`` (target ``=name``).

        tmux stores ``:`` and ``.`` in session names as ``_`` (and would read them in a
        target as window / pane separators), so they are mapped to ``_`` first: the answer
        says whether creating a session called ``name`` would collide.

        Args:
            name: Session name (``al`` never matches ``alpha``).

        Returns:
            ``False`` also when no server is running.

        Raises:
            MuxUnavailable: tmux is missing or did not answer in time.
            MuxError: Any other tmux failure.
        """
        exact = "=" + name.replace(":", "_").replace(".", "_")
        result = self._run("has-session", "-t", _literal(exact), check=False)
        if result.returncode == 0:
            return True
        error = self._error(result)
        if isinstance(error, MuxUnavailable) or "can't find session" in result.stderr:
            return False
        raise error

    # ------------------------------------------------------------------ locating

    def _facts_for(self, pid: int) -> _ProcFacts | None:
        """Return the cached or freshly read facts of process ``pid`` (None if it is gone)."""
        try:
            proc = psutil.Process(pid)
            key = (pid, proc.create_time())
        except psutil.Error:
            return None
        cached = self._facts.get(key)
        if cached is not None:
            return cached
        try:
            environ: dict[str, str] = proc.environ()
        except psutil.AccessDenied:
            environ = {}
        except psutil.Error:
            return None
        inside = parse_tmux_env(environ.get("TMUX"))
        env_pane = environ.get("TMUX_PANE")
        lineage: tuple[int, ...] = (pid,)
        if not (env_pane and inside and self._is_our_socket(inside[0])):
            # Only needed when step 1 cannot answer; walking the parents of hundreds of
            # processes is what made start-up slow.
            lineage = (pid, *parent_chain(pid))
        tty_device = _controlling_tty(pid)
        facts = _ProcFacts(
            env_socket=inside[0] if inside else None,
            env_server_pid=inside[1] if inside else None,
            env_pane=env_pane if env_pane and _PANE_ID.fullmatch(env_pane) else None,
            lineage=lineage,
            tty_device=tty_device,
        )
        with self._lock:
            if len(self._facts) >= _MAX_CACHED_PROCESSES:
                del self._facts[next(iter(self._facts))]  # the oldest entry
            self._facts[key] = facts
        return facts

    def _tty_device(self, path: str) -> tuple[int, int] | None:
        """``(major, minor)`` of a pane tty path, cached (a path's device number is fixed)."""
        device = self._tty_devices.get(path)
        if device is None:
            try:
                rdev = Path(path).stat().st_rdev
            except OSError:
                return None
            device = (os.major(rdev), os.minor(rdev))
            with self._lock:
                if len(self._tty_devices) >= _MAX_CACHED_PROCESSES:
                    self._tty_devices.clear()
                self._tty_devices[path] = device
        return device

    def locate(self, pid: int, panes: Sequence[PaneInfo]) -> PaneInfo | None:
        """Return the pane in which process ``pid`` runs (SPEC 2.4), or ``None``.

        Tried in order: (1) the process's ``$TMUX_PANE``, if its ``$TMUX`` names this server
        (same socket path and, once :meth:`list_panes` has run, the same server PID, so a
        restarted server's reused ``%N`` is not trusted); skipped when its environment is
        unreadable; (2) the process or its nearest ancestor that is a ``pane_pid``; (3) its
        controlling terminal equal to a ``pane_tty``. What a process's environment, ancestry
        and terminal say is read once per ``(pid, create_time)`` and cached; the answer is
        always one of ``panes``.

        Args:
            pid: The process to place.
            panes: The current panes, from :meth:`list_panes`.

        Returns:
            The matching pane, or ``None`` (process gone, or not in this server).
        """
        facts = self._facts_for(pid)
        if facts is None:
            return None
        if (
            facts.env_pane is not None
            and facts.env_socket is not None
            and (self._server_pid is None or facts.env_server_pid == self._server_pid)
            and self._is_our_socket(facts.env_socket)
        ):
            for pane in panes:
                if pane.pane_id == facts.env_pane:
                    return pane
        by_pid = {pane.pane_pid: pane for pane in panes}
        for ancestor in facts.lineage:
            if ancestor in by_pid:
                return by_pid[ancestor]
        if facts.tty_device is not None:
            for pane in panes:
                if self._tty_device(pane.pane_tty) == facts.tty_device:
                    return pane
        return None

    # ------------------------------------------------------------------ clients

    def own_client(self) -> str | None:
        """Return the tty of the client showing our own pane, when we run inside this server.

        "Inside" means ``environ`` has ``TMUX_PANE`` and a ``$TMUX`` whose socket is this
        server's. Among the clients attached to our pane's session, control-mode clients
        (``tmux -C``) are ignored and the most recently active one wins.

        Returns:
            A client tty such as ``/dev/pts/4``, or ``None`` (not inside this server, our
            pane is gone, or no ordinary client shows our session).

        Raises:
            MuxUnavailable: The server is not running or did not answer.
        """
        pane = self._own_pane_id()
        return None if pane is None else self._client_for_pane(pane)

    def _own_pane_id(self) -> str | None:
        """``$TMUX_PANE`` of ``environ`` when ``$TMUX`` names this server, else ``None``."""
        inside = parse_tmux_env(self._environ.get("TMUX"))
        pane = self._environ.get("TMUX_PANE", "")
        if inside is None or not _PANE_ID.fullmatch(pane) or not self._is_our_socket(inside[0]):
            return None
        return pane

    def _client_for_pane(self, pane: str) -> str | None:
        """The most recently active ordinary client of the session of ``pane`` (``%N``)."""
        try:
            lines = self._run("display-message", "-p", "-t", pane, "#{session_id}").lines
        except MuxUnavailable:
            raise
        except MuxError:
            return None
        if not lines:
            return None
        session_id = lines[0]
        fmt = "#{client_activity}\t#{client_control_mode}\t#{session_id}\t#{client_tty}"
        best: tuple[int, str] | None = None
        for line in self._run("list-clients", "-F", fmt).lines:
            activity, control, client_session, tty = [*line.split("\t", 3), "", "", ""][:4]
            if control == "1" or client_session != session_id or not tty:
                continue
            rank = (int(activity) if activity.isdigit() else 0, tty)
            if best is None or rank > best:
                best = rank
        return best[1] if best else None

    def client_for_pane(self, pane_id: str) -> str | None:
        """Return the tty of the client that best shows the session holding ``pane_id``.

        The session is the one tmux resolves for ``-t %N`` (for a window linked into several
        sessions, one of them). Among the clients whose current session it is,
        control-mode clients (``tmux -C``) are ignored and the most recently active one wins
        (the same rule as :meth:`own_client`, which is this method applied to our own pane).

        Args:
            pane_id: Exact pane target ``%N``.

        Returns:
            A client tty such as ``/dev/pts/4``, or ``None`` (no such pane, or no ordinary
            client shows its session).

        Raises:
            ValueError: ``pane_id`` is not ``%N``.
            MuxUnavailable: The server is not running or did not answer.
            MuxError: Any other failure of ``list-clients``.
        """
        return self._client_for_pane(_check_pane(pane_id))

    def own_pane(self) -> PaneInfo | None:
        """Return our own pane (``$TMUX_PANE``) when we run inside this server.

        "Inside" is decided as for :meth:`own_client`; the pane comes from one
        :meth:`list_panes` poll.

        Returns:
            The pane, or ``None`` (not inside this server, or our pane is gone).

        Raises:
            MuxUnavailable: The server is not running or did not answer.
            MuxError: ``list-panes`` failed or printed output that does not parse.
        """
        pane = self._own_pane_id()
        if pane is None:
            return None
        return next((p for p in self.list_panes() if p.pane_id == pane), None)

    def last_client_pane(self, client_tty: str) -> str | None:
        """Return the pane the client on ``client_tty`` shows now (its session's active pane).

        Read from ``list-clients -F '#{client_tty}<sep>#{pane_id}'``: in ``list-clients``
        formats the pane fields describe the client's current session, window and pane
        (tmux 3.3a ``format_defaults`` with the client). ``display-message -c <tty> -p``
        is not used: its pane is the command's target, not the client's. Record it before
        :meth:`switch_client` to be able to switch back.

        Args:
            client_tty: The client's terminal, e.g. from :meth:`own_client`.

        Returns:
            ``%N``, or ``None`` when no client has that tty.

        Raises:
            MuxUnavailable: The server is not running or did not answer.
            MuxError: Any other failure of ``list-clients``.
        """
        sep = f"\t{secrets.token_hex(8)}\t"
        for line in self._run("list-clients", "-F", f"#{{client_tty}}{sep}#{{pane_id}}").lines:
            tty, _, pane = line.partition(sep)
            if tty == client_tty and _PANE_ID.fullmatch(pane):
                return pane
        return None

    def detach_client(self, client_tty: str) -> None:
        """Detach one client (``detach-client -t <tty>``); other clients of its session stay.

        Args:
            client_tty: The client's terminal, e.g. from :meth:`client_for_pane`.

        Raises:
            MuxUnavailable: The server is not running or did not answer.
            MuxError: No client on that tty (``can't find client``) or another failure.
        """
        self._run("detach-client", "-t", _literal(client_tty))

    def switch_client(self, client_tty: str, pane_id: str, *, session: str | None = None) -> None:
        """Make the client on ``client_tty`` show exactly pane ``pane_id``.

        One tmux call: ``select-window -t %N ; select-pane -t %N ; switch-client -c <tty>
        -t %N`` (``-c`` always, so no other client is moved).

        Args:
            client_tty: The client's terminal, e.g. from :meth:`own_client`.
            pane_id: Exact pane target ``%N``.
            session: Ignored: tmux pane ids are unique within the server.

        Raises:
            ValueError: ``pane_id`` is not ``%N``.
            MuxUnavailable: No server, or no answer in time.
            MuxError: Unknown client or pane (message: tmux's stderr).
        """
        pane = _check_pane(pane_id)
        self._run(
            "select-window", "-t", pane, ";",
            "select-pane", "-t", pane, ";",
            "switch-client", "-c", _literal(client_tty), "-t", pane,
        )  # fmt: skip

    def attach_argv(self, pane_id: str, *, session: str | None = None) -> list[str]:
        """Return the argv that attaches a terminal outside tmux to ``pane_id``.

        ``[tmux, "-S", <socket>, "attach-session", "-t", "%N"]``: attaching to a pane target
        makes its window current and the pane active (tmux 3.3a), so no separate
        ``select-pane`` is needed. Run it with :func:`child_env` as the environment (tmux
        refuses to attach while ``$TMUX`` is set); it returns when the user detaches.

        Args:
            pane_id: Exact pane target ``%N``.
            session: Ignored: tmux pane ids are unique within the server.

        Returns:
            The argv (no tmux call is made).

        Raises:
            ValueError: ``pane_id`` is not ``%N``.
            MuxUnavailable: tmux is not installed.
        """
        pane = _check_pane(pane_id)
        socket = self._socket_path or self._computed_socket_path()
        return [self._tmux(), "-S", socket, "attach-session", "-t", pane]

    # ------------------------------------------------------------------ session actions

    def session_clients(self, session_id: str) -> list[str]:
        """Return the ttys of the ordinary clients attached to a session.

        Control-mode clients (``tmux -C``, ``client_control_mode=1``) count as attached for
        tmux but are never listed here: they are programs, not people.

        Args:
            session_id: Exact session target (``$N`` or ``=name``).

        Returns:
            Client ttys such as ``/dev/pts/4``, in tmux's order (may be empty).

        Raises:
            ValueError: Not an exact session target.
            MuxUnavailable: No server, or no answer in time.
            MuxError: Unknown session or another tmux failure.
        """
        target = _check_session(session_id)
        sep = f"\t{secrets.token_hex(8)}\t"
        fmt = f"#{{client_control_mode}}{sep}#{{client_tty}}"
        ttys: list[str] = []
        for line in self._run("list-clients", "-t", target, "-F", fmt).lines:
            control, _, tty = line.partition(sep)
            if control == "0" and tty:
                ttys.append(tty)
        return ttys

    def detach_session(self, session_id: str, *, keep_client: str | None = None) -> int:
        """Detach the ordinary clients of a session one by one; the session keeps running.

        Not ``detach-client -s``: that also detaches control-mode clients (``tmux -C``,
        e.g. another program's change feed) and cannot spare one client. Each ordinary
        client is detached with ``detach-client -t <tty>``; a client that left meanwhile
        is skipped.

        Args:
            session_id: Exact session target (``$N`` or ``=name``).
            keep_client: The tty of a client to leave attached (e.g. our own), or ``None``.

        Returns:
            How many clients were detached (0 is not an error).

        Raises:
            ValueError: Not an exact session target.
            MuxUnavailable: No server, or no answer in time.
            MuxError: Unknown session or another tmux failure.
        """
        count = 0
        for tty in self.session_clients(session_id):
            if tty == keep_client:
                continue
            result = self._run("detach-client", "-t", _literal(tty), check=False)
            if result.returncode == 0:
                count += 1
            elif "can't find client" not in result.stderr:
                raise self._error(result)
        return count

    def client_session(self, client_tty: str) -> str | None:
        """Return the session (``$N``) the ordinary client on ``client_tty`` shows now.

        Args:
            client_tty: The client's terminal, e.g. from :meth:`own_client`.

        Returns:
            ``$N``, or ``None`` when no ordinary client has that tty.

        Raises:
            MuxUnavailable: The server is not running or did not answer.
            MuxError: Any other failure of ``list-clients``.
        """
        sep = f"\t{secrets.token_hex(8)}\t"
        fmt = f"#{{client_tty}}{sep}#{{client_control_mode}}{sep}#{{session_id}}"
        for line in self._run("list-clients", "-F", fmt).lines:
            tty, control, session = [*line.split(sep), "", ""][:3]
            if tty == client_tty and control == "0" and _SESSION_ID.fullmatch(session):
                return session
        return None

    def switch_client_back(self, client_tty: str, *, leaving: str | None = None) -> str | None:
        """Send a client back to where it came from instead of detaching it.

        First ``switch-client -c <tty> -l`` (the client's last session); when tmux has none
        (or it is ``leaving``), the most recently used other session. When there is no
        other session at all, nothing is done.

        Args:
            client_tty: The client's terminal.
            leaving: Exact session id (``$N``) the client leaves; never chosen as the target.

        Returns:
            The session id the client shows now, or ``None`` when there was nowhere to go.

        Raises:
            MuxUnavailable: The server is not running or did not answer.
            MuxError: No client on that tty, or another tmux failure.
        """
        client = _literal(client_tty)
        result = self._run("switch-client", "-c", client, "-l", check=False)
        if result.returncode == 0:
            now = self.client_session(client_tty)
            if now is not None and now != leaving:
                return now
        elif "can't find client" in result.stderr:
            raise self._error(result)
        sep = f"\t{secrets.token_hex(8)}\t"
        fmt = f"#{{session_last_attached}}{sep}#{{session_activity}}{sep}#{{session_id}}"
        best: tuple[int, int, str] | None = None
        for line in self._run("list-sessions", "-F", fmt).lines:
            attached, activity, session = [*line.split(sep), "", ""][:3]
            if not _SESSION_ID.fullmatch(session) or session == leaving:
                continue
            rank = (
                int(attached) if attached.isdigit() else 0,
                int(activity) if activity.isdigit() else 0,
                session,
            )
            if best is None or rank > best:
                best = rank
        if best is None:
            return None
        self._run("switch-client", "-c", client, "-t", best[2])
        return best[2]

    def rename_session(self, session_id: str, new_name: str) -> None:
        """Rename a session (``rename-session -t <target> -- <new_name>``).

        tmux itself replaces ``:`` and ``.`` in names with ``_`` and escapes control
        characters; the name is otherwise passed verbatim (even a leading ``-`` or a
        trailing ``;``).

        Args:
            session_id: Exact session target (``$N`` or ``=name``).
            new_name: The new name.

        Raises:
            ValueError: Not an exact session target.
            NameTaken: Another session already has that name (nothing changed).
            MuxUnavailable: No server, or no answer in time.
            MuxError: Unknown session or another tmux failure.
        """
        target = _check_session(session_id)
        result = self._run("rename-session", "-t", target, "--", _no_formats(new_name), check=False)
        if result.returncode == 0:
            return
        if "duplicate session" in result.stderr:
            raise NameTaken(f"a tmux session is already named {new_name!r}")
        raise self._error(result)

    def kill_session(self, session_id: str) -> None:
        """End a session and the processes of its panes (``kill-session -t <target>``).

        Args:
            session_id: Exact session target (``$N`` or ``=name``).

        Raises:
            ValueError: Not an exact session target.
            MuxUnavailable: No server, or no answer in time.
            MuxError: Unknown session or another tmux failure.
        """
        self._run("kill-session", "-t", _check_session(session_id))

    def delete_session(self, session_id: str) -> None:
        """Not offered: tmux keeps nothing of an ended session.

        Raises:
            NotApplicable: Always.
        """
        del session_id
        raise NotApplicable("tmux keeps nothing of an ended session")

    def capture_pane(self, pane_id: str, lines: int = 20, *, session: str | None = None) -> str:
        r"""Return the last ``lines`` non-blank-trailing lines of a pane as plain text.

        ``capture-pane -p`` without ``-e``: no escape sequences, only the characters on
        screen (untrusted text). Blank lines below the last output are dropped.

        Args:
            pane_id: Exact pane target ``%N``.
            session: Ignored: tmux pane ids are unique within the server.
            lines: How many lines at most.

        Returns:
            The lines joined with ``\n`` (no trailing newline); ``""`` for ``lines <= 0``.

        Raises:
            ValueError: ``pane_id`` is not ``%N``.
            MuxUnavailable: No server, or no answer in time.
            MuxError: Unknown pane or another tmux failure.
        """
        pane = _check_pane(pane_id)
        if lines <= 0:
            return ""
        text = self._run("capture-pane", "-p", "-t", pane, "-S", f"-{lines}").lines
        while text and not text[-1].strip():
            text.pop()
        return "\n".join(text[-lines:])

    def send_text(self, pane_id: str, text: str, *, session: str | None = None) -> None:
        """Type ``text`` into a pane literally (``send-keys -l -- TEXT``); no Enter.

        ``-l`` keeps tmux from reading key names (``Enter``, ``C-c``) in the text, ``--``
        from reading a leading ``-`` as a flag, and :func:`_literal` from reading a
        trailing ``;`` as a command separator. tmux does not expand formats here.

        Args:
            pane_id: Exact pane target ``%N``.
            text: One line of printable text (see :func:`~sessiontui.mux.base.check_text`).
            session: Ignored: tmux pane ids are unique within the server.

        Raises:
            ValueError: ``pane_id`` is not ``%N`` or ``text`` holds control characters.
            MuxUnavailable: No server, or no answer in time.
            MuxError: Unknown pane or another tmux failure.
        """
        pane = _check_pane(pane_id)
        check_text(text)
        if text:
            self._run("send-keys", "-t", pane, "-l", "--", _literal(text))

    def send_keys(self, pane_id: str, keys: Sequence[str], *, session: str | None = None) -> None:
        """Press keys in a pane, one ``send-keys`` call each (so tmux never merges them).

        Args:
            pane_id: Exact pane target ``%N``.
            keys: ``Enter``, ``Escape`` or one printable ASCII character each.
            session: Ignored: tmux pane ids are unique within the server.

        Raises:
            ValueError: A bad pane id or key (checked before anything is sent).
            MuxUnavailable: No server, or no answer in time.
            MuxError: Unknown pane or another tmux failure.
        """
        pane = _check_pane(pane_id)
        names = [_TMUX_KEYS.get(check_key(key)) for key in keys]
        for key, name in zip(keys, names, strict=True):
            if name is not None:
                self._run("send-keys", "-t", pane, name)
            else:  # one printable character, typed as itself
                self._run("send-keys", "-t", pane, "-l", "--", _literal(key))

    # ------------------------------------------------------------------ background sessions

    def new_session(
        self,
        name: str,
        *,
        command: Sequence[str],
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        kind: str = "bg",
    ) -> str:
        r"""Create a detached session ``=name`` running ``command``, marked as ours (SPEC 5).

        One tmux call: ``new-session -d -P -F '#{session_id}' -s <name> [-c <cwd>]
        [-e VAR=value]... -- <command> ; set-option -t =<name>: @sessiontui-kind <kind>``, so
        the session never exists unmarked. The command is an argv, run without a shell
        when it has two or more elements (see :func:`_command_args`). ``-e`` needs tmux
        3.2+; the variables are set in the session environment, on top of the server's
        global one. Starts the server when none runs (which then reads the configuration
        file as tmux always does: no ``-f``). Name and directory are protected from tmux's
        format expansion.

        Args:
            name: Session name, stored verbatim (no ``:``/``.``/``\``/``$``/control
                characters, which tmux would rewrite).
            command: The argv to run, e.g. ``["claude"]``.
            cwd: Working directory (default: tmux's, i.e. the server's or the client's).
            env: Extra environment variables for the session.
            kind: Value of the user option ``@sessiontui-kind``.

        Returns:
            The new session's id ``$N``.

        Raises:
            InvalidName: The name is empty or tmux would not store it verbatim.
            NameTaken: A session already has that name (nothing was created).
            ValueError: Empty ``command``, or a variable name that is empty or holds ``=``.
            MuxError: ``cwd`` is not a directory (tmux would silently use ``$HOME``), or
                tmux failed.
            MuxUnavailable: tmux missing or did not answer in time.
        """
        _check_new_name(name)
        args = ["new-session", "-d", "-P", "-F", "#{session_id}", "-s", _no_formats(name)]
        if cwd is not None:
            directory = Path(cwd).absolute()
            if not directory.is_dir():
                raise MuxError(f"cannot start in {cwd!r}: not a directory")
            args += ["-c", _no_formats(str(directory))]
        for key, value in (env or {}).items():
            if not key or "=" in key:
                raise ValueError(f"not an environment variable name: {key!r}")
            args += ["-e", _literal(f"{key}={value}")]
        args += ["--", *_command_args(command)]
        if self.has_session(name):
            raise NameTaken(f"a tmux session is already named {name!r}")
        # set-option's -t is a pane target: "=name" alone would be read as a window name.
        mark = ["set-option", "-t", f"={name}:", "@sessiontui-kind", _literal(kind)]
        result = self._run(*args, ";", *mark, check=False)
        lines = result.lines
        created = lines[0] if lines and _SESSION_ID.fullmatch(lines[0]) else None
        if result.returncode == 0 and created is not None:
            return created
        if created is not None:
            # Created but not marked: tmux stored another name than ``name``. Undo.
            self._run("kill-session", "-t", created, check=False)
            raise InvalidName(f"tmux would not store the session name {name!r} verbatim")
        if "duplicate session" in result.stderr:
            raise NameTaken(f"a tmux session is already named {name!r}")
        raise self._error(result)

    def session_option(self, session_id: str, option: str) -> str | None:
        """Return a session's own value of a user option (``show-options -v -t <s> @opt``).

        Values set only globally (``set -g``) are not inherited here (unlike the
        ``#{@opt}`` format). The value is returned verbatim (untrusted text; it may hold
        newlines).

        Args:
            session_id: Exact session target (``$N`` or ``=name``).
            option: User option name, starting with ``@`` (e.g. ``@sessiontui-kind``).

        Returns:
            The value (possibly ``""``), or ``None`` when the session does not set it.

        Raises:
            ValueError: Not an exact session target, or not a user option name.
            MuxUnavailable: No server, or no answer in time.
            MuxError: Unknown session or another tmux failure.
        """
        _check_session(session_id)
        if not option.startswith("@") or len(option) < 2:
            raise ValueError(f"not a tmux user option (@name): {option!r}")
        # show-options' -t is a pane target: "=name" alone would be read as a window name.
        target = f"{session_id}:" if session_id.startswith("=") else session_id
        result = self._run("show-options", "-v", "-t", target, _literal(option), check=False)
        if result.returncode == 0:
            return result.stdout.removesuffix("\n")
        if "invalid option" in result.stderr:
            return None
        raise self._error(result)

    def new_window(
        self,
        session_id: str,
        command: Sequence[str],
        *,
        name: str | None = None,
        select: bool = True,
        cwd: str | None = None,
    ) -> str:
        """Open a window running ``command`` in a session (``new-window -t <session>:``).

        Args:
            session_id: Exact session target (``$N`` or ``=name``).
            command: The argv to run (as for :meth:`new_session`).
            name: Window name (verbatim; default: tmux's automatic name).
            select: Make it the session's current window (else ``-d``).
            cwd: Working directory (default: tmux's).

        Returns:
            The pane id ``%N`` of the new window.

        Raises:
            ValueError: Not an exact session target, or an empty command.
            MuxError: ``cwd`` is not a directory, unknown session, or another tmux failure.
            MuxUnavailable: No server, or no answer in time.
        """
        _check_session(session_id)
        args = ["new-window", "-P", "-F", "#{pane_id}", "-t", f"{session_id}:"]
        if not select:
            args.append("-d")
        if name is not None:
            args += ["-n", _no_formats(name)]
        if cwd is not None:
            directory = Path(cwd).absolute()
            if not directory.is_dir():
                raise MuxError(f"cannot start in {cwd!r}: not a directory")
            args += ["-c", _no_formats(str(directory))]
        lines = self._run(*args, "--", *_command_args(command)).lines
        if not lines or not _PANE_ID.fullmatch(lines[0]):
            raise MuxError("tmux new-window printed no pane id")
        return lines[0]

    def display_popup(
        self,
        client_tty: str,
        command: Sequence[str],
        *,
        title: str | None = None,
        width: str = "90%",
        height: str = "90%",
        cwd: str | None = None,
        on_close: Callable[[int, str], None] | None = None,
    ) -> None:
        """Show ``command`` in a popup over one client; return without waiting for it.

        ``display-popup -c <tty> -E -w <w> -h <h> [-T <title>] [-d <cwd>] -- <command>``.
        In tmux 3.3a that tmux command does not return until the popup closes (measured:
        a popup running ``sleep 2`` keeps it for 2 s), and it has no flag to return early.
        So the client is checked first (one ordinary call: it must exist and not be in
        control mode), then ``display-popup`` is started as a child process that this
        method does not wait for; a daemon thread reaps it and, when it ends, calls
        ``on_close`` or logs a failure. ``-E`` closes the popup when the command exits.
        tmux ignores the request (exit 0, no popup) when the client already shows a
        popup or menu.

        Args:
            client_tty: The client's terminal, e.g. from :meth:`own_client`.
            command: The argv to run (as for :meth:`new_session`).
            title: Border title, verbatim (tmux 3.3+).
            width: Popup width: cells (``"100"``) or percent of the client (``"90%"``).
            height: Popup height, likewise.
            cwd: Working directory of the command (default: tmux's).
            on_close: Called from the reaper thread with the ``display-popup`` client's
                exit status and stderr once the popup is gone or the command failed.

        Raises:
            ValueError: Empty command, or a bad width/height.
            MuxError: No ordinary client on ``client_tty``, or ``cwd`` is not a directory.
            MuxUnavailable: No server, or no answer in time, or tmux cannot be started.
        """
        for size in (width, height):
            if not _SIZE.fullmatch(size):
                raise ValueError(f"not a popup size (N or N%): {size!r}")
        args = ["display-popup", "-c", _literal(client_tty), "-E", "-w", width, "-h", height]
        if title is not None:
            args += ["-T", _no_formats(title)]
        if cwd is not None:
            directory = Path(cwd).absolute()
            if not directory.is_dir():
                raise MuxError(f"cannot start in {cwd!r}: not a directory")
            args += ["-d", _no_formats(str(directory))]
        args += ["--", *_command_args(command)]
        sep = f"\t{secrets.token_hex(8)}\t"
        fmt = f"#{{client_tty}}{sep}#{{client_control_mode}}"
        found = (
            line.partition(sep)[2] == "0"
            for line in self._run("list-clients", "-F", fmt).lines
            if line.partition(sep)[0] == client_tty
        )
        if not any(found):
            raise MuxError(f"no tmux client on {client_tty!r}")
        try:
            proc = subprocess.Popen(
                [self._tmux(), *self._server_args(), *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=child_env(),
                start_new_session=True,  # survives our exit and our terminal's signals
            )
        except OSError as exc:
            raise MuxUnavailable(f"cannot run tmux: {exc}") from exc
        threading.Thread(
            target=_reap_popup, args=(proc, on_close), name="tmux-popup-reaper", daemon=True
        ).start()


def _reap_popup(proc: subprocess.Popen[bytes], on_close: Callable[[int, str], None] | None) -> None:
    """Wait for a ``display-popup`` client, then report how it ended."""
    _, err = proc.communicate()
    stderr = " ".join(err.decode("utf-8", "replace").split())
    if on_close is not None:
        on_close(proc.returncode, stderr)
    elif proc.returncode != 0:
        logger.warning("tmux display-popup failed (%s): %s", proc.returncode, stderr)


def socket_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The directory of the user's tmux sockets: ``${TMUX_TMPDIR:-/tmp}/tmux-<uid>`` (tmux 3.3a).

    Args:
        environ: Environment to read ``TMUX_TMPDIR`` from (default ``os.environ``).

    Returns:
        The path (it may not exist).
    """
    source = os.environ if environ is None else environ
    return Path(source.get("TMUX_TMPDIR") or "/tmp", f"tmux-{os.getuid()}")


def socket_answers(path: str, timeout_s: float = 0.2) -> bool:
    """True when a tmux server accepts connections on the Unix socket ``path``.

    A socket file can outlive its server (tmux 3.3a leaves it after ``kill-server``); a
    ``connect`` to such a file is refused at once. No tmux client is started.

    Args:
        path: Socket path.
        timeout_s: Longest wait for the connection, in seconds.
    """
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(path)
        except OSError:
            return False
    return True


def discover_sockets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Return the live tmux server sockets of this user in :func:`socket_dir`, sorted.

    Only sockets owned by our uid count; stale socket files of dead servers are skipped
    (never deleted). A missing or unreadable directory gives ``[]``.

    Args:
        environ: Environment to read ``TMUX_TMPDIR`` from (default ``os.environ``).
    """
    import stat

    directory = socket_dir(environ)
    found: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    uid = os.getuid()
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISSOCK(info.st_mode) and info.st_uid == uid and socket_answers(entry.path):
            found.append(entry.path)
    return sorted(found)
