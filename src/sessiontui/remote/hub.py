"""Many machines, one list: :class:`Hub`, a session service over this machine and remote hosts.

The hub merges the local :class:`~sessiontui.model.monitor.Monitor` and one
:class:`~sessiontui.remote.link.HostLink` per remote host into one
:class:`~sessiontui.model.types.Snapshot` (remote keys ``"<host>/<key>"``,
``Session.host`` set), and routes every verb by the key's host prefix: a local key to the
monitor, a remote one over its link (SPEC 2.7). Health is merged too: each host that is not
live adds a ``host:NAME`` problem, and its rows keep their last-known state with
``health`` :data:`~sessiontui.remote.link.UNREACHABLE` (never ``dead``).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from sessiontui.errors import NotApplicable, ProtocolError, SessiontuiError, TargetNotFound
from sessiontui.model.processes import KillReport
from sessiontui.model.prompts import Answer, PromptOption
from sessiontui.model.store import diff
from sessiontui.model.types import Session, Snapshot, SnapshotChange

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sessiontui.model.monitor import Monitor
    from sessiontui.model.navigation import JumpHistory
    from sessiontui.model.service import AttachPlan
    from sessiontui.remote.link import HostLink

__all__ = ["Hub", "host_problem"]


def host_problem(name: str, problem: str) -> str:
    """The health entry of a host that is not live: ``host:NAME: unreachable (why)``.

    >>> host_problem("box", "connecting")
    'host:box: connecting'
    >>> host_problem("box", "Connection refused")
    'host:box: unreachable (Connection refused)'
    """
    if problem == "connecting":
        return f"host:{name}: connecting"
    return f"host:{name}: unreachable ({problem})"


def _order(session: Session) -> tuple[int, float, str]:
    """Waiting → busy → idle → unknown → dead; the latest change first (the store's order)."""
    return (session.status.sort_rank, -(session.status_changed_at or 0.0), session.key)


class Hub:
    """A :class:`~sessiontui.model.service.SessionService` over the local monitor and hosts.

    Args:
        local: This machine's monitor (it also opens windows of our tmux client).
        links: One link per remote host (the hub starts and closes them).
        clock: Wall clock, seconds since the epoch (the merged snapshot's ``taken_at``).
    """

    def __init__(
        self,
        local: Monitor,
        links: Sequence[HostLink],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.local = local
        self.links = tuple(links)
        self.clock = clock
        self._lock = threading.RLock()  # held while subscribers are told, so in order
        self._callbacks: list[Callable[[SnapshotChange], None]] = []
        self._snapshot = Snapshot()
        for link in self.links:
            link.on_change = self._republish
        self.local.subscribe(self._on_local)
        self._merge()

    # -- reads ----------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        """The latest merged snapshot (any thread)."""
        return self._snapshot

    @property
    def previous_key(self) -> str | None:
        """The session attached before the last one (local or remote)."""
        return self.local.previous_key

    @property
    def jumps(self) -> JumpHistory:
        """The attach history, shared with the local monitor."""
        return self.local.jumps

    def subscribe(self, callback: Callable[[SnapshotChange], None]) -> None:
        """Call ``callback(change)`` after every change of the merged view (model threads)."""
        with self._lock:
            self._callbacks.append(callback)

    def unsubscribe(self, callback: Callable[[SnapshotChange], None]) -> None:
        """Stop calling ``callback``."""
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def _on_local(self, change: SnapshotChange) -> None:
        del change
        self._republish()

    def _republish(self) -> None:
        """Merge again and tell the subscribers what changed (from any model thread)."""
        with self._lock:
            old = self._snapshot
            new = self._merge()
            change = diff(old, new)
            if change.empty and new.messages == old.messages and new.tmux_ok == old.tmux_ok:
                return
            # Told under the lock: changes computed in two threads arrive in their order.
            for callback in list(self._callbacks):
                callback(change)

    def _merge(self) -> Snapshot:
        """Build the merged snapshot (the caller holds the lock, or it is the constructor)."""
        local = self.local.snapshot
        sessions = list(local.sessions)
        messages = list(local.messages)
        for link in self.links:
            sessions += link.sessions
            problem = link.problem
            if problem is not None:
                messages.append(host_problem(link.host.name, problem))
            messages += [f"host:{link.host.name}: {text}" for text in link.remote_health]
        sessions.sort(key=_order)
        self._snapshot = Snapshot(
            sessions=tuple(sessions),
            taken_at=max(local.taken_at, self.clock()),
            tmux_ok=local.tmux_ok,
            messages=tuple(messages),
            focused_pane=local.focused_pane,
        )
        return self._snapshot

    def refresh(self) -> Snapshot:
        """Read this machine once and publish the merged view (hosts report on their own)."""
        self.local.refresh()
        self._republish()
        return self._snapshot

    def start(self) -> None:
        """Start the local monitor and connect every host."""
        self.local.start()
        for link in self.links:
            link.start()

    def close(self) -> None:
        """Close every link (its ssh ends) and the local monitor; idempotent."""
        for link in self.links:
            link.close()
        self.local.unsubscribe(self._on_local)
        self.local.close()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request_rescan(self, *, poll_tmux: bool = False) -> None:
        """Ask the local monitor for a rescan (remote hosts push their changes)."""
        self.local.request_rescan(poll_tmux=poll_tmux)

    # -- routing --------------------------------------------------------------------------

    def _link(self, key: str) -> HostLink | None:
        """The link owning ``key``, or ``None`` for a local key."""
        for link in self.links:
            if key.startswith(link.prefix):
                return link
        return None

    def _session(self, key: str) -> Session:
        session = self._snapshot.get(key)
        link = self._link(key)
        if session is None and link is not None:  # newer than the last merge
            session = next((s for s in link.sessions if s.key == key), None)
        if session is None:
            raise TargetNotFound("the session is gone")
        return session

    def attach(self, key: str) -> AttachPlan:
        """Show the session: a local one as the monitor does; a remote one over ``ssh -t``.

        For a remote row the host answers ``attach_plan`` with the argv that attaches there
        from a plain terminal; it runs as ``ssh -t [opts] DEST -- <argv, shell-quoted>`` in a
        new window of our tmux client (inside tmux), else in the suspended terminal.

        Raises:
            HostUnreachable: The link is down. SessiontuiError: The host refused.
        """
        link = self._link(key)
        if link is None:
            return self.local.attach(key)
        session = self._session(key)
        argv = link.transport.attach_argv(link.host, self._remote_attach_argv(link, key))
        plan = self.local.run_in_window(argv, name=f"{link.host.name}:{session.name}")
        self.local.jumps.attached(key)
        return plan

    def attach_here(self, key: str) -> AttachPlan:
        """Like :meth:`attach`; a remote session always runs in our own terminal."""
        link = self._link(key)
        if link is None:
            return self.local.attach_here(key)
        session = self._session(key)
        argv = link.transport.attach_argv(link.host, self._remote_attach_argv(link, key))
        plan = self.local.run_in_window(
            argv, name=f"{link.host.name}:{session.name}", in_terminal=True
        )
        self.local.jumps.attached(key)
        return plan

    @staticmethod
    def _remote_attach_argv(link: HostLink, key: str) -> list[str]:
        result = link.call("attach_plan", key)
        argv = result.get("argv")
        if (
            not isinstance(argv, list)
            or not argv
            or not all(isinstance(a, str) and a and "\0" not in a for a in argv)
        ):
            raise ProtocolError(f"{link.host.name}: attach_plan gave no usable command")
        return list(argv)

    def detach(self, key: str, *, keep_own: bool = False) -> int:
        """Detach the session's clients (on its host for a remote one); return how many."""
        link = self._link(key)
        if link is None:
            return self.local.detach(key, keep_own=keep_own)
        return _int(link.call("detach", key), "detached")

    def detach_takes_own_client(self, key: str) -> bool:
        """True when detaching would detach our own client (never for a remote session)."""
        if self._link(key) is None:
            return self.local.detach_takes_own_client(key)
        return False

    def rename(self, key: str, name: str) -> None:
        """Rename the session (on its host for a remote one)."""
        link = self._link(key)
        if link is None:
            self.local.rename(key, name)
            return
        link.call("rename", key, {"name": name})

    def kill(
        self, key: str, *, grace_s: float | None = None, delete_data: bool = False
    ) -> KillReport:
        """End the session's process tree (on its host for a remote one)."""
        link = self._link(key)
        if link is None:
            return self.local.kill(key, grace_s=grace_s, delete_data=delete_data)
        args: dict[str, object] = {"delete_data": delete_data}
        if grace_s is not None:
            args["grace_s"] = grace_s
        wait = (grace_s if grace_s is not None else 5.0) + link.call_timeout_s
        return _kill_report(link.call("kill", key, args, timeout_s=wait), self._session(key))

    def leaves_resurrection_data(self, session: Session) -> bool:
        """True when killing leaves resurrection data (not known for a remote session)."""
        if session.host is not None:
            return False
        return self.local.leaves_resurrection_data(session)

    def dismiss(self, key: str) -> None:
        """Forget a dead session (its host re-checks and deletes its registry file)."""
        link = self._link(key)
        if link is None:
            self.local.dismiss(key)
            return
        link.call("dismiss", key)

    def new_session(
        self, name: str, command: Sequence[str], cwd: str | None = None, *, mux: str = "tmux"
    ) -> str:
        """Start a background session on this machine."""
        return self.local.new_session(name, command, cwd, mux=mux)

    def new_session_muxes(self) -> tuple[str, ...]:
        """The multiplexer kinds a new (local) session can go to."""
        return self.local.new_session_muxes()

    def preview(self, key: str, lines: int) -> str:
        """The last ``lines`` lines of the session's pane (plain, untrusted text)."""
        link = self._link(key)
        if link is None:
            return self.local.preview(key, lines)
        text = link.call("preview", key, {"lines": lines}).get("text")
        return text if isinstance(text, str) else ""

    def send(self, key: str, text: str) -> None:
        """Type a one-line reply into the session's pane (on its host), then Enter."""
        link = self._link(key)
        if link is None:
            self.local.send(key, text)
            return
        link.call("send", key, {"text": text})

    def approve(self, key: str) -> Answer:
        """Choose "Yes" in the permission box the session's pane shows."""
        link = self._link(key)
        if link is None:
            return self.local.approve(key)
        return _answer(link.call("approve", key), approved=True)

    def deny(self, key: str) -> Answer:
        """Choose "No" in the permission box the session's pane shows."""
        link = self._link(key)
        if link is None:
            return self.local.deny(key)
        return _answer(link.call("deny", key), approved=False)

    def interrupt(self, key: str) -> bool:
        """Press the agent's interrupt key; True when the turn stopped."""
        link = self._link(key)
        if link is None:
            return self.local.interrupt(key)
        stopped = link.call("interrupt", key).get("stopped")
        return stopped is True

    def leave(self) -> None:
        """Take our own client away from the ``--bg`` monitor's session."""
        self.local.leave()

    def use_client(self, client_tty: str) -> None:
        """Act for the tmux client on ``client_tty``."""
        self.local.use_client(client_tty)

    def next_waiting(self) -> Session | None:
        """The next session waiting for input, local or remote (cycling)."""
        try:
            shown = self.local.focused_pane()
        except SessiontuiError:  # a tmux failure only loses the hint
            shown = None
        return self.local.jumps.next_waiting(self._snapshot.sessions, shown_pane=shown)


def _int(result: dict[str, object], name: str) -> int:
    value = result.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return value


def _ints(value: object) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, int) and not isinstance(v, bool))


def _kill_report(result: dict[str, object], session: Session) -> KillReport:
    """The host's kill report (``pid``, ``terminated``, ``killed``, ``already_gone``)."""
    pid = result.get("pid")
    return KillReport(
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else session.pid,
        terminated=_ints(result.get("terminated")),
        killed=_ints(result.get("killed")),
        already_gone=result.get("already_gone") is True,
    )


def _answer(result: dict[str, object], *, approved: bool) -> Answer:
    """The host's answer (``option`` number and label, ``question``) as an :class:`Answer`."""
    option = result.get("option")
    number, label = 0, ""
    if isinstance(option, dict):
        raw_number, raw_label = option.get("number"), option.get("label")
        number = raw_number if isinstance(raw_number, int) else 0
        label = raw_label if isinstance(raw_label, str) else ""
    question = result.get("question")
    if not label:
        raise NotApplicable("the host did not say which option it chose")
    return Answer(
        approved=approved,
        option=PromptOption(number=number, label=label),
        question=question if isinstance(question, str) else "",
    )
