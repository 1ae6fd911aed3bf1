"""``sessiontui serve --stdio``: this host's model spoken over JSON lines (SPEC 2.7).

:func:`serve` writes a ``hello``, a full ``snapshot`` and then a ``change`` for every change
the service publishes, and a ``ping`` every few seconds; it answers each ``call`` read from
stdin with one ``result``. Only :data:`~sessiontui.remote.protocol.VERBS` are dispatched, each
to the one :class:`~sessiontui.model.service.SessionService` method it names, with arguments
of checked types: nothing a client sends is ever run as a command or handed to a shell.

Threads: the caller's thread writes changes and pings; one reader thread reads stdin; calls
run on a small pool (a ``kill`` waits out its grace period without holding up a ``preview``).
Every line goes out whole under one lock, flushed at once.
"""

from __future__ import annotations

import math
import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from sessiontui.errors import NotApplicable, ProtocolError, SessiontuiError
from sessiontui.model.wire import session_json
from sessiontui.remote import protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import BinaryIO

    from sessiontui.model.service import SessionService
    from sessiontui.model.types import Session, Snapshot, SnapshotChange

__all__ = ["MAX_PREVIEW_LINES", "serve"]

#: The most pane lines a ``preview`` call may ask for.
MAX_PREVIEW_LINES = 2000

#: The longest grace period (seconds) a ``kill`` call may ask for.
_MAX_GRACE_S = 60.0

#: Strings longer than this are cut in a session object that would not fit on one line.
_CUT_TEXT_CHARS = 4096

#: A session object longer than this (bytes) has its long strings cut.
_FIT_BYTES = protocol.MAX_LINE_BYTES // 4

#: Calls running at once; more wait their turn.
_CALL_WORKERS = 4


def serve(
    service: SessionService,
    stdin: BinaryIO,
    stdout: BinaryIO,
    *,
    host: str,
    ping_s: float = 10.0,
    clock: Callable[[], float] = time.time,
) -> int:
    """Serve ``service`` on a pair of byte streams until ``stdin`` ends.

    The service is refreshed, subscribed to and started here, and closed before returning
    (its threads and children end with it).

    Args:
        service: The model of this host, not started yet (closed on return). A started one
            works too, but a change published while the snapshot is read may then briefly
            send a row's older state before its newer one.
        stdin: Where calls arrive, one JSON line each.
        stdout: Where messages go; a write that fails (the client left) ends serving.
        host: The name announced in the ``hello`` (``socket.gethostname()``).
        ping_s: Seconds between pings (sent whatever else is sent, so a client can time out
            a silent link).
        clock: Wall clock announced in the ``hello``, seconds since the epoch.

    Returns:
        0 when ``stdin`` closed (or ``stdout`` did).
    """
    server = _Server(service, stdout)
    return server.run(stdin, host=host, ping_s=ping_s, clock=clock)


class _LinkClosed(Exception):
    """``stdout`` can no longer be written: the client went away."""


