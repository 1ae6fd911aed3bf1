"""Issue 10 end to end: remote hosts through real OpenSSH (loopback sshd, tests/fakes/sshd.py).

Everything is real: the remote side is ``sessiontui serve --stdio`` started by sshd for
``ssh -F CONFIG ALIAS``, its agents are ``sleep`` processes in panes of the host's own tmux server
with registry entries in the host's own registry directory; the local side is the Hub over the
local Monitor (a real tmux server too) and one HostLink per host, shown by the Textual app.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import subprocess
import sys
from typing import TYPE_CHECKING

import psutil
from tests.fakes.sshd import write_registry_entry
from tests.helpers import is_gone, run_cli, wait_until
from tests.ui.world import FAST, select, wait_for

from sessiontui.model.monitor import Monitor
from sessiontui.model.types import Status
from sessiontui.mux.tmux import TmuxBackend
from sessiontui.remote.hosts import HostSpec
from sessiontui.remote.hub import Hub
from sessiontui.remote.link import UNREACHABLE, HostLink, SshTransport
from sessiontui.ui.app import MainTable, make_app
from sessiontui.ui.screens.confirm import ConfirmScreen
from sessiontui.ui.screens.rename import RenameScreen
from sessiontui.ui.widgets.session_table import ROW_COLUMN

if TYPE_CHECKING:
    from pathlib import Path

    import libtmux
    from tests.fakes.sshd import RemoteHost, SshWorld
    from tests.ui.world import World
    from textual.pilot import Pilot

    from sessiontui.model.types import Session
    from sessiontui.ui.app import SessionTUI


def links(ssh_world: SshWorld, *aliases: str) -> list[HostLink]:
    """One link per host alias, over ``ssh -F <the world's config>`` (the link's own options)."""
    transport = SshTransport(ssh=("ssh", "-F", str(ssh_world.ssh_config)))
    return [HostLink(HostSpec(name=alias, ssh=alias), transport=transport) for alias in aliases]


def hub_app(
    world: World, ssh_world: SshWorld, *aliases: str, environ: dict[str, str] | None = None
) -> SessionTUI:
    """The app over a Hub of the local world (its tmux server and registry) and the hosts."""
    tmux = TmuxBackend(socket_name=world.server.socket_name, environ=environ or {})
    monitor = Monitor(sessions_dir=world.registry, tmux=tmux, timing=FAST, grace_s=1.0)
    return make_app(Hub(monitor, links(ssh_world, *aliases)))


def remote_row(app: SessionTUI, name: str) -> Session | None:
    """The remote session called ``name`` in the app's snapshot (``None``: not listed)."""
    for session in app.snapshot.sessions:
        if session.host is not None and session.name == name:
            return session
    return None


