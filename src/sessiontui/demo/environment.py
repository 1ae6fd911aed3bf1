"""The ``--demo`` environment: simulated agents in a private tmux server and a temporary registry.

SPEC 6: ``sessiontui --demo`` starts a few simulated agents (real processes writing a real
registry in a temporary directory, in a private tmux server) and stops everything on exit.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import random
import secrets
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import libtmux
import psutil
from libtmux.exc import LibTmuxException

import sessiontui
from sessiontui.errors import SessiontuiError

if TYPE_CHECKING:
    from types import FrameType, TracebackType
    from typing import Self

#: Names of the interactive agents, in the order their windows are created in ``work``.
INTERACTIVE_NAMES: tuple[str, ...] = (
    "api-refactor",
    "docs-site",
    "flaky-tests",
    "db-migration",
    "ui-polish",
    "perf-audit",
)
#: Name of the background agent.
BG_AGENT_NAME = "nightly-deps"
#: The tmux session holding the interactive agents, one window each.
WORK_SESSION = "work"
#: The tmux session holding the background agent (marked ``@sessiontui-kind bg``, SPEC 5).
BG_SESSION = "nightly-bg"
#: tmux session user option that marks a tmux-hosted background session (SPEC 5).
KIND_OPTION = "@sessiontui-kind"
#: The Zellij session of the demo (when Zellij is installed) and its one agent.
ZELLIJ_SESSION = "demo-zellij"
ZELLIJ_AGENT_NAME = "zellij-agent"
#: A minimal Zellij configuration: no tips, no release notes, session metadata on.
ZELLIJ_CONFIG = """\
show_startup_tips false
show_release_notes false
disable_session_metadata false
default_shell "/bin/sh"
"""

_POLL_S = 0.05
_SERVER_EXIT_TIMEOUT_S = 2.0


def _exited(proc: psutil.Process) -> bool:
    """Whether a process has ended; a zombie (exited, not yet reaped by tmux) has."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def _wait_exited(procs: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Poll until every process has exited or ``timeout_s`` passed; returns those still running.

    Unlike :func:`psutil.wait_procs`, a zombie counts as exited: the agents are children of the
    tmux server, which may reap them seconds later.
    """
    deadline = time.monotonic() + timeout_s
    alive = [p for p in procs if not _exited(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if not _exited(p)]
    return alive


@dataclass(frozen=True, slots=True)
class DemoAgentInfo:
    """One simulated agent as started by :class:`DemoEnvironment`.

    Attributes:
        name: Its derived session name (also its tmux window name).
        kind: ``interactive`` or ``bg``.
        tmux_session: Name of the tmux session it runs in.
        pane_id: Its tmux pane (``%N``).
        pid: The agent process (the ``pid`` of its registry entry).
        registry_path: Its registry file, ``<sessions_dir>/<pid>.json``.
        cwd: The working directory it reports (an empty directory under the demo's temp dir).
    """

    name: str
    kind: str
    tmux_session: str
    pane_id: str
    pid: int
    registry_path: Path
    cwd: Path


@dataclass(frozen=True, slots=True)
class _Planned:
    name: str
    kind: str
    tmux_session: str
    seed: int


class DemoEnvironment:
    """A private tmux server running simulated agents that write a temporary registry.

    Use as a context manager; ``__exit__`` (or :meth:`close`, idempotent, also run at interpreter
    exit and on SIGTERM/SIGHUP of this process) stops every agent process tree, kills the tmux
    server and removes its socket and the temporary directory::

        with DemoEnvironment() as demo:
            run_tui(sessions_dir=demo.sessions_dir, tmux_socket_name=demo.socket_name)

    Layout for ``agents=N``: the tmux session ``work`` with ``N - 1`` windows, one interactive
    agent each, and the tmux session ``nightly-bg`` (``@sessiontui-kind bg``) running one ``bg``
    agent. With ``agents=1`` there is only ``work`` with one interactive agent.

    Args:
        agents: How many agents to start (>= 1).
        seed: Seed of the agents' status schedules (agent ``i`` gets ``seed + i``); ``None`` for
            unpredictable ones.
        python: The interpreter that runs ``python -m sessiontui.demo.agent`` in each pane.
        tick_s: The agents' tick in seconds; statuses last a few ticks.
        register_timeout_s: How long :meth:`__enter__` waits for every agent's ``<pid>.json``.
        kill_grace_s: Seconds between SIGTERM and SIGKILL when stopping agents.
        handle_signals: Install SIGTERM/SIGHUP handlers (main thread only, and only where the
            current handler is the default) that clean up and then die by the same signal.
        zellij: A ``zellij`` executable: also run one agent in a Zellij session
            (:data:`ZELLIJ_SESSION`) of a private socket directory; ``None``: no Zellij.
            When Zellij fails to start, the demo goes on without it
            (:attr:`zellij_problem` says why).

    Raises:
        ValueError: ``agents`` < 1 or a non-positive ``tick_s``.
    """

    def __init__(
        self,
        *,
        agents: int = 4,
        seed: int | None = None,
        python: str = sys.executable,
        tick_s: float = 1.0,
        register_timeout_s: float = 10.0,
        kill_grace_s: float = 2.0,
        handle_signals: bool = True,
        zellij: str | None = None,
    ) -> None:
        if agents < 1:
            raise ValueError(f"agents must be >= 1, not {agents}")
        if tick_s <= 0:
            raise ValueError(f"tick_s must be positive, not {tick_s}")
        self.agent_count = agents
        self.seed = seed
        self.python = python
        self.tick_s = tick_s
        self.register_timeout_s = register_timeout_s
        self.kill_grace_s = kill_grace_s
        self.handle_signals = handle_signals
        #: The private tmux server's socket name (``tmux -L``).
        self.socket_name = f"sessiontui-demo-{os.getpid()}-{secrets.token_hex(3)}"
        #: The socket file, known once the server runs.
        self.socket_path: str | None = None
        #: The agents, filled by :meth:`__enter__`.
        self.agents: list[DemoAgentInfo] = []
        self._tmp_dir: Path | None = None
        self._server: libtmux.Server | None = None
        self._server_proc: psutil.Process | None = None
        self._procs: dict[int, psutil.Process] = {}
        self._installed_signals: list[int] = []
        self._entered = False
        self._closed = False
        self._zellij_binary = zellij
        self._zellij_root: Path | None = None
        #: The environment that reaches the demo's Zellij (its own socket directory), or
        #: ``None`` when the demo has no Zellij session.
        self.zellij_environ: dict[str, str] | None = None
        #: The Zellij agent, when there is one.
        self.zellij_agent: DemoAgentInfo | None = None
        #: Why the demo runs without Zellij although one was given, or ``None``.
        self.zellij_problem: str | None = None

    # -- attributes valid inside the ``with`` block ------------------------------------------

    @property
    def tmp_dir(self) -> Path:
        """The temporary directory holding ``sessions/`` and the agents' working directories."""
        if self._tmp_dir is None:
            raise SessiontuiError("The demo environment is not running.")
        return self._tmp_dir

    @property
    def sessions_dir(self) -> Path:
        """The demo registry directory, ``<tmp_dir>/sessions`` (mode 0700)."""
        return self.tmp_dir / "sessions"

    @property
    def names_path(self) -> Path:
        """Where the demo keeps names set in it (never the user's own ``names.json``)."""
        return self.tmp_dir / "state" / "names.json"

    @property
    def server(self) -> libtmux.Server:
        """The private tmux server (libtmux)."""
        if self._server is None:
            raise SessiontuiError("The demo environment is not running.")
        return self._server

    @property
    def agent_pids(self) -> list[int]:
        """PIDs of the agents, in start order."""
        return [a.pid for a in self.agents]

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> Self:
        """Start the server and the agents; wait until every agent has registered.

        Returns:
            This environment.

        Raises:
            SessiontuiError: tmux could not be started, or an agent did not write its
                ``<pid>.json`` within ``register_timeout_s`` (everything started is stopped).
        """
        if self._entered:
            raise SessiontuiError("A demo environment can only be started once.")
        self._entered = True
        atexit.register(self.close)
        self._install_signal_handlers()
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop everything (see :meth:`close`)."""
        self.close()

    def _plan(self) -> list[_Planned]:
        rng = random.Random()
        seeds = [
            (self.seed + i) if self.seed is not None else rng.randrange(2**31)
            for i in range(self.agent_count)
        ]
        n_interactive = self.agent_count - 1 if self.agent_count > 1 else 1
        plan = []
        for i in range(n_interactive):
            base = INTERACTIVE_NAMES[i % len(INTERACTIVE_NAMES)]
            lap = i // len(INTERACTIVE_NAMES)
            name = base if lap == 0 else f"{base}-{lap + 1}"
            plan.append(_Planned(name, "interactive", WORK_SESSION, seeds[i]))
        if self.agent_count > 1:
            plan.append(_Planned(BG_AGENT_NAME, "bg", BG_SESSION, seeds[-1]))
        return plan

    def _command(self, agent: _Planned, cwd: Path) -> str:
        argv = [
            self.python,
            "-m",
            "sessiontui.demo.agent",
            "--registry",
            str(self.sessions_dir),
            "--name",
            agent.name,
            "--kind",
            agent.kind,
            "--seed",
            str(agent.seed),
            "--cwd",
            str(cwd),
            "--tick-s",
            repr(self.tick_s),
        ]
        return shlex.join(argv)

    def _environment(self, agent: _Planned) -> dict[str, str]:
        # The agents must import sessiontui even when it is not installed (tests run from src/).
        package_root = str(Path(sessiontui.__file__).resolve().parent.parent)
        python_path = os.pathsep.join(
            p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p
        )
        env = {"PYTHONPATH": python_path, "CLAUDE_CONFIG_DIR": str(self.tmp_dir)}
        if agent.kind == "bg":
            env["CLAUDE_CODE_SESSION_KIND"] = "bg"
            env["CLAUDE_CODE_SESSION_NAME"] = agent.tmux_session
        return env

    def _start(self) -> None:
        self._tmp_dir = Path(tempfile.mkdtemp(prefix="sessiontui-demo-"))
        self.sessions_dir.mkdir(mode=0o700)
        self.sessions_dir.chmod(0o700)  # whatever the umask
        # Where tmux puts a ``-L`` socket (tmux(1)); replaced by the server's own answer below.
        tmux_tmpdir = os.environ.get("TMUX_TMPDIR") or "/tmp"
        self.socket_path = str(Path(tmux_tmpdir) / f"tmux-{os.getuid()}" / self.socket_name)
        self._server = libtmux.Server(socket_name=self.socket_name, config_file=os.devnull)

        panes: list[tuple[_Planned, libtmux.Pane, Path]] = []
        sessions: dict[str, libtmux.Session] = {}
        try:
            # While the agents start, a pane whose command dies stays (with its output) so the
            # failure can be reported; the defaults come back once every agent registered.
            started = self.server.cmd(
                "start-server",
                ";",
                "set-option",
                "-g",
                "exit-empty",
                "off",
                ";",
                "set-option",
                "-g",
                "remain-on-exit",
                "on",
            )
            if started.returncode != 0:
                raise SessiontuiError(
                    "Could not start the demo tmux server: " + " ".join(started.stderr)
                )
            self._record_server()
            for agent in self._plan():
                cwd = self.tmp_dir / "projects" / agent.name
                cwd.mkdir(parents=True)
                command = self._command(agent, cwd)
                env = self._environment(agent)
                session = sessions.get(agent.tmux_session)
                if session is None:
                    session = self.server.new_session(
                        session_name=agent.tmux_session,
                        window_name=agent.name,
                        window_command=command,
                        start_directory=str(cwd),
                        environment=env,
                        x=120,
                        y=32,
                    )
                    sessions[agent.tmux_session] = session
                    if agent.kind == "bg":
                        session.set_option(KIND_OPTION, "bg")
                    window = session.active_window
                else:
                    window = session.new_window(
                        window_name=agent.name,
                        window_shell=command,
                        start_directory=str(cwd),
                        environment=env,
                    )
                pane = window.active_pane
                if pane is None:  # pragma: no cover - tmux always gives a new window a pane
                    raise SessiontuiError(f"tmux created no pane for demo agent {agent.name}.")
                panes.append((agent, pane, cwd))
        except LibTmuxException as e:
            raise SessiontuiError(f"Could not start the demo tmux server: {e}") from e
        self._wait_registered(panes)
        self.server.cmd(
            "set-option", "-g", "remain-on-exit", "off", ";", "set-option", "-g", "exit-empty", "on"
        )
        if self._zellij_binary is not None:
            try:
                self._start_zellij(self._zellij_binary)
            except (SessiontuiError, OSError, ValueError) as error:
                self.zellij_problem = f"the demo's Zellij session did not start: {error}"
                self._stop_zellij()

    def _start_zellij(self, binary: str) -> None:
        """One agent in a Zellij session of a private (short: ≤ 108-byte) socket directory."""
        from sessiontui.mux.zellij import ZellijServer

        root = Path(tempfile.mkdtemp(prefix="stz-", dir="/tmp"))
        self._zellij_root = root
        (root / "cfg").mkdir()
        (root / "cfg" / "config.kdl").write_text(ZELLIJ_CONFIG)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZELLIJ")}
        env.update(
            ZELLIJ_SOCKET_DIR=str(root / "s"),
            ZELLIJ_CONFIG_DIR=str(root / "cfg"),
            XDG_CACHE_HOME=str(root / "c"),
        )
        self.zellij_environ = env
        seed = (self.seed + self.agent_count) if self.seed is not None else None
        agent = _Planned(ZELLIJ_AGENT_NAME, "interactive", ZELLIJ_SESSION, seed or 7)
        cwd = self.tmp_dir / "projects" / agent.name
        cwd.mkdir(parents=True)
        server = ZellijServer(binary=binary, environ=env)
        server.new_session(
            ZELLIJ_SESSION,
            command=shlex.split(self._command(agent, cwd)),
            cwd=str(cwd),
            env=self._environment(agent),
        )
        deadline = time.monotonic() + self.register_timeout_s
        while time.monotonic() < deadline:
            for path in self.sessions_dir.glob("*.json"):
                with contextlib.suppress(OSError, ValueError):
                    data = json.loads(path.read_text())
                    if isinstance(data, dict) and data.get("name") == ZELLIJ_AGENT_NAME:
                        pid = int(data["pid"])
                        self.zellij_agent = DemoAgentInfo(
                            name=ZELLIJ_AGENT_NAME,
                            kind="interactive",
                            tmux_session=ZELLIJ_SESSION,
                            pane_id="",
                            pid=pid,
                            registry_path=path,
                            cwd=cwd,
                        )
                        self._tree(pid)
                        return
            time.sleep(_POLL_S)
        raise SessiontuiError("the Zellij agent did not register in time")

    def _stop_zellij(self) -> None:
        """End the demo's Zellij server and its panes; remove its directories."""
        root = self._zellij_root
        if root is None:
            return
        prefix = str(root)
        for proc in psutil.process_iter(["cmdline", "uids"]):
            cmdline = proc.info.get("cmdline") or []
            if "--server" in cmdline and any(arg.startswith(prefix) for arg in cmdline):
                with contextlib.suppress(psutil.Error):
                    for child in proc.children(recursive=True):
                        child.kill()
                    proc.kill()
        shutil.rmtree(root, ignore_errors=True)
        self._zellij_root = None

    def _record_server(self) -> None:
        out = self.server.cmd("display-message", "-p", "#{pid}\t#{socket_path}").stdout
        if out:
            pid_text, _, path = out[0].partition("\t")
            self.socket_path = path or self.socket_path
            with contextlib.suppress(ValueError, psutil.Error):
                self._server_proc = psutil.Process(int(pid_text))

    def _tree(self, pid: int) -> list[psutil.Process]:
        """A process and its descendants, remembered for :meth:`close`."""
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return []
        for p in procs:
            self._procs.setdefault(p.pid, p)
        return procs

    def _wait_registered(self, panes: list[tuple[_Planned, libtmux.Pane, Path]]) -> None:
        pending = {agent.name: (agent, pane, cwd) for agent, pane, cwd in panes}
        found: dict[str, DemoAgentInfo] = {}
        deadline = time.monotonic() + self.register_timeout_s
        while pending:
            for name, (agent, pane, cwd) in list(pending.items()):
                pane_pid = int(pane.pane_pid or 0)
                for proc in self._tree(pane_pid):
                    path = self.sessions_dir / f"{proc.pid}.json"
                    if path.exists():
                        found[name] = DemoAgentInfo(
                            name=agent.name,
                            kind=agent.kind,
                            tmux_session=agent.tmux_session,
                            pane_id=str(pane.pane_id),
                            pid=proc.pid,
                            registry_path=path,
                            cwd=cwd,
                        )
                        del pending[name]
                        break
            if not pending:
                break
            dead = self._dead_panes()
            failed = [entry for entry in pending.values() if entry[1].pane_id in dead]
            if failed:
                raise SessiontuiError(self._registration_failure(failed, "exited at start"))
            if time.monotonic() > deadline:
                raise SessiontuiError(
                    self._registration_failure(
                        list(pending.values()),
                        f"did not register within {self.register_timeout_s:g} s",
                    )
                )
            time.sleep(_POLL_S)
        self.agents = [found[agent.name] for agent, _, _ in panes]

    def _dead_panes(self) -> set[str]:
        """Ids of panes whose command has exited (kept by ``remain-on-exit`` during startup)."""
        result = self.server.cmd("list-panes", "-a", "-F", "#{pane_id}\t#{pane_dead}")
        return {
            pane_id
            for pane_id, _, dead in (line.partition("\t") for line in result.stdout)
            if dead == "1"
        }

    def _registration_failure(
        self, missing: list[tuple[_Planned, libtmux.Pane, Path]], why: str
    ) -> str:
        lines = [f"Demo agents {why} (registry {self.sessions_dir}):"]
        for agent, pane, cwd in missing:
            lines.append(f"- {agent.name}: {self._command(agent, cwd)}")
            try:
                shown = [ln for ln in pane.capture_pane() if ln.strip()][-5:]
            except LibTmuxException:
                shown = []
            lines.extend(f"    | {ln}" for ln in shown)
            if not shown:
                lines.append("    (its pane is gone or empty: run the command above by hand)")
        return "\n".join(lines)

    def close(self) -> None:
        """Stop the agents, the tmux server, and remove the socket and the temp directory.

        Idempotent and safe after partial starts or when the agents or the server are already
        gone. Agent process trees (found through the panes' ``pane_pid``) get SIGTERM, and
        SIGKILL after ``kill_grace_s``.
        """
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        old_mask = self._block_signals()
        try:
            self._stop_processes()
            self._stop_zellij()
            self._stop_server()
            if self._tmp_dir is not None:
                shutil.rmtree(self._tmp_dir, ignore_errors=True)
        finally:
            self._restore_signal_handlers()
            if old_mask is not None:
                # A SIGTERM that arrived meanwhile is delivered now, with the default action.
                signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)

    def _stop_processes(self) -> None:
        if self._server is not None:
            with contextlib.suppress(LibTmuxException, OSError):
                result = self._server.cmd("list-panes", "-a", "-F", "#{pane_pid}")
                if result.returncode == 0:
                    for line in result.stdout:
                        if line.strip().isdigit():
                            self._tree(int(line))
        protected = {os.getpid()}
        with contextlib.suppress(psutil.Error):
            protected.update(p.pid for p in psutil.Process().parents())
        if self._server_proc is not None:
            protected.add(self._server_proc.pid)
        victims = [p for pid, p in self._procs.items() if pid > 1 and pid not in protected]
        for p in victims:
            with contextlib.suppress(psutil.Error):
                p.terminate()
        alive = _wait_exited(victims, self.kill_grace_s)
        for p in alive:
            with contextlib.suppress(psutil.Error):
                p.kill()
        _wait_exited(alive, self.kill_grace_s)

    def _stop_server(self) -> None:
        if self._server is not None:
            with contextlib.suppress(LibTmuxException, OSError):
                if self._server.is_alive():
                    self._server.kill()
        if self._server_proc is not None:
            for p in _wait_exited([self._server_proc], _SERVER_EXIT_TIMEOUT_S):
                with contextlib.suppress(psutil.Error):
                    p.kill()
        if self.socket_path is not None:
            with contextlib.suppress(OSError):
                Path(self.socket_path).unlink(missing_ok=True)

    # -- signals of the parent process ---------------------------------------------------------

    _HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)

    def _install_signal_handlers(self) -> None:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return
        for sig in self._HANDLED_SIGNALS:
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, self._on_signal)
                self._installed_signals.append(sig)

    def _restore_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self._installed_signals:
            if signal.getsignal(sig) == self._on_signal:
                signal.signal(sig, signal.SIG_DFL)
        self._installed_signals.clear()

    def _block_signals(self) -> set[int | signal.Signals] | None:
        """Hold SIGTERM/SIGHUP while cleaning up; returns the previous mask to restore."""
        if not self._installed_signals or threading.current_thread() is not threading.main_thread():
            return None
        return signal.pthread_sigmask(signal.SIG_BLOCK, self._HANDLED_SIGNALS)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """Clean up, then die by the same signal (its handler is the default again)."""
        self.close()
        os.kill(os.getpid(), signum)
