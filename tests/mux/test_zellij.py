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
import os
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
        wait_until(lambda: probe_socket(self.sockets / "contract_version_1" / name), 10, name)

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


def listening_socket(path: Path) -> socket.socket:
    """A Unix socket listening on ``path`` (stands for a live server in discovery tests)."""
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
    live = listening_socket(sockets / "alive")
    bus = listening_socket(sockets / "web_server_bus")
    listening_socket(sockets / "killed").close()
    for name, layout in (("killed", True), ("old", True), ("empty", False), ("alive", True)):
        (info / name).mkdir(parents=True)
        if layout:
            (info / name / "session-layout.kdl").write_text("layout {}")
    (sockets / "plain-file").write_text("")
    try:
        found = discover(sockets, info)
    finally:
        live.close()
        bus.close()
    assert list(found.live) == ["alive"]
    assert found.live["alive"].server_pid == os.getpid()
    assert sorted(found.exited) == ["killed", "old"]
    assert found.stale_sockets == ("killed",)
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
    live = listening_socket(server.socket_dir / "s1")
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
    live = listening_socket(server.socket_dir / "legacy")
    try:
        assert list(server.discover().live) == ["legacy"]
        with pytest.raises(ZellijTooOld, match=r"Zellij 0\.43\.1 cannot list panes .*0\.44"):
            server.list_panes()
        with pytest.raises(ZellijTooOld):
            server.panes("legacy")
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
    with pytest.raises(ValueError, match="list-clients"):
        parse_list_clients("what\n")


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
    return pane, pid


def attach_client(zenv: ZellijEnv, session: str) -> subprocess.Popen[bytes]:
    """A real ``zellij attach`` on a pseudo-terminal (util-linux ``script``)."""
    script = shutil.which("script")
    if script is None:
        pytest.skip("util-linux `script` is not installed")
    assert ZELLIJ is not None
    env = dict(zenv.environ, TERM="xterm-256color", COLUMNS="120", LINES="40")
    return subprocess.Popen(
        [script, "-qfec", f"stty rows 40 cols 120; exec {ZELLIJ} attach {session}", "/dev/null"],
        env=env,
        stdin=subprocess.PIPE,
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
def test_real_version(zenv: ZellijEnv) -> None:
    assert zenv.server().version() >= (0, 44, 0)
