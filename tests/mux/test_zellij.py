"""ZellijServer against the real Zellij (isolated per test), plus parsers and failure modes.

The real binary is found as the backend finds it (``$SESSIONTUI_ZELLIJ_BIN``, ``PATH``,
``~/.cache/sessiontui-ci/zellij/bin/zellij``, looked up with the developer's real HOME before
the autouse fixture replaces it); tests that need it skip with the reason when it is absent.
Parser tests read output captured from Zellij 0.45.0 (``tests/mux/fixtures/zellij/``). The
fake ``tests/fakes/zellij`` stands in only for a missing, hanging, crashing, garbage-printing
or too-old binary.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest
from tests.helpers import wait_until

from sessiontui.errors import InvalidName, MuxError, MuxUnavailable, NameTaken, NotApplicable
from sessiontui.mux.zellij import (
    ZellijChangeTrigger,
    ZellijServer,
    ZellijTooOld,
    cache_dir,
    discover,
    find_zellij,
    parse_list_clients,
    parse_list_panes,
    parse_list_sessions,
    parse_version,
    probe_socket,
    socket_dir,
    strip_escapes,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

FIXTURES = Path(__file__).parent / "fixtures" / "zellij"
FAKE = Path(__file__).parent.parent / "fakes" / "zellij"
ZELLIJ = find_zellij()

needs_zellij = pytest.mark.skipif(
    ZELLIJ is None,
    reason="the real zellij is not installed (set SESSIONTUI_ZELLIJ_BIN, put it on PATH, or "
    "build it into ~/.cache/sessiontui-ci/zellij as .ci/run does)",
)

#: A minimal configuration: no setup wizard, tips or release notes; metadata and
#: resurrection data on (what the discovery reads).
CONFIG = """\
show_startup_tips false
show_release_notes false
session_serialization true
disable_session_metadata false
default_shell "/bin/sh"
serialization_interval 1
"""


# ---------------------------------------------------------------------------------- fixtures


class ZellijEnv:
    """One test's isolated Zellij world: its own sockets, cache, config, HOME and TMPDIR."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sockets = root / "s"
        home = root / "h"
        for sub in ("s", "h", "c", "cfg/zellij", "d", "t"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "cfg" / "zellij" / "config.kdl").write_text(CONFIG)
        self.environ: dict[str, str] = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ZELLIJ", "XDG_", "TMUX")) and k != "SESSIONTUI_ZELLIJ_BIN"
        }
        self.environ.update(
            HOME=str(home),
            ZELLIJ_SOCKET_DIR=str(self.sockets),
            ZELLIJ_CONFIG_DIR=str(root / "cfg" / "zellij"),
            XDG_CONFIG_HOME=str(root / "cfg"),
            XDG_CACHE_HOME=str(root / "c"),
            XDG_DATA_HOME=str(root / "d"),
            TMPDIR=str(root / "t"),
            SHELL="/bin/sh",
        )

    def server(self, **kwargs: float) -> ZellijServer:
        assert ZELLIJ is not None
        return ZellijServer(binary=ZELLIJ, environ=self.environ, **kwargs)

    def zellij(self, *args: str, timeout_s: float = 15.0) -> subprocess.CompletedProcess[str]:
        """Run the real zellij in this world (not through the backend)."""
        assert ZELLIJ is not None
        return subprocess.run(
            [ZELLIJ, *args],
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def start(self, name: str) -> None:
        """Start a headless session (``attach --create-background``) and wait for its socket."""
        result = self.zellij("attach", "--create-background", name)
        assert result.returncode == 0, result.stderr
        # Never connect to a starting server (see STARTING_S): wait for its metadata.
        metadata = self.root / "c" / "zellij" / "contract_version_1" / "session_info" / name
        wait_until((metadata / "session-metadata.kdl").exists, 10, f"{name} metadata")

    def server_pids(self) -> list[int]:
        """PIDs of every ``zellij --server`` process of this world."""
        prefix = str(self.sockets)
        pids = []
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info["cmdline"] or []
            if "--server" in cmdline and any(arg.startswith(prefix) for arg in cmdline):
                pids.append(proc.pid)
        return pids

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self.zellij("kill-all-sessions", "--yes", timeout_s=10)
        for pid in self.server_pids():
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                for child in proc.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        child.kill()
                proc.kill()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def zenv() -> Iterator[ZellijEnv]:
    """An isolated Zellij world under a short /tmp path (socket paths must fit 108 bytes)."""
    if ZELLIJ is None:
        pytest.skip("the real zellij is not installed")
    world = ZellijEnv(Path(tempfile.mkdtemp(prefix="zj", dir="/tmp")))
    yield world
    world.cleanup()


def fake_server(tmp_path: Path, mode: str, **kwargs: float) -> tuple[ZellijServer, Path]:
    """A backend on the fake binary in ``mode``; returns it and the fake's call log."""
    log = tmp_path / "calls.log"
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "ZELLIJ_SOCKET_DIR": str(tmp_path / "s"),
        "XDG_CACHE_HOME": str(tmp_path / "c"),
        "FAKE_ZELLIJ_MODE": mode,
        "FAKE_ZELLIJ_LOG": str(log),
    }
    return ZellijServer(binary=str(FAKE), environ=environ, **kwargs), log


