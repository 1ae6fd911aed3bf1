"""One connection to a remote host's ``sessiontui serve --stdio`` (SPEC 2.7): :class:`HostLink`.

A :class:`HostLink` runs OpenSSH (or, in tests, any command that speaks the protocol on its
stdin/stdout), reads its JSON lines in one reader thread, and keeps the host's sessions as
local :class:`~sessiontui.model.types.Session` values: keys prefixed ``"<host>/"``,
:attr:`~sessiontui.model.types.Session.host` set, times shifted by the host's clock offset.
When the link drops, the last-known sessions stay, each with ``health`` set to
:data:`UNREACHABLE` (a remote agent is never "dead" because the link is down), and the link
reconnects on the schedule of :func:`next_retry_delay`: 1 s, 2 s, then every 3 s for the first
10 minutes of an outage (rows are live again within ~4 s of the host coming back), then doubling
to 30 s; a host that answers but refuses (authentication, a failing remote command, another
protocol version) gets the doubling schedule from the start, so its sshd log is not flooded.

Calls (:meth:`HostLink.call`) carry an id and wait for their result; a failed result raises
the :mod:`sessiontui.errors` class it names.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
import signal
import subprocess
import threading
import time
from typing import IO, TYPE_CHECKING, Protocol

from sessiontui import errors
from sessiontui.errors import ProtocolError, SessiontuiError
from sessiontui.model.types import HOST_UNREACHABLE, with_changes
from sessiontui.model.wire import session_from_json
from sessiontui.remote import protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from sessiontui.model.types import Session
    from sessiontui.remote.hosts import HostSpec

__all__ = [
    "UNREACHABLE",
    "HostLink",
    "HostUnreachable",
    "SshTransport",
    "Transport",
    "next_retry_delay",
    "remote_command_line",
]

#: ``Session.health`` of a remote session whose host cannot be reached (last-known state).
UNREACHABLE = HOST_UNREACHABLE

#: ``ssh`` options every link uses: no password prompt, and a dead peer noticed in ~30 s.
SSH_LINK_OPTIONS: tuple[str, ...] = (
    "-o",
    "BatchMode=yes",
    "-o",
    "ServerAliveInterval=10",
    "-o",
    "ServerAliveCountMax=3",
)

#: Seconds without any line from a connected host (it pings every 10 s) before the link is
#: taken for dead and restarted: a stopped ``serve`` or a stalled pipe that ssh's own
#: keep-alive cannot see.
STALL_S = 35.0

#: First and largest pause between reconnection attempts, seconds.
BACKOFF_FIRST_S, BACKOFF_MAX_S = 1.0, 30.0

#: Largest pause between attempts early in an outage of a host that cannot be reached,
#: seconds: with an ssh handshake and the first snapshot (~1 s) rows are live again within
#: ~4 s of the host coming back. An attempt at a host that refuses TCP costs ~6 ms of CPU
#: (one ``ssh`` process) and leaves no line in any sshd log: 0.2 % of a core while it lasts.
RETRY_FAST_S = 3.0

#: Seconds of an outage during which attempts stay :data:`RETRY_FAST_S` apart; after that the
#: pause doubles up to :data:`BACKOFF_MAX_S` (a host down for long is rarely back in seconds).
FAST_PHASE_S = 600.0

#: Phrases of ``ssh``'s stderr saying the host answered and refused us (retrying at once
#: would only add lines to its sshd log).
_REFUSED_BY_HOST = ("Permission denied", "Host key verification failed")

#: Bytes of the transport's stderr kept for error messages.
_STDERR_KEEP = 2000


class HostUnreachable(SessiontuiError):
    """The remote host's link is down (or never came up); the call was not sent."""


