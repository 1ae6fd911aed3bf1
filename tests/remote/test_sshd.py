"""The real-OpenSSH test hosts themselves (tests/fakes/sshd.py): reachable, separate, stoppable."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
from tests.helpers import is_gone, wait_until

from sessiontui import __version__

if TYPE_CHECKING:
    import libtmux
    from tests.fakes.sshd import RemoteHost, SshWorld

#: ``sessiontui ls --json`` without the Codex process scan: the test hosts share this machine's
#: kernel, so a scan of all processes would also list other tests' ``codex`` processes.
LS_REGISTRY = ("sessiontui", "--no-codex", "ls", "--json")


def ssh(
    world: SshWorld, alias: str, *remote: str, timeout_s: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run ``ssh -F CONFIG -T ALIAS -- REMOTE…`` and return what it printed."""
    return subprocess.run(
        world.ssh_argv(alias, *remote),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_echo_over_ssh(ssh_world: SshWorld, remote: RemoteHost) -> None:
    result = ssh(ssh_world, "testhost", "/bin/echo", "ok")
    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr
    assert "Accepted publickey" in remote.log.read_text()


def test_remote_environment_is_the_hosts_own(ssh_world: SshWorld, remote: RemoteHost) -> None:
    result = ssh(
        ssh_world,
        "testhost",
        "echo",
        "$CLAUDE_CONFIG_DIR",
        "$TMUX_TMPDIR",
        "$(command -v sessiontui)",
    )
    assert result.returncode == 0, result.stderr
    config_dir, tmux_tmpdir, program = result.stdout.split()
    assert Path(config_dir) / "sessions" == remote.registry
    assert tmux_tmpdir == str(remote.tmux_tmpdir)
    assert Path(program) == remote.root / "bin" / "sessiontui"
    version = ssh(ssh_world, "testhost", "sessiontui", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout == f"sessiontui {__version__}\n"


def test_unpinned_host_key_is_refused(ssh_world: SshWorld, remote: RemoteHost) -> None:
    ssh_world.known_hosts.write_text("")  # the pinned key gone: BatchMode + strict checking
    result = ssh(ssh_world, "testhost", "/bin/echo", "ok")
    assert result.returncode == 255
    assert "ok" not in result.stdout
    assert "Host key verification failed" in result.stderr


def test_sessiontui_ls_over_ssh_sees_the_remote_registry_only(
    ssh_world: SshWorld, remote: RemoteHost, registry: Path
) -> None:
    pid = remote.agent("far-agent", status="busy")
    result = ssh(ssh_world, "testhost", *LS_REGISTRY)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(row["pid"], row["name"], row["status"]) for row in rows] == [
        (pid, "far-agent", "busy")
    ]
    assert rows[0]["mux"]["type"] == "tmux"
    assert rows[0]["mux"]["session"] == "far-agent"
    assert list(registry.iterdir()) == []  # nothing of it on "this machine"


def test_three_hosts_are_three_machines(ssh_world: SshWorld) -> None:
    hosts = [ssh_world.add_host(alias) for alias in ("alpha", "beta", "gamma")]
    assert len({host.port for host in hosts}) == 3
    for host in hosts:
        host.agent(f"agent-on-{host.alias}")
    for host in hosts:
        result = ssh(ssh_world, host.alias, *LS_REGISTRY)
        assert result.returncode == 0, result.stderr
        assert [row["name"] for row in json.loads(result.stdout)] == [f"agent-on-{host.alias}"]


def test_stop_ends_the_sessions_and_restart_listens_on_the_same_port(
    ssh_world: SshWorld, remote: RemoteHost
) -> None:
    link = subprocess.Popen(
        ssh_world.ssh_argv("testhost", "exec", "sleep", "301"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        remote_sleep = wait_until(
            lambda: [p for p in remote.sessions() if p.name() == "sleep"], what="remote sleep"
        )[0]
        port = remote.port
        remote.stop()
        assert link.wait(timeout=10) == 255  # the connection dropped
        wait_until(lambda: is_gone(remote_sleep), what="remote sleep ended with sshd")
        refused = ssh(ssh_world, "testhost", "/bin/echo", "ok")
        assert refused.returncode == 255
        remote.start()
        assert remote.port == port
        assert ssh(ssh_world, "testhost", "/bin/echo", "ok").stdout == "ok\n"
    finally:
        if link.poll() is None:
            link.kill()
            link.wait()


def test_tty_session_in_a_real_tmux_pane_attaches_the_remote_pane(
    ssh_world: SshWorld, remote: RemoteHost, server: libtmux.Server
) -> None:
    remote.tmux(
        "agents",
        "new-session",
        "-d",
        "-s",
        "far",
        "-x",
        "100",
        "-y",
        "30",
        "echo REMOTE-PANE-MARK; exec sleep 300",
    )
    attach = ["tmux", "-L", "agents", "attach-session", "-t", "=far"]
    session = server.new_session(
        "local",
        window_command=shlex.join(ssh_world.ssh_argv("testhost", *attach, tty=True)),
        x=120,
        y=40,
    )
    pane = session.active_window.active_pane
    assert pane is not None

    def screen() -> str:
        return "\n".join(pane.capture_pane())

    wait_until(lambda: "REMOTE-PANE-MARK" in screen(), what="the remote pane on the local screen")
    clients = remote.tmux("agents", "list-clients", "-F", "#{session_name}")
    assert clients.stdout.split() == ["far"]  # the remote tmux has the ssh session as a client
    assert psutil.Process(int(pane.pane_pid or 0)).name() == "ssh"
