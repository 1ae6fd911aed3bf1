"""Process liveness and start times, CPU of process trees, and the SIGTERM/SIGKILL cascade.

Linux is the first-class platform: liveness reads ``/proc/<pid>/stat`` directly because it runs
for hundreds of PIDs every couple of seconds. Elsewhere the same functions fall back to
``os.kill(pid, 0)`` and psutil (SPEC 2.1, 2.6).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from sessiontui.errors import KillRefused
from sessiontui.model.procstat import PID_MAX as PID_MAX
from sessiontui.model.procstat import proc_stat as _proc_stat
from sessiontui.model.procstat import read_proc_start as read_proc_start

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping

#: Seconds to wait for processes to vanish after SIGKILL.
KILL_WAIT_S: float = 2.0

_ON_LINUX = sys.platform.startswith("linux")
_EXITED_STATES = frozenset({"Z", "X", "x"})  # zombie, dead (as in /proc/<pid>/stat)
_EXITED_STATUSES = frozenset({psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD})


def _valid_pid(pid: int) -> bool:
    return 0 < pid <= PID_MAX


def _lstart(create_time: float) -> str:
    """Format a start time like ``ps -o lstart=`` (Claude Code's ``procStart`` on macOS)."""
    return time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(create_time))


def _same_start(recorded: str, actual: str) -> bool:
    return recorded.split() == actual.split()


def _psutil_start_matches(proc: psutil.Process, proc_start: str) -> bool:
    """Compare ``proc_start`` with a process's start time via psutil (non-Linux fallback)."""
    if _ON_LINUX:
        actual = read_proc_start(proc.pid)
        return actual is not None and _same_start(proc_start, actual)
    return _same_start(proc_start, _lstart(proc.create_time()))


#: Files naming the machine's id (systemd's, then D-Bus's), for :func:`local_pid_domain`.
_MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")


@functools.cache
def local_pid_domain() -> str | None:
    """This process's PID domain as Claude Code 2.1.332 writes it in ``pidDomain``.

    ``linux:<machine-id>:pid:[<inode>]``: the machine id and the PID namespace of
    ``/proc/self/ns/pid`` (SPEC 2.1). ``None`` where either cannot be read (not Linux, no
    machine id): then no file is judged foreign.
    """
    try:
        namespace = str(Path("/proc/self/ns/pid").readlink())
    except OSError:
        return None
    for name in _MACHINE_ID_FILES:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            machine = Path(name).read_text(encoding="ascii").strip()
            if machine:
                return f"linux:{machine}:{namespace}"
    return None


def foreign_pid_domain(extra: Mapping[str, object]) -> str | None:
    """The ``pidDomain`` of a registry entry's extra fields when it is not this one's.

    A file written in another PID namespace or on another machine (a shared home directory)
    names a PID that means nothing here: it is never checked against local processes,
    signalled or deleted as dead.

    Returns:
        The foreign domain, or ``None`` (ours, absent, not a string, or ours unknown).
    """
    domain = extra.get("pidDomain")
    local = local_pid_domain()
    if not isinstance(domain, str) or local is None or domain == local:
        return None
    return domain


def running_pids() -> frozenset[int] | None:
    """Every PID that exists now, from one listing of ``/proc`` (``psutil.pids``).

    Much cheaper than a ``kill(pid, 0)`` each for thousands of PIDs. A PID not in the set did
    not exist when it was taken; one in it may still have exited or be another program (ask
    :func:`is_alive`).

    Returns:
        The PIDs, or ``None`` when ``/proc`` cannot answer for every process of this PID
        namespace (not Linux, not mounted, another namespace's ``/proc``, or mounted with
        ``hidepid``, which hides PID 1 and every other user's process).
    """
    try:
        if str(Path("/proc/self").readlink()) != str(os.getpid()):
            return None
        pids = frozenset(psutil.pids())
    except (OSError, psutil.Error):
        return None
    return pids if 1 in pids else None