def next_retry_delay(
    previous_s: float,
    outage_s: float,
    *,
    refused: bool,
    first_s: float = BACKOFF_FIRST_S,
    fast_s: float = RETRY_FAST_S,
    fast_phase_s: float = FAST_PHASE_S,
    max_s: float = BACKOFF_MAX_S,
) -> float:
    """Seconds to wait before the next connection attempt.

    Args:
        previous_s: The pause before the attempt that just failed; 0 when the link was up
            (or this is the first attempt).
        outage_s: Seconds since the link went down (since the link started, if it never
            came up).
        refused: The host answered but refused us: the remote command failed, ssh
            authentication failed, or the host speaks another protocol version.
        first_s: The first pause.
        fast_s: The largest pause while ``outage_s`` is under ``fast_phase_s`` and the host
            is not refusing.
        fast_phase_s: How long an outage is retried every ``fast_s`` at most.
        max_s: The largest pause.

    Returns:
        ``first_s``, then the previous pause doubled, capped at ``fast_s`` early in an
        outage of an unreachable host and at ``max_s`` otherwise.

    >>> [next_retry_delay(p, 5.0, refused=False) for p in (0.0, 1.0, 2.0, 3.0)]
    [1.0, 2.0, 3.0, 3.0]
    >>> next_retry_delay(3.0, 700.0, refused=False), next_retry_delay(4.0, 5.0, refused=True)
    (6.0, 8.0)
    """
    if previous_s <= 0:
        return first_s
    doubled = min(previous_s * 2, max_s)
    if refused or outage_s >= fast_phase_s:
        return doubled
    return min(doubled, max(fast_s, first_s))


def remote_command_line(argv: Sequence[str]) -> str:
    """The one command line OpenSSH hands the remote shell for ``argv``, each part quoted.

    A leading ``~/`` of the program stays unquoted so the remote shell expands it to the
    remote home directory.

    >>> remote_command_line(["~/bin/sessiontui", "serve", "--stdio"])
    '~/bin/sessiontui serve --stdio'
    >>> remote_command_line(["tmux", "attach", "-t", "=a b;rm"])
    "tmux attach -t '=a b;rm'"
    """
    parts = [shlex.quote(part) for part in argv]
    if argv and argv[0].startswith("~/") and len(argv[0]) > 2:
        parts[0] = "~/" + shlex.quote(argv[0][2:])
    return " ".join(parts)