def listening_socket(path: Path, session_info: Path | None = None) -> socket.socket:
    """A Unix socket listening on ``path`` (stands for a live server in discovery tests).

    With ``session_info`` (the cache's ``session_info`` directory) the session also gets a
    metadata file, as a started session has: only then is its socket probed (a younger
    one without metadata is looked up among the processes, see ``STARTING_S``).
    """
    if session_info is not None:
        (session_info / path.name).mkdir(parents=True, exist_ok=True)
        (session_info / path.name / "session-metadata.kdl").write_text('name "x"\n')
    path.parent.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(8)
    return sock


# ---------------------------------------------------------------------------------- paths


def test_socket_dir_precedence() -> None:
    env = {"ZELLIJ_SOCKET_DIR": "/x/z", "XDG_RUNTIME_DIR": "/run/user/7", "TMPDIR": "/tt"}
    assert socket_dir(env) == Path("/x/z/contract_version_1")
    del env["ZELLIJ_SOCKET_DIR"]
    assert socket_dir(env) == Path("/run/user/7/zellij/contract_version_1")
    env["XDG_RUNTIME_DIR"] = "relative/ignored"
    assert socket_dir(env) == Path(f"/tt/zellij-{os.getuid()}/contract_version_1")
    assert socket_dir({}) == Path(f"/tmp/zellij-{os.getuid()}/contract_version_1")
    assert socket_dir({}, version=(0, 43, 1)) == Path(f"/tmp/zellij-{os.getuid()}/0.43.1")
    assert socket_dir({}, version=(0, 45, 0)).name == "contract_version_1"


def test_cache_dir() -> None:
    assert cache_dir({"XDG_CACHE_HOME": "/c", "HOME": "/h"}) == Path(
        "/c/zellij/contract_version_1/session_info"
    )
    assert cache_dir({"HOME": "/h"}) == Path("/h/.cache/zellij/contract_version_1/session_info")
    assert cache_dir({"HOME": "/h"}, version=(0, 42, 0)) == Path(
        "/h/.cache/zellij/0.42.0/session_info"
    )


def test_find_zellij_prefers_the_explicit_binary(tmp_path: Path) -> None:
    assert find_zellij({"SESSIONTUI_ZELLIJ_BIN": str(FAKE)}) == str(FAKE)
    assert find_zellij({"SESSIONTUI_ZELLIJ_BIN": str(tmp_path / "nope")}) is None
    assert find_zellij({"PATH": str(tmp_path), "HOME": str(tmp_path)}) is None


# ---------------------------------------------------------------------------------- sockets


def test_probe_tells_a_listening_socket_from_a_lingering_one(tmp_path: Path) -> None:
    live = listening_socket(tmp_path / "live")
    dead = listening_socket(tmp_path / "dead")
    dead.close()  # the file stays, as after a SIGKILL: connect() is refused
    try:
        assert probe_socket(tmp_path / "live") == os.getpid()
        assert probe_socket(tmp_path / "dead") is None
        assert probe_socket(tmp_path / "missing") is None
        (tmp_path / "file").write_text("x")
        assert probe_socket(tmp_path / "file") is None
    finally:
        live.close()
    assert (tmp_path / "dead").exists(), "probing never removes a file"


def test_discover_live_exited_and_stale(tmp_path: Path) -> None:
    sockets, info = tmp_path / "s", tmp_path / "c"
    live = listening_socket(sockets / "alive", info)
    starting = listening_socket(sockets / "starting")  # no metadata, no `--server` process
    bus = listening_socket(sockets / "web_server_bus")
    listening_socket(sockets / "killed").close()
    for name, layout in (("killed", True), ("old", True), ("empty", False), ("alive", True)):
        (info / name).mkdir(parents=True, exist_ok=True)
        if layout:
            (info / name / "session-layout.kdl").write_text("layout {}")
    (sockets / "plain-file").write_text("")
    try:
        found = discover(sockets, info)
    finally:
        live.close()
        starting.close()
        bus.close()
    assert list(found.live) == ["alive"]
    assert found.live["alive"].server_pid == os.getpid()
    assert sorted(found.exited) == ["killed", "old"]
    assert found.stale_sockets == ("killed", "starting")
    assert discover(tmp_path / "none", tmp_path / "none2").live == {}


# ---------------------------------------------------------------------------------- fakes


def test_missing_binary_is_unavailable(tmp_path: Path) -> None:
    server = ZellijServer(binary=str(tmp_path / "no-zellij"), environ={"HOME": str(tmp_path)})
    with pytest.raises(MuxUnavailable, match="cannot run zellij"):
        server.version()
    bare = ZellijServer(environ={"PATH": str(tmp_path), "HOME": str(tmp_path)})
    with pytest.raises(MuxUnavailable, match="not installed"):
        bare.list_sessions()
    # Discovery needs no binary: nothing is running, so nothing is listed.
    assert bare.discover().live == {}


def test_garbage_is_unavailable_never_empty(tmp_path: Path) -> None:
    server, _ = fake_server(tmp_path, "garbage")
    with pytest.raises(MuxUnavailable, match="version"):
        server.version()
    with pytest.raises(MuxUnavailable, match="garbage"):
        server.list_sessions()

    server, _ = fake_server(tmp_path, "garbage-after-version")
    live = listening_socket(server.socket_dir / "s1", server.cache_dir)
    try:
        with pytest.raises(MuxUnavailable, match="list-panes printed garbage"):
            server.list_panes()
        with pytest.raises(MuxUnavailable, match="list-clients printed garbage"):
            server.list_clients("s1")
    finally:
        live.close()