def pid_gone(pid: int) -> bool:
    """True when ``pid`` has exited (reaped, or a zombie)."""
    try:
        return is_gone(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return True


def row_text(app: SessionTUI, key: str) -> str:
    """The plain text of the table row ``key`` (``""`` while it has none)."""
    try:
        cell = app.query_one(MainTable).get_cell(key, ROW_COLUMN)
    except Exception:
        return ""
    return str(getattr(cell, "plain", cell))


def ssh_links() -> list[psutil.Process]:
    """The ``ssh`` processes this test process started (the hosts' links)."""
    links = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # a short-lived child ended meanwhile
            if child.name() == "ssh":
                links.append(child)
    return links


async def wait_row(pilot: Pilot[None], app: SessionTUI, name: str, **want: object) -> Session:
    """Wait until the remote row ``name`` has every attribute in ``want``; return it."""

    def matches() -> bool:
        row = remote_row(app, name)
        return row is not None and all(getattr(row, k) == v for k, v in want.items())

    await wait_for(pilot, matches, timeout_s=30.0)
    row = remote_row(app, name)
    assert row is not None
    return row


async def test_remote_agents_are_listed_beside_local_ones_with_live_status(
    world: World, ssh_world: SshWorld, remote: RemoteHost
) -> None:
    world.agent("near", status="idle")
    far_pid = remote.agent("far", status="idle")
    app = hub_app(world, ssh_world, "testhost")
    async with app.run_test(size=(160, 30)) as pilot:
        row = await wait_row(pilot, app, "far", status=Status.IDLE)
        assert row.host == "testhost"
        assert row.key.startswith("testhost/")
        assert row.pid == far_pid
        assert row.mux is not None
        assert row.mux.session == "far"
        local = [s for s in app.snapshot.sessions if s.host is None]
        assert [s.name for s in local] == ["near"]
        write_registry_entry(
            remote.registry, far_pid, {"name": "far", "status": "waiting", "waitingFor": "x"}
        )
        row = await wait_row(pilot, app, "far", status=Status.WAITING)
        assert row.waiting_for == "x"
        write_registry_entry(remote.registry, far_pid, {"name": "far", "status": "busy"})
        await wait_row(pilot, app, "far", status=Status.BUSY)
        assert len(ssh_links()) == 1  # one connection per host, no per-session ssh


async def test_three_hosts_in_one_list_and_one_down_leaves_the_others_live(
    world: World, ssh_world: SshWorld
) -> None:
    hosts = [ssh_world.add_host(alias) for alias in ("alpha", "beta", "gamma")]
    pids = {host.alias: host.agent(f"on-{host.alias}", status="idle") for host in hosts}
    app = hub_app(world, ssh_world, "alpha", "beta", "gamma")
    async with app.run_test(size=(160, 30)) as pilot:
        for alias, pid in pids.items():
            row = await wait_row(pilot, app, f"on-{alias}", health=None)
            assert (row.host, row.pid) == (alias, pid)
            assert row.key.startswith(f"{alias}/")
            await wait_for(pilot, lambda key=row.key, a=alias: a in row_text(app, key))
        assert len(ssh_links()) == 3
        hosts[1].stop()
        await wait_row(pilot, app, "on-beta", health=UNREACHABLE)
        write_registry_entry(
            hosts[2].registry, pids["gamma"], {"name": "on-gamma", "status": "busy"}
        )
        await wait_row(pilot, app, "on-gamma", status=Status.BUSY, health=None)
        row = remote_row(app, "on-alpha")
        assert row is not None
        assert row.health is None


async def test_remote_rename_and_kill(
    world: World, ssh_world: SshWorld, remote: RemoteHost
) -> None:
    far_pid = remote.agent("far", status="idle")
    app = hub_app(world, ssh_world, "testhost")
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_row(pilot, app, "far")
        await select(pilot, "far")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameScreen))
        await pilot.press("ctrl+a", "ctrl+k", *"far-renamed", "enter")
        await wait_row(pilot, app, "far-renamed")
        entry = json.loads((remote.registry / f"{far_pid}.json").read_text())
        assert entry["name"] == "far-renamed"  # written on the host, by its serve
        await select(pilot, "far-renamed")
        await pilot.press("K")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: pid_gone(far_pid), timeout_s=20.0)
        await wait_row(pilot, app, "far-renamed", status=Status.DEAD)


async def test_enter_on_a_remote_row_opens_ssh_attach_in_a_window_of_our_client(
    world: World, ssh_world: SshWorld, remote: RemoteHost
) -> None:
    remote.agent("far", status="waiting", mark="REMOTE-PANE-OF-FAR")
    environ = world.home_environ()
    app = hub_app(world, ssh_world, "testhost", environ=environ)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_row(pilot, app, "far")
        await select(pilot, "far")
        windows_before = len(world.server.cmd("list-windows", "-t", "=home").stdout)
        await pilot.press("enter")

        def new_window_pane() -> str | None:
            panes = world.server.cmd(
                "list-panes", "-s", "-t", "=home", "-F", "#{pane_id} #{pane_current_command}"
            ).stdout
            return next((p.split()[0] for p in panes if p.endswith(" ssh")), None)

        await wait_for(pilot, lambda: new_window_pane() is not None, timeout_s=20.0)
        pane_id = new_window_pane()
        start = world.server.cmd("display-message", "-p", "-t", pane_id, "#{pane_start_command}")
        assert f"-F {ssh_world.ssh_config} -t testhost --" in start.stdout[0]
        assert len(world.server.cmd("list-windows", "-t", "=home").stdout) == windows_before + 1

        def screen() -> str:
            return "\n".join(world.server.cmd("capture-pane", "-p", "-t", pane_id).stdout)

        await wait_for(pilot, lambda: "REMOTE-PANE-OF-FAR" in screen(), timeout_s=20.0)
        clients = remote.tmux(
            "agents", "list-clients", "-F", "#{client_control_mode} #{session_name}"
        ).stdout.splitlines()
        assert [c for c in clients if c.startswith("0 ")] == ["0 far"]  # besides serve's -C one


