"""Make untrusted text (names, paths, pane contents) safe to print as plain text."""

from __future__ import annotations

import unicodedata

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
