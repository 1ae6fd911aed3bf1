"""TmuxBackend against real, isolated tmux servers, real clients and real processes."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import uuid
from typing import TYPE_CHECKING

import psutil
import pytest
from tests.helpers import wait_until

from sessiontui.errors import MuxError, MuxUnavailable, NameTaken
from sessiontui.mux.tmux import TmuxBackend, child_env, parse_tmux_env

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from libtmux import Server


TMUX = shutil.which("tmux") or "tmux"
SCRIPT = shutil.which("script")

needs_script = pytest.mark.skipif(SCRIPT is None, reason="util-linux `script` is not installed")


def tmux(server: Server, *args: str) -> list[str]:
    """Run a tmux command on the test server and return its stdout lines (must succeed)."""
    result = server.cmd(*args)
    assert result.returncode == 0, result.stderr
    return list(result.stdout)


def new_session(server: Server, name: str, command: str | None = None) -> str:
    """Create a detached session and return its ``$N`` id."""
    args = ["new-session", "-d", "-P", "-F", "#{session_id}", "-s", name, "-x", "80", "-y", "24"]
    return tmux(server, *args, *([command] if command else []))[0]


def new_window(server: Server, session_id: str, command: str | None = None) -> str:
    """Create a window in a session and return its first pane ``%N``."""
    args = ["new-window", "-d", "-P", "-F", "#{pane_id}", "-t", f"{session_id}:"]
    return tmux(server, *args, *([command] if command else []))[0]


def first_pane(server: Server, session_id: str) -> str:
    return tmux(server, "list-panes", "-s", "-t", session_id, "-F", "#{pane_id}")[0]


def clients(server: Server) -> list[list[str]]:
    """``[tty, session name, current pane, control mode]`` per client."""
    fmt = "#{client_tty}\t#{client_session}\t#{pane_id}\t#{client_control_mode}"
    result = server.cmd("list-clients", "-F", fmt)
    return [line.split("\t") for line in result.stdout] if result.returncode == 0 else []


def tty_of(pid: int) -> str | None:
    """The controlling terminal of a process according to ps(1) (an independent source)."""
    out = subprocess.run(
        ["ps", "-o", "tty=", "-p", str(pid)], capture_output=True, text=True, check=True
    ).stdout.strip()
    return None if out in ("", "?") else f"/dev/{out}"


def send_line(server: Server, pane_id: str, text: str) -> None:
    tmux(server, "send-keys", "-t", pane_id, "-l", text)
    tmux(server, "send-keys", "-t", pane_id, "Enter")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill a process we started (SIGKILL: `script` lingers ~2 s on SIGTERM) and reap it.

    A killed `script` closes its pty, so the tmux client under it gets SIGHUP and exits.
    """
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@pytest.fixture
def attach(
    server: Server, procs: list[subprocess.Popen[bytes]]
) -> Callable[[list[str]], tuple[subprocess.Popen[bytes], str]]:
    """Start a real tmux client (under `script`, which gives it a pty) from an argv.

    Returns the `script` process and the new client's tty.
    """
    if SCRIPT is None:
        pytest.skip("util-linux `script` is not installed")

    def start(argv: list[str]) -> tuple[subprocess.Popen[bytes], str]:
        before = {c[0] for c in clients(server)}
        env = child_env()
        env["TERM"] = "xterm"
        proc = subprocess.Popen(
            [SCRIPT, "-qfec", shlex.join(argv), "/dev/null"],
            stdin=subprocess.PIPE,  # kept open: EOF would reach the pane's shell as ^D
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        procs.append(proc)
        wait_until(lambda: {c[0] for c in clients(server)} - before)
        (tty,) = {c[0] for c in clients(server)} - before
        return proc, tty

    return start


def attach_argv(backend: TmuxBackend, target: str) -> list[str]:
    return [TMUX, "-S", backend.socket_path, "attach-session", "-t", target]


@pytest.fixture
def pids_to_kill() -> Iterator[list[int]]:
    """PIDs of processes started indirectly (e.g. orphans); killed at teardown."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()


# --------------------------------------------------------------------------- list_panes


def test_list_panes_returns_every_pane_with_true_fields(
    server: Server, backend: TmuxBackend
) -> None:
    s1 = new_session(server, "s1")
    s2 = new_session(server, "s2", "sleep 300")
    second = new_window(server, s2, "sleep 301")
    split_args = ["split-window", "-d", "-P", "-F", "#{pane_id}", "-t", second, "sleep 302"]
    split = tmux(server, *split_args)[0]
    # Until exec, a pane's command is still the shell running `sleep …`.
    wait_until(
        lambda: (
            tmux(server, "list-panes", "-a", "-F", "#{pane_current_command}").count("sleep") == 3
        )
    )

    panes = backend.list_panes()

    assert {p.pane_id for p in panes} == set(tmux(server, "list-panes", "-a", "-F", "#{pane_id}"))
    assert len(panes) == 4
    assert {p.session_id for p in panes} == {s1, s2}
    fmt = "\t".join(
        "#{" + f + "}"
        for f in (
            "pane_pid",
            "pane_tty",
            "session_id",
            "session_name",
            "window_index",
            "window_id",
            "pane_index",
            "pane_current_command",
            "session_attached",
        )
    )
    for p in panes:
        assert p.pane_id.startswith("%")
        assert p.session_id.startswith("$")
        assert p.window_id.startswith("@")
        assert os.path.exists(p.pane_tty)  # noqa: PTH110
        # The pane's first process really has this PID and runs on this tty.
        assert tty_of(p.pane_pid) == p.pane_tty
        assert p.session_kind is None
        assert p.session_attached == 0
        expected = tmux(server, "display-message", "-p", "-t", p.pane_id, fmt)[0].split("\t")
        assert [
            str(p.pane_pid),
            p.pane_tty,
            p.session_id,
            p.session_name,
            p.window_index,
            p.window_id,
            p.pane_index,
            p.current_command,
            str(p.session_attached),
        ] == expected
    by_id = {p.pane_id: p for p in panes}
    assert by_id[split].window_id == by_id[second].window_id
    assert by_id[split].pane_index != by_id[second].pane_index
    for pane_id in (second, split):
        assert psutil.Process(by_id[pane_id].pane_pid).name() == "sleep"
        assert by_id[pane_id].session_name == "s2"


def test_list_panes_untrusted_text_cannot_shift_fields(
    server: Server, backend: TmuxBackend
) -> None:
    names = ["with space", "tab\there", "[bold]x[/bold]", "eq=al", "-dash"]
    ids = {name: new_session(server, name) for name in names}
    semi = new_session(server, "tmp")
    backend.rename_session(semi, "semi;")  # a trailing ';' is a tmux command separator
    tmux(server, "set-option", "-t", ids["eq=al"], "@sessiontui-kind", "bg")
    tmux(server, "set-option", "-t", ids["with space"], "@sessiontui-kind", "a\tb\nc")
    # argv[0] of a pane's process is pane_current_command: raw tabs and newlines.
    evil = new_window(
        server,
        ids["[bold]x[/bold]"],
        shlex.join(["bash", "-c", 'exec -a "$(printf "evil\\tcmd\\nline")" sleep 300']),
    )
    wait_until(
        lambda: "evil" in tmux(server, "display", "-p", "-t", evil, "#{pane_current_command}")[0]
    )

    panes = backend.list_panes()

    assert len(panes) == len(names) + 2
    by_session = {p.session_id: p for p in panes if p.pane_id != evil}
    for sid in ids.values():
        reported = tmux(server, "display-message", "-p", "-t", sid, "#{session_name}")[0]
        assert by_session[sid].session_name == reported
    assert by_session[ids["with space"]].session_name == "with space"
    assert by_session[ids["[bold]x[/bold]"]].session_name == "[bold]x[/bold]"
    assert by_session[ids["eq=al"]].session_name == "eq=al"
    assert by_session[ids["-dash"]].session_name == "-dash"
    assert by_session[semi].session_name == "semi;"
    # tmux 3.3a stores a tab in a session name as the two characters "\t".
    assert by_session[ids["tab\there"]].session_name in ("tab\\there", "tab\there")
    assert by_session[ids["eq=al"]].session_kind == "bg"
    assert by_session[ids["with space"]].session_kind == "a\tb\nc"
    assert by_session[ids["-dash"]].session_kind is None
    (evil_pane,) = [p for p in panes if p.pane_id == evil]
    assert evil_pane.current_command == "evil\tcmd\nline"
    assert evil_pane.session_name == "[bold]x[/bold]"
    assert evil_pane.session_id == ids["[bold]x[/bold]"]
    assert tty_of(evil_pane.pane_pid) == evil_pane.pane_tty


def test_server_choice_from_tmux_env_and_socket_path(server: Server, backend: TmuxBackend) -> None:
    sid = new_session(server, "s1")
    pane = first_pane(server, sid)
    socket = tmux(server, "display-message", "-p", "-t", pane, "#{socket_path}")[0]
    server_pid = int(tmux(server, "display-message", "-p", "#{pid}")[0])

    assert backend.socket_path == socket
    assert parse_tmux_env(f"{socket},{server_pid},0") == (socket, server_pid)
    assert parse_tmux_env("/a,b/c,12,3") == ("/a,b/c", 12)
    assert parse_tmux_env("nonsense") is None
    assert parse_tmux_env("") is None
    inside = TmuxBackend(environ={"TMUX": f"{socket},{server_pid},0", "TMUX_PANE": pane})
    by_path = TmuxBackend(socket_path=socket, environ={})
    for other in (inside, by_path):
        assert [p.pane_id for p in other.list_panes()] == [pane]
        assert other.socket_path == socket


def test_unavailable_when_never_started(server: Server) -> None:
    absent = TmuxBackend(socket_name=f"sessiontui-absent-{uuid.uuid4().hex}", environ={})

    with pytest.raises(MuxUnavailable):
        absent.list_panes()
    with pytest.raises(MuxUnavailable):
        absent.kill_session("$0")
    assert absent.has_session("anything") is False
    assert absent.own_client() is None
    # No server: the path tmux would use, from TMUX_TMPDIR / uid / label.
    assert absent.socket_path.endswith(f"/tmux-{os.getuid()}/{absent.libtmux_server.socket_name}")


def test_unavailable_after_server_killed(server: Server, backend: TmuxBackend) -> None:
    sid = new_session(server, "s1")
    assert len(backend.list_panes()) == 1

    server.kill()

    with pytest.raises(MuxUnavailable):
        backend.list_panes()
    with pytest.raises(MuxUnavailable):
        backend.rename_session(sid, "x")
    with pytest.raises(MuxUnavailable):
        backend.detach_session(sid)
    assert backend.has_session("s1") is False


def test_hung_server_times_out(server: Server) -> None:
    new_session(server, "s1")
    server_pid = int(tmux(server, "display-message", "-p", "#{pid}")[0])
    backend = TmuxBackend(socket_name=server.socket_name, environ={}, timeout_s=0.3)
    os.kill(server_pid, signal.SIGSTOP)
    try:
        with pytest.raises(MuxUnavailable, match="did not answer"):
            backend.list_panes()
    finally:
        os.kill(server_pid, signal.SIGCONT)
    assert len(backend.list_panes()) == 1


# --------------------------------------------------------------------------- locate


def test_locate_pane_process_and_grandchild(server: Server, backend: TmuxBackend) -> None:
    s1 = new_session(server, "s1", "sleep 300")
    s2 = new_session(server, "s2", "bash -c 'sleep 302 & wait'")
    new_session(server, "s3")
    panes = backend.list_panes()
    pane1 = next(p for p in panes if p.session_id == s1)
    pane2 = next(p for p in panes if p.session_id == s2)
    bash = psutil.Process(pane2.pane_pid)
    # The child is a forked bash until it has exec'd sleep.
    wait_until(lambda: [c.name() for c in bash.children()] == ["sleep"])
    (grandchild,) = bash.children()

    assert backend.locate(pane1.pane_pid, panes) == pane1
    assert backend.locate(grandchild.pid, panes) == pane2
    # Cached facts still need the pane to be among the given panes.
    assert backend.locate(grandchild.pid, [p for p in panes if p != pane2]) is None
    assert backend.locate(grandchild.pid, panes) == pane2


def test_locate_by_environment_only_for_this_server(
    server: Server, backend: TmuxBackend, procs: list[subprocess.Popen[bytes]]
) -> None:
    sid = new_session(server, "s1")
    new_session(server, "s2")
    panes = backend.list_panes()
    target = next(p for p in panes if p.session_id == sid)
    socket = backend.socket_path
    server_pid = int(tmux(server, "display-message", "-p", "#{pid}")[0])

    def spawn(tmux_value: str) -> int:
        proc = subprocess.Popen(
            ["sleep", "300"],
            env={"PATH": os.environ["PATH"], "TMUX": tmux_value, "TMUX_PANE": target.pane_id},
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # no controlling terminal, not a pane's descendant
        )
        procs.append(proc)
        assert tty_of(proc.pid) is None
        return proc.pid

    genuine = spawn(f"{socket},{server_pid},0")
    other_socket = spawn(f"/tmp/not-this-server-{uuid.uuid4().hex},{server_pid},0")
    other_server = spawn(f"{socket},{server_pid + 100000},0")  # a restarted server's panes

    assert backend.locate(genuine, panes) == target
    assert backend.locate(other_socket, panes) is None
    assert backend.locate(other_server, panes) is None
    assert backend.locate(genuine, [p for p in panes if p != target]) is None
    ended = subprocess.Popen(["true"])
    ended.wait()
    assert backend.locate(ended.pid, panes) is None


def test_locate_by_controlling_terminal(
    server: Server, backend: TmuxBackend, tmp_path: Path, pids_to_kill: list[int]
) -> None:
    sid = new_session(server, "s1")
    new_session(server, "s2")
    pane_id = first_pane(server, sid)
    script = tmp_path / "orphan.py"
    script.write_text(
        "import os, sys, time\n"
        "if os.fork():\n"
        "    os._exit(0)\n"
        "open(sys.argv[1] + '.tmp', 'w').write(str(os.getpid()))\n"
        "os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
        "time.sleep(300)\n",
        encoding="utf-8",
    )
    pid_file = tmp_path / "orphan.pid"
    # env -i: no TMUX/TMUX_PANE; the fork orphans it, so no pane_pid among its ancestors.
    send_line(
        server, pane_id, shlex.join(["env", "-i", sys.executable, str(script), str(pid_file)])
    )
    wait_until(pid_file.exists)
    orphan = int(pid_file.read_text(encoding="utf-8"))
    pids_to_kill.append(orphan)
    panes = backend.list_panes()
    target = next(p for p in panes if p.pane_id == pane_id)
    proc = psutil.Process(orphan)
    pane_pids = {p.pane_pid for p in panes}
    wait_until(lambda: not {p.pid for p in proc.parents()} & pane_pids)  # its parent exited
    assert "TMUX" not in proc.environ()
    assert tty_of(orphan) == target.pane_tty

    assert backend.locate(orphan, panes) == target


# --------------------------------------------------------------------------- clients


@needs_script
def test_switch_client_and_own_client(
    server: Server,
    backend: TmuxBackend,
    attach: Callable[[list[str]], tuple[subprocess.Popen[bytes], str]],
    procs: list[subprocess.Popen[bytes]],
) -> None:
    s1 = new_session(server, "s1")
    s2 = new_session(server, "s2")
    s1_pane = first_pane(server, s1)
    s2_pane = first_pane(server, s2)
    window_pane = new_window(server, s2)
    target = tmux(server, "split-window", "-d", "-P", "-F", "#{pane_id}", "-t", window_pane)[0]
    _, tty = attach(attach_argv(backend, "=s1"))
    socket = backend.socket_path
    server_pid = tmux(server, "display-message", "-p", "#{pid}")[0]

    def own(pane: str, socket_path: str | None = socket) -> str | None:
        env = {"TMUX": f"{socket_path},{server_pid},0", "TMUX_PANE": pane}
        return TmuxBackend(socket_name=server.socket_name, environ=env).own_client()

    assert own(s1_pane) == tty
    assert own(s2_pane) is None  # nobody shows s2
    assert own(s1_pane, socket_path="/tmp/another-server") is None
    assert TmuxBackend(socket_name=server.socket_name, environ={}).own_client() is None

    backend.switch_client(tty, target)

    assert clients(server) == [[tty, "s2", target, "0"]]
    assert own(s2_pane) == tty
    assert own(s1_pane) is None
    # A control-mode client on s1 is never "our" client.
    control = subprocess.Popen(
        [TMUX, "-S", str(socket), "-C", "attach-session", "-t", "=s1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=child_env(),
    )
    procs.append(control)
    wait_until(lambda: any(c[3] == "1" for c in clients(server)))
    assert own(s1_pane) is None
    with pytest.raises(ValueError, match="exact tmux pane"):
        backend.switch_client(tty, "s2")
    with pytest.raises(MuxError):
        backend.switch_client("/dev/pts/nonexistent", target)


@needs_script
def test_attach_argv_lands_on_the_pane(
    server: Server,
    backend: TmuxBackend,
    attach: Callable[[list[str]], tuple[subprocess.Popen[bytes], str]],
) -> None:
    sid = new_session(server, "s1")
    window_pane = new_window(server, sid)
    target = tmux(server, "split-window", "-d", "-P", "-F", "#{pane_id}", "-t", window_pane)[0]
    backend.list_panes()

    argv = backend.attach_argv(target)

    assert argv[-2:] == ["-t", target]
    _, tty = attach(argv)
    assert clients(server) == [[tty, "s1", target, "0"]]
    env = child_env({"TMUX": "/elsewhere,1,0", "TMUX_PANE": "%9", "TERM": "xterm"})
    assert env == {"TERM": "xterm"}


# --------------------------------------------------------------------------- session actions


@needs_script
def test_detach_session_detaches_only_that_sessions_clients(
    server: Server,
    backend: TmuxBackend,
    attach: Callable[[list[str]], tuple[subprocess.Popen[bytes], str]],
) -> None:
    s1 = new_session(server, "s1")
    new_session(server, "s2")
    client1, _ = attach(attach_argv(backend, "=s1"))
    client2, tty2 = attach(attach_argv(backend, "=s2"))

    assert backend.detach_session(s1) == 1

    wait_until(lambda: client1.poll() is not None)
    assert client1.returncode == 0
    assert backend.has_session("s1")
    assert [c[:2] for c in clients(server)] == [[tty2, "s2"]]
    assert client2.poll() is None
    assert backend.detach_session(s1) == 0
    assert backend.detach_session("=s2") == 1
    wait_until(lambda: client2.poll() is not None)
    assert backend.detach_session(s1) == 0  # no client left on the whole server
    with pytest.raises(MuxError, match="can't find session"):
        backend.detach_session("$999")


def test_rename_session_and_name_taken(server: Server, backend: TmuxBackend) -> None:
    a = new_session(server, "a")
    new_session(server, "b")

    backend.rename_session(a, "renamed one")
    assert backend.has_session("renamed one")
    assert not backend.has_session("a")

    with pytest.raises(NameTaken):
        backend.rename_session(a, "b")
    assert sorted(tmux(server, "list-sessions", "-F", "#{session_name}")) == ["b", "renamed one"]

    with pytest.raises(MuxError, match="can't find session"):
        backend.rename_session("$999", "c")
    with pytest.raises(ValueError, match="exact tmux session"):
        backend.rename_session("b", "c")


def test_exact_targets_never_prefix_match(server: Server, backend: TmuxBackend) -> None:
    alpha = new_session(server, "alpha")
    new_session(server, "al")

    assert backend.has_session("al")
    assert not backend.has_session("alp")
    assert not backend.has_session("alpha:0")  # "=alpha:0" would name alpha's window 0
    assert not backend.has_session("alpha.0")
    new_session(server, "d.e")  # tmux stores it as "d_e"
    assert backend.has_session("d.e")
    assert backend.has_session("d_e")
    backend.kill_session("=d_e")
    with pytest.raises(ValueError, match="exact tmux session"):
        backend.kill_session("=alpha:0")

    backend.rename_session("=al", "al2")
    assert sorted(tmux(server, "list-sessions", "-F", "#{session_name}")) == ["al2", "alpha"]
    backend.rename_session("=al2", "al")

    backend.kill_session("=al")
    assert not backend.has_session("al")
    assert backend.has_session("alpha")
    # A bare "-t al" would now prefix-match alpha; the exact target fails instead.
    with pytest.raises(MuxError, match="can't find session"):
        backend.kill_session("=al")
    with pytest.raises(MuxError):
        backend.rename_session("=al", "x")
    with pytest.raises(MuxError):
        backend.detach_session("=al")
    assert tmux(server, "list-sessions", "-F", "#{session_id} #{session_name}") == [
        f"{alpha} alpha"
    ]


def test_kill_session_ends_its_processes(server: Server, backend: TmuxBackend) -> None:
    sid = new_session(server, "doomed", "sleep 300")
    keep = new_session(server, "kept")
    doomed = next(p for p in backend.list_panes() if p.session_id == sid)
    sleeper = psutil.Process(doomed.pane_pid)

    backend.kill_session(sid)

    assert not backend.has_session("doomed")
    assert [p.session_id for p in backend.list_panes()] == [keep]
    wait_until(lambda: not sleeper.is_running())


def test_capture_pane_plain_text(server: Server, backend: TmuxBackend) -> None:
    pane = first_pane(server, new_session(server, "s1"))
    send_line(server, pane, r"printf '\033[31mred\033[0m-text\n'; seq 101 150")

    # Wait for the output line "150" (the echoed command line also contains "150").
    wait_until(lambda: "150" in backend.capture_pane(pane, lines=100).splitlines())
    text = backend.capture_pane(pane, lines=5)

    assert "\x1b" not in backend.capture_pane(pane, lines=100)
    assert "red-text" in backend.capture_pane(pane, lines=100)
    assert len(text.splitlines()) == 5
    assert "150" in text.splitlines()
    assert "140" not in text.splitlines()
    assert backend.capture_pane(pane, lines=0) == ""
    with pytest.raises(MuxError, match="can't find pane"):
        backend.capture_pane("%999")


@needs_script
def test_detach_session_spares_control_clients_and_the_kept_client(
    server: Server,
    backend: TmuxBackend,
    attach: Callable[[list[str]], tuple[subprocess.Popen[bytes], str]],
    procs: list[subprocess.Popen[bytes]],
) -> None:
    s1 = new_session(server, "s1")
    mine, my_tty = attach(attach_argv(backend, "=s1"))
    other, other_tty = attach(attach_argv(backend, "=s1"))
    control = subprocess.Popen(
        [TMUX, "-S", backend.socket_path, "-C", "attach-session", "-t", "=s1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    procs.append(control)
    wait_until(lambda: len(clients(server)) == 3)

    assert sorted(backend.session_clients(s1)) == sorted([my_tty, other_tty])
    assert backend.client_session(my_tty) == s1
    assert backend.client_session("/dev/pts/nonexistent") is None

    assert backend.detach_session(s1, keep_client=my_tty) == 1
    wait_until(lambda: other.poll() is not None)
    assert mine.poll() is None
    assert sorted(c[3] for c in clients(server)) == ["0", "1"]  # ours and the control client

    assert backend.detach_session(s1) == 1
    wait_until(lambda: mine.poll() is not None)
    assert control.poll() is None
    assert [c[3] for c in clients(server)] == ["1"]
    assert backend.detach_session(s1) == 0


@needs_script
def test_switch_client_back_returns_to_the_last_session(
    server: Server,
    backend: TmuxBackend,
    attach: Callable[[list[str]], tuple[subprocess.Popen[bytes], str]],
) -> None:
    work = new_session(server, "work")
    monitor = new_session(server, "monitor")
    _, tty = attach(attach_argv(backend, "=work"))
    backend.switch_client(tty, first_pane(server, monitor))
    wait_until(lambda: backend.client_session(tty) == monitor)

    assert backend.switch_client_back(tty, leaving=monitor) == work
    assert backend.client_session(tty) == work

    # No last session (a fresh client on the monitor): the most recent other session.
    lone = new_session(server, "lone")
    _, tty2 = attach(attach_argv(backend, "=monitor"))
    assert backend.switch_client_back(tty2, leaving=monitor) in (work, lone)
    assert backend.client_session(tty2) != monitor
