"""``/proc/<pid>/stat`` read without psutil: a process's state and start time (Linux).

Kept apart from :mod:`sessiontui.model.processes` so that a reader that must start fast
(``sessiontui status`` answered from a running monitor's summary) imports nothing but ``os``.
"""

from __future__ import annotations

import os

__all__ = ["PID_MAX", "proc_stat", "read_proc_start"]

#: Largest PID Linux can hand out (``PID_MAX_LIMIT`` on 64-bit kernels); larger is absurd.
PID_MAX: int = 4_194_304


def proc_stat(pid: int) -> tuple[str, str] | None:
    """Return ``(state, starttime)`` from ``/proc/<pid>/stat`` (fields 3 and 22), or ``None``.

    ``comm`` (field 2) may contain spaces and parentheses, so fields are counted after the
    last ``)``; see proc(5).

    Args:
        pid: Process id; ``<= 0`` or above :data:`PID_MAX` gives ``None``.

    Returns:
        The state letter (``R``, ``S``, ``T``, ``Z``, …) and the start time in clock ticks
        since boot as a decimal string; ``None`` when the process does not exist, ``/proc`` is
        unavailable or the line is malformed.
    """
    if not 0 < pid <= PID_MAX:
        return None
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        raw = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    _, sep, rest = raw.rpartition(b")")
    fields = rest.split()
    if not sep or len(fields) < 20:  # field 22 is index 19 after the ')'
        return None
    state, start = fields[0], fields[19]
    if not start.isdigit():
        return None
    return state.decode("ascii", "replace"), start.decode("ascii")


def read_proc_start(pid: int) -> str | None:
    """Return a process's start time as Claude Code writes it in ``procStart`` (Linux).

    Args:
        pid: Process id.

    Returns:
        Field 22 of ``/proc/<pid>/stat`` (start time in clock ticks since boot) as a decimal
        string, or ``None`` when the process does not exist or ``/proc`` is unavailable.
    """
    fields = proc_stat(pid)
    return None if fields is None else fields[1]