def test_attach_outside_tmux_gives_an_ssh_command_that_shows_the_remote_pane(
    world: World, ssh_world: SshWorld, remote: RemoteHost
) -> None:
    remote.agent("far", status="idle", mark="REMOTE-PANE-OUTSIDE")
    tmux = TmuxBackend(socket_name=world.server.socket_name, environ={})  # not inside tmux
    hub = Hub(
        Monitor(sessions_dir=world.registry, tmux=tmux, timing=FAST), links(ssh_world, "testhost")
    )
    hub.start()
    try:
        key = wait_until(
            lambda: next((s.key for s in hub.snapshot.sessions if s.name == "far"), None),
            timeout_s=30,
            what="the remote row",
        )
        plan = hub.attach(key)
        assert not plan.switched
        assert list(plan.argv[:4]) == ["ssh", "-F", str(ssh_world.ssh_config), "-t"]
        assert "testhost" in plan.argv
        # The suspended terminal: run the plan's argv as the program of a real tmux pane.
        terminal = world.server.new_session(
            "terminal", window_command=shlex.join(plan.argv), x=120, y=40
        )
        pane = terminal.active_window.active_pane
        assert pane is not None
        wait_until(
            lambda: "REMOTE-PANE-OUTSIDE" in "\n".join(pane.capture_pane()),
            what="the remote pane in the terminal",
        )
        clients = remote.tmux(
            "agents", "list-clients", "-F", "#{client_control_mode} #{session_name}"
        ).stdout.splitlines()
        assert [c for c in clients if c.startswith("0 ")] == ["0 far"]
    finally:
        hub.close()


def test_a_remote_command_path_with_spaces_and_shell_characters_is_quoted(
    ssh_world: SshWorld, remote: RemoteHost, tmp_path: Path
) -> None:
    pid = remote.agent("far", status="busy")
    odd = remote.root / "odd dir 'q' ;$(false)"
    odd.mkdir()
    program = odd / "sessiontui"
    default = remote.root / "bin" / "sessiontui"
    program.write_bytes(default.read_bytes())
    program.chmod(0o755)
    default.unlink()  # only the configured path can answer
    config = tmp_path / "config.toml"
    config.write_text(
        f"ssh_command = {json.dumps(['ssh', '-F', str(ssh_world.ssh_config)])}\n"
        "[[hosts]]\n"
        'name = "box"\n'
        'ssh = "testhost"\n'
        f"command = {json.dumps([str(program)])}\n"
    )
    listed = run_cli("--config", str(config), "ls", "--json", "--host", "box")
    assert listed.returncode == 0, listed.stderr
    assert [(r["pid"], r["host"]) for r in json.loads(listed.stdout)] == [(pid, "box")]


