"""The embedded demo: simulated agents (real processes) in a private tmux server (SPEC 2.1, 6)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libtmux
import psutil
import pytest

import sessiontui
from sessiontui.demo.environment import BG_SESSION, KIND_OPTION, WORK_SESSION, DemoEnvironment
from sessiontui.errors import SessiontuiError
from tests.helpers import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SRC_DIR = str(Path(sessiontui.__file__).resolve().parent.parent)
TICK_S = 0.1


def proc_start_from_proc(pid: int) -> str:
    """Field 22 of /proc/<pid>/stat, read independently of the code under test."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[19]


def read_entry(path: Path) -> dict[str, Any] | None:
    """One parse of a registry file; None while it is missing, empty or half-written."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def wait_entry(path: Path, timeout_s: float = 5.0) -> dict[str, Any]:
    result: dict[str, Any] = wait_until(lambda: read_entry(path), timeout_s, f"{path}")
    return result


def has_exited(pid: int) -> bool:
    """Gone, or a zombie waiting to be reaped (it runs nothing any more)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def demo() -> Iterator[DemoEnvironment]:
    env = DemoEnvironment(seed=7, tick_s=TICK_S)
    with env:
        yield env


def test_entering_registers_one_live_claude_like_entry_per_agent(demo: DemoEnvironment) -> None:
    files = sorted(demo.sessions_dir.glob("*.json"))
    assert len(files) == 4
    assert {f.name for f in files} == {f"{pid}.json" for pid in demo.agent_pids}
    assert demo.sessions_dir.stat().st_mode & 0o777 == 0o700
    for path in files:
        text = wait_until(lambda p=path: read_entry(p) and p.read_text(), 5, path)
        data = json.loads(text)
        # Compact one-line JSON without a trailing newline, exactly as Claude Code writes it.
        assert text == json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        assert not text.endswith("\n")
        assert path.stat().st_mode & 0o777 == 0o644 & ~_umask()
        pid = data["pid"]
        assert path.name == f"{pid}.json"
        assert psutil.pid_exists(pid)
        assert data["procStart"] == proc_start_from_proc(pid)
        assert uuid.UUID(data["sessionId"]).version == 4
        assert data["version"] == "2.1.197-demo"
        assert data["peerProtocol"] == 1
        assert data["entrypoint"] == "cli"
        assert data["nameSource"] == "derived"
        assert data["status"] in {"busy", "idle", "waiting", "shell"}
        assert ("waitingFor" in data) == (data["status"] == "waiting")
        assert isinstance(data["startedAt"], int)
        assert isinstance(data["updatedAt"], int)
        assert isinstance(data["statusUpdatedAt"], int)
        assert Path(data["cwd"]).is_dir()
        assert psutil.Process(pid).cmdline()[1:3] == ["-m", "sessiontui.demo.agent"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_agents_run_in_the_private_tmux_server_layout(demo: DemoEnvironment) -> None:
    panes = demo.server.cmd(
        "list-panes", "-a", "-F", "#{session_name}\t#{window_name}\t#{pane_id}\t#{pane_pid}"
    ).stdout
    rows = [line.split("\t") for line in panes]
    assert sorted((s, w) for s, w, _, _ in rows) == [
        (BG_SESSION, "nightly-deps"),
        (WORK_SESSION, "api-refactor"),
        (WORK_SESSION, "docs-site"),
        (WORK_SESSION, "flaky-tests"),
    ]
    pane_of = {pane_id: int(pane_pid) for _, _, pane_id, pane_pid in rows}
    for agent in demo.agents:
        root = psutil.Process(pane_of[agent.pane_id])
        tree = {root.pid} | {c.pid for c in root.children(recursive=True)}
        assert agent.pid in tree
        assert wait_entry(agent.registry_path)["kind"] == agent.kind
    kinds = {a.name: a.kind for a in demo.agents}
    assert kinds["nightly-deps"] == "bg"
    assert kinds["api-refactor"] == "interactive"


def test_bg_session_carries_the_sessiontui_kind_option(demo: DemoEnvironment) -> None:
    bg = demo.server.sessions.get(session_name=BG_SESSION)
    assert bg is not None
    assert bg.show_option(KIND_OPTION) == "bg"
    work = demo.server.cmd("show-options", "-t", f"={WORK_SESSION}", "-qv", KIND_OPTION)
    assert work.stdout == []


def test_statuses_change_over_time(demo: DemoEnvironment) -> None:
    seen: set[str] = set()

    def observe() -> bool:
        for agent in demo.agents:
            data = read_entry(agent.registry_path)
            if data is not None:
                assert ("waitingFor" in data) == (data["status"] == "waiting"), data
                if "waitingFor" in data:
                    assert data["waitingFor"] in {
                        "permission prompt",
                        "input needed",
                        "dialog open",
                    }
                seen.add(data["status"])
        return len(seen) >= 3

    wait_until(observe, 15, "three distinct statuses across the agents")
    assert seen <= {"busy", "idle", "waiting", "shell"}


def test_name_written_by_another_program_survives_the_agents_writes(
    demo: DemoEnvironment,
) -> None:
    agent = demo.agents[0]
    path = agent.registry_path
    data = wait_entry(path)
    data["name"] = "renamed-by-me"
    del data["nameSource"]
    tmp = path.with_name(".rename.tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")))
    tmp.replace(path)  # atomic, like sessiontui's own rewrite

    writes: dict[int, dict[str, Any]] = {}

    def two_later_writes() -> bool:
        now = read_entry(path)
        if now is not None and now["updatedAt"] > data["updatedAt"]:
            writes[now["updatedAt"]] = now
        return len(writes) >= 2

    wait_until(two_later_writes, 10, "two writes by the agent after the rename")
    for entry in writes.values():
        assert entry["name"] == "renamed-by-me"
        assert "nameSource" not in entry
        assert entry["pid"] == agent.pid
    pane = demo.server.panes.get(pane_id=agent.pane_id)
    assert pane is not None
    wait_until(
        lambda: any("renamed to renamed-by-me" in ln for ln in pane.capture_pane()),
        5,
        "the rename to show in the agent's pane",
    )


