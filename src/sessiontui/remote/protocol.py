"""The JSON-lines protocol between sessiontui and ``sessiontui serve --stdio`` (SPEC 2.7).

One UTF-8 JSON object per line, at most :data:`MAX_LINE_BYTES` bytes with its newline.
Server to client: ``hello``, ``snapshot``, ``change``, ``ping``, ``result`` and ``error``
(a notice about a line that had no call id); client to server: ``call``. Session objects are
the ``ls --json`` objects of :func:`sessiontui.model.wire.session_json`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sessiontui import errors
from sessiontui.errors import ProtocolError, SessiontuiError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "MAX_LINE_BYTES",
    "PROTOCOL_VERSION",
    "VERBS",
    "ProtocolError",
    "call",
    "change",
    "decode",
    "encode",
    "error_class",
    "error_notice",
    "error_result",
    "hello",
    "ok_result",
    "ping",
    "snapshot",
]

#: The version a ``hello`` announces; a client refuses a server with another one.
PROTOCOL_VERSION = 1

#: The longest line either side sends or accepts, in bytes, newline included (1 MiB).
MAX_LINE_BYTES = 1 << 20

#: The only verbs a ``call`` may name; each maps onto one :class:`SessionService` verb.
VERBS: frozenset[str] = frozenset(
    {
        "attach_plan",
        "detach",
        "rename",
        "kill",
        "dismiss",
        "send",
        "approve",
        "deny",
        "interrupt",
        "preview",
    }
)


#: Line breaks for ``str.splitlines`` that JSON leaves raw (they occur only inside strings).
_LINE_BREAKS = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}


def encode(obj: Mapping[str, object]) -> bytes:
    r"""One protocol line: compact JSON (non-ASCII kept as UTF-8) and a newline.

    A lone surrogate in a string (a file name that was not UTF-8) is written as its JSON
    escape (``\\udc80``), so the line stays valid UTF-8 and reads back to the same string;
    so are NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR (a text reader's line breaks).

    Args:
        obj: A JSON-safe object (no NaN or infinity).

    Returns:
        The line, at most :data:`MAX_LINE_BYTES` bytes.

    Raises:
        ValueError: The object is not JSON-safe, or its line is over the limit.
    """
    line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # Characters str.splitlines() breaks at are escaped too, so text-mode readers agree.
    line = line.translate(_LINE_BREAKS)
    # Surrogates occur only inside JSON strings, where Python's escape is JSON's own.
    data = line.encode("utf-8", errors="backslashreplace") + b"\n"
    if len(data) > MAX_LINE_BYTES:
        raise ValueError(f"a protocol line of {len(data)} bytes is over {MAX_LINE_BYTES}")
    return data


def _reject_constant(name: str) -> object:
    raise ProtocolError(f"{name} is not valid JSON")


def decode(line: bytes) -> dict[str, object]:
    """The object of one received line (its trailing newline may be present).

    Args:
        line: The raw bytes of the line.

    Returns:
        The decoded JSON object, with a string ``t`` (the message type).

    Raises:
        ProtocolError: The line is over :data:`MAX_LINE_BYTES`, not UTF-8, not JSON (NaN and
            infinities included), nested too deep, not an object, or has no string ``t``.
    """
    if len(line) > MAX_LINE_BYTES:
        raise ProtocolError(f"a line of {len(line)} bytes is over the limit of {MAX_LINE_BYTES}")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("a line is not UTF-8") from None
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ProtocolError("a line is nested too deep") from None
    except ValueError as error:
        raise ProtocolError(f"a line is not JSON ({error})") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"a line must be a JSON object, not {type(obj).__name__}")
    if not isinstance(obj.get("t"), str):
        raise ProtocolError('a message must have a string "t"')
    return obj


def hello(host: str, clock: float) -> dict[str, object]:
    """``{"t":"hello","v":1,"host":..,"clock":..}``: the first line a server sends.

    Args:
        host: The server's host name.
        clock: Its wall clock, seconds since the epoch (the client derives a clock offset).
    """
    return {"t": "hello", "v": PROTOCOL_VERSION, "host": host, "clock": clock}


def snapshot(sessions: Iterable[Mapping[str, object]], health: Iterable[str]) -> dict[str, object]:
    """``{"t":"snapshot","sessions":[...],"health":[...]}``: the whole model, once.

    Args:
        sessions: ``session_json`` objects.
        health: The model's problems (``Snapshot.messages``), human-readable text.
    """
    return {"t": "snapshot", "sessions": list(sessions), "health": list(health)}


def change(
    upsert: Iterable[Mapping[str, object]],
    remove: Iterable[str],
    health: Iterable[str] | None,
) -> dict[str, object]:
    """``{"t":"change","upsert":[...],"remove":[keys],"health":[...]}``: what changed.

    Args:
        upsert: ``session_json`` objects of new or changed sessions.
        remove: Keys of sessions that are gone.
        health: The new list of problems, or ``None`` (the key is left out) when unchanged.
    """
    out: dict[str, object] = {"t": "change", "upsert": list(upsert), "remove": list(remove)}
    if health is not None:
        out["health"] = list(health)
    return out


def ping() -> dict[str, object]:
    """``{"t":"ping"}``: sent every few seconds so a client notices a dead link."""
    return {"t": "ping"}


def call(
    call_id: int, verb: str, key: str, args: Mapping[str, object] | None = None
) -> dict[str, object]:
    """``{"t":"call","id":N,"verb":V,"key":K,"args":{...}}``: a client's request.

    Args:
        call_id: The client's number for the call, echoed in its result.
        verb: One of :data:`VERBS`.
        key: The session's key on the server (without the client's host prefix).
        args: The verb's arguments (e.g. ``{"name": ...}`` for ``rename``).

    Raises:
        ValueError: ``verb`` is not one of :data:`VERBS`.
    """
    if verb not in VERBS:
        raise ValueError(f"unknown verb {verb!r}")
    return {"t": "call", "id": call_id, "verb": verb, "key": key, "args": dict(args or {})}


def ok_result(call_id: int, **payload: object) -> dict[str, object]:
    """``{"t":"result","id":N,"ok":true,...}`` with the verb's JSON-safe payload."""
    return {"t": "result", "id": call_id, "ok": True, **payload}


def error_result(call_id: int, error: str, message: str) -> dict[str, object]:
    """``{"t":"result","id":N,"ok":false,"error":..,"message":..}``: a call failed.

    Args:
        call_id: The call's id.
        error: The name of the :class:`~sessiontui.errors.SessiontuiError` subclass.
        message: The user-facing message.
    """
    return {"t": "result", "id": call_id, "ok": False, "error": error, "message": message}


def error_notice(error: str, message: str) -> dict[str, object]:
    """``{"t":"error","error":..,"message":..}``: a line was refused and had no call id."""
    return {"t": "error", "error": error, "message": message}


def error_class(name: object) -> type[SessiontuiError]:
    """The exception class a failed ``result`` names, for the client to raise again.

    Args:
        name: The result's ``error`` field (untrusted).

    Returns:
        The :class:`~sessiontui.errors.SessiontuiError` subclass of that name in
        :mod:`sessiontui.errors`; :class:`~sessiontui.errors.SessiontuiError` itself for any
        other name or value.
    """
    found = getattr(errors, name, None) if isinstance(name, str) else None
    if isinstance(found, type) and issubclass(found, SessiontuiError):
        return found
    return SessiontuiError
