"""The one exception hierarchy of sessiontui; every message is fit to show a user."""

from __future__ import annotations


class SessiontuiError(Exception):
    """Base class: a failure with a message meant for the user (no traceback needed)."""


class InvalidName(SessiontuiError):
    """A session name was rejected (empty, control characters, or too long)."""


class NameTaken(SessiontuiError):
    """The multiplexer already has a session with the requested name."""


class TargetNotFound(SessiontuiError):
    """A CLI TARGET (pid, sessionId prefix or name) matches no session."""


class AmbiguousTarget(SessiontuiError):
    """A CLI TARGET matches more than one session."""


class KillRefused(SessiontuiError):
    """A process may not be signalled (PID <= 1, ourselves, an ancestor, another user's)."""


class MuxError(SessiontuiError):
    """A multiplexer command failed; the message carries its stderr."""


class MuxUnavailable(MuxError):
    """The multiplexer server is not running or cannot be reached."""


class NotApplicable(SessiontuiError):
    """The action does not apply to this session (e.g. detach with no tmux pane)."""


class PromptNotShown(NotApplicable):
    """A fresh capture of the agent's pane does not show what the action answers.

    Approve and deny need the agent's permission box on screen, interrupt a running turn; a
    reply is refused while a permission box is shown. Nothing was sent.
    """


class ProtocolError(SessiontuiError):
    """A line of the remote protocol (SPEC 2.7) or a session object in it is malformed.

    Raised for lines that are not UTF-8 JSON objects, lines over the size limit, unknown
    message types or verbs, and fields of the wrong type.
    """