def test_sigterm_to_one_agent_removes_its_file(demo: DemoEnvironment) -> None:
    victim, *others = demo.agents
    os.kill(victim.pid, signal.SIGTERM)
    wait_until(lambda: has_exited(victim.pid), 5, "the agent to exit")
    assert not victim.registry_path.exists()
    assert all(a.registry_path.exists() for a in others)

    # Startup's remain-on-exit is off again: the agent's pane closes like a normal one.
    def pane_ids() -> list[str]:
        return list(demo.server.cmd("list-panes", "-a", "-F", "#{pane_id}").stdout)

    wait_until(lambda: victim.pane_id not in pane_ids(), 5, "the agent's pane to close")
    assert sorted(pane_ids()) == sorted(a.pane_id for a in others)


def test_exit_stops_everything(demo: DemoEnvironment) -> None:
    pids = demo.agent_pids
    tmp_dir = demo.tmp_dir
    socket_path = demo.socket_path
    assert socket_path is not None
    assert Path(socket_path).exists()
    assert tmp_dir.name.startswith("sessiontui-demo-")
    probe = libtmux.Server(socket_name=demo.socket_name)
    assert probe.is_alive()

    demo.close()
    demo.close()  # idempotent

    assert all(has_exited(pid) for pid in pids)
    assert not probe.is_alive()
    assert not Path(socket_path).exists()
    assert not tmp_dir.exists()


def test_exit_cleans_up_when_the_agents_already_died() -> None:
    demo = DemoEnvironment(agents=2, seed=3, tick_s=TICK_S)
    with demo:
        for pid in demo.agent_pids:
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: all(has_exited(p) for p in demo.agent_pids), 5, "the agents to die")
        tmp_dir = demo.tmp_dir
        socket_path = demo.socket_path
        assert socket_path is not None
    assert not tmp_dir.exists()
    assert not Path(socket_path).exists()
    assert not libtmux.Server(socket_name=demo.socket_name).is_alive()


def test_one_agent_runs_interactively_in_work() -> None:
    with DemoEnvironment(agents=1, seed=1, tick_s=TICK_S) as demo:
        assert [(a.kind, a.tmux_session) for a in demo.agents] == [("interactive", WORK_SESSION)]
        assert [s.session_name for s in demo.server.sessions] == [WORK_SESSION]


def test_zero_agents_is_rejected() -> None:
    with pytest.raises(ValueError, match="agents"):
        DemoEnvironment(agents=0)


def test_agents_that_never_register_raise_a_clear_error_and_leave_nothing() -> None:
    demo = DemoEnvironment(agents=2, python="/bin/false", register_timeout_s=1.0)
    with pytest.raises(SessiontuiError, match="exited at start") as excinfo, demo:
        pytest.fail("entered although no agent registered")
    message = str(excinfo.value)
    assert "/bin/false -m sessiontui.demo.agent" in message
    assert "Pane is dead" in message  # the pane's last lines are quoted
    assert not demo.tmp_dir.exists()
    assert not libtmux.Server(socket_name=demo.socket_name).is_alive()
    if demo.socket_path is not None:
        assert not Path(demo.socket_path).exists()


