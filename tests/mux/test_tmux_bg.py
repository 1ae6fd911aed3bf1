"""TmuxBackend's background-session, popup, window and client calls on real tmux servers."""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import libtmux
import psutil
import pytest
from tests.helpers import wait_until
from tests.mux.test_tmux import SCRIPT, TMUX, clients, tmux

from sessiontui.errors import InvalidName, MuxError, MuxUnavailable, NameTaken
from sessiontui.mux.tmux import TmuxBackend, child_env

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from libtmux import Server

#: Characters tmux would expand in formats (``#(...)`` runs a command) or read as a separator.
TRICKY = "#{pid}#(false) x;"

#: A long-lived program that accepts any extra arguments (in ``sys.argv``).
SLEEPER = [sys.executable, "-c", "import time; time.sleep(300)"]


@pytest.fixture
def attach(
    server: Server, backend: TmuxBackend, procs: list[subprocess.Popen[bytes]]
) -> Callable[..., tuple[subprocess.Popen[bytes], str]]:
    """Start a real 120x40 tmux client on a session (``script`` gives it a pty).

    ``start(target, typescript=None)`` returns the ``script`` process and the client's tty;
    what the client draws is written to ``typescript`` when given.
    """
    if SCRIPT is None:
        pytest.skip("util-linux `script` is not installed")

    def start(target: str, typescript: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
        before = {c[0] for c in clients(server)}
        env = child_env()
        env["TERM"] = "xterm"
        argv = [TMUX, "-S", backend.socket_path, "attach-session", "-t", target]
        command = f"stty cols 120 rows 40; exec {shlex.join(argv)}"
        proc = subprocess.Popen(
            [SCRIPT, "-qfec", command, str(typescript or "/dev/null")],
            stdin=subprocess.PIPE,  # kept open: EOF would reach the pane's shell as ^D
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        procs.append(proc)
        wait_until(lambda: {c[0] for c in clients(server)} - before, timeout_s=5)
        (tty,) = {c[0] for c in clients(server)} - before
        return proc, tty

    return start


@pytest.fixture
def fresh_backend() -> Iterator[TmuxBackend]:
    """A backend on a socket where no server runs yet; its server is killed at teardown."""
    name = f"sessiontui-fresh-{uuid.uuid4().hex[:12]}"
    yield TmuxBackend(socket_name=name, environ={})
    server = libtmux.Server(socket_name=name)
    with contextlib.suppress(Exception):
        if server.is_alive():
            server.kill()
    with contextlib.suppress(OSError):
        Path(TmuxBackend(socket_name=name, environ={}).socket_path).unlink()


def sessions(server: Server) -> list[str]:
    """``"<id> <name>"`` of every session of the server ([] without a server)."""
    result = server.cmd("list-sessions", "-F", "#{session_id} #{session_name}")
    return list(result.stdout) if result.returncode == 0 else []


def pane_process(server: Server, pane_id: str, name: str) -> psutil.Process:
    """The pane's first process, once it has exec'd the program called ``name``."""
    pid = int(tmux(server, "display-message", "-p", "-t", pane_id, "#{pane_pid}")[0])
    proc = psutil.Process(pid)
    wait_until(lambda: proc.name() == name, timeout_s=5)
    return proc


# --------------------------------------------------------------------------- new_session


def test_new_session_runs_argv_detached_marked_in_cwd_with_env(
    server: Server, backend: TmuxBackend, tmp_path: Path
) -> None:
    tmux(server, "new-session", "-d", "-s", "other")
    workdir = tmp_path / "work #{pid} dir"
    workdir.mkdir()
    env = {"CLAUDE_CODE_SESSION_KIND": "bg", "TRICKY": TRICKY, "EMPTY": ""}
    argv = [*SLEEPER, TRICKY, "", "-x"]

    sid = backend.new_session(TRICKY, command=argv, cwd=str(workdir), env=env)

    assert f"{sid} {TRICKY}" in sessions(server)
    fmt = "#{session_attached} #{@sessiontui-kind}"
    assert tmux(server, "display-message", "-p", "-t", sid, fmt) == ["0 bg"]
    assert tmux(server, "show-options", "-v", "-t", sid, "@sessiontui-kind") == ["bg"]
    assert backend.session_option(sid, "@sessiontui-kind") == "bg"
    assert backend.has_session(TRICKY)
    pane = tmux(server, "list-panes", "-s", "-t", sid, "-F", "#{pane_id}")[0]
    proc = pane_process(server, pane, Path(sys.executable).name)
    # Exec'd directly by tmux (no shell): the argv arrives intact, ";" and "#" included.
    assert proc.cmdline() == argv
    assert proc.cwd() == str(workdir)
    environ = proc.environ()
    for key, value in env.items():
        assert environ[key] == value
    assert "TMUX_PANE" in environ
    (listed,) = [p for p in backend.list_panes() if p.session_id == sid]
    assert listed.session_kind == "bg"
    assert listed.session_name == TRICKY


def test_new_session_single_word_command_and_custom_kind(
    server: Server, backend: TmuxBackend, tmp_path: Path
) -> None:
    program = tmp_path / "my prog"  # a space: a shell must not split it
    program.write_text("#!/bin/sh\nexec sleep 300\n", encoding="utf-8")
    program.chmod(0o755)

    sid = backend.new_session("one", command=[str(program)], kind="custom")

    pane = tmux(server, "list-panes", "-s", "-t", sid, "-F", "#{pane_id}")[0]
    pid = int(tmux(server, "display-message", "-p", "-t", pane, "#{pane_pid}")[0])
    # tmux runs one argument through the shell; the quoted word still names the program.
    shell = psutil.Process(pid)
    wait_until(
        lambda: "sleep" in [shell.name(), *(c.name() for c in shell.children())], timeout_s=5
    )
    assert backend.session_option("=one", "@sessiontui-kind") == "custom"


def test_new_session_duplicate_name_creates_nothing(server: Server, backend: TmuxBackend) -> None:
    first = backend.new_session("dup", command=["sleep", "300"])

    with pytest.raises(NameTaken, match="a tmux session is already named 'dup'"):
        backend.new_session("dup", command=["sleep", "301"])

    assert sessions(server) == [f"{first} dup"]
    cmd = tmux(server, "list-panes", "-s", "-t", first, "-F", "#{pane_start_command}")
    assert cmd == ["sleep 300"]


def test_new_session_concurrent_same_name_one_wins(server: Server, backend: TmuxBackend) -> None:
    keep = tmux(server, "new-session", "-d", "-P", "-F", "#{session_id}", "-s", "keep")[0]
    barrier = threading.Barrier(4)
    outcomes: list[object] = []
    lock = threading.Lock()

    def create() -> None:
        barrier.wait()
        try:
            result: object = backend.new_session("race", command=["sleep", "300"])
        except NameTaken as error:
            result = error
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    won = [o for o in outcomes if isinstance(o, str)]
    assert len(outcomes) == 4
    assert len(won) == 1
    assert all(isinstance(o, NameTaken) for o in outcomes if o not in won)
    assert sorted(sessions(server)) == sorted([f"{won[0]} race", f"{keep} keep"])


def test_new_session_starts_a_server_that_reads_the_usual_config(
    fresh_backend: TmuxBackend, config_file: Path
) -> None:
    # libtmux's config_file fixture is ~/.tmux.conf in the temporary HOME.
    assert "set -g base-index 1" in config_file.read_text(encoding="utf-8")
    assert fresh_backend.has_session("bg") is False
    with pytest.raises(MuxUnavailable):
        fresh_backend.list_panes()

    sid = fresh_backend.new_session("bg", command=["sleep", "300"])

    (pane,) = fresh_backend.list_panes()
    assert pane.session_id == sid
    assert pane.session_kind == "bg"
    assert pane.window_index == "1"  # base-index from ~/.tmux.conf: no -f was passed


@pytest.mark.parametrize(
    "name", ["", "a:b", "a.b", "tab\there", "new\nline", "esc\x1b", "back\\slash", "$x"]
)
def test_new_session_rejects_names_tmux_would_rewrite(
    server: Server, backend: TmuxBackend, name: str
) -> None:
    tmux(server, "new-session", "-d", "-s", "existing")
    before = sessions(server)

    with pytest.raises(InvalidName):
        backend.new_session(name, command=["sleep", "300"])

    assert sessions(server) == before


def test_new_session_rejects_bad_arguments_before_creating(
    server: Server, backend: TmuxBackend, tmp_path: Path
) -> None:
    tmux(server, "new-session", "-d", "-s", "existing")
    before = sessions(server)

    with pytest.raises(ValueError, match="command is empty"):
        backend.new_session("x", command=[])
    with pytest.raises(ValueError, match="environment variable"):
        backend.new_session("x", command=["true"], env={"A=B": "c"})
    with pytest.raises(ValueError, match="environment variable"):
        backend.new_session("x", command=["true"], env={"": "c"})
    # tmux would silently start in $HOME instead.
    with pytest.raises(MuxError, match="not a directory"):
        backend.new_session("x", command=["true"], cwd=str(tmp_path / "missing"))

    assert sessions(server) == before


# --------------------------------------------------------------------------- session_option


def test_session_option_values(server: Server, backend: TmuxBackend) -> None:
    sid = tmux(server, "new-session", "-d", "-P", "-F", "#{session_id}", "-s", "s1")[0]
    tmux(server, "set-option", "-t", sid, "@empty", "")
    tmux(server, "set-option", "-t", sid, "@multi", "a\tb\nc #{pid}")
    tmux(server, "set-option", "-g", "@global", "g")

    assert backend.session_option(sid, "@unset") is None
    assert backend.session_option(sid, "@empty") == ""
    assert backend.session_option(sid, "@multi") == "a\tb\nc #{pid}"
    assert backend.session_option("=s1", "@multi") == "a\tb\nc #{pid}"
    assert backend.session_option(sid, "@global") is None  # only the session's own values
    with pytest.raises(MuxError, match="no such session"):
        backend.session_option("$999", "@empty")
    with pytest.raises(ValueError, match="user option"):
        backend.session_option(sid, "status")
    with pytest.raises(ValueError, match="exact tmux session"):
        backend.session_option("s1", "@empty")


# --------------------------------------------------------------------------- new_window


def test_new_window_returns_its_pane(server: Server, backend: TmuxBackend) -> None:
    sid = backend.new_session("host", command=["sleep", "300"])
    other = backend.new_session("other", command=["sleep", "300"])

    pane = backend.new_window(sid, [*SLEEPER, TRICKY], name=TRICKY)
    hidden = backend.new_window("=host", ["sleep", "302"], select=False)

    fmt = "#{session_id}\t#{window_name}\t#{window_active}"
    assert tmux(server, "display-message", "-p", "-t", pane, fmt) == [f"{sid}\t{TRICKY}\t1"]
    assert tmux(server, "display-message", "-p", "-t", hidden, fmt)[0].split("\t")[::2] == [
        sid,
        "0",
    ]
    assert pane_process(server, pane, Path(sys.executable).name).cmdline() == [*SLEEPER, TRICKY]
    assert pane_process(server, hidden, "sleep").cmdline() == ["sleep", "302"]
    assert tmux(server, "list-panes", "-s", "-t", other, "-F", "#{pane_id}") != [pane]
    with pytest.raises(ValueError, match="exact tmux session"):
        backend.new_window("host", ["true"])
    with pytest.raises(MuxError, match="can't find session"):
        backend.new_window("$999", ["sleep", "1"])


# --------------------------------------------------------------------------- clients


def test_detach_client_detaches_only_that_client(
    server: Server, backend: TmuxBackend, attach: Callable[..., tuple[subprocess.Popen[bytes], str]]
) -> None:
    backend.new_session("shared", command=["sleep", "300"])
    first, tty1 = attach("=shared")
    second, tty2 = attach("=shared")

    backend.detach_client(tty1)

    wait_until(lambda: first.poll() is not None, timeout_s=5)
    assert [c[:2] for c in clients(server)] == [[tty2, "shared"]]
    assert second.poll() is None
    with pytest.raises(MuxError, match="can't find client"):
        backend.detach_client(tty1)


def test_last_client_pane_client_for_pane_and_own_pane(
    server: Server, backend: TmuxBackend, attach: Callable[..., tuple[subprocess.Popen[bytes], str]]
) -> None:
    s1 = backend.new_session("s1", command=["sleep", "300"])
    backend.new_session("s2", command=["sleep", "300"])
    p1 = tmux(server, "list-panes", "-s", "-t", s1, "-F", "#{pane_id}")[0]
    p2 = backend.new_window("=s2", ["sleep", "301"], select=False)
    _, tty = attach("=s1")

    assert backend.last_client_pane(tty) == p1
    assert backend.client_for_pane(p1) == tty
    assert backend.client_for_pane(p2) is None

    backend.switch_client(tty, p2)

    assert backend.last_client_pane(tty) == p2
    assert backend.client_for_pane(p2) == tty
    assert backend.client_for_pane(p1) is None
    assert backend.last_client_pane("/dev/pts/nonexistent") is None
    assert backend.client_for_pane("%999") is None
    with pytest.raises(ValueError, match="exact tmux pane"):
        backend.client_for_pane("s1")
    socket = backend.socket_path
    server_pid = tmux(server, "display-message", "-p", "#{pid}")[0]
    inside = TmuxBackend(
        socket_name=server.socket_name,
        environ={"TMUX": f"{socket},{server_pid},0", "TMUX_PANE": p1},
    )
    own = inside.own_pane()
    assert own is not None
    assert (own.pane_id, own.session_id) == (p1, s1)
    assert backend.own_pane() is None  # not inside tmux


# --------------------------------------------------------------------------- display_popup


def test_display_popup_returns_at_once_and_runs_the_command(
    server: Server,
    backend: TmuxBackend,
    attach: Callable[..., tuple[subprocess.Popen[bytes], str]],
    tmp_path: Path,
) -> None:
    backend.new_session("main", command=["sleep", "300"])
    typescript = tmp_path / "typescript"
    _, tty = attach("=main", typescript)
    workdir = tmp_path / "cwd #{pid}"
    workdir.mkdir()
    started, go, done = tmp_path / "started", tmp_path / "go", tmp_path / "done"
    script = (
        'pwd > "$1.tmp"; mv "$1.tmp" "$1"; while [ ! -e "$2" ]; do sleep 0.02; done; touch "$3"'
    )
    closed: list[tuple[int, str]] = []
    title = "T#{pid}#(false)E"
    returned = threading.Event()

    def call() -> None:
        backend.display_popup(
            tty,
            ["sh", "-c", script, "sh", str(started), str(go), str(done)],
            title=title,
            cwd=str(workdir),
            on_close=lambda code, err: closed.append((code, err)),
        )
        returned.set()

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    # The popup's command cannot finish before `go` exists: returning proves no blocking.
    wait_until(returned.is_set, timeout_s=5)
    assert not done.exists()
    wait_until(started.exists, timeout_s=5)
    assert started.read_text(encoding="utf-8").strip() == str(workdir)
    wait_until(lambda: title.encode() in typescript.read_bytes(), timeout_s=5)
    assert not closed
    go.touch()
    wait_until(done.exists, timeout_s=5)
    wait_until(lambda: closed, timeout_s=5)
    assert closed == [(0, "")]


def test_display_popup_refuses_missing_and_control_clients(
    server: Server, backend: TmuxBackend, procs: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    backend.new_session("main", command=["sleep", "300"])
    control = subprocess.Popen(
        [TMUX, "-S", backend.socket_path, "-C", "attach-session", "-t", "=main"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=child_env(),
    )
    procs.append(control)
    wait_until(lambda: any(c[3] == "1" for c in clients(server)), timeout_s=5)
    (control_tty,) = [c[0] for c in clients(server)]
    marker = tmp_path / "ran"

    with pytest.raises(MuxError, match="no tmux client"):
        backend.display_popup("/dev/pts/nonexistent", ["touch", str(marker)])
    with pytest.raises(MuxError, match="no tmux client"):
        backend.display_popup(control_tty, ["touch", str(marker)])
    with pytest.raises(ValueError, match="popup size"):
        backend.display_popup(control_tty, ["true"], width="#{pid}")
    with pytest.raises(ValueError, match="command is empty"):
        backend.display_popup(control_tty, [])
    assert not marker.exists()


def test_rename_session_never_expands_formats(server: Server, tmp_path: Path) -> None:
    """A name like ``x#(touch f)`` is a name, not a command (tmux expands ``#(...)``)."""
    backend = TmuxBackend(socket_name=server.socket_name)
    sid = backend.new_session("plain", command=["sleep", "300"])
    marker = tmp_path / "owned"
    hostile = f"x#(touch {marker})#{{pid}}"
    backend.rename_session(sid, hostile)
    names = server.cmd("list-sessions", "-F", "#{session_name}").stdout
    assert hostile in names
    assert not marker.exists()
