"""The JSON shapes sessiontui prints: one session object, and the events of ``watch``.

One encoder for every output (SPEC 6): ``ls --json`` prints a list of :func:`session_json`
objects, and each ``watch --json`` event carries the same object, so a script reads one schema.
:class:`ChangeFeed` turns the model's :class:`~sessiontui.model.types.SnapshotChange` values
into those events; :func:`event_line` gives the human-readable line for one.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sessiontui.errors import ProtocolError
from sessiontui.model.text import printable
from sessiontui.model.types import JobState, MuxLocation, Session, Status, StatusSource

if TYPE_CHECKING:
    from sessiontui.model.types import Snapshot, SnapshotChange

__all__ = [
    "QUIET_FIELDS",
    "ChangeFeed",
    "event_line",
    "iso_utc",
    "session_from_json",
    "session_json",
]

#: Fields of :func:`session_json` whose change alone is no ``changed`` event: they move on
#: every CPU sample (every 2 s) of a busy agent, every sparkline bucket, or every registry
#: heartbeat write.
QUIET_FIELDS: frozenset[str] = frozenset({"cpu_percent", "activity", "updated_at"})

#: Fields worth a line in the human-readable ``watch`` output (token counts are left out).
_NOTABLE_FIELDS: tuple[str, ...] = (
    "status",
    "waiting_for",
    "name",
    "alive",
    "mux",
    "health",
    "kind",
    "unreadable",
)


def iso_utc(seconds: float | None) -> str | None:
    """ISO-8601 UTC with milliseconds (``2026-12-01T17:14:34.000Z``) of an epoch time.

    Args:
        seconds: Seconds since the epoch, or ``None``.

    Returns:
        The text, or ``None`` for ``None`` and for times no calendar date can hold.
    """
    if seconds is None:
        return None
    with contextlib.suppress(OverflowError, OSError, ValueError):
        return (
            datetime.fromtimestamp(seconds, tz=UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
    return None


def session_json(session: Session) -> dict[str, object]:
    """The JSON object for one session: stable keys, ``None`` where unknown (SPEC 6).

    Names, paths and other text are the sources' own strings (untrusted, unescaped: JSON
    escapes control characters itself). :func:`session_from_json` reads it back.

    Args:
        session: The session.

    Returns:
        A dict of JSON values: ``pid``, ``session_id``, ``name``, ``status``, ``waiting_for``,
        ``kind``, ``agent``, ``cwd``, ``started_at`` (ISO-8601 UTC), ``alive``,
        ``registry_path``, ``mux`` (``None`` or ``{type, server, socket, session, session_id,
        window, pane, exited, pane_index, attached_clients, panes_in_session,
        session_kind}``), ``job_id``, ``cpu_percent``, ``unreadable``, ``health``, ``tokens``
        (``None`` or ``{output, context, context_window}``), ``model``, ``last_activity_at``,
        ``subagents``, ``parked_job_id``, ``former_names`` (a list of strings), ``job``
        (``None`` or ``{state, detail, problem, path}`` of the background job's
        ``state.json``); and, so a remote host's rows read like local ones (SPEC 2.7):
        ``key``, ``host``, ``proc_start``, ``status_source``, ``status_why``, ``updated_at``
        and ``status_changed_at`` (ISO-8601 UTC), ``activity`` (a list of numbers in
        ``[0, 1]``), ``activity_scale``, ``version``, ``last_prompt``, ``turns``,
        ``transcript_path``. Unknown registry keys (``extra``) and a job's tasks and token
        counts are not part of the schema.
    """
    mux = None
    if session.mux is not None:
        mux = {
            "type": session.mux.type,
            "server": session.mux.socket or None,
            "socket": session.mux.socket or None,
            "session": session.mux.session,
            "session_id": session.mux.session_id,
            "window": session.mux.window,
            "pane": session.mux.pane,
            "exited": session.mux.exited,
            "pane_index": session.mux.pane_index,
            "attached_clients": session.mux.attached_clients,
            "panes_in_session": session.mux.panes_in_session,
            "session_kind": session.mux.session_kind,
        }
    tokens = None
    if session.tokens_output is not None or session.context_used is not None:
        tokens = {
            "output": session.tokens_output,
            "context": session.context_used,
            "context_window": session.context_window,
        }
    job = None
    if session.job is not None:
        job = {
            "state": session.job.state,
            "detail": session.job.detail,
            "problem": session.job.problem,
            "path": str(session.job.path),
        }
    return {
        "pid": session.pid,
        "session_id": session.session_id,
        "name": session.name,
        "status": session.status.value,
        "waiting_for": session.waiting_for,
        "kind": session.kind,
        "agent": session.agent,
        "cwd": session.cwd,
        "started_at": iso_utc(session.started_at),
        "alive": session.alive,
        "registry_path": str(session.registry_path) if session.registry_path else None,
        "mux": mux,
        "job_id": session.job_id,
        "cpu_percent": session.cpu_percent,
        "unreadable": session.unreadable,
        "health": session.health,
        "tokens": tokens,
        "model": session.model,
        "last_activity_at": iso_utc(session.last_activity_at),
        "subagents": session.subagents,
        "parked_job_id": session.parked_job_id,
        "former_names": list(session.former_names),
        "job": job,
        "key": session.key,
        "host": session.host,
        "proc_start": session.proc_start,
        "status_source": session.status_source.value,
        "status_why": session.status_why,
        "updated_at": iso_utc(session.updated_at),
        "status_changed_at": iso_utc(session.status_changed_at),
        "activity": list(session.activity),
        "activity_scale": session.activity_scale,
        "version": session.version,
        "last_prompt": session.last_prompt,
        "turns": session.turns,
        "transcript_path": str(session.transcript_path) if session.transcript_path else None,
    }


def session_from_json(
    obj: Mapping[str, object], *, host: str | None = None, key_prefix: str = ""
) -> Session:
    """The :class:`Session` a :func:`session_json` object describes (its inverse).

    Strict: every field must have the type :func:`session_json` writes (a missing optional
    field is ``None``); nothing is coerced. Text stays the sender's own string (untrusted:
    render it as plain text). Times are read from ISO-8601 back to seconds since the epoch
    (millisecond precision, as written). Fields outside the schema (``extra``, a job's tasks)
    come back empty.

    Args:
        obj: One decoded session object (e.g. from a remote ``serve`` snapshot, SPEC 2.7).
        host: Set as :attr:`Session.host` (``None``: keep the object's own ``host``).
        key_prefix: Put before the object's ``key`` (a remote host's ``"<host>/"``).

    Returns:
        The session.

    Raises:
        ProtocolError: A field is missing or has the wrong type or value.
    """
    if not isinstance(obj, Mapping):
        raise ProtocolError(f"a session must be a JSON object, not {type(obj).__name__}")
    f = _Fields(obj, "session")
    mux_obj = f.mapping("mux")
    mux = None
    if mux_obj is not None:
        m = _Fields(mux_obj, "mux")
        mux = MuxLocation(
            type=m.text("type"),
            socket=m.opt_text("socket") or "",
            session_id=m.text("session_id"),
            session=m.text("session"),
            window=m.text("window"),
            pane=m.text("pane"),
            pane_index=_default(m.opt_text("pane_index"), "0"),
            attached_clients=_default(m.opt_int("attached_clients"), 0),
            panes_in_session=_default(m.opt_int("panes_in_session"), 1),
            session_kind=m.opt_text("session_kind"),
            exited=m.flag("exited"),
        )
    tokens = f.mapping("tokens")
    t = _Fields(tokens or {}, "tokens")
    job_obj = f.mapping("job")
    job = None
    if job_obj is not None:
        j = _Fields(job_obj, "job")
        job = JobState(
            path=Path(_default(j.opt_text("path"), "")),
            state=j.opt_text("state"),
            detail=j.opt_text("detail"),
            problem=j.opt_text("problem"),
        )
    try:
        status = Status(f.text("status"))
        source = StatusSource(f.opt_text("status_source") or StatusSource.NONE.value)
    except ValueError as error:
        raise ProtocolError(f"session: {error}") from None
    registry_path = f.opt_text("registry_path")
    transcript_path = f.opt_text("transcript_path")
    own_host = f.opt_text("host")
    return Session(
        key=key_prefix + f.text("key"),
        pid=f.integer("pid"),
        agent=f.text("agent"),
        name=f.text("name"),
        status=status,
        status_source=source,
        alive=f.flag("alive"),
        session_id=f.opt_text("session_id"),
        kind=f.opt_text("kind"),
        cwd=f.opt_text("cwd"),
        waiting_for=f.opt_text("waiting_for"),
        started_at=f.time("started_at"),
        updated_at=f.time("updated_at"),
        status_changed_at=f.time("status_changed_at"),
        cpu_percent=_default(f.opt_number("cpu_percent"), 0.0),
        activity=f.numbers("activity"),
        mux=mux,
        registry_path=Path(registry_path) if registry_path else None,
        version=f.opt_text("version"),
        job_id=f.opt_text("job_id"),
        unreadable=f.opt_text("unreadable"),
        proc_start=f.opt_text("proc_start"),
        health=f.opt_text("health"),
        status_why=f.opt_text("status_why"),
        activity_scale=f.opt_int("activity_scale"),
        tokens_output=t.opt_int("output"),
        context_used=t.opt_int("context"),
        context_window=t.opt_int("context_window"),
        model=f.opt_text("model"),
        last_activity_at=f.time("last_activity_at"),
        last_prompt=f.opt_text("last_prompt"),
        turns=f.opt_int("turns"),
        transcript_path=Path(transcript_path) if transcript_path else None,
        subagents=f.opt_int("subagents"),
        parked_job_id=f.opt_text("parked_job_id"),
        former_names=f.texts("former_names"),
        job=job,
        host=host if host is not None else own_host,
    )


_T = TypeVar("_T")


def _default(value: _T | None, default: _T) -> _T:
    return default if value is None else value


class _Fields:
    """Typed reads of one JSON object's fields, raising :class:`ProtocolError` on a mismatch."""

    def __init__(self, obj: Mapping[str, object], what: str) -> None:
        if not isinstance(obj, Mapping):
            raise ProtocolError(f"{what} must be a JSON object")
        self.obj = obj
        self.what = what

    def _bad(self, name: str, expected: str) -> ProtocolError:
        value = self.obj.get(name)
        return ProtocolError(f"{self.what}.{name} must be {expected}, not {type(value).__name__}")

    def text(self, name: str) -> str:
        value = self.obj.get(name)
        if not isinstance(value, str):
            raise self._bad(name, "a string")
        return value

    def opt_text(self, name: str) -> str | None:
        value = self.obj.get(name)
        if value is None or isinstance(value, str):
            return value
        raise self._bad(name, "a string or null")

    def integer(self, name: str) -> int:
        value = self.obj.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(name, "an integer")
        return value

    def opt_int(self, name: str) -> int | None:
        if self.obj.get(name) is None:
            return None
        return self.integer(name)

    def opt_number(self, name: str) -> float | None:
        value = self.obj.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._bad(name, "a number")
        if not math.isfinite(value):
            raise self._bad(name, "a finite number")
        return float(value)

    def flag(self, name: str) -> bool:
        value = self.obj.get(name, False)
        if not isinstance(value, bool):
            raise self._bad(name, "true or false")
        return value

    def time(self, name: str) -> float | None:
        text = self.opt_text(name)
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self._bad(name, "an ISO-8601 time") from None
        if moment.tzinfo is None:
            raise self._bad(name, "an ISO-8601 time with a zone")
        return moment.timestamp()

    def mapping(self, name: str) -> Mapping[str, object] | None:
        value = self.obj.get(name)
        if value is None or isinstance(value, Mapping):
            return value
        raise self._bad(name, "an object or null")

    def _list(self, name: str) -> list[object]:
        value = self.obj.get(name, [])
        if not isinstance(value, list):
            raise self._bad(name, "a list")
        return value

    def numbers(self, name: str) -> tuple[float, ...]:
        out: list[float] = []
        for item in self._list(name):
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise self._bad(name, "a list of numbers")
            if not math.isfinite(item):
                raise self._bad(name, "a list of finite numbers")
            out.append(float(item))
        return tuple(out)

    def texts(self, name: str) -> tuple[str, ...]:
        items = self._list(name)
        if not all(isinstance(item, str) for item in items):
            raise self._bad(name, "a list of strings")
        return tuple(str(item) for item in items)


class ChangeFeed:
    """Turns snapshot changes into ``watch`` events (plain dicts, ready for ``json.dumps``).

    Events, each with ``event`` and ``at`` (the snapshot's time, ISO-8601 UTC):

    - ``{"event": "added", "key", "session"}``: a session came into view;
    - ``{"event": "changed", "key", "session", "fields"}``: fields of its :func:`session_json`
      object changed since the object last printed (``fields``, sorted; a change of
      :data:`QUIET_FIELDS` alone is none);
    - ``{"event": "removed", "key", "session"}``: it left the view (``session``: last known);
    - ``{"event": "health", "problems"}``: the model's list of problems (a server unreachable
      or not running, an unreadable registry directory ...) changed; ``[]`` when all is well.

    ``key`` is the session's identity for the lifetime of its process (``Session.key``).
    Dead sessions are in view only with ``all_sessions``, or when they were seen alive: a
    session that dies is a ``changed`` event (``status`` ``dead``), never a silent removal.

    Not thread-safe: one thread feeds it.

    Args:
        all_sessions: Also show sessions that were already dead when first seen (``--all``).
    """

    def __init__(self, *, all_sessions: bool = False) -> None:
        self.all_sessions = all_sessions
        self._shown: dict[str, dict[str, object]] = {}
        self._problems: tuple[str, ...] = ()

    def start(self, snapshot: Snapshot) -> list[dict[str, object]]:
        """Events describing ``snapshot`` from scratch: one ``added`` per session in view.

        Also a ``health`` event when there are problems. Call once, before :meth:`update`.
        """
        events: list[dict[str, object]] = []
        at = iso_utc(snapshot.taken_at)
        for session in snapshot.sessions:
            if self._in_view(session):
                encoded = session_json(session)
                self._shown[session.key] = encoded
                events.append(_session_event("added", at, session.key, encoded))
        if snapshot.messages:
            self._problems = snapshot.messages
            events.append({"event": "health", "at": at, "problems": list(snapshot.messages)})
        return events

    def update(self, change: SnapshotChange) -> list[dict[str, object]]:
        """Events for one change published by the model (in snapshot order, then removals).

        Args:
            change: What the model published.

        Returns:
            The events, possibly none.
        """
        snapshot = change.snapshot
        at = iso_utc(snapshot.taken_at)
        events: list[dict[str, object]] = []
        touched = change.added | change.changed
        for session in snapshot.sessions:
            if session.key not in touched:
                continue
            before = self._shown.get(session.key)
            if before is None and not self._in_view(session):
                continue
            encoded = session_json(session)
            if before is None:
                self._shown[session.key] = encoded
                events.append(_session_event("added", at, session.key, encoded))
                continue
            # Compared with the object last printed, so ``fields`` is what the reader has not
            # seen yet (quiet changes included once something else changes too).
            fields = sorted(k for k in encoded if encoded[k] != before.get(k))
            if any(field not in QUIET_FIELDS for field in fields):
                self._shown[session.key] = encoded
                event = _session_event("changed", at, session.key, encoded)
                event["fields"] = fields
                events.append(event)
        for key in sorted(change.removed):
            last = self._shown.pop(key, None)
            if last is not None:
                events.append(_session_event("removed", at, key, last))
        if snapshot.messages != self._problems:
            self._problems = snapshot.messages
            events.append({"event": "health", "at": at, "problems": list(snapshot.messages)})
        return events

    def _in_view(self, session: Session) -> bool:
        return self.all_sessions or session.alive


def _session_event(
    kind: str, at: str | None, key: str, encoded: dict[str, object]
) -> dict[str, object]:
    return {"event": kind, "at": at, "key": key, "session": encoded}


def event_line(event: dict[str, object]) -> str | None:
    """One human-readable line for a :class:`ChangeFeed` event, or ``None`` to print nothing.

    Untrusted text (names, places, messages) is made printable; a ``changed`` event whose
    fields are all uninteresting to a reader (token counts, last activity) prints nothing.

    >>> event_line({"event": "health", "at": "2026-12-01T17:14:34.000Z", "problems": []})
    '17:14:34 health  all sources answer'
    """
    at = str(event.get("at") or "")
    clock = at[11:19] if len(at) >= 19 else at
    kind = str(event.get("event"))
    if kind == "health":
        problems = event.get("problems")
        listed = [str(p) for p in problems] if isinstance(problems, list) else []
        text = "; ".join(printable(p) for p in listed) or "all sources answer"
        return f"{clock} health  {text}"
    session = event.get("session")
    if not isinstance(session, dict):
        return None
    if kind == "changed":
        fields = event.get("fields")
        notable = [f for f in _NOTABLE_FIELDS if isinstance(fields, list) and f in fields]
        if not notable:
            return None
        detail = ", ".join(dict.fromkeys(_describe_field(f, session) for f in notable))
        return f"{clock} changed {_who(session)}: {detail}"
    if kind in ("added", "removed"):
        return f"{clock} {kind:<7} {_who(session)}  {_status_text(session)}"
    return None


def _who(session: dict[str, object]) -> str:
    """``name (agent pid N, where)`` of an encoded session, made printable."""
    name = printable(str(session.get("name") or ""), max_len=60)
    where = _where(session.get("mux"))
    place = f", {where}" if where else ""
    return f"{name} ({session.get('agent')} pid {session.get('pid')}{place})"


def _where(mux: object) -> str:
    if not isinstance(mux, dict):
        return ""
    return printable(f"{mux.get('type')}:{mux.get('session')}:{mux.get('window')}")


def _status_text(session: dict[str, object]) -> str:
    status = str(session.get("status"))
    waiting_for = session.get("waiting_for")
    return f"{status} ({printable(str(waiting_for))})" if waiting_for else status


def _describe_field(field: str, session: dict[str, object]) -> str:
    if field in ("status", "waiting_for"):
        return f"status {_status_text(session)}"
    if field == "mux":
        return f"where {_where(session.get('mux')) or '-'}"
    value = session.get(field)
    text = "-" if value is None else printable(str(value), max_len=60)
    return f"{field} {text}"
