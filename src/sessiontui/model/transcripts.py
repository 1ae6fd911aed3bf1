"""Claude Code transcripts: find a session's ``.jsonl``, tail it incrementally, derive its facts.

Format source: SPEC 2.2, checked against transcripts written by Claude Code 2.1.197 (see the
end-to-end test ``tests/e2e/test_claude_transcripts.py``). A transcript is JSON lines under
``<claude base>/projects/<encoded cwd>/<sessionId>.jsonl``; chain records (``user``,
``assistant``, ``system``, ``attachment``) carry an ISO-8601 UTC ``timestamp``, metadata lines
(``mode``, ``permission-mode``, ``custom-title``, ``file-history-snapshot``, ...) do not.

Three layers:

- path helpers (:func:`encode_project_dir`, :func:`transcript_path`, :func:`find_transcript`);
- :class:`TranscriptReader`: one file, read from the last offset, only appended bytes, a bounded
  amount per :meth:`~TranscriptReader.poll` (:mod:`sessiontui.model.jsonl_tail`), with
  :class:`TranscriptFacts` as the immutable result;
- :class:`TranscriptTracker`: readers keyed by session, for the store (watchdog event or timer).

Nothing here writes a file, and nothing blocks: a FIFO or device named like a transcript is
refused, reads are bounded, a missing file is a state, not an error.
"""

from __future__ import annotations

import math
import os
import re
import stat
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sessiontui.model.jsonl_tail import JsonlTail, Oversized, parse_object
from sessiontui.model.text import parse_timestamp, printable
from sessiontui.model.types import Status

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from pathlib import Path

#: ``sessionId`` values we build a path from (SPEC 2.2); anything else means "no transcript".
SESSION_ID_RE = re.compile(r"^[0-9a-fA-F-]{8,64}$")
#: Longest encoded project folder name kept whole; longer ones get a hash suffix (SPEC 2.2).
MAX_DIR_NAME = 200
#: Context window when the model is unknown or not in the table, tokens (SPEC 2.2).
DEFAULT_CONTEXT_WINDOW = 200_000
#: Context window of ``[1m]`` models, tokens.
LARGE_CONTEXT_WINDOW = 1_000_000
#: Longest prompt kept in :attr:`TranscriptFacts.last_prompt`, characters.
MAX_PROMPT_CHARS = 200
#: Most ``*.jsonl`` entries looked at by the fallback search of one folder.
MAX_SCAN_ENTRIES = 10_000

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_MAX_TOKENS = 10**12  # larger usage values are garbage
_IDLE_STOP_REASONS = frozenset({"end_turn", "stop_sequence", "max_tokens", "refusal"})
#: Usage fields whose sum is the context used (SPEC 2.2).
_CONTEXT_KEYS = (
    "input_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "output_tokens",
)
_INTERRUPTED = "[Request interrupted by user"


# -- paths ------------------------------------------------------------------------------------


def java_string_hash(text: str) -> int:
    """Return Java's ``String.hashCode`` of ``text``: ``h = h*31 + unit`` over UTF-16 units.

    The result wraps like a signed 32-bit integer. Claude Code (JavaScript) computes the same
    with ``(h << 5) - h + charCodeAt(i) | 0``.

    >>> java_string_hash("hello")
    99162322
    >>> java_string_hash("polygenelubricants")
    -2147483648

    Args:
        text: Any string (lone surrogates are hashed as the units they are).

    Returns:
        A signed 32-bit integer.
    """
    h = 0
    data = text.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(data), 2):
        h = (h * 31 + (data[i] | data[i + 1] << 8)) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if number == 0:
        return "0"
    out = []
    while number:
        number, rest = divmod(number, 36)
        out.append(digits[rest])
    return "".join(reversed(out))


def encode_project_dir(cwd: str) -> str:
    """Return the folder name Claude Code gives the project at ``cwd`` (SPEC 2.2).

    Every UTF-16 unit outside ``[A-Za-z0-9]`` becomes ``-`` (so a character outside the BMP
    becomes ``--``, as JavaScript's ``replace`` does); a result longer than 200 characters is cut
    to 200 and gets ``-`` plus base-36 of the absolute value of :func:`java_string_hash` of
    ``cwd``. Never decode such a name: it loses information.

    >>> encode_project_dir("/tmp/ccproj/my.proj_dir")
    '-tmp-ccproj-my-proj-dir'

    Args:
        cwd: The working directory, as Claude saw it.

    Returns:
        The folder name under ``<claude base>/projects``.
    """
    data = cwd.encode("utf-16-le", "surrogatepass")
    chars = []
    for i in range(0, len(data), 2):
        unit = data[i] | data[i + 1] << 8
        chars.append(chr(unit) if unit < 128 and unit in _SAFE else "-")
    encoded = "".join(chars)
    if len(encoded) <= MAX_DIR_NAME:
        return encoded
    return f"{encoded[:MAX_DIR_NAME]}-{_base36(abs(java_string_hash(cwd)))}"


