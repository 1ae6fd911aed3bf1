"""Command line: the TUI by default, plus the one-shot and streaming subcommands (SPEC 6)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from sessiontui import __version__
from sessiontui.config import ConfigError
from sessiontui.errors import InvalidName, SessiontuiError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from textual.app import App

    from sessiontui.config import Config
    from sessiontui.model.monitor import Monitor
    from sessiontui.model.muxset import MuxSet
    from sessiontui.model.service import SessionService
    from sessiontui.model.types import Session, Snapshot, SnapshotChange
    from sessiontui.mux.base import ChangeTrigger, Multiplexer
    from sessiontui.mux.tmux import TmuxBackend
    from sessiontui.mux.zellij import ZellijServer
    from sessiontui.remote.hosts import HostSpec
    from sessiontui.remote.hub import Hub
    from sessiontui.remote.link import HostLink

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

_GLOBAL_DEFAULTS: dict[str, Any] = {
    "sessions_dir": None,
    "tmux_socket": None,
    "tmux_socket_path": None,
    "demo": False,
    "bg": False,
    "config": None,
    "no_zellij": False,
    "no_codex": False,
    "no_discover": False,
    "client": None,
    "host": None,
}

#: Name of the tmux session that ``sessiontui --bg`` runs the monitor in.
BG_MONITOR_SESSION = "sessiontui"
#: Environment variable telling the TUI it runs as the ``--bg`` monitor.
BG_ENV = "SESSIONTUI_BG"


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
        "-L",
        "--tmux-socket",
        action="append",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="also watch the tmux server with this socket name (repeatable)",
    )
    group.add_argument(
        "-S",
        "--tmux-socket-path",
        action="append",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="also watch the tmux server with this socket path (repeatable)",
    )
    group.add_argument(
        "--no-discover",
        action="store_true",
        default=argparse.SUPPRESS,
        help="watch only the named tmux servers (-L/-S, tmux_sockets), not every live one",
    )
    group.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="configuration file (default: $SESSIONTUI_CONFIG or the user config dir)",
    )
    group.add_argument(
        "--client",
        default=argparse.SUPPRESS,
        metavar="TTY",
        help="act for this tmux client (a key binding passes '#{client_tty}'; run-shell and "
        "display-popup have no pane of their own)",
    )
    group.add_argument(
        "-H",
        "--host",
        action="append",
        default=argparse.SUPPRESS,
        metavar="DEST",
        help="also show this remote host over ssh (repeatable): a [[hosts]] name or an ssh "
        "destination; the remote side runs 'sessiontui serve --stdio'",
    )
    group.add_argument(
        "--no-zellij",
        action="store_true",
        default=argparse.SUPPRESS,
        help="do not look for Zellij sessions",
    )
    group.add_argument(
        "--no-codex",
        action="store_true",
        default=argparse.SUPPRESS,
        help="do not look for Codex CLI sessions (--sessions-dir also leaves them out)",
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
    parser.add_argument(
        "--bg",
        action="store_true",
        default=argparse.SUPPRESS,
        help="run (or go back to) the monitor in its own tmux session; q there returns you",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    ls = sub.add_parser("ls", parents=[common], help="list sessions once and exit")
    ls.add_argument("--json", action="store_true", help="print a JSON array")
    ls.add_argument(
        "--all", action="store_true", help="include dead sessions and spare background workers"
    )
    status = sub.add_parser(
        "status", parents=[common], help="print a one-line summary for a status bar"
    )
    status.add_argument(
        "--format",
        metavar="FMT",
        help="str.format fields: {waiting} {busy} {idle} {shell} {unknown} {dead} {total} "
        "{first_waiting} (default: a glyph and count per non-zero status, e.g. '◆2 ●3 ○1')",
    )
    status.add_argument(
        "--escape",
        choices=("auto", "tmux", "none"),
        default="auto",
        help="tmux: make names literal in a tmux status line ('#' doubled twice); auto "
        "(default): tmux when tmux runs the command (TMUX set, TMUX_PANE not), else none",
    )
    watch = sub.add_parser(
        "watch", parents=[common], help="print each change (added, changed, removed, health)"
    )
    watch.add_argument(
        "--json", action="store_true", help="one JSON object per line (the ls --json session)"
    )
    watch.add_argument(
        "--all", action="store_true", help="also sessions already dead when first seen"
    )
    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="speak this host's sessions as JSON lines on stdin/stdout (for remote sessiontui)",
    )
    serve.add_argument(
        "--stdio",
        action="store_true",
        required=True,
        help="use stdin and stdout (the only transport; ssh runs it)",
    )
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
        "target", metavar="TARGET", nargs="?", help="pid, sessionId (or unique prefix) or name"
    )
    attach.add_argument(
        "--waiting",
        action="store_true",
        help="jump to the next session waiting for input (for a tmux key binding)",
    )
    send = sub.add_parser(
        "send", parents=[common], help="type a one-line reply into a session's pane, then Enter"
    )
    send.add_argument("target", metavar="TARGET", help="pid, sessionId (or unique prefix) or name")
    send.add_argument("text", metavar="TEXT", nargs="+", help="the reply (words joined by spaces)")
    for verb, what in (
        ("approve", 'choose the "Yes" option of the permission prompt the pane shows'),
        ("deny", 'choose the "No" option of the permission prompt the pane shows'),
        ("interrupt", "press the agent's interrupt key (Escape) during a running turn"),
    ):
        parser_ = sub.add_parser(verb, parents=[common], help=what)
        parser_.add_argument(
            "target", metavar="TARGET", help="pid, sessionId (or unique prefix) or name"
        )
    new = sub.add_parser(
        "new",
        parents=[common],
        help="start a tmux-hosted background session: new [--name N] [--cwd DIR] -- CMD [ARGS]",
    )
    new.add_argument("--name", help="session name (default: from the directory and command)")
    new.add_argument(
        "--mux", choices=("tmux", "zellij"), default="tmux", help="where to start it (tmux)"
    )
    new.add_argument("--cwd", type=Path, help="working directory (default: the current one)")
    new.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")
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
    if (args.demo or args.bg) and args.command is not None:
        build_parser().error("--demo and --bg run the TUI; they take no subcommand")
    if args.command == "attach" and bool(args.target) == bool(args.waiting):
        build_parser().error("attach takes a TARGET or --waiting (one of them)")
    if args.command == "new" and args.argv and args.argv[0] == "--":
        args.argv = args.argv[1:]
    from sessiontui.remote.hosts import host_from_destination

    for destination in args.host or ():
        try:
            host_from_destination(destination)
        except ValueError as error:
            build_parser().error(f"-H/--host: {error}")
    return args


def resolve_hosts(
    args: argparse.Namespace, config: Config, *, configured: bool = True
) -> tuple[HostSpec, ...]:
    """The remote hosts to show: the config's ``[[hosts]]`` and each ``-H/--host DEST``.

    A ``DEST`` that names a ``[[hosts]]`` entry is that entry; any other is an ssh
    destination, named by itself (``-H user@box`` shows as ``user@box``).

    Args:
        args: Parsed options (``host``: the ``-H`` values, checked by :func:`parse_args`).
        config: The configuration.
        configured: Include every ``[[hosts]]`` entry (the TUI); ``False``: only the
            ``-H`` ones (one-shot commands contact no host unless asked to).

    Returns:
        The hosts, each name once, config order first.
    """
    from sessiontui.remote.hosts import host_from_destination

    by_name = {host.name: host for host in config.hosts}
    chosen: dict[str, HostSpec] = dict(by_name) if configured else {}
    for destination in args.host or ():
        host = by_name.get(destination) or host_from_destination(destination)
        chosen.setdefault(host.name, host)
    return tuple(chosen.values())


def make_links(hosts: Sequence[HostSpec], config: Config) -> list[HostLink]:
    """One (not started) :class:`~sessiontui.remote.link.HostLink` per host, over OpenSSH."""
    from sessiontui.remote.link import HostLink, SshTransport

    transport = SshTransport(ssh=config.ssh_command)
    return [HostLink(host, transport=transport) for host in hosts]


#: Seconds a one-shot command (``ls``, ``status``) waits for each host's first snapshot.
ONE_SHOT_HOST_TIMEOUT_S = 20.0
#: Seconds of quiet after it: a snapshot over one line's limit continues in ``change`` lines.
ONE_SHOT_SETTLE_S = 0.15


def with_hosts(snapshot: Snapshot, links: Sequence[HostLink]) -> Snapshot:
    """``snapshot`` plus each host's sessions, read once: connect, hello, snapshot, close.

    The links are started together and each waits up to :data:`ONE_SHOT_HOST_TIMEOUT_S`;
    a host that cannot be reached adds its ``host:NAME`` problem to the messages.
    """
    from sessiontui.remote.hub import host_problem

    for link in links:
        link.start()
    sessions = list(snapshot.sessions)
    messages = list(snapshot.messages)
    try:
        for link in links:
            if link.wait_snapshot(ONE_SHOT_HOST_TIMEOUT_S, settle_s=ONE_SHOT_SETTLE_S):
                sessions += link.sessions
                messages += [f"host:{link.host.name}: {m}" for m in link.remote_health]
            else:
                messages.append(host_problem(link.host.name, link.problem or "no answer"))
    finally:
        for link in links:
            link.close()
    sessions.sort(key=lambda s: (s.status.sort_rank, -(s.status_changed_at or 0.0), s.key))
    return replace(snapshot, sessions=tuple(sessions), messages=tuple(messages))


def load_settings(args: argparse.Namespace) -> Config:
    """The configuration ``--config``, ``$SESSIONTUI_CONFIG`` or the default file gives.

    Raises:
        ConfigError: The file is invalid (the message names the key and line).
    """
    from sessiontui.config import load_config

    config = load_config(args.config)
    if args.command is not None:  # the TUI shows these as notifications instead
        for warning in config.warnings():
            print(f"sessiontui: config: {warning}", file=sys.stderr)
    return config


def make_monitor(
    args: argparse.Namespace,
    *,
    sessions_dir: Path | None = None,
    config: Config | None = None,
    names_path: Path | None = None,
    read_only: bool = False,
    zellij_environ: Mapping[str, str] | None = None,
    multiplexers: bool = True,
    transcripts: bool = True,
    names: bool = True,
) -> Monitor:
    """Build the :class:`Monitor` the options and configuration describe (not started).

    Args:
        args: Parsed options (``--client`` makes the monitor act for that tmux client).
        sessions_dir: Registry directory (default: ``--sessions-dir`` or Claude's).
        config: The configuration (default: loaded from the options).
        names_path: Where names set here are kept (default: the user state directory).
        read_only: For one-shot commands: their scans change no file (SPEC 3, "listing
            never writes"); the actions they are asked for still do.
        zellij_environ: The environment naming the Zellij to watch (the demo's private
            one); default: ours.
        multiplexers: Watch the tmux servers and Zellij (``False``: no server is asked
            anything, rows have no place; neither libtmux nor a ``tmux`` process is used).
        transcripts: Read Claude transcripts (tokens, context, activity and the fallback
            status of entries without ``status``).
        names: Show (and keep) names set in sessiontui.
    """
    from sessiontui.model.claude_jobs import ClaudeJobs, find_claude
    from sessiontui.model.monitor import Monitor
    from sessiontui.model.registries import default_registry_dirs

    config = config or load_settings(args)
    given = sessions_dir or args.sessions_dir
    # --sessions-dir (or the demo's) is the one registry; else every base of the user's.
    directories = (
        [Path(given).expanduser()] if given else default_registry_dirs(config.registry_dirs)
    )
    directory = directories[0]
    muxes = make_muxset(args, config, zellij_environ=zellij_environ) if multiplexers else None
    claude = find_claude(config.claude_executable)
    claude_env = dict(os.environ)
    if directory.name == "sessions":  # claude attach/stop must find this registry's daemon
        claude_env["CLAUDE_CONFIG_DIR"] = str(directory.parent)
    name_store = None
    if names:
        from sessiontui.model.names import NameStore, default_names_path

        name_store = NameStore(names_path or default_names_path())
    trackers = None
    if transcripts:
        from sessiontui.model.transcripts import TranscriptSettings, TranscriptTracker

        settings = TranscriptSettings(context_windows=config.context_windows)
        # <base>/sessions → <base>/projects: each registry's transcripts (SPEC 2.2).
        trackers = {d: TranscriptTracker(d.parent / "projects", settings) for d in directories}
    codex = None
    if not (args.no_codex or given):  # an explicit registry (--sessions-dir, the demo's) is all
        from sessiontui.model.codex import CodexSource

        codex = CodexSource(context_windows=config.context_windows)
    monitor = Monitor(
        sessions_dir=directories,
        muxes=muxes,
        grace_s=config.grace_period_s,
        claude=ClaudeJobs(claude, environ=claude_env) if claude else None,
        popup=config.tmux_popup,
        names=name_store,
        read_only=read_only,
        transcripts=trackers,
        codex=codex,
    )
    if args.client:
        monitor.use_client(args.client)
    return monitor


def make_muxset(
    args: argparse.Namespace, config: Config, *, zellij_environ: Mapping[str, str] | None = None
) -> MuxSet:
    """Build every tmux server in view (SPEC 2.4), the one we run inside first.

    In view: the server in our ``$TMUX``, the default socket, each ``-L NAME`` / ``-S PATH``,
    each configured ``tmux_sockets`` path, and (unless ``--no-discover`` or
    ``tmux_discover = false``) every live server in the user's socket directory, watched.
    Limited to the named servers, with none named it is the ``$TMUX`` one, else the default.
    """
    from sessiontui.model.muxset import MuxSet
    from sessiontui.mux.tmux import TmuxBackend, discover_sockets, parse_tmux_env, socket_dir
    from sessiontui.mux.tmux_control import ControlModeTrigger
    from sessiontui.mux.zellij import ZellijChangeTrigger, ZellijServer

    given = [TmuxBackend(socket_name=name) for name in args.tmux_socket or ()]
    given += [TmuxBackend(socket_path=path) for path in args.tmux_socket_path or ()]
    given += [TmuxBackend(socket_path=path) for path in config.tmux_sockets]
    discover = config.tmux_discover and not args.no_discover
    inside_env = parse_tmux_env(os.environ.get("TMUX"))
    inside = TmuxBackend(socket_path=inside_env[0]) if inside_env else None
    # The first is the "home" server (where ``new`` goes): ours, else the first named one.
    # Limited to named servers, ours is kept only to act on our own client (not listed).
    limited = bool(given) and not discover
    named: list[TmuxBackend] = [inside] if inside is not None and not limited else []
    named += given
    if discover or not named:
        named.append(TmuxBackend(socket_name="default"))

    servers: list[Multiplexer] = list(named)
    inside_server: str | Multiplexer | None = inside
    zellij = _zellij_server(args, config, zellij_environ)
    if zellij is not None:
        servers.append(zellij)
        if os.environ.get("ZELLIJ_PANE_ID") and not os.environ.get("TMUX_PANE"):
            inside_server = zellij.server  # we run in a Zellij pane

    def trigger(mux: Multiplexer, on_change: Callable[[], None]) -> ChangeTrigger | None:
        if isinstance(mux, TmuxBackend):
            return ControlModeTrigger([mux.tmux_bin, *mux.server_args()], on_change)
        if isinstance(mux, ZellijServer):
            return ZellijChangeTrigger(mux, on_change)
        return None

    return MuxSet(
        servers,
        required=[b.server for b in given],
        factory=lambda path: TmuxBackend(socket_path=path),
        discover=discover_sockets if discover else None,
        trigger_factory=trigger,
        inside=inside_server,
        watch_dir=socket_dir() if discover else None,
    )


def _zellij_server(
    args: argparse.Namespace, config: Config, environ: Mapping[str, str] | None = None
) -> ZellijServer | None:
    """The Zellij multiplexer, unless turned off (``--no-zellij``, ``zellij = false``) or absent.

    The executable: ``$SESSIONTUI_ZELLIJ_BIN``, else ``zellij`` on ``PATH``, else the CI cache.
    """
    from sessiontui.mux.zellij import ZellijServer, find_zellij

    if args.no_zellij or not config.zellij:
        return None
    from sessiontui.model.names import default_names_path

    binary = find_zellij()
    if not binary:
        return None
    if environ is not None:  # a private Zellij (the demo's): nothing remembered for the user
        return ZellijServer(binary=binary, environ=environ)
    kinds = default_names_path().with_name("zellij-sessions.json")  # beside names.json
    return ZellijServer(binary=binary, kinds_path=kinds)


def one_shot_snapshot(
    args: argparse.Namespace,
    *,
    config: Config | None = None,
    multiplexers: bool = True,
    transcripts: bool = True,
    names: bool = True,
    spare: bool = False,
) -> Snapshot:
    """Read every source once, synchronously, changing no file: what ``ls`` and ``status`` show.

    No thread is started and nothing is written (SPEC 3, "listing never writes").

    Args:
        args: Parsed options (registries, tmux servers, Codex, as for the TUI).
        config: The configuration (default: loaded from the options).
        multiplexers: Also ask every tmux server and Zellij where each agent runs (see
            :func:`make_monitor`; ``status`` needs no place and skips it).
        transcripts: Also read transcripts (see :func:`make_monitor`).
        names: Show names set in sessiontui.
        spare: Also list pre-warmed background workers (registry ``spare: true``).

    Returns:
        The snapshot (every session, dead ones included; spare workers only with ``spare``),
        with the sessions of each ``-H/--host`` (see :func:`with_hosts`).
    """
    monitor = make_monitor(
        args,
        config=config,
        read_only=True,
        multiplexers=multiplexers,
        transcripts=transcripts,
        names=names,
    )
    monitor.store.include_spare = spare
    with monitor:
        snapshot = monitor.refresh()
    if args.host:
        config = config or load_settings(args)
        hosts = resolve_hosts(args, config, configured=False)
        snapshot = with_hosts(snapshot, make_links(hosts, config))
    return snapshot


def _ls(args: argparse.Namespace) -> int:
    """``sessiontui ls``: print the sessions once."""
    from sessiontui.model.text import format_age, printable, shorten_home
    from sessiontui.model.wire import session_json

    snapshot = one_shot_snapshot(args, spare=args.all)
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
                _where_text(s),
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


def _where_text(session: Session) -> str:
    """The WHERE cell of ``ls``: ``tmux:work:2.1``, ``host:tmux:work:2.1`` for a remote row."""
    from sessiontui.model.text import printable

    where = printable(session.mux.label) if session.mux else "-"
    return f"{printable(session.host)}:{where}" if session.host is not None else where


def _run_by_tmux(environ: Mapping[str, str] | None = None) -> bool:
    """True when tmux itself runs us: a ``#()`` status command or ``run-shell``.

    tmux gives such commands ``TMUX`` but no ``TMUX_PANE`` (SPEC 2.4); a shell in a pane
    has both.
    """
    env = os.environ if environ is None else environ
    return bool(env.get("TMUX")) and not env.get("TMUX_PANE")


def _status(args: argparse.Namespace) -> int:
    """``sessiontui status [--format FMT] [--escape auto|tmux|none]``: one line for a status bar.

    The sessions are read as ``ls`` reads them, without asking any multiplexer where they
    run (a place is not counted) and without transcripts: statuses come from the registry
    (``shell`` included) and Codex rollouts. Nothing is written; an empty summary prints
    nothing at all (so a status bar can hide the widget).
    """
    from sessiontui.model.summary import FormatError, check_format, render_summary

    if args.format is not None:
        try:
            check_format(args.format)
        except FormatError as error:
            print(f"sessiontui: {_safe(error)}", file=sys.stderr)
            return EXIT_USAGE
    needs_names = args.format is not None and "first_waiting" in args.format
    snapshot = one_shot_snapshot(args, multiplexers=False, transcripts=False, names=needs_names)
    tmux = args.escape == "tmux" or (args.escape == "auto" and _run_by_tmux())
    line = render_summary(snapshot, args.format, tmux=tmux)
    if line and sys.stdout is not None:
        sys.stdout.buffer.write(line.encode("utf-8") + b"\n")
        sys.stdout.flush()
    return EXIT_OK


class _StreamClosed(Exception):
    """Our stdout was closed by its reader (a pipe's reader exited)."""


class _Stop(BaseException):
    """SIGTERM or SIGHUP asked ``watch`` to end.

    A ``BaseException`` (like ``KeyboardInterrupt``): raised by the signal handler wherever
    the main thread is, it must not be taken for a failure by an ``except Exception`` there
    (starting a watcher is one).
    """


def _watch(args: argparse.Namespace) -> int:
    """``sessiontui watch [--json] [--all]``: print each change as it happens, one per line.

    The running monitor (watchers, tmux control mode, timers) publishes changes; each becomes
    zero or more events (:class:`~sessiontui.model.wire.ChangeFeed`), written and flushed at
    once: JSON objects with ``--json``, else a readable line. It ends cleanly, without a
    traceback, on ctrl+c (exit 130), SIGTERM or SIGHUP (exit 0) and when its reader goes away
    (a closed pipe, exit 0), also while nothing changes.
    """
    import queue
    import signal

    from sessiontui.model.wire import ChangeFeed, event_line

    if sys.stdout is None:
        print("sessiontui: watch: stdout is closed", file=sys.stderr)
        return EXIT_FAILURE
    changes: queue.SimpleQueue[SnapshotChange] = queue.SimpleQueue()
    feed = ChangeFeed(all_sessions=args.all)

    def emit(events: list[dict[str, object]]) -> None:
        lines = [
            json.dumps(event, separators=(",", ":")) if args.json else event_line(event)
            for event in events
        ]
        text = "".join(f"{line}\n" for line in lines if line is not None)
        if not text:
            return
        try:
            sys.stdout.buffer.write(text.encode("utf-8"))
            sys.stdout.flush()
        except (BrokenPipeError, ValueError) as error:  # ValueError: stdout closed under us
            raise _StreamClosed from error

    def stop(signum: int, frame: object) -> None:
        for sig in previous:  # one stop is enough: let the monitor close in peace
            signal.signal(sig, signal.SIG_IGN)
        raise _Stop

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with _watched_service(args) as monitor:
            monitor.refresh()
            monitor.subscribe(changes.put)
            emit(feed.start(monitor.snapshot))
            monitor.start()  # the watch is armed when this returns; a write made between
            monitor.request_rescan()  # the first read and now is found by this rescan
            while True:
                try:
                    change = changes.get(timeout=0.5)
                except queue.Empty:
                    if _reader_gone(sys.stdout):
                        raise _StreamClosed from None
                    continue
                emit(feed.update(change))
    except _StreamClosed:
        _silence_stdout()
        return EXIT_OK
    except _Stop:
        return EXIT_OK
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _watched_service(args: argparse.Namespace) -> Monitor | Hub:
    """What ``watch`` follows: this machine, plus each ``-H`` host (its rows arrive as added)."""
    monitor = make_monitor(args, read_only=True)
    if not args.host:
        return monitor
    from sessiontui.remote.hub import Hub

    config = load_settings(args)
    return Hub(monitor, make_links(resolve_hosts(args, config, configured=False), config))


def _serve(args: argparse.Namespace) -> int:
    """``sessiontui serve --stdio``: this host's model over JSON lines (SPEC 2.7).

    Runs until stdin closes (exit 0), or SIGTERM/SIGHUP. ``serve`` has no terminal of its
    own: the multiplexer variables it may have inherited are dropped, so it never acts on
    a client (an attach is always a plan for a terminal outside any multiplexer). Listing
    changes no file; the verbs a client calls do what they do locally.
    """
    import signal
    import socket

    from sessiontui.remote.serve import serve

    for name in ("TMUX", "TMUX_PANE", "ZELLIJ", "ZELLIJ_PANE_ID", "ZELLIJ_SESSION_NAME"):
        os.environ.pop(name, None)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Anything else printing to stdout would corrupt the protocol: it goes to stderr.
    sys.stdout = sys.stderr

    def stop(signum: int, frame: object) -> None:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        raise _Stop

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        monitor = make_monitor(args, read_only=True)
        return serve(monitor, stdin, stdout, host=socket.gethostname())
    except _Stop:
        return EXIT_OK
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.stdout = sys.__stdout__
        _silence_stdout()  # a client gone mid-line must not make the exit flush fail loudly


def _reader_gone(stream: TextIO) -> bool:
    """True when ``stream`` is a pipe (or socket) whose reading end was closed.

    Checked while nothing is written, so ``watch | head -1`` ends at once, not at the next
    change: a pipe's writing end reports ``POLLERR`` when no reader is left.
    """
    import select

    try:
        poller = select.poll()
        poller.register(stream.fileno(), 0)  # POLLERR and POLLHUP are always reported
        events = poller.poll(0)
    except (OSError, ValueError, AttributeError):
        return False
    return any(mask & (select.POLLERR | select.POLLHUP | select.POLLNVAL) for _, mask in events)


def _silence_stdout() -> None:
    """Point fd 1 at ``/dev/null``, so the interpreter's last flush cannot fail loudly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[tuple[SessionService, Session]]:
    """The service that owns ``args.target``, and the session it names (SPEC 6).

    ``HOST/TARGET``, where ``HOST`` is a ``[[hosts]]`` name or a ``-H`` destination, is
    resolved on that host (one link, its first snapshot) and the verb goes over the link;
    anything else is resolved on this machine.

    Raises:
        TargetNotFound, AmbiguousTarget: As their names say.
        HostUnreachable: The host did not answer with a snapshot in time.
    """
    from sessiontui.model.targets import resolve_target

    config = load_settings(args)
    monitor = make_monitor(args, config=config, read_only=True)
    host_name, _, remote_target = str(args.target or "").partition("/")
    hosts = {host.name: host for host in resolve_hosts(args, config)}
    if not remote_target or host_name not in hosts:
        with monitor:
            monitor.refresh()
            yield monitor, monitor.resolve(args.target)
        return
    from sessiontui.remote.hub import Hub, host_problem
    from sessiontui.remote.link import HostUnreachable

    (link,) = make_links([hosts[host_name]], config)
    hub = Hub(monitor, [link])
    link.start()
    try:
        if not link.wait_snapshot(ONE_SHOT_HOST_TIMEOUT_S, settle_s=ONE_SHOT_SETTLE_S):
            raise HostUnreachable(host_problem(host_name, link.problem or "no answer"))
        yield hub, resolve_target(link.sessions, remote_target)
    finally:
        hub.close()


def _rename(args: argparse.Namespace) -> int:
    """``sessiontui rename TARGET NAME``."""
    from sessiontui.model.registry import validate_name

    try:
        validate_name(args.name)
    except InvalidName as error:
        print(f"sessiontui: {error}", file=sys.stderr)
        return EXIT_USAGE
    with _target(args) as (service, session):
        service.rename(session.key, args.name)
    return EXIT_OK


def _kill(args: argparse.Namespace) -> int:
    """``sessiontui kill TARGET [--force]``: confirmed on a tty, or ``--force``."""
    from sessiontui.model.text import printable

    with _target(args) as (service, session):
        where = f" on {printable(session.host)}" if session.host is not None else ""
        label = f"{printable(session.name)} (pid {session.pid}{where})"
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
        report = service.kill(session.key)
    if report.already_gone:
        print(f"sessiontui: {label} had already ended", file=sys.stderr)
    return EXIT_OK


def _attach(args: argparse.Namespace) -> int:
    """``sessiontui attach TARGET``: switch our tmux client, or run ``tmux attach``.

    ``HOST/TARGET`` runs ``ssh -t`` to the host's own attach command (a new window of our
    tmux client inside tmux, else in this terminal).
    """
    if args.target and not args.client:
        with _target(args) as (service, session):
            plan = service.attach(session.key)
        if plan.switched:
            return EXIT_OK
        return subprocess.call(list(plan.argv), env=dict(plan.env))
    with make_monitor(args, read_only=True) as monitor:
        monitor.refresh()
        if args.client and monitor.own_client() is None:
            print(f"sessiontui: no tmux client on {_safe_text(args.client)}", file=sys.stderr)
            return EXIT_FAILURE
        if args.waiting:
            found = monitor.next_waiting()
            if found is None:
                print("sessiontui: no session is waiting for input", file=sys.stderr)
                return EXIT_FAILURE
            session = found
        else:
            session = monitor.resolve(args.target)
        plan = monitor.attach(session.key)
    if plan.switched:
        return EXIT_OK
    return subprocess.call(list(plan.argv), env=dict(plan.env))


def _send(args: argparse.Namespace) -> int:
    """``sessiontui send TARGET TEXT``: the reply goes to the session's own pane."""
    with _target(args) as (service, session):
        service.send(session.key, " ".join(args.text))
    return EXIT_OK


def _answer(args: argparse.Namespace) -> int:
    """``sessiontui approve|deny TARGET``: prints the decision and the option chosen."""
    from sessiontui.model.text import printable

    with _target(args) as (service, session):
        verb = service.approve if args.command == "approve" else service.deny
        answer = verb(session.key)
    print(f"{answer.decision}\t{printable(str(answer.option))}\t{printable(session.name)}")
    return EXIT_OK


def _interrupt(args: argparse.Namespace) -> int:
    """``sessiontui interrupt TARGET``: exit 0 once the turn stopped, 1 if it still runs."""
    from sessiontui.model.text import printable

    with _target(args) as (service, session):
        stopped = service.interrupt(session.key)
    if not stopped:
        print(
            f"sessiontui: sent Escape to {printable(session.name)}, but it still shows a "
            "running turn",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return EXIT_OK


def _new(args: argparse.Namespace) -> int:
    """``sessiontui new [--name N] [--cwd DIR] -- COMMAND [ARGS...]``."""
    command = list(args.argv) or ["claude"]
    cwd = (args.cwd or Path.cwd()).expanduser().resolve()
    if not cwd.is_dir():
        print(f"sessiontui: {cwd} is not a directory", file=sys.stderr)
        return EXIT_USAGE
    with make_monitor(args, read_only=True) as monitor:
        name = args.name or default_bg_name(monitor, cwd, command, args.mux)
        session_id = monitor.new_session(name, command, cwd=str(cwd), mux=args.mux)
    print(f"{name}\t{session_id}")
    return EXIT_OK


def default_bg_name(monitor: Monitor, cwd: Path, command: Sequence[str], mux: str = "tmux") -> str:
    """Return ``<dir>-<command>``, made unique among ``mux``'s sessions with ``-2``, ``-3``."""
    import re

    base = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{cwd.name or 'root'}-{Path(command[0]).name}")
    base = base.strip("-")[:60] or "bg"
    name, n = base, 1
    home = monitor.muxes.home(mux)
    while home is not None and home.has_session(name):
        n += 1
        name = f"{base}-{n}"
    return name


def _bg_monitor(args: argparse.Namespace) -> int:
    """``sessiontui --bg``: run the monitor in its own tmux session, or go back to it.

    The monitor runs in the tmux server's environment, so the caller's ``HOME``,
    ``CLAUDE_CONFIG_DIR``, ``PATH`` and proxies are passed to it (it must watch the caller's
    registry). The client switched is ``--client`` (a ``run-shell`` binding), else ours.
    """
    from sessiontui.model.monitor import CALLER_ENV_VARS
    from sessiontui.mux.tmux import child_env

    if _inside_zellij(args):
        return _bg_monitor_zellij(args)
    tmux = _home_tmux(args)
    if not tmux.has_session(BG_MONITOR_SESSION):
        argv = [sys.executable, "-m", "sessiontui", *_forwarded_options(args)]
        env = {k: v for k, v in os.environ.items() if k in CALLER_ENV_VARS}
        env[BG_ENV] = "1"
        tmux.new_session(
            BG_MONITOR_SESSION,
            command=argv,
            cwd=str(Path.home()),
            env=env,
            kind="monitor",
        )
    panes = [p for p in tmux.list_panes() if p.session_name == BG_MONITOR_SESSION]
    if not panes:
        print("sessiontui: the monitor session ended at once", file=sys.stderr)
        return EXIT_FAILURE
    client = args.client or tmux.own_client()
    if client is not None:
        tmux.switch_client(client, panes[0].pane_id)
        return EXIT_OK
    return subprocess.call(tmux.attach_argv(panes[0].pane_id), env=child_env())


def _inside_zellij(args: argparse.Namespace) -> bool:
    """True when ``--bg`` runs in a Zellij pane (not in a tmux pane, no tmux ``--client``).

    ``-L``/``-S`` then only name the tmux servers the monitor watches (they are passed on).
    """
    inside = bool(os.environ.get("ZELLIJ_PANE_ID")) and not os.environ.get("TMUX_PANE")
    return inside and not args.client


def _bg_monitor_zellij(args: argparse.Namespace) -> int:
    """``sessiontui --bg`` inside Zellij: the monitor in a Zellij session ``sessiontui``.

    The session is made once (remembered as ``monitor`` in the Zellij state file) with the
    caller's ``HOME``, ``CLAUDE_CONFIG_DIR``, ``PATH`` and proxies, plus ``SESSIONTUI_BG=1``;
    then (and on every later ``--bg``) our Zellij client is switched to it. There ``q``
    detaches our client (Zellij has no "switch back to the last session").
    """
    from sessiontui.model.monitor import CALLER_ENV_VARS

    zellij = _zellij_server(args, load_settings(args))
    if zellij is None:
        print("sessiontui: --bg inside Zellij needs the zellij command", file=sys.stderr)
        return EXIT_FAILURE
    own = zellij.own_client()
    if own is None:
        print("sessiontui: --bg: our Zellij session is not running", file=sys.stderr)
        return EXIT_FAILURE
    if own == BG_MONITOR_SESSION:
        print("sessiontui: this is the background monitor's session already", file=sys.stderr)
        return EXIT_OK
    if not zellij.is_live(BG_MONITOR_SESSION):
        if zellij.has_session(BG_MONITOR_SESSION):  # exited: only its resurrection data
            if zellij.kinds().get(BG_MONITOR_SESSION) != "monitor":
                print(
                    f"sessiontui: an exited Zellij session is named {BG_MONITOR_SESSION!r}; "
                    f"delete it (zellij delete-session {BG_MONITOR_SESSION}) or attach to it",
                    file=sys.stderr,
                )
                return EXIT_FAILURE
            zellij.delete_session(BG_MONITOR_SESSION, force=True)
        argv = [sys.executable, "-m", "sessiontui", *_forwarded_options(args)]
        env = {k: v for k, v in os.environ.items() if k in CALLER_ENV_VARS}
        env[BG_ENV] = "1"
        zellij.new_session(
            BG_MONITOR_SESSION, command=argv, cwd=str(Path.home()), env=env, kind="monitor"
        )
    panes = [p for p in zellij.list_panes() if p.session_name == BG_MONITOR_SESSION]
    if not panes:
        print("sessiontui: the monitor session ended at once", file=sys.stderr)
        return EXIT_FAILURE
    zellij.switch_client(own, panes[0].pane_id, session=BG_MONITOR_SESSION)
    return EXIT_OK


def _home_tmux(args: argparse.Namespace) -> TmuxBackend:
    """The server ``--bg`` uses: the first ``-S``/``-L`` given, else ``$TMUX``'s, else default."""
    from sessiontui.mux.tmux import TmuxBackend

    if args.tmux_socket_path:
        return TmuxBackend(socket_path=args.tmux_socket_path[0])
    if args.tmux_socket:
        return TmuxBackend(socket_name=args.tmux_socket[0])
    return TmuxBackend()


def _forwarded_options(args: argparse.Namespace) -> list[str]:
    """The global options to pass on to the monitor started by ``--bg``."""
    out: list[str] = []
    if args.sessions_dir:
        out += ["--sessions-dir", str(Path(args.sessions_dir).expanduser().resolve())]
    for name in args.tmux_socket or ():
        out += ["-L", name]
    for path in args.tmux_socket_path or ():
        out += ["-S", path]
    if args.no_discover:
        out.append("--no-discover")
    for host in args.host or ():
        out += ["-H", host]
    if args.config:
        out += ["--config", str(Path(args.config).expanduser().resolve())]
    return out


def make_service(monitor: Monitor, args: argparse.Namespace, config: Config) -> SessionService:
    """What the TUI shows: ``monitor``, or a Hub of it and every host (``[[hosts]]``, ``-H``)."""
    hosts = resolve_hosts(args, config)
    if not hosts:
        return monitor
    from sessiontui.remote.hub import Hub

    return Hub(monitor, make_links(hosts, config))


def run_app(app: App[None], *, headless: bool = False) -> int:
    """Run a Textual app; a crash is exit code 1 with a message on stderr, never 0.

    Textual catches an exception that escapes the app, restores the terminal, prints the
    traceback and returns from ``run()``; its ``return_code`` is then non-zero.

    Args:
        app: The app.
        headless: Run without a terminal (tests).

    Returns:
        0 after a normal exit, 1 when the app crashed.
    """
    try:
        app.run(headless=headless)
    except Exception as error:  # the driver failed before Textual could handle it
        print(f"sessiontui: the TUI failed: {_safe(error)}", file=sys.stderr)
        return EXIT_FAILURE
    if app.return_code:
        print(
            "sessiontui: the TUI stopped on an unexpected error (traceback above)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return EXIT_OK


def _tui(args: argparse.Namespace) -> int:
    """Run the TUI (on the demo environment with ``--demo``)."""
    from sessiontui.ui.app import make_app

    if args.bg:
        return _bg_monitor(args)
    config = load_settings(args)
    if args.demo:
        from sessiontui.demo.environment import DemoEnvironment
        from sessiontui.mux.zellij import find_zellij

        zellij = None if args.no_zellij or not config.zellij else find_zellij()
        with DemoEnvironment(zellij=zellij) as demo:
            args.tmux_socket, args.tmux_socket_path = [demo.socket_name], None
            args.no_discover = True  # the demo shows its own servers only
            args.no_zellij = demo.zellij_environ is None
            monitor = make_monitor(
                args,
                sessions_dir=demo.sessions_dir,
                config=config,
                names_path=demo.names_path,
                zellij_environ=demo.zellij_environ,
            )
            if demo.zellij_problem:
                print(f"sessiontui: {demo.zellij_problem}", file=sys.stderr)
            return run_app(make_app(monitor, config=config, title="sessiontui — demo"))
    service = make_service(make_monitor(args, config=config), args, config)
    bg = os.environ.get(BG_ENV) == "1"
    # In a display-popup (a --client and no pane of our own), an attach ends the TUI: the
    # popup closes over the session the client was switched to.
    popup = bool(args.client) and not os.environ.get("TMUX_PANE")
    return run_app(make_app(service, config=config, background=bg, exit_after_attach=popup))


_COMMANDS = {
    "ls": _ls,
    "status": _status,
    "watch": _watch,
    "serve": _serve,
    "new": _new,
    "rename": _rename,
    "kill": _kill,
    "attach": _attach,
    "send": _send,
    "approve": _answer,
    "deny": _answer,
    "interrupt": _interrupt,
}


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
    except (InvalidName, ConfigError) as error:
        print(f"sessiontui: {_safe(error)}", file=sys.stderr)
        return EXIT_USAGE
    except SessiontuiError as error:
        print(f"sessiontui: {_safe(error)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except OSError as error:
        print(f"sessiontui: {_safe(error)}", file=sys.stderr)
        return EXIT_FAILURE


def _safe_text(text: str) -> str:
    """Untrusted text with control characters made visible."""
    from sessiontui.model.text import printable

    return printable(text)


def _safe(error: BaseException) -> str:
    """An error message with any control characters from untrusted text made visible."""
    from sessiontui.model.text import printable

    return "\n".join(printable(line) for line in str(error).splitlines())