def test_hanging_binary_times_out_and_is_killed(tmp_path: Path) -> None:
    server, log = fake_server(tmp_path, "hang", timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(MuxUnavailable, match=r"did not answer within 0\.5 s"):
        server.list_sessions()
    assert time.monotonic() - started < 3
    pid = int(Path(f"{log}.pid").read_text())
    wait_until(lambda: not psutil.pid_exists(pid), 5, "the hanging zellij to be killed")


def test_crashing_binary_is_unavailable(tmp_path: Path) -> None:
    server, _ = fake_server(tmp_path, "crash")
    with pytest.raises(MuxUnavailable, match="signal"):
        server.version()


def test_old_zellij_degrades_with_a_clear_message(tmp_path: Path) -> None:
    server, log = fake_server(tmp_path, "old")
    assert server.version() == (0, 43, 1)
    assert server.socket_dir == tmp_path / "s" / "0.43.1"
    live = listening_socket(server.socket_dir / "legacy", server.cache_dir)
    try:
        assert list(server.discover().live) == ["legacy"]
        with pytest.raises(ZellijTooOld, match=r"Zellij 0\.43\.1 cannot list panes .*0\.44"):
            server.list_panes()
        with pytest.raises(ZellijTooOld):
            server.panes("legacy")
        # A fresh backend finds the version-named directory by itself.
        fresh, _ = fake_server(tmp_path, "old")
        assert list(fresh.discover().live) == ["legacy"]
    finally:
        live.close()
    assert "list-panes" not in log.read_text()


# ---------------------------------------------------------------------------------- parsers


def test_parse_version() -> None:
    assert parse_version("zellij 0.45.0\n") == (0, 45, 0)
    assert parse_version((FIXTURES / "version.txt").read_text()) == (0, 45, 0)
    for bad in ("", "tmux 3.3a", "zellij x.y"):
        with pytest.raises(ValueError, match="version"):
            parse_version(bad)


def test_strip_escapes() -> None:
    assert strip_escapes("a\x1b[1;31mb\x1b[0m\x1b]8;;http://x\x1b\\c\r\n\td\x07") == "abc\n\td"


def test_parse_list_sessions() -> None:
    text = (FIXTURES / "list-sessions.txt").read_text()
    sessions = parse_list_sessions(text)
    assert [s.name for s in sessions] == ["old one", "alpha", "beta"]
    assert [s.exited for s in sessions] == [True, False, False]
    assert all(not s.current for s in sessions)
    current = parse_list_sessions("me [Created 2s ago] (current)\n")
    assert current[0].current
    assert current[0].age == "2s"
    assert parse_list_sessions("") == []
    for bad in ("garbage\n", "x [Created 1s ago] (weird)\n"):
        with pytest.raises(ValueError, match="list-sessions"):
            parse_list_sessions(bad)


def test_parse_list_panes() -> None:
    panes = parse_list_panes((FIXTURES / "list-panes.json").read_text())
    terminals = [p for p in panes if not p.is_plugin]
    assert [p.pane_id for p in terminals] == ["terminal_0", "terminal_1"]
    assert {p.tab_name for p in terminals} == {"Tab #1"}
    assert all(p.tab_position == 0 for p in terminals)
    assert any(p.is_plugin and p.pane_id.startswith("plugin_") for p in panes)
    assert parse_list_panes("[]") == []
    for bad in ("", "{}", "[1]", '[{"id": "x"}]', "[" * 100_000):
        with pytest.raises(ValueError, match="list-panes"):
            parse_list_panes(bad)


def test_parse_list_clients() -> None:
    clients = parse_list_clients((FIXTURES / "list-clients.txt").read_text())
    assert len(clients) == 1
    assert clients[0].client_id >= 1
    assert clients[0].pane_id == "terminal_0"
    assert parse_list_clients("CLIENT_ID ZELLIJ_PANE_ID RUNNING_COMMAND\n") == []
    assert parse_list_clients("") == []
    multiline = parse_list_clients(
        "CLIENT_ID ZELLIJ_PANE_ID RUNNING_COMMAND\n"
        "1         terminal_0     python -c import os\n"
        "print(1)\n"
        "2         N/A            N/A            \n"
    )
    assert [(c.client_id, c.pane_id) for c in multiline] == [(1, "terminal_0"), (2, None)]
    assert multiline[0].command == "python -c import os\nprint(1)"
    for bad in ("what\n", "CLIENT_ID ZELLIJ_PANE_ID RUNNING_COMMAND\nnot a row\n"):
        with pytest.raises(ValueError, match="list-clients"):
            parse_list_clients(bad)


def test_metadata_digest_ignores_pane_order_cursor_and_connections() -> None:
    """Only a real change of tabs or panes changes the digest (a change trigger's filter).

    The fixture was written by Zellij 0.45.0 (a session with a shell and a ``sleep`` pane).
    Zellij writes the pane blocks in no fixed order: with 10 idle sessions, most rewrites
    reordered them, and each asked for a poll.
    """
    from sessiontui.mux.zellij import _metadata_digest

    text = (FIXTURES / "session-metadata.kdl").read_text()
    base = _metadata_digest(text.encode())
    head, _, rest = text.partition("panes {\n")
    blocks = rest.split("    }\n")
    assert len(blocks) >= 6, "expected five pane blocks and a tail"
    panes, tail = [b + "    }\n" for b in blocks[:5]], "    }\n".join(blocks[5:])
    reordered = head + "panes {\n" + "".join(reversed(panes)) + tail
    assert reordered != text
    assert _metadata_digest(reordered.encode()) == base
    moved = re.sub(r"cursor_coordinates_in_pane \d+ \d+", "cursor_coordinates_in_pane 9 7", text)
    assert moved != text
    assert _metadata_digest(moved.encode()) == base
    later = text.replace("creation_time 1", "creation_time 99")
    assert _metadata_digest(later.encode()) == base
    retitled = text.replace('title "sleep 100"', 'title "claude"')
    assert _metadata_digest(retitled.encode()) != base
    one_less = head + "panes {\n" + "".join(panes[:4]) + tail
    assert _metadata_digest(one_less.encode()) != base
    assert _metadata_digest(text[: len(text) // 2].encode()) != base  # cut off: a change


def test_children_of_reads_the_kernel_lists() -> None:
    """A poll finds each server's pane processes without scanning every process."""
    from sessiontui.mux.zellij import _children_of

    child = subprocess.Popen(["sleep", "30"])
    try:
        found = _children_of({os.getpid(), 0, 2**22 + 7})  # ours, "unknown", no such PID
        assert child.pid in [p.pid for p in found.get(os.getpid(), [])]
        assert set(found) <= {os.getpid()}
    finally:
        child.kill()
        child.wait()


# ---------------------------------------------------------------------------------- real Zellij

AGENT = (
    "import os, sys, time, pathlib\n"
    "pathlib.Path(sys.argv[1]).write_text(str(os.getpid()))\n"
    "print('agent ready', flush=True)\n"
    "time.sleep(600)\n"
)


def run_agent(zenv: ZellijEnv, session: str, pid_file: Path) -> tuple[str, int]:
    """Run the fake agent in a new pane of ``session``; return its pane id and PID."""
    result = zenv.zellij("-s", session, "run", "--", sys.executable, "-c", AGENT, str(pid_file))
    assert result.returncode == 0, result.stderr
    pane = result.stdout.strip()
    pid = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), 15, "agent pid"))
    if not pane:  # `zellij run` printed no pane id (seen on a loaded machine): the pane's own
        pane = f"terminal_{psutil.Process(pid).environ()['ZELLIJ_PANE_ID']}"
    return pane, pid