def test_sigterm_to_the_parent_process_cleans_up(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import json, sys, time
        from sessiontui.demo.environment import DemoEnvironment
        demo = DemoEnvironment(agents=2, seed=5, tick_s=0.1)
        demo.__enter__()
        print(json.dumps({"pids": demo.agent_pids, "tmp": str(demo.tmp_dir),
                          "socket": demo.socket_path, "name": demo.socket_name}), flush=True)
        time.sleep(60)
        """
    )
    env = {**os.environ, "PYTHONPATH": SRC_DIR}
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    ) as parent:
        try:
            assert parent.stdout is not None
            info = json.loads(parent.stdout.readline())
            assert Path(info["tmp"]).is_dir()
            parent.send_signal(signal.SIGTERM)
            assert parent.wait(timeout=15) == -signal.SIGTERM
        finally:
            if parent.poll() is None:
                parent.kill()
    assert all(has_exited(pid) for pid in info["pids"])
    assert not Path(info["tmp"]).exists()
    assert not Path(info["socket"]).exists()
    assert not libtmux.Server(socket_name=info["name"]).is_alive()


@pytest.fixture
def start_agent(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``python -m sessiontui.demo.agent`` directly; kills leftovers afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    registry = tmp_path / "sessions"
    registry.mkdir()

    def start(**kwargs: Any) -> subprocess.Popen[bytes]:
        argv = [
            sys.executable,
            "-m",
            "sessiontui.demo.agent",
            "--registry",
            str(registry),
            "--name",
            "solo",
            "--kind",
            "interactive",
            "--seed",
            "11",
            "--tick-s",
            str(TICK_S),
        ]
        proc = subprocess.Popen(argv, env={**os.environ, "PYTHONPATH": SRC_DIR}, **kwargs)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=5)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_agent_removes_its_file_and_exits_0_on_signal(
    start_agent: Callable[..., subprocess.Popen[bytes]], tmp_path: Path, sig: int
) -> None:
    proc = start_agent(stdout=subprocess.DEVNULL)
    path = tmp_path / "sessions" / f"{proc.pid}.json"
    data = wait_entry(path)
    assert data["pid"] == proc.pid
    assert data["cwd"] == str(Path.cwd())
    proc.send_signal(sig)
    assert proc.wait(timeout=5) == 0
    assert not path.exists()


def test_agent_keeps_working_when_its_stdout_is_gone(
    start_agent: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    proc = start_agent(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    path = tmp_path / "sessions" / f"{proc.pid}.json"
    first = wait_entry(path)
    assert proc.stdout is not None
    assert proc.stdout.readline()  # it did print activity
    proc.stdout.close()  # every later print hits EPIPE

    def wrote_again() -> bool:
        now = read_entry(path)
        return now is not None and now["statusUpdatedAt"] > first["statusUpdatedAt"]

    wait_until(wrote_again, 10, "a status change after stdout closed")
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    assert not path.exists()
    assert proc.stderr is not None
    assert proc.stderr.read() == b""


def test_killing_the_tmux_server_ends_the_agents_cleanly(demo: DemoEnvironment) -> None:
    demo.server.kill()  # the panes hang up: the agents get SIGHUP and lose their terminal
    wait_until(lambda: all(has_exited(a.pid) for a in demo.agents), 5, "the agents to exit")
    assert list(demo.sessions_dir.iterdir()) == []
    tmp_dir = demo.tmp_dir
    demo.close()  # still fine with everything already gone
    assert not tmp_dir.exists()


def test_demo_runs_one_agent_in_its_own_zellij_and_cleans_it_up() -> None:
    from sessiontui.mux.zellij import ZellijServer, find_zellij

    binary = find_zellij()
    if binary is None:
        pytest.skip("the real zellij is not installed (CI builds it; see .ci/run)")
    with DemoEnvironment(agents=1, seed=3, zellij=binary) as demo:
        assert demo.zellij_problem is None
        assert demo.zellij_agent is not None
        assert demo.zellij_environ is not None
        root = Path(demo.zellij_environ["ZELLIJ_SOCKET_DIR"]).parent
        server = ZellijServer(binary=binary, environ=demo.zellij_environ)
        panes = server.list_panes()
        assert [p.session_name for p in panes] == ["demo-zellij"]
        assert server.locate(demo.zellij_agent.pid, panes) is not None
        agent = psutil.Process(demo.zellij_agent.pid)
    assert not root.exists()
    assert not agent.is_running() or agent.status() == psutil.STATUS_ZOMBIE
    leftover = [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if any(str(root) in arg for arg in (p.info["cmdline"] or []))
    ]
    assert leftover == []