class _Server:
    """The state of one ``serve`` run: the writer lock, what was last sent, the call pool."""

    def __init__(self, service: SessionService, stdout: BinaryIO) -> None:
        self.service = service
        self.stdout = stdout
        self._write_lock = threading.Lock()
        self._changes: queue.SimpleQueue[SnapshotChange | None] = queue.SimpleQueue()
        self._sent: dict[str, dict[str, object]] = {}
        self._health: tuple[str, ...] = ()
        self._done = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=_CALL_WORKERS, thread_name_prefix="serve-call")

    # -- the main loop ------------------------------------------------------------------

    def run(self, stdin: BinaryIO, *, host: str, ping_s: float, clock: Callable[[], float]) -> int:
        service = self.service
        reader = threading.Thread(
            target=self._read_calls, args=(stdin,), name="serve-reader", daemon=True
        )
        try:
            service.refresh()
            service.subscribe(self._changes.put)
            self._send(protocol.hello(host, clock()))
            self._send_snapshot(service.snapshot)
            service.start()  # armed when this returns: a write made since the first read
            service.request_rescan(poll_tmux=True)  # is found by this rescan
            reader.start()
            next_ping = time.monotonic() + ping_s
            while not self._done.is_set():
                try:
                    change = self._changes.get(timeout=max(0.0, next_ping - time.monotonic()))
                except queue.Empty:
                    change = None
                if change is not None:
                    self._send_change(change)
                if time.monotonic() >= next_ping:
                    self._send(protocol.ping())
                    next_ping = time.monotonic() + ping_s
        except _LinkClosed:
            pass
        finally:
            self._done.set()
            service.unsubscribe(self._changes.put)
            self._pool.shutdown(wait=False, cancel_futures=True)
            service.close()
        return 0

    def _stop(self) -> None:
        self._done.set()
        self._changes.put(None)  # wake the main loop now

    # -- writing ------------------------------------------------------------------------

    def _send(self, message: Mapping[str, object]) -> None:
        """Write one message as one line and flush it.

        Raises:
            _LinkClosed: stdout is closed.
        """
        data = protocol.encode(message)
        with self._write_lock:
            try:
                self.stdout.write(data)
                self.stdout.flush()
            except (OSError, ValueError) as error:  # ValueError: the stream was closed
                self._stop()
                raise _LinkClosed from error

    def _encode_session(self, session: Session) -> dict[str, object]:
        """The session's object; its long strings cut when it would not fit on a line."""
        encoded = session_json(session)
        try:
            fits = len(protocol.encode(encoded)) <= _FIT_BYTES
        except ValueError:
            fits = False
        if not fits:
            # A name or prompt of a megabyte (untrusted files): cut, so the row still shows.
            cut = _cut_strings(encoded)
            assert isinstance(cut, dict)
            encoded = cut
        return encoded

    def _send_snapshot(self, snapshot: Snapshot) -> None:
        """The ``snapshot`` message; sessions that do not fit on its line follow as changes."""
        encoded = [self._encode_session(s) for s in snapshot.sessions]
        for session, obj in zip(snapshot.sessions, encoded, strict=True):
            self._sent[session.key] = obj
        self._health = snapshot.messages
        first, rest = _split_to_fit(encoded, protocol.snapshot([], snapshot.messages))
        self._send(protocol.snapshot(first, snapshot.messages))
        while rest:
            batch, rest = _split_to_fit(rest, protocol.change([], [], None))
            self._send(protocol.change(batch, [], None))

    def _send_change(self, change: SnapshotChange) -> None:
        """A ``change`` with only what differs from what the client was sent."""
        snapshot = change.snapshot
        touched = change.added | change.changed
        upsert: list[dict[str, object]] = []
        for session in snapshot.sessions:
            if session.key not in touched:
                continue
            encoded = self._encode_session(session)
            if self._sent.get(session.key) != encoded:
                self._sent[session.key] = encoded
                upsert.append(encoded)
        remove = sorted(key for key in change.removed if self._sent.pop(key, None) is not None)
        health: tuple[str, ...] | None = None
        if snapshot.messages != self._health:
            health = self._health = snapshot.messages
        if not (upsert or remove or health is not None):
            return
        batch, rest = _split_to_fit(upsert, protocol.change([], remove, health))
        self._send(protocol.change(batch, remove, health))
        while rest:
            batch, rest = _split_to_fit(rest, protocol.change([], [], None))
            self._send(protocol.change(batch, [], None))

    # -- reading and calls --------------------------------------------------------------

    def _read_calls(self, stdin: BinaryIO) -> None:
        """Read calls until stdin ends (the reader thread); then stop serving."""
        try:
            while not self._done.is_set():
                line = stdin.readline(protocol.MAX_LINE_BYTES + 1)
                if not line:
                    break
                if len(line) > protocol.MAX_LINE_BYTES and not line.endswith(b"\n"):
                    ended = not _skip_line(stdin)
                    self._notice("ProtocolError", "a line over the size limit was refused")
                    if ended:
                        break
                    continue
                if not line.strip():
                    continue
                self._on_line(line)
        except _LinkClosed:
            pass
        except Exception as error:  # a reader that dies would leave the client hanging
            print(f"sessiontui serve: reader failed: {error!r}", file=sys.stderr)
        finally:
            self._stop()

    def _notice(self, error: str, message: str) -> None:
        self._send(protocol.error_notice(error, message))

    def _on_line(self, line: bytes) -> None:
        """Check one line and start its call, or answer why not."""
        try:
            message = protocol.decode(line)
        except ProtocolError as error:
            self._notice("ProtocolError", str(error))
            return
        call_id = message.get("id")
        if isinstance(call_id, bool) or not isinstance(call_id, int):
            self._notice("ProtocolError", 'a call needs an integer "id"')
            return
        try:
            verb, key, args = _check_call(message)
        except ProtocolError as error:
            self._send(protocol.error_result(call_id, "ProtocolError", str(error)))
            return
        try:
            self._pool.submit(self._answer, call_id, verb, key, args)
        except RuntimeError:  # the pool was shut down: serving ends
            return

    def _answer(self, call_id: int, verb: str, key: str, args: Mapping[str, object]) -> None:
        """Run one call on the pool and send its result (or its typed error)."""
        try:
            payload = _dispatch(self.service, verb, key, args)
            message = protocol.ok_result(call_id, **payload)
        except SessiontuiError as error:
            message = protocol.error_result(call_id, type(error).__name__, str(error))
        except Exception as error:  # never let one call end serving
            print(f"sessiontui serve: {verb} failed: {error!r}", file=sys.stderr)
            message = protocol.error_result(
                call_id, "SessiontuiError", f"{verb} failed on the host: {error}"
            )
        try:
            try:
                self._send(message)
            except ValueError:  # a payload over the line limit (a huge preview)
                self._send(
                    protocol.error_result(call_id, "SessiontuiError", "the answer is too large")
                )
        except _LinkClosed:
            pass