def is_alive(pid: int, proc_start: str | None) -> bool:
    """Tell whether a registry entry's process still runs (SPEC 2.1).

    Alive iff the PID exists, is not a zombie, and ``proc_start`` is ``None`` or equals the
    running process's start time (otherwise the PID was reused by another program). A process
    that exists but cannot be inspected (permission denied) counts as alive. On Linux this costs
    one read of ``/proc/<pid>/stat``.

    Args:
        pid: Process id; ``<= 0`` or above :data:`PID_MAX` is never alive.
        proc_start: The registry's ``procStart`` (Linux: clock ticks since boot as a decimal
            string; macOS: ``ps -o lstart=`` text), or ``None`` to skip the identity check.

    Returns:
        ``True`` when alive.
    """
    if not _valid_pid(pid):
        return False
    try:  # the cheapest test first: most stale entries name PIDs that do not exist at all
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # it exists (e.g. PermissionError): look closer below
    fields = _proc_stat(pid)
    if fields is not None:
        state, start = fields
        if state in _EXITED_STATES:
            return False
        return proc_start is None or _same_start(proc_start, start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, but belongs to someone we may not inspect
    except OSError:
        return False
    # It exists but /proc did not show it (not Linux, hidepid, or a race with its start).
    try:
        proc = psutil.Process(pid)
        if proc.status() in _EXITED_STATUSES:
            return False
        return proc_start is None or _psutil_start_matches(proc, proc_start)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True


def _identity_token(pid: int) -> str | None:
    """Return a string that changes when ``pid`` is reused, or ``None`` if it does not exist."""
    if _ON_LINUX:
        return read_proc_start(pid)
    try:
        return repr(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def _proc_children(pid: int) -> list[int]:
    """Direct children of ``pid`` from ``/proc/<pid>/task/*/children`` (Linux, proc(5)).

    A child is listed under the thread that forked it, so every thread's file is read. A
    process that is gone (or any read error) has no children.
    """
    out: list[int] = []
    try:
        with os.scandir(f"/proc/{pid}/task") as tasks:
            paths = [f"{task.path}/children" for task in tasks]
    except OSError:
        return out
    for path in paths:
        try:
            out.extend(int(field) for field in Path(path).read_bytes().split())
        except (OSError, ValueError):
            continue
    return out


#: ``/proc/<pid>/task/<tid>/children`` exists (Linux with CONFIG_PROC_CHILDREN).
_PROC_CHILDREN = _ON_LINUX and Path(f"/proc/self/task/{os.getpid()}/children").exists()


def _cpu(proc: psutil.Process) -> float:
    try:
        return float(proc.cpu_percent(interval=None))
    except psutil.Error:
        return 0.0


class ProcessTable:
    """Keeps one :class:`psutil.Process` per process identity so CPU deltas are meaningful.

    ``psutil.Process.cpu_percent(None)`` measures since the previous call *on the same object*,
    so the table caches objects by PID and replaces one only when the PID was reused. The
    descendants are read from ``/proc`` children lists on Linux; elsewhere a parent→children
    map (a pass over every process) is rebuilt at most every ``tree_ttl_s`` seconds and shared
    by all calls in between.

    Args:
        clock: Monotonic clock in seconds (injectable for tests).
        tree_ttl_s: How long a parent→children map may be reused, in seconds (not Linux).
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, tree_ttl_s: float = 1.0
    ) -> None:
        self._clock = clock
        self._tree_ttl_s = tree_ttl_s
        self._procs: dict[int, tuple[str, psutil.Process]] = {}
        self._trees: dict[int, frozenset[int]] = {}
        self._children: dict[int, list[int]] = {}
        self._children_at: float | None = None

    def get(self, pid: int) -> psutil.Process | None:
        """Return the cached process for ``pid`` (a new one if the PID was reused).

        Args:
            pid: Process id.

        Returns:
            The :class:`psutil.Process`, or ``None`` when no such process exists.
        """
        token = _identity_token(pid) if _valid_pid(pid) else None
        if token is None:
            self._procs.pop(pid, None)
            return None
        cached = self._procs.get(pid)
        if cached is not None and cached[0] == token:
            return cached[1]
        try:
            proc = psutil.Process(pid)
        except psutil.Error:
            self._procs.pop(pid, None)
            return None
        self._procs[pid] = (token, proc)
        return proc

    def _descendants(self, pid: int) -> list[int]:
        """Every descendant of ``pid`` (children first), from ``/proc`` children lists.

        On Linux with ``/proc/<pid>/task/<tid>/children`` this reads the tree below ``pid``
        only (a few files per agent); elsewhere it falls back to a parent→children map of
        every process, rebuilt at most every ``tree_ttl_s`` seconds.
        """
        children_of = _proc_children if _PROC_CHILDREN else self._mapped_children
        out: list[int] = []
        seen = {pid}
        stack = [pid]
        while stack:
            for child in children_of(stack.pop()):
                if child not in seen:
                    seen.add(child)
                    out.append(child)
                    stack.append(child)
        return out

    def _mapped_children(self, pid: int) -> list[int]:
        """Children of ``pid`` from the shared map of every process (the portable path)."""
        now = self._clock()
        if self._children_at is None or now - self._children_at >= self._tree_ttl_s:
            children: dict[int, list[int]] = {}
            for proc in psutil.process_iter(["ppid"]):
                ppid = proc.info.get("ppid")
                if isinstance(ppid, int) and ppid != proc.pid:
                    children.setdefault(ppid, []).append(proc.pid)
            self._children, self._children_at = children, now
        return self._children.get(pid, [])

    def cpu_percent(self, pid: int) -> float:
        """Return the CPU use of a process and its descendants since the previous call.

        Args:
            pid: The root process.

        Returns:
            Percent of one core (may exceed 100 with several busy threads or children);
            ``0.0`` on the first call for a process identity and when the process is gone.
        """
        root = self.get(pid)
        if root is None:
            self._trees.pop(pid, None)
            return 0.0
        total = _cpu(root)
        descendants = self._descendants(pid)
        for child_pid in descendants:
            child = self.get(child_pid)
            if child is not None:
                total += _cpu(child)
        self._trees[pid] = frozenset(descendants)
        return total

    def prune(self, keep: Iterable[int]) -> None:
        """Forget every process except the roots in ``keep`` and their known descendants.

        Args:
            keep: PIDs of the root processes still of interest.
        """
        roots = set(keep)
        live = set(roots)
        for root in roots:
            live |= self._trees.get(root, frozenset())
        self._procs = {pid: v for pid, v in self._procs.items() if pid in live}
        self._trees = {pid: v for pid, v in self._trees.items() if pid in roots}


def environ_of(pid: int) -> dict[str, str] | None:
    """Return a process's environment (as it was at exec time on Linux).

    Returns:
        The variables, or ``None`` when the process is gone or may not be inspected.
    """
    try:
        return dict(psutil.Process(pid).environ())
    except (psutil.Error, OSError, ValueError):
        return None


def tty_of(pid: int) -> str | None:
    """Return a process's controlling terminal, e.g. ``/dev/pts/3``.

    Returns:
        The device path, or ``None`` without a terminal, or when gone or not inspectable.
    """
    try:
        return psutil.Process(pid).terminal()
    except (psutil.Error, OSError, ValueError):
        return None


def _read_ppid(pid: int) -> int | None:
    """Field 4 (``ppid``) of ``/proc/<pid>/stat``, or ``None`` (proc(5))."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    try:
        return int(fields[1])
    except (IndexError, ValueError):
        return None


def parent_chain(pid: int) -> list[int]:
    """Return a process's ancestors, nearest first, ending at PID 1 when 1 is an ancestor.

    On Linux the chain is read from ``/proc/<pid>/stat`` (about 10 µs a step; psutil's
    ``parents()`` re-verifies every ancestor and made start-up with hundreds of agents
    slow); elsewhere psutil is used.

    Returns:
        Ancestor PIDs; ``[]`` when the process is gone or may not be inspected.
    """
    if Path("/proc/self/stat").exists():
        chain: list[int] = []
        current = _read_ppid(pid)
        while current is not None and current > 0 and len(chain) < 256:
            chain.append(current)
            if current <= 1:
                break
            current = _read_ppid(current)
        return chain
    try:
        parents = psutil.Process(pid).parents()
    except (psutil.Error, OSError, ValueError):
        return []
    out: list[int] = []
    for parent in parents:
        out.append(parent.pid)
        if parent.pid <= 1:
            break
    return out


def _basic_refusal(pid: int) -> str | None:
    if pid <= 1 or pid > PID_MAX:
        return f"refusing to signal PID {pid}"
    if pid == os.getpid():
        return "refusing to signal sessiontui itself"
    return None


def _refusal(proc: psutil.Process, protected: set[int]) -> str | None:
    """Return why ``proc`` may not be signalled, or ``None`` (also ``None`` when it is gone)."""
    basic = _basic_refusal(proc.pid)
    if basic is not None:
        return basic
    if proc.pid in protected:
        return f"PID {proc.pid} is an ancestor of sessiontui; refusing to signal it"
    try:
        uid = proc.uids().real
    except psutil.NoSuchProcess:
        return None
    except (psutil.Error, OSError):
        return f"cannot tell who owns PID {proc.pid}; refusing to signal it"
    if uid != os.getuid():
        return f"PID {proc.pid} belongs to another user (uid {uid}); refusing to signal it"
    return None


def _protected() -> set[int]:
    me = os.getpid()
    return {me, *parent_chain(me)}


def check_signallable(pid: int) -> None:
    """Refuse to signal PIDs that must never be signalled (SPEC 2.6).

    A PID that does not exist is not refused (there is nothing to signal).

    Args:
        pid: Process id.

    Raises:
        KillRefused: ``pid <= 1``, our own process, one of our ancestors, or a process whose
            real uid is not ours (even when we are root), or whose owner cannot be read.
    """
    basic = _basic_refusal(pid)
    if basic is not None:
        raise KillRefused(basic)
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    except psutil.Error as error:
        raise KillRefused(f"cannot inspect PID {pid}; refusing to signal it") from error
    reason = _refusal(proc, _protected())
    if reason is not None:
        raise KillRefused(reason)


@dataclass(frozen=True, slots=True)
class KillReport:
    """What :func:`kill_tree` did.

    Attributes:
        pid: The root (agent) process.
        terminated: PIDs (root first) that got SIGTERM and ended within the grace period.
        killed: PIDs that survived the grace period and were sent SIGKILL.
        already_gone: The root process was gone (or a zombie) before anything was signalled.
    """

    pid: int
    terminated: tuple[int, ...]
    killed: tuple[int, ...]
    already_gone: bool


def _has_exited(proc: psutil.Process) -> bool:
    """True when ``proc`` is gone, a zombie, or its PID now names another process.

    Zombies count as exited: an orphan killed here is reaped by init, which may be slow or (in
    some containers) never happen, so waiting for the PID to disappear could block forever.
    """
    try:
        if proc.status() in _EXITED_STATUSES:
            return True
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        pass
    return not proc.is_running()


def _wait_exited(
    procs: list[psutil.Process], timeout_s: float
) -> tuple[list[psutil.Process], list[psutil.Process]]:
    """Poll until every process has exited or ``timeout_s`` passed; return (gone, alive)."""
    deadline = time.monotonic() + timeout_s
    alive = list(procs)
    gone: list[psutil.Process] = []
    interval = 0.005
    while True:
        still: list[psutil.Process] = []
        for proc in alive:
            (gone if _has_exited(proc) else still).append(proc)
        alive = still
        remaining = deadline - time.monotonic()
        if not alive or remaining <= 0:
            return gone, alive
        time.sleep(min(interval, remaining))
        interval = min(interval * 2, 0.05)


def kill_tree(
    pid: int,
    *,
    grace_s: float = 5.0,
    proc_start: str | None = None,
    only: Collection[int] | None = None,
) -> KillReport:
    """End a process and its descendants: SIGTERM, wait ``grace_s``, SIGKILL survivors.

    Descendants are collected before anything is signalled (they are reparented once their
    parent dies). Descendants that may not be signalled (another user's, ours) are skipped.
    The psutil objects are kept from before signalling, so psutil refuses to signal a PID that
    has been reused meanwhile. Blocks up to ``grace_s`` + :data:`KILL_WAIT_S` seconds.

    Args:
        pid: The agent process.
        grace_s: Seconds between SIGTERM and SIGKILL.
        proc_start: The registry's ``procStart``; when given and it does not match the running
            process, nothing is signalled.
        only: When given, only descendants whose PID is in it are signalled (a Codex TUI's
            tree without the shared daemon it started, see ``CodexSession.kill_targets``).

    Returns:
        A :class:`KillReport`; ``already_gone`` when the process did not exist.

    Raises:
        KillRefused: The PID was reused (``proc_start`` mismatch), or :func:`check_signallable`
            refuses the root process.
    """
    basic = _basic_refusal(pid)
    if basic is not None:
        raise KillRefused(basic)
    gone_report = KillReport(pid=pid, terminated=(), killed=(), already_gone=True)
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return gone_report
    except psutil.Error as error:
        raise KillRefused(f"cannot inspect PID {pid}; refusing to signal it") from error
    if _has_exited(root):
        return gone_report
    if proc_start is not None:
        try:
            matches = _psutil_start_matches(root, proc_start)
        except psutil.NoSuchProcess:
            return gone_report
        except psutil.Error:
            matches = False
        if not matches:
            if _has_exited(root):
                return gone_report
            raise KillRefused(f"PID {pid} was reused by another process; not killed")
    protected = _protected()
    reason = _refusal(root, protected)
    if reason is not None:
        raise KillRefused(reason)
    try:
        descendants = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return gone_report
    except psutil.Error:
        descendants = []
    if only is not None:
        allowed = set(only)
        descendants = [proc for proc in descendants if proc.pid in allowed]
    try:
        root.terminate()
    except psutil.NoSuchProcess:
        return gone_report
    except psutil.Error as error:
        raise KillRefused(f"not permitted to signal PID {pid}") from error
    signalled = [root]
    for proc in descendants:
        if _refusal(proc, protected) is not None:
            continue
        try:
            proc.terminate()
        except psutil.Error:
            continue  # gone, reused, or not permitted
        signalled.append(proc)

    gone, alive = _wait_exited(signalled, grace_s)
    killed: list[psutil.Process] = []
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            gone.append(proc)
            continue
        except psutil.Error:
            continue
        killed.append(proc)
    with contextlib.suppress(psutil.Error):
        _wait_exited(killed, KILL_WAIT_S)
    order = {proc.pid: i for i, proc in enumerate(signalled)}
    return KillReport(
        pid=pid,
        terminated=tuple(sorted((p.pid for p in gone), key=order.__getitem__)),
        killed=tuple(sorted((p.pid for p in killed), key=order.__getitem__)),
        already_gone=False,
    )
