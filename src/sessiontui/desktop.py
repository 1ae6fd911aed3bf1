r"""Desktop notifications: OSC 777 / OSC 9 to our terminal (tmux passthrough), or notify-send.

Which way is chosen by :func:`choose_transport` from the ``desktop_method`` setting:

- ``"osc777"``: ``ESC ] 777 ; notify ; TITLE ; BODY BEL`` (foot, WezTerm, Ghostty, urxvt's
  notify extension, VTE terminals built with the notification patch);
- ``"osc9"``: ``ESC ] 9 ; TITLE: BODY BEL`` (iTerm2, WezTerm, Ghostty);
- ``"notify-send"``: the libnotify program, run as an argv list (never a shell);
- ``"auto"``: OSC 777 when we run inside tmux with ``allow-passthrough`` on; otherwise
  ``notify-send`` when it is on ``PATH``; otherwise OSC 777 outside tmux (a terminal that does
  not know it ignores it) and nothing inside tmux (the sequence would be dropped).

Inside tmux an OSC sequence is wrapped in tmux's passthrough
(``ESC P tmux; SEQ-with-ESC-doubled ESC \``); tmux 3.3+ forwards it only with
``set -g allow-passthrough on``. Every title and body is cleaned again here (control characters
removed, ``;`` removed from an OSC 777 title, length capped): a session name can never put an
ESC, BEL or ST inside the sequence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sessiontui.model.text import strip_controls

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

#: Values of the ``desktop_method`` setting.
DESKTOP_METHODS: tuple[str, ...] = ("auto", "osc777", "osc9", "notify-send")

#: Longest title and body put in a notification, characters.
TITLE_MAX_CHARS: int = 80
BODY_MAX_CHARS: int = 240

#: Seconds a ``tmux`` query or a ``notify-send`` run may take.
COMMAND_TIMEOUT_S: float = 3.0


def osc777(title: str, body: str) -> str:
    r"""``ESC ] 777 ; notify ; TITLE ; BODY BEL`` with both fields cleaned (no ``;`` in the title).

    >>> osc777("Wait;ing", "a\x1b]0;x\x07 b")
    '\x1b]777;notify;Waiting;a]0;x b\x07'
    """
    clean_title = strip_controls(title, max_len=TITLE_MAX_CHARS).replace(";", "")
    clean_body = strip_controls(body, max_len=BODY_MAX_CHARS)
    return f"\x1b]777;notify;{clean_title};{clean_body}\x07"


def osc9(title: str, body: str) -> str:
    r"""``ESC ] 9 ; TITLE: BODY BEL``, cleaned.

    The title comes first so that a body starting with digits and ``;`` is never read as one
    of ConEmu's ``OSC 9 ; N`` commands (progress bars and the like).

    >>> osc9("Waiting", "4;3")
    '\x1b]9;Waiting: 4;3\x07'
    """
    clean_title = strip_controls(title, max_len=TITLE_MAX_CHARS) or "sessiontui"
    clean_body = strip_controls(body, max_len=BODY_MAX_CHARS)
    return f"\x1b]9;{clean_title}: {clean_body}\x07"


def tmux_passthrough(sequence: str) -> str:
    r"""Wrap ``sequence`` for tmux: ``ESC P tmux;``, the sequence with ESC doubled, ``ESC \``.

    >>> tmux_passthrough("\x1b]9;hi\x07")
    '\x1bPtmux;\x1b\x1b]9;hi\x07\x1b\\'
    """
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def notify_send_argv(title: str, body: str, program: str = "notify-send") -> list[str]:
    """The argv of one ``notify-send`` run; ``--`` so a title starting with ``-`` is no option."""
    return [
        program,
        "--",
        strip_controls(title, max_len=TITLE_MAX_CHARS) or "sessiontui",
        strip_controls(body, max_len=BODY_MAX_CHARS),
    ]


def tmux_passthrough_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the tmux we run in forwards passthrough sequences from our pane.

    Asks ``tmux display-message -p -t $TMUX_PANE '#{allow-passthrough}'`` (the pane's
    effective value). tmux before 3.3 has no such option and always forwards: an empty answer
    counts as allowed.

    Args:
        environ: Environment of the ``tmux`` command (default ``os.environ``): its ``TMUX``
            names the server, ``TMUX_PANE`` our pane.

    Returns:
        ``True`` when allowed; ``False`` when off, or when tmux cannot be asked.
    """
    env = os.environ if environ is None else environ
    target = ["-t", env["TMUX_PANE"]] if env.get("TMUX_PANE") else []
    try:
        result = subprocess.run(
            ["tmux", "display-message", "-p", *target, "#{allow-passthrough}"],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
            env=dict(env),
        )
    except (OSError, subprocess.SubprocessError):
        return False
    value = result.stdout.strip()
    return result.returncode == 0 and value not in ("0", "off")