def attach_client(zenv: ZellijEnv, session: str) -> subprocess.Popen[bytes]:
    """A real ``zellij attach`` on a pseudo-terminal (util-linux ``script``)."""
    script = shutil.which("script")
    if script is None:
        pytest.skip("util-linux `script` is not installed")
    assert ZELLIJ is not None
    env = dict(zenv.environ, TERM="xterm-256color", COLUMNS="120", LINES="40")
    return subprocess.Popen(
        [
            script,
            "-qfec",
            f"stty rows 40 cols 120; exec {shlex.quote(ZELLIJ)} attach {shlex.quote(session)}",
            "/dev/null",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    if proc.stdin is not None:
        proc.stdin.close()


@needs_zellij
def test_real_version_and_no_sessions(zenv: ZellijEnv) -> None:
    server = zenv.server()
    assert server.version() >= (0, 44, 0)
    # Nothing on stdout, "No active zellij sessions found." on stderr, exit 1: no sessions.
    assert server.list_sessions() == []
    assert server.list_panes() == []
    assert server.discover().live == {}


@needs_zellij
def test_real_discovery_live_then_killed(zenv: ZellijEnv) -> None:
    server = zenv.server()
    started = time.monotonic()
    result = zenv.zellij("attach", "--create-background", "alpha")
    assert result.returncode == 0, result.stderr
    listed = wait_until(lambda: server.discover().live.get("alpha"), 5, "alpha listed")
    socket_s = time.monotonic() - started
    metadata = server.cache_dir / "alpha" / "session-metadata.kdl"
    wait_until(metadata.exists, 10, "session-metadata.kdl")
    metadata_s = time.monotonic() - started
    print(f"zellij 0.45 socket answers after {socket_s:.3f} s, metadata after {metadata_s:.3f} s")
    assert listed.server_pid in zenv.server_pids()
    assert [s.name for s in server.list_sessions(max_age_s=0)] == ["alpha"]
    assert server.has_session("alpha")
    assert not server.has_session("alph")

    # Resurrection data, then SIGKILL: the socket file lingers but no longer answers.
    assert zenv.zellij("-s", "alpha", "action", "save-session").returncode == 0
    wait_until((server.cache_dir / "alpha" / "session-layout.kdl").exists, 10, "layout")
    os.kill(listed.server_pid, signal.SIGKILL)
    wait_until(lambda: not psutil.pid_exists(listed.server_pid), 10, "server gone")
    found = server.discover()
    assert (server.socket_dir / "alpha").exists()
    assert found.live == {}
    assert found.stale_sockets == ("alpha",)
    assert list(found.exited) == ["alpha"]
    assert server.list_panes() == []


@needs_zellij
def test_real_agent_is_mapped_to_its_pane_and_survives_a_rename(
    zenv: ZellijEnv, tmp_path: Path
) -> None:
    zenv.start("work")
    pane_id, pid = run_agent(zenv, "work", tmp_path / "agent.pid")
    server = zenv.server()
    panes = server.list_panes()
    located = server.locate(pid, panes)
    assert located is not None
    assert (located.session_name, located.pane_id) == ("work", pane_id)
    assert located.server == str(zenv.sockets / "contract_version_1")
    assert located.pane_pid == pid
    assert located.window_index == "0"
    detail = server.pane_detail("work", pane_id)
    assert detail is not None
    assert detail.tab_name == "Tab #1"
    assert "python" in detail.title
    assert server.locate(os.getpid(), panes) is None

    server.rename_session("work", "renamed")
    assert not server.is_live("work")
    panes = server.list_panes()
    assert {p.session_name for p in panes} == {"renamed"}
    located = server.locate(pid, panes)
    assert located is not None
    assert (located.session_name, located.pane_id) == ("renamed", pane_id)
    # The pane's own environment still names the old session (SPEC 2.5).
    assert psutil.Process(pid).environ()["ZELLIJ_SESSION_NAME"] == "work"
    # A fresh backend (no cache) maps it too.
    fresh = zenv.server()
    assert fresh.locate(pid, fresh.list_panes()) == located


@needs_zellij
def test_real_rename_refuses_taken_names_and_unknown_sessions(zenv: ZellijEnv) -> None:
    zenv.start("alpha")
    zenv.start("beta")
    server = zenv.server()
    beta_pid = server.discover().live["beta"].server_pid
    # Zellij 0.45.0 itself would rename over beta's socket (exit 0, no message).
    with pytest.raises(NameTaken, match="beta"):
        server.rename_session("alpha", "beta")
    found = server.discover()
    assert sorted(found.live) == ["alpha", "beta"]
    assert found.live["beta"].server_pid == beta_pid

    assert zenv.zellij("-s", "beta", "action", "save-session").returncode == 0
    wait_until((server.cache_dir / "beta" / "session-layout.kdl").exists, 10, "layout")
    server.kill_session("beta")
    assert list(server.discover().exited) == ["beta"]
    with pytest.raises(NameTaken):
        server.rename_session("alpha", "beta")  # resurrectable
    with pytest.raises(MuxError, match="no live Zellij session"):
        server.rename_session("nosuch", "x")
    for bad in ("", "a/b", "x\x1b[31m", "n" * 120):
        with pytest.raises(InvalidName):
            server.rename_session("alpha", bad)
    server.rename_session("alpha", "gamma")
    assert sorted(server.discover().live) == ["gamma"]


@needs_zellij
def test_real_kill_and_delete(zenv: ZellijEnv, tmp_path: Path) -> None:
    zenv.start("doomed")
    _, pid = run_agent(zenv, "doomed", tmp_path / "agent.pid")
    server = zenv.server()
    assert zenv.zellij("-s", "doomed", "action", "save-session").returncode == 0
    wait_until((server.cache_dir / "doomed" / "session-layout.kdl").exists, 10, "layout")
    server.kill_session("doomed")
    assert not server.is_live("doomed")
    wait_until(lambda: not psutil.pid_exists(pid), 10, "the agent to end with its session")
    assert list(server.discover().exited) == ["doomed"]
    with pytest.raises(MuxError, match="no live Zellij session"):
        server.kill_session("doomed")
    server.delete_session("doomed")
    assert server.discover().exited == {}
    assert not server.has_session("doomed")


@needs_zellij
def test_real_new_session_runs_the_command_alone(zenv: ZellijEnv, tmp_path: Path) -> None:
    server = zenv.server()
    pid_file = tmp_path / "agent.pid"
    workdir = tmp_path / "project dir"
    workdir.mkdir()
    env = {"CLAUDE_CODE_SESSION_KIND": "bg", "CLAUDE_CODE_SESSION_NAME": "job 1"}
    started = time.monotonic()
    assert (
        server.new_session(
            "job 1", command=[sys.executable, "-c", AGENT, str(pid_file)], cwd=str(workdir), env=env
        )
        == "job 1"
    )
    print(f"new_session took {time.monotonic() - started:.3f} s")
    pid = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), 15, "agent"))
    proc = psutil.Process(pid)
    assert proc.cwd() == str(workdir)
    assert {k: proc.environ().get(k) for k in env} == env

    def terminals() -> list[str]:
        return [p.pane_id for p in server.panes("job 1", fresh=True) if not p.is_plugin]

    assert len(terminals()) == 1
    located = server.locate(pid, server.list_panes())
    assert located is not None
    assert located.pane_id == terminals()[0]

    # No stray "Waiting to run" pane shows up when a real client attaches (Zellij #5088).
    client = attach_client(zenv, "job 1")
    try:
        wait_until(lambda: server.list_clients("job 1"), 10, "the client")
        time.sleep(1.0)
        assert len(terminals()) == 1
        children = psutil.Process(server.discover().live["job 1"].server_pid).children()
        assert [c.pid for c in children] == [pid]
    finally:
        stop(client)
    with pytest.raises(NameTaken):
        server.new_session("job 1", command=["true"])
    with pytest.raises(MuxError, match="not a directory"):
        server.new_session("other", command=["true"], cwd=str(tmp_path / "missing"))
    assert not server.has_session("other")