def valid_session_id(session_id: object) -> bool:
    """True when ``session_id`` may name a file: ``^[0-9a-fA-F-]{8,64}$`` (SPEC 2.2)."""
    return isinstance(session_id, str) and SESSION_ID_RE.fullmatch(session_id) is not None


def transcript_path(projects_dir: Path, cwd: str, session_id: str) -> Path | None:
    """Return ``<projects_dir>/<encoded cwd>/<session_id>.jsonl``, or None if it may not exist.

    Args:
        projects_dir: ``<claude base>/projects``.
        cwd: The session's working directory (``cwd`` of the registry entry).
        session_id: ``sessionId`` of the registry entry.

    Returns:
        The path (not checked for existence), or None when ``session_id`` is not UUID-like or
        ``cwd`` is empty.
    """
    if not cwd or not valid_session_id(session_id):
        return None
    return projects_dir / encode_project_dir(cwd) / f"{session_id}.jsonl"


def find_transcript(
    projects_dir: Path, cwd: str, session_id: str | None, started_at_ms: int | None
) -> Path | None:
    """Return the session's transcript: the exact path, else the folder's newest newer file.

    The fallback (SPEC 2.2) is the most recently modified ``*.jsonl`` in the project folder whose
    modification time is after ``started_at_ms``; it covers a ``sessionId`` that went stale
    (``/clear``) or is missing. At most :data:`MAX_SCAN_ENTRIES` entries are looked at.

    Args:
        projects_dir: ``<claude base>/projects``.
        cwd: The session's working directory.
        session_id: ``sessionId``; None allows only the fallback, an invalid one finds nothing.
        started_at_ms: ``startedAt``, milliseconds since the epoch (None: no fallback).

    Returns:
        An existing regular file, or None.
    """
    if not cwd:
        return None
    if session_id is not None:
        exact = transcript_path(projects_dir, cwd, session_id)
        if exact is None:
            return None  # not UUID-like (``../../etc/passwd``): no transcript at all
        if _is_regular(exact):
            return exact
    folder = projects_dir / encode_project_dir(cwd)
    if started_at_ms is None:
        return None
    since_s = started_at_ms / 1000.0
    best: tuple[float, str] | None = None
    try:
        with os.scandir(folder) as entries:
            for count, entry in enumerate(entries):
                if count >= MAX_SCAN_ENTRIES:
                    break
                if not entry.name.endswith(".jsonl"):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode) or st.st_mtime <= since_s:
                    continue
                if best is None or (st.st_mtime, entry.name) > best:
                    best = (st.st_mtime, entry.name)
    except OSError:
        return None
    return folder / best[1] if best is not None else None


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def context_window_for(
    model: str | None,
    windows: Mapping[str, int] | None = None,
    *,
    default: int = DEFAULT_CONTEXT_WINDOW,
) -> int:
    """Return the context window of ``model``, in tokens.

    Looked up in ``windows`` (exact name first, then the longest key that is a prefix of the
    name), else :data:`LARGE_CONTEXT_WINDOW` when the name contains ``[1m]``, else ``default``.

    >>> context_window_for("claude-sonnet-4-5[1m]"), context_window_for("claude-opus-4-8")
    (1000000, 200000)

    Args:
        model: ``message.model`` of an assistant record, or None.
        windows: The configured table (model name or prefix → tokens).
        default: Window of models not in the table.
    """
    if model:
        table = windows or {}
        if model in table:
            return table[model]
        prefixes = [key for key in table if key and model.startswith(key)]
        if prefixes:
            return table[max(prefixes, key=len)]
        if "[1m]" in model.lower():
            return LARGE_CONTEXT_WINDOW
    return default


