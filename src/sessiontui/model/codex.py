"""Codex CLI sessions: rollout readers, process discovery and a standalone source (SPEC 2.3).

Everything here was observed on Codex CLI 0.171.0 (npm ``@openai/codex``) unless marked
otherwise; the module never writes a file and never signals a process.

**Rollouts.** ``${CODEX_HOME:-~/.codex}/sessions/YYYY/MM/DD/rollout-<local time>-<uuid>.jsonl``,
created at a thread's first turn. One JSON object a line, ``{"timestamp", "ordinal", "type",
"payload"}``. :class:`RolloutReader` reads one incrementally (byte offsets; a first read of a big
file reads the first line and the tail only; malformed lines, unknown types and lines over
:data:`MAX_LINE_BYTES` are skipped; truncation and replacement start over) and returns immutable
:class:`RolloutFacts`.

**Thread names.** Not in the rollout: ``$CODEX_HOME/session_index.jsonl`` holds one line
``{"id", "thread_name", "updated_at"}`` per naming (the title Codex generates after the first
prompt, or the prompt itself when that fails); the last line for an id wins
(:class:`SessionIndex`). An ``event_msg`` ``thread_name_updated`` in the rollout (from Codex's
protocol, *unverified* in 0.171.0) is honoured too.

**Processes.** The npm launcher ``node …/bin/codex`` is the parent of the native TUI (an
executable named ``codex``). The TUI starts or reuses a daemon per ``CODEX_HOME``,
``<CODEX_HOME>/packages/app-server-daemon/releases/<v>/bin/codex app-server --listen unix://
--analytics-default-enabled --managed-daemon`` (plus a helper ``codex app-server daemon
pid-update-loop``), first as the TUI's children, re-parented to PID 1 when the TUI exits. The
daemon owns the threads and holds their rollouts open while their TUI is connected (idle or
not), and about 60 s more after the TUI is gone (a running turn goes on meanwhile). Its PID is
in ``<CODEX_HOME>/app-server-daemon/daemon.pid`` (JSON ``{"pid", "processStartTime",
"processIdentity": {"bootId", "startTicks"}}``), the helper's in ``daemon-updater.pid``.
:class:`ProcessScanner` tells TUIs and daemons apart by executable and argv (never by
environment: commands the agent runs inherit ``CODEX_HOME``).

**Pairing.** :func:`pair_sessions`: a TUI that holds a rollout itself (``--disable
daemon_auto_start``, or ``codex exec``) owns it. Each rollout a daemon holds goes, newest first,
to the newest unpaired TUI of the same ``CODEX_HOME`` whose cwd equals the rollout's
``session_meta.cwd`` and which started before the thread; a TUI without a rollout yet (no turn
so far) is an idle session; a live rollout left without a TUI is a background session (its turn
runs on in the daemon, or it is still loaded there); it leaves the list when the daemon unloads
the thread (~60 s after its TUI left and its turn ended), which the store should treat as the
row ending, not as a dead agent.

**How the store merges it** (:class:`CodexSource` is not wired in yet): each
:class:`CodexSession` becomes a ``Session`` with ``agent="codex"``, ``key`` =
:attr:`CodexSession.key` (``codex:<pid>:<procStart>`` for a TUI, ``codex:rollout:<thread id>``
for a background one), ``pid`` (0 for background rows, which have no process of their own),
``kind`` (``interactive``, ``exec`` or ``bg``), ``session_id`` = the thread id, ``name`` =
:attr:`CodexSession.name` (unless the names store has one), ``cwd``, ``version`` =
``cli_version``, ``started_at``, ``status`` / ``waiting_for`` / ``why`` from
:func:`codex_status` (which takes the pane title the multiplexer reports, tmux
``#{pane_title}``: ``[ . ] Action Required …`` confirms a pending approval), tokens from
:class:`RolloutFacts` (``output_tokens``, ``context_tokens``, ``context_window``), ``model``,
``last_activity_at`` and the sparkline from :meth:`RolloutFacts.activity`. The pane is found by
the TUI's PID like any agent's (``TMUX_PANE`` in its environment, or its ancestors, or its tty).
*Kill* ends :meth:`CodexSession.kill_targets`: the TUI's process tree from
:attr:`CodexSession.kill_root` (the npm launcher when there is one, else the TUI) **without** the
shared daemon, which other TUIs of the same ``CODEX_HOME`` use and which is the TUI's child while
the TUI that started it lives (so ``processes.kill_tree`` on the TUI alone would end it); a
background row has no process to kill (``kill_targets`` is empty). Watch each
``<CODEX_HOME>/sessions`` recursively for rollout appends and rescan processes on the slow timer
(:meth:`CodexSource.scan` is cheap: it reads argv once per process identity, the open files of
daemons and TUIs, and only the new bytes of each rollout).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import psutil

from sessiontui.model.jsonl_tail import JsonlTail, Oversized, TailUnreadable, parse_object
from sessiontui.model.processes import read_proc_start
from sessiontui.model.text import parse_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

#: Lines longer than this are skipped (bytes). Codex lines are usually < 64 KiB; a tool output
#: can be megabytes.
MAX_LINE_BYTES: Final = 16 * 1024 * 1024
#: A first read of a file larger than this reads only its first line and its last
#: ``TAIL_BYTES`` bytes.
TAIL_BYTES: Final = 2 * 1024 * 1024
#: The first line (``session_meta``, ~20 KiB with its base instructions) is read up to this size.
HEAD_LINE_BYTES: Final = 1024 * 1024
#: One read of a rollout consumes at most this many bytes; the next read goes on.
MAX_POLL_BYTES: Final = 64 * 1024 * 1024
#: Width of one output-token bucket, in seconds.
BUCKET_S: Final = 60.0
#: Buckets kept per rollout (a day of one-minute buckets).
MAX_BUCKETS: Final = 1440

#: ``rollout-2026-12-01T16-35-24-01a23276-0100-7152-a617-661ebd73a864.jsonl`` (local time).
ROLLOUT_NAME_RE: Final = re.compile(
    r"^rollout-(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})-([0-9A-Za-z-]{8,64})\.jsonl$"
)
#: A thread id as Codex writes it (a UUID, v7 in 0.171.0).
THREAD_ID_RE: Final = re.compile(r"^[0-9A-Za-z-]{8,64}$")
#: The TUI's pane title (OSC 0/2) while it shows an approval prompt: ``[ . ] Action Required |
#: <thread name> | <cwd basename>``; the dot alternates with ``!`` about once a second.
ACTION_REQUIRED_RE: Final = re.compile(r"^\s*\[ [.!] \] Action Required")
#: Busy titles start with a braille spinner frame (``⠋ Greet the user | proj``).
SPINNER_RE: Final = re.compile(r"^\s*[\u2800-\u28ff]")

#: ``codex`` subcommands that are not an interactive session (``exec`` is handled apart).
_OTHER_SUBCOMMANDS: Final = frozenset(
    {
        "app-server",
        "mcp",
        "mcp-server",
        "login",
        "logout",
        "completion",
        "sandbox",
        "debug",
        "apply",
        "a",
        "cloud",
        "features",
        "proto",
        "p",
        "responses-api-proxy",
        "stdio-to-uds",
        "generate-ts",
        "help",
        "update",
    }
)
#: Options of ``codex`` that take a value (so the value is not mistaken for a subcommand).
_VALUE_OPTIONS: Final = frozenset(
    {
        "-m",
        "--model",
        "-c",
        "--config",
        "-p",
        "--profile",
        "-C",
        "--cd",
        "-s",
        "--sandbox",
        "-a",
        "--ask-for-approval",
        "-i",
        "--image",
        "--enable",
        "--disable",
        "--add-dir",
        "--local-provider",
        "--remote",
    }
)


#: A rollout or index path exists but is not a readable regular file (FIFO, dir, mode 000, a
#: symbolic link), or reading it failed.
RolloutUnreadable = TailUnreadable


# --------------------------------------------------------------------------------------------
# Rollout facts


def _objects(lines: Iterable[bytes | Oversized]) -> Iterator[dict[str, Any]]:
    """The JSON objects among ``lines`` (oversized and malformed lines are skipped)."""
    for line in lines:
        if isinstance(line, bytes) and (record := parse_object(line)) is not None:
            yield record


def _int(value: object) -> int | None:
    """Return ``value`` if it is a sane non-negative int (not a bool), else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 62:
        return value
    return None