@needs_zellij
def test_real_capture_clients_and_detach(zenv: ZellijEnv, tmp_path: Path) -> None:
    zenv.start("view")
    pane_id, _ = run_agent(zenv, "view", tmp_path / "agent.pid")
    server = zenv.server()
    text = wait_until(
        lambda: (
            "agent ready" in server.capture_pane(pane_id, session="view")
            and server.capture_pane(pane_id, session="view")
        ),
        10,
        "agent output",
    )
    assert "\x1b" not in text
    assert server.capture_pane(pane_id, 0, session="view") == ""
    with pytest.raises(ValueError, match="session"):
        server.capture_pane(pane_id)
    assert server.list_clients("view") == []
    assert server.detach_session("view") == 0

    client = attach_client(zenv, "view")
    try:
        clients = wait_until(lambda: server.list_clients("view"), 10, "the client")
        assert len(clients) == 1
        # The count in WHERE comes from session-metadata.kdl, rewritten within ~1 s.
        wait_until(lambda: server.list_panes()[0].clients == 1, 5, "metadata client count")
        assert server.detach_session("view") == 1
        assert server.list_clients("view") == []
        assert client.wait(timeout=10) is not None
        assert server.is_live("view")
    finally:
        stop(client)


@needs_zellij
def test_real_own_client_is_none_outside_zellij(zenv: ZellijEnv) -> None:
    zenv.start("elsewhere")
    server = zenv.server()
    assert server.own_client() is None
    assert server.own_pane() is None
    with pytest.raises(NotApplicable):
        server.switch_client("elsewhere", "terminal_0", session="elsewhere")
    # This world's sockets are not the ones our own environment names: the argv says so.
    argv = server.attach_argv("terminal_0", session="elsewhere")
    assert argv[:2] == ["env", f"ZELLIJ_SOCKET_DIR={zenv.sockets}"]
    assert argv[2:] == [ZELLIJ, "attach", "elsewhere"]


