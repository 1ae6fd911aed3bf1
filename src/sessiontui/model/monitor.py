"""The façade the UI and CLI use: keeps the store fed by threads and performs session actions."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sessiontui.errors import (
    KillRefused,
    NotApplicable,
    PromptNotShown,
    SessiontuiError,
    TargetNotFound,
)
from sessiontui.model import registry
from sessiontui.model.exits import ExitWatcher
from sessiontui.model.muxset import MuxSet
from sessiontui.model.names import is_user_name
from sessiontui.model.navigation import JumpHistory
from sessiontui.model.processes import KillReport, foreign_pid_domain, is_alive, kill_tree
from sessiontui.model.prompts import PERMISSION_WAITS
from sessiontui.model.reply import (
    Answer,
    ReplyTiming,
    answer_prompt,
    interrupt_turn,
    send_reply,
)
from sessiontui.model.service import AttachPlan
from sessiontui.model.store import SessionStore
from sessiontui.model.streaming import STREAM_POLL_S, StreamingFiles
from sessiontui.model.targets import resolve_target
from sessiontui.model.text import printable
from sessiontui.model.types import Session, Snapshot, SnapshotChange, Status, pane_key
from sessiontui.mux.base import CAP_RESURRECT, check_text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from sessiontui.model.claude_jobs import ClaudeJobs
    from sessiontui.model.codex import CodexSource
    from sessiontui.model.folder_watcher import FolderWatcher
    from sessiontui.model.names import NameStore
    from sessiontui.model.transcripts import TranscriptTracker
    from sessiontui.model.watcher import RegistryWatcher
    from sessiontui.mux.base import Multiplexer

_log = logging.getLogger(__name__)

#: Default seconds between SIGTERM and SIGKILL in a kill cascade (SPEC 2.6).
DEFAULT_GRACE_S = 5.0


#: Seconds the appends to transcripts are collected before they are read: a working agent
#: writes several records a second, each a file event; one batch costs one snapshot.
TRANSCRIPT_BATCH_S = 0.05


@dataclass(frozen=True, slots=True)
class MonitorTiming:
    """How often the monitor does each kind of work, all in seconds.

    Attributes:
        debounce_s: Quiet time per registry file before it is re-read.
        rescan_s: Safety rescan of the registry directory (catches missed events).
        sample_s: CPU sampling, activity history and PID liveness (a SIGKILLed agent turns
            dead within this time), while some session needs it (see
            :meth:`SessionStore.wants_fast_sampling`).
        idle_sample_s: The same while none does (every live session idle, with a registry
            status and a watched exit, no Codex session); ``None``: twice ``sample_s``. A new
            Codex TUI, a late transcript or an idle row's CPU then show within this time.
        tmux_poll_s: Periodic ``list-panes`` poll of every server: a slow safety net, since
            control-mode notifications, our own actions and a new agent outside every known
            pane ask for a poll at once.
        servers_s: How often the socket directory is looked at for servers that came or went
            (one ``stat``).
    """

    debounce_s: float = 0.005
    rescan_s: float = 30.0
    sample_s: float = 2.0
    idle_sample_s: float | None = None
    tmux_poll_s: float = 60.0
    servers_s: float = 0.5


class Monitor:
    """Watches the registry and tmux, publishes snapshots, and performs actions on sessions.

    Data flows one way: watcher and timer events → :class:`SessionStore` (in one worker
    thread) → subscribers get a :class:`SnapshotChange`. Actions (:meth:`attach`,
    :meth:`detach`, :meth:`rename`, :meth:`kill`, :meth:`dismiss`) block on external programs
    and are meant to be called from worker threads; they raise :class:`SessiontuiError`
    subclasses with user-facing messages.

    Args:
        sessions_dir: The Claude Code registry directory, or several (each base of the user's:
            ``$CLAUDE_CONFIG_DIR``, ``~/.claude``, the config's ``registry_dirs``).
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
        transcripts: Registry directory → the transcript tracker of its Claude base (built by
            the composition root); polled on the sample timer.
        codex: The Codex source, scanned on the sample timer (``None``: no Codex rows).
    """

    def __init__(
        self,
        *,
        sessions_dir: Path | Sequence[Path],
        tmux: Multiplexer | None = None,
        muxes: MuxSet | None = None,
        clock: Callable[[], float] = time.time,
        timing: MonitorTiming | None = None,
        grace_s: float = DEFAULT_GRACE_S,
        claude: ClaudeJobs | None = None,
        popup: bool = True,
        names: NameStore | None = None,
        read_only: bool = False,
        transcripts: Mapping[Path, TranscriptTracker] | None = None,
        codex: CodexSource | None = None,
    ) -> None:
        self.sessions_dirs = (
            [sessions_dir] if isinstance(sessions_dir, Path) else list(dict.fromkeys(sessions_dir))
        )
        """Every registry directory watched, the first being the user's main one."""
        self.sessions_dir = self.sessions_dirs[0]
        if muxes is None:
            muxes = MuxSet([tmux], inside=tmux.server) if tmux is not None else MuxSet()
        self.muxes = muxes
        """Every multiplexer server in view; actions go to the row's own server."""
        self.muxes.on_change = self.request_poll
        self.timing = timing or MonitorTiming()
        idle_s = self.timing.idle_sample_s
        self._idle_sample_s = 2 * self.timing.sample_s if idle_s is None else idle_s
        self.grace_s = grace_s
        self.exits = ExitWatcher(self._on_exits)
        """Reports agent exits at once (started by :meth:`start`)."""
        self._exited: set[int] = set()
        self.store = SessionStore(
            self.sessions_dirs,
            clock=clock,
            names=names,
            read_only=read_only,
            transcripts=transcripts,
            codex=codex,
            exits=self.exits,
        )
        self.names = names
        self._cond = threading.Condition()
        self._pending: set[Path] = set()
        self._transcripts_pending: set[Path] = set()
        self._transcripts_due = 0.0  # monotonic time the pending appends are read at
        self._transcript_watcher: FolderWatcher | None = None
        """Watches the followed sessions' project folders, so appends are read at once."""
        self._streaming = StreamingFiles()
        """Transcripts appended to at every read (worker thread only)."""
        self._paused: frozenset[Path] = frozenset()
        """Project folders not watched because a transcript there streams; read on a timer."""
        if self.store.transcripts:
            # Imported here (as RegistryWatcher in start()): a one-shot read such as
            # ``sessiontui status`` never loads watchdog.
            from sessiontui.model.folder_watcher import FolderWatcher

            self._transcript_watcher = FolderWatcher(self._on_transcript_change)
        self._rescan = False
        self._poll = False
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._watchers: list[RegistryWatcher] = []
        self._locator_set = False
        self.claude = claude
        self.popup = popup
        self.jumps = JumpHistory()
        """Attach history: where ``tab`` goes back to and ``w`` cycles from."""
        self._client: str | None = None
        self._seen_names: dict[str, str] = {}
        self.store.subscribe(self._follow_agent_rename)
        self.reply_timing = ReplyTiming()
        """Confirmation and pause times of :meth:`send`, :meth:`approve` and :meth:`interrupt`."""

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def tmux(self) -> Multiplexer | None:
        """The "home" server: the one we run inside, else the first in view (for ``new``)."""
        inside = self.muxes.inside()
        if inside is not None:
            return inside
        servers = self.muxes.servers()
        return servers[0] if servers else None

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
        self.muxes.refresh_servers()
        self._poll_tmux()
        self.store.rescan()
        self.store.scan_codex()
        self.store.publish()
        return self.store.snapshot

    def start(self) -> None:
        """Start the registry watcher and the worker thread (call :meth:`close` to stop)."""
        if self._thread is not None:
            return
        from sessiontui.model.watcher import RegistryWatcher

        for directory in self.sessions_dirs:
            watcher = RegistryWatcher(
                directory,
                self._on_registry_change,
                debounce_s=self.timing.debounce_s,
                rescan_s=self.timing.rescan_s,
            )
            watcher.start()
            self._watchers.append(watcher)
        self.muxes.start()
        self.exits.start()
        if self._transcript_watcher is not None:
            self._transcript_watcher.start()
            self._transcript_watcher.set_folders(self.store.transcript_folders())
        self._thread = threading.Thread(target=self._run, name="sessiontui-monitor", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the watcher and the worker thread; idempotent."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for watcher in self._watchers:
            watcher.close()
        if self._transcript_watcher is not None:
            self._transcript_watcher.close()
        self.muxes.close()
        self.exits.close()
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

    def request_poll(self) -> None:
        """Ask the worker for a poll of every multiplexer server (a change trigger fired)."""
        with self._cond:
            self._poll = True
            self._cond.notify_all()

    def _on_registry_change(self, paths: frozenset[Path] | None) -> None:
        """Watcher callback (watcher thread): queue the paths, or a rescan for ``None``."""
        with self._cond:
            if paths is None:
                self._rescan = True
            else:
                self._pending.update(paths)
            self._cond.notify_all()

    def _on_exits(self, pids: set[int]) -> None:
        """Exit-watcher callback (its thread): note the PIDs that ended; wake the worker."""
        with self._cond:
            self._exited |= pids
            self._cond.notify_all()

    @property
    def polled_transcript_folders(self) -> frozenset[Path]:
        """Project folders not watched now because a transcript there streams.

        Their transcripts are read every :data:`~sessiontui.model.streaming.STREAM_POLL_S`
        seconds instead (set by the worker thread; read it from any thread).
        """
        return self._paused

    def _on_transcript_change(self, path: Path) -> None:
        """Transcript watcher callback (observer thread): queue the file.

        Only the first file of a batch wakes the worker (it then waits for the batch's due
        time); a growing transcript reports a write many times a second.
        """
        with self._cond:
            first = not self._transcripts_pending
            self._transcripts_pending.add(path)
            if first:
                self._transcripts_due = time.monotonic() + TRANSCRIPT_BATCH_S
                self._cond.notify_all()

    def _run(self) -> None:
        """Worker loop: one batch of work at a time, never overlapping."""
        self.store.watch_exits()  # rows read by refresh() before the exit watcher ran
        now = time.monotonic()
        next_sample = now  # the first CPU sample primes psutil (its first reading is 0.0)
        next_poll = now + self.timing.tmux_poll_s
        next_servers = now + self.timing.servers_s if self.muxes.watching else float("inf")
        next_flush = float("inf")  # held transcript facts are due (store.flush_transcripts)
        next_stream = float("inf")  # the paused folders' transcripts are read again
        while True:
            with self._cond:
                while not (
                    self._stopped
                    or self._pending
                    or self._rescan
                    or self._poll
                    or (self._transcripts_pending and time.monotonic() >= self._transcripts_due)
                    or self._exited
                ):
                    wake = min(next_sample, next_poll, next_servers, next_flush, next_stream)
                    if self._transcripts_pending:
                        wake = min(wake, self._transcripts_due)
                    timeout = wake - time.monotonic()
                    if timeout <= 0:
                        break
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                pending, self._pending = self._pending, set()
                rescan, self._rescan = self._rescan, False
                poll, self._poll = self._poll, False
                appended, self._transcripts_pending = self._transcripts_pending, set()
                exited, self._exited = self._exited, set()
            try:
                now = time.monotonic()
                # Woken only to look at the socket directory (twice a second): unless a
                # server came or went, there is nothing to do and nothing to publish.
                servers_only = not (pending or rescan or poll or appended or exited) and now < min(
                    next_sample, next_poll, next_flush, next_stream
                )
                if now >= next_servers:
                    next_servers = now + self.timing.servers_s
                    if self.muxes.servers_may_have_changed() and self.muxes.refresh_servers():
                        poll = True
                if servers_only and not poll:
                    continue
                if now >= next_poll:
                    self.muxes.refresh_servers()  # the safety net for servers too
                if poll or now >= next_poll:
                    self._poll_tmux()
                    next_poll = now + self.timing.tmux_poll_s
                if exited:
                    self.store.processes_exited(exited)
                if rescan:
                    self.store.rescan()
                elif pending:
                    self.store.refresh_paths(pending)
                if self.store.take_new_unmapped():
                    self._poll_tmux()
                if now >= next_stream:
                    next_stream = float("inf")
                    for folder in self._paused:
                        appended |= self.store.transcript_paths_in(folder) or set()
                self._read_transcripts(appended, now)
                if not self._paused:
                    next_stream = float("inf")
                elif next_stream == float("inf"):  # other work never postpones the timer
                    next_stream = now + STREAM_POLL_S
                self.store.flush_transcripts()
                sampled = now >= next_sample
                if sampled:
                    self.store.sample()
                    fast = self.store.wants_fast_sampling()
                    next_sample = now + (self.timing.sample_s if fast else self._idle_sample_s)
                if self._transcript_watcher is not None and (sampled or rescan or pending):
                    self._transcript_watcher.set_folders(self.store.transcript_folders())
                self.store.publish()
                held = self.store.transcripts_held_s()
                next_flush = float("inf") if held is None else time.monotonic() + held
            except Exception:  # the monitor must outlive any one bad event
                _log.exception("monitor: a batch of work failed; continuing")
                time.sleep(0.1)

    def _read_transcripts(self, paths: set[Path], now: float) -> None:
        """Read ``paths`` (appended or due), then pause or resume the watch of their folders.

        A folder with a streaming transcript (:mod:`sessiontui.model.streaming`) is not
        watched; its transcripts are read every ``STREAM_POLL_S`` instead. A folder some
        session has no transcript in yet stays watched (its file is found by the event).
        """
        grown = self.store.refresh_transcripts(paths)
        for path in paths:
            grew = grown.get(path)
            if grew is None:
                self._streaming.forget(path)
            else:
                self._streaming.note(path, grew=grew, now=now)
        self._streaming.cool(now)
        paused = frozenset(
            folder
            for folder in {path.parent for path in self._streaming.paths}
            if self.store.transcript_paths_in(folder)
        )
        if paused == self._paused or self._transcript_watcher is None:
            return
        resumed, self._paused = self._paused - paused, paused
        self._transcript_watcher.pause(paused)
        # Appends between the last timed read and the new watch: read once more.
        for folder in resumed:
            for path in self.store.transcript_paths_in(folder) or ():
                self.store.refresh_transcript(path)

    def _poll_tmux(self) -> None:
        """One ``list-panes`` per server; problems become health notes, never exceptions."""
        if not self._locator_set:
            self.store.set_locator(self.muxes.locate)
            self._locator_set = True
        poll = self.muxes.poll()
        self.store.set_panes(poll.panes, health=poll.health, unreachable=poll.unreachable)
        focused = None
        with contextlib.suppress(SessiontuiError):
            focused = self.focused_pane()
        self.store.focused_pane = focused

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

    def _tmux_for(self, session: Session) -> Multiplexer:
        """Return the server that hosts a session's pane.

        Raises:
            NotApplicable: The session runs in no pane, or its server left the view.
        """
        if session.mux is None:
            raise NotApplicable(f"{session.name!r} does not run in a tmux pane")
        return self.muxes.get(session.mux.socket)

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
            home = self.muxes.inside()
            if client is not None and home is tmux:
                tmux.switch_client(client, session.mux.pane, session=session.mux.session_id)
                plan = AttachPlan(switched=True)
            elif client is not None and home is not None:
                # Another server: a client cannot switch across servers, so the target's
                # own attach runs in a popup (or window) of our client.
                attach = tmux.attach_argv(session.mux.pane, session=session.mux.session_id)
                argv = ["env", "-u", "TMUX", "-u", "TMUX_PANE", *attach]
                self._show_on_our_client(home, client, argv, session)
                plan = AttachPlan(switched=True)
            else:
                argv = tmux.attach_argv(session.mux.pane, session=session.mux.session_id)
                plan = AttachPlan(switched=False, argv=tuple(argv), env=_child_env())
        self.jumps.attached(key)
        return plan

    def _attach_job(self, session: Session) -> AttachPlan:
        """``claude attach <jobId>``: a popup/window inside tmux, else the terminal."""
        jobs = self._jobs(session)
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
        home = self.muxes.inside()
        if home is not None and client is not None:
            self._show_on_our_client(home, client, argv, session)
            return AttachPlan(switched=True)
        return AttachPlan(switched=False, argv=tuple(argv), env=_child_env())

    def _show_on_our_client(
        self, home: Multiplexer, client: str, argv: list[str], session: Session
    ) -> None:
        """Run ``argv`` in a popup over our own client (or a new window with ``popup=False``)."""
        if self.popup:
            home.display_popup(client, argv, title=f" {session.name} ", cwd=session.cwd)
            return
        pane = home.own_pane()
        if pane is None:
            raise NotApplicable("cannot find our own tmux pane")
        home.new_window(pane.session_id, argv, name=session.name)

    def run_in_window(
        self,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
        in_terminal: bool = False,
    ) -> AttachPlan:
        """Run a terminal program for the user: a new window of our tmux client, else a plan.

        Used for what has no pane here, such as ``ssh -t HOST -- tmux attach ...`` for a
        remote session (SPEC 2.7): inside tmux it opens in a new window of the session our
        client shows (and is selected there); outside tmux the plan carries ``argv`` for the
        caller to run in the suspended terminal.

        Args:
            argv: The program and its arguments (no shell).
            name: The window's name (untrusted text is fine: tmux takes it as one argument).
            env: Environment for the terminal plan (default ours without ``TMUX``).
            in_terminal: Always plan for the terminal (a TUI shown in a ``display-popup``).

        Returns:
            ``AttachPlan(switched=True)`` after opening the window, else a plan with ``argv``.

        Raises:
            MuxError: tmux failed to open the window.
        """
        home = self.muxes.inside()
        client = self.own_client()
        pane = None
        if home is not None and client is not None and not in_terminal:
            pane = home.own_pane()
        if home is not None and pane is not None:
            home.new_window(pane.session_id, list(argv), name=name)
            return AttachPlan(switched=True)
        return AttachPlan(
            switched=False, argv=tuple(argv), env=dict(env) if env is not None else _child_env()
        )

    def attach_here(self, key: str) -> AttachPlan:
        """Like :meth:`attach`, but a Claude background job is shown in our own terminal.

        For a TUI that runs in a ``display-popup``: tmux shows one popup per client, so a
        job's ``claude attach`` cannot open a second one; the plan runs it in the popup's
        terminal instead (the caller suspends itself around it). tmux panes are switched
        to exactly as :meth:`attach` does.

        Raises:
            NotApplicable: Neither a pane nor a job, or the job has ended.
            MuxError, SessiontuiError: A command failed.
        """
        session = self.session(key)
        if session.mux is not None or not session.job_id:
            return self.attach(key)
        if not session.alive:
            raise NotApplicable(f"{session.name!r} has ended (attaching would restart it)")
        jobs = self._jobs(session)
        try:
            argv = jobs.attach_argv(session.job_id)
        except ValueError as error:
            raise NotApplicable(f"invalid jobId in the registry: {error}") from None
        env = _child_env()
        config_dir = (jobs.environ or {}).get("CLAUDE_CONFIG_DIR")
        if config_dir:
            env["CLAUDE_CONFIG_DIR"] = config_dir
        self.jumps.attached(key)
        return AttachPlan(switched=False, argv=tuple(argv), env=env)

    def _jobs(self, session: Session | None = None) -> ClaudeJobs:
        """The Claude job runner for ``session``'s configuration base, or a clear error.

        A job belongs to the daemon of one ``CLAUDE_CONFIG_DIR``: a session from another
        registry directory than the first (``<base>/sessions``) gets a runner for its own
        base.
        """
        if self.claude is None:
            raise NotApplicable("claude executable not found; set claude_executable in the config")
        path = session.registry_path if session is not None else None
        if path is None or path.parent == self.sessions_dir or path.parent.name != "sessions":
            return self.claude  # the main registry's runner is configured by the caller
        base = str(path.parent.parent)
        environ = dict(self.claude.environ if self.claude.environ is not None else os.environ)
        if environ.get("CLAUDE_CONFIG_DIR") == base:
            return self.claude
        environ["CLAUDE_CONFIG_DIR"] = base
        from sessiontui.model.claude_jobs import ClaudeJobs

        return ClaudeJobs(self.claude.executable, environ=environ, timeout_s=self.claude.timeout_s)

    def own_client(self) -> str | None:
        """Our tmux client's tty: the client showing our pane, else the last one that did.

        After a jump our client shows another session, so tmux no longer links it to our
        pane; the user's next key still comes from that client, so it is remembered for as
        long as it stays attached.

        Raises:
            MuxError: tmux failed.
        """
        home = self.muxes.inside()
        if home is None:
            return None
        client = home.own_client()
        if client is not None:
            self._client = client
            return client
        if self._client is not None and home.last_client_pane(self._client) is not None:
            return self._client
        return None

    def focused_pane(self) -> tuple[str, str] | None:
        """``(server, %N)``: the pane our own tmux client shows now, or ``None`` outside tmux.

        Raises:
            MuxError: tmux failed.
        """
        home = self.muxes.inside()
        if home is None:
            return None
        client = self.own_client()
        pane = home.last_client_pane(client) if client else None
        if not pane or client is None:
            return None
        session = "" if home.type == "tmux" else (home.client_session(client) or "")
        return (home.server, pane_key(home.type, session, pane))

    def preview(self, key: str, lines: int) -> str:
        """The last ``lines`` lines of the session's pane, as plain (untrusted) text.

        Raises:
            NotApplicable: No pane. MuxError: The server failed.
        """
        session = self.session(key)
        tmux = self._tmux_for(session)
        assert session.mux is not None
        return tmux.capture_pane(session.mux.pane, lines=lines, session=session.mux.session_id)

    def send(self, key: str, text: str) -> None:
        """Type a one-line reply into the session's pane, then Enter (key ``s``).

        Only into the pane that holds the session's verified process, and never while it
        shows a permission box (see :func:`sessiontui.model.reply.send_reply`). A Claude
        background job has no pane: the reply goes through a hidden ``claude attach``
        (:meth:`ClaudeJobs.send`), only while the job runs and does not wait for a permission.

        Raises:
            TargetNotFound: No such session. NotApplicable: Empty or multi-line text, no pane,
            or the process is not in its pane any more. PromptNotShown: A permission box is
            shown. MuxError: The multiplexer failed. SessiontuiError: ``claude attach`` failed.
        """
        session = self.session(key)
        if session.mux is None and session.job_id:
            self._send_to_job(session, text)
            return
        send_reply(self.muxes, session, text, timing=self.reply_timing)

    def _send_to_job(self, session: Session, text: str) -> None:
        """A reply to a Claude background job, through a hidden viewer (see :meth:`send`)."""
        if not text.strip():
            raise NotApplicable("nothing to send: the reply is empty")
        try:
            check_text(text)
        except ValueError as error:
            raise NotApplicable(f"cannot send that reply: {error}") from None
        if not session.alive or not is_alive(session.pid, session.proc_start):
            raise NotApplicable(f"{session.name!r} has ended (attaching would restart it)")
        if session.status is Status.WAITING and (session.waiting_for or "") in PERMISSION_WAITS:
            raise PromptNotShown(
                f"{session.name!r} waits for a permission: attach (enter) to answer it; "
                "nothing was sent"
            )
        assert session.job_id is not None
        try:
            self._jobs(session).send(session.job_id, text)
        except ValueError as error:
            raise NotApplicable(f"invalid jobId in the registry: {error}") from None

    def approve(self, key: str) -> Answer:
        """Choose the "Yes" option of the permission box the session's pane shows (key ``a``).

        Raises:
            TargetNotFound: No such session. NotApplicable: Not waiting for a permission, or
            no verified pane. PromptNotShown: A fresh capture shows no permission box
            (nothing was sent). SessiontuiError: The box did not go away. MuxError: The
            multiplexer failed.
        """
        return answer_prompt(self.muxes, self.session(key), approve=True, timing=self.reply_timing)

    def deny(self, key: str) -> Answer:
        """Choose the "No" option of the permission box the session's pane shows (key ``A``).

        Raises:
            As :meth:`approve`.
        """
        return answer_prompt(self.muxes, self.session(key), approve=False, timing=self.reply_timing)

    def interrupt(self, key: str) -> bool:
        """Press the agent's own interrupt key (Escape) once, if its pane shows a running turn.

        Returns:
            True when the pane stopped showing a running turn within the confirmation time.

        Raises:
            TargetNotFound: No such session. NotApplicable: Not busy, not Claude or Codex, or
            no verified pane. PromptNotShown: No running turn on screen (nothing was sent).
            MuxError: The multiplexer failed.
        """
        return interrupt_turn(self.muxes, self.session(key), timing=self.reply_timing)

    def leave(self) -> None:
        """Take our own client away from the ``--bg`` monitor's session (``q`` there).

        Raises:
            NotApplicable: We do not run inside tmux. MuxError: tmux failed.
        """
        home = self.muxes.inside()
        client = self.own_client()
        if home is None or client is None:
            raise NotApplicable("not inside tmux; ctrl+q quits")
        pane = home.own_pane()
        here = pane.session_id if pane is not None else None
        if home.switch_client_back(client, leaving=here) is None:
            home.detach_client(client)

    @property
    def attached_key(self) -> str | None:
        """The session most recently attached from here."""
        return self.jumps.attached_key

    @property
    def previous_key(self) -> str | None:
        """The one attached before it (``tab`` goes back to it)."""
        return self.jumps.previous_key

    def use_client(self, client_tty: str) -> None:
        """Act for the tmux client on ``client_tty`` when we have no pane of our own.

        ``run-shell`` and ``display-popup`` commands get ``TMUX`` but not ``TMUX_PANE``
        (SPEC 2.4), so a key binding passes ``#{client_tty}`` instead; :meth:`own_client`
        then answers with it for as long as that client stays attached.

        Args:
            client_tty: The client's terminal, e.g. ``/dev/pts/4``.
        """
        self._client = client_tty

    def next_waiting(self) -> Session | None:
        """The next session waiting for input (cycling), for ``w`` and ``attach --waiting``.

        It follows the one our client shows now, else the one the last ``w`` chose (see
        :mod:`sessiontui.model.navigation`). A tmux failure only loses the first hint.
        """
        try:
            shown = self.focused_pane()
        except SessiontuiError:
            shown = None
        return self.jumps.next_waiting(self.snapshot.sessions, shown_pane=shown)

    def detach(self, key: str, *, keep_own: bool = False) -> int:
        """Detach the ordinary clients of the session's tmux session; it keeps running.

        Control-mode clients are never detached. For a Claude background job, this ends only
        its ``claude attach`` viewer processes, never the job. See
        :meth:`detach_takes_own_client` to ask the user first.

        Args:
            key: The session.
            keep_own: Leave our own client (the one sessiontui is shown in) attached.

        Returns:
            How many clients (or viewers) were detached.

        Raises:
            NotApplicable: No tmux pane. MuxError: tmux failed.
        """
        session = self.session(key)
        if session.mux is None and session.job_id:
            try:
                return self._jobs(session).end_viewers(session.job_id)
            except ValueError as error:
                raise NotApplicable(f"invalid jobId in the registry: {error}") from None
        tmux = self._tmux_for(session)
        assert session.mux is not None
        keep = self.own_client() if keep_own else None
        count = tmux.detach_session(session.mux.session_id, keep_client=keep)
        self.request_rescan(poll_tmux=True)
        return count

    def detach_takes_own_client(self, key: str) -> bool:
        """True when detaching ``key`` would also detach the client sessiontui is shown in.

        That is: the session runs in the tmux session our own client shows now (e.g. the
        agent shares a window with a sessiontui side pane).

        Raises:
            TargetNotFound: No such session. MuxError: tmux failed.
        """
        session = self.session(key)
        home = self.muxes.inside()
        if session.mux is None or home is None or self._tmux_for(session) is not home:
            return False
        client = self.own_client()
        if client is None:
            return False
        return home.client_session(client) == session.mux.session_id

    def owns_tmux_session(self, session: Session) -> bool:
        """True when sessiontui created the session's tmux session (``@sessiontui-kind`` set).

        Only such a tmux session is renamed with its agent; a session the user made keeps
        its name (it may hold other work).
        """
        return session.mux is not None and session.mux.session_kind is not None

    def rename(self, key: str, name: str) -> None:
        """Rename a session: its registry ``name`` and, if sessiontui made it, its tmux session.

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
        if session.agent == "codex":
            self._rename_codex(session, clean)
            return
        if session.registry_path is None:
            if session.mux is None or not self.owns_tmux_session(session):
                raise NotApplicable(f"{session.name!r} has nothing to rename")
            self._tmux_for(session).rename_session(session.mux.session_id, clean)
            self.request_rescan(poll_tmux=True)
            return
        old_tmux: str | None = None
        if (
            session.mux is not None
            and self.owns_tmux_session(session)
            and session.mux.session != clean
        ):
            self._tmux_for(session).rename_session(session.mux.session_id, clean)
            old_tmux = session.mux.session
        try:
            registry.write_name(session.registry_path, clean)
            if self.names is not None and session.session_id:
                with contextlib.suppress(ValueError, SessiontuiError):
                    self.names.set(session.session_id, clean)
        except (OSError, SessiontuiError) as error:
            if old_tmux is not None and session.mux is not None:
                with contextlib.suppress(SessiontuiError):
                    self._tmux_for(session).rename_session(session.mux.session_id, old_tmux)
            if isinstance(error, SessiontuiError):
                raise
            raise SessiontuiError(f"cannot write {session.registry_path}: {error}") from error
        finally:
            self.request_rescan(poll_tmux=old_tmux is not None)

    def _rename_codex(self, session: Session, clean: str) -> None:
        """Rename a Codex row: the names file (by thread id) and a tmux session we made.

        Codex has no registry to write; the name is shown from the names file (SPEC 2.3).

        Raises:
            NotApplicable: No thread id yet (no turn so far) and no tmux session of ours.
            NameTaken, MuxError: From the tmux rename.
        """
        owned = session.mux is not None and self.owns_tmux_session(session)
        if (self.names is None or not session.session_id) and not owned:
            raise NotApplicable(f"{session.name!r} has no thread id yet to keep a name under")
        if owned and session.mux is not None and session.mux.session != clean:
            self._tmux_for(session).rename_session(session.mux.session_id, clean)
        if self.names is not None and session.session_id:
            try:
                self.names.set(session.session_id, clean)
            except ValueError as error:
                raise NotApplicable(f"cannot keep that name: {error}") from None
        self.store.names_changed()
        self.request_rescan(poll_tmux=owned)

    def kill(
        self, key: str, *, grace_s: float | None = None, delete_data: bool = False
    ) -> KillReport:
        """End the session's process tree: SIGTERM, ``grace_s`` seconds, then SIGKILL.

        The registry file is left to its owner; the row turns dead, then disappears when the
        file goes. Blocks up to ``grace_s`` (+ a little). A background session sessiontui
        made also loses its multiplexer session (tmux ``kill-session``; Zellij
        ``kill-session``, which keeps the session for resurrection: with ``delete_data``
        that is deleted too, see :meth:`leaves_resurrection_data`; without, the session is
        listed as exited until dismissed). A Claude background job is ended with
        ``claude stop``.

        Args:
            key: The session.
            grace_s: Seconds between SIGTERM and SIGKILL (default: the monitor's).
            delete_data: Also delete what the multiplexer keeps of the ended session (only
                where :meth:`leaves_resurrection_data` is true; ignored elsewhere). Ask the
                user first: the session cannot be resurrected afterwards.

        Returns:
            What was signalled.

        Raises:
            KillRefused: PID <= 1, ourselves, an ancestor, another user's, a reused PID, or a
                PID of another machine or PID namespace (``pidDomain``).
            NotApplicable: An exited multiplexer session (nothing runs; dismiss it).
            MuxError, MuxUnavailable: The processes ended but the resurrection data could
                not be deleted (the message says so).
        """
        session = self.session(key)
        if (domain := foreign_pid_domain(session.extra)) is not None:
            raise KillRefused(
                f"{session.name!r} runs on another machine or in another PID namespace "
                f"({printable(domain)}): PID {session.pid} is not this machine's to signal"
            )
        try:
            if session.agent == "codex":
                return self._kill_codex(session, grace_s)
            if session.mux is None and session.job_id:
                try:
                    self._jobs(session).stop(session.job_id)
                except ValueError as error:
                    raise NotApplicable(f"invalid jobId in the registry: {error}") from None
                return KillReport(
                    pid=session.pid, terminated=(session.pid,), killed=(), already_gone=False
                )
            if session.mux is not None and session.mux.exited:
                raise NotApplicable(
                    f"{session.name!r} has ended; dismiss it to delete what is kept of it"
                )
            delete = delete_data and self.leaves_resurrection_data(session)
            report = kill_tree(
                session.pid,
                grace_s=self.grace_s if grace_s is None else grace_s,
                proc_start=session.proc_start,
            )
            if session.mux is not None and session.mux.session_kind == "bg":
                mux = self._tmux_for(session)
                with contextlib.suppress(SessiontuiError):  # it may have ended with the agent
                    mux.kill_session(session.mux.session_id)
                if delete:
                    try:
                        mux.delete_session(session.mux.session_id)
                    except SessiontuiError as error:
                        raise type(error)(
                            f"{session.name!r} ended, but what {mux.type} keeps of it could "
                            f"not be deleted: {error}"
                        ) from error
            return report
        finally:
            self.request_rescan(poll_tmux=True)

    def leaves_resurrection_data(self, session: Session) -> bool:
        """True when ending ``session`` leaves data that ``kill(..., delete_data=True)`` deletes.

        That is a live background session sessiontui made in a multiplexer that keeps ended
        sessions for resurrection (Zellij): offer the user to delete it too. No external
        call.
        """
        mux = session.mux
        if not session.alive or mux is None or mux.exited or mux.session_kind != "bg":
            return False
        try:
            server = self.muxes.get(mux.socket)
        except NotApplicable:
            return False
        return CAP_RESURRECT in server.capabilities

    def _kill_codex(self, session: Session, grace_s: float | None) -> KillReport:
        """End a Codex TUI: its launcher and TUI tree, never the shared daemon (SPEC 2.3).

        Raises:
            NotApplicable: A background Codex session (no process of its own) or a TUI that
                is gone. KillRefused: As for :func:`kill_tree`.
        """
        codex = self.store.codex_sessions.get(session.key)
        targets = codex.kill_targets() if codex is not None else ()
        if not targets:
            raise NotApplicable(
                f"{session.name!r} has no Codex process of its own to end"
                " (a background turn runs in the shared daemon)"
            )
        return kill_tree(
            targets[0],
            grace_s=self.grace_s if grace_s is None else grace_s,
            only=targets[1:],
        )

    def dismiss(self, key: str) -> None:
        """Forget a dead session: delete its ``<pid>.json`` after re-checking the PID is dead.

        An exited multiplexer session sessiontui made (Zellij, kept for resurrection: its
        row's ``mux.exited``) is deleted (``delete-session``); ask the user first, it cannot
        be resurrected afterwards.

        Raises:
            NotApplicable: The session is alive. SessiontuiError: The process is alive after all.
            MuxError, MuxUnavailable: The multiplexer could not delete an exited session.
        """
        session = self.session(key)
        if session.mux is not None and session.mux.exited:
            try:
                self._tmux_for(session).delete_session(session.mux.session_id)
            finally:
                self.request_rescan(poll_tmux=True)
            return
        if session.status is not Status.DEAD or session.registry_path is None:
            raise NotApplicable(f"{session.name!r} is not dead; only dead sessions are dismissed")
        try:
            registry.remove_dead_entry(session.registry_path, session.proc_start)
        except FileNotFoundError:
            pass
        finally:
            self.request_rescan()

    def new_session(
        self, name: str, command: Sequence[str], cwd: str | None = None, *, mux: str = "tmux"
    ) -> str:
        """Create a detached background session ``name`` running ``command`` (SPEC 5).

        ``mux`` chooses tmux (the session is marked ``@sessiontui-kind bg``) or Zellij (the
        session is remembered as ours in the Zellij backend's state file). Its environment has
        ``CLAUDE_CODE_SESSION_KIND=bg`` and ``CLAUDE_CODE_SESSION_NAME=<name>`` (SPEC 5).
        The command would otherwise get the tmux server's environment, not ours: the
        variables of :data:`CALLER_ENV_VARS` that we have set are passed along too (our
        Claude config directory, ``PATH``, ``HOME``, proxies).

        Returns:
            The session id (tmux ``$N``, the Zellij session name).

        Raises:
            InvalidName: Bad name. NameTaken: A session has that name. NotApplicable: No
            such multiplexer. MuxError: The multiplexer failed.
        """
        clean = registry.validate_name(name)
        home = self.muxes.home(mux)
        if home is None:
            raise NotApplicable(f"no {mux} available (is it installed and enabled?)")
        if not command:
            raise NotApplicable("no command given")
        env = {k: v for k, v in os.environ.items() if k in CALLER_ENV_VARS}
        env.update(CLAUDE_CODE_SESSION_KIND="bg", CLAUDE_CODE_SESSION_NAME=clean)
        session_id = home.new_session(clean, command=list(command), cwd=cwd, env=env)
        self.muxes.refresh_servers()  # new may have started the server
        self.request_rescan(poll_tmux=True)
        return session_id

    def new_session_muxes(self) -> tuple[str, ...]:
        """The multiplexer kinds :meth:`new_session` can use now, the one we run in first."""
        kinds = [kind for kind in ("tmux", "zellij") if self.muxes.home(kind) is not None]
        inside = self.muxes.inside()
        if inside is not None and inside.type in kinds:
            kinds.remove(inside.type)
            kinds.insert(0, inside.type)
        return tuple(kinds)

    def _follow_agent_rename(self, change: SnapshotChange) -> None:
        """Subscriber: a ``/rename`` inside the agent renames its sessiontui-made tmux session.

        Claude's ``/rename`` writes a new registry ``name`` without ``nameSource`` (2.1.3xx:
        ``nameSource: "user"``); when that
        happens in a tmux session sessiontui created (kind ``bg``), the tmux session takes
        the new name too. Runs in the monitor thread; failures (name taken, tmux gone) only
        leave the tmux name as it was.
        """
        for key in change.removed:
            self._seen_names.pop(key, None)
        for key in change.added | change.changed:
            session = change.snapshot.get(key)
            if session is None:
                continue
            before = self._seen_names.get(key)
            self._seen_names[key] = session.name
            mux = session.mux
            if (
                before is None
                or before == session.name
                or mux is None
                or mux.session_kind != "bg"
                or mux.session == session.name
                or self.tmux is None
                or session.registry_path is None
                or not session.alive
            ):
                continue
            entry = self.store.reader.entry(session.registry_path)
            if (
                entry is None
                or entry.name != session.name
                or not is_user_name(entry.name, entry.name_source)
            ):
                continue
            with contextlib.suppress(SessiontuiError, ValueError):
                self.tmux.rename_session(mux.session_id, session.name)
                self.request_rescan(poll_tmux=True)


#: Variables of the caller passed to commands started in tmux (which would otherwise get
#: the tmux server's environment): where Claude keeps its state, where programs are, the
#: home directory, and the proxies (both spellings).
CALLER_ENV_VARS: tuple[str, ...] = (
    "CLAUDE_CONFIG_DIR",
    "PATH",
    "HOME",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
)


def _child_env() -> dict[str, str]:
    """Our environment without ``TMUX``/``TMUX_PANE``, so a nested attach is allowed."""
    return {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
