"""The interface every terminal-multiplexer server offers the model (SPEC 2.4, 2.5).

The model imports only this module of ``sessiontui.mux``: concrete servers (one
:class:`~sessiontui.mux.tmux.TmuxBackend` per tmux server, Zellij next) are built by the
composition root (``cli.py``, the demo, tests) and handed to the model as :class:`Multiplexer`
values. A :class:`ChangeTrigger` (tmux control mode, Zellij socket and metadata files) only asks
for a poll; it is never a source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sessiontui.model.types import PaneInfo

#: Capability names a :class:`Multiplexer` may list in :attr:`Multiplexer.capabilities`.
CAP_POPUP = "popup"
CAP_CAPTURE = "capture"
CAP_DETACH = "detach"
CAP_SWITCH = "switch"
CAP_CONTROL_MODE = "control_mode"
CAP_NEW_SESSION = "new_session"
#: Ended sessions are kept for resurrection (Zellij) until :meth:`Multiplexer.delete_session`.
CAP_RESURRECT = "resurrect"

CAP_SEND_KEYS = "send_keys"

#: Key names :meth:`Multiplexer.send_keys` understands, besides one printable character
#: (``"1"``, ``"y"``): each backend maps them to its own names (tmux ``Escape``, Zellij ``Esc``).
KEY_ENTER = "Enter"
KEY_ESCAPE = "Escape"
KEY_NAMES: frozenset[str] = frozenset({KEY_ENTER, KEY_ESCAPE})


def check_key(key: str) -> str:
    """Return ``key`` when it is a name of :data:`KEY_NAMES` or one printable ASCII character.

    Raises:
        ValueError: Anything else (a multiplexer key name such as ``C-c`` is never passed on).
    """
    if key in KEY_NAMES or (len(key) == 1 and key.isascii() and key.isprintable()):
        return key
    raise ValueError(f"not a key sessiontui sends: {key!r}")


#: Longest text :meth:`Multiplexer.send_text` types at once, in characters.
MAX_TEXT_CHARS = 4096


def check_text(text: str) -> str:
    """Return ``text`` when it is one line of printable text that may be typed into a pane.

    Raises:
        ValueError: Control characters (C0, DEL, C1: a newline would submit, an escape would
            drive the program), line or paragraph separators, or more than
            :data:`MAX_TEXT_CHARS` characters.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"the text is longer than {MAX_TEXT_CHARS} characters")
    for ch in text:
        code = ord(ch)
        if code < 0x20 or 0x7F <= code < 0xA0 or ch in "\u2028\u2029":
            raise ValueError(f"the text holds a control character (U+{code:04X})")
    return text


@dataclass(frozen=True, slots=True)
class CommandResult:
    """Outcome of one multiplexer command (``tmux …``, ``zellij …``): output and exit status.

    Attributes:
        stdout: Standard output, decoded.
        stderr: Standard error, decoded.
        returncode: The exit status.
    """

    stdout: str
    stderr: str
    returncode: int

    @property
    def lines(self) -> list[str]:
        """Stdout split into lines, without the final newline."""
        return self.stdout.splitlines()

    @property
    def message(self) -> str:
        """Stderr (else stdout) on one line, at most 300 characters, for error messages."""
        return " ".join((self.stderr.strip() or self.stdout.strip()).split())[:300]