@dataclass(frozen=True, slots=True)
class Transport:
    """How notifications are delivered.

    Attributes:
        kind: ``"osc777"``, ``"osc9"``, ``"notify-send"``, or ``"none"``.
        in_tmux: Wrap OSC sequences in tmux passthrough.
        program: The ``notify-send`` executable (for ``"notify-send"``).
        warning: Why nothing (or something unexpected) will be shown, for the user; or ``""``.
    """

    kind: str
    in_tmux: bool = False
    program: str = "notify-send"
    warning: str = ""

    def sequence(self, title: str, body: str) -> str:
        """The bytes to write to our terminal (``""`` when the transport is not OSC)."""
        if self.kind == "osc777":
            seq = osc777(title, body)
        elif self.kind == "osc9":
            seq = osc9(title, body)
        else:
            return ""
        return tmux_passthrough(seq) if self.in_tmux else seq

    def send(self, title: str, body: str, write: Callable[[str], None]) -> None:
        """Deliver one notification.

        Args:
            title: Untrusted title (cleaned here).
            body: Untrusted body (cleaned here).
            write: Writes text to our terminal (the app's driver), used for OSC.

        Raises:
            OSError: ``notify-send`` could not be started.
            subprocess.SubprocessError: ``notify-send`` took longer than
                :data:`COMMAND_TIMEOUT_S`.
        """
        if self.kind == "notify-send":
            subprocess.run(
                notify_send_argv(title, body, self.program),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=COMMAND_TIMEOUT_S,
                check=False,
            )
            return
        sequence = self.sequence(title, body)
        if sequence:
            write(sequence)


def choose_transport(
    method: str,
    environ: Mapping[str, str] | None = None,
    *,
    passthrough: Callable[[], bool] | None = None,
) -> Transport:
    """Pick the transport for a ``desktop_method`` setting (see the module docstring).

    Args:
        method: One of :data:`DESKTOP_METHODS`.
        environ: Environment (default ``os.environ``): ``TMUX``, ``TMUX_PANE``, ``PATH``.
        passthrough: Answers "does tmux forward passthrough?" (default
            :func:`tmux_passthrough_allowed`); asked only inside tmux.

    Returns:
        The transport, with a warning when it will likely show nothing.

    Raises:
        ValueError: ``method`` is not one of :data:`DESKTOP_METHODS`.
    """
    if method not in DESKTOP_METHODS:
        raise ValueError(f"unknown desktop method {method!r}")
    env = os.environ if environ is None else environ
    in_tmux = bool(env.get("TMUX"))
    program = shutil.which("notify-send", path=env.get("PATH", os.defpath))
    allowed = (passthrough or (lambda: tmux_passthrough_allowed(env)))() if in_tmux else True
    off = "tmux's allow-passthrough is off (set -g allow-passthrough on)"
    if method == "notify-send":
        if program is None:
            return Transport("none", warning="desktop notifications: notify-send is not on PATH")
        return Transport("notify-send", program=program)
    if method in ("osc777", "osc9"):
        warning = f"desktop notifications: {off}" if not allowed else ""
        return Transport(method, in_tmux=in_tmux, warning=warning)
    if in_tmux and allowed:
        return Transport("osc777", in_tmux=True)
    if program is not None:
        return Transport("notify-send", program=program)
    if in_tmux:
        return Transport(
            "none", warning=f"desktop notifications: {off} and notify-send is not on PATH"
        )
    return Transport("osc777")
