"""Shared helpers for the benchmark scripts: registry entries, processes, private tmux servers.

Everything a benchmark starts is registered with a :class:`Cleanup` so it is torn down on normal
exit, on an exception, on Ctrl-C and on SIGTERM: child processes are killed and reaped, private
tmux servers are killed (and their sockets removed), temporary directories are deleted.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import stat
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from sessiontui.model.processes import read_proc_start

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import FrameType, TracebackType
    from typing import Self

#: Seconds a helper ``sleep`` lives at most, so even a SIGKILLed benchmark leaves no lasting mess.
SLEEP_S = 900

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """``preexec_fn``: ask Linux to SIGKILL the child when the benchmark process dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def clean_env(**extra: str) -> dict[str, str]:
    """``os.environ`` without ``TMUX``/``TMUX_PANE`` (we may run inside tmux), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    env.update(extra)
    return env


def isolated_env(root: Path, **extra: str) -> dict[str, str]:
    """Our environment for a ``sessiontui`` child living under ``root`` (a temporary directory).

    ``HOME``, ``CLAUDE_CONFIG_DIR`` (``root/claude``), the XDG directories and ``TMUX_TMPDIR``
    point under ``root`` (``home`` and ``tmux`` are created), ``$TMUX``/``$TMUX_PANE`` and
    ``$SESSIONTUI_CONFIG`` are dropped, and ``src/`` comes first on ``PYTHONPATH``.

    Args:
        root: The directory to live under.
        extra: More variables to set.
    """
    (root / "home").mkdir(exist_ok=True)
    (root / "tmux").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    env.pop("SESSIONTUI_CONFIG", None)
    src = str(Path(__file__).resolve().parent.parent / "src")
    env.update(
        HOME=str(root / "home"),
        CLAUDE_CONFIG_DIR=str(root / "claude"),
        XDG_CONFIG_HOME=str(root / "config"),
        XDG_STATE_HOME=str(root / "state"),
        XDG_CACHE_HOME=str(root / "cache"),
        TMUX_TMPDIR=str(root / "tmux"),
        PYTHONPATH=os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        **extra,
    )
    return env


def thread_split(proc: psutil.Process) -> tuple[float, float, float]:
    """CPU seconds of ``proc``: (its main thread, its other live threads, its reaped children)."""
    main = other = 0.0
    for thread in proc.threads():
        if thread.id == proc.pid:
            main += thread.user_time + thread.system_time
        else:
            other += thread.user_time + thread.system_time
    t = proc.cpu_times()
    return main, other, t.children_user + t.children_system


def now_ms() -> int:
    """Wall clock in milliseconds since the epoch (the registry's time unit)."""
    return int(time.time() * 1000)


def registry_entry(
    pid: int,
    *,
    name: str,
    status: str,
    proc_start: str | None = None,
    cwd: str = "/tmp/bench/project",
    session_id: str | None = None,
    started_at_ms: int | None = None,
    waiting_for: str | None = None,
) -> dict[str, object]:
    """A registry object shaped like Claude Code 2.1.197's ``<pid>.json`` (SPEC 2.1).

    Args:
        pid: The agent PID.
        name: Session name (``nameSource: derived``).
        status: ``busy``, ``idle``, ``waiting`` or ``shell``.
        proc_start: ``procStart`` (default: read from ``/proc/<pid>/stat`` now).
        cwd: Working directory.
        session_id: ``sessionId`` (default: a fresh UUID).
        started_at_ms: ``startedAt`` in ms since the epoch (default: now).
        waiting_for: ``waitingFor`` (written only with ``status == "waiting"``).

    Returns:
        The dict, in Claude Code's key order.
    """
    now = now_ms()
    data: dict[str, object] = {
        "pid": pid,
        "sessionId": session_id or str(uuid.uuid4()),
        "cwd": cwd,
        "startedAt": started_at_ms or now,
    }
    start = proc_start if proc_start is not None else read_proc_start(pid)
    if start is not None:
        data["procStart"] = start
    data.update(
        {
            "version": "2.1.197",
            "peerProtocol": 1,
            "kind": "interactive",
            "entrypoint": "cli",
            "name": name,
            "nameSource": "derived",
            "status": status,
            "updatedAt": now,
            "statusUpdatedAt": now,
        }
    )
    if status == "waiting":
        data["waitingFor"] = waiting_for or "permission prompt"
    return data


def write_like_claude(path: Path, data: dict[str, object]) -> None:
    """Write ``data`` the way Claude Code does: truncate-and-write compact JSON, not atomic."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    with path.open("w", encoding="utf-8") as f:
        f.write(text)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values`` by linear interpolation (numpy's default)."""
    data = sorted(values)
    if not data:
        return float("nan")
    pos = (len(data) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return float(statistics.median(values))


def verdict(ok: bool) -> str:
    """``PASS`` or ``MISS`` (informational: benchmarks never fail the build)."""
    return "PASS" if ok else "MISS"


def banner(title: str) -> None:
    """Print a section title."""
    print(f"\n== {title} ==", flush=True)


def wait_for(predicate: Callable[[], object], timeout_s: float, what: str) -> object:
    """Poll ``predicate`` every 50 ms until truthy.

    Raises:
        TimeoutError: After ``timeout_s`` seconds, naming ``what``.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)


class TmuxServer:
    """A private tmux server (``-L <label> -f /dev/null``) driven through the tmux CLI.

    Args:
        label: Socket label; a unique one is made from ``prefix`` when ``None``.
        prefix: Label prefix.
        env: Environment of the tmux client that starts the server (panes inherit it).
    """

    def __init__(
        self,
        label: str | None = None,
        *,
        prefix: str = "stui-bench",
        env: dict[str, str] | None = None,
    ) -> None:
        self.label = label or f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"
        self.env = env or clean_env()
        self.tmux = shutil.which("tmux") or "tmux"
        self._socket_path: str | None = None

    def cmd(self, *args: str, check: bool = True, timeout_s: float = 20.0) -> str:
        """Run one tmux command (``;`` as a separate argument chains commands); return stdout."""
        proc = subprocess.run(
            [self.tmux, "-L", self.label, "-f", "/dev/null", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args[:3])} failed: {proc.stderr.strip()}")
        return proc.stdout

    def remember_socket(self) -> None:
        """Record the socket path (call once the server runs) so :meth:`kill` can remove it."""
        self._socket_path = self.cmd("display-message", "-p", "#{socket_path}").strip() or None

    @property
    def pid(self) -> int:
        """The server process's PID."""
        return int(self.cmd("display-message", "-p", "#{pid}").strip())

    def pane_pids(self) -> list[int]:
        """``pane_pid`` of every pane of every session."""
        out = self.cmd("list-panes", "-a", "-F", "#{pane_pid}")
        return [int(line) for line in out.split()]

    def kill(self) -> None:
        """Kill the server (and so its panes' processes) and remove its socket."""
        self.finish_kill(self.start_kill())

    def start_kill(self) -> int | None:
        """Send ``kill-server``; return the server's PID to pass to :meth:`finish_kill`."""
        try:
            pid: int | None = self.pid
        except (RuntimeError, ValueError, subprocess.TimeoutExpired):
            pid = None
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.cmd("kill-server", check=False)
        return pid

    def finish_kill(self, pid: int | None) -> None:
        """Wait (up to 5 s) for the server process to exit, then remove its socket file.

        tmux 3.3a takes over a second to exit after ``kill-server`` and leaves the socket, so
        after 0.3 s the server gets SIGKILL (its panes' processes still get SIGHUP from their
        terminals closing).
        """
        if pid is not None:
            with contextlib.suppress(psutil.Error):
                server = psutil.Process(pid)
                try:
                    server.wait(timeout=0.3)
                except psutil.TimeoutExpired:
                    server.kill()
                    server.wait(timeout=5)
        socket = Path(self._socket_path) if self._socket_path else self._default_socket()
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(socket.lstat().st_mode):
                socket.unlink()

    def _default_socket(self) -> Path:
        """Where tmux puts a ``-L`` socket: ``${TMUX_TMPDIR:-/tmp}/tmux-<uid>/<label>``."""
        base = self.env.get("TMUX_TMPDIR") or "/tmp"
        return Path(base, f"tmux-{os.getuid()}", self.label)


class Cleanup:
    """Collects what a benchmark started and tears it all down on exit, error or signal.

    Use as a context manager; SIGTERM and SIGHUP are turned into ``SystemExit`` while inside so
    the teardown runs.
    """

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._pids: list[int] = []
        self._servers: list[TmuxServer] = []
        self._dirs: list[Path] = []
        self._old: dict[int, object] = {}

    def __enter__(self) -> Self:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._old[sig] = signal.signal(sig, self._on_signal)
        return self

    @staticmethod
    def _on_signal(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        for sig, handler in self._old.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def tempdir(self, prefix: str = "stui-bench-") -> Path:
        """A new temporary directory, deleted at teardown."""
        path = Path(tempfile.mkdtemp(prefix=prefix))
        self._dirs.append(path)
        return path

    def tmux(self, *, prefix: str = "stui-bench", env: dict[str, str] | None = None) -> TmuxServer:
        """A private tmux server handle (not started), killed at teardown."""
        server = TmuxServer(prefix=prefix, env=env)
        self._servers.append(server)
        return server

    def spawn(self, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """Start a child with no stdio that dies with us; killed and reaped at teardown."""
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # benchmarks spawn before starting threads
        )
        self._procs.append(proc)
        return proc

    def sleepers(self, count: int) -> list[subprocess.Popen[bytes]]:
        """Start ``count`` ``sleep`` processes (stand-ins for live agents)."""
        return [self.spawn(["sleep", str(SLEEP_S)]) for _ in range(count)]

    def track_pid(self, pid: int) -> None:
        """Kill ``pid`` at teardown if it still runs (e.g. the TUI inside a tmux pane)."""
        self._pids.append(pid)

    def close(self) -> None:
        """Tear everything down; idempotent."""
        dying: list[tuple[TmuxServer, int | None]] = []
        for server in reversed(self._servers):
            with contextlib.suppress(Exception):
                dying.append((server, server.start_kill()))
        for server, pid in dying:  # the servers exit in parallel
            with contextlib.suppress(Exception):
                server.finish_kill(pid)
        self._servers.clear()
        for pid in self._pids:
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                process.kill()
                process.wait(timeout=5)
        self._pids.clear()
        for proc in self._procs:
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    proc.kill()
        for proc in self._procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self._procs.clear()
        for path in self._dirs:
            shutil.rmtree(path, ignore_errors=True)
        self._dirs.clear()