class Multiplexer(Protocol):
    """One multiplexer server: what the model may ask of it.

    Every method may block on a subprocess for up to the server's timeout: call them from
    worker threads, never from the UI thread. Targets are exact ids (``$N`` sessions, ``%N``
    panes), never names that the multiplexer could prefix-match. Failures raise
    :class:`~sessiontui.errors.MuxUnavailable` (server not running or not answering) or
    :class:`~sessiontui.errors.MuxError` (the command failed; message = its stderr).

    Attributes:
        type: ``"tmux"`` or ``"zellij"``: the ``mux.type`` of ``ls --json``.
        server: The server's identity, stable for its life: for tmux the socket path. Pane,
            window and session ids are unique only within one server, so every identity the
            model builds includes it.
        capabilities: Which optional verbs work (``CAP_*`` names of this module).
    """

    type: str
    capabilities: frozenset[str]

    @property
    def server(self) -> str:
        """The server identity (for tmux: the socket path)."""
        ...

    def answers(self) -> bool:
        """True when the server still accepts connections (cheap; no command is run)."""
        ...

    def list_panes(self) -> list[PaneInfo]:
        """Return every pane of the server in one cheap poll (``PaneInfo.server`` set)."""
        ...

    def locate(self, pid: int, panes: Sequence[PaneInfo]) -> PaneInfo | None:
        """Return the pane among ``panes`` in which process ``pid`` runs, or ``None``."""
        ...

    def names_server(self, environ_server: str) -> bool:
        """True when a process's own environment (tmux: ``$TMUX``'s socket) names this server."""
        ...

    def own_client(self) -> str | None:
        """The tty of the ordinary client showing our own pane, when we run inside this server."""
        ...

    def last_client_pane(self, client_tty: str) -> str | None:
        """The pane the client on ``client_tty`` shows now, or ``None`` (no such client)."""
        ...

    def switch_client(self, client_tty: str, pane_id: str, *, session: str | None = None) -> None:
        """Make the client on terminal ``client_tty`` show pane ``pane_id``.

        ``session`` is the pane's session id, needed where pane ids are unique only within
        a session (Zellij); tmux ignores it.
        """
        ...

    def detach_session(self, session_id: str, *, keep_client: str | None = None) -> int:
        """Detach the ordinary clients of ``session_id``; return how many were detached.

        Control-mode clients and ``keep_client`` (a client tty) are never detached.
        """
        ...

    def detach_client(self, client_tty: str) -> None:
        """Detach one client."""
        ...

    def client_session(self, client_tty: str) -> str | None:
        """The session id the ordinary client on ``client_tty`` shows now, or ``None``."""
        ...

    def switch_client_back(self, client_tty: str, *, leaving: str | None = None) -> str | None:
        """Send a client back to its last (or another) session; ``None`` when there is none."""
        ...

    def rename_session(self, session_id: str, new_name: str) -> None:
        """Rename ``session_id``; raise :class:`~sessiontui.errors.NameTaken` if taken."""
        ...

    def kill_session(self, session_id: str) -> None:
        """End ``session_id`` and every process in its panes."""
        ...

    def delete_session(self, session_id: str) -> None:
        """Delete what is kept of the ended session ``session_id`` (``CAP_RESURRECT`` only).

        Raises :class:`~sessiontui.errors.NotApplicable` where nothing is kept (tmux).
        """
        ...

    def has_session(self, name: str) -> bool:
        """True when a session is named exactly ``name``."""
        ...

    def attach_argv(self, pane_id: str, *, session: str | None = None) -> list[str]:
        """Return the argv that attaches a terminal outside the multiplexer to ``pane_id``."""
        ...

    def capture_pane(self, pane_id: str, lines: int = 20, *, session: str | None = None) -> str:
        """Return the last ``lines`` lines of ``pane_id`` (in ``session``) as plain text."""
        ...

    def send_text(self, pane_id: str, text: str, *, session: str | None = None) -> None:
        """Type ``text`` into ``pane_id`` literally: no key names, no Enter (``CAP_SEND_KEYS``).

        Raises:
            ValueError: ``text`` holds control characters, or a bad pane id.
        """
        ...

    def send_keys(self, pane_id: str, keys: Sequence[str], *, session: str | None = None) -> None:
        """Press ``keys`` in ``pane_id``, in order (see :func:`check_key` for what a key is).

        Raises:
            ValueError: A key that :func:`check_key` refuses, or a bad pane id.
        """
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

    def display_popup(
        self,
        client_tty: str,
        command: Sequence[str],
        *,
        title: str | None = None,
        cwd: str | None = None,
    ) -> None:
        """Show ``command`` in a popup over one client; return without waiting for it."""
        ...

    def own_pane(self) -> PaneInfo | None:
        """Our own pane when we run inside this server, else ``None``."""
        ...


class ChangeTrigger(Protocol):
    """Something that notices a multiplexer change and asks for a poll (never a source).

    Implementations run their own reader thread and call the ``on_change`` callback given at
    construction (from that thread) whenever something may have changed.
    """

    def start(self) -> None:
        """Start the reader thread (idempotent)."""
        ...

    def close(self) -> None:
        """Stop the reader thread and any child process; idempotent."""
        ...
