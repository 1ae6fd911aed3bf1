"""The client side against the real ``sessiontui serve --stdio``: HostLink, Hub, ls/status -H.

The remote host is this machine: the link's ssh client is tests/remote/local_ssh.py, which
runs the remote command line with ``sh -c`` as sshd would, so the real server process, the
real protocol and a real registry of live processes are exercised. The same code over a
real OpenSSH server is tested in tests/e2e.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.helpers import run_cli, wait_until, write_entry

from sessiontui.errors import NotApplicable
from sessiontui.model.monitor import Monitor, MonitorTiming
from sessiontui.model.types import SnapshotChange, Status
from sessiontui.remote.hosts import HostSpec
from sessiontui.remote.hub import Hub
from sessiontui.remote.link import UNREACHABLE, HostLink, SshTransport

if TYPE_CHECKING:
    from collections.abc import Iterator

HERE = Path(__file__).parent
LOCAL_SSH = (sys.executable, str(HERE / "local_ssh.py"))
FAST = MonitorTiming(debounce_s=0.005, rescan_s=0.3, sample_s=0.3, tmux_poll_s=60.0)


def serve_command(registry: Path) -> tuple[str, ...]:
    """The remote ``sessiontui`` (this source tree) watching only ``registry``."""
    return (sys.executable, "-m", "sessiontui", "--sessions-dir", str(registry), "--no-zellij")


@pytest.fixture
def remote_registry(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> Path:
    registry = tmp_path / "remote" / "sessions"
    write_entry(
        registry, sleeper.pid, sessionId="1b6a2c9e-0000-4000-8000-000000000001",
        cwd="/srv/app", name="remote-one", status="busy", kind="interactive",
    )  # fmt: skip
    return registry


@pytest.fixture
def link(remote_registry: Path) -> Iterator[HostLink]:
    host = HostSpec(name="box", ssh="box.invalid", command=serve_command(remote_registry))
    link = HostLink(host, transport=SshTransport(ssh=LOCAL_SSH))
    link.start()
    yield link
    link.close()


def test_remote_sessions_are_listed_live_and_renamed_over_the_link(
    link: HostLink, remote_registry: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    assert link.wait_snapshot(30.0), link.problem
    (session,) = link.sessions
    assert session.key.startswith("box/claude:")
    assert (session.host, session.name, session.status) == ("box", "remote-one", Status.BUSY)
    # A status written on the host reaches us as a change.
    write_entry(remote_registry, sleeper.pid, name="remote-one", status="waiting",
                waitingFor="permission prompt")  # fmt: skip
    wait_until(lambda: link.sessions[0].status is Status.WAITING, 10.0, "the remote change")
    assert link.sessions[0].waiting_for == "permission prompt"
    # A rename goes to the host, which writes its registry file.
    link.call("rename", session.key, {"name": "renamed-remotely"})
    entry = json.loads((remote_registry / f"{sleeper.pid}.json").read_text())
    assert entry["name"] == "renamed-remotely"
    wait_until(lambda: link.sessions[0].name == "renamed-remotely", 10.0, "the renamed row")


def test_hub_merges_routes_and_marks_a_dropped_host_unreachable(
    link: HostLink, tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    local_registry = tmp_path / "local" / "sessions"
    write_entry(local_registry, sleepers[0].pid, name="local-one", status="idle")
    monitor = Monitor(sessions_dir=local_registry, timing=FAST)
    monitor.refresh()
    hub = Hub(monitor, [link])
    changes: list[SnapshotChange] = []
    hub.subscribe(changes.append)
    hub.start()
    try:
        wait_until(lambda: len(hub.snapshot.sessions) == 2, 30.0, "both rows in the hub")
        by_name = {s.name: s for s in hub.snapshot.sessions}
        remote, local = by_name["remote-one"], by_name["local-one"]
        assert (remote.host, local.host) == ("box", None)
        assert remote.key.startswith("box/")
        assert not local.key.startswith("box/")
        assert any(remote.key in c.added for c in changes)
        # Verbs go to the owning service by key prefix.
        hub.rename(remote.key, "via-hub")
        wait_until(lambda: hub.snapshot.get(remote.key).name == "via-hub", 10.0, "rename")  # type: ignore[union-attr]
        with pytest.raises(NotApplicable, match=r"^box: .* does not run in a tmux pane"):
            hub.preview(remote.key, 5)  # answered by the host, which names itself
        # The link drops: the row stays, unreachable, never dead; the host is a problem.
        link.kill_transport()
        wait_until(
            lambda: hub.snapshot.get(remote.key).health == UNREACHABLE,  # type: ignore[union-attr]
            10.0,
            "the unreachable row",
        )
        row = hub.snapshot.get(remote.key)
        assert row is not None
        assert row.status is Status.BUSY
        assert row.alive
        assert any(m.startswith("host:box: unreachable") for m in hub.snapshot.messages)
        wait_until(
            lambda: hub.snapshot.get(remote.key).health is None,  # type: ignore[union-attr]
            5.0,
            "the row live again",
        )
        assert not any(m.startswith("host:box") for m in hub.snapshot.messages)
    finally:
        hub.close()


def write_config(tmp_path: Path, registry: Path) -> Path:
    config = tmp_path / "config.toml"
    command = json.dumps(list(serve_command(registry)))
    config.write_text(
        f"ssh_command = {json.dumps(list(LOCAL_SSH))}\n"
        f'[[hosts]]\nname = "box"\nssh = "box.invalid"\ncommand = {command}\n',
        encoding="utf-8",
    )
    return config


def test_ls_and_status_with_a_host(tmp_path: Path, remote_registry: Path) -> None:
    config = write_config(tmp_path, remote_registry)
    empty = tmp_path / "empty" / "sessions"
    empty.mkdir(parents=True)
    common = ["--config", str(config), "--sessions-dir", str(empty), "--no-zellij"]
    # Without -H, one-shot commands contact no host, even a configured one.
    alone = run_cli(*common, "ls", "--json")
    assert alone.returncode == 0, alone.stderr
    assert json.loads(alone.stdout) == []
    listed = run_cli(*common, "ls", "--json", "--host", "box", timeout_s=60.0)
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["host"] == "box"
    assert row["key"].startswith("box/claude:")
    assert row["name"] == "remote-one"
    assert row["health"] is None
    text = run_cli(*common, "ls", "-H", "box", timeout_s=60.0)
    assert text.returncode == 0, text.stderr
    assert "remote-one" in text.stdout
    assert "box:-" in text.stdout  # WHERE names the host
    status = run_cli(*common, "status", "-H", "box", "--format", "{busy}/{total}", timeout_s=60.0)
    assert status.returncode == 0, status.stderr
    assert status.stdout.strip() == "1/1"


def test_ls_with_an_unreachable_host_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty" / "sessions"
    empty.mkdir(parents=True)
    config = tmp_path / "config.toml"
    config.write_text(f"ssh_command = {json.dumps(list(LOCAL_SSH))}\n", encoding="utf-8")
    # local_ssh runs "sessiontui-missing serve --stdio": the shell cannot find it.
    config.write_text(
        config.read_text() + '[[hosts]]\nname = "gone"\nssh = "x"\ncommand = "sessiontui-missing"\n'
    )
    result = run_cli(
        "--config", str(config), "--sessions-dir", str(empty), "ls", "-H", "gone", timeout_s=60.0
    )
    assert result.returncode == 0
    assert "host:gone: unreachable" in result.stderr


def test_cli_verbs_take_host_slash_target(
    tmp_path: Path, remote_registry: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    config = write_config(tmp_path, remote_registry)
    empty = tmp_path / "empty" / "sessions"
    empty.mkdir(parents=True)
    common = ["--config", str(config), "--sessions-dir", str(empty), "--no-zellij"]
    renamed = run_cli(*common, "rename", "box/remote-one", "renamed-by-cli", timeout_s=60.0)
    assert renamed.returncode == 0, renamed.stderr
    entry = json.loads((remote_registry / f"{sleeper.pid}.json").read_text())
    assert entry["name"] == "renamed-by-cli"
    missing = run_cli(*common, "rename", "box/nothing-here", "x", timeout_s=60.0)
    assert missing.returncode == 1
    assert "nothing-here" in missing.stderr
    # Without the host prefix the name is looked up here, where it does not exist.
    local = run_cli(*common, "rename", "renamed-by-cli", "y", timeout_s=60.0)
    assert local.returncode == 1
    killed = run_cli(*common, "kill", "--force", f"box/{sleeper.pid}", timeout_s=60.0)
    assert killed.returncode == 0, killed.stderr
    assert sleeper.wait(timeout=10) is not None


def test_watch_follows_a_host_and_leaves_no_process(tmp_path: Path, remote_registry: Path) -> None:
    import psutil

    config = write_config(tmp_path, remote_registry)
    empty = tmp_path / "empty" / "sessions"
    empty.mkdir(parents=True)
    argv = [sys.executable, "-m", "sessiontui", "--config", str(config), "--sessions-dir",
            str(empty), "--no-zellij", "watch", "--json", "-H", "box"]  # fmt: skip
    watch = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert watch.stdout is not None
        for line in watch.stdout:  # the host's row arrives as an "added" event
            event = json.loads(line)
            if event.get("event") == "added" and event["key"].startswith("box/"):
                assert event["session"]["host"] == "box"
                assert event["session"]["name"] == "remote-one"
                break
        watch.terminate()
        assert watch.wait(timeout=15) == 0
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()

    def serves_left() -> list[psutil.Process]:
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            if str(remote_registry) in " ".join(proc.info["cmdline"] or ()):
                found.append(proc)
        return found

    wait_until(lambda: not serves_left(), 10.0, "the host's serve to end")