# -- settings and facts -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TranscriptSettings:
    """How transcripts are read and summarised.

    Attributes:
        bucket_s: Width of one activity bucket, seconds.
        window_s: Activity kept and returned by :meth:`TranscriptFacts.series`, seconds.
        tail_bytes: On first open (and after a rewrite), read only this many final bytes.
        max_line_bytes: Longer lines are skipped (only their first 4 KiB are looked at).
        max_read_bytes: Most bytes one :meth:`TranscriptReader.poll` reads; the rest waits for
            the next poll (:attr:`TranscriptFacts.behind` says so).
        quiet_s: A pending ``tool_use`` with no write for this long counts as ``waiting``.
        context_windows: Model name (or name prefix) → context window, tokens.
        default_context_window: Window of models not in the table, tokens.
    """

    bucket_s: float = 60.0
    window_s: float = 1800.0
    tail_bytes: int = 256 * 1024
    max_line_bytes: int = 2 * 1024 * 1024
    max_read_bytes: int = 4 * 1024 * 1024
    quiet_s: float = 30.0
    context_windows: Mapping[str, int] = field(default_factory=dict)
    default_context_window: int = DEFAULT_CONTEXT_WINDOW

    def __post_init__(self) -> None:
        """Validate.

        Raises:
            ValueError: a non-positive size or duration.
        """
        if not (self.bucket_s > 0 and self.window_s >= self.bucket_s):
            raise ValueError("bucket_s must be > 0 and window_s >= bucket_s")
        if min(self.tail_bytes, self.max_line_bytes, self.max_read_bytes) <= 0:
            raise ValueError("byte limits must be positive")