@needs_zellij
def test_real_stopped_server_is_unknown_not_dead(zenv: ZellijEnv) -> None:
    zenv.start("frozen")
    zenv.start("fine")
    server = zenv.server(timeout_s=1.0)
    wait_until(lambda: server.panes("frozen", fresh=True), 10, "the layout")
    before = [p for p in server.list_panes() if p.session_name == "frozen"]
    assert before
    pid = server.discover().live["frozen"].server_pid
    assert pid
    os.kill(pid, signal.SIGSTOP)
    try:
        assert sorted(server.discover().live) == ["fine", "frozen"]
        assert server.is_live("frozen")
        with pytest.raises(MuxUnavailable, match="did not answer within 1 s"):
            server.panes("frozen", fresh=True)
        # Every zellij client first probes every session socket and waits for an answer
        # (zellij-utils sessions.rs assert_socket), so one stopped server makes every
        # call hang, even about other sessions: the whole poll is "unknown".
        server._pane_cache.clear()
        with pytest.raises(MuxUnavailable, match="did not answer"):
            server.list_panes()
        assert sorted(server.unanswered) == ["fine", "frozen"]
        assert server.discover().live["fine"].server_pid  # our discovery still works
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: server.panes("frozen", fresh=True), 10, "panes after SIGCONT")
    server.list_panes()
    assert server.unanswered == {}


@needs_zellij
def test_real_polling_a_starting_session_never_kills_it(zenv: ZellijEnv) -> None:
    """Zellij 0.45.0 panics when a client leaves during start-up: discovery must not connect."""
    server = zenv.server()
    for name in ("s1", "s2", "s3"):
        assert ZELLIJ is not None
        starting = subprocess.Popen(
            [ZELLIJ, "attach", "--create-background", name], env=zenv.environ
        )
        started = time.monotonic()
        listed_after: float | None = None
        while time.monotonic() - started < 1.5:
            if name in server.discover().live and listed_after is None:
                listed_after = time.monotonic() - started
            server.is_live(name)
            time.sleep(0.002)
        assert starting.wait(timeout=10) == 0
        assert listed_after is not None
        assert listed_after < 1.0
        print(f"{name} listed {listed_after:.3f} s after `attach -b` started")
    time.sleep(0.5)
    assert sorted(server.discover().live) == ["s1", "s2", "s3"]
    assert {s.server_pid for s in server.discover().live.values()} == set(zenv.server_pids())


@needs_zellij
def test_real_starting_session_is_listed_from_its_processes(zenv: ZellijEnv) -> None:
    """Before its metadata exists, a new session's panes come from its server's children.

    No call is made to it (it could crash, see above): the rows are provisional (first
    tab), then replaced by ``list-panes`` once the metadata appears.
    """
    server = zenv.server()
    metadata = server.cache_dir / "fresh" / "session-metadata.kdl"
    result = zenv.zellij("attach", "--create-background", "fresh")
    assert result.returncode == 0, result.stderr

    def shell() -> int | None:
        servers = zenv.server_pids()
        kids = [c.pid for p in servers for c in psutil.Process(p).children()] if servers else []
        return kids[0] if kids else None

    pid = wait_until(shell, 5, "the session's first shell")
    rows = server.list_panes()
    if metadata.exists():
        pytest.skip("the metadata was written before the first poll (a slow machine)")
    assert [(r.pane_id, r.pane_pid, r.session_name, r.window_index) for r in rows] == [
        ("terminal_0", pid, "fresh", "0")
    ]
    assert server.locate(pid, rows) == rows[0]
    wait_until(metadata.exists, 10, "the metadata")
    settled = wait_until(lambda: server.list_panes(), 10, "panes from list-panes")
    assert [(r.pane_id, r.pane_pid) for r in settled] == [("terminal_0", pid)]
    assert server.is_live("fresh")


INSIDE = """\
import json, sys, time
sys.path.insert(0, sys.argv[1])
from sessiontui.mux.zellij import ZellijServer
server = ZellijServer(binary=sys.argv[2])
own = server.own_client()
pane = server.own_pane()
result = {"own": own, "pane": pane.pane_id if pane else None, "session": pane and pane.session_name}
try:
    server.switch_client(own, sys.argv[4], session=sys.argv[3])
    result["switched"] = True
except Exception as exc:
    result["error"] = repr(exc)
with open(sys.argv[5], "w") as handle:
    json.dump(result, handle)
time.sleep(600)
"""


