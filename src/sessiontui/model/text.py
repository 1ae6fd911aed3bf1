"""Untrusted text: made safe to print as plain text (names, paths, panes); timestamps parsed."""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime

_REPLACEMENTS = {"\t": " ", "\n": " ", "\r": " "}


def printable(text: str, *, max_len: int | None = None) -> str:
    r"""Return ``text`` with every control or format character made visible and harmless.

    Control (``Cc``), format (``Cf``: bidi overrides, zero-width) and unassigned characters
    become ``\xNN`` / ``\uNNNN`` escapes, so an ESC sequence from a file can never reach the
    terminal; tabs and newlines become spaces. Rich markup is not special here: callers render
    the result as plain text (``rich.text.Text``), never as markup.

    >>> printable("a\x1b]0;pwned\x07b")
    'a\\x1b]0;pwned\\x07b'

    Args:
        text: Untrusted text.
        max_len: Cut to this many characters, ending with ``…``.

    Returns:
        The safe text.
    """
    if text.isprintable():
        # No character of categories C* (nor a separator other than the space): nothing to
        # escape or replace, so skip the per-character walk (most names, models, prompts).
        result = text
    else:
        out: list[str] = []
        for char in text:
            if char in _REPLACEMENTS:
                out.append(_REPLACEMENTS[char])
                continue
            category = unicodedata.category(char)
            if category in ("Cc", "Cf", "Cs", "Co", "Cn"):
                code = ord(char)
                out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
            else:
                out.append(char)
        result = "".join(out)
    if max_len is not None and len(result) > max_len:
        result = result[: max(0, max_len - 1)] + "…"
    return result


def strip_controls(text: str, *, max_len: int | None = None) -> str:
    r"""Return ``text`` with every control or format character removed (not escaped).

    For text that goes inside an escape sequence or a desktop notification, where even a
    visible ``\x1b`` is noise: C0 and C1 controls (ESC, BEL, the one-byte ST ``\x9c`` and OSC
    ``\x9d``), DEL, format characters (bidi overrides, zero-width), surrogates, private-use
    and unassigned code points are dropped; tabs and newlines become spaces; runs of white
    space are collapsed and the ends trimmed.

    >>> strip_controls("a\x1b]0;pwned\x07b\n c")
    'a]0;pwnedb c'

    Args:
        text: Untrusted text.
        max_len: Cut to this many characters (at least 1), ending with ``…``.

    Returns:
        The cleaned text; it contains no character below U+0020, nor U+007F-U+009F.
    """
    out = [
        " " if char in _REPLACEMENTS else char
        for char in text
        if char in _REPLACEMENTS or unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    ]
    result = " ".join("".join(out).split())
    if max_len is not None and len(result) > max_len:
        result = result[: max(0, max_len - 1)] + "…"
    return result


def shorten_home(path: str | None, home: str) -> str:
    """Return ``path`` with a leading ``home`` directory shown as ``~`` (``""`` for ``None``)."""
    if not path:
        return ""
    home = home.rstrip("/")
    if home and (path == home or path.startswith(home + "/")):
        return "~" + path[len(home) :]
    return path


def format_age(seconds: float | None) -> str:
    """Return a compact age like ``45s``, ``12m``, ``3h``, ``2d`` (``""`` when unknown).

    >>> format_age(59), format_age(3600 * 5 + 1), format_age(None)
    ('59s', '5h', '')
    """
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def age_label_lasts(seconds: float) -> float:
    """Seconds until :func:`format_age` of an age of ``seconds`` gives another label.

    ``45.2`` → ``0.8`` (``45s`` turns ``46s``), ``150`` → ``30`` (``2m`` turns ``3m``); a
    negative age reads ``0s`` until it reaches 1 s.

    >>> age_label_lasts(45.25), age_label_lasts(150), age_label_lasts(-2)
    (0.75, 30.0, 3.0)
    """
    if seconds < 0:
        return 1.0 - seconds
    unit = 1 if seconds < 60 else 60 if seconds < 3600 else 3600 if seconds < 86400 else 86400
    return float((seconds // unit + 1) * unit - seconds)


def parse_timestamp(value: object) -> float | None:
    """Parse an ISO-8601 timestamp with a zone (``2026-12-01T16:35:34.195Z``).

    The ``timestamp`` of Claude Code transcript records and Codex rollout lines.

    Returns:
        Seconds since the epoch, or ``None`` when ``value`` is not such a string (no zone,
        out of range, or not finite).
    """
    if not isinstance(value, str) or not 10 <= len(value) <= 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    try:
        seconds = parsed.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    return seconds if math.isfinite(seconds) else None