class Transport(Protocol):
    """How a link reaches a host: the command that runs its ``serve --stdio``, and attach."""

    def serve_argv(self, host: HostSpec) -> list[str]:
        """The argv whose stdin/stdout speak the protocol with ``host``'s ``serve --stdio``."""
        ...

    def attach_argv(self, host: HostSpec, remote_argv: Sequence[str]) -> list[str]:
        """The argv that runs ``remote_argv`` on ``host`` in this terminal (a tty)."""
        ...

    @property
    def env(self) -> Mapping[str, str] | None:
        """Environment for :meth:`serve_argv`'s process (``None``: ours)."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class SshTransport:
    """OpenSSH: ``ssh -T -o BatchMode=yes ... DEST -- <command> serve --stdio``.

    Attributes:
        ssh: The ``ssh`` client as an argv (``("ssh",)``, or e.g. ``("ssh", "-F", CONF)``).
        options: Options put before every host's own ``ssh_options`` (tests point them at a
            loopback sshd: ``-p PORT -i KEY -o UserKnownHostsFile=...``).
        env: Environment for ``ssh`` (``None``: ours).
    """

    ssh: tuple[str, ...] = ("ssh",)
    options: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None

    def serve_argv(self, host: HostSpec) -> list[str]:
        """``ssh -T <link options> [opts] DEST -- '<command>' serve --stdio`` (no local shell)."""
        command = remote_command_line([*host.command, "serve", "--stdio"])
        return [
            *self.ssh,
            "-T",
            *SSH_LINK_OPTIONS,
            *self.options,
            *host.ssh_options,
            host.ssh,
            "--",
            command,
        ]

    def attach_argv(self, host: HostSpec, remote_argv: Sequence[str]) -> list[str]:
        """``ssh -t [opts] DEST -- <remote_argv, shell-quoted>``: a terminal on the host."""
        return [
            *self.ssh,
            "-t",
            *self.options,
            *host.ssh_options,
            host.ssh,
            "--",
            remote_command_line(remote_argv),
        ]


class _Call:
    """A call waiting for its result."""

    __slots__ = ("done", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: dict[str, object] | None = None


class HostLink:
    """The live connection to one host, with its last-known sessions.

    Thread-safe: the reader thread updates the state, any thread reads :attr:`sessions`,
    :attr:`problem` and calls :meth:`call`. ``on_change()`` runs in the reader thread after
    every change of :attr:`sessions` or :attr:`problem` (it must not block for long).

    Args:
        host: The host.
        transport: How to reach it (default :class:`SshTransport`).
        on_change: Called after every change.
        clock: Local wall clock, seconds since the epoch.
        call_timeout_s: Default seconds :meth:`call` waits for a result.
        backoff_first_s, backoff_max_s: Pause before the first reconnection attempt,
            doubled after each failure up to the maximum, seconds (see
            :func:`next_retry_delay`).
        retry_fast_s, fast_phase_s: The largest pause during the first ``fast_phase_s``
            seconds of an outage of a host that cannot be reached, seconds.
        stall_s: Seconds of silence from a connected host after which the transport is
            ended and the link reconnects (see :data:`STALL_S`).
    """

    def __init__(
        self,
        host: HostSpec,
        *,
        transport: Transport | None = None,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        call_timeout_s: float = 30.0,
        backoff_first_s: float = BACKOFF_FIRST_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        retry_fast_s: float = RETRY_FAST_S,
        fast_phase_s: float = FAST_PHASE_S,
        stall_s: float = STALL_S,
    ) -> None:
        self.host = host
        self.transport: Transport = transport or SshTransport()
        self.on_change = on_change
        self.clock = clock
        self.call_timeout_s = call_timeout_s
        self.backoff_first_s = backoff_first_s
        self.backoff_max_s = backoff_max_s
        self.retry_fast_s = retry_fast_s
        self.fast_phase_s = fast_phase_s
        self.stall_s = stall_s
        self._refused = False  # the last attempt reached the host and was refused
        self._last_line = 0.0  # monotonic time of the last line received
        self._stalled = False
        self.prefix = f"{host.name}/"
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._remote: dict[str, Session] = {}  # remote key -> session as received (shifted)
        self._sessions: tuple[Session, ...] = ()
        self._health: tuple[str, ...] = ()
        self._skipped: str | None = None  # the last malformed session object's problem
        self._connected = False
        self._snapshots = 0  # snapshots received since start (one-shot readers wait for one)
        self._failures = 0  # connection attempts that ended
        self._problem: str | None = "connecting"
        self._offset_s = 0.0
        self._next_id = 0
        self._calls: dict[int, _Call] = {}
        self._stderr = b""

    # -- state ----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True between a good ``hello`` and the end of that connection."""
        with self._lock:
            return self._connected

    @property
    def sessions(self) -> tuple[Session, ...]:
        """The host's sessions (last known when the link is down), keys ``"<host>/<key>"``."""
        with self._lock:
            return self._sessions

    @property
    def problem(self) -> str | None:
        """Why the host is not live now (``"connecting"``, an ssh error ...), or ``None``."""
        with self._lock:
            return self._problem

    @property
    def transport_pid(self) -> int | None:
        """PID of the running transport process (``ssh``), or ``None`` between connections."""
        with self._lock:
            proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def remote_health(self) -> tuple[str, ...]:
        """The remote model's own problems (its ``Snapshot.messages``), untrusted text.

        Also a note when a session object the host sent was malformed and skipped.
        """
        with self._lock:
            return (*self._health, self._skipped) if self._skipped else self._health

    @property
    def clock_offset_s(self) -> float:
        """Local clock minus the host's clock at its last ``hello``, seconds."""
        with self._lock:
            return self._offset_s

    def remote_key(self, key: str) -> str:
        """The host's own key of a local ``"<host>/<key>"`` key.

        Raises:
            errors.TargetNotFound: ``key`` is not one of this host's.
        """
        if not key.startswith(self.prefix):
            raise errors.TargetNotFound(f"{key!r} is not a session of {self.host.name}")
        return key[len(self.prefix) :]

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader thread (it connects, and reconnects until :meth:`close`)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name=f"sessiontui-host-{self.host.name}", daemon=True
        )
        self._thread.start()
        threading.Thread(
            target=self._watch_stall, name=f"sessiontui-host-{self.host.name}-stall", daemon=True
        ).start()

    def _watch_stall(self) -> None:
        """End a connected transport that has sent nothing for :attr:`stall_s` seconds."""
        while not self._stop.wait(self.stall_s / 4):
            with self._lock:
                stalled = self._connected and time.monotonic() - self._last_line > self.stall_s
                if stalled:
                    self._stalled = True
            if stalled:
                self._end_process()

    def close(self) -> None:
        """Stop the thread and end the transport process (SIGTERM, then SIGKILL); idempotent."""
        self._stop.set()
        self._end_process()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        with self._lock:
            self._fail_calls("the link was closed")
            self._ready.notify_all()

    def wait_snapshot(self, timeout_s: float, *, settle_s: float = 0.0) -> bool:
        """Wait for the first snapshot, or for the first connection attempt to fail.

        Args:
            timeout_s: Seconds to wait at most.
            settle_s: Then also wait until no line has come for this long (a snapshot too
                large for one line continues in ``change`` lines), within ``timeout_s``.

        Returns:
            True when a snapshot arrived (``sessions`` is the host's), False otherwise
            (see :attr:`problem`).
        """
        deadline = time.monotonic() + timeout_s
        with self._ready:
            while not self._snapshots and not self._failures and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._ready.wait(left)
            got = self._snapshots > 0
        while got and settle_s > 0:
            with self._lock:
                quiet = time.monotonic() - self._last_line
            if quiet >= settle_s or time.monotonic() >= deadline or not self.connected:
                break
            time.sleep(min(settle_s - quiet, max(0.0, deadline - time.monotonic())))
        return got

    def kill_transport(self) -> None:
        """End the current transport process (the link reconnects with backoff); for tests."""
        self._end_process()

    # -- calls ----------------------------------------------------------------------------

    def call(
        self,
        verb: str,
        key: str,
        args: Mapping[str, object] | None = None,
        *,
        timeout_s: float | None = None,
    ) -> dict[str, object]:
        """Ask the host to run ``verb`` on the session ``key`` and wait for the result.

        Args:
            verb: One of :data:`sessiontui.remote.protocol.VERBS`.
            key: The local key (``"<host>/<key>"``).
            args: The verb's arguments.
            timeout_s: Seconds to wait (default :attr:`call_timeout_s`).

        Returns:
            The ``result`` message (``ok`` true) with the verb's payload.

        Raises:
            HostUnreachable: The link is down, or it dropped or timed out before the result.
            SessiontuiError: The host answered with an error: the subclass of
                :mod:`sessiontui.errors` it names (unknown names give the base class).
        """
        remote = self.remote_key(key)
        with self._lock:
            proc = self._proc
            if not self._connected or proc is None or proc.stdin is None:
                raise HostUnreachable(f"{self.host.name}: {self._problem or 'not connected'}")
            self._next_id += 1
            call_id = self._next_id
            pending = _Call()
            self._calls[call_id] = pending
        try:
            line = protocol.encode(protocol.call(call_id, verb, remote, args))
            try:
                with self._write_lock:
                    proc.stdin.write(line)
                    proc.stdin.flush()
            except (OSError, ValueError):
                raise HostUnreachable(f"{self.host.name}: the link dropped") from None
            wait = self.call_timeout_s if timeout_s is None else timeout_s
            if not pending.done.wait(wait):
                raise HostUnreachable(f"{self.host.name}: no answer to {verb} within {wait:g} s")
        finally:
            with self._lock:
                self._calls.pop(call_id, None)
        result = pending.result
        if result is None:
            raise HostUnreachable(f"{self.host.name}: the link dropped before {verb} answered")
        if result.get("ok") is True:
            return result
        name = result.get("error")
        message = result.get("message")
        text = message if isinstance(message, str) else str(name)
        raise protocol.error_class(name)(f"{self.host.name}: {text}")

    # -- reader thread --------------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.0
        down_since = time.monotonic()
        while not self._stop.is_set():
            good = self._connect_once()
            if good:  # the outage starts now; the schedule starts over
                delay = 0.0
                down_since = time.monotonic()
            delay = next_retry_delay(
                delay,
                time.monotonic() - down_since,
                refused=self._refused and not good,
                first_s=self.backoff_first_s,
                fast_s=self.retry_fast_s,
                fast_phase_s=self.fast_phase_s,
                max_s=self.backoff_max_s,
            )
            if self._stop.wait(delay):
                break

    def _connect_once(self) -> bool:
        """One connection, read to its end. Returns True when its ``hello`` was good."""
        good = False
        refused = False
        reason = "the link closed"
        try:
            proc = subprocess.Popen(
                self.transport.serve_argv(self.host),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(self.transport.env) if self.transport.env is not None else None,
                start_new_session=True,  # ctrl+c in our terminal is not the link's
            )
        except OSError as error:
            self._set_down(f"cannot run {self.transport.serve_argv(self.host)[0]}: {error}")
            return False
        with self._lock:
            self._proc = proc
            self._stderr = b""
            self._stalled = False
            self._last_line = time.monotonic()
        stderr_thread = threading.Thread(target=self._drain_stderr, args=(proc,), daemon=True)
        stderr_thread.start()
        assert proc.stdout is not None
        try:
            first = True
            while not self._stop.is_set():
                line = proc.stdout.readline(protocol.MAX_LINE_BYTES + 1)
                if not line:
                    break
                with self._lock:
                    self._last_line = time.monotonic()
                message = protocol.decode(line)
                if first:
                    self._hello(message)
                    good = True
                    first = False
                    continue
                self._handle(message)
        except ProtocolError as error:
            reason = f"protocol error: {error}"
            refused = True  # another version, or garbage: not fixed by retrying at once
        except (OSError, ValueError) as error:
            reason = f"link error: {error}"
        finally:
            self._end_process()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError, ValueError):
                        stream.close()
            stderr_thread.join(timeout=2.0)
        with self._lock:
            tail = self._stderr.decode("utf-8", "replace").strip().splitlines()
            if self._stalled:
                reason = f"no message for {self.stall_s:g} s"
        if tail and reason == "the link closed":
            reason = tail[-1][:200]
        if proc.returncode not in (None, 0) and reason == "the link closed":
            reason = f"the link ended (exit status {proc.returncode})"
        # The remote command ran and failed (ssh passes its exit status on; 255 is ssh's
        # own), or sshd turned us away: the host is up, so waiting seconds will not help.
        refused = refused or (proc.returncode is not None and 0 < proc.returncode < 255)
        refused = refused or any(p in line for line in tail for p in _REFUSED_BY_HOST)
        self._refused = refused
        self._set_down(reason)
        return good

    def _drain_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        """Keep the tail of the transport's stderr (ssh's own errors) for :attr:`problem`."""
        stream: IO[bytes] | None = proc.stderr
        if stream is None:
            return
        with contextlib.suppress(OSError, ValueError):
            fd = stream.fileno()
            while chunk := os.read(fd, 4096):
                with self._lock:
                    self._stderr = (self._stderr + chunk)[-_STDERR_KEEP:]
        with contextlib.suppress(OSError):
            stream.close()

    def _hello(self, message: dict[str, object]) -> None:
        """Check the first line: ``{"t":"hello","v":1,"clock":...}``; note the clock offset.

        Raises:
            ProtocolError: Not a hello, another protocol version, or no usable clock.
        """
        if message.get("t") != "hello":
            raise ProtocolError(f"expected a hello, got {message.get('t')!r}")
        version = message.get("v")
        if version != protocol.PROTOCOL_VERSION:
            raise ProtocolError(
                f"the host speaks protocol version {version!r}; this sessiontui speaks "
                f"{protocol.PROTOCOL_VERSION} (update one of them)"
            )
        remote_clock = message.get("clock")
        if isinstance(remote_clock, bool) or not isinstance(remote_clock, int | float):
            raise ProtocolError("the hello has no numeric clock")
        with self._lock:
            self._offset_s = self.clock() - float(remote_clock)
            self._connected = True

    def _handle(self, message: dict[str, object]) -> None:
        kind = message.get("t")
        if kind == "result":
            call_id = message.get("id")
            with self._lock:
                pending = self._calls.get(call_id) if isinstance(call_id, int) else None
            if pending is not None:
                pending.result = message
                pending.done.set()
            return
        if kind == "snapshot":
            sessions = self._sessions_of(message.get("sessions"))
            with self._lock:
                self._remote = {s.key: s for s in sessions}
                self._health = _strings(message.get("health"))
                self._problem = None
                self._snapshots += 1
                self._publish_locked()
                self._ready.notify_all()
        elif kind == "change":
            upsert = self._sessions_of(message.get("upsert", []))
            removed = message.get("remove", [])
            if not isinstance(removed, list):
                raise ProtocolError('"remove" must be a list of keys')
            with self._lock:
                for session in upsert:
                    self._remote[session.key] = session
                for key in removed:
                    if isinstance(key, str):
                        self._remote.pop(self.prefix + key, None)
                if "health" in message:
                    self._health = _strings(message.get("health"))
                self._publish_locked()
        else:
            return  # ping, error notices and newer message types change nothing here
        if self.on_change is not None:
            self.on_change()

    def _sessions_of(self, objects: object) -> list[Session]:
        """Decode session objects; shift their times into the local clock.

        Raises:
            ProtocolError: Not a list, or a malformed session object.
        """
        if not isinstance(objects, list):
            raise ProtocolError("sessions must be a list")
        with self._lock:
            offset = self._offset_s
        out = []
        for obj in objects:
            try:
                if not isinstance(obj, dict):
                    raise ProtocolError("a session must be a JSON object")
                session = session_from_json(obj, host=self.host.name, key_prefix=self.prefix)
            except (ProtocolError, ValueError) as error:
                # One bad row costs that row, not the host's other rows (nor the link).
                with self._lock:
                    self._skipped = f"a malformed session object was skipped ({error})"[:300]
                continue
            out.append(_shifted(session, offset))
        return out

    def _publish_locked(self) -> None:
        """Rebuild :attr:`sessions` from the received ones (caller holds the lock)."""
        down = not self._connected
        self._sessions = tuple(
            with_changes(s, health=UNREACHABLE) if down else s for s in self._remote.values()
        )

    def _set_down(self, reason: str) -> None:
        with self._lock:
            changed = self._connected or self._problem != reason
            self._connected = False
            self._problem = reason
            self._failures += 1
            self._fail_calls(reason)
            self._publish_locked()
            self._ready.notify_all()
        if changed and self.on_change is not None and not self._stop.is_set():
            self.on_change()

    def _fail_calls(self, reason: str) -> None:
        """Wake every waiting call with no result (caller holds the lock)."""
        del reason
        for pending in self._calls.values():
            pending.done.set()

    def _end_process(self) -> None:
        with self._lock:
            proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            # The transport leads a process group of its own (start_new_session): signal the
            # group, so a shell's child holding the pipe ends with it.
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=2.0)
        else:
            _signal_group(proc, signal.SIGTERM)  # what it left behind in its group


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    """Send ``signum`` to the process group ``proc`` leads (nothing if it is gone)."""
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signum)


def _strings(value: object) -> tuple[str, ...]:
    """The strings of a JSON list (anything else is dropped)."""
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def _shifted(session: Session, offset_s: float) -> Session:
    """``session`` with its times moved from the host's clock to ours."""
    if not offset_s:
        return session

    def move(value: float | None) -> float | None:
        return None if value is None else value + offset_s

    return with_changes(
        session,
        started_at=move(session.started_at),
        updated_at=move(session.updated_at),
        status_changed_at=move(session.status_changed_at),
        last_activity_at=move(session.last_activity_at),
    )
