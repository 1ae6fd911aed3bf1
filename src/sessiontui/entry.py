"""The ``sessiontui`` command's entry point: a fast ``status`` first, then :mod:`sessiontui.cli`.

A status bar runs ``sessiontui status`` every second or so. When a running monitor (the TUI,
``sessiontui --bg``) publishes its summary (:mod:`sessiontui.model.summary_file`), the line is
rendered from it here without importing the command line, psutil or the model: a Python
process start, ``json``, ``re``, ``string`` and ``enum``, and ~0.2 ms of work
(``benchmarks/status_cli.py``). Anything else (another command, an option this parser does not
know, ``--help``, an invalid ``--format``, no summary to trust) goes to :func:`sessiontui.cli.main`
with the same arguments, which reads the sources itself and reports errors.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~5 ms at start-up)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["fast_status", "main", "run_by_tmux"]

#: Options of ``status`` (and global ones) that take a value, by every name argparse accepts
#: in full; ``--format``, ``--escape``, ``--sessions-dir``, ``--config`` and ``--no-codex`` are
#: used, the others do not change what ``status`` prints.
_VALUE_OPTIONS = {
    "--format": "format",
    "--escape": "escape",
    "--sessions-dir": "sessions_dir",
    "--config": "config",
    "-L": "",
    "--tmux-socket": "",
    "-S": "",
    "--tmux-socket-path": "",
    "--client": "",
}
_FLAG_OPTIONS = {"--no-codex": "no_codex", "--no-zellij": "", "--no-discover": ""}
_ESCAPES = ("auto", "tmux", "none")


def run_by_tmux(environ: Mapping[str, str] | None = None) -> bool:
    """True when tmux itself runs us: a ``#()`` status command or ``run-shell``.

    tmux gives such commands ``TMUX`` but no ``TMUX_PANE`` (SPEC 2.4); a shell in a pane
    has both.
    """
    env = os.environ if environ is None else environ
    return bool(env.get("TMUX")) and not env.get("TMUX_PANE")


def _parse_status(argv: Sequence[str]) -> dict[str, str] | None:
    """The options of a plain ``status`` command line, or ``None`` to leave it to argparse.

    Only exact option names are taken (``--format X`` or ``--format=X``); an abbreviation,
    an unknown option, a value that starts with ``-``, or any other command gives ``None``.
    """
    options: dict[str, str] = {}
    command = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _FLAG_OPTIONS and not eq:
            if _FLAG_OPTIONS[name]:
                options[_FLAG_OPTIONS[name]] = "1"
        elif name in _VALUE_OPTIONS:
            if not eq:
                if i >= len(argv) or argv[i].startswith("-"):
                    return None
                value = argv[i]
                i += 1
            if _VALUE_OPTIONS[name]:
                options[_VALUE_OPTIONS[name]] = value
        elif arg == "status" and command is None:
            command = arg
        else:
            return None
    if command is None or options.get("escape", "auto") not in _ESCAPES:
        return None
    if "sessions_dir" in options and not options["sessions_dir"]:
        return None
    return options


def fast_status(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> str | None:
    """``sessiontui status``'s line from a running monitor's summary, if one can be trusted.

    Args:
        argv: The arguments after the program name.
        environ: Environment to read (default :data:`os.environ`).

    Returns:
        The line (``""`` for an empty summary), or ``None`` when the full command must run:
        ``argv`` is not a plain ``status`` (see :func:`_parse_status`), the format is invalid,
        or no summary is published for these options by a monitor that still runs.
    """
    options = _parse_status(argv)
    if options is None:
        return None
    from sessiontui.model.summary import FormatError, check_format, render_fields
    from sessiontui.model.summary_file import read_summary, scope_key

    fmt = options.get("format")
    if fmt is not None:
        try:
            check_format(fmt)
        except FormatError:
            return None  # the full command prints the error
    scope = scope_key(
        sessions_dir=options.get("sessions_dir"),
        codex="no_codex" not in options,
        config=options.get("config"),
        environ=environ,
    )
    fields = read_summary(scope, environ)
    if fields is None:
        return None
    escape = options.get("escape", "auto")
    tmux = escape == "tmux" or (escape == "auto" and run_by_tmux(environ))
    try:
        return render_fields(fields, fmt, tmux=tmux)
    except FormatError:
        return None  # the full command reports it


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sessiontui`` command (and ``python -m sessiontui``).

    Returns:
        0 ok, 1 runtime failure (message on stderr), 2 usage error.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    line = fast_status(args)
    if line is None:
        from sessiontui.cli import main as cli_main

        return cli_main(args)
    if line and sys.stdout is not None:
        try:
            sys.stdout.buffer.write(line.encode("utf-8") + b"\n")
            sys.stdout.flush()
        except OSError as error:
            print(f"sessiontui: {error}", file=sys.stderr)
            return 1
    return 0
