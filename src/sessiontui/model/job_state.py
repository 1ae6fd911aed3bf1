"""Read Claude Code background jobs' ``<base>/jobs/<id>/state.json`` (SPEC 2.1), as a hint.

Claude rewrites the file with a plain truncate-and-write, like the registry, so a read can see
it empty or half-written: :class:`JobStateReader` keeps the last good value and reports a
problem only when reads keep failing. The file is untrusted: its size is capped, every field
is type-checked, and nothing in it can raise out of :func:`parse_job_state`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sessiontui.model.claude_jobs import validate_job_id
from sessiontui.model.files import UnreadableFile, read_small_file
from sessiontui.model.registry import MAX_TIME_MS, RegistryParseError, decode_json_object
from sessiontui.model.types import JobState, JobTask

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

#: Files larger than this many bytes are not read (a state with a long ``fan[]`` is a few KiB).
MAX_STATE_BYTES: int = 256 * 1024

#: A file modified this recently (ns) may change again with the same stat key.
_RACY_NS = 2_000_000_000

#: At most this many ``fan[]`` entries are kept.
MAX_FAN: int = 200

#: Longest text kept of ``state``, ``detail`` and the text fields of ``fan[]`` entries.
MAX_TEXT_CHARS: int = 500


def state_path(base: Path, job_id: str) -> Path | None:
    """Return ``<base>/jobs/<job_id>/state.json``, or ``None`` for an invalid job id.

    Args:
        base: The Claude base directory (the registry directory's parent).
        job_id: ``jobId`` or ``parkedJobId`` from a registry file (untrusted: it must pass
            :func:`~sessiontui.model.claude_jobs.validate_job_id`, so it never names
            another directory).
    """
    try:
        validate_job_id(job_id)
    except ValueError:
        return None
    return base / "jobs" / job_id / "state.json"


def _text(value: object) -> str | None:
    return value[:MAX_TEXT_CHARS] if isinstance(value, str) else None


def _time_ms(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TIME_MS:
        return value
    return None


def _count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 53:
        return value
    return None


def _task(item: object) -> JobTask | None:
    if not isinstance(item, dict):
        return None
    return JobTask(
        id=_text(item.get("id")) or "",
        kind=_text(item.get("kind")) or "",
        label=_text(item.get("label")) or "",
        started_at_ms=_time_ms(item.get("startedAt")),
        done_at_ms=_time_ms(item.get("doneAt")),
        failed=item.get("failed") is True,
    )


def _tokens(value: object) -> tuple[tuple[str, int], ...]:
    if (count := _count(value)) is not None:
        return (("total", count),)
    if not isinstance(value, dict):
        return ()
    out: list[tuple[str, int]] = []
    for key, item in list(value.items())[:16]:
        if (count := _count(item)) is not None:
            out.append((key[:40], count))
    return tuple(out)


def parse_job_state(path: Path, data: bytes) -> JobState:
    """Parse the bytes of a ``state.json``; never raises.

    Args:
        path: The file (kept in the result).
        data: Its bytes.

    Returns:
        The state; fields of the wrong type are left out, unknown keys ignored. Bytes that
        are no JSON object give a state whose ``problem`` says why (``"empty file"``,
        ``"invalid UTF-8"``, ``"not JSON"``, ``"not a JSON object"``).
    """
    try:
        obj = decode_json_object(data)
    except RegistryParseError as error:
        return JobState(path=path, problem=str(error))
    fan_value = obj.get("fan")
    fan: list[JobTask] = []
    if isinstance(fan_value, list):
        for item in fan_value[:MAX_FAN]:
            task = _task(item)
            if task is not None:
                fan.append(task)
    return JobState(
        path=path,
        state=_text(obj.get("state")),
        detail=_text(obj.get("detail")),
        fan=tuple(fan),
        tokens=_tokens(obj.get("tokens")),
    )


@dataclass(slots=True)
class _Known:
    key: tuple[int, int, int] | None  # (mtime_ns, size, inode) of the last good read
    good: JobState | None  # the last good state
    failing_since: float | None  # clock() of the first failed read in a row
    last: JobState | None  # what read() returned last


class JobStateReader:
    """Reads ``state.json`` files, keeping the last good value across half-written reads.

    Not thread-safe: use it from one thread (the store's worker).

    Args:
        clock: Monotonic clock in seconds.
        unreadable_after_s: A file that keeps failing to parse for longer than this shows its
            problem; before that the last good state (if any) is returned.
        max_bytes: Larger files are not read (their problem says so).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        unreadable_after_s: float = 2.0,
        max_bytes: int = MAX_STATE_BYTES,
    ) -> None:
        self._clock = clock
        self._after_s = unreadable_after_s
        self._max_bytes = max_bytes
        self._known: dict[Path, _Known] = {}

    def read(self, path: Path) -> JobState | None:
        """Return the state in ``path``, or ``None`` when there is no such file.

        An unchanged file (same mtime, size and inode as at the last good read) is not read
        again. A read that fails (unreadable, too large, not a JSON object) returns the last
        good state while failures last at most ``unreadable_after_s``, then a state whose
        ``problem`` says why. Never raises.
        """
        known = self._known.get(path)
        try:
            lst = os.lstat(path)
        except FileNotFoundError:
            self._known.pop(path, None)
            return None
        except OSError as error:
            return self._failed(path, known, error.strerror or "cannot read")
        if known is not None and known.key == (lst.st_mtime_ns, lst.st_size, lst.st_ino):
            return known.last
        try:
            read_at_ns = time.time_ns()
            data, st = read_small_file(path, self._max_bytes)
        except FileNotFoundError:
            self._known.pop(path, None)
            return None
        except UnreadableFile as error:
            return self._failed(path, known, str(error))
        state = parse_job_state(path, data)
        if state.problem is not None:
            return self._failed(path, known, state.problem)
        # A file modified within a coarse timestamp tick of the read may change again with
        # the same stat: such a key is not trusted (the file is read again next time).
        racy = read_at_ns - st.st_mtime_ns < _RACY_NS
        key = None if racy else (st.st_mtime_ns, st.st_size, st.st_ino)
        self._known[path] = _Known(key=key, good=state, failing_since=None, last=state)
        return state

    def _failed(self, path: Path, known: _Known | None, problem: str) -> JobState:
        now = self._clock()
        if known is None:
            known = self._known[path] = _Known(None, None, now, None)
        if known.failing_since is None:
            known.failing_since = now
        known.key = None
        if known.good is not None and now - known.failing_since <= self._after_s:
            known.last = known.good
        else:
            known.last = JobState(path=path, problem=problem)
        return known.last

    def forget(self, keep: set[Path]) -> None:
        """Drop what is known about every file not in ``keep``."""
        for path in [p for p in self._known if p not in keep]:
            del self._known[path]
