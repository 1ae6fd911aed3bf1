"""The façade the UI and CLI use: keeps the store fed by threads and performs session actions."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sessiontui.errors import MuxUnavailable, NotApplicable, SessiontuiError, TargetNotFound
from sessiontui.model import registry
from sessiontui.model.processes import KillReport, kill_tree
from sessiontui.model.store import SessionStore
from sessiontui.model.targets import resolve_target
from sessiontui.model.types import Session, Snapshot, SnapshotChange, Status
from sessiontui.model.watcher import RegistryWatcher

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from sessiontui.model.claude_jobs import ClaudeJobs
    from sessiontui.model.names import NameStore
    from sessiontui.mux.tmux import TmuxBackend

_log = logging.getLogger(__name__)

#: Default seconds between SIGTERM and SIGKILL in a kill cascade (SPEC 2.6).
DEFAULT_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class AttachPlan:
    """How to show a session to the user.

    Attributes:
        switched: True when it was done inside tmux: our client switched to the pane, or a
            popup/window opened on it for a Claude background job (nothing left to do).
        argv: Otherwise the command to run in the terminal (the UI suspends itself around it).
        env: Environment for ``argv`` (``TMUX`` removed so a nested attach is allowed).
    """

    switched: bool
    argv: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MonitorTiming:
    """How often the monitor does each kind of work, all in seconds.

    Attributes:
        debounce_s: Quiet time per registry file before it is re-read.
        rescan_s: Safety rescan of the registry directory (catches missed events).
        sample_s: CPU sampling, activity history and PID liveness (a SIGKILLed agent turns
            dead within this time).
        tmux_poll_s: Periodic ``list-panes`` poll (also done at once after our own actions and
            when a new agent appears outside every known pane).
    """

    debounce_s: float = 0.005
    rescan_s: float = 5.0
    sample_s: float = 2.0
    tmux_poll_s: float = 5.0


class Monitor:
    """Watches the registry and tmux, publishes snapshots, and performs actions on sessions.

    Data flows one way: watcher and timer events → :class:`SessionStore` (in one worker
    thread) → subscribers get a :class:`SnapshotChange`. Actions (:meth:`attach`,
    :meth:`detach`, :meth:`rename`, :meth:`kill`, :meth:`dismiss`) block on external programs
    and are meant to be called from worker threads; they raise :class:`SessiontuiError`
    subclasses with user-facing messages.

    Args:
        sessions_dir: The Claude Code registry directory.
        tmux: The tmux backend, or ``None`` to ignore tmux.
        clock: Wall clock, seconds since the epoch (tests freeze it).
        timing: Intervals; see :class:`MonitorTiming`.
        grace_s: Seconds between SIGTERM and SIGKILL for :meth:`kill`.
        claude: Runs ``claude attach``/``claude stop`` for Claude Code's own background jobs
            (``None``: those actions report that the executable is missing).
        popup: Inside tmux, show a Claude background job in a ``display-popup`` (else in a
            new window) so the monitor stays visible.
        names: Where names set here are kept, keyed by sessionId (``None``: not kept).
        read_only: Scans change no file (one-shot listings such as ``sessiontui ls``): sticky
            names are shown, not written back. Actions (rename, dismiss …) still write.
    """

    def __init__(
        self,
        *,
        sessions_dir: Path,
        tmux: TmuxBackend | None = None,
        clock: Callable[[], float] = time.time,
        timing: MonitorTiming | None = None,
        grace_s: float = DEFAULT_GRACE_S,
        claude: ClaudeJobs | None = None,
        popup: bool = True,
        names: NameStore | None = None,
        read_only: bool = False,
    ) -> None:
        self.sessions_dir = sessions_dir
        self.tmux = tmux
        self.timing = timing or MonitorTiming()
        self.grace_s = grace_s
        self.store = SessionStore(sessions_dir, clock=clock, names=names, read_only=read_only)
        self.names = names
        self._cond = threading.Condition()
        self._pending: set[Path] = set()
        self._rescan = False
        self._poll = False
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._watcher: RegistryWatcher | None = None
        self._tmux_ready = False
        self.claude = claude
        self.popup = popup
        self.attached_key: str | None = None
        """The session most recently attached from here."""
        self.previous_key: str | None = None
        """The one attached before it (``tab`` goes back to it)."""
        self._last_waiting: str | None = None
        self._client: str | None = None

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        """The latest published snapshot (any thread)."""
        return self.store.snapshot

    def subscribe(self, callback: Callable[[SnapshotChange], None]) -> None:
        """Call ``callback(change)`` from the monitor thread after every change."""
        self.store.subscribe(callback)

    def unsubscribe(self, callback: Callable[[SnapshotChange], None]) -> None:
        """Stop calling ``callback``."""
        self.store.unsubscribe(callback)

    def refresh(self) -> Snapshot:
        """Synchronously read the registry, liveness and tmux once, and publish.

        CPU is sampled by the worker started with :meth:`start` (a first psutil reading is
        always 0.0, so sampling here would only slow start-up).

        Used before :meth:`start` and by the one-shot CLI commands.
        """
        self._poll_tmux()
        self.store.rescan()
        self.store.publish()
        return self.store.snapshot

    def start(self) -> None:
        """Start the registry watcher and the worker thread (call :meth:`close` to stop)."""
        if self._thread is not None:
            return
        self._watcher = RegistryWatcher(
            self.sessions_dir,
            self._on_registry_change,
            debounce_s=self.timing.debounce_s,
            rescan_s=self.timing.rescan_s,
        )
        self._watcher.start()
        self._thread = threading.Thread(target=self._run, name="sessiontui-monitor", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the watcher and the worker thread; idempotent."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._watcher is not None:
            self._watcher.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request_rescan(self, *, poll_tmux: bool = False) -> None:
        """Ask the worker for a full registry rescan (and a tmux poll) as soon as possible."""
        with self._cond:
            self._rescan = True
            self._poll = self._poll or poll_tmux
            self._cond.notify_all()

    def _on_registry_change(self, paths: frozenset[Path] | None) -> None:
        """Watcher callback (watcher thread): queue the paths, or a rescan for ``None``."""
        with self._cond:
            if paths is None:
                self._rescan = True
            else:
                self._pending.update(paths)
            self._cond.notify_all()

    def _run(self) -> None:
        """Worker loop: one batch of work at a time, never overlapping."""
        now = time.monotonic()
        next_sample = now  # the first CPU sample primes psutil (its first reading is 0.0)
        next_poll = now + self.timing.tmux_poll_s
        while True:
            with self._cond:
                while not (self._stopped or self._pending or self._rescan or self._poll):
                    timeout = min(next_sample, next_poll) - time.monotonic()
                    if timeout <= 0:
                        break
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                pending, self._pending = self._pending, set()
                rescan, self._rescan = self._rescan, False
                poll, self._poll = self._poll, False
            try:
                now = time.monotonic()
                if poll or now >= next_poll:
                    self._poll_tmux()
                    next_poll = now + self.timing.tmux_poll_s
                if rescan:
                    self.store.rescan()
                elif pending:
                    self.store.refresh_paths(pending)
                if self.store.take_new_unmapped():
                    self._poll_tmux()
                if now >= next_sample:
                    self.store.sample()
                    next_sample = now + self.timing.sample_s
                self.store.publish()
            except Exception:  # the monitor must outlive any one bad event
                _log.exception("monitor: a batch of work failed; continuing")
                time.sleep(0.1)

    def _poll_tmux(self) -> None:
        """One ``list-panes -a`` call; marks tmux unreachable instead of raising."""
        if self.tmux is None:
            return
        if not self._tmux_ready:
            try:
                socket = self.tmux.socket_path
            except SessiontuiError:
                socket = None
            self.store.set_mux(socket, self.tmux.locate)
            self._tmux_ready = socket is not None
        try:
            panes = self.tmux.list_panes()
        except MuxUnavailable:
            self.store.set_panes((), ok=False)
            self._tmux_ready = False
        except SessiontuiError:
            self.store.set_panes((), ok=False)
        else:
            self.store.set_panes(panes, ok=True)
            with contextlib.suppress(SessiontuiError):
                self.store.focused_pane = self.focused_pane()

    # -- actions (call from worker threads) ---------------------------------------------

    def session(self, key: str) -> Session:
        """Return the session with ``key`` from the latest snapshot.

        Raises:
            TargetNotFound: No such session (it ended or was dismissed).
        """
        session = self.snapshot.get(key)
        if session is None:
            raise TargetNotFound("that session is gone")
        return session

    def resolve(self, target: str) -> Session:
        """Resolve a CLI TARGET (pid, sessionId or unique prefix, or name) to a session.

        Raises:
            TargetNotFound, AmbiguousTarget: As described by their names.
        """
        return resolve_target(self.snapshot.sessions, target)

    def _tmux_for(self, session: Session) -> TmuxBackend:
        """Return the tmux backend for a session that runs in a tmux pane."""
        if session.mux is None or self.tmux is None:
            raise NotApplicable(f"{session.name!r} does not run in a tmux pane")
        return self.tmux

    def attach(self, key: str) -> AttachPlan:
        """Show the session to the user.

        A tmux pane: inside tmux (our process runs in a pane of the same server) our own client
        is switched to it with ``switch-client -c``; otherwise the plan carries the
        ``tmux attach`` command for the caller to run in the terminal. A Claude background
        job: ``claude attach <jobId>``, inside tmux in a popup (or new window) of our client,
        otherwise as the plan's command. Never ``claude --resume``.

        Raises:
            NotApplicable: Neither a pane nor a job. MuxError, SessiontuiError: A command failed.
        """
        session = self.session(key)
        if session.mux is None and session.job_id:
            plan = self._attach_job(session)
        else:
            tmux = self._tmux_for(session)
            assert session.mux is not None
            client = self.own_client()
            if client is not None:
                tmux.switch_client(client, session.mux.pane)
                plan = AttachPlan(switched=True)
            else:
                argv = tmux.attach_argv(session.mux.pane)
                plan = AttachPlan(switched=False, argv=tuple(argv), env=_child_env())
        if key != self.attached_key:
            self.previous_key, self.attached_key = self.attached_key, key
        return plan

    def _attach_job(self, session: Session) -> AttachPlan:
        """``claude attach <jobId>``: a popup/window inside tmux, else the terminal."""
        jobs = self._jobs()
        assert session.job_id is not None
        if not session.alive:
            raise NotApplicable(f"{session.name!r} has ended (attaching would restart it)")
        try:
            argv = jobs.attach_argv(session.job_id)
        except ValueError as error:
            raise NotApplicable(f"invalid jobId in the registry: {error}") from None
        config_dir = (jobs.environ or {}).get("CLAUDE_CONFIG_DIR")
        if config_dir:  # the popup/window runs in tmux's environment, not ours
            argv = ["env", f"CLAUDE_CONFIG_DIR={config_dir}", *argv]
        client = self.own_client()
        if self.tmux is not None and client is not None:
            if self.popup:
                self.tmux.display_popup(client, argv, title=f" {session.name} ", cwd=session.cwd)
            else:
                pane = self.tmux.own_pane()
                if pane is None:
                    raise NotApplicable("cannot find our own tmux pane")
                self.tmux.new_window(pane.session_id, argv, name=session.name)
            return AttachPlan(switched=True)
        return AttachPlan(switched=False, argv=tuple(argv), env=_child_env())

    def _jobs(self) -> ClaudeJobs:
        """The Claude job runner, or a clear error when there is none."""
        if self.claude is None:
            raise NotApplicable("claude executable not found; set claude_executable in the config")
        return self.claude

    def own_client(self) -> str | None:
        """Our tmux client's tty: the client showing our pane, else the last one that did.

        After a jump our client shows another session, so tmux no longer links it to our
        pane; the user's next key still comes from that client, so it is remembered for as
        long as it stays attached.

        Raises:
            MuxError: tmux failed.
        """
        if self.tmux is None:
            return None
        client = self.tmux.own_client()
        if client is not None:
            self._client = client
            return client
        if self._client is not None and self.tmux.last_client_pane(self._client) is not None:
            return self._client
        return None

    def focused_pane(self) -> str | None:
        """The pane our own tmux client shows now (``%N``), or ``None`` outside tmux.

        Raises:
            MuxError: tmux failed.
        """
        if self.tmux is None:
            return None
        client = self.own_client()
        return self.tmux.last_client_pane(client) if client else None

    def next_waiting(self) -> Session | None:
        """The next session waiting for input after the last one jumped to (cycling)."""
        waiting = [s for s in self.snapshot.sessions if s.status is Status.WAITING]
        if not waiting:
            return None
        keys = [s.key for s in waiting]
        index = keys.index(self._last_waiting) + 1 if self._last_waiting in keys else 0
        chosen = waiting[index % len(waiting)]
        self._last_waiting = chosen.key
        return chosen

    def detach(self, key: str) -> int:
        """Detach every client from the session's tmux session; it keeps running.

        For a Claude background job, this ends only its ``claude attach`` viewer processes,
        never the job.

        Returns:
            How many clients (or viewers) were attached.

        Raises:
            NotApplicable: No tmux pane. MuxError: tmux failed.
        """
        session = self.session(key)
        if session.mux is None and session.job_id:
            try:
                return self._jobs().end_viewers(session.job_id)
            except ValueError as error:
                raise NotApplicable(f"invalid jobId in the registry: {error}") from None
        tmux = self._tmux_for(session)
        assert session.mux is not None
        count = tmux.detach_session(session.mux.session_id)
        self.request_rescan(poll_tmux=True)
        return count

    def owns_tmux_session(self, session: Session) -> bool:
        """True when the session is the only agent in a one-pane tmux session (made for it)."""
        if session.mux is None:
            return False
        if session.mux.session_kind == "bg":
            return True
        if session.mux.panes_in_session != 1:
            return False
        mates = [
            s
            for s in self.snapshot.sessions
            if s.mux is not None and s.mux.session_id == session.mux.session_id and s.alive
        ]
        return len(mates) == 1

    def rename(self, key: str, name: str) -> None:
        """Rename a session: its registry ``name`` and, if it owns one, its tmux session.

        The tmux rename goes first (it can fail with a taken name) so nothing is half-renamed:
        if the registry write then fails the tmux name is restored.

        Raises:
            InvalidName: Empty, control characters, over 100 characters.
            NameTaken: The tmux session name is taken. NotApplicable: No registry file.
            SessiontuiError: Any other failure, with its message.
        """
        clean = registry.validate_name(name)
        session = self.session(key)
        if not session.alive:
            raise NotApplicable(f"{session.name!r} is not running")
        if session.registry_path is None:
            if session.mux is None or self.tmux is None:
                raise NotApplicable(f"{session.name!r} has nothing to rename")
            self.tmux.rename_session(session.mux.session_id, clean)
            self.request_rescan(poll_tmux=True)
            return
        old_tmux: str | None = None
        if (
            self.tmux is not None
            and session.mux is not None
            and self.owns_tmux_session(session)
            and session.mux.session != clean
        ):
            self.tmux.rename_session(session.mux.session_id, clean)
            old_tmux = session.mux.session
        try:
            registry.write_name(session.registry_path, clean)
            if self.names is not None and session.session_id:
                with contextlib.suppress(ValueError, SessiontuiError):
                    self.names.set(session.session_id, clean)
        except (OSError, SessiontuiError) as error:
            if old_tmux is not None and self.tmux is not None and session.mux is not None:
                with contextlib.suppress(SessiontuiError):
                    self.tmux.rename_session(session.mux.session_id, old_tmux)
            if isinstance(error, SessiontuiError):
                raise
            raise SessiontuiError(f"cannot write {session.registry_path}: {error}") from error
        finally:
            self.request_rescan(poll_tmux=old_tmux is not None)

    def kill(self, key: str, *, grace_s: float | None = None) -> KillReport:
        """End the session's process tree: SIGTERM, ``grace_s`` seconds, then SIGKILL.

        The registry file is left to its owner; the row turns dead, then disappears when the
        file goes. Blocks up to ``grace_s`` (+ a little). A tmux-hosted background session
        also loses its tmux session; a Claude background job is ended with ``claude stop``.

        Raises:
            KillRefused: PID <= 1, ourselves, an ancestor, another user's, or a reused PID.
        """
        session = self.session(key)
        try:
            if session.mux is None and session.job_id:
                try:
                    self._jobs().stop(session.job_id)
                except ValueError as error:
                    raise NotApplicable(f"invalid jobId in the registry: {error}") from None
                return KillReport(
                    pid=session.pid, terminated=(session.pid,), killed=(), already_gone=False
                )
            report = kill_tree(
                session.pid,
                grace_s=self.grace_s if grace_s is None else grace_s,
                proc_start=session.proc_start,
            )
            if session.mux is not None and session.mux.session_kind == "bg" and self.tmux:
                with contextlib.suppress(SessiontuiError):
                    self.tmux.kill_session(session.mux.session_id)
            return report
        finally:
            self.request_rescan(poll_tmux=True)

    def dismiss(self, key: str) -> None:
        """Forget a dead session: delete its ``<pid>.json`` after re-checking the PID is dead.

        Raises:
            NotApplicable: The session is alive. SessiontuiError: The process is alive after all.
        """
        session = self.session(key)
        if session.status is not Status.DEAD or session.registry_path is None:
            raise NotApplicable(f"{session.name!r} is not dead; only dead sessions are dismissed")
        try:
            registry.remove_dead_entry(session.registry_path, session.proc_start)
        except FileNotFoundError:
            pass
        finally:
            self.request_rescan()

    def new_session(self, name: str, command: Sequence[str], cwd: str | None = None) -> str:
        """Create a detached tmux-hosted background session ``=name`` running ``command``.

        The tmux session is marked ``@sessiontui-kind bg`` and its environment has
        ``CLAUDE_CODE_SESSION_KIND=bg`` and ``CLAUDE_CODE_SESSION_NAME=<name>`` (SPEC 5).

        Returns:
            The tmux session id (``$N``).

        Raises:
            InvalidName: Bad name. NameTaken: A tmux session has that name. NotApplicable: No
            tmux backend. MuxError: tmux failed.
        """
        clean = registry.validate_name(name)
        if self.tmux is None:
            raise NotApplicable("no tmux server configured")
        if not command:
            raise NotApplicable("no command given")
        env = {"CLAUDE_CODE_SESSION_KIND": "bg", "CLAUDE_CODE_SESSION_NAME": clean}
        session_id = self.tmux.new_session(clean, command=list(command), cwd=cwd, env=env)
        self._tmux_ready = False
        self.request_rescan(poll_tmux=True)
        return session_id


def _child_env() -> dict[str, str]:
    """Our environment without ``TMUX``/``TMUX_PANE``, so a nested attach is allowed."""
    return {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
