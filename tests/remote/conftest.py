"""Fixtures of the remote tests: real OpenSSH servers on loopback ports (tests/fakes/sshd.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.fakes.sshd import RemoteHost, SshWorld, missing_tools
from tests.ui.world import World

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import libtmux


@pytest.fixture
def ssh_world(tmp_path: Path) -> Iterator[SshWorld]:
    """Throwaway keys and an ssh client config; every host added is stopped at teardown.

    Skips (with the reason) only when OpenSSH is not installed; CI installs it.
    """
    reason = missing_tools()
    if reason is not None:
        pytest.skip(reason)
    world = SshWorld(tmp_path / "ssh")
    yield world
    world.close()


@pytest.fixture
def remote(ssh_world: SshWorld) -> RemoteHost:
    """One remote host, ``testhost``, its sshd running: ``ssh -F ssh_world.ssh_config testhost``."""
    return ssh_world.add_host("testhost")


@pytest.fixture
def world(server: libtmux.Server, tmp_path: Path) -> Iterator[World]:
    """This machine: a real tmux server and a registry directory (as in the UI tests)."""
    w = World(server, tmp_path / "sessions")
    w.registry.mkdir()
    yield w
    w.close()