def _check_call(message: Mapping[str, object]) -> tuple[str, str, Mapping[str, object]]:
    """``(verb, key, args)`` of a ``call`` message whose fields have the right types.

    Raises:
        ProtocolError: Not a call, an unknown verb, or a field of the wrong type.
    """
    if message.get("t") != "call":
        raise ProtocolError(f"unexpected message type {str(message.get('t'))[:40]!r}")
    verb = message.get("verb")
    if not isinstance(verb, str) or verb not in protocol.VERBS:
        raise ProtocolError(f"unknown verb {str(verb)[:40]!r}")
    key = message.get("key")
    if not isinstance(key, str):
        raise ProtocolError('a call needs a string "key"')
    args = message.get("args", {})
    if not isinstance(args, dict):
        raise ProtocolError('"args" must be an object')
    return verb, key, args


def _dispatch(
    service: SessionService, verb: str, key: str, args: Mapping[str, object]
) -> dict[str, object]:
    """Run one listed verb on the service; its JSON-safe result payload.

    Raises:
        ProtocolError: An argument has the wrong type or range.
        SessiontuiError: What the service raised.
    """
    if verb == "attach_plan":
        plan = service.attach(key)
        if plan.switched or not plan.argv:
            raise NotApplicable("the host has no command to attach to this session")
        return {"argv": list(plan.argv)}
    if verb == "detach":
        return {"detached": service.detach(key)}
    if verb == "rename":
        service.rename(key, _text(args, "name"))
        return {}
    if verb == "kill":
        grace_s = _number(args, "grace_s", 0.0, _MAX_GRACE_S)
        delete_data = args.get("delete_data", False)
        if not isinstance(delete_data, bool):
            raise ProtocolError('"delete_data" must be true or false')
        report = service.kill(key, grace_s=grace_s, delete_data=delete_data)
        return {
            "pid": report.pid,
            "terminated": list(report.terminated),
            "killed": list(report.killed),
            "already_gone": report.already_gone,
        }
    if verb == "dismiss":
        service.dismiss(key)
        return {}
    if verb == "send":
        service.send(key, _text(args, "text"))
        return {}
    if verb in ("approve", "deny"):
        answer = service.approve(key) if verb == "approve" else service.deny(key)
        return {
            "approved": answer.approved,
            "option": {"number": answer.option.number, "label": answer.option.label},
            "question": answer.question,
        }
    if verb == "interrupt":
        return {"stopped": service.interrupt(key)}
    if verb == "preview":
        lines = args.get("lines", 40)
        if isinstance(lines, bool) or not isinstance(lines, int):
            raise ProtocolError('"lines" must be an integer')
        if not 1 <= lines <= MAX_PREVIEW_LINES:
            raise ProtocolError(f'"lines" must be 1 to {MAX_PREVIEW_LINES}')
        return {"text": service.preview(key, lines)}
    raise ProtocolError(f"unknown verb {verb!r}")  # VERBS and this table disagree


def _text(args: Mapping[str, object], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str):
        raise ProtocolError(f'"{name}" must be a string')
    return value


def _number(args: Mapping[str, object], name: str, low: float, high: float) -> float | None:
    value = args.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f'"{name}" must be a number')
    if not (math.isfinite(value) and low <= value <= high):
        raise ProtocolError(f'"{name}" must be {low:g} to {high:g}')
    return float(value)


def _skip_line(stdin: BinaryIO) -> bool:
    """Read and drop the rest of an oversized line; False when stdin ended first."""
    while True:
        chunk = stdin.readline(protocol.MAX_LINE_BYTES)
        if not chunk:
            return False
        if chunk.endswith(b"\n"):
            return True


def _cut_strings(value: object) -> object:
    """``value`` with every string longer than :data:`_CUT_TEXT_CHARS` cut, with an ellipsis."""
    if isinstance(value, str):
        return value if len(value) <= _CUT_TEXT_CHARS else value[:_CUT_TEXT_CHARS] + "…"
    if isinstance(value, dict):
        return {k: _cut_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_strings(v) for v in value]
    return value


def _split_to_fit(
    items: Iterable[dict[str, object]], envelope: Mapping[str, object]
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The items that fit in one line with ``envelope``, and the rest (at least one goes)."""
    budget = protocol.MAX_LINE_BYTES - len(protocol.encode(envelope)) - 16
    listed = list(items)
    used = 0
    for index, item in enumerate(listed):
        used += len(protocol.encode(item))  # its newline stands for its comma
        if index and used > budget:
            return listed[:index], listed[index:]
    return listed, []