@dataclass(frozen=True, slots=True)
class TranscriptFacts:
    """What one transcript says, as of the last poll (immutable).

    Totals count only what was read: after a tail-only first open (:attr:`partial`) they cover
    the tail, not the whole session.

    Attributes:
        path: The transcript file.
        exists: False while the file is missing (the other fields keep their last values).
        model: ``message.model`` of the last main-chain assistant record (``<synthetic>`` skipped).
        context_used: That record's ``input_tokens + cache_read_input_tokens +
            cache_creation_input_tokens + output_tokens``, tokens; None before any.
        context_window: The model's window, tokens (:func:`context_window_for`).
        output_tokens: Sum of ``output_tokens`` over distinct API messages (``message.id`` +
            ``requestId``), sidechains included.
        api_calls: Number of distinct API messages seen.
        turns: Number of user prompts seen (non-meta, non-sidechain ``user`` records with text
            that are neither tool results nor interrupt markers).
        last_prompt: The latest such prompt, one line of plain printable text (≤ 200 characters).
        last_activity_at: Latest record ``timestamp``, seconds since the epoch.
        title: Name from the latest ``custom-title`` / ``agent-name`` metadata line.
        status: Fallback status from the tail (SPEC 2.2): ``idle``, ``busy`` or ``waiting``;
            None when no deciding record was read.
        status_reason: Why, for the user (e.g. ``"transcript: tool_use Bash, quiet 42 s"``).
        bucket_s: Bucket width of :attr:`buckets`, seconds.
        window_s: Window :meth:`series` covers by default, seconds.
        buckets: ``(bucket index, output tokens)`` pairs, ascending; a bucket starts at
            ``index * bucket_s`` seconds since the epoch. Only the window is kept.
        modified_at: The file's mtime at the last poll, seconds since the epoch.
        partial: Reading began after the file's start (tail-only open).
        behind: Unread bytes remain (the read budget ran out): poll again.
        lines: Complete lines read; bad_lines: of those, not a JSON object;
            oversized_lines: skipped for exceeding ``max_line_bytes``.
        revision: Incremented on every change.
    """

    path: Path
    exists: bool = False
    model: str | None = None
    context_used: int | None = None
    context_window: int = DEFAULT_CONTEXT_WINDOW
    output_tokens: int = 0
    api_calls: int = 0
    turns: int = 0
    last_prompt: str | None = None
    last_activity_at: float | None = None
    title: str | None = None
    status: Status | None = None
    status_reason: str | None = None
    bucket_s: float = 60.0
    window_s: float = 1800.0
    buckets: tuple[tuple[int, int], ...] = ()
    modified_at: float | None = None
    partial: bool = False
    behind: bool = False
    lines: int = 0
    bad_lines: int = 0
    oversized_lines: int = 0
    revision: int = 0

    @property
    def context_fraction(self) -> float | None:
        """``context_used / context_window`` (may exceed 1.0), or None when unknown."""
        if self.context_used is None or self.context_window <= 0:
            return None
        return self.context_used / self.context_window

    @property
    def headline(self) -> tuple[object, ...]:
        """The facts whose change the user should see at once, as one comparable tuple.

        Whether the file exists, the fallback status and its reason, the model, the title,
        the context window and the context used in whole percent (as the ``CTX`` column shows
        it). The rest (output totals, turns, the activity buckets, the last prompt and the
        last activity time) moves with every record while an agent works; a store may show
        changes of only those at a slower pace.
        """
        fraction = self.context_fraction
        percent = None if fraction is None else round(fraction * 100)
        return (
            self.exists,
            self.status,
            self.status_reason,
            self.model,
            self.title,
            self.context_window,
            percent,
        )

    def series(self, now_s: float, count: int | None = None) -> tuple[int, ...]:
        """Return output tokens per bin over the window ending at ``now_s``, oldest first.

        Args:
            now_s: End of the window, seconds since the epoch.
            count: Number of bins (default: ``window_s / bucket_s``). Bins are
                ``window_s / count`` wide; a stored bucket counts in the bin of its start.

        Returns:
            ``count`` integers (tokens).
        """
        n = count if count is not None else max(1, round(self.window_s / self.bucket_s))
        if n <= 0:
            return ()
        # The window ends at the end of the bucket holding ``now_s``.
        end_s = (math.floor(now_s / self.bucket_s) + 1) * self.bucket_s
        start_s = end_s - self.window_s
        width = self.window_s / n
        bins = [0] * n
        for index, tokens in self.buckets:
            at = index * self.bucket_s
            if start_s <= at < end_s:
                bins[min(n - 1, int((at - start_s) // width))] += tokens
        return tuple(bins)


# -- the reader -------------------------------------------------------------------------------


def _count(value: object) -> int | None:
    """Return a token count if ``value`` is a sane one (a non-negative int, not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value < _MAX_TOKENS else None


def _texts(content: object) -> tuple[list[str], bool]:
    """Return (text pieces, has a tool_result) of a message ``content`` (str or block list)."""
    if isinstance(content, str):
        return [content], False
    texts: list[str] = []
    tool_result = False
    if isinstance(content, list):
        for block in content:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif kind == "tool_result":
                tool_result = True
    return texts, tool_result


_TAG_RE = re.compile(r"<(command-name|command-args|bash-input)>(.*?)</\1>", re.DOTALL)


def _one_line(text: str) -> str:
    """Return ``text`` as one line of plain printable text of at most 200 characters."""
    return printable(" ".join(text.split()), max_len=MAX_PROMPT_CHARS)


def _prompt_text(text: str) -> tuple[str | None, str]:
    """Classify a user text: return (prompt to show or None, kind).

    Kinds: ``prompt``, ``command`` (a slash command or ``!`` shell input, shown as typed),
    ``output`` (local command output / caveats: not a prompt), ``interrupt``.
    """
    stripped = text.strip()
    if stripped.startswith(_INTERRUPTED):
        return None, "interrupt"
    if stripped.startswith(("<local-command-", "<bash-stdout", "<bash-stderr", "<command-")):
        tags = {m.group(1): m.group(2).strip() for m in _TAG_RE.finditer(stripped)}
        if "command-name" in tags:
            shown = f"{tags['command-name']} {tags.get('command-args', '')}".strip()
            return shown, "command"
        return None, "output"
    if stripped.startswith("<bash-input>"):
        tags = {m.group(1): m.group(2).strip() for m in _TAG_RE.finditer(stripped)}
        return f"! {tags.get('bash-input', '')}".rstrip(), "command"
    return (stripped or None), "prompt"


@dataclass(frozen=True, slots=True)
class _Tail:
    """The last deciding record (SPEC 2.2 fallback status)."""

    kind: str = ""  # "", "idle", "busy", "tool"
    reason: str = ""
    tool: str = ""


#: The tail of an assistant record that ended its turn, by ``stop_reason`` (never mutated).
_IDLE_TAILS = {stop: _Tail("idle", f"transcript: {stop}") for stop in _IDLE_STOP_REASONS}


class TranscriptReader:
    """Incremental reader of one Claude Code transcript.

    Each :meth:`poll` reads only the bytes appended since the last one (at most
    ``max_read_bytes``) through a :class:`~sessiontui.model.jsonl_tail.JsonlTail`. The first
    open of a file, and the first read after the file shrank, was replaced (another inode) or
    rewritten in place, starts at its last ``tail_bytes`` and drops the partial first line; a
    start-over also resets every derived fact. A line longer than ``max_line_bytes`` is
    skipped without being held (only its first 4 KiB are kept, to classify it); malformed
    lines and unknown record types are ignored. A symbolic link, FIFO or directory counts as
    no file. Never raises for anything found in or about the file.

    Not thread-safe: one thread (the store's) calls it.

    Args:
        path: The transcript file (it may not exist yet).
        settings: Limits, buckets, context windows.
        clock: Returns the time in seconds since the epoch (for the window and ``quiet_s``).
    """

    def __init__(
        self,
        path: Path,
        settings: TranscriptSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.settings = settings or TranscriptSettings()
        self._clock = clock
        self.tail = JsonlTail(
            path,
            tail_bytes=self.settings.tail_bytes,
            max_line_bytes=self.settings.max_line_bytes,
            max_read_bytes=self.settings.max_read_bytes,
        )
        """The file's :class:`~sessiontui.model.jsonl_tail.JsonlTail` (offset, held bytes)."""
        self._mtime: float | None = None
        self._exists = False
        self._behind = False
        self._revision = 0
        self._facts = TranscriptFacts(
            path=path, bucket_s=self.settings.bucket_s, window_s=self.settings.window_s
        )
        self._published: tuple[object, ...] = ()  # the values of :attr:`facts` (see _publish)
        self._window: tuple[str | None, int] = (None, self.settings.default_context_window)
        self._reset_facts()
        self._publish()  # the values of the facts before any poll: revision 0
        self._revision = 0
        self._facts = _new_facts(*self._published, 0)

    # -- public -----------------------------------------------------------------------------

    @property
    def facts(self) -> TranscriptFacts:
        """The facts as of the last :meth:`poll` (an immutable value)."""
        return self._facts

    @property
    def offset(self) -> int:
        """Bytes of the file consumed so far (the next read starts here)."""
        return self.tail.offset

    def poll(self) -> bool:
        """Read what was appended since the last poll and update :attr:`facts`.

        Returns:
            True when :attr:`facts` changed (including the fallback status turning ``waiting``
            because the file stayed quiet, and the file appearing or disappearing).
        """
        before = self._facts.revision
        self._read()
        self._publish()
        return self._facts.revision != before

    # -- reading ----------------------------------------------------------------------------

    def _read(self) -> None:
        try:
            read = self.tail.read()
        except OSError:
            # Missing, or unreadable (permission, a FIFO, a link): keep the last facts.
            self._exists = False
            self._behind = False
            return
        self._exists = True
        self._mtime = read.modified_at
        self._behind = read.behind
        if read.reset:
            self._reset_facts()
            self._partial = read.tail_only
        for line in read.lines:
            if isinstance(line, Oversized):
                self._oversized(line.prefix)
            else:
                self._line(line)

    # -- records ----------------------------------------------------------------------------

    def _reset_facts(self) -> None:
        self._partial = False
        self._buckets: dict[int, int] = {}
        self._seen: OrderedDict[str, tuple[int | None, int]] = OrderedDict()
        self._output_tokens = 0
        self._api_calls = 0
        self._turns = 0
        self._model: str | None = None
        self._raw_model: str | None = None  # ``message.model`` as read, before printable()
        self._context_used: int | None = None
        self._last_prompt: str | None = None
        self._last_activity: float | None = None
        self._title: str | None = None
        self._tail = _Tail()
        self._tail_at: float | None = None  # ``timestamp`` of the record that set the tail
        self._record_at: float | None = None  # ``timestamp`` of the record being read
        self._lines = 0
        self._bad_lines = 0
        self._oversized_lines = 0

    def _oversized(self, prefix: bytes) -> None:
        """Account for a skipped oversized line, classified by its first bytes only."""
        self._lines += 1
        self._oversized_lines += 1
        # Claude writes "type" before "message", so the prefix names the record type.
        text = prefix.replace(b" ", b"")
        if b'"isSidechain":true' in text or b'"isMeta":true' in text:
            return
        if b'"type":"user"' in text:
            self._record_at = None  # not parsed: its time is unknown
            self._set_tail(_Tail("busy", "transcript: large user record (tool result)"))

    def _line(self, raw: bytes) -> None:
        if not raw.strip():
            return
        self._lines += 1
        record = parse_object(raw)
        if record is None:
            self._bad_lines += 1
            return
        try:
            self._record(record)
        except (ValueError, TypeError, OverflowError, RecursionError):
            self._bad_lines += 1  # a record of a shape we did not expect: skip it

    def _record(self, record: dict[str, Any]) -> None:
        kind = record.get("type")
        if kind in ("custom-title", "agent-name"):
            for key in ("customTitle", "agentName", "title", "name"):
                value = record.get(key)
                if isinstance(value, str) and value.strip():
                    self._title = printable(value.strip(), max_len=MAX_PROMPT_CHARS)
                    return
            return
        if kind == "last-prompt" and self._last_prompt is None:
            value = record.get("lastPrompt")
            if isinstance(value, str) and value.strip():
                self._last_prompt = _one_line(value)
            return
        if kind not in ("user", "assistant", "system", "attachment"):
            return  # metadata and unknown types (SPEC 2.2)
        at = parse_timestamp(record.get("timestamp"))
        self._record_at = at
        if at is not None and (self._last_activity is None or at > self._last_activity):
            self._last_activity = at
        sidechain = record.get("isSidechain") is True
        meta = record.get("isMeta") is True
        if kind == "assistant":
            self._assistant(record, at, sidechain)
        elif kind == "user" and not sidechain and not meta:
            self._user(record)
        elif kind == "system" and not sidechain:
            # 2.1.197 writes system/turn_duration with isMeta: true; it still ends the turn.
            subtype = record.get("subtype")
            if subtype == "turn_duration":
                self._set_tail(_Tail("idle", "transcript: turn ended"))
            elif subtype == "api_error":
                self._set_tail(_Tail("idle", "transcript: API error"))

    def _assistant(self, record: dict[str, Any], at: float | None, sidechain: bool) -> None:
        message = record.get("message")
        if not isinstance(message, dict):
            return
        usage = message.get("usage")
        output = _count(usage.get("output_tokens")) if isinstance(usage, dict) else None
        message_id = message.get("id")
        request_id = record.get("requestId")
        if output is not None:
            self._add_output(message_id, request_id, at, output)
        if sidechain:
            return
        model = message.get("model")
        synthetic = model == "<synthetic>"
        if isinstance(model, str) and model and not synthetic and model != self._raw_model:
            self._raw_model = model  # every record names it: made printable once
            self._model = printable(model, max_len=100)
        if isinstance(usage, dict) and not synthetic:
            used, known = 0, False
            for key in _CONTEXT_KEYS:
                part = _count(usage.get(key))
                if part is not None:
                    used += part
                    known = True
            if known:
                self._context_used = used
        if record.get("isApiErrorMessage") is True:
            self._set_tail(_Tail("idle", "transcript: API error"))
            return
        content = message.get("content")
        last = content[-1] if isinstance(content, list) and content else None
        if isinstance(last, dict) and last.get("type") == "tool_use":
            name = last.get("name")
            tool = printable(name, max_len=40) if isinstance(name, str) else "tool"
            self._set_tail(_Tail("tool", "", tool))
        elif (stop := message.get("stop_reason")) in _IDLE_STOP_REASONS:
            self._set_tail(_IDLE_TAILS[stop])
        else:
            self._set_tail(_Tail("busy", "transcript: model answering"))

    def _add_output(
        self, message_id: object, request_id: object, at: float | None, output: int
    ) -> None:
        index = int(at // self.settings.bucket_s) if at is not None else None
        if isinstance(message_id, str) and message_id:
            key = f"{message_id}\x00{request_id if isinstance(request_id, str) else ''}"
            seen = self._seen.get(key)
            if seen is not None:
                # One API message split into several records repeats its usage: count it once,
                # and only the growth if a later record reports more.
                old_index, old_output = seen
                if output <= old_output:
                    return
                delta = output - old_output
                self._seen[key] = (old_index, output)
                self._output_tokens += delta
                if old_index is not None:
                    self._buckets[old_index] = self._buckets.get(old_index, 0) + delta
                return
            self._seen[key] = (index, output)
            if len(self._seen) > 4096:
                self._seen.popitem(last=False)
        self._api_calls += 1
        self._output_tokens += output
        if index is not None:
            self._buckets[index] = self._buckets.get(index, 0) + output

    def _user(self, record: dict[str, Any]) -> None:
        message = record.get("message")
        if not isinstance(message, dict):
            return
        texts, tool_result = _texts(message.get("content"))
        if tool_result:
            self._set_tail(_Tail("busy", "transcript: tool result sent"))
            return
        for text in texts:
            shown, kind = _prompt_text(text)
            if kind == "interrupt":
                self._set_tail(_Tail("idle", "transcript: interrupted by user"))
                return
            if kind == "output":
                continue
            if shown:
                self._last_prompt = _one_line(shown)
                if kind == "prompt":
                    self._turns += 1
                    self._set_tail(_Tail("busy", "transcript: user prompt sent"))
                return

    def _set_tail(self, tail: _Tail) -> None:
        """Make ``tail`` the deciding record, unless the one deciding now is newer.

        Claude Code sometimes writes a turn's user record after the assistant records that
        answer it (their ``timestamp`` fields keep the true order): a record older than the
        deciding one changes nothing. Records without a time always decide.
        """
        at = self._record_at
        if at is not None and self._tail_at is not None and at < self._tail_at:
            return
        self._tail = tail
        self._tail_at = at

    # -- publishing -------------------------------------------------------------------------

    def _status(self, now_s: float) -> tuple[Status | None, str | None]:
        tail = self._tail
        if tail.kind == "idle":
            return Status.IDLE, tail.reason
        if tail.kind == "busy":
            return Status.BUSY, tail.reason
        if tail.kind == "tool":
            quiet = now_s - self._mtime if self._mtime is not None else 0.0
            if quiet >= self.settings.quiet_s:
                return (
                    Status.WAITING,
                    f"transcript: tool_use {tail.tool} unanswered for {int(quiet)} s"
                    " (permission prompt?)",
                )
            return Status.BUSY, f"transcript: tool_use {tail.tool} running"
        return None, None

    def _publish(self) -> None:
        """Make :attr:`facts` a new value (next revision) if anything in it changed."""
        now_s = self._clock()
        bucket_s = self.settings.bucket_s
        oldest = math.floor(now_s / bucket_s) - math.ceil(self.settings.window_s / bucket_s)
        for index in [i for i in self._buckets if i < oldest]:
            del self._buckets[index]
        status, reason = self._status(now_s)
        if self._window[0] != self._model:
            window = context_window_for(
                self._model,
                self.settings.context_windows,
                default=self.settings.default_context_window,
            )
            self._window = (self._model, window)
        # TranscriptFacts' fields in their order, revision left out.
        values: tuple[Any, ...] = (
            self.path,
            self._exists,
            self._model,
            self._context_used,
            self._window[1],
            self._output_tokens,
            self._api_calls,
            self._turns,
            self._last_prompt,
            self._last_activity,
            self._title,
            status,
            reason,
            bucket_s,
            self.settings.window_s,
            tuple(sorted(self._buckets.items())),
            self._mtime,
            self._partial,
            self._behind,
            self._lines,
            self._bad_lines,
            self._oversized_lines,
        )
        if values == self._published:
            return
        self._published = values
        self._revision += 1
        self._facts = _new_facts(*values, self._revision)


#: :class:`TranscriptFacts` built from its field values in order (see ``_publish``).
_new_facts: Callable[..., TranscriptFacts] = TranscriptFacts


# -- the tracker ------------------------------------------------------------------------------


#: Most :meth:`TranscriptTracker.refresh` calls between two looks for a missing transcript
#: (16: about 30 s at the monitor's 2 s sample).
LOCATE_BACKOFF_MAX = 16


@dataclass(slots=True)
class _Tracked:
    cwd: str
    session_id: str | None
    started_at_ms: int | None
    folder: Path
    path: Path | None = None
    misses: int = 0  # failed locates in a row (the next one waits 2**misses refreshes)
    retry_at: int = 0  # the refresh count from which the next locate may run


class TranscriptTracker:
    """Transcript readers keyed by session, for the store.

    The store calls :meth:`track` for every Claude session it knows (again whenever its
    ``cwd``/``sessionId`` change), :meth:`update` with a path when the watcher reports a change
    under ``projects_dir``, :meth:`refresh` on its slow timer (it also finds transcripts that
    appeared late and turns quiet ``tool_use`` tails into ``waiting``), :meth:`forget` when a
    session goes away, and reads :meth:`facts`. Sessions sharing one file share one reader.

    Not thread-safe: call it from the store's one worker thread.

    Args:
        projects_dir: ``<claude base>/projects`` (``$CLAUDE_CONFIG_DIR/projects`` or
            ``~/.claude/projects``).
        settings: Reader settings.
        clock: Returns the time in seconds since the epoch.
    """

    def __init__(
        self,
        projects_dir: Path,
        settings: TranscriptSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.projects_dir = projects_dir
        self.settings = settings or TranscriptSettings()
        self._clock = clock
        self._sessions: dict[str, _Tracked] = {}
        self._readers: dict[Path, TranscriptReader] = {}
        self._refreshes = 0
        # Session keys by transcript, transcripts by folder (None: a session there has no file
        # yet); rebuilt on use after a session or its path changed (see _indexed).
        self._index: tuple[dict[Path, list[str]], dict[Path, set[Path] | None]] | None = None

    def track(
        self, key: str, *, cwd: str | None, session_id: str | None, started_at_ms: int | None
    ) -> bool:
        """Start (or keep) following the transcript of session ``key``, and read it.

        Cheap when nothing changed: an unchanged ``(cwd, session_id, started_at_ms)`` does
        nothing, whether its file is known or not found yet: a missing file is looked for by
        :meth:`refresh` on its backoff, and at once by :meth:`update` on a watcher event (the
        store calls this on every rescan, for every live session).

        Args:
            key: The store's stable session key.
            cwd: The session's working directory (None: nothing to follow).
            session_id: ``sessionId`` (validated: an invalid one means no transcript).
            started_at_ms: ``startedAt``, milliseconds since the epoch.

        Returns:
            True when the session's facts changed.
        """
        if not cwd:
            return self.forget(key)
        current = self._sessions.get(key)
        wanted = (cwd, session_id, started_at_ms)
        if current is not None and (current.cwd, current.session_id, current.started_at_ms) == (
            wanted
        ):
            return False
        folder = self.projects_dir / encode_project_dir(cwd)
        self._sessions[key] = _Tracked(cwd, session_id, started_at_ms, folder)
        self._index = None
        changed = self._locate(key)
        return changed or (current is not None and current.path is not None)

    def forget(self, key: str) -> bool:
        """Stop following session ``key``; return True when it was followed."""
        tracked = self._sessions.pop(key, None)
        if tracked is None:
            return False
        self._index = None
        self._drop_unused(tracked.path)
        return True

    def update(self, path: Path) -> bool:
        """Read ``path`` after a watcher event (modified, created, moved or deleted).

        A path no session follows yet may be the late transcript of one (created after it
        registered): sessions without a file in that folder are located again.

        Args:
            path: The changed file (any path; others are ignored cheaply).

        Returns:
            True when the facts of at least one session changed.
        """
        reader = self._readers.get(path)
        if reader is not None:
            return reader.poll()
        if path.suffix != ".jsonl":
            return False
        changed = False
        for key, tracked in list(self._sessions.items()):
            if tracked.path is None and path.parent == tracked.folder:
                changed = self._locate(key) or changed
        return changed

    def refresh(self) -> set[str]:
        """Poll every reader and locate missing transcripts (the slow timer).

        A transcript not found is looked for again after 1, 2, 4 … refreshes, at most every
        :data:`LOCATE_BACKOFF_MAX` (Claude creates it with the first prompt; a watched folder
        reports it at once through :meth:`update`); a followed file that vanished is looked
        for at once.

        Returns:
            Keys of the sessions whose facts changed.
        """
        self._refreshes += 1
        changed: set[str] = set()
        for key, tracked in list(self._sessions.items()):
            if tracked.path is None and self._refreshes < tracked.retry_at:
                continue
            if (tracked.path is None or not _is_regular(tracked.path)) and self._locate(key):
                changed.add(key)
        polled: dict[Path, bool] = {}
        for key, tracked in self._sessions.items():
            if tracked.path is None:
                continue
            if tracked.path not in polled:
                polled[tracked.path] = self._readers[tracked.path].poll()
            if polled[tracked.path]:
                changed.add(key)
        return changed

    def facts(self, key: str) -> TranscriptFacts | None:
        """The facts of session ``key``, or None when it has no transcript (yet)."""
        tracked = self._sessions.get(key)
        if tracked is None or tracked.path is None:
            return None
        return self._readers[tracked.path].facts

    def keys_for(self, path: Path) -> list[str]:
        """Keys of the sessions that follow ``path``."""
        return list(self._indexed()[0].get(path, ()))

    def offset(self, path: Path) -> int | None:
        """Bytes of ``path`` read so far (see :attr:`TranscriptReader.offset`), None if unread."""
        reader = self._readers.get(path)
        return None if reader is None else reader.offset

    def paths_in(self, folder: Path) -> set[Path] | None:
        """The transcripts followed in project folder ``folder``.

        Returns:
            Their paths (a new set), or None when a session of that folder has no transcript
            yet (it is looked for when a file appears there: the folder must stay watched).
        """
        paths = self._indexed()[1].get(folder, set())
        return None if paths is None else set(paths)

    def _indexed(self) -> tuple[dict[Path, list[str]], dict[Path, set[Path] | None]]:
        """Session keys by transcript and transcripts by folder (see ``_index``)."""
        if self._index is None:
            keys: dict[Path, list[str]] = {}
            folders: dict[Path, set[Path] | None] = {}
            for key, tracked in self._sessions.items():
                if tracked.path is None:
                    folders[tracked.folder] = None
                    continue
                keys.setdefault(tracked.path, []).append(key)
                paths = folders.setdefault(tracked.folder, set())
                if paths is not None:
                    paths.add(tracked.path)
            self._index = (keys, folders)
        return self._index

    def folders(self) -> set[Path]:
        """Project folders of the followed sessions (to watch, non-recursively)."""
        return {t.folder for t in self._sessions.values()}

    def keys(self) -> Iterable[str]:
        """Keys of every followed session."""
        return list(self._sessions)

    def _locate(self, key: str) -> bool:
        tracked = self._sessions[key]
        old = tracked.path
        path = find_transcript(
            self.projects_dir, tracked.cwd, tracked.session_id, tracked.started_at_ms
        )
        tracked.path = path
        self._index = None
        if old != path:
            self._drop_unused(old)
        if path is None:
            tracked.misses += 1
            tracked.retry_at = self._refreshes + min(2**tracked.misses, LOCATE_BACKOFF_MAX)
            return old is not None
        tracked.misses = 0
        reader = self._readers.get(path)
        if reader is None:
            reader = TranscriptReader(path, self.settings, clock=self._clock)
            self._readers[path] = reader
            reader.poll()
            return True
        return reader.poll() or old != path

    def _drop_unused(self, path: Path | None) -> None:
        if path is not None and all(t.path != path for t in self._sessions.values()):
            self._readers.pop(path, None)
