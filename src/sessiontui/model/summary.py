"""The one-line summary ``sessiontui status`` prints for tmux and Zellij status bars.

Pure functions over a :class:`~sessiontui.model.types.Snapshot`: counts per status, the
session that has waited longest, the glyphs the TUI header uses, a user format with named
fields, and the escaping that keeps untrusted names literal in a tmux status line.

The fields (:func:`summary_fields`) and their rendering (:func:`render_fields`) are apart, so a
running monitor can publish the fields and ``sessiontui status`` render them with this same
code (:mod:`sessiontui.model.summary_file`). This module therefore imports neither ``typing``
nor the dataclass model at run time: only ``re``, ``string`` and :mod:`~sessiontui.model.status`.
"""

from __future__ import annotations

import re
import string

from sessiontui.model.status import Status

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~5 ms at start-up)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sessiontui.model.types import Session, Snapshot

__all__ = [
    "FIELDS",
    "GLYPHS",
    "FormatError",
    "check_format",
    "longest_waiting",
    "render_fields",
    "render_summary",
    "summary_fields",
    "tmux_literal",
]

#: One glyph per status, shared by the TUI (header, rows) and ``sessiontui status``.
GLYPHS: dict[Status, str] = {
    Status.WAITING: "◆",
    Status.BUSY: "●",
    Status.SHELL: "◐",
    Status.IDLE: "○",
    Status.UNKNOWN: "?",
    Status.DEAD: "✕",
}

#: The statuses the default summary counts, in its order (the TUI header's order).
DEFAULT_STATUSES: tuple[Status, ...] = (Status.WAITING, Status.BUSY, Status.IDLE, Status.SHELL)

#: Field names a ``--format`` may use: a count per status, ``total`` (sessions not dead) and
#: ``first_waiting`` (the name of the session that has waited longest, ``""`` if none).
FIELDS: tuple[str, ...] = (*(s.value for s in Status), "total", "first_waiting")

#: Longest name ``first_waiting`` gives (longer ones end with ``…``), in characters.
NAME_MAX = 60

_HASH_RUN = re.compile(r"(#+)(\[?)")


class FormatError(ValueError):
    """A ``--format`` names an unknown field, or its format spec is invalid."""


class _Formatter(string.Formatter):
    """``str.format`` limited to :data:`FIELDS` (no attribute or index access).

    With ``tmux``, each replacement field's text is made literal for tmux after its format
    spec is applied (so ``{first_waiting:.5}`` cannot cut an escape in two).
    """

    def __init__(self, *, tmux: bool = False) -> None:
        self.tmux = tmux

    def get_field(
        self, field_name: str, args: Sequence[object], kwargs: Mapping[str, object]
    ) -> tuple[object, str]:
        if field_name not in FIELDS:
            raise FormatError(f"unknown field {{{field_name}}}; fields: {_field_list()}")
        return kwargs[field_name], field_name

    def format_field(self, value: object, format_spec: str) -> str:
        text = super().format_field(value, format_spec)
        return tmux_literal(text) if self.tmux else text


def _field_list() -> str:
    return " ".join(f"{{{name}}}" for name in FIELDS)


def check_format(fmt: str) -> None:
    """Check a ``--format`` before any work is done.

    Args:
        fmt: The format, ``str.format`` syntax with the names of :data:`FIELDS`
            (e.g. ``"{waiting}/{total} {first_waiting}"``).

    Raises:
        FormatError: An unknown field, a positional ``{}``, attribute or index access, or an
            invalid format spec (the message says which).
    """
    sample: dict[str, object] = dict.fromkeys(FIELDS, 0)
    sample["first_waiting"] = ""
    try:
        _Formatter().vformat(fmt, (), sample)
    except FormatError:
        raise
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as error:
        raise FormatError(f"invalid format {fmt!r}: {error}") from None


def longest_waiting(sessions: Sequence[Session]) -> Session | None:
    """The waiting session whose wait began first (unknown start: counted as oldest).

    Args:
        sessions: Any sessions.

    Returns:
        That session, or ``None`` when none waits. Ties go to the smaller key.
    """
    waiting = [s for s in sessions if s.status is Status.WAITING]
    if not waiting:
        return None
    return min(waiting, key=lambda s: (s.status_changed_at or 0.0, s.key))


def summary_fields(snapshot: Snapshot) -> dict[str, object]:
    """The values of every :data:`FIELDS` name for ``snapshot``.

    Returns:
        ``{status value: count}`` for every :class:`Status`, ``total`` (sessions that are not
        dead) and ``first_waiting`` (:func:`longest_waiting`'s name made printable, at most
        :data:`NAME_MAX` characters, or ``""``).
    """
    from sessiontui.model.text import printable

    counts = snapshot.counts()
    fields: dict[str, object] = {status.value: counts.get(status, 0) for status in Status}
    fields["total"] = len(snapshot.sessions) - counts.get(Status.DEAD, 0)
    first = longest_waiting(snapshot.sessions)
    fields["first_waiting"] = printable(first.name, max_len=NAME_MAX) if first else ""
    return fields


def render_summary(snapshot: Snapshot, fmt: str | None = None, *, tmux: bool = False) -> str:
    """The status-bar line for ``snapshot``: :func:`render_fields` of :func:`summary_fields`.

    Raises:
        FormatError: ``fmt`` is invalid.
    """
    return render_fields(summary_fields(snapshot), fmt, tmux=tmux)


def render_fields(
    fields: Mapping[str, object], fmt: str | None = None, *, tmux: bool = False
) -> str:
    """The status-bar line for the values of :func:`summary_fields`.

    Args:
        fields: Every :data:`FIELDS` name with its value, as :func:`summary_fields` gives.
        fmt: A format (see :func:`check_format`); ``None`` gives the default: a glyph and a
            count for each of waiting, busy, idle and shell that is not zero (``◆2 ●3 ○1``),
            ``""`` when all four are zero.
        tmux: Make replaced text literal in a tmux status line (see :func:`tmux_literal`).

    Returns:
        One line without a newline: untrusted text has no control characters.

    Raises:
        FormatError: ``fmt`` is invalid.
    """
    if fmt is None:
        parts = [f"{GLYPHS[s]}{fields[s.value]}" for s in DEFAULT_STATUSES if fields[s.value]]
        return " ".join(parts)
    try:
        return _Formatter(tmux=tmux).vformat(fmt, (), fields)
    except FormatError:
        raise
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as error:
        raise FormatError(f"invalid format {fmt!r}: {error}") from None


def tmux_literal(text: str) -> str:
    """``text`` made to show literally in a tmux status line from a ``#()`` command.

    tmux expands a ``#()`` command's output as a format (``#{...}``, ``#S``, ``##`` → ``#``)
    and then draws it (``#[...]`` styles, ``##`` → ``#`` again, except a run of ``#`` before
    ``[``, which the expansion keeps as it is). So each ``#`` is written four times, or
    twice in a run just before ``[``: no format, style or command survives, and the ``#``
    signs show as they were.

    >>> tmux_literal("a#{host}#[fg=red]")
    'a####{host}##[fg=red]'
    """
    return _HASH_RUN.sub(
        lambda m: "#" * (len(m.group(1)) * (2 if m.group(2) else 4)) + m.group(2), text
    )
