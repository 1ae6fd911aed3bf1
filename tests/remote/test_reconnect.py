"""The link's reconnection schedule: quick while a host is unreachable, slow when it refuses.

The long-outage test runs a real OpenSSH server (tests/fakes/sshd.py): the host's sshd is
stopped for longer than the old backoff's 16 s step, and the link must be live again within
5 s of sshd listening again.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tests.helpers import wait_until

from sessiontui.remote.hosts import HostSpec
from sessiontui.remote.link import HostLink, SshTransport, next_retry_delay

if TYPE_CHECKING:
    from tests.fakes.sshd import RemoteHost, SshWorld

HERE = Path(__file__).parent
LOCAL_SSH = (sys.executable, str(HERE / "local_ssh.py"))


def schedule(outage_step_s: float, refused: bool, attempts: int) -> list[float]:
    """The pauses of ``attempts`` failed attempts, each ``outage_step_s`` into the outage."""
    pauses, pause, outage = [], 0.0, 0.0
    for _ in range(attempts):
        pause = next_retry_delay(pause, outage, refused=refused)
        pauses.append(pause)
        outage += pause + outage_step_s
    return pauses


def test_an_unreachable_host_is_tried_every_3_s_for_10_minutes_then_less_often() -> None:
    pauses = schedule(0.0, refused=False, attempts=400)
    assert pauses[:4] == [1.0, 2.0, 3.0, 3.0]
    fast = [p for p in pauses if p <= 3.0]
    assert 195 <= len(fast) <= 202  # ten minutes of 3 s pauses
    assert sum(fast) >= 600.0
    assert pauses[len(fast) : len(fast) + 4] == [6.0, 12.0, 24.0, 30.0]
    assert max(pauses) == 30.0


def test_a_host_that_refuses_backs_off_to_30_s_at_once() -> None:
    assert schedule(0.0, refused=True, attempts=7) == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def attempts_in(tmp_path: Path, exit_status: int, seconds: float) -> int:
    """Connection attempts a link makes in ``seconds`` at a host whose command exits so."""
    log = tmp_path / f"attempts-{exit_status}"
    command = ("sh", "-c", f"echo x >> {log}; echo failed >&2; exit {exit_status}")
    host = HostSpec(name="flaky", ssh="flaky.invalid", command=command)
    link = HostLink(
        host, transport=SshTransport(ssh=LOCAL_SSH), backoff_first_s=0.2, retry_fast_s=0.2
    )
    link.start()
    try:
        time.sleep(seconds)
    finally:
        link.close()
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_a_failing_remote_command_is_retried_slowly_and_a_lost_connection_quickly(
    tmp_path: Path,
) -> None:
    # Exit status 3: the remote command ran and failed (sshd logged a session each time).
    refused = attempts_in(tmp_path, 3, 4.0)
    # Exit status 255: ssh's own failure (no connection): retried every 0.2 s here.
    lost = attempts_in(tmp_path, 255, 4.0)
    assert 2 <= refused <= 5  # 0.2, 0.4, 0.8, 1.6 s apart
    assert lost >= 8, lost


def test_a_link_is_live_within_5_s_after_an_outage_the_old_schedule_took_7_s_more_to_notice(
    ssh_world: SshWorld, remote: RemoteHost
) -> None:
    transport = SshTransport(ssh=("ssh", "-F", str(ssh_world.ssh_config)))
    link = HostLink(HostSpec(name="testhost", ssh="testhost"), transport=transport)
    link.start()
    try:
        assert link.wait_snapshot(30.0), link.problem
        link.kill_transport()
        remote.stop()
        wait_until(lambda: not link.connected, 10.0, "the link to notice the drop")
        # The old schedule's attempts: 1, 3, 7, 15, 31 s into the outage; after 9 s its next
        # try (15 s) plus the handshake is over 5 s away. The new one tries every 3 s.
        time.sleep(9.0)
        assert not link.connected
        remote.start()
        back = time.monotonic()
        wait_until(lambda: link.connected, 10.0, "the link to come back")
        assert time.monotonic() - back <= 5.0
    finally:
        link.close()