async def test_link_cut_keeps_rows_unreachable_then_live_after_sshd_restart(
    world: World, ssh_world: SshWorld, remote: RemoteHost
) -> None:
    far_pid = remote.agent("far", status="idle")
    app = hub_app(world, ssh_world, "testhost")
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_row(pilot, app, "far", status=Status.IDLE, health=None)
        [link] = ssh_links()
        link.kill()  # the ssh process dies mid-stream ...
        remote.stop()  # ... and the host stays unreachable
        row = await wait_row(pilot, app, "far", health=UNREACHABLE)
        assert row.status is Status.IDLE  # last known, never "dead"
        await wait_for(pilot, lambda: "testhost unreachable" in row_text(app, row.key))
        await wait_for(
            pilot,
            lambda: any(m.startswith("host:testhost: unreachable") for m in app.snapshot.messages),
        )
        await pilot.pause(1.5)  # a reconnection attempt or two fail meanwhile
        assert remote_row(app, "far") is not None
        write_registry_entry(remote.registry, far_pid, {"name": "far", "status": "waiting"})
        remote.start()
        await wait_row(pilot, app, "far", status=Status.WAITING, health=None)
        await wait_for(
            pilot, lambda: not any(m.startswith("host:testhost") for m in app.snapshot.messages)
        )


def test_ls_and_status_with_host_over_ssh(
    ssh_world: SshWorld, remote: RemoteHost, tmp_path: Path, registry: Path
) -> None:
    pid = remote.agent("far", status="waiting")
    config = tmp_path / "config.toml"
    # The test hosts share this machine's kernel: without --no-codex (here and on the host)
    # the Codex process scan would also count other tests' codex processes.
    config.write_text(
        f"ssh_command = {json.dumps(['ssh', '-F', str(ssh_world.ssh_config)])}\n"
        "[[hosts]]\n"
        'name = "testhost"\n'
        'ssh = "testhost"\n'
        'command = ["sessiontui", "--no-codex"]\n'
    )
    listed = run_cli("--config", str(config), "--no-codex", "ls", "--json", "--host", "testhost")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["pid"], r["name"], r["status"], r["host"]) for r in rows] == [
        (pid, "far", "waiting", "testhost")
    ]
    assert rows[0]["key"].startswith("testhost/")
    plain = run_cli(
        "--config", str(config), "--no-codex", "status", "--format", "{waiting}/{total}"
    )
    assert plain.stdout.strip() in ("", "0/0")  # without --host no host is asked
    status = run_cli(
        *("--config", str(config), "--no-codex", "status", "--host", "testhost"),
        *("--format", "{waiting}/{total}"),
    )
    assert (status.returncode, status.stdout.strip()) == (0, "1/1"), status.stderr
    table = run_cli("--config", str(config), "--no-codex", "ls", "--host", "testhost")
    assert table.returncode == 0, table.stderr
    assert "testhost:tmux:far" in table.stdout  # WHERE names the host
    remote.stop()
    down = run_cli("--config", str(config), "--no-codex", "ls", "--host", "testhost")
    assert down.returncode == 0
    assert "sessiontui: host:testhost: unreachable" in down.stderr
    assert "far" not in down.stdout
    assert list(registry.iterdir()) == []


def test_the_real_tui_with_host_option_shows_remote_rows_live_and_quits_clean(
    ssh_world: SshWorld, server: libtmux.Server, tmp_path: Path
) -> None:
    remote = ssh_world.add_host("box")
    pid = remote.agent("far-tui", status="idle")
    config = tmp_path / "config.toml"
    config.write_text(f"ssh_command = {json.dumps(['ssh', '-F', str(ssh_world.ssh_config)])}\n")
    empty = tmp_path / "local-sessions"
    empty.mkdir()
    argv = [sys.executable, "-m", "sessiontui", "--config", str(config), "--no-zellij"]
    argv += ["--sessions-dir", str(empty), "-H", "box"]
    tui = server.new_session("tui", window_command=shlex.join(argv), x=160, y=30)
    pane = tui.active_window.active_pane
    assert pane is not None

    def screen() -> str:
        return "\n".join(pane.capture_pane())

    def row_line() -> str:
        return next((line for line in screen().splitlines() if "far-tui" in line), "")

    wait_until(lambda: "idle" in row_line(), timeout_s=30, what="the remote row on screen")
    assert " box:" in row_line()  # WHERE starts with the host
    write_registry_entry(remote.registry, pid, {"name": "far-tui", "status": "waiting"})
    wait_until(lambda: "waiting" in row_line(), timeout_s=30, what="the new status on screen")
    serve = wait_until(remote.sessions, what="the host's serve")
    pane.send_keys("q", enter=False)
    wait_until(lambda: all(is_gone(p) for p in serve), timeout_s=20, what="serve gone")
    assert psutil.pid_exists(pid)  # quitting ends the link, never the remote agent


