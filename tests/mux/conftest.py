"""Fixtures shared by the tmux backend tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.mux.test_tmux import stop

from sessiontui.mux.tmux import TmuxBackend

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator

    from libtmux.server import Server


@pytest.fixture
def backend(server: Server) -> TmuxBackend:
    """A backend on the test's isolated tmux server, as if run outside tmux."""
    return TmuxBackend(socket_name=server.socket_name, environ={})


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; each is stopped at teardown."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        stop(proc)
