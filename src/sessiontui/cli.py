"""Command line: the TUI by default, plus ``ls``, ``rename``, ``kill`` and ``attach``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from sessiontui import __version__
from sessiontui.errors import InvalidName, SessiontuiError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sessiontui.model.monitor import Monitor
    from sessiontui.model.types import Session

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

_GLOBAL_DEFAULTS: dict[str, Any] = {
    "sessions_dir": None,
    "tmux_socket": None,
    "tmux_socket_path": None,
    "demo": False,
}


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors exit with code 2 and a one-line message."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _global_options() -> _Parser:
    """Options accepted before or after a subcommand (defaults are applied after parsing)."""
    parent = _Parser(add_help=False)
    group = parent.add_argument_group("global options")
    group.add_argument(
        "--sessions-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="registry directory (default: $CLAUDE_CONFIG_DIR/sessions or ~/.claude/sessions)",
    )
    group.add_argument(
        "-L", "--tmux-socket", default=argparse.SUPPRESS, metavar="NAME", help="tmux socket name"
    )
    group.add_argument(
        "-S",
        "--tmux-socket-path",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="tmux socket path",
    )
    group.add_argument(
        "--version", action="version", version=f"sessiontui {__version__}", help="print the version"
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (global options work before and after the subcommand)."""
    common = _global_options()
    parser = _Parser(
        prog="sessiontui",
        description="Live monitor for AI coding-agent sessions (Claude Code, tmux).",
        parents=[common],
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS,
        help="run the TUI on simulated agents in a private tmux server",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    ls = sub.add_parser("ls", parents=[common], help="list sessions once and exit")
    ls.add_argument("--json", action="store_true", help="print a JSON array")
    ls.add_argument("--all", action="store_true", help="include dead sessions")
    rename = sub.add_parser("rename", parents=[common], help="rename a session")
    rename.add_argument(
        "target", metavar="TARGET", help="pid, sessionId (or unique prefix) or name"
    )
    rename.add_argument("name", metavar="NAME", help="the new name")
    kill = sub.add_parser(
        "kill", parents=[common], help="end a session (SIGTERM, grace period, SIGKILL)"
    )
    kill.add_argument("target", metavar="TARGET", help="pid, sessionId (or unique prefix) or name")
    kill.add_argument(
        "--force", action="store_true", help="do not ask for confirmation (needed without a tty)"
    )
    attach = sub.add_parser("attach", parents=[common], help="jump to a session's tmux pane")
    attach.add_argument(
        "target", metavar="TARGET", help="pid, sessionId (or unique prefix) or name"
    )
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv`` and fill in global defaults.

    Raises:
        SystemExit: With code 2 on a usage error, 0 for ``--help``/``--version``.
    """
    args = build_parser().parse_args(argv)
    for name, value in _GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, value)
    if args.tmux_socket is not None and args.tmux_socket_path is not None:
        build_parser().error("-L/--tmux-socket and -S/--tmux-socket-path are mutually exclusive")
    if args.demo and args.command is not None:
        build_parser().error("--demo runs the TUI; it takes no subcommand")
    return args


def make_monitor(args: argparse.Namespace, *, sessions_dir: Path | None = None) -> Monitor:
    """Build the :class:`Monitor` the options describe (not started)."""
    from sessiontui.model.monitor import Monitor
    from sessiontui.model.registry import default_sessions_dir
    from sessiontui.mux.tmux import TmuxBackend

    directory = sessions_dir or args.sessions_dir or default_sessions_dir()
    tmux = TmuxBackend(socket_name=args.tmux_socket, socket_path=args.tmux_socket_path)
    return Monitor(sessions_dir=Path(directory).expanduser(), tmux=tmux)


def session_json(session: Session) -> dict[str, object]:
    """The ``ls --json`` object for one session (stable keys, null where unknown; SPEC 6)."""
    mux = None
    if session.mux is not None:
        mux = {
            "type": session.mux.type,
            "socket": session.mux.socket or None,
            "session": session.mux.session,
            "session_id": session.mux.session_id,
            "window": session.mux.window,
            "pane": session.mux.pane,
        }
    started = (
        datetime.fromtimestamp(session.started_at, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
        if session.started_at is not None
        else None
    )
    return {
        "pid": session.pid,
        "session_id": session.session_id,
        "name": session.name,
        "status": session.status.value,
        "waiting_for": session.waiting_for,
        "kind": session.kind,
        "agent": session.agent,
        "cwd": session.cwd,
        "started_at": started,
        "alive": session.alive,
        "registry_path": str(session.registry_path) if session.registry_path else None,
        "mux": mux,
        "cpu_percent": session.cpu_percent,
        "unreadable": session.unreadable,
    }


def _ls(args: argparse.Namespace) -> int:
    """``sessiontui ls``: print the sessions once."""
    from sessiontui.model.text import format_age, printable, shorten_home

    with make_monitor(args) as monitor:
        snapshot = monitor.refresh()
    sessions = [s for s in snapshot.sessions if args.all or s.alive]
    if args.json:
        json.dump([session_json(s) for s in sessions], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    home = str(Path.home())
    rows = [("STATUS", "NAME", "WHERE", "PID", "AGE", "CWD")]
    for s in sessions:
        age = snapshot.taken_at - s.started_at if s.started_at else None
        rows.append(
            (
                s.status.value,
                printable(s.name, max_len=40),
                printable(s.mux.label) if s.mux else "-",
                str(s.pid),
                format_age(age),
                printable(shorten_home(s.cwd, home)),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        print("  ".join([*cells, row[-1]]).rstrip())
    for message in snapshot.messages:
        print(f"sessiontui: {message}", file=sys.stderr)
    return EXIT_OK


def _rename(args: argparse.Namespace) -> int:
    """``sessiontui rename TARGET NAME``."""
    from sessiontui.model.registry import validate_name

    try:
        validate_name(args.name)
    except InvalidName as error:
        print(f"sessiontui: {error}", file=sys.stderr)
        return EXIT_USAGE
    with make_monitor(args) as monitor:
        monitor.refresh()
        session = monitor.resolve(args.target)
        monitor.rename(session.key, args.name)
    return EXIT_OK


def _kill(args: argparse.Namespace) -> int:
    """``sessiontui kill TARGET [--force]``: confirmed on a tty, or ``--force``."""
    from sessiontui.model.text import printable

    with make_monitor(args) as monitor:
        monitor.refresh()
        session = monitor.resolve(args.target)
        label = f"{printable(session.name)} (pid {session.pid})"
        if not args.force:
            if not sys.stdin.isatty():
                print(
                    f"sessiontui: not killing {label} without confirmation; use --force",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            answer = input(f"Kill {label} and its child processes? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("sessiontui: not killed", file=sys.stderr)
                return EXIT_FAILURE
        report = monitor.kill(session.key)
    if report.already_gone:
        print(f"sessiontui: {label} had already ended", file=sys.stderr)
    return EXIT_OK


def _attach(args: argparse.Namespace) -> int:
    """``sessiontui attach TARGET``: switch our tmux client, or run ``tmux attach``."""
    with make_monitor(args) as monitor:
        monitor.refresh()
        session = monitor.resolve(args.target)
        plan = monitor.attach(session.key)
    if plan.switched:
        return EXIT_OK
    return subprocess.call(list(plan.argv), env=dict(plan.env))


def _tui(args: argparse.Namespace) -> int:
    """Run the TUI (on the demo environment with ``--demo``)."""
    from sessiontui.ui.app import make_app

    if args.demo:
        from sessiontui.demo.environment import DemoEnvironment

        with DemoEnvironment() as demo:
            args.tmux_socket, args.tmux_socket_path = demo.socket_name, None
            monitor = make_monitor(args, sessions_dir=demo.sessions_dir)
            app = make_app(monitor, title="sessiontui — demo")
            app.run()
        return EXIT_OK
    monitor = make_monitor(args)
    make_app(monitor).run()
    return EXIT_OK


_COMMANDS = {"ls": _ls, "rename": _rename, "kill": _kill, "attach": _attach}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sessiontui`` command.

    Returns:
        0 ok, 1 runtime failure (message on stderr), 2 usage error.
    """
    try:
        args = parse_args(argv)
    except SystemExit as done:
        return int(done.code) if isinstance(done.code, int) else EXIT_USAGE
    handler = _COMMANDS.get(args.command or "", _tui)
    try:
        return handler(args)
    except InvalidName as error:
        print(f"sessiontui: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SessiontuiError as error:
        print(f"sessiontui: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except OSError as error:
        print(f"sessiontui: {error}", file=sys.stderr)
        return EXIT_FAILURE