def serve_over_ssh(ssh_world: SshWorld) -> subprocess.Popen[bytes]:
    """``ssh -T testhost -- sessiontui serve --stdio`` with pipes."""
    return subprocess.Popen(
        ssh_world.ssh_argv("testhost", "sessiontui", "serve", "--stdio"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def read_until(proc: subprocess.Popen[bytes], kind: str, **want: object) -> dict[str, object]:
    """Read JSON lines from ``proc`` until one of type ``kind`` with ``want``; return it."""
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        assert line, f"serve closed its output before a {kind!r} message"
        message = json.loads(line)
        if message.get("t") == kind and all(message.get(k) == v for k, v in want.items()):
            return message


def test_protocol_fuzzing_through_ssh_runs_nothing_and_keeps_serving(
    ssh_world: SshWorld, remote: RemoteHost, tmp_path: Path
) -> None:
    far_pid = remote.agent("far", status="idle")
    pwned = tmp_path / "pwned"
    proc = serve_over_ssh(ssh_world)
    assert proc.stdin is not None
    try:
        hello = read_until(proc, "hello")
        assert hello["v"] == 1
        assert isinstance(hello["host"], str)
        snapshot = read_until(proc, "snapshot")
        sessions = snapshot["sessions"]
        assert isinstance(sessions, list)
        [far] = [s for s in sessions if s["pid"] == far_pid]
        evil = f"$(touch {pwned}); touch {pwned} `touch {pwned}` | touch {pwned} && touch {pwned}"
        garbage = [
            b"not json at all\n",
            b"\xff\xfe invalid utf-8 \x80\n",
            b"[1, 2, 3]\n",
            b'{"t": "call"}\n',
            b'{"t": "call", "id": "x", "verb": "kill"}\n',
            b"{" * 100_000 + b"\n",
            b"x" * (3 << 20) + b"\n",  # 3 MiB: over the 1 MiB line limit
        ]
        for line in garbage:
            proc.stdin.write(line)
        calls = [
            {"t": "call", "id": 1, "verb": "exec", "key": far["key"], "args": {"cmd": evil}},
            {"t": "call", "id": 2, "verb": "rename", "key": evil, "args": {"name": "x"}},
            {"t": "call", "id": 3, "verb": "send", "key": evil, "args": {"text": evil}},
            {"t": "call", "id": 4, "verb": "attach_plan", "key": evil, "args": {}},
            {"t": "call", "id": 5, "verb": "preview", "key": far["key"], "args": {"lines": 5}},
        ]
        for call in calls:
            proc.stdin.write(json.dumps(call).encode() + b"\n")
        proc.stdin.flush()
        for call_id in (1, 2, 3, 4):
            result = read_until(proc, "result", id=call_id)
            assert result["ok"] is False, result
        assert read_until(proc, "result", id=5)["ok"] is True  # still serving, after all that
        assert not pwned.exists()
        renamed = {
            "t": "call",
            "id": 6,
            "verb": "rename",
            "key": far["key"],
            "args": {"name": evil},
        }
        proc.stdin.write(json.dumps(renamed).encode() + b"\n")
        proc.stdin.flush()
        read_until(proc, "result", id=6)
        assert not pwned.exists()  # a name is text, never a command
        proc.stdin.close()  # stdin closed: serve exits, and so does ssh
        assert proc.wait(timeout=15) == 0
        wait_until(lambda: not remote.sessions(), what="serve gone on the host")
        assert psutil.pid_exists(far_pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert not pwned.exists()
