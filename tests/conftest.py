"""Shared fixtures: isolated HOME, tmux environment, snapshots under the top-level snapshots/."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest
import pytest_textual_snapshot

import sessiontui
from sessiontui.model.processes import read_proc_start
from tests.helpers import wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator

TESTS_DIR = Path(__file__).parent
#: The ``src`` directory these tests import sessiontui from (worktrees each have their own).
SOURCE_ROOT = Path(sessiontui.__file__).resolve().parents[1]


class RootSnapshotsExtension(pytest_textual_snapshot.SVGImageExtension):
    """Store SVG snapshots in the top-level ``snapshots/`` directory, mirroring ``tests/``."""

    @classmethod
    def dirname(cls, *, test_location):  # type: ignore[no-untyped-def]
        """Return ``tests/../snapshots/<sub>/<module>`` (keeps the tests path as a prefix)."""
        test_dir = Path(test_location.filepath).parent
        sub = test_dir.relative_to(TESTS_DIR)
        back = Path(*[".."] * len(sub.parts))
        return str(test_dir / back / ".." / "snapshots" / sub / test_location.basename)


pytest_textual_snapshot.SVGImageExtension = RootSnapshotsExtension  # type: ignore[misc]


@pytest.fixture(autouse=True)
def isolated_env(
    monkeypatch: pytest.MonkeyPatch, user_path: Path, tmp_path: Path
) -> Iterator[None]:
    """Run every test with a temporary HOME (no ~/.tmux.conf), outside any tmux client.

    ``CLAUDE_CONFIG_DIR`` points into the test's tmp_path so nothing reads the real registry.
    ``PYTHONPATH`` starts with the absolute source root, so ``python -m sessiontui`` started
    anywhere (a tmux pane, a popup, another directory) runs the code under test.
    """
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(SOURCE_ROOT), *paths]))
    monkeypatch.setenv("HOME", str(user_path))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude-home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    # Each test's tmux servers get a socket directory of their own (short: socket paths are
    # limited to 108 bytes), so discovery sees only them, never the developer's servers.
    tmux_tmpdir = Path(tempfile.mkdtemp(prefix="st-", dir="/tmp"))
    monkeypatch.setenv("TMUX_TMPDIR", str(tmux_tmpdir))
    monkeypatch.setenv("ZELLIJ_SOCKET_DIR", str(tmux_tmpdir / "zellij"))  # likewise for Zellij
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for var in ("TMUX", "TMUX_PANE", "SESSIONTUI_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    yield
    kill_tmux_left_in(tmux_tmpdir)
    shutil.rmtree(tmux_tmpdir, ignore_errors=True)


def kill_tmux_left_in(directory: Path) -> None:
    """Kill the tmux servers and clients a test left running in its socket directory.

    They are recognised by their ``$TMUX_TMPDIR`` (a server inherits it from the client that
    started it). A test that SIGKILLs a TUI, or whose server lost its last session while a
    client was still attached, could otherwise leave them running after its directory is gone.
    """
    for proc in psutil.process_iter(["name"]):
        if not (proc.info.get("name") or "").startswith("tmux"):  # "tmux: server", "tmux: client"
            continue
        with contextlib.suppress(psutil.Error):
            if proc.environ().get("TMUX_TMPDIR") == str(directory):
                proc.kill()


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    """An empty registry directory, ``<tmp>/sessions``."""
    directory = tmp_path / "sessions"
    directory.mkdir()
    return directory


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process (``sleep 300``) whose start time can be read; killed at teardown."""
    proc = subprocess.Popen(["sleep", "300"])
    wait_until(lambda: read_proc_start(proc.pid) is not None or sys.platform != "linux")
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Three live processes (``sleep 300``); killed at teardown."""
    procs = [subprocess.Popen(["sleep", "300"]) for _ in range(3)]
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()