@needs_zellij
def test_real_switch_our_own_client_from_inside_zellij(zenv: ZellijEnv, tmp_path: Path) -> None:
    """From a pane of `home` (renamed first), our own client is moved to `other`."""
    zenv.start("home")
    zenv.start("other")
    server = zenv.server()
    other_pane = next(p.pane_id for p in server.list_panes() if p.session_name == "other")
    server.rename_session("home", "home2")  # our $ZELLIJ_SESSION_NAME goes stale
    client = attach_client(zenv, "home2")
    try:
        wait_until(lambda: server.list_clients("home2"), 10, "the client")
        out = tmp_path / "inside.json"
        src = str(Path(__file__).resolve().parents[2] / "src")
        assert ZELLIJ is not None
        args = [sys.executable, "-c", INSIDE, src, ZELLIJ, "other", other_pane, str(out)]
        assert zenv.zellij("-s", "home2", "run", "--", *args).returncode == 0
        result = json.loads(wait_until(lambda: out.exists() and out.read_text(), 15, "result"))
        assert result["own"] == "home2"
        assert result["session"] == "home2"
        assert result.get("switched"), result
        clients = wait_until(lambda: server.list_clients("other"), 10, "the switched client")
        assert [c.pane_id for c in clients] == [other_pane]
        assert server.list_clients("home2") == []
        # Our own client is never detached from the outside without asking.
        with pytest.raises(NotApplicable):
            server.detach_session("other", keep_client="other")
    finally:
        stop(client)


@needs_zellij
def test_real_focus_a_pane_of_our_own_session(zenv: ZellijEnv, tmp_path: Path) -> None:
    zenv.start("home")
    server = zenv.server()
    shell_pane = server.list_panes()[0].pane_id
    client = attach_client(zenv, "home")
    try:
        wait_until(lambda: server.list_clients("home"), 10, "the client")
        out = tmp_path / "inside.json"
        src = str(Path(__file__).resolve().parents[2] / "src")
        assert ZELLIJ is not None
        args = [sys.executable, "-c", INSIDE, src, ZELLIJ, "home", shell_pane, str(out)]
        assert zenv.zellij("-s", "home", "run", "--", *args).returncode == 0
        result = json.loads(wait_until(lambda: out.exists() and out.read_text(), 15, "result"))
        assert result.get("switched"), result
        assert result["pane"] != shell_pane
        wait_until(
            lambda: [c.pane_id for c in server.list_clients("home")] == [shell_pane],
            10,
            "focus on the shell pane",
        )
    finally:
        stop(client)


@needs_zellij
def test_real_detach_every_client_of_a_session(zenv: ZellijEnv) -> None:
    """`action detach` detaches one client a call: every client goes, the session stays."""
    zenv.start("shared")
    zenv.start("bystander")
    server = zenv.server()
    clients = [attach_client(zenv, "shared"), attach_client(zenv, "shared")]
    clients.append(attach_client(zenv, "bystander"))
    try:
        wait_until(lambda: len(server.list_clients("shared")) == 2, 10, "two clients")
        wait_until(lambda: server.list_clients("bystander"), 10, "the bystander's client")
        assert server.detach_session("shared") == 2
        wait_until(lambda: server.list_clients("shared") == [], 10, "no client left")
        for client in clients[:2]:
            assert client.wait(timeout=10) is not None
        assert len(server.list_clients("bystander")) == 1
        assert clients[2].poll() is None
        assert server.is_live("shared")
    finally:
        for client in clients:
            stop(client)


def test_client_argv_parsing() -> None:
    from sessiontui.mux.zellij import _client_session

    cases = {
        ("zellij", "attach", "work"): "work",
        ("/x/zellij", "a", "-c", "work"): "work",
        ("zellij", "--config", "c.kdl", "attach", "--force-run-commands", "w 2"): "w 2",
        ("zellij", "-s", "mine"): "mine",
        ("zellij", "-s", "mine", "action", "detach"): None,
        ("zellij", "-s", "mine", "run", "--", "x"): None,
        ("zellij", "--server", "/tmp/s/contract_version_1/work"): None,
        ("zellij", "attach", "--index", "0"): None,
        ("zellij",): None,
        ("zellij", "ls"): None,
    }
    for argv, expected in cases.items():
        assert _client_session(list(argv)) == expected, argv


@needs_zellij
def test_real_change_trigger(zenv: ZellijEnv, tmp_path: Path) -> None:
    """Start, change, rename and kill each ask for a poll within 1 s; polls do not loop."""
    server = zenv.server()
    fired: list[float] = []
    trigger = ZellijChangeTrigger(
        server, lambda: fired.append(time.monotonic()), rearm_s=0.2, rearm_max_s=0.2
    )
    trigger.start()
    try:

        def fired_since(mark: float) -> bool:
            return any(t >= mark for t in fired)

        mark = time.monotonic()
        zenv.start("watched")  # the socket directory did not exist before
        wait_until(lambda: fired_since(mark), 1, "a trigger for the new session")
        print(f"session start noticed after {min(t for t in fired if t >= mark) - mark:.3f} s")

        def settled() -> bool:  # the new session's own start-up changes are over
            server.list_panes()
            return not fired or time.monotonic() - fired[-1] > 1.5

        wait_until(settled, 15, "no trigger for 1.5 s")
        mark = time.monotonic()
        for _ in range(6):  # each poll makes Zellij rewrite the metadata: not a change
            server.list_panes()
            time.sleep(0.5)
        time.sleep(1.0)  # the last poll's rewrite comes within about a second
        quiet = [t for t in fired if t >= mark]
        # A feedback loop would fire after each of the 6 polls; the resurrection layout,
        # rewritten every second here (serialization_interval 1), is no news either.
        assert quiet == [], f"polls triggered {len(quiet)} more polls"

        mark = time.monotonic()
        run_agent(zenv, "watched", tmp_path / "agent.pid")  # a new pane: new metadata
        wait_until(lambda: fired_since(mark), 3, "a trigger for the new pane")

        mark = time.monotonic()
        server.rename_session("watched", "renamed")
        wait_until(lambda: fired_since(mark), 1, "a trigger for the rename")

        mark = time.monotonic()
        server.kill_session("renamed")
        wait_until(lambda: fired_since(mark), 1, "a trigger for the kill")
    finally:
        trigger.close()
    trigger.close()  # idempotent