def _str(value: object, limit: int = 4096) -> str | None:
    """Return ``value`` if it is a non-empty string (cut to ``limit`` characters), else ``None``."""
    if isinstance(value, str) and value:
        return value[:limit]
    return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class PendingApproval:
    """A tool call that asks to run outside the sandbox and has no output yet (SPEC 2.3).

    Attributes:
        call_id: The call's ``call_id``.
        tool: Tool name (``exec_command``; ``exec`` for a ``custom_tool_call``).
        command: The command (``cmd`` argument), if any.
        reason: The ``justification`` the model gave (shown as "Reason:" by Codex), if any.
        since: When the call was recorded, seconds since the epoch, or ``None``.
    """

    call_id: str
    tool: str
    command: str | None = None
    reason: str | None = None
    since: float | None = None


@dataclass(frozen=True, slots=True)
class RolloutFacts:
    """What one rollout says about a Codex thread (immutable; built by :class:`RolloutReader`).

    Attributes:
        path: The rollout file.
        session_id: The thread id (``session_meta.id``, else the file name's UUID).
        cwd: ``session_meta.cwd`` (the thread's start folder).
        cli_version: ``session_meta.cli_version`` (``0.171.0``).
        originator: ``session_meta.originator`` (``codex-tui``, ``codex_exec`` …).
        source: ``session_meta.source`` (``vscode`` for TUI threads in 0.171.0, ``exec`` …).
        started_at: ``session_meta.timestamp`` (thread creation), else the file name's time,
            seconds since the epoch.
        model: The last ``turn_context.model``.
        approval_policy: The last ``turn_context.approval_policy`` (``on-request`` …).
        thread_name: A ``thread_name_updated`` event's name (the index has the usual one).
        status: ``busy`` after ``task_started``, ``idle`` after ``task_complete`` or
            ``turn_aborted``; ``None`` when the part read holds neither.
        status_changed_at: Time of that event, seconds since the epoch.
        abort_reason: ``turn_aborted.reason`` (``interrupted`` …) of the last turn, if aborted.
        pending_approval: The inferred pending approval, or ``None``.
        output_tokens: Output tokens of the thread so far (cumulative usage), 0 when unknown.
        context_tokens: Context used: the last response's ``total_tokens`` (never cumulative).
        context_window: ``model_context_window`` (258,400 for ``gpt-5-codex`` in 0.171.0).
        turns: Turns started in the part read.
        last_prompt: The last user prompt (plain text, first line, at most 200 characters).
        last_activity_at: The newest record's ``timestamp``, seconds since the epoch.
        output_buckets: ``(bucket start in seconds since the epoch, output tokens)`` pairs,
            oldest first, buckets :data:`BUCKET_S` wide.
        partial: True when only the file's tail was read (totals may miss early turns).
    """

    path: Path
    session_id: str | None = None
    cwd: str | None = None
    cli_version: str | None = None
    originator: str | None = None
    source: str | None = None
    started_at: float | None = None
    model: str | None = None
    approval_policy: str | None = None
    thread_name: str | None = None
    status: str | None = None
    status_changed_at: float | None = None
    abort_reason: str | None = None
    pending_approval: PendingApproval | None = None
    output_tokens: int = 0
    context_tokens: int | None = None
    context_window: int | None = None
    turns: int = 0
    last_prompt: str | None = None
    last_activity_at: float | None = None
    output_buckets: tuple[tuple[float, int], ...] = ()
    partial: bool = False

    def activity(
        self, now: float, *, window_s: float = 1800.0, buckets: int = 30
    ) -> tuple[int, ...]:
        """Return output tokens per bucket over the last ``window_s`` seconds, oldest first.

        Args:
            now: The current time, seconds since the epoch.
            window_s: Width of the whole window, in seconds.
            buckets: Number of values returned.

        Returns:
            ``buckets`` token counts (the sparkline's data; scale them for display).
        """
        if buckets <= 0 or window_s <= 0:
            return ()
        width = window_s / buckets
        start = now - window_s
        out = [0] * buckets
        for at, tokens in self.output_buckets:
            middle = at + BUCKET_S / 2
            if start <= middle < now:
                out[min(buckets - 1, int((middle - start) // width))] += tokens
        return tuple(out)


def _file_name_facts(path: Path) -> tuple[str | None, float | None]:
    """Return ``(thread id, local start time in seconds since the epoch)`` from a rollout name."""
    match = ROLLOUT_NAME_RE.match(path.name)
    if match is None:
        return None, None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        started = time.mktime((year, month, day, hour, minute, second, 0, 0, -1))
    except (OverflowError, ValueError):
        started = None
    return match.group(7), started


def _first_line(text: object, limit: int = 200) -> str | None:
    if not isinstance(text, str):
        return None
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return None


def _escalated_call(item: dict[str, Any]) -> PendingApproval | None:
    """Return a pending approval if ``item`` is a tool call asking for ``require_escalated``."""
    kind = item.get("type")
    call_id = _str(item.get("call_id"), 256)
    if call_id is None:
        return None
    if kind == "function_call":
        raw = item.get("arguments")
        args: dict[str, Any] = {}
        if isinstance(raw, str) and len(raw) <= 1 << 20:
            args = _dict(parse_object(raw.encode("utf-8", "replace")))
        elif isinstance(raw, dict):
            args = raw
        if args.get("sandbox_permissions") != "require_escalated":
            return None
        command = args.get("cmd", args.get("command"))
        if isinstance(command, list):
            command = " ".join(str(part) for part in command)
        return PendingApproval(
            call_id=call_id,
            tool=_str(item.get("name"), 256) or "function_call",
            command=_str(command),
            reason=_str(args.get("justification")),
        )
    if kind == "custom_tool_call":
        raw_input = item.get("input")
        if isinstance(raw_input, str) and "require_escalated" in raw_input:
            return PendingApproval(call_id=call_id, tool=_str(item.get("name"), 256) or "custom")
    return None


@dataclass
class _Accumulator:
    """Mutable state of a :class:`RolloutReader` (never published)."""

    session_id: str | None = None
    cwd: str | None = None
    cli_version: str | None = None
    originator: str | None = None
    source: str | None = None
    started_at: float | None = None
    model: str | None = None
    approval_policy: str | None = None
    thread_name: str | None = None
    status: str | None = None
    status_changed_at: float | None = None
    abort_reason: str | None = None
    pending: PendingApproval | None = None
    cumulative_output: int | None = None
    context_tokens: int | None = None
    context_window: int | None = None
    turns: int = 0
    last_prompt: str | None = None
    last_activity_at: float | None = None
    buckets: dict[int, int] = field(default_factory=dict)
    seen_meta: bool = False
    from_start: bool = True

    def add_output(self, cumulative: int | None, at: float | None) -> None:
        """Account a thread's cumulative output count; its increase goes to ``at``'s bucket.

        ``token_usage_record`` and ``token_count`` both carry the cumulative count of the same
        responses: whichever comes first advances it, so nothing is counted twice.
        """
        if cumulative is None:
            return
        previous = self.cumulative_output
        if previous is None and not self.from_start:
            self.cumulative_output = cumulative  # a tail read: the baseline, not new output
            return
        previous = previous or 0
        self.cumulative_output = max(previous, cumulative)
        if cumulative <= previous or at is None:
            return
        index = int(at // BUCKET_S)
        self.buckets[index] = self.buckets.get(index, 0) + (cumulative - previous)
        if len(self.buckets) > MAX_BUCKETS:
            del self.buckets[min(self.buckets)]

    def apply(self, record: dict[str, Any]) -> None:
        """Fold one rollout line into the state (unknown types are ignored)."""
        at = parse_timestamp(record.get("timestamp"))
        if at is not None and (self.last_activity_at is None or at > self.last_activity_at):
            self.last_activity_at = at
        kind = record.get("type")
        payload = _dict(record.get("payload"))
        if kind == "session_meta":
            self._session_meta(payload)
        elif kind == "turn_context":
            self.model = _str(payload.get("model"), 256) or self.model
            self.approval_policy = _str(payload.get("approval_policy"), 64) or self.approval_policy
        elif kind == "event_msg":
            self._event(payload, at)
        elif kind == "response_item":
            self._response_item(payload, at)
        elif kind == "token_usage_record":
            usage = _dict(payload.get("usage"))
            self.context_tokens = _int(usage.get("total_tokens")) or self.context_tokens
            thread = _dict(payload.get("thread_token_usage"))
            self.add_output(_int(thread.get("output_tokens")), at)

    def _session_meta(self, payload: dict[str, Any]) -> None:
        if self.seen_meta:
            return  # a forked thread may repeat its parent's meta; the first one is ours
        self.seen_meta = True
        session_id = _str(payload.get("id"), 64) or _str(payload.get("session_id"), 64)
        if session_id is not None and THREAD_ID_RE.match(session_id):
            self.session_id = session_id
        self.cwd = _str(payload.get("cwd")) or self.cwd
        self.cli_version = _str(payload.get("cli_version"), 64)
        self.originator = _str(payload.get("originator"), 64)
        self.source = (
            _str(payload.get("source"), 64) if isinstance(payload.get("source"), str) else None
        )
        self.started_at = parse_timestamp(payload.get("timestamp")) or self.started_at

    def _event(self, payload: dict[str, Any], at: float | None) -> None:
        kind = payload.get("type")
        if kind == "task_started":
            self.status, self.status_changed_at = "busy", at
            self.abort_reason = None
            self.pending = None
            self.turns += 1
            self.context_window = _int(payload.get("model_context_window")) or self.context_window
        elif kind in ("task_complete", "turn_aborted"):
            self.status, self.status_changed_at = "idle", at
            self.pending = None
            reason = payload.get("reason")
            self.abort_reason = (_str(reason, 64) or "aborted") if kind == "turn_aborted" else None
        elif kind == "token_count":
            info = _dict(payload.get("info"))
            last = _dict(info.get("last_token_usage"))
            self.context_tokens = _int(last.get("total_tokens")) or self.context_tokens
            self.context_window = _int(info.get("model_context_window")) or self.context_window
            total = _dict(info.get("total_token_usage"))
            self.add_output(_int(total.get("output_tokens")), at)
        elif kind == "thread_name_updated":
            self.thread_name = _str(payload.get("thread_name"), 256) or self.thread_name
        elif kind == "item_completed":
            item = _dict(payload.get("item"))
            if item.get("type") == "UserMessage":
                content = item.get("content")
                texts = [
                    part.get("text")
                    for part in (content if isinstance(content, list) else [])
                    if isinstance(part, dict)
                ]
                self.last_prompt = (
                    _first_line(next((t for t in texts if t), None)) or self.last_prompt
                )
            elif self.pending is not None and item.get("id") == self.pending.call_id:
                self.pending = None
        elif kind == "user_message":
            self.last_prompt = _first_line(payload.get("message")) or self.last_prompt

    def _response_item(self, item: dict[str, Any], at: float | None) -> None:
        kind = item.get("type")
        if kind in ("function_call", "custom_tool_call", "local_shell_call"):
            pending = _escalated_call(item)
            self.pending = None if pending is None else replace(pending, since=at)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            if self.pending is not None and item.get("call_id") == self.pending.call_id:
                self.pending = None
        elif kind == "message" and item.get("role") == "assistant":
            self.pending = None


class RolloutReader:
    """Reads one rollout incrementally and returns immutable :class:`RolloutFacts`.

    Cheap to call repeatedly: each :meth:`read` parses only the lines appended since the last.

    Attributes:
        path: The rollout file.
    """

    def __init__(
        self,
        path: Path,
        *,
        tail_bytes: int = TAIL_BYTES,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self.path = path
        self._tail = JsonlTail(
            path,
            tail_bytes=tail_bytes,
            max_line_bytes=max_line_bytes,
            max_read_bytes=MAX_POLL_BYTES,
            head_line_bytes=HEAD_LINE_BYTES,
        )
        self._state = _Accumulator()
        self._partial = False
        self._facts: RolloutFacts | None = None

    def read(self) -> RolloutFacts:
        """Read what was appended and return the facts so far.

        Returns:
            The facts (the previous ones when nothing new was appended).

        Raises:
            FileNotFoundError: The rollout is gone.
            RolloutUnreadable: The path is not a readable regular file.
        """
        read = self._tail.read()
        if read.reset:
            self._partial = read.tail_only
            self._state = _Accumulator(from_start=not self._partial)
        if not read.lines and not read.reset and self._facts is not None:
            return self._facts
        for record in _objects(read.lines):
            self._state.apply(record)
        self._facts = self._build()
        return self._facts

    def _build(self) -> RolloutFacts:
        s = self._state
        name_id, name_start = _file_name_facts(self.path)
        return RolloutFacts(
            path=self.path,
            session_id=s.session_id
            or (name_id if name_id and THREAD_ID_RE.match(name_id) else None),
            cwd=s.cwd,
            cli_version=s.cli_version,
            originator=s.originator,
            source=s.source,
            started_at=s.started_at if s.started_at is not None else name_start,
            model=s.model,
            approval_policy=s.approval_policy,
            thread_name=s.thread_name,
            status=s.status,
            status_changed_at=s.status_changed_at,
            abort_reason=s.abort_reason,
            pending_approval=s.pending,
            output_tokens=s.cumulative_output or 0,
            context_tokens=s.context_tokens,
            context_window=s.context_window,
            turns=s.turns,
            last_prompt=s.last_prompt,
            last_activity_at=s.last_activity_at,
            output_buckets=tuple((i * BUCKET_S, n) for i, n in sorted(s.buckets.items())),
            partial=self._partial,
        )


class SessionIndex:
    """Thread names from ``$CODEX_HOME/session_index.jsonl``, read incrementally.

    Each line is ``{"id", "thread_name", "updated_at"}``; the last line for an id wins.
    """

    def __init__(self, codex_home: Path, *, max_entries: int = 100_000) -> None:
        self.path = codex_home / "session_index.jsonl"
        self._tail = JsonlTail(
            self.path,
            tail_bytes=TAIL_BYTES,
            max_line_bytes=64 * 1024,
            max_read_bytes=MAX_POLL_BYTES,
        )
        self._names: dict[str, str] = {}
        self._max = max_entries

    def names(self) -> Mapping[str, str]:
        """Return thread id → thread name (empty when the file is missing or unreadable)."""
        try:
            read = self._tail.read()
        except OSError:
            return dict(self._names)
        if read.reset:
            self._names = {}
        for record in _objects(read.lines):
            thread_id = _str(record.get("id"), 64)
            name = _str(record.get("thread_name"), 256)
            if thread_id is not None and name is not None:
                self._names.pop(thread_id, None)
                self._names[thread_id] = name
                if len(self._names) > self._max:
                    del self._names[next(iter(self._names))]
        return dict(self._names)


# --------------------------------------------------------------------------------------------
# Status


@dataclass(frozen=True, slots=True)
class CodexStatus:
    """A Codex session's status as the store should show it.

    Attributes:
        status: ``busy``, ``waiting``, ``idle`` or ``unknown`` (the ``Status`` values).
        waiting_for: ``approval`` while waiting, else ``None``.
        why: How it was decided, for the detail panel.
    """

    status: str
    waiting_for: str | None
    why: str


def codex_status(facts: RolloutFacts | None, pane_title: str | None = None) -> CodexStatus:
    """Decide a Codex session's status from its rollout and, if known, its pane title.

    Approvals are not written to the rollout (SPEC 2.3): a pending one is inferred from the last
    tool call; the pane title (tmux ``#{pane_title}``) confirms it (``[ . ] Action Required``) or
    shows it was approved and runs (a spinner). A title saying "Action Required" alone also
    means waiting (other prompts, e.g. a patch approval, are not inferred from the rollout).

    Args:
        facts: The rollout's facts, or ``None`` for a TUI that has no rollout yet.
        pane_title: The pane's title, or ``None`` when it runs in no known pane.

    Returns:
        The status, what it waits for and why.
    """
    title_asks = pane_title is not None and ACTION_REQUIRED_RE.match(pane_title) is not None
    title_spins = pane_title is not None and SPINNER_RE.match(pane_title) is not None
    if facts is None:
        if title_asks:
            return CodexStatus("waiting", "approval", "pane title: Action Required")
        return CodexStatus("idle", None, "no turn yet (no rollout)")
    pending = facts.pending_approval
    if pending is not None:
        if title_asks:
            return CodexStatus(
                "waiting", "approval", "rollout: escalated call; pane title: Action Required"
            )
        if title_spins:
            return CodexStatus(
                "busy", None, "rollout: escalated call; pane title: running (approved)"
            )
        return CodexStatus(
            "waiting", "approval", "rollout: escalated call without output (unconfirmed)"
        )
    if title_asks:
        return CodexStatus("waiting", "approval", "pane title: Action Required")
    if facts.status == "busy":
        return CodexStatus("busy", None, "rollout: task_started")
    if facts.status == "idle":
        why = (
            f"rollout: turn_aborted ({facts.abort_reason})"
            if facts.abort_reason
            else "rollout: task_complete"
        )
        return CodexStatus("idle", None, why)
    return CodexStatus(
        "idle" if facts.turns == 0 else "unknown", None, "rollout: no turn event read"
    )


# --------------------------------------------------------------------------------------------
# Processes


@dataclass(frozen=True, slots=True)
class CodexProcess:
    """A running native ``codex`` process.

    Attributes:
        pid: Its PID.
        role: ``tui`` (interactive), ``exec`` (``codex exec``) or ``daemon`` (``app-server
            --managed-daemon``).
        create_time: Start time, seconds since the epoch (psutil).
        proc_start: Start time as ``/proc/<pid>/stat`` field 22 (clock ticks since boot), the
            format of the Claude registry's ``procStart``; ``None`` off Linux.
        codex_home: Its ``CODEX_HOME`` (environment, else the daemon's executable path, else
            ``~/.codex``).
        cwd: Working directory, if readable.
        launcher_pid: The npm launcher (``node …/bin/codex``) when that is the parent.
        rollouts: Rollout files it holds open.
        argv: Its command line.
    """

    pid: int
    role: str
    create_time: float
    proc_start: str | None
    codex_home: Path
    cwd: str | None
    launcher_pid: int | None
    rollouts: tuple[Path, ...]
    argv: tuple[str, ...]


def classify_argv(argv: Sequence[str]) -> str | None:
    """Tell what a native ``codex`` process is from its argv.

    Args:
        argv: The command line (``argv[0]`` is the executable).

    Returns:
        ``daemon`` for ``app-server … --managed-daemon``, ``exec`` for ``codex exec``, ``tui``
        for an interactive session (no subcommand, ``resume``, ``fork`` or a prompt), ``None``
        for any other subcommand (``app-server daemon pid-update-loop``, ``login``, ``mcp`` …).
    """
    args = list(argv[1:])
    if "app-server" in args:
        index = args.index("app-server")
        rest = args[index + 1 :]
        return "daemon" if "--managed-daemon" in rest and "daemon" not in rest else None
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--":
            return "tui"
        if arg.startswith("-"):
            skip = arg in _VALUE_OPTIONS
            continue
        if arg in ("exec", "e"):
            return "exec"
        if arg in _OTHER_SUBCOMMANDS:
            return None
        return "tui"  # resume, fork, or the initial prompt
    return "tui"


def _is_codex_executable(path: str) -> bool:
    """Tell whether ``path`` names a ``codex`` executable (also one replaced since its start)."""
    return Path(path.removesuffix(" (deleted)")).name in ("codex", "codex.exe")


def _home_from_daemon_exe(exe: str) -> Path | None:
    """``<CODEX_HOME>/packages/app-server-daemon/...`` → ``<CODEX_HOME>``."""
    parts = Path(exe).parts
    for i in range(len(parts) - 1):
        if parts[i] == "packages" and parts[i + 1] == "app-server-daemon":
            return Path(*parts[:i])
    return None


def default_codex_home(environ: Mapping[str, str] | None = None) -> Path:
    """Return ``$CODEX_HOME`` if set, else ``~/.codex``."""
    env = os.environ if environ is None else environ
    value = env.get("CODEX_HOME")
    return Path(value) if value else Path.home() / ".codex"


#: True where ``/proc/<pid>/fd`` lists a process's open files (Linux).
_PROC_FDS: Final = os.path.isdir("/proc/self/fd")  # noqa: PTH112


def _rollouts_of(proc: psutil.Process, codex_home: Path) -> tuple[Path, ...]:
    """Return the rollout files under ``<codex_home>/sessions`` that ``proc`` holds open.

    On Linux the targets of ``/proc/<pid>/fd/*`` are read (one ``readlink`` each):
    ``psutil``'s ``open_files`` also reads every file's ``fdinfo`` (position, flags), ~5x the
    cost, and this runs for every Codex process on every sample. Elsewhere ``open_files``.
    """
    if _PROC_FDS:
        fd_dir = f"/proc/{proc.pid}/fd"
        try:
            names = os.listdir(fd_dir)  # noqa: PTH208 - hot path, names only
        except OSError:
            return ()
        targets: list[str] = []
        for name in names:
            with contextlib.suppress(OSError):
                target = os.readlink(f"{fd_dir}/{name}")  # noqa: PTH115 - hot path
                targets.append(target.removesuffix(" (deleted)"))  # as psutil reports it
    else:
        try:
            targets = [f.path for f in proc.open_files()]
        except (psutil.Error, OSError):
            return ()
    sessions = str(codex_home / "sessions") + os.sep
    found = {
        Path(target)
        for target in targets
        if ROLLOUT_NAME_RE.match(target.rpartition("/")[2])
        and (target.startswith(sessions) or "/sessions/" in target)
    }
    return tuple(sorted(found))


@dataclass
class _ProcInfo:
    """Cached per process identity: what never changes while the process lives."""

    role: str | None
    argv: tuple[str, ...]
    codex_home: Path
    proc_start: str | None
    launcher_pid: int | None


#: Every this many scans each process's name is read again; in between only the names of
#: processes not seen before (see :class:`ProcessScanner`).
FULL_PASS_EVERY = 5


class ProcessScanner:
    """Finds native ``codex`` processes; caches argv and environment per process identity.

    Each :meth:`scan` lists processes (one pass over ``/proc``: name and exe), inspects argv and
    environment only of processes not seen before, and reads the open files of TUIs and daemons.
    The name (``/proc/<pid>/comm``) of a process already seen as something else is read again
    only every :data:`FULL_PASS_EVERY` scans: a new ``codex`` process is found by the next
    scan, one that a shell ``exec``'d in place (its PID kept) within that many scans.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[int, float], _ProcInfo] = {}
        self._others: set[str] = set()  # /proc entries whose name was not codex's
        self._scans = 0

    def scan(self) -> list[CodexProcess]:
        """Return the running Codex TUIs, ``exec`` runs and daemons.

        Returns:
            One :class:`CodexProcess` each (other users' processes included when readable).
        """
        found: list[CodexProcess] = []
        alive: set[tuple[int, float]] = set()
        self._scans += 1
        if self._scans % FULL_PASS_EVERY == 1:
            self._others.clear()
        for proc in _candidates(self._others):
            try:
                info = proc.info
                name = info.get("name") or ""
                exe = info.get("exe") or ""
                if not (_is_codex_executable(exe) or name in ("codex", "codex.exe")):
                    continue
                create_time = float(info.get("create_time") or 0.0)
                key = (proc.pid, create_time)
                alive.add(key)
                cached = self._known.get(key)
                if cached is None:
                    cached = self._inspect(proc, exe)
                    if cached.argv:  # none yet: caught inside its exec, read it again next time
                        self._known[key] = cached
                if cached.role is None:
                    continue
                try:
                    cwd: str | None = proc.cwd()
                except (psutil.Error, OSError):
                    cwd = None
                found.append(
                    CodexProcess(
                        pid=proc.pid,
                        role=cached.role,
                        create_time=create_time,
                        proc_start=cached.proc_start,
                        codex_home=cached.codex_home,
                        cwd=cwd,
                        launcher_pid=cached.launcher_pid,
                        rollouts=_rollouts_of(proc, cached.codex_home),
                        argv=cached.argv,
                    )
                )
            except (psutil.Error, OSError):
                continue
        self._known = {k: v for k, v in self._known.items() if k in alive}
        return found

    @staticmethod
    def _inspect(proc: psutil.Process, exe: str) -> _ProcInfo:
        try:
            argv = tuple(proc.cmdline())
        except (psutil.Error, OSError):
            argv = ()
        if not exe and argv:
            exe = argv[0]
        if not _is_codex_executable(exe) or proc.status() == psutil.STATUS_ZOMBIE:
            return _ProcInfo(None, argv, Path(), None, None)
        role = classify_argv(argv) if argv else None
        try:
            env: Mapping[str, str] | None = proc.environ()
        except (psutil.Error, OSError):
            env = None
        home: Path | None = None
        if env and env.get("CODEX_HOME"):
            home = Path(env["CODEX_HOME"])
        elif role == "daemon":
            home = _home_from_daemon_exe(exe)
        if home is None:
            home = _user_home(proc) / ".codex"
        launcher: int | None = None
        try:
            parent = proc.parent()
            if parent is not None and parent.name() in ("node", "nodejs", "bun"):
                launcher = parent.pid
        except (psutil.Error, OSError):
            launcher = None
        return _ProcInfo(role, argv, home, read_proc_start(proc.pid), launcher)


_INFO_ATTRS: Final = ["name", "exe", "create_time"]


def _candidates(others: set[str] | None = None) -> Iterator[psutil.Process]:
    """Processes that may be native ``codex`` ones, with ``info`` as ``process_iter`` sets it.

    On Linux only those whose ``/proc/<pid>/comm`` is ``codex`` (the executable's name, set at
    ``exec``): one small read per process instead of psutil's stat and ``exe`` look-ups, which
    made a scan ~10x dearer (it runs every sample). Elsewhere every process.

    Args:
        others: ``/proc`` entries (PIDs as text) known not to be ``codex``: not read again.
            Updated in place: entries gone are dropped, entries read and found to be
            something else are added (Linux only).
    """
    try:
        entries = os.listdir("/proc")  # noqa: PTH208 - hot path, names only
    except OSError:
        yield from psutil.process_iter(_INFO_ATTRS)
        return
    if others is not None:
        others.intersection_update(entries)
    for entry in entries:
        if not entry.isdigit() or (others is not None and entry in others):
            continue
        try:
            with open(f"/proc/{entry}/comm", "rb") as handle:  # noqa: PTH123 - hot path
                if handle.read(16).rstrip(b"\n") not in (b"codex", b"codex.exe"):
                    if others is not None:
                        others.add(entry)
                    continue
            proc = psutil.Process(int(entry))
            proc.info = proc.as_dict(_INFO_ATTRS)
        except (OSError, psutil.Error):
            continue
        yield proc


def _is_app_server(proc: psutil.Process) -> bool:
    """Tell whether ``proc`` is a ``codex app-server`` (the daemon or its helper)."""
    try:
        argv = proc.cmdline()
    except (psutil.Error, OSError):
        return False
    return bool(argv) and _is_codex_executable(argv[0]) and "app-server" in argv[1:]


def _user_home(proc: psutil.Process) -> Path:
    """Return the home folder of ``proc``'s user (ours when unknown)."""
    try:
        uid = proc.uids().real
        if uid != os.getuid():
            import pwd

            return Path(pwd.getpwuid(uid).pw_dir)
    except (psutil.Error, OSError, KeyError, AttributeError):
        pass
    return Path.home()


# --------------------------------------------------------------------------------------------
# Pairing and the source


@dataclass(frozen=True, slots=True)
class CodexSession:
    """One Codex session as the source reports it (immutable).

    Attributes:
        key: Stable identity: ``codex:<pid>:<procStart>`` for a TUI or ``exec`` run (the start
            is psutil's create time in ms where ``/proc`` is unavailable),
            ``codex:rollout:<thread id>`` for a background session.
        kind: ``interactive`` (a TUI), ``exec`` (``codex exec``) or ``bg`` (a live rollout whose
            TUI is gone: the daemon runs or keeps the thread).
        pid: The TUI's (or ``exec``'s) PID, ``None`` for ``bg``.
        proc_start: Its start time as ``/proc/<pid>/stat`` field 22, or ``None``.
        started_at: The process start (seconds since the epoch); for ``bg`` the thread's start.
        codex_home: The ``CODEX_HOME`` it belongs to.
        cwd: The TUI's cwd, else the rollout's.
        rollout_path: The live rollout, or ``None`` (a TUI before its first turn).
        facts: What the rollout says, or ``None``.
        thread_name: The thread's name from ``session_index.jsonl`` (or a rollout event).
        launcher_pid: The npm ``node`` launcher, parent of the TUI, if any.
        daemon_pid: The daemon holding the rollout, if any.
    """

    key: str
    kind: str
    pid: int | None
    proc_start: str | None
    started_at: float | None
    codex_home: Path
    cwd: str | None
    rollout_path: Path | None
    facts: RolloutFacts | None
    thread_name: str | None = None
    launcher_pid: int | None = None
    daemon_pid: int | None = None

    @property
    def session_id(self) -> str | None:
        """The thread id, if a rollout is known."""
        return None if self.facts is None else self.facts.session_id

    @property
    def name(self) -> str:
        """Display name: the thread name, else the cwd's last component, else ``codex``."""
        if self.thread_name:
            return self.thread_name
        folder = self.cwd or (self.facts.cwd if self.facts else None)
        if not folder:
            return "codex"
        return Path(folder).name or folder

    @property
    def kill_root(self) -> int | None:
        """The PID whose process tree "kill" ends; ``None`` for ``bg`` sessions.

        The npm launcher when there is one, else the TUI; never the daemon (shared by every TUI
        of its ``CODEX_HOME``).
        """
        if self.pid is None:
            return None
        return self.launcher_pid or self.pid

    def kill_targets(self) -> tuple[int, ...]:
        """Return the PIDs "kill" must end, root first; ``()`` for ``bg`` or a gone/reused TUI.

        The root is :attr:`kill_root`; then its descendants, **except** the daemon and every
        process under it: a TUI that started the daemon is its parent until the TUI exits, so a
        plain kill of the TUI's tree (``processes.kill_tree``) would end the daemon that every
        TUI of this ``CODEX_HOME`` shares. Processes are read live (psutil); the TUI's identity
        is checked against :attr:`proc_start` first.
        """
        root = self.kill_root
        if root is None or self.pid is None:
            return ()
        if self.proc_start is not None and read_proc_start(self.pid) != self.proc_start:
            return ()
        try:
            stack = [psutil.Process(root)]
        except psutil.Error:
            return ()
        out = [root]
        while stack:
            try:
                children = stack.pop().children()
            except psutil.Error:
                continue
            for child in children:
                if child.pid == self.daemon_pid or _is_app_server(child):
                    continue
                out.append(child.pid)
                stack.append(child)
        return tuple(out)

    def status(self, pane_title: str | None = None) -> CodexStatus:
        """Return :func:`codex_status` for this session."""
        return codex_status(self.facts, pane_title)

    @property
    def tokens(self) -> dict[str, int | None] | None:
        """The ``ls --json`` ``tokens`` object, or ``None`` before the first usage is known.

        ``{"output": cumulative output tokens, "context": the last response's total tokens,
        "context_window": the model's window}``.
        """
        facts = self.facts
        if facts is None or (facts.context_tokens is None and not facts.output_tokens):
            return None
        return {
            "output": facts.output_tokens,
            "context": facts.context_tokens,
            "context_window": facts.context_window,
        }

    @property
    def model(self) -> str | None:
        """The model of the last turn (``turn_context.model``), if known."""
        return None if self.facts is None else self.facts.model

    @property
    def last_activity_at(self) -> float | None:
        """The newest rollout record's time (seconds since the epoch), else the start time."""
        if self.facts is not None and self.facts.last_activity_at is not None:
            return self.facts.last_activity_at
        return self.started_at


#: Seconds a rollout's start may precede its TUI's start and still be the TUI's (clock skew
#: between psutil's create time and Codex's millisecond timestamps).
PAIR_SLACK_S: Final = 1.0


def _session_key(proc: CodexProcess) -> str:
    start = proc.proc_start or str(round(proc.create_time * 1000))
    return f"codex:{proc.pid}:{start}"


def pair_sessions(
    processes: Sequence[CodexProcess],
    facts_of: Callable[[Path], RolloutFacts | None],
    names_of: Callable[[Path], Mapping[str, str]] = lambda _home: {},
) -> list[CodexSession]:
    """Pair live rollouts with TUIs (SPEC 2.3) and return one session per TUI and per orphan.

    Args:
        processes: From :meth:`ProcessScanner.scan`.
        facts_of: Returns a rollout's facts, or ``None`` when it cannot be read.
        names_of: Returns the thread names of a ``CODEX_HOME`` (:class:`SessionIndex`).

    Returns:
        Sessions: every TUI and ``exec`` run (with its rollout if one was found) and every
        daemon-held rollout left without a TUI (kind ``bg``).
    """
    sessions: list[CodexSession] = []
    clients = [p for p in processes if p.role in ("tui", "exec")]
    daemons = [p for p in processes if p.role == "daemon"]
    taken: set[Path] = set()
    owned: dict[int, tuple[Path, int | None]] = {}
    # 1. A TUI (or exec run) that holds a rollout itself owns it (its newest).
    for proc in clients:
        if proc.rollouts:
            path = max(proc.rollouts, key=lambda p: p.name)
            owned[proc.pid] = (path, None)
            taken.update(proc.rollouts)
    # 2. Daemon-held rollouts, newest first, to the newest unpaired TUI with that cwd.
    held: list[tuple[float, Path, CodexProcess, RolloutFacts | None]] = []
    for daemon in daemons:
        for path in daemon.rollouts:
            if path in taken:
                continue
            taken.add(path)
            facts = facts_of(path)
            start = facts.started_at if facts and facts.started_at is not None else 0.0
            held.append((start, path, daemon, facts))
    held.sort(key=lambda h: (h[0], h[1].name), reverse=True)
    orphans: list[tuple[Path, CodexProcess, RolloutFacts | None]] = []
    for start, path, daemon, facts in held:
        candidates = [
            p
            for p in clients
            if p.role == "tui"
            and p.pid not in owned
            and p.codex_home == daemon.codex_home
            and facts is not None
            and p.cwd is not None
            and _same_dir(p.cwd, facts.cwd)
            and p.create_time <= start + PAIR_SLACK_S
        ]
        if candidates:
            tui = max(candidates, key=lambda p: p.create_time)
            owned[tui.pid] = (path, daemon.pid)
        else:
            orphans.append((path, daemon, facts))
    for proc in clients:
        own_path, daemon_pid = owned.get(proc.pid, (None, None))
        own_facts = facts_of(own_path) if own_path is not None else None
        names = names_of(proc.codex_home)
        sessions.append(
            CodexSession(
                key=_session_key(proc),
                kind="interactive" if proc.role == "tui" else "exec",
                pid=proc.pid,
                proc_start=proc.proc_start,
                started_at=proc.create_time,
                codex_home=proc.codex_home,
                cwd=proc.cwd or (own_facts.cwd if own_facts else None),
                rollout_path=own_path,
                facts=own_facts,
                thread_name=_thread_name(own_facts, names),
                launcher_pid=proc.launcher_pid,
                daemon_pid=daemon_pid,
            )
        )
    for path, daemon, facts in orphans:
        thread_id = facts.session_id if facts and facts.session_id else _file_name_facts(path)[0]
        sessions.append(
            CodexSession(
                key=f"codex:rollout:{thread_id or path.name}",
                kind="bg",
                pid=None,
                proc_start=None,
                started_at=facts.started_at if facts else None,
                codex_home=daemon.codex_home,
                cwd=facts.cwd if facts else None,
                rollout_path=path,
                facts=facts,
                thread_name=_thread_name(facts, names_of(daemon.codex_home)),
                daemon_pid=daemon.pid,
            )
        )
    return sessions


def _thread_name(facts: RolloutFacts | None, names: Mapping[str, str]) -> str | None:
    if facts is None:
        return None
    if facts.session_id and facts.session_id in names:
        return names[facts.session_id]
    return facts.thread_name


def _same_dir(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    return os.path.normpath(a) == os.path.normpath(b)


class CodexSource:
    """Codex sessions of every ``CODEX_HOME`` in use (a standalone source; see the module doc).

    Keeps one :class:`RolloutReader` per live rollout and one :class:`SessionIndex` per
    ``CODEX_HOME``; readers of rollouts no longer live are dropped. Not thread-safe: call
    :meth:`scan` from one thread (the store's scheduler).

    Args:
        scanner: The process scanner (a new one by default).
        tail_bytes: First reads of rollouts larger than this read only the tail (bytes).
        context_windows: Model name or prefix -> context window in tokens (the configured
            table): the window of a rollout that states none (``model_context_window``) is
            looked up here by ``turn_context.model``, exact name first, then the longest
            prefix; a rollout's own window always wins.
    """

    def __init__(
        self,
        scanner: ProcessScanner | None = None,
        *,
        tail_bytes: int = TAIL_BYTES,
        context_windows: Mapping[str, int] | None = None,
    ) -> None:
        self._scanner = scanner or ProcessScanner()
        self._tail_bytes = tail_bytes
        self._context_windows: Mapping[str, int] = dict(context_windows or {})
        self._readers: dict[Path, RolloutReader] = {}
        self._facts: dict[Path, RolloutFacts] = {}
        self._indexes: dict[Path, SessionIndex] = {}
        self.errors: dict[Path, str] = {}

    def scan(self) -> list[CodexSession]:
        """Discover processes, read new rollout lines, pair, and return the sessions.

        Returns:
            The sessions, TUIs first in process order, then background ones.
        """
        processes = self._scanner.scan()
        live: set[Path] = {path for proc in processes for path in proc.rollouts}
        self._readers = {p: r for p, r in self._readers.items() if p in live}
        self._facts = {p: f for p, f in self._facts.items() if p in live}
        self.errors = {p: e for p, e in self.errors.items() if p in live}
        read_now: set[Path] = set()

        def facts_of(path: Path) -> RolloutFacts | None:
            if path not in read_now:
                read_now.add(path)
                self._read(path)
            return self._facts.get(path)

        homes = {proc.codex_home for proc in processes}
        self._indexes = {h: i for h, i in self._indexes.items() if h in homes}
        names_cache: dict[Path, Mapping[str, str]] = {}

        def names_of(home: Path) -> Mapping[str, str]:
            if home not in names_cache:
                index = self._indexes.setdefault(home, SessionIndex(home))
                names_cache[home] = index.names()
            return names_cache[home]

        return pair_sessions(processes, facts_of, names_of)

    def watch_paths(self) -> list[Path]:
        """Return the ``<CODEX_HOME>/sessions`` folders of the homes seen in the last scan."""
        return sorted(home / "sessions" for home in self._indexes)

    def _read(self, path: Path) -> None:
        reader = self._readers.get(path)
        if reader is None:
            reader = self._readers[path] = RolloutReader(path, tail_bytes=self._tail_bytes)
        try:
            facts = reader.read()
            if facts.context_window is None and facts.model and self._context_windows:
                window = table_window(facts.model, self._context_windows)
                if window is not None:
                    facts = replace(facts, context_window=window)
            self._facts[path] = facts
            self.errors.pop(path, None)
        except FileNotFoundError:
            self.errors[path] = "rollout gone"
        except OSError as error:
            self.errors[path] = error.strerror or str(error)


def table_window(model: str, windows: Mapping[str, int]) -> int | None:
    """Return the configured window of ``model``: exact name first, then the longest prefix.

    >>> table_window("gpt-5-codex", {"gpt-5": 400_000, "gpt-5-codex": 258_400})
    258400
    >>> table_window("o3", {"gpt-5": 400_000}) is None
    True

    Args:
        model: A model name (``turn_context.model``).
        windows: Model name or prefix -> tokens.

    Returns:
        The window in tokens, or ``None`` when no entry names the model.
    """
    if model in windows:
        return windows[model]
    prefixes = [key for key in windows if key and model.startswith(key)]
    return windows[max(prefixes, key=len)] if prefixes else None


def find_rollouts(codex_home: Path | None = None, *, limit: int = 10_000) -> list[Path]:
    """List rollout files under ``<codex_home>/sessions/YYYY/MM/DD/``, newest name first.

    Args:
        codex_home: The Codex home (default :func:`default_codex_home`).
        limit: Stop after this many files.

    Returns:
        Paths whose names match :data:`ROLLOUT_NAME_RE` (symlinks and other files skipped).
    """
    root = (codex_home or default_codex_home()) / "sessions"
    found: list[Path] = []

    def dirs(folder: Path, pattern: str) -> Iterable[Path]:
        try:
            entries = sorted(folder.iterdir(), reverse=True)
        except OSError:
            return []
        return [
            e
            for e in entries
            if re.fullmatch(pattern, e.name) and e.is_dir() and not e.is_symlink()
        ]

    for year in dirs(root, r"\d{4}"):
        for month in dirs(year, r"\d{2}"):
            for day in dirs(month, r"\d{2}"):
                with contextlib.suppress(OSError):
                    for entry in sorted(day.iterdir(), reverse=True):
                        if (
                            ROLLOUT_NAME_RE.match(entry.name)
                            and entry.is_file()
                            and not entry.is_symlink()
                        ):
                            found.append(entry)
                            if len(found) >= limit:
                                return found
    return found
