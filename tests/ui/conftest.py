"""Fixtures for the UI tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.ui.world import World

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import libtmux


@pytest.fixture
def world(server: libtmux.Server, tmp_path: Path) -> Iterator[World]:
    """A real tmux server plus a registry directory; clients started in it are killed after."""
    w = World(server, tmp_path / "sessions")
    w.registry.mkdir()
    yield w
    w.close()
