"""The interface every terminal-multiplexer backend offers (SPEC 2.4, 2.5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sessiontui.model.types import PaneInfo


class MuxBackend(Protocol):
    """What the model and the UI may ask of a multiplexer (tmux today, Zellij later).

    Every method may block on a subprocess for up to the backend's timeout: call them from
    worker threads, never from the UI thread. Targets are exact ids (``$N`` sessions, ``%N``
    panes), never names that the multiplexer could prefix-match. Failures raise
    :class:`~sessiontui.errors.MuxUnavailable` (server not running or not answering) or
    :class:`~sessiontui.errors.MuxError` (the command failed; message = its stderr).
    """

    def list_panes(self) -> list[PaneInfo]:
        """Return every pane of the server in one poll."""
        ...

    def locate(self, pid: int, panes: Sequence[PaneInfo]) -> PaneInfo | None:
        """Return the pane among ``panes`` in which process ``pid`` runs, or ``None``."""
        ...

    def switch_client(self, client_tty: str, pane_id: str) -> None:
        """Make the client on terminal ``client_tty`` show pane ``pane_id``."""
        ...

    def detach_session(self, session_id: str) -> int:
        """Detach every client of ``session_id``; return how many were attached."""
        ...

    def rename_session(self, session_id: str, new_name: str) -> None:
        """Rename ``session_id``; raise :class:`~sessiontui.errors.NameTaken` if taken."""
        ...

    def kill_session(self, session_id: str) -> None:
        """End ``session_id`` and every process in its panes."""
        ...

    def attach_argv(self, pane_id: str) -> list[str]:
        """Return the argv that attaches a terminal outside the multiplexer to ``pane_id``."""
        ...

    def capture_pane(self, pane_id: str, lines: int = 20) -> str:
        """Return the last ``lines`` lines of ``pane_id`` as plain text."""
        ...

    def new_session(
        self,
        name: str,
        *,
        command: Sequence[str],
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        kind: str = "bg",
    ) -> str:
        """Create a detached session ``name`` running the argv ``command`` (SPEC 5).

        The session is marked with ``kind`` (tmux: user option ``@sessiontui-kind``) and
        has ``env`` in its environment. Returns its id; raises
        :class:`~sessiontui.errors.InvalidName` or :class:`~sessiontui.errors.NameTaken`.
        """
        ...

    def new_window(
        self,
        session_id: str,
        command: Sequence[str],
        *,
        name: str | None = None,
        select: bool = True,
        cwd: str | None = None,
    ) -> str:
        """Open a window (tab) running the argv ``command`` in ``session_id``; return its pane."""
        ...
