"""tmux backend: one-call pane polls, PID-to-pane mapping and exact-target actions (SPEC 2.4).

Every tmux command runs as a child process with a timeout (see :class:`TmuxBackend`), so a
hung server costs a worker thread at most ``timeout_s`` seconds. Still, call these methods
from worker threads, never from the UI thread.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import libtmux
import psutil

from sessiontui.errors import MuxError, MuxUnavailable, NameTaken
from sessiontui.model.types import PaneInfo

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["TmuxBackend", "child_env", "parse_tmux_env"]

#: Variables tmux sets in every pane; a child that should not "be inside" tmux must lose them.
TMUX_ENV_VARS: tuple[str, ...] = ("TMUX", "TMUX_PANE")

_PANE_ID = re.compile(r"%\d+")
_SESSION_ID = re.compile(r"\$\d+")

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
)

_MAX_CACHED_PROCESSES = 1024


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
class _Result:
    """Outcome of one tmux command: decoded output and exit status."""

    stdout: str
    stderr: str
    returncode: int

    @property
    def lines(self) -> list[str]:
        """Stdout split into lines, without the final newline."""
        return self.stdout.splitlines()


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

    The connection is held as a :class:`libtmux.Server` (:attr:`server`), but commands do not
    go through ``libtmux.Server.cmd``: that runs ``Popen.communicate()`` without a timeout, so
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
    def server(self) -> libtmux.Server:
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

    def _run(self, *args: str, check: bool = True) -> _Result:
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
        result = _Result(
            stdout=proc.stdout.decode("utf-8", "replace"),
            stderr=proc.stderr.decode("utf-8", "replace"),
            returncode=proc.returncode,
        )
        if check and result.returncode != 0:
            raise self._error(result)
        return result

    def _error(self, result: _Result) -> MuxError:
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
        stdout = self._run("list-panes", "-a", "-F", fmt).stdout
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
        try:
            lineage = (pid, *(parent.pid for parent in proc.parents()))
        except psutil.Error:
            lineage = (pid,)
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
        inside = parse_tmux_env(self._environ.get("TMUX"))
        pane = self._environ.get("TMUX_PANE", "")
        if inside is None or not _PANE_ID.fullmatch(pane) or not self._is_our_socket(inside[0]):
            return None
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

    def switch_client(self, client_tty: str, pane_id: str) -> None:
        """Make the client on ``client_tty`` show exactly pane ``pane_id``.

        One tmux call: ``select-window -t %N ; select-pane -t %N ; switch-client -c <tty>
        -t %N`` (``-c`` always, so no other client is moved).

        Args:
            client_tty: The client's terminal, e.g. from :meth:`own_client`.
            pane_id: Exact pane target ``%N``.

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

    def attach_argv(self, pane_id: str) -> list[str]:
        """Return the argv that attaches a terminal outside tmux to ``pane_id``.

        ``[tmux, "-S", <socket>, "attach-session", "-t", "%N"]``: attaching to a pane target
        makes its window current and the pane active (tmux 3.3a), so no separate
        ``select-pane`` is needed. Run it with :func:`child_env` as the environment (tmux
        refuses to attach while ``$TMUX`` is set); it returns when the user detaches.

        Args:
            pane_id: Exact pane target ``%N``.

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

    def detach_session(self, session_id: str) -> int:
        """Detach every client attached to a session; the session keeps running.

        Args:
            session_id: Exact session target (``$N`` or ``=name``).

        Returns:
            How many clients were attached just before (0 is not an error).

        Raises:
            ValueError: Not an exact session target.
            MuxUnavailable: No server, or no answer in time.
            MuxError: Unknown session or another tmux failure.
        """
        target = _check_session(session_id)
        count = len(self._run("list-clients", "-t", target, "-F", "#{client_name}").lines)
        if count == 0:
            # tmux 3.3a fails ``detach-client -s`` with "no current client" when the
            # server has no client at all.
            return 0
        result = self._run("detach-client", "-s", target, check=False)
        if result.returncode != 0 and "no current client" not in result.stderr:
            raise self._error(result)
        return count

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
        result = self._run("rename-session", "-t", target, "--", _literal(new_name), check=False)
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

    def capture_pane(self, pane_id: str, lines: int = 20) -> str:
        r"""Return the last ``lines`` non-blank-trailing lines of a pane as plain text.

        ``capture-pane -p`` without ``-e``: no escape sequences, only the characters on
        screen (untrusted text). Blank lines below the last output are dropped.

        Args:
            pane_id: Exact pane target ``%N``.
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