def test_missing_directories_are_looked_for_less_and_less_often(tmp_path: Path) -> None:
    environ = {"ZELLIJ_SOCKET_DIR": str(tmp_path / "none"), "XDG_CACHE_HOME": str(tmp_path)}
    trigger = ZellijChangeTrigger(ZellijServer(environ=environ, binary="/nonexistent"), print)
    waits = [trigger._next_rearm_s() for _ in range(5)]
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]


class _RecordingTrigger(ZellijChangeTrigger):
    """The real trigger, recording every event that reaches Python (kind and file name)."""

    def __init__(self, server: ZellijServer) -> None:
        super().__init__(server, lambda: None, rearm_s=0.2, rearm_max_s=0.2)
        self.seen: list[tuple[str, str]] = []

    def _event(self, paths: list[str], kind: str, *, is_directory: bool) -> None:
        self.seen.append((kind, Path(paths[0]).name))
        super()._event(paths, kind, is_directory=is_directory)


@needs_zellij
def test_real_trigger_never_hears_of_reads(zenv: ZellijEnv) -> None:
    """Reads of the metadata and layout files never reach Python.

    Zellij's servers read each other's files every second; those reads are not asked of
    inotify, so they never wake the observer thread.
    """
    zenv.start("a")
    zenv.start("b")
    server = zenv.server()
    info = server.cache_dir
    for name in ("a", "b"):
        assert zenv.zellij("-s", name, "action", "save-session").returncode == 0
        wait_until((info / name / "session-layout.kdl").exists, 10, f"{name}'s layout")
    trigger = _RecordingTrigger(server)
    trigger.start()
    try:
        for _ in range(30):  # as another reader does
            for name in ("a", "b"):
                (info / name / "session-metadata.kdl").read_bytes()
                (info / name / "session-layout.kdl").read_bytes()
        time.sleep(2.5)  # both servers read the other's files meanwhile too
        server.list_panes()  # a poll: each session rewrites its metadata (a write)
        wait_until(
            lambda: ("closed", "session-metadata.kdl") in trigger.seen, 5, "a metadata write"
        )
    finally:
        trigger.close()
    kinds = {kind for kind, _ in trigger.seen}
    assert kinds <= {"created", "deleted", "moved", "closed"}, trigger.seen


def test_a_metadata_file_caught_mid_rewrite_is_no_change(tmp_path: Path) -> None:
    """Zellij truncates the file before writing it again: an empty read is not news."""
    trigger = ZellijChangeTrigger(fake_server(tmp_path, "old")[0], lambda: None)
    path = tmp_path / "session-metadata.kdl"
    text = (FIXTURES / "session-metadata.kdl").read_bytes()
    path.write_bytes(text)
    assert trigger._metadata_changed(str(path))  # first seen
    assert not trigger._metadata_changed(str(path))
    path.write_bytes(b"")
    assert not trigger._metadata_changed(str(path))
    path.write_bytes(text)
    assert not trigger._metadata_changed(str(path))
    path.write_bytes(text.replace(b'title "sleep 100"', b'title "claude"'))
    assert trigger._metadata_changed(str(path))
    path.unlink()
    assert trigger._metadata_changed(str(path))  # gone: a session ended or was renamed


@needs_zellij
def test_real_pane_cache_survives_a_metadata_file_mid_rewrite(zenv: ZellijEnv) -> None:
    """A poll that finds the metadata file empty reuses the last ``list-panes`` answer.

    Zellij truncates the file before writing it again; caught in between, the session is
    not asked again.
    """
    zenv.start("tabs")
    server = zenv.server()
    assert [p.tab_name for p in server.panes("tabs") if not p.is_plugin] == ["Tab #1"]
    metadata = server.cache_dir / "tabs" / "session-metadata.kdl"
    renamed = zenv.zellij("-s", "tabs", "action", "rename-tab", "--tab-id", "0", "renamed")
    assert renamed.returncode == 0, renamed.stderr
    wait_until(lambda: b'name "renamed"' in metadata.read_bytes(), 10, "the rewrite")
    metadata.write_bytes(b"")  # as caught between Zellij's truncate and its write
    # Asked now, the session would say "renamed": the cached answer shows no call was made.
    assert [p.tab_name for p in server.panes("tabs") if not p.is_plugin] == ["Tab #1"]

    # Once written again (our own probe makes Zellij rewrite it), the change is seen.
    def tab_names() -> list[str]:
        rows = server.list_panes()
        details = [server.pane_detail("tabs", row.pane_id) for row in rows]
        return [d.tab_name for d in details if d is not None]

    wait_until(lambda: tab_names() == ["renamed"], 10, "the new tab name")
